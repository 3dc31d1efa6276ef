//! The store layer: one suite of functions run on `InMemory`, `LocalFileSystem`
//! (a tempdir) and a real S3-compatible server on 127.0.0.1 (moto, started by
//! `scripts/s3-server.sh`, endpoint in `B2FRAME_S3_ENDPOINT`), plus failure cases
//! (object missing, server down mid-write).

use std::io::Read;
use std::net::TcpListener;
use std::ops::Range;
use std::time::{Duration, Instant};

use b2frame::store::{Bytes, Store, MULTIPART_THRESHOLD};
use b2frame::Error;

/// A store for one test, with whatever keeps its backing alive.
struct Backend {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

fn memory() -> Backend {
    Backend {
        store: Store::from_url("memory://suite", []).unwrap(),
        _dir: None,
    }
}

fn local() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet: the first write creates it.
    let path = dir.path().join("ds");
    Backend {
        store: Store::from_url(path.to_str().unwrap(), []).unwrap(),
        _dir: Some(dir),
    }
}

/// The local S3 server's endpoint; a test that needs it fails (never skips)
/// when it is not running.
pub fn s3_endpoint() -> (String, String) {
    let endpoint = std::env::var("B2FRAME_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "B2FRAME_S3_ENDPOINT is not set: this test needs the local S3 server. Start it with \
             `eval \"$(scripts/s3-server.sh start)\"` (stop: `scripts/s3-server.sh stop`), \
             or run scripts/test.sh, which starts and stops it"
        )
    });
    let bucket = std::env::var("B2FRAME_S3_BUCKET").unwrap_or_else(|_| "b2frame-test".into());
    (endpoint, bucket)
}

