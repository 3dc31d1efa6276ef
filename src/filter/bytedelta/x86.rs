//! x86-64 SIMD BYTEDELTA decoding (SSSE3, AVX2, AVX-512 BW), runtime-detected.
//!
//! Each channel is summed one vector at a time, reading `src` and writing
//! `dst` (no separate copy). A vector's bytes get their in-register prefix
//! sum by `log2(16)` rounds of "add the vector shifted up by 1, 2, 4, 8
//! bytes" (`pslldq` works within 128-bit lanes, so AVX2 and AVX-512 then add
//! each lane's exclusive prefix of lane totals, taken from byte 15 of every
//! lane). The running total of the channel so far (`carry`, one byte
//! broadcast to every lane) is added on store; the vector's own total,
//! broadcast, is added to `carry` off the store path, so the loop-carried
//! dependency is one byte add per vector. The bytes after the last full
//! vector go to the scalar code, starting from `carry`.
//!
//! Invariants cited by the `SAFETY` comments:
//! 1. A `#[target_feature]` function of module `ssse3`/`avx2`/`avx512` is
//!    only called after the safe entry point checked the features
//!    (`available()`), or from a function enabling the same features.
//! 2. `stream` loads from `src` and stores to `dst` only at `i..i + W` with
//!    `i + W <= n`, where `n <= min(src.len(), dst.len())`.
#![allow(unsafe_code)]

use super::scalar;
use crate::filter::Kernel;
use core::arch::x86_64::*;

/// Appends the SIMD BYTEDELTA kernels this CPU supports, slowest first.
pub(crate) fn push_kernels(v: &mut Vec<Kernel>) {
    if ssse3::available() {
        v.push(Kernel {
            name: "ssse3",
            forward: scalar::encode,
            inverse: ssse3::decode,
        });
    }
    if avx2::available() {
        v.push(Kernel {
            name: "avx2",
            forward: scalar::encode,
            inverse: avx2::decode,
        });
    }
    if avx512::available() {
        v.push(Kernel {
            name: "avx512bw",
            forward: scalar::encode,
            inverse: avx512::decode,
        });
    }
}

/// Generates the block driver and the safe entry point of an ISA module;
/// expects `available` and `stream` in scope.
macro_rules! drivers {
    ($feat:literal) => {
        /// Decodes every channel of a block of `s` channels of `sl` bytes.
        ///
        /// # Safety
        /// (1): the CPU has this module's features.
        #[target_feature(enable = $feat)]
        unsafe fn channels(s: usize, sl: usize, src: &[u8], dst: &mut [u8]) {
            for (d, x) in dst[..s * sl]
                .chunks_exact_mut(sl)
                .zip(src[..s * sl].chunks_exact(sl))
            {
                // SAFETY: (1) guaranteed by the caller; (2) `stream` bounds itself.
                let (done, run) = unsafe { stream(x, d) };
                scalar::sum_from(run, &x[done..], &mut d[done..]);
            }
        }

        /// Safe entry: BYTEDELTA decode with this ISA (scalar if it is missing).
        pub(crate) fn decode(typesize: usize, src: &[u8], dst: &mut [u8]) {
            assert_eq!(src.len(), dst.len(), "filter: src and dst lengths differ");
            if !available() {
                return scalar::decode(typesize, src, dst);
            }
            let s = typesize.max(1);
            let sl = src.len() / s;
            if sl > 0 {
                // SAFETY: (1) available() checked above.
                unsafe { channels(s, sl, src, dst) };
            }
            dst[s * sl..].copy_from_slice(&src[s * sl..]);
        }
    };
}

/// SSSE3: 16-byte vectors, the total broadcast with `pshufb`.
pub(crate) mod ssse3 {
    use super::*;

    /// Whether this module may run.
    pub(crate) fn available() -> bool {
        is_x86_feature_detected!("ssse3")
    }

    /// Running sum of the whole 16-byte vectors of `src` into `dst`; returns
    /// the bytes done and the sum so far.
    ///
    /// # Safety
    /// (1): the CPU has SSSE3.
    #[target_feature(enable = "ssse3")]
    #[inline]
    unsafe fn stream(src: &[u8], dst: &mut [u8]) -> (usize, u8) {
        let n = src.len().min(dst.len()) / 16 * 16;
        let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
        let last = _mm_set1_epi8(15);
        let mut carry = _mm_setzero_si128();
        let mut i = 0;
        while i < n {
            // SAFETY: (2) i + 16 <= n.
            let mut x = unsafe { _mm_loadu_si128(sp.add(i).cast()) };
            x = _mm_add_epi8(x, _mm_slli_si128::<1>(x));
            x = _mm_add_epi8(x, _mm_slli_si128::<2>(x));
            x = _mm_add_epi8(x, _mm_slli_si128::<4>(x));
            x = _mm_add_epi8(x, _mm_slli_si128::<8>(x));
            let total = _mm_shuffle_epi8(x, last);
            // SAFETY: (2) i + 16 <= n.
            unsafe { _mm_storeu_si128(dp.add(i).cast(), _mm_add_epi8(x, carry)) };
            carry = _mm_add_epi8(carry, total);
            i += 16;
        }
        (n, _mm_cvtsi128_si32(carry) as u8)
    }

