//! The versioned manifest: `_manifest/v{version:020}.json`, one immutable JSON
//! object per commit, created with create-if-absent so that two writers can never
//! both commit the same version. It holds the Arrow schema (an IPC stream, base64),
//! the fragments with the stored layout of every column, and per-chunk statistics.

use std::io::Cursor;
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::arrow::{ArrayNode, ZoneStats};
use crate::error::{DatasetErrorKind, Error, Result};
use crate::store::{Bytes, Store};

/// The manifests' folder.
pub const MANIFEST_DIR: &str = "_manifest";
/// The `format` field of every manifest.
pub const FORMAT: &str = "b2frame-dataset";
/// The newest manifest format version this build reads and writes. Version 2
/// adds dictionary-encoded columns (`"encoding": "dictionary"`), version 3 view
/// columns stored as offsets + values (`"var_size"`, `"var_size_dictionary"`),
/// version 4 delta manifests (`"base"`); a manifest is written with the lowest
/// version that describes it, which older readers accept.
pub const FORMAT_VERSION: u32 = 4;

/// The longest chain of manifests a reader follows (longer is `Corrupt`).
const MAX_CHAIN: usize = 64;

/// One committed version of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// 1, 2 or 3 (see [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The version (1 for the first commit).
    pub version: u64,
    /// The manifests this version is assembled from, before its own, oldest
    /// first: empty for a full manifest; for a delta manifest (format 4) the
    /// versions whose files' own fragments come before this file's own (each
    /// such file's `base` is the entries before it). In the file of a delta,
    /// `fragments` are its own; a loaded manifest
    /// ([`crate::dataset::Dataset::manifest`]) holds every fragment, and `base`
    /// says which files it was read from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base: Vec<u64>,
    /// The number of own fragments of each `base` file (what an append needs to
    /// decide which files to merge without reading them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_fragments: Vec<u64>,
    /// The content of each `base` file, as `{XXH3-128 in hex}-{byte length}`
    /// (empty when the writer did not know them all): a reader that has parsed
    /// those bytes before reuses them without reading the file (on S3, a round
    /// trip), and one that reads the file checks that it is what was committed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_digests: Vec<String>,
    /// Total rows.
    pub rows: u64,
    /// The Arrow schema as an IPC stream (schema message + end marker), base64.
    pub schema: String,
    /// The fragments in row order (shared between the manifests a process
    /// keeps: versions of one dataset hold mostly the same fragments).
    pub fragments: Vec<Arc<Fragment>>,
}

/// A run of rows written together: one set of column frames under `data/{id}/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    /// Unique id (the folder name under `data/`).
    pub id: String,
    /// Rows in the fragment.
    pub rows: u64,
    /// Rows per statistics zone (the chunk rows of fixed-width columns).
    pub zone_rows: u64,
    /// The stored layout of every top-level column, in schema order.
    pub columns: Vec<ArrayNode>,
    /// Per column, the statistics of each zone (empty when the type has none).
    #[serde(default)]
    pub stats: Vec<Vec<ZoneStats>>,
}

/// The manifest path of `version`.
pub fn manifest_path(version: u64) -> String {
    format!("{MANIFEST_DIR}/v{version:020}.json")
}

/// Parses a manifest path back into its version.
pub(crate) fn path_version(path: &str) -> Option<u64> {
    let name = path.strip_prefix(MANIFEST_DIR)?.strip_prefix('/')?;
    let digits = name.strip_prefix('v')?.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Encodes a schema as base64 of an Arrow IPC stream holding only the schema.
///
/// # Errors
/// `Arrow` when the schema cannot be written.
pub fn encode_schema(schema: &Schema) -> Result<String> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, schema)?;
        w.finish()?;
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

