//! Sparse frames (sframe, spec §E.7): a directory holding `chunks.b2frame` (a
//! frame of type 1 with no chunks section, whose index holds chunk file ids)
//! and one `XXXXXXXX.chunk` file per stored chunk. I/O-free: callers read and
//! write the files.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use crate::error::{Error, Part, Result};
use crate::frame::{
    implied_nchunks, parse_index, parse_metalayers, parse_trailer, plan, trailer_len, write_frame,
    ChunkOffset, Frame, FrameHeader,
};

/// Name of the index file inside an sframe directory.
pub const INDEX_FILE: &str = "chunks.b2frame";

/// For each stored chunk: its file name and its index in the written chunk list.
pub type ChunkFiles = Vec<(String, usize)>;

/// The file name of chunk id `id` (8 upper-case hex digits plus `.chunk`).
pub fn chunk_file_name(id: u64) -> String {
    format!("{id:08X}.chunk")
}

/// Parses and validates `chunks.b2frame`. Chunk files are not read here: check
/// each with [`crate::chunk::ChunkHeader::parse`] when it is read (as
/// [`crate::SChunk::open`] does, together with the sizes against the header).
///
/// # Errors
/// `Corrupt` with part `FrameHeader`, `FrameTrailer` or `OffsetsIndex`.
pub fn parse(buf: &[u8]) -> Result<Frame> {
    let header = FrameHeader::parse(buf)?;
    if header.frame_type & 0x0f != 1 {
        return Err(Error::corrupt(
            Part::FrameHeader,
            26,
            format!(
                "frame type {}, expected 1 (sparse)",
                header.frame_type & 0x0f
            ),
        ));
    }
    let frame_len = usize::try_from(header.frame_len)
        .ok()
        .filter(|&l| l <= buf.len())
        .ok_or_else(|| {
            Error::corrupt(
                Part::FrameHeader,
                16,
                format!(
                    "frame_len {} but the file holds {} bytes",
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
    if tpos < hl {
        return Err(Error::corrupt(
            Part::FrameTrailer,
            tpos,
            format!("trailer starts inside the header ({hl} bytes)"),
        ));
    }
    let expected = implied_nchunks(&header);
    let index = f.get(hl..tpos).unwrap_or(&[]);
    let offsets = if index.is_empty() {
        if expected.is_some_and(|e| e > 0) {
            return Err(Error::corrupt(
                Part::OffsetsIndex,
                hl,
                "no offsets index but the header implies chunks",
            ));
        }
        Vec::new()
    } else {
        parse_index(index, hl, expected)?
    };
    for (i, o) in offsets.iter().enumerate() {
        if let ChunkOffset::Stored(id) = o {
            if *id > u64::from(u32::MAX) {
                return Err(Error::corrupt(
                    Part::OffsetsIndex,
                    hl,
                    format!("chunk {i} has file id {id}, expected at most 8 hex digits"),
                ));
            }
        }
    }
    let (trailer_version, vlmeta) = parse_trailer(f.get(tpos..).unwrap_or(&[]), tpos)?;
    Ok(Frame {
        header,
        metalayers,
        vlmeta,
        offsets,
        trailer_version,
    })
}

/// Serialises an sframe: returns the bytes of `chunks.b2frame` and, for each stored
/// chunk, its file name and its index in `chunks` (ids are allocated 0, 1, … in order).
///
/// # Errors
/// As [`crate::frame::cframe::write`].
pub fn write(
    template: &FrameHeader,
    metalayers: &[(String, Vec<u8>)],
    chunks: &[&[u8]],
    vlmeta: &[(String, Vec<u8>)],
) -> Result<(Vec<u8>, ChunkFiles)> {
    let mut h0 = template.clone();
    h0.frame_type = (template.frame_type & 0xf0) | 1;
    let (h, offsets, stored) = plan(&h0, chunks, |k, _| k as i64)?;
    let files = stored
        .into_iter()
        .enumerate()
        .map(|(k, i)| (chunk_file_name(k as u64), i))
        .collect();
    Ok((write_frame(&h, metalayers, &[], &offsets, vlmeta)?, files))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;
    use crate::chunk::SpecialValue;

    #[test]
    fn golden_sframe_index_parses_and_rebuilds() {
        let Ok(buf) = std::fs::read("/work/shared/golden/f02_sframe.b2frame/chunks.b2frame") else {
            return;
        };
        let f = parse(&buf).unwrap();
        assert_eq!(f.header.header_len, 124);
        assert_eq!(f.header.chunksize, 80000);
        assert_eq!(
            f.offsets,
            [
                ChunkOffset::Stored(0),
                ChunkOffset::Stored(3),
                ChunkOffset::Special(SpecialValue::Zeros),
                ChunkOffset::Stored(2)
            ]
        );
        assert_eq!(f.metalayer("kind"), Some(&b"\xabsframe-demo"[..]));
        assert_eq!(f.vlmeta.len(), 1);
        // The 32-byte index failed to compress in C too (memcpyed, flags 0x17).
        let raw: Vec<i64> = f.offsets.iter().map(|o| o.to_raw()).collect();
        let rebuilt = write_frame(&f.header, &f.metalayers, &[], &raw, &f.vlmeta).unwrap();
        assert_eq!(rebuilt, buf);
    }

    #[test]
    fn file_names_are_upper_hex() {
        assert_eq!(chunk_file_name(0), "00000000.chunk");
        assert_eq!(chunk_file_name(10), "0000000A.chunk");
    }
}
