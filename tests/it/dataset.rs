//! Datasets: round trips through local directories and object stores, pushdown
//! (projection, row ranges, predicates) measured with the store's counters,
//! appends that leave existing objects untouched, versioned commits and their
//! conflicts, damaged or missing objects, and the `convert` / `info` CLI.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit, UnionFields, UnionMode};
use b2frame::arrow::EncodeOptions;
use b2frame::dataset::{Dataset, DatasetWriter, Predicate, ScanOptions, WriteMode, WriteOptions};
use b2frame::error::DatasetErrorKind;
use b2frame::store::{block_on, Bytes};
use b2frame::{Error, Store};

fn mem() -> Store {
    Store::from_object_store(
        Arc::new(object_store::memory::InMemory::new()),
        Default::default(),
    )
}

fn schema() -> SchemaRef {
    let ts = Field::new(
        "t",
        DataType::Timestamp(TimeUnit::Microsecond, Some("America/New_York".into())),
        false,
    )
    .with_metadata(HashMap::from([(
        "ARROW:extension:name".into(),
        "my.instant".into(),
    )]));
    Arc::new(
        Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Float64, true),
            Field::new("name", DataType::Utf8, true),
            ts,
        ])
        .with_metadata(HashMap::from([("origin".into(), "tests".into())])),
    )
}

fn batch(start: i64, n: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + n as i64).collect();
    let x = Float64Array::from_iter(ids.iter().map(|&i| (i % 10 != 0).then_some(i as f64 / 4.0)));
    let name = StringArray::from_iter(
        ids.iter()
            .map(|&i| (i % 7 != 0).then(|| format!("name-{}", i % 1000))),
    );
    let t = TimestampMicrosecondArray::from(
        ids.iter()
            .map(|&i| 1_600_000_000_000_000 + i * 1000)
            .collect::<Vec<_>>(),
    )
    .with_timezone("America/New_York");
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(x),
            Arc::new(name),
            Arc::new(t),
        ],
    )
    .unwrap()
}

fn small_options() -> WriteOptions {
    WriteOptions::default()
        .with_fragment_rows(25_000)
        .with_encode(EncodeOptions::default().with_chunk_rows(4096))
}

/// Writes `rows` rows in batches of 7000 and commits.
fn write(store: &Store, start: i64, rows: usize, mode: WriteMode) -> u64 {
    let mut w =
        DatasetWriter::new(store.clone(), schema(), small_options().with_mode(mode)).unwrap();
    let mut s = 0;
    while s < rows {
        let n = 7000.min(rows - s);
        w.write(&batch(start + s as i64, n)).unwrap();
        s += n;
    }
    w.finish().unwrap()
}

fn read_all(ds: &Dataset, opts: ScanOptions) -> Vec<RecordBatch> {
    ds.scan(opts)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn concat(batches: &[RecordBatch], schema: &SchemaRef) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, batches).unwrap()
}

/// The path, kind and detail of a dataset error (panics on other errors).
pub fn dataset_err(e: Error) -> (String, DatasetErrorKind, String) {
    match e {
        Error::Dataset { path, kind, detail } => (path, kind, detail),
        other => panic!("expected a dataset error, got {other:?}"),
    }
}

#[test]
fn local_directory_round_trip_with_schema_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("ds");
    let url = url.to_str().unwrap();
    let store = Store::from_url(url, []).unwrap();
    assert_eq!(write(&store, 0, 60_000, WriteMode::Create), 1);
    let ds = Dataset::open(url).unwrap();
    assert_eq!(
        *ds.schema(),
        *schema(),
        "schema, metadata and time zone round-trip"
    );
    assert_eq!(
        (ds.num_rows(), ds.version(), ds.manifest().fragments.len()),
        (60_000, 1, 3)
    );
    let all = concat(
        &read_all(&ds, ScanOptions::default().with_batch_size(10_000)),
        &ds.schema(),
    );
    assert_eq!(all, batch(0, 60_000));
    // Projection in the asked order, a row range across fragments, small batches.
    let part = read_all(
        &ds,
        ScanOptions::default()
            .with_columns(["name", "id"])
            .with_rows(24_990..25_020)
            .with_batch_size(7),
    );
    assert!(part.iter().all(|b| b.num_rows() <= 7));
    let part = concat(&part, &part[0].schema());
    let want = batch(24_990, 30);
    assert_eq!(part.column(0), want.column(2));
    assert_eq!(part.column(1), want.column(0));
    assert_eq!(
        ds.read_column("x", 100..105).unwrap().as_ref(),
        want_slice(&batch(100, 5), 1).as_ref()
    );
    // Every column buffer is a .b2frame file in the directory.
    let frames: Vec<_> = walk(&dir.path().join("ds/data"))
        .into_iter()
        .filter(|p| p.ends_with(".b2frame"))
        .collect();
    assert!(frames.len() >= 3 * 5, "{frames:?}");
    // Errors for unknown columns and rows past the end.
    assert!(ds
        .scan(ScanOptions::default().with_columns(["nope"]))
        .is_err());
    assert!(ds
        .scan(ScanOptions::default().with_rows(0..60_001))
        .is_err());
}