/// Options for an S3 store at `endpoint`: dummy keys, plain HTTP, path-style.
pub fn s3_options(endpoint: &str) -> Vec<(String, String)> {
    [
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
        ("aws_region", "us-east-1"),
        ("max_retries", "1"),
        ("retry_timeout", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A fresh prefix in the test bucket for `name`.
pub fn s3_url(name: &str) -> String {
    let (_, bucket) = s3_endpoint();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("s3://{bucket}/it/{name}-{}-{nanos}", std::process::id())
}

fn s3() -> Backend {
    let (endpoint, _) = s3_endpoint();
    Backend {
        store: Store::from_url(&s3_url("store"), s3_options(&endpoint)).unwrap(),
        _dir: None,
    }
}

/// `n` bytes of a recognisable pattern.
fn pattern(n: usize) -> Bytes {
    (0..n)
        .map(|i| ((i as u64 * 2_654_435_761) >> 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

async fn put_get_head_and_ranges_round_trip(s: Store) {
    let data = pattern(100_000);
    s.put("col/a.b2frame", data.clone()).await.unwrap();
    assert_eq!(s.get("col/a.b2frame").await.unwrap(), data);
    assert_eq!(s.head("col/a.b2frame").await.unwrap(), 100_000);
    assert_eq!(
        s.get_range("col/a.b2frame", 1000..1500).await.unwrap(),
        data.slice(1000..1500)
    );
    assert!(s.get_range("col/a.b2frame", 7..7).await.unwrap().is_empty());
    // Unsorted, overlapping and empty ranges come back in the caller's order.
    let ranges = [90_000..99_999, 0..10, 5..20, 50..50, 99_990..100_000];
    let got = s.get_ranges("col/a.b2frame", &ranges).await.unwrap();
    assert_eq!(got.len(), ranges.len());
    for (r, g) in ranges.iter().zip(&got) {
        assert_eq!(*g, data.slice(r.start as usize..r.end as usize));
    }
    // Overwrite replaces.
    s.put("col/a.b2frame", Bytes::from_static(b"new"))
        .await
        .unwrap();
    assert_eq!(s.get("col/a.b2frame").await.unwrap(), &b"new"[..]);
}

async fn get_ranges_coalesces_nearby_ranges_into_one_request(s: Store) {
    let data = pattern(1 << 20);
    s.put("x.b2frame", data.clone()).await.unwrap();
    s.reset_stats();
    // Ten 1000-byte ranges 50 KB apart: one GET.
    let ranges: Vec<Range<u64>> = (0..10u64).map(|i| i * 50_000..i * 50_000 + 1000).collect();
    let got = s.get_ranges("x.b2frame", &ranges).await.unwrap();
    for (r, g) in ranges.iter().zip(&got) {
        assert_eq!(*g, data.slice(r.start as usize..r.end as usize));
    }
    let st = s.stats();
    assert_eq!((st.requests, st.get_requests), (1, 1), "{st:?}");
    assert_eq!(st.bytes_read, 9 * 50_000 + 1000);
    // With a 10 KB gap they stay ten requests, each reading only its range.
    s.reset_stats();
    let s10 = s.with_coalesce_gap(10_000);
    s10.get_ranges("x.b2frame", &ranges).await.unwrap();
    let st = s.stats();
    assert_eq!((st.get_requests, st.bytes_read), (10, 10_000), "{st:?}");
}

async fn list_is_relative_sorted_and_by_directory(s: Store) {
    for p in ["t/b/1", "t/a/2", "t/a/1", "tx/3", "u"] {
        s.put(p, pattern(p.len())).await.unwrap();
    }
    assert_eq!(
        s.list("t").await.unwrap(),
        vec![
            ("t/a/1".to_string(), 5),
            ("t/a/2".to_string(), 5),
            ("t/b/1".to_string(), 5)
        ]
    );
    let all: Vec<String> = s.list("").await.unwrap().into_iter().map(|e| e.0).collect();
    assert_eq!(all, ["t/a/1", "t/a/2", "t/b/1", "tx/3", "u"]);
    assert!(s.list("nothing/here").await.unwrap().is_empty());
    // A child store sees paths relative to itself and shares the counters.
    let child = s.child("t/a").unwrap();
    let before = s.stats().list_requests;
    let names: Vec<String> = child
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, ["1", "2"]);
    assert_eq!(s.stats().list_requests, before + 1);
}

async fn delete_removes_and_tolerates_missing(s: Store) {
    s.put("d/1", pattern(10)).await.unwrap();
    s.delete("d/1").await.unwrap();
    assert!(s.get("d/1").await.unwrap_err().is_not_found());
    s.delete("d/1").await.unwrap();
    assert!(s.list("d").await.unwrap().is_empty());
}

async fn put_if_absent_writes_once(s: Store) {
    assert!(s
        .put_if_absent("_manifest/v1", Bytes::from_static(b"one"))
        .await
        .unwrap());
    assert!(!s
        .put_if_absent("_manifest/v1", Bytes::from_static(b"two"))
        .await
        .unwrap());
    assert_eq!(s.get("_manifest/v1").await.unwrap(), &b"one"[..]);
}

async fn not_found_is_typed_and_names_the_path(s: Store) {
    for e in [
        s.get("missing/col.b2frame").await.unwrap_err(),
        s.get_range("missing/col.b2frame", 0..10).await.unwrap_err(),
        s.get_ranges("missing/col.b2frame", &[0..10, 20..30])
            .await
            .unwrap_err(),
        s.head("missing/col.b2frame").await.unwrap_err(),
    ] {
        assert!(e.is_not_found(), "{e:?}");
        assert!(matches!(e, Error::Store(_)));
        assert!(e.to_string().contains("missing/col.b2frame"), "{e}");
    }
}

async fn short_objects_and_bad_ranges_are_errors(s: Store) {
    s.put("short", pattern(100)).await.unwrap();
    let e = s.get_range("short", 50..200).await.unwrap_err();
    assert!(e.to_string().contains("short"), "{e}");
    let e = s.get_ranges("short", &[0..10, 90..150]).await.unwrap_err();
    assert!(e.to_string().contains("short"), "{e}");
    #[allow(clippy::reversed_empty_ranges)]
    let e = s.get_range("short", 20..10).await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { name: "range", .. }),
        "{e:?}"
    );
    let e = s.get("../escape").await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { name: "path", .. }),
        "{e:?}"
    );
}

async fn large_objects_go_up_in_parts(s: Store) {
    let data = pattern(MULTIPART_THRESHOLD + 3 * 1024 * 1024 + 17);
    s.reset_stats();
    s.put("big/obj", data.clone()).await.unwrap();
    let st = s.stats();
    // start + 3 parts of 8 MiB + complete.
    assert_eq!(st.put_requests, 5, "{st:?}");
    assert_eq!(st.bytes_written, data.len() as u64);
    assert_eq!(s.head("big/obj").await.unwrap(), data.len() as u64);
    assert_eq!(s.get("big/obj").await.unwrap(), data);
}

/// Runs each case on each backend, one test per (backend, case).
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { let b = super::memory(); super::$case(b.store.clone()).await; })*
        }
        mod local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { let b = super::local(); super::$case(b.store.clone()).await; })*
        }
        mod s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { let b = super::s3(); super::$case(b.store.clone()).await; })*
        }
    };
}

