//! Range reads of contiguous frames in an object store, down to the blocks of a
//! chunk. Where each chunk of a frame lies comes from the manifest
//! (`chunk_offsets`, no request) or, for older manifests, from the frame's
//! footer (fixed header, offsets index, trailer length: one probe of the first
//! and last few KiB of the object). Then an item range costs, per touched chunk:
//! the whole chunk when the range covers it or the chunk is small; otherwise the
//! chunk's prefix (header and block starts, cached per reader) and then only the
//! blocks that hold the range ([`crate::chunk::partial`]); chunks of at most
//! 4 KiB (validity bitmaps, small dictionaries) are kept whole. On remote stores the
//! prefix request goes out with a guess of the blocks' bytes, so a cold slice
//! usually costs one round trip. Local files are read with `pread` on the
//! calling thread, through a small per-reader cache of open files.
//!
//! ```text
//! frame = header (header_len) | chunks (cbytes) | offsets index | trailer (trailer_len)
//!          ^ probe [0, 4 KiB)                          probe [len - 8 KiB, len) ^
//! chunk = header | bstarts | block 0 | block 1 | …     prefix, then blocks b0..=b1
//! ```

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::arrow::{BufferMeta, BufferSource, DEFAULT_BLOCKSIZE};
use crate::chunk::partial::Plan;
use crate::chunk::{self, ChunkHeader, SpecialValue};
use crate::error::{DatasetErrorKind, Error, Result};
use crate::frame::{self, ChunkOffset, FrameHeader, MIN_HEADER_LEN, MIN_TRAILER_LEN};
use crate::store::{self, Store};
use crate::DParams;

/// Bytes fetched from the start of a frame to read its header.
const HEAD_PROBE: u64 = 4096;
/// Bytes fetched from the end of a frame to read its index and trailer.
const TAIL_PROBE: u64 = 8192;

/// Where a chunk's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    /// Absolute byte range in the frame.
    Stored(u64, u64),
    /// No stored bytes.
    Special(SpecialValue),
}

/// What a reader needs of a frame: sizes and the byte range of every chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Footer {
    /// Frame typesize.
    pub(crate) typesize: usize,
    /// Uncompressed bytes.
    pub(crate) nbytes: u64,
    /// Bytes per chunk (all but the last).
    pub(crate) chunksize: u64,
    chunks: Vec<Loc>,
}

fn corrupt(path: &str, detail: impl Into<String>) -> Error {
    Error::Dataset {
        path: path.to_string(),
        kind: DatasetErrorKind::Corrupt,
        detail: detail.into(),
    }
}

/// Names `path` in an error: missing objects become `Missing`, corrupt bytes `Corrupt`.
pub(crate) fn at(path: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        e if e.is_not_found() => Error::Dataset {
            path: path.to_string(),
            kind: DatasetErrorKind::Missing,
            detail: e.to_string(),
        },
        e @ Error::Corrupt { .. } => corrupt(path, e.to_string()),
        other => other,
    }
}

