//! python-blosc2's packed tensors (spec §H.1): the C-order bytes of an array
//! cut into equal chunks of a plain super-chunk, with the vlmeta entry
//! `__pack_tensor__ = ("numpy", shape, dtype.str)` in the `["__tuple__", …]`
//! convention of §F. [`pack_tensor`] reproduces `blosc2.pack_tensor` (an
//! in-memory super-chunk copied by `to_cframe()`), [`save_tensor`]
//! `blosc2.save_tensor` (a frame written directly to a file).
//!
//! Sizes are not limited to 2 GiB: [`TensorWriter`] appends data piece by
//! piece (all-zero chunks become 32-byte special chunks) and
//! [`PackedTensor::read_into`] reads item ranges without decoding the rest.

use std::ops::Range;
use std::path::Path;

use crate::chunk::{self, ChunkHeader, SpecialValue};
use crate::error::{Error, Part, Result};
use crate::msgpack::Value;
use crate::schunk::{OpenOptions, SChunk, Storage};
use crate::tensor::DType;
use crate::{CParams, Codec, DParams, SplitMode};

/// The vlmeta entry python-blosc2 writes for packed tensors.
pub const PACK_TENSOR_VLMETA: &str = "__pack_tensor__";

/// The largest default chunk size of a packed tensor (python-blosc2 caps at 256 MiB).
pub const MAX_TENSOR_CHUNKSIZE: usize = 1 << 28;

/// A C-order array held in memory: its bytes, shape and element type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tensor {
    /// The items in C order (`nitems * itemsize` bytes, little-endian).
    pub data: Vec<u8>,
    /// The shape (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// The element type.
    pub dtype: DType,
}

impl Tensor {
    /// A tensor, checking that `data` holds `prod(shape) * itemsize` bytes.
    ///
    /// # Errors
    /// `InvalidArgument` when the sizes disagree.
    pub fn new(data: Vec<u8>, shape: Vec<usize>, dtype: DType) -> Result<Tensor> {
        check_size(data.len(), &shape, &dtype)?;
        Ok(Tensor { data, shape, dtype })
    }
}

/// `prod(shape) * itemsize`, or `None` on overflow.
pub(crate) fn array_nbytes(shape: &[usize], dtype: &DType) -> Option<usize> {
    shape
        .iter()
        .try_fold(dtype.itemsize(), |acc, &s| acc.checked_mul(s))
}

fn check_size(len: usize, shape: &[usize], dtype: &DType) -> Result<usize> {
    let want = array_nbytes(shape, dtype)
        .ok_or_else(|| Error::invalid("shape", format!("{shape:?} of {dtype} overflows")))?;
    if len != want {
        return Err(Error::invalid(
            "data",
            format!("{len} bytes, shape {shape:?} of {dtype} needs {want}"),
        ));
    }
    Ok(want)
}

/// The `__pack_tensor__` msgpack value: `("numpy", shape, dtype)`.
fn tensor_vlmeta(kind: &str, shape: &[usize], dtype: &DType) -> Vec<u8> {
    Value::tuple([
        Value::str(kind),
        Value::tuple(shape.iter().map(|&s| Value::UInt(s as u64))),
        Value::str(dtype.to_string()),
    ])
    .encode()
}

fn nd_err(detail: impl Into<String>) -> Error {
    Error::corrupt(Part::NdMeta, 0, detail)
}

