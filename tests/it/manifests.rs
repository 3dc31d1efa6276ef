//! Delta manifests: appends commit only their own fragments on top of a chain
//! that ends at a full manifest (one every `MAX_DELTAS + 1` commits), readers
//! assemble the chain, and a broken chain is a typed error naming the file.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use b2frame::dataset::manifest::{manifest_path, MAX_DELTAS};
use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions};
use b2frame::error::DatasetErrorKind;
use b2frame::{Error, Store};

fn batch(start: i64, n: usize) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + n as i64));
    RecordBatch::try_new(schema, vec![ids]).unwrap()
}

fn append(store: &Store, start: i64, n: usize) -> u64 {
    let b = batch(start, n);
    let opts = WriteOptions::default().with_mode(WriteMode::CreateOrAppend);
    let mut w = DatasetWriter::new(store.clone(), b.schema(), opts).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap()
}

fn ids(ds: &Dataset) -> Vec<i64> {
    ds.scan(ScanOptions::default())
        .unwrap()
        .flat_map(|b| {
            let b = b.unwrap();
            let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            c.values().to_vec()
        })
        .collect()
}

fn dataset_error(e: Error) -> (String, DatasetErrorKind, String) {
    match e {
        Error::Dataset { path, kind, detail } => (path, kind, detail),
        other => panic!("expected a dataset error, got {other:?}"),
    }
}

#[test]
fn appends_commit_deltas_and_a_full_manifest_every_sixteenth_version() {
    assert_eq!(MAX_DELTAS, 15);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    let len = |v: u64| {
        std::fs::metadata(dir.path().join(manifest_path(v)))
            .unwrap()
            .len()
    };
    for v in 1..=35u64 {
        assert_eq!(append(&store, (v as i64 - 1) * 10, 10), v);
    }
    // Full manifests at 1, 17 and 33; every other version is a delta on the last one.
    for v in 1..=35u64 {
        let ds = Dataset::open_version(store.clone(), v).unwrap();
        let full = (v - 1) / 16 * 16 + 1;
        assert_eq!(ds.manifest().base, (full..v).collect::<Vec<_>>(), "v{v}");
        assert_eq!(ds.manifest().fragments.len() as u64, v, "v{v}");
        assert_eq!(ds.manifest().format_version, if v == full { 1 } else { 4 });
        assert_eq!(ids(&ds), (0..v as i64 * 10).collect::<Vec<_>>(), "v{v}");
    }
    // A delta's file holds its own fragment: its size does not grow with the table.
    assert!(len(16) < len(2) + 200, "{} vs {}", len(16), len(2));
    assert!(len(33) > len(17) * 3 / 2, "{} vs {}", len(33), len(17));
    assert!(len(34) < len(2) + 200);
    let newest = Dataset::open_store(store).unwrap();
    assert_eq!((newest.version(), newest.num_rows()), (35, 350));
}

#[test]
fn a_missing_or_damaged_base_manifest_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let store = Store::from_url(path, []).unwrap();
    for v in 0..4 {
        append(&store, v * 10, 10);
    }
    // Version 4 is read from 1, 2, 3 and itself; damage 2 (rows that do not add up).
    let p2 = dir.path().join(manifest_path(2));
    let text = std::fs::read_to_string(&p2).unwrap();
    std::fs::write(&p2, text.replace("\"rows\":20", "\"rows\":21")).unwrap();
    let (at, kind, detail) = dataset_error(Dataset::open_version(store.clone(), 4).unwrap_err());
    assert_eq!(
        (at.as_str(), kind),
        (manifest_path(2).as_str(), DatasetErrorKind::Corrupt)
    );
    assert!(detail.contains("21"), "{detail}");

    let other = tempfile::tempdir().unwrap();
    let store = Store::from_url(other.path().to_str().unwrap(), []).unwrap();
    for v in 0..3 {
        append(&store, v * 10, 10);
    }
    std::fs::remove_file(other.path().join(manifest_path(1))).unwrap();
    let (at, kind, _) = dataset_error(Dataset::open_store(store.clone()).unwrap_err());
    assert_eq!(
        (at.as_str(), kind),
        (manifest_path(1).as_str(), DatasetErrorKind::Missing)
    );

    // A base that is not below the version, or a chain that is not ascending.
    let p3 = other.path().join(manifest_path(3));
    let text = std::fs::read_to_string(&p3).unwrap();
    assert!(text.contains("\"base\":[1,2]"), "{text}");
    for bad in ["\"base\":[2,1]", "\"base\":[1,3]"] {
        std::fs::write(&p3, text.replace("\"base\":[1,2]", bad)).unwrap();
        let (at, kind, _) = dataset_error(Dataset::open_version(store.clone(), 3).unwrap_err());
        assert_eq!(
            (at.as_str(), kind),
            (manifest_path(3).as_str(), DatasetErrorKind::Corrupt)
        );
    }
}
