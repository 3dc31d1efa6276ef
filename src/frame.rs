//! Frames: the serialised form of a super-chunk (C-Blosc2's
//! `README_CFRAME_FORMAT.rst` and `README_SFRAME_FORMAT.rst`, as corrected by
//! spec §E). This module owns what contiguous ([`cframe`]) and sparse
//! ([`sframe`]) frames share: the msgpack header with its metalayers, the
//! trailer with the vlmeta chunks, and the offsets index. Everything here is
//! I/O-free: it parses byte slices and builds byte vectors.
//!
//! ```text
//! cframe = header (fixed 87 B + metalayers) | chunks | offsets index chunk | trailer
//! header = 9E A8 "b2frame\0" D2 header_len CF frame_len A4 flags×4 D3 nbytes D3 cbytes
//!          D2 typesize D2 blocksize D2 chunksize D1 nthreads_c D1 nthreads_d C2/C3
//!          D8 06 filters×6 codec compcode_meta filters_meta×6 other_flags2 0
//!          93 CD idx_size DE n (fixstr name, D2 abs_offset)×n DC n (C6 len bytes)×n
//! trailer = 94 01 93 CD idx_size DE n (fixstr name, D2 rel_offset)×n DC n (C6 len chunk)×n
//!           CE trailer_len D8 00 zeros×16
//! ```
//!
//! All integers in header and trailer are big-endian; the offsets index is a
//! regular chunk of little-endian `i64`.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

pub mod cframe;
pub mod sframe;

use crate::chunk::params::{CParams, Codec, DParams, Filter, SplitMode};
use crate::chunk::{self, ChunkHeader, SpecialValue};
use crate::error::{Error, Part, Result};

/// The frame magic, including its NUL.
pub const MAGIC: &[u8; 8] = b"b2frame\0";
/// Byte offset of the metalayers section (the `93` byte) in the header.
pub const METALAYERS_OFFSET: usize = 87;
/// Length of a header without metalayers.
pub const MIN_HEADER_LEN: usize = 97;
/// The trailer length is the u32 at `frame_len - TRAILER_LEN_OFFSET`.
pub const TRAILER_LEN_OFFSET: usize = 22;
/// Length of a trailer without vlmeta.
pub const MIN_TRAILER_LEN: usize = 35;
/// Most metalayers (and vlmetalayers) C-Blosc2 handles.
pub const MAX_METALAYERS: usize = 16;
/// Longest metalayer / vlmeta name C-Blosc2 handles, in bytes.
pub const MAX_NAME_LEN: usize = 31;
/// Named byte strings in stored order: metalayers (raw msgpack) or vlmeta (compressed chunks).
pub type Entries = Vec<(String, Vec<u8>)>;
/// The special-offset bit (bit 63) of an offsets-index entry.
const SPECIAL_BIT: u64 = 1 << 63;

/// The frame header's fixed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameHeader {
    /// Header length in bytes, metalayers included.
    pub header_len: usize,
    /// Frame length (for a cframe the whole buffer; for an sframe `chunks.b2frame`).
    pub frame_len: u64,
    /// The raw `general_flags` byte (version, offset width, variable chunks, VL blocks).
    pub general_flags: u8,
    /// Frame type: 0 contiguous, 1 sparse (directory).
    pub frame_type: u8,
    /// Full codec id (from byte 77).
    pub codec_id: u8,
    /// Compression level (high nibble of `codec_flags`).
    pub clevel: u8,
    /// Split mode value 1..=4 (`other_flags` bits 0-1 plus one).
    pub splitmode: u8,
    /// Total uncompressed bytes.
    pub nbytes: u64,
    /// Size of the chunks section (sframe: sum of the chunk files).
    pub cbytes: u64,
    /// Item size (> 0; may exceed 255).
    pub typesize: usize,
    /// The writer's configured blocksize (informational; 0 = automatic).
    pub blocksize: i32,
    /// Chunk size: `-1` no chunk yet, `0` variable, otherwise every chunk but the last.
    pub chunksize: i32,
    /// The writer's compression threads (informational).
    pub nthreads_c: i16,
    /// The writer's decompression threads (informational).
    pub nthreads_d: i16,
    /// Whether the trailer holds vlmeta.
    pub has_vlmeta: bool,
    /// Filter ids of the six slots.
    pub filters: [u8; 6],
    /// Codec meta byte.
    pub compcode_meta: u8,
    /// Filter meta bytes.
    pub filters_meta: [u8; 6],
    /// `other_flags2` (bit 0: use_dict).
    pub other_flags2: u8,
}