/// Decodes `__pack_tensor__` (untrusted): (kind, shape, dtype).
fn parse_vlmeta(bytes: &[u8]) -> Result<(String, Vec<usize>, DType)> {
    let v = Value::decode(bytes).map_err(|e| nd_err(format!("__pack_tensor__: {e}")))?;
    let items = v
        .as_seq()
        .filter(|s| s.len() == 3)
        .ok_or_else(|| nd_err("__pack_tensor__ is not a (kind, shape, dtype) tuple"))?;
    let kind = items[0]
        .as_str()
        .ok_or_else(|| nd_err("__pack_tensor__ kind is not a string"))?;
    let shape = items[1]
        .as_seq()
        .ok_or_else(|| nd_err("__pack_tensor__ shape is not a tuple"))?
        .iter()
        .map(|d| {
            d.as_i64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| nd_err(format!("__pack_tensor__ shape entry {d:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let dtype = match items[2].as_str() {
        Some(s) => DType::parse(s).map_err(|e| match e {
            Error::InvalidArgument { reason, .. } => nd_err(format!("__pack_tensor__ {reason}")),
            other => other,
        })?,
        None => {
            return Err(Error::unsupported(
                "dtype",
                "structured dtype (a descr list) in __pack_tensor__: only plain numpy dtypes are supported",
            ))
        }
    };
    Ok((kind.to_owned(), shape, dtype))
}

/// Writes a packed tensor piece by piece, so that arrays of any size can be packed
/// without holding them in memory.
///
/// ```
/// use b2frame::tensor::{DType, TensorWriter};
/// use b2frame::CParams;
/// let mut w = TensorWriter::new(&[4, 1000], DType::Float32, CParams::default(), 4000)?;
/// w.write(&[0u8; 4000])?;
/// w.write_zeros(8000)?;
/// w.write(&1.5f32.to_le_bytes().repeat(1000))?;
/// let t = w.finish()?;
/// assert_eq!((t.schunk().nchunks(), t.schunk().cbytes()), (4, 3 * 32 + t.schunk().chunk(3)?.len()));
/// # Ok::<(), b2frame::Error>(())
/// ```
#[derive(Debug)]
pub struct TensorWriter {
    schunk: SChunk,
    shape: Vec<usize>,
    dtype: DType,
    nbytes: usize,
}

impl TensorWriter {
    /// A writer for an array of `shape` and `dtype`. `cparams`' typesize is replaced by
    /// the item size; `chunksize` 0 picks python's default (the whole array, at most
    /// 256 MiB, rounded down to whole items).
    ///
    /// # Errors
    /// `InvalidArgument` for a chunk size that is not a multiple of the item size, a
    /// shape whose size overflows, or invalid `cparams`.
    pub fn new(
        shape: &[usize],
        dtype: DType,
        cparams: CParams,
        chunksize: usize,
    ) -> Result<TensorWriter> {
        let nbytes = array_nbytes(shape, &dtype)
            .ok_or_else(|| Error::invalid("shape", format!("{shape:?} of {dtype} overflows")))?;
        let item = dtype.itemsize();
        let chunksize = if chunksize == 0 {
            (nbytes.min(MAX_TENSOR_CHUNKSIZE) / item * item).max(item)
        } else {
            chunksize
        };
        let schunk = SChunk::with_storage(
            cparams.with_typesize(item),
            DParams::default(),
            &Storage::default().with_chunksize(chunksize),
        )?;
        Ok(TensorWriter {
            schunk,
            shape: shape.to_vec(),
            dtype,
            nbytes,
        })
    }

    fn room(&self, n: usize) -> Result<()> {
        let after = self.schunk.nbytes().saturating_add(n);
        if after > self.nbytes {
            return Err(Error::invalid(
                "data",
                format!("{after} bytes written, the tensor holds {}", self.nbytes),
            ));
        }
        Ok(())
    }

    /// Appends the next `data.len()` bytes of the array (whole items).
    ///
    /// # Errors
    /// `InvalidArgument` when this would write past the end of the array or `data` is
    /// not whole items; compression errors.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.room(data.len())?;
        self.schunk.append(data)
    }

    /// Appends `n` zero bytes (whole items) without materialising them: whole chunks
    /// become 32-byte special chunks.
    ///
    /// # Errors
    /// As [`TensorWriter::write`].
    pub fn write_zeros(&mut self, n: usize) -> Result<()> {
        self.room(n)?;
        let cs = self.schunk.chunksize();
        let mut left = n;
        let partial = self.schunk.nbytes() % cs;
        if partial != 0 {
            let fill = (cs - partial).min(left);
            self.schunk.append(&vec![0u8; fill])?;
            left -= fill;
        }
        let item = self.dtype.itemsize();
        while left >= cs {
            let c = chunk::special(SpecialValue::Zeros, cs, item, None)?;
            self.schunk.append_chunk(c)?;
            left -= cs;
        }
        if left > 0 {
            self.schunk.append(&vec![0u8; left])?;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.schunk.nbytes()
    }

    /// Adds the `__pack_tensor__` vlmeta (compressed as python-blosc2 does) and returns
    /// the packed tensor.
    ///
    /// # Errors
    /// `InvalidArgument` when fewer bytes than the array holds were written.
    pub fn finish(mut self) -> Result<PackedTensor> {
        if self.schunk.nbytes() != self.nbytes {
            return Err(Error::invalid(
                "data",
                format!(
                    "{} bytes written, the tensor holds {}",
                    self.schunk.nbytes(),
                    self.nbytes
                ),
            ));
        }
        let meta = tensor_vlmeta("numpy", &self.shape, &self.dtype);
        self.schunk.set_vlmeta(PACK_TENSOR_VLMETA, &meta)?;
        Ok(PackedTensor {
            schunk: self.schunk,
            kind: "numpy".to_owned(),
            shape: self.shape,
            dtype: self.dtype,
        })
    }
}

/// A packed tensor: a super-chunk with its `__pack_tensor__` description.
#[derive(Debug, Clone)]
pub struct PackedTensor {
    schunk: SChunk,
    kind: String,
    shape: Vec<usize>,
    dtype: DType,
}

impl PackedTensor {
    /// Reads the `__pack_tensor__` vlmeta of `schunk` and checks it against the data.
    ///
    /// # Errors
    /// `InvalidArgument` without the vlmeta; `Corrupt` (part `NdMeta`) when it is
    /// malformed or disagrees with the stored size; `Unsupported` for structured dtypes.
    pub fn from_schunk(schunk: SChunk) -> Result<PackedTensor> {
        let raw = schunk.vlmeta(PACK_TENSOR_VLMETA)?.ok_or_else(|| {
            Error::invalid(
                "schunk",
                "no '__pack_tensor__' vlmeta: not written by pack_tensor/save_tensor",
            )
        })?;
        let (kind, shape, dtype) = parse_vlmeta(&raw)?;
        let want = array_nbytes(&shape, &dtype)
            .ok_or_else(|| nd_err(format!("shape {shape:?} of {dtype} overflows")))?;
        if want != schunk.nbytes() {
            return Err(nd_err(format!(
                "shape {shape:?} of {dtype} needs {want} bytes, the frame holds {}",
                schunk.nbytes()
            )));
        }
        Ok(PackedTensor {
            schunk,
            kind,
            shape,
            dtype,
        })
    }

    /// Opens a packed tensor held in memory (`pack_tensor` output).
    ///
    /// # Errors
    /// Frame errors and those of [`PackedTensor::from_schunk`].
    pub fn from_cframe(bytes: &[u8]) -> Result<PackedTensor> {
        PackedTensor::from_schunk(SChunk::from_cframe(bytes)?)
    }

    /// Opens a packed tensor file (`save_tensor` output).
    ///
    /// # Errors
    /// `Io`, frame errors and those of [`PackedTensor::from_schunk`].
    pub fn open(path: impl AsRef<Path>) -> Result<PackedTensor> {
        PackedTensor::from_schunk(SChunk::open(path)?)
    }

    /// The array shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> &DType {
        &self.dtype
    }

    /// The producer python recorded: `"numpy"`, `"torch"` or `"tensorflow"`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The underlying super-chunk.
    pub fn schunk(&self) -> &SChunk {
        &self.schunk
    }

    /// Decodes the flat (C-order) items `items` into `dst`, decoding only the chunks and
    /// blocks they touch. Returns the bytes written.
    ///
    /// # Errors
    /// As [`SChunk::read_into`].
    pub fn read_into(&self, items: Range<usize>, dst: &mut [u8]) -> Result<usize> {
        self.schunk.read_into(items, dst)
    }

    /// Decodes the whole array.
    ///
    /// # Errors
    /// Decoding errors.
    pub fn to_tensor(&self) -> Result<Tensor> {
        self.to_tensor_with(self.schunk.dparams())
    }

    /// [`PackedTensor::to_tensor`] decoding with `dparams` (e.g. more threads).
    ///
    /// # Errors
    /// Decoding errors.
    pub fn to_tensor_with(&self, dparams: &DParams) -> Result<Tensor> {
        let sc = &self.schunk;
        let mut data = vec![0u8; sc.nbytes()];
        sc.read_into_with(0..sc.nitems(), &mut data, dparams)?;
        Ok(Tensor {
            data,
            shape: self.shape.clone(),
            dtype: self.dtype.clone(),
        })
    }

    /// Serialises as `blosc2.pack_tensor` does (the `to_cframe()` copy of an in-memory
    /// super-chunk: `nthreads_c` 0, the last chunk's blocksize in the header, vlmeta
    /// compressed with C-Blosc2's defaults).
    ///
    /// # Errors
    /// As [`SChunk::to_cframe`].
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        let mut sc = self.schunk.clone();
        if let Some(meta) = sc.vlmeta(PACK_TENSOR_VLMETA)? {
            let c_defaults = CParams::default()
                .with_codec(Codec::BloscLz)
                .with_clevel(5)
                .with_typesize(8)
                .with_splitmode(SplitMode::ForwardCompat);
            sc.set_vlmeta_chunk(PACK_TENSOR_VLMETA, chunk::compress(&c_defaults, &meta)?)?;
        }
        let blocksize = match sc.nchunks().checked_sub(1) {
            Some(last) => ChunkHeader::parse(&sc.chunk(last)?)?.blocksize,
            None => 0,
        };
        let mut f = sc.to_cframe()?;
        // Frame header (spec §E.2): d2 i32 blocksize at 52, d1 i16 nthreads_c at 62.
        if f.get(52) == Some(&0xd2) && f.get(62) == Some(&0xd1) && f.len() > 65 {
            f[53..57].copy_from_slice(&i32::try_from(blocksize).unwrap_or(0).to_be_bytes());
            f[63..65].copy_from_slice(&0i16.to_be_bytes());
        }
        Ok(f)
    }

    /// Writes the frame to `path` as `blosc2.save_tensor` does; returns the file size.
    ///
    /// # Errors
    /// `Io` and serialisation errors.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        self.schunk.save(path)?;
        Ok(std::fs::metadata(path)?.len())
    }
}

