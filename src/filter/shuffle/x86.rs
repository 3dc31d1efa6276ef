//! x86-64 SIMD byte shuffle (SSE2, AVX2, AVX-512 VBMI), runtime-detected.
//!
//! All three share one algorithm. A *tile* of `W` elements of a power-of-two
//! size `S` (2, 4, 8, 16) is loaded into `S` vectors; `log2(S)` rounds of
//! "split even/odd bytes" (each round moves the lowest bit of the byte index
//! to the top) then leave vector `j` holding byte `j` of the tile's `W`
//! elements, which is stored straight into stream `j`. Unshuffle runs the
//! rounds backwards ("interleave"). SSE2/AVX2 split with `packus`/`unpack`,
//! which work inside 128-bit lanes, so AVX2 loads two 16-element tiles, one
//! per lane (`W = 32`); AVX-512 VBMI uses `vpermt2b` across the whole register
//! (`W = 64`). Elements after the last full tile, other typesizes and the
//! trailing partial element go to the scalar code.
//!
//! The per-ISA modules (`sse2`, `avx2`, `avx512`) also export their vector
//! primitives to the bitshuffle kernels.
//!
//! Invariants cited by the `SAFETY` comments:
//! 1. A `#[target_feature]` function of module `sse2`/`avx2`/`avx512` is only
//!    called after the safe entry point checked the features (`has_*`), or
//!    from a function enabling the same features.
//! 2. `src.len() == dst.len() == n`, checked by the safe entry points.
//! 3. Tiles cover elements `e0..e0 + W` with `e0 + W <= ne = n / S`, so tile
//!    reads `[e0*S, (e0+W)*S)` and stream writes `[j*ne + e0, j*ne + e0 + W)`
//!    (`j < S`) stay inside `0..n`.
//! 4. The batch buffer of `shuffle_tiles` has 512 bytes for each of 16
//!    streams; a batch has at most `512 / W` tiles and `S <= 16`.
#![allow(unsafe_code)]

use super::scalar;
use crate::filter::Kernel;
use core::arch::x86_64::*;

/// Whether SSE2 is available (always, on x86-64).
pub(crate) fn has_sse2() -> bool {
    is_x86_feature_detected!("sse2")
}

/// Whether AVX2 is available.
pub(crate) fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Whether AVX-512 F + BW + VBMI are available.
pub(crate) fn has_avx512vbmi() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vbmi")
}

/// Appends the SIMD shuffle kernels this CPU supports, slowest first.
pub(crate) fn push_shuffle_kernels(v: &mut Vec<Kernel>) {
    if has_sse2() {
        v.push(Kernel {
            name: "sse2",
            forward: shuffle_sse2,
            inverse: unshuffle_sse2,
        });
    }
    if has_avx2() {
        v.push(Kernel {
            name: "avx2",
            forward: shuffle_avx2,
            inverse: unshuffle_avx2,
        });
    }
    if has_avx512vbmi() {
        v.push(Kernel {
            name: "avx512vbmi",
            forward: shuffle_avx512,
            inverse: unshuffle_avx512,
        });
    }
}

