//! Block-level chunk edits: overwrite a byte range of a chunk's decoded content
//! by decoding, patching and re-encoding only the blocks the range touches, then
//! rebuilding the chunk as header | bstarts | blocks with those blocks replaced.
//!
//! Chunks whose blocks cannot be re-encoded alone (memcpyed, special, VL-block,
//! DELTA-filtered: block 0 is every block's reference) are refused with `None`,
//! and so is a result that would exceed the encoder's budget (`nbytes + 32`):
//! the caller then re-encodes the whole chunk.

use crate::chunk::decode::Decoder;
use crate::chunk::encode::encode_one_block;
use crate::chunk::header::HEADER_LEN;
use crate::chunk::params::{CParams, Codec, Filter};
use crate::error::{Error, Part, Result};

/// Whether `patch_blocks` can work on a chunk with this header.
fn spliceable(d: &Decoder<'_>) -> bool {
    let h = &d.h;
    h.header_len == HEADER_LEN
        && h.special().is_none()
        && !h.is_memcpyed()
        && !h.is_vl_blocks()
        && !h.has_dict()
        && h.nbytes > 0
        && !h.filters.contains(&Filter::Delta.id())
}

/// Overwrites bytes `at..at + patch.len()` of the decoded content of `chunk`,
/// re-encoding only the touched blocks with the chunk's codec and filters and
/// `clevel` (chunk headers do not record the level). Returns the new chunk, or
/// `None` when the chunk must be re-encoded whole (see the module doc).
///
/// # Errors
/// `InvalidArgument` when the range is outside the chunk; decoding errors.
pub(crate) fn patch_blocks(
    chunk: &[u8],
    at: usize,
    patch: &[u8],
    clevel: u8,
) -> Result<Option<Vec<u8>>> {
    let d = Decoder::new(chunk)?;
    let h = d.h.clone();
    let end = at
        .checked_add(patch.len())
        .filter(|&e| e <= h.nbytes)
        .ok_or_else(|| {
            Error::invalid(
                "range",
                format!(
                    "{at}..{} outside the chunk's {} bytes",
                    at.saturating_add(patch.len()),
                    h.nbytes
                ),
            )
        })?;
    if patch.is_empty() {
        return Ok(Some(chunk[..h.cbytes].to_vec()));
    }
    if !spliceable(&d) {
        return Ok(None);
    }
    let (Ok(codec), true) = (Codec::from_id(h.codec_id), clevel <= 9) else {
        return Ok(None);
    };
    let mut filters = [Filter::NoFilter; 6];
    for (slot, id) in filters.iter_mut().zip(h.filters) {
        *slot = Filter::from_id(id)?;
    }
    let cp = CParams {
        codec,
        clevel,
        typesize: h.typesize,
        filters,
        filters_meta: h.filters_meta,
        blocksize: h.blocksize,
        ..CParams::default()
    };
    let bs = h.blocksize;
    let nblocks = h.nblocks();
    let (b0, b1) = (at / bs, (end - 1) / bs);
    let lo = b0 * bs;
    let hi = ((b1 + 1) * bs).min(h.nbytes);
    let mut raw = vec![0u8; hi - lo];
    d.decode_range(lo..hi, &mut raw)?;
    raw[at - lo..end - lo].copy_from_slice(patch);

    // Extent of every stored block: from its start to the next start in byte order.
    let table_end = HEADER_LEN + 4 * nblocks;
    let bstarts = (0..nblocks)
        .map(|b| {
            let p = HEADER_LEN + 4 * b;
            let v = i32::from_le_bytes([chunk[p], chunk[p + 1], chunk[p + 2], chunk[p + 3]]);
            usize::try_from(v)
                .ok()
                .filter(|&s| s >= table_end && s < h.cbytes)
                .ok_or_else(|| {
                    Error::corrupt(
                        Part::BlockStarts,
                        p,
                        format!(
                            "block {b} starts at {v}, expected {table_end}..{}",
                            h.cbytes
                        ),
                    )
                })
        })
        .collect::<Result<Vec<usize>>>()?;
    let mut order: Vec<usize> = (0..nblocks).collect();
    order.sort_by_key(|&b| bstarts[b]);
    let mut extent = vec![(0usize, 0usize); nblocks];
    for (k, &b) in order.iter().enumerate() {
        let next = order.get(k + 1).map_or(h.cbytes, |&n| bstarts[n]);
        extent[b] = (bstarts[b], next);
    }

    let mut out = Vec::with_capacity(h.cbytes + 64);
    out.extend_from_slice(&chunk[..table_end]);
    let split = !h.dont_split();
    for b in 0..nblocks {
        let start = out.len();
        out[HEADER_LEN + 4 * b..HEADER_LEN + 4 * b + 4]
            .copy_from_slice(&i32::try_from(start).unwrap_or(i32::MAX).to_le_bytes());
        if (b0..=b1).contains(&b) {
            let from = b * bs - lo;
            let len = bs.min(h.nbytes - b * bs);
            encode_one_block(&cp, h.typesize, bs, split, &raw[from..from + len], &mut out);
        } else {
            let (s, e) = extent[b];
            out.extend_from_slice(&chunk[s..e]);
        }
    }
    if out.len() > h.nbytes + HEADER_LEN {
        return Ok(None);
    }
    let cbytes = i32::try_from(out.len()).unwrap_or(i32::MAX);
    out[12..16].copy_from_slice(&cbytes.to_le_bytes());
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::params::{DParams, SplitMode};
    use crate::chunk::{compress, decompress};

    fn data(n: usize) -> Vec<u8> {
        (0..n as u32)
            .flat_map(|v| (v.wrapping_mul(2654435761) >> 22).to_le_bytes())
            .collect()
    }

    #[test]
    fn patching_one_item_matches_a_full_reencode() {
        let d = data(50_000);
        for (codec, filters, split) in [
            (Codec::Zstd, vec![Filter::Shuffle], SplitMode::Auto),
            (Codec::Lz4, vec![Filter::BitShuffle], SplitMode::Always),
            (Codec::BloscLz, vec![Filter::Shuffle], SplitMode::Never),
            (
                Codec::Zlib,
                vec![Filter::Shuffle, Filter::ByteDelta],
                SplitMode::Always,
            ),
        ] {
            let cp = CParams::default()
                .with_codec(codec)
                .with_typesize(4)
                .with_filters(filters)
                .with_splitmode(split)
                .with_blocksize(16_384);
            let c = compress(&cp, &d).unwrap();
            for at in [0usize, 4, 16_380, 16_384, 100_000, 199_996, 197_000] {
                let mut want = d.clone();
                want[at..at + 4].copy_from_slice(&[1, 2, 3, 4]);
                let p = patch_blocks(&c, at, &[1, 2, 3, 4], cp.clevel)
                    .unwrap()
                    .expect("spliceable");
                assert_eq!(
                    decompress(&p, &DParams::default()).unwrap(),
                    want,
                    "{codec:?} {at}"
                );
                // The touched block is byte-identical to what a whole re-encode writes.
                let full = compress(&cp, &want).unwrap();
                assert_eq!(p.len(), full.len(), "{codec:?} {at}");
                assert_eq!(p, full, "{codec:?} {at}");
            }
        }
    }

    #[test]
    fn unspliceable_chunks_are_refused() {
        let d = data(10_000);
        let delta = CParams::default()
            .with_typesize(4)
            .with_filters([Filter::Delta, Filter::Shuffle]);
        let c = compress(&delta, &d).unwrap();
        assert!(patch_blocks(&c, 8, &[0; 4], 5).unwrap().is_none());
        let memcpy = CParams::default().with_clevel(0).with_typesize(4);
        let c = compress(&memcpy, &d).unwrap();
        assert!(patch_blocks(&c, 8, &[0; 4], 5).unwrap().is_none());
        assert!(patch_blocks(&c, 39_998, &[0; 4], 5).is_err());
    }
}
