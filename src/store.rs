//! Object storage: turns the byte-range requests of readers into coalesced
//! `object_store` GETs, and writers' objects into (atomic) PUTs.
//!
//! A [`Store`] is an object store plus a prefix, opened from a URL: a local
//! path or `file://`, `memory://`, `s3://bucket/prefix` (and `gs://`, `az://`,
//! `http(s)://` behind the `gcp`, `azure`, `http` features). Paths given to its
//! methods are relative to that prefix and `/`-separated (`"col/a.b2frame"`).
//!
//! Every request is counted in [`StoreStats`], shared by clones, so tests and
//! benchmarks can assert how many requests and bytes a read needed.
//!
//! This is the only module that names `object_store`; everything above it
//! speaks `Store`, [`Bytes`] and byte ranges.

mod coalesce;
mod local;

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
pub(crate) use local::{still_linked, Stamp};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::throttle::{ThrottleConfig, ThrottledStore};
use object_store::{
    ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode, PutMultipartOptions, PutOptions,
    PutPayload, RetryConfig,
};

use crate::error::{Error, Result};

/// Ranges closer than this many bytes are fetched by one request in
/// [`Store::get_ranges`] (the same 1 MiB that `object_store` uses): on object
/// stores a request costs ~10-50 ms of latency, the time to read about 1 MiB more.
pub const COALESCE_GAP: u64 = 1 << 20;

/// How many merged ranges [`Store::get_ranges`] fetches at once.
const PARALLEL_FETCHES: usize = 10;

/// [`Store::put`] uploads objects larger than this in parts (multipart upload).
pub const MULTIPART_THRESHOLD: usize = 16 << 20;

/// Part size of multipart uploads (S3 wants at least 5 MiB per part but the last).
const PART_SIZE: usize = 8 << 20;

/// How many parts of one multipart upload are in flight at once.
const PARALLEL_PARTS: usize = 4;

/// Request and byte counts of a [`Store`] and its clones, since creation or
/// the last [`Store::reset_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// All requests sent to the object store (each multipart upload part counts).
    pub requests: u64,
    /// GET requests (whole objects and ranges).
    pub get_requests: u64,
    /// PUT requests (including each part and the start and completion of a
    /// multipart upload).
    pub put_requests: u64,
    /// HEAD requests.
    pub head_requests: u64,
    /// LIST calls (one per [`Store::list`], however many pages it reads).
    pub list_requests: u64,
    /// DELETE requests.
    pub delete_requests: u64,
    /// Bytes received by GET requests.
    pub bytes_read: u64,
    /// Bytes sent by PUT requests.
    pub bytes_written: u64,
}

/// The shared atomic counters behind [`StoreStats`].
#[derive(Debug, Default)]
struct Counters {
    get: AtomicU64,
    put: AtomicU64,
    head: AtomicU64,
    list: AtomicU64,
    delete: AtomicU64,
    read: AtomicU64,
    written: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// An object store and a prefix inside it, with request counters.
///
/// Cheap to clone; clones share the underlying client and the counters.
///
/// ```
/// # b2frame::store::block_on(async {
/// use b2frame::store::{Bytes, Store};
/// let store = Store::from_url("memory://datasets/nyc", [])?;
/// store.put("a/x.b2frame", Bytes::from_static(b"0123456789")).await?;
/// assert_eq!(store.get_range("a/x.b2frame", 2..5).await?, &b"234"[..]);
/// assert_eq!(store.list("a").await?, vec![("a/x.b2frame".to_string(), 10)]);
/// assert_eq!(store.stats().get_requests, 1);
/// # Ok::<(), b2frame::Error>(())
/// # }).unwrap().unwrap();
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
    url: Arc<str>,
    coalesce_gap: u64,
    counters: Arc<Counters>,
    /// For local directories: the directory `prefix` names, read directly with
    /// positioned reads on the calling thread (no thread hand-off per request).
    local: Option<Arc<std::path::Path>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("store", &format_args!("{}", self.inner))
            .field("prefix", &self.prefix.as_ref())
            .finish()
    }
}