/// Decodes [`encode_schema`]'s output. Decoded schemas are kept (the last 16
/// distinct ones): opening a dataset decodes the same string again and again.
///
/// # Errors
/// `Arrow` or `InvalidArgument` for malformed bytes.
pub fn decode_schema(s: &str) -> Result<SchemaRef> {
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<Vec<(String, SchemaRef)>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(Vec::new()));
    if let Some(hit) = seen
        .lock()
        .ok()
        .and_then(|v| v.iter().find(|(k, _)| k == s).map(|(_, v)| v.clone()))
    {
        return Ok(hit);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| Error::invalid("schema", format!("bad base64: {e}")))?;
    let r = arrow_ipc::reader::StreamReader::try_new(Cursor::new(bytes), None)?;
    let schema = r.schema();
    if let Ok(mut v) = seen.lock() {
        if v.len() >= 16 {
            v.remove(0);
        }
        v.push((s.to_string(), schema.clone()));
    }
    Ok(schema)
}

fn corrupt(path: &str, detail: impl Into<String>) -> Error {
    Error::Dataset {
        path: path.to_string(),
        kind: DatasetErrorKind::Corrupt,
        detail: detail.into(),
    }
}

impl Manifest {
    /// Parses and checks manifest bytes read from `path`.
    ///
    /// # Errors
    /// `Dataset` (`Corrupt`) naming `path` for bad JSON, an unknown format, a version
    /// that disagrees with the file name, row counts that do not add up, or a schema
    /// that does not decode or does not match the columns.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Manifest> {
        // One UTF-8 check for the whole text, not one per string.
        let text = std::str::from_utf8(bytes)
            .map_err(|e| corrupt(path, format!("invalid manifest JSON: {e}")))?;
        let m: Manifest = serde_json::from_str(text)
            .map_err(|e| corrupt(path, format!("invalid manifest JSON: {e}")))?;
        if m.format != FORMAT {
            return Err(corrupt(
                path,
                format!("format '{}', expected '{FORMAT}'", m.format),
            ));
        }
        if !(1..=FORMAT_VERSION).contains(&m.format_version) {
            return Err(Error::unsupported(
                "dataset format",
                format!(
                    "{path}: version {} (b2frame reads {FORMAT_VERSION})",
                    m.format_version
                ),
            ));
        }
        if path_version(path).is_some_and(|v| v != m.version) {
            return Err(corrupt(path, format!("holds version {}", m.version)));
        }
        let schema = decode_schema(&m.schema).map_err(|e| corrupt(path, format!("schema: {e}")))?;
        let mut rows = 0u64;
        for f in &m.fragments {
            if f.columns.len() != schema.fields().len() {
                return Err(corrupt(
                    path,
                    format!(
                        "fragment {} has {} columns, the schema {}",
                        f.id,
                        f.columns.len(),
                        schema.fields().len()
                    ),
                ));
            }
            if let Some(c) = f.columns.iter().find(|c| c.length != f.rows) {
                return Err(corrupt(
                    path,
                    format!(
                        "fragment {}: a column of {} rows, expected {}",
                        f.id, c.length, f.rows
                    ),
                ));
            }
            rows = rows.saturating_add(f.rows);
        }
        if m.base_fragments.len() != m.base.len() {
            return Err(corrupt(
                path,
                format!(
                    "{} base versions, {} fragment counts",
                    m.base.len(),
                    m.base_fragments.len()
                ),
            ));
        }
        if !m.base_digests.is_empty() {
            if m.base_digests.len() != m.base.len() {
                return Err(corrupt(
                    path,
                    format!(
                        "{} base versions, {} digests",
                        m.base.len(),
                        m.base_digests.len()
                    ),
                ));
            }
            if let Some(d) = m.base_digests.iter().find(|d| parse_digest(d).is_none()) {
                return Err(corrupt(path, format!("base digest '{d}' is malformed")));
            }
        }
        if !m.base.is_empty() {
            let ascending = m.base.windows(2).all(|w| w[0] < w[1]);
            if !ascending || m.base.last().is_some_and(|&b| b >= m.version) {
                return Err(corrupt(
                    path,
                    format!(
                        "base {:?} is not ascending below version {}",
                        m.base, m.version
                    ),
                ));
            }
            if m.base.len() > MAX_CHAIN {
                return Err(corrupt(
                    path,
                    format!(
                        "a chain of {} manifests (at most {MAX_CHAIN})",
                        m.base.len()
                    ),
                ));
            }
            if rows > m.rows {
                return Err(corrupt(
                    path,
                    format!("rows {}, its own fragments hold {rows}", m.rows),
                ));
            }
        } else if rows != m.rows {
            return Err(corrupt(
                path,
                format!("rows {}, the fragments hold {rows}", m.rows),
            ));
        }
        Ok(m)
    }

    /// The decoded schema.
    ///
    /// # Errors
    /// As [`decode_schema`] (never for a parsed manifest).
    pub fn schema(&self) -> Result<SchemaRef> {
        decode_schema(&self.schema)
    }

    /// The lowest format version that describes the manifest: 4 for a delta
    /// (non-empty `base`), else 3 when a view column (or child) is stored as
    /// offsets + values, 2 when a column is dictionary-encoded, 1 otherwise.
    pub fn required_format_version(&self) -> u32 {
        fn need(n: &crate::arrow::ArrayNode) -> u32 {
            let own = match n.encoding {
                None => 1,
                Some(crate::arrow::Encoding::Dictionary) => 2,
                Some(_) => 3,
            };
            n.children.iter().map(need).fold(own, u32::max)
        }
        let own = if self.base.is_empty() { 1 } else { 4 };
        self.fragments
            .iter()
            .flat_map(|f| f.columns.iter().map(need))
            .fold(own, u32::max)
    }

    /// A full manifest (no base files) of `version`: `fragments`, `rows` in
    /// all, `schema` as [`encode_schema`] makes it. Its `format_version` is 1
    /// until set from [`Manifest::required_format_version`].
    pub(crate) fn full(
        version: u64,
        schema: String,
        rows: u64,
        fragments: Vec<Arc<Fragment>>,
    ) -> Manifest {
        Manifest {
            format: FORMAT.to_string(),
            format_version: 1,
            version,
            base: Vec::new(),
            base_fragments: Vec::new(),
            base_digests: Vec::new(),
            rows,
            schema,
            fragments,
        }
    }
}

