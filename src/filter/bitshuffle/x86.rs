//! x86-64 SIMD bitshuffle (SSE2, AVX2, AVX-512 VBMI), runtime-detected.
//!
//! A tile of `W` elements (16, 32 or 64) of power-of-two size `S` (1, 2, 4,
//! 8, 16) is byte-transposed in registers with the shuffle kernels'
//! primitives (`crate::filter::shuffle::x86`), leaving vector `j` = byte `j`
//! of the `W` elements; `movemask` then peels its bits from bit 7 down, each
//! one giving `W/8` bytes of bit row `8*j + k`. The inverse rebuilds each
//! vector from 8 row masks (bit 7 first) and un-transposes. Remaining 8-element
//! groups, other typesizes and the copied tail use the scalar code.
//!
//! Invariants cited by the `SAFETY` comments:
//! 1. A `#[target_feature]` function is only called after the safe entry
//!    point checked the module's features (`available()`).
//! 2. `src.len() == dst.len() == n`, asserted by the safe entry points.
//! 3. Tiles cover elements `e0..e0 + W` with `e0 + W <= ne8 <= n / S`: tile
//!    bytes `[e0*S, (e0+W)*S)` lie in `0..n`, and row bytes
//!    `[r*nrow + e0/8, +W/8)` with `r < 8*S`, `nrow = ne8/8` lie in
//!    `0..8*S*nrow = S*ne8 <= n`.
//! 4. The batch buffer holds 64 bytes for each of the `8*S <= 128` rows
//!    (`BUF = 8192`), and a batch has at most `512 / W` tiles of `W/8` row bytes.
#![allow(unsafe_code)]

use super::scalar;
use crate::filter::Kernel;

/// Size of the per-call batch buffer: 64 bytes for each of up to 128 bit rows.
const BUF: usize = 8 * 16 * 64;

/// Appends the SIMD bitshuffle kernels this CPU supports, slowest first.
pub(crate) fn push_kernels(v: &mut Vec<Kernel>) {
    use crate::filter::shuffle::x86::{has_avx2, has_avx512vbmi, has_sse2};
    if has_sse2() {
        v.push(Kernel {
            name: "sse2",
            forward: sse2::bitshuffle,
            inverse: sse2::bitunshuffle,
        });
    }
    if has_avx2() {
        v.push(Kernel {
            name: "avx2",
            forward: avx2::bitshuffle,
            inverse: avx2::bitunshuffle,
        });
    }
    if has_avx512vbmi() {
        v.push(Kernel {
            name: "avx512vbmi",
            forward: avx512::bitshuffle,
            inverse: avx512::bitunshuffle,
        });
    }
}

