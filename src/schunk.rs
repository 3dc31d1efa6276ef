//! The super-chunk ([`SChunk`]): an ordered list of chunks of `chunksize`
//! bytes (the last one may be shorter), fixed-length metalayers and
//! variable-length metadata, with item-range reads that decode only the chunks
//! and blocks they touch (spec §I). It serialises to contiguous frames and
//! sparse-frame directories ([`crate::frame`]).
//!
//! ```
//! use b2frame::{CParams, Codec, DParams, SChunk, Storage};
//! let cparams = CParams::default().with_codec(Codec::Zstd).with_typesize(4);
//! let mut sc = SChunk::with_storage(cparams, DParams::default(), &Storage::default().with_chunksize(4000))?;
//! let values: Vec<u8> = (0..2500u32).flat_map(|v| v.to_le_bytes()).collect();
//! sc.append(&values[..3000])?;
//! sc.append(&values[3000..])?; // completes the partial chunk, then appends more
//! assert_eq!((sc.nchunks(), sc.nitems()), (3, 2500));
//! assert_eq!(sc.read(1000..1002)?, values[4000..4008]);
//! let copy = SChunk::from_cframe(&sc.to_cframe()?)?;
//! assert_eq!(copy.read(0..2500)?, values);
//! # Ok::<(), b2frame::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::chunk::params::{CParams, Codec, DParams, Filter, SplitMode};
use crate::chunk::{self, ChunkHeader, MAX_BUFFERSIZE};
use crate::error::{Error, Part, Result};
use crate::frame::{cframe, sframe, ChunkOffset, Frame, FrameHeader, MAX_METALAYERS, MAX_NAME_LEN};

/// python-blosc2's default chunk size when no data is given (16 MiB).
pub const DEFAULT_CHUNKSIZE: usize = 1 << 24;

/// How a super-chunk is laid out: chunk size, frame kind and initial metalayers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Storage {
    /// Bytes per chunk (a multiple of the typesize); 0 picks [`DEFAULT_CHUNKSIZE`]
    /// rounded down to a multiple of the typesize.
    pub chunksize: usize,
    /// `false` makes [`SChunk::save`] write a sparse-frame directory.
    pub sparse: bool,
    /// Metalayers (name, raw msgpack bytes) added at creation, in order.
    pub meta: Vec<(String, Vec<u8>)>,
}

impl Storage {
    /// Sets the chunk size in bytes (0 = default).
    pub fn with_chunksize(mut self, bytes: usize) -> Self {
        self.chunksize = bytes;
        self
    }
    /// Chooses a sparse-frame directory (`true`) or a contiguous frame file (`false`, default) for [`SChunk::save`].
    pub fn with_sparse(mut self, sparse: bool) -> Self {
        self.sparse = sparse;
        self
    }
    /// Adds a metalayer to create the super-chunk with.
    pub fn with_meta(mut self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.meta.push((name.into(), content.into()));
        self
    }
}

/// An in-memory super-chunk.
#[derive(Clone)]
pub struct SChunk {
    cparams: CParams,
    dparams: DParams,
    chunksize: usize,
    sparse: bool,
    chunks: Vec<Vec<u8>>,
    /// Cumulative uncompressed sizes: `ends[i]` = bytes in chunks `0..=i`.
    ends: Vec<usize>,
    cbytes: usize,
    metalayers: Vec<(String, Vec<u8>)>,
    vlmeta: Vec<(String, Vec<u8>)>,
    /// The raw bytes of the last chunk while it is shorter than `chunksize`.
    tail: Option<Vec<u8>>,
    /// Informational header fields kept from an opened frame (blocksize, threads, …).
    template: FrameHeader,
}

