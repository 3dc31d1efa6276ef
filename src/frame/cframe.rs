//! Contiguous frames (cframe): one buffer holding header, chunks, offsets index
//! and trailer (spec §E.1–E.5). [`parse`] validates untrusted bytes without
//! copying chunks; [`write()`] serialises chunks exactly as C-Blosc2 lays them out.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::borrow::Cow;

use crate::chunk::ChunkHeader;
use crate::error::{Error, Part, Result};
use crate::frame::{
    implied_nchunks, parse_index, parse_metalayers, parse_trailer, plan, trailer_len, write_frame,
    ChunkOffset, Frame, FrameHeader,
};

fn corrupt(part: Part, offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(part, offset, detail)
}

/// Re-labels a chunk-level `Corrupt` error as a frame chunk error at `pos`.
fn in_frame(i: usize, pos: usize) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::Corrupt {
            part,
            offset,
            detail,
        } => corrupt(
            Part::FrameChunk,
            pos.saturating_add(usize::try_from(offset).unwrap_or(0)),
            format!("chunk {i}: {part}: {detail}"),
        ),
        other => other,
    }
}

/// Parses and validates a contiguous frame held in `buf`.
///
/// Checks `frame_len` against the buffer (trailing bytes are ignored), the header and
/// its metalayers, the trailer and its vlmeta, the offsets index, that every stored
/// chunk lies inside the chunks section, and that chunk sizes agree with the header's
/// `nbytes` and `chunksize`.
///
/// # Errors
/// `Corrupt` with part `FrameHeader`, `FrameTrailer`, `OffsetsIndex` or `FrameChunk`;
/// `Unsupported` for newer formats or codecs b2frame lacks.
pub fn parse(buf: &[u8]) -> Result<Frame> {
    let frame = parse_structure(buf)?;
    check_stored_chunks(buf, &frame)?;
    Ok(frame)
}

/// Parses header, metalayers, offsets index and trailer without looking at the chunks.
pub(crate) fn parse_structure(buf: &[u8]) -> Result<Frame> {
    let header = FrameHeader::parse(buf)?;
    if header.frame_type & 0x0f != 0 {
        return Err(corrupt(
            Part::FrameHeader,
            26,
            format!(
                "frame type {}, expected 0 (contiguous)",
                header.frame_type & 0x0f
            ),
        ));
    }
    let frame_len = usize::try_from(header.frame_len)
        .ok()
        .filter(|&l| l <= buf.len())
        .ok_or_else(|| {
            corrupt(
                Part::FrameHeader,
                16,
                format!(
                    "frame_len {} but the buffer holds {} bytes",
                    header.frame_len,
                    buf.len()
                ),
            )
        })?;
    let f = buf.get(..frame_len).unwrap_or(buf);
    let hl = header.header_len;
    let metalayers = parse_metalayers(f.get(..hl).unwrap_or(f))?;
    let tl = trailer_len(f)?;
    let tpos = frame_len.saturating_sub(tl);
    let chunks_end = usize::try_from(header.cbytes)
        .ok()
        .and_then(|c| c.checked_add(hl))
        .filter(|&e| e <= tpos)
        .ok_or_else(|| {
            corrupt(
                Part::FrameHeader,
                39,
                format!(
                    "cbytes {} runs past the trailer at {tpos} (header_len {hl})",
                    header.cbytes
                ),
            )
        })?;
    let expected = implied_nchunks(&header);
    let index = f.get(chunks_end..tpos).unwrap_or(&[]);
    let offsets = if index.is_empty() {
        if expected.is_some_and(|e| e > 0) {
            return Err(corrupt(
                Part::OffsetsIndex,
                chunks_end,
                "no offsets index but the header implies chunks",
            ));
        }
        Vec::new()
    } else {
        parse_index(index, chunks_end, expected)?
    };
    let (trailer_version, vlmeta) = parse_trailer(f.get(tpos..).unwrap_or(&[]), tpos)?;
    Ok(Frame {
        header,
        metalayers,
        vlmeta,
        offsets,
        trailer_version,
    })
}

