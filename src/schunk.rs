//! The super-chunk ([`SChunk`]): an ordered list of chunks of `chunksize`
//! bytes (the last one may be shorter), fixed-length metalayers and
//! variable-length metadata, with item-range reads that decode only the chunks
//! and blocks they touch, and item-level edits (spec §I). It serialises to
//! contiguous frames and sparse-frame directories ([`crate::frame`]), and can
//! live in a `.b2frame` file that is read and written in place
//! ([`SChunk::open_file`], [`SChunk::create_file`]).
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
//! sc.set_slice(1000..1001, &7u32.to_le_bytes())?; // re-encodes one block
//! assert_eq!(sc.read(1000..1001)?, 7u32.to_le_bytes());
//! let copy = SChunk::from_cframe(&sc.to_cframe()?)?;
//! assert_eq!(copy.read(0..2500)?, sc.read(0..2500)?);
//! # Ok::<(), b2frame::Error>(())
//! ```
//!
//! Appends that are not chunk-aligned are buffered: the partial last chunk is
//! kept uncompressed in memory and compressed once it is full, or on
//! [`SChunk::flush`], [`SChunk::to_cframe`], [`SChunk::save`] and any chunk-level
//! edit. Reads see buffered data.

mod disk;
mod edit;
mod mmap;
mod seal;
mod shared;

pub use disk::{Backend, FileBackend, OpenOptions};
pub use edit::Chunks;
pub use mmap::MmapBackend;
pub use shared::SharedBytes;

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
    /// Whether serialised contiguous frames carry b2frame's per-chunk checksums
    /// (a `b2frame.checksums` vlmeta entry, see [`SChunk::to_cframe`]). Off by
    /// default so that in-memory frames stay byte-identical to python-blosc2's;
    /// files made with [`SChunk::create_file`] carry them unless told otherwise.
    pub checksums: bool,
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
    /// Makes contiguous frames carry per-chunk checksums.
    pub fn with_checksums(mut self, on: bool) -> Self {
        self.checksums = on;
        self
    }
}

/// Where the bytes of one chunk are.
#[derive(Debug, Clone)]
enum Slot {
    /// In memory (for a file-backed super-chunk: not yet written).
    Mem(Vec<u8>),
    /// `len` bytes at absolute position `pos` of the backing file; `sum` is the
    /// expected xxh3-64 of those bytes (0 = unknown).
    Disk { pos: u64, len: usize, sum: u64 },
}

/// A super-chunk, in memory or backed by a contiguous frame file.
pub struct SChunk {
    cparams: CParams,
    dparams: DParams,
    chunksize: usize,
    sparse: bool,
    chunks: Vec<Slot>,
    /// Cumulative uncompressed sizes: `ends[i]` = bytes in chunks `0..=i`.
    ends: Vec<usize>,
    cbytes: usize,
    metalayers: Vec<(String, Vec<u8>)>,
    vlmeta: Vec<(String, Vec<u8>)>,
    /// Buffered raw bytes logically after the last chunk (shorter than `chunksize`).
    pending: Vec<u8>,
    /// Informational header fields kept from an opened frame (blocksize, threads, …).
    template: FrameHeader,
    /// Write per-chunk checksums into contiguous frames.
    checksums: bool,
    /// Verify checksums of chunks read from a file.
    verify: bool,
    /// The backing file, if any.
    disk: Option<disk::Disk>,
}

impl Clone for SChunk {
    /// Clones the super-chunk. A clone of a file-backed super-chunk keeps reading
    /// the same file but never writes to it: its edits stay in memory.
    fn clone(&self) -> Self {
        SChunk {
            cparams: self.cparams.clone(),
            dparams: self.dparams.clone(),
            chunksize: self.chunksize,
            sparse: self.sparse,
            chunks: self.chunks.clone(),
            ends: self.ends.clone(),
            cbytes: self.cbytes,
            metalayers: self.metalayers.clone(),
            vlmeta: self.vlmeta.clone(),
            pending: self.pending.clone(),
            template: self.template.clone(),
            checksums: self.checksums,
            verify: self.verify,
            disk: self.disk.as_ref().map(disk::Disk::read_only),
        }
    }
}

