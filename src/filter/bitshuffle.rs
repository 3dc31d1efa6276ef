//! BITSHUFFLE (filter id 2, spec §B.3): bit transposition of a block.
//!
//! With `s` the typesize (the filter meta is ignored), `ne = n / s` elements
//! and `ne8 = ne - ne % 8`, the first `ne8 * s` bytes become `8*s` bit rows
//! of `ne8 / 8` bytes: row `8*j + k` holds bit `k` of byte `j` of every
//! element, element `i` at row byte `i / 8`, bit `i % 8`. Bytes from
//! `ne8 * s` on are copied unchanged.
//!
//! The implementation is chosen once: the fastest of [`kernels`].

use super::{check_lengths, pick, Kernel};
use std::sync::OnceLock;

pub(super) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(super) mod x86;

/// The implementation picked for this process.
fn selected() -> &'static Kernel {
    static SELECTED: OnceLock<Kernel> = OnceLock::new();
    SELECTED.get_or_init(|| pick(kernels()))
}

/// Every bitshuffle implementation usable on this CPU, scalar first, fastest last.
pub(super) fn kernels() -> Vec<Kernel> {
    #[allow(unused_mut)]
    let mut v = vec![Kernel {
        name: "scalar",
        forward: scalar::bitshuffle,
        inverse: scalar::bitunshuffle,
    }];
    #[cfg(target_arch = "x86_64")]
    x86::push_kernels(&mut v);
    v
}

/// Bit-shuffles one block (see the module docs); `typesize` 1..=255 (0 is
/// treated like 1).
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    (selected().forward)(typesize, src, dst);
}

/// Inverse of [`bitshuffle`] for chunks of format version 3 and later.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    (selected().inverse)(typesize, src, dst);
}

/// Inverse of [`bitshuffle`] for chunk format version 2 (Blosc 1.x): when
/// the element count is not a multiple of 8 the writer did not bit-shuffle
/// the block at all, so the block is copied unchanged.
///
/// (Otherwise C leaves a partial trailing element unwritten; we copy it.)
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bitunshuffle_legacy_v2(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    let ne = src.len() / typesize.max(1);
    if !ne.is_multiple_of(8) {
        dst.copy_from_slice(src);
    } else {
        bitunshuffle(typesize, src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift64*).
    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    /// The definition of §B.3, bit by bit.
    fn naive(s: usize, src: &[u8]) -> Vec<u8> {
        let ne = src.len() / s;
        let ne8 = ne - ne % 8;
        let nrow = ne8 / 8;
        let mut out = src.to_vec();
        out[..ne8 * s].fill(0);
        for i in 0..ne8 {
            for j in 0..s {
                for k in 0..8 {
                    let bit = (src[i * s + j] >> k) & 1;
                    out[(8 * j + k) * nrow + i / 8] |= bit << (i % 8);
                }
            }
        }
        out
    }

    #[test]
    fn ts1_sixteen_elements() {
        // Element i = i: row k byte b holds bit k of elements 8b..8b+8.
        let src: Vec<u8> = (0..16).collect();
        let mut dst = vec![0; 16];
        bitshuffle(1, &src, &mut dst);
        assert_eq!(
            dst,
            [0xAA, 0xAA, 0xCC, 0xCC, 0xF0, 0xF0, 0x00, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn every_kernel_matches_definition() {
        let sizes = [
            0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 120, 127, 128, 255, 256, 257, 960, 1000, 1024,
            4099, 8192, 9000,
        ];
        for k in kernels() {
            for s in 1..=33 {
                for &n in &sizes {
                    let src = bytes(n, (s * 7_919 + n) as u64);
                    let want = naive(s, &src);
                    let mut got = vec![0xAA; n];
                    (k.forward)(s, &src, &mut got);
                    assert_eq!(got, want, "{} bitshuffle ts {s} n {n}", k.name);
                    let mut back = vec![0x55; n];
                    (k.inverse)(s, &got, &mut back);
                    assert_eq!(back, src, "{} bitunshuffle ts {s} n {n}", k.name);
                }
            }
        }
    }

    #[test]
    fn legacy_v2_copies_when_not_multiple_of_8() {
        let src = bytes(4 * 12, 9);
        let mut dst = vec![0; src.len()];
        bitunshuffle_legacy_v2(4, &src, &mut dst);
        assert_eq!(dst, src);
        let src = bytes(4 * 16 + 3, 9);
        let mut shuffled = vec![0; src.len()];
        bitshuffle(4, &src, &mut shuffled);
        let mut back = vec![0; src.len()];
        bitunshuffle_legacy_v2(4, &shuffled, &mut back);
        assert_eq!(back, src);
    }
}