/// Every committed version, ascending.
pub(crate) async fn versions(store: &Store) -> Result<Vec<u64>> {
    let mut v: Vec<u64> = store
        .list(MANIFEST_DIR)
        .await?
        .iter()
        .filter_map(|(p, _)| path_version(p))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Parsed manifests by key, the most recently used last: at most [`KEPT`]
/// entries weighing at most [`KEPT_BYTES`] together, except that the most
/// recently used entry is always kept.
struct Recent<K>(std::sync::Mutex<Vec<Entry<K>>>);

/// A kept manifest and its weight: the bytes of the manifest files it was
/// parsed from (its memory is about as large).
struct Entry<K> {
    key: K,
    manifest: Arc<Manifest>,
    weight: usize,
}

/// Parsed manifests kept by each [`Recent`].
const KEPT: usize = 32;

/// The weight (manifest file bytes) each [`Recent`] keeps. A dataset appended to
/// a thousand times without compaction has an 8 MB manifest: a bound by count
/// alone kept 32 versions of it, 340 MB.
const KEPT_BYTES: usize = 64 << 20;

impl<K: PartialEq> Recent<K> {
    const fn new() -> Self {
        Recent(std::sync::Mutex::new(Vec::new()))
    }

    /// The manifest kept under `key` and its weight (then the most recently used).
    fn get(&self, key: &K) -> Option<(Arc<Manifest>, usize)> {
        let mut v = self.0.lock().ok()?;
        let i = v.iter().position(|e| e.key == *key)?;
        let e = v.remove(i);
        let hit = (e.manifest.clone(), e.weight);
        v.push(e);
        Some(hit)
    }

    /// Forgets every entry.
    fn clear(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.clear();
        }
    }

    /// Keeps `manifest` under `key`, forgetting the least recently used entries
    /// beyond the bounds.
    fn put(&self, key: K, manifest: Arc<Manifest>, weight: usize) {
        let Ok(mut v) = self.0.lock() else { return };
        v.retain(|e| e.key != key);
        v.push(Entry {
            key,
            manifest,
            weight,
        });
        let mut total: usize = v.iter().map(|e| e.weight).sum();
        while v.len() > 1 && (v.len() > KEPT || total > KEPT_BYTES) {
            total -= v.remove(0).weight;
        }
    }
}

