//! numpy tensors as python-blosc2's packed tensors (`save_tensor`, `pack_tensor`
//! and their inverses), file-compatible with python-blosc2.
//!
//! numpy buffers cross as `(address, length)` of a C-contiguous array that the
//! Python wrapper keeps alive and checks (the limited API of Python 3.9 has no
//! buffer protocol); nothing else calls these private functions.
#![allow(unsafe_code)]

use b2frame::schunk::OpenOptions;
use b2frame::tensor::{self, DType, PackedTensor};
use b2frame::{CParams, DParams, SChunk};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::dataset::parse_compression;
use crate::errors::{nogil, CorruptError, IntoPy, InvalidArgumentError};

/// The compression parameters from optional codec, level, filters and threads.
fn cparams(
    codec: Option<&str>,
    clevel: Option<u8>,
    filters: Option<Vec<String>>,
    nthreads: Option<usize>,
) -> PyResult<CParams> {
    let (codec, filters) = parse_compression(codec, filters.as_deref())?;
    let mut c = CParams::default();
    if let Some(codec) = codec {
        c = c.with_codec(codec);
    }
    if let Some(l) = clevel {
        if l > 9 {
            return Err(InvalidArgumentError::new_err(format!(
                "clevel {l}: expected 0..=9"
            )));
        }
        c = c.with_clevel(l);
    }
    if let Some(f) = filters {
        c = c.with_filters(f);
    }
    if let Some(n) = nthreads {
        c = c.with_nthreads(n.max(1));
    }
    Ok(c)
}

fn parse_dtype(dtype: &str) -> PyResult<DType> {
    DType::parse(dtype).py_err()
}

/// The bytes at `address` (a live, C-contiguous numpy buffer of `nbytes` bytes).
///
/// # Safety
/// The caller (the Python wrapper) passes `arr.ctypes.data` and `arr.nbytes` of a
/// C-contiguous array it keeps referenced for the whole call.
unsafe fn borrowed<'a>(address: usize, nbytes: usize) -> &'a [u8] {
    if nbytes == 0 {
        return &[];
    }
    // SAFETY: see the function's contract.
    unsafe { std::slice::from_raw_parts(address as *const u8, nbytes) }
}

/// Saves the C-order array at `address` to `path` as `blosc2.save_tensor` does;
/// returns the file size.
#[pyfunction]
#[pyo3(signature = (path, address, nbytes, shape, dtype, codec=None, clevel=None, filters=None, nthreads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn save_tensor(
    py: Python<'_>,
    path: std::path::PathBuf,
    address: usize,
    nbytes: usize,
    shape: Vec<usize>,
    dtype: &str,
    codec: Option<&str>,
    clevel: Option<u8>,
    filters: Option<Vec<String>>,
    nthreads: Option<usize>,
) -> PyResult<u64> {
    let cp = cparams(codec, clevel, filters, nthreads)?;
    let dtype = parse_dtype(dtype)?;
    // SAFETY: the wrapper's contract (see `borrowed`).
    let data = unsafe { borrowed(address, nbytes) };
    nogil(py, move || {
        tensor::save_tensor(&path, data, &shape, &dtype, &cp).py_err()
    })
}

/// Packs the C-order array at `address` into a frame, as `blosc2.pack_tensor`.
#[pyfunction]
#[pyo3(signature = (address, nbytes, shape, dtype, codec=None, clevel=None, filters=None, nthreads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_tensor<'py>(
    py: Python<'py>,
    address: usize,
    nbytes: usize,
    shape: Vec<usize>,
    dtype: &str,
    codec: Option<&str>,
    clevel: Option<u8>,
    filters: Option<Vec<String>>,
    nthreads: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let cp = cparams(codec, clevel, filters, nthreads)?;
    let dtype = parse_dtype(dtype)?;
    // SAFETY: the wrapper's contract (see `borrowed`).
    let data = unsafe { borrowed(address, nbytes) };
    let frame = nogil(py, move || {
        tensor::pack_tensor(data, &shape, &dtype, &cp).py_err()
    })?;
    Ok(PyBytes::new(py, &frame))
}

