//! Sinking a LazyFrame into a dataset: batches stream from Polars into a
//! [`DatasetWriter`] and commit once at the end (all or nothing).

use std::sync::{Arc, Mutex};

use ::polars::prelude::{
    polars_bail, polars_err, DataFrame, Engine, LazyFrame, PlanCallback, PolarsResult,
};
use arrow_schema::SchemaRef;

use super::{convert, to_polars};
use crate::dataset::{Dataset, DatasetWriter, WriteMode, WriteOptions};
use crate::Store;

/// Options of [`sink_b2`].
#[derive(Debug, Clone, Default)]
pub struct SinkOptionsB2 {
    /// Create, append, create-or-append (default) or overwrite.
    pub mode: WriteMode,
    /// Writer options (chunking, per-column compression); its `mode` is replaced by `mode`.
    pub write: WriteOptions,
    /// Rows per batch handed from Polars to the writer (default 131072).
    pub batch_rows: Option<usize>,
    /// Object-store options for URLs, as accepted by [`Store::from_url`].
    pub storage_options: Vec<(String, String)>,
}

impl SinkOptionsB2 {
    /// Sets the write mode.
    pub fn with_mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }
    /// Appends to an existing dataset (its schema must match).
    pub fn append(self) -> Self {
        self.with_mode(WriteMode::Append)
    }
    /// Adds an object-store option.
    pub fn with_storage_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.storage_options.push((key.into(), value.into()));
        self
    }
}

/// Streams `lf` into the dataset at `url` (directory or store URL) and commits it;
/// returns the rows written.
///
/// # Errors
/// Polars errors of the query; a schema that differs from the dataset's on append
/// (naming the columns); unsupported column types; store errors. Nothing is committed
/// on error.
pub fn sink_b2(lf: LazyFrame, url: &str, options: SinkOptionsB2) -> PolarsResult<u64> {
    let store = Store::from_url(url, options.storage_options.clone()).map_err(to_polars)?;
    sink_b2_store(lf, store, options)
}

/// As [`sink_b2`], into `store`.
///
/// # Errors
/// As [`sink_b2`].
pub fn sink_b2_store(lf: LazyFrame, store: Store, options: SinkOptionsB2) -> PolarsResult<u64> {
    let mut lf = lf;
    let polars_schema = lf.collect_schema()?;
    let existing = match options.mode {
        WriteMode::Append | WriteMode::CreateOrAppend => match Dataset::open_store(store.clone()) {
            Ok(ds) => Some(ds.schema()),
            Err(crate::Error::Dataset {
                kind: crate::error::DatasetErrorKind::NotFound,
                ..
            }) if options.mode == WriteMode::CreateOrAppend => None,
            Err(e) => return Err(to_polars(e)),
        },
        _ => None,
    };
    let fresh = convert::storage_schema(&DataFrame::empty_with_schema(&polars_schema))?;
    let schema: SchemaRef = match existing {
        Some(s) => {
            check_append_schema(&s, &fresh)?;
            s
        }
        None => fresh,
    };
    let write = options.write.clone().with_mode(options.mode);
    let writer = DatasetWriter::new(store, schema.clone(), write).map_err(to_polars)?;
    let writer = Arc::new(Mutex::new(writer));
    let w = writer.clone();
    let target = schema.clone();
    let callback = PlanCallback::new(move |mut df: DataFrame| -> PolarsResult<bool> {
        let batches = convert::df_to_batches(&mut df, &target)?;
        let mut w = w
            .lock()
            .map_err(|_| polars_err!(ComputeError: "dataset writer poisoned"))?;
        for b in &batches {
            w.write(b).map_err(to_polars)?;
        }
        Ok(false)
    });
    let rows = options.batch_rows.unwrap_or(1 << 17).max(1);
    let sink = lf.sink_batches(callback, true, std::num::NonZeroUsize::new(rows))?;
    // Polars 0.55's streaming engine cannot run custom scans (it panics); such plans run
    // on the in-memory engine, everything else streams with bounded memory.
    let engine = if plan_has_custom_scan(&sink)? {
        Engine::InMemory
    } else {
        Engine::Streaming
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sink.collect_with_engine(engine)
    }));
    match run {
        Ok(r) => {
            r?;
        }
        Err(_) => {
            polars_bail!(ComputeError: "Polars panicked while running the query; nothing was committed")
        }
    }
    let writer = Arc::try_unwrap(writer)
        .map_err(|_| polars_err!(ComputeError: "the dataset writer is still in use"))?
        .into_inner()
        .map_err(|_| polars_err!(ComputeError: "dataset writer poisoned"))?;
    let rows = writer.rows_written();
    writer.finish().map_err(to_polars)?;
    Ok(rows)
}

/// Whether the plan reads from an anonymous (custom) scan, which only the in-memory
/// engine runs (the streaming-safe `b2frame_streaming_scan` map does not count).
fn plan_has_custom_scan(lf: &LazyFrame) -> PolarsResult<bool> {
    let plan = lf.describe_plan()?;
    Ok(plan.contains("b2frame_scan") || plan.to_ascii_lowercase().contains("anonymous"))
}

/// Appending `new` to a dataset of schema `old`: same column names, types and order,
/// else an error naming the differing columns.
fn check_append_schema(old: &SchemaRef, new: &SchemaRef) -> PolarsResult<()> {
    let names = |s: &SchemaRef| {
        s.fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
    };
    if names(old) != names(new) {
        polars_bail!(SchemaMismatch: "cannot append columns {:?} to a dataset with columns {:?}", names(new), names(old));
    }
    let diffs: Vec<String> = old
        .fields()
        .iter()
        .zip(new.fields())
        .filter(|(a, b)| !castable(a.data_type(), b.data_type()))
        .map(|(a, b)| {
            format!(
                "{}: dataset {} vs appended {}",
                a.name(),
                a.data_type(),
                b.data_type()
            )
        })
        .collect();
    if !diffs.is_empty() {
        polars_bail!(SchemaMismatch: "appended columns differ from the dataset's: {}", diffs.join("; "));
    }
    Ok(())
}

/// The appended type equals the stored one up to the Arrow layouts Polars picks.
fn castable(stored: &arrow_schema::DataType, new: &arrow_schema::DataType) -> bool {
    use arrow_schema::DataType as A;
    let norm = |t: &A| match t {
        A::LargeUtf8 | A::Utf8View => A::Utf8,
        A::LargeBinary | A::BinaryView => A::Binary,
        other => other.clone(),
    };
    match (stored, new) {
        (A::List(a) | A::LargeList(a), A::List(b) | A::LargeList(b)) => {
            castable(a.data_type(), b.data_type())
        }
        (A::Dictionary(_, a), A::Dictionary(_, b)) => castable(a, b),
        (a, b) => norm(a) == norm(b),
    }
}