/// Parsed manifests, by the XXH3-128 hash and length of their bytes. Manifests
/// are immutable once committed, and a dataset is opened again and again (a
/// service answering slice requests, a notebook): a hit skips the JSON parse,
/// which is most of the cost of opening. Keyed by content, so a dataset deleted
/// and written again at the same path can never hit a stale entry.
static PARSED: Recent<ContentKey> = Recent::new();

/// [`Manifest::parse`] through the cache of parsed manifests; also returns the
/// bytes' [`ContentKey`].
///
/// # Errors
/// As [`Manifest::parse`] (errors are not cached).
fn parse_shared(path: &str, bytes: &[u8]) -> Result<(Arc<Manifest>, ContentKey)> {
    let key = content_key(bytes);
    if let Some((m, _)) = PARSED.get(&key) {
        // The same bytes under another name still have to name their version.
        if path_version(path).is_some_and(|v| v != m.version) {
            return Err(corrupt(path, format!("holds version {}", m.version)));
        }
        return Ok((m, key));
    }
    let m = Arc::new(Manifest::parse(path, bytes)?);
    PARSED.put(key, m.clone(), bytes.len());
    Ok((m, key))
}

/// What identifies manifest bytes: their XXH3-128 hash and length (the key in
/// [`PARSED`] and [`RESOLVED`], and a `base_digests` entry).
pub(crate) type ContentKey = (u128, usize);

/// The [`ContentKey`] of `bytes`.
fn content_key(bytes: &[u8]) -> ContentKey {
    (xxhash_rust::xxh3::xxh3_128(bytes), bytes.len())
}

/// A `base_digests` entry: `{hash:032x}-{length}`.
pub(crate) fn digest(key: ContentKey) -> String {
    format!("{:032x}-{}", key.0, key.1)
}

/// Parses a [`digest`]; `None` when malformed.
fn parse_digest(s: &str) -> Option<ContentKey> {
    let (hash, len) = s.split_once('-')?;
    let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if hash.len() != 32 || !hash.bytes().all(hex) || !len.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((u128::from_str_radix(hash, 16).ok()?, len.parse().ok()?))
}

/// Resolved delta manifests (every fragment of the chain), by the content key
/// of the delta's own bytes (which name the chain's versions and fragment ids
/// with 64 random bits each).
static RESOLVED: Recent<ContentKey> = Recent::new();

/// Reads the manifest file of `version`; `missing` is the error kind when absent.
async fn read_file(store: &Store, version: u64, missing: DatasetErrorKind) -> Result<Bytes> {
    let path = manifest_path(version);
    store.get(&path).await.map_err(|e| {
        if e.is_not_found() {
            Error::Dataset {
                path: path.clone(),
                kind: missing,
                detail: format!("no version {version}"),
            }
        } else {
            e
        }
    })
}

/// Loads the manifest file of version `version` alone: for a delta, its own
/// fragments (what an append builds on: version, `base`, rows and schema).
/// `missing` is the error kind when it is absent (`NotFound` for the version
/// asked for, `Missing` for a base another manifest names).
pub(crate) async fn load_file(
    store: &Store,
    version: u64,
    missing: DatasetErrorKind,
) -> Result<Arc<Manifest>> {
    Ok(load_file_keyed(store, version, missing).await?.0)
}

