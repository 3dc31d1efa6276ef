//! C-Blosc2's split decision and automatic blocksize (STUNE), spec §D.
//!
//! Both are machine-independent in C (L1 = 32 KiB and L2 = 256 KiB are
//! compile-time constants), so reproducing them exactly makes our chunks
//! match C's block for block.

use crate::chunk::params::{CParams, Codec, Filter, SplitMode};

const L1: usize = 32 * 1024;
const MAX_STREAM_BLOCK: usize = 4 * 1024 * 1024;

/// Whether blocks of `bs` bytes are split into `typesize` streams (§D.1).
pub(crate) fn split_decision(cp: &CParams, typesize: usize, bs: usize) -> bool {
    match cp.splitmode {
        SplitMode::Always => true,
        SplitMode::Never => false,
        SplitMode::Auto | SplitMode::ForwardCompat => {
            let codec_ok = matches!(cp.codec, Codec::BloscLz | Codec::Lz4)
                || (cp.codec == Codec::Zstd && cp.clevel <= 5);
            codec_ok
                && cp.filters.contains(&Filter::Shuffle)
                && typesize <= 16
                && bs / typesize >= 32
        }
    }
}

/// The block size C-Blosc2 picks for a chunk of `nbytes` (§D.2), before the
/// header's clamp to `nbytes`. `typesize` is the real item size.
pub(crate) fn compute_blocksize(cp: &CParams, typesize: usize, nbytes: usize) -> usize {
    if cp.blocksize != 0 {
        // C keeps a user blocksize as given (no rounding to items), clamped to
        // nbytes. Split blocks that are not whole items cannot be decoded (C
        // writes them and then fails on them): b2frame rounds those down.
        let mut bs = cp.blocksize;
        if nbytes > 0 && bs > nbytes {
            bs = nbytes;
        }
        if !bs.is_multiple_of(typesize) && bs > typesize && split_decision(cp, typesize, bs) {
            bs -= bs % typesize;
        }
        return bs;
    }
    if nbytes < typesize {
        return 1;
    }
    let mut bs;
    {
        let split = split_decision(cp, typesize, nbytes);
        bs = nbytes;
        if nbytes >= L1 {
            bs = if cp.codec.is_hcr() { 2 * L1 } else { L1 };
            bs = match cp.clevel {
                0 => bs / 4,
                1 => bs / 2,
                2 => bs,
                3 => bs * 2,
                4 | 5 => bs * 4,
                _ => bs * 8,
            };
            if cp.clevel == 9 && cp.codec.is_hcr() {
                bs *= 2;
            }
        }
        if cp.clevel > 0 && split {
            bs = match cp.clevel {
                1..=3 => 32 * 1024,
                4..=6 => 64 * 1024,
                7 => 128 * 1024,
                8 => 256 * 1024,
                _ => 512 * 1024,
            } * typesize;
            bs = bs.clamp(L1, MAX_STREAM_BLOCK);
        }
    }
    if bs > nbytes {
        bs = nbytes;
    }
    if bs > typesize {
        bs -= bs % typesize;
    }
    bs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bs(codec: Codec, clevel: u8, ts: usize, filter: Filter, nbytes: usize) -> (usize, bool) {
        let cp = CParams::default()
            .with_codec(codec)
            .with_clevel(clevel)
            .with_typesize(ts)
            .with_filters([filter]);
        let b = compute_blocksize(&cp, ts, nbytes);
        (b, split_decision(&cp, ts, b))
    }

    #[test]
    fn large_chunk_table_matches_spec() {
        let n = 4 * 1024 * 1024 + 48;
        // blosclz & lz4, shuffle, ts=8: cl0 8K, cl1 256K*, cl5 512K*, cl9 4M*
        assert_eq!(bs(Codec::Lz4, 0, 8, Filter::Shuffle, n), (8192, true));
        assert_eq!(bs(Codec::Lz4, 1, 8, Filter::Shuffle, n), (256 * 1024, true));
        assert_eq!(
            bs(Codec::BloscLz, 5, 8, Filter::Shuffle, n),
            (512 * 1024, true)
        );
        assert_eq!(
            bs(Codec::Lz4, 9, 8, Filter::Shuffle, n),
            (4 * 1024 * 1024, true)
        );
        // ts=12 cl9: 4194300
        assert_eq!(bs(Codec::Lz4, 9, 12, Filter::Shuffle, n).0, 4_194_300);
        // ts=3 cl0: 8190
        assert_eq!(bs(Codec::BloscLz, 0, 3, Filter::Shuffle, n).0, 8190);
        // lz4hc never split in auto: cl9 1M, ts=3 cl1 32766
        assert_eq!(
            bs(Codec::Lz4Hc, 9, 4, Filter::Shuffle, n),
            (1024 * 1024, false)
        );
        assert_eq!(bs(Codec::Zlib, 1, 3, Filter::Shuffle, n).0, 32766);
        // zstd: cl5 ts=16 1M split; cl6 512K not split
        assert_eq!(
            bs(Codec::Zstd, 5, 16, Filter::Shuffle, n),
            (1024 * 1024, true)
        );
        assert_eq!(
            bs(Codec::Zstd, 6, 16, Filter::Shuffle, n),
            (512 * 1024, false)
        );
        // no shuffle: L1 formula 8K..256K
        assert_eq!(
            bs(Codec::Lz4, 5, 4, Filter::BitShuffle, n),
            (128 * 1024, false)
        );
    }

    #[test]
    fn golden_blocksizes() {
        // c01: blosclz cl5 shuffle ts4 400000 bytes -> 262144
        assert_eq!(
            bs(Codec::BloscLz, 5, 4, Filter::Shuffle, 400_000).0,
            262_144
        );
        // c02: lz4 cl5 bitshuffle ts8 320000 -> 131072
        assert_eq!(bs(Codec::Lz4, 5, 8, Filter::BitShuffle, 320_000).0, 131_072);
        // tiny and empty
        assert_eq!(bs(Codec::Zstd, 5, 4, Filter::Shuffle, 0).0, 1);
        assert_eq!(bs(Codec::Zstd, 5, 4, Filter::Shuffle, 3).0, 1);
        assert_eq!(bs(Codec::Zstd, 5, 4, Filter::Shuffle, 100).0, 100);
    }
}