impl fmt::Debug for SChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SChunk")
            .field("cparams", &self.cparams)
            .field("chunksize", &self.chunksize)
            .field("nchunks", &self.nchunks())
            .field("nbytes", &self.nbytes())
            .field("cbytes", &self.cbytes)
            .field(
                "metalayers",
                &self.metalayers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "vlmeta",
                &self.vlmeta.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn template_for(cp: &CParams, dp: &DParams) -> FrameHeader {
    FrameHeader {
        codec_id: cp.codec.id(),
        clevel: cp.clevel,
        splitmode: cp.splitmode.value(),
        typesize: cp.typesize,
        blocksize: i32::try_from(cp.blocksize).unwrap_or(0),
        nthreads_c: i16::try_from(cp.nthreads).unwrap_or(i16::MAX),
        nthreads_d: i16::try_from(dp.nthreads).unwrap_or(i16::MAX),
        filters: cp.filters.map(Filter::id),
        filters_meta: cp.filters_meta,
        ..FrameHeader::default()
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(
            "name",
            format!(
                "{name:?} has {} bytes, expected 1..={MAX_NAME_LEN}",
                name.len()
            ),
        ));
    }
    Ok(())
}

impl SChunk {
    /// An empty super-chunk with default [`Storage`].
    ///
    /// # Errors
    /// `InvalidArgument` for invalid compression parameters.
    pub fn new(cparams: CParams, dparams: DParams) -> Result<SChunk> {
        SChunk::with_storage(cparams, dparams, &Storage::default())
    }

    /// An empty super-chunk laid out as `storage` says.
    ///
    /// # Errors
    /// `InvalidArgument` for invalid compression parameters, a chunk size that is not a
    /// multiple of the typesize or above 2 GiB − 32, or invalid metalayers.
    pub fn with_storage(cparams: CParams, dparams: DParams, storage: &Storage) -> Result<SChunk> {
        cparams.validate()?;
        let ts = cparams.typesize;
        let chunksize = if storage.chunksize == 0 {
            (DEFAULT_CHUNKSIZE / ts * ts).max(ts)
        } else {
            storage.chunksize
        };
        if chunksize % ts != 0 || chunksize > MAX_BUFFERSIZE {
            return Err(Error::invalid(
                "chunksize",
                format!(
                    "{chunksize}, expected a multiple of the typesize {ts} up to {MAX_BUFFERSIZE}"
                ),
            ));
        }
        let mut sc = SChunk {
            template: template_for(&cparams, &dparams),
            cparams,
            dparams,
            chunksize,
            sparse: storage.sparse,
            chunks: Vec::new(),
            ends: Vec::new(),
            cbytes: 0,
            metalayers: Vec::new(),
            vlmeta: Vec::new(),
            tail: None,
        };
        for (name, content) in &storage.meta {
            sc.add_metalayer(name, content)?;
        }
        Ok(sc)
    }

    /// The compression parameters used for appended data.
    pub fn cparams(&self) -> &CParams {
        &self.cparams
    }

    /// The decompression parameters.
    pub fn dparams(&self) -> &DParams {
        &self.dparams
    }

    /// Number of chunks.
    pub fn nchunks(&self) -> usize {
        self.chunks.len()
    }

