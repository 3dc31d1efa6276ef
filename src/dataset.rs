//! Datasets: Arrow tables stored as column frames in a directory or an
//! object-store prefix, with projection, row-range and predicate pushdown,
//! appends that never rewrite data, and atomic versioned commits. The layout is
//! specified in `docs/FORMAT.md`.
//!
//! ```text
//! {root}/_manifest/v00000000000000000001.json   one per commit (create-if-absent)
//! {root}/data/{fragment}/c{col}[.{child}…].{validity|offsets|values|views}.b2frame
//! ```
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
//! use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteOptions};
//! use b2frame::Store;
//! let mem = Arc::new(object_store::memory::InMemory::new());
//! let store = Store::from_object_store(mem, Default::default());
//! let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10_000));
//! let names: ArrayRef = Arc::new(StringArray::from_iter_values((0..10_000).map(|i| format!("n{i}"))));
//! let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)])?;
//! let mut w = DatasetWriter::new(store.clone(), batch.schema(), WriteOptions::default())?;
//! w.write(&batch)?;
//! assert_eq!(w.finish()?, 1);
//! let ds = Dataset::open_store(store)?;
//! let batches: Vec<_> = ds
//!     .scan(ScanOptions::default().with_columns(["name"]).with_rows(5000..5003))?
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(batches[0].column(0).as_ref(), batch.column(1).slice(5000, 3).as_ref());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod info;
mod maintain;
pub mod manifest;
mod ranged;
mod reopen;
mod writer;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, RecordBatchReader};
use arrow_schema::{ArrowError, Schema, SchemaRef};
use rayon::prelude::*;

pub use crate::arrow::{CmpOp, Predicate, StatValue};
pub use maintain::{CleanupOptions, CleanupReport, CompactOptions, CompactReport};
pub use manifest::{Fragment, Manifest};
pub use writer::{DatasetWriter, WriteMode, WriteOptions};

use crate::arrow;
use crate::error::{DatasetErrorKind, Error, Result};
use crate::store::{self, Store};
use ranged::FrameReader;

/// A committed version of a dataset, opened for reading.
#[derive(Debug, Clone)]
pub struct Dataset {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    reader: FrameReader,
    manifest: Arc<Manifest>,
    schema: SchemaRef,
}

/// What to read: columns, rows, batch size and a pruning predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOptions {
    /// Top-level columns to read, in this order (`None`: all).
    pub columns: Option<Vec<String>>,
    /// Rows to read (`None`: all).
    pub rows: Option<Range<u64>>,
    /// Most rows per batch.
    pub batch_size: usize,
    /// Skip chunks whose statistics show no row can match.
    pub predicate: Option<Predicate>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            columns: None,
            rows: None,
            batch_size: 1 << 17,
            predicate: None,
        }
    }
}

impl ScanOptions {
    /// Reads only these columns.
    pub fn with_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }
    /// Reads only rows `rows`.
    pub fn with_rows(mut self, rows: Range<u64>) -> Self {
        self.rows = Some(rows);
        self
    }
    /// Sets the most rows per batch.
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
    /// Skips chunks that cannot match `predicate`.
    pub fn with_predicate(mut self, predicate: Predicate) -> Self {
        self.predicate = Some(predicate);
        self
    }
}

impl Dataset {
    /// Opens the newest version of the dataset at `url` (a local path, `file://`,
    /// `memory://`, `s3://…`; see [`Store::from_url`]).
    ///
    /// # Errors
    /// `Dataset` (`NotFound`) when there is no manifest, (`Corrupt`) naming the
    /// manifest when it is damaged; store errors.
    pub fn open(url: &str) -> Result<Dataset> {
        Dataset::open_store(Store::from_url(url, [])?)
    }

