//! Editing a super-chunk (spec §I): item-level `set_slice` (which grows the
//! super-chunk like python's `schunk[a:b] = data`), chunk-level insert, update and
//! delete, and iteration over chunks.
//!
//! A chunk whose size differs from `chunksize` anywhere but at the end makes the
//! frame variable-size when serialised (version 3, `chunksize` 0), as C-Blosc2 does;
//! special offsets are then stored as real chunks.

use std::borrow::Cow;
use std::ops::Range;

use crate::chunk::{self, splice};
use crate::error::{Error, Result};
use crate::schunk::{disk, out_of_range, SChunk, Slot};

/// An iterator over the compressed chunks of a super-chunk (see [`SChunk::chunk`]).
#[derive(Debug)]
pub struct Chunks<'a> {
    sc: &'a SChunk,
    next: usize,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Cow<'a, [u8]>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.sc.nchunks() {
            return None;
        }
        self.next += 1;
        Some(self.sc.chunk(self.next - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.sc.nchunks().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl SChunk {
    /// Iterates over the compressed chunks (buffered data comes last, compressed).
    pub fn iter_chunks(&self) -> Chunks<'_> {
        Chunks { sc: self, next: 0 }
    }

    fn lens(&self) -> Vec<usize> {
        (0..self.chunks.len()).map(|i| self.chunk_len(i)).collect()
    }

    fn set_lens(&mut self, lens: &[usize]) {
        self.ends.clear();
        let mut total = 0;
        for l in lens {
            total += l;
            self.ends.push(total);
        }
    }

    fn replace_slot(&mut self, i: usize, slot: Slot, nbytes: usize) {
        self.cbytes -= Self::slot_len(&self.chunks[i]);
        self.cbytes += Self::slot_len(&slot);
        self.chunks[i] = slot;
        if nbytes != self.chunk_len(i) {
            let mut lens = self.lens();
            lens[i] = nbytes;
            self.set_lens(&lens);
        }
    }

    /// Inserts an already-compressed chunk before chunk `i` (`i == nchunks` appends).
    /// Buffered data is first stored as a chunk.
    ///
    /// # Errors
    /// `InvalidArgument` for `i > nchunks` or a chunk that is not whole items;
    /// `Corrupt` for an invalid chunk; `Io` for a file-backed super-chunk.
    pub fn insert_chunk(&mut self, i: usize, chunk: Vec<u8>) -> Result<()> {
        let (chunk, nbytes) = self.checked_chunk(chunk)?;
        disk::check_writable(&self.disk)?;
        if i > self.nchunks() {
            return Err(Error::invalid(
                "chunk",
                format!("{i}, expected at most {}", self.nchunks()),
            ));
        }
        self.settle()?;
        let mut lens = self.lens();
        lens.insert(i, nbytes);
        self.cbytes += chunk.len();
        self.chunks.insert(i, Slot::Mem(chunk));
        self.set_lens(&lens);
        self.commit()
    }

    /// Replaces chunk `i` with an already-compressed chunk (of any whole number of items).
    ///
    /// # Errors
    /// As [`SChunk::insert_chunk`], with `i < nchunks`.
    pub fn update_chunk(&mut self, i: usize, chunk: Vec<u8>) -> Result<()> {
        let (chunk, nbytes) = self.checked_chunk(chunk)?;
        disk::check_writable(&self.disk)?;
        if i >= self.nchunks() {
            return Err(out_of_range(i, self.nchunks()));
        }
        self.settle()?;
        self.replace_slot(i, Slot::Mem(chunk), nbytes);
        self.commit()
    }

    /// Removes chunk `i`.
    ///
    /// # Errors
    /// `InvalidArgument` for `i >= nchunks`; `Io` for a file-backed super-chunk.
    pub fn delete_chunk(&mut self, i: usize) -> Result<()> {
        disk::check_writable(&self.disk)?;
        if i >= self.nchunks() {
            return Err(out_of_range(i, self.nchunks()));
        }
        self.settle()?;
        let mut lens = self.lens();
        lens.remove(i);
        let s = self.chunks.remove(i);
        self.cbytes -= Self::slot_len(&s);
        self.set_lens(&lens);
        self.commit()
    }

    /// Compresses `data` (whole items, at most 2 GiB − 32 bytes) with the super-chunk's
    /// parameters and inserts it as chunk `i`.
    ///
    /// # Errors
    /// As [`SChunk::insert_chunk`] and [`chunk::compress`].
    pub fn insert_data(&mut self, i: usize, data: &[u8]) -> Result<()> {
        self.check_items(data.len(), "data")?;
        let c = chunk::compress(&self.cparams, data)?;
        self.insert_chunk(i, c)
    }

    /// Compresses `data` with the super-chunk's parameters and makes it chunk `i`.
    ///
    /// # Errors
    /// As [`SChunk::update_chunk`] and [`chunk::compress`].
    pub fn update_data(&mut self, i: usize, data: &[u8]) -> Result<()> {
        self.check_items(data.len(), "data")?;
        let c = chunk::compress(&self.cparams, data)?;
        self.update_chunk(i, c)
    }

    /// Writes `data` over items `items`, like python's `schunk[a:b] = data`.
    ///
    /// Items inside the super-chunk are rewritten chunk by chunk; when a chunk is only
    /// partly covered, only the blocks the range touches are decoded and re-encoded
    /// (whole-chunk re-encode for memcpyed, special and DELTA chunks). When
    /// `items.end > nitems` the super-chunk grows as [`SChunk::append`] does (the
    /// last chunk is completed, then chunks of `chunksize` follow).
    ///
    /// # Errors
    /// `InvalidArgument` when `items.start > nitems`, the range is reversed or
    /// `data` is not `items.len() * typesize` bytes; codec errors; `Io`.
    pub fn set_slice(&mut self, items: Range<usize>, data: &[u8]) -> Result<()> {
        let ts = self.typesize();
        if items.start > items.end || items.start > self.nitems() {
            return Err(Error::invalid(
                "items",
                format!(
                    "{}..{}, expected a start within 0..={}",
                    items.start,
                    items.end,
                    self.nitems()
                ),
            ));
        }
        let want = (items.end - items.start).checked_mul(ts);
        if want != Some(data.len()) {
            return Err(Error::invalid(
                "data",
                format!(
                    "{} bytes for {} items of {ts} bytes",
                    data.len(),
                    items.end - items.start
                ),
            ));
        }
        disk::check_writable(&self.disk)?;
        let nb = self.nbytes();
        let (bstart, bend) = (items.start * ts, items.end * ts);
        let inside_end = bend.min(nb);
        if bstart < inside_end {
            let mut i = self.ends.partition_point(|&e| e <= bstart);
            let mut changed = false;
            while i < self.chunks.len() && self.chunk_start(i) < inside_end {
                let cstart = self.chunk_start(i);
                let cend = self.ends[i];
                let (lo, hi) = (bstart.max(cstart) - cstart, inside_end.min(cend) - cstart);
                let patch = &data[cstart + lo - bstart..cstart + hi - bstart];
                let c = self.patched_chunk(i, lo, patch)?;
                let n = self.chunk_len(i);
                self.replace_slot(i, Slot::Mem(c), n);
                changed = true;
                i += 1;
            }
            let sn = self.stored_nbytes();
            if inside_end > sn {
                let from = bstart.max(sn);
                self.pending[from - sn..inside_end - sn]
                    .copy_from_slice(&data[from - bstart..inside_end - bstart]);
            }
            if changed {
                self.commit()?;
            }
        }
        if bend > nb {
            self.append(&data[inside_end - bstart..])?;
        }
        Ok(())
    }

    /// Chunk `i` with bytes `lo..lo + patch.len()` replaced.
    fn patched_chunk(&self, i: usize, lo: usize, patch: &[u8]) -> Result<Vec<u8>> {
        if lo == 0 && patch.len() == self.chunk_len(i) {
            return chunk::compress(&self.cparams, patch);
        }
        let c = self.load(i)?;
        if let Some(p) = splice::patch_blocks(&c, lo, patch, self.cparams.clevel)? {
            return Ok(p);
        }
        let mut raw = chunk::decompress(&c, &self.dparams)?;
        self.check_chunk_nbytes(i, raw.len())?;
        raw[lo..lo + patch.len()].copy_from_slice(patch);
        chunk::compress(&self.cparams, &raw)
    }
}

#[cfg(test)]
mod tests {
    use crate::chunk::params::{CParams, Codec, DParams, Filter};
    use crate::schunk::{SChunk, Storage};

    fn sc(cs: usize) -> SChunk {
        let cp = CParams::default()
            .with_codec(Codec::Lz4)
            .with_typesize(4)
            .with_filters([Filter::Shuffle]);
        SChunk::with_storage(
            cp,
            DParams::default(),
            &Storage::default().with_chunksize(cs),
        )
        .unwrap()
    }

    #[test]
    fn set_slice_grows_like_python() {
        // chunksize 10 items, chunks of 10+5 items, s[12:33] = … → 10, 10, 10, 3 items.
        let mut s = sc(40);
        let d: Vec<u8> = (0..15u32).flat_map(|v| v.to_le_bytes()).collect();
        s.append(&d).unwrap();
        s.flush().unwrap();
        let new: Vec<u8> = (100..121u32).flat_map(|v| v.to_le_bytes()).collect();
        s.set_slice(12..33, &new).unwrap();
        s.flush().unwrap();
        let lens: Vec<usize> = (0..s.nchunks())
            .map(|i| s.decompress_chunk(i).unwrap().len() / 4)
            .collect();
        assert_eq!(lens, [10, 10, 10, 3]);
        let mut want = d[..48].to_vec();
        want.extend_from_slice(&new);
        assert_eq!(s.read(0..33).unwrap(), want);
        assert!(s.set_slice(34..35, &[0; 4]).is_err());
        assert!(s.set_slice(0..1, &[0; 8]).is_err());
    }

    #[test]
    fn chunk_edits_make_the_frame_variable_when_needed() {
        let mut s = sc(4000);
        let d: Vec<u8> = (0..3000u32).flat_map(|v| v.to_le_bytes()).collect();
        s.append(&d).unwrap();
        s.insert_data(1, &d[..400]).unwrap();
        let f = crate::frame::cframe::parse(&s.to_cframe().unwrap()).unwrap();
        assert_eq!((f.header.chunksize, f.header.general_flags), (0, 0x53));
        s.delete_chunk(1).unwrap();
        let f = crate::frame::cframe::parse(&s.to_cframe().unwrap()).unwrap();
        assert_eq!((f.header.chunksize, f.header.general_flags), (4000, 0x12));
        s.update_data(0, &d[4000..8000]).unwrap();
        assert_eq!(s.read(0..1000).unwrap(), d[4000..8000]);
        assert_eq!(s.iter_chunks().count(), 3);
        assert!(s.delete_chunk(3).is_err());
        assert!(s.insert_data(5, &d[..4]).is_err());
    }
}