impl Drop for SChunk {
    /// Writes buffered data of a writable file-backed super-chunk (errors are
    /// ignored: call [`SChunk::flush`] to see them).
    fn drop(&mut self) {
        if self.disk.as_ref().is_some_and(|d| d.writable) && !self.pending.is_empty() {
            let _ = self.flush();
        }
    }
}

impl fmt::Debug for SChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SChunk")
            .field("cparams", &self.cparams)
            .field("chunksize", &self.chunksize)
            .field("nchunks", &self.nchunks())
            .field("nbytes", &self.nbytes())
            .field("cbytes", &self.cbytes)
            .field("buffered", &self.pending.len())
            .field("file", &self.disk.is_some())
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
    if seal::is_internal(name) {
        return Err(Error::invalid(
            "name",
            format!("{name:?}: names starting with \"b2frame.\" are reserved"),
        ));
    }
    Ok(())
}

/// Every chunk's bytes and uncompressed sizes.
type ChunkList<'a> = (Vec<Cow<'a, [u8]>>, Vec<usize>);

fn out_of_range(i: usize, n: usize) -> Error {
    Error::invalid("chunk", format!("{i}, the super-chunk has {n} chunks"))
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
            pending: Vec::new(),
            checksums: storage.checksums,
            verify: true,
            disk: None,
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

    /// Number of chunks (a buffered partial chunk counts as one).
    pub fn nchunks(&self) -> usize {
        self.chunks.len() + usize::from(!self.pending.is_empty())
    }

    /// Total uncompressed bytes (buffered data included).
    pub fn nbytes(&self) -> usize {
        self.stored_nbytes() + self.pending.len()
    }

    /// Total bytes of the stored chunks (special chunks count their 32-byte header;
    /// buffered data not yet compressed is not counted until [`SChunk::flush`]).
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

    /// Whether chunks read from a file are checked against stored checksums.
    pub fn verifies_checksums(&self) -> bool {
        self.verify
    }

    /// Turns checksum verification of chunks read from a file on or off.
    pub fn set_verify_checksums(&mut self, on: bool) {
        self.verify = on;
    }

    /// Uncompressed bytes in the stored (compressed) chunks.
    fn stored_nbytes(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    fn slot_len(slot: &Slot) -> usize {
        match slot {
            Slot::Mem(c) => c.len(),
            Slot::Disk { len, .. } => *len,
        }
    }

    fn push_slot(&mut self, slot: Slot, nbytes: usize) {
        self.cbytes += Self::slot_len(&slot);
        self.ends.push(self.stored_nbytes() + nbytes);
        self.chunks.push(slot);
    }

    fn pop_chunk(&mut self) {
        if let Some(c) = self.chunks.pop() {
            self.cbytes -= Self::slot_len(&c);
            self.ends.pop();
        }
    }

    fn check_items(&self, len: usize, what: &'static str) -> Result<()> {
        let ts = self.typesize();
        if !len.is_multiple_of(ts) {
            return Err(Error::invalid(
                what,
                format!("{len} bytes is not a multiple of the typesize {ts}"),
            ));
        }
        Ok(())
    }

    /// Appends `data` (a whole number of items), filling chunks of `chunksize` bytes.
    ///
    /// Data that does not fill a chunk is buffered uncompressed (see the module doc);
    /// a stored partial last chunk is decoded once and completed.
    ///
    /// # Errors
    /// `InvalidArgument` when `data.len()` is not a multiple of the typesize; errors of
    /// [`chunk::compress`]; `Io` for a file-backed super-chunk.
    pub fn append(&mut self, data: &[u8]) -> Result<()> {
        self.check_items(data.len(), "data")?;
        if data.is_empty() {
            return Ok(());
        }
        disk::check_writable(&self.disk)?;
        let cs = self.chunksize;
        let ts = self.typesize();
        if self.pending.is_empty() {
            if let Some(last) = self.chunks.len().checked_sub(1) {
                let n = self.chunk_len(last);
                if n < cs && n.is_multiple_of(ts) {
                    let raw = self.decompress_chunk(last)?;
                    self.pop_chunk();
                    self.pending = raw;
                }
            }
        }
        let before = self.chunks.len();
        let mut rest = data;
        if !self.pending.is_empty() {
            let take = (cs - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == cs {
                let c = chunk::compress(&self.cparams, &self.pending)?;
                self.pending.clear();
                self.push_slot(Slot::Mem(c), cs);
            }
        }
        while rest.len() >= cs {
            let c = chunk::compress(&self.cparams, &rest[..cs])?;
            self.push_slot(Slot::Mem(c), cs);
            rest = &rest[cs..];
        }
        self.pending.extend_from_slice(rest);
        if self.chunks.len() != before {
            self.commit()?;
        }
        Ok(())
    }

    /// Compresses buffered data into a (partial) last chunk and, for a file-backed
    /// super-chunk, writes everything not yet written.
    ///
    /// # Errors
    /// Compression errors; `Io` for file errors.
    pub fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            disk::check_writable(&self.disk)?;
            let c = chunk::compress(&self.cparams, &self.pending)?;
            let n = self.pending.len();
            self.pending.clear();
            self.push_slot(Slot::Mem(c), n);
        }
        self.commit()
    }

    /// Flushes buffered data into a chunk without writing to the file.
    fn settle(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let c = chunk::compress(&self.cparams, &self.pending)?;
            let n = self.pending.len();
            self.pending.clear();
            self.push_slot(Slot::Mem(c), n);
        }
        Ok(())
    }

    /// Appends an already-compressed chunk (bytes past its `cbytes` are dropped).
    /// Buffered data is first stored as a (partial) chunk of its own.
    ///
    /// # Errors
    /// `Corrupt`/`Unsupported` when `chunk` is not a valid chunk, `InvalidArgument` when
    /// its size is not a whole number of items.
    pub fn append_chunk(&mut self, chunk: Vec<u8>) -> Result<()> {
        let (chunk, nbytes) = self.checked_chunk(chunk)?;
        disk::check_writable(&self.disk)?;
        self.settle()?;
        self.push_slot(Slot::Mem(chunk), nbytes);
        self.commit()
    }

    /// Validates a caller-supplied chunk; returns it truncated to its cbytes and its nbytes.
    fn checked_chunk(&self, mut chunk: Vec<u8>) -> Result<(Vec<u8>, usize)> {
        let h = ChunkHeader::parse(&chunk)?;
        self.check_items(h.nbytes, "chunk")?;
        chunk.truncate(h.cbytes);
        Ok((chunk, h.nbytes))
    }

    fn chunk_start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.ends[i - 1]
        }
    }

    fn chunk_len(&self, i: usize) -> usize {
        self.ends[i] - self.chunk_start(i)
    }

    /// The compressed bytes of chunk `i` (special chunks are their 32-byte form).
    /// Borrowed for chunks in memory; read (and checksum-verified) for chunks in a
    /// file; compressed on the fly for buffered data.
    ///
    /// # Errors
    /// `InvalidArgument` for `i >= nchunks`; `Io`; `Corrupt` (`Part::Checksum`) when
    /// a chunk read from a file does not match its checksum.
    pub fn chunk(&self, i: usize) -> Result<Cow<'_, [u8]>> {
        if i < self.chunks.len() {
            return self.load(i);
        }
        if i == self.chunks.len() && !self.pending.is_empty() {
            return Ok(Cow::Owned(chunk::compress(&self.cparams, &self.pending)?));
        }
        Err(out_of_range(i, self.nchunks()))
    }

    /// The bytes of stored chunk `i`.
    fn load(&self, i: usize) -> Result<Cow<'_, [u8]>> {
        match self.chunks.get(i) {
            Some(Slot::Mem(c)) => Ok(Cow::Borrowed(c.as_slice())),
            Some(&Slot::Disk { pos, len, sum }) => {
                if let Some(c) = self.mapped_chunk(i, pos, len, sum)? {
                    return Ok(Cow::Borrowed(c));
                }
                let mut buf = Vec::new();
                let n = self.read_disk_chunk(i, pos, len, sum, &mut buf)?.len();
                buf.truncate(n);
                Ok(Cow::Owned(buf))
            }
            None => Err(out_of_range(i, self.nchunks())),
        }
    }

    /// Stored chunk `i` (at most `len` bytes at `pos`, checksum `sum`) borrowed from a
    /// memory-mapped file and verified when asked; `None` without a mapping.
    fn mapped_chunk(&self, i: usize, pos: u64, len: usize, sum: u64) -> Result<Option<&[u8]>> {
        let Some(d) = self.disk.as_ref() else {
            return Ok(None);
        };
        let checked = self.verify && sum != 0;
        // As for positioned reads: a damaged header of a checksummed chunk is a
        // checksum error.
        let mapped = d.mapped_chunk(pos, len).map_err(|e| match e {
            Error::Corrupt { detail, .. } if checked => Error::corrupt(
                Part::Checksum,
                usize::try_from(pos).unwrap_or(usize::MAX),
                format!("chunk {i}: {detail}"),
            ),
            other => other,
        })?;
        let Some(c) = mapped else {
            return Ok(None);
        };
        if checked {
            seal::verify_chunk(i, c, sum, pos)?;
        }
        Ok(Some(c))
    }

    /// Reads stored chunk `i` (`len` bytes at `pos` of the file, checksum `sum`) into
    /// `buf`, verifying the checksum when asked; returns the chunk's bytes.
    fn read_disk_chunk<'b>(
        &self,
        i: usize,
        pos: u64,
        len: usize,
        sum: u64,
        buf: &'b mut Vec<u8>,
    ) -> Result<&'b [u8]> {
        let d = self.disk.as_ref().ok_or_else(|| {
            Error::invalid("chunk", format!("{i} is on disk but no file is attached"))
        })?;
        let checked = self.verify && sum != 0;
        let n = d.read_into(pos, len, buf).map_err(|e| match e {
            Error::Corrupt { detail, .. } if checked => Error::corrupt(
                Part::Checksum,
                usize::try_from(pos).unwrap_or(usize::MAX),
                format!("chunk {i}: {detail}"),
            ),
            other => other,
        })?;
        let bytes = &buf[..n];
        if checked {
            seal::verify_chunk(i, bytes, sum, pos)?;
        }
        Ok(bytes)
    }

    /// Decompresses chunk `i`.
    ///
    /// # Errors
    /// `InvalidArgument` for `i >= nchunks`; decoding errors.
    pub fn decompress_chunk(&self, i: usize) -> Result<Vec<u8>> {
        if i == self.chunks.len() && !self.pending.is_empty() {
            return Ok(self.pending.clone());
        }
        let c = self.load(i)?;
        let out = chunk::decompress(&c, &self.dparams)?;
        self.check_chunk_nbytes(i, out.len())?;
        Ok(out)
    }

    fn check_chunk_nbytes(&self, i: usize, n: usize) -> Result<()> {
        if n != self.chunk_len(i) {
            return Err(Error::corrupt(
                Part::FrameChunk,
                0,
                format!(
                    "chunk {i} holds {n} bytes, the index implies {}",
                    self.chunk_len(i)
                ),
            ));
        }
        Ok(())
    }

    /// Decodes bytes `lo..hi` of stored chunk `i` into `out`.
    fn read_chunk_range(
        &self,
        i: usize,
        lo: usize,
        hi: usize,
        out: &mut [u8],
        dparams: &DParams,
    ) -> Result<()> {
        let n = self.chunk_len(i);
        if let Some(&Slot::Disk { pos, len, sum }) = self.chunks.get(i) {
            if let Some(c) = self.mapped_chunk(i, pos, len, sum)? {
                // Decoded in place: only the pages of the touched blocks are read.
                return self.decode_range(i, c, lo, hi, out, dparams);
            }
            let verified = self.verify && sum != 0;
            let whole = lo == 0 && hi == n;
            if !verified {
                if let Some(d) = self.disk.as_ref() {
                    // Big whole chunks: block groups read and decoded in turn, so the
                    // compressed chunk is never held in memory at once.
                    let done = if whole {
                        n >= disk::STREAMED_CHUNK_MIN
                            && d.read_whole_by_blocks(pos, len, n, out, dparams.nthreads)?
                    } else {
                        d.read_range(pos, len, n, lo..hi, out)?
                    };
                    if done {
                        return Ok(());
                    }
                }
            }
            return disk::with_chunk_buf(|buf| {
                let c = self.read_disk_chunk(i, pos, len, sum, buf)?;
                self.decode_range(i, c, lo, hi, out, dparams)
            });
        }
        let c = self.load(i)?;
        self.decode_range(i, &c, lo, hi, out, dparams)
    }

    fn decode_range(
        &self,
        i: usize,
        c: &[u8],
        lo: usize,
        hi: usize,
        out: &mut [u8],
        dparams: &DParams,
    ) -> Result<()> {
        let h = ChunkHeader::parse(c)?;
        let n = self.chunk_len(i);
        if h.nbytes != n {
            return self.check_chunk_nbytes(i, h.nbytes);
        }
        if lo == 0 && hi == n {
            chunk::decompress_into(c, out, dparams)?;
            return Ok(());
        }
        // The whole items of the chunk's typesize that hold the range.
        let cts = h.typesize;
        let items = lo / cts..hi.div_ceil(cts);
        let wide = items.start * cts..(items.end * cts).min(n);
        if wide == (lo..hi) {
            chunk::decompress_items_into(c, items, out)?;
        } else {
            let mut buf = vec![0u8; wide.len()];
            chunk::decompress_items_into(c, items, &mut buf)?;
            out.copy_from_slice(&buf[lo - wide.start..hi - wide.start]);
        }
        Ok(())
    }

    fn check_range(&self, items: &Range<usize>) -> Result<()> {
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
        Ok(())
    }

    /// Decodes items `items` into `dst` (at least `items.len() * typesize` bytes), decoding
    /// only the chunks and blocks the range touches. Returns the number of bytes written.
    ///
    /// # Errors
    /// `InvalidArgument` for a range outside `0..nitems` or a short `dst`; decoding errors.
    pub fn read_into(&self, items: Range<usize>, dst: &mut [u8]) -> Result<usize> {
        self.read_into_with(items, dst, &self.dparams)
    }

    /// [`SChunk::read_into`] decoding with `dparams` (e.g. more threads) instead of
    /// the super-chunk's own.
    ///
    /// # Errors
    /// As [`SChunk::read_into`].
    pub fn read_into_with(
        &self,
        items: Range<usize>,
        dst: &mut [u8],
        dparams: &DParams,
    ) -> Result<usize> {
        let ts = self.typesize();
        self.check_range(&items)?;
        let (bstart, bend) = (items.start * ts, items.end * ts);
        let len = bend - bstart;
        if dst.len() < len {
            return Err(Error::invalid(
                "dst",
                format!("{} bytes, the range holds {len}", dst.len()),
            ));
        }
        let mut i = self.ends.partition_point(|&e| e <= bstart);
        while i < self.chunks.len() && bstart < bend {
            let cstart = self.chunk_start(i);
            if cstart >= bend {
                break;
            }
            let cend = self.ends[i];
            let (lo, hi) = (bstart.max(cstart) - cstart, bend.min(cend) - cstart);
            let out = &mut dst[cstart + lo - bstart..cstart + hi - bstart];
            self.read_chunk_range(i, lo, hi, out, dparams)?;
            i += 1;
        }
        let sn = self.stored_nbytes();
        if bend > sn {
            let from = bstart.max(sn);
            dst[from - bstart..len].copy_from_slice(&self.pending[from - sn..bend - sn]);
        }
        Ok(len)
    }

    /// Decodes items `items` into a new vector (see [`SChunk::read_into`]).
    ///
    /// # Errors
    /// As [`SChunk::read_into`].
    pub fn read(&self, items: Range<usize>) -> Result<Vec<u8>> {
        self.check_range(&items)?;
        let mut out = vec![0u8; (items.end - items.start) * self.typesize()];
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
        disk::check_writable(&self.disk)?;
        self.metalayers.push((name.to_owned(), content.to_vec()));
        self.commit()
    }

    /// Replaces the content of an existing metalayer with content of the same length.
    /// In a file the header bytes are rewritten in place (one write).
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
        if let Some(d) = self.disk.as_mut().filter(|d| d.writable) {
            d.rewrite_metalayers(&self.metalayers)?;
        }
        Ok(())
    }

    /// The names of the variable-length metalayers, in stored order (b2frame's own
    /// `b2frame.*` entries are not listed).
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
    /// `InvalidArgument` for an empty, too long or reserved (`b2frame.*`) name, or a
    /// 17th entry (C-Blosc2 cannot write more).
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
        let reserved = usize::from(self.writes_seal());
        if let Some(slot) = self.vlmeta.iter_mut().find(|(n, _)| n == name) {
            slot.1 = chunk;
        } else {
            if self.vlmeta.len() + reserved >= MAX_METALAYERS {
                return Err(Error::invalid(
                    "vlmeta",
                    format!("at most {} entries", MAX_METALAYERS - reserved),
                ));
            }
            self.vlmeta.push((name.to_owned(), chunk));
        }
        self.commit()
    }

    /// Removes vlmetalayer `name`; returns whether it existed.
    pub fn delete_vlmeta(&mut self, name: &str) -> bool {
        let before = self.vlmeta.len();
        self.vlmeta.retain(|(n, _)| n != name);
        let removed = before != self.vlmeta.len();
        if removed {
            // A failed write leaves the file as it was; the removal is kept in memory
            // and written by the next successful commit.
            let _ = self.commit();
        }
        removed
    }

    /// Whether serialised frames carry the checksum entry.
    fn writes_seal(&self) -> bool {
        self.checksums
    }

    /// The frame `chunksize` field for chunks of `lens` bytes.
    fn layout_chunksize(&self, lens: &[usize]) -> i32 {
        let n = lens.len();
        let uniform = lens.iter().enumerate().all(|(i, &len)| {
            if i + 1 == n {
                len <= self.chunksize
            } else {
                len == self.chunksize
            }
        });
        match (n, uniform) {
            (0, _) => -1,
            (_, true) => i32::try_from(self.chunksize).unwrap_or(0),
            (_, false) => 0,
        }
    }

    /// The header fields this super-chunk writes for chunks of `lens` bytes.
    fn frame_template(&self, lens: &[usize]) -> FrameHeader {
        let mut t = self.template.clone();
        let fresh = template_for(&self.cparams, &self.dparams);
        t.codec_id = fresh.codec_id;
        t.clevel = fresh.clevel;
        t.splitmode = fresh.splitmode;
        t.typesize = fresh.typesize;
        t.filters = fresh.filters;
        t.filters_meta = fresh.filters_meta;
        t.chunksize = self.layout_chunksize(lens);
        t
    }

    /// Every chunk's bytes (stored ones loaded, buffered data compressed) and sizes.
    fn all_chunks(&self) -> Result<ChunkList<'_>> {
        let mut chunks = Vec::with_capacity(self.nchunks());
        let mut lens = Vec::with_capacity(self.nchunks());
        for i in 0..self.nchunks() {
            chunks.push(self.chunk(i)?);
            lens.push(if i < self.chunks.len() {
                self.chunk_len(i)
            } else {
                self.pending.len()
            });
        }
        Ok((chunks, lens))
    }

    /// Serialises the super-chunk as a contiguous frame (buffered data included).
    ///
    /// With checksums on ([`Storage::checksums`]) the frame gets a
    /// `b2frame.checksums` vlmeta entry (msgpack bin of one little-endian xxh3-64 per
    /// chunk, 0 for special chunks) and a seal in the trailer fingerprint bytes
    /// (which C-Blosc2 ignores and zeroes when it rewrites the trailer, so that a
    /// frame edited by another writer is read without the stale checksums).
    ///
    /// # Errors
    /// `InvalidArgument` when the parts cannot be serialised (sizes beyond the format).
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        let (chunks, lens) = self.all_chunks()?;
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_ref()).collect();
        let t = self.frame_template(&lens);
        if !self.writes_seal() {
            return cframe::write(&t, &self.metalayers, &refs, &self.vlmeta);
        }
        seal::write_sealed_cframe(&t, &self.metalayers, &refs, &self.vlmeta)
    }

    /// Builds a super-chunk from a parsed frame and its chunk bytes.
    fn from_frame(frame: Frame, chunks: Vec<Vec<u8>>, sparse: bool) -> Result<SChunk> {
        let mut sc = SChunk::from_header(frame.header, frame.metalayers, frame.vlmeta, sparse)?;
        for c in chunks {
            let n = ChunkHeader::parse(&c)?.nbytes;
            sc.push_slot(Slot::Mem(c), n);
        }
        Ok(sc)
    }

    /// An empty super-chunk with the parameters of a frame header.
    fn from_header(
        h: FrameHeader,
        metalayers: Vec<(String, Vec<u8>)>,
        vlmeta: Vec<(String, Vec<u8>)>,
        sparse: bool,
    ) -> Result<SChunk> {
        let cparams = h.cparams()?;
        let ts = cparams.typesize;
        let chunksize = match usize::try_from(h.chunksize) {
            Ok(cs) if cs > 0 && cs % ts == 0 => cs,
            _ => (DEFAULT_CHUNKSIZE / ts * ts).max(ts),
        };
        Ok(SChunk {
            cparams,
            dparams: DParams::default(),
            chunksize,
            sparse,
            chunks: Vec::new(),
            ends: Vec::new(),
            cbytes: 0,
            metalayers,
            vlmeta,
            pending: Vec::new(),
            template: h,
            checksums: false,
            verify: true,
            disk: None,
        })
    }

    /// Opens a contiguous frame held in memory (the bytes are copied), verifying
    /// b2frame checksums when the frame has them.
    ///
    /// # Errors
    /// `Corrupt`/`Unsupported` from [`cframe::parse`]; `Corrupt` with
    /// `Part::Checksum` when a chunk does not match its checksum.
    pub fn from_cframe(bytes: &[u8]) -> Result<SChunk> {
        SChunk::from_cframe_with(bytes, &OpenOptions::default())
    }

    /// As [`SChunk::from_cframe`], with [`OpenOptions::verify_checksums`] honoured.
    ///
    /// # Errors
    /// As [`SChunk::from_cframe`].
    pub fn from_cframe_with(bytes: &[u8], options: &OpenOptions) -> Result<SChunk> {
        let mut frame = cframe::parse_structure(bytes)?;
        let sums = seal::take_cframe_sums(bytes, &mut frame);
        if let (Some(sums), true) = (&sums, options.verify_checksums) {
            seal::verify_cframe(bytes, &frame, sums)?;
        }
        cframe::check_stored_chunks(bytes, &frame)?;
        let chunks = (0..frame.nchunks())
            .map(|i| cframe::chunk(bytes, &frame, i).map(Cow::into_owned))
            .collect::<Result<Vec<_>>>()?;
        let mut sc = SChunk::from_frame(frame, chunks, false)?;
        sc.checksums = sums.is_some();
        sc.verify = options.verify_checksums;
        Ok(sc)
    }

    /// Opens a contiguous frame file (read whole into memory), or a sparse-frame directory.
    /// See [`SChunk::open_file`] to read a file without loading it.
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
        let (chunks, lens) = self.all_chunks()?;
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_ref()).collect();
        let (index, files) = sframe::write(
            &self.frame_template(&lens),
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
        // The tail is buffered, then flushed as a partial chunk.
        assert_eq!(s.chunks.len(), 9);
        assert_eq!(s.pending.len(), 40_000 - 9 * 4096);
        s.flush().unwrap();
        assert_eq!((s.chunks.len(), s.pending.len()), (10, 0));
        assert_eq!(s.read(0..10_000).unwrap(), d);
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
        assert!(s.set_vlmeta("b2frame.x", &[1]).is_err());
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
    fn checksummed_frames_detect_every_flipped_chunk_byte() {
        let d = data(3000);
        let mut s = SChunk::with_storage(
            cp(4),
            DParams::default(),
            &Storage::default().with_chunksize(4000).with_checksums(true),
        )
        .unwrap();
        s.append(&d).unwrap();
        s.set_vlmeta("v", &[1, 2, 3]).unwrap();
        let f = s.to_cframe().unwrap();
        let t = SChunk::from_cframe(&f).unwrap();
        assert_eq!(t.read(0..3000).unwrap(), d);
        assert_eq!(t.vlmeta_names(), ["v"]);
        assert_eq!(t.to_cframe().unwrap(), f);
        let parsed = cframe::parse(&f).unwrap();
        let hl = parsed.header.header_len;
        for at in hl..hl + parsed.header.cbytes as usize {
            let mut b = f.clone();
            b[at] ^= 0x20;
            match SChunk::from_cframe(&b) {
                Err(Error::Corrupt { part, .. }) => assert_eq!(part, Part::Checksum, "{at}"),
                other => panic!("flip at {at}: {other:?}"),
            }
            let opts = OpenOptions::default().with_verify_checksums(false);
            if let Ok(s) = SChunk::from_cframe_with(&b, &opts) {
                let _ = s.read(0..s.nitems());
            }
        }
    }

    #[test]
    fn slice_reads_only_touched_chunks() {
        let d = data(4000);
        let mut s = sc(4, 4000);
        s.append(&d).unwrap();
        // Damage chunk 0's payload: reads that stay in chunks 1..4 must not notice.
        let Slot::Mem(c0) = &mut s.chunks[0] else {
            panic!("in memory")
        };
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

    #[test]
    fn file_range_reads_equal_memory_reads() {
        // 3 MB of a random walk in 1 MB chunks of 64 KiB blocks: ranges inside a
        // block, across blocks and across chunks, read from the file (partial
        // block fetch without checksums, whole verified chunks with them).
        let mut x = 1u64;
        let d: Vec<u8> = (0..375_000u64)
            .flat_map(|i| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (1_000_000 + i / 3 + (x >> 60)).to_le_bytes()
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for (k, filters) in [
            vec![Filter::Shuffle],
            vec![Filter::BitShuffle],
            vec![Filter::Delta, Filter::Shuffle],
            vec![Filter::Shuffle, Filter::ByteDelta],
        ]
        .into_iter()
        .enumerate()
        {
            for codec in [Codec::Lz4, Codec::Zstd, Codec::BloscLz] {
                let cp = CParams::default()
                    .with_codec(codec)
                    .with_clevel(5)
                    .with_typesize(8)
                    .with_filters(filters.clone())
                    .with_blocksize(64 * 1024);
                for checksums in [false, true] {
                    let storage = Storage::default()
                        .with_chunksize(1 << 20)
                        .with_checksums(checksums);
                    let mut s =
                        SChunk::with_storage(cp.clone(), DParams::default(), &storage).unwrap();
                    s.append(&d).unwrap();
                    s.flush().unwrap();
                    let path = dir
                        .path()
                        .join(format!("{k}-{codec:?}-{checksums}.b2frame"));
                    s.save(&path).unwrap();
                    let f = SChunk::open_file(&path, &OpenOptions::default()).unwrap();
                    let n = s.nitems();
                    for r in [
                        0..1,
                        7..1007,
                        8191..8193,
                        16_000..17_000,
                        131_071..131_073,
                        200_000..262_144,
                        n - 1000..n,
                        0..n,
                    ] {
                        let want = &d[r.start * 8..r.end * 8];
                        assert_eq!(
                            f.read(r.clone()).unwrap(),
                            want,
                            "{filters:?} {codec:?} {r:?}"
                        );
                    }
                }
            }
        }
    }

    /// A read-only in-memory [`Backend`] that counts the bytes read from it.
    #[derive(Debug)]
    struct Counting(Vec<u8>, std::sync::atomic::AtomicUsize);

    impl Backend for Counting {
        fn size(&self) -> std::io::Result<u64> {
            Ok(self.0.len() as u64)
        }
        fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
            let at = pos as usize;
            let src = self
                .0
                .get(at..at + buf.len())
                .ok_or(std::io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            self.1
                .fetch_add(buf.len(), std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        fn write_all_at(&self, _: &[u8], _: u64) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
        fn truncate(&self, _: u64) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
        fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn replace(&self, _: &[u8]) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
    }

    #[test]
    fn file_slices_read_one_block_unless_verifying_checksums() {
        let d: Vec<u8> = (0..500_000u64)
            .flat_map(|i| (i * i).to_le_bytes())
            .collect();
        let cp = CParams::default()
            .with_codec(Codec::Lz4)
            .with_clevel(5)
            .with_typesize(8)
            .with_blocksize(64 * 1024);
        for checksums in [false, true] {
            let storage = Storage::default()
                .with_chunksize(2 << 20)
                .with_checksums(checksums);
            let mut s = SChunk::with_storage(cp.clone(), DParams::default(), &storage).unwrap();
            s.append(&d).unwrap();
            s.flush().unwrap();
            let io = std::sync::Arc::new(Counting(s.to_cframe().unwrap(), 0.into()));
            let f = SChunk::open_backend(io.clone(), &OpenOptions::default()).unwrap();
            let opened = io.1.swap(0, std::sync::atomic::Ordering::Relaxed);
            assert!(opened <= 20 * 1024, "open read {opened} bytes");
            assert_eq!(f.read(100_000..101_000).unwrap(), d[800_000..808_000]);
            let read = io.1.load(std::sync::atomic::Ordering::Relaxed);
            let chunk = s.chunk(0).unwrap().len();
            if checksums {
                assert!(read >= chunk, "{read} bytes, chunk {chunk}");
            } else {
                assert!(read < 80 * 1024, "{read} bytes, chunk {chunk}");
            }
        }
    }
}
