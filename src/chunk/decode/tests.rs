//! Range reads equal the same bytes of the whole decoded chunk, for every filter
//! pipeline, typesize, codec and split mode, at block and stream edges; and the
//! partial block path is taken where the pipeline allows it.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::chunk::compress;
use crate::chunk::params::{CParams, Codec, SplitMode};
use proptest::prelude::*;

/// Typed-looking data: a random walk per item (low bytes vary, high bytes are
/// runs), with stretches of noise and of zeros, so streams come out coded, raw,
/// zero and run-length.
fn data(seed: u64, n: usize, ts: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut walk = next() >> 40;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let r = next();
        let len = (r >> 8) as usize % 3000;
        match r % 5 {
            0 => v.extend((0..len).map(|_| next() as u8)),
            1 => v.resize(v.len() + len, 0),
            _ => {
                for _ in 0..len / ts.max(1) + 1 {
                    walk = walk.wrapping_add(next() % 7).wrapping_sub(3);
                    v.extend((0..ts).map(|k| (walk >> (8 * (k % 8))) as u8));
                }
            }
        }
    }
    v.truncate(n);
    v
}

/// The filter pipelines to test (slots from 0), with their meta bytes.
fn pipelines() -> Vec<(Vec<Filter>, [u8; 6])> {
    vec![
        (vec![], [0; 6]),
        (vec![Filter::Shuffle], [0; 6]),
        (vec![Filter::BitShuffle], [0; 6]),
        (vec![Filter::Delta], [0; 6]),
        (vec![Filter::Delta, Filter::Shuffle], [0; 6]),
        (vec![Filter::Delta, Filter::BitShuffle], [0; 6]),
        (vec![Filter::Shuffle, Filter::Delta], [0; 6]),
        (vec![Filter::Shuffle, Filter::ByteDelta], [0; 6]),
        (
            vec![Filter::Delta, Filter::Shuffle, Filter::ByteDelta],
            [0; 6],
        ),
        (vec![Filter::Shuffle, Filter::ByteDelta], [4, 4, 0, 0, 0, 0]),
        (vec![Filter::Shuffle, Filter::ByteDelta], [2, 4, 0, 0, 0, 0]),
        (vec![Filter::BitShuffle, Filter::ByteDelta], [0; 6]),
        (vec![Filter::Shuffle, Filter::Shuffle], [0; 6]),
        // Shuffle with an element size other than the typesize.
        (vec![Filter::Shuffle], [2, 0, 0, 0, 0, 0]),
        (vec![Filter::Shuffle], [3, 0, 0, 0, 0, 0]),
    ]
}

/// Item ranges at the edges of blocks and streams, and a few random ones.
fn ranges(nitems: usize, bitems: usize, ts: usize, seed: u64) -> Vec<Range<usize>> {
    let mut out = vec![0..nitems, 0..1, nitems.saturating_sub(1)..nitems];
    let bitems = bitems.max(1);
    let nblocks = nitems.div_ceil(bitems);
    for b in 0..nblocks.min(4) {
        let s = b * bitems;
        let e = s + bitems;
        for (a, z) in [
            (s, s + 1),
            (s, e),
            (s + 1, e - 1),
            (e - 1, e + 1),
            (s + 7, s + 9),
            (s + 8, s + 16),
            (s + bitems / 2, s + bitems / 2 + 1000 / ts.max(1) + 1),
            (e.saturating_sub(9).max(s), e),
        ] {
            out.push(a.min(nitems)..z.min(nitems));
        }
    }
    let mut x = seed | 1;
    for _ in 0..6 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let a = (x >> 33) as usize % nitems.max(1);
        let len = (x >> 13) as usize % (2 * bitems).max(1);
        out.push(a..(a + len).min(nitems));
    }
    out.retain(|r| r.start <= r.end);
    out
}

