//! `Dataset::open_store_with(store, max_staleness)`: a version found to be the
//! newest less than `max_staleness` ago is reopened without any request; zero
//! staleness (`open_store`) always checks.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use b2frame::dataset::{Dataset, DatasetWriter, WriteMode, WriteOptions};
use b2frame::Store;

use crate::store::{s3_endpoint, s3_options, s3_url};

fn append(store: &Store, rows: i64) {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows));
    let b = RecordBatch::try_new(schema.clone(), vec![ids]).unwrap();
    let opts = WriteOptions::default().with_mode(WriteMode::CreateOrAppend);
    let mut w = DatasetWriter::new(store.clone(), schema, opts).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
}

/// Opens `store` with `staleness`; returns the version and the requests made.
fn open(store: &Store, staleness: Duration) -> (u64, u64) {
    store.reset_stats();
    let ds = Dataset::open_store_with(store.clone(), staleness).unwrap();
    (ds.version(), store.stats().requests)
}

fn check(store: &Store) {
    let _kept = crate::common::kept_state();
    const HOUR: Duration = Duration::from_secs(3600);
    append(store, 10);
    let (v, _) = open(store, Duration::ZERO);
    assert_eq!(v, 1);
    // Known newest a moment ago: no request at all.
    assert_eq!(open(store, HOUR), (1, 0));
    // A commit through another handle: seen late with a staleness bound, at once
    // without one; then the bound trusts the newer version.
    append(store, 5);
    assert_eq!(open(store, HOUR), (1, 0));
    let (v, requests) = open(store, Duration::ZERO);
    assert_eq!(v, 2);
    assert!(requests >= 1);
    assert_eq!(open(store, HOUR), (2, 0));
    // A bound shorter than the time since the last check checks again.
    std::thread::sleep(Duration::from_millis(20));
    append(store, 5);
    let (v, requests) = open(store, Duration::from_millis(10));
    assert_eq!(v, 3);
    assert!(requests >= 1);
}

#[test]
fn a_staleness_bound_skips_the_check_on_a_local_dataset() {
    let dir = tempfile::tempdir().unwrap();
    check(&Store::from_url(dir.path().to_str().unwrap(), []).unwrap());
}

#[test]
fn a_staleness_bound_skips_the_listing_on_s3() {
    let (endpoint, _) = s3_endpoint();
    check(&Store::from_url(&s3_url("staleness"), s3_options(&endpoint)).unwrap());
}

#[test]
fn memory_stores_are_always_checked() {
    let store = Store::from_url("memory://staleness", []).unwrap();
    append(&store, 10);
    open(&store, Duration::ZERO);
    let (v, requests) = open(&store, Duration::from_secs(3600));
    assert_eq!(v, 1);
    assert!(requests >= 1);
}