impl Store {
    /// Opens the store at `url`: a local path (absolute or relative), `file://`,
    /// `memory://` (a new empty in-memory store each call), `s3://bucket/prefix`,
    /// and with the matching feature `gs://`, `az://`/`abfss://`, `http(s)://`.
    ///
    /// `options` are `object_store` configuration keys for the URL's store, e.g.
    /// `("aws_endpoint", "http://127.0.0.1:5000")`, `("aws_allow_http", "true")`,
    /// `("aws_access_key_id", ..)`; S3 also reads `AWS_*` environment variables
    /// (options win). Two keys apply to every remote store: `max_retries` (a count,
    /// default 10) and `retry_timeout` (seconds, default 180). Local and memory
    /// stores take no options. Nothing is created or contacted until the first
    /// request.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a URL that does not parse, an unknown scheme,
    /// a scheme whose feature is off, or an unknown option;
    /// [`Error::Store`] when the store's builder rejects its configuration.
    pub fn from_url(
        url: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Store> {
        let options: Vec<(String, String)> = options.into_iter().collect();
        let parsed = match url::Url::parse(url) {
            Ok(u) if u.scheme().len() > 1 => u,
            // No scheme (or a Windows drive letter): a local path.
            _ => return Self::local(std::path::Path::new(url), &options),
        };
        if parsed.scheme() == "memory" {
            // `memory://a/b` and `memory:///a/b` both mean prefix `a/b`.
            no_options(url, &options)?;
            let path = format!("{}{}", parsed.host_str().unwrap_or(""), parsed.path());
            let prefix = Path::from_url_path(&path)
                .map_err(|e| Error::invalid("url", format!("{url}: {e}")))?;
            return Ok(Self::build(Arc::new(InMemory::new()), prefix, url.into()));
        }
        let (scheme, prefix) = ObjectStoreScheme::parse(&parsed)
            .map_err(|e| Error::invalid("url", format!("{url}: {e}")))?;
        let inner: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::Local => {
                let path = parsed
                    .to_file_path()
                    .map_err(|()| Error::invalid("url", format!("{url}: not a local path")))?;
                return Self::local(&path, &options);
            }
            ObjectStoreScheme::AmazonS3 => remote::s3(&parsed, &options)?,
            #[cfg(feature = "gcp")]
            ObjectStoreScheme::GoogleCloudStorage => remote::gcs(&parsed, &options)?,
            #[cfg(feature = "azure")]
            ObjectStoreScheme::MicrosoftAzure => remote::azure(&parsed, &options)?,
            #[cfg(feature = "http")]
            ObjectStoreScheme::Http => remote::http(&parsed, &options)?,
            other => {
                return Err(Error::invalid(
                    "url",
                    format!("{url}: {other:?} stores need b2frame's matching cargo feature (gcp, azure, http)"),
                ))
            }
        };
        Ok(Self::build(inner, prefix, url.into()))
    }

    /// A local directory, as a store rooted at `/` with the directory as prefix:
    /// nothing is created until the first write.
    fn local(path: &std::path::Path, options: &[(String, String)]) -> Result<Store> {
        no_options(&path.display().to_string(), options)?;
        let abs = std::path::absolute(path)?;
        let prefix = Path::from_absolute_path(&abs)
            .map_err(|e| Error::invalid("path", format!("{}: {e}", abs.display())))?;
        let url = url::Url::from_directory_path(&abs)
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .unwrap_or_else(|()| abs.display().to_string());
        let inner = Arc::new(object_store::local::LocalFileSystem::new());
        let mut store = Self::build(inner, prefix, url.into());
        store.local = Some(abs.into());
        Ok(store)
    }

    /// Wraps an existing object store; paths are relative to `prefix`.
    pub fn from_object_store(store: Arc<dyn ObjectStore>, prefix: Path) -> Store {
        let url = format!("{store}/{prefix}");
        Self::build(store, prefix, url.into())
    }

    fn build(inner: Arc<dyn ObjectStore>, prefix: Path, url: Arc<str>) -> Store {
        Store {
            inner,
            prefix,
            url,
            coalesce_gap: COALESCE_GAP,
            counters: Arc::default(),
            local: None,
        }
    }

