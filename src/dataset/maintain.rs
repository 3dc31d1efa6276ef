//! Maintenance of a dataset that grows by appends: [`Dataset::compact`] merges
//! runs of small fragments into one fragment each (a new version; the merged
//! fragments stay for older versions), and [`Dataset::cleanup_old_versions`]
//! deletes the manifests of old versions and the objects no kept version names.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::manifest::{self, Fragment, Manifest, MANIFEST_DIR};
use super::writer::{DatasetWriter, WriteMode, WriteOptions};
use super::{Dataset, ScanOptions};
use crate::arrow::EncodeOptions;
use crate::error::{DatasetErrorKind, Error, Result};
use crate::store::{self, Store};

/// Options of [`Dataset::compact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactOptions {
    /// Fragments with fewer rows are small; consecutive small fragments are merged
    /// into fragments of at most this many rows. Default: the writer's
    /// `fragment_rows` (1 Mi rows).
    pub target_rows: u64,
    /// How the merged fragments are encoded. `None` (the default): default
    /// compression, with the chunk rows (the statistics' granularity) of each
    /// run's first fragment. Per-column compression is not stored in the
    /// dataset: pass the writer's settings again to keep them.
    pub encode: Option<EncodeOptions>,
    /// How often the commit is redone on top of a newer version before giving up.
    pub max_commit_retries: usize,
}

impl Default for CompactOptions {
    fn default() -> Self {
        let w = WriteOptions::default();
        CompactOptions {
            target_rows: w.fragment_rows as u64,
            encode: None,
            max_commit_retries: w.max_commit_retries,
        }
    }
}

impl CompactOptions {
    /// Sets [`CompactOptions::target_rows`].
    pub fn with_target_rows(mut self, rows: u64) -> Self {
        self.target_rows = rows;
        self
    }

    /// Sets [`CompactOptions::encode`].
    pub fn with_encode(mut self, encode: EncodeOptions) -> Self {
        self.encode = Some(encode);
        self
    }
}

/// What [`Dataset::compact`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// The version committed, `None` when there was nothing to merge.
    pub version: Option<u64>,
    /// Fragments of the version compacted.
    pub fragments_before: usize,
    /// Fragments of the committed version (`fragments_before` when nothing merged).
    pub fragments_after: usize,
    /// Rows read and written again.
    pub rows_rewritten: u64,
}

/// Options of [`Dataset::cleanup_old_versions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupOptions {
    /// The newest versions kept (at least 1). Default 1.
    pub keep_versions: usize,
    /// A version also stays while it was the newest less than this long ago (a
    /// reader may still be reading it), and an object no kept version names stays
    /// while it is younger than this (a writer may be about to commit it).
    /// Default: one hour.
    pub min_age: Duration,
    /// Report what would be deleted without deleting it.
    pub dry_run: bool,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        CleanupOptions {
            keep_versions: 1,
            min_age: Duration::from_secs(3600),
            dry_run: false,
        }
    }
}

impl CleanupOptions {
    /// Sets [`CleanupOptions::keep_versions`].
    pub fn with_keep_versions(mut self, n: usize) -> Self {
        self.keep_versions = n;
        self
    }

    /// Sets [`CleanupOptions::min_age`].
    pub fn with_min_age(mut self, age: Duration) -> Self {
        self.min_age = age;
        self
    }

