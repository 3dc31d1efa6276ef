//! b2nd N-dimensional arrays ([`NdArray`]): the partition of an array into
//! chunks and blocks over a [`SChunk`] (spec §G.3), described by the `b2nd`
//! metalayer ([`NdMeta`]).
//!
//! ```text
//! chunk  = blocks in C order over the grid extchunkshape / blockshape
//! block  = prod(blockshape) items in C order; items outside the array are zero padding
//! ```
//!
//! Slice reads decode only the chunks, and inside them only the blocks, that
//! the slice touches.

use std::ops::Range;
use std::path::Path;

use crate::chunk::{self, ChunkHeader};
use crate::error::{Error, Result};
use crate::schunk::{SChunk, Storage};
use crate::tensor::meta::{meta_err, B2ND_METALAYER};
use crate::tensor::{DType, NdMeta};
use crate::{CParams, DParams};

/// Row-major strides (in items) of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Calls `f` with every multi-index of `extent` in C order (never when an extent is 0).
fn for_each_index(extent: &[usize], mut f: impl FnMut(&[usize]) -> Result<()>) -> Result<()> {
    if extent.contains(&0) {
        return Ok(());
    }
    let mut idx = vec![0usize; extent.len()];
    loop {
        f(&idx)?;
        let mut d = extent.len();
        loop {
            if d == 0 {
                return Ok(());
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < extent[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// One side of a region copy: a C-order buffer of `shape` items and the region's origin in it.
struct View<'a> {
    strides: &'a [usize],
    origin: &'a [usize],
}

/// Copies the region of `extent` items from `src` to `dst`, row by row (the last
/// dimension is contiguous in both).
fn copy_region(
    src: &[u8],
    s: &View<'_>,
    dst: &mut [u8],
    d: &View<'_>,
    extent: &[usize],
    item: usize,
) {
    let nd = extent.len();
    let row = extent[nd - 1] * item;
    let outer = &extent[..nd - 1];
    let _ = for_each_index(outer, |idx| {
        let (mut so, mut dof) = (s.origin[nd - 1], d.origin[nd - 1]);
        for (k, &i) in idx.iter().enumerate() {
            so += (s.origin[k] + i) * s.strides[k];
            dof += (d.origin[k] + i) * d.strides[k];
        }
        dst[dof * item..dof * item + row].copy_from_slice(&src[so * item..so * item + row]);
        Ok(())
    });
}

/// A block a slice touches: its index in the chunk, the part of the slice inside it
/// (global start and extent) and its global origin.
struct Touched {
    lin: usize,
    start: Vec<usize>,
    ext: Vec<usize>,
    origin: Vec<usize>,
}

/// Precomputed geometry (0-d arrays are treated as shape `[1]`).
#[derive(Debug, Clone)]
struct Geometry {
    shape: Vec<usize>,
    chunks: Vec<usize>,
    blocks: Vec<usize>,
    item: usize,
    chunk_grid: Vec<usize>,
    block_grid: Vec<usize>,
    block_strides: Vec<usize>,
    block_nbytes: usize,
    chunk_nbytes: usize,
}

impl Geometry {
    fn new(m: &NdMeta) -> Geometry {
        let (shape, chunks, blocks) = if m.ndim() == 0 {
            (vec![1], vec![1], vec![1])
        } else {
            (m.shape.clone(), m.chunks.clone(), m.blocks.clone())
        };
        let block_grid: Vec<usize> = chunks
            .iter()
            .zip(&blocks)
            .map(|(&c, &b)| if b == 0 { 0 } else { c.div_ceil(b) })
            .collect();
        let chunk_grid: Vec<usize> = shape
            .iter()
            .zip(&chunks)
            .map(|(&s, &c)| if s == 0 { 0 } else { s.div_ceil(c) })
            .collect();
        let item = m.dtype.itemsize();
        let block_nbytes = blocks.iter().product::<usize>() * item;
        Geometry {
            block_strides: strides(&blocks),
            chunk_nbytes: block_nbytes * block_grid.iter().product::<usize>(),
            block_nbytes,
            shape,
            chunks,
            blocks,
            item,
            chunk_grid,
            block_grid,
        }
    }

    /// For chunk `cc` and the (non-empty, inside the array) selection `sel`, calls `f`
    /// with (block index in the chunk, the part of `sel` inside that block as
    /// (global start, extent), the block's global origin), blocks in C order.
    fn blocks_in(
        &self,
        cc: &[usize],
        sel: &[Range<usize>],
        mut f: impl FnMut(usize, &[usize], &[usize], &[usize]) -> Result<()>,
    ) -> Result<()> {
        let nd = self.shape.len();
        let corigin: Vec<usize> = (0..nd).map(|k| cc[k] * self.chunks[k]).collect();
        let mut lo = vec![0; nd];
        let mut bext = vec![0; nd];
        for k in 0..nd {
            let cend = (corigin[k] + self.chunks[k]).min(self.shape[k]);
            let a = sel[k].start.max(corigin[k]);
            let b = sel[k].end.min(cend);
            if a >= b {
                return Ok(());
            }
            lo[k] = (a - corigin[k]) / self.blocks[k];
            bext[k] = (b - 1 - corigin[k]) / self.blocks[k] + 1 - lo[k];
        }
        let bstr = strides(&self.block_grid);
        let mut start = vec![0; nd];
        let mut ext = vec![0; nd];
        let mut borigin = vec![0; nd];
        for_each_index(&bext, |bi| {
            let mut lin = 0;
            for k in 0..nd {
                let b = lo[k] + bi[k];
                lin += b * bstr[k];
                borigin[k] = corigin[k] + b * self.blocks[k];
                let cend = (corigin[k] + self.chunks[k]).min(self.shape[k]);
                let a = sel[k].start.max(borigin[k]);
                let e = sel[k].end.min(cend).min(borigin[k] + self.blocks[k]);
                start[k] = a;
                ext[k] = e - a;
            }
            f(lin, &start, &ext, &borigin)
        })
    }
}

/// An N-dimensional array stored as a b2nd super-chunk.
///
/// ```
/// use b2frame::tensor::{DType, NdArray, NdMeta};
/// use b2frame::CParams;
/// let data: Vec<u8> = (0..70i32).flat_map(|v| v.to_le_bytes()).collect();
/// let meta = NdMeta::new(&[10, 7], &[4, 3], &[2, 2], DType::Int32)?;
/// let a = NdArray::from_c_order(&data, meta, CParams::default())?;
/// assert_eq!(a.nchunks(), 9);
/// let b = NdArray::from_cframe(&a.to_cframe()?)?;
/// // rows 2..4, columns 5..7
/// let s = b.read(&[2..4, 5..7])?;
/// assert_eq!(s, [19i32, 20, 26, 27].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
/// # Ok::<(), b2frame::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NdArray {
    schunk: SChunk,
    meta: NdMeta,
    geo: Geometry,
}

impl NdArray {
    /// Builds an array from its items in C order, cutting it into `meta`'s chunks and
    /// blocks (padding written as zeros, as python-blosc2 does). `cparams`' typesize and
    /// blocksize are replaced by the dtype's item size and the block size.
    ///
    /// # Errors
    /// `InvalidArgument` when `data` does not hold `nitems * itemsize` bytes or for
    /// invalid `cparams`; compression errors.
    pub fn from_c_order(data: &[u8], meta: NdMeta, cparams: CParams) -> Result<NdArray> {
        let geo = Geometry::new(&meta);
        let want = meta.nitems() * geo.item;
        if data.len() != want {
            return Err(Error::invalid(
                "data",
                format!(
                    "{} bytes, shape {:?} of {} needs {want}",
                    data.len(),
                    meta.shape,
                    meta.dtype
                ),
            ));
        }
        let cparams = cparams
            .with_typesize(geo.item)
            .with_blocksize(geo.block_nbytes);
        let storage = Storage::default()
            .with_chunksize(geo.chunk_nbytes)
            .with_meta(B2ND_METALAYER, meta.encode());
        let mut schunk = SChunk::with_storage(cparams, DParams::default(), &storage)?;
        let src_strides = strides(&geo.shape);
        let nd = geo.shape.len();
        let mut buf = vec![0u8; geo.chunk_nbytes];
        let full: Vec<Range<usize>> = geo.shape.iter().map(|&s| 0..s).collect();
        for_each_index(&geo.chunk_grid.clone(), |cc| {
            buf.fill(0);
            geo.blocks_in(cc, &full, |lin, start, ext, borigin| {
                let block = &mut buf[lin * geo.block_nbytes..(lin + 1) * geo.block_nbytes];
                let local: Vec<usize> = (0..nd).map(|k| start[k] - borigin[k]).collect();
                copy_region(
                    data,
                    &View {
                        strides: &src_strides,
                        origin: start,
                    },
                    block,
                    &View {
                        strides: &geo.block_strides,
                        origin: &local,
                    },
                    ext,
                    geo.item,
                );
                Ok(())
            })?;
            schunk.append(&buf)
        })?;
        Ok(NdArray { schunk, meta, geo })
    }

    /// Wraps a super-chunk that carries a `b2nd` metalayer, checking that its chunks
    /// match the geometry.
    ///
    /// # Errors
    /// `InvalidArgument` when there is no `b2nd` metalayer; `Corrupt` (part `NdMeta`) for
    /// a malformed metalayer or chunks that do not match it.
    pub fn from_schunk(schunk: SChunk) -> Result<NdArray> {
        let raw = schunk.metalayer(B2ND_METALAYER).ok_or_else(|| {
            Error::invalid(
                "schunk",
                "no 'b2nd' metalayer: this is a plain super-chunk, not an N-d array",
            )
        })?;
        let meta = NdMeta::decode(raw, schunk.typesize())?;
        let geo = Geometry::new(&meta);
        if schunk.typesize() != geo.item {
            return Err(meta_err(
                0,
                format!(
                    "dtype {} has {} bytes per item, the frame's typesize is {}",
                    meta.dtype,
                    geo.item,
                    schunk.typesize()
                ),
            ));
        }
        let nchunks = if meta.ndim() == 0 { 1 } else { meta.nchunks() };
        if schunk.nchunks() != nchunks {
            return Err(meta_err(
                0,
                format!(
                    "the frame has {} chunks, shape {:?} / chunks {:?} needs {nchunks}",
                    schunk.nchunks(),
                    meta.shape,
                    meta.chunks
                ),
            ));
        }
        for i in 0..nchunks {
            let n = ChunkHeader::parse(&schunk.chunk(i)?)?.nbytes;
            if n != geo.chunk_nbytes {
                return Err(meta_err(
                    0,
                    format!(
                        "chunk {i} holds {n} bytes, the b2nd geometry needs {}",
                        geo.chunk_nbytes
                    ),
                ));
            }
        }
        Ok(NdArray { schunk, meta, geo })
    }

    /// Opens a `.b2nd` file (contiguous frame) or sparse-frame directory.
    ///
    /// # Errors
    /// `Io`, frame errors, and those of [`NdArray::from_schunk`].
    pub fn open(path: impl AsRef<Path>) -> Result<NdArray> {
        NdArray::from_schunk(SChunk::open(path)?)
    }

    /// Opens a contiguous frame held in memory.
    ///
    /// # Errors
    /// Frame errors and those of [`NdArray::from_schunk`].
    pub fn from_cframe(bytes: &[u8]) -> Result<NdArray> {
        NdArray::from_schunk(SChunk::from_cframe(bytes)?)
    }

    /// Serialises the array as a contiguous frame (the bytes of a `.b2nd` file).
    ///
    /// # Errors
    /// As [`SChunk::to_cframe`].
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        self.schunk.to_cframe()
    }

    /// Writes the array to `path` (a `.b2nd` file by convention).
    ///
    /// # Errors
    /// As [`SChunk::save`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.schunk.save(path)
    }

    /// The metalayer content (shape, chunks, blocks, dtype).
    pub fn meta(&self) -> &NdMeta {
        &self.meta
    }

    /// The array shape.
    pub fn shape(&self) -> &[usize] {
        &self.meta.shape
    }

    /// The element type.
    pub fn dtype(&self) -> &DType {
        &self.meta.dtype
    }

    /// Number of items.
    pub fn nitems(&self) -> usize {
        self.meta.nitems()
    }

    /// Number of chunks.
    pub fn nchunks(&self) -> usize {
        self.schunk.nchunks()
    }

    /// The underlying super-chunk.
    pub fn schunk(&self) -> &SChunk {
        &self.schunk
    }

    /// Gives back the underlying super-chunk.
    pub fn into_schunk(self) -> SChunk {
        self.schunk
    }

    /// The whole array in C order.
    ///
    /// # Errors
    /// Decoding errors.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let full: Vec<Range<usize>> = self.meta.shape.iter().map(|&s| 0..s).collect();
        self.read(&full)
    }

    /// The items of the slice `ranges` (one `start..stop` per dimension, none for a
    /// 0-d array) in C order.
    ///
    /// # Errors
    /// As [`NdArray::read_into`].
    pub fn read(&self, ranges: &[Range<usize>]) -> Result<Vec<u8>> {
        let n = self.check_ranges(ranges)?;
        let mut out = vec![0u8; n * self.geo.item];
        self.read_into(ranges, &mut out)?;
        Ok(out)
    }

    /// Number of items in `ranges`, after checking them against the shape.
    fn check_ranges(&self, ranges: &[Range<usize>]) -> Result<usize> {
        if ranges.len() != self.meta.ndim() {
            return Err(Error::invalid(
                "ranges",
                format!("{} ranges for a {}-d array", ranges.len(), self.meta.ndim()),
            ));
        }
        for (k, r) in ranges.iter().enumerate() {
            if r.start > r.end || r.end > self.meta.shape[k] {
                return Err(Error::invalid(
                    "ranges",
                    format!(
                        "dimension {k}: {}..{}, expected within 0..{}",
                        r.start, r.end, self.meta.shape[k]
                    ),
                ));
            }
        }
        Ok(ranges.iter().map(|r| r.end - r.start).product())
    }

    /// Decodes the slice `ranges` into `dst` (C order), decoding only the chunks and,
    /// inside them, the blocks the slice touches. Returns the bytes written.
    ///
    /// # Errors
    /// `InvalidArgument` for ranges outside the shape or a short `dst`; decoding errors.
    pub fn read_into(&self, ranges: &[Range<usize>], dst: &mut [u8]) -> Result<usize> {
        let n = self.check_ranges(ranges)?;
        let len = n * self.geo.item;
        if dst.len() < len {
            return Err(Error::invalid(
                "dst",
                format!("{} bytes, the slice holds {len}", dst.len()),
            ));
        }
        if n == 0 {
            return Ok(0);
        }
        let g = &self.geo;
        let max = self.schunk.dparams().max_nbytes;
        if g.chunk_nbytes > max {
            return Err(Error::limit(
                "decompressed chunk",
                g.chunk_nbytes as u64,
                max as u64,
            ));
        }
        let sel: Vec<Range<usize>> = if ranges.is_empty() {
            std::iter::once(0..1).collect()
        } else {
            ranges.to_vec()
        };
        let nd = sel.len();
        let out_shape: Vec<usize> = sel.iter().map(|r| r.end - r.start).collect();
        let out_strides = strides(&out_shape);
        let cgrid_strides = strides(&g.chunk_grid);
        let clo: Vec<usize> = (0..nd).map(|k| sel[k].start / g.chunks[k]).collect();
        let cext: Vec<usize> = (0..nd)
            .map(|k| (sel[k].end - 1) / g.chunks[k] + 1 - clo[k])
            .collect();
        let nblocks: usize = g.block_grid.iter().product();
        let mut scratch = vec![0u8; g.chunk_nbytes];
        let mut touched: Vec<Touched> = Vec::new();
        let dst = &mut dst[..len];
        for_each_index(&cext, |ci| {
            let cc: Vec<usize> = (0..nd).map(|k| clo[k] + ci[k]).collect();
            let cidx: usize = (0..nd).map(|k| cc[k] * cgrid_strides[k]).sum();
            touched.clear();
            g.blocks_in(&cc, &sel, |lin, start, ext, borigin| {
                touched.push(Touched {
                    lin,
                    start: start.to_vec(),
                    ext: ext.to_vec(),
                    origin: borigin.to_vec(),
                });
                Ok(())
            })?;
            let c = self.schunk.chunk(cidx)?;
            self.decode_blocks(&c, &touched, nblocks, &mut scratch)?;
            for Touched {
                lin,
                start,
                ext,
                origin: borigin,
            } in &touched
            {
                let block = &scratch[lin * g.block_nbytes..(lin + 1) * g.block_nbytes];
                let local: Vec<usize> = (0..nd).map(|k| start[k] - borigin[k]).collect();
                let dorigin: Vec<usize> = (0..nd).map(|k| start[k] - sel[k].start).collect();
                copy_region(
                    block,
                    &View {
                        strides: &g.block_strides,
                        origin: &local,
                    },
                    dst,
                    &View {
                        strides: &out_strides,
                        origin: &dorigin,
                    },
                    ext,
                    g.item,
                );
            }
            Ok(())
        })?;
        Ok(len)
    }

    /// Decodes the blocks `touched` (sorted block indices) of chunk `c` into their places
    /// in `scratch`: the whole chunk when every block is needed, else each run of
    /// consecutive blocks through an item-range read.
    fn decode_blocks(
        &self,
        c: &[u8],
        touched: &[Touched],
        nblocks: usize,
        scratch: &mut [u8],
    ) -> Result<()> {
        let bn = self.geo.block_nbytes;
        let h = ChunkHeader::parse(c)?;
        if h.nbytes != scratch.len() {
            return Err(meta_err(
                0,
                format!(
                    "chunk holds {} bytes, the b2nd geometry needs {}",
                    h.nbytes,
                    scratch.len()
                ),
            ));
        }
        let cts = h.typesize.max(1);
        if touched.len() == nblocks || !bn.is_multiple_of(cts) {
            chunk::decompress_into(c, scratch, self.schunk.dparams())?;
            return Ok(());
        }
        let mut i = 0;
        while i < touched.len() {
            let first = touched[i].lin;
            let mut last = first;
            while i + 1 < touched.len() && touched[i + 1].lin == last + 1 {
                i += 1;
                last += 1;
            }
            let (a, b) = (first * bn, (last + 1) * bn);
            chunk::decompress_items_into(c, a / cts..b / cts, &mut scratch[a..b])?;
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i32s(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn chunk_layout_pads_block_by_block() {
        // Spec §G.3 worked example: a[i, j] = 100 + 7i + j.
        let data: Vec<i32> = (0..70).map(|k| 100 + k).collect();
        let m = NdMeta::new(&[10, 7], &[4, 3], &[2, 2], DType::Int32).unwrap();
        let a = NdArray::from_c_order(&i32s(&data), m, CParams::default()).unwrap();
        let c0 = a.schunk().decompress_chunk(0).unwrap();
        assert_eq!(
            c0,
            i32s(&[100, 101, 107, 108, 102, 0, 109, 0, 114, 115, 121, 122, 116, 0, 123, 0])
        );
        assert_eq!(a.to_vec().unwrap(), i32s(&data));
        assert_eq!(a.read(&[9..10, 6..7]).unwrap(), i32s(&[169]));
        assert_eq!(a.read(&[3..5, 2..4]).unwrap(), i32s(&[123, 124, 130, 131]));
        assert!(a.read(&[0..11, 0..1]).is_err());
        assert!(a.read(std::slice::from_ref(&(0..1))).is_err());
        assert!(a.read(&[3..3, 0..7]).unwrap().is_empty());
    }

    #[test]
    fn zero_d_and_empty_arrays() {
        let m = NdMeta::new(&[], &[], &[], DType::Float64).unwrap();
        let a = NdArray::from_c_order(&2.5f64.to_le_bytes(), m, CParams::default()).unwrap();
        let b = NdArray::from_cframe(&a.to_cframe().unwrap()).unwrap();
        assert_eq!(b.to_vec().unwrap(), 2.5f64.to_le_bytes());
        let m = NdMeta::new(&[0, 5], &[0, 5], &[0, 5], DType::Float64).unwrap();
        let a = NdArray::from_c_order(&[], m, CParams::default()).unwrap();
        let b = NdArray::from_cframe(&a.to_cframe().unwrap()).unwrap();
        assert_eq!((b.nchunks(), b.to_vec().unwrap().len()), (0, 0));
    }
}