fn check_chunk(c: &[u8], what: &str) -> Result<(), TestCaseError> {
    let all = decompress(c, &DParams::default())
        .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    let d = Decoder::new(c).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let ts = d.h.typesize;
    let nitems = all.len().div_ceil(ts);
    let bitems = (d.h.blocksize / ts).max(1);
    for r in ranges(nitems, bitems, ts, c.len() as u64) {
        if r.start * ts > all.len() {
            continue;
        }
        let want = &all[r.start * ts..(r.end * ts).min(all.len())];
        let mut got = vec![0xA5u8; want.len()];
        let n = decompress_items_into(c, r.clone(), &mut got)
            .map_err(|e| TestCaseError::fail(format!("{what} items {r:?}: {e}")))?;
        prop_assert_eq!(n, want.len());
        prop_assert!(got == want, "{} items {:?}", what, r);
    }
    // Byte ranges that start and end inside items.
    let n = all.len();
    let half = n / 2;
    for (a, z) in [
        (1, 2),
        (3, 11),
        (half.saturating_sub(1), half + 13),
        (n - 1, n),
        (5, n.saturating_sub(3)),
    ] {
        if a >= z || z > n {
            continue;
        }
        let mut got = vec![0x5Au8; z - a];
        d.decode_range(a..z, &mut got)
            .map_err(|e| TestCaseError::fail(format!("{what} bytes {a}..{z}: {e}")))?;
        prop_assert!(got == all[a..z], "{} bytes {}..{}", what, a, z);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn item_ranges_equal_full_decode(
        seed in any::<u64>(),
        ts in prop::sample::select(vec![1usize, 2, 3, 4, 7, 8, 12, 16, 24]),
        nitems in 1usize..12_000,
        extra in 0usize..3,
        bs_items in prop::sample::select(vec![0usize, 64, 100, 1000, 4096]),
    ) {
        let n = nitems * ts + extra.min(ts - 1);
        let src = data(seed, n, ts);
        for (p, (filters, meta)) in pipelines().into_iter().enumerate() {
            let codec = [Codec::Lz4, Codec::BloscLz, Codec::Zstd, Codec::Lz4Hc, Codec::Zlib][(seed as usize + p) % 5];
            let split = [SplitMode::Always, SplitMode::Never, SplitMode::Auto][(seed >> 8) as usize % 3];
            let cp = CParams::default()
                .with_codec(codec)
                .with_clevel(1 + (seed >> 16) as u8 % 9)
                .with_typesize(ts)
                .with_filters(filters.clone())
                .with_filters_meta(meta)
                .with_splitmode(split)
                .with_blocksize(bs_items * ts);
            let c = compress(&cp, &src).map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_chunk(&c, &format!("{filters:?} {meta:?} {codec:?} {split:?} ts {ts} n {n}"))?;
        }
    }
}

#[test]
fn partial_path_is_taken_for_transposes_and_delta() {
    let ts = 8;
    let src = data(7, 64 * 1024 * ts, ts);
    let cases: [(&[Filter], bool); 8] = [
        (&[], true),
        (&[Filter::Shuffle], true),
        (&[Filter::BitShuffle], true),
        (&[Filter::Delta, Filter::Shuffle], true),
        (&[Filter::Delta], true),
        (&[Filter::Shuffle, Filter::ByteDelta], true),
        (&[Filter::BitShuffle, Filter::ByteDelta], false),
        (&[Filter::Shuffle, Filter::Delta], false),
    ];
    for (filters, partial) in cases {
        for codec in [Codec::Lz4, Codec::Zstd, Codec::BloscLz] {
            let cp = CParams::default()
                .with_codec(codec)
                .with_clevel(5)
                .with_typesize(ts)
                .with_filters(filters.iter().copied())
                .with_blocksize(16 * 1024 * ts);
            let c = compress(&cp, &src).unwrap();
            let all = decompress(&c, &DParams::default()).unwrap();
            let d = Decoder::new(&c).unwrap();
            let bs = d.h.blocksize;
            let mut s = Scratch::default();
            let mut reference = vec![0u8; bs];
            d.decode_block(0, &mut reference, None, &mut s).unwrap();
            for (b, lo, hi) in [(0, 8, 800), (2, 0, 8), (2, bs - 800, bs), (3, 4000, 12_000)] {
                let mut out = vec![0u8; hi - lo];
                let done = d
                    .decode_block_part(b, bs, lo..hi, &mut out, Some(&reference), &mut s)
                    .unwrap();
                assert_eq!(done, partial, "{filters:?} {codec:?} block {b}");
                if done {
                    assert_eq!(
                        out,
                        all[b * bs + lo..b * bs + hi],
                        "{filters:?} {codec:?} {b}"
                    );
                }
            }
        }
    }
}

/// Reads bytes `range` of block 1 of a two-block chunk of one long coded stream per
/// block (`codec`, no filter, no split), checks them, and returns the scratch stream
/// buffer, poisoned with 0xEE before the read: bytes the decoder never wrote keep it.
fn poisoned_stream_after_read(codec: Codec, clevel: u8, range: Range<usize>) -> Vec<u8> {
    let src: Vec<u8> = (0..256 * 1024u32)
        .map(|i| (i / 7 % 13 + i / 1000) as u8)
        .collect();
    let cp = CParams::default()
        .with_codec(codec)
        .with_clevel(clevel)
        .with_typesize(1)
        .with_filters([])
        .with_blocksize(128 * 1024);
    let c = compress(&cp, &src).unwrap();
    let d = Decoder::new(&c).unwrap();
    assert_eq!(d.h.nblocks(), 2);
    let mut s = Scratch {
        a: vec![0xEE; 128 * 1024],
        ..Scratch::default()
    };
    let mut out = vec![0u8; range.len()];
    assert!(d
        .decode_block_part(1, 128 * 1024, range.clone(), &mut out, None, &mut s)
        .unwrap());
    let at = 128 * 1024;
    assert_eq!(out, src[at + range.start..at + range.end], "{codec:?}");
    s.a
}

#[test]
fn lz4_blosclz_and_zlib_streams_are_cut_short() {
    // Reading a stream's first items must not decode the rest.
    for codec in [Codec::Lz4, Codec::BloscLz, Codec::Zlib] {
        let a = poisoned_stream_after_read(codec, 5, 0..100);
        assert!(
            a[64 * 1024..].iter().all(|&b| b == 0xEE),
            "{codec:?} decoded the whole stream"
        );
    }
}

#[test]
fn item_ranges_in_long_unsplit_streams_equal_full_decode() {
    // One coded stream per block, so items near plane ends stop the decoder late.
    let ts = 8;
    let src = data(11, 40_000 * ts, ts);
    for codec in [Codec::Lz4, Codec::Lz4Hc, Codec::BloscLz, Codec::Zstd] {
        for clevel in [1, 5, 9] {
            let cp = CParams::default()
                .with_codec(codec)
                .with_clevel(clevel)
                .with_typesize(ts)
                .with_filters([Filter::Shuffle])
                .with_splitmode(SplitMode::Never)
                .with_blocksize(8192 * ts);
            let c = compress(&cp, &src).unwrap();
            check_chunk(&c, &format!("{codec:?} {clevel}")).unwrap();
            let mut got = vec![0u8; 1000 * ts];
            for a in [0, 7192, 8191 - 999, 12_000, 16_383 - 999, 39_000] {
                let n = decompress_items_into(&c, a..a + 1000, &mut got).unwrap();
                assert_eq!(n, got.len());
                assert_eq!(got, src[a * ts..(a + 1000) * ts], "{codec:?} {clevel} {a}");
            }
        }
    }
}

#[test]
fn range_reads_report_defects_up_to_their_end_only() {
    // One unsplit LZ4 stream, damaged at its end (shortened) or at its start (match
    // offset 0): a range before the end-damage decodes right, ranges that need the
    // damaged part are corrupt.
    let ts = 1;
    let src = data(5, 64 * 1024, ts);
    let cp = CParams::default()
        .with_codec(Codec::Lz4)
        .with_clevel(5)
        .with_typesize(ts)
        .with_filters([])
        .with_blocksize(64 * 1024);
    let c = compress(&cp, &src).unwrap();
    let d = Decoder::new(&c).unwrap();
    let start = d.bstart(0).unwrap() + 4;
    let mut out = vec![0u8; 100];
    // Cut the stream short (csize - 1): reading its start is fine, its end is corrupt.
    let mut cut = c.clone();
    let csize = i32::from_le_bytes(cut[start - 4..start].try_into().unwrap());
    cut[start - 4..start].copy_from_slice(&(csize - 1).to_le_bytes());
    assert_eq!(decompress_items_into(&cut, 0..100, &mut out).unwrap(), 100);
    assert_eq!(out, src[..100]);
    let n = src.len();
    let err = decompress_items_into(&cut, n - 100..n, &mut out).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    // A zero match offset in the first sequence is reported wherever the range is.
    let mut bad = c.clone();
    let token = bad[start];
    let lit = usize::from(token >> 4);
    assert!(lit < 15, "first literal run is short");
    bad[start + 1 + lit] = 0;
    bad[start + 2 + lit] = 0;
    let err = decompress_items_into(&bad, n - 100..n, &mut out).unwrap_err();
    assert!(err.to_string().contains("offset 0"), "{err}");
}

#[test]
fn corrupt_streams_in_range_reads_are_errors() {
    let ts = 4;
    let src = data(3, 200_000, ts);
    let cp = CParams::default()
        .with_codec(Codec::Lz4)
        .with_clevel(5)
        .with_typesize(ts)
        .with_blocksize(16 * 1024);
    let c = compress(&cp, &src).unwrap();
    let mut out = vec![0u8; 400];
    // Flip every byte of the chunk after the header in turn: a range read either
    // fails with an error or returns (never panics).
    for at in (32..c.len()).step_by(97) {
        let mut bad = c.clone();
        bad[at] ^= 0x5A;
        let _ = decompress_items_into(&bad, 4000..4100, &mut out);
        let _ = decompress_items_into(&bad, 0..100, &mut out);
    }
    // A cut payload is reported, not read past.
    let d = Decoder::new(&c).unwrap();
    assert!(d.decode_range(0..400, &mut out).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn zstd_item_ranges_through_the_window_decoder_equal_full_decode(
        seed in any::<u64>(),
        ts in prop::sample::select(vec![1usize, 2, 4, 8, 16]),
        nitems in 1usize..40_000,
        clevel in prop::sample::select(vec![1u8, 3, 5, 9]),
    ) {
        let src = data(seed, nitems * ts, ts);
        let pipelines: [&[Filter]; 4] = [
            &[],
            &[Filter::Shuffle],
            &[Filter::BitShuffle],
            &[Filter::Shuffle, Filter::ByteDelta],
        ];
        for filters in pipelines {
            for split in [SplitMode::Always, SplitMode::Never] {
                let cp = CParams::default()
                    .with_codec(Codec::Zstd)
                    .with_clevel(clevel)
                    .with_typesize(ts)
                    .with_filters(filters.iter().copied())
                    .with_splitmode(split);
                let c = compress(&cp, &src).map_err(|e| TestCaseError::fail(e.to_string()))?;
                check_chunk(&c, &format!("zstd {filters:?} {split:?} ts {ts} clevel {clevel}"))?;
            }
        }
    }
}

#[test]
fn zstd_streams_decode_only_their_window() {
    // Reading items in the middle of a long Zstd stream leaves most of it unwritten.
    let a = poisoned_stream_after_read(Codec::Zstd, 1, 70_000..70_100);
    let untouched = a.iter().filter(|&&b| b == 0xEE).count();
    assert!(
        untouched > 100 * 1024,
        "decoded {} bytes",
        128 * 1024 - untouched
    );
}
