//! The backward bit streams of Zstd (RFC 8878 §4.1): a stream is read from its last
//! byte towards its first, most significant bits first, after skipping the padding up
//! to and including the highest set bit of the last byte.

/// A reader of one backward bit stream.
pub(super) struct RevBits<'a> {
    /// The bytes not yet moved into `acc` are `src[..next]`.
    src: &'a [u8],
    /// How many leading bytes of `src` are still unread.
    next: usize,
    /// Holds `avail` unread bits in its low bits (higher bits are stale).
    acc: u64,
    /// Number of valid bits in `acc`.
    avail: u32,
    /// Bits handed out past the start of the stream (read as zeros).
    over: u32,
}

impl<'a> RevBits<'a> {
    /// Starts reading `src`; errs when it is empty or its last byte is 0.
    pub(super) fn new(src: &'a [u8]) -> Result<Self, &'static str> {
        let (&last, rest) = src.split_last().ok_or("empty zstd bit stream")?;
        if last == 0 {
            return Err("zstd bit stream without end marker");
        }
        let avail = 7 - last.leading_zeros();
        Ok(Self {
            src: rest,
            next: rest.len(),
            acc: u64::from(last),
            avail,
            over: 0,
        })
    }

    /// Moves bytes into `acc` until it holds at least 56 bits or the stream is drained.
    #[inline]
    fn refill(&mut self) {
        if self.next >= 8 {
            let k = ((63 - self.avail) >> 3) as usize;
            let mut w = [0u8; 8];
            if let Some(s) = self.src.get(self.next - 8..self.next) {
                w.copy_from_slice(s);
            }
            let w = u64::from_le_bytes(w);
            if k > 0 {
                let sh = 8 * k as u32;
                self.acc = (self.acc << sh) | (w >> (64 - sh));
                self.next -= k;
                self.avail += sh;
            }
        } else {
            while self.avail <= 56 && self.next > 0 {
                self.next -= 1;
                self.acc =
                    (self.acc << 8) | u64::from(self.src.get(self.next).copied().unwrap_or(0));
                self.avail += 8;
            }
        }
    }

    /// Reads `n` (at most 32) bits; past the start of the stream the bits are zeros
    /// and counted in [`Self::overflowed`].
    #[inline]
    pub(super) fn read(&mut self, n: u32) -> u32 {
        if self.avail >= n {
            self.avail -= n;
            return ((self.acc >> (self.avail & 63)) & ((1u64 << n) - 1)) as u32;
        }
        self.read_slow(n)
    }

    /// [`Self::read`] when a refill is needed.
    #[cold]
    #[inline(never)]
    fn read_slow(&mut self, n: u32) -> u32 {
        self.refill();
        if self.avail < n {
            let miss = n - self.avail;
            self.over = self.over.saturating_add(miss);
            let v = (self.acc << miss) & ((1u64 << n) - 1);
            self.avail = 0;
            return v as u32;
        }
        self.avail -= n;
        ((self.acc >> self.avail) & ((1u64 << n) - 1)) as u32
    }

    /// The next `n` (1..=32) bits without consuming them (zeros past the start).
    #[inline]
    pub(super) fn peek(&mut self, n: u32) -> u32 {
        if self.avail < n {
            self.refill();
            if self.avail < n {
                let miss = n - self.avail;
                return ((self.acc << miss) & ((1u64 << n) - 1)) as u32;
            }
        }
        ((self.acc >> (self.avail - n)) & ((1u64 << n) - 1)) as u32
    }

    /// Consumes `n` bits after a [`Self::peek`] of at least `n`.
    #[inline]
    pub(super) fn skip(&mut self, n: u32) {
        if self.avail >= n {
            self.avail -= n;
        } else {
            self.over = self.over.saturating_add(n - self.avail);
            self.avail = 0;
        }
    }

    /// Refills if fewer than `n` (at most 56) bits are buffered; whether `n` are now
    /// buffered, so [`Self::peek_buffered`] and [`Self::skip_buffered`] may use them.
    #[inline]
    pub(super) fn ensure(&mut self, n: u32) -> bool {
        if self.avail < n {
            self.refill();
        }
        self.avail >= n
    }

    /// The next `n` bits, which must be buffered ([`Self::ensure`]).
    #[inline]
    pub(super) fn peek_buffered(&self, n: u32) -> u32 {
        ((self.acc >> (self.avail.wrapping_sub(n) & 63)) & ((1u64 << n) - 1)) as u32
    }

    /// Consumes `n` buffered bits ([`Self::ensure`]).
    #[inline]
    pub(super) fn skip_buffered(&mut self, n: u32) {
        self.avail = self.avail.wrapping_sub(n);
    }

    /// Whether more bits were read than the stream holds.
    pub(super) fn overflowed(&self) -> bool {
        self.over > 0
    }

    /// Whether every bit was read, and no more.
    pub(super) fn finished(&self) -> bool {
        self.over == 0 && self.avail == 0 && self.next == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_backwards_below_the_marker() {
        // Last byte 0b0001_0110: marker at bit 4, then bits 0110, then the bytes before.
        let src = [0xA5, 0x3C, 0x16];
        let mut r = RevBits::new(&src).unwrap();
        assert_eq!(r.read(4), 0b0110);
        assert_eq!(r.read(8), 0x3C);
        assert_eq!(r.peek(3), 0b101);
        assert_eq!(r.read(8), 0xA5);
        assert!(r.finished());
        assert_eq!(r.read(3), 0);
        assert!(r.overflowed());
        assert!(RevBits::new(&[1, 0]).is_err());
        let long: Vec<u8> = (1..=40).collect();
        let mut r = RevBits::new(&long).unwrap();
        assert_eq!(r.read(5), 0b01000);
        for want in (1..40u8).rev() {
            assert_eq!(r.read(8), u32::from(want));
        }
        assert!(r.finished());
    }
}
