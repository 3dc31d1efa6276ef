//! [`DatasetWriter`]: record batches in, column frames and a new manifest version
//! out. Rows are buffered up to `fragment_rows`, then every column of the fragment
//! is encoded in parallel and its frames are uploaded under a fresh
//! `data/{fragment}/` folder; [`DatasetWriter::finish`] commits one manifest version
//! that adds the new fragments (redoing the commit on top of versions other writers
//! committed meanwhile).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{Schema, SchemaRef};
use futures::stream::{self, StreamExt, TryStreamExt};
use rayon::prelude::*;

use super::manifest::{self, ContentKey, Fragment, Manifest};
use super::ranged;
use crate::arrow::{self, EncodeOptions};
use crate::error::{DatasetErrorKind, Error, Result};
use crate::store::{self, Store};

/// What to do with an existing dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Create a new dataset; an existing one is an error.
    Create,
    /// Add rows to an existing dataset (same schema); a missing one is an error.
    Append,
    /// Append when the dataset exists, create it otherwise.
    #[default]
    CreateOrAppend,
    /// Commit a version holding only the new rows (older versions stay readable).
    Overwrite,
}

/// Options of a [`DatasetWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// What to do with an existing dataset.
    pub mode: WriteMode,
    /// Rows per fragment: the writer holds at most this many rows (plus one batch).
    pub fragment_rows: usize,
    /// How columns are encoded (chunk rows, per-column compression).
    pub encode: EncodeOptions,
    /// How often a commit is redone on top of a newer version before giving up.
    pub max_commit_retries: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            mode: WriteMode::default(),
            fragment_rows: 1 << 20,
            encode: EncodeOptions::default(),
            max_commit_retries: 16,
        }
    }
}

impl WriteOptions {
    /// Sets the mode.
    pub fn with_mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets the rows per fragment.
    pub fn with_fragment_rows(mut self, rows: usize) -> Self {
        self.fragment_rows = rows.max(1);
        self
    }
    /// Sets the encoding options.
    pub fn with_encode(mut self, encode: EncodeOptions) -> Self {
        self.encode = encode;
        self
    }
}

/// Writes record batches into a dataset (see the module doc).
#[derive(Debug)]
pub struct DatasetWriter {
    store: Store,
    schema: SchemaRef,
    options: WriteOptions,
    /// The newest manifest file when the writer started, and its content key.
    base: Option<(Arc<Manifest>, ContentKey)>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    fragments: Vec<Arc<Fragment>>,
}

/// Names the fields that differ between two schemas.
pub(crate) fn schema_diff(have: &Schema, want: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for f in want.fields() {
        match have.field_with_name(f.name()) {
            Err(_) => out.push(format!("'{}' ({}) is new", f.name(), f.data_type())),
            Ok(h) if h.data_type() != f.data_type() || h.is_nullable() != f.is_nullable() => out
                .push(format!(
                    "'{}' is {}{} in the dataset, {}{} here",
                    f.name(),
                    h.data_type(),
                    if h.is_nullable() { "" } else { " not null" },
                    f.data_type(),
                    if f.is_nullable() { "" } else { " not null" }
                )),
            Ok(_) => {}
        }
    }
    for h in have.fields() {
        if want.field_with_name(h.name()).is_err() {
            out.push(format!("'{}' ({}) is missing", h.name(), h.data_type()));
        }
    }
    if out.is_empty() {
        let order = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>()
        };
        if order(have) != order(want) {
            out.push(format!(
                "column order {:?} in the dataset, {:?} here",
                order(have),
                order(want)
            ));
        }
    }
    out
}

fn mismatch(path: &str, diff: &[String]) -> Error {
    Error::Dataset {
        path: path.to_string(),
        kind: DatasetErrorKind::SchemaMismatch,
        detail: diff.join("; "),
    }
}

/// A fresh fragment id: `{version:06}-{random:016x}`.
fn fragment_id(version: u64) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut seed = Vec::new();
    seed.extend_from_slice(&t.to_le_bytes());
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    seed.extend_from_slice(&SEQ.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    seed.extend_from_slice(&(&seed as *const _ as usize).to_le_bytes());
    format!("{version:06}-{:016x}", xxhash_rust::xxh3::xxh3_64(&seed))
}

