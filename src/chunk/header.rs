//! The chunk header: parsing and validation of untrusted bytes, and writing.
//!
//! Implements C-Blosc2's `README_CHUNK_FORMAT.rst` as corrected by our spec
//! digest (§A.2–A.5, A.10). Byte map of the 32-byte extended header (LE):
//!
//! ```text
//!  0      1        2      3         4..8    8..12      12..16  16..22   22        23          24..30        30      31
//! +------+--------+------+---------+-------+----------+-------+--------+---------+-----------+-------------+-------+-------+
//! |vers. |versionlz|flags|typesize |nbytes |blocksize |cbytes |filters |compcode |comp. meta |filters_meta |flags2 |bflags |
//! +------+--------+------+---------+-------+----------+-------+--------+---------+-----------+-------------+-------+-------+
//! ```
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use crate::chunk::params::{codec_id_name, Filter};
use crate::error::{Error, Part, Result};

/// Length of the extended (Blosc2) header.
pub const HEADER_LEN: usize = 32;
/// Length of the Blosc1 header.
pub const BLOSC1_HEADER_LEN: usize = 16;
/// Largest block size C-Blosc2 accepts.
pub const MAX_BLOCKSIZE: usize = 536_866_816;
/// Largest chunk payload (`INT32_MAX - 32`).
pub const MAX_BUFFERSIZE: usize = i32::MAX as usize - 32;

pub(crate) const FLAG_SHUFFLE: u8 = 0x01;
pub(crate) const FLAG_MEMCPYED: u8 = 0x02;
pub(crate) const FLAG_BITSHUFFLE: u8 = 0x04;
pub(crate) const FLAG_DELTA: u8 = 0x08;
pub(crate) const FLAG_DONT_SPLIT: u8 = 0x10;

/// A special chunk's value kind (blosc2_flags bits 4..6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecialValue {
    /// Every byte is zero.
    Zeros,
    /// Every item is a quiet NaN (typesize 4 or 8).
    Nan,
    /// One item, stored after the header, repeated.
    Value,
    /// Contents undefined; b2frame reads zeros.
    Uninit,
}

impl SpecialValue {
    /// The kind number stored in the header.
    pub(crate) fn kind(self) -> u8 {
        match self {
            SpecialValue::Zeros => 1,
            SpecialValue::Nan => 2,
            SpecialValue::Value => 3,
            SpecialValue::Uninit => 4,
        }
    }
}

/// A parsed, validated chunk header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkHeader {
    /// Format version (5 today, 6 for VL blocks, 1..4 legacy).
    pub version: u8,
    /// Codec format version.
    pub versionlz: u8,
    /// The raw flags byte.
    pub flags: u8,
    /// Item size as stored (1..=255).
    pub typesize: usize,
    /// Uncompressed size.
    pub nbytes: usize,
    /// Block size after the reader's clamp to `nbytes` (for VL-block chunks: the number of blocks).
    pub blocksize: usize,
    /// Total chunk size including the header.
    pub cbytes: usize,
    /// Filter ids per slot (for Blosc1 headers: derived from the flags).
    pub filters: [u8; 6],
    /// Codec id (derived from the format bits unless they say "see byte 0x16").
    pub codec_id: u8,
    /// Codec meta byte.
    pub compcode_meta: u8,
    /// Filter meta bytes.
    pub filters_meta: [u8; 6],
    /// `blosc2_flags2` (bit 0 = VL blocks).
    pub blosc2_flags2: u8,
    /// `blosc2_flags`.
    pub blosc2_flags: u8,
    /// Header length (16 or 32).
    pub header_len: usize,
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes(s.try_into().ok()?))
}

fn corrupt(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(Part::ChunkHeader, offset, detail)
}