/// The footer from a probe of the frame's head and tail. Returns `Err(range)` when
/// the offsets index lies before the tail probe and must be fetched.
fn parse_footer(
    path: &str,
    len: u64,
    head: &[u8],
    tail: &[u8],
    index: Option<&[u8]>,
) -> Result<std::result::Result<Footer, Range<u64>>> {
    let h = FrameHeader::parse(head).map_err(at(path))?;
    if h.frame_len != len {
        return Err(corrupt(
            path,
            format!("frame_len {} but the object holds {len} bytes", h.frame_len),
        ));
    }
    if h.frame_type & 0x0f != 0 {
        return Err(corrupt(path, "not a contiguous frame"));
    }
    // trailer_len: u32 BE after a 0xce marker, 22 bytes before the end.
    let t = tail.len();
    let tl = match (t.checked_sub(23).and_then(|i| tail.get(i..i + 5)), t >= 23) {
        (Some([0xce, a, b, c, d]), true) => u64::from(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => {
            return Err(corrupt(
                path,
                "no trailer length marker 22 bytes before the end",
            ))
        }
    };
    let hl = h.header_len as u64;
    let index_start = hl + h.cbytes;
    if tl < MIN_TRAILER_LEN as u64 || tl > len || index_start > len - tl {
        return Err(corrupt(
            path,
            format!(
                "trailer_len {tl}, header_len {hl} and cbytes {} do not fit {len} bytes",
                h.cbytes
            ),
        ));
    }
    let index_end = len - tl;
    let tail_start = len - t as u64;
    let index_bytes: &[u8] = match index {
        Some(i) => i,
        None if index_start >= tail_start => {
            &tail[(index_start - tail_start) as usize..(index_end - tail_start) as usize]
        }
        None => return Ok(Err(index_start..index_end)),
    };
    let expected = frame::implied_nchunks(&h);
    let offsets = if index_bytes.is_empty() {
        if expected.is_some_and(|e| e > 0) {
            return Err(corrupt(
                path,
                "no offsets index but the header implies chunks",
            ));
        }
        Vec::new()
    } else {
        frame::parse_index(index_bytes, index_start as usize, expected).map_err(at(path))?
    };
    if !offsets.is_empty() && h.chunksize <= 0 {
        return Err(Error::unsupported(
            "frame",
            format!("{path}: chunks of varying sizes cannot be range-read"),
        ));
    }
    let mut starts: Vec<u64> = offsets
        .iter()
        .filter_map(|o| match o {
            ChunkOffset::Stored(s) => Some(*s),
            ChunkOffset::Special(_) => None,
        })
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let mut chunks = Vec::with_capacity(offsets.len());
    for o in &offsets {
        chunks.push(match *o {
            ChunkOffset::Special(k) => Loc::Special(k),
            ChunkOffset::Stored(s) => {
                if s >= h.cbytes {
                    return Err(corrupt(
                        path,
                        format!("chunk offset {s} past cbytes {}", h.cbytes),
                    ));
                }
                let i = starts.partition_point(|&x| x <= s);
                let end = starts.get(i).copied().unwrap_or(h.cbytes);
                Loc::Stored(hl + s, hl + end)
            }
        });
    }
    Ok(Ok(Footer {
        typesize: h.typesize,
        nbytes: h.nbytes,
        chunksize: u64::try_from(h.chunksize).unwrap_or(0),
        chunks,
    }))
}

/// Reads a frame's footer with one coalesced request (two if the index is large).
pub(crate) async fn load_footer(store: &Store, path: &str, len: u64) -> Result<Footer> {
    if len < (MIN_HEADER_LEN + MIN_TRAILER_LEN) as u64 {
        return Err(corrupt(
            path,
            format!("{len} bytes is too short for a frame"),
        ));
    }
    let head = 0..len.min(HEAD_PROBE);
    let tail = len.saturating_sub(TAIL_PROBE)..len;
    let parts = match store.get_ranges(path, &[head, tail]).await {
        Ok(p) => p,
        Err(e) if !e.is_not_found() => {
            // A short object is a truncated frame, not a store failure.
            return Err(match store.head(path).await {
                Ok(n) if n != len => corrupt(
                    path,
                    format!("{n} bytes, the manifest says {len} (truncated?)"),
                ),
                _ => at(path)(e),
            });
        }
        Err(e) => return Err(at(path)(e)),
    };
    let (h, t) = (&parts[0], &parts[1]);
    match parse_footer(path, len, h, t, None)? {
        Ok(f) => Ok(f),
        Err(r) => {
            let index = store.get_range(path, r).await.map_err(at(path))?;
            parse_footer(path, len, h, t, Some(&index))?
                .map_err(|_| corrupt(path, "offsets index not found"))
        }
    }
}

/// Chunks at most this long are fetched whole even for a few items: one
/// request instead of two, and the decoder still decodes only the blocks needed.
const WHOLE_CHUNK: u64 = 32 << 10;
/// Coalescing gap for local files: a syscall costs about as much as copying this.
const LOCAL_GAP: u64 = 16 << 10;
/// Coalescing gap of the footer probes of remote frames (large frames get two
/// requests rather than one for the whole object).
const PROBE_GAP: u64 = 64 << 10;
/// Smallest block size assumed when guessing how long a chunk's prefix is.
const MIN_BLOCK_GUESS: u64 = 8 << 10;
/// Coalescing gap for remote frames: a prefix and the guess of where the blocks
/// lie go out as two concurrent requests rather than one spanning both.
const REMOTE_GAP: u64 = 64 << 10;
/// Most chunk prefixes a reader keeps (a few hundred bytes each).
const CACHED_PREFIXES: usize = 1 << 14;
/// Most bytes of prefixes and small whole chunks a reader keeps.
const CACHED_BYTES: usize = 16 << 20;
/// Chunks at most this long are kept whole once fetched (as their own prefix):
/// validity bitmaps and dictionary keys of a few KiB, read by every slice of
/// their column, then cost no request.
const KEEP_WHOLE: u64 = 4 << 10;

impl Footer {
    /// The footer the manifest describes: `chunksize` and `chunk_offsets` (one
    /// start per chunk and the end of the last), when present and consistent.
    fn from_meta(meta: &BufferMeta) -> Option<Footer> {
        let offs = &meta.chunk_offsets;
        let cs = meta.chunksize;
        if offs.is_empty() || cs == 0 {
            return None;
        }
        let n = meta.nbytes.div_ceil(cs);
        let ok = offs.len() as u64 == n + 1
            && offs.windows(2).all(|w| w[0] < w[1])
            && offs.last().is_some_and(|&e| e <= meta.frame_len);
        ok.then(|| Footer {
            typesize: meta.typesize as usize,
            nbytes: meta.nbytes,
            chunksize: cs,
            chunks: offs.windows(2).map(|w| Loc::Stored(w[0], w[1])).collect(),
        })
    }

    /// `chunk_offsets` for the manifest when every chunk is stored, in order and
    /// back to back (always so for frames b2frame writes); empty otherwise.
    pub(crate) fn chunk_offsets(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.chunks.len() + 1);
        for c in &self.chunks {
            match (*c, out.last()) {
                (Loc::Stored(a, b), None) => out.extend([a, b]),
                (Loc::Stored(a, b), Some(&end)) if a == end => out.push(b),
                _ => return Vec::new(),
            }
        }
        out
    }
}

