//! Item ranges from a partially fetched chunk. A reader of a chunk in an object
//! store first fetches its prefix (header, block starts, dictionary), asks
//! [`plan`] which byte ranges hold an item range, fetches only those, and
//! [`decode_items`] rebuilds a smaller valid chunk from the pieces for the
//! normal decoder, which validates everything as for a whole chunk.
//!
//! ```text
//! stored : header | bstarts          | [dict] | block 0 | block 1 | block 2 | …
//! compact: header'| bstarts'         | [dict] | block 0?| block 2            (items in block 2)
//!          cbytes and the needed block starts rewritten; other starts point at
//!          the first kept block and are never read
//! ```
//!
//! Block 0 is kept when the DELTA filter needs it as reference. Chunks whose
//! layout has no independent blocks (VL blocks, Blosc1 16-byte headers) or no
//! blocks at all (special values) are read whole; memcpyed chunks are read as
//! the raw byte range.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::ops::Range;

use crate::chunk::decode::decompress_items_into;
use crate::chunk::header::{FLAG_BITSHUFFLE, FLAG_MEMCPYED, FLAG_SHUFFLE, HEADER_LEN};
use crate::chunk::params::Filter;
use crate::error::{Error, Part, Result};

/// What to fetch for an item range of a chunk whose prefix is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Fetch and decode the whole chunk.
    Whole,
    /// The chunk is memcpyed: the items are these bytes of the chunk, as is.
    Raw(Range<usize>),
    /// Fetch these byte ranges of the chunk (ascending, disjoint), then call
    /// [`decode_items`] with them in this order.
    Blocks(Vec<Range<usize>>),
    /// The prefix is too short: fetch the chunk's first `n` bytes and plan again.
    NeedPrefix(usize),
}

fn corrupt(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(Part::BlockStarts, offset, detail)
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// The header fields a plan needs, read without validating the rest.
struct Raw {
    nbytes: usize,
    blocksize: usize,
    cbytes: usize,
    memcpyed: bool,
    /// Extended (32-byte) header, not special, not VL blocks.
    plain_blocks: bool,
    has_dict: bool,
    has_delta: bool,
}

fn raw_header(prefix: &[u8]) -> Result<Option<Raw>> {
    let (Some(&flags), Some(&ts)) = (prefix.get(2), prefix.get(3)) else {
        return Ok(None);
    };
    let (Some(nbytes), Some(blocksize), Some(cbytes)) =
        (le_u32(prefix, 4), le_u32(prefix, 8), le_u32(prefix, 12))
    else {
        return Ok(None);
    };
    let extended = flags & (FLAG_SHUFFLE | FLAG_BITSHUFFLE) == FLAG_SHUFFLE | FLAG_BITSHUFFLE;
    let (flags2, bflags) = match (prefix.get(30), prefix.get(31)) {
        (Some(&a), Some(&b)) if extended => (a, b),
        _ if extended => return Ok(None),
        _ => (0, 0),
    };
    let filters = prefix.get(16..22).unwrap_or(&[]);
    let n = |v: u32, at: usize| {
        i32::try_from(v)
            .ok()
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| corrupt(at, format!("header field {v} is negative")))
    };
    let _ = ts;
    Ok(Some(Raw {
        nbytes: n(nbytes, 4)?,
        blocksize: n(blocksize, 8)?,
        cbytes: n(cbytes, 12)?,
        memcpyed: flags & FLAG_MEMCPYED != 0,
        plain_blocks: extended && flags2 & 1 == 0 && (bflags >> 4) & 7 == 0,
        has_dict: extended && bflags & 1 != 0,
        has_delta: filters.contains(&Filter::Delta.id()),
    }))
}

/// Where blocks start and where the block data begins, from the prefix.
struct Blocks {
    /// Block starts in block order.
    starts: Vec<usize>,
    /// First byte after the block starts and the dictionary.
    data_start: usize,
}