impl Default for FrameHeader {
    fn default() -> Self {
        FrameHeader {
            header_len: MIN_HEADER_LEN,
            frame_len: 0,
            general_flags: 0x12,
            frame_type: 0,
            codec_id: Codec::Zstd.id(),
            clevel: 5,
            splitmode: SplitMode::Auto.value(),
            nbytes: 0,
            cbytes: 0,
            typesize: 1,
            blocksize: 0,
            chunksize: -1,
            nthreads_c: 1,
            nthreads_d: 1,
            has_vlmeta: false,
            filters: [0, 0, 0, 0, 0, Filter::Shuffle.id()],
            compcode_meta: 0,
            filters_meta: [0; 6],
            other_flags2: 0,
        }
    }
}

impl FrameHeader {
    /// Frame format version (`general_flags & 0x0F`: 1..=3).
    pub fn version(&self) -> u8 {
        self.general_flags & 0x0f
    }

    /// Whether chunks may have different sizes (`general_flags` bit 6).
    pub fn variable_chunks(&self) -> bool {
        self.general_flags & 0x40 != 0
    }

    /// Whether every chunk is a VL-block chunk (`general_flags` bit 7).
    pub fn vl_blocks(&self) -> bool {
        self.general_flags & 0x80 != 0
    }

    /// Whether the writer used a dictionary.
    pub fn use_dict(&self) -> bool {
        self.other_flags2 & 1 != 0
    }

    /// The compression parameters the header describes (unknown filter ids become `NoFilter`).
    ///
    /// # Errors
    /// `Unsupported` for a codec b2frame does not implement.
    pub fn cparams(&self) -> Result<CParams> {
        let mut filters = [Filter::NoFilter; 6];
        for (slot, id) in filters.iter_mut().zip(self.filters) {
            *slot = Filter::from_id(id).unwrap_or(Filter::NoFilter);
        }
        Ok(CParams {
            codec: Codec::from_id(self.codec_id)?,
            clevel: self.clevel.min(9),
            typesize: self.typesize,
            filters,
            filters_meta: self.filters_meta,
            splitmode: SplitMode::from_value(self.splitmode).unwrap_or_default(),
            blocksize: usize::try_from(self.blocksize).unwrap_or(0),
            nthreads: usize::try_from(self.nthreads_c).unwrap_or(1).max(1),
        })
    }