/// The footer of a whole frame held in memory (what writers put in the manifest).
pub(crate) fn footer_of(path: &str, frame: &[u8]) -> Result<Footer> {
    parse_footer(path, frame.len() as u64, frame, frame, None)?
        .map_err(|_| corrupt(path, "offsets index not found"))
}

/// One chunk of a read: which chunk, which of its uncompressed bytes, where they go.
struct Piece<'a> {
    chunk: usize,
    /// Uncompressed bytes of the chunk (`chunksize` except maybe the last).
    len: u64,
    within: Range<u64>,
    out: &'a mut [u8],
    /// What was fetched: the whole chunk, raw item bytes, or (prefix, block
    /// ranges, block bytes).
    got: Got,
}

enum Got {
    Nothing,
    Whole(store::Bytes),
    Raw(store::Bytes),
    Blocks(store::Bytes, Vec<Range<usize>>, Vec<store::Bytes>),
}

/// Chunk prefixes by frame path, then chunk index (a lookup allocates nothing).
/// A prefix as long as its chunk is the whole chunk.
#[derive(Debug, Default)]
struct Prefixes {
    by_path: HashMap<String, HashMap<usize, store::Bytes>>,
    count: usize,
    bytes: usize,
}

impl Prefixes {
    fn get(&self, path: &str, chunk: usize) -> Option<store::Bytes> {
        self.by_path.get(path)?.get(&chunk).cloned()
    }

    /// Forgets what is kept of `path`.
    fn forget(&mut self, path: &str) {
        if let Some(chunks) = self.by_path.remove(path) {
            self.count -= chunks.len();
            self.bytes -= chunks.values().map(|b| b.len()).sum::<usize>();
        }
    }