impl ChunkHeader {
    /// Parses and validates the header at the start of `chunk`.
    ///
    /// Checks what C-Blosc2 checks and more: sizes are non-negative and
    /// consistent, `cbytes` fits in `chunk`, special chunks have the
    /// right length, codec and filter ids are known.
    ///
    /// # Errors
    /// `Corrupt` naming the field, or `Unsupported` for valid features b2frame lacks.
    pub fn parse(chunk: &[u8]) -> Result<ChunkHeader> {
        if chunk.len() < BLOSC1_HEADER_LEN {
            return Err(corrupt(
                0,
                format!(
                    "{} bytes, expected at least {BLOSC1_HEADER_LEN}",
                    chunk.len()
                ),
            ));
        }
        let byte = |i: usize| chunk.get(i).copied().unwrap_or(0);
        let version = byte(0);
        let versionlz = byte(1);
        let flags = byte(2);
        let typesize = byte(3) as usize;
        let nbytes = le_i32(chunk, 4).unwrap_or(-1);
        let blocksize = le_i32(chunk, 8).unwrap_or(-1);
        let cbytes = le_i32(chunk, 12).unwrap_or(-1);
        if version == 0 {
            return Err(corrupt(0, "version 0, expected 1..=6"));
        }
        if typesize == 0 {
            return Err(corrupt(3, "typesize 0, expected 1..=255"));
        }
        if nbytes < 0 {
            return Err(corrupt(4, format!("nbytes {nbytes}, expected >= 0")));
        }
        if cbytes < BLOSC1_HEADER_LEN as i32 {
            return Err(corrupt(12, format!("cbytes {cbytes}, expected >= 16")));
        }
        let (nbytes, cbytes) = (nbytes as usize, cbytes as usize);
        if nbytes > MAX_BUFFERSIZE {
            return Err(corrupt(
                4,
                format!("nbytes {nbytes}, expected <= {MAX_BUFFERSIZE}"),
            ));
        }
        if cbytes > chunk.len() {
            return Err(corrupt(
                12,
                format!("cbytes {cbytes} but only {} bytes available", chunk.len()),
            ));
        }
        let extended = flags & (FLAG_SHUFFLE | FLAG_BITSHUFFLE) == FLAG_SHUFFLE | FLAG_BITSHUFFLE;
        let mut h = ChunkHeader {
            version,
            versionlz,
            flags,
            typesize,
            nbytes,
            blocksize: 0,
            cbytes,
            filters: [0; 6],
            codec_id: 0,
            compcode_meta: 0,
            filters_meta: [0; 6],
            blosc2_flags2: 0,
            blosc2_flags: 0,
            header_len: BLOSC1_HEADER_LEN,
        };
        let format = flags >> 5;
        if extended {
            if cbytes < HEADER_LEN {
                return Err(corrupt(12, format!("cbytes {cbytes}, expected >= 32")));
            }
            h.header_len = HEADER_LEN;
            if let (Some(f), Some(m)) = (chunk.get(16..22), chunk.get(24..30)) {
                h.filters.copy_from_slice(f);
                h.filters_meta.copy_from_slice(m);
            }
            h.compcode_meta = byte(23);
            h.blosc2_flags2 = byte(30);
            h.blosc2_flags = byte(31);
            if version == 3 {
                // Blosc2 alpha: slot 5 is ignored.
                h.filters[5] = 0;
            }
            if h.blosc2_flags2 & !1 != 0 {
                return Err(corrupt(
                    30,
                    format!(
                        "blosc2_flags2 {:#04x}, only bit 0 is defined",
                        h.blosc2_flags2
                    ),
                ));
            }
            if h.blosc2_flags & 0x08 != 0 {
                return Err(corrupt(
                    31,
                    "lazy chunk flag set: lazy chunks never leave C-Blosc2's memory",
                ));
            }
            if h.blosc2_flags & 0x80 != 0 {
                return Err(Error::unsupported(
                    "chunk",
                    "codec instrumentation chunks (blosc2_flags bit 7)",
                ));
            }
            let special = (h.blosc2_flags >> 4) & 7;
            if special > 4 {
                return Err(corrupt(
                    31,
                    format!("special value kind {special}, expected 0..=4"),
                ));
            }
        } else {
            // Blosc1: filters implied by the flags.
            if flags & FLAG_SHUFFLE != 0 && typesize > 1 {
                h.filters[5] = Filter::Shuffle.id();
            }
            if flags & FLAG_BITSHUFFLE != 0 {
                h.filters[5] = Filter::BitShuffle.id();
            }
            if flags & FLAG_DELTA != 0 {
                h.filters[4] = Filter::Delta.id();
            }
        }
        h.codec_id = match format {
            0 => 0,
            1 => {
                // LZ4 and LZ4HC share the stream format; keep the writer's id when it says which.
                if extended && byte(22) == 2 {
                    2
                } else {
                    1
                }
            }
            3 => 4,
            4 => 5,
            6 if extended => byte(22),
            2 => return Err(Error::unsupported("codec", codec_id_name(3))),
            other => {
                return Err(corrupt(
                    2,
                    format!("codec format {other}, expected 0, 1, 3, 4 or 6"),
                ))
            }
        };
        let vl = h.is_vl_blocks();
        if vl {
            if version < 6 {
                return Err(corrupt(
                    0,
                    format!("VL-block flag with version {version}, expected 6"),
                ));
            }
            if h.is_memcpyed() || h.special().is_some() {
                return Err(corrupt(2, "VL-block chunk cannot be memcpyed or special"));
            }
        }
        if h.special().is_none() && !h.is_memcpyed() && nbytes > 0 {
            if blocksize <= 0 || blocksize as usize > MAX_BLOCKSIZE {
                return Err(corrupt(
                    8,
                    format!("blocksize {blocksize}, expected 1..={MAX_BLOCKSIZE}"),
                ));
            }
            h.blocksize = blocksize as usize;
            if !vl && h.blocksize > nbytes {
                h.blocksize = nbytes;
            }
        } else {
            h.blocksize = blocksize.max(0) as usize;
        }
        h.check_codec_and_filters()?;
        h.check_special_len()?;
        if h.is_memcpyed() && h.special().is_none() {
            let expected = nbytes.checked_add(h.header_len);
            if expected != Some(cbytes) {
                return Err(corrupt(
                    12,
                    format!(
                        "memcpyed chunk with cbytes {cbytes}, expected nbytes + header = {}",
                        nbytes.saturating_add(h.header_len)
                    ),
                ));
            }
        }
        Ok(h)
    }