    drivers!("ssse3");
}

/// AVX2: 32-byte vectors of two 16-byte lanes.
pub(crate) mod avx2 {
    use super::*;

    /// Whether this module may run.
    pub(crate) fn available() -> bool {
        is_x86_feature_detected!("avx2")
    }

    /// Running sum of the whole 32-byte vectors of `src` into `dst`; returns
    /// the bytes done and the sum so far.
    ///
    /// # Safety
    /// (1): the CPU has AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn stream(src: &[u8], dst: &mut [u8]) -> (usize, u8) {
        let n = src.len().min(dst.len()) / 32 * 32;
        let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
        let last = _mm256_set1_epi8(15);
        let mut carry = _mm256_setzero_si256();
        let mut i = 0;
        while i < n {
            // SAFETY: (2) i + 32 <= n.
            let mut x = unsafe { _mm256_loadu_si256(sp.add(i).cast()) };
            x = _mm256_add_epi8(x, _mm256_slli_si256::<1>(x));
            x = _mm256_add_epi8(x, _mm256_slli_si256::<2>(x));
            x = _mm256_add_epi8(x, _mm256_slli_si256::<4>(x));
            x = _mm256_add_epi8(x, _mm256_slli_si256::<8>(x));
            // Lane totals [t0, t1]; lane 1 adds t0, the vector's total is t0 + t1.
            let t = _mm256_shuffle_epi8(x, last);
            x = _mm256_add_epi8(x, _mm256_permute2x128_si256::<0x08>(t, t));
            let total = _mm256_add_epi8(t, _mm256_permute2x128_si256::<0x01>(t, t));
            // SAFETY: (2) i + 32 <= n.
            unsafe { _mm256_storeu_si256(dp.add(i).cast(), _mm256_add_epi8(x, carry)) };
            carry = _mm256_add_epi8(carry, total);
            i += 32;
        }
        (n, _mm_cvtsi128_si32(_mm256_castsi256_si128(carry)) as u8)
    }

    drivers!("avx2");
}

/// AVX-512 BW: 64-byte vectors of four 16-byte lanes.
pub(crate) mod avx512 {
    use super::*;

    /// Whether this module may run.
    pub(crate) fn available() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
    }

    /// Running sum of the whole 64-byte vectors of `src` into `dst`; returns
    /// the bytes done and the sum so far.
    ///
    /// # Safety
    /// (1): the CPU has AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    unsafe fn stream(src: &[u8], dst: &mut [u8]) -> (usize, u8) {
        let n = src.len().min(dst.len()) / 64 * 64;
        let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
        let last = _mm512_set1_epi8(15);
        let mut carry = _mm512_setzero_si512();
        let mut i = 0;
        while i < n {
            // SAFETY: (2) i + 64 <= n.
            let mut x = unsafe { _mm512_loadu_si512(sp.add(i).cast()) };
            x = _mm512_add_epi8(x, _mm512_bslli_epi128::<1>(x));
            x = _mm512_add_epi8(x, _mm512_bslli_epi128::<2>(x));
            x = _mm512_add_epi8(x, _mm512_bslli_epi128::<4>(x));
            x = _mm512_add_epi8(x, _mm512_bslli_epi128::<8>(x));
            // Lane totals [t0, t1, t2, t3] -> inclusive prefix over lanes in
            // two shift-by-lanes rounds (zeroing masks), then lanes shifted
            // by one more give each lane's exclusive prefix.
            let t = _mm512_shuffle_epi8(x, last);
            let u = _mm512_add_epi8(t, _mm512_maskz_shuffle_i32x4::<0x90>(0xFFF0, t, t));
            let p = _mm512_add_epi8(u, _mm512_maskz_shuffle_i32x4::<0x40>(0xFF00, u, u));
            x = _mm512_add_epi8(x, _mm512_maskz_shuffle_i32x4::<0x90>(0xFFF0, p, p));
            let total = _mm512_shuffle_i32x4::<0xFF>(p, p);
            // SAFETY: (2) i + 64 <= n.
            unsafe { _mm512_storeu_si512(dp.add(i).cast(), _mm512_add_epi8(x, carry)) };
            carry = _mm512_add_epi8(carry, total);
            i += 64;
        }
        (n, _mm_cvtsi128_si32(_mm512_castsi512_si128(carry)) as u8)
    }

    drivers!("avx512f,avx512bw");
}