    /// The URL this store was opened with (for a local path: its `file://` URL).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store for the sub-prefix `path` of this one, sharing the client and the
    /// counters.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `path` is not a valid relative path.
    pub fn child(&self, path: &str) -> Result<Store> {
        let prefix = self.location(path)?;
        let url = format!(
            "{}/{}",
            self.url.trim_end_matches('/'),
            path.trim_matches('/')
        );
        let local = match &self.local {
            Some(dir) if local::is_plain(path) => Some(dir.join(path.trim_matches('/')).into()),
            _ => None,
        };
        Ok(Store {
            prefix,
            url: url.into(),
            local,
            ..self.clone()
        })
    }

    /// The same store with `latency` added before every request (get, put, list,
    /// delete), for tests and benchmarks that model a remote store. Shares the
    /// counters.
    pub fn with_latency(&self, latency: Duration) -> Store {
        let config = ThrottleConfig {
            wait_get_per_call: latency,
            wait_put_per_call: latency,
            wait_list_per_call: latency,
            wait_list_with_delimiter_per_call: latency,
            wait_delete_per_call: latency,
            ..ThrottleConfig::default()
        };
        Store {
            inner: Arc::new(ThrottledStore::new(Arc::clone(&self.inner), config)),
            local: None,
            ..self.clone()
        }
    }

    /// The same store with another coalescing gap for [`Store::get_ranges`]
    /// (default [`COALESCE_GAP`]; 0 merges only touching or overlapping ranges).
    pub fn with_coalesce_gap(&self, gap: u64) -> Store {
        Store {
            coalesce_gap: gap,
            ..self.clone()
        }
    }

    /// The requests and bytes counted so far by this store and its clones.
    pub fn stats(&self) -> StoreStats {
        let c = &*self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (get, put, head, list, delete) = (
            load(&c.get),
            load(&c.put),
            load(&c.head),
            load(&c.list),
            load(&c.delete),
        );
        StoreStats {
            requests: get + put + head + list + delete,
            get_requests: get,
            put_requests: put,
            head_requests: head,
            list_requests: list,
            delete_requests: delete,
            bytes_read: load(&c.read),
            bytes_written: load(&c.written),
        }
    }

