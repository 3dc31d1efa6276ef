//! LZ4 raw *block* codec (Blosc2 codec id 1; also decodes LZ4HC streams, id 2).
//!
//! Blosc2 stores each stream as one raw LZ4 block: no frame, no size prefix (spec §C.3); the
//! decoded size must equal the stream's `neblock`, which the chunk layer checks. C-Blosc2
//! compresses with `LZ4_compress_fast(.., accel = 10 - clevel)` (§C.2) and a capacity
//! `maxout`; a return of 0 means "did not fit, store raw" (§A.8).
//!
//! # The LZ4 block format
//!
//! A block is a series of *sequences*; each holds a run of literals and then a match:
//!
//! ```text
//!   token    [lit ext]   literals       offset       [match ext]
//! +--------+-----------+------------+-------------+-------------+
//! | LLLLMMMM | 0..n bytes | lit bytes | u16 LE != 0 | 0..n bytes |
//! +--------+-----------+------------+-------------+-------------+
//! ```
//!
//! * `LLLL` (high nibble) is the literal count. 15 means "15 plus extension bytes": each
//!   following byte is added, and a byte below 255 ends the extension.
//! * `MMMM` (low nibble) is the match length minus 4 (so matches are at least 4 bytes long),
//!   with the same 15 + extension rule; its extension bytes follow the offset.
//! * The offset (1..=65535) counts back from the current output position; the match is copied
//!   forward byte by byte, so `offset < length` repeats a pattern (offset 1 is a run).
//! * The last sequence has literals only: the block ends right after its literals (its
//!   `MMMM` is ignored). Encoders keep the last 5 bytes literal and start no match in the last
//!   12 bytes; this decoder does not require that (like lz4_flex), C's decoder does.
//!
//! This decoder rejects: truncated input, offset 0, an offset reaching before the start of
//! the output, and literals or matches running past the end of the output. It never reads
//! a dictionary (Blosc2 chunks with the dictionary flag need a `_with_dict` variant).
//!
//! # Implementation
//!
//! `decode.rs` is the safe decoder (a wild-copy loop on bounds-checked slices far from the
//! buffer ends, then a fully checked tail loop); `decode_fast.rs` is the same algorithm on raw
//! pointers, used unless `B2FRAME_FORCE_SCALAR=1`. Both can stop after the first literal run
//! that completes a wanted prefix of the output ([`decompress_prefix`]): a block cut right
//! after any literal run is itself a valid block, so the prefix decodes exactly as in the whole
//! block. `encode.rs` is the LZ4 fast encoder.

mod decode;
mod decode_fast;
mod encode;

use std::sync::OnceLock;

/// Whether the unsafe pointer decoder is used (decided once: `B2FRAME_FORCE_SCALAR=1` in the
/// environment selects the safe decoder).
fn use_fast_decoder() -> bool {
    static FAST: OnceLock<bool> = OnceLock::new();
    *FAST.get_or_init(|| std::env::var_os("B2FRAME_FORCE_SCALAR").is_none_or(|v| v != "1"))
}

/// LZ4 block compression with C's acceleration semantics (C-Blosc2 passes
/// `accel = 10 - clevel`; values below 1 act as 1, above 65537 as 65537).
///
/// `dst.len()` is the capacity; returns the compressed size, or 0 if it does not fit (C's
/// conservative capacity checks, so a result within a few bytes of the capacity may also
/// report 0, exactly as `LZ4_compress_fast` does).
pub(crate) fn compress(acceleration: u32, src: &[u8], dst: &mut [u8]) -> usize {
    encode::compress(acceleration, src, dst)
}

/// Decodes one raw LZ4 block into `dst`; returns the number of bytes written.
///
/// Bytes of `dst` past the returned length may be overwritten (the fast path copies in
/// 16-byte steps), but nothing outside `dst` is touched.
///
/// # Errors
///
/// A description of the defect when `src` is not a valid block or does not fit in `dst`:
/// truncated input, offset 0, an offset before the start of the output, or a literal run or
/// match past the end of the output.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    decompress_prefix(src, dst, usize::MAX).map(|d| d.len)
}

/// How far [`decompress_prefix`] decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Bytes written to the output.
    pub(crate) len: usize,
    /// Whether the input ended: the whole block was decoded (else `len >= want`).
    pub(crate) whole: bool,
}

/// Decodes one raw LZ4 block into `dst` up to the first literal run that ends at or past
/// `want` output bytes, or to its end; the bytes written are a prefix of the whole block's
/// output. Same defects reported as [`decompress`], for the part decoded.
///
/// # Errors
///
/// As [`decompress`].
pub(crate) fn decompress_prefix(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    if use_fast_decoder() {
        decode_fast::decompress_prefix(src, dst, want)
    } else {
        decode::decompress_prefix(src, dst, want)
    }
}

/// The safe decoder, always available (tests and benches compare it with [`decompress`]).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn decompress_scalar(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    decode::decompress_prefix(src, dst, usize::MAX).map(|d| d.len)
}

/// The unsafe pointer decoder regardless of `B2FRAME_FORCE_SCALAR` (tests and benches).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn decompress_fast(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    decode_fast::decompress_prefix(src, dst, usize::MAX).map(|d| d.len)
}

