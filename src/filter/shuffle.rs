//! SHUFFLE (filter id 1, spec §B.2): byte transposition of a block.
//!
//! With `s` the element size, `ne = n / s` whole elements, the forward
//! transform writes byte `j` of element `i` to `dst[j*ne + i]` (so each
//! split stream is "byte `j` of every element"); the `n % s` trailing bytes
//! are copied unchanged. The inverse does the opposite.
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

/// Every shuffle implementation usable on this CPU, scalar first, fastest last.
pub(super) fn kernels() -> Vec<Kernel> {
    #[allow(unused_mut)]
    let mut v = vec![Kernel {
        name: "scalar",
        forward: scalar::shuffle,
        inverse: scalar::unshuffle,
    }];
    #[cfg(target_arch = "x86_64")]
    x86::push_shuffle_kernels(&mut v);
    v
}

/// Byte-shuffles one block: `dst[j*ne + i] = src[i*typesize + j]`, trailing
/// `src.len() % typesize` bytes copied.
///
/// `typesize` is the element size actually used (the caller resolves the
/// filter meta override), 1..=255; 0 is treated like 1 (plain copy).
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    (selected().forward)(typesize, src, dst);
}

/// Inverse of [`shuffle`]: `dst[i*typesize + j] = src[j*ne + i]`, trailing
/// bytes copied.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    (selected().inverse)(typesize, src, dst);
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

    /// The definition of §B.2, written as plainly as possible.
    fn naive(s: usize, src: &[u8]) -> Vec<u8> {
        let ne = src.len() / s;
        let mut out = src.to_vec();
        for i in 0..ne {
            for j in 0..s {
                out[j * ne + i] = src[i * s + j];
            }
        }
        out
    }

    #[test]
    fn shuffle_ts4_example() {
        let src: Vec<u8> = (0..10).collect();
        let mut dst = vec![0; 10];
        shuffle(4, &src, &mut dst);
        assert_eq!(dst, [0, 4, 1, 5, 2, 6, 3, 7, 8, 9]);
        let mut back = vec![0; 10];
        unshuffle(4, &dst, &mut back);
        assert_eq!(back, src);
    }

    #[test]
    fn every_kernel_matches_definition() {
        let sizes = [
            0, 1, 7, 15, 16, 17, 31, 63, 64, 65, 127, 255, 256, 257, 1000, 4099, 8192, 12345,
        ];
        for k in kernels() {
            for s in 1..=33 {
                for &n in &sizes {
                    let src = bytes(n, (s * 1_000_003 + n) as u64);
                    let want = naive(s, &src);
                    let mut got = vec![0xAA; n];
                    (k.forward)(s, &src, &mut got);
                    assert_eq!(got, want, "{} shuffle ts {s} n {n}", k.name);
                    let mut back = vec![0x55; n];
                    (k.inverse)(s, &got, &mut back);
                    assert_eq!(back, src, "{} unshuffle ts {s} n {n}", k.name);
                }
            }
        }
    }

    #[test]
    fn typesize_zero_and_one_copy() {
        let src = bytes(100, 3);
        for s in [0, 1] {
            let mut d = vec![0; 100];
            shuffle(s, &src, &mut d);
            assert_eq!(d, src);
            unshuffle(s, &src, &mut d);
            assert_eq!(d, src);
        }
    }
}
