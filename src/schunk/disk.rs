//! File-backed super-chunks: a contiguous frame read by positioned reads (header,
//! trailer and offsets index at open; chunk headers, block starts and only the
//! needed blocks per read) and written in place, crash-safely.
//!
//! A commit (every edit of a writable file-backed [`SChunk`]) never touches a byte
//! the current frame uses:
//!
//! 1. it writes `record | new chunks | new index | new trailer` after the current
//!    frame end (the old index and trailer become unreferenced bytes of the chunks
//!    section, which the format allows), truncates anything beyond, and syncs;
//! 2. it patches the header's size fields (bytes 16..69) in one write, and syncs.
//!
//! C-Blosc2 finds the trailer through the header's `frame_len`, so until step 2
//! the old frame is intact. A reader that meets a torn header (its fields disagree
//! with the commit record the trailer points to) rebuilds it from the record of
//! the trailer at the end of the file. Transitions to an empty frame (which C
//! requires to have its trailer right after the header) replace the whole file
//! atomically (write a temporary file, rename).

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::chunk::params::{CParams, DParams};
use crate::chunk::partial::{self, Plan};
use crate::chunk::{ChunkHeader, SpecialValue};
use crate::error::{Error, Part, Result};
use crate::frame::{
    self, implied_nchunks, parse_index, parse_metalayers, parse_trailer, ChunkOffset, FrameHeader,
    MIN_TRAILER_LEN, TRAILER_LEN_OFFSET,
};
use crate::schunk::seal::{self, RECORD_LEN, RECORD_MAGIC};
use crate::schunk::{SChunk, Slot, Storage};

/// Random-access storage holding one contiguous frame (a file, or anything that
/// can do positioned reads and writes). Writes go through [`Backend::write_all_at`]
/// in the order described in the module doc; `replace` must be atomic.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Current size in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Reads exactly `buf.len()` bytes at `pos`.
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()>;
    /// Writes all of `buf` at `pos` (extending the storage as needed).
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()>;
    /// Cuts the storage to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Makes written bytes durable.
    fn sync(&self) -> io::Result<()>;
    /// Atomically replaces the whole content with `bytes`.
    fn replace(&self, bytes: &[u8]) -> io::Result<()>;
    /// The whole content as one slice, when the backend holds it mapped or in memory,
    /// so that chunks are decoded in place; `None` (the default): positioned reads.
    fn mapped(&self) -> Option<&[u8]> {
        None
    }
}

/// A [`Backend`] over a local file (positioned reads and writes; `replace` writes
/// a sibling temporary file and renames it over the original).
#[derive(Debug)]
pub struct FileBackend {
    path: PathBuf,
    file: RwLock<File>,
}

impl FileBackend {
    /// Opens an existing file, read-only unless `write`.
    ///
    /// # Errors
    /// I/O errors of opening the file.
    pub fn open(path: impl AsRef<Path>, write: bool) -> io::Result<FileBackend> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(write)
            .open(&path)?;
        Ok(FileBackend {
            path,
            file: RwLock::new(file),
        })
    }

    /// Creates (or truncates) a file for writing.
    ///
    /// # Errors
    /// I/O errors of creating the file.
    pub fn create(path: impl AsRef<Path>) -> io::Result<FileBackend> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(FileBackend {
            path,
            file: RwLock::new(file),
        })
    }

    fn file(&self) -> std::sync::RwLockReadGuard<'_, File> {
        self.file.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(unix)]
fn pread(f: &File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, pos)
}

#[cfg(unix)]
fn pwrite(f: &File, buf: &[u8], pos: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, pos)
}

#[cfg(windows)]
fn pread(f: &File, mut buf: &mut [u8], mut pos: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match f.seek_read(buf, pos)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn pwrite(f: &File, mut buf: &[u8], mut pos: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = f.seek_write(buf, pos)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        pos += n as u64;
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn pread(_: &File, _: &mut [u8], _: u64) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "positioned reads",
    ))
}

#[cfg(not(any(unix, windows)))]
fn pwrite(_: &File, _: &[u8], _: u64) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "positioned writes",
    ))
}

impl Backend for FileBackend {
    fn size(&self) -> io::Result<u64> {
        Ok(self.file().metadata()?.len())
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        pread(&self.file(), buf, pos)
    }
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        pwrite(&self.file(), buf, pos)
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file().set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.file().sync_data()
    }
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".b2frame-tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, bytes)?;
        File::open(&tmp)?.sync_all()?;
        let mut guard = self.file.write().unwrap_or_else(|e| e.into_inner());
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        *guard = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)?;
        Ok(())
    }
}