    /// Sets [`CleanupOptions::dry_run`].
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What [`Dataset::cleanup_old_versions`] deleted (or would delete, dry run).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanupReport {
    /// The versions whose manifests were deleted, ascending.
    pub versions_removed: Vec<u64>,
    /// The versions kept, ascending: those the options keep and those whose
    /// manifests a kept delta manifest builds on.
    pub versions_kept: Vec<u64>,
    /// Objects deleted: the manifests and the data objects.
    pub objects_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
}

/// Runs of consecutive fragments (index ranges) to merge: fragments with fewer
/// than `target` rows, gathered while the run stays within `target` rows; runs of
/// one fragment are left alone.
fn merge_runs(fragments: &[Arc<Fragment>], target: u64) -> Vec<std::ops::Range<usize>> {
    fn close(start: usize, end: usize, runs: &mut Vec<std::ops::Range<usize>>) {
        if end - start >= 2 {
            runs.push(start..end);
        }
    }
    let mut runs = Vec::new();
    let mut start = 0;
    let mut rows = 0u64;
    for (i, f) in fragments.iter().enumerate() {
        if f.rows >= target {
            close(start, i, &mut runs);
            start = i + 1;
            rows = 0;
            continue;
        }
        if rows.saturating_add(f.rows) > target {
            close(start, i, &mut runs);
            start = i;
            rows = 0;
        }
        rows = rows.saturating_add(f.rows);
    }
    close(start, fragments.len(), &mut runs);
    runs
}

/// `latest`'s fragments with each run of ids in `merged` replaced by its new
/// fragment; `None` when a run is no longer there, in that order (a concurrent
/// overwrite or compaction removed it).
fn replace_runs(
    latest: &Manifest,
    merged: &[(Vec<String>, Arc<Fragment>)],
) -> Option<Vec<Arc<Fragment>>> {
    let mut out = latest.fragments.clone();
    for (ids, new) in merged {
        let head = ids.first()?;
        let first = out.iter().position(|f| &f.id == head)?;
        let run = out.get(first..first + ids.len())?;
        if !run.iter().zip(ids).all(|(f, id)| &f.id == id) {
            return None;
        }
        out.splice(first..first + ids.len(), [new.clone()]);
    }
    Some(out)
}

fn conflict(detail: String) -> Error {
    Error::Dataset {
        path: MANIFEST_DIR.to_string(),
        kind: DatasetErrorKind::Conflict,
        detail,
    }
}

impl Dataset {
    /// Merges runs of consecutive small fragments of this version (fewer than
    /// `target_rows` rows each, at most `target_rows` together) into one fragment
    /// per run, and commits a new version with the same rows in the same order.
    /// A dataset grown by many small appends reads faster afterwards (fewer files
    /// per column) and its manifest, which every opening parses, shrinks. The
    /// commit writes a full manifest. Nothing is deleted: older versions still
    /// name the merged fragments (see [`Dataset::cleanup_old_versions`]).
    ///
    /// Commits that other writers made meanwhile are kept: the new version is
    /// this one's successor's fragments with the merged runs replaced.
    ///
    /// # Errors
    /// `Dataset` (`Conflict`) when a concurrent commit removed a merged fragment
    /// (an overwrite, another compaction) or after `max_commit_retries` lost
    /// races; read, encode and store errors.
    pub fn compact(&self, options: CompactOptions) -> Result<CompactReport> {
        self.compact_with_progress(options, &|_, _| {})
    }

    /// [`Dataset::compact`], calling `progress(rows_done, rows_to_rewrite)` after
    /// every batch rewritten (for a progress bar).
    ///
    /// # Errors
    /// As [`Dataset::compact`].
    pub fn compact_with_progress(
        &self,
        options: CompactOptions,
        progress: &dyn Fn(u64, u64),
    ) -> Result<CompactReport> {
        if options.target_rows == 0 {
            return Err(Error::invalid("target_rows", "must be at least 1"));
        }
        let m = self.manifest();
        let runs = merge_runs(&m.fragments, options.target_rows);
        let mut report = CompactReport {
            version: None,
            fragments_before: m.fragments.len(),
            fragments_after: m.fragments.len(),
            rows_rewritten: 0,
        };
        if runs.is_empty() {
            return Ok(report);
        }
        let starts: Vec<u64> = m
            .fragments
            .iter()
            .scan(0u64, |at, f| {
                let s = *at;
                *at = s.saturating_add(f.rows);
                Some(s)
            })
            .collect();
        let total = runs
            .iter()
            .flat_map(|r| &m.fragments[r.clone()])
            .fold(0u64, |t, f| t.saturating_add(f.rows));
        let mut merged = Vec::with_capacity(runs.len());
        for run in &runs {
            let first = starts[run.start];
            let rows = m.fragments[run.clone()]
                .iter()
                .fold(0u64, |r, f| r.saturating_add(f.rows));
            let encode = options.encode.clone().unwrap_or_else(|| {
                let zone = m.fragments[run.start].zone_rows;
                EncodeOptions::default().with_chunk_rows(usize::try_from(zone).unwrap_or(1).max(1))
            });
            let opts = WriteOptions {
                mode: WriteMode::Append,
                fragment_rows: usize::try_from(rows).unwrap_or(usize::MAX).max(1),
                encode,
                max_commit_retries: 0,
            };
            let mut w = DatasetWriter::new(self.store().clone(), self.schema(), opts)?;
            for b in self.scan(ScanOptions::default().with_rows(first..first + rows))? {
                let b = b.map_err(super::unwrap_arrow_error)?;
                w.write(&b)?;
                report.rows_rewritten += b.num_rows() as u64;
                progress(report.rows_rewritten, total);
            }
            let mut new = w.finish_uncommitted()?;
            let (Some(one), true) = (new.pop(), new.is_empty()) else {
                return Err(Error::invalid(
                    "target_rows",
                    "a merged run did not make exactly one fragment",
                ));
            };
            let ids = m.fragments[run.clone()]
                .iter()
                .map(|f| f.id.clone())
                .collect();
            merged.push((ids, one));
        }
        let store = self.store();
        let mut latest = Arc::new(m.clone());
        for _ in 0..=options.max_commit_retries {
            let fragments = replace_runs(&latest, &merged).ok_or_else(|| {
                conflict(format!(
                    "version {} no longer holds the fragments merged from version {}",
                    latest.version, m.version
                ))
            })?;
            let mut next = Manifest::full(
                latest.version + 1,
                latest.schema.clone(),
                latest.rows,
                fragments,
            );
            next.format_version = next.required_format_version();
            if store::block_on(manifest::commit(store, &next))?? {
                report.version = Some(next.version);
                report.fragments_after = next.fragments.len();
                return Ok(report);
            }
            latest = store::block_on(manifest::load_latest(store, Some(next.version)))??
                .ok_or_else(|| conflict("the dataset was deleted during compaction".into()))?;
        }
        Err(conflict(format!(
            "gave up after {} concurrent commits",
            options.max_commit_retries + 1
        )))
    }

