//! The `b2frame._b2frame` extension module: the Rust half of the `b2frame`
//! Python package (the public API lives in `python/b2frame/__init__.py`).
//!
//! ```text
//! Python (Polars / pyarrow / numpy)
//!    │  Arrow C Data Interface (PyCapsules)    raw numpy buffers (address, length)
//!    ▼                                          ▼
//! Dataset / Scanner / Batch / write        TensorFile / save_tensor / pack_tensor
//!    └──────────────── b2frame (core crate, no `polars` feature) ──────────────┘
//! ```
//!
//! Every call that reads, writes or decodes releases the GIL and runs inside
//! `catch_unwind`, so a bug in the core surfaces as `b2frame.B2FrameError`, never
//! as an abort or a `PanicException`.

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]
#![warn(missing_docs)]

use pyo3::prelude::*;

mod dataset;
mod errors;
mod ffi;
mod tensor;

/// The extension module.
#[pymodule]
fn _b2frame(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<dataset::PyDataset>()?;
    m.add_class::<dataset::Scanner>()?;
    m.add_class::<dataset::Batch>()?;
    m.add_function(wrap_pyfunction!(dataset::write, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::list_versions, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::clear_reopen_cache, m)?)?;
    m.add_class::<tensor::TensorFile>()?;
    m.add_function(wrap_pyfunction!(tensor::save_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::pack_tensor, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
