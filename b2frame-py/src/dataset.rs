//! Datasets from Python: open, scan (projection, rows, pruning predicate) into
//! Arrow batches, and write any Arrow stream.

use std::collections::HashMap;
use std::sync::Mutex;

use arrow_array::{RecordBatch, RecordBatchReader};
use b2frame::arrow::{Compression, EncodeOptions};
use b2frame::dataset::{
    CmpOp, Dataset, DatasetReader, DatasetWriter, Predicate, ScanOptions, StatValue, WriteMode,
    WriteOptions,
};
use b2frame::{Codec, Filter, Store};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyTuple};
use serde_json::Value;

use crate::errors::{nogil, to_py, B2FrameError, IntoPy, InvalidArgumentError};
use crate::ffi;

/// Opens the store at `url` with `storage_options`.
fn open_store(url: &str, storage_options: Option<Vec<(String, String)>>) -> PyResult<Store> {
    Store::from_url(url, storage_options.unwrap_or_default()).py_err()
}

/// A committed version of a dataset (Python: `b2frame._b2frame.Dataset`).
#[pyclass(name = "Dataset", module = "b2frame._b2frame", frozen)]
pub(crate) struct PyDataset {
    ds: Dataset,
}

#[pymethods]
impl PyDataset {
    /// Opens the newest version (or `version`) of the dataset at `url`; with
    /// `max_staleness` (seconds), a version found to be the newest less than that
    /// long ago is reopened without any request.
    #[staticmethod]
    #[pyo3(signature = (url, storage_options=None, version=None, max_staleness=None))]
    fn open(
        py: Python<'_>,
        url: String,
        storage_options: Option<Vec<(String, String)>>,
        version: Option<u64>,
        max_staleness: Option<f64>,
    ) -> PyResult<PyDataset> {
        let staleness = seconds("max_staleness", max_staleness.unwrap_or(0.0))?;
        nogil(py, move || {
            let store = open_store(&url, storage_options)?;
            let ds = match version {
                None => Dataset::open_store_with(store, staleness),
                Some(v) => Dataset::open_version(store, v),
            }
            .py_err()?;
            Ok(PyDataset { ds })
        })
    }

    /// The schema as an Arrow PyCapsule (`pyarrow.schema(ds)` reads it).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_schema__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        ffi::schema_capsule(py, &self.ds.schema())
    }

    /// Total rows.
    #[getter]
    fn num_rows(&self) -> u64 {
        self.ds.num_rows()
    }

    /// The version opened.
    #[getter]
    fn version(&self) -> u64 {
        self.ds.version()
    }

    /// The store URL.
    #[getter]
    fn url(&self) -> String {
        self.ds.store().url().to_string()
    }

    /// Fragments of the version opened.
    #[getter]
    fn num_fragments(&self) -> usize {
        self.ds.manifest().fragments.len()
    }

    /// Merges runs of small fragments (see `Dataset::compact`); returns
    /// `(version or None, fragments_before, fragments_after, rows_rewritten)`.
    #[pyo3(signature = (target_rows=None))]
    fn compact(
        &self,
        py: Python<'_>,
        target_rows: Option<u64>,
    ) -> PyResult<(Option<u64>, usize, usize, u64)> {
        let mut options = b2frame::dataset::CompactOptions::default();
        if let Some(n) = target_rows {
            options = options.with_target_rows(n);
        }
        let ds = self.ds.clone();
        nogil(py, move || {
            let r = ds.compact(options).py_err()?;
            Ok((
                r.version,
                r.fragments_before,
                r.fragments_after,
                r.rows_rewritten,
            ))
        })
    }

    /// Deletes old versions and unreferenced objects (see
    /// `Dataset::cleanup_old_versions`); returns `(versions_removed,
    /// versions_kept, objects_removed, bytes_removed)`.
    #[pyo3(signature = (keep_versions, min_age_secs, dry_run))]
    fn cleanup_old_versions(
        &self,
        py: Python<'_>,
        keep_versions: usize,
        min_age_secs: f64,
        dry_run: bool,
    ) -> PyResult<(Vec<u64>, Vec<u64>, u64, u64)> {
        let age = seconds("min_age", min_age_secs)?;
        let options = b2frame::dataset::CleanupOptions::default()
            .with_keep_versions(keep_versions)
            .with_min_age(age)
            .with_dry_run(dry_run);
        let ds = self.ds.clone();
        nogil(py, move || {
            let r = ds.cleanup_old_versions(options).py_err()?;
            Ok((
                r.versions_removed,
                r.versions_kept,
                r.objects_removed,
                r.bytes_removed,
            ))
        })
    }

    /// Requests and bytes counted by this dataset's store since it was opened or reset.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.ds.store().stats();
        let d = PyDict::new(py);
        d.set_item("requests", s.requests)?;
        d.set_item("get_requests", s.get_requests)?;
        d.set_item("put_requests", s.put_requests)?;
        d.set_item("head_requests", s.head_requests)?;
        d.set_item("list_requests", s.list_requests)?;
        d.set_item("delete_requests", s.delete_requests)?;
        d.set_item("bytes_read", s.bytes_read)?;
        d.set_item("bytes_written", s.bytes_written)?;
        Ok(d)
    }

    /// Sets the counters of [`PyDataset::stats`] to zero.
    fn reset_stats(&self) {
        self.ds.store().reset_stats();
    }

    /// Starts a scan. `predicate` is the JSON of a pruning predicate (see
    /// [`parse_predicate`]); rows it cannot exclude are returned unfiltered.
    #[pyo3(signature = (columns=None, start=None, end=None, batch_size=None, predicate=None))]
    fn scan(
        &self,
        py: Python<'_>,
        columns: Option<Vec<String>>,
        start: Option<u64>,
        end: Option<u64>,
        batch_size: Option<usize>,
        predicate: Option<String>,
    ) -> PyResult<Scanner> {
        let mut opts = ScanOptions::default();
        if let Some(c) = columns {
            opts = opts.with_columns(c);
        }
        if start.is_some() || end.is_some() {
            let n = self.ds.num_rows();
            let (a, b) = (start.unwrap_or(0), end.unwrap_or(n).min(n));
            opts = opts.with_rows(a.min(b)..b);
        }
        if let Some(b) = batch_size {
            opts = opts.with_batch_size(b);
        }
        if let Some(p) = predicate {
            let v: Value = serde_json::from_str(&p)
                .map_err(|e| InvalidArgumentError::new_err(format!("predicate JSON: {e}")))?;
            opts = opts.with_predicate(parse_predicate(&v)?);
        }
        let ds = self.ds.clone();
        let reader = nogil(py, move || ds.scan(opts).py_err())?;
        Ok(Scanner {
            schema: reader.schema(),
            reader: Mutex::new(Some(reader)),
        })
    }
}