    /// Total uncompressed bytes.
    pub fn nbytes(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Total bytes of the stored chunks (special chunks count their 32-byte header).
    pub fn cbytes(&self) -> usize {
        self.cbytes
    }

    /// Item size in bytes.
    pub fn typesize(&self) -> usize {
        self.cparams.typesize
    }

    /// Bytes per chunk (all chunks but the last, for data appended with [`SChunk::append`]).
    pub fn chunksize(&self) -> usize {
        self.chunksize
    }

    /// Number of whole items (`nbytes / typesize`).
    pub fn nitems(&self) -> usize {
        self.nbytes() / self.typesize()
    }

    /// Whether [`SChunk::save`] writes a sparse-frame directory.
    pub fn is_sparse(&self) -> bool {
        self.sparse
    }

    fn push_chunk(&mut self, c: Vec<u8>, nbytes: usize) {
        self.cbytes += c.len();
        self.ends.push(self.nbytes() + nbytes);
        self.chunks.push(c);
    }

    fn pop_chunk(&mut self) {
        if let Some(c) = self.chunks.pop() {
            self.cbytes -= c.len();
            self.ends.pop();
        }
    }

    /// Appends `data` (a whole number of items), filling chunks of `chunksize` bytes.
    ///
    /// A trailing partial chunk is stored as the last chunk; a later append first
    /// completes it (re-encoding only that chunk).
    ///
    /// # Errors
    /// `InvalidArgument` when `data.len()` is not a multiple of the typesize; errors of
    /// [`chunk::compress`].
    pub fn append(&mut self, data: &[u8]) -> Result<()> {
        let ts = self.typesize();
        if !data.len().is_multiple_of(ts) {
            return Err(Error::invalid(
                "data",
                format!(
                    "{} bytes is not a multiple of the typesize {ts}",
                    data.len()
                ),
            ));
        }
        let mut rest = data;
        if rest.is_empty() {
            return Ok(());
        }
        let last_len = self.nchunks().checked_sub(1).map(|i| self.chunk_len(i));
        if let Some(last) = last_len.filter(|&n| n < self.chunksize && n % ts == 0) {
            let mut raw = match self.tail.take() {
                Some(t) if t.len() == last => t,
                _ => self.decompress_chunk(self.nchunks() - 1)?,
            };
            let take = (self.chunksize - raw.len()).min(rest.len());
            raw.extend_from_slice(&rest[..take]);
            let c = chunk::compress(&self.cparams, &raw)?;
            self.pop_chunk();
            self.push_chunk(c, raw.len());
            rest = &rest[take..];
            if raw.len() < self.chunksize {
                self.tail = Some(raw);
            }
        }
        while !rest.is_empty() {
            let n = self.chunksize.min(rest.len());
            let c = chunk::compress(&self.cparams, &rest[..n])?;
            self.push_chunk(c, n);
            if n < self.chunksize {
                self.tail = Some(rest[..n].to_vec());
            }
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Appends an already-compressed chunk (bytes past its `cbytes` are dropped).
    ///
    /// # Errors
    /// `Corrupt`/`Unsupported` when `chunk` is not a valid chunk, `InvalidArgument` when
    /// its size is not a whole number of items.
    pub fn append_chunk(&mut self, mut chunk: Vec<u8>) -> Result<()> {
        let h = ChunkHeader::parse(&chunk)?;
        let ts = self.typesize();
        if h.nbytes % ts != 0 {
            return Err(Error::invalid(
                "chunk",
                format!("{} bytes is not a multiple of the typesize {ts}", h.nbytes),
            ));
        }
        chunk.truncate(h.cbytes);
        self.tail = None;
        self.push_chunk(chunk, h.nbytes);
        Ok(())
    }

    fn chunk_len(&self, i: usize) -> usize {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.ends[i] - start
    }

    /// The compressed bytes of chunk `i` (special chunks are their 32-byte form).
    ///
    /// # Errors
    /// `InvalidArgument` for `i >= nchunks`.
    pub fn chunk(&self, i: usize) -> Result<Cow<'_, [u8]>> {
        self.chunks
            .get(i)
            .map(|c| Cow::Borrowed(c.as_slice()))
            .ok_or_else(|| {
                Error::invalid(
                    "chunk",
                    format!("{i}, the super-chunk has {} chunks", self.nchunks()),
                )
            })
    }

    /// Decompresses chunk `i`.
    ///
    /// # Errors
    /// `InvalidArgument` for `i >= nchunks`; decoding errors.
    pub fn decompress_chunk(&self, i: usize) -> Result<Vec<u8>> {
        chunk::decompress(&self.chunk(i)?, &self.dparams)
    }

    /// Decodes items `items` into `dst` (at least `items.len() * typesize` bytes), decoding
    /// only the chunks and blocks the range touches. Returns the number of bytes written.
    ///
    /// # Errors
    /// `InvalidArgument` for a range outside `0..nitems` or a short `dst`; decoding errors.
    pub fn read_into(&self, items: Range<usize>, dst: &mut [u8]) -> Result<usize> {
        let ts = self.typesize();
        if items.start > items.end || items.end > self.nitems() {
            return Err(Error::invalid(
                "items",
                format!(
                    "{}..{}, expected a range within 0..{}",
                    items.start,
                    items.end,
                    self.nitems()
                ),
            ));
        }
        let (bstart, bend) = (items.start * ts, items.end * ts);
        let len = bend - bstart;
        if dst.len() < len {
            return Err(Error::invalid(
                "dst",
                format!("{} bytes, the range holds {len}", dst.len()),
            ));
        }
        let mut i = self.ends.partition_point(|&e| e <= bstart);
        while i < self.nchunks() && bstart < bend {
            let cstart = if i == 0 { 0 } else { self.ends[i - 1] };
            if cstart >= bend {
                break;
            }
            let cend = self.ends[i];
            let (lo, hi) = (bstart.max(cstart) - cstart, bend.min(cend) - cstart);
            let out = &mut dst[cstart + lo - bstart..cstart + hi - bstart];
            let c = &self.chunks[i];
            let n = cend - cstart;
            if lo == 0 && hi == n {
                chunk::decompress_into(c, out, &self.dparams)?;
            } else {
                let cts = ChunkHeader::parse(c)?.typesize;
                if lo % cts == 0 && (hi % cts == 0 || hi == n) {
                    chunk::decompress_items_into(c, lo / cts..hi.div_ceil(cts), out)?;
                } else {
                    let all = chunk::decompress(c, &self.dparams)?;
                    let part = all.get(lo..hi).ok_or_else(|| {
                        Error::corrupt(
                            Part::FrameChunk,
                            0,
                            format!("chunk {i} shorter than indexed"),
                        )
                    })?;
                    out.copy_from_slice(part);
                }
            }
            i += 1;
        }
        Ok(len)
    }

    /// Decodes items `items` into a new vector (see [`SChunk::read_into`]).
    ///
    /// # Errors
    /// As [`SChunk::read_into`].
    pub fn read(&self, items: Range<usize>) -> Result<Vec<u8>> {
        let len = items
            .end
            .saturating_sub(items.start)
            .saturating_mul(self.typesize());
        if items.end > self.nitems() {
            return self.read_into(items, &mut []).map(|_| Vec::new());
        }
        let mut out = vec![0u8; len];
        self.read_into(items, &mut out)?;
        Ok(out)
    }

    /// The metalayers (name, raw msgpack bytes) in insertion order.
    pub fn metalayers(&self) -> &[(String, Vec<u8>)] {
        &self.metalayers
    }

    /// A metalayer's raw bytes.
    pub fn metalayer(&self, name: &str) -> Option<&[u8]> {
        self.metalayers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Adds a metalayer (raw bytes, usually msgpack). Only allowed while the super-chunk is empty.
    ///
    /// # Errors
    /// `InvalidArgument` when data was already appended, the name exists, is empty or
    /// longer than 31 bytes, or 16 metalayers exist.
    pub fn add_metalayer(&mut self, name: &str, content: &[u8]) -> Result<()> {
        check_name(name)?;
        if self.nchunks() > 0 {
            return Err(Error::invalid(
                "metalayer",
                "metalayers can only be added before any data",
            ));
        }
        if self.metalayer(name).is_some() {
            return Err(Error::invalid(
                "metalayer",
                format!("{name:?} already exists"),
            ));
        }
        if self.metalayers.len() >= MAX_METALAYERS {
            return Err(Error::invalid(
                "metalayer",
                format!("at most {MAX_METALAYERS} metalayers"),
            ));
        }
        self.metalayers.push((name.to_owned(), content.to_vec()));
        Ok(())
    }

    /// Replaces the content of an existing metalayer with content of the same length.
    ///
    /// # Errors
    /// `InvalidArgument` when the metalayer does not exist or the length differs.
    pub fn update_metalayer(&mut self, name: &str, content: &[u8]) -> Result<()> {
        let slot = self
            .metalayers
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| Error::invalid("metalayer", format!("{name:?} does not exist")))?;
        if slot.1.len() != content.len() {
            return Err(Error::invalid(
                "metalayer",
                format!(
                    "{} bytes, the existing content has {}",
                    content.len(),
                    slot.1.len()
                ),
            ));
        }
        slot.1.copy_from_slice(content);
        Ok(())
    }

    /// The names of the variable-length metalayers, in stored order.
    pub fn vlmeta_names(&self) -> Vec<&str> {
        self.vlmeta.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The compressed chunk stored for vlmetalayer `name`.
    pub fn vlmeta_chunk(&self, name: &str) -> Option<&[u8]> {
        self.vlmeta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The decompressed content (python-blosc2 stores msgpack) of vlmetalayer `name`.
    ///
    /// # Errors
    /// Decoding errors of the stored chunk.
    pub fn vlmeta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.vlmeta_chunk(name)
            .map(|c| chunk::decompress(c, &self.dparams))
            .transpose()
    }

    /// Sets vlmetalayer `name` to `content`, compressed as python-blosc2 does
    /// (zstd, clevel 5, typesize 1, SHUFFLE, AUTO split).
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or too long name, or a 17th entry (C-Blosc2 cannot write more).
    pub fn set_vlmeta(&mut self, name: &str, content: &[u8]) -> Result<()> {
        check_name(name)?;
        let cp = CParams::default()
            .with_codec(Codec::Zstd)
            .with_clevel(5)
            .with_typesize(1)
            .with_splitmode(SplitMode::Auto)
            .with_nthreads(self.cparams.nthreads);
        let c = chunk::compress(&cp, content)?;
        self.set_vlmeta_chunk(name, c)
    }

    /// Sets vlmetalayer `name` to an already-compressed chunk.
    ///
    /// # Errors
    /// As [`SChunk::set_vlmeta`], plus `Corrupt` when `chunk` is not a valid chunk.
    pub fn set_vlmeta_chunk(&mut self, name: &str, mut chunk: Vec<u8>) -> Result<()> {
        check_name(name)?;
        let h = ChunkHeader::parse(&chunk)?;
        chunk.truncate(h.cbytes);
        if let Some(slot) = self.vlmeta.iter_mut().find(|(n, _)| n == name) {
            slot.1 = chunk;
            return Ok(());
        }
        if self.vlmeta.len() >= MAX_METALAYERS {
            return Err(Error::invalid(
                "vlmeta",
                format!("at most {MAX_METALAYERS} entries"),
            ));
        }
        self.vlmeta.push((name.to_owned(), chunk));
        Ok(())
    }

    /// Removes vlmetalayer `name`; returns whether it existed.
    pub fn delete_vlmeta(&mut self, name: &str) -> bool {
        let before = self.vlmeta.len();
        self.vlmeta.retain(|(n, _)| n != name);
        before != self.vlmeta.len()
    }

    /// The header fields this super-chunk writes.
    fn frame_template(&self) -> FrameHeader {
        let mut t = self.template.clone();
        let fresh = template_for(&self.cparams, &self.dparams);
        t.codec_id = fresh.codec_id;
        t.clevel = fresh.clevel;
        t.splitmode = fresh.splitmode;
        t.typesize = fresh.typesize;
        t.filters = fresh.filters;
        t.filters_meta = fresh.filters_meta;
        let n = self.nchunks();
        let uniform = (0..n).all(|i| {
            let len = self.chunk_len(i);
            if i + 1 == n {
                len <= self.chunksize
            } else {
                len == self.chunksize
            }
        });
        t.chunksize = match (n, uniform) {
            (0, _) => -1,
            (_, true) => i32::try_from(self.chunksize).unwrap_or(0),
            (_, false) => 0,
        };
        t
    }

    fn chunk_refs(&self) -> Vec<&[u8]> {
        self.chunks.iter().map(Vec::as_slice).collect()
    }

    /// Serialises the super-chunk as a contiguous frame.
    ///
    /// # Errors
    /// `InvalidArgument` when the parts cannot be serialised (sizes beyond the format).
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        cframe::write(
            &self.frame_template(),
            &self.metalayers,
            &self.chunk_refs(),
            &self.vlmeta,
        )
    }

    /// Builds a super-chunk from a parsed frame and its chunk bytes.
    fn from_frame(frame: Frame, chunks: Vec<Vec<u8>>, sparse: bool) -> Result<SChunk> {
        let h = &frame.header;
        let cparams = h.cparams()?;
        let dparams = DParams::default();
        let ts = cparams.typesize;
        let chunksize = match usize::try_from(h.chunksize) {
            Ok(cs) if cs > 0 && cs % ts == 0 => cs,
            _ => (DEFAULT_CHUNKSIZE / ts * ts).max(ts),
        };
        let mut sc = SChunk {
            cparams,
            dparams,
            chunksize,
            sparse,
            chunks: Vec::with_capacity(chunks.len()),
            ends: Vec::with_capacity(chunks.len()),
            cbytes: 0,
            metalayers: frame.metalayers,
            vlmeta: frame.vlmeta,
            tail: None,
            template: frame.header,
        };
        for c in chunks {
            let n = ChunkHeader::parse(&c)?.nbytes;
            sc.push_chunk(c, n);
        }
        Ok(sc)
    }

    /// Opens a contiguous frame held in memory (the bytes are copied).
    ///
    /// # Errors
    /// `Corrupt`/`Unsupported` from [`cframe::parse`].
    pub fn from_cframe(bytes: &[u8]) -> Result<SChunk> {
        let frame = cframe::parse(bytes)?;
        let chunks = (0..frame.nchunks())
            .map(|i| cframe::chunk(bytes, &frame, i).map(Cow::into_owned))
            .collect::<Result<Vec<_>>>()?;
        SChunk::from_frame(frame, chunks, false)
    }

    /// Opens a contiguous frame file, or a sparse-frame directory.
    ///
    /// # Errors
    /// `Io` for file errors; `Corrupt`/`Unsupported` for invalid frames.
    pub fn open(path: impl AsRef<Path>) -> Result<SChunk> {
        let path = path.as_ref();
        if !path.is_dir() {
            return SChunk::from_cframe(&std::fs::read(path)?);
        }
        let index = std::fs::read(path.join(sframe::INDEX_FILE))?;
        let frame = sframe::parse(&index)?;
        let mut chunks = Vec::with_capacity(frame.nchunks());
        for (i, off) in frame.offsets.iter().enumerate() {
            chunks.push(match *off {
                ChunkOffset::Special(kind) => frame.special_chunk(i, kind)?,
                ChunkOffset::Stored(id) => {
                    let name = sframe::chunk_file_name(id);
                    let mut c = std::fs::read(path.join(&name))?;
                    let h = ChunkHeader::parse(&c).map_err(|e| match e {
                        Error::Corrupt {
                            part,
                            offset,
                            detail,
                        } => Error::corrupt(
                            Part::FrameChunk,
                            usize::try_from(offset).unwrap_or(0),
                            format!("{name}: {part}: {detail}"),
                        ),
                        other => other,
                    })?;
                    c.truncate(h.cbytes);
                    c
                }
            });
        }
        cframe::check_chunks(&frame, |i, _| {
            Ok(chunks
                .get(i)
                .map(|c| ChunkHeader::parse(c).map(|h| h.nbytes))
                .transpose()?
                .unwrap_or(0))
        })?;
        SChunk::from_frame(frame, chunks, true)
    }

    /// Writes the super-chunk to `path`: a contiguous frame file, or (for a sparse
    /// super-chunk, see [`Storage::sparse`]) a directory with `chunks.b2frame` and one
    /// file per stored chunk (stale `*.chunk` files there are removed).
    ///
    /// # Errors
    /// `Io` for file errors; serialisation errors as [`SChunk::to_cframe`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if !self.sparse {
            std::fs::write(path, self.to_cframe()?)?;
            return Ok(());
        }
        let refs = self.chunk_refs();
        let (index, files) = sframe::write(
            &self.frame_template(),
            &self.metalayers,
            &refs,
            &self.vlmeta,
        )?;
        std::fs::create_dir_all(path)?;
        for entry in std::fs::read_dir(path)? {
            let p = entry?.path();
            let stale = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.len() == 14
                    && n.ends_with(".chunk")
                    && n[..8].bytes().all(|b| b.is_ascii_hexdigit())
            });
            if stale {
                std::fs::remove_file(p)?;
            }
        }
        for (name, i) in files {
            std::fs::write(path.join(name), refs[i])?;
        }
        std::fs::write(path.join(sframe::INDEX_FILE), index)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::SpecialValue;

    fn cp(ts: usize) -> CParams {
        CParams::default()
            .with_codec(Codec::Zstd)
            .with_clevel(3)
            .with_typesize(ts)
            .with_filters([Filter::Shuffle])
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n as u32)
            .flat_map(|v| (v.wrapping_mul(2654435761) >> 20).to_le_bytes())
            .collect()
    }

    fn sc(ts: usize, chunksize: usize) -> SChunk {
        SChunk::with_storage(
            cp(ts),
            DParams::default(),
            &Storage::default().with_chunksize(chunksize),
        )
        .unwrap()
    }

    #[test]
    fn unaligned_appends_fill_chunks_and_keep_a_partial_tail() {
        let d = data(10_000);
        let mut s = sc(4, 4096);
        let mut at = 0;
        for step in [4usize, 1000, 7, 3000, 12345, 4, 0, 19640] {
            let end = (at + step * 4).min(d.len());
            s.append(&d[at..end]).unwrap();
            at = end;
            assert_eq!(s.nbytes(), at);
            for i in 0..s.nchunks().saturating_sub(1) {
                assert_eq!(s.decompress_chunk(i).unwrap().len(), 4096);
            }
        }
        assert_eq!(at, d.len());
        assert_eq!(s.nchunks(), 40_000usize.div_ceil(4096));
        assert_eq!(s.read(0..10_000).unwrap(), d);
        assert_eq!(s.read(1023..1025).unwrap(), d[4092..4100]);
        assert_eq!(s.read(5..5).unwrap(), Vec::<u8>::new());
        assert!(s.read(9_999..10_001).is_err());
        assert!(s.append(&[1, 2, 3]).is_err());
        let mut buf = vec![0u8; 8];
        assert!(s.read_into(0..3, &mut buf).is_err());
    }

    #[test]
    fn cframe_round_trip_keeps_everything() {
        let d = data(3000);
        let mut s = SChunk::with_storage(
            cp(4),
            DParams::default(),
            &Storage::default()
                .with_chunksize(4000)
                .with_meta("m1", vec![0x7b]),
        )
        .unwrap();
        s.append(&d[..4000]).unwrap();
        s.append(&vec![0u8; 4000]).unwrap();
        s.append(&d[8000..]).unwrap();
        s.set_vlmeta(
            "info",
            &[
                0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0xa4, b't', b'e', b'x', b't',
            ],
        )
        .unwrap();
        assert!(s.add_metalayer("late", &[1]).is_err());
        let f = s.to_cframe().unwrap();
        let parsed = cframe::parse(&f).unwrap();
        assert_eq!(parsed.offsets[1], ChunkOffset::Special(SpecialValue::Zeros));
        assert_eq!(parsed.header.chunksize, 4000);
        let t = SChunk::from_cframe(&f).unwrap();
        assert_eq!(t.nbytes(), 12_000);
        assert_eq!(t.read(0..3000).unwrap()[..4000], d[..4000]);
        assert_eq!(t.read(1000..2000).unwrap(), vec![0u8; 4000]);
        assert_eq!(t.metalayer("m1"), Some(&[0x7b][..]));
        assert_eq!(t.vlmeta("info").unwrap().unwrap().len(), 11);
        assert_eq!(t.to_cframe().unwrap(), f);
    }

    #[test]
    fn slice_reads_only_touched_chunks() {
        let d = data(4000);
        let mut s = sc(4, 4000);
        s.append(&d).unwrap();
        // Damage chunk 0's payload: reads that stay in chunks 1..4 must not notice.
        let c0 = &mut s.chunks[0];
        let n = c0.len();
        c0[40..n].fill(0xAB);
        assert_eq!(s.read(1000..3500).unwrap(), d[4000..14000]);
        assert!(s.read(999..1001).is_err() || s.read(999..1001).unwrap() != d[3996..4004]);
    }

    #[test]
    fn metalayer_and_vlmeta_rules() {
        let mut s = sc(1, 100);
        assert!(s.add_metalayer(&"x".repeat(32), &[]).is_err());
        s.add_metalayer("a", &[1, 2]).unwrap();
        assert!(s.add_metalayer("a", &[1]).is_err());
        assert!(s.update_metalayer("a", &[1]).is_err());
        s.update_metalayer("a", &[3, 4]).unwrap();
        for i in 0..16 {
            s.set_vlmeta(&format!("v{i}"), &[i as u8]).unwrap();
        }
        assert!(s.set_vlmeta("v16", &[0]).is_err());
        s.set_vlmeta("v3", &[9, 9]).unwrap();
        assert_eq!(s.vlmeta("v3").unwrap(), Some(vec![9, 9]));
        assert!(s.delete_vlmeta("v3"));
        assert_eq!(s.vlmeta("v3").unwrap(), None);
    }
}