/// How to open a frame: checksum verification, writing, durability.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Check chunks against b2frame's stored checksums when reading them (default
    /// `true`). With checksums, a file-backed read fetches the whole compressed chunk.
    pub verify_checksums: bool,
    /// Open a file for writing (default `false`).
    pub write: bool,
    /// `fsync` between the two steps of every commit and after it (default `true`).
    pub sync: bool,
    /// Write per-chunk checksums into files created or rewritten (default `true`).
    pub checksums: bool,
    /// Memory-map the file instead of positioned reads (default `false`; read-only,
    /// see [`crate::schunk::MmapBackend`] for the contract).
    pub mmap: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            verify_checksums: true,
            write: false,
            sync: true,
            checksums: true,
            mmap: false,
        }
    }
}

impl OpenOptions {
    /// Sets checksum verification.
    pub fn with_verify_checksums(mut self, on: bool) -> Self {
        self.verify_checksums = on;
        self
    }
    /// Opens for writing.
    pub fn with_write(mut self, on: bool) -> Self {
        self.write = on;
        self
    }
    /// Sets `fsync` after commit steps.
    pub fn with_sync(mut self, on: bool) -> Self {
        self.sync = on;
        self
    }
    /// Sets whether commits write checksums.
    pub fn with_checksums(mut self, on: bool) -> Self {
        self.checksums = on;
        self
    }
    /// Memory-maps the file (read-only) instead of reading it by positioned reads:
    /// chunks decode in place, without copies or read calls. The file must not be
    /// truncated or rewritten by anyone while it is open this way. It pays for big
    /// reads (a whole 64 MB frame: 1.25× faster, `benches/file_read.rs`); for opening
    /// a file to read a small slice, positioned reads are faster (29.6 vs 35.3 µs).
    pub fn with_mmap(mut self, on: bool) -> Self {
        self.mmap = on;
        self
    }
}

/// The file behind a super-chunk.
#[derive(Debug, Clone)]
pub(crate) struct Disk {
    io: Arc<dyn Backend>,
    pub(crate) writable: bool,
    sync: bool,
    /// Where the current frame ends (the next commit writes here).
    frame_len: u64,
    header_len: usize,
    /// Set after a failed write: the file may hold a half-written commit.
    poisoned: bool,
}

/// Fails when edits cannot be written.
pub(crate) fn check_writable(disk: &Option<Disk>) -> Result<()> {
    match disk {
        Some(d) if d.poisoned => Err(Error::Io(io::Error::other(
            "a previous write to this frame failed; reopen the file",
        ))),
        _ => Ok(()),
    }
}

/// Whole chunks at least this big (uncompressed) are read from files block group by
/// block group rather than at once (when no checksum needs the whole chunk).
pub(crate) const STREAMED_CHUNK_MIN: usize = 4 << 20;