/// A packed tensor opened from a file or a frame: shape and dtype first, then
/// its items decoded straight into a numpy array the wrapper allocated.
#[pyclass(module = "b2frame._b2frame", frozen)]
pub(crate) struct TensorFile {
    t: PackedTensor,
}

#[pymethods]
impl TensorFile {
    /// Opens a tensor file written by `save_tensor` (ours or python-blosc2's): only
    /// its header, trailer and index now, the chunks when read.
    #[staticmethod]
    fn open(py: Python<'_>, path: std::path::PathBuf) -> PyResult<TensorFile> {
        nogil(py, move || {
            let sc = SChunk::open_file(&path, &OpenOptions::default()).map_err(|e| match e {
                b2frame::Error::Io(io) => b2frame::Error::Io(std::io::Error::new(
                    io.kind(),
                    format!("{}: {io}", path.display()),
                )),
                other => other,
            });
            Ok(TensorFile {
                t: PackedTensor::from_schunk(sc.py_err()?).py_err()?,
            })
        })
    }

    /// Reads a frame made by `pack_tensor` (ours or python-blosc2's).
    #[staticmethod]
    fn from_frame(py: Python<'_>, frame: &[u8]) -> PyResult<TensorFile> {
        nogil(py, move || {
            Ok(TensorFile {
                t: PackedTensor::from_cframe(frame).py_err()?,
            })
        })
    }

    /// The shape.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.t.shape().to_vec()
    }

    /// numpy's `dtype.str`.
    #[getter]
    fn dtype(&self) -> String {
        self.t.dtype().to_string()
    }

    /// Decodes every item into the C-contiguous, writable buffer at `address`
    /// (`nbytes` long, exactly the tensor's size), chunk by chunk, each with
    /// `nthreads` threads over its blocks.
    #[pyo3(signature = (address, nbytes, nthreads=1))]
    fn read_into(
        &self,
        py: Python<'_>,
        address: usize,
        nbytes: usize,
        nthreads: usize,
    ) -> PyResult<()> {
        let items: usize = self.t.shape().iter().product();
        let want = items.checked_mul(self.t.dtype().itemsize());
        if want != Some(nbytes) {
            return Err(InvalidArgumentError::new_err(format!(
                "buffer of {nbytes} bytes for a tensor of {want:?} bytes"
            )));
        }
        if nbytes == 0 {
            return Ok(());
        }
        // SAFETY: the wrapper passes `out.ctypes.data` and `out.nbytes` of a fresh,
        // writable, C-contiguous numpy array that nothing else references yet and that
        // it keeps alive for the whole call.
        let dst = unsafe { std::slice::from_raw_parts_mut(address as *mut u8, nbytes) };
        let sc = self.t.schunk();
        let dparams = DParams::default().with_nthreads(nthreads.max(1));
        nogil(py, move || read_chunks(sc, dst, &dparams))
    }
}

/// Decodes every item of `sc` into `dst`, which holds exactly `sc.nbytes()` bytes
/// (big chunks of files are read block group by block group, not whole).
fn read_chunks(sc: &SChunk, dst: &mut [u8], dparams: &DParams) -> PyResult<()> {
    if dst.len() != sc.nbytes() {
        return Err(CorruptError::new_err(format!(
            "tensor frame: {} bytes stored, {} expected",
            sc.nbytes(),
            dst.len()
        )));
    }
    let n = sc.read_into_with(0..sc.nitems(), dst, dparams).py_err()?;
    if n != dst.len() {
        return Err(CorruptError::new_err(format!(
            "tensor frame: decoded {n} bytes, {} expected",
            dst.len()
        )));
    }
    Ok(())
}
