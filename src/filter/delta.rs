//! DELTA (filter id 3, spec §B.4): XOR delta against the chunk's first block.
//!
//! The XOR works on words of `w` bytes: `w = typesize` for 1, 2, 4, 8;
//! otherwise 8 when `typesize % 8 == 0`, else 1. Only whole words
//! (`nw = n / w`) are coded; since XOR is bytewise, the word size only
//! decides which byte is "the previous one" inside block 0 (`w` bytes back).
//!
//! * block 0: `out[k] = in[k] ^ in[k-1]` (words), `out[0] = in[0]`;
//! * other blocks: `out[k] = in[k] ^ ref[k]`, `ref` = the first block of the
//!   chunk's unfiltered source on encode, the fully decoded first block on
//!   decode.
//!
//! The `n % w` trailing bytes are **kept as they are** in both directions.
//! (C-Blosc2 never writes them on encode and so loses those source bytes;
//! our output equals C's everywhere else and round-trips exactly.)

/// Word size of the XOR for a typesize (spec §B.4).
fn word_size(typesize: usize) -> usize {
    match typesize {
        1 | 2 | 4 | 8 => typesize,
        t if t % 8 == 0 => 8,
        _ => 1,
    }
}

/// Delta-encodes one block.
///
/// `reference` is the first block of the chunk's *unfiltered* source (read
/// only when `first_block` is false, and then at least `src.len()` long);
/// `first_block` is true for the block at chunk offset 0, which is coded
/// against itself (`src`, the input of this filter stage).
///
/// # Panics
/// If `src.len() != dst.len()`, or `reference` is shorter than `src` for a
/// block other than the first (caller bugs).
pub(crate) fn delta_encode(
    reference: &[u8],
    first_block: bool,
    typesize: usize,
    src: &[u8],
    dst: &mut [u8],
) {
    super::check_lengths(src, dst);
    let w = word_size(typesize);
    let used = src.len() / w * w;
    if first_block {
        let head = w.min(used);
        dst[..head].copy_from_slice(&src[..head]);
        if used > w {
            for ((d, a), b) in dst[w..used]
                .iter_mut()
                .zip(&src[w..used])
                .zip(&src[..used - w])
            {
                *d = a ^ b;
            }
        }
    } else {
        let reference = &reference[..used];
        for ((d, a), b) in dst[..used].iter_mut().zip(&src[..used]).zip(reference) {
            *d = a ^ b;
        }
    }
    dst[used..].copy_from_slice(&src[used..]);
}

/// Undoes [`delta_encode`] in place.
///
/// `reference` is the fully decoded first block of the chunk (read only when
/// `first_block` is false, and then at least `buf.len()` long).
///
/// # Panics
/// If `reference` is shorter than `buf` for a block other than the first.
pub(crate) fn delta_decode(reference: &[u8], first_block: bool, typesize: usize, buf: &mut [u8]) {
    let w = word_size(typesize);
    let used = buf.len() / w * w;
    if first_block {
        prefix_xor(w, &mut buf[..used]);
    } else {
        let reference = &reference[..used];
        for (d, r) in buf[..used].iter_mut().zip(reference) {
            *d ^= r;
        }
    }
}

/// In-place prefix XOR with lag `w` (1, 2, 4 or 8): `x[b] ^= x[b - w]`.
///
/// Works on little-endian `u64` words: each word gets its in-word prefix by
/// shifts, then the XOR of everything before it, broadcast per element. The
/// running broadcast is a one-XOR dependency chain, so this is far faster
/// than the byte loop.
fn prefix_xor(w: usize, buf: &mut [u8]) {
    // Broadcast of the last element of a word to every element.
    let (bcast, top): (u64, u32) = match w {
        1 => (0x0101_0101_0101_0101, 56),
        2 => (0x0001_0001_0001_0001, 48),
        4 => (0x0000_0001_0000_0001, 32),
        _ => (1, 0),
    };
    let mut carry = 0u64;
    let done = buf.len() / 8 * 8;
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let mut x = u64::from_le_bytes(b);
        let mut sh = 8 * w as u32;
        while sh < 64 {
            x ^= x << sh;
            sh *= 2;
        }
        let out = x ^ carry;
        c.copy_from_slice(&out.to_le_bytes());
        carry ^= (x >> top) * bcast;
    }
    // The tail (< 8 bytes, a multiple of w): XOR with the element before.
    for b in done.max(w)..buf.len() {
        buf[b] ^= buf[b - w];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_sizes() {
        let got: Vec<usize> = [1, 2, 3, 4, 8, 12, 16, 24, 7]
            .iter()
            .map(|&t| word_size(t))
            .collect();
        assert_eq!(got, [1, 2, 1, 4, 8, 1, 8, 8, 1]);
    }

    #[test]
    fn block0_ts2_example_and_tail() {
        let src = [1u8, 2, 3, 4, 7, 7, 9];
        let mut dst = [0u8; 7];
        delta_encode(&[], true, 2, &src, &mut dst);
        assert_eq!(dst, [1, 2, 1 ^ 3, 2 ^ 4, 3 ^ 7, 4 ^ 7, 9]);
        delta_decode(&[], true, 2, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn later_block_xors_reference() {
        let reference = [0xF0u8, 0x0F, 0xFF, 0x00, 0x55];
        let src = [1u8, 2, 3, 4, 5];
        let mut dst = [0u8; 5];
        delta_encode(&reference, false, 4, &src, &mut dst);
        assert_eq!(dst, [0xF1, 0x0D, 0xFC, 0x04, 5]);
        delta_decode(&reference, false, 4, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn prefix_xor_matches_bytewise_loop() {
        for w in [1, 2, 4, 8] {
            for n in [0, 1, 7, 8, 9, 16, 31, 64, 100, 1001] {
                let used = n / w * w;
                let data: Vec<u8> = (0..used).map(|i| (i * 131 + 7) as u8).collect();
                let mut want = data.clone();
                for b in w..used {
                    want[b] ^= want[b - w];
                }
                let mut got = data.clone();
                prefix_xor(w, &mut got);
                assert_eq!(got, want, "w {w} n {n}");
            }
        }
    }
}
