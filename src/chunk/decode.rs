//! Chunk decoder: validates every offset and length of untrusted bytes before
//! use, decodes blocks (in parallel when asked) and undoes the filters in C's
//! order (spec §A.6, A.7, B.1). Item-range reads decode only the blocks that
//! hold the range (plus block 0, up to the range's end, when DELTA needs it as
//! reference), and of a block they cover in part only what the range needs:
//!
//! * only the streams holding the range's bytes, LZ4/BloscLZ streams only up to
//!   the literal run that completes them (`decode/prefix.rs`), zero and run
//!   streams never expanded, raw streams read in place;
//! * only the range's items unshuffled (or bit-unshuffled, in groups of 8): the
//!   gathered bytes of items `a..b` are the shuffled form of those items alone.
//!
//! Pipelines that need the whole block (BYTEDELTA's running sums, DELTA before a
//! transpose, two transposes, version-2 bitshuffle) decode it whole.
#![deny(clippy::unwrap_used)]

use std::ops::Range;

use rayon::prelude::*;

mod prefix;

use crate::chunk::header::{ChunkHeader, SpecialValue};
use crate::chunk::params::{DParams, Filter};
use crate::chunk::pool;
use crate::chunk::scratch::{with_scratch, Scratch};
use crate::codec;
use crate::error::{Error, Part, Result};
use crate::filter;

/// A parsed chunk, ready to decode any of its blocks.
pub(crate) struct Decoder<'a> {
    chunk: &'a [u8],
    pub(crate) h: ChunkHeader,
    /// Reverse filter pipeline: (filter, element size) for slots 5..0, no-ops removed
    /// (the first `nops` entries).
    ops: [(Filter, usize); 6],
    nops: usize,
    has_delta: bool,
    /// How to decode part of a block, if the pipeline allows it.
    part: Option<PartPlan>,
    format: u8,
    bstarts_end: usize,
    /// The dictionary (byte range in the chunk) of a `use_dict` chunk.
    dict: Option<Range<usize>>,
}

fn corrupt(part: Part, offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(part, offset, detail)
}