/// The version a [`fragment_id`] was written for (`None` for other names).
pub(crate) fn fragment_version(id: &str) -> Option<u64> {
    id.split_once('-')?.0.parse().ok()
}

impl DatasetWriter {
    /// Starts writing `schema`'s rows to the dataset in `store`.
    ///
    /// # Errors
    /// `Unsupported` naming a field whose type cannot be stored; `Dataset` with
    /// `AlreadyExists` (mode `Create`), `NotFound` (mode `Append`) or
    /// `SchemaMismatch` naming the differing fields; store errors.
    pub fn new(store: Store, schema: SchemaRef, options: WriteOptions) -> Result<DatasetWriter> {
        for f in schema.fields() {
            arrow::check_supported(f)?;
        }
        // The newest manifest file alone: an append commits a delta on it.
        let base = store::block_on(manifest::load_latest_file(&store, None))??;
        match (base.as_ref().map(|(m, _)| m), options.mode) {
            (Some(m), WriteMode::Create) => {
                return Err(Error::Dataset {
                    path: manifest::manifest_path(m.version),
                    kind: DatasetErrorKind::AlreadyExists,
                    detail: format!("{} is at version {}", store.url(), m.version),
                })
            }
            (None, WriteMode::Append) => {
                return Err(Error::Dataset {
                    path: manifest::MANIFEST_DIR.to_string(),
                    kind: DatasetErrorKind::NotFound,
                    detail: format!("no dataset at {} to append to", store.url()),
                })
            }
            (Some(m), WriteMode::Append | WriteMode::CreateOrAppend) => {
                let have = m.schema()?;
                let diff = schema_diff(&have, &schema);
                if !diff.is_empty() {
                    return Err(mismatch(&manifest::manifest_path(m.version), &diff));
                }
            }
            _ => {}
        }
        Ok(DatasetWriter {
            store,
            schema,
            options,
            base,
            pending: Vec::new(),
            pending_rows: 0,
            fragments: Vec::new(),
        })
    }

    /// Opens `url` (see [`Store::from_url`]) and starts writing.
    ///
    /// # Errors
    /// As [`Store::from_url`] and [`DatasetWriter::new`].
    pub fn create(url: &str, schema: SchemaRef, options: WriteOptions) -> Result<DatasetWriter> {
        DatasetWriter::new(Store::from_url(url, [])?, schema, options)
    }

    /// The schema rows are written with.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows written so far (buffered rows included).
    pub fn rows_written(&self) -> u64 {
        self.fragments.iter().map(|f| f.rows).sum::<u64>() + self.pending_rows as u64
    }