fn want_slice(b: &RecordBatch, col: usize) -> ArrayRef {
    b.column(col).clone()
}

fn walk(p: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap().path();
        if e.is_dir() {
            out.extend(walk(&e));
        } else {
            out.push(e.display().to_string());
        }
    }
    out
}

#[test]
fn projection_and_row_range_fetch_only_the_needed_chunks() {
    let store = mem();
    write(&store, 0, 100_000, WriteMode::Create);
    let ds = Dataset::open_store(store.clone()).unwrap();
    let total: u64 = block_on(store.list("data"))
        .unwrap()
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    let id_frame: u64 = ds
        .manifest()
        .fragments
        .iter()
        .flat_map(|f| f.columns[0].all_buffers())
        .map(|b| b.frame_len)
        .sum();
    store.reset_stats();
    let got = read_all(
        &ds,
        ScanOptions::default()
            .with_columns(["id"])
            .with_rows(51_000..52_000),
    );
    assert_eq!(got[0].column(0), batch(51_000, 1000).column(0));
    let s = store.stats();
    // Chunk offsets come from the manifest: one request for the one chunk touched.
    assert_eq!(s.get_requests, 1, "{s:?}");
    assert!(
        s.bytes_read < id_frame / 2,
        "read {} bytes, the id column is {id_frame}, all {total}",
        s.bytes_read
    );
    // That chunk is small (a counter compresses to less than 4 KiB): it was
    // kept whole, so another slice of it costs no request; one of another
    // chunk costs one.
    let offs = &ds.manifest().fragments[2].columns[0].buffers[0].chunk_offsets;
    assert!(offs[1] - offs[0] <= 4096, "rows 50,000.. in {offs:?}");
    store.reset_stats();
    read_all(
        &ds,
        ScanOptions::default()
            .with_columns(["id"])
            .with_rows(51_500..51_600),
    );
    assert_eq!(store.stats().get_requests, 0);
    read_all(
        &ds,
        ScanOptions::default()
            .with_columns(["id"])
            .with_rows(60_000..60_100),
    );
    assert_eq!(store.stats().get_requests, 1);
    // A full scan of one column never reads the others' frames.
    store.reset_stats();
    read_all(&ds, ScanOptions::default().with_columns(["id"]));
    let s = store.stats();
    assert!(
        s.bytes_read <= id_frame + 4 * 12_288,
        "{} vs {id_frame}",
        s.bytes_read
    );
}

/// `next_up_to` joins planned batches of one fragment without a gap, up to the
/// rows asked for: never across fragments, never across a pruned zone.
#[test]
fn batches_grow_on_demand_within_a_fragment() {
    let store = mem();
    // Fragments of 25,000 rows, zones of 4096.
    write(&store, 0, 60_000, WriteMode::Create);
    let ds = Dataset::open_store(store.clone()).unwrap();
    let ids = |b: &RecordBatch| -> (i64, i64) {
        let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        (c.value(0), c.value(c.len() - 1) + 1)
    };
    let opts = ScanOptions::default()
        .with_columns(["id"])
        .with_batch_size(1000);
    let mut r = ds.scan(opts.clone()).unwrap();
    let mut got = Vec::new();
    let mut want = 1000;
    while let Some(b) = r.next_up_to(want) {
        got.push(ids(&b.unwrap()));
        want *= 2;
    }
    // 1000, then 2000, 4000, 8000 (capped by the fragment's end at 25,000).
    assert_eq!(
        got[..6],
        [
            (0, 1000),
            (1000, 3000),
            (3000, 7000),
            (7000, 15_000),
            (15_000, 25_000),
            (25_000, 50_000),
        ]
    );
    assert_eq!(got[6], (50_000, 60_000));
    assert_eq!(got.len(), 7);
    // A pruned zone in between is a gap: batches stop before it.
    let p = Predicate::lt("id", 4096i64).or(Predicate::gt("id", 12_288i64));
    let mut r = ds
        .scan(opts.with_rows(0..20_000).with_predicate(p))
        .unwrap();
    let first = ids(&r.next_up_to(100_000).unwrap().unwrap());
    let second = ids(&r.next_up_to(100_000).unwrap().unwrap());
    assert_eq!((first, second), ((0, 4096), (12_288, 20_000)));
    assert!(r.next_up_to(100_000).is_none());
}