    /// Sets all counters of this store and its clones to zero.
    pub fn reset_stats(&self) {
        let c = &*self.counters;
        for a in [
            &c.get, &c.put, &c.head, &c.list, &c.delete, &c.read, &c.written,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }

    /// The full location of the relative `path`.
    fn location(&self, path: &str) -> Result<Path> {
        let rel =
            Path::parse(path).map_err(|e| Error::invalid("path", format!("{path:?}: {e}")))?;
        Ok(self.prefix.parts().chain(rel.parts()).collect())
    }

    /// Whether requests go straight to local files (a store opened from a local
    /// path or `file://` URL, without added latency).
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// The local file of `path` when this store reads local files directly and
    /// `path` is a plain relative path (checked by [`Store::location`] first).
    fn local_file(&self, path: &str) -> Result<Option<std::path::PathBuf>> {
        let Some(dir) = &self.local else {
            return Ok(None);
        };
        let rel =
            Path::parse(path).map_err(|e| Error::invalid("path", format!("{path:?}: {e}")))?;
        Ok((!rel.as_ref().is_empty() && local::is_plain(rel.as_ref()))
            .then(|| dir.join(rel.as_ref())))
    }

    /// The settled [`Stamp`] of the local file or directory `path` (see
    /// [`local::stamp`]); `None` for stores that do not read local files
    /// directly, for missing paths and for stamps too recent to rely on.
    pub(crate) fn local_stamp(&self, path: &str) -> Option<Stamp> {
        local::stamp(&self.local_file(path).ok()??)
    }

    /// Reads the whole object at `path`.
    ///
    /// # Errors
    /// [`Error::Store`] naming the path: [`Error::is_not_found`] when it does not
    /// exist, other variants when the store fails.
    pub async fn get(&self, path: &str) -> Result<Bytes> {
        if let Some(file) = self.local_file(path)? {
            Counters::add(&self.counters.get, 1);
            let bytes = local::read(&file).map_err(|e| local::error("get", &file, e))?;
            Counters::add(&self.counters.read, bytes.len() as u64);
            return Ok(bytes);
        }
        let loc = self.location(path)?;
        Counters::add(&self.counters.get, 1);
        let bytes = async { self.inner.get(&loc).await?.bytes().await }
            .await
            .map_err(|e| at_path("get", &loc, e))?;
        Counters::add(&self.counters.read, bytes.len() as u64);
        Ok(bytes)
    }

    /// Reads bytes `range` of the object at `path` with one request (none for an
    /// empty range).
    ///
    /// # Errors
    /// As [`Store::get`]; also [`Error::InvalidArgument`] when `range.start >
    /// range.end`, and [`Error::Store`] when the object ends before `range.end`.
    pub async fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes> {
        check_range(&range)?;
        if self.local.is_some() {
            return Ok(self
                .read_ranges(path, std::slice::from_ref(&range))?
                .pop()
                .unwrap_or_default());
        }
        let loc = self.location(path)?;
        self.fetch(&loc, range).await
    }

    /// [`Store::get_ranges`] without a runtime for local stores: the merged ranges
    /// are read with positioned reads on this thread. Other stores run
    /// [`Store::get_ranges`] through [`block_on`].
    ///
    /// # Errors
    /// As [`Store::get_ranges`].
    pub fn read_ranges(&self, path: &str, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        match self.open_local(path)? {
            Some(f) => self.read_ranges_in(&f, path, ranges),
            None => block_on(self.get_ranges(path, ranges))?,
        }
    }

    /// The open local file of `path` (`None` when this store does not read
    /// local files directly), for repeated [`Store::read_ranges_in`].
    pub(crate) fn open_local(&self, path: &str) -> Result<Option<std::fs::File>> {
        let Some(file) = self.local_file(path)? else {
            return Ok(None);
        };
        local::open(&file)
            .map(Some)
            .map_err(|e| local::error("get_range", &file, e))
    }

    /// [`Store::read_ranges`] from `file`, the [`Store::open_local`] of `path`.
    pub(crate) fn read_ranges_in(
        &self,
        file: &std::fs::File,
        path: &str,
        ranges: &[Range<u64>],
    ) -> Result<Vec<Bytes>> {
        for r in ranges {
            check_range(r)?;
        }
        let plan = coalesce::plan(ranges, self.coalesce_gap);
        let mut fetched = Vec::with_capacity(plan.fetches.len());
        for r in &plan.fetches {
            Counters::add(&self.counters.get, 1);
            let bytes = local::read_at(file, r.clone()).map_err(|e| {
                let full = self.local_file(path).ok().flatten().unwrap_or_default();
                local::error("get_range", &full, e)
            })?;
            Counters::add(&self.counters.read, bytes.len() as u64);
            fetched.push(bytes);
        }
        Ok(plan
            .slots
            .into_iter()
            .map(|slot| match slot {
                Some(s) => fetched[s.fetch].slice(s.within),
                None => Bytes::new(),
            })
            .collect())
    }

    /// One ranged GET of `range` (non-empty), checked for length.
    async fn fetch(&self, loc: &Path, range: Range<u64>) -> Result<Bytes> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        Counters::add(&self.counters.get, 1);
        let bytes = self
            .inner
            .get_range(loc, range.clone())
            .await
            .map_err(|e| at_path("get_range", loc, e))?;
        Counters::add(&self.counters.read, bytes.len() as u64);
        if bytes.len() as u64 != range.end - range.start {
            return Err(Error::Store(object_store::Error::Generic {
                store: "b2frame",
                source: Box::new(AtPath {
                    op: "get_range",
                    path: loc.to_string(),
                    source: format!(
                        "range {}..{} returned {} bytes, expected {} (object too short)",
                        range.start,
                        range.end,
                        bytes.len(),
                        range.end - range.start
                    )
                    .into(),
                }),
            }));
        }
        Ok(bytes)
    }

    /// Reads several byte ranges of the object at `path`, one result per range in
    /// the order given. Ranges may be unsorted and overlap. Ranges that overlap or
    /// lie at most the coalescing gap apart ([`COALESCE_GAP`], 1 MiB, unless set by
    /// [`Store::with_coalesce_gap`]) are fetched by one request; up to 10 merged
    /// requests run at once. Results share the fetched buffers (no copies).
    ///
    /// # Errors
    /// As [`Store::get_range`] for any range.
    pub async fn get_ranges(&self, path: &str, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if self.local.is_some() {
            return self.read_ranges(path, ranges);
        }
        for r in ranges {
            check_range(r)?;
        }
        let loc = self.location(path)?;
        let plan = coalesce::plan(ranges, self.coalesce_gap);
        let fetched: Vec<Bytes> = futures::stream::iter(plan.fetches)
            .map(|r| self.fetch(&loc, r))
            .buffered(PARALLEL_FETCHES)
            .try_collect()
            .await?;
        Ok(plan
            .slots
            .into_iter()
            .map(|slot| match slot {
                Some(s) => fetched[s.fetch].slice(s.within),
                None => Bytes::new(),
            })
            .collect())
    }