    /// The size of chunk `i` of `nchunks` implied by the header (for synthesising special chunks).
    ///
    /// # Errors
    /// `Corrupt` when the header cannot say (variable or unknown chunksize, sizes inconsistent).
    pub fn implied_chunk_nbytes(&self, i: usize, nchunks: usize) -> Result<usize> {
        let cs = usize::try_from(self.chunksize)
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| {
                Error::corrupt(
                    Part::OffsetsIndex,
                    0,
                    format!(
                        "special chunk offset in a frame with chunksize {}",
                        self.chunksize
                    ),
                )
            })?;
        let nbytes = usize::try_from(self.nbytes).unwrap_or(usize::MAX);
        if i.checked_add(1) == Some(nchunks) {
            let before = cs.checked_mul(i).filter(|&b| b <= nbytes).ok_or_else(|| {
                Error::corrupt(
                    Part::FrameHeader,
                    30,
                    format!("nbytes {nbytes} too small for {nchunks} chunks of {cs}"),
                )
            })?;
            Ok(nbytes.saturating_sub(before))
        } else {
            Ok(cs)
        }
    }

    /// Parses and validates the fixed part of a header (the first 87 bytes are needed;
    /// pass at least `header_len` bytes to also read metalayers with [`parse_metalayers`]).
    ///
    /// # Errors
    /// `Corrupt` (part `FrameHeader`) naming the bad field, `Unsupported` for newer formats.
    pub fn parse(bytes: &[u8]) -> Result<FrameHeader> {
        if bytes.len() < METALAYERS_OFFSET {
            return Err(hcorrupt(
                0,
                format!(
                    "{} bytes, a frame header needs at least {METALAYERS_OFFSET}",
                    bytes.len()
                ),
            ));
        }
        let mut c = Cursor::new(bytes, Part::FrameHeader);
        c.expect(0x9e, "fixarray(14)")?;
        c.expect(0xa8, "fixstr(8)")?;
        if c.take(8)? != MAGIC {
            return Err(hcorrupt(2, "magic is not \"b2frame\\0\""));
        }
        c.expect(0xd2, "int32 marker of header_len")?;
        let header_len = c.i32()?;
        c.expect(0xcf, "uint64 marker of frame_len")?;
        let frame_len = c.u64()?;
        c.expect(0xa4, "fixstr(4) of the flags")?;
        let general_flags = c.u8()?;
        let frame_type = c.u8()?;
        let codec_flags = c.u8()?;
        let other_flags = c.u8()?;
        c.expect(0xd3, "int64 marker of nbytes")?;
        let nbytes = c.i64()?;
        c.expect(0xd3, "int64 marker of cbytes")?;
        let cbytes = c.i64()?;
        c.expect(0xd2, "int32 marker of typesize")?;
        let typesize = c.i32()?;
        c.expect(0xd2, "int32 marker of blocksize")?;
        let blocksize = c.i32()?;
        c.expect(0xd2, "int32 marker of chunksize")?;
        let chunksize = c.i32()?;
        c.expect(0xd1, "int16 marker of nthreads_c")?;
        let nthreads_c = c.i16()?;
        c.expect(0xd1, "int16 marker of nthreads_d")?;
        let nthreads_d = c.i16()?;
        let has_vlmeta = match c.u8()? {
            0xc2 => false,
            0xc3 => true,
            other => {
                return Err(hcorrupt(
                    68,
                    format!("has_vlmeta byte {other:#04x}, expected 0xc2 or 0xc3"),
                ))
            }
        };
        c.expect(0xd8, "fixext16 marker of the filters")?;
        let nfilters = c.u8()?;
        if nfilters > 6 {
            return Err(hcorrupt(70, format!("{nfilters} filters, at most 6")));
        }
        let mut filters = [0u8; 6];
        filters.copy_from_slice(c.take(6)?);
        let codec_id = c.u8()?;
        let compcode_meta = c.u8()?;
        let mut filters_meta = [0u8; 6];
        filters_meta.copy_from_slice(c.take(6)?);
        let other_flags2 = c.u8()?;
        let _reserved = c.u8()?;

        let version = general_flags & 0x0f;
        if version == 0 || version > 3 {
            return Err(if version > 3 {
                Error::unsupported(
                    "frame format",
                    format!("version {version} (b2frame reads 1..=3)"),
                )
            } else {
                hcorrupt(25, "frame format version 0, expected 1..=3")
            });
        }
        let width = (general_flags >> 4) & 3;
        if width != 1 {
            return Err(Error::unsupported(
                "frame format",
                format!("offset width code {width} (only 1 = 64-bit exists)"),
            ));
        }
        if frame_type & 0x0f > 1 {
            return Err(hcorrupt(
                26,
                format!("frame type {frame_type:#04x}, expected 0 or 1"),
            ));
        }
        let low = codec_flags & 0x0f;
        if low < 6 && low != codec_id {
            return Err(hcorrupt(
                27,
                format!("codec nibble {low} but codec id {codec_id} at byte 77"),
            ));
        }
        if header_len < MIN_HEADER_LEN as i32 {
            return Err(hcorrupt(
                11,
                format!("header_len {header_len}, expected >= {MIN_HEADER_LEN}"),
            ));
        }
        if u64::from(header_len.unsigned_abs()) > frame_len {
            return Err(hcorrupt(
                11,
                format!("header_len {header_len} beyond frame_len {frame_len}"),
            ));
        }
        if nbytes < 0 {
            return Err(hcorrupt(30, format!("nbytes {nbytes}, expected >= 0")));
        }
        if cbytes < 0 {
            return Err(hcorrupt(39, format!("cbytes {cbytes}, expected >= 0")));
        }
        if typesize <= 0 {
            return Err(hcorrupt(48, format!("typesize {typesize}, expected > 0")));
        }
        if chunksize < -1 {
            return Err(hcorrupt(
                58,
                format!("chunksize {chunksize}, expected >= -1"),
            ));
        }
        if chunksize == -1 && nbytes != 0 {
            return Err(hcorrupt(
                58,
                format!("chunksize -1 (no chunks) but nbytes {nbytes}"),
            ));
        }
        Ok(FrameHeader {
            header_len: header_len.unsigned_abs() as usize,
            frame_len,
            general_flags,
            frame_type,
            codec_id,
            clevel: codec_flags >> 4,
            splitmode: (other_flags & 3).saturating_add(1),
            nbytes: nbytes.unsigned_abs(),
            cbytes: cbytes.unsigned_abs(),
            typesize: typesize.unsigned_abs() as usize,
            blocksize,
            chunksize,
            nthreads_c,
            nthreads_d,
            has_vlmeta,
            filters,
            compcode_meta,
            filters_meta,
            other_flags2,
        })
    }

    /// Writes the fixed 87 bytes of the header (`header_len` and `frame_len` as given).
    fn write_fixed(&self, out: &mut Vec<u8>) {
        out.push(0x9e);
        out.push(0xa8);
        out.extend_from_slice(MAGIC);
        out.push(0xd2);
        out.extend_from_slice(&(self.header_len as i32).to_be_bytes());
        out.push(0xcf);
        out.extend_from_slice(&self.frame_len.to_be_bytes());
        out.push(0xa4);
        out.push(self.general_flags);
        out.push(self.frame_type);
        let low = if self.codec_id < 6 { self.codec_id } else { 6 };
        out.push((self.clevel << 4) | low);
        out.push(self.splitmode.saturating_sub(1) & 3);
        out.push(0xd3);
        out.extend_from_slice(&(self.nbytes as i64).to_be_bytes());
        out.push(0xd3);
        out.extend_from_slice(&(self.cbytes as i64).to_be_bytes());
        out.push(0xd2);
        out.extend_from_slice(&(self.typesize as i32).to_be_bytes());
        out.push(0xd2);
        out.extend_from_slice(&self.blocksize.to_be_bytes());
        out.push(0xd2);
        out.extend_from_slice(&self.chunksize.to_be_bytes());
        out.push(0xd1);
        out.extend_from_slice(&self.nthreads_c.to_be_bytes());
        out.push(0xd1);
        out.extend_from_slice(&self.nthreads_d.to_be_bytes());
        out.push(if self.has_vlmeta { 0xc3 } else { 0xc2 });
        out.push(0xd8);
        out.push(6);
        out.extend_from_slice(&self.filters);
        out.push(self.codec_id);
        out.push(self.compcode_meta);
        out.extend_from_slice(&self.filters_meta);
        out.push(self.other_flags2);
        out.push(0);
    }
}

