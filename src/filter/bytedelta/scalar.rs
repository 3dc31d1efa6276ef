//! Scalar BYTEDELTA: the always-built reference implementation, also used by
//! the SIMD kernels for the bytes after a channel's last full vector.

/// Byte-delta encodes `src` into `dst` (spec §B.6). `dst.len() == src.len()`.
pub(crate) fn encode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let s = typesize.max(1);
    let sl = n / s;
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

/// Decodes `src` into `dst`: a running byte sum per channel, read and written
/// in one pass. `dst.len() == src.len()`.
pub(crate) fn decode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let s = typesize.max(1);
    let sl = n / s;
    if sl > 0 {
        for (d, x) in dst[..s * sl]
            .chunks_exact_mut(sl)
            .zip(src[..s * sl].chunks_exact(sl))
        {
            sum_from(0, x, d);
        }
    }
    dst[s * sl..].copy_from_slice(&src[s * sl..]);
}

/// Writes the running sum mod 256 of `src`, starting from `run`, to `dst`
/// (`dst.len() == src.len()`); returns the final sum.
///
/// SWAR on `u64` words: in-word prefix by three carry-less byte additions,
/// plus the broadcast running total (a one-add dependency chain per word).
pub(crate) fn sum_from(mut run: u8, src: &[u8], dst: &mut [u8]) -> u8 {
    /// Bytewise wrapping addition of two `u64`s.
    #[inline(always)]
    fn add8(a: u64, b: u64) -> u64 {
        const L: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        const H: u64 = 0x8080_8080_8080_8080;
        ((a & L) + (b & L)) ^ ((a ^ b) & H)
    }
    let mut d = dst.chunks_exact_mut(8);
    let mut x = src.chunks_exact(8);
    for (d, x) in (&mut d).zip(&mut x) {
        let mut w = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        w = add8(w, w << 8);
        w = add8(w, w << 16);
        w = add8(w, w << 32);
        let out = add8(w, u64::from(run) * 0x0101_0101_0101_0101);
        d.copy_from_slice(&out.to_le_bytes());
        run = run.wrapping_add((w >> 56) as u8);
    }
    for (d, x) in d.into_remainder().iter_mut().zip(x.remainder()) {
        run = run.wrapping_add(*x);
        *d = run;
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_from_matches_byte_loop() {
        for n in [0, 1, 7, 8, 9, 16, 33, 100, 1000] {
            for start in [0u8, 1, 200] {
                let data: Vec<u8> = (0..n).map(|i| (i * 97 + 201) as u8).collect();
                let mut want = data.clone();
                let mut run = start;
                for b in &mut want {
                    run = run.wrapping_add(*b);
                    *b = run;
                }
                let mut got = vec![0xEE; n];
                assert_eq!(sum_from(start, &data, &mut got), run, "n {n}");
                assert_eq!(got, want, "n {n} start {start}");
            }
        }
    }
}
