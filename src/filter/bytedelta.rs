//! BYTEDELTA (filter id 35, and the legacy id 34 decoder; spec §B.6).
//!
//! With `s` the element size (filter meta, resolved by the caller) and
//! `sl = n / s`, the block is `s` channels of `sl` bytes (channel `c` =
//! bytes `[c*sl, (c+1)*sl)`, i.e. the byte streams SHUFFLE just made); each
//! channel is byte-delta coded with wrapping subtraction, the first byte
//! against 0. The `n - s*sl` trailing bytes are copied unchanged.

/// Byte-delta encodes one block: `out[c*sl+i] = in[c*sl+i] - in[c*sl+i-1]`.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bytedelta_encode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    super::check_lengths(src, dst);
    let s = typesize.max(1);
    let sl = src.len() / s;
    if sl > 0 {
        for (d, x) in dst[..s * sl]
            .chunks_exact_mut(sl)
            .zip(src[..s * sl].chunks_exact(sl))
        {
            d[0] = x[0];
            for ((o, a), b) in d[1..].iter_mut().zip(&x[1..]).zip(&x[..sl - 1]) {
                *o = a.wrapping_sub(*b);
            }
        }
    }
    dst[s * sl..].copy_from_slice(&src[s * sl..]);
}

/// Undoes [`bytedelta_encode`]: a running byte sum per channel.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bytedelta_decode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    super::check_lengths(src, dst);
    let s = typesize.max(1);
    let sl = src.len() / s;
    dst.copy_from_slice(src);
    if sl > 0 {
        for c in dst[..s * sl].chunks_exact_mut(sl) {
            prefix_sum(c);
        }
    }
}

/// Decoder for the legacy, buggy BYTEDELTA (filter id 34) as the SIMD
/// builds of C-Blosc2 wrote it: like [`bytedelta_decode`], but in each
/// channel the running sum restarts from 0 at index `sl - sl % 16` when
/// `sl > 15` and `sl % 16 != 0`. Trailing bytes (never written by C) are
/// copied.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bytedelta_legacy_decode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    super::check_lengths(src, dst);
    let s = typesize.max(1);
    let sl = src.len() / s;
    dst.copy_from_slice(src);
    if sl > 0 {
        let cut = if sl > 15 { sl - sl % 16 } else { 0 };
        for c in dst[..s * sl].chunks_exact_mut(sl) {
            let (a, b) = c.split_at_mut(cut);
            prefix_sum(a);
            prefix_sum(b);
        }
    }
}

/// In-place running sum mod 256 of `buf`, starting from 0.
///
/// SWAR on `u64` words: in-word prefix by three carry-less byte additions,
/// plus the broadcast running total (a one-add dependency chain per word).
fn prefix_sum(buf: &mut [u8]) {
    /// Bytewise wrapping addition of two `u64`s.
    #[inline(always)]
    fn add8(a: u64, b: u64) -> u64 {
        const L: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        const H: u64 = 0x8080_8080_8080_8080;
        ((a & L) + (b & L)) ^ ((a ^ b) & H)
    }
    let mut run = 0u8;
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let mut x = u64::from_le_bytes(b);
        x = add8(x, x << 8);
        x = add8(x, x << 16);
        x = add8(x, x << 32);
        let out = add8(x, u64::from(run) * 0x0101_0101_0101_0101);
        c.copy_from_slice(&out.to_le_bytes());
        run = run.wrapping_add((x >> 56) as u8);
    }
    for b in chunks.into_remainder() {
        run = run.wrapping_add(*b);
        *b = run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_ts2_example() {
        // channels [10, 12, 11] and [200, 100, 50], then one trailing byte.
        let src = [10u8, 12, 11, 200, 100, 50, 99];
        let mut dst = [0u8; 7];
        bytedelta_encode(2, &src, &mut dst);
        assert_eq!(dst, [10, 2, 255, 200, 156, 206, 99]);
        let mut back = [0u8; 7];
        bytedelta_decode(2, &dst, &mut back);
        assert_eq!(back, src);
    }

    #[test]
    fn prefix_sum_matches_byte_loop() {
        for n in [0, 1, 7, 8, 9, 16, 33, 100, 1000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 97 + 201) as u8).collect();
            let mut want = data.clone();
            let mut run = 0u8;
            for b in &mut want {
                run = run.wrapping_add(*b);
                *b = run;
            }
            let mut got = data.clone();
            prefix_sum(&mut got);
            assert_eq!(got, want, "n {n}");
        }
    }

    #[test]
    fn legacy_restarts_sum_at_last_16_multiple() {
        // One channel of 20 ones: sums 1..=16, then the tail restarts at 1.
        let src = [1u8; 20];
        let mut dst = [0u8; 20];
        bytedelta_legacy_decode(1, &src, &mut dst);
        let want: Vec<u8> = (1..=16).chain(1..=4).collect();
        assert_eq!(dst[..], want[..]);
        // 32 bytes: multiple of 16, no restart; 15 bytes: too short to restart.
        let mut d32 = [0u8; 32];
        bytedelta_legacy_decode(1, &[1; 32], &mut d32);
        assert_eq!(d32[31], 32);
        let mut d15 = [0u8; 15];
        bytedelta_legacy_decode(1, &[1; 15], &mut d15);
        assert_eq!(d15[14], 15);
    }
}