/// Parses `{"and": [...]}`, `{"or": [...]}`, `{"is_null": col}`,
/// `{"is_not_null": col}` and `{"cmp": [col, op, value]}` (op one of `==`, `!=`,
/// `<`, `<=`, `>`, `>=`; value a JSON boolean, number or string).
fn parse_predicate(v: &Value) -> PyResult<Predicate> {
    let bad = |what: &str| InvalidArgumentError::new_err(format!("predicate: {what}: {v}"));
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| bad("not a one-key object"))?;
    let (k, arg) = obj.iter().next().ok_or_else(|| bad("empty"))?;
    let col = |a: &Value| {
        a.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad("column is not a string"))
    };
    Ok(match k.as_str() {
        "and" | "or" => {
            let parts = arg
                .as_array()
                .ok_or_else(|| bad("expected a list"))?
                .iter()
                .map(parse_predicate)
                .collect::<PyResult<Vec<_>>>()?;
            if k == "and" {
                Predicate::And(parts)
            } else {
                Predicate::Or(parts)
            }
        }
        "is_null" => Predicate::IsNull(col(arg)?),
        "is_not_null" => Predicate::IsNotNull(col(arg)?),
        "cmp" => {
            let [c, op, value] = arg.as_array().map(Vec::as_slice).unwrap_or(&[]) else {
                return Err(bad("cmp needs [column, op, value]"));
            };
            let op = match op.as_str() {
                Some("==") => CmpOp::Eq,
                Some("!=") => CmpOp::NotEq,
                Some("<") => CmpOp::Lt,
                Some("<=") => CmpOp::LtEq,
                Some(">") => CmpOp::Gt,
                Some(">=") => CmpOp::GtEq,
                _ => return Err(bad("unknown operator")),
            };
            let value = match value {
                Value::Bool(b) => StatValue::Bool(*b),
                Value::String(s) => StatValue::Str(s.clone()),
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        StatValue::Int(i)
                    } else if let Some(u) = n.as_u64() {
                        StatValue::UInt(u)
                    } else {
                        StatValue::Float(n.as_f64().ok_or_else(|| bad("bad number"))?)
                    }
                }
                _ => return Err(bad("value must be a boolean, number or string")),
            };
            Predicate::cmp(col(c)?, op, value)
        }
        _ => return Err(bad("unknown node")),
    })
}

