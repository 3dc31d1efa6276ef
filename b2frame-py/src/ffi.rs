//! The Arrow PyCapsule Interface by hand: arrow-rs's C Data Interface structs
//! wrapped in capsules named `arrow_schema`, `arrow_array` and
//! `arrow_array_stream`, which pyarrow and Polars consume without copying.
//! (arrow-rs's own `pyarrow` feature pins another PyO3 version.)
//!
//! Ownership follows the interface: a consumer moves the struct out of the
//! capsule and marks it released; the capsule's destructor drops what is left
//! (the struct's `Drop` calls `release` only when the consumer did not).
#![allow(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader, StructArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyTuple};

use crate::errors::{panic_message, InvalidArgumentError, SchemaError};

const SCHEMA: &std::ffi::CStr = c"arrow_schema";
const ARRAY: &std::ffi::CStr = c"arrow_array";
const STREAM: &std::ffi::CStr = c"arrow_array_stream";

fn schema_err(e: ArrowError) -> PyErr {
    SchemaError::new_err(format!("arrow: {e}"))
}

/// A capsule holding the C schema of `schema` (a struct of its fields).
pub(crate) fn schema_capsule<'py>(
    py: Python<'py>,
    schema: &Schema,
) -> PyResult<Bound<'py, PyCapsule>> {
    let ffi = FFI_ArrowSchema::try_from(schema).map_err(schema_err)?;
    PyCapsule::new_with_value(py, ffi, SCHEMA)
}

/// `(schema capsule, array capsule)` of `batch` as one struct array.
pub(crate) fn batch_capsules<'py>(
    py: Python<'py>,
    batch: &RecordBatch,
) -> PyResult<Bound<'py, PyTuple>> {
    let array = StructArray::from(batch.clone());
    let data = arrow_array::Array::to_data(&array);
    let field = Field::new("", DataType::Struct(batch.schema().fields().clone()), false)
        .with_metadata(batch.schema().metadata().clone());
    let schema = FFI_ArrowSchema::try_from(&field).map_err(schema_err)?;
    let array = FFI_ArrowArray::new(&data);
    let s = PyCapsule::new_with_value(py, schema, SCHEMA)?;
    let a = PyCapsule::new_with_value(py, array, ARRAY)?;
    PyTuple::new(py, [s.into_any(), a.into_any()])
}

/// A reader that turns panics of the inner reader into errors: stream callbacks
/// are `extern "C"`, where an unwinding panic would abort the process.
struct PanicGuard<R>(R);

impl<R: RecordBatchReader> Iterator for PanicGuard<R> {
    type Item = Result<RecordBatch, ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        catch_unwind(AssertUnwindSafe(|| self.0.next())).unwrap_or_else(|p| {
            Some(Err(ArrowError::ExternalError(
                format!("internal error in b2frame: {}", panic_message(p.as_ref())).into(),
            )))
        })
    }
}

impl<R: RecordBatchReader> RecordBatchReader for PanicGuard<R> {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }
}

/// A capsule holding a C stream over `reader`'s batches.
pub(crate) fn stream_capsule<'py>(
    py: Python<'py>,
    reader: impl RecordBatchReader + Send + 'static,
) -> PyResult<Bound<'py, PyCapsule>> {
    let stream = FFI_ArrowArrayStream::new(Box::new(PanicGuard(reader)));
    PyCapsule::new_with_value(py, stream, STREAM)
}

/// A capsule holding a C stream of the one batch `batch`.
pub(crate) fn batch_stream_capsule<'py>(
    py: Python<'py>,
    batch: RecordBatch,
) -> PyResult<Bound<'py, PyCapsule>> {
    let schema = batch.schema();
    stream_capsule(py, RecordBatchIterator::new([Ok(batch)], schema))
}

/// Imports a stream from any object with `__arrow_c_stream__` (pyarrow tables and
/// readers, Polars frames and `collect_batches()`, …).
pub(crate) fn import_stream(obj: &Bound<'_, PyAny>) -> PyResult<RecordBatchStreamReader> {
    if !obj.hasattr("__arrow_c_stream__")? {
        let t = obj.get_type().name()?;
        return Err(InvalidArgumentError::new_err(format!(
            "expected an object with __arrow_c_stream__ (pyarrow Table/RecordBatchReader, \
             Polars DataFrame), got {t}"
        )));
    }
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
        InvalidArgumentError::new_err("__arrow_c_stream__ did not return a PyCapsule")
    })?;
    let ptr = capsule.pointer_checked(Some(STREAM)).map_err(|_| {
        InvalidArgumentError::new_err(
            "__arrow_c_stream__ returned a capsule not named 'arrow_array_stream'",
        )
    })?;
    // SAFETY: the capsule is named "arrow_array_stream", so by the PyCapsule
    // Interface it points to a valid `ArrowArrayStream`; `from_raw` moves it out and
    // leaves a released (empty) struct behind, which the capsule's destructor skips.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
    RecordBatchStreamReader::try_new(stream).map_err(schema_err)
}
