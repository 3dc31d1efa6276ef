//! Local datasets opened before in this process, so that opening one again costs
//! one `stat` of its `_manifest/` folder instead of listing it, reading the newest
//! manifest and reopening column files: a service that opens a dataset per
//! request, or a notebook that reopens it per cell, reads slices at the speed of
//! an opened dataset.
//!
//! Safe because a commit always adds an entry to `_manifest/` (which changes the
//! folder's modification and change times), manifests and frames never change
//! once written, and an entry is kept only under a settled stamp (see
//! [`crate::store::Stamp`]): a stamp taken before the listing, whose times lie
//! further in the past than the file system's timestamp granularity, so that a
//! later commit cannot leave it unchanged.
//!
//! Object stores have no such stamp and are listed on every opening; when the
//! newest manifest turns out to be the one kept (the same entity tag, see
//! [`super::manifest`]), the new reader shares the kept one's footers and chunk
//! prefixes, so a cold slice needs no prefix request. In-memory stores are
//! never kept.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_schema::SchemaRef;

use super::manifest::{Manifest, MANIFEST_DIR};
use super::ranged::{FrameReader, ReadCache};
use crate::store::{Stamp, Store};

/// Datasets kept (each holds at most 64 open files and its chunk prefixes).
const KEPT: usize = 8;

/// One dataset as last opened.
struct Kept {
    url: Arc<str>,
    /// The stamp of a local `_manifest/` folder when settled.
    stamp: Option<Stamp>,
    manifest: Arc<Manifest>,
    schema: SchemaRef,
    cache: Arc<ReadCache>,
    /// When `manifest` was last known to be the newest (just before the stamp
    /// or listing that showed it).
    checked: Instant,
}

/// The kept datasets, the most recently used last.
static KEPT_DATASETS: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// What [`lookup`] found for a store.
pub(crate) enum Found {
    /// The newest version is the one kept: its manifest, schema and a reader.
    Same(Arc<Manifest>, SchemaRef, FrameReader),
    /// Open it afresh and hand it to [`keep`] with `stamp` (a local folder's,
    /// when settled) and `reader` (which shares what the previous opening cached
    /// when the `_manifest/` folder is the same one); `seen` is the kept version,
    /// where the listing may start; `checked` the instant before the stamp was
    /// taken.
    Changed {
        stamp: Option<Stamp>,
        reader: FrameReader,
        seen: Option<u64>,
        checked: Instant,
    },
}

/// Looks up the dataset in `store`; takes the stamp of its `_manifest/` folder
/// (before any listing). A kept dataset known to be the newest less than
/// `max_staleness` ago is returned without any request.
pub(crate) fn lookup(store: &Store, max_staleness: Duration) -> Found {
    let checked = Instant::now();
    let fresh = |k: &Kept| checked.saturating_duration_since(k.checked) < max_staleness;
    if !max_staleness.is_zero() {
        if let Ok(mut kept) = KEPT_DATASETS.lock() {
            if let Some(i) = kept.iter().position(|k| *k.url == *store.url() && fresh(k)) {
                return reuse(&mut kept, i, store, None);
            }
        }
    }
    let stamp = store.local_stamp(MANIFEST_DIR);
    let mut shared = None;
    let mut seen = None;
    if let Ok(mut kept) = KEPT_DATASETS.lock() {
        if let Some(i) = kept.iter().position(|k| *k.url == *store.url()) {
            if stamp.is_some() && kept[i].stamp == stamp {
                return reuse(&mut kept, i, store, Some(checked));
            }
            // Another version of the same folder: its frames are still the
            // same files ([`keep`] replaces the entry).
            let k = &kept[i];
            seen = Some(k.manifest.version);
            shared = match (k.stamp, stamp) {
                (Some(a), Some(b)) if a.same_inode(&b) => Some(k.cache.clone()),
                _ => None,
            };
        }
    }
    let reader = match shared {
        Some(cache) => FrameReader::with_cache(store.clone(), cache),
        None => FrameReader::new(store.clone()),
    };
    Found::Changed {
        stamp,
        reader,
        seen,
        checked,
    }
}

/// Kept entry `i` as [`Found::Same`], moved to the most recently used end;
/// `checked` when a stamp has just shown it to be the newest.
fn reuse(kept: &mut Vec<Kept>, i: usize, store: &Store, checked: Option<Instant>) -> Found {
    let mut k = kept.remove(i);
    if let Some(c) = checked {
        k.checked = c;
    }
    let found = Found::Same(
        k.manifest.clone(),
        k.schema.clone(),
        FrameReader::with_cache(store.clone(), k.cache.clone()),
    );
    kept.push(k);
    found
}

/// Keeps the dataset opened from `store` with `manifest` under `stamp`, known to
/// be the newest at `checked` (both from [`lookup`]); returns the reader to use:
/// one sharing the kept cache when the kept dataset has the same manifest, else
/// `reader`.
pub(crate) fn keep(
    store: &Store,
    stamp: Option<Stamp>,
    checked: Instant,
    manifest: &Arc<Manifest>,
    schema: &SchemaRef,
    reader: FrameReader,
) -> FrameReader {
    if !(store.is_local() || super::manifest::tags_follow_content(store)) {
        return reader;
    }
    let Ok(mut kept) = KEPT_DATASETS.lock() else {
        return reader;
    };
    let mut cache = reader.cache();
    let mut reader = reader;
    if let Some(i) = kept.iter().position(|k| *k.url == *store.url()) {
        let k = kept.remove(i);
        if Arc::ptr_eq(&k.manifest, manifest) && !Arc::ptr_eq(&k.cache, &cache) {
            reader = FrameReader::with_cache(store.clone(), k.cache.clone());
            cache = k.cache;
        }
    }
    if kept.len() >= KEPT {
        kept.remove(0);
    }
    kept.push(Kept {
        url: store.url().into(),
        stamp,
        manifest: manifest.clone(),
        schema: schema.clone(),
        cache,
        checked,
    });
    reader
}

/// Forgets every kept dataset, closing the files they held open (once no open
/// [`super::Dataset`] shares them).
pub(crate) fn clear() {
    if let Ok(mut kept) = KEPT_DATASETS.lock() {
        kept.clear();
    }
}
