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
//! later commit cannot leave it unchanged. Stores other than plain local
//! directories are never kept.

use std::sync::{Arc, Mutex};

use arrow_schema::SchemaRef;

use super::manifest::{Manifest, MANIFEST_DIR};
use super::ranged::{FrameReader, ReadCache};
use crate::store::{Stamp, Store};

/// Datasets kept (each holds at most 64 open files and its chunk prefixes).
const KEPT: usize = 8;

/// One dataset as last opened.
struct Kept {
    url: Arc<str>,
    stamp: Stamp,
    manifest: Arc<Manifest>,
    schema: SchemaRef,
    cache: Arc<ReadCache>,
}

/// The kept datasets, the most recently used last.
static KEPT_DATASETS: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// What [`lookup`] found for a store.
pub(crate) enum Found {
    /// The newest version is the one kept: its manifest, schema and a reader.
    Same(Arc<Manifest>, SchemaRef, FrameReader),
    /// Open it afresh; keep it under `stamp` (when settled) with [`keep`], and
    /// read through `reader` (sharing what the previous opening cached when the
    /// `_manifest/` folder is the same one).
    Changed {
        stamp: Option<Stamp>,
        reader: FrameReader,
    },
}

/// Looks up the dataset in `store`; takes the stamp of its `_manifest/` folder
/// (before any listing).
pub(crate) fn lookup(store: &Store) -> Found {
    let stamp = store.local_stamp(MANIFEST_DIR);
    let mut shared = None;
    if let Some(s) = stamp {
        if let Ok(mut kept) = KEPT_DATASETS.lock() {
            if let Some(i) = kept.iter().position(|k| *k.url == *store.url()) {
                let k = kept.remove(i);
                if k.stamp == s {
                    let found = Found::Same(
                        k.manifest.clone(),
                        k.schema.clone(),
                        FrameReader::with_cache(store.clone(), k.cache.clone()),
                    );
                    kept.push(k);
                    return found;
                }
                // Another version of the same folder: its frames are still
                // the same files.
                shared = k.stamp.same_inode(&s).then_some(k.cache);
            }
        }
    }
    let reader = match shared {
        Some(cache) => FrameReader::with_cache(store.clone(), cache),
        None => FrameReader::new(store.clone()),
    };
    Found::Changed { stamp, reader }
}

/// Keeps the dataset opened from `store` under `stamp` (taken by [`lookup`]).
pub(crate) fn keep(
    store: &Store,
    stamp: Stamp,
    manifest: &Arc<Manifest>,
    schema: &SchemaRef,
    reader: &FrameReader,
) {
    let Ok(mut kept) = KEPT_DATASETS.lock() else {
        return;
    };
    kept.retain(|k| *k.url != *store.url());
    if kept.len() >= KEPT {
        kept.remove(0);
    }
    kept.push(Kept {
        url: store.url().into(),
        stamp,
        manifest: manifest.clone(),
        schema: schema.clone(),
        cache: reader.cache(),
    });
}

/// Forgets every kept dataset, closing the files they held open (once no open
/// [`super::Dataset`] shares them).
pub(crate) fn clear() {
    if let Ok(mut kept) = KEPT_DATASETS.lock() {
        kept.clear();
    }
}