/// Generates the tile drivers shared by every ISA module; expects `V`, `W`,
/// `zero`, `load_in`, `store_in`, `load_stream`, `store_stream`, `deint`,
/// `int` in scope.
macro_rules! tile_drivers {
    ($feat:literal) => {
        /// Forward transposition of `S` vectors holding one tile (see module docs).
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn transpose_fwd<const S: usize>(v: &mut [V; S]) {
            let mut r = 1;
            while r < S {
                let old = *v;
                for m in 0..S / 2 {
                    let (e, o) = deint(old[2 * m], old[2 * m + 1]);
                    v[m] = e;
                    v[S / 2 + m] = o;
                }
                r *= 2;
            }
        }

        /// Inverse of [`transpose_fwd`].
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn transpose_inv<const S: usize>(v: &mut [V; S]) {
            let mut r = 1;
            while r < S {
                let old = *v;
                for m in 0..S / 2 {
                    let (a, b) = int(old[m], old[S / 2 + m]);
                    v[2 * m] = a;
                    v[2 * m + 1] = b;
                }
                r *= 2;
            }
        }

        /// Shuffles all full tiles; returns the number of elements done.
        ///
        /// For `S >= 16` the streams of a batch of tiles are gathered in a
        /// stack buffer (512 bytes per stream) and copied out in runs: 16
        /// streams a power of two apart, written one vector at a time, keep
        /// evicting each other from the same L1 set (measured 4x slower on
        /// 256 KiB blocks).
        ///
        /// # Safety
        /// Features of this module available (1); `src.len() == dst.len()` (2).
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn shuffle_tiles<const S: usize>(src: &[u8], dst: &mut [u8]) -> usize {
            let ne = src.len() / S;
            let tiles = ne / W;
            let sp = src.as_ptr();
            if S < 16 {
                let dp = dst.as_mut_ptr();
                for t in 0..tiles {
                    let e0 = t * W;
                    let mut v = [zero(); S];
                    for (m, x) in v.iter_mut().enumerate() {
                        // SAFETY: (3) tile bytes [e0*S, (e0+W)*S) are inside src.
                        *x = unsafe { load_in(sp.add(e0 * S), S, m) };
                    }
                    transpose_fwd(&mut v);
                    for (j, x) in v.iter().enumerate() {
                        // SAFETY: (2)(3) stream j bytes [j*ne+e0, +W) are inside dst.
                        unsafe { store_stream(dp.add(j * ne + e0), *x) };
                    }
                }
                return tiles * W;
            }
            const RUN: usize = 512;
            let mut buf = [0u8; 16 * RUN];
            let bp = buf.as_mut_ptr();
            let mut t = 0;
            while t < tiles {
                let bt = (tiles - t).min(RUN / W);
                for u in 0..bt {
                    let e0 = (t + u) * W;
                    let mut v = [zero(); S];
                    for (m, x) in v.iter_mut().enumerate() {
                        // SAFETY: (3) tile bytes [e0*S, (e0+W)*S) are inside src.
                        *x = unsafe { load_in(sp.add(e0 * S), S, m) };
                    }
                    transpose_fwd(&mut v);
                    for (j, x) in v.iter().enumerate().take(16) {
                        // SAFETY: (4) j*RUN + u*W + W <= 16*RUN since j < 16, u < RUN/W.
                        unsafe { store_stream(bp.add(j * RUN + u * W), *x) };
                    }
                }
                let (e, len) = (t * W, bt * W);
                for j in 0..S.min(16) {
                    dst[j * ne + e..j * ne + e + len].copy_from_slice(&buf[j * RUN..j * RUN + len]);
                }
                t += bt;
            }
            tiles * W
        }

        /// Unshuffles all full tiles; returns the number of elements done.
        ///
        /// # Safety
        /// Features of this module available (1); `src.len() == dst.len()` (2).
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn unshuffle_tiles<const S: usize>(src: &[u8], dst: &mut [u8]) -> usize {
            let ne = src.len() / S;
            let tiles = ne / W;
            let sp = src.as_ptr();
            let dp = dst.as_mut_ptr();
            for t in 0..tiles {
                let e0 = t * W;
                let mut v = [zero(); S];
                for (j, x) in v.iter_mut().enumerate() {
                    // SAFETY: (3) stream j bytes [j*ne+e0, +W) are inside src.
                    *x = unsafe { load_stream(sp.add(j * ne + e0)) };
                }
                transpose_inv(&mut v);
                for (m, x) in v.iter().enumerate() {
                    // SAFETY: (2)(3) tile bytes [e0*S, (e0+W)*S) are inside dst.
                    unsafe { store_in(dp.add(e0 * S), S, m, *x) };
                }
            }
            tiles * W
        }

        /// Safe entry: shuffle with this ISA (scalar if it is missing).
        pub(crate) fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
            assert_eq!(src.len(), dst.len(), "filter: src and dst lengths differ");
            if !available() {
                return scalar::shuffle(typesize, src, dst);
            }
            // SAFETY: (1) available() checked, (2) asserted above.
            let done = unsafe {
                match typesize {
                    2 => shuffle_tiles::<2>(src, dst),
                    4 => shuffle_tiles::<4>(src, dst),
                    8 => shuffle_tiles::<8>(src, dst),
                    16 => shuffle_tiles::<16>(src, dst),
                    _ => 0,
                }
            };
            scalar::shuffle_from(typesize, done, src, dst);
        }

        /// Safe entry: unshuffle with this ISA (scalar if it is missing).
        pub(crate) fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
            assert_eq!(src.len(), dst.len(), "filter: src and dst lengths differ");
            if !available() {
                return scalar::unshuffle(typesize, src, dst);
            }
            // SAFETY: (1) available() checked, (2) asserted above.
            let done = unsafe {
                match typesize {
                    2 => unshuffle_tiles::<2>(src, dst),
                    4 => unshuffle_tiles::<4>(src, dst),
                    8 => unshuffle_tiles::<8>(src, dst),
                    16 => unshuffle_tiles::<16>(src, dst),
                    _ => 0,
                }
            };
            scalar::unshuffle_from(typesize, done, src, dst);
        }
    };
}