    /// Keeps a copy of `prefix` (a slice of a coalesced read would keep the
    /// whole read alive), forgetting all once [`CACHED_PREFIXES`] or
    /// [`CACHED_BYTES`] are held.
    fn insert(&mut self, path: &str, chunk: usize, prefix: &[u8]) {
        let prefix = store::Bytes::copy_from_slice(prefix);
        if self.count >= CACHED_PREFIXES || self.bytes >= CACHED_BYTES {
            self.by_path.clear();
            self.count = 0;
            self.bytes = 0;
        }
        self.bytes += prefix.len();
        let chunks = match self.by_path.get_mut(path) {
            Some(c) => c,
            None => self.by_path.entry(path.to_string()).or_default(),
        };
        match chunks.insert(chunk, prefix) {
            Some(old) => self.bytes -= old.len(),
            None => self.count += 1,
        }
    }
}

/// What a reader keeps of the frames it read: footers, chunk prefixes and open
/// local files. Frames never change once written (every fragment has a fresh
/// id), so readers of one dataset may share it (see `dataset::reopen`).
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    /// Footers by path (at most [`CACHED_FOOTERS`]).
    footers: Mutex<HashMap<String, Arc<Footer>>>,
    /// Chunk prefixes (header, block starts, dictionary) by path and chunk.
    prefixes: Mutex<Prefixes>,
    /// Open local files (at most [`OPEN_FILES`]), each with the id of the last
    /// reader that checked it is still linked.
    files: Mutex<HashMap<String, (Arc<std::fs::File>, u64)>>,
}

/// Most local files a reader keeps open.
const OPEN_FILES: usize = 64;
/// Most footers a reader keeps.
const CACHED_FOOTERS: usize = 1 << 12;

/// Reads column frames of one dataset through a [`ReadCache`].
#[derive(Debug)]
pub(crate) struct FrameReader {
    pub(crate) store: Store,
    /// `store` with the coalescing gap used for reads.
    io: Store,
    cache: Arc<ReadCache>,
    /// Unique per reader: a shared open file is checked once per reader.
    id: u64,
}

impl FrameReader {
    /// A reader of `store` with an empty cache.
    pub(crate) fn new(store: Store) -> Self {
        Self::with_cache(store, Arc::default())
    }

    /// A reader of `store` that shares `cache` (which must come from a reader of
    /// the same dataset).
    pub(crate) fn with_cache(store: Store, cache: Arc<ReadCache>) -> Self {
        let io = if store.is_local() {
            store.with_coalesce_gap(LOCAL_GAP)
        } else {
            store.with_coalesce_gap(REMOTE_GAP)
        };
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        FrameReader {
            store,
            io,
            cache,
            id,
        }
    }

    /// The reader's cache, to share with a later reader of the same dataset.
    pub(crate) fn cache(&self) -> Arc<ReadCache> {
        self.cache.clone()
    }

    fn cached(&self, path: &str) -> Option<Arc<Footer>> {
        self.cache.footers.lock().ok()?.get(path).cloned()
    }

    fn remember(&self, path: &str, f: Footer) -> Arc<Footer> {
        let f = Arc::new(f);
        if let Ok(mut m) = self.cache.footers.lock() {
            if m.len() >= CACHED_FOOTERS {
                m.clear();
            }
            m.insert(path.to_string(), f.clone());
        }
        f
    }

    /// The footer of `meta`'s frame: cached, from the manifest, or probed.
    fn footer(&self, path: &str, meta: &BufferMeta) -> Result<Arc<Footer>> {
        if let Some(f) = self.cached(path) {
            return Ok(f);
        }
        if let Some(f) = Footer::from_meta(meta) {
            return Ok(self.remember(path, f));
        }
        let probe = self.store.with_coalesce_gap(PROBE_GAP);
        let f = store::block_on(load_footer(&probe, path, meta.frame_len))??;
        Ok(self.remember(path, f))
    }