/// Checks that every stored chunk of `frame` (parsed from `buf`) lies inside the
/// chunks section and that sizes agree with the header.
pub(crate) fn check_stored_chunks(buf: &[u8], frame: &Frame) -> Result<()> {
    let hl = frame.header.header_len;
    let chunks_end = usize::try_from(frame.header.cbytes)
        .unwrap_or(usize::MAX)
        .saturating_add(hl);
    let section = buf.get(hl..chunks_end).unwrap_or(&[]);
    check_chunks(frame, |i, off| {
        let start = usize::try_from(off)
            .ok()
            .filter(|&o| o < section.len())
            .ok_or_else(|| {
                corrupt(
                    Part::OffsetsIndex,
                    chunks_end,
                    format!(
                        "chunk {i} at offset {off}, outside the chunks section of {} bytes",
                        section.len()
                    ),
                )
            })?;
        let pos = hl.saturating_add(start);
        let h =
            ChunkHeader::parse(section.get(start..).unwrap_or(&[])).map_err(in_frame(i, pos))?;
        Ok(h.nbytes)
    })
}

/// Checks that chunk sizes agree with the header; `stored(i, offset)` returns the
/// nbytes of a stored chunk after validating it.
pub(crate) fn check_chunks(
    frame: &Frame,
    mut stored: impl FnMut(usize, u64) -> Result<usize>,
) -> Result<()> {
    let h = &frame.header;
    let n = frame.nchunks();
    let mut total: u64 = 0;
    for (i, off) in frame.offsets.iter().enumerate() {
        let nbytes = match *off {
            ChunkOffset::Stored(o) => stored(i, o)?,
            ChunkOffset::Special(_) => h.implied_chunk_nbytes(i, n)?,
        };
        if h.chunksize > 0 {
            let cs = h.chunksize.unsigned_abs() as usize;
            let ok = if i.checked_add(1) == Some(n) {
                nbytes <= cs
            } else {
                nbytes == cs
            };
            if !ok {
                return Err(corrupt(
                    Part::FrameChunk,
                    0,
                    format!("chunk {i} holds {nbytes} bytes, the frame chunksize is {cs}"),
                ));
            }
        }
        total = total.saturating_add(nbytes as u64);
    }
    if total != h.nbytes {
        return Err(corrupt(
            Part::FrameHeader,
            30,
            format!("nbytes {}, but the chunks hold {total}", h.nbytes),
        ));
    }
    Ok(())
}

/// The bytes of chunk `i` of a frame parsed from `buf` by [`parse`]: borrowed for
/// stored chunks, synthesised (32 bytes) for special offsets.
///
/// # Errors
/// `InvalidArgument` for `i >= nchunks`; `Corrupt` if `buf` is not the parsed buffer.
pub fn chunk<'a>(buf: &'a [u8], frame: &Frame, i: usize) -> Result<Cow<'a, [u8]>> {
    let off = frame.offsets.get(i).ok_or_else(|| {
        Error::invalid(
            "chunk",
            format!("{i}, the frame has {} chunks", frame.nchunks()),
        )
    })?;
    match *off {
        ChunkOffset::Special(kind) => Ok(Cow::Owned(frame.special_chunk(i, kind)?)),
        ChunkOffset::Stored(o) => {
            let start = usize::try_from(o)
                .ok()
                .and_then(|o| o.checked_add(frame.header.header_len))
                .unwrap_or(usize::MAX);
            let rest = buf.get(start..).ok_or_else(|| {
                corrupt(
                    Part::OffsetsIndex,
                    0,
                    format!("chunk {i} at {start}, past the buffer"),
                )
            })?;
            let h = ChunkHeader::parse(rest).map_err(in_frame(i, start))?;
            Ok(Cow::Borrowed(rest.get(..h.cbytes).unwrap_or(rest)))
        }
    }
}

