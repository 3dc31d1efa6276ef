//! Polars: scan b2frame datasets and `.b2frame` columns into [`LazyFrame`]s with the
//! work pushed down into the reader, and sink LazyFrames into datasets (feature
//! `polars`).
//!
//! ```no_run
//! use b2frame::polars::{scan_b2, sink_b2, ScanArgsB2, SinkOptionsB2};
//! use polars::prelude::*;
//! let lf = scan_b2("datasets/flights-b2", ScanArgsB2::default())?;
//! let late = lf
//!     .filter(col("carrier").eq(lit("UA")).and(col("month").eq(lit(7))))
//!     .select([col("dep_delay").mean()])
//!     .collect()?;
//! println!("{late}");
//! // Sink any LazyFrame into a dataset (streamed in batches).
//! let rows = sink_b2(late.lazy(), "/tmp/late-b2", SinkOptionsB2::default())?;
//! # Ok::<(), PolarsError>(())
//! ```
//!
//! What is pushed down: the projection (only the selected columns are opened), the
//! predicate (chunks whose min/max/null statistics cannot match are skipped; the
//! rows read are then filtered exactly), `head(n)`, and an offset slice given with
//! [`ScanArgsB2::with_rows`] (Polars does not hand offset slices to custom scans).
//!
//! Engines: Polars 0.55 has no way for a library to add a source to its streaming
//! engine (custom scans are an `AnonymousScan`, which only the in-memory engine runs;
//! the streaming engine hits a `todo!()` inside Polars on one). So `scan_b2` builds
//! one of two plans:
//!
//! - by default, an `AnonymousScan` with every pushdown above, for `collect()` (the
//!   in-memory engine, Polars' default) and for [`sink_b2`];
//! - with [`ScanArgsB2::with_streaming`] (or when `POLARS_FORCE_STREAMING=1` is set),
//!   a plan every engine runs — `sink_parquet`, `sink_ipc`, `sink_csv`,
//!   `collect_with_engine(Engine::Streaming)` — where the scan is an opaque map
//!   over an empty frame with the source's schema: Polars still pushes the projection
//!   into it (only the selected columns are read), but filters and `head` run after
//!   the read, and the scanned columns are materialized once before streaming on.
//!
//! For bounded-memory processing of a b2frame source use [`scan_b2_batches`]; [`sink_b2`]
//! streams any LazyFrame whose sources the streaming engine supports (a plan holding a
//! default b2frame scan runs on the in-memory engine instead).

mod convert;
mod predicate;
mod scan;
mod sink;

use std::ops::Range;
use std::sync::Arc;

use ::polars::prelude::{
    polars_err, DataFrame, DataType, LazyFrame, PolarsError, PolarsResult, ScanArgsAnonymous,
};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

pub use sink::{sink_b2, sink_b2_store, SinkOptionsB2};

use crate::dataset::Dataset;
use crate::error::{DatasetErrorKind, Error};
use crate::{SChunk, Store};
use scan::{B2Scan, ColumnFrame, Source};

/// Options of [`scan_b2`].
#[derive(Debug, Clone, Default)]
pub struct ScanArgsB2 {
    /// Only rows `rows` (an offset slice pushed into the reader).
    pub rows: Option<Range<u64>>,
    /// Most rows decoded per batch (default 131072).
    pub batch_size: Option<usize>,
    /// Object-store options for URLs (`aws_endpoint`, `aws_allow_http`, …), as accepted
    /// by [`Store::from_url`].
    pub storage_options: Vec<(String, String)>,
    /// The dtype of a `.b2frame` column without a `b2nd` metalayer (raw super-chunk).
    pub dtype: Option<DataType>,
    /// Build the plan Polars' streaming engine can run (`sink_parquet`, `sink_ipc`,
    /// `collect_with_engine(Engine::Streaming)`, `POLARS_FORCE_STREAMING=1`): the
    /// projection is still pushed down, but predicates and `head` apply after the read.
    /// `None` (the default) picks it when `POLARS_FORCE_STREAMING=1` is set, else the
    /// in-memory engine's plan with every pushdown. See the [module docs](self).
    pub streaming: Option<bool>,
}