    /// Opens the newest version of the dataset in `store`.
    ///
    /// A local dataset opened before in this process, whose `_manifest/` folder has
    /// not changed since, is opened again from what was read then (one `stat`); an
    /// object-store dataset whose newest manifest is the one read then reuses its
    /// parse and the chunk prefixes read (docs/FORMAT.md, "Reopening"; see
    /// [`clear_reopen_cache`]).
    ///
    /// # Errors
    /// As [`Dataset::open`].
    pub fn open_store(store: Store) -> Result<Dataset> {
        Dataset::open_store_with(store, Duration::ZERO)
    }

    /// [`Dataset::open_store`] that trusts, without any request, a version this
    /// process found to be the newest less than `max_staleness` ago (a listing on
    /// object stores, a `stat` locally); like Lance's `read_consistency_interval`.
    /// A service that opens a dataset per request on S3 then pays no round trip
    /// before reading, at the price of seeing a commit up to `max_staleness` late.
    /// [`Duration::ZERO`] (what [`Dataset::open_store`] uses) always checks.
    ///
    /// # Errors
    /// As [`Dataset::open`].
    pub fn open_store_with(store: Store, max_staleness: Duration) -> Result<Dataset> {
        let (stamp, reader, seen, checked) = match reopen::lookup(&store, max_staleness) {
            reopen::Found::Same(manifest, schema, reader) => {
                return Ok(Dataset::from_parts(reader, manifest, schema))
            }
            reopen::Found::Changed {
                stamp,
                reader,
                seen,
                checked,
            } => (stamp, reader, seen, checked),
        };
        let m = store::block_on(manifest::load_latest(&store, seen))??.ok_or_else(|| {
            Error::Dataset {
                path: manifest::MANIFEST_DIR.to_string(),
                kind: DatasetErrorKind::NotFound,
                detail: format!("no dataset at {}", store.url()),
            }
        })?;
        let schema = m.schema()?;
        let reader = reopen::keep(&store, stamp, checked, &m, &schema, reader);
        Ok(Dataset::from_parts(reader, m, schema))
    }

    /// Opens version `version` of the dataset in `store`.
    ///
    /// # Errors
    /// `Dataset` (`NotFound`) when that version does not exist; as [`Dataset::open`].
    pub fn open_version(store: Store, version: u64) -> Result<Dataset> {
        let m = store::block_on(manifest::load(&store, version))??;
        Dataset::from_manifest(store, m)
    }

    /// The committed versions of the dataset in `store`, ascending.
    ///
    /// # Errors
    /// Store errors.
    pub fn versions(store: &Store) -> Result<Vec<u64>> {
        store::block_on(manifest::versions(store))?
    }

    fn from_manifest(store: Store, manifest: Arc<Manifest>) -> Result<Dataset> {
        let schema = manifest.schema()?;
        Ok(Dataset::from_parts(
            FrameReader::new(store),
            manifest,
            schema,
        ))
    }

    fn from_parts(reader: FrameReader, manifest: Arc<Manifest>, schema: SchemaRef) -> Dataset {
        Dataset {
            inner: Arc::new(Inner {
                reader,
                manifest,
                schema,
            }),
        }
    }

    /// The store the dataset lives in.
    pub fn store(&self) -> &Store {
        &self.inner.reader.store
    }

    /// The version opened.
    pub fn version(&self) -> u64 {
        self.inner.manifest.version
    }