/// The batches of a scan, pulled one at a time or exported as an Arrow stream.
#[pyclass(module = "b2frame._b2frame", frozen)]
pub(crate) struct Scanner {
    schema: arrow_schema::SchemaRef,
    reader: Mutex<Option<DatasetReader>>,
}

impl Scanner {
    fn take(&self) -> PyResult<DatasetReader> {
        self.reader
            .lock()
            .map_err(|_| B2FrameError::new_err("scanner poisoned"))?
            .take()
            .ok_or_else(|| InvalidArgumentError::new_err("the scan was already consumed"))
    }
}

#[pymethods]
impl Scanner {
    /// The next batch, or `None` at the end; with `max_rows`, the planned
    /// batches that follow in the same fragment are joined up to that many rows
    /// (see `DatasetReader::next_up_to`).
    #[pyo3(signature = (max_rows=None))]
    fn next_batch(&self, py: Python<'_>, max_rows: Option<usize>) -> PyResult<Option<Batch>> {
        // The lock is taken with the GIL released: a thread waiting for it must not
        // hold the GIL the decoding thread needs to return.
        let next = nogil(py, || {
            let mut guard = self
                .reader
                .lock()
                .map_err(|_| B2FrameError::new_err("scanner poisoned"))?;
            let Some(reader) = guard.as_mut() else {
                return Ok(None);
            };
            let next = match max_rows {
                Some(n) => reader.next_up_to(n),
                None => reader.next(),
            };
            if !matches!(next, Some(Ok(_))) {
                *guard = None;
            }
            Ok(next)
        })?;
        match next {
            None => Ok(None),
            Some(Ok(batch)) => Ok(Some(Batch { batch })),
            Some(Err(e)) => Err(crate::errors::arrow_to_py(e)),
        }
    }

    /// Batches left.
    fn remaining_batches(&self) -> PyResult<usize> {
        let guard = self
            .reader
            .lock()
            .map_err(|_| B2FrameError::new_err("scanner poisoned"))?;
        Ok(guard.as_ref().map_or(0, DatasetReader::remaining_batches))
    }

    /// The schema of the batches as an Arrow PyCapsule.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_schema__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        ffi::schema_capsule(py, &self.schema)
    }

    /// The remaining batches as an Arrow stream (consumes the scan).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        ffi::stream_capsule(py, self.take()?)
    }
}

/// One record batch, exported through `__arrow_c_array__` (a struct array) or
/// `__arrow_c_stream__` (a one-batch stream).
#[pyclass(module = "b2frame._b2frame", frozen)]
pub(crate) struct Batch {
    batch: RecordBatch,
}

#[pymethods]
impl Batch {
    /// Rows in the batch.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// `(schema capsule, array capsule)` of the batch as a struct array.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema;
        ffi::batch_capsules(py, &self.batch)
    }

    /// The batch as a one-batch Arrow stream.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        ffi::batch_stream_capsule(py, self.batch.clone())
    }
}

fn parse_codec(name: &str) -> PyResult<Codec> {
    (0u8..=5)
        .filter_map(|id| Codec::from_id(id).ok())
        .find(|c| c.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            InvalidArgumentError::new_err(format!(
                "unknown codec {name:?} (blosclz, lz4, lz4hc, zlib, zstd)"
            ))
        })
}

fn parse_filter(name: &str) -> PyResult<Filter> {
    (0u8..=40)
        .filter_map(|id| Filter::from_id(id).ok())
        .find(|f| f.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            InvalidArgumentError::new_err(format!(
                "unknown filter {name:?} (nofilter, shuffle, bitshuffle, delta, trunc_prec, bytedelta)"
            ))
        })
}