    /// The size in bytes of the object at `path`.
    ///
    /// # Errors
    /// As [`Store::get`].
    pub async fn head(&self, path: &str) -> Result<u64> {
        if let Some(file) = self.local_file(path)? {
            Counters::add(&self.counters.head, 1);
            return local::size(&file).map_err(|e| local::error("head", &file, e));
        }
        let loc = self.location(path)?;
        Counters::add(&self.counters.head, 1);
        let meta = self
            .inner
            .head(&loc)
            .await
            .map_err(|e| at_path("head", &loc, e))?;
        Ok(meta.size)
    }

    /// Writes `bytes` as the object at `path`, replacing any object there. Readers
    /// see the old or the new object, never a mix: local files are written to a
    /// temporary file and renamed; objects above [`MULTIPART_THRESHOLD`] go up as
    /// a multipart upload, which becomes visible only when completed.
    ///
    /// # Errors
    /// [`Error::Store`] naming the path when the store fails (an aborted multipart
    /// upload leaves no object behind).
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<()> {
        let loc = self.location(path)?;
        if bytes.len() > MULTIPART_THRESHOLD {
            return self.put_multipart(&loc, bytes).await;
        }
        self.put_one(&loc, bytes, PutMode::Overwrite)
            .await
            .map_err(|e| at_path("put", &loc, e))
    }

    async fn put_one(&self, loc: &Path, bytes: Bytes, mode: PutMode) -> object_store::Result<()> {
        let n = bytes.len() as u64;
        Counters::add(&self.counters.put, 1);
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.inner
            .put_opts(loc, PutPayload::from(bytes), opts)
            .await?;
        Counters::add(&self.counters.written, n);
        Ok(())
    }

    async fn put_multipart(&self, loc: &Path, bytes: Bytes) -> Result<()> {
        let c = &self.counters;
        Counters::add(&c.put, 1);
        let mut upload = self
            .inner
            .put_multipart_opts(loc, PutMultipartOptions::default())
            .await
            .map_err(|e| at_path("put (multipart start)", loc, e))?;
        let parts: Vec<_> = (0..bytes.len())
            .step_by(PART_SIZE)
            .map(|a| {
                let part = bytes.slice(a..bytes.len().min(a + PART_SIZE));
                Counters::add(&c.put, 1);
                let n = part.len() as u64;
                let fut = upload.put_part(PutPayload::from(part));
                async move {
                    fut.await?;
                    Counters::add(&c.written, n);
                    Ok::<(), object_store::Error>(())
                }
            })
            .collect();
        let sent: object_store::Result<Vec<()>> = futures::stream::iter(parts)
            .buffer_unordered(PARALLEL_PARTS)
            .try_collect()
            .await;
        let done = match sent {
            Ok(_) => {
                Counters::add(&c.put, 1);
                upload.complete().await.map(|_| ())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            // Best effort: the upload's parts are garbage either way.
            let _ = upload.abort().await;
            return Err(at_path("put (multipart)", loc, e));
        }
        Ok(())
    }

    /// Writes `bytes` as a new object at `path`, for objects no reader looks at
    /// until a later commit names them (the column frames of a new fragment):
    /// local files are written in place (on the runtime's blocking pool), without
    /// the staging file and rename of [`Store::put`] (a crash leaves a partial,
    /// unreferenced file, which `Dataset::cleanup_old_versions` deletes, and an
    /// existing file is an error); other stores as [`Store::put`].
    pub(crate) async fn put_new(&self, path: &str, bytes: Bytes) -> Result<()> {
        let Some(file) = self.local_file(path)? else {
            return self.put(path, bytes).await;
        };
        Counters::add(&self.counters.put, 1);
        let n = bytes.len() as u64;
        // On the blocking pool: creating files waits on the file system's
        // metadata, and concurrent creations overlap those waits.
        tokio::task::spawn_blocking(move || {
            local::write_new(&file, &bytes).map_err(|e| local::error("put", &file, e))
        })
        .await
        .map_err(|e| Error::Io(std::io::Error::other(format!("put {path}: {e}"))))??;
        Counters::add(&self.counters.written, n);
        Ok(())
    }

    /// Writes `bytes` as the object at `path` only if no object is there: the
    /// commit primitive of manifests. Returns `Ok(false)`, writing nothing, when
    /// the object already exists (another writer won).
    ///
    /// # Errors
    /// [`Error::Store`] naming the path when the store fails or cannot do
    /// conditional writes.
    pub async fn put_if_absent(&self, path: &str, bytes: Bytes) -> Result<bool> {
        let loc = self.location(path)?;
        match self.put_one(&loc, bytes, PutMode::Create).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(at_path("put_if_absent", &loc, e)),
        }
    }