thread_local! {
    static CHUNK_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The largest buffer [`with_chunk_buf`] keeps for the next read; a bigger one (a
/// checksummed chunk of hundreds of MB) is freed after use rather than held per thread.
const KEPT_CHUNK_BUF: usize = 16 << 20;

/// Runs `f` with this thread's buffer for compressed chunks read from files (a
/// fresh one if it is in use), so reading a chunk does not allocate and zero it.
pub(crate) fn with_chunk_buf<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    CHUNK_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let r = f(&mut buf);
            if buf.capacity() > KEPT_CHUNK_BUF {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// The compressed size a chunk header `head` (read at `pos`) declares, checked
/// against the `span` bytes the index leaves for the chunk.
fn chunk_cbytes(head: &[u8], span: usize, pos: u64) -> Result<usize> {
    seal::raw_cbytes(head)
        .filter(|&c| c >= 16 && c <= span)
        .ok_or_else(|| {
            corrupt(
                Part::FrameChunk,
                pos,
                format!("chunk header claims more bytes than the {span} available"),
            )
        })
}

/// A chunk's first bytes (header and, for up to 120 blocks, the block starts) with
/// the header fields the block reads need.
struct Prefix {
    bytes: Vec<u8>,
    cbytes: usize,
    typesize: usize,
    blocksize: Option<usize>,
}

fn corrupt(part: Part, at: u64, detail: impl Into<String>) -> Error {
    Error::corrupt(part, usize::try_from(at).unwrap_or(usize::MAX), detail)
}

impl Disk {
    /// The chunk at `pos` (at most `span` bytes) borrowed from a mapped backend, or
    /// `None` when the backend reads by positioned reads.
    pub(crate) fn mapped_chunk(&self, pos: u64, span: usize) -> Result<Option<&[u8]>> {
        let Some(all) = self.io.mapped() else {
            return Ok(None);
        };
        let start = usize::try_from(pos).unwrap_or(usize::MAX);
        let head = all.get(start..).unwrap_or(&[]);
        let cbytes = chunk_cbytes(&head[..head.len().min(32).min(span)], span, pos)?;
        head.get(..cbytes).map(Some).ok_or_else(|| {
            corrupt(
                Part::FrameChunk,
                pos,
                format!("chunk of {cbytes} bytes past the end of the mapped file"),
            )
        })
    }

    /// A handle that reads the same file but never writes.
    pub(crate) fn read_only(&self) -> Disk {
        Disk {
            writable: false,
            ..self.clone()
        }
    }

    fn read_vec(io: &dyn Backend, pos: u64, len: usize) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        io.read_exact_at(&mut v, pos)?;
        Ok(v)
    }

    /// Reads the stored chunk at `pos` (at most `span` bytes, cut to the chunk's
    /// cbytes) into `buf`, grown when too short and never shrunk (a reused buffer is
    /// not zeroed again); returns the chunk's length `n`, its bytes being `buf[..n]`.
    pub(crate) fn read_into(&self, pos: u64, span: usize, buf: &mut Vec<u8>) -> Result<usize> {
        let mut head = [0u8; 32];
        let head = &mut head[..span.min(32)];
        self.io.read_exact_at(head, pos)?;
        let cbytes = chunk_cbytes(head, span, pos)?;
        if buf.len() < cbytes {
            buf.resize(cbytes, 0);
        }
        if cbytes <= head.len() {
            buf[..cbytes].copy_from_slice(&head[..cbytes]);
        } else {
            buf[..head.len()].copy_from_slice(head);
            self.io
                .read_exact_at(&mut buf[head.len()..cbytes], pos + head.len() as u64)?;
        }
        Ok(cbytes)
    }

    /// The first bytes of the chunk at `pos` (at most `span` bytes) and its header
    /// fields; `None` when the header is too short, has no typesize, declares more than
    /// `span` bytes or another size than the `nbytes` the index implies (the chunk must
    /// then be read whole).
    fn read_prefix(&self, pos: u64, span: usize, nbytes: usize) -> Result<Option<Prefix>> {
        // Header and, for up to 120 blocks, the block starts in one read.
        let bytes = Disk::read_vec(&*self.io, pos, span.min(512))?;
        let field = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (stored, blocksize) = (field(4), field(8));
        let (Some(cbytes), Some(&ts)) = (seal::raw_cbytes(&bytes), bytes.get(3)) else {
            return Ok(None);
        };
        if cbytes > span || ts == 0 || stored != i32::try_from(nbytes).ok() {
            return Ok(None);
        }
        let blocksize = blocksize.and_then(|b| usize::try_from(b).ok());
        Ok(Some(Prefix {
            bytes,
            cbytes,
            typesize: usize::from(ts),
            blocksize,
        }))
    }

    /// The byte ranges `ranges` of the chunk at `pos`, one read each.
    fn read_pieces(&self, pos: u64, ranges: &[std::ops::Range<usize>]) -> Result<Vec<Vec<u8>>> {
        ranges
            .iter()
            .map(|r| Disk::read_vec(&*self.io, pos + r.start as u64, r.len()))
            .collect()
    }

    /// Decodes bytes `range` of the chunk at `pos` (at most `span` bytes) into `out`,
    /// reading only its header and block starts and then the blocks holding the range
    /// (see [`crate::chunk::partial`]). `nbytes` is the size the offsets index implies.
    /// Returns `Ok(false)`, having written nothing, when the chunk must be read whole
    /// (it has no independent blocks, or its header disagrees with the index).
    pub(crate) fn read_range(
        &self,
        pos: u64,
        span: usize,
        nbytes: usize,
        range: std::ops::Range<usize>,
        out: &mut [u8],
    ) -> Result<bool> {
        let Some(Prefix {
            bytes: mut prefix,
            cbytes,
            typesize: ts,
            ..
        }) = self.read_prefix(pos, span, nbytes)?
        else {
            return Ok(false);
        };
        // Whole items `items` (bytes `wide`) hold the range.
        let items = range.start / ts..range.end.div_ceil(ts);
        let wide = items.start * ts..(items.end * ts).min(nbytes);
        loop {
            match partial::plan(&prefix, cbytes, wide.clone())? {
                Plan::NeedPrefix(n) if n > prefix.len() && n <= cbytes => {
                    prefix = Disk::read_vec(&*self.io, pos, n)?;
                }
                Plan::Raw(r) if r.len() == wide.len() => {
                    let at = pos + (r.start + range.start - wide.start) as u64;
                    self.io.read_exact_at(out, at)?;
                    return Ok(true);
                }
                Plan::Blocks(ranges) => {
                    let pieces = self.read_pieces(pos, &ranges)?;
                    let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
                    if wide == range {
                        partial::decode_items(&prefix, &ranges, &refs, items, out)?;
                    } else {
                        let mut buf = vec![0u8; wide.len()];
                        partial::decode_items(&prefix, &ranges, &refs, items, &mut buf)?;
                        out.copy_from_slice(&buf[range.start - wide.start..range.end - wide.start]);
                    }
                    return Ok(true);
                }
                _ => return Ok(false),
            }
        }
    }

    /// Decodes the whole chunk at `pos` (at most `span` bytes, `nbytes` uncompressed
    /// per the offsets index) into `out` group of blocks by group of blocks: its header
    /// and block starts first, then each group's compressed bytes, decoded before the
    /// next is read (groups on `nthreads` threads). Returns `Ok(false)`, having written
    /// nothing, when the chunk must be read whole (see [`Disk::read_range`]).
    pub(crate) fn read_whole_by_blocks(
        &self,
        pos: u64,
        span: usize,
        nbytes: usize,
        out: &mut [u8],
        nthreads: usize,
    ) -> Result<bool> {
        let Some(Prefix {
            bytes: mut prefix,
            cbytes,
            typesize: ts,
            blocksize: Some(bs),
        }) = self.read_prefix(pos, span, nbytes)?
        else {
            return Ok(false);
        };
        if bs == 0 || !bs.is_multiple_of(ts) || !nbytes.is_multiple_of(ts) || out.len() != nbytes {
            return Ok(false);
        }
        // Groups of whole blocks of at least 1 MiB.
        let glen = bs * (1usize << 20).div_ceil(bs);
        let first = loop {
            match partial::plan(&prefix, cbytes, 0..glen.min(nbytes))? {
                Plan::NeedPrefix(n) if n > prefix.len() && n <= cbytes => {
                    prefix = Disk::read_vec(&*self.io, pos, n)?;
                }
                p @ (Plan::Raw(_) | Plan::Blocks(_)) => break p,
                _ => return Ok(false),
            }
        };
        if let Plan::Raw(r) = first {
            // Memcpyed: the items are stored as they are.
            if r.len() != nbytes {
                return Ok(false);
            }
            self.io.read_exact_at(out, pos + r.start as u64)?;
            return Ok(true);
        }
        // The plan of the last group covers every block start.
        if let Plan::NeedPrefix(n) = partial::plan(&prefix, cbytes, nbytes - 1..nbytes)? {
            if n > cbytes {
                return Ok(false);
            }
            prefix = Disk::read_vec(&*self.io, pos, n)?;
        }
        let prefix = &prefix;
        let group = |(g, out): (usize, &mut [u8])| -> Result<()> {
            let start = g * glen;
            let range = start..start + out.len();
            let Plan::Blocks(ranges) = partial::plan(prefix, cbytes, range.clone())? else {
                return Err(corrupt(
                    Part::BlockStarts,
                    pos,
                    format!("bytes {range:?} of the chunk cannot be read by blocks"),
                ));
            };
            let pieces = self.read_pieces(pos, &ranges)?;
            let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
            partial::decode_items(
                prefix,
                &ranges,
                &refs,
                range.start / ts..range.end / ts,
                out,
            )?;
            Ok(())
        };
        if nthreads > 1 {
            use rayon::prelude::*;
            crate::chunk::pool::install(nthreads, || {
                out.par_chunks_mut(glen).enumerate().try_for_each(group)
            })?;
        } else {
            out.chunks_mut(glen).enumerate().try_for_each(group)?;
        }
        Ok(true)
    }

    /// Rewrites the metalayer contents (same lengths) in the header, in one write.
    pub(crate) fn rewrite_metalayers(&mut self, metalayers: &[(String, Vec<u8>)]) -> Result<()> {
        check_writable(&Some(self.clone()))?;
        let h = FrameHeader::parse(&Disk::read_vec(&*self.io, 0, frame::METALAYERS_OFFSET)?)?;
        let bytes = frame::write_header(&h, metalayers)?;
        if bytes.len() != self.header_len {
            return Err(Error::invalid("metalayer", "header length would change"));
        }
        let r = self
            .io
            .write_all_at(
                &bytes[frame::METALAYERS_OFFSET..],
                frame::METALAYERS_OFFSET as u64,
            )
            .and_then(|()| if self.sync { self.io.sync() } else { Ok(()) });
        if r.is_err() {
            self.poisoned = true;
        }
        Ok(r?)
    }
}

/// What opening a frame file found.
struct Loaded {
    header: FrameHeader,
    metalayers: Vec<(String, Vec<u8>)>,
    vlmeta: Vec<(String, Vec<u8>)>,
    offsets: Vec<ChunkOffset>,
    lens: Vec<usize>,
    spans: Vec<usize>,
    sums: Option<Vec<u64>>,
    /// Whether the trailer was sealed by b2frame (the checksums entry is ours to keep).
    sealed: bool,
}

/// Bytes read up front when opening a frame: its first `HEAD_AHEAD` bytes (header
/// and metalayers) and its last `TAIL_AHEAD` (trailer and offsets index).
const HEAD_AHEAD: u64 = 4096;
/// See [`HEAD_AHEAD`].
const TAIL_AHEAD: u64 = 16 * 1024;

/// Positioned reads while opening a frame, served from the two windows read up
/// front (see [`HEAD_AHEAD`]) when the bytes lie inside one: a frame whose header,
/// trailer and index fit opens with two reads instead of five or six.
struct Ahead<'a> {
    io: &'a dyn Backend,
    /// (position, bytes) of the first and the last bytes of the file.
    windows: [(u64, Vec<u8>); 2],
}

impl<'a> Ahead<'a> {
    /// Reads the windows of a file of `size` bytes.
    fn new(io: &'a dyn Backend, size: u64) -> Result<Ahead<'a>> {
        let head = size.min(HEAD_AHEAD);
        let tail = size.saturating_sub(TAIL_AHEAD).max(head);
        let len = |n: u64| usize::try_from(n).unwrap_or(0);
        Ok(Ahead {
            io,
            windows: [
                (0, Disk::read_vec(io, 0, len(head))?),
                (tail, Disk::read_vec(io, tail, len(size - tail))?),
            ],
        })
    }

    /// `len` bytes at `pos`, from a window or read now.
    fn read_vec(&self, pos: u64, len: usize) -> Result<Vec<u8>> {
        for (at, w) in &self.windows {
            let inside = pos
                .checked_sub(*at)
                .and_then(|o| usize::try_from(o).ok())
                .and_then(|o| w.get(o..o.checked_add(len)?));
            if let Some(bytes) = inside {
                return Ok(bytes.to_vec());
            }
        }
        Disk::read_vec(self.io, pos, len)
    }
}

/// Reads the trailer length field that ends a frame of `frame_len` bytes.
fn read_trailer_len(io: &Ahead<'_>, frame_len: u64, header_len: usize) -> Result<usize> {
    let n = (TRAILER_LEN_OFFSET + 1) as u64;
    let at = frame_len
        .checked_sub(n)
        .ok_or_else(|| corrupt(Part::FrameTrailer, 0, "frame too short for a trailer"))?;
    let t = io.read_vec(at, TRAILER_LEN_OFFSET + 1)?;
    if t[0] != 0xce || t[5] != 0xd8 {
        return Err(corrupt(Part::FrameTrailer, at, "no trailer length field"));
    }
    let tl = u32::from_be_bytes([t[1], t[2], t[3], t[4]]) as usize;
    if tl < MIN_TRAILER_LEN || (tl as u64) > frame_len.saturating_sub(header_len as u64) {
        return Err(corrupt(
            Part::FrameTrailer,
            at,
            format!("trailer_len {tl} does not fit the frame"),
        ));
    }
    Ok(tl)
}

/// Loads a frame whose header is `h`. Unless `trust_record`, a sealed trailer's
/// commit record must agree with the header (otherwise the header is torn).
fn load(io: &Ahead<'_>, h: FrameHeader, size: u64, trust_record: bool) -> Result<Loaded> {
    if h.frame_type & 0x0f != 0 {
        return Err(corrupt(Part::FrameHeader, 26, "not a contiguous frame"));
    }
    let frame_len = h.frame_len;
    if frame_len > size {
        return Err(corrupt(
            Part::FrameHeader,
            16,
            format!("frame_len {frame_len} but the file holds {size} bytes"),
        ));
    }
    let hl = h.header_len;
    let header = io.read_vec(0, hl)?;
    let metalayers = parse_metalayers(&header)?;
    let tl = read_trailer_len(io, frame_len, hl)?;
    let tpos = frame_len - tl as u64;
    let trailer = io.read_vec(tpos, tl)?;
    let (_, mut vlmeta) = parse_trailer(&trailer, tpos as usize)?;
    let (offsets, index) = if h.nbytes > 0 {
        let chunks_end = (hl as u64)
            .checked_add(h.cbytes)
            .filter(|&e| e <= tpos)
            .ok_or_else(|| corrupt(Part::FrameHeader, 39, "cbytes runs past the trailer"))?;
        let index = io.read_vec(chunks_end, (tpos - chunks_end) as usize)?;
        let ih = ChunkHeader::parse(&index)
            .map_err(|e| corrupt(Part::OffsetsIndex, chunks_end, format!("index chunk: {e}")))?;
        if ih.cbytes != index.len() {
            return Err(corrupt(
                Part::OffsetsIndex,
                chunks_end,
                format!(
                    "index chunk of {} bytes, {} between chunks and trailer",
                    ih.cbytes,
                    index.len()
                ),
            ));
        }
        let o = parse_index(&index, chunks_end as usize, implied_nchunks(&h))?;
        (o, index)
    } else {
        if tpos != hl as u64 {
            return Err(corrupt(
                Part::FrameTrailer,
                tpos,
                "an empty frame must have its trailer right after the header",
            ));
        }
        (Vec::new(), Vec::new())
    };
    let n = offsets.len();
    let entry = seal::take_internal(&mut vlmeta);
    let fp = seal::read_fingerprint(&trailer);
    let mut record = Vec::new();
    if let Some((_, rpos)) = fp.filter(|&(_, p)| p != 0) {
        if rpos.saturating_add(RECORD_LEN as u64) <= tpos {
            record = io.read_vec(rpos, RECORD_LEN)?;
        }
    }
    let checked = seal::check_seal(fp, &record, &index, entry.as_deref(), n, &h);
    let sealed = checked.is_some();
    let sums = checked.flatten();
    if sealed
        && !trust_record
        && !record.is_empty()
        && (&record[..8] != RECORD_MAGIC || record[8 + 16..8 + 69] != header[16..69])
    {
        return Err(corrupt(
            Part::FrameHeader,
            16,
            "header does not match the last commit record (torn write)",
        ));
    }
    // Chunk sizes: implied by a fixed chunksize, else read from each chunk header.
    let chunks_end = hl as u64 + h.cbytes;
    let mut sorted: Vec<u64> = offsets
        .iter()
        .filter_map(|o| match o {
            ChunkOffset::Stored(x) => Some(*x),
            ChunkOffset::Special(_) => None,
        })
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut lens = Vec::with_capacity(n);
    let mut spans = Vec::with_capacity(n);
    for (i, o) in offsets.iter().enumerate() {
        let (len, span) = match *o {
            ChunkOffset::Special(_) => (h.implied_chunk_nbytes(i, n)?, 0),
            ChunkOffset::Stored(off) => {
                let pos = (hl as u64).saturating_add(off);
                let next = sorted
                    .iter()
                    .find(|&&s| s > off)
                    .map_or(chunks_end, |&s| hl as u64 + s);
                if pos.saturating_add(16) > next || next > chunks_end {
                    return Err(corrupt(
                        Part::OffsetsIndex,
                        chunks_end,
                        format!("chunk {i} at offset {off}, outside the chunks section"),
                    ));
                }
                let span = usize::try_from(next - pos).unwrap_or(usize::MAX);
                let len = if h.chunksize > 0 {
                    h.implied_chunk_nbytes(i, n)?
                } else {
                    let head = io.read_vec(pos, 16)?;
                    usize::try_from(i32::from_le_bytes([head[4], head[5], head[6], head[7]]))
                        .map_err(|_| corrupt(Part::FrameChunk, pos, "negative chunk nbytes"))?
                };
                (len, span)
            }
        };
        lens.push(len);
        spans.push(span);
    }
    let total: u64 = lens.iter().map(|&l| l as u64).sum();
    if total != h.nbytes {
        return Err(corrupt(
            Part::FrameHeader,
            30,
            format!("nbytes {}, but the chunks hold {total}", h.nbytes),
        ));
    }
    Ok(Loaded {
        header: h,
        metalayers,
        vlmeta,
        offsets,
        lens,
        spans,
        sums,
        sealed,
    })
}

/// Rebuilds a torn header from the commit record of the trailer ending the file.
fn recover(io: &Ahead<'_>, size: u64) -> Result<(Loaded, Vec<u8>)> {
    let tl = read_trailer_len(io, size, frame::MIN_HEADER_LEN)?;
    let trailer = io.read_vec(size - tl as u64, tl)?;
    let (_, rpos) = seal::read_fingerprint(&trailer)
        .filter(|&(_, p)| p != 0)
        .ok_or_else(|| corrupt(Part::FrameTrailer, size, "no commit record"))?;
    let record = io.read_vec(rpos, RECORD_LEN)?;
    if &record[..8] != RECORD_MAGIC {
        return Err(corrupt(Part::FrameTrailer, rpos, "bad commit record"));
    }
    let h = FrameHeader::parse(&record[8..])?;
    if h.frame_len != size {
        return Err(corrupt(Part::FrameTrailer, rpos, "commit record length"));
    }
    let loaded = load(io, h, size, true)?;
    if !loaded.sealed {
        return Err(corrupt(Part::FrameTrailer, size, "commit seal mismatch"));
    }
    Ok((loaded, record[8..].to_vec()))
}

impl SChunk {
    /// Opens a contiguous frame file without reading its chunks: header, trailer and
    /// offsets index are read now, chunks (their headers, block starts and only the
    /// blocks a read needs) when read. With [`OpenOptions::write`], edits are written
    /// to the file in place, crash-safely (see [`Backend`] and the module doc of
    /// `schunk::disk`); buffered appends reach the file on [`SChunk::flush`] or drop.
    ///
    /// # Errors
    /// `Io` for file errors; `Corrupt`/`Unsupported` for invalid frames.
    pub fn open_file(path: impl AsRef<Path>, options: &OpenOptions) -> Result<SChunk> {
        if options.mmap {
            crate::schunk::mmap::check_options(options)?;
            let b = crate::schunk::MmapBackend::open(path)?;
            return SChunk::open_backend(Arc::new(b), options);
        }
        let b = FileBackend::open(path, options.write)?;
        SChunk::open_backend(Arc::new(b), options)
    }

    /// Creates a `.b2frame` file holding an empty super-chunk (replacing any file
    /// there) and returns it open for writing; checksums are written unless
    /// `options.checksums` is off.
    ///
    /// # Errors
    /// As [`SChunk::with_storage`]; `Io` for file errors.
    pub fn create_file(
        path: impl AsRef<Path>,
        cparams: CParams,
        dparams: DParams,
        storage: &Storage,
        options: &OpenOptions,
    ) -> Result<SChunk> {
        let b = FileBackend::create(path)?;
        SChunk::create_backend(Arc::new(b), cparams, dparams, storage, options)
    }

    /// As [`SChunk::create_file`] on any [`Backend`].
    ///
    /// # Errors
    /// As [`SChunk::create_file`].
    pub fn create_backend(
        io: Arc<dyn Backend>,
        cparams: CParams,
        dparams: DParams,
        storage: &Storage,
        options: &OpenOptions,
    ) -> Result<SChunk> {
        let mut sc = SChunk::with_storage(cparams, dparams, storage)?;
        sc.checksums = options.checksums;
        sc.verify = options.verify_checksums;
        sc.disk = Some(Disk {
            io,
            writable: true,
            sync: options.sync,
            frame_len: 0,
            header_len: 0,
            poisoned: false,
        });
        sc.commit()?;
        Ok(sc)
    }

    /// As [`SChunk::open_file`] on any [`Backend`].
    ///
    /// # Errors
    /// As [`SChunk::open_file`].
    pub fn open_backend(io: Arc<dyn Backend>, options: &OpenOptions) -> Result<SChunk> {
        let size = io.size()?;
        let ahead = Ahead::new(&*io, size)?;
        let first = ahead.read_vec(
            0,
            usize::try_from(size.min(frame::METALAYERS_OFFSET as u64)).unwrap_or(0),
        )?;
        let (loaded, repair) =
            match FrameHeader::parse(&first).and_then(|h| load(&ahead, h, size, false)) {
                Ok(l) => (l, None),
                Err(e) => match recover(&ahead, size) {
                    Ok((l, fixed)) => (l, Some(fixed)),
                    Err(_) => return Err(e),
                },
            };
        let Loaded {
            header,
            metalayers,
            vlmeta,
            offsets,
            lens,
            spans,
            sums,
            sealed,
        } = loaded;
        let hl = header.header_len;
        let frame_len = header.frame_len;
        let mut sc = SChunk::from_header(header.clone(), metalayers, vlmeta, false)?;
        for (i, o) in offsets.iter().enumerate() {
            let slot = match *o {
                ChunkOffset::Special(kind) => Slot::Mem(special(&header, i, offsets.len(), kind)?),
                ChunkOffset::Stored(off) => Slot::Disk {
                    pos: hl as u64 + off,
                    len: spans[i],
                    sum: sums.as_ref().map_or(0, |s| s[i]),
                },
            };
            sc.push_slot(slot, lens[i]);
        }
        // Chunks already in a frame we did not seal have no checksums to carry
        // over: keep such a frame without them (an empty one may start).
        sc.checksums = if sealed {
            sums.is_some()
        } else {
            options.checksums && offsets.is_empty()
        };
        sc.verify = options.verify_checksums;
        sc.disk = Some(Disk {
            io,
            writable: options.write,
            sync: options.sync,
            frame_len,
            header_len: hl,
            poisoned: false,
        });
        if let (Some(fixed), true) = (repair, options.write) {
            let d = sc
                .disk
                .as_mut()
                .ok_or_else(|| Error::invalid("file", "missing"))?;
            let r =
                d.io.write_all_at(&fixed[16..69], 16)
                    .and_then(|()| d.io.sync());
            if r.is_err() {
                d.poisoned = true;
            }
            r?;
        }
        Ok(sc)
    }

    /// Writes every edit not yet in the file (no-op without a writable file).
    pub(crate) fn commit(&mut self) -> Result<()> {
        let Some(d) = self.disk.as_ref().filter(|d| d.writable) else {
            return Ok(());
        };
        check_writable(&self.disk)?;
        let result = if self.stored_nbytes() == 0 || d.frame_len == 0 {
            self.commit_replace()
        } else {
            self.commit_append()
        };
        if result.is_err() {
            if let Some(d) = self.disk.as_mut() {
                d.poisoned = true;
            }
        }
        result
    }

    /// Rewrites the whole file atomically (empty frames, first write).
    fn commit_replace(&mut self) -> Result<()> {
        // Bring every chunk into memory: the old file goes away.
        for i in 0..self.chunks.len() {
            if matches!(self.chunks[i], Slot::Disk { .. }) {
                let c = self.load(i)?.into_owned();
                self.chunks[i] = Slot::Mem(c);
            }
        }
        let (chunks, lens) = {
            let refs: Vec<&[u8]> = self
                .chunks
                .iter()
                .map(|s| match s {
                    Slot::Mem(c) => c.as_slice(),
                    Slot::Disk { .. } => &[],
                })
                .collect();
            let lens: Vec<usize> = (0..self.chunks.len()).map(|i| self.chunk_len(i)).collect();
            (refs, lens)
        };
        let t = self.frame_template(&lens);
        let bytes = if self.checksums {
            seal::write_sealed_cframe(&t, &self.metalayers, &chunks, &self.vlmeta)?
        } else {
            crate::frame::cframe::write(&t, &self.metalayers, &chunks, &self.vlmeta)?
        };
        let h = FrameHeader::parse(&bytes)?;
        let d = self
            .disk
            .as_mut()
            .ok_or_else(|| Error::invalid("file", "missing"))?;
        d.io.replace(&bytes)?;
        d.frame_len = h.frame_len;
        d.header_len = h.header_len;
        Ok(())
    }

    /// Appends a commit after the current frame end, then patches the header.
    fn commit_append(&mut self) -> Result<()> {
        let (base, hl) = match self.disk.as_ref() {
            Some(d) => (d.frame_len, d.header_len),
            None => return Ok(()),
        };
        let n = self.chunks.len();
        let lens: Vec<usize> = (0..n).map(|i| self.chunk_len(i)).collect();
        let mut h = self.frame_template(&lens);
        h.frame_type &= 0xf0;
        let mut region = vec![0u8; RECORD_LEN];
        let mut offsets = Vec::with_capacity(n);
        let mut sums = Vec::with_capacity(n);
        let mut placed: Vec<(usize, u64, usize, u64)> = Vec::new();
        let chunk_ts = if h.typesize > 255 { 1 } else { h.typesize };
        let mut all_vl = n > 0;
        for (i, slot) in self.chunks.iter().enumerate() {
            match slot {
                Slot::Disk { pos, sum, .. } => {
                    all_vl = false;
                    offsets.push((pos - hl as u64) as i64);
                    sums.push(*sum);
                }
                Slot::Mem(c) => {
                    let ch = ChunkHeader::parse(c)?;
                    all_vl &= ch.is_vl_blocks();
                    let special = match ch.special() {
                        Some(
                            k @ (SpecialValue::Zeros | SpecialValue::Nan | SpecialValue::Uninit),
                        ) if h.chunksize > 0
                            && ch.nbytes % h.typesize == 0
                            && ch.typesize == chunk_ts =>
                        {
                            Some(k)
                        }
                        _ => None,
                    };
                    if let Some(k) = special {
                        offsets.push(ChunkOffset::Special(k).to_raw());
                        sums.push(0);
                    } else {
                        let pos = base + region.len() as u64;
                        let c = &c[..ch.cbytes];
                        let sum = seal::hash(c);
                        offsets.push((pos - hl as u64) as i64);
                        sums.push(sum);
                        placed.push((i, pos, c.len(), sum));
                        region.extend_from_slice(c);
                    }
                }
            }
        }
        h.general_flags = match (h.chunksize == 0, all_vl) {
            (false, false) => 0x12,
            (true, false) => 0x53,
            (false, true) => 0x93,
            (true, true) => 0xd3,
        };
        let section_end = base + region.len() as u64;
        h.cbytes = section_end - hl as u64;
        h.nbytes = self.stored_nbytes() as u64;
        h.header_len = hl;
        let index = frame::write_index(&offsets)?;
        let mut vl = self.vlmeta.clone();
        if self.checksums {
            vl.push((seal::CHECKSUMS.to_owned(), seal::sums_chunk(&sums)?));
        }
        h.has_vlmeta = !vl.is_empty();
        let trailer_len = frame::write_trailer(&vl, &[0; frame::FINGERPRINT_LEN])?.len();
        h.frame_len = section_end + index.len() as u64 + trailer_len as u64;
        let record = seal::record(&h);
        region[..RECORD_LEN].copy_from_slice(&record);
        let sealed_sums: &[u64] = if self.checksums { &sums } else { &[] };
        let s = seal::seal(&record, &index, sealed_sums, h.nbytes, h.cbytes);
        let trailer = frame::write_trailer(&vl, &seal::fingerprint(s, base))?;
        region.extend_from_slice(&index);
        region.extend_from_slice(&trailer);
        let fixed = frame::fixed_header_bytes(&h);
        let d = self
            .disk
            .as_mut()
            .ok_or_else(|| Error::invalid("file", "missing"))?;
        d.io.write_all_at(&region, base)?;
        if d.io.size()? > h.frame_len {
            d.io.truncate(h.frame_len)?;
        }
        if d.sync {
            d.io.sync()?;
        }
        d.io.write_all_at(&fixed[16..69], 16)?;
        if d.sync {
            d.io.sync()?;
        }
        d.frame_len = h.frame_len;
        for (i, pos, len, sum) in placed {
            self.chunks[i] = Slot::Disk { pos, len, sum };
        }
        Ok(())
    }
}

/// The 32-byte chunk standing for special offset `i`.
fn special(h: &FrameHeader, i: usize, n: usize, kind: SpecialValue) -> Result<Vec<u8>> {
    let nbytes = h.implied_chunk_nbytes(i, n)?;
    crate::chunk::special(kind, nbytes, h.typesize, None).map_err(|e| {
        Error::corrupt(
            Part::OffsetsIndex,
            i,
            format!("cannot synthesise special chunk {i}: {e}"),
        )
    })
}