/// Parses a codec and filter names (as given to `write`/`save_tensor`).
pub(crate) fn parse_compression(
    codec: Option<&str>,
    filters: Option<&[String]>,
) -> PyResult<(Option<Codec>, Option<Vec<Filter>>)> {
    let codec = codec.map(parse_codec).transpose()?;
    let filters = filters
        .map(|fs| {
            fs.iter()
                .map(|f| parse_filter(f))
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    Ok((codec, filters))
}

/// Per-column compression as passed from Python: column → (codec, clevel, filters).
type ColumnCompression = HashMap<String, (Option<String>, Option<u8>, Option<Vec<String>>)>;

/// One column's compression from optional codec, level and filters (`None`
/// filters: tuned per buffer, as the default is).
fn compression(
    codec: Option<&str>,
    clevel: Option<u8>,
    filters: Option<&[String]>,
) -> PyResult<Compression> {
    let (codec, filters) = parse_compression(codec, filters)?;
    let mut c = Compression::new(codec.unwrap_or(Codec::Zstd), 1, [Filter::Shuffle]);
    if let Some(l) = clevel {
        if l > 9 {
            return Err(InvalidArgumentError::new_err(format!(
                "clevel {l}: expected 0..=9"
            )));
        }
        c.clevel = l;
    }
    match filters {
        Some(f) => c.filters = f,
        None => c.tune_filters = true,
    }
    Ok(c)
}

/// Writes the Arrow stream `data` into the dataset at `url`; returns
/// `(rows written, version committed)`. `codec`/`clevel`/`filters` apply to every
/// column not named in `columns`.
#[pyfunction]
#[pyo3(signature = (data, url, mode="create", storage_options=None, chunk_rows=None,
    fragment_rows=None, dictionary=None, columns=None, codec=None, clevel=None, filters=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    url: String,
    mode: &str,
    storage_options: Option<Vec<(String, String)>>,
    chunk_rows: Option<usize>,
    fragment_rows: Option<usize>,
    dictionary: Option<bool>,
    columns: Option<ColumnCompression>,
    codec: Option<String>,
    clevel: Option<u8>,
    filters: Option<Vec<String>>,
) -> PyResult<(u64, u64)> {
    let mode = match mode {
        "create" => WriteMode::Create,
        "append" => WriteMode::Append,
        "overwrite" => WriteMode::Overwrite,
        "create_or_append" => WriteMode::CreateOrAppend,
        other => {
            return Err(InvalidArgumentError::new_err(format!(
                "mode {other:?}: expected 'create', 'append', 'overwrite' or 'create_or_append'"
            )))
        }
    };
    let reader = ffi::import_stream(data)?;
    let schema = reader.schema();
    let mut encode = EncodeOptions::default();
    if let Some(r) = chunk_rows {
        if r == 0 {
            return Err(InvalidArgumentError::new_err(
                "chunk_rows must be at least 1",
            ));
        }
        encode = encode.with_chunk_rows(r);
    }
    if let Some(d) = dictionary {
        encode = encode.with_dictionary(d);
    }
    let columns = columns.unwrap_or_default();
    for (name, (codec, clevel, filters)) in &columns {
        if schema.index_of(name).is_err() {
            return Err(InvalidArgumentError::new_err(format!(
                "columns: no column {name:?} in the data"
            )));
        }
        encode = encode.with_column(
            name.clone(),
            compression(codec.as_deref(), *clevel, filters.as_deref())?,
        );
    }
    if codec.is_some() || clevel.is_some() || filters.is_some() {
        let c = compression(codec.as_deref(), clevel, filters.as_deref())?;
        for f in schema.fields() {
            if !columns.contains_key(f.name()) {
                encode = encode.with_column(f.name().clone(), c.clone());
            }
        }
    }
    let mut options = WriteOptions::default().with_mode(mode).with_encode(encode);
    if let Some(r) = fragment_rows {
        options = options.with_fragment_rows(r);
    }
    nogil(py, move || {
        let store = open_store(&url, storage_options)?;
        let mut w = DatasetWriter::new(store, schema, options).py_err()?;
        let rows = write_all(&mut w, reader)?;
        let version = w.finish().py_err()?;
        Ok((rows, version))
    })
}

/// Writes every batch of `reader`, keeping errors of the producer (e.g. a Polars
/// query failing mid-stream) apart from b2frame's.
fn write_all(w: &mut DatasetWriter, reader: impl RecordBatchReader) -> PyResult<u64> {
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch
            .map_err(|e| B2FrameError::new_err(format!("reading the input stream failed: {e}")))?;
        w.write(&batch).map_err(to_py)?;
        rows += batch.num_rows() as u64;
    }
    Ok(rows)
}

/// The committed versions of the dataset at `url`, ascending.
#[pyfunction]
#[pyo3(signature = (url, storage_options=None))]
pub(crate) fn list_versions(
    py: Python<'_>,
    url: String,
    storage_options: Option<Vec<(String, String)>>,
) -> PyResult<Vec<u64>> {
    nogil(py, move || {
        let store = open_store(&url, storage_options)?;
        Dataset::versions(&store).py_err()
    })
}

/// `secs` seconds as a duration; `InvalidArgumentError` naming `what` when
/// negative, not finite or too large.
fn seconds(what: &str, secs: f64) -> PyResult<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|e| InvalidArgumentError::new_err(format!("{what}: {secs}: {e}")))
}

/// Forgets the datasets kept for reopening, closing the column files they hold
/// open (see `b2frame::dataset::clear_reopen_cache`).
#[pyfunction]
pub(crate) fn clear_reopen_cache() {
    b2frame::dataset::clear_reopen_cache();
}
