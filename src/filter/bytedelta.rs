//! BYTEDELTA (filter id 35, and the legacy id 34 decoder; spec §B.6).
//!
//! With `s` the element size (filter meta, resolved by the caller) and
//! `sl = n / s`, the block is `s` channels of `sl` bytes (channel `c` =
//! bytes `[c*sl, (c+1)*sl)`, i.e. the byte streams SHUFFLE just made); each
//! channel is byte-delta coded with wrapping subtraction, the first byte
//! against 0. The `n - s*sl` trailing bytes are copied unchanged.
//!
//! Decoding is a running byte sum per channel, read from `src` and written to
//! `dst` in one pass. The implementation is chosen once: the fastest of
//! [`kernels`] (SSSE3, AVX2 or AVX-512 BW in-register prefix sums on x86-64;
//! `B2FRAME_FORCE_SCALAR=1` picks the scalar code).

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

/// Every BYTEDELTA implementation usable on this CPU, scalar first, fastest
/// last. `forward` is the (autovectorised) scalar encoder in all of them;
/// `inverse` is the decoder.
pub(super) fn kernels() -> Vec<Kernel> {
    #[allow(unused_mut)]
    let mut v = vec![Kernel {
        name: "scalar",
        forward: scalar::encode,
        inverse: scalar::decode,
    }];
    #[cfg(target_arch = "x86_64")]
    x86::push_kernels(&mut v);
    v
}

/// Byte-delta encodes one block: `out[c*sl+i] = in[c*sl+i] - in[c*sl+i-1]`.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bytedelta_encode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    scalar::encode(typesize, src, dst);
}

/// Undoes [`bytedelta_encode`]: a running byte sum per channel.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn bytedelta_decode(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check_lengths(src, dst);
    (selected().inverse)(typesize, src, dst);
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
    check_lengths(src, dst);
    legacy_decode_with(selected(), typesize, src, dst);
}

/// [`bytedelta_legacy_decode`] with the decoder of kernel `k`: each part of
/// a channel (before and from the restart) is decoded as a one-byte-element
/// block, i.e. one running sum.
fn legacy_decode_with(k: &Kernel, typesize: usize, src: &[u8], dst: &mut [u8]) {
    let s = typesize.max(1);
    let sl = src.len() / s;
    if sl > 0 {
        let cut = if sl > 15 { sl - sl % 16 } else { 0 };
        for (d, x) in dst[..s * sl]
            .chunks_exact_mut(sl)
            .zip(src[..s * sl].chunks_exact(sl))
        {
            let (d0, d1) = d.split_at_mut(cut);
            let (x0, x1) = x.split_at(cut);
            (k.inverse)(1, x0, d0);
            (k.inverse)(1, x1, d1);
        }
    }
    dst[s * sl..].copy_from_slice(&src[s * sl..]);
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

    /// The decoding of §B.6 written as plainly as possible; `legacy` restarts
    /// each channel's sum at `sl - sl % 16` (when `sl > 15`).
    fn naive_decode(ts: usize, src: &[u8], legacy: bool) -> Vec<u8> {
        let s = ts.max(1);
        let sl = src.len() / s;
        let mut out = src.to_vec();
        let cut = if legacy && sl > 15 { sl - sl % 16 } else { 0 };
        for c in 0..s {
            let mut run = 0u8;
            for i in 0..sl {
                if i == cut {
                    run = 0;
                }
                run = run.wrapping_add(src[c * sl + i]);
                out[c * sl + i] = run;
            }
        }
        out
    }

    #[test]
    fn encode_ts2_example() {
        // channels [10, 12, 11] and [200, 100, 50], then one trailing byte.
        let src = [10u8, 12, 11, 200, 100, 50, 99];
        let mut dst = [0u8; 7];
        bytedelta_encode(2, &src, &mut dst);
        assert_eq!(dst, [10, 2, 255, 200, 156, 206, 99]);
        for k in kernels() {
            let mut back = [0u8; 7];
            (k.inverse)(2, &dst, &mut back);
            assert_eq!(back, src, "{}", k.name);
        }
    }

    #[test]
    fn every_kernel_matches_definition_for_small_blocks() {
        let ks = kernels();
        for ts in 1..=32 {
            for n in 0..=300 {
                let src = bytes(n, (ts * 1_000_003 + n) as u64);
                let want = naive_decode(ts, &src, false);
                let want_legacy = naive_decode(ts, &src, true);
                for k in &ks {
                    let mut got = vec![0xAA; n];
                    (k.inverse)(ts, &src, &mut got);
                    assert_eq!(got, want, "{} ts {ts} n {n}", k.name);
                    let mut got = vec![0x55; n];
                    legacy_decode_with(k, ts, &src, &mut got);
                    assert_eq!(got, want_legacy, "{} legacy ts {ts} n {n}", k.name);
                }
            }
        }
    }

    #[test]
    fn every_kernel_matches_definition_for_big_blocks() {
        let ks = kernels();
        for (i, &n) in [65_536usize, 262_144, 262_147, 1_000_003]
            .iter()
            .enumerate()
        {
            let src = bytes(n, 77 + i as u64);
            for ts in [1, 2, 3, 4, 7, 8, 16, 33] {
                let want = naive_decode(ts, &src, false);
                let want_legacy = naive_decode(ts, &src, true);
                for k in &ks {
                    let mut got = vec![0; n];
                    (k.inverse)(ts, &src, &mut got);
                    assert!(got == want, "{} ts {ts} n {n}", k.name);
                    legacy_decode_with(k, ts, &src, &mut got);
                    assert!(got == want_legacy, "{} legacy ts {ts} n {n}", k.name);
                }
            }
        }
    }

    #[test]
    fn decode_undoes_encode_with_every_kernel() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (1_700_000_000 + 3 * i).to_le_bytes())
            .collect();
        let mut coded = vec![0; data.len()];
        bytedelta_encode(4, &data, &mut coded);
        for k in kernels() {
            let mut back = vec![0; data.len()];
            (k.inverse)(4, &coded, &mut back);
            assert!(back == data, "{}", k.name);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn simd_decode_equals_scalar(
            ts in 1usize..=32,
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20_000),
        ) {
            let ks = kernels();
            proptest::prop_assert_eq!(ks[0].name, "scalar");
            let mut want = vec![0; data.len()];
            (ks[0].inverse)(ts, &data, &mut want);
            let mut want_legacy = vec![0; data.len()];
            legacy_decode_with(&ks[0], ts, &data, &mut want_legacy);
            for k in &ks[1..] {
                let mut got = vec![0xA5; data.len()];
                (k.inverse)(ts, &data, &mut got);
                proptest::prop_assert_eq!(&got, &want, "{} ts {}", k.name, ts);
                legacy_decode_with(k, ts, &data, &mut got);
                proptest::prop_assert_eq!(&got, &want_legacy, "{} legacy ts {}", k.name, ts);
            }
        }
    }

    #[test]
    fn simd_kernels_are_listed() {
        let names: Vec<_> = kernels().iter().map(|k| k.name).collect();
        eprintln!("bytedelta kernels: {names:?}");
        assert_eq!(names[0], "scalar");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            assert!(names.contains(&"ssse3"));
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