fn blocks(prefix: &[u8], h: &Raw) -> Result<std::result::Result<Blocks, usize>> {
    let bs = h.blocksize.min(h.nbytes).max(1);
    let nblocks = h.nbytes.div_ceil(bs);
    let end = nblocks
        .checked_mul(4)
        .and_then(|n| n.checked_add(HEADER_LEN))
        .filter(|&e| e <= h.cbytes)
        .ok_or_else(|| {
            corrupt(
                HEADER_LEN,
                format!("{nblocks} block starts do not fit in cbytes {}", h.cbytes),
            )
        })?;
    let mut data_start = end;
    if h.has_dict {
        let Some(dsize) = le_u32(prefix, end) else {
            return Ok(Err(end.saturating_add(4)));
        };
        data_start = usize::try_from(dsize)
            .ok()
            .filter(|d| (1..=32 * 1024).contains(d))
            .and_then(|d| end.checked_add(4)?.checked_add(d))
            .filter(|&e| e <= h.cbytes)
            .ok_or_else(|| corrupt(end, format!("dictionary size {dsize}")))?;
    }
    if prefix.len() < data_start {
        return Ok(Err(data_start));
    }
    let mut starts = Vec::with_capacity(nblocks);
    for b in 0..nblocks {
        let at = HEADER_LEN.saturating_add(b.saturating_mul(4));
        let v = le_u32(prefix, at).ok_or_else(|| corrupt(at, "block start past the prefix"))?;
        let v = usize::try_from(v)
            .ok()
            .filter(|&v| v >= data_start && v < h.cbytes)
            .ok_or_else(|| {
                corrupt(
                    at,
                    format!(
                        "block {b} starts at {v}, expected {data_start}..{}",
                        h.cbytes
                    ),
                )
            })?;
        starts.push(v);
    }
    Ok(Ok(Blocks { starts, data_start }))
}

/// The byte ranges of the chunk (of `cbytes` bytes, whose first bytes are
/// `prefix`) that hold uncompressed bytes `range`.
///
/// # Errors
/// `Corrupt` when the header or the block starts are inconsistent with `cbytes`.
pub(crate) fn plan(prefix: &[u8], cbytes: usize, range: Range<usize>) -> Result<Plan> {
    let Some(h) = raw_header(prefix)? else {
        return Ok(if prefix.len() >= cbytes {
            Plan::Whole
        } else {
            Plan::NeedPrefix(HEADER_LEN.min(cbytes))
        });
    };
    if h.cbytes != cbytes {
        return Err(corrupt(
            12,
            format!("cbytes {} but the chunk is {cbytes} bytes", h.cbytes),
        ));
    }
    if range.start > range.end || range.end > h.nbytes {
        return Err(Error::invalid(
            "range",
            format!(
                "bytes {}..{} of a chunk of {}",
                range.start, range.end, h.nbytes
            ),
        ));
    }
    if prefix.len() >= cbytes || h.nbytes == 0 || range.is_empty() {
        return Ok(Plan::Whole);
    }
    if h.memcpyed {
        let hl = if prefix.get(2).is_some_and(|f| f & 0x05 == 0x05) {
            HEADER_LEN
        } else {
            16
        };
        return Ok(Plan::Raw(
            range.start.saturating_add(hl)..range.end.saturating_add(hl),
        ));
    }
    if !h.plain_blocks || h.blocksize == 0 {
        return Ok(Plan::Whole);
    }
    let b = match blocks(prefix, &h)? {
        Ok(b) => b,
        Err(n) => return Ok(Plan::NeedPrefix(n)),
    };
    let bs = h.blocksize.min(h.nbytes).max(1);
    let (b0, b1) = (
        range.start.checked_div(bs).unwrap_or(0),
        range.end.saturating_sub(1).checked_div(bs).unwrap_or(0),
    );
    let mut sorted = b.starts.clone();
    sorted.sort_unstable();
    let block_range = |i: usize| -> Result<Range<usize>> {
        let s = *b
            .starts
            .get(i)
            .ok_or_else(|| corrupt(HEADER_LEN, format!("no block {i}")))?;
        let next = sorted.partition_point(|&x| x <= s);
        Ok(s..sorted.get(next).copied().unwrap_or(cbytes))
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    if h.has_delta && b0 > 0 {
        out.push(block_range(0)?);
    }
    for i in b0..=b1 {
        let r = block_range(i)?;
        match out.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => out.push(r),
        }
    }
    out.sort_by_key(|r| r.start);
    Ok(Plan::Blocks(out))
}