#[test]
fn predicate_pruning_skips_chunks() {
    let store = mem();
    write(&store, 0, 100_000, WriteMode::Create);
    let ds = Dataset::open_store(store.clone()).unwrap();
    // ids are sorted: only the zone(s) holding 70_000..70_100 can match.
    let p = Predicate::gt("id", 70_000i64).and(Predicate::lt("id", 70_100i64));
    store.reset_stats();
    let got = read_all(&ds, ScanOptions::default().with_predicate(p));
    let rows: usize = got.iter().map(|b| b.num_rows()).sum();
    assert!((99..=4096).contains(&rows), "{rows} rows kept");
    let ids = concat(&got, &got[0].schema());
    let ids = ids.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    assert!(ids.values().contains(&70_050));
    let pruned = store.stats().bytes_read;
    store.reset_stats();
    read_all(&ds, ScanOptions::default());
    let full = store.stats().bytes_read;
    assert!(
        pruned * 3 < full,
        "pruned scan read {pruned}, full scan {full}"
    );
    // Nothing matches: no batch at all; or-predicates keep both sides.
    assert_eq!(
        read_all(
            &ds,
            ScanOptions::default().with_predicate(Predicate::lt("id", -1i64))
        )
        .len(),
        0
    );
    let p = Predicate::lt("id", 10i64).or(Predicate::gt("id", 99_990i64));
    let n: usize = read_all(&ds, ScanOptions::default().with_predicate(p))
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert!((20..10_000).contains(&n), "{n}");
}

#[test]
fn append_adds_fragments_without_touching_existing_objects() {
    let store = mem();
    write(&store, 0, 30_000, WriteMode::Create);
    let before = block_on(store.list("")).unwrap().unwrap();
    let bytes_before: Vec<Bytes> = before
        .iter()
        .map(|(p, _)| block_on(store.get(p)).unwrap().unwrap())
        .collect();
    assert_eq!(write(&store, 30_000, 20_000, WriteMode::Append), 2);
    let after: HashMap<String, u64> = block_on(store.list(""))
        .unwrap()
        .unwrap()
        .into_iter()
        .collect();
    for ((p, n), b) in before.iter().zip(&bytes_before) {
        assert_eq!(after.get(p), Some(n), "{p} kept");
        assert_eq!(
            &block_on(store.get(p)).unwrap().unwrap(),
            b,
            "{p} unchanged"
        );
    }
    assert!(after.len() > before.len());
    let ds = Dataset::open_store(store.clone()).unwrap();
    assert_eq!((ds.version(), ds.num_rows()), (2, 50_000));
    let all = concat(&read_all(&ds, ScanOptions::default()), &ds.schema());
    assert_eq!(all, batch(0, 50_000));
    // The first version stays readable.
    let v1 = Dataset::open_version(store.clone(), 1).unwrap();
    assert_eq!(v1.num_rows(), 30_000);
    assert_eq!(Dataset::versions(&store).unwrap(), vec![1, 2]);
    // Overwrite commits a version with only the new rows.
    let mut w = DatasetWriter::new(
        store.clone(),
        schema(),
        small_options().with_mode(WriteMode::Overwrite),
    )
    .unwrap();
    w.write(&batch(7, 10)).unwrap();
    assert_eq!(w.finish().unwrap(), 3);
    assert_eq!(Dataset::open_store(store.clone()).unwrap().num_rows(), 10);
    assert_eq!(Dataset::open_version(store, 2).unwrap().num_rows(), 50_000);
}

#[test]
fn concurrent_commits_are_redone_on_the_newer_version() {
    let store = mem();
    write(&store, 0, 1000, WriteMode::Create);
    let mut a = DatasetWriter::new(
        store.clone(),
        schema(),
        small_options().with_mode(WriteMode::Append),
    )
    .unwrap();
    let mut b = DatasetWriter::new(
        store.clone(),
        schema(),
        small_options().with_mode(WriteMode::Append),
    )
    .unwrap();
    a.write(&batch(1000, 10)).unwrap();
    b.write(&batch(2000, 20)).unwrap();
    assert_eq!(a.finish().unwrap(), 2);
    // b started from version 1: its put of version 2 fails, it retries as version 3.
    assert_eq!(b.finish().unwrap(), 3);
    let ds = Dataset::open_store(store.clone()).unwrap();
    assert_eq!(ds.num_rows(), 1030);
    assert_eq!(
        Dataset::open_version(store.clone(), 2).unwrap().num_rows(),
        1010
    );

    // Two creators: the second one fails with AlreadyExists.
    let fresh = mem();
    let c1 = DatasetWriter::new(
        fresh.clone(),
        schema(),
        WriteOptions::default().with_mode(WriteMode::Create),
    )
    .unwrap();
    let c2 = DatasetWriter::new(
        fresh.clone(),
        schema(),
        WriteOptions::default().with_mode(WriteMode::Create),
    )
    .unwrap();
    assert_eq!(c1.finish().unwrap(), 1);
    let (_, kind, _) = dataset_err(c2.finish().unwrap_err());
    assert_eq!(kind, DatasetErrorKind::AlreadyExists);
    // Creating over an existing dataset is refused up front.
    let e = DatasetWriter::new(
        fresh,
        schema(),
        WriteOptions::default().with_mode(WriteMode::Create),
    )
    .unwrap_err();
    assert_eq!(dataset_err(e).1, DatasetErrorKind::AlreadyExists);
}

