//! The `b2nd` metalayer ([`NdMeta`]): shape, chunk shape, block shape and
//! dtype of an N-dimensional array, encoded byte for byte as C-Blosc2 and
//! python-blosc2 write it (`README_B2ND_METALAYER.rst`, spec §G.1-G.2).
//!
//! ```text
//! 97 | 00 version | nd | 90+nd (d3 i64)×nd shape
//!    | 90+nd (d2 i32)×nd chunkshape | 90+nd (d2 i32)×nd blockshape
//!    | 00 dtype format | db u32 len dtype-string           (numbers big-endian)
//! ```

use crate::chunk::MAX_BUFFERSIZE;
use crate::error::{Error, Part, Result};
use crate::tensor::DType;

/// The name of the metalayer that makes a frame an N-dimensional array.
pub const B2ND_METALAYER: &str = "b2nd";

/// Most dimensions the b2nd format (python-blosc2 4.x, C-Blosc2 3.x) allows.
pub const MAX_DIM: usize = 16;

pub(crate) fn meta_err(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(Part::NdMeta, offset, detail)
}

/// The content of a `b2nd` metalayer: shape, chunk and block shapes and dtype.
///
/// `chunks[i]` and `blocks[i]` are at least 1 (0 only where `shape[i]` is 0, as
/// python-blosc2 writes for empty arrays) and `blocks[i] <= chunks[i]`. A 0-d
/// array has empty vectors and holds one item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NdMeta {
    /// Array shape.
    pub shape: Vec<usize>,
    /// Chunk shape.
    pub chunks: Vec<usize>,
    /// Block shape.
    pub blocks: Vec<usize>,
    /// Element type.
    pub dtype: DType,
}

impl NdMeta {
    /// Validated array geometry.
    ///
    /// # Errors
    /// `InvalidArgument` when the three shapes differ in length or exceed [`MAX_DIM`],
    /// a chunk or block dimension is 0 (for a non-empty dimension), a block is larger
    /// than its chunk, or a chunk would exceed Blosc2's 2 GiB limit.
    pub fn new(
        shape: &[usize],
        chunks: &[usize],
        blocks: &[usize],
        dtype: DType,
    ) -> Result<NdMeta> {
        let m = NdMeta {
            shape: shape.to_vec(),
            chunks: chunks.to_vec(),
            blocks: blocks.to_vec(),
            dtype,
        };
        m.check().map_err(|e| Error::invalid("shape", e))?;
        Ok(m)
    }

    /// Checks the invariants; the message says what is wrong.
    fn check(&self) -> std::result::Result<(), String> {
        let nd = self.shape.len();
        if nd > MAX_DIM || self.chunks.len() != nd || self.blocks.len() != nd {
            return Err(format!(
                "ndim {nd} with {} chunk and {} block dimensions, expected equal and at most {MAX_DIM}",
                self.chunks.len(),
                self.blocks.len()
            ));
        }
        for i in 0..nd {
            let (s, c, b) = (self.shape[i], self.chunks[i], self.blocks[i]);
            if (c == 0 || b == 0) && s != 0 {
                return Err(format!(
                    "dimension {i}: chunk {c} / block {b} must be at least 1 for extent {s}"
                ));
            }
            if b > c {
                return Err(format!("dimension {i}: block {b} larger than chunk {c}"));
            }
            if i64::try_from(s).is_err() || i32::try_from(c).is_err() {
                return Err(format!("dimension {i}: extent {s} or chunk {c} too large"));
            }
        }
        let item = self.dtype.itemsize();
        let ext: Option<usize> = (0..nd).try_fold(item, |acc, i| {
            let e = ext_dim(self.chunks[i], self.blocks[i]);
            acc.checked_mul(e)
        });
        match ext {
            Some(n) if n <= MAX_BUFFERSIZE => {}
            _ => return Err(format!("padded chunk exceeds {MAX_BUFFERSIZE} bytes")),
        }
        self.shape
            .iter()
            .try_fold(item, |acc, &s| acc.checked_mul(s))
            .filter(|&n| u64::try_from(n).is_ok_and(|n| n < (1 << 62)))
            .ok_or_else(|| "array size overflows".to_string())?;
        Ok(())
    }

