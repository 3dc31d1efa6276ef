//! Chunk decoder: validates every offset and length of untrusted bytes before
//! use, decodes blocks (in parallel when asked) and undoes the filters in C's
//! order (spec §A.6, A.7, B.1). Item-range reads decode only the blocks that
//! hold the range (plus block 0 when DELTA needs it as reference).
#![deny(clippy::unwrap_used)]

use std::ops::Range;

use rayon::prelude::*;

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
    /// Reverse filter pipeline: (filter, element size) for slots 5..0, no-ops removed.
    ops: Vec<(Filter, usize)>,
    has_delta: bool,
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

impl<'a> Decoder<'a> {
    /// Parses the header and the filter pipeline of `chunk`.
    pub(crate) fn new(chunk: &'a [u8]) -> Result<Decoder<'a>> {
        let h = ChunkHeader::parse(chunk)?;
        let chunk = &chunk[..h.cbytes];
        let mut ops = Vec::new();
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
            ops.push((f, size));
        }
        let format = if h.flags >> 5 == 6 {
            codec::format_of(h.codec_id)
        } else {
            h.flags >> 5
        };
        let mut d = Decoder {
            chunk,
            h,
            ops,
            has_delta,
            format,
            bstarts_end: 0,
            dict: None,
        };
        d.check_layout()?;
        Ok(d)
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

    /// [`Self::decode_range`] for chunks made of blocks.
    fn decode_blocks_of_range(
        &self,
        range: Range<usize>,
        dst: &mut [u8],
        scratch: &mut Scratch,
    ) -> Result<()> {
        let bs = self.h.blocksize;
        let (b0, b1) = (range.start / bs, (range.end - 1) / bs);
        let mut reference = Vec::new();
        if self.has_delta && b1 > 0 {
            reference.resize(self.block_len(0), 0);
            self.decode_block(0, &mut reference, None, scratch)?;
        }
        let mut block = std::mem::take(&mut scratch.block);
        let result = (|| {
            for b in b0..=b1 {
                let start = b * bs;
                let len = self.block_len(b);
                let lo = range.start.max(start);
                let hi = range.end.min(start + len);
                let out = &mut dst[lo - range.start..hi - range.start];
                let refr = if b == 0 {
                    None
                } else {
                    Some(reference.as_slice())
                };
                if lo == start && hi == start + len {
                    if b == 0 && self.has_delta && b1 > 0 {
                        out.copy_from_slice(&reference);
                    } else {
                        self.decode_block(b, out, refr, scratch)?;
                    }
                } else {
                    if block.len() < len {
                        block.resize(len, 0);
                    }
                    self.decode_block(b, &mut block[..len], refr, scratch)?;
                    out.copy_from_slice(&block[lo - start..hi - start]);
                }
            }
            Ok(())
        })();
        scratch.block = block;
        result
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
        let n_oop = self.ops.iter().filter(|(f, _)| *f != Filter::Delta).count();
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
        for &(f, size) in &self.ops {
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

    /// Reads the streams of block `b` into `out` (the filtered block).
    fn decode_streams(&self, b: usize, out: &mut [u8]) -> Result<()> {
        let bsize = out.len();
        let nstreams = if !self.h.dont_split() && bsize == self.h.blocksize && self.h.typesize > 1 {
            self.h.typesize
        } else {
            1
        };
        let neblock = bsize / nstreams;
        if neblock * nstreams != bsize {
            return Err(corrupt(
                Part::Block,
                0,
                format!("block of {bsize} bytes cannot be split into {nstreams} streams"),
            ));
        }
        let mut pos = self.bstart(b)?;
        for (j, stream_out) in out.chunks_exact_mut(neblock).enumerate() {
            let csize = read_i32(self.chunk, pos, Part::Block)?;
            pos += 4;
            if csize == 0 {
                stream_out.fill(0);
                continue;
            }
            if csize < 0 {
                if csize < -255 {
                    return Err(corrupt(
                        Part::Block,
                        pos - 4,
                        format!("run csize {csize}, expected -255..=-1"),
                    ));
                }
                let token = *self.chunk.get(pos).ok_or_else(|| {
                    corrupt(Part::Block, pos, "run token past the end of the chunk")
                })?;
                if token & 1 == 0 {
                    return Err(corrupt(
                        Part::Block,
                        pos,
                        format!("run token {token:#04x}, expected bit 0 set"),
                    ));
                }
                pos += 1;
                stream_out.fill((-csize) as u8);
                continue;
            }
            let csize = csize as usize;
            let payload = pos
                .checked_add(csize)
                .and_then(|end| self.chunk.get(pos..end))
                .ok_or_else(|| {
                    corrupt(
                        Part::Block,
                        pos,
                        format!(
                            "block {b} stream {j}: {csize} bytes past the end of the chunk ({})",
                            self.chunk.len()
                        ),
                    )
                })?;
            if csize > neblock {
                return Err(corrupt(
                    Part::Block,
                    pos - 4,
                    format!("stream csize {csize} larger than its {neblock} bytes"),
                ));
            }
            if csize == neblock {
                stream_out.copy_from_slice(payload);
            } else {
                let decoded = match &self.dict {
                    Some(d) => codec::zstd_decompress_with_dict(
                        &self.chunk[d.clone()],
                        payload,
                        stream_out,
                    ),
                    None => codec::decompress_stream(self.format, payload, stream_out),
                };
                let n = decoded
                    .map_err(|e| corrupt(Part::Block, pos, format!("block {b} stream {j}: {e}")))?;
                if n != neblock {
                    return Err(corrupt(
                        Part::Block,
                        pos,
                        format!("block {b} stream {j} decoded to {n} bytes, expected {neblock}"),
                    ));
                }
            }
            pos += csize;
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
            let decoded: &mut [u8] = if self.ops.is_empty() {
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
            if !self.ops.is_empty() {
                let src = std::mem::take(&mut scratch.a);
                let mut cur = src[..len].to_vec();
                for &(f, size) in &self.ops {
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
