//! Windows of frames written by libzstd against libzstd's whole decode.
#![allow(clippy::unwrap_used)]

use super::decompress_window;
use proptest::prelude::*;

/// Compressible bytes: runs, repeats at many distances and noise.
fn data(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let r = next();
        match r % 5 {
            0 => v.extend(std::iter::repeat_n(r as u8, (r >> 8) as usize % 300)),
            1 | 2 if v.len() > 16 => {
                let d = 1 + (r >> 8) as usize % v.len().min(if r & 64 == 0 { 16 } else { 200_000 });
                for _ in 0..(r >> 32) as usize % 400 {
                    v.push(v[v.len() - d]);
                }
            }
            _ => v.extend((0..(r >> 16) as usize % 40).map(|_| next() as u8 & 0x3F)),
        }
    }
    v.truncate(n);
    v
}

/// Checks windows of `src` compressed at `level` against `src`.
fn check(src: &[u8], level: i32, windows: &[(usize, usize)]) -> Result<(), TestCaseError> {
    let packed = zstd::bulk::compress(src, level).unwrap();
    let n = src.len();
    let mut all = vec![(0, n), (0, 0), (0, n.min(1)), (n.saturating_sub(1), n)];
    all.extend(windows.iter().map(|&(a, b)| {
        let (a, b) = (a % (n + 1), b % (n + 1));
        (a.min(b), a.max(b))
    }));
    for (a, b) in all {
        let mut out = vec![0xA5u8; n];
        decompress_window(&packed, &mut out, a..b).map_err(|e| {
            TestCaseError::fail(format!("level {level} window {a}..{b} of {n}: {e}"))
        })?;
        prop_assert!(
            out[a..b] == src[a..b],
            "level {} window {}..{} of {}",
            level,
            a,
            b,
            n
        );
    }
    Ok(())
}

#[test]
fn windows_of_special_frames() {
    // Tiny, all-same and incompressible inputs: raw and RLE blocks and literals.
    let mut noise = data(3, 70_000);
    let mut x = 99u32;
    for b in &mut noise {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 24) as u8;
    }
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![7],
        b"abc".to_vec(),
        vec![0u8; 1000],
        vec![9u8; 300_000],
        noise,
        (0..5000u32).map(|i| (i % 3) as u8).collect(),
        b"abcabcabcabcabcabcXabcabcabcabcabcabc".repeat(50),
    ];
    for src in &inputs {
        for level in [-5, 1, 3, 9, 19] {
            let n = src.len();
            check(src, level, &[(n / 3, n / 2), (n / 2, n), (1, n / 4 + 2)]).unwrap();
        }
    }
}

#[test]
fn windows_of_multi_block_frames_with_repeated_tables() {
    // Text-like bytes with fixed statistics over several blocks: later blocks reuse
    // the Huffman table (treeless literals) and sequence tables (repeat mode).
    let mut x = 12_345u64;
    let mut src = Vec::new();
    while src.len() < 600_000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = (x >> 33) as usize;
        if r.is_multiple_of(7) && src.len() > 100 {
            let d = 1 + r / 7 % 90;
            for _ in 0..4 + r % 5 {
                src.push(src[src.len() - d]);
            }
        } else {
            src.push(b"eeeeeettttaaaooiinnsshrdlu  "[r % 28]);
        }
    }
    for level in [-5, 1, 3, 9, 19] {
        let n = src.len();
        check(
            &src,
            level,
            &[(n / 3, n / 3 + 1000), (n - 5000, n), (200_000, 400_000)],
        )
        .unwrap();
    }
}

#[test]
fn refuses_what_it_cannot_decode() {
    let src = data(5, 10_000);
    let packed = zstd::bulk::compress(&src, 3).unwrap();
    let mut out = vec![0u8; src.len()];
    assert!(decompress_window(&packed, &mut out[..9_999], 0..10).is_err());
    assert!(decompress_window(&packed, &mut out, 0..10_001).is_err());
    assert!(decompress_window(&packed[1..], &mut out, 0..10).is_err());
    let mut dict_frame = packed.clone();
    dict_frame[4] |= 1;
    assert!(decompress_window(&dict_frame, &mut out, 0..10).is_err());
    // Truncation before the window's end.
    assert!(decompress_window(&packed[..packed.len() / 2], &mut out, 0..10_000).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn windows_match_libzstd(
        seed in any::<u64>(),
        n in 0usize..300_000,
        level in prop::sample::select(vec![-5, 1, 3, 9, 19]),
        windows in prop::collection::vec((any::<usize>(), any::<usize>()), 1..6),
    ) {
        let src = data(seed, n);
        check(&src, level, &windows)?;
    }

    #[test]
    fn small_inputs_match_libzstd(
        seed in any::<u64>(),
        n in 0usize..3000,
        level in prop::sample::select(vec![-5, 1, 3, 9, 19]),
        windows in prop::collection::vec((any::<usize>(), any::<usize>()), 1..6),
    ) {
        let src = data(seed, n);
        check(&src, level, &windows)?;
    }

    #[test]
    fn garbage_never_panics(
        src in prop::collection::vec(any::<u8>(), 0..400),
        olen in 0usize..5000,
        a in any::<usize>(),
        b in any::<usize>(),
    ) {
        let mut framed = vec![0x28, 0xB5, 0x2F, 0xFD];
        framed.extend_from_slice(&src);
        let mut out = vec![0u8; olen];
        let (a, b) = (a % (olen + 1), b % (olen + 1));
        let _ = decompress_window(&src, &mut out, a.min(b)..a.max(b));
        let _ = decompress_window(&framed, &mut out, a.min(b)..a.max(b));
    }

    #[test]
    fn mutated_frames_never_panic(
        seed in any::<u64>(),
        n in 1usize..40_000,
        level in prop::sample::select(vec![-5, 1, 3, 19]),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        a in any::<usize>(),
        b in any::<usize>(),
    ) {
        let src = data(seed, n);
        let mut packed = zstd::bulk::compress(&src, level).unwrap();
        let len = packed.len();
        for (at, x) in flips {
            packed[at % len] ^= x | 1;
        }
        let (a, b) = (a % (n + 1), b % (n + 1));
        let mut out = vec![0u8; n];
        let mut whole = vec![0u8; n];
        let ours = decompress_window(&packed, &mut out, a.min(b)..a.max(b));
        let theirs = zstd::bulk::Decompressor::new().unwrap().decompress_to_buffer(&packed, &mut whole);
        if let (Ok(()), Ok(m)) = (ours, theirs) {
            if m == n {
                prop_assert!(out[a.min(b)..a.max(b)] == whole[a.min(b)..a.max(b)]);
            }
        }
    }
}