    /// The Arrow schema (metadata, nullability, time zones included).
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema.clone()
    }

    /// Total rows.
    pub fn num_rows(&self) -> u64 {
        self.inner.manifest.rows
    }

    /// The manifest of the version opened.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// Starts a scan.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown column or rows past the end; footer reads
    /// of the projected columns' frames (fetched concurrently now).
    pub fn scan(&self, options: ScanOptions) -> Result<DatasetReader> {
        let m = &self.inner.manifest;
        let fields = self.inner.schema.fields();
        let cols: Vec<usize> = match &options.columns {
            None => (0..fields.len()).collect(),
            Some(names) => names
                .iter()
                .map(|n| self.column_index(n))
                .collect::<Result<_>>()?,
        };
        let rows = options.rows.clone().unwrap_or(0..m.rows);
        self.check_rows(&rows)?;
        let schema = Arc::new(Schema::new_with_metadata(
            cols.iter().map(|&i| fields[i].clone()).collect::<Vec<_>>(),
            self.inner.schema.metadata().clone(),
        ));
        let mut tasks = Vec::new();
        for (fi, local) in self.fragment_rows(&rows) {
            let f = &m.fragments[fi];
            for r in self.kept(f, options.predicate.as_ref(), local) {
                let mut s = r.start;
                while s < r.end {
                    let e = s.saturating_add(options.batch_size as u64).min(r.end);
                    tasks.push((fi, s..e));
                    s = e;
                }
            }
        }
        let mut buffers = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (fi, _) in &tasks {
            if !seen.insert(*fi) {
                continue;
            }
            for &c in &cols {
                buffers.extend(m.fragments[*fi].columns[c].all_buffers());
            }
        }
        self.inner.reader.prefetch(&buffers)?;
        Ok(DatasetReader {
            ds: self.clone(),
            schema,
            cols,
            tasks: tasks.into_iter().peekable(),
        })
    }

    /// The row ranges of fragment `f` inside `rows` whose zones may match `pred`.
    fn kept(&self, f: &Fragment, pred: Option<&Predicate>, rows: Range<u64>) -> Vec<Range<u64>> {
        let Some(pred) = pred else { return vec![rows] };
        let zr = f.zone_rows.max(1);
        let schema = &self.inner.schema;
        let mut out: Vec<Range<u64>> = Vec::new();
        let mut z = rows.start / zr;
        while z * zr < rows.end {
            let stats = |name: &str| {
                let i = schema.index_of(name).ok()?;
                f.stats.get(i)?.get(z as usize)
            };
            if pred.may_match(&stats) {
                let (a, b) = ((z * zr).max(rows.start), ((z + 1) * zr).min(rows.end));
                match out.last_mut() {
                    Some(last) if last.end == a => last.end = b,
                    _ => out.push(a..b),
                }
            }
            z += 1;
        }
        out
    }

    /// Reads rows `rows` of column `name` into one array.
    ///
    /// # Errors
    /// As [`Dataset::scan`] and decoding errors.
    pub fn read_column(&self, name: &str, rows: Range<u64>) -> Result<ArrayRef> {
        // Straight to the fragments' decoders: a 1000-row slice is a few
        // microseconds, so a scan's projection, tasks and batches would show.
        let c = self.column_index(name)?;
        self.check_rows(&rows)?;
        let field = &self.inner.schema.fields()[c];
        let mut arrays = Vec::new();
        for (fi, local) in self.fragment_rows(&rows) {
            let col = &self.inner.manifest.fragments[fi].columns[c];
            arrays.push(arrow::decode(col, field, local, &self.inner.reader)?);
        }
        match arrays.len() {
            0 => Ok(arrow_array::new_empty_array(field.data_type())),
            1 => Ok(arrays.swap_remove(0)),
            _ => {
                let refs: Vec<&dyn arrow_array::Array> =
                    arrays.iter().map(|a| a.as_ref()).collect();
                Ok(arrow_select::concat::concat(&refs)?)
            }
        }
    }

    /// The fragments holding rows `rows`, each with its part of them in its own rows.
    fn fragment_rows(&self, rows: &Range<u64>) -> impl Iterator<Item = (usize, Range<u64>)> + '_ {
        let (start, end) = (rows.start, rows.end);
        let mut base = 0u64;
        self.inner
            .manifest
            .fragments
            .iter()
            .enumerate()
            .filter_map(move |(fi, f)| {
                let (f0, f1) = (base, base + f.rows);
                base = f1;
                let (a, b) = (start.max(f0), end.min(f1));
                (a < b).then(|| (fi, a - f0..b - f0))
            })
    }

    /// The index of column `name`; `InvalidArgument` if there is none.
    fn column_index(&self, name: &str) -> Result<usize> {
        self.inner
            .schema
            .index_of(name)
            .map_err(|_| Error::invalid("columns", format!("no column '{name}' in the dataset")))
    }

    /// `InvalidArgument` unless `rows` is a range of the dataset's rows.
    fn check_rows(&self, rows: &Range<u64>) -> Result<()> {
        let n = self.inner.manifest.rows;
        if rows.start > rows.end || rows.end > n {
            return Err(Error::invalid(
                "rows",
                format!("{}..{}, the dataset has {n} rows", rows.start, rows.end),
            ));
        }
        Ok(())
    }

    /// Decodes one batch.
    fn read_batch(
        &self,
        schema: &SchemaRef,
        cols: &[usize],
        fi: usize,
        rows: Range<u64>,
    ) -> Result<RecordBatch> {
        let f = &self.inner.manifest.fragments[fi];
        let fields = self.inner.schema.fields();
        let decode =
            |&c: &usize| arrow::decode(&f.columns[c], &fields[c], rows.clone(), &self.inner.reader);
        // One column: decode on this thread (handing one job to the pool and
        // waiting for it costs more than a small slice).
        let arrays: Vec<ArrayRef> = if cols.len() > 1 {
            cols.par_iter().map(decode).collect::<Result<_>>()?
        } else {
            cols.iter().map(decode).collect::<Result<_>>()?
        };
        let opts = RecordBatchOptions::new().with_row_count(Some((rows.end - rows.start) as usize));
        Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            arrays,
            &opts,
        )?)
    }
}

