//! Dataset maintenance: compaction of small appended fragments and cleanup of old
//! versions, on a local directory, in memory and on the local S3 server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use b2frame::arrow::EncodeOptions;
use b2frame::dataset::{
    CleanupOptions, CompactOptions, Dataset, DatasetWriter, Predicate, ScanOptions, WriteMode,
    WriteOptions,
};
use b2frame::error::DatasetErrorKind;
use b2frame::store::block_on;
use b2frame::{Error, Store};

use crate::dataset::dataset_err;
use crate::store::{s3_endpoint, s3_options, s3_url};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]))
}

fn batch(start: i64, n: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + n as i64).collect();
    let names = StringArray::from_iter(
        ids.iter()
            .map(|&i| (i % 5 != 0).then(|| format!("n{}", i % 13))),
    );
    RecordBatch::try_new(
        schema(),
        vec![Arc::new(Int64Array::from(ids)) as ArrayRef, Arc::new(names)],
    )
    .unwrap()
}

fn options(mode: WriteMode) -> WriteOptions {
    WriteOptions::default()
        .with_mode(mode)
        .with_encode(EncodeOptions::default().with_chunk_rows(1024))
}

/// Commits rows `start..start + n` as one append; returns the version.
fn append(store: &Store, start: i64, n: usize) -> u64 {
    let mut w =
        DatasetWriter::new(store.clone(), schema(), options(WriteMode::CreateOrAppend)).unwrap();
    w.write(&batch(start, n)).unwrap();
    w.finish().unwrap()
}