    fn check_codec_and_filters(&self) -> Result<()> {
        if self.is_memcpyed() || self.special().is_some() {
            return Ok(());
        }
        if self.nbytes > 0 {
            crate::chunk::params::Codec::from_id(self.codec_id)?;
        }
        for (slot, id) in self.filters.iter().enumerate() {
            Filter::from_id(*id).map_err(|e| match e {
                Error::Unsupported { what, detail } => Error::Unsupported {
                    what,
                    detail: format!("{detail} in slot {slot}"),
                },
                other => other,
            })?;
        }
        Ok(())
    }

    fn check_special_len(&self) -> Result<()> {
        let Some(kind) = self.special() else {
            return Ok(());
        };
        match kind {
            SpecialValue::Value => {
                let vs = self.cbytes.saturating_sub(self.header_len);
                if vs == 0 || vs > self.nbytes && self.nbytes > 0 {
                    return Err(corrupt(
                        12,
                        format!("repeated-value chunk with value size {vs}, expected 1..=nbytes"),
                    ));
                }
                if self.nbytes.checked_rem(vs) != Some(0) {
                    return Err(corrupt(
                        4,
                        format!(
                            "nbytes {} is not a multiple of the value size {vs}",
                            self.nbytes
                        ),
                    ));
                }
            }
            SpecialValue::Nan => {
                if self.typesize != 4 && self.typesize != 8 {
                    return Err(corrupt(
                        3,
                        format!("NaN chunk with typesize {}, expected 4 or 8", self.typesize),
                    ));
                }
                if self.nbytes.checked_rem(self.typesize) != Some(0) {
                    return Err(corrupt(
                        4,
                        format!(
                            "NaN chunk nbytes {} not a multiple of typesize {}",
                            self.nbytes, self.typesize
                        ),
                    ));
                }
            }
            SpecialValue::Zeros | SpecialValue::Uninit => {}
        }
        Ok(())
    }

    /// Whether the payload is the raw data right after the header.
    pub fn is_memcpyed(&self) -> bool {
        self.flags & FLAG_MEMCPYED != 0
    }

    /// Whether each block is one stream (no split into `typesize` streams).
    pub fn dont_split(&self) -> bool {
        self.flags & FLAG_DONT_SPLIT != 0
    }

    /// Whether this is a variable-length-block chunk (version 6).
    pub fn is_vl_blocks(&self) -> bool {
        self.blosc2_flags2 & 1 != 0
    }

    /// Whether a dictionary follows the block-start table.
    pub fn has_dict(&self) -> bool {
        self.header_len == HEADER_LEN && self.blosc2_flags & 1 != 0
    }

    /// The special value kind, if this is a special chunk.
    pub fn special(&self) -> Option<SpecialValue> {
        if self.header_len != HEADER_LEN {
            return None;
        }
        match (self.blosc2_flags >> 4) & 7 {
            1 => Some(SpecialValue::Zeros),
            2 => Some(SpecialValue::Nan),
            3 => Some(SpecialValue::Value),
            4 => Some(SpecialValue::Uninit),
            _ => None,
        }
    }

    /// Number of blocks (0 for empty, special and memcpyed chunks).
    pub fn nblocks(&self) -> usize {
        if self.is_memcpyed() || self.special().is_some() || self.nbytes == 0 {
            return 0;
        }
        if self.is_vl_blocks() {
            return self.blocksize;
        }
        self.nbytes.div_ceil(self.blocksize.max(1))
    }

    /// Writes a 32-byte extended header.
    pub(crate) fn write(&self, out: &mut [u8; HEADER_LEN]) {
        out[0] = self.version;
        out[1] = self.versionlz;
        out[2] = self.flags;
        out[3] = self.typesize as u8;
        out[4..8].copy_from_slice(&(self.nbytes as i32).to_le_bytes());
        out[8..12].copy_from_slice(&(self.blocksize as i32).to_le_bytes());
        out[12..16].copy_from_slice(&(self.cbytes as i32).to_le_bytes());
        out[16..22].copy_from_slice(&self.filters);
        out[22] = self.codec_id;
        out[23] = self.compcode_meta;
        out[24..30].copy_from_slice(&self.filters_meta);
        out[30] = self.blosc2_flags2;
        out[31] = self.blosc2_flags;
    }
}