impl ScanArgsB2 {
    /// Reads only rows `rows`.
    pub fn with_rows(mut self, rows: Range<u64>) -> Self {
        self.rows = Some(rows);
        self
    }
    /// Sets the most rows decoded per batch.
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = Some(n);
        self
    }
    /// Adds an object-store option.
    pub fn with_storage_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.storage_options.push((key.into(), value.into()));
        self
    }
    /// Sets the dtype of a raw `.b2frame` column.
    pub fn with_dtype(mut self, dtype: DataType) -> Self {
        self.dtype = Some(dtype);
        self
    }
    /// Builds a plan that every Polars engine runs, the streaming one included (see
    /// [`ScanArgsB2::streaming`]).
    pub fn with_streaming(mut self, on: bool) -> Self {
        self.streaming = Some(on);
        self
    }
    /// Whether the streaming-safe plan is built: the explicit choice, else
    /// `force_streaming_env` (the value of `POLARS_FORCE_STREAMING`) is `"1"`.
    fn streaming_plan(&self, force_streaming_env: Option<&str>) -> bool {
        self.streaming.unwrap_or(force_streaming_env == Some("1"))
    }
}

const DEFAULT_BATCH: usize = 1 << 17;

/// A LazyFrame over a dataset (a directory or store URL) or over one `.b2frame` /
/// `.b2nd` column file.
///
/// # Errors
/// A missing dataset or file, a bad URL, a column type Polars cannot hold (named), a raw
/// frame without `args.dtype` or with a dtype of another width.
pub fn scan_b2(path_or_url: &str, args: ScanArgsB2) -> PolarsResult<LazyFrame> {
    make_lazy(open_source(path_or_url, &args)?, &args)
}

/// A LazyFrame over the dataset in `store` (e.g. a wrapped or counting store).
///
/// # Errors
/// As [`scan_b2`].
pub fn scan_b2_store(store: Store, args: ScanArgsB2) -> PolarsResult<LazyFrame> {
    let ds = Dataset::open_store(store).map_err(to_polars)?;
    make_lazy(Source::Dataset(ds), &args)
}

/// The rows of a dataset or column file as DataFrames of at most `batch_size` rows,
/// decoded one batch at a time (bounded memory, any engine downstream).
///
/// # Errors
/// As [`scan_b2`]; each item carries the errors of decoding its batch.
pub fn scan_b2_batches(
    path_or_url: &str,
    columns: Option<&[&str]>,
    args: ScanArgsB2,
) -> PolarsResult<impl Iterator<Item = PolarsResult<DataFrame>>> {
    let scan = B2Scan::new(
        open_source(path_or_url, &args)?,
        args.rows.clone(),
        args.batch_size.unwrap_or(DEFAULT_BATCH),
    )?;
    let cols: Vec<String> = match columns {
        Some(c) => c.iter().map(|s| s.to_string()).collect(),
        None => scan
            .arrow_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    };
    let step = scan.batch_size as u64;
    let rows = scan.rows.clone();
    let starts = (rows.start..rows.end).step_by(step.max(1) as usize);
    Ok(starts.map(move |s| {
        let e = s.saturating_add(step).min(rows.end);
        scan.frame(&cols, s..e, None)
    }))
}

fn make_lazy(source: Source, args: &ScanArgsB2) -> PolarsResult<LazyFrame> {
    let scan = B2Scan::new(
        source,
        args.rows.clone(),
        args.batch_size.unwrap_or(DEFAULT_BATCH),
    )?;
    let env = std::env::var("POLARS_FORCE_STREAMING").ok();
    if args.streaming_plan(env.as_deref()) {
        return scan.into_mapped_lazy();
    }
    let schema = scan.polars_schema()?;
    LazyFrame::anonymous_scan(
        Arc::new(scan),
        ScanArgsAnonymous {
            schema: Some(schema),
            name: "b2frame_scan",
            ..Default::default()
        },
    )
}