suite!(
    put_get_head_and_ranges_round_trip,
    get_ranges_coalesces_nearby_ranges_into_one_request,
    list_is_relative_sorted_and_by_directory,
    delete_removes_and_tolerates_missing,
    put_if_absent_writes_once,
    not_found_is_typed_and_names_the_path,
    short_objects_and_bad_ranges_are_errors,
    large_objects_go_up_in_parts,
);

#[tokio::test]
async fn file_urls_and_local_paths_reach_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let by_path = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    let url = format!("file://{}", dir.path().display());
    let by_url = Store::from_url(&url, []).unwrap();
    by_path.put("a/b", pattern(3)).await.unwrap();
    assert_eq!(by_url.get("a/b").await.unwrap(), pattern(3));
    assert!(dir.path().join("a/b").is_file());
    assert_eq!(by_url.url(), by_path.url());
}

#[tokio::test]
async fn latency_is_added_per_request() {
    let s = Store::from_url("memory://", [])
        .unwrap()
        .with_latency(Duration::from_millis(40));
    s.put("x", pattern(10)).await.unwrap();
    let t = Instant::now();
    s.get_ranges("x", &[0..2, 4..6, 8..10]).await.unwrap();
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(40), "{took:?}");
    assert!(
        took < Duration::from_millis(120),
        "coalesced to one request: {took:?}"
    );
}

#[tokio::test]
async fn s3_server_down_is_a_typed_error_naming_the_path() {
    // A closed loopback port: nothing listens.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = s3_url("down");
    let s = Store::from_url(&url, s3_options(&format!("http://127.0.0.1:{port}"))).unwrap();
    let t = Instant::now();
    let e = s.put("col/a.b2frame", pattern(1000)).await.unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e:?}");
    assert!(!e.is_not_found());
    assert!(e.to_string().contains("col/a.b2frame"), "{e}");
    let e = s.get("col/a.b2frame").await.unwrap_err();
    assert!(e.to_string().contains("col/a.b2frame"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn s3_server_dying_mid_write_is_a_typed_error_naming_the_path() {
    // A server that reads part of each request, then drops the connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for conn in listener.incoming().take(2) {
            let mut conn = conn.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
        }
    });
    let s = Store::from_url(
        &s3_url("midwrite"),
        s3_options(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    let e = s
        .put("col/big.b2frame", pattern(4 << 20))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e:?}");
    assert!(e.to_string().contains("col/big.b2frame"), "{e}");
    server.join().unwrap();
}

#[tokio::test]
async fn s3_writes_are_visible_to_a_second_client() {
    let (endpoint, _) = s3_endpoint();
    let url = s3_url("second");
    let a = Store::from_url(&url, s3_options(&endpoint)).unwrap();
    let b = Store::from_url(&url, s3_options(&endpoint)).unwrap();
    assert!(a.put_if_absent("m/v1", pattern(10)).await.unwrap());
    assert!(!b.put_if_absent("m/v1", pattern(11)).await.unwrap());
    assert_eq!(b.get("m/v1").await.unwrap(), pattern(10));
    assert_eq!(b.list("").await.unwrap(), vec![("m/v1".to_string(), 10)]);
    assert_eq!(a.stats().requests, 1);
    assert_eq!(b.stats().requests, 3);
}