/// Decodes items `items` (of the chunk's typesize) into `dst` from the chunk's
/// `prefix` and the byte ranges `pieces` that [`plan`] returned (`ranges`) with
/// their fetched bytes. Returns the bytes written.
///
/// # Errors
/// `Corrupt` when the pieces do not match the plan or the chunk is damaged;
/// as [`crate::chunk::decompress_items_into`].
pub(crate) fn decode_items(
    prefix: &[u8],
    ranges: &[Range<usize>],
    pieces: &[&[u8]],
    items: Range<usize>,
    dst: &mut [u8],
) -> Result<usize> {
    let h = raw_header(prefix)?.ok_or_else(|| corrupt(0, "chunk prefix too short"))?;
    let b = blocks(prefix, &h)?.map_err(|n| {
        corrupt(
            0,
            format!("chunk prefix of {} bytes, {n} needed", prefix.len()),
        )
    })?;
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let cbytes = b
        .data_start
        .checked_add(total)
        .filter(|&c| c <= i32::MAX as usize)
        .ok_or_else(|| corrupt(12, "pieces too large"))?;
    let mut compact = Vec::with_capacity(cbytes);
    compact.extend_from_slice(prefix.get(..b.data_start).unwrap_or(&[]));
    if let Some(c) = compact.get_mut(12..16) {
        c.copy_from_slice(&(cbytes as u32).to_le_bytes());
    }
    // Where each fetched range landed in the compact chunk.
    let mut moved: Vec<(Range<usize>, usize)> = Vec::with_capacity(ranges.len());
    if ranges.len() != pieces.len() {
        return Err(corrupt(0, "pieces do not match the plan"));
    }
    for (r, p) in ranges.iter().zip(pieces) {
        if p.len() != r.len() {
            return Err(corrupt(r.start, "piece length does not match the plan"));
        }
        moved.push((r.clone(), compact.len()));
        compact.extend_from_slice(p);
    }
    for (i, s) in b.starts.iter().enumerate() {
        let new = moved
            .iter()
            .find(|(r, _)| r.contains(s))
            .map_or(b.data_start, |(r, at)| {
                at.saturating_add(s.saturating_sub(r.start))
            });
        let at = HEADER_LEN.saturating_add(i.saturating_mul(4));
        if let Some(c) = compact.get_mut(at..at.saturating_add(4)) {
            c.copy_from_slice(&(new as u32).to_le_bytes());
        }
    }
    decompress_items_into(&compact, items, dst)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::chunk::compress;
    use crate::chunk::params::{CParams, Codec};

    fn check(cp: &CParams, data: &[u8], items: Range<usize>) -> Plan {
        let c = compress(cp, data).unwrap();
        let ts = cp.typesize;
        let range = items.start * ts..items.end * ts;
        let mut want = vec![0u8; range.len()];
        crate::chunk::decompress_items_into(&c, items.clone(), &mut want).unwrap();
        let mut n = 64;
        loop {
            match plan(&c[..n.min(c.len())], c.len(), range.clone()).unwrap() {
                Plan::NeedPrefix(m) => {
                    assert!(m > n);
                    n = m;
                }
                Plan::Whole => return Plan::Whole,
                Plan::Raw(r) => {
                    assert_eq!(&c[r.clone()], &want[..]);
                    return Plan::Raw(r);
                }
                Plan::Blocks(rs) => {
                    let pieces: Vec<&[u8]> = rs.iter().map(|r| &c[r.clone()]).collect();
                    let fetched: usize = rs.iter().map(|r| r.len()).sum();
                    assert!(fetched < c.len());
                    let mut got = vec![0u8; range.len()];
                    decode_items(&c[..n], &rs, &pieces, items, &mut got).unwrap();
                    assert_eq!(got, want);
                    return Plan::Blocks(rs);
                }
            }
        }
    }

    #[test]
    fn a_range_inside_one_block_fetches_only_that_block() {
        let data: Vec<u8> = (0..200_000u64)
            .flat_map(|v| (v * v % 1_000_003).to_le_bytes())
            .collect();
        for filters in [
            vec![Filter::Shuffle],
            vec![Filter::BitShuffle],
            vec![Filter::Delta, Filter::Shuffle],
            vec![Filter::Shuffle, Filter::ByteDelta],
        ] {
            for codec in [Codec::Zstd, Codec::Lz4, Codec::BloscLz] {
                let cp = CParams::default()
                    .with_codec(codec)
                    .with_clevel(5)
                    .with_typesize(8)
                    .with_filters(filters.clone())
                    .with_blocksize(64 * 1024);
                let p = check(&cp, &data, 100_000..101_000);
                let Plan::Blocks(rs) = p else { panic!("{p:?}") };
                let want = if filters.contains(&Filter::Delta) {
                    2
                } else {
                    1
                };
                assert_eq!(rs.len(), want, "{filters:?} {codec:?}");
                // Across a block boundary: one merged range.
                check(&cp, &data, 8000..8200);
            }
        }
    }

    #[test]
    fn memcpyed_and_tiny_chunks_need_no_block_plan() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let cp = CParams::default()
            .with_codec(Codec::Lz4)
            .with_typesize(1)
            .with_filters([]);
        assert!(matches!(check(&cp, &noise, 500..900), Plan::Raw(_)));
        let cp = CParams::default().with_typesize(4);
        assert_eq!(check(&cp, &[0u8; 64], 1..3), Plan::Whole);
    }

    #[test]
    fn damaged_block_starts_are_corrupt() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|v| v.to_le_bytes()).collect();
        let cp = CParams::default()
            .with_typesize(4)
            .with_blocksize(16 * 1024);
        let mut c = compress(&cp, &data).unwrap();
        c[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&7u32.to_le_bytes());
        assert!(plan(&c[..200], c.len(), 0..10).is_err());
        assert!(plan(&c[..200], c.len() + 1, 0..10).is_err());
    }
}