/// Where a chunk of a frame lives, decoded from its offsets-index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOffset {
    /// Stored bytes: for a cframe the offset from the start of the chunks section,
    /// for an sframe the chunk file id.
    Stored(u64),
    /// No stored bytes: a chunk of zeros, NaNs or uninitialised items.
    Special(SpecialValue),
}

impl ChunkOffset {
    /// Decodes a raw index entry (spec §E.4: C tests zeros, then uninit, then NaN).
    ///
    /// # Errors
    /// `Corrupt` (part `OffsetsIndex`) for a negative entry without a known kind.
    pub fn from_raw(raw: i64, index_pos: usize) -> Result<ChunkOffset> {
        if raw >= 0 {
            return Ok(ChunkOffset::Stored(raw.unsigned_abs()));
        }
        let kind = (raw.to_le_bytes()[7]) & 0x7f;
        if kind & 1 != 0 {
            Ok(ChunkOffset::Special(SpecialValue::Zeros))
        } else if kind & 4 != 0 {
            Ok(ChunkOffset::Special(SpecialValue::Uninit))
        } else if kind & 2 != 0 {
            Ok(ChunkOffset::Special(SpecialValue::Nan))
        } else {
            Err(Error::corrupt(
                Part::OffsetsIndex,
                index_pos,
                format!("negative offset {raw:#x} with no special kind bit"),
            ))
        }
    }

    /// The raw index entry.
    pub fn to_raw(self) -> i64 {
        match self {
            ChunkOffset::Stored(o) => o as i64,
            ChunkOffset::Special(kind) => (SPECIAL_BIT | (u64::from(kind.kind()) << 56)) as i64,
        }
    }
}

/// A parsed frame: header, metalayers, vlmeta chunks and the chunk offsets.
///
/// Chunk bytes are not copied: for a cframe use [`cframe::chunk`] with the same buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame {
    /// The fixed header fields.
    pub header: FrameHeader,
    /// Metalayers (name, raw msgpack bytes), in stored order.
    pub metalayers: Entries,
    /// Variable-length metalayers (name, compressed chunk bytes), in stored order.
    pub vlmeta: Entries,
    /// One entry per chunk, in logical order.
    pub offsets: Vec<ChunkOffset>,
    /// The trailer format version (1; 0 for 2.0 betas).
    pub trailer_version: u8,
}

impl Frame {
    /// Number of chunks.
    pub fn nchunks(&self) -> usize {
        self.offsets.len()
    }