/// Datasets on the local S3 server: writes, appends, versions and the requests
/// and bytes a cold slice needs.
mod dataset_s3 {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions};
    use b2frame::Store;

    use super::{s3_endpoint, s3_options, s3_url};

    /// Rows `rows` of a three-column table (id, a random-walk float, a string).
    fn table(rows: std::ops::Range<i64>) -> RecordBatch {
        let id: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.clone()));
        let x: ArrayRef = Arc::new(Float64Array::from_iter_values(
            rows.clone().map(|i| (i as f64 * 0.001).sin() * 100.0),
        ));
        let name: ArrayRef = Arc::new(StringArray::from_iter_values(
            rows.map(|i| format!("name-{}", i % 7919)),
        ));
        RecordBatch::try_from_iter([("id", id), ("x", x), ("name", name)]).unwrap()
    }

    fn s3_store(name: &str) -> (Store, String) {
        let (endpoint, _) = s3_endpoint();
        let url = s3_url(name);
        (Store::from_url(&url, s3_options(&endpoint)).unwrap(), url)
    }

    fn write(store: &Store, batch: &RecordBatch, mode: WriteMode) -> u64 {
        let opts = WriteOptions::default().with_mode(mode);
        let mut w = DatasetWriter::new(store.clone(), batch.schema(), opts).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap()
    }

    fn slice(ds: &Dataset, col: &str, rows: std::ops::Range<u64>) -> ArrayRef {
        let batches: Vec<RecordBatch> = ds
            .scan(ScanOptions::default().with_columns([col]).with_rows(rows))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(0).as_ref()).collect();
        arrow_select::concat::concat(&parts).unwrap()
    }

    #[test]
    fn s3_dataset_appends_commit_new_versions_and_keep_old_ones() {
        let (store, url) = s3_store("ds-append");
        let v1 = write(&store, &table(0..200_000), WriteMode::Create);
        let v2 = write(&store, &table(200_000..250_000), WriteMode::Append);
        assert!(v2 > v1);
        // A second client sees both versions.
        let (endpoint, _) = s3_endpoint();
        let other = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        assert_eq!(Dataset::versions(&other).unwrap(), vec![v1, v2]);
        let ds = Dataset::open_store(other.clone()).unwrap();
        assert_eq!(ds.num_rows(), 250_000);
        let got = slice(&ds, "id", 199_990..200_010);
        let want = Int64Array::from_iter_values(199_990..200_010);
        assert_eq!(got.as_ref(), &want as &dyn Array);
        let got = slice(&ds, "name", 249_000..250_000);
        assert_eq!(got.as_ref(), table(249_000..250_000).column(2).as_ref());
        assert_eq!(
            Dataset::open_version(other, v1).unwrap().num_rows(),
            200_000
        );
        // A further commit: the next opening lists from the kept version on
        // (one LIST that finds it).
        let v3 = write(&store, &table(250_000..251_000), WriteMode::Append);
        let third = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        let ds = Dataset::open_store(third.clone()).unwrap();
        assert_eq!((ds.version(), ds.num_rows()), (v3, 251_000));
        assert_eq!(third.stats().list_requests, 1);
        // Two more appends: version 4 is a full manifest (4 fragments), version
        // 5 a delta on it. This process parsed version 4's file: the digest in
        // version 5 skips its GET.
        let v4 = write(&store, &table(251_000..251_010), WriteMode::Append);
        let v5 = write(&store, &table(251_010..251_020), WriteMode::Append);
        let fifth = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        let ds = Dataset::open_store(fifth.clone()).unwrap();
        assert_eq!((ds.version(), ds.num_rows()), (v5, 251_020));
        assert_eq!(ds.manifest().base, [v4]);
        let st = fifth.stats();
        assert_eq!((st.list_requests, st.get_requests), (1, 1), "{st:?}");
        // Deleted and written again with one version: the listing from the kept
        // version finds nothing, the whole listing finds version 1.
        let listed = b2frame::store::block_on(store.list("")).unwrap().unwrap();
        for (p, _) in listed {
            b2frame::store::block_on(store.delete(&p)).unwrap().unwrap();
        }
        write(&store, &table(0..10), WriteMode::Create);
        let fourth = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        let ds = Dataset::open_store(fourth.clone()).unwrap();
        assert_eq!((ds.version(), ds.num_rows()), (1, 10));
        assert_eq!(fourth.stats().list_requests, 2);
    }

    /// Reopening a dataset on S3 lists the manifests and skips the manifest's
    /// GET when its entity tag is the one already parsed; a dataset deleted and
    /// written again under the same URL reads its new rows.
    #[test]
    fn s3_reopen_skips_the_manifest_get_and_never_reads_a_stale_one() {
        let _kept = crate::common::kept_state();
        let (store, url) = s3_store("ds-reopen");
        write(&store, &table(0..1000), WriteMode::Create);
        let (endpoint, _) = s3_endpoint();
        let first = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        Dataset::open_store(first.clone()).unwrap();
        assert_eq!(first.stats().get_requests, 1);
        let again = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        let ds = Dataset::open_store(again.clone()).unwrap();
        let st = again.stats();
        assert_eq!((st.list_requests, st.get_requests), (1, 0), "{st:?}");
        assert_eq!(ds.num_rows(), 1000);
        // What that opening read is shared by the next one of the same manifest:
        // the small chunk it read whole costs no request again.
        assert_eq!(slice(&ds, "id", 10..12).len(), 2);
        assert_eq!(again.stats().get_requests, 1);
        let third = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        let ds = Dataset::open_store(third.clone()).unwrap();
        let got = slice(&ds, "id", 10..12);
        assert_eq!(got.as_ref(), &Int64Array::from(vec![10, 11]) as &dyn Array);
        let st = third.stats();
        assert_eq!((st.list_requests, st.get_requests), (1, 0), "{st:?}");
        // Delete everything and write other rows at the same URL.
        let listed = b2frame::store::block_on(store.list("")).unwrap().unwrap();
        for (p, _) in listed {
            b2frame::store::block_on(store.delete(&p)).unwrap().unwrap();
        }
        write(&store, &table(7000..7500), WriteMode::Create);
        let ds = Dataset::open_store(store.clone()).unwrap();
        assert_eq!(ds.num_rows(), 500);
        let got = slice(&ds, "id", 0..3);
        assert_eq!(
            got.as_ref(),
            &Int64Array::from_iter_values(7000..7003) as &dyn Array
        );
    }

    #[test]
    fn s3_cold_1000_row_slice_fetches_only_what_it_needs() {
        let (store, url) = s3_store("ds-slice");
        let n = 1_000_000i64;
        write(&store, &table(0..n), WriteMode::Create);
        let listed = b2frame::store::block_on(store.list("")).unwrap().unwrap();
        let total: u64 = listed.iter().map(|e| e.1).sum();
        // A cold reader: a new client, new counters, no cached footers.
        let (endpoint, _) = s3_endpoint();
        let cold = Store::from_url(&url, s3_options(&endpoint)).unwrap();
        let ds = Dataset::open_store(cold.clone()).unwrap();
        let opened = cold.stats();
        let got = slice(&ds, "x", 654_321..655_321);
        assert_eq!(got.as_ref(), table(654_321..655_321).column(1).as_ref());
        let st = cold.stats();
        eprintln!(
            "cold 1000-row slice of `x` from S3: open {} requests / {} bytes, slice {} requests / {} bytes ({} bytes stored)",
            opened.requests,
            opened.bytes_read,
            st.requests - opened.requests,
            st.bytes_read - opened.bytes_read,
            total
        );
        // open = list + manifest; slice = the touched chunk's prefix (header and
        // block starts) and, concurrently, the guessed bytes of the 64 KiB block
        // that holds the rows (chunk offsets come from the manifest: no frame
        // footer request; a wrong guess would cost a third request).
        assert_eq!(
            (opened.list_requests, opened.get_requests),
            (1, 1),
            "{opened:?}"
        );
        assert_eq!(st.requests - opened.requests, 2, "{st:?}");
        let sliced = st.bytes_read - opened.bytes_read;
        assert!(sliced <= 68 << 10, "{sliced} bytes, {total} bytes stored");
    }
}