fn read_i32(chunk: &[u8], at: usize, part: Part) -> Result<i32> {
    let bytes = at
        .checked_add(4)
        .and_then(|end| chunk.get(at..end))
        .ok_or_else(|| {
            corrupt(
                part,
                at,
                format!("4-byte field past the end ({} bytes)", chunk.len()),
            )
        })?;
    Ok(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// One stream of a block, as stored.
enum Stream<'c> {
    /// Every byte has this value (a zero stream or a run).
    Fill(u8),
    /// Stored uncompressed: the stream's bytes.
    Raw(&'c [u8]),
    /// Compressed: the payload and its offset in the chunk.
    Coded { payload: &'c [u8], at: usize },
}

/// What a filter pipeline lets [`Decoder::decode_block_part`] do: undo at most one
/// transposing filter on the items of a range alone (after a BYTEDELTA of the same
/// element size on the prefix of its streams), then at most one DELTA.
#[derive(Clone, Copy, Debug)]
struct PartPlan {
    /// SHUFFLE or BITSHUFFLE and its element size.
    transpose: Option<(Filter, usize)>,
    /// BYTEDELTA before the SHUFFLE: its running sums need each stream from its start.
    bytedelta: bool,
    /// DELTA, undone on whole items after the transpose.
    delta: bool,
}

/// The [`PartPlan`] of a reverse pipeline, `None` when a block must be decoded whole
/// (legacy BYTEDELTA, BYTEDELTA not right before a SHUFFLE of its element size,
/// DELTA before a transpose, two transposes, legacy version-2 bitshuffle).
fn part_plan(ops: &[(Filter, usize)], version: u8) -> Option<PartPlan> {
    let mut plan = PartPlan {
        transpose: None,
        bytedelta: false,
        delta: false,
    };
    let mut rest = ops;
    if let [(Filter::ByteDelta, bd), (Filter::Shuffle, sh), tail @ ..] = ops {
        if bd != sh {
            return None;
        }
        plan.bytedelta = true;
        plan.transpose = Some((Filter::Shuffle, *sh));
        rest = tail;
    }
    for &(f, size) in rest {
        match f {
            Filter::Delta if !plan.delta => plan.delta = true,
            Filter::Shuffle | Filter::BitShuffle
                if plan.transpose.is_none()
                    && !plan.delta
                    && !(f == Filter::BitShuffle && version == 2) =>
            {
                plan.transpose = Some((f, size));
            }
            _ => return None,
        }
    }
    Some(plan)
}

/// `count` (≥ 1) ascending, disjoint byte ranges of a filtered block:
/// `base + k*stride .. base + k*stride + len` for `k < count`.
#[derive(Clone, Copy, Debug)]
struct Segments {
    base: usize,
    len: usize,
    stride: usize,
    count: usize,
}

impl Segments {
    /// Start of segment `k`.
    fn start(&self, k: usize) -> usize {
        self.base + k * self.stride
    }
}

impl<'a> Decoder<'a> {
    /// Parses the header and the filter pipeline of `chunk`.
    pub(crate) fn new(chunk: &'a [u8]) -> Result<Decoder<'a>> {
        let h = ChunkHeader::parse(chunk)?;
        let chunk = &chunk[..h.cbytes];
        let mut ops = [(Filter::NoFilter, 0); 6];
        let mut nops = 0;
        let mut has_delta = false;
        for slot in (0..6).rev() {
            let f = Filter::from_id(h.filters[slot])?;
            let meta = h.filters_meta[slot];
            let size = match f {
                Filter::NoFilter | Filter::TruncPrec => continue,
                Filter::Shuffle | Filter::ByteDelta | Filter::ByteDeltaLegacy if meta != 0 => {
                    usize::from(meta)
                }
                _ => h.typesize,
            };
            if f == Filter::Shuffle && size <= 1 {
                continue;
            }
            has_delta |= f == Filter::Delta;
            ops[nops] = (f, size);
            nops += 1;
        }
        let format = if h.flags >> 5 == 6 {
            codec::format_of(h.codec_id)
        } else {
            h.flags >> 5
        };
        let part = part_plan(&ops[..nops], h.version);
        let mut d = Decoder {
            chunk,
            h,
            ops,
            nops,
            has_delta,
            part,
            format,
            bstarts_end: 0,
            dict: None,
        };
        d.check_layout()?;
        Ok(d)
    }

    /// The reverse filter pipeline.
    fn ops(&self) -> &[(Filter, usize)] {
        &self.ops[..self.nops]
    }

    fn check_layout(&mut self) -> Result<()> {
        let nblocks = self.h.nblocks();
        if nblocks == 0 {
            return Ok(());
        }
        let end = nblocks
            .checked_mul(4)
            .and_then(|n| n.checked_add(self.h.header_len))
            .filter(|&e| e <= self.h.cbytes)
            .ok_or_else(|| {
                corrupt(
                    Part::BlockStarts,
                    self.h.header_len,
                    format!(
                        "{nblocks} block starts do not fit in cbytes {}",
                        self.h.cbytes
                    ),
                )
            })?;
        let mut data_start = end;
        if self.h.has_dict() {
            let dsize = read_i32(self.chunk, end, Part::BlockStarts)?;
            if dsize <= 0 || dsize > 32 * 1024 {
                return Err(corrupt(
                    Part::BlockStarts,
                    end,
                    format!("dictionary size {dsize}, expected 1..=32768"),
                ));
            }
            let dict = end + 4..end + 4 + dsize as usize;
            if dict.end > self.h.cbytes {
                return Err(corrupt(
                    Part::BlockStarts,
                    end,
                    format!("dictionary of {dsize} bytes past cbytes {}", self.h.cbytes),
                ));
            }
            if self.format != codec::FORMAT_ZSTD {
                return Err(Error::unsupported(
                    "chunk",
                    "LZ4/LZ4HC chunks compressed with a dictionary (use_dict)",
                ));
            }
            data_start = dict.end;
            self.dict = Some(dict);
        }
        if self.h.is_vl_blocks() {
            data_start = end;
        }
        self.bstarts_end = data_start;
        Ok(())
    }

    fn bstart(&self, b: usize) -> Result<usize> {
        let at = self.h.header_len + 4 * b;
        let v = read_i32(self.chunk, at, Part::BlockStarts)?;
        if v < 0 || (v as usize) < self.bstarts_end || v as usize >= self.h.cbytes {
            return Err(corrupt(
                Part::BlockStarts,
                at,
                format!(
                    "block {b} starts at {v}, expected {}..{}",
                    self.bstarts_end, self.h.cbytes
                ),
            ));
        }
        Ok(v as usize)
    }

    /// Uncompressed size of block `b` (not for VL-block chunks).
    fn block_len(&self, b: usize) -> usize {
        (self.h.nbytes - b * self.h.blocksize).min(self.h.blocksize)
    }

    /// Decodes the whole chunk into `dst` (exactly `nbytes` long).
    pub(crate) fn decode_all(&self, dst: &mut [u8], nthreads: usize) -> Result<()> {
        debug_assert_eq!(dst.len(), self.h.nbytes);
        if let Some(done) = self.decode_trivial(dst, 0)? {
            return done;
        }
        if self.h.is_vl_blocks() {
            return self.decode_vl(dst);
        }
        let bs = self.h.blocksize;
        let nblocks = self.h.nblocks();
        let (first, rest) = dst.split_at_mut(bs.min(dst.len()));
        with_scratch(|s| self.decode_block(0, first, None, s))?;
        if nblocks == 1 {
            return Ok(());
        }
        let reference: &[u8] = first;
        if nthreads > 1 {
            pool::install(nthreads, || {
                rest.par_chunks_mut(bs)
                    .enumerate()
                    .try_for_each(|(i, out)| {
                        with_scratch(|s| self.decode_block(i + 1, out, Some(reference), s))
                    })
            })
        } else {
            with_scratch(|s| {
                for (i, out) in rest.chunks_mut(bs).enumerate() {
                    self.decode_block(i + 1, out, Some(reference), s)?;
                }
                Ok(())
            })
        }
    }

    /// Decodes the byte range `range` of the chunk into `dst` (`range.len()` bytes),
    /// touching only the blocks that hold it.
    pub(crate) fn decode_range(&self, range: Range<usize>, dst: &mut [u8]) -> Result<()> {
        debug_assert!(range.end <= self.h.nbytes && dst.len() == range.len());
        if range.is_empty() {
            return Ok(());
        }
        if let Some(done) = self.decode_trivial(dst, range.start)? {
            return done;
        }
        if self.h.is_vl_blocks() {
            let mut all = vec![0u8; self.h.nbytes];
            self.decode_vl(&mut all)?;
            dst.copy_from_slice(&all[range]);
            return Ok(());
        }
        with_scratch(|s| self.decode_blocks_of_range(range, dst, s))
    }

    /// [`Self::decode_range`] for chunks made of blocks. Blocks the range covers are
    /// decoded whole into `dst`; a block it covers in part is decoded in part when the
    /// filters allow it ([`Self::decode_block_part`]), else whole into scratch.
    fn decode_blocks_of_range(
        &self,
        range: Range<usize>,
        dst: &mut [u8],
        s: &mut Scratch,
    ) -> Result<()> {
        let bs = self.h.blocksize;
        let (b0, b1) = (range.start / bs, (range.end - 1) / bs);
        // Bytes `lo..hi` of block `b` that the range covers, relative to the block.
        let span = |b: usize| {
            let start = b * bs;
            let len = self.block_len(b);
            (
                range.start.max(start) - start,
                range.end.min(start + len) - start,
                len,
            )
        };
        let mut reference = std::mem::take(&mut s.reference);
        let result = (|| {
            if self.has_delta && b1 > 0 {
                // Blocks after the first XOR their bytes `lo..hi` with the same bytes
                // of the decoded block 0: decode its prefix up to the furthest `hi`.
                let need = (b0..=b1).map(|b| span(b).1).max().unwrap_or(0);
                let len0 = self.block_len(0);
                reference.resize(need, 0);
                if !self.decode_block_part(0, len0, 0..need, &mut reference, None, s)? {
                    reference.resize(len0, 0);
                    self.decode_block(0, &mut reference, None, s)?;
                }
            }
            for b in b0..=b1 {
                let (lo, hi, len) = span(b);
                let out = &mut dst[b * bs + lo - range.start..b * bs + hi - range.start];
                if b == 0 && self.has_delta && b1 > 0 {
                    out.copy_from_slice(&reference[lo..hi]);
                    continue;
                }
                let refr = (b > 0).then_some(reference.as_slice());
                if lo == 0 && hi == len {
                    self.decode_block(b, out, refr, s)?;
                } else if !self.decode_block_part(b, len, lo..hi, out, refr, s)? {
                    if self.has_delta && b > 0 && reference.len() < len {
                        // The whole block needs the whole reference.
                        reference.resize(self.block_len(0), 0);
                        self.decode_block(0, &mut reference, None, s)?;
                    }
                    let refr = (b > 0).then_some(reference.as_slice());
                    let mut block = std::mem::take(&mut s.block);
                    block.resize(len.max(block.len()), 0);
                    let r = self.decode_block(b, &mut block[..len], refr, s);
                    if r.is_ok() {
                        out.copy_from_slice(&block[lo..hi]);
                    }
                    s.block = block;
                    r?;
                }
            }
            Ok(())
        })();
        s.reference = reference;
        result
    }

    /// Decodes bytes `range` of block `b` (`bsize` bytes long) into `out` without
    /// undoing the filters on the whole block: only the streams holding the range are
    /// decoded, and only the items in it are unshuffled. Returns `Ok(false)`, having
    /// written nothing, when the filter pipeline needs the whole block.
    ///
    /// `reference` is the decoded block 0 (at least up to `range.end`) for DELTA.
    fn decode_block_part(
        &self,
        b: usize,
        bsize: usize,
        range: Range<usize>,
        out: &mut [u8],
        reference: Option<&[u8]>,
        s: &mut Scratch,
    ) -> Result<bool> {
        let Some(plan) = self.part else {
            return Ok(false);
        };
        let (lo, hi) = (range.start, range.end);
        if lo >= hi || hi > bsize {
            return Ok(false);
        }
        if !plan.delta {
            return self.decode_span(b, bsize, plan, lo..hi, out, s);
        }
        // DELTA works on whole items below the trailing partial one; block 0 is a
        // running XOR, so its bytes from 0 are needed.
        let ts = self.h.typesize;
        if !lo.is_multiple_of(ts) || !hi.is_multiple_of(ts) || hi > bsize / ts * ts {
            return Ok(false);
        }
        if b > 0 {
            let Some(refr) = reference.and_then(|r| r.get(lo..hi)) else {
                return Ok(false);
            };
            if !self.decode_span(b, bsize, plan, lo..hi, out, s)? {
                return Ok(false);
            }
            filter::delta_decode(refr, false, ts, out);
            return Ok(true);
        }
        if lo == 0 {
            if !self.decode_span(b, bsize, plan, 0..hi, out, s)? {
                return Ok(false);
            }
            filter::delta_decode(&[], true, ts, out);
            return Ok(true);
        }
        let mut prefix = std::mem::take(&mut s.block);
        prefix.resize(hi.max(prefix.len()), 0);
        let r = self.decode_span(b, bsize, plan, 0..hi, &mut prefix[..hi], s);
        if let Ok(true) = r {
            filter::delta_decode(&[], true, ts, &mut prefix[..hi]);
            out.copy_from_slice(&prefix[lo..hi]);
        }
        s.block = prefix;
        r
    }

    /// Bytes `range` (non-empty, within the block) of block `b` after undoing the
    /// transposing filter of `plan` (not DELTA) into `out`; `Ok(false)` when they
    /// reach into the block's trailing bytes, which the transpose does not cover.
    fn decode_span(
        &self,
        b: usize,
        bsize: usize,
        plan: PartPlan,
        range: Range<usize>,
        out: &mut [u8],
        s: &mut Scratch,
    ) -> Result<bool> {
        let (lo, hi) = (range.start, range.end);
        let Some((f, size)) = plan.transpose else {
            let seg = Segments {
                base: lo,
                len: hi - lo,
                stride: 0,
                count: 1,
            };
            self.gather(b, bsize, seg, out, &mut s.a)?;
            return Ok(true);
        };
        let ne = bsize / size;
        // Elements `ea..eb` hold the bytes; `seg` are their bytes in the filtered block.
        let (ea, eb, seg) = if f == Filter::Shuffle {
            // BYTEDELTA's running sums start at each stream's first byte.
            let ea = if plan.bytedelta { 0 } else { lo / size };
            let eb = hi.div_ceil(size);
            let seg = Segments {
                base: ea,
                len: eb - ea,
                stride: ne,
                count: size,
            };
            (ea, eb, seg)
        } else {
            // Bitshuffle rows hold groups of 8 elements: bit row `r` of elements
            // `8g..8g + 8` is byte `g` of row `r` (`ne8 / 8` bytes per row).
            let ne8 = ne - ne % 8;
            let (ea, eb) = (lo / size / 8 * 8, hi.div_ceil(size).div_ceil(8) * 8);
            let seg = Segments {
                base: ea / 8,
                len: (eb - ea) / 8,
                stride: ne8 / 8,
                count: 8 * size,
            };
            if eb > ne8 {
                return Ok(false);
            }
            (ea, eb, seg)
        };
        if eb > ne {
            return Ok(false);
        }
        let n = (eb - ea) * size;
        let mut part = std::mem::take(&mut s.part);
        part.resize(n.max(part.len()), 0);
        let r = self.gather(b, bsize, seg, &mut part[..n], &mut s.a);
        if r.is_ok() && plan.bytedelta {
            // Stream prefixes of `eb` bytes: BYTEDELTA-coded as a block of `eb` elements.
            let mut summed = std::mem::take(&mut s.summed);
            summed.resize(n.max(summed.len()), 0);
            filter::bytedelta_decode(size, &part[..n], &mut summed[..n]);
            std::mem::swap(&mut part, &mut summed);
            s.summed = summed;
        }
        if r.is_ok() {
            // The gathered bytes are the filtered form of elements `ea..eb` alone.
            let unfilter = |src: &[u8], dst: &mut [u8]| match f {
                Filter::Shuffle => filter::unshuffle(size, src, dst),
                _ => filter::bitunshuffle(size, src, dst),
            };
            if lo == ea * size && hi == eb * size {
                unfilter(&part[..n], out);
            } else {
                let mut items = std::mem::take(&mut s.items);
                items.resize(n.max(items.len()), 0);
                unfilter(&part[..n], &mut items[..n]);
                out.copy_from_slice(&items[lo - ea * size..hi - ea * size]);
                s.items = items;
            }
        }
        s.part = part;
        r.map(|()| true)
    }

    /// Copies the segments `seg` of block `b`'s filtered form (`bsize` bytes, the
    /// concatenation of its streams) back to back into `dst` (`seg.len * seg.count`
    /// bytes), reading only the streams that hold them; `buf` receives decoded streams
    /// (coded ones only up to the end of their last segment).
    fn gather(
        &self,
        b: usize,
        bsize: usize,
        seg: Segments,
        dst: &mut [u8],
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let (nstreams, neblock) = self.streams_of(bsize)?;
        let end = seg.start(seg.count - 1) + seg.len;
        let mut pos = self.bstart(b)?;
        let mut k = 0;
        for j in 0..nstreams {
            let (ss, se) = (j * neblock, (j + 1) * neblock);
            if ss >= end {
                break;
            }
            let stream = self.read_stream(b, j, &mut pos, neblock)?;
            while k < seg.count && seg.start(k) + seg.len <= ss {
                k += 1;
            }
            if k == seg.count || seg.start(k) >= se {
                continue;
            }
            // Segments `k..k_end` overlap this stream.
            let mut k_end = k + 1;
            while k_end < seg.count && seg.start(k_end) < se {
                k_end += 1;
            }
            let src: std::result::Result<&[u8], u8> = match stream {
                Stream::Fill(v) => Err(v),
                Stream::Raw(p) => Ok(p),
                Stream::Coded { payload, at } => {
                    let want = (seg.start(k_end - 1) + seg.len).min(se) - ss;
                    let need = seg.start(k).max(ss) - ss..want;
                    buf.resize(neblock.max(buf.len()), 0);
                    self.decode_coded_prefix(b, j, payload, at, &mut buf[..neblock], need)?;
                    Ok(&buf[..neblock])
                }
            };
            for kk in k..k_end {
                let s0 = seg.start(kk);
                let (x0, x1) = (s0.max(ss), (s0 + seg.len).min(se));
                let o = kk * seg.len + x0 - s0;
                let d = &mut dst[o..o + x1 - x0];
                match src {
                    Ok(p) => d.copy_from_slice(&p[x0 - ss..x1 - ss]),
                    Err(v) => d.fill(v),
                }
            }
        }
        Ok(())
    }

    /// Handles empty, special and memcpyed chunks; `None` when blocks must be decoded.
    fn decode_trivial(&self, dst: &mut [u8], offset: usize) -> Result<Option<Result<()>>> {
        if let Some(kind) = self.h.special() {
            match kind {
                SpecialValue::Zeros | SpecialValue::Uninit => dst.fill(0),
                SpecialValue::Nan => {
                    let pattern: &[u8] = if self.h.typesize == 4 {
                        &[0, 0, 0xC0, 0x7F]
                    } else {
                        &[0, 0, 0, 0, 0, 0, 0xF8, 0x7F]
                    };
                    fill_pattern(dst, pattern, offset);
                }
                SpecialValue::Value => {
                    let value = &self.chunk[self.h.header_len..self.h.cbytes];
                    fill_pattern(dst, value, offset);
                }
            }
            return Ok(Some(Ok(())));
        }
        if self.h.nbytes == 0 {
            return Ok(Some(Ok(())));
        }
        if self.h.is_memcpyed() {
            let start = self.h.header_len + offset;
            dst.copy_from_slice(&self.chunk[start..start + dst.len()]);
            return Ok(Some(Ok(())));
        }
        Ok(None)
    }

    /// Decodes block `b` into `out` (its full length). `reference` is the decoded block 0
    /// (required when DELTA is used and `b > 0`).
    fn decode_block(
        &self,
        b: usize,
        out: &mut [u8],
        reference: Option<&[u8]>,
        s: &mut Scratch,
    ) -> Result<()> {
        let bsize = out.len();
        let n_oop = self
            .ops()
            .iter()
            .filter(|(f, _)| *f != Filter::Delta)
            .count();
        if n_oop == 0 {
            self.decode_streams(b, out)?;
        } else {
            s.a.resize(bsize.max(s.a.len()), 0);
            s.b.resize(bsize.max(s.b.len()), 0);
            self.decode_streams(b, &mut s.a[..bsize])?;
        }
        // Location of the current data: 0 = s.a, 1 = s.b, 2 = out.
        let mut loc = if n_oop == 0 { 2 } else { 0 };
        let mut remaining = n_oop;
        for &(f, size) in self.ops() {
            if f == Filter::Delta {
                let buf: &mut [u8] = match loc {
                    0 => &mut s.a[..bsize],
                    1 => &mut s.b[..bsize],
                    _ => &mut *out,
                };
                let refr = if b == 0 {
                    &[][..]
                } else {
                    reference.unwrap_or(&[])
                };
                if b > 0 && refr.len() < bsize {
                    return Err(corrupt(
                        Part::Block,
                        0,
                        "delta reference block shorter than block",
                    ));
                }
                filter::delta_decode(refr, b == 0, self.h.typesize, buf);
                continue;
            }
            remaining -= 1;
            let (src, dst): (&[u8], &mut [u8]) = match (loc, remaining == 0) {
                (0, true) => (&s.a[..bsize], &mut *out),
                (0, false) => (&s.a[..bsize], &mut s.b[..bsize]),
                (1, true) => (&s.b[..bsize], &mut *out),
                (1, false) => (&s.b[..bsize], &mut s.a[..bsize]),
                _ => unreachable!("out-of-place filters never read from the output"),
            };
            match f {
                Filter::Shuffle => filter::unshuffle(size, src, dst),
                Filter::BitShuffle if self.h.version == 2 => {
                    filter::bitunshuffle_legacy_v2(size, src, dst)
                }
                Filter::BitShuffle => filter::bitunshuffle(size, src, dst),
                Filter::ByteDelta => filter::bytedelta_decode(size, src, dst),
                Filter::ByteDeltaLegacy => filter::bytedelta_legacy_decode(size, src, dst),
                _ => dst.copy_from_slice(src),
            }
            loc = if remaining == 0 { 2 } else { 1 - loc };
        }
        Ok(())
    }

    /// Number and length of the streams of a block of `bsize` bytes.
    fn streams_of(&self, bsize: usize) -> Result<(usize, usize)> {
        let nstreams = if !self.h.dont_split() && bsize == self.h.blocksize && self.h.typesize > 1 {
            self.h.typesize
        } else {
            1
        };
        let neblock = bsize / nstreams;
        if neblock * nstreams != bsize || neblock == 0 {
            return Err(corrupt(
                Part::Block,
                0,
                format!("block of {bsize} bytes cannot be split into {nstreams} streams"),
            ));
        }
        Ok((nstreams, neblock))
    }

    /// Reads the header of stream `j` of block `b` at `*pos` (moved past the stream).
    fn read_stream(
        &self,
        b: usize,
        j: usize,
        pos: &mut usize,
        neblock: usize,
    ) -> Result<Stream<'a>> {
        let chunk: &'a [u8] = self.chunk;
        let csize = read_i32(chunk, *pos, Part::Block)?;
        *pos += 4;
        if csize == 0 {
            return Ok(Stream::Fill(0));
        }
        if csize < 0 {
            if csize < -255 {
                return Err(corrupt(
                    Part::Block,
                    *pos - 4,
                    format!("run csize {csize}, expected -255..=-1"),
                ));
            }
            let token = *chunk
                .get(*pos)
                .ok_or_else(|| corrupt(Part::Block, *pos, "run token past the end of the chunk"))?;
            if token & 1 == 0 {
                return Err(corrupt(
                    Part::Block,
                    *pos,
                    format!("run token {token:#04x}, expected bit 0 set"),
                ));
            }
            *pos += 1;
            return Ok(Stream::Fill((-csize) as u8));
        }
        let csize = csize as usize;
        let at = *pos;
        let payload = at
            .checked_add(csize)
            .and_then(|end| chunk.get(at..end))
            .ok_or_else(|| {
                corrupt(
                    Part::Block,
                    at,
                    format!(
                        "block {b} stream {j}: {csize} bytes past the end of the chunk ({})",
                        chunk.len()
                    ),
                )
            })?;
        if csize > neblock {
            return Err(corrupt(
                Part::Block,
                at - 4,
                format!("stream csize {csize} larger than its {neblock} bytes"),
            ));
        }
        *pos += csize;
        Ok(if csize == neblock {
            Stream::Raw(payload)
        } else {
            Stream::Coded { payload, at }
        })
    }

    /// Decompresses the coded stream `j` of block `b` (payload at chunk offset `at`)
    /// into `out`, which it must fill exactly.
    fn decode_coded(
        &self,
        b: usize,
        j: usize,
        payload: &[u8],
        at: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let decoded = match &self.dict {
            Some(d) => codec::zstd_decompress_with_dict(&self.chunk[d.clone()], payload, out),
            None => codec::decompress_stream(self.format, payload, out),
        };
        let n =
            decoded.map_err(|e| corrupt(Part::Block, at, format!("block {b} stream {j}: {e}")))?;
        if n != out.len() {
            return Err(corrupt(
                Part::Block,
                at,
                format!(
                    "block {b} stream {j} decoded to {n} bytes, expected {}",
                    out.len()
                ),
            ));
        }
        Ok(())
    }

    /// Decompresses at least the bytes `need` of the coded stream `j` of block `b`
    /// into `out` (the stream's full length): LZ4 and BloscLZ streams stop after the
    /// literal run that reaches `need.end` ([`prefix`]), Zstd streams without a
    /// dictionary decode only `need` when it is a strict part of the stream
    /// ([`prefix::zstd_window`]), others are decoded whole.
    fn decode_coded_prefix(
        &self,
        b: usize,
        j: usize,
        payload: &[u8],
        at: usize,
        out: &mut [u8],
        need: std::ops::Range<usize>,
    ) -> Result<()> {
        if self.dict.is_none() && prefix::zstd_window(self.format, payload, out, need.clone()) {
            return Ok(());
        }
        let decoded = match self.dict {
            None => prefix::decode(self.format, payload, out, need.end),
            Some(_) => None,
        };
        let Some(decoded) = decoded else {
            return self.decode_coded(b, j, payload, at, out);
        };
        let d =
            decoded.map_err(|e| corrupt(Part::Block, at, format!("block {b} stream {j}: {e}")))?;
        if d.whole && d.len != out.len() {
            return Err(corrupt(
                Part::Block,
                at,
                format!(
                    "block {b} stream {j} decoded to {} bytes, expected {}",
                    d.len,
                    out.len()
                ),
            ));
        }
        Ok(())
    }

    /// Reads the streams of block `b` into `out` (the filtered block).
    fn decode_streams(&self, b: usize, out: &mut [u8]) -> Result<()> {
        let (_, neblock) = self.streams_of(out.len())?;
        let mut pos = self.bstart(b)?;
        for (j, stream_out) in out.chunks_exact_mut(neblock).enumerate() {
            match self.read_stream(b, j, &mut pos, neblock)? {
                Stream::Fill(v) => stream_out.fill(v),
                Stream::Raw(p) => stream_out.copy_from_slice(p),
                Stream::Coded { payload, at } => {
                    self.decode_coded(b, j, payload, at, stream_out)?
                }
            }
        }
        Ok(())
    }

    /// Decodes a VL-block chunk (version 6): one stream per block, sizes in the stream.
    fn decode_vl(&self, dst: &mut [u8]) -> Result<()> {
        let nblocks = self.h.nblocks();
        let mut written = 0usize;
        let mut scratch = Scratch::default();
        for b in 0..nblocks {
            let start = self.bstart(b)?;
            let end = if b + 1 < nblocks {
                self.bstart(b + 1)?
            } else {
                self.h.cbytes
            };
            if end < start + 4 {
                return Err(corrupt(
                    Part::Block,
                    start,
                    format!(
                        "VL block {b} is {} bytes, expected at least 4",
                        end.saturating_sub(start)
                    ),
                ));
            }
            let usize_ = read_i32(self.chunk, start, Part::Block)?;
            if usize_ < 0 || written + usize_ as usize > dst.len() {
                return Err(corrupt(
                    Part::Block,
                    start,
                    format!("VL block {b} size {usize_} overflows nbytes {}", dst.len()),
                ));
            }
            let len = usize_ as usize;
            let payload = &self.chunk[start + 4..end];
            let out = &mut dst[written..written + len];
            let decoded: &mut [u8] = if self.ops().is_empty() {
                out
            } else {
                scratch.a.resize(len, 0);
                &mut scratch.a[..len]
            };
            if payload.len() == len {
                decoded.copy_from_slice(payload);
            } else {
                let n = codec::decompress_stream(self.format, payload, decoded)
                    .map_err(|e| corrupt(Part::Block, start + 4, format!("VL block {b}: {e}")))?;
                if n != len {
                    return Err(corrupt(
                        Part::Block,
                        start + 4,
                        format!("VL block {b} decoded to {n} bytes, expected {len}"),
                    ));
                }
            }
            if !self.ops().is_empty() {
                let src = std::mem::take(&mut scratch.a);
                let mut cur = src[..len].to_vec();
                for &(f, size) in self.ops() {
                    let mut next = vec![0u8; len];
                    match f {
                        Filter::Shuffle => filter::unshuffle(size, &cur, &mut next),
                        Filter::BitShuffle => filter::bitunshuffle(size, &cur, &mut next),
                        Filter::ByteDelta => filter::bytedelta_decode(size, &cur, &mut next),
                        Filter::ByteDeltaLegacy => {
                            filter::bytedelta_legacy_decode(size, &cur, &mut next)
                        }
                        Filter::Delta => {
                            next.copy_from_slice(&cur);
                            filter::delta_decode(&[], true, self.h.typesize, &mut next);
                        }
                        _ => next.copy_from_slice(&cur),
                    }
                    cur = next;
                }
                dst[written..written + len].copy_from_slice(&cur);
                scratch.a = src;
            }
            written += len;
        }
        if written != dst.len() {
            return Err(corrupt(
                Part::Block,
                0,
                format!(
                    "VL blocks add up to {written} bytes, expected nbytes {}",
                    dst.len()
                ),
            ));
        }
        Ok(())
    }
}

/// Fills `dst` with `pattern` repeated, as if the repetition started `offset` bytes earlier.
fn fill_pattern(dst: &mut [u8], pattern: &[u8], offset: usize) {
    let n = pattern.len();
    for (i, d) in dst.iter_mut().enumerate() {
        *d = pattern[(offset + i) % n];
    }
}

/// Decompresses a whole chunk into a new vector.
///
/// # Errors
/// `Corrupt` for malformed bytes, `Unsupported` for codecs/filters b2frame lacks,
/// `LimitExceeded` when `nbytes` is above `dparams.max_nbytes`.
pub fn decompress(chunk: &[u8], dparams: &DParams) -> Result<Vec<u8>> {
    let d = Decoder::new(chunk)?;
    if d.h.nbytes > dparams.max_nbytes {
        return Err(Error::limit(
            "decompressed chunk",
            d.h.nbytes as u64,
            dparams.max_nbytes as u64,
        ));
    }
    let mut out = vec![0u8; d.h.nbytes];
    d.decode_all(&mut out, dparams.nthreads)?;
    Ok(out)
}

/// Decompresses a whole chunk into `dst`, which must hold at least `nbytes` bytes.
/// Returns the number of bytes written.
///
/// # Errors
/// As [`decompress`], plus `InvalidArgument` when `dst` is too small.
pub fn decompress_into(chunk: &[u8], dst: &mut [u8], dparams: &DParams) -> Result<usize> {
    let d = Decoder::new(chunk)?;
    let n = d.h.nbytes;
    if dst.len() < n {
        return Err(Error::invalid(
            "dst",
            format!("{} bytes, the chunk holds {n}", dst.len()),
        ));
    }
    d.decode_all(&mut dst[..n], dparams.nthreads)?;
    Ok(n)
}

/// Decompresses items `items` (in units of the chunk's typesize; the last item may
/// be partial when `nbytes` is not a multiple of typesize) into `dst`, decoding only
/// the blocks that hold them. Returns the number of bytes written.
///
/// # Errors
/// As [`decompress`], plus `InvalidArgument` when the range is out of bounds or
/// `dst` is too small.
pub fn decompress_items_into(chunk: &[u8], items: Range<usize>, dst: &mut [u8]) -> Result<usize> {
    let d = Decoder::new(chunk)?;
    let ts = d.h.typesize;
    let nbytes = d.h.nbytes;
    let start = items.start.saturating_mul(ts);
    let end = items.end.saturating_mul(ts).min(nbytes);
    if items.start > items.end || start > nbytes {
        return Err(Error::invalid(
            "items",
            format!(
                "{}..{} outside the chunk's {} items",
                items.start,
                items.end,
                nbytes.div_ceil(ts)
            ),
        ));
    }
    let len = end - start;
    if dst.len() < len {
        return Err(Error::invalid(
            "dst",
            format!("{} bytes, the range holds {len}", dst.len()),
        ));
    }
    d.decode_range(start..end, &mut dst[..len])?;
    Ok(len)
}

#[cfg(test)]
mod tests;