    /// Adds a batch (its columns must have the writer's names and types).
    ///
    /// # Errors
    /// `Dataset` (`SchemaMismatch`) naming the differing fields; encoding and store
    /// errors of a fragment flushed now.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let diff = schema_diff(&self.schema, &batch.schema());
        if !diff.is_empty() {
            return Err(mismatch("(batch)", &diff));
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let b = RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())?;
        self.pending_rows += b.num_rows();
        self.pending.push(b);
        let fr = self.options.fragment_rows;
        while self.pending_rows >= fr {
            // The first `fr` rows (slicing the batch that straddles the end).
            let mut take = Vec::new();
            let mut need = fr;
            let mut rest = Vec::new();
            for b in self.pending.drain(..) {
                if need == 0 {
                    rest.push(b);
                } else if b.num_rows() <= need {
                    need -= b.num_rows();
                    take.push(b);
                } else {
                    take.push(b.slice(0, need));
                    rest.push(b.slice(need, b.num_rows() - need));
                    need = 0;
                }
            }
            self.pending = rest;
            self.pending_rows -= fr;
            self.flush_fragment(&take)?;
        }
        Ok(())
    }

    /// Writes every batch of `reader`; returns the rows read.
    ///
    /// # Errors
    /// The reader's errors (as `Arrow`) and [`DatasetWriter::write`]'s.
    pub fn write_reader(&mut self, reader: impl RecordBatchReader) -> Result<u64> {
        let mut n = 0;
        for b in reader {
            let b = b?;
            n += b.num_rows() as u64;
            self.write(&b)?;
        }
        Ok(n)
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let all = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        self.flush_fragment(&all)
    }

    /// Encodes and uploads one fragment: the rows of `batches`, in order (each
    /// column's parts are encoded without concatenating fixed-width values).
    fn flush_fragment(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let version = self.base.as_ref().map_or(1, |(m, _)| m.version + 1);
        let id = fragment_id(version);
        let enc = &self.options.encode;
        let zone_rows = enc.chunk_rows;
        let encoded: Vec<_> = self
            .schema
            .fields()
            .par_iter()
            .enumerate()
            .map(|(i, field)| {
                let key = format!("data/{id}/c{i}");
                let parts: Vec<ArrayRef> = batches.iter().map(|b| b.column(i).clone()).collect();
                let (mut node, buffers) = arrow::encode_parts(&parts, field, &key, enc)?;
                let frames = buffers
                    .into_par_iter()
                    .map(|b| {
                        let frame = b.schunk.to_cframe()?;
                        let footer = ranged::footer_of(&b.path, &frame)?;
                        Ok((b.path, frame, footer))
                    })
                    .collect::<Result<Vec<_>>>()?;
                // Where the chunks lie, so that readers need not read footers.
                let layout: std::collections::HashMap<&str, (u64, u64, Vec<u64>)> = frames
                    .iter()
                    .map(|(p, f, foot)| {
                        (
                            p.as_str(),
                            (f.len() as u64, foot.chunksize, foot.chunk_offsets()),
                        )
                    })
                    .collect();
                node.for_each_buffer_mut(&mut |b| {
                    if let Some((len, cs, offs)) = b.path.as_deref().and_then(|p| layout.get(p)) {
                        b.frame_len = *len;
                        b.chunksize = *cs;
                        b.chunk_offsets = offs.clone();
                    }
                });
                let frames: Vec<(String, Vec<u8>)> =
                    frames.into_iter().map(|(p, f, _)| (p, f)).collect();
                let stats = arrow::zone_stats_parts(&parts, zone_rows);
                Ok((node, frames, stats))
            })
            .collect::<Result<_>>()?;
        let mut columns = Vec::new();
        let mut stats = Vec::new();
        let mut frames = Vec::new();
        for (node, f, s) in encoded {
            columns.push(node);
            stats.push(s);
            frames.extend(f);
        }
        let store = &self.store;
        store::block_on(async {
            stream::iter(frames)
                .map(|(p, f)| async move { store.put_new(&p, f.into()).await })
                .buffer_unordered(8)
                .try_collect::<Vec<_>>()
                .await
        })??;
        self.fragments.push(Arc::new(Fragment {
            id,
            rows: rows as u64,
            zone_rows: zone_rows as u64,
            columns,
            stats,
        }));
        Ok(())
    }

    /// The delta manifest of `version` that adds this writer's fragments to `l`
    /// (the newest manifest file). `l`'s chain of files is a stack whose own
    /// fragment counts shrink towards the top; like a binary counter, the new
    /// fragments absorb the files on top of the stack holding no more fragments
    /// than they have gathered, so a version has at most ~log2(fragments) files
    /// and a fragment is copied ~log2(fragments) times over its life.
    /// `key` is the content key of `l`'s file.
    fn delta_on(
        &self,
        l: &Manifest,
        key: ContentKey,
        version: u64,
        new_rows: u64,
    ) -> Result<Manifest> {
        let mut stack: Vec<(u64, u64)> = l
            .base
            .iter()
            .copied()
            .zip(l.base_fragments.iter().copied())
            .collect();
        stack.push((l.version, l.fragments.len() as u64));
        let mut size = self.fragments.len() as u64;
        let mut keep = stack.len();
        while keep > 0 && stack[keep - 1].1 <= size {
            keep -= 1;
            size = size.saturating_add(stack[keep].1);
        }
        // Not sized from the counts: they come from a file.
        let mut fragments = Vec::new();
        for (i, &(v, count)) in stack.iter().enumerate().skip(keep) {
            // Base file `i` of `l` (kept parses by digest), or `l` itself.
            let file = if v == l.version {
                None
            } else {
                let (m, key) = store::block_on(manifest::load_base(&self.store, l, i))??;
                manifest::check_base(l, &manifest::manifest_path(l.version), i, key)?;
                Some(m)
            };
            let own = &file.as_deref().unwrap_or(l).fragments;
            if own.len() as u64 != count {
                return Err(Error::Dataset {
                    path: manifest::manifest_path(v),
                    kind: DatasetErrorKind::Corrupt,
                    detail: format!(
                        "{} fragments, version {} names {count}",
                        own.len(),
                        l.version
                    ),
                });
            }
            fragments.extend(own.iter().cloned());
        }
        fragments.extend(self.fragments.iter().cloned());
        let (base, base_fragments) = stack[..keep].iter().copied().unzip();
        // The digests of the files kept below: `l`'s own list and `l` itself,
        // when `l` names all of its bases'.
        let mut digests = l.base_digests.clone();
        digests.push(manifest::digest(key));
        let base_digests = if digests.len() == stack.len() {
            digests.truncate(keep);
            digests
        } else {
            Vec::new()
        };
        Ok(Manifest {
            format: l.format.clone(),
            format_version: 0,
            version,
            base,
            base_fragments,
            base_digests,
            // Saturating: `l.rows` comes from a file (readers check the sum).
            rows: l.rows.saturating_add(new_rows),
            schema: l.schema.clone(),
            fragments,
        })
    }

    /// Flushes buffered rows and returns the fragments written, uploaded but not
    /// committed (compaction commits them in place of the fragments they merge).
    pub(crate) fn finish_uncommitted(mut self) -> Result<Vec<Arc<Fragment>>> {
        self.flush_pending()?;
        Ok(self.fragments)
    }

    /// Flushes buffered rows and commits a new manifest version; returns it.
    ///
    /// When another writer committed first, the commit is redone on top of the newer
    /// version (its fragments are kept), unless its schema differs or the mode is
    /// `Create`.
    ///
    /// # Errors
    /// `Dataset` with `Conflict`, `AlreadyExists` or `SchemaMismatch`; store errors.
    pub fn finish(mut self) -> Result<u64> {
        self.flush_pending()?;
        let mut latest = self.base.clone();
        let new_rows: u64 = self.fragments.iter().map(|f| f.rows).sum();
        for _ in 0..=self.options.max_commit_retries {
            let version = latest.as_ref().map_or(1, |(m, _)| m.version + 1);
            let mut m = match (&latest, self.options.mode) {
                (Some((l, key)), WriteMode::Append | WriteMode::CreateOrAppend) => {
                    self.delta_on(l, *key, version, new_rows)?
                }
                _ => Manifest::full(
                    version,
                    manifest::encode_schema(&self.schema)?,
                    new_rows,
                    self.fragments.clone(),
                ),
            };
            m.format_version = m.required_format_version();
            if store::block_on(manifest::commit(&self.store, &m))?? {
                return Ok(version);
            }
            // Someone else committed `version`: redo on top of the newest one.
            let newest = store::block_on(manifest::load_latest_file(&self.store, Some(version)))??;
            if let Some((n, _)) = &newest {
                let path = manifest::manifest_path(n.version);
                if self.base.is_none() && self.options.mode == WriteMode::Create {
                    return Err(Error::Dataset {
                        path,
                        kind: DatasetErrorKind::AlreadyExists,
                        detail: "another writer created the dataset first".into(),
                    });
                }
                let ns = n.schema()?;
                let diff = schema_diff(&ns, &self.schema);
                if !diff.is_empty() && self.options.mode != WriteMode::Overwrite {
                    return Err(Error::Dataset {
                        path,
                        kind: DatasetErrorKind::Conflict,
                        detail: format!(
                            "a concurrent commit changed the schema: {}",
                            diff.join("; ")
                        ),
                    });
                }
            }
            latest = newest;
        }
        Err(Error::Dataset {
            path: manifest::MANIFEST_DIR.to_string(),
            kind: DatasetErrorKind::Conflict,
            detail: format!(
                "gave up after {} concurrent commits",
                self.options.max_commit_retries + 1
            ),
        })
    }
}