/// [`load_file`] and the [`ContentKey`] of the file (its length is its weight).
pub(crate) async fn load_file_keyed(
    store: &Store,
    version: u64,
    missing: DatasetErrorKind,
) -> Result<(Arc<Manifest>, ContentKey)> {
    let bytes = read_file(store, version, missing).await?;
    parse_shared(&manifest_path(version), &bytes)
}

/// Base file `i` of `top`: the parsed bytes its digest names when they are
/// kept (no read), else the file as read, with its [`ContentKey`].
pub(crate) async fn load_base(
    store: &Store,
    top: &Manifest,
    i: usize,
) -> Result<(Arc<Manifest>, ContentKey)> {
    let version = top.base[i];
    if let Some(key) = top.base_digests.get(i).and_then(|d| parse_digest(d)) {
        if let Some((m, _)) = PARSED.get(&key) {
            if m.version == version {
                return Ok((m, key));
            }
        }
    }
    load_file_keyed(store, version, DatasetErrorKind::Missing).await
}

/// Checks that `key` (of the bytes read as base file `i` of `top`, read from
/// `path`) is the content `top` names: `Corrupt`, naming the base file, when its
/// digest differs (a file without a digest passes).
pub(crate) fn check_base(top: &Manifest, path: &str, i: usize, key: ContentKey) -> Result<()> {
    match top.base_digests.get(i).and_then(|d| parse_digest(d)) {
        Some(d) if d != key => Err(corrupt(
            &manifest_path(top.base[i]),
            format!("not the file {path} was committed on (its digest differs)"),
        )),
        _ => Ok(()),
    }
}

/// Loads version `version`, with every fragment of its chain of manifests.
pub(crate) async fn load(store: &Store, version: u64) -> Result<Arc<Manifest>> {
    Ok(load_weighed(store, version).await?.0)
}

/// [`load`] and the length of the manifest files it was read from.
async fn load_weighed(store: &Store, version: u64) -> Result<(Arc<Manifest>, usize)> {
    let path = manifest_path(version);
    let bytes = read_file(store, version, DatasetErrorKind::NotFound).await?;
    let (top, key) = parse_shared(&path, &bytes)?;
    if top.base.is_empty() {
        return Ok((top, bytes.len()));
    }
    if let Some(hit) = RESOLVED.get(&key) {
        return Ok(hit);
    }
    let (m, base_bytes) = resolve(store, &path, &top).await?;
    let m = Arc::new(m);
    let weight = bytes.len().saturating_add(base_bytes);
    RESOLVED.put(key, m.clone(), weight);
    Ok((m, weight))
}