    /// Loads the footers of `buffers` that the manifest does not describe,
    /// concurrently.
    pub(crate) fn prefetch(&self, buffers: &[&BufferMeta]) -> Result<()> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let todo: Vec<(&str, u64)> = buffers
            .iter()
            .filter_map(|b| Some((b.path.as_deref()?, *b)))
            .filter(|(p, b)| self.cached(p).is_none() && Footer::from_meta(b).is_none())
            .map(|(p, b)| (p, b.frame_len))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let probe = self.store.with_coalesce_gap(PROBE_GAP);
        let loaded = store::block_on(async {
            stream::iter(todo)
                .map(|(p, l)| {
                    let probe = &probe;
                    async move { Ok::<_, Error>((p, load_footer(probe, p, l).await?)) }
                })
                .buffer_unordered(16)
                .try_collect::<Vec<_>>()
                .await
        })??;
        for (p, f) in loaded {
            self.remember(p, f);
        }
        Ok(())
    }

    /// Fetches byte ranges of the frame at `path` (through `file`, its
    /// [`FrameReader::open_file`]); a short object is `Corrupt`.
    fn fetch(
        &self,
        path: &str,
        file: Option<&std::fs::File>,
        ranges: &[Range<u64>],
    ) -> Result<Vec<store::Bytes>> {
        let got = match file {
            Some(f) => self.io.read_ranges_in(f, path, ranges),
            None => self.io.read_ranges(path, ranges),
        };
        match got {
            Ok(v) => Ok(v),
            Err(e) if e.is_not_found() => Err(at(path)(e)),
            Err(e) => {
                // A short object is a truncated frame, not a store failure.
                let end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
                match store::block_on(self.store.head(path)) {
                    Ok(Ok(n)) if n < end => Err(corrupt(
                        path,
                        format!("{n} bytes, a chunk ends at byte {end} (truncated?)"),
                    )),
                    _ => Err(at(path)(e)),
                }
            }
        }
    }

    /// The open local file of `path` (cached), `None` for other stores. A file
    /// opened by an earlier reader of the dataset is used once it is found still
    /// linked (one `fstat` per reader): a frame deleted or replaced since then
    /// is opened again by path (and what was cached of it is forgotten), so it
    /// reads as missing or as its new bytes, never as the old ones.
    fn open_file(&self, path: &str) -> Result<Option<Arc<std::fs::File>>> {
        if !self.io.is_local() {
            return Ok(None);
        }
        let hit = self.cache.files.lock().ok().and_then(|m| {
            let (f, checker) = m.get(path)?;
            Some((f.clone(), *checker == self.id))
        });
        match hit {
            Some((f, true)) => return Ok(Some(f)),
            Some((f, false)) if store::still_linked(&f) => {
                if let Ok(mut m) = self.cache.files.lock() {
                    if let Some(e) = m.get_mut(path) {
                        e.1 = self.id;
                    }
                }
                return Ok(Some(f));
            }
            Some(_) => {
                if let Ok(mut m) = self.cache.files.lock() {
                    m.remove(path);
                }
                if let Ok(mut m) = self.cache.prefixes.lock() {
                    m.forget(path);
                }
                if let Ok(mut m) = self.cache.footers.lock() {
                    m.remove(path);
                }
            }
            None => {}
        }
        let Some(f) = self.io.open_local(path)? else {
            return Ok(None);
        };
        let f = Arc::new(f);
        if let Ok(mut m) = self.cache.files.lock() {
            if m.len() >= OPEN_FILES {
                m.clear();
            }
            m.insert(path.to_string(), (f.clone(), self.id));
        }
        Ok(Some(f))
    }

    fn prefix(&self, path: &str, chunk: usize) -> Option<store::Bytes> {
        self.cache.prefixes.lock().ok()?.get(path, chunk)
    }

    fn read(&self, meta: &BufferMeta, items: Range<u64>, dst: &mut [u8]) -> Result<()> {
        let Some(path) = &meta.path else {
            return crate::arrow::check_empty_source(meta, &items);
        };
        let footer = self.footer(path, meta)?;
        let ts = footer.typesize as u64;
        if ts != u64::from(meta.typesize) || footer.nbytes != meta.nbytes {
            return Err(corrupt(
                path,
                format!(
                    "frame holds {} bytes of typesize {ts}, the manifest says {} of {}",
                    footer.nbytes, meta.nbytes, meta.typesize
                ),
            ));
        }
        let (lo, hi) = (items.start * ts, items.end * ts);
        if lo >= hi {
            return Ok(());
        }
        if hi > footer.nbytes || dst.len() as u64 != hi - lo {
            return Err(Error::invalid(
                "items",
                format!(
                    "{}..{} of {path} ({} bytes)",
                    items.start, items.end, footer.nbytes
                ),
            ));
        }
        let cs = footer.chunksize.max(1);
        let (i0, i1) = (lo / cs, (hi - 1) / cs);
        if i1 as usize >= footer.chunks.len() {
            return Err(corrupt(path, format!("chunk {i1} missing from the index")));
        }
        // Split dst into one piece per chunk.
        let mut pieces = Vec::with_capacity((i1 - i0 + 1) as usize);
        let mut rest = dst;
        for i in i0..=i1 {
            let c0 = i * cs;
            let c1 = (c0 + cs).min(footer.nbytes);
            let (a, b) = (lo.max(c0), hi.min(c1));
            let (out, r) = rest.split_at_mut((b - a) as usize);
            rest = r;
            pieces.push(Piece {
                chunk: i as usize,
                len: c1 - c0,
                within: a - c0..b - c0,
                out,
                got: Got::Nothing,
            });
        }
        // A local file is checked before anything cached of it is used (see
        // `open_file`): a deleted frame is missing even if all its bytes are kept.
        let file = self.open_file(path).map_err(at(path))?;
        self.fetch_pieces(path, file.as_deref(), &footer, &mut pieces)?;
        let decode = |p: Piece| -> Result<()> { self.decode_piece(path, &footer, p) };
        // Several chunks of real size in parallel; small reads on this thread.
        let done = if pieces.len() > 1 && hi - lo >= 1 << 20 {
            pieces.into_par_iter().try_for_each(decode)
        } else {
            pieces.into_iter().try_for_each(decode)
        };
        if done.is_err() {
            // Kept bytes of a damaged frame are not served again.
            if let Ok(mut m) = self.cache.prefixes.lock() {
                m.forget(path);
            }
        }
        done
    }

    /// Fetches what each piece needs: whole chunks, or prefix then blocks. On
    /// remote stores the first request for a chunk's prefix goes out with a
    /// guess of where the blocks lie (their share of the chunk, one average block
    /// either side), which usually saves the second round trip.
    fn fetch_pieces(
        &self,
        path: &str,
        file: Option<&std::fs::File>,
        footer: &Footer,
        pieces: &mut [Piece],
    ) -> Result<()> {
        // Round 1: whole chunks, missing prefixes (and guesses).
        let mut ranges = Vec::new();
        let mut want = Vec::new(); // (piece, what: 0 whole, 1 prefix, 2 guess)
        let mut prefixes: Vec<Option<store::Bytes>> = vec![None; pieces.len()];
        let mut guesses: Vec<Option<(u64, store::Bytes)>> = vec![None; pieces.len()];
        for (k, p) in pieces.iter_mut().enumerate() {
            let Loc::Stored(a, b) = footer.chunks[p.chunk] else {
                continue;
            };
            let cached = self.prefix(path, p.chunk);
            if let Some(c) = cached.as_ref().filter(|c| c.len() as u64 == b - a) {
                p.got = Got::Whole(c.clone());
                continue;
            }
            let whole = p.within.start == 0 && p.within.end == p.len;
            let guess = (!self.io.is_local()).then(|| {
                let clen = b - a;
                let avg = clen / p.len.div_ceil(DEFAULT_BLOCKSIZE as u64).max(1) + 4096;
                let s0 = a + clen * p.within.start / p.len.max(1);
                let s1 = a + clen * p.within.end / p.len.max(1);
                s0.saturating_sub(avg).max(a)..(s1 + avg).min(b)
            });
            if whole
                || b - a <= WHOLE_CHUNK
                || (cached.is_none()
                    && guess
                        .as_ref()
                        .is_some_and(|g| 2 * (g.end - g.start) > b - a))
            {
                ranges.push(a..b);
                want.push((k, 0));
            } else if let Some(pre) = cached {
                prefixes[k] = Some(pre);
            } else {
                let n = 32 + 4 * p.len.div_ceil(MIN_BLOCK_GUESS) + 64;
                ranges.push(a..b.min(a + n));
                want.push((k, 1));
                if let Some(g) = guess {
                    ranges.push(g);
                    want.push((k, 2));
                }
            }
        }
        if !ranges.is_empty() {
            let got = self.fetch(path, file, &ranges)?;
            for (((k, what), bytes), r) in want.into_iter().zip(got).zip(&ranges) {
                match what {
                    0 => {
                        if bytes.len() as u64 <= KEEP_WHOLE {
                            if let Ok(mut m) = self.cache.prefixes.lock() {
                                m.insert(path, pieces[k].chunk, &bytes);
                            }
                        }
                        pieces[k].got = Got::Whole(bytes)
                    }
                    1 => prefixes[k] = Some(bytes),
                    _ => guesses[k] = Some((r.start, bytes)),
                }
            }
        }
        // Rounds 2+: plan from the prefixes, fetch longer prefixes or the blocks
        // (those the guess does not hold).
        loop {
            let mut ranges = Vec::new();
            let mut want = Vec::new(); // (piece, plan)
            for (k, p) in pieces.iter().enumerate() {
                let (Some(pre), Loc::Stored(a, b)) = (&prefixes[k], footer.chunks[p.chunk]) else {
                    continue;
                };
                let clen = (b - a) as usize;
                let within = p.within.start as usize..p.within.end as usize;
                let plan = chunk::partial::plan(pre, clen, within).map_err(at(path))?;
                let held = |r: &Range<usize>| {
                    guesses[k].as_ref().is_some_and(|(g, bytes)| {
                        a + r.start as u64 >= *g && a + r.end as u64 <= g + bytes.len() as u64
                    })
                };
                match &plan {
                    Plan::Whole => ranges.push(a..b),
                    Plan::NeedPrefix(n) if *n > pre.len() && *n <= clen => {
                        ranges.push(a..a + *n as u64)
                    }
                    Plan::NeedPrefix(_) => {
                        return Err(corrupt(path, format!("chunk {} prefix", p.chunk)))
                    }
                    Plan::Raw(r) => ranges.push(a + r.start as u64..a + r.end as u64),
                    Plan::Blocks(rs) => ranges.extend(
                        rs.iter()
                            .filter(|r| !held(r))
                            .map(|r| a + r.start as u64..a + r.end as u64),
                    ),
                }
                want.push((k, plan));
            }
            if want.is_empty() {
                return Ok(());
            }
            let mut got = self.fetch(path, file, &ranges)?.into_iter();
            let mut next = || got.next().ok_or_else(|| corrupt(path, "short read"));
            for (k, plan) in want {
                let pre = prefixes[k].take().unwrap_or_default();
                match plan {
                    Plan::Whole => pieces[k].got = Got::Whole(next()?),
                    Plan::NeedPrefix(_) => prefixes[k] = Some(next()?),
                    Plan::Raw(_) => pieces[k].got = Got::Raw(next()?),
                    Plan::Blocks(rs) => {
                        if let Ok(mut m) = self.cache.prefixes.lock() {
                            m.insert(path, pieces[k].chunk, &pre);
                        }
                        let Loc::Stored(a, _) = footer.chunks[pieces[k].chunk] else {
                            return Err(corrupt(path, "short read"));
                        };
                        let mut bytes = Vec::with_capacity(rs.len());
                        for r in &rs {
                            let from_guess = guesses[k].as_ref().and_then(|(g, gb)| {
                                let s = (a + r.start as u64).checked_sub(*g)? as usize;
                                gb.get(s..s + r.len()).map(|_| gb.slice(s..s + r.len()))
                            });
                            bytes.push(match from_guess {
                                Some(b) => b,
                                None => next()?,
                            });
                        }
                        pieces[k].got = Got::Blocks(pre, rs, bytes);
                    }
                }
            }
        }
    }

    fn decode_piece(&self, path: &str, footer: &Footer, p: Piece) -> Result<()> {
        let Piece {
            chunk: i,
            len: n,
            within,
            out,
            got,
        } = p;
        let items = |ts: u64| (within.start / ts) as usize..within.end.div_ceil(ts) as usize;
        let special;
        let c: &[u8] = match (&got, footer.chunks[i]) {
            (Got::Whole(b), _) => b,
            (Got::Raw(b), _) => {
                if b.len() != out.len() {
                    return Err(corrupt(path, "short read"));
                }
                out.copy_from_slice(b);
                return Ok(());
            }
            (Got::Blocks(pre, rs, bytes), _) => {
                let ts = u64::from(pre.get(3).copied().unwrap_or(1).max(1));
                let parts: Vec<&[u8]> = bytes.iter().map(|b| &b[..]).collect();
                chunk::partial::decode_items(pre, rs, &parts, items(ts), out).map_err(at(path))?;
                return Ok(());
            }
            (Got::Nothing, Loc::Special(k)) => {
                special = chunk::special(k, n as usize, footer.typesize, None)?;
                &special
            }
            (Got::Nothing, Loc::Stored(..)) => return Err(corrupt(path, "short read")),
        };
        let h = ChunkHeader::parse(c).map_err(at(path))?;
        if h.nbytes as u64 != n {
            return Err(corrupt(
                path,
                format!("chunk {i} holds {} bytes, expected {n}", h.nbytes),
            ));
        }
        if within.start == 0 && within.end == n {
            chunk::decompress_into(c, out, &DParams::default()).map_err(at(path))?;
        } else {
            chunk::decompress_items_into(c, items(h.typesize.max(1) as u64), out)
                .map_err(at(path))?;
        }
        Ok(())
    }
}