    /// A metalayer's raw bytes.
    pub fn metalayer(&self, name: &str) -> Option<&[u8]> {
        self.metalayers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// A vlmetalayer's compressed chunk.
    pub fn vlmeta_chunk(&self, name: &str) -> Option<&[u8]> {
        self.vlmeta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Builds the 32-byte chunk standing for special chunk `i` (flags 0x05, no filters).
    ///
    /// # Errors
    /// `Corrupt` when the header's sizes cannot give the chunk's size.
    pub fn special_chunk(&self, i: usize, kind: SpecialValue) -> Result<Vec<u8>> {
        let nbytes = self.header.implied_chunk_nbytes(i, self.nchunks())?;
        chunk::special(kind, nbytes, self.header.typesize, None).map_err(|e| {
            Error::corrupt(
                Part::OffsetsIndex,
                i,
                format!("cannot synthesise special chunk {i}: {e}"),
            )
        })
    }
}

fn hcorrupt(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(Part::FrameHeader, offset, detail)
}

/// A bounds-checked big-endian reader that reports errors at absolute positions.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Added to `pos` in error messages.
    base: usize,
    part: Part,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], part: Part) -> Self {
        Cursor {
            buf,
            pos: 0,
            base: 0,
            part,
        }
    }

    fn at(buf: &'a [u8], pos: usize, base: usize, part: Part) -> Self {
        Cursor {
            buf,
            pos,
            base,
            part,
        }
    }

    fn err(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(self.part, self.base.saturating_add(self.pos), detail)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let s = end.and_then(|e| self.buf.get(self.pos..e)).ok_or_else(|| {
            self.err(format!(
                "{n} bytes needed, {} left",
                self.buf.len().saturating_sub(self.pos)
            ))
        })?;
        self.pos = self.pos.saturating_add(n);
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        s.try_into().map_err(|_| self.err("truncated"))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.arr::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.arr()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.arr()?))
    }

    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.arr()?))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.arr()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.arr()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.arr()?))
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<()> {
        let found = self.u8()?;
        if found != byte {
            self.pos = self.pos.saturating_sub(1);
            return Err(self.err(format!("byte {found:#04x}, expected {byte:#04x} ({what})")));
        }
        Ok(())
    }

    /// A fixstr name (C writes names of at most 31 bytes as fixstr).
    fn name(&mut self) -> Result<String> {
        let m = self.u8()?;
        if m & 0xe0 != 0xa0 {
            self.pos = self.pos.saturating_sub(1);
            return Err(self.err(format!("byte {m:#04x}, expected a fixstr name")));
        }
        let b = self.take(usize::from(m & 0x1f))?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("name is not utf-8"))
    }
}

/// Parses a `[idx_size, map, contents]` section (header metalayers or trailer vlmeta).
///
/// `buf` is the whole header (or trailer); the section starts at `start`. Entry
/// offsets in the map are positions in `buf` (absolute for the header, relative
/// to the trailer start for the trailer), which is how C reads them.
fn parse_meta_section(
    buf: &[u8],
    start: usize,
    base: usize,
    part: Part,
) -> Result<(Entries, usize)> {
    let mut c = Cursor::at(buf, start, base, part);
    c.expect(0x93, "fixarray(3) of the metalayers section")?;
    c.expect(0xcd, "uint16 marker of idx_size")?;
    let _idx_size = c.u16()?;
    c.expect(0xde, "map16 marker")?;
    let n = usize::from(c.u16()?);
    // Each map entry takes at least 6 bytes: check before allocating.
    if n > buf.len().saturating_sub(c.pos) / 6 {
        return Err(c.err(format!("{n} entries do not fit in the remaining bytes")));
    }
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let name = c.name()?;
        c.expect(0xd2, "int32 marker of the content offset")?;
        let off = c.i32()?;
        entries.push((name, off));
    }
    c.expect(0xdc, "array16 marker of the contents")?;
    let m = usize::from(c.u16()?);
    if m != n {
        return Err(c.err(format!("{m} contents for {n} names")));
    }
    let mut out = Vec::with_capacity(n);
    for (name, off) in entries {
        let off = usize::try_from(off)
            .ok()
            .filter(|&o| o < buf.len())
            .ok_or_else(|| {
                Error::corrupt(
                    part,
                    base.saturating_add(c.pos),
                    format!("content offset {off} of {name:?} out of range"),
                )
            })?;
        let mut cc = Cursor::at(buf, off, base, part);
        cc.expect(0xc6, "bin32 marker of the content")?;
        let len = cc.u32()? as usize;
        let bytes = cc.take(len)?.to_vec();
        c.pos = c.pos.max(cc.pos);
        out.push((name, bytes));
    }
    Ok((out, c.pos))
}

/// Parses the metalayers of a header; `header` must hold `header_len` bytes.
///
/// # Errors
/// `Corrupt` (part `FrameHeader`) for a malformed section or contents beyond `header_len`.
pub fn parse_metalayers(header: &[u8]) -> Result<Entries> {
    let (m, _) = parse_meta_section(header, METALAYERS_OFFSET, 0, Part::FrameHeader)?;
    Ok(m)
}