/// The delta `top` (read from `path`) with the fragments of its base manifests
/// (read concurrently) before its own, after checking that they form its chain;
/// and the length of the base files. The fragments are shared with the parsed
/// files, not copied.
async fn resolve(store: &Store, path: &str, top: &Manifest) -> Result<(Manifest, usize)> {
    let loaded =
        futures::future::try_join_all((0..top.base.len()).map(|i| load_base(store, top, i)))
            .await?;
    let base_bytes = loaded.iter().map(|(_, (_, n))| n).sum();
    let (parts, keys): (Vec<Arc<Manifest>>, Vec<ContentKey>) = loaded.into_iter().unzip();
    let mut fragments = Vec::new();
    let mut rows = 0u64;
    let n = parts.len();
    for (i, p) in parts.iter().map(|p| &**p).chain([top]).enumerate() {
        let at = manifest_path(p.version);
        if i < n {
            if p.base != top.base[..i] {
                return Err(corrupt(
                    &at,
                    format!("base {:?}, {path} expects {:?}", p.base, &top.base[..i]),
                ));
            }
            if p.fragments.len() as u64 != top.base_fragments[i] {
                return Err(corrupt(
                    &at,
                    format!(
                        "{} fragments, {path} expects {}",
                        p.fragments.len(),
                        top.base_fragments[i]
                    ),
                ));
            }
            if p.schema != top.schema {
                return Err(corrupt(&at, format!("a schema other than {path}'s")));
            }
        }
        rows = p
            .fragments
            .iter()
            .fold(rows, |r, f| r.saturating_add(f.rows));
        if rows != p.rows {
            return Err(corrupt(
                &at,
                format!("rows {}, its chain holds {rows}", p.rows),
            ));
        }
        fragments.extend(p.fragments.iter().cloned());
    }
    // Last, so that a damaged file gets the more telling errors above first.
    for (i, key) in keys.into_iter().enumerate() {
        check_base(top, path, i, key)?;
    }
    let m = Manifest {
        format: top.format.clone(),
        format_version: top.format_version,
        version: top.version,
        base: top.base.clone(),
        base_fragments: top.base_fragments.clone(),
        base_digests: top.base_digests.clone(),
        rows: top.rows,
        schema: top.schema.clone(),
        fragments,
    };
    Ok((m, base_bytes))
}

/// Parsed manifests by object-store URL and entity tag, so that reopening a
/// dataset on S3 skips the manifest's GET.
static TAGGED: Recent<String> = Recent::new();

/// Drops every kept parsed manifest ([`PARSED`], [`RESOLVED`], [`TAGGED`]).
pub(crate) fn clear_kept() {
    PARSED.clear();
    RESOLVED.clear();
    TAGGED.clear();
}

/// The key of `path`'s manifest in [`TAGGED`]: only for stores whose entity tags
/// change with the content (S3's are content digests; GCS and Azure tags change
/// on every write). Local and in-memory stores are left out: their tags come
/// from inode and time, or from a per-instance counter.
fn tag_key(store: &Store, path: &str, tag: Option<&str>) -> Option<String> {
    let remote = tags_follow_content(store);
    Some(format!(
        "{}|{path}|{}",
        store.url(),
        tag.filter(|_| remote)?
    ))
}

/// Whether `store`'s entity tags change with the content: S3's, GCS's and
/// Azure's (see [`TAGGED`]).
pub(crate) fn tags_follow_content(store: &Store) -> bool {
    let url = store.url();
    [
        "s3://", "s3a://", "gs://", "az://", "azure://", "abfs://", "abfss://",
    ]
    .iter()
    .any(|s| url.starts_with(s))
}

/// Loads the newest version, `None` when there is none. With `seen`, a version
/// this process opened before, the listing starts there (one LIST page on S3
/// however many versions came before; no `stat` of older manifests locally), and
/// falls back to the whole listing when that version is gone (the dataset was
/// deleted or written again).
pub(crate) async fn load_latest(store: &Store, seen: Option<u64>) -> Result<Option<Arc<Manifest>>> {
    let Some((version, tag)) = newest(store, seen).await? else {
        return Ok(None);
    };
    let key = tag_key(store, &manifest_path(version), tag.as_deref());
    if let Some((hit, _)) = key.as_ref().and_then(|k| TAGGED.get(k)) {
        return Ok(Some(hit));
    }
    let (m, weight) = load_weighed(store, version).await?;
    if let Some(k) = key {
        TAGGED.put(k, m.clone(), weight);
    }
    Ok(Some(m))
}

/// [`load_latest`] through [`load_file_keyed`]: the newest manifest file alone,
/// and its [`ContentKey`].
pub(crate) async fn load_latest_file(
    store: &Store,
    seen: Option<u64>,
) -> Result<Option<(Arc<Manifest>, ContentKey)>> {
    match newest(store, seen).await? {
        Some((version, _)) => Ok(Some(
            load_file_keyed(store, version, DatasetErrorKind::NotFound).await?,
        )),
        None => Ok(None),
    }
}

