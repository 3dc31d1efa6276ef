//! The C-Blosc2 3.3.5 defects of docs/COMPATIBILITY.md, each pinned by a test.

use b2frame::chunk::{self, ChunkHeader, SpecialValue};
use b2frame::{CParams, Codec, DParams, Filter};

#[test]
fn delta_item_ranges_past_block_zero_are_exact() {
    let src: Vec<u8> = (0..200_000i32)
        .flat_map(|i| ((i / 8) * 3 + (i % 2)).to_le_bytes())
        .collect();
    for filters in [
        vec![Filter::Delta],
        vec![Filter::Delta, Filter::Shuffle],
        vec![Filter::Shuffle, Filter::Delta],
    ] {
        let cp = CParams::default()
            .with_codec(Codec::Lz4)
            .with_typesize(4)
            .with_blocksize(64 * 1024)
            .with_filters(filters.clone());
        let c = chunk::compress(&cp, &src).expect("compress");
        let h = ChunkHeader::parse(&c).expect("header");
        assert!(h.nblocks() > 4, "{h:?}");
        for (a, b) in [
            (50_000usize, 50_010usize),
            (16_384, 32_768),
            (199_990, 200_000),
            (10, 100_000),
        ] {
            let mut out = vec![0u8; (b - a) * 4];
            chunk::decompress_items_into(&c, a..b, &mut out).expect("items");
            assert_eq!(out, src[a * 4..b * 4], "{filters:?} items {a}..{b}");
        }
    }
}

#[test]
fn delta_with_partial_trailing_item_round_trips() {
    let mut src: Vec<u8> = (0..30_001u32).flat_map(|i| i.to_le_bytes()).collect();
    src.extend_from_slice(&[0xAB, 0xCD, 0xEF]);
    let cp = CParams::default()
        .with_typesize(4)
        .with_filters([Filter::Delta, Filter::Shuffle])
        .with_blocksize(4096);
    let c = chunk::compress(&cp, &src).expect("compress");
    assert_eq!(
        chunk::decompress(&c, &DParams::default()).expect("decode"),
        src
    );
}

#[test]
fn special_chunks_need_whole_items() {
    let err =
        chunk::special(SpecialValue::Zeros, 10, 4, None).expect_err("10 bytes of 4-byte items");
    assert!(
        matches!(err, b2frame::Error::InvalidArgument { .. }),
        "{err}"
    );
    let err =
        chunk::special(SpecialValue::Value, 10, 4, Some(&[1, 2, 3, 4])).expect_err("partial value");
    assert!(
        matches!(err, b2frame::Error::InvalidArgument { .. }),
        "{err}"
    );
    let c = chunk::special(SpecialValue::Value, 12, 4, Some(&[1, 2, 3, 4])).expect("value chunk");
    assert_eq!(c.len(), 36);
    assert_eq!(
        chunk::decompress(&c, &DParams::default()).expect("decode"),
        [1, 2, 3, 4].repeat(3)
    );
    let nan = chunk::special(SpecialValue::Nan, 16, 8, None).expect("nan chunk");
    let back = chunk::decompress(&nan, &DParams::default()).expect("decode");
    assert!(back
        .chunks(8)
        .all(|v| f64::from_le_bytes(v.try_into().expect("8")).is_nan()));
}

#[test]
fn schunk_partial_item_chunks_use_standalone_blocksize() {
    // C gives a super-chunk chunk of 75,718 bytes (typesize 8) blocksize 75,718 and then
    // cannot decode it; b2frame uses the standalone rule: 75,712.
    let src: Vec<u8> = (0..75_718u32).map(|i| (i % 251) as u8).collect();
    let cp = CParams::default().with_typesize(8);
    let c = chunk::compress(&cp, &src).expect("compress");
    let h = ChunkHeader::parse(&c).expect("header");
    assert_eq!(h.blocksize, 75_712);
    assert_eq!(
        chunk::decompress(&c, &DParams::default()).expect("decode"),
        src
    );
}

#[test]
fn unknown_codecs_and_filters_are_named() {
    let src = vec![7u8; 4000];
    let arange: Vec<u8> = (0..10_000u32).flat_map(u32::to_le_bytes).collect();
    let mut c = chunk::compress(
        &CParams::default().with_codec(Codec::Lz4).with_typesize(4),
        &arange,
    )
    .expect("compress");
    c[2] = (c[2] & 0x1F) | (6 << 5);
    c[22] = 33;
    let Err(err) = chunk::decompress(&c, &DParams::default()) else {
        panic!("zfp decoded")
    };
    assert_eq!(err.to_string(), "unsupported codec: codec id 33 (ZFP)");
    let mut c = chunk::compress(
        &CParams::default().with_codec(Codec::Lz4).with_typesize(4),
        &src,
    )
    .expect("compress");
    c[16] = 36;
    let Err(err) = chunk::decompress(&c, &DParams::default()) else {
        panic!("int_trunc decoded")
    };
    assert!(
        err.to_string()
            .contains("filter id 36 (INT_TRUNC) in slot 0"),
        "{err}"
    );
}

#[test]
fn split_blocks_that_are_not_whole_items_are_rounded_down() {
    // C keeps a user blocksize of 102 bytes for typesize 4 with ALWAYS_SPLIT, writes
    // streams of 25 bytes (losing 2 bytes per block) and then cannot decode its own
    // chunk. b2frame splits only whole items: blocks of 100 bytes.
    let src: Vec<u8> = (0..5000u32).flat_map(u32::to_le_bytes).collect();
    let cp = CParams::default()
        .with_codec(Codec::Lz4)
        .with_typesize(4)
        .with_blocksize(102)
        .with_splitmode(b2frame::SplitMode::Always);
    let c = chunk::compress(&cp, &src).expect("compress");
    let h = ChunkHeader::parse(&c).expect("header");
    assert_eq!(h.blocksize, 100);
    assert_eq!(
        chunk::decompress(&c, &DParams::default()).expect("decode"),
        src
    );
    // Without splitting, C's unrounded blocksize is valid and kept.
    let c = chunk::compress(&cp.with_splitmode(b2frame::SplitMode::Never), &src).expect("compress");
    assert_eq!(ChunkHeader::parse(&c).expect("header").blocksize, 102);
    assert_eq!(
        chunk::decompress(&c, &DParams::default()).expect("decode"),
        src
    );
}