/// Generates the bit-level tile drivers for one ISA module of
/// `crate::filter::shuffle::x86`.
macro_rules! bit_drivers {
    ($isa:ident, $feat:literal) => {
        /// Bitshuffle kernels built on the same-named shuffle primitives.
        pub(crate) mod $isa {
            use super::BUF;
            use crate::filter::shuffle::x86::$isa::*;

            /// Bit-shuffles all full tiles; returns the number of elements done.
            ///
            /// Tiles are processed in batches of 512 elements whose bit rows
            /// are gathered in `buf` (64 bytes per row) and then copied out
            /// as whole cache lines: writing 8*S rows that lie a power of two
            /// apart piece by piece would thrash L1 sets.
            ///
            /// # Safety
            /// Features available (1); `src.len() == dst.len()` (2).
            #[target_feature(enable = $feat)]
            unsafe fn tiles_fwd<const S: usize>(src: &[u8], dst: &mut [u8], start: usize) -> usize {
                let ne = src.len() / S;
                let ne8 = ne - ne % 8;
                let nrow = ne8 / 8;
                let tiles = ne8.saturating_sub(start) / W;
                let sp = src.as_ptr();
                let mut buf = [0u8; BUF];
                let bp = buf.as_mut_ptr();
                let mut t = 0;
                while t < tiles {
                    let bt = (tiles - t).min(512 / W);
                    for u in 0..bt {
                        let e0 = start + (t + u) * W;
                        let mut v = [zero(); S];
                        for (m, x) in v.iter_mut().enumerate() {
                            // SAFETY: (3) tile bytes are inside src.
                            *x = unsafe { load_in(sp.add(e0 * S), S, m) };
                        }
                        transpose_fwd(&mut v);
                        for (j, x) in v.iter().enumerate() {
                            let mut x = *x;
                            for k in (0..8).rev() {
                                // SAFETY: (4) (8j+k)*64 + u*W/8 + W/8 <= 8*S*64 <= BUF.
                                x = unsafe { bits_out(bp.add((8 * j + k) * 64 + u * W / 8), x) };
                            }
                        }
                    }
                    let rb = bt * W / 8;
                    let at = (start + t * W) / 8;
                    for r in 0..8 * S {
                        dst[r * nrow + at..r * nrow + at + rb]
                            .copy_from_slice(&buf[r * 64..r * 64 + rb]);
                    }
                    t += bt;
                }
                start + tiles * W
            }

            /// Bit-unshuffles all full tiles; returns the number of elements done.
            ///
            /// Mirror of `tiles_fwd`: each batch first copies 64 bytes of every
            /// bit row into `buf`.
            ///
            /// # Safety
            /// Features available (1); `src.len() == dst.len()` (2).
            #[target_feature(enable = $feat)]
            unsafe fn tiles_inv<const S: usize>(src: &[u8], dst: &mut [u8], start: usize) -> usize {
                let ne = src.len() / S;
                let ne8 = ne - ne % 8;
                let nrow = ne8 / 8;
                let tiles = ne8.saturating_sub(start) / W;
                let dp = dst.as_mut_ptr();
                if tiles == 1 {
                    // One tile (the rest after a wider ISA's tiles): its rows are
                    // read in place, without zeroing and filling a batch buffer.
                    let sp = src.as_ptr();
                    let mut v = [zero(); S];
                    for (j, x) in v.iter_mut().enumerate() {
                        for k in (0..8).rev() {
                            // SAFETY: (3) row 8j+k's tile bytes [r*nrow + start/8, +W/8) are in src.
                            *x = unsafe { bits_in(sp.add((8 * j + k) * nrow + start / 8), *x) };
                        }
                    }
                    transpose_inv(&mut v);
                    for (m, x) in v.iter().enumerate() {
                        // SAFETY: (2)(3) tile bytes are inside dst.
                        unsafe { store_in(dp.add(start * S), S, m, *x) };
                    }
                    return start + W;
                }
                let mut buf = [0u8; BUF];
                let mut t = 0;
                while t < tiles {
                    let bt = (tiles - t).min(512 / W);
                    let rb = bt * W / 8;
                    let at = (start + t * W) / 8;
                    for r in 0..8 * S {
                        buf[r * 64..r * 64 + rb]
                            .copy_from_slice(&src[r * nrow + at..r * nrow + at + rb]);
                    }
                    let bp = buf.as_ptr();
                    for u in 0..bt {
                        let e0 = start + (t + u) * W;
                        let mut v = [zero(); S];
                        for (j, x) in v.iter_mut().enumerate() {
                            for k in (0..8).rev() {
                                // SAFETY: (4) (8j+k)*64 + u*W/8 + W/8 <= 8*S*64 <= BUF.
                                *x = unsafe { bits_in(bp.add((8 * j + k) * 64 + u * W / 8), *x) };
                            }
                        }
                        transpose_inv(&mut v);
                        for (m, x) in v.iter().enumerate() {
                            // SAFETY: (2)(3) tile bytes are inside dst.
                            unsafe { store_in(dp.add(e0 * S), S, m, *x) };
                        }
                    }
                    t += bt;
                }
                start + tiles * W
            }

            /// Bit-shuffles the full tiles from element `start` (a multiple of
            /// `W`, or of a wider ISA's tile) with this ISA; returns the element
            /// where they end (`start` if the ISA is missing).
            pub(crate) fn tiles_forward(
                typesize: usize,
                src: &[u8],
                dst: &mut [u8],
                start: usize,
            ) -> usize {
                if !available() || src.len() != dst.len() || start % 8 != 0 {
                    return start;
                }
                // SAFETY: (1) available() and (2) equal lengths checked above.
                unsafe {
                    match typesize {
                        0 | 1 => tiles_fwd::<1>(src, dst, start),
                        2 => tiles_fwd::<2>(src, dst, start),
                        4 => tiles_fwd::<4>(src, dst, start),
                        8 => tiles_fwd::<8>(src, dst, start),
                        16 => tiles_fwd::<16>(src, dst, start),
                        _ => start,
                    }
                }
            }

            /// Inverse of [`tiles_forward`].
            pub(crate) fn tiles_inverse(
                typesize: usize,
                src: &[u8],
                dst: &mut [u8],
                start: usize,
            ) -> usize {
                if !available() || src.len() != dst.len() || start % 8 != 0 {
                    return start;
                }
                // SAFETY: (1) available() and (2) equal lengths checked above.
                unsafe {
                    match typesize {
                        0 | 1 => tiles_inv::<1>(src, dst, start),
                        2 => tiles_inv::<2>(src, dst, start),
                        4 => tiles_inv::<4>(src, dst, start),
                        8 => tiles_inv::<8>(src, dst, start),
                        16 => tiles_inv::<16>(src, dst, start),
                        _ => start,
                    }
                }
            }

            /// Safe entry: bitshuffle with this ISA, narrower tiles for the rest.
            pub(crate) fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
                assert_eq!(src.len(), dst.len(), "filter: src and dst lengths differ");
                let done = tiles_forward(typesize, src, dst, 0);
                super::finish_forward(typesize, src, dst, done);
            }

            /// Safe entry: bitunshuffle with this ISA, narrower tiles for the rest.
            pub(crate) fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
                assert_eq!(src.len(), dst.len(), "filter: src and dst lengths differ");
                let done = tiles_inverse(typesize, src, dst, 0);
                super::finish_inverse(typesize, src, dst, done);
            }
        }
    };
}

/// Bit-shuffles elements `done..` after a wider ISA's tiles: AVX2 and SSE2 tiles
/// (where available) for what they cover, the scalar code for the last groups and
/// the tail. A 1000-element range leaves 40 elements after AVX-512's 64-wide tiles.
fn finish_forward(typesize: usize, src: &[u8], dst: &mut [u8], done: usize) {
    let done = avx2::tiles_forward(typesize, src, dst, done);
    let done = sse2::tiles_forward(typesize, src, dst, done);
    scalar::bitshuffle_from(typesize, done, src, dst);
}

/// Inverse of [`finish_forward`].
fn finish_inverse(typesize: usize, src: &[u8], dst: &mut [u8], done: usize) {
    let done = avx2::tiles_inverse(typesize, src, dst, done);
    let done = sse2::tiles_inverse(typesize, src, dst, done);
    scalar::bitunshuffle_from(typesize, done, src, dst);
}

bit_drivers!(sse2, "sse2");
bit_drivers!(avx2, "avx2");
bit_drivers!(avx512, "avx512f,avx512bw,avx512vbmi");