/// The newest version listed and its entity tag (see [`load_latest`] for `seen`).
async fn newest(store: &Store, seen: Option<u64>) -> Result<Option<(u64, Option<String>)>> {
    let list = |after: Option<String>| async move {
        let newest = store
            .list_tagged(MANIFEST_DIR, after.as_deref(), false)
            .await?
            .into_iter()
            .filter_map(|(p, _, tag)| Some((path_version(&p)?, tag)))
            .max_by_key(|(v, _)| *v);
        Ok::<_, Error>(newest)
    };
    let mut newest = None;
    if let Some(after) = seen.filter(|&v| v > 1).map(|v| manifest_path(v - 1)) {
        newest = list(Some(after)).await?;
    }
    if newest.is_none() {
        // No `seen`, or nothing from it on (gone): list everything.
        newest = list(None).await?;
    }
    Ok(newest)
}

/// Writes `m` as its version if that version does not exist yet; `false` if it
/// does. A written file is kept, as `m`, in the cache of parsed manifests: the
/// next append, which may merge it, need not parse it.
pub(crate) async fn commit(store: &Store, m: &Manifest) -> Result<bool> {
    let bytes = serde_json::to_vec(m).map_err(|e| Error::invalid("manifest", e.to_string()))?;
    let (key, weight) = (content_key(&bytes), bytes.len());
    let done = store
        .put_if_absent(&manifest_path(m.version), bytes.into())
        .await?;
    if done {
        PARSED.put(key, Arc::new(m.clone()), weight);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, TimeUnit};
    use std::collections::HashMap;

    #[test]
    fn kept_manifests_are_bounded_by_count_and_weight() {
        let schema = Schema::new(vec![Field::new("a", DataType::Int64, false)]);
        let m = Arc::new(Manifest::full(
            1,
            encode_schema(&schema).unwrap(),
            0,
            Vec::new(),
        ));
        let keys =
            |r: &Recent<u32>| -> Vec<u32> { r.0.lock().unwrap().iter().map(|e| e.key).collect() };
        let r = Recent::new();
        for k in 0..40 {
            r.put(k, m.clone(), 1);
        }
        assert_eq!(keys(&r), (8..40).collect::<Vec<_>>());
        // A hit becomes the most recently used, and is the last to go.
        assert_eq!(r.get(&8).map(|(_, w)| w), Some(1));
        // 32 entries of weight 1 and one of the bound less 31: one over both.
        r.put(40, m.clone(), KEPT_BYTES - 31);
        assert_eq!(keys(&r), (10..40).chain([8, 40]).collect::<Vec<_>>());
        r.put(43, m.clone(), 2);
        assert_eq!(keys(&r), (12..40).chain([8, 40, 43]).collect::<Vec<_>>());
        // Heavier than the bound alone: kept, and everything else goes.
        r.put(41, m.clone(), KEPT_BYTES + 1);
        assert_eq!(keys(&r), [41]);
        r.put(42, m.clone(), 5);
        assert_eq!(keys(&r), [42]);
        // Putting a key again replaces its entry.
        r.put(42, m, 6);
        assert_eq!(r.get(&42).map(|(_, w)| w), Some(6));
        assert_eq!(keys(&r), [42]);
    }

    #[test]
    fn schema_with_metadata_and_time_zone_round_trips() {
        let f = Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into())),
            true,
        )
        .with_metadata(HashMap::from([(
            "ARROW:extension:name".into(),
            "my.ext".into(),
        )]));
        let s = Schema::new(vec![f]).with_metadata(HashMap::from([("k".into(), "v".into())]));
        assert_eq!(*decode_schema(&encode_schema(&s).unwrap()).unwrap(), s);
        assert_eq!(path_version(&manifest_path(42)), Some(42));
        assert_eq!(path_version("_manifest/v1.json"), None);
    }
}
