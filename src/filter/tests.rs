//! Unit tests of the filter kernels.
//! Every SIMD kernel equals the scalar kernel (proptest), and the filters
//! round-trip on compressible data.

use super::{self as api, Kernel};
use proptest::prelude::*;

fn check(kernels: &[Kernel], ts: usize, data: &[u8]) -> Result<(), TestCaseError> {
    let scalar = kernels[0];
    assert_eq!(scalar.name, "scalar");
    let mut want = vec![0u8; data.len()];
    (scalar.forward)(ts, data, &mut want);
    let mut want_inv = vec![0u8; data.len()];
    (scalar.inverse)(ts, data, &mut want_inv);
    for k in &kernels[1..] {
        let mut got = vec![0xA5u8; data.len()];
        (k.forward)(ts, data, &mut got);
        prop_assert_eq!(&got, &want, "{} forward ts {} n {}", k.name, ts, data.len());
        (k.inverse)(ts, data, &mut got);
        prop_assert_eq!(
            &got,
            &want_inv,
            "{} inverse ts {} n {}",
            k.name,
            ts,
            data.len()
        );
    }
    Ok(())
}

#[test]
fn kernels_present() {
    let names: Vec<_> = api::shuffle_kernels().iter().map(|k| k.name).collect();
    eprintln!("shuffle kernels: {names:?}");
    let names: Vec<_> = api::bitshuffle_kernels().iter().map(|k| k.name).collect();
    eprintln!("bitshuffle kernels: {names:?}");
    #[cfg(target_arch = "x86_64")]
    assert!(names.contains(&"sse2"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn simd_shuffle_equals_scalar(ts in 1usize..=32, data in prop::collection::vec(any::<u8>(), 0..20_000)) {
        check(&api::shuffle_kernels(), ts, &data)?;
    }

    #[test]
    fn simd_bitshuffle_equals_scalar(ts in 1usize..=32, data in prop::collection::vec(any::<u8>(), 0..20_000)) {
        check(&api::bitshuffle_kernels(), ts, &data)?;
    }

    #[test]
    fn simd_hot_typesizes_equal_scalar(ts in prop::sample::select(vec![1usize, 2, 4, 8, 16]), n in 0usize..70_000, seed in any::<u64>()) {
        let mut x = seed | 1;
        let data: Vec<u8> = (0..n).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect();
        check(&api::shuffle_kernels(), ts, &data)?;
        check(&api::bitshuffle_kernels(), ts, &data)?;
    }

    #[test]
    fn delta_round_trips(ts in 1usize..=32, bs in 1usize..5000, extra in 0usize..5000, start in any::<u32>(), step in 0u32..1000) {
        // arange-like data, two blocks: block 0 and a shorter later block.
        let data: Vec<u8> = (0..bs + extra.min(bs)).map(|i| (start.wrapping_add(step.wrapping_mul(i as u32 / ts as u32)) >> (8 * (i % 4))) as u8).collect();
        let (b0, b1) = data.split_at(bs);
        let mut e0 = vec![0; b0.len()];
        api::delta_encode(b0, true, ts, b0, &mut e0);
        let mut e1 = vec![0; b1.len()];
        api::delta_encode(b0, false, ts, b1, &mut e1);
        api::delta_decode(&[], true, ts, &mut e0);
        prop_assert_eq!(&e0, b0);
        api::delta_decode(&e0, false, ts, &mut e1);
        prop_assert_eq!(&e1, b1);
    }

    #[test]
    fn bytedelta_round_trips(ts in 1usize..=32, data in prop::collection::vec(any::<u8>(), 0..10_000)) {
        let mut enc = vec![0; data.len()];
        api::bytedelta_encode(ts, &data, &mut enc);
        let mut dec = vec![0; data.len()];
        api::bytedelta_decode(ts, &enc, &mut dec);
        prop_assert_eq!(dec, data);
    }
}