    /// The objects under the directory-like `prefix` (`""` for all), as paths
    /// relative to this store's prefix with their sizes, sorted by path. `"a"`
    /// matches `a/x` but not `ab`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an invalid prefix, [`Error::Store`] when the
    /// store fails.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        Ok(self
            .list_tagged(prefix, None, true)
            .await?
            .into_iter()
            .map(|(p, n, _)| (p, n))
            .collect())
    }

    /// [`Store::list`] with each object's entity tag when the store reports one
    /// (object stores; never local paths, whose tags would come from inode and
    /// modification time rather than content); with `after`, only the objects
    /// whose path sorts after it (S3 starts its listing there: one page instead
    /// of one per thousand objects before it); without `sizes`, local sizes are
    /// 0 (no `stat` per file).
    pub(crate) async fn list_tagged(
        &self,
        prefix: &str,
        after: Option<&str>,
        sizes: bool,
    ) -> Result<Vec<(String, u64, Option<String>)>> {
        if let (Some(dir), true) = (&self.local, local::is_plain(prefix) || prefix.is_empty()) {
            self.location(prefix)?;
            Counters::add(&self.counters.list, 1);
            let p = prefix.trim_matches('/');
            return local::list(dir, p, after, sizes)
                .map(|v| v.into_iter().map(|(p, n)| (p, n, None)).collect())
                .map_err(|e| local::error("list", &dir.join(p), e));
        }
        let local = self.is_local();
        Ok(self
            .list_metas(prefix, after)
            .await?
            .into_iter()
            .map(|(p, m)| (p, m.size, m.e_tag.filter(|_| !local)))
            .collect())
    }

    /// The inner store's listing of `prefix` (from after `after`), as paths
    /// relative to this store's prefix with their metadata, sorted by path.
    async fn list_metas(
        &self,
        prefix: &str,
        after: Option<&str>,
    ) -> Result<Vec<(String, object_store::ObjectMeta)>> {
        let loc = self.location(prefix)?;
        Counters::add(&self.counters.list, 1);
        let listing = match after {
            Some(a) => self.inner.list_with_offset(Some(&loc), &self.location(a)?),
            None => self.inner.list(Some(&loc)),
        };
        let metas: Vec<_> = listing
            .try_collect()
            .await
            .map_err(|e| at_path("list", &loc, e))?;
        let mut out: Vec<_> = metas
            .into_iter()
            .filter_map(|m| {
                let rel = m.location.prefix_match(&self.prefix)?;
                let rel: Vec<_> = rel.map(|p| p.as_ref().to_string()).collect();
                Some((rel.join("/"), m))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The objects under the directory-like `prefix` with their sizes and last
    /// modification times, as paths relative to this store's prefix, sorted by
    /// path (for maintenance: ages decide what may be deleted).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an invalid prefix, [`Error::Store`] when the
    /// store fails.
    pub(crate) async fn list_modified(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, u64, std::time::SystemTime)>> {
        Ok(self
            .list_metas(prefix, None)
            .await?
            .into_iter()
            .map(|(p, m)| (p, m.size, m.last_modified.into()))
            .collect())
    }

    /// Removes the local folder `path` when it is empty (object stores have no
    /// folders: nothing to do); a folder that is missing or not empty stays.
    pub(crate) fn remove_empty_dir(&self, path: &str) {
        if let Ok(Some(dir)) = self.local_file(path) {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Deletes the object at `path`; deleting a missing object is not an error
    /// (on every store, as on S3).
    ///
    /// # Errors
    /// [`Error::Store`] naming the path when the store fails.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let loc = self.location(path)?;
        Counters::add(&self.counters.delete, 1);
        match self.inner.delete(&loc).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(at_path("delete", &loc, e)),
        }
    }
}

impl Error {
    /// True when this is a store error for a missing object.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Store(object_store::Error::NotFound { .. }))
    }
}

/// Rejects `start > end`.
fn check_range(r: &Range<u64>) -> Result<()> {
    if r.start > r.end {
        return Err(Error::invalid(
            "range",
            format!("{}..{}: start after end", r.start, r.end),
        ));
    }
    Ok(())
}

/// Rejects options for stores that take none.
fn no_options(url: &str, options: &[(String, String)]) -> Result<()> {
    match options.first() {
        None => Ok(()),
        Some((k, _)) => Err(Error::invalid(
            "options",
            format!("{url}: local and memory stores take no options, got {k:?}"),
        )),
    }
}

/// An error from the object store with the operation and path it concerned, for
/// the variants whose own message does not name the path.
#[derive(Debug)]
struct AtPath {
    op: &'static str,
    path: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for AtPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path, self.source)
    }
}

