//! Range reads of contiguous frames in an object store: the footer (fixed
//! header, offsets index, trailer length) comes from one coalesced request for the
//! first and last few KiB of the object, is cached per reader, and then an item
//! range costs one coalesced request for exactly the chunks that hold it.
//!
//! ```text
//! frame = header (header_len) | chunks (cbytes) | offsets index | trailer (trailer_len)
//!          ^ probe [0, 4 KiB)                          probe [len - 8 KiB, len) ^
//! ```

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::arrow::{BufferMeta, BufferSource};
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

/// Reads column frames of one dataset, caching footers.
#[derive(Debug)]
pub(crate) struct FrameReader {
    pub(crate) store: Store,
    footers: Mutex<HashMap<String, Arc<Footer>>>,
}

impl FrameReader {
    pub(crate) fn new(store: Store) -> Self {
        FrameReader {
            store,
            footers: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, path: &str) -> Option<Arc<Footer>> {
        self.footers.lock().ok()?.get(path).cloned()
    }

    /// The footer of the frame at `path` (of `len` bytes), from the cache or the store.
    pub(crate) async fn footer(&self, path: &str, len: u64) -> Result<Arc<Footer>> {
        if let Some(f) = self.cached(path) {
            return Ok(f);
        }
        let f = Arc::new(load_footer(&self.store, path, len).await?);
        if let Ok(mut m) = self.footers.lock() {
            m.insert(path.to_string(), f.clone());
        }
        Ok(f)
    }

    /// Loads the footers of `frames` (path, length) concurrently.
    pub(crate) fn prefetch(&self, frames: &[(String, u64)]) -> Result<()> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let todo: Vec<&(String, u64)> = frames
            .iter()
            .filter(|(p, _)| self.cached(p).is_none())
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        store::block_on(async {
            stream::iter(todo)
                .map(|(p, l)| self.footer(p, *l))
                .buffer_unordered(16)
                .try_collect::<Vec<_>>()
                .await
        })??;
        Ok(())
    }

    fn read(&self, meta: &BufferMeta, items: Range<u64>, dst: &mut [u8]) -> Result<()> {
        let Some(path) = &meta.path else {
            return crate::arrow::check_empty_source(meta, &items);
        };
        let footer = store::block_on(self.footer(path, meta.frame_len))??;
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
        let idx: Vec<usize> = (i0 as usize..=i1 as usize).collect();
        let ranges: Vec<Range<u64>> = idx
            .iter()
            .filter_map(|&i| match footer.chunks.get(i) {
                Some(Loc::Stored(a, b)) => Some(*a..*b),
                _ => None,
            })
            .collect();
        if idx.iter().any(|&i| i >= footer.chunks.len()) {
            return Err(corrupt(path, format!("chunk {i1} missing from the index")));
        }
        let fetched = store::block_on(self.store.get_ranges(path, &ranges))?.map_err(at(path))?;
        // Split dst into one piece per chunk.
        let mut pieces = Vec::with_capacity(idx.len());
        let mut rest = dst;
        let mut fetched = fetched.into_iter();
        for &i in &idx {
            let c0 = i as u64 * cs;
            let c1 = (c0 + cs).min(footer.nbytes);
            let (a, b) = (lo.max(c0), hi.min(c1));
            let (piece, r) = rest.split_at_mut((b - a) as usize);
            rest = r;
            let bytes = match footer.chunks[i] {
                Loc::Stored(..) => Some(fetched.next().ok_or_else(|| corrupt(path, "short read"))?),
                Loc::Special(_) => None,
            };
            pieces.push((i, c1 - c0, a - c0..b - c0, piece, bytes));
        }
        let decode = |(i, n, within, out, bytes): (
            usize,
            u64,
            Range<u64>,
            &mut [u8],
            Option<store::Bytes>,
        )|
         -> Result<()> {
            let special;
            let c: &[u8] = match (&bytes, footer.chunks[i]) {
                (Some(b), _) => b,
                (None, Loc::Special(k)) => {
                    special = chunk::special(k, n as usize, footer.typesize, None)?;
                    &special
                }
                (None, Loc::Stored(..)) => return Err(corrupt(path, "short read")),
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
                let cts = h.typesize.max(1) as u64;
                let items = (within.start / cts) as usize..within.end.div_ceil(cts) as usize;
                chunk::decompress_items_into(c, items, out).map_err(at(path))?;
            }
            Ok(())
        };
        if pieces.len() > 1 {
            pieces.into_par_iter().try_for_each(decode)
        } else {
            pieces.into_iter().try_for_each(decode)
        }
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