/// [`decompress_prefix`] with the safe decoder (tests).
#[cfg(test)]
pub(crate) fn decompress_prefix_scalar(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    decode::decompress_prefix(src, dst, want)
}

/// [`decompress_prefix`] with the pointer decoder (tests).
#[cfg(test)]
pub(crate) fn decompress_prefix_fast(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    decode_fast::decompress_prefix(src, dst, want)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both decoders, checked to agree.
    fn dec(src: &[u8], cap: usize) -> Result<Vec<u8>, &'static str> {
        let mut a = vec![0u8; cap];
        let mut b = vec![0u8; cap];
        let ra = decompress_scalar(src, &mut a);
        let rb = decompress_fast(src, &mut b);
        assert_eq!(ra.is_ok(), rb.is_ok(), "{ra:?} vs {rb:?}");
        let n = ra?;
        assert_eq!(rb, Ok(n));
        assert_eq!(a[..n], b[..n]);
        a.truncate(n);
        Ok(a)
    }

    fn roundtrip(data: &[u8], acc: u32) -> usize {
        let mut c = vec![0u8; data.len() + data.len() / 255 + 16];
        let n = compress(acc, data, &mut c);
        assert!(n > 0);
        assert_eq!(dec(&c[..n], data.len()).unwrap(), data);
        assert_eq!(dec(&c[..n], data.len() + 100).unwrap(), data);
        n
    }

    #[test]
    fn hand_made_block_decodes() {
        // "abcd" then a match of 8 at offset 4, then literals "xyz".
        let block = [0x44, b'a', b'b', b'c', b'd', 4, 0, 0x30, b'x', b'y', b'z'];
        assert_eq!(dec(&block, 15).unwrap(), b"abcdabcdabcdxyz");
        assert_eq!(
            dec(&block, 14),
            Err("literal run past the end of the output")
        );
        assert_eq!(dec(&block, 11), Err("match past the end of the output"));
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert_eq!(dec(&[], 10), Err("truncated input: expected a token"));
        assert_eq!(dec(&[0x10, b'a', 0, 0], 10), Err("match offset 0"));
        assert_eq!(
            dec(&[0x10, b'a', 2, 0, 0], 10),
            Err("match offset points before the start of the output")
        );
        assert_eq!(
            dec(&[0x20, b'a'], 10),
            Err("literal run past the end of the input")
        );
        assert_eq!(
            dec(&[0x30, 1, 2, 3], 2),
            Err("literal run past the end of the output")
        );
        assert_eq!(
            dec(&[0x10, b'a', 1], 10),
            Err("truncated input: expected a 2-byte match offset")
        );
        assert_eq!(
            dec(&[0xF0, 255], 1000),
            Err("truncated input: length extension runs past the end")
        );
        // A stream must end after literals, not after a match.
        assert_eq!(
            dec(&[0x10, b'a', 1, 0], 10),
            Err("truncated input: expected a token")
        );
    }

    #[test]
    fn empty_and_tiny_inputs_roundtrip() {
        let mut c = [0u8; 16];
        assert_eq!(compress(1, b"", &mut c), 1);
        assert_eq!(c[0], 0);
        assert_eq!(dec(&c[..1], 0).unwrap(), b"");
        for n in 1..40 {
            let data: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
            roundtrip(&data, 1);
        }
    }

    #[test]
    fn runs_and_small_offsets_roundtrip() {
        for period in 1..20usize {
            let data: Vec<u8> = (0..3000).map(|i| (i % period) as u8 * 7).collect();
            let n = roundtrip(&data, 1);
            assert!(n < 200, "period {period}: {n}");
        }
    }

    #[test]
    fn mixed_offsets_and_long_literals_roundtrip() {
        // Noise runs (long literals) and copies from 8..300 bytes back (all match-copy paths).
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut data = Vec::new();
        for seg in 0..60usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if seg % 3 == 0 || data.len() < 300 {
                data.extend((0..(x % 90) as usize).map(|i| (x >> (i % 56)) as u8));
            } else {
                let back = [8usize, 11, 16, 23, 32, 47, 64, 300][(x % 8) as usize];
                let len = 4 + (x >> 8) as usize % 70;
                let start = data.len() - back;
                for i in 0..len {
                    data.push(data[start + i]);
                }
            }
        }
        let n = roundtrip(&data, 1);
        assert!(n < data.len(), "{n} vs {}", data.len());
        roundtrip(&data, 7);
    }

    #[test]
    fn compress_reports_zero_when_it_does_not_fit() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let data: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut c = vec![0u8; 999];
        assert_eq!(compress(1, &data, &mut c), 0);
        let mut c = vec![0u8; 1100];
        assert!(compress(1, &data, &mut c) > 1000);
    }

    #[test]
    fn acceleration_trades_ratio_for_speed() {
        let data: Vec<u8> = (0..20_000u32)
            .map(|i| ((i / 7).wrapping_mul(2_654_435_761) >> 29) as u8)
            .collect();
        let a1 = roundtrip(&data, 1);
        let a9 = roundtrip(&data, 9);
        assert!(a1 <= a9, "{a1} {a9}");
    }
}

#[cfg(test)]
mod prop_tests;
