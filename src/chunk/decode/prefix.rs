//! Prefix decoding of sequential streams: the first `want` output bytes of an LZ4,
//! BloscLZ or zlib stream without decoding the rest.
//!
//! Both formats end a stream with a literal run, and a decoder stops when the input
//! ends right after one. So a stream cut right after any literal run is itself a valid
//! stream that decodes to a prefix of the full output. The codecs' prefix decoders stop
//! after the first literal run that ends at or past `want` (no separate header scan),
//! reporting the same defects as a whole decode for the part they decode. Inflating a
//! zlib stream simply stops once `want` bytes are out (its Adler-32 trailer is then not
//! checked). Zstd streams go through a window decoder instead ([`zstd_window`]).

use std::ops::Range;

use crate::codec::lz4::Decoded;
use crate::codec::{
    self, blosclz, lz4, zstd, FORMAT_BLOSCLZ, FORMAT_LZ4, FORMAT_ZLIB, FORMAT_ZSTD,
};

/// Decodes `out[need]` of a Zstd stream (`out` is the stream's full length) with the
/// window decoder when `need` is at most a quarter of the stream. `false` when the
/// stream must be decoded whole instead: other formats, a larger need (libzstd decodes
/// a whole stream faster than the window decoder decodes most of it: full dataset reads
/// whose batches end inside blocks were 10% slower before this bound), or any error of
/// the window decoder (libzstd's whole decode then reports it, or accepts what the
/// window decoder does not support).
pub(super) fn zstd_window(format: u8, src: &[u8], out: &mut [u8], need: Range<usize>) -> bool {
    format == FORMAT_ZSTD
        && need.len() <= out.len() / WINDOW_SHARE
        && zstd::decompress_window(src, out, need).is_ok()
}

/// A Zstd need goes through the window decoder when it is at most 1/`WINDOW_SHARE`
/// of its stream.
const WINDOW_SHARE: usize = 4;

/// Decodes at least the first `want` bytes of `src` (a stream of `format`) into `out`
/// (the stream's full length), or all of it; `None` for formats decoded only whole.
pub(super) fn decode(
    format: u8,
    src: &[u8],
    out: &mut [u8],
    want: usize,
) -> Option<Result<Decoded, &'static str>> {
    match format {
        FORMAT_LZ4 => Some(lz4::decompress_prefix(src, out, want)),
        FORMAT_BLOSCLZ => Some(blosclz::decompress_prefix(src, out, want)),
        FORMAT_ZLIB => Some(codec::zlib_decompress_prefix(src, out, want)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec;
    use proptest::prelude::*;

    /// Compressible bytes: runs, repeats at various distances and noise.
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
            match r % 4 {
                0 => v.extend(std::iter::repeat_n(r as u8, (r >> 8) as usize % 300)),
                1 if v.len() > 16 => {
                    let d = 1 + (r >> 8) as usize % v.len().min(70_000);
                    for _ in 0..(r >> 32) as usize % 200 {
                        v.push(v[v.len() - d]);
                    }
                }
                _ => v.extend((0..(r >> 16) as usize % 40).map(|_| next() as u8)),
            }
        }
        v.truncate(n);
        v
    }

    /// Prefix decodes of `src` packed with `codec_id` write a prefix of at least `want`
    /// bytes (all of `src` when the stream ends), with both LZ4 decoders agreeing.
    fn check(format: u8, codec_id: u8, clevel: u8, src: &[u8]) -> Result<(), TestCaseError> {
        let mut packed = vec![0u8; src.len() + 64];
        let c = codec::compress_stream(codec_id, clevel, src, &mut packed);
        if c == 0 {
            return Ok(());
        }
        let packed = &packed[..c];
        for want in [
            0,
            1,
            src.len() / 3,
            src.len() / 2,
            src.len().saturating_sub(1),
            src.len(),
            usize::MAX,
        ] {
            let mut out = vec![0u8; src.len()];
            let d = decode(format, packed, &mut out, want)
                .expect("a prefix decoder")
                .map_err(|e| TestCaseError::fail(format!("want {want}: {e}")))?;
            prop_assert!(d.len <= src.len());
            prop_assert!(d.len >= want.min(src.len()), "len {} want {}", d.len, want);
            prop_assert!(d.whole || d.len >= want);
            if d.whole {
                prop_assert_eq!(d.len, src.len());
            }
            prop_assert_eq!(&out[..d.len], &src[..d.len]);
            if format == FORMAT_LZ4 {
                let mut a = vec![0u8; src.len()];
                let mut b = vec![0u8; src.len()];
                let da = lz4::decompress_prefix_scalar(packed, &mut a, want);
                let db = lz4::decompress_prefix_fast(packed, &mut b, want);
                prop_assert_eq!(da, Ok(d));
                prop_assert_eq!(db, Ok(d));
            }
        }
        Ok(())
    }

    #[test]
    fn prefix_decodes_stop_early() {
        let src = data(7, 200_000);
        for (format, codec_id) in [
            (FORMAT_LZ4, codec::id::LZ4),
            (FORMAT_LZ4, codec::id::LZ4HC),
            (FORMAT_BLOSCLZ, codec::id::BLOSCLZ),
            (FORMAT_ZLIB, codec::id::ZLIB),
        ] {
            let mut packed = vec![0u8; src.len() + 64];
            let c = codec::compress_stream(codec_id, 5, &src, &mut packed);
            let mut out = vec![0xEEu8; src.len()];
            let d = decode(format, &packed[..c], &mut out, 1000)
                .unwrap()
                .unwrap();
            assert!(!d.whole && d.len >= 1000 && d.len < 20_000, "{d:?}");
            assert_eq!(out[..d.len], src[..d.len]);
            assert!(out[d.len + 64..].iter().all(|&b| b == 0xEE));
        }
    }

    #[test]
    fn defects_before_want_are_reported() {
        // A literal "a", a match at offset 2 (before the output start), then literals.
        let bad = [0x10, b'a', 2, 0, 0x30, b'x', b'y', b'z'];
        let mut out = [0u8; 8];
        assert_eq!(
            decode(FORMAT_LZ4, &bad, &mut out, 4).unwrap(),
            Err("match offset points before the start of the output")
        );
        // Stopping before the defect does not see it.
        let d = decode(FORMAT_LZ4, &bad, &mut out, 1).unwrap().unwrap();
        assert_eq!((d.len, d.whole, out[0]), (1, false, b'a'));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn prefix_decodes_are_prefixes(seed in any::<u64>(), n in 1usize..100_000, clevel in 1u8..=9) {
            let src = data(seed, n);
            check(FORMAT_LZ4, codec::id::LZ4, clevel, &src)?;
            check(FORMAT_LZ4, codec::id::LZ4HC, clevel, &src)?;
            check(FORMAT_BLOSCLZ, codec::id::BLOSCLZ, clevel, &src)?;
            check(FORMAT_ZLIB, codec::id::ZLIB, clevel, &src)?;
        }

        #[test]
        fn garbage_never_panics(src in prop::collection::vec(any::<u8>(), 0..300), want in 0usize..2000, olen in 0usize..2000) {
            let mut out = vec![0u8; olen];
            let a = decode(FORMAT_LZ4, &src, &mut out, want).unwrap();
            let b = decode(FORMAT_BLOSCLZ, &src, &mut out, want).unwrap();
            let c = decode(FORMAT_ZLIB, &src, &mut out, want).unwrap();
            for d in [a, b, c].into_iter().flatten() {
                prop_assert!(d.len <= olen && (d.whole || d.len >= want));
            }
        }
    }
}