/// Serialises chunks, metalayers and vlmeta chunks into a contiguous frame.
///
/// `template` supplies typesize, chunksize (`-1`/`0`/fixed), codec, clevel, filters,
/// splitmode, blocksize and thread counts; sizes, flags and lengths are computed.
/// Chunks of zeros/NaNs/uninit become special offsets (spec §E.4) when C-Blosc2 can
/// read them back; the index is written as C writes it ([`crate::frame::write_index`]).
///
/// # Errors
/// `InvalidArgument` for invalid chunks, chunk sizes that contradict `chunksize`,
/// more than 16 metalayers or names longer than 31 bytes.
pub fn write(
    template: &FrameHeader,
    metalayers: &[(String, Vec<u8>)],
    chunks: &[&[u8]],
    vlmeta: &[(String, Vec<u8>)],
) -> Result<Vec<u8>> {
    let l = layout(template, chunks)?;
    write_frame(&l.header, metalayers, &l.section, &l.offsets, vlmeta)
}

/// A contiguous frame's parts before serialisation.
pub(crate) struct Layout {
    /// The header with sizes and flags filled in.
    pub(crate) header: FrameHeader,
    /// The raw index entries.
    pub(crate) offsets: Vec<i64>,
    /// The chunks section: the stored chunks back to back.
    pub(crate) section: Vec<u8>,
    /// For each stored chunk, its position in `chunks` and its bytes' range in `section`.
    pub(crate) stored: Vec<(usize, std::ops::Range<usize>)>,
}