impl std::error::Error for AtPath {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Makes sure `e`'s message names `loc`: variants that carry a path keep their
/// type (so `NotFound`, `AlreadyExists`, ... stay matchable), `Generic` and
/// `NotSupported` get the operation and path prepended to their source.
fn at_path(op: &'static str, loc: &Path, e: object_store::Error) -> Error {
    let wrap = |source| {
        Box::new(AtPath {
            op,
            path: loc.to_string(),
            source,
        })
    };
    Error::Store(match e {
        object_store::Error::Generic { store, source } => object_store::Error::Generic {
            store,
            source: wrap(source),
        },
        object_store::Error::NotSupported { source } => object_store::Error::NotSupported {
            source: wrap(source),
        },
        other => other,
    })
}

/// Builders of the remote stores, each taking `object_store` config keys.
mod remote {
    use super::*;

    /// The `max_retries` / `retry_timeout` options, removed from `options`.
    fn retry(options: &[(String, String)]) -> Result<(RetryConfig, Vec<&(String, String)>)> {
        let mut retry = RetryConfig::default();
        let mut rest = Vec::new();
        for kv in options {
            let (k, v) = kv;
            let bad = |what: &str| Error::invalid("options", format!("{k}={v:?}: expected {what}"));
            match k.as_str() {
                "max_retries" => retry.max_retries = v.parse().map_err(|_| bad("a count"))?,
                "retry_timeout" => {
                    let secs: f64 = v
                        .trim_end_matches('s')
                        .parse()
                        .map_err(|_| bad("seconds"))?;
                    retry.retry_timeout =
                        Duration::try_from_secs_f64(secs).map_err(|_| bad("seconds"))?;
                }
                _ => rest.push(kv),
            }
        }
        Ok((retry, rest))
    }

    /// Parses one config key of a store, naming it when unknown.
    fn key<K: std::str::FromStr>(url: &url::Url, k: &str) -> Result<K> {
        k.to_ascii_lowercase()
            .parse()
            .map_err(|_| Error::invalid("options", format!("{url}: unknown option {k:?}")))
    }

    /// `s3://bucket/prefix`, with `AWS_*` environment variables, then `options`.
    pub(super) fn s3(url: &url::Url, options: &[(String, String)]) -> Result<Arc<dyn ObjectStore>> {
        use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
        let (retry, rest) = retry(options)?;
        let mut b = AmazonS3Builder::from_env()
            .with_url(url.as_str())
            .with_retry(retry);
        for (k, v) in rest {
            b = b.with_config(key::<AmazonS3ConfigKey>(url, k)?, v);
        }
        Ok(Arc::new(b.build()?))
    }

    /// `gs://bucket/prefix`, with `GOOGLE_*` environment variables, then `options`.
    #[cfg(feature = "gcp")]
    pub(super) fn gcs(
        url: &url::Url,
        options: &[(String, String)],
    ) -> Result<Arc<dyn ObjectStore>> {
        use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
        let (retry, rest) = retry(options)?;
        let mut b = GoogleCloudStorageBuilder::from_env()
            .with_url(url.as_str())
            .with_retry(retry);
        for (k, v) in rest {
            b = b.with_config(key::<GoogleConfigKey>(url, k)?, v);
        }
        Ok(Arc::new(b.build()?))
    }

