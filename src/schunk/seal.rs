//! b2frame's integrity additions to contiguous frames, invisible to C-Blosc2:
//!
//! * a `b2frame.checksums` vlmeta entry: msgpack bin of one little-endian
//!   xxh3-64 per chunk (of its stored bytes; 0 for special offsets);
//! * the trailer's 16 fingerprint bytes (C writes and ignores zeros, fingerprint
//!   type 0): `seal` (u64 LE) then `record_pos` (u64 LE). The seal is an xxh3-64
//!   over the commit record, the offsets index, the checksums and the sizes: a
//!   writer that rewrites the trailer (C-Blosc2 does on every edit) zeroes it, so
//!   stale checksums of a frame edited elsewhere are ignored, never reported.
//! * for files written in place, a commit record: `b2frame\x01` + the 87 fixed
//!   header bytes of the commit, stored in the chunks section (as unreferenced
//!   bytes) at `record_pos`. It lets a reader rebuild a header torn by a crash.

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::chunk;
use crate::chunk::params::{CParams, DParams, Filter};
use crate::error::{Error, Part, Result};
use crate::frame::{
    self, trailer_len, write_frame_parts, write_index, ChunkOffset, Frame, FrameHeader,
    FINGERPRINT_LEN, METALAYERS_OFFSET,
};
use crate::msgpack::Value;

/// The vlmeta entry holding the per-chunk checksums.
pub(crate) const CHECKSUMS: &str = "b2frame.checksums";
/// Magic of a commit record.
pub(crate) const RECORD_MAGIC: &[u8; 8] = b"b2frame\x01";
/// Length of a commit record.
pub(crate) const RECORD_LEN: usize = 8 + METALAYERS_OFFSET;

/// Whether a vlmeta name is reserved for b2frame.
pub(crate) fn is_internal(name: &str) -> bool {
    name.starts_with("b2frame.")
}

/// The checksum of a chunk's stored bytes.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// The vlmeta chunk holding `sums` (memcpyed: checksums do not compress).
pub(crate) fn sums_chunk(sums: &[u64]) -> Result<Vec<u8>> {
    let raw: Vec<u8> = sums.iter().flat_map(|s| s.to_le_bytes()).collect();
    let cp = CParams::default()
        .with_clevel(0)
        .with_typesize(1)
        .with_filters([Filter::NoFilter]);
    chunk::compress(&cp, &Value::Bin(raw).encode())
}