fn read(ds: &Dataset) -> RecordBatch {
    let b: Vec<_> = ds
        .scan(ScanOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    arrow_select::concat::concat_batches(&ds.schema(), &b).unwrap()
}

fn objects(store: &Store) -> BTreeSet<String> {
    block_on(store.list(""))
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

fn kind(e: Error) -> DatasetErrorKind {
    dataset_err(e).1
}

/// 40 appends of 100..=490 rows (10,300 rows); returns the store's objects then.
fn grow(store: &Store) -> u64 {
    let mut at = 0;
    for i in 0..40 {
        let n = 100 + 10 * i;
        append(store, at, n as usize);
        at += n;
    }
    at as u64
}

fn ids_of(m: &b2frame::dataset::Manifest) -> Vec<String> {
    m.fragments.iter().map(|f| f.id.clone()).collect()
}

#[test]
fn compaction_merges_small_fragments_keeping_rows_order_and_old_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    let rows = grow(&store);
    let before = objects(&store);
    let old = Dataset::open_store(store.clone()).unwrap();
    assert_eq!((old.version(), old.manifest().fragments.len()), (40, 40));
    // Version 40 (32 + 8 appends) is read from full manifest 32 and its own file.
    assert_eq!(old.manifest().base, [32]);

    let report = old
        .compact(CompactOptions::default().with_target_rows(4000))
        .unwrap();
    assert_eq!(report.version, Some(41));
    assert_eq!(report.fragments_before, 40);
    assert!(report.fragments_after <= 5, "{report:?}");
    let ds = Dataset::open_store(store.clone()).unwrap();
    // Fragments left alone keep their ids; every other row was rewritten.
    let kept: u64 = ds
        .manifest()
        .fragments
        .iter()
        .filter(|f| ids_of(old.manifest()).contains(&f.id))
        .map(|f| f.rows)
        .sum();
    assert!(kept < 4000, "{kept}");
    assert_eq!(report.rows_rewritten + kept, rows);
    assert_eq!(ds.version(), 41);
    assert_eq!(ds.manifest().fragments.len(), report.fragments_after);
    assert!(ds.manifest().fragments.iter().all(|f| f.rows <= 4000));
    assert_eq!(read(&ds), batch(0, rows as usize));
    // A compaction commits a full manifest, smaller than version 32's.
    assert!(ds.manifest().base.is_empty());
    let len = |v: u64| {
        std::fs::metadata(dir.path().join(format!("_manifest/v{v:020}.json")))
            .unwrap()
            .len()
    };
    assert!(len(41) * 4 < len(32), "{} vs {} bytes", len(41), len(32));
    // Statistics of the merged fragments still prune: ids 5000..5010 lie in one chunk.
    let pred = Predicate::gt("id", 4999i64).and(Predicate::lt("id", 5010i64));
    let hit: Vec<_> = ds
        .scan(ScanOptions::default().with_predicate(pred))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let hit = arrow_select::concat::concat_batches(&ds.schema(), &hit).unwrap();
    assert!(
        hit.num_rows() >= 10 && hit.num_rows() <= 1024 + 10,
        "{}",
        hit.num_rows()
    );
    // Nothing that existed was changed or removed; version 40 reads as before.
    let after = objects(&store);
    assert!(before.is_subset(&after));
    let v40 = Dataset::open_version(store.clone(), 40).unwrap();
    assert_eq!(ids_of(v40.manifest()), ids_of(old.manifest()));
    assert_eq!(read(&v40), batch(0, rows as usize));
    // A second compaction finds nothing to merge and commits nothing.
    let again = ds
        .compact(CompactOptions::default().with_target_rows(4000))
        .unwrap();
    assert_eq!(
        (again.version, again.fragments_after),
        (None, ds.manifest().fragments.len())
    );
    assert_eq!(Dataset::versions(&store).unwrap().len(), 41);
    let e = ds
        .compact(CompactOptions::default().with_target_rows(0))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
}

#[test]
fn compaction_keeps_concurrent_appends_and_refuses_a_concurrent_overwrite() {
    let store = Store::from_url("memory://compact", []).unwrap();
    for i in 0..6 {
        append(&store, i * 100, 100);
    }
    let v6 = Dataset::open_store(store.clone()).unwrap();
    // Another writer appends after version 6 was opened.
    assert_eq!(append(&store, 600, 50), 7);
    let report = v6.compact(CompactOptions::default()).unwrap();
    assert_eq!(report.version, Some(8));
    let ds = Dataset::open_store(store.clone()).unwrap();
    let m = ds.manifest();
    assert_eq!(
        m.fragments.iter().map(|f| f.rows).collect::<Vec<_>>(),
        [600, 50]
    );
    assert_eq!(read(&ds), batch(0, 650));

    // An overwrite removes the fragments a compaction would merge: a conflict.
    let other = Store::from_url("memory://compact2", []).unwrap();
    for i in 0..3 {
        append(&other, i * 10, 10);
    }
    let v3 = Dataset::open_store(other.clone()).unwrap();
    let mut w = DatasetWriter::new(other.clone(), schema(), options(WriteMode::Overwrite)).unwrap();
    w.write(&batch(1000, 5)).unwrap();
    assert_eq!(w.finish().unwrap(), 4);
    let e = v3.compact(CompactOptions::default()).unwrap_err();
    assert_eq!(kind(e), DatasetErrorKind::Conflict);
    assert_eq!(Dataset::open_store(other).unwrap().num_rows(), 5);
}

#[test]
fn cleanup_deletes_old_versions_and_unreferenced_objects_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    // Version 20 (16 + 4 appends) is read from full manifest 16 and its own file.
    for i in 0..20 {
        append(&store, i * 75, 75);
    }
    let ds = Dataset::open_store(store.clone()).unwrap();
    assert_eq!(ds.manifest().base, [16]);
    ds.compact(CompactOptions::default()).unwrap();
    std::fs::write(dir.path().join("NOTES.txt"), b"kept").unwrap();
    // An uncommitted fragment: a writer that flushed a fragment and was dropped.
    let mut w = DatasetWriter::new(
        store.clone(),
        schema(),
        options(WriteMode::Append).with_fragment_rows(10),
    )
    .unwrap();
    w.write(&batch(0, 10)).unwrap();
    drop(w);
    let all = objects(&store);
    let ds = Dataset::open_store(store.clone()).unwrap();

    assert!(matches!(
        ds.cleanup_old_versions(CleanupOptions::default().with_keep_versions(0)),
        Err(Error::InvalidArgument { .. })
    ));
    // Everything is younger than the default hour: nothing goes.
    let young = ds.cleanup_old_versions(CleanupOptions::default()).unwrap();
    assert_eq!(young.versions_removed, Vec::<u64>::new());
    assert_eq!(young.versions_kept, (1..=21).collect::<Vec<u64>>());
    assert_eq!(young.objects_removed, 0);
    assert_eq!(objects(&store), all);

    let now = CleanupOptions::default().with_min_age(Duration::ZERO);
    let dry = ds
        .cleanup_old_versions(now.clone().with_keep_versions(2).with_dry_run(true))
        .unwrap();
    // Version 20 (kept) is read from 16 and itself: 16 stays.
    let gone: Vec<u64> = (1..=15).chain(17..=19).collect();
    assert_eq!(dry.versions_removed, gone);
    assert_eq!(dry.versions_kept, [16, 20, 21]);
    assert_eq!(objects(&store), all, "a dry run deletes nothing");
    let done = ds
        .cleanup_old_versions(now.clone().with_keep_versions(2))
        .unwrap();
    assert_eq!(done, dry);
    assert_eq!(Dataset::versions(&store).unwrap(), [16, 20, 21]);
    let gone = Dataset::open_version(store.clone(), 19).unwrap_err();
    assert_eq!(kind(gone), DatasetErrorKind::NotFound);
    // Versions 16 and 20 still name the small fragments: all of them stay.
    let v16 = Dataset::open_version(store.clone(), 16).unwrap();
    assert_eq!(read(&v16), batch(0, 1200));
    let v20 = Dataset::open_version(store.clone(), 20).unwrap();
    assert_eq!(read(&v20), batch(0, 1500));
    let left = objects(&store);
    assert!(left.contains("NOTES.txt"));
    assert_eq!(
        all.len() as u64 - left.len() as u64,
        done.objects_removed,
        "{done:?}"
    );

    // Keeping only the newest: the small fragments and their folders go too,
    // but not the dropped writer's fragment: written for version 22, it may
    // belong to a write still running.
    let last = ds.cleanup_old_versions(now.clone()).unwrap();
    assert_eq!(
        (last.versions_removed, last.versions_kept),
        (vec![16, 20], vec![21])
    );
    let v21 = Dataset::open_store(store.clone()).unwrap();
    assert_eq!(read(&v21), batch(0, 1500));
    let pending: BTreeSet<String> = objects(&store)
        .into_iter()
        .filter_map(|p| {
            Some(
                p.strip_prefix("data/000022-")?
                    .split('/')
                    .next()?
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(pending.len(), 1, "{pending:?}");
    // Once version 22 exists, it is an orphan and goes.
    assert_eq!(append(&store, 1500, 5), 22);
    let after = ds.cleanup_old_versions(now).unwrap();
    assert_eq!(
        (after.versions_removed, after.versions_kept),
        (vec![21], vec![22])
    );
    let v22 = Dataset::open_store(store.clone()).unwrap();
    assert_eq!(read(&v22), batch(0, 1505));
    let live: BTreeSet<String> = v22
        .manifest()
        .fragments
        .iter()
        .map(|f| f.id.clone())
        .collect();
    let folders: BTreeSet<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        folders, live,
        "only the kept version's fragment folders remain"
    );
    assert!(dir.path().join("NOTES.txt").exists());
}

/// A write that takes longer than `min_age` keeps its uploaded fragments: a
/// cleanup in the middle does not delete them from under its commit.
#[test]
fn cleanup_during_a_long_write_keeps_its_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    append(&store, 0, 100);
    append(&store, 100, 100);
    let opts = options(WriteMode::Append).with_fragment_rows(50);
    let mut w = DatasetWriter::new(store.clone(), schema(), opts).unwrap();
    w.write(&batch(200, 120)).unwrap();
    let uploaded = objects(&store);
    let ds = Dataset::open_store(store.clone()).unwrap();
    let now = CleanupOptions::default().with_min_age(Duration::ZERO);
    let r = ds.cleanup_old_versions(now).unwrap();
    assert_eq!(r.versions_removed, [1]);
    assert!(
        uploaded
            .iter()
            .filter(|p| p.starts_with("data/000003-"))
            .count()
            > 0,
        "{uploaded:?}"
    );
    for p in uploaded.iter().filter(|p| p.starts_with("data/000003-")) {
        assert!(objects(&store).contains(p), "{p} was deleted");
    }
    assert_eq!(w.finish().unwrap(), 3);
    let v3 = Dataset::open_store(store.clone()).unwrap();
    assert_eq!(read(&v3), batch(0, 320));
}

#[test]
fn cleanup_without_a_dataset_is_not_found() {
    let store = Store::from_url("memory://nothing", []).unwrap();
    append(&store, 0, 10);
    let ds = Dataset::open_store(store.clone()).unwrap();
    block_on(store.delete("_manifest/v00000000000000000001.json"))
        .unwrap()
        .unwrap();
    let e = ds
        .cleanup_old_versions(CleanupOptions::default())
        .unwrap_err();
    assert_eq!(kind(e), DatasetErrorKind::NotFound);
}

#[test]
fn compaction_and_cleanup_on_the_s3_server() {
    let (endpoint, _) = s3_endpoint();
    let store = Store::from_url(&s3_url("maintain"), s3_options(&endpoint)).unwrap();
    for i in 0..4 {
        append(&store, i * 250, 250);
    }
    let ds = Dataset::open_store(store.clone()).unwrap();
    let report = ds.compact(CompactOptions::default()).unwrap();
    assert_eq!((report.version, report.fragments_after), (Some(5), 1));
    let ds = Dataset::open_store(store.clone()).unwrap();
    let cleaned = ds
        .cleanup_old_versions(CleanupOptions::default().with_min_age(Duration::ZERO))
        .unwrap();
    assert_eq!(cleaned.versions_removed, [1, 2, 3, 4]);
    // Four manifests and the four small fragments' two frames each (no nulls in
    // `id`: values; `name`: validity, offsets and values or dictionary buffers).
    assert!(cleaned.objects_removed >= 4 + 4 * 2, "{cleaned:?}");
    let left = objects(&store);
    assert!(left
        .iter()
        .all(|p| p.starts_with("_manifest/v00000000000000000005")
            || p.contains(&ds.manifest().fragments[0].id)));
    assert_eq!(read(&Dataset::open_store(store).unwrap()), batch(0, 1000));
}

fn run(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_b2frame"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "b2frame {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cli_compact_and_cleanup_report_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let store = Store::from_url(path, []).unwrap();
    for i in 0..3 {
        append(&store, i * 100, 100);
    }
    let c = run(&["compact", "--json", path]);
    assert_eq!(
        c,
        serde_json::json!({"version": 4, "fragments_before": 3, "fragments_after": 1,
                           "rows_rewritten": 300})
    );
    let again = run(&["compact", "--json", "--target-rows", "50", path]);
    assert_eq!(again["version"], serde_json::Value::Null);
    let dry = run(&[
        "cleanup",
        "--json",
        "--min-age-secs",
        "0",
        "--dry-run",
        path,
    ]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["versions_removed"], serde_json::json!([1, 2, 3]));
    assert_eq!(Dataset::versions(&store).unwrap(), [1, 2, 3, 4]);
    let done = run(&["cleanup", "--json", "--min-age-secs", "0", path]);
    assert_eq!(done["versions_kept"], serde_json::json!([4]));
    assert_eq!(done["objects_removed"], dry["objects_removed"]);
    assert_eq!(Dataset::versions(&store).unwrap(), [4]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_b2frame"))
        .args(["cleanup", "--keep-versions", "0", path])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keep_versions"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
