//! Scalar bitshuffle: the always-built reference, also used by the SIMD
//! kernels for the 8-element groups after their last full tile.
//!
//! Each group of 8 elements and byte index `j` gathers the 8 bytes into a
//! `u64` (byte `t` = element `t`), transposes that 8×8 bit matrix, and
//! scatters byte `k` of the result to bit row `8*j + k`.

/// Transposes the 8×8 bit matrix in `x` (bit `8*r + c` ↔ bit `8*c + r`).
#[inline]
pub(crate) fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^ t ^ (t << 28)
}

/// Bit-shuffles `src` into `dst` (spec §B.3). `dst.len() == src.len()`.
pub(crate) fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    bitshuffle_from(typesize, 0, src, dst);
}

/// Inverse of [`bitshuffle`]. `dst.len() == src.len()`.
pub(crate) fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    bitunshuffle_from(typesize, 0, src, dst);
}

/// Size of the batch buffer: bit rows of up to 64 groups are gathered here
/// and written out whole, instead of one byte at a time into `8*s` rows that
/// lie a power of two apart (which thrashes L1 sets).
const BUF: usize = 16 * 1024;

/// Groups (of 8 elements) per batch for element size `s`: at most 64, and
/// `8 * s * groups <= BUF` (at least 8 for `s <= 255`).
fn batch_groups(s: usize) -> usize {
    (BUF / (8 * s)).clamp(1, 64)
}

/// Groups left after SIMD tiles (at most 7 of 8 elements) go straight into
/// their rows: below this many groups the batch buffer costs more than it saves.
const FEW_GROUPS: usize = 8;

/// Bit-shuffles elements `start..ne8` (`start` a multiple of 8) and copies
/// the bytes from `ne8 * s` on.
pub(crate) fn bitshuffle_from(s: usize, start: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let s = s.max(1);
    let ne = n / s;
    let ne8 = ne - ne % 8;
    let nrow = ne8 / 8;
    let g0 = start / 8;
    if nrow.saturating_sub(g0) < FEW_GROUPS {
        for g in g0..nrow {
            let group = &src[8 * g * s..8 * (g + 1) * s];
            for j in 0..s {
                let w: [u8; 8] = std::array::from_fn(|t| group[t * s + j]);
                let y = transpose8(u64::from_le_bytes(w)).to_le_bytes();
                for (k, &b) in y.iter().enumerate() {
                    dst[(8 * j + k) * nrow + g] = b;
                }
            }
        }
    } else {
        shuffle_batches(s, g0, nrow, src, dst);
    }
    dst[ne8 * s..].copy_from_slice(&src[ne8 * s..]);
}

/// Groups `g0..nrow` of [`bitshuffle_from`], through the batch buffer.
fn shuffle_batches(s: usize, mut g0: usize, nrow: usize, src: &[u8], dst: &mut [u8]) {
    let bg = batch_groups(s);
    let mut buf = [0u8; BUF];
    while g0 < nrow {
        let cnt = (nrow - g0).min(bg);
        for gi in 0..cnt {
            let g = g0 + gi;
            let group = &src[8 * g * s..8 * (g + 1) * s];
            for j in 0..s {
                let mut w = [0u8; 8];
                for (t, b) in w.iter_mut().enumerate() {
                    *b = group[t * s + j];
                }
                let y = transpose8(u64::from_le_bytes(w)).to_le_bytes();
                for (k, &b) in y.iter().enumerate() {
                    buf[(8 * j + k) * bg + gi] = b;
                }
            }
        }
        for r in 0..8 * s {
            dst[r * nrow + g0..r * nrow + g0 + cnt].copy_from_slice(&buf[r * bg..r * bg + cnt]);
        }
        g0 += cnt;
    }
}

/// Bit-unshuffles elements `start..ne8` (`start` a multiple of 8) and copies
/// the bytes from `ne8 * s` on.
pub(crate) fn bitunshuffle_from(s: usize, start: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let s = s.max(1);
    let ne = n / s;
    let ne8 = ne - ne % 8;
    let nrow = ne8 / 8;
    let g0 = start / 8;
    if nrow.saturating_sub(g0) < FEW_GROUPS {
        for g in g0..nrow {
            let group = &mut dst[8 * g * s..8 * (g + 1) * s];
            for j in 0..s {
                let w: [u8; 8] = std::array::from_fn(|k| src[(8 * j + k) * nrow + g]);
                let y = transpose8(u64::from_le_bytes(w)).to_le_bytes();
                for (t, &b) in y.iter().enumerate() {
                    group[t * s + j] = b;
                }
            }
        }
    } else {
        unshuffle_batches(s, g0, nrow, src, dst);
    }
    dst[ne8 * s..].copy_from_slice(&src[ne8 * s..]);
}

/// Groups `g0..nrow` of [`bitunshuffle_from`], through the batch buffer.
fn unshuffle_batches(s: usize, mut g0: usize, nrow: usize, src: &[u8], dst: &mut [u8]) {
    let bg = batch_groups(s);
    let mut buf = [0u8; BUF];
    while g0 < nrow {
        let cnt = (nrow - g0).min(bg);
        for r in 0..8 * s {
            buf[r * bg..r * bg + cnt].copy_from_slice(&src[r * nrow + g0..r * nrow + g0 + cnt]);
        }
        for gi in 0..cnt {
            let g = g0 + gi;
            let group = &mut dst[8 * g * s..8 * (g + 1) * s];
            for j in 0..s {
                let mut w = [0u8; 8];
                for (k, b) in w.iter_mut().enumerate() {
                    *b = buf[(8 * j + k) * bg + gi];
                }
                let y = transpose8(u64::from_le_bytes(w)).to_le_bytes();
                for (t, &b) in y.iter().enumerate() {
                    group[t * s + j] = b;
                }
            }
        }
        g0 += cnt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose8_moves_each_bit() {
        for r in 0..8 {
            for c in 0..8 {
                assert_eq!(
                    transpose8(1 << (8 * r + c)),
                    1 << (8 * c + r),
                    "r {r} c {c}"
                );
            }
        }
    }

    #[test]
    fn round_trip_ts3_with_tail() {
        let src: Vec<u8> = (0..(3 * 21 + 2)).map(|i| (i * 37 + 11) as u8).collect();
        let mut mid = vec![0; src.len()];
        bitshuffle(3, &src, &mut mid);
        assert_eq!(mid[48..], src[48..]);
        let mut back = vec![0; src.len()];
        bitunshuffle(3, &mid, &mut back);
        assert_eq!(back, src);
    }
}