/// Packs a C-order array into a contiguous frame, as `blosc2.pack_tensor(x, cparams=…)`
/// (default chunk size: the whole array up to 256 MiB; `cparams`' typesize is replaced
/// by the item size; python's defaults are `CParams::default()`).
///
/// # Errors
/// `InvalidArgument` when `data` does not match `shape` and `dtype`; compression errors.
pub fn pack_tensor(
    data: &[u8],
    shape: &[usize],
    dtype: &DType,
    cparams: &CParams,
) -> Result<Vec<u8>> {
    check_size(data.len(), shape, dtype)?;
    let mut w = TensorWriter::new(shape, dtype.clone(), cparams.clone(), 0)?;
    w.write(data)?;
    w.finish()?.to_cframe()
}

/// Unpacks a frame made by `pack_tensor` (ours or python-blosc2's).
///
/// # Errors
/// As [`PackedTensor::from_cframe`] and decoding errors.
pub fn unpack_tensor(cframe: &[u8]) -> Result<Tensor> {
    PackedTensor::from_cframe(cframe)?.to_tensor()
}

/// Saves a C-order array to `path` as `blosc2.save_tensor(x, path, cparams=…)` does;
/// returns the file size.
///
/// # Errors
/// As [`pack_tensor`], plus `Io`.
pub fn save_tensor(
    path: impl AsRef<Path>,
    data: &[u8],
    shape: &[usize],
    dtype: &DType,
    cparams: &CParams,
) -> Result<u64> {
    check_size(data.len(), shape, dtype)?;
    let mut w = TensorWriter::new(shape, dtype.clone(), cparams.clone(), 0)?;
    w.write(data)?;
    w.finish()?.save(path)
}