/// SSE2 primitives: 16-byte vectors, tiles of 16 elements.
pub(crate) mod sse2 {
    use super::*;

    /// Vector type.
    pub(crate) type V = __m128i;
    /// Elements per tile.
    pub(crate) const W: usize = 16;

    /// Whether this module may run.
    pub(crate) fn available() -> bool {
        has_sse2()
    }

    /// All-zero vector.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) fn zero() -> V {
        _mm_setzero_si128()
    }

    /// Loads vector `m` of the tile at `p` (element size `_s`).
    ///
    /// # Safety
    /// `p + 16*(m+1)` readable.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) unsafe fn load_in(p: *const u8, _s: usize, m: usize) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm_loadu_si128(p.add(16 * m).cast()) }
    }

    /// Stores vector `m` of the tile at `p`.
    ///
    /// # Safety
    /// `p + 16*(m+1)` writable.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) unsafe fn store_in(p: *mut u8, _s: usize, m: usize, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm_storeu_si128(p.add(16 * m).cast(), v) }
    }

    /// Loads `W` bytes of a stream.
    ///
    /// # Safety
    /// `p + W` readable.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) unsafe fn load_stream(p: *const u8) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm_loadu_si128(p.cast()) }
    }

    /// Stores `W` bytes of a stream.
    ///
    /// # Safety
    /// `p + W` writable.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) unsafe fn store_stream(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm_storeu_si128(p.cast(), v) }
    }

    /// Splits the 32 bytes `a ++ b` into (even bytes, odd bytes).
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) fn deint(a: V, b: V) -> (V, V) {
        let m = _mm_set1_epi16(0x00FF);
        let e = _mm_packus_epi16(_mm_and_si128(a, m), _mm_and_si128(b, m));
        let o = _mm_packus_epi16(_mm_srli_epi16::<8>(a), _mm_srli_epi16::<8>(b));
        (e, o)
    }

    /// Inverse of [`deint`]: interleaves even bytes `e` and odd bytes `o`.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) fn int(e: V, o: V) -> (V, V) {
        (_mm_unpacklo_epi8(e, o), _mm_unpackhi_epi8(e, o))
    }

    /// Stores bit 7 of each byte of `v` as `W/8` bytes at `p`; returns `v << 1`.
    ///
    /// # Safety
    /// `p + W/8` writable.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) unsafe fn bits_out(p: *mut u8, v: V) -> V {
        let m = _mm_movemask_epi8(v) as u16;
        // SAFETY: guaranteed by the caller.
        unsafe { p.cast::<[u8; 2]>().write_unaligned(m.to_le_bytes()) };
        _mm_add_epi8(v, v)
    }

    /// Returns `(v << 1) | bit`, where `bit` per byte comes from the `W/8`
    /// bytes at `p` (bit `i` for byte `i`).
    ///
    /// # Safety
    /// `p + W/8` readable.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) unsafe fn bits_in(p: *const u8, v: V) -> V {
        // SAFETY: guaranteed by the caller.
        let m = u16::from_le_bytes(unsafe { p.cast::<[u8; 2]>().read_unaligned() });
        let x = _mm_cvtsi32_si128(i32::from(m));
        let x = _mm_unpacklo_epi8(x, x);
        let x = _mm_unpacklo_epi16(x, x);
        let x = _mm_unpacklo_epi32(x, x);
        let bit = _mm_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
        let set = _mm_cmpeq_epi8(_mm_and_si128(x, bit), bit);
        _mm_sub_epi8(_mm_add_epi8(v, v), set)
    }

    tile_drivers!("sse2");
}

/// AVX2 primitives: 32-byte vectors holding two 16-element tiles, one per
/// 128-bit lane (tiles of 32 elements).
pub(crate) mod avx2 {
    use super::*;

    /// Vector type.
    pub(crate) type V = __m256i;
    /// Elements per tile.
    pub(crate) const W: usize = 32;

    /// Whether this module may run.
    pub(crate) fn available() -> bool {
        has_avx2()
    }