    /// `az://container/prefix` and friends, with `AZURE_*` environment variables,
    /// then `options`.
    #[cfg(feature = "azure")]
    pub(super) fn azure(
        url: &url::Url,
        options: &[(String, String)],
    ) -> Result<Arc<dyn ObjectStore>> {
        use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
        let (retry, rest) = retry(options)?;
        let mut b = MicrosoftAzureBuilder::from_env()
            .with_url(url.as_str())
            .with_retry(retry);
        for (k, v) in rest {
            b = b.with_config(key::<AzureConfigKey>(url, k)?, v);
        }
        Ok(Arc::new(b.build()?))
    }

    /// `http(s)://host/prefix` (WebDAV for writes), with client `options`.
    #[cfg(feature = "http")]
    pub(super) fn http(
        url: &url::Url,
        options: &[(String, String)],
    ) -> Result<Arc<dyn ObjectStore>> {
        use object_store::http::HttpBuilder;
        use object_store::ClientConfigKey;
        let (retry, rest) = retry(options)?;
        let mut b = HttpBuilder::new().with_url(url.as_str()).with_retry(retry);
        for (k, v) in rest {
            b = b.with_config(key::<ClientConfigKey>(url, k)?, v);
        }
        Ok(Arc::new(b.build()?))
    }
}

/// The runtime [`block_on`] uses outside of any runtime.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RT.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("b2frame-store")
        .build()?;
    Ok(RT.get_or_init(|| rt))
}

/// Runs a future (e.g. a [`Store`] call) to completion from synchronous code:
/// on b2frame's own multi-threaded runtime when called outside any runtime, in
/// place (`block_in_place`) inside a multi-threaded tokio runtime, and polled on
/// this thread with b2frame's runtime driving I/O and timers inside a
/// current-thread runtime (a store whose connections were opened by that
/// current-thread runtime should not be used this way: its connection tasks
/// cannot run while it is blocked).
///
/// # Errors
/// [`Error::Io`] when b2frame's runtime cannot be started.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| h.block_on(fut)))
        }
        Ok(_) => {
            let _guard = runtime()?.enter();
            Ok(futures::executor::block_on(fut))
        }
        Err(_) => Ok(runtime()?.block_on(fut)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_under_the_prefix_and_reject_dot_dot() {
        let s = Store::from_url("memory://base/dir", []).unwrap();
        assert_eq!(s.location("a/b.x").unwrap().as_ref(), "base/dir/a/b.x");
        assert!(matches!(
            s.location("a/../b"),
            Err(Error::InvalidArgument { name: "path", .. })
        ));
    }

    #[test]
    fn options_are_checked() {
        let e = Store::from_url("memory://", [("aws_region".into(), "x".into())]).unwrap_err();
        assert!(e.to_string().contains("take no options"), "{e}");
        let e = Store::from_url("s3://b/p", [("nonsense_key".into(), "1".into())]).unwrap_err();
        assert!(e.to_string().contains("nonsense_key"), "{e}");
        let s = Store::from_url(
            "s3://b/p",
            [
                ("aws_endpoint".into(), "http://127.0.0.1:1".into()),
                ("max_retries".into(), "0".into()),
                ("retry_timeout".into(), "1.5s".into()),
            ],
        )
        .unwrap();
        assert_eq!(s.prefix.as_ref(), "p");
    }

    #[test]
    fn local_paths_get_file_urls() {
        let s = Store::from_url("/tmp/b2frame-x/y", []).unwrap();
        assert_eq!(s.url(), "file:///tmp/b2frame-x/y");
        assert_eq!(s.prefix.as_ref(), "tmp/b2frame-x/y");
    }

    #[test]
    fn block_on_works_outside_and_inside_runtimes() {
        assert_eq!(block_on(async { 7 }).unwrap(), 7);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let slept = async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            8
        };
        assert_eq!(rt.block_on(async { block_on(slept).unwrap() }), 8);
        let rt = tokio::runtime::Builder::new_multi_thread().build().unwrap();
        assert_eq!(rt.block_on(async { block_on(async { 9 }).unwrap() }), 9);
    }
}