#[test]
fn schema_mismatch_on_append_names_the_fields() {
    let store = mem();
    write(&store, 0, 100, WriteMode::Create);
    let other = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("x", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("extra", DataType::Boolean, true),
    ]));
    let e = DatasetWriter::new(
        store.clone(),
        other,
        small_options().with_mode(WriteMode::Append),
    )
    .unwrap_err();
    let (_, kind, detail) = dataset_err(e);
    assert_eq!(kind, DatasetErrorKind::SchemaMismatch);
    assert!(
        detail.contains("'id'") && detail.contains("'extra'") && detail.contains("'t'"),
        "{detail}"
    );
    // Appending to nothing is an error too.
    let e = DatasetWriter::new(
        mem(),
        schema(),
        small_options().with_mode(WriteMode::Append),
    )
    .unwrap_err();
    assert_eq!(dataset_err(e).1, DatasetErrorKind::NotFound);
    // A batch with another schema is refused by write().
    let mut w = DatasetWriter::new(store, schema(), small_options()).unwrap();
    let bad = RecordBatch::try_from_iter([("id", Arc::new(Int32Array::from(vec![1])) as ArrayRef)])
        .unwrap();
    assert_eq!(
        dataset_err(w.write(&bad).unwrap_err()).1,
        DatasetErrorKind::SchemaMismatch
    );
}

#[test]
fn unsupported_types_are_refused_naming_the_field() {
    let s = Arc::new(Schema::new(vec![Field::new(
        "u",
        DataType::Union(UnionFields::empty(), UnionMode::Dense),
        true,
    )]));
    let e = DatasetWriter::new(mem(), s, WriteOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("'u'"),
        "{e}"
    );
}

#[test]
fn corrupt_and_truncated_manifests_are_typed_errors() {
    let store = mem();
    write(&store, 0, 100, WriteMode::Create);
    let good = block_on(store.get("_manifest/v00000000000000000001.json"))
        .unwrap()
        .unwrap();
    block_on(store.put(
        "_manifest/v00000000000000000002.json",
        good.slice(..good.len() / 2),
    ))
    .unwrap()
    .unwrap();
    let (path, kind, _) = dataset_err(Dataset::open_store(store.clone()).unwrap_err());
    assert_eq!(
        (path.as_str(), kind),
        (
            "_manifest/v00000000000000000002.json",
            DatasetErrorKind::Corrupt
        )
    );
    // Version 1 is still readable.
    assert_eq!(
        Dataset::open_version(store.clone(), 1).unwrap().num_rows(),
        100
    );
    // A manifest that lies about its version or rows.
    let mut m: serde_json::Value = serde_json::from_slice(&good).unwrap();
    m["rows"] = 5.into();
    m["version"] = 2.into();
    block_on(store.put(
        "_manifest/v00000000000000000002.json",
        serde_json::to_vec(&m).unwrap().into(),
    ))
    .unwrap()
    .unwrap();
    let (_, kind, detail) = dataset_err(Dataset::open_store(store.clone()).unwrap_err());
    assert_eq!(kind, DatasetErrorKind::Corrupt, "{detail}");
    assert_eq!(
        dataset_err(Dataset::open_version(store, 9).unwrap_err()).1,
        DatasetErrorKind::NotFound
    );
    assert_eq!(
        dataset_err(Dataset::open_store(mem()).unwrap_err()).1,
        DatasetErrorKind::NotFound
    );
}

/// Parsed manifests are kept by content: reopening shares the parse, a copy of
/// version 1's bytes under version 2's name is still refused, and a dataset
/// deleted and written again at the same path reads its new rows.
#[test]
fn reopened_manifests_are_shared_by_content_never_by_path() {
    let _kept = crate::common::kept_state();
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("ds");
    let store = Store::from_url(url.to_str().unwrap(), []).unwrap();
    write(&store, 0, 100, WriteMode::Create);
    let a = Dataset::open_store(store.clone()).unwrap();
    let b = Dataset::open_store(store.clone()).unwrap();
    assert!(std::ptr::eq(a.manifest(), b.manifest()));
    let v1 = block_on(store.get("_manifest/v00000000000000000001.json"))
        .unwrap()
        .unwrap();
    block_on(store.put("_manifest/v00000000000000000002.json", v1))
        .unwrap()
        .unwrap();
    let (path, kind, detail) = dataset_err(Dataset::open_store(store.clone()).unwrap_err());
    assert_eq!(
        (path.as_str(), kind),
        (
            "_manifest/v00000000000000000002.json",
            DatasetErrorKind::Corrupt
        ),
        "{detail}"
    );
    std::fs::remove_dir_all(&url).unwrap();
    write(&store, 5000, 100, WriteMode::Create);
    let c = Dataset::open_store(store).unwrap();
    let ids = c.read_column("id", 0..3).unwrap();
    assert_eq!(
        ids.as_any().downcast_ref::<Int64Array>().unwrap().values(),
        &[5000, 5001, 5002]
    );
}