/// Parses a trailer (`trailer` = the bytes from the trailer start to the frame end).
/// Returns the trailer version and the vlmeta chunks. `pos` is the trailer's absolute
/// position, used in error messages.
///
/// # Errors
/// `Corrupt` (part `FrameTrailer`).
pub fn parse_trailer(trailer: &[u8], pos: usize) -> Result<(u8, Entries)> {
    let mut c = Cursor::at(trailer, 0, pos, Part::FrameTrailer);
    if trailer.len() < MIN_TRAILER_LEN {
        return Err(c.err(format!(
            "trailer of {} bytes, expected at least {MIN_TRAILER_LEN}",
            trailer.len()
        )));
    }
    c.expect(0x94, "fixarray(4) of the trailer")?;
    let version = c.u8()?;
    if version > 1 {
        return Err(Error::unsupported(
            "frame trailer",
            format!("version {version} (b2frame reads 0 and 1)"),
        ));
    }
    let (vlmeta, end) = parse_meta_section(trailer, 2, pos, Part::FrameTrailer)?;
    let tail = trailer
        .len()
        .saturating_sub(TRAILER_LEN_OFFSET.saturating_add(1));
    if end > tail {
        return Err(Error::corrupt(
            Part::FrameTrailer,
            pos.saturating_add(end),
            "vlmeta overlaps the trailer length field",
        ));
    }
    Ok((version, vlmeta))
}

/// Reads the trailer length stored at `frame[len - 22]` and checks its marker.
///
/// # Errors
/// `Corrupt` (part `FrameTrailer`) when the frame is too short or the length is out of range.
pub fn trailer_len(frame: &[u8]) -> Result<usize> {
    let len = frame.len();
    let at = len
        .checked_sub(TRAILER_LEN_OFFSET.saturating_add(1))
        .ok_or_else(|| {
            Error::corrupt(
                Part::FrameTrailer,
                0,
                format!("frame of {len} bytes has no room for a trailer"),
            )
        })?;
    let mut c = Cursor::at(frame, at, 0, Part::FrameTrailer);
    c.expect(0xce, "uint32 marker of trailer_len")?;
    let tl = c.u32()? as usize;
    c.expect(0xd8, "fixext16 marker of the fingerprint")?;
    if tl < MIN_TRAILER_LEN || tl > len {
        return Err(Error::corrupt(
            Part::FrameTrailer,
            at,
            format!("trailer_len {tl}, expected {MIN_TRAILER_LEN}..={len}"),
        ));
    }
    Ok(tl)
}

/// Decodes an offsets-index chunk into raw entries. `expected` is the number of
/// chunks the header implies when it can say (checked before decompressing).
///
/// # Errors
/// `Corrupt` (part `OffsetsIndex`).
pub fn parse_index(index: &[u8], pos: usize, expected: Option<usize>) -> Result<Vec<ChunkOffset>> {
    let wrap = |e: Error| match e {
        Error::Corrupt { detail, .. } => {
            Error::corrupt(Part::OffsetsIndex, pos, format!("index chunk: {detail}"))
        }
        other => other,
    };
    let h = ChunkHeader::parse(index).map_err(wrap)?;
    if h.nbytes % 8 != 0 {
        return Err(Error::corrupt(
            Part::OffsetsIndex,
            pos,
            format!("index nbytes {} not a multiple of 8", h.nbytes),
        ));
    }
    let n = h.nbytes / 8;
    if let Some(e) = expected {
        if e != n {
            return Err(Error::corrupt(
                Part::OffsetsIndex,
                pos,
                format!("{n} index entries, the header implies {e} chunks"),
            ));
        }
    }
    let raw = chunk::decompress(index, &DParams::default()).map_err(wrap)?;
    raw.chunks_exact(8)
        .enumerate()
        .map(|(i, b)| {
            let v = i64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
            ChunkOffset::from_raw(v, pos.saturating_add(i.saturating_mul(8)))
        })
        .collect()
}

/// The number of chunks a header implies, when its chunksize is fixed.
pub(crate) fn implied_nchunks(h: &FrameHeader) -> Option<usize> {
    match h.chunksize {
        -1 => Some(0),
        0 => None,
        cs => usize::try_from(h.nbytes.div_ceil(u64::from(cs.unsigned_abs()))).ok(),
    }
}

/// Compresses an offsets index exactly as C-Blosc2 does (BloscLZ clevel 5,
/// typesize 8, SHUFFLE in slot 5, NEVER_SPLIT, blocksize 16384). Empty for no chunks.
///
/// # Errors
/// `InvalidArgument` if the index is larger than one chunk can hold.
pub fn write_index(offsets: &[i64]) -> Result<Vec<u8>> {
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    let cp = CParams::default()
        .with_codec(Codec::BloscLz)
        .with_clevel(5)
        .with_typesize(8)
        .with_filters([
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::Shuffle,
        ])
        .with_splitmode(SplitMode::Never)
        .with_blocksize(16384)
        .with_nthreads(1);
    chunk::compress(&cp, &raw)
}