/// The batches of a scan, in row order (a [`RecordBatchReader`]).
#[derive(Debug)]
pub struct DatasetReader {
    ds: Dataset,
    schema: SchemaRef,
    cols: Vec<usize>,
    tasks: std::iter::Peekable<std::vec::IntoIter<(usize, Range<u64>)>>,
}

impl DatasetReader {
    /// Batches left to read.
    pub fn remaining_batches(&self) -> usize {
        self.tasks.len()
    }

    /// The next batch, made of the next planned batch and the ones that follow
    /// it in the same fragment without a gap, up to `max_rows` rows in all (at
    /// least the next planned batch). A consumer that may stop early scans with
    /// a small batch size and asks for more rows per batch as it goes on.
    pub fn next_up_to(
        &mut self,
        max_rows: usize,
    ) -> Option<std::result::Result<RecordBatch, ArrowError>> {
        let (fi, mut rows) = self.tasks.next()?;
        while let Some((f, r)) = self.tasks.peek() {
            // Ranges are the fragment's rows: compare within one fragment only.
            if *f != fi || r.start != rows.end || r.end - rows.start > max_rows as u64 {
                break;
            }
            rows.end = r.end;
            self.tasks.next();
        }
        Some(self.read(fi, rows))
    }

    fn read(&self, fi: usize, rows: Range<u64>) -> std::result::Result<RecordBatch, ArrowError> {
        self.ds
            .read_batch(&self.schema, &self.cols, fi, rows)
            .map_err(|e| ArrowError::ExternalError(Box::new(e)))
    }
}

impl Iterator for DatasetReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (fi, rows) = self.tasks.next()?;
        Some(self.read(fi, rows))
    }
}

impl RecordBatchReader for DatasetReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Unwraps a b2frame error carried inside an [`ArrowError`] by [`DatasetReader`].
pub fn unwrap_arrow_error(e: ArrowError) -> Error {
    match e {
        ArrowError::ExternalError(b) => match b.downcast::<Error>() {
            Ok(e) => *e,
            Err(b) => Error::Arrow(ArrowError::ExternalError(b)),
        },
        other => Error::Arrow(other),
    }
}

/// Forgets the datasets kept for reopening (see [`Dataset::open_store`]), closing
/// the column files they hold open once no [`Dataset`] uses them: call it after
/// deleting a local dataset this process read, to free its disk space at once.
/// The parsed manifests kept by content are dropped too: the next opening reads
/// every manifest file it needs again.
pub fn clear_reopen_cache() {
    reopen::clear();
    manifest::clear_kept();
}