#[test]
fn corrupt_truncated_and_missing_frames_name_the_object() {
    let store = mem();
    write(&store, 0, 1000, WriteMode::Create);
    let ds = Dataset::open_store(store.clone()).unwrap();
    let frag = &ds.manifest().fragments[0];
    let id_path = frag.columns[0].buffers[0].path.clone().unwrap();
    let name_path = frag.columns[2]
        .all_buffers()
        .last()
        .unwrap()
        .path
        .clone()
        .unwrap();
    // Truncated frame (cut inside its chunk: readers take the chunk offsets from
    // the manifest, so only a read of damaged bytes can notice).
    let bytes = block_on(store.get(&id_path)).unwrap().unwrap();
    block_on(store.put(&id_path, bytes.slice(..bytes.len() / 2)))
        .unwrap()
        .unwrap();
    let e = ds.read_column("id", 0..10).unwrap_err();
    let (path, kind, _) = dataset_err(e);
    assert_eq!((path, kind), (id_path.clone(), DatasetErrorKind::Corrupt));
    // Corrupted bytes inside a chunk (same length).
    let mut v = bytes.to_vec();
    let mid = v.len() / 2;
    for b in &mut v[mid - 8..mid + 8] {
        *b ^= 0x5a;
    }
    block_on(store.put(&id_path, v.into())).unwrap().unwrap();
    let ds = Dataset::open_store(store.clone()).unwrap();
    assert!(ds.read_column("id", 0..1000).is_err());
    // Missing object.
    block_on(store.delete(&name_path)).unwrap().unwrap();
    let (path, kind, _) = dataset_err(ds.read_column("name", 0..10).unwrap_err());
    assert_eq!((path, kind), (name_path, DatasetErrorKind::Missing));
    // Other columns still read.
    assert_eq!(ds.read_column("x", 0..3).unwrap().len(), 3);
}

#[test]
fn python_blosc2_opens_a_column_frame_with_the_arrow_width() {
    let Some(py) = crate::common::oracle() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ds");
    let store = Store::from_url(root.to_str().unwrap(), []).unwrap();
    write(&store, 0, 5000, WriteMode::Create);
    let ds = Dataset::open_store(store).unwrap();
    let f = &ds.manifest().fragments[0];
    for (col, want_ts) in [(0usize, 8u32), (3, 8)] {
        let b = f.columns[col]
            .buffers
            .iter()
            .find(|b| b.role == b2frame::arrow::BufferRole::Values)
            .unwrap();
        assert_eq!(b.typesize, want_ts);
        let path = root.join(b.path.as_ref().unwrap());
        let out = crate::common::run_python(
            &py,
            "import sys, blosc2, hashlib\n\
             s = blosc2.open(sys.argv[1])\n\
             print(s.typesize, s.nbytes, hashlib.sha256(s[:]).hexdigest())",
            &[path.to_str().unwrap()],
        );
        let out = String::from_utf8(out).unwrap();
        let vals = batch(0, 5000);
        let data = vals.column(col).to_data();
        let raw = &data.buffers()[0].as_slice()[..5000 * 8];
        let want = format!("{want_ts} {} {}", 5000 * 8, crate::common::sha256_hex(raw));
        assert_eq!(out.trim(), want);
    }
}