/// Decodes a checksums vlmeta chunk.
fn parse_sums(c: &[u8]) -> Option<Vec<u64>> {
    let raw = chunk::decompress(c, &DParams::default()).ok()?;
    match Value::decode(&raw).ok()? {
        Value::Bin(b) if b.len() % 8 == 0 => Some(
            b.chunks_exact(8)
                .map(|x| u64::from_le_bytes(x.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        _ => None,
    }
}

/// The seal over one commit's parts.
pub(crate) fn seal(record: &[u8], index: &[u8], sums: &[u64], nbytes: u64, cbytes: u64) -> u64 {
    let mut h = Xxh3::new();
    h.update(b"b2frame seal v1");
    h.update(record);
    h.update(index);
    for s in sums {
        h.update(&s.to_le_bytes());
    }
    h.update(&nbytes.to_le_bytes());
    h.update(&cbytes.to_le_bytes());
    h.digest().max(1)
}

/// The fingerprint bytes for a seal and a record position.
pub(crate) fn fingerprint(seal: u64, record_pos: u64) -> [u8; FINGERPRINT_LEN] {
    let mut fp = [0u8; FINGERPRINT_LEN];
    fp[..8].copy_from_slice(&seal.to_le_bytes());
    fp[8..].copy_from_slice(&record_pos.to_le_bytes());
    fp
}

/// Splits a trailer's fingerprint into (seal, record_pos); `None` when unsealed.
pub(crate) fn read_fingerprint(trailer: &[u8]) -> Option<(u64, u64)> {
    let n = trailer.len();
    let kind = *trailer.get(n.checked_sub(FINGERPRINT_LEN + 1)?)?;
    let fp = trailer.get(n - FINGERPRINT_LEN..)?;
    let seal = u64::from_le_bytes(fp[..8].try_into().ok()?);
    let pos = u64::from_le_bytes(fp[8..].try_into().ok()?);
    (kind == 0 && seal != 0).then_some((seal, pos))
}

/// Removes b2frame's entries from `vlmeta`; returns the checksums chunk if any.
pub(crate) fn take_internal(vlmeta: &mut Vec<(String, Vec<u8>)>) -> Option<Vec<u8>> {
    let sums = vlmeta
        .iter()
        .find(|(n, _)| n == CHECKSUMS)
        .map(|(_, c)| c.clone());
    vlmeta.retain(|(n, _)| !is_internal(n));
    sums
}

/// Checks the seal of a frame's parts: `None` when the trailer is not (or no
/// longer) sealed by b2frame, else the checksums when the frame has them.
pub(crate) fn check_seal(
    fp: Option<(u64, u64)>,
    record: &[u8],
    index: &[u8],
    entry: Option<&[u8]>,
    nchunks: usize,
    h: &FrameHeader,
) -> Option<Option<Vec<u64>>> {
    let (stored, _) = fp?;
    let sums = match entry {
        Some(c) => parse_sums(c)?,
        None => Vec::new(),
    };
    if seal(record, index, &sums, h.nbytes, h.cbytes) != stored {
        return None;
    }
    Some((entry.is_some() && sums.len() == nchunks).then_some(sums))
}

/// Strips b2frame's vlmeta entries from a frame parsed from `buf` and returns its
/// checksums when the frame's seal is intact.
pub(crate) fn take_cframe_sums(buf: &[u8], frame: &mut Frame) -> Option<Vec<u64>> {
    let entry = take_internal(&mut frame.vlmeta);
    let h = &frame.header;
    let f = buf.get(..usize::try_from(h.frame_len).ok()?)?;
    let tpos = f.len().checked_sub(trailer_len(f).ok()?)?;
    let fp = read_fingerprint(f.get(tpos..)?);
    let record = match fp {
        Some((_, pos)) if pos != 0 => {
            let pos = usize::try_from(pos).ok()?;
            f.get(pos..pos.checked_add(RECORD_LEN)?)?
        }
        _ => &[],
    };
    let index = if h.nbytes > 0 {
        let start = h.header_len.checked_add(usize::try_from(h.cbytes).ok()?)?;
        f.get(start..tpos)?
    } else {
        &[]
    };
    check_seal(fp, record, index, entry.as_deref(), frame.nchunks(), h).flatten()
}

/// The error for a chunk that does not match its checksum.
fn mismatch(i: usize, pos: u64, detail: impl Into<String>) -> Error {
    Error::corrupt(
        Part::Checksum,
        usize::try_from(pos).unwrap_or(usize::MAX),
        format!("chunk {i}: {}", detail.into()),
    )
}

/// Checks chunk `i`'s bytes (read at `pos`) against `sum`.
pub(crate) fn verify_chunk(i: usize, bytes: &[u8], sum: u64, pos: u64) -> Result<()> {
    let found = hash(bytes);
    if found != sum {
        return Err(mismatch(
            i,
            pos,
            format!("xxh3-64 {found:#018x}, expected {sum:#018x}"),
        ));
    }
    Ok(())
}

/// The length a chunk's header claims, read without validating the chunk.
pub(crate) fn raw_cbytes(head: &[u8]) -> Option<usize> {
    let b = head.get(12..16)?;
    usize::try_from(i32::from_le_bytes(b.try_into().ok()?)).ok()
}

/// Verifies every stored chunk of a frame parsed from `buf` against `sums`.
pub(crate) fn verify_cframe(buf: &[u8], frame: &Frame, sums: &[u64]) -> Result<()> {
    let hl = frame.header.header_len;
    let end = usize::try_from(frame.header.cbytes)
        .unwrap_or(usize::MAX)
        .saturating_add(hl);
    for (i, (off, &sum)) in frame.offsets.iter().zip(sums).enumerate() {
        let ChunkOffset::Stored(off) = *off else {
            continue;
        };
        let start = usize::try_from(off)
            .unwrap_or(usize::MAX)
            .saturating_add(hl);
        let bytes = buf
            .get(start..end)
            .and_then(|rest| rest.get(..raw_cbytes(rest)?))
            .ok_or_else(|| mismatch(i, start as u64, "stored length runs past the chunks"))?;
        verify_chunk(i, bytes, sum, start as u64)?;
    }
    Ok(())
}

/// Serialises a contiguous frame with checksums and a seal (no commit record).
pub(crate) fn write_sealed_cframe(
    template: &FrameHeader,
    metalayers: &[(String, Vec<u8>)],
    chunks: &[&[u8]],
    vlmeta: &[(String, Vec<u8>)],
) -> Result<Vec<u8>> {
    let frame::cframe::Layout {
        header: h,
        offsets,
        section,
        stored,
    } = frame::cframe::layout(template, chunks)?;
    let mut sums = vec![0u64; chunks.len()];
    for (i, range) in stored {
        sums[i] = hash(&section[range]);
    }
    let index = write_index(&offsets)?;
    let mut vl = vlmeta.to_vec();
    vl.push((CHECKSUMS.to_owned(), sums_chunk(&sums)?));
    let fp = fingerprint(seal(&[], &index, &sums, h.nbytes, h.cbytes), 0);
    write_frame_parts(&h, metalayers, &section, &index, &vl, &fp)
}

/// Builds a commit record for a header.
pub(crate) fn record(h: &FrameHeader) -> Vec<u8> {
    let mut r = RECORD_MAGIC.to_vec();
    r.extend_from_slice(&frame::fixed_header_bytes(h));
    r
}