    /// All-zero vector.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn zero() -> V {
        _mm256_setzero_si256()
    }

    /// Loads vector `m` of the tile at `p`: lane 0 from the first 16
    /// elements, lane 1 from the next 16 (element size `s`).
    ///
    /// # Safety
    /// `p + 16*s + 16*(m+1)` readable.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn load_in(p: *const u8, s: usize, m: usize) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe {
            let lo = p.add(16 * m);
            _mm256_loadu2_m128i(lo.add(16 * s).cast(), lo.cast())
        }
    }

    /// Stores vector `m` of the tile at `p` (inverse of [`load_in`]).
    ///
    /// # Safety
    /// `p + 16*s + 16*(m+1)` writable.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn store_in(p: *mut u8, s: usize, m: usize, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            let lo = p.add(16 * m);
            _mm256_storeu2_m128i(lo.add(16 * s).cast(), lo.cast(), v)
        }
    }

    /// Loads `W` bytes of a stream.
    ///
    /// # Safety
    /// `p + W` readable.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn load_stream(p: *const u8) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }

    /// Stores `W` bytes of a stream.
    ///
    /// # Safety
    /// `p + W` writable.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn store_stream(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm256_storeu_si256(p.cast(), v) }
    }

    /// Per lane: splits `a ++ b` into (even bytes, odd bytes).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn deint(a: V, b: V) -> (V, V) {
        let m = _mm256_set1_epi16(0x00FF);
        let e = _mm256_packus_epi16(_mm256_and_si256(a, m), _mm256_and_si256(b, m));
        let o = _mm256_packus_epi16(_mm256_srli_epi16::<8>(a), _mm256_srli_epi16::<8>(b));
        (e, o)
    }

    /// Inverse of [`deint`].
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn int(e: V, o: V) -> (V, V) {
        (_mm256_unpacklo_epi8(e, o), _mm256_unpackhi_epi8(e, o))
    }

    /// Stores bit 7 of each byte of `v` as `W/8` bytes at `p`; returns `v << 1`.
    ///
    /// # Safety
    /// `p + W/8` writable.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn bits_out(p: *mut u8, v: V) -> V {
        let m = _mm256_movemask_epi8(v) as u32;
        // SAFETY: guaranteed by the caller.
        unsafe { p.cast::<[u8; 4]>().write_unaligned(m.to_le_bytes()) };
        _mm256_add_epi8(v, v)
    }

    /// Returns `(v << 1) | bit`, `bit` per byte from the `W/8` bytes at `p`.
    ///
    /// # Safety
    /// `p + W/8` readable.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) unsafe fn bits_in(p: *const u8, v: V) -> V {
        // SAFETY: guaranteed by the caller.
        let m = u32::from_le_bytes(unsafe { p.cast::<[u8; 4]>().read_unaligned() });
        let x = _mm256_set1_epi32(m as i32);
        let idx = _mm256_setr_epi64x(
            0,
            0x0101_0101_0101_0101,
            0x0202_0202_0202_0202,
            0x0303_0303_0303_0303,
        );
        let x = _mm256_shuffle_epi8(x, idx);
        let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
        let set = _mm256_cmpeq_epi8(_mm256_and_si256(x, bit), bit);
        _mm256_sub_epi8(_mm256_add_epi8(v, v), set)
    }

    tile_drivers!("avx2");
}

/// AVX-512 (F, BW, VBMI) primitives: 64-byte vectors, tiles of 64 elements,
/// cross-lane byte permutes (`vpermt2b`).
pub(crate) mod avx512 {
    use super::*;

    /// Vector type.
    pub(crate) type V = __m512i;
    /// Elements per tile.
    pub(crate) const W: usize = 64;

    /// Whether this module may run.
    pub(crate) fn available() -> bool {
        has_avx512vbmi()
    }