fn open_source(path_or_url: &str, args: &ScanArgsB2) -> PolarsResult<Source> {
    let is_frame = path_or_url.ends_with(".b2frame") || path_or_url.ends_with(".b2nd");
    let local = std::path::Path::new(path_or_url);
    if !is_frame && !local.is_file() {
        let store =
            Store::from_url(path_or_url, args.storage_options.clone()).map_err(to_polars)?;
        return Ok(Source::Dataset(
            Dataset::open_store(store).map_err(to_polars)?,
        ));
    }
    let name = path_or_url
        .rsplit('/')
        .next()
        .unwrap_or(path_or_url)
        .trim_end_matches(".b2frame")
        .trim_end_matches(".b2nd")
        .to_string();
    let schunk = if local.is_file() || !path_or_url.contains("://") {
        SChunk::open(local).map_err(to_polars)?
    } else {
        let (dir, file) = path_or_url.rsplit_once('/').unwrap_or(("", path_or_url));
        let store = Store::from_url(dir, args.storage_options.clone()).map_err(to_polars)?;
        let bytes = crate::store::block_on(store.get(file))
            .and_then(|r| r)
            .map_err(to_polars)?;
        SChunk::from_cframe(&bytes).map_err(to_polars)?
    };
    let dtype = match &args.dtype {
        Some(d) => Some(convert::arrow_type_of_polars(&name, d)?),
        None => None,
    };
    let column = ColumnFrame::new(&name, schunk, dtype.as_ref())?;
    Ok(Source::Column(Box::new(column)))
}

/// Record batches (all of one schema) as a DataFrame, moving buffers through the Arrow
/// C Data Interface.
///
/// # Errors
/// A column type Polars cannot hold, naming the column.
pub fn to_dataframe(schema: &SchemaRef, batches: &[RecordBatch]) -> PolarsResult<DataFrame> {
    convert::batches_to_df(schema, batches)
}

/// A DataFrame as record batches in the Arrow types b2frame stores (`Utf8`, `Binary`,
/// `List` rather than Polars' views and large offsets), with that schema.
///
/// # Errors
/// Conversion errors naming the column.
pub fn to_record_batches(df: &mut DataFrame) -> PolarsResult<(SchemaRef, Vec<RecordBatch>)> {
    let schema = convert::storage_schema(df)?;
    let batches = convert::df_to_batches(df, &schema)?;
    Ok((schema, batches))
}

/// A b2frame error as a Polars error of the closest kind, keeping its message.
pub fn to_polars(e: Error) -> PolarsError {
    match e {
        Error::Io(io) => PolarsError::IO {
            error: Arc::new(io),
            msg: None,
        },
        Error::Dataset {
            kind: DatasetErrorKind::NotFound | DatasetErrorKind::Missing,
            ..
        } => PolarsError::IO {
            error: Arc::new(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                e.to_string(),
            )),
            msg: None,
        },
        Error::Dataset {
            kind: DatasetErrorKind::SchemaMismatch,
            ..
        } => polars_err!(SchemaMismatch: "{e}"),
        Error::InvalidArgument { .. } | Error::Unsupported { .. } => {
            polars_err!(InvalidOperation: "{e}")
        }
        other => polars_err!(ComputeError: "{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::ScanArgsB2;

    #[test]
    fn the_streaming_plan_is_explicit_or_follows_polars_force_streaming() {
        let auto = ScanArgsB2::default();
        assert!(!auto.streaming_plan(None));
        assert!(!auto.streaming_plan(Some("0")));
        assert!(auto.streaming_plan(Some("1")));
        let off = ScanArgsB2::default().with_streaming(false);
        assert!(!off.streaming_plan(Some("1")));
        assert!(ScanArgsB2::default()
            .with_streaming(true)
            .streaming_plan(None));
    }
}