impl BufferSource for FrameReader {
    fn read_into(&self, buffer: &BufferMeta, items: Range<u64>, dst: &mut [u8]) -> Result<()> {
        self.read(buffer, items, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CParams, SChunk, Storage};

    #[test]
    fn kept_prefixes_are_copies_that_do_not_pin_the_read_they_came_from() {
        let read = store::Bytes::from(vec![7u8; 1 << 20]);
        let mut p = Prefixes::default();
        p.insert("a", 3, &read.slice(100..400));
        let kept = p.get("a", 3).unwrap();
        assert_eq!(&kept[..], &read[100..400]);
        let inside = read.as_ptr_range();
        assert!(!inside.contains(&kept.as_ptr()), "kept a slice of the read");
        assert_eq!((p.count, p.bytes), (1, 300));
        assert_eq!(p.get("a", 2), None);
        // Beyond the byte bound everything is forgotten first.
        p.bytes = CACHED_BYTES;
        p.insert("b", 0, b"xy");
        assert_eq!((p.get("a", 3), p.count, p.bytes), (None, 1, 2));
    }

    #[test]
    fn footer_from_probes_matches_the_frame() {
        let cp = CParams::default().with_typesize(4);
        let mut sc = SChunk::with_storage(
            cp,
            DParams::default(),
            &Storage::default().with_chunksize(4000),
        )
        .unwrap();
        let data: Vec<u8> = (0..25_000u32).flat_map(|v| v.to_le_bytes()).collect();
        sc.append(&data).unwrap();
        let f = sc.to_cframe().unwrap();
        let len = f.len() as u64;
        let tail = &f[f.len().saturating_sub(8192)..];
        let foot = parse_footer("x", len, &f[..4096.min(f.len())], tail, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                foot.typesize,
                foot.nbytes,
                foot.chunksize,
                foot.chunks.len()
            ),
            (4, 100_000, 4000, 25)
        );
        let s = Store::from_object_store(
            std::sync::Arc::new(object_store::memory::InMemory::new()),
            Default::default(),
        );
        store::block_on(s.put("x", f.clone().into()))
            .unwrap()
            .unwrap();
        let r = FrameReader::new(s.clone());
        let meta = BufferMeta {
            role: crate::arrow::BufferRole::Values,
            path: Some("x".into()),
            typesize: 4,
            nbytes: 100_000,
            cbytes: 0,
            frame_len: len,
            chunksize: 0,
            chunk_offsets: Vec::new(),
        };
        let mut out = vec![0u8; 4 * 2000];
        r.read(&meta, 999..2999, &mut out).unwrap();
        assert_eq!(out, data[999 * 4..2999 * 4]);
        // A truncated frame is a typed error naming the path.
        store::block_on(s.put("y", f[..f.len() - 10].to_vec().into()))
            .unwrap()
            .unwrap();
        let e = store::block_on(load_footer(&s, "y", len - 10))
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Dataset {
                    kind: DatasetErrorKind::Corrupt,
                    ..
                }
            ),
            "{e}"
        );
    }
}
