//! Property tests: compress → decompress is the identity (lossless filters)
//! over codec × filters × clevel × typesize × blocksize on compressible data,
//! item ranges equal slices of the whole decode, and thread counts never
//! change the bytes.

use b2frame::chunk;
use b2frame::{CParams, Codec, DParams, Filter, SplitMode};
use proptest::prelude::*;

fn codec() -> impl Strategy<Value = Codec> {
    prop_oneof![
        Just(Codec::BloscLz),
        Just(Codec::Lz4),
        Just(Codec::Lz4Hc),
        Just(Codec::Zlib),
        Just(Codec::Zstd)
    ]
}

fn filters() -> impl Strategy<Value = Vec<Filter>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![Filter::Shuffle]),
        Just(vec![Filter::BitShuffle]),
        Just(vec![Filter::Delta]),
        Just(vec![Filter::Delta, Filter::Shuffle]),
        Just(vec![Filter::Shuffle, Filter::ByteDelta]),
        Just(vec![Filter::Shuffle, Filter::Delta]),
        Just(vec![Filter::BitShuffle, Filter::Shuffle, Filter::Delta]),
    ]
}

/// Compressible data: runs, arange, random walk, with a random length.
fn data() -> impl Strategy<Value = Vec<u8>> {
    (0usize..4, 0usize..70_000, any::<u64>()).prop_map(|(kind, n, seed)| {
        let mut x = seed;
        let mut walk = 0i32;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match kind {
                    0 => (i / 1000) as u8,
                    1 => (i as u32).to_le_bytes()[i % 4],
                    2 => {
                        walk += ((x >> 60) as i32 % 3) - 1;
                        walk.to_le_bytes()[i % 4]
                    }
                    _ => (x >> 56) as u8,
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn compress_decompress_round_trips(
        codec in codec(), filters in filters(), clevel in 0u8..=9, typesize in 1usize..=16,
        blocksize in prop_oneof![Just(0usize), 1usize..70_000], split in 1u8..=4, src in data(),
    ) {
        let cp = CParams::default().with_codec(codec).with_clevel(clevel).with_typesize(typesize)
            .with_filters(filters).with_blocksize(blocksize).with_splitmode(SplitMode::from_value(split).unwrap());
        let c = chunk::compress(&cp, &src).unwrap();
        prop_assert!(c.len() <= src.len() + 32, "overhead above 32 bytes");
        let back = chunk::decompress(&c, &DParams::default()).unwrap();
        prop_assert_eq!(&back, &src);
        let c2 = chunk::compress(&cp.clone().with_nthreads(3), &src).unwrap();
        prop_assert_eq!(&c2, &c, "thread count changed the bytes");
        let back2 = chunk::decompress(&c, &DParams::default().with_nthreads(3)).unwrap();
        prop_assert_eq!(&back2, &src);
        let nitems = src.len().div_ceil(typesize);
        if nitems > 0 {
            let a = nitems / 3;
            let b = (nitems * 2 / 3 + 1).min(nitems);
            let mut out = vec![0u8; (b - a) * typesize];
            let n = chunk::decompress_items_into(&c, a..b, &mut out).unwrap();
            prop_assert_eq!(&out[..n], &src[a * typesize..(b * typesize).min(src.len())]);
        }
    }
}

#[test]
fn trunc_prec_keeps_requested_mantissa_bits() {
    let vals: Vec<f64> = (0..10_000)
        .map(|i| f64::from(i) * 0.1 + 1.0 / 3.0)
        .collect();
    let src: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let cp = CParams::default()
        .with_typesize(8)
        .with_filters([Filter::TruncPrec, Filter::Shuffle])
        .with_filters_meta([20, 0, 0, 0, 0, 0]);
    let back =
        chunk::decompress(&chunk::compress(&cp, &src).unwrap(), &DParams::default()).unwrap();
    for (i, v) in back.chunks_exact(8).enumerate() {
        let got = u64::from_le_bytes(v.try_into().unwrap());
        let want = vals[i].to_bits() & !((1u64 << (52 - 20)) - 1);
        assert_eq!(got, want, "item {i}");
    }
}

#[test]
fn invalid_parameters_are_typed_errors() {
    let src = vec![0u8; 100];
    let bad = [
        CParams::default().with_clevel(10),
        CParams::default().with_typesize(0),
        CParams::default()
            .with_typesize(3)
            .with_filters([Filter::TruncPrec]),
        CParams::default().with_blocksize(usize::MAX),
    ];
    for cp in bad {
        let err = chunk::compress(&cp, &src).unwrap_err();
        assert!(
            matches!(err, b2frame::Error::InvalidArgument { .. }),
            "{err}"
        );
    }
}