    /// Deletes the manifests of old versions and the data objects that no kept
    /// version names. Kept: the newest `keep_versions` versions, every version
    /// that was the newest less than `min_age` ago, every object younger than
    /// `min_age` (an uncommitted write's), and every fragment written for a
    /// version after the newest (a write in progress, whatever its age: with one
    /// writer at a time, a long write is never cut from under it). Only
    /// `_manifest/v….json` and objects under `data/` are considered; anything
    /// else in the dataset stays.
    ///
    /// Opening a deleted version afterwards is a `Dataset` (`NotFound`) error; a
    /// reader still reading a deleted version meets `Missing` objects, which
    /// `min_age` is there to prevent. Manifests go first, so an interrupted
    /// cleanup leaves unreferenced objects (the next cleanup deletes them), never
    /// a kept version with missing objects.
    ///
    /// # Errors
    /// `InvalidArgument` when `keep_versions` is 0; `Dataset` (`NotFound`) when
    /// the store holds no dataset; store errors (what was deleted before stays
    /// deleted).
    pub fn cleanup_old_versions(&self, options: CleanupOptions) -> Result<CleanupReport> {
        cleanup(self.store(), &options)
    }
}

/// Whether `fragment` (an id `{version:06}-{random}`) was written for a version
/// after `newest`: by a writer that has not committed yet, or that failed (then
/// the next commit makes it deletable).
fn in_progress(fragment: &str, newest: u64) -> bool {
    super::writer::fragment_version(fragment).is_some_and(|v| v > newest)
}

/// [`Dataset::cleanup_old_versions`] on `store`.
fn cleanup(store: &Store, options: &CleanupOptions) -> Result<CleanupReport> {
    if options.keep_versions == 0 {
        return Err(Error::invalid("keep_versions", "must be at least 1"));
    }
    let now = SystemTime::now();
    let young = |t: SystemTime| now.duration_since(t).map_or(true, |a| a < options.min_age);
    let listed = store::block_on(store.list_modified(MANIFEST_DIR))??;
    let mut versions: Vec<(u64, String, u64, SystemTime)> = listed
        .into_iter()
        .filter_map(|(p, n, t)| Some((manifest::path_version(&p)?, p, n, t)))
        .collect();
    versions.sort();
    if versions.is_empty() {
        return Err(Error::Dataset {
            path: MANIFEST_DIR.to_string(),
            kind: DatasetErrorKind::NotFound,
            detail: format!("no dataset at {}", store.url()),
        });
    }
    let n = versions.len();
    let newest = versions[n - 1].0;
    // Version `i` stays when it is among the newest, or when its successor was
    // committed less than `min_age` ago.
    let keep: Vec<bool> = (0..n)
        .map(|i| i + options.keep_versions >= n || young(versions[i + 1].3))
        .collect();
    let mut report = CleanupReport::default();
    // The manifest files kept versions are read from (their own and their
    // bases'), each read once: a version's fragments are its files' own.
    let mut files = HashMap::new();
    for ((v, ..), &k) in versions.iter().zip(&keep) {
        if k {
            let m = store::block_on(manifest::load_file(store, *v, DatasetErrorKind::NotFound))??;
            files.insert(*v, m);
        }
    }
    let bases: HashSet<u64> = files.values().flat_map(|m| m.base.clone()).collect();
    for v in bases {
        if let std::collections::hash_map::Entry::Vacant(e) = files.entry(v) {
            let kind = DatasetErrorKind::Missing;
            e.insert(store::block_on(manifest::load_file(store, v, kind))??);
        }
    }
    let needed: HashSet<u64> = files.keys().copied().collect();
    let referenced: HashSet<&str> = files
        .values()
        .flat_map(|m| m.fragments.iter().map(|f| f.id.as_str()))
        .collect();
    report.versions_kept = versions
        .iter()
        .map(|(v, ..)| *v)
        .filter(|v| needed.contains(v))
        .collect();
    // Listed before any manifest is deleted: a commit from now on names only
    // objects younger than `min_age` or already referenced.
    let data = store::block_on(store.list_modified("data"))??;
    for (v, path, size, _) in &versions {
        if needed.contains(v) {
            continue;
        }
        if !options.dry_run {
            store::block_on(store.delete(path))??;
        }
        report.versions_removed.push(*v);
        report.objects_removed += 1;
        report.bytes_removed += size;
    }
    let mut emptied = Vec::new();
    for (path, size, modified) in data {
        let Some(fragment) = path.strip_prefix("data/").and_then(|r| r.split('/').next()) else {
            continue;
        };
        if referenced.contains(fragment) || young(modified) || in_progress(fragment, newest) {
            continue;
        }
        if !options.dry_run {
            store::block_on(store.delete(&path))??;
        }
        if emptied.last().map(String::as_str) != Some(fragment) {
            emptied.push(fragment.to_string());
        }
        report.objects_removed += 1;
        report.bytes_removed += size;
    }
    if !options.dry_run {
        for f in emptied {
            store.remove_empty_dir(&format!("data/{f}"));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(id: &str, rows: u64) -> Arc<Fragment> {
        Arc::new(Fragment {
            id: id.into(),
            rows,
            zone_rows: 1,
            columns: Vec::new(),
            stats: Vec::new(),
        })
    }

    #[test]
    fn runs_gather_small_neighbours_up_to_the_target() {
        let f: Vec<_> = [5, 3, 2, 10, 4, 4, 4, 1, 9]
            .iter()
            .enumerate()
            .map(|(i, &r)| frag(&i.to_string(), r))
            .collect();
        // 5+3+2 = 10 reaches the target; 10 is big; 4+4 then 4+1; 9 alone.
        assert_eq!(merge_runs(&f, 10), vec![0..3, 4..6, 6..8]);
        assert_eq!(merge_runs(&f, 1), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(
            merge_runs(&f[..1], 100),
            Vec::<std::ops::Range<usize>>::new()
        );
    }

    #[test]
    fn replacing_runs_needs_them_whole_and_in_order() {
        let m = |ids: &[&str]| Manifest {
            format: manifest::FORMAT.into(),
            format_version: 1,
            version: 1,
            base: Vec::new(),
            base_fragments: Vec::new(),
            base_digests: Vec::new(),
            rows: ids.len() as u64,
            schema: String::new(),
            fragments: ids.iter().map(|i| frag(i, 1)).collect(),
        };
        let merged = vec![(vec!["b".to_string(), "c".to_string()], frag("bc", 2))];
        let got = replace_runs(&m(&["a", "b", "c", "d"]), &merged).unwrap();
        let ids: Vec<_> = got.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["a", "bc", "d"]);
        assert!(replace_runs(&m(&["a", "c", "b"]), &merged).is_none());
        assert!(replace_runs(&m(&["a", "b"]), &merged).is_none());
        assert!(replace_runs(&m(&["x"]), &merged).is_none());
    }
}