    /// Encodes the metalayer byte for byte as C-Blosc2 / python-blosc2 write it.
    pub fn encode(&self) -> Vec<u8> {
        let nd = self.shape.len();
        let dtype = self.dtype.to_string();
        let mut out = Vec::with_capacity(12 + nd * 23 + dtype.len());
        out.extend_from_slice(&[0x97, 0x00, nd as u8, 0x90 + nd as u8]);
        for &s in &self.shape {
            out.push(0xd3);
            out.extend_from_slice(&(s as i64).to_be_bytes());
        }
        for dims in [&self.chunks, &self.blocks] {
            out.push(0x90 + nd as u8);
            for &c in dims {
                out.push(0xd2);
                out.extend_from_slice(&(c as i32).to_be_bytes());
            }
        }
        out.extend_from_slice(&[0x00, 0xdb]);
        out.extend_from_slice(&(dtype.len() as u32).to_be_bytes());
        out.extend_from_slice(dtype.as_bytes());
        out
    }

    /// Decodes a `b2nd` metalayer (untrusted bytes). `typesize` (the frame's) gives the
    /// dtype `|S<typesize>` of old metalayers that carry none.
    ///
    /// # Errors
    /// `Corrupt` (part `NdMeta`) for malformed or inconsistent content; `Unsupported`
    /// for versions other than 0, dtype formats other than numpy, and dtypes
    /// [`DType::parse`] does not know.
    pub fn decode(bytes: &[u8], typesize: usize) -> Result<NdMeta> {
        let mut r = MetaReader { buf: bytes, pos: 0 };
        let n = r.byte()?;
        if n != 0x97 && n != 0x95 {
            return Err(meta_err(
                0,
                format!("array marker {n:#04x}, expected 0x97 (or 0x95 without dtype)"),
            ));
        }
        let version = r.byte()?;
        if version != 0 {
            return Err(Error::unsupported(
                "b2nd version",
                format!("{version}, expected 0"),
            ));
        }
        let nd = usize::from(r.byte()?);
        if nd > MAX_DIM {
            return Err(meta_err(2, format!("ndim {nd}, expected 0..={MAX_DIM}")));
        }
        let shape = r.dims(nd, 0xd3, 8)?;
        let chunks = r.dims(nd, 0xd2, 4)?;
        let blocks = r.dims(nd, 0xd2, 4)?;
        let dtype = if n == 0x97 {
            let at = r.pos;
            let format = r.byte()?;
            if format != 0 {
                return Err(Error::unsupported(
                    "b2nd dtype format",
                    format!("{format}, only 0 (numpy) is supported"),
                ));
            }
            let s = r.str()?;
            DType::parse(s).map_err(|e| match e {
                Error::InvalidArgument { reason, .. } => meta_err(at, reason),
                other => other,
            })?
        } else {
            DType::Bytes(typesize)
        };
        if r.pos != bytes.len() {
            return Err(meta_err(
                r.pos,
                format!("{} trailing bytes", bytes.len() - r.pos),
            ));
        }
        let m = NdMeta {
            shape,
            chunks,
            blocks,
            dtype,
        };
        m.check().map_err(|e| meta_err(0, e))?;
        Ok(m)
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of items (1 for a 0-d array).
    pub fn nitems(&self) -> usize {
        self.shape.iter().product()
    }

    /// The chunk shape padded to whole blocks.
    pub fn extchunks(&self) -> Vec<usize> {
        self.chunks
            .iter()
            .zip(&self.blocks)
            .map(|(&c, &b)| ext_dim(c, b))
            .collect()
    }

    /// Uncompressed bytes of every chunk (`prod(extchunks) * itemsize`).
    pub fn chunk_nbytes(&self) -> usize {
        self.extchunks().iter().product::<usize>() * self.dtype.itemsize()
    }

    /// Bytes of every block (`prod(blocks) * itemsize`).
    pub fn block_nbytes(&self) -> usize {
        self.blocks.iter().product::<usize>() * self.dtype.itemsize()
    }

    /// Number of chunks (`prod(ceil(shape / chunks))`; 0 for an empty array).
    pub fn nchunks(&self) -> usize {
        self.chunk_grid().iter().product()
    }

    /// Chunks per dimension.
    fn chunk_grid(&self) -> Vec<usize> {
        self.shape
            .iter()
            .zip(&self.chunks)
            .map(|(&s, &c)| if s == 0 { 0 } else { s.div_ceil(c) })
            .collect()
    }
}

/// A chunk dimension rounded up to whole blocks.
pub(crate) fn ext_dim(c: usize, b: usize) -> usize {
    if b == 0 {
        0
    } else {
        c.div_ceil(b) * b
    }
}

/// Reads the fixed-layout metalayer.
struct MetaReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> MetaReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or_else(|| {
                meta_err(
                    self.pos,
                    format!("{n} bytes needed, {} left", self.buf.len() - self.pos),
                )
            })?;
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// `90+nd` then `nd` × (`marker`, big-endian signed int of `width` bytes), each ≥ 0.
    fn dims(&mut self, nd: usize, marker: u8, width: usize) -> Result<Vec<usize>> {
        let at = self.pos;
        let head = self.byte()?;
        if usize::from(head) != 0x90 + nd {
            return Err(meta_err(
                at,
                format!("array header {head:#04x}, expected {:#04x}", 0x90 + nd),
            ));
        }
        let mut out = Vec::with_capacity(nd);
        for _ in 0..nd {
            let at = self.pos;
            let m = self.byte()?;
            if m != marker {
                return Err(meta_err(
                    at,
                    format!("int marker {m:#04x}, expected {marker:#04x}"),
                ));
            }
            let raw = self.take(width)?;
            let v = raw.iter().fold(0i64, |acc, &b| (acc << 8) | i64::from(b));
            let v = if width == 4 {
                i64::from(v as u32 as i32)
            } else {
                v
            };
            let v = usize::try_from(v)
                .map_err(|_| meta_err(at, format!("dimension {v}, expected >= 0")))?;
            out.push(v);
        }
        Ok(out)
    }