/// Loads a tensor file written by `save_tensor` (ours or python-blosc2's), decoding
/// on every core as python-blosc2 does; a file is read by positioned reads (big
/// chunks block group by block group), never whole into memory.
///
/// # Errors
/// As [`PackedTensor::open`] and decoding errors.
pub fn load_tensor(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let t = if path.is_dir() {
        PackedTensor::open(path)?
    } else {
        PackedTensor::from_schunk(SChunk::open_file(path, &OpenOptions::default())?)?
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    t.to_tensor_with(&DParams::default().with_nthreads(threads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlmeta_uses_the_tuple_convention() {
        let m = tensor_vlmeta("numpy", &[300, 250], &DType::Float64);
        let hex: String = m.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "94a95f5f7475706c655f5fa56e756d707993a95f5f7475706c655f5fcd012cccfaa33c6638"
        );
        assert_eq!(
            parse_vlmeta(&m).unwrap(),
            ("numpy".to_owned(), vec![300, 250], DType::Float64)
        );
    }

    #[test]
    fn bad_vlmeta_is_corrupt_or_unsupported() {
        let good = tensor_vlmeta("numpy", &[3, 4], &DType::Int32);
        for cut in 0..good.len() {
            assert!(parse_vlmeta(&good[..cut]).is_err());
        }
        let neg = Value::tuple([
            Value::str("numpy"),
            Value::tuple([Value::int(-1)]),
            Value::str("<i4"),
        ])
        .encode();
        assert!(matches!(
            parse_vlmeta(&neg),
            Err(Error::Corrupt {
                part: Part::NdMeta,
                ..
            })
        ));
        let descr = Value::tuple([
            Value::str("numpy"),
            Value::tuple([Value::int(2)]),
            Value::Array(vec![Value::tuple([Value::str("a"), Value::str("<i4")])]),
        ])
        .encode();
        assert!(matches!(
            parse_vlmeta(&descr),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn writer_rejects_overflow_and_short_data() {
        let mut w = TensorWriter::new(&[10], DType::Int16, CParams::default(), 8).unwrap();
        w.write(&[1; 12]).unwrap();
        assert!(w.write(&[1; 10]).is_err());
        w.write_zeros(6).unwrap();
        assert_eq!(w.written(), 18);
        assert!(w.finish().is_err());
        let mut w = TensorWriter::new(&[10], DType::Int16, CParams::default(), 8).unwrap();
        w.write(&[1; 2]).unwrap();
        w.write_zeros(18).unwrap();
        let t = w.finish().unwrap().to_tensor().unwrap();
        assert_eq!(t.data[..4], [1, 1, 0, 0]);
        assert_eq!(t.data.len(), 20);
    }
}