/// Plans a contiguous frame of `chunks` (special ones become special offsets) and
/// lays the stored chunks out back to back (shared by [`write`] and the sealed writer).
pub(crate) fn layout(template: &FrameHeader, chunks: &[&[u8]]) -> Result<Layout> {
    let mut pos: u64 = 0;
    let mut h0 = template.clone();
    h0.frame_type = template.frame_type & 0xf0;
    let (header, offsets, stored_idx) = plan(&h0, chunks, |_, c| {
        let at = pos as i64;
        pos = pos.saturating_add(c.len() as u64);
        at
    })?;
    let mut section = Vec::with_capacity(usize::try_from(header.cbytes).unwrap_or(0));
    let mut stored = Vec::with_capacity(stored_idx.len());
    for i in stored_idx {
        if let Some(c) = chunks.get(i) {
            let ch = ChunkHeader::parse(c)?;
            let start = section.len();
            section.extend_from_slice(c.get(..ch.cbytes).unwrap_or(c));
            stored.push((i, start..section.len()));
        }
    }
    Ok(Layout {
        header,
        offsets,
        section,
        stored,
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use crate::chunk::params::{CParams, Codec, Filter};
    use crate::chunk::{self, SpecialValue};

    fn golden(name: &str) -> Option<Vec<u8>> {
        std::fs::read(format!("/work/shared/golden/{name}")).ok()
    }

    /// Rebuilds a golden frame from its parsed parts.
    fn rebuild(buf: &[u8]) -> Vec<u8> {
        let f = parse(buf).unwrap();
        let chunks: Vec<Cow<[u8]>> = (0..f.nchunks())
            .map(|i| chunk(buf, &f, i).unwrap())
            .collect();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_ref()).collect();
        write(&f.header, &f.metalayers, &refs, &f.vlmeta).unwrap()
    }

    #[test]
    fn empty_golden_frame_rebuilds_byte_for_byte() {
        let Some(buf) = golden("f07_empty.b2frame") else {
            return;
        };
        let f = parse(&buf).unwrap();
        assert_eq!(f.header.header_len, 97);
        assert_eq!(f.header.chunksize, -1);
        assert_eq!(f.header.typesize, 2);
        assert_eq!(f.header.clevel, 1);
        assert_eq!(f.nchunks(), 0);
        assert_eq!(rebuild(&buf), buf);
    }

    #[test]
    fn small_index_golden_frames_rebuild_byte_for_byte() {
        // f03 (3 chunks) and f06 (1 chunk) have memcpyed indexes: no codec needed.
        for name in [
            "f03_save_tensor_2d_f8.b2frame",
            "f06_pack_tensor_1d_i8.b2frame",
        ] {
            let Some(buf) = golden(name) else { return };
            assert_eq!(rebuild(&buf), buf, "{name}");
        }
    }

    #[test]
    fn golden_f01_structure() {
        let Some(buf) = golden("f01_cframe_meta_vlmeta.b2frame") else {
            return;
        };
        let f = parse(&buf).unwrap();
        assert_eq!(f.header.header_len, 133);
        assert_eq!(f.header.cbytes, 14835);
        assert_eq!(f.nchunks(), 5);
        assert_eq!(f.offsets[1], ChunkOffset::Special(SpecialValue::Zeros));
        assert_eq!(f.metalayer("m1"), Some(&[0x7b][..]));
        assert_eq!(f.metalayer("name"), Some(&b"\xa6golden"[..]));
        let names: Vec<&str> = f.vlmeta.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["info", "tup", "big"]);
        assert_eq!(rebuild(&buf), buf);
    }

    fn sample_chunks() -> Vec<Vec<u8>> {
        let cp = CParams::default()
            .with_codec(Codec::Zstd)
            .with_typesize(4)
            .with_filters([Filter::Shuffle]);
        let a: Vec<u8> = (0..1000u32).flat_map(|v| v.to_le_bytes()).collect();
        vec![
            chunk::compress(&cp, &a).unwrap(),
            chunk::special(SpecialValue::Zeros, 4000, 4, None).unwrap(),
            chunk::compress(&cp, &a[..400]).unwrap(),
        ]
    }

    #[test]
    fn write_then_parse_round_trips() {
        let chunks = sample_chunks();
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let mut t = FrameHeader {
            typesize: 4,
            chunksize: 4000,
            ..FrameHeader::default()
        };
        let meta = vec![("m".to_string(), vec![0x7b])];
        let vl = vec![("v".to_string(), chunks[2].clone())];
        let buf = write(&t, &meta, &refs, &vl).unwrap();
        let f = parse(&buf).unwrap();
        assert_eq!(f.header.nbytes, 4000 + 4000 + 400);
        assert_eq!(f.header.cbytes as usize, chunks[0].len() + chunks[2].len());
        assert_eq!(f.offsets[1], ChunkOffset::Special(SpecialValue::Zeros));
        assert_eq!(f.metalayers, meta);
        assert_eq!(f.vlmeta, vl);
        assert_eq!(chunk(&buf, &f, 2).unwrap().as_ref(), chunks[2].as_slice());
        assert_eq!(chunk(&buf, &f, 1).unwrap().as_ref(), chunks[1].as_slice());
        assert!(chunk(&buf, &f, 3).is_err());
        // Variable chunksize keeps the zero chunk stored.
        t.chunksize = 0;
        let buf = write(&t, &[], &refs, &[]).unwrap();
        let f = parse(&buf).unwrap();
        assert_eq!(f.header.general_flags, 0x53);
        assert!(matches!(f.offsets[1], ChunkOffset::Stored(_)));
        // Inconsistent chunksize is refused.
        t.chunksize = 400;
        assert!(write(&t, &[], &refs, &[]).is_err());
    }

    #[test]
    fn every_truncation_and_header_flip_is_an_error_or_valid() {
        let chunks = sample_chunks();
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let t = FrameHeader {
            typesize: 4,
            chunksize: 4000,
            ..FrameHeader::default()
        };
        let buf = write(
            &t,
            &[("m".into(), vec![1, 2])],
            &refs,
            &[("v".into(), chunks[2].clone())],
        )
        .unwrap();
        for cut in 0..buf.len() {
            assert!(parse(&buf[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..buf.len() {
            for x in [0x00u8, 0xff, 0x80, 0x01] {
                let mut b = buf.clone();
                b[i] ^= x;
                if let Ok(f) = parse(&b) {
                    for c in 0..f.nchunks() {
                        let _ =
                            chunk(&b, &f, c).map(|c| chunk::decompress(&c, &Default::default()));
                    }
                }
            }
        }
    }
}