fn b2frame_bin() -> &'static str {
    env!("CARGO_BIN_EXE_b2frame")
}

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(b2frame_bin())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_convert_flights_parquet_to_a_dataset_and_back() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/flights.parquet");
    let dir = tempfile::tempdir().unwrap();
    let ds_dir = dir.path().join("flights");
    let ds = ds_dir.to_str().unwrap();
    let o = run(&["convert", "-q", src, ds]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // info --json describes rows, version, columns and their buffers.
    let o = run(&["info", "--json", ds]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["rows"].as_u64(), v["version"].as_u64()),
        (Some(336_776), Some(1))
    );
    let cols = v["columns"].as_array().unwrap();
    assert_eq!(cols.len(), 19);
    let dep = cols.iter().find(|c| c["name"] == "dep_time").unwrap();
    assert_eq!(dep["null_count"].as_u64(), Some(8255));
    let roles: Vec<&str> = dep["buffers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["validity", "values"]);
    // tailnum (4,043 distinct values) is dictionary-encoded: 2-byte keys, then
    // the distinct values with their own offsets.
    let tail = cols.iter().find(|c| c["name"] == "tailnum").unwrap();
    assert_eq!(tail["encoding"], "dictionary");
    let b = tail["buffers"].as_array().unwrap();
    assert!(b
        .iter()
        .any(|b| b["role"] == "values" && b["typesize"].as_u64() == Some(2)));
    let d = tail["dictionary"]["buffers"].as_array().unwrap();
    assert!(d.iter().any(
        |b| b["role"] == "offsets" && b["typesize"].as_u64().is_some_and(|t| t == 4 || t == 8)
    ));
    for b in b.iter().chain(d) {
        let p = ds_dir.join(b["path"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&p).map(|m| m.is_file()).ok(),
            Some(true),
            "{}",
            p.display()
        );
    }
    // Plain-text info on a frame file still works.
    let frame = ds_dir.join(dep["buffers"][1]["path"].as_str().unwrap());
    let o = run(&["info", "--json", frame.to_str().unwrap()]);
    assert!(o.status.success());
    let fv: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(fv["typesize"].as_u64(), Some(8));
    // Dataset -> Arrow IPC file, compared with the Parquet file read directly.
    let ipc = dir.path().join("flights.arrow");
    let o = run(&["convert", "-q", ds, ipc.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r =
        arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&ipc).unwrap(), None).unwrap();
    let s = r.schema();
    let ours = concat(&r.map(|b| b.unwrap()).collect::<Vec<_>>(), &s);
    let p = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(src).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let ps = p.schema();
    let theirs = concat(&p.map(|b| b.unwrap()).collect::<Vec<_>>(), &ps);
    assert_eq!(ours.columns(), theirs.columns());
    // --append adds the rows again; a mismatching file is refused naming fields.
    let o = run(&["convert", "-q", "--append", ipc.to_str().unwrap(), ds]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(Dataset::open(ds).unwrap().num_rows(), 2 * 336_776);
    let csv = dir.path().join("other.csv");
    std::fs::write(&csv, "a,b\n1,x\n2,y\n").unwrap();
    let o = run(&["convert", "-q", "--append", csv.to_str().unwrap(), ds]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("schema mismatch") && err.contains("'a'"),
        "{err}"
    );
    // CSV -> dataset works on its own.
    let o = run(&[
        "convert",
        "-q",
        csv.to_str().unwrap(),
        dir.path().join("csvds").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A 400,000-row table: a nullable random walk (Int64), a low-cardinality
/// nullable string, a unique string per row and low-cardinality binary values.
fn mixed(start: usize, n: usize) -> RecordBatch {
    let mut x = 0i64;
    let walk: Vec<Option<i64>> = (0..start + n)
        .map(|i| {
            x += (i as i64).wrapping_mul(2_654_435_761) % 20_001 - 10_000;
            (i % 13 != 0).then_some(x)
        })
        .skip(start)
        .collect();
    let rows = start..start + n;
    let city = StringArray::from_iter(
        rows.clone()
            .map(|i| (i % 11 != 0).then(|| ["Paris", "Lyon", "Nice", "Lille"][i * 31 % 4])),
    );
    let uniq = LargeStringArray::from_iter_values(rows.clone().map(|i| format!("row-{i}")));
    let bin = BinaryArray::from_iter_values(rows.map(|i| vec![(i % 5) as u8; i % 5 + 17]));
    RecordBatch::try_from_iter([
        ("walk", Arc::new(Int64Array::from(walk)) as ArrayRef),
        ("city", Arc::new(city) as ArrayRef),
        ("uniq", Arc::new(uniq) as ArrayRef),
        ("bin", Arc::new(bin) as ArrayRef),
    ])
    .unwrap()
}

#[test]
fn low_cardinality_strings_are_dictionary_encoded_and_read_back_as_strings() {
    let store = mem();
    let b = mixed(0, 400_000);
    let mut w = DatasetWriter::new(store.clone(), b.schema(), WriteOptions::default()).unwrap();
    for i in 0..4 {
        w.write(&b.slice(i * 100_000, 100_000)).unwrap();
    }
    w.finish().unwrap();
    let ds = Dataset::open_store(store.clone()).unwrap();
    assert_eq!(ds.manifest().format_version, 2);
    let cols = &ds.manifest().fragments[0].columns;
    use b2frame::arrow::Encoding;
    assert_eq!(cols[1].encoding, Some(Encoding::Dictionary));
    assert_eq!(cols[2].encoding, None, "one value per row: no dictionary");
    assert_eq!(cols[3].encoding, Some(Encoding::Dictionary));
    let keys = cols[1].buffer(b2frame::arrow::BufferRole::Values).unwrap();
    assert_eq!((keys.typesize, keys.nbytes), (1, 400_000));
    // Full read, a slice across a chunk boundary and a small batch size.
    let all = concat(&read_all(&ds, ScanOptions::default()), &b.schema());
    assert_eq!(all, b);
    for (rows, bs) in [
        (131_000..132_100, 1 << 17),
        (5..17, 4),
        (399_000..400_000, 333),
    ] {
        let got = read_all(
            &ds,
            ScanOptions::default()
                .with_rows(rows.clone())
                .with_batch_size(bs),
        );
        let got = concat(&got, &b.schema());
        assert_eq!(
            got,
            b.slice(rows.start as usize, (rows.end - rows.start) as usize)
        );
    }
    // Turned off: plain offsets and bytes, the same rows, format version 1.
    let plain = mem();
    let opts = WriteOptions::default().with_encode(EncodeOptions::default().with_dictionary(false));
    let mut w = DatasetWriter::new(plain.clone(), b.schema(), opts).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    let pd = Dataset::open_store(plain).unwrap();
    assert_eq!(pd.manifest().format_version, 1);
    assert!(pd.manifest().fragments[0]
        .columns
        .iter()
        .all(|c| c.encoding.is_none()));
    assert_eq!(
        concat(&read_all(&pd, ScanOptions::default()), &b.schema()),
        b
    );
    assert!(
        ds.manifest().fragments[0].columns[1]
            .all_buffers()
            .iter()
            .map(|b| b.cbytes)
            .sum::<u64>()
            < pd.manifest().fragments[0].columns[1]
                .all_buffers()
                .iter()
                .map(|b| b.cbytes)
                .sum::<u64>()
    );
}

#[test]
fn cold_1000_row_slice_reads_one_block_not_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("ds");
    let url = url.to_str().unwrap();
    let b = mixed(0, 400_000);
    let mut w = DatasetWriter::create(url, b.schema(), WriteOptions::default()).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    // A cold reader: a new store (fresh counters), nothing cached.
    let store = Store::from_url(url, []).unwrap();
    assert!(store.is_local());
    let ds = Dataset::open_store(store.clone()).unwrap();
    let opened = store.stats();
    assert_eq!((opened.list_requests, opened.get_requests), (1, 1));
    let walk = &ds.manifest().fragments[0].columns[0];
    let values = walk.buffer(b2frame::arrow::BufferRole::Values).unwrap();
    let chunk = values.chunk_offsets[2] - values.chunk_offsets[1];
    store.reset_stats();
    let got = ds.read_column("walk", 150_000..151_000).unwrap();
    assert_eq!(got.as_ref(), b.column(0).slice(150_000, 1000).as_ref());
    let s = store.stats();
    // Validity: its whole (small) chunk; values: the chunk prefix, then the block.
    assert_eq!(s.get_requests, 3, "{s:?}");
    assert!(
        s.bytes_read * 4 < chunk,
        "read {} bytes for a chunk of {chunk}",
        s.bytes_read
    );
    // The values' prefix and the small validity chunk are kept: another slice
    // of that chunk is one request, for the values' block.
    store.reset_stats();
    ds.read_column("walk", 170_000..171_000).unwrap();
    assert_eq!(store.stats().get_requests, 1);
}

#[test]
fn manifests_without_chunk_offsets_are_read_through_the_frame_footers() {
    let store = mem();
    write(&store, 0, 30_000, WriteMode::Create);
    let path = "_manifest/v00000000000000000001.json";
    let bytes = block_on(store.get(path)).unwrap().unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("chunk_offsets");
                m.remove("chunksize");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    assert!(!v.to_string().contains("chunk_offsets"));
    block_on(store.put(path, serde_json::to_vec(&v).unwrap().into()))
        .unwrap()
        .unwrap();
    let ds = Dataset::open_store(store.clone()).unwrap();
    store.reset_stats();
    let got = concat(
        &read_all(&ds, ScanOptions::default().with_rows(12_345..27_000)),
        &ds.schema(),
    );
    assert_eq!(got, batch(12_345, 27_000 - 12_345));
    assert!(store.stats().get_requests > 4, "footers were probed");
}

/// Waits until the times of `dir` lie further in the past than b2frame's margin
/// for trusting a stamp (100 ms, 2 s on whole-second file systems).
#[cfg(unix)]
fn wait_until_settled(dir: &std::path::Path) {
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let m = std::fs::metadata(dir).unwrap();
    let newest = (m.mtime(), m.mtime_nsec()).max((m.ctime(), m.ctime_nsec()));
    let at = UNIX_EPOCH + Duration::new(newest.0 as u64, newest.1 as u32);
    let margin = Duration::from_millis(if newest.1 == 0 { 2200 } else { 150 });
    if let Ok(wait) = (at + margin).duration_since(SystemTime::now()) {
        std::thread::sleep(wait);
    }
}

/// A local dataset opened again in this process, its `_manifest/` folder
/// unchanged, makes no request at all; a commit through another handle is seen
/// at once, a deleted dataset is `NotFound`, and one written again at the same
/// path reads its new rows.
#[cfg(unix)]
#[test]
fn reopening_an_unchanged_local_dataset_reads_nothing_and_sees_commits() {
    let _kept = crate::common::kept_state();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ds");
    let url = path.to_str().unwrap();
    let manifests = path.join("_manifest");
    let ids = |ds: &Dataset, rows: std::ops::Range<u64>| -> Vec<i64> {
        let a = ds.read_column("id", rows).unwrap();
        a.as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec()
    };
    write(
        &Store::from_url(url, []).unwrap(),
        0,
        100,
        WriteMode::Create,
    );
    wait_until_settled(&manifests);
    let first = Store::from_url(url, []).unwrap();
    let a = Dataset::open_store(first.clone()).unwrap();
    assert_eq!(first.stats().list_requests, 1);
    assert_eq!(ids(&a, 10..13), [10, 11, 12]);
    // Reopened: no listing, no manifest read; the same parse.
    let again = Store::from_url(url, []).unwrap();
    let b = Dataset::open_store(again.clone()).unwrap();
    assert_eq!(
        (again.stats().list_requests, again.stats().get_requests),
        (0, 0)
    );
    assert!(std::ptr::eq(a.manifest(), b.manifest()));
    assert_eq!(ids(&b, 97..100), [97, 98, 99]);
    // A commit through another handle, reopened at once (its stamp is recent).
    write(
        &Store::from_url(url, []).unwrap(),
        100,
        50,
        WriteMode::Append,
    );
    let s = Store::from_url(url, []).unwrap();
    let c = Dataset::open_store(s.clone()).unwrap();
    assert_eq!(
        (c.version(), c.num_rows(), s.stats().list_requests),
        (2, 150, 1)
    );
    assert_eq!(ids(&c, 98..102), [98, 99, 100, 101]);
    // Once settled, version 2 is kept in turn.
    wait_until_settled(&manifests);
    let _ = Dataset::open(url).unwrap();
    let s = Store::from_url(url, []).unwrap();
    assert_eq!(Dataset::open_store(s.clone()).unwrap().version(), 2);
    assert_eq!(s.stats().list_requests, 0);
    // Version 3: listed from the kept version 2 on.
    write(
        &Store::from_url(url, []).unwrap(),
        150,
        50,
        WriteMode::Append,
    );
    let e = Dataset::open(url).unwrap();
    assert_eq!((e.version(), e.num_rows()), (3, 200));
    assert_eq!(ids(&e, 148..152), [148, 149, 150, 151]);
    // A column file deleted under a kept dataset (its file still open): the next
    // opening reads it as missing, not from the old file.
    wait_until_settled(&manifests);
    let kept = Dataset::open(url).unwrap();
    assert_eq!(ids(&kept, 0..2), [0, 1]);
    let frame = kept.manifest().fragments[0].columns[0].buffers[0]
        .path
        .clone()
        .unwrap();
    std::fs::remove_file(path.join(&frame)).unwrap();
    let reopened = Dataset::open(url).unwrap();
    assert!(std::ptr::eq(kept.manifest(), reopened.manifest()));
    let (p, kind, _) = dataset_err(reopened.read_column("id", 0..2).unwrap_err());
    assert_eq!((p, kind), (frame, DatasetErrorKind::Missing));
    // One replaced by a rename (here with a truncated copy): its new bytes.
    let x = kept.manifest().fragments[0].columns[1].buffers[0]
        .path
        .clone()
        .unwrap();
    assert_eq!(kept.read_column("x", 0..2).unwrap().len(), 2);
    let bytes = std::fs::read(path.join(&x)).unwrap();
    let tmp = path.join("replacement");
    std::fs::write(&tmp, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::rename(&tmp, path.join(&x)).unwrap();
    let reopened = Dataset::open(url).unwrap();
    let (p, kind, _) = dataset_err(reopened.read_column("x", 0..2).unwrap_err());
    assert_eq!((p, kind), (x, DatasetErrorKind::Corrupt));
    // Deleted: not found, whatever was kept.
    std::fs::remove_dir_all(&path).unwrap();
    let (_, kind, _) = dataset_err(Dataset::open(url).unwrap_err());
    assert_eq!(kind, DatasetErrorKind::NotFound);
    // Written again at the same path: the new rows.
    write(
        &Store::from_url(url, []).unwrap(),
        5000,
        100,
        WriteMode::Create,
    );
    wait_until_settled(&manifests);
    let d = Dataset::open(url).unwrap();
    assert_eq!((d.version(), ids(&d, 0..2)), (1, vec![5000, 5001]));
    assert_eq!(ids(&Dataset::open(url).unwrap(), 99..100), [5099]);
    b2frame::dataset::clear_reopen_cache();
    let s = Store::from_url(url, []).unwrap();
    assert_eq!(Dataset::open_store(s.clone()).unwrap().version(), 1);
    assert_eq!(s.stats().list_requests, 1);
}