    /// Builds a `vpermt2b` index table: `split` picks bytes `2i + odd` of
    /// `a ++ b`; otherwise interleaves half `odd` (0 low, 1 high) of two vectors.
    const fn table(split: bool, odd: usize) -> [u8; 64] {
        let mut t = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            t[i] = if split {
                (2 * i + odd) as u8
            } else {
                (32 * odd + i / 2 + 64 * (i % 2)) as u8
            };
            i += 1;
        }
        t
    }
    /// Even bytes of `a ++ b`.
    static EVEN: [u8; 64] = table(true, 0);
    /// Odd bytes of `a ++ b`.
    static ODD: [u8; 64] = table(true, 1);
    /// Interleave of the low halves of `e` and `o`.
    static LO: [u8; 64] = table(false, 0);
    /// Interleave of the high halves of `e` and `o`.
    static HI: [u8; 64] = table(false, 1);

    /// Loads one of the 64-byte tables.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    fn idx(t: &[u8; 64]) -> V {
        // SAFETY: `t` is 64 readable bytes.
        unsafe { _mm512_loadu_si512(t.as_ptr().cast()) }
    }

    /// All-zero vector.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) fn zero() -> V {
        _mm512_setzero_si512()
    }

    /// Loads vector `m` of the tile at `p` (tiles are contiguous).
    ///
    /// # Safety
    /// `p + 64*(m+1)` readable.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) unsafe fn load_in(p: *const u8, _s: usize, m: usize) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm512_loadu_si512(p.add(64 * m).cast()) }
    }

    /// Stores vector `m` of the tile at `p`.
    ///
    /// # Safety
    /// `p + 64*(m+1)` writable.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) unsafe fn store_in(p: *mut u8, _s: usize, m: usize, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm512_storeu_si512(p.add(64 * m).cast(), v) }
    }

    /// Loads `W` bytes of a stream.
    ///
    /// # Safety
    /// `p + W` readable.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) unsafe fn load_stream(p: *const u8) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }

    /// Stores `W` bytes of a stream.
    ///
    /// # Safety
    /// `p + W` writable.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) unsafe fn store_stream(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm512_storeu_si512(p.cast(), v) }
    }

    /// Splits the 128 bytes `a ++ b` into (even bytes, odd bytes).
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) fn deint(a: V, b: V) -> (V, V) {
        (
            _mm512_permutex2var_epi8(a, idx(&EVEN), b),
            _mm512_permutex2var_epi8(a, idx(&ODD), b),
        )
    }

    /// Inverse of [`deint`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) fn int(e: V, o: V) -> (V, V) {
        (
            _mm512_permutex2var_epi8(e, idx(&LO), o),
            _mm512_permutex2var_epi8(e, idx(&HI), o),
        )
    }

    /// Stores bit 7 of each byte of `v` as `W/8` bytes at `p`; returns `v << 1`.
    ///
    /// # Safety
    /// `p + W/8` writable.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) unsafe fn bits_out(p: *mut u8, v: V) -> V {
        let m: u64 = _mm512_movepi8_mask(v);
        // SAFETY: guaranteed by the caller.
        unsafe { p.cast::<[u8; 8]>().write_unaligned(m.to_le_bytes()) };
        _mm512_add_epi8(v, v)
    }

    /// Returns `(v << 1) | bit`, `bit` per byte from the `W/8` bytes at `p`.
    ///
    /// # Safety
    /// `p + W/8` readable.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    pub(crate) unsafe fn bits_in(p: *const u8, v: V) -> V {
        // SAFETY: guaranteed by the caller.
        let m = u64::from_le_bytes(unsafe { p.cast::<[u8; 8]>().read_unaligned() });
        _mm512_sub_epi8(_mm512_add_epi8(v, v), _mm512_movm_epi8(m))
    }

    tile_drivers!("avx512f,avx512bw,avx512vbmi");
}

/// SSE2 shuffle (safe; see [`sse2::shuffle`]).
fn shuffle_sse2(ts: usize, src: &[u8], dst: &mut [u8]) {
    sse2::shuffle(ts, src, dst)
}
/// SSE2 unshuffle.
fn unshuffle_sse2(ts: usize, src: &[u8], dst: &mut [u8]) {
    sse2::unshuffle(ts, src, dst)
}
/// AVX2 shuffle.
fn shuffle_avx2(ts: usize, src: &[u8], dst: &mut [u8]) {
    avx2::shuffle(ts, src, dst)
}
/// AVX2 unshuffle.
fn unshuffle_avx2(ts: usize, src: &[u8], dst: &mut [u8]) {
    avx2::unshuffle(ts, src, dst)
}
/// AVX-512 VBMI shuffle.
fn shuffle_avx512(ts: usize, src: &[u8], dst: &mut [u8]) {
    avx512::shuffle(ts, src, dst)
}
/// AVX-512 VBMI unshuffle.
fn unshuffle_avx512(ts: usize, src: &[u8], dst: &mut [u8]) {
    avx512::unshuffle(ts, src, dst)
}