    fn str(&mut self) -> Result<&'a str> {
        let at = self.pos;
        let m = self.byte()?;
        let len = match m {
            0xa0..=0xbf => usize::from(m & 0x1f),
            0xd9 => usize::from(self.byte()?),
            0xda => {
                let b = self.take(2)?;
                usize::from(u16::from_be_bytes([b[0], b[1]]))
            }
            0xdb => {
                let b = self.take(4)?;
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
            }
            _ => {
                return Err(meta_err(
                    at,
                    format!("dtype marker {m:#04x}, expected a msgpack str"),
                ))
            }
        };
        let b = self.take(len)?;
        std::str::from_utf8(b).map_err(|_| meta_err(at, "dtype string is not utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metalayer_matches_spec_example() {
        let m = NdMeta::new(&[10, 7], &[4, 3], &[2, 2], DType::Int32).unwrap();
        let hex: String = m.encode().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "97000292d3000000000000000ad3000000000000000792d200000004d20000000392d200000002d20000000200db000000033c6934"
        );
        assert_eq!(NdMeta::decode(&m.encode(), 4).unwrap(), m);
        assert_eq!(
            (m.chunk_nbytes(), m.block_nbytes(), m.nchunks()),
            (64, 16, 9)
        );
    }

    #[test]
    fn bad_metalayers_are_corrupt_not_panics() {
        let good = NdMeta::new(&[10, 7], &[4, 3], &[2, 2], DType::Int32)
            .unwrap()
            .encode();
        for cut in 0..good.len() {
            assert!(NdMeta::decode(&good[..cut], 4).is_err(), "cut {cut}");
        }
        for i in 0..good.len() {
            for v in [0x00u8, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = NdMeta::decode(&b, 4);
            }
        }
        let mut b = good.clone();
        b[5] = 0x80; // negative shape[0]
        assert!(matches!(
            NdMeta::decode(&b, 4),
            Err(Error::Corrupt {
                part: Part::NdMeta,
                ..
            })
        ));
    }
}