#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
/// Appends a `[idx_size, map, contents]` section. `origin` is the position `buf[0]`
/// will have in the coordinates the entry offsets are measured in; `idx_from` is the
/// position from which C counts `idx_size`.
fn write_meta_section(
    out: &mut Vec<u8>,
    entries: &[(String, Vec<u8>)],
    origin: usize,
    idx_from_rel: usize,
) -> Result<()> {
    if entries.len() > MAX_METALAYERS {
        return Err(Error::invalid(
            "metalayers",
            format!("{} entries, at most {MAX_METALAYERS}", entries.len()),
        ));
    }
    let start = out.len();
    out.push(0x93);
    out.push(0xcd);
    out.extend_from_slice(&[0, 0]);
    out.push(0xde);
    out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    let mut offset_slots = Vec::with_capacity(entries.len());
    for (name, _) in entries {
        if name.len() > MAX_NAME_LEN {
            return Err(Error::invalid(
                "name",
                format!("{name:?} has {} bytes, at most {MAX_NAME_LEN}", name.len()),
            ));
        }
        out.push(0xa0 | name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(0xd2);
        offset_slots.push(out.len());
        out.extend_from_slice(&[0; 4]);
    }
    let idx_size = out.len() - (start + idx_from_rel);
    out[start + 2..start + 4].copy_from_slice(&(idx_size as u16).to_be_bytes());
    out.push(0xdc);
    out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for ((_, content), slot) in entries.iter().zip(offset_slots) {
        let len = u32::try_from(content.len()).map_err(|_| {
            Error::invalid(
                "metalayer",
                format!("{} bytes, at most 4 GiB", content.len()),
            )
        })?;
        let pos = i32::try_from(origin + out.len())
            .map_err(|_| Error::invalid("metalayers", "section larger than 2 GiB"))?;
        out[slot..slot + 4].copy_from_slice(&pos.to_be_bytes());
        out.push(0xc6);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(content);
    }
    Ok(())
}

/// The header fields and index entries for a list of chunks (shared by the cframe
/// and sframe writers). `template` supplies everything but sizes and flags;
/// `stored_pos(k, chunk)` gives the index entry of the `k`-th stored chunk.
/// Returns the header, the raw offsets and the indices of the chunks that are stored.
///
/// Chunks of zeros, NaNs or uninitialised items become special offsets when
/// C-Blosc2 can synthesise them back (fixed chunksize, size a multiple of the
/// typesize, same typesize as the frame).
#[allow(clippy::arithmetic_side_effects)]
pub(crate) fn plan(
    template: &FrameHeader,
    chunks: &[&[u8]],
    mut stored_pos: impl FnMut(usize, &[u8]) -> i64,
) -> Result<(FrameHeader, Vec<i64>, Vec<usize>)> {
    let mut h = template.clone();
    let n = chunks.len();
    let headers = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            ChunkHeader::parse(c).map_err(|e| {
                Error::invalid("chunk", format!("chunk {i} is not a valid chunk: {e}"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if n == 0 {
        h.chunksize = -1;
    } else {
        match usize::try_from(h.chunksize) {
            Err(_) => {
                return Err(Error::invalid(
                    "chunksize",
                    format!("{} with {n} chunks", h.chunksize),
                ))
            }
            Ok(0) => {}
            Ok(cs) => {
                for (i, ch) in headers.iter().enumerate() {
                    let ok = if i + 1 == n {
                        ch.nbytes <= cs
                    } else {
                        ch.nbytes == cs
                    };
                    if !ok {
                        return Err(Error::invalid(
                            "chunksize",
                            format!(
                                "chunk {i} has {} bytes, the frame chunksize is {cs}",
                                ch.nbytes
                            ),
                        ));
                    }
                }
            }
        }
    }
    let all_vl = n > 0 && headers.iter().all(ChunkHeader::is_vl_blocks);
    h.general_flags = match (h.chunksize == 0, all_vl) {
        (false, false) => 0x12,
        (true, false) => 0x53,
        (false, true) => 0x93,
        (true, true) => 0xd3,
    };
    let chunk_ts = if h.typesize > 255 { 1 } else { h.typesize };
    let mut offsets = Vec::with_capacity(n);
    let mut stored = Vec::new();
    let (mut nbytes, mut cbytes) = (0u64, 0u64);
    for (i, (c, ch)) in chunks.iter().zip(&headers).enumerate() {
        nbytes += ch.nbytes as u64;
        let special = match ch.special() {
            Some(k @ (SpecialValue::Zeros | SpecialValue::Nan | SpecialValue::Uninit))
                if h.chunksize > 0 && ch.nbytes % h.typesize == 0 && ch.typesize == chunk_ts =>
            {
                Some(k)
            }
            _ => None,
        };
        match special {
            Some(k) => offsets.push(ChunkOffset::Special(k).to_raw()),
            None => {
                let c = c.get(..ch.cbytes).unwrap_or(c);
                offsets.push(stored_pos(stored.len(), c));
                stored.push(i);
                cbytes += c.len() as u64;
            }
        }
    }
    h.nbytes = nbytes;
    h.cbytes = cbytes;
    Ok((h, offsets, stored))
}

/// Length of the fingerprint field that ends a trailer (C writes zeros; b2frame
/// may keep its seal there, see `crate::schunk`).
pub(crate) const FINGERPRINT_LEN: usize = 16;

#[allow(clippy::arithmetic_side_effects)]
/// Builds the header: the fixed fields of `header` (with `header_len` computed and
/// `frame_len`, `has_vlmeta` as given) followed by the metalayers section.
pub(crate) fn write_header(
    header: &FrameHeader,
    metalayers: &[(String, Vec<u8>)],
) -> Result<Vec<u8>> {
    let mut h = header.clone();
    let mut out = Vec::new();
    h.write_fixed(&mut out);
    write_meta_section(&mut out, metalayers, 0, 0)?;
    if i32::try_from(out.len()).is_err() {
        return Err(Error::invalid("metalayers", "header larger than 2 GiB"));
    }
    h.header_len = out.len();
    let mut fixed = Vec::with_capacity(METALAYERS_OFFSET);
    h.write_fixed(&mut fixed);
    out.splice(..METALAYERS_OFFSET, fixed);
    Ok(out)
}

/// The fixed 87 bytes of a header.
pub(crate) fn fixed_header_bytes(header: &FrameHeader) -> Vec<u8> {
    let mut out = Vec::with_capacity(METALAYERS_OFFSET);
    header.write_fixed(&mut out);
    out
}

#[allow(clippy::arithmetic_side_effects)]
/// Builds a trailer holding `vlmeta`, ending with fingerprint type 0 and `fingerprint`.
pub(crate) fn write_trailer(
    vlmeta: &[(String, Vec<u8>)],
    fingerprint: &[u8; FINGERPRINT_LEN],
) -> Result<Vec<u8>> {
    let mut t = vec![0x94, 0x01];
    write_meta_section(&mut t, vlmeta, 0, 1)?;
    let trailer_len = t.len() + 5 + 2 + FINGERPRINT_LEN;
    t.push(0xce);
    t.extend_from_slice(
        &u32::try_from(trailer_len)
            .map_err(|_| Error::invalid("vlmeta", "trailer larger than 4 GiB"))?
            .to_be_bytes(),
    );
    t.push(0xd8);
    t.push(0);
    t.extend_from_slice(fingerprint);
    Ok(t)
}

/// Serialises a frame from precomputed parts: `header` gives every field but
/// `header_len` and `frame_len` (computed); `chunks` is the chunks section
/// (empty for an sframe index file); `offsets` the raw index entries.
///
/// # Errors
/// `InvalidArgument` for too many / too long metalayer names or oversized parts.
pub fn write_frame(
    header: &FrameHeader,
    metalayers: &[(String, Vec<u8>)],
    chunks: &[u8],
    offsets: &[i64],
    vlmeta: &[(String, Vec<u8>)],
) -> Result<Vec<u8>> {
    let index = write_index(offsets)?;
    write_frame_parts(
        header,
        metalayers,
        chunks,
        &index,
        vlmeta,
        &[0; FINGERPRINT_LEN],
    )
}

#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
/// As [`write_frame`] with an already-compressed index and a trailer fingerprint.
pub(crate) fn write_frame_parts(
    header: &FrameHeader,
    metalayers: &[(String, Vec<u8>)],
    chunks: &[u8],
    index: &[u8],
    vlmeta: &[(String, Vec<u8>)],
    fingerprint: &[u8; FINGERPRINT_LEN],
) -> Result<Vec<u8>> {
    let mut h = header.clone();
    h.has_vlmeta = !vlmeta.is_empty();
    let mut out = write_header(&h, metalayers)?;
    let header_len = out.len();
    out.extend_from_slice(chunks);
    out.extend_from_slice(index);
    out.extend_from_slice(&write_trailer(vlmeta, fingerprint)?);
    h.header_len = header_len;
    h.frame_len = out.len() as u64;
    let fixed = fixed_header_bytes(&h);
    out[..METALAYERS_OFFSET].copy_from_slice(&fixed);
    Ok(out)
}
