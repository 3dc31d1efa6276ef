//! Delta manifests: an append commits a file with its own fragments (merged with
//! the smaller files on top of the stack it builds on), readers assemble the
//! stack, and a broken stack is a typed error naming the file.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use b2frame::dataset::manifest::manifest_path;
use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions};
use b2frame::error::DatasetErrorKind;
use b2frame::Store;

use crate::dataset::dataset_err;

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

#[test]
fn appends_stack_delta_manifests_like_a_binary_counter() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    let len = |v: u64| {
        std::fs::metadata(dir.path().join(manifest_path(v)))
            .unwrap()
            .len()
    };
    for v in 1..=40u64 {
        assert_eq!(append(&store, (v as i64 - 1) * 10, 10), v);
    }
    // One fragment per append: version v's files hold the powers of two of v's
    // binary digits, largest first; its own file the lowest (v & -v fragments).
    for v in 1..=40u64 {
        let ds = Dataset::open_version(store.clone(), v).unwrap();
        let m = ds.manifest();
        let digits: Vec<u64> = (0..64)
            .rev()
            .map(|b| 1 << b)
            .filter(|d| v & d != 0)
            .collect();
        assert_eq!(m.base_fragments, digits[..digits.len() - 1], "v{v}");
        assert_eq!(m.base.len(), digits.len() - 1, "v{v}");
        assert_eq!(m.fragments.len() as u64, v, "v{v}");
        let full = v.is_power_of_two();
        assert_eq!(m.base.is_empty(), full, "v{v}");
        assert_eq!(m.format_version, if full { 1 } else { 4 }, "v{v}");
        assert_eq!(ids(&ds), (0..v as i64 * 10).collect::<Vec<_>>(), "v{v}");
    }
    // A file's size follows its own fragments, not the table's.
    assert!(len(39) < len(3) + 100, "{} vs {}", len(39), len(3));
    assert!(len(38) < len(6) + 100, "{} vs {}", len(38), len(6));
    assert!(len(32) > len(16) * 3 / 2, "{} vs {}", len(32), len(16));
    let newest = Dataset::open_store(store.clone()).unwrap();
    assert_eq!((newest.version(), newest.num_rows()), (40, 400));
    assert_eq!(newest.manifest().base, [32]);
    // Versions read from the same files share their fragments in memory: 39 is
    // read from 32, 36, 38 and 39; 40 from 32 and 40.
    let older = Dataset::open_version(store, 39).unwrap();
    let (a, b) = (&older.manifest().fragments, &newest.manifest().fragments);
    assert!(Arc::ptr_eq(&a[0], &b[0]) && Arc::ptr_eq(&a[31], &b[31]));
    assert!(!Arc::ptr_eq(&a[32], &b[32]));
    assert_eq!(a[32], b[32]);
}

#[test]
fn a_missing_or_damaged_base_manifest_is_a_typed_error_naming_it() {
    let _kept = crate::common::kept_state();
    // Seven appends: version 7 is read from 4 (4 fragments), 6 (2) and itself (1).
    let seven = || {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
        for v in 0..7 {
            append(&store, v * 10, 10);
        }
        (dir, store)
    };
    let (dir, store) = seven();
    let p7 = dir.path().join(manifest_path(7));
    let text7 = std::fs::read_to_string(&p7).unwrap();
    assert!(
        text7.contains("\"base\":[4,6],\"base_fragments\":[4,2]"),
        "{text7}"
    );
    let expect = |v: u64, want: u64, kind: DatasetErrorKind| {
        // Read the files again, not the bytes this process wrote and kept.
        b2frame::dataset::clear_reopen_cache();
        let (at, k, detail) = dataset_err(Dataset::open_version(store.clone(), v).unwrap_err());
        assert_eq!(
            (at.as_str(), k),
            (manifest_path(want).as_str(), kind),
            "{detail}"
        );
        detail
    };
    // Damage 6: rows that do not add up.
    let p6 = dir.path().join(manifest_path(6));
    let text6 = std::fs::read_to_string(&p6).unwrap();
    std::fs::write(&p6, text6.replace("\"rows\":60", "\"rows\":61")).unwrap();
    assert!(expect(7, 6, DatasetErrorKind::Corrupt).contains("61"));
    std::fs::write(&p6, &text6).unwrap();
    // A base that is not ascending below the version, counts that disagree.
    for (from, to, names) in [
        ("\"base\":[4,6]", "\"base\":[6,4]", 7),
        ("\"base\":[4,6]", "\"base\":[4,7]", 7),
        ("\"base_fragments\":[4,2]", "\"base_fragments\":[4]", 7),
        ("\"base_fragments\":[4,2]", "\"base_fragments\":[4,1]", 6),
        ("\"base\":[4,6]", "\"base\":[5,6]", 5),
    ] {
        std::fs::write(&p7, text7.replace(from, to)).unwrap();
        expect(7, names, DatasetErrorKind::Corrupt);
    }

    // A base file that reads well but is not the one committed: 6 with its
    // fields reordered.
    std::fs::write(&p7, &text7).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text6).unwrap();
    std::fs::write(&p6, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    assert!(expect(7, 6, DatasetErrorKind::Corrupt).contains("digest differs"));
    // An append merges 4, 6 and 7 into a full manifest 8: it refuses 6 too.
    let b = batch(70, 10);
    let opts = WriteOptions::default().with_mode(WriteMode::Append);
    let mut w = DatasetWriter::new(store.clone(), b.schema(), opts).unwrap();
    w.write(&b).unwrap();
    let (at, k, detail) = dataset_err(w.finish().unwrap_err());
    assert_eq!(
        (at, k),
        (manifest_path(6), DatasetErrorKind::Corrupt),
        "{detail}"
    );
    std::fs::write(&p6, &text6).unwrap();

    // Fragment counts without a base, in the full manifest 7 builds on.
    std::fs::write(&p7, &text7).unwrap();
    let p4 = dir.path().join(manifest_path(4));
    let text4 = std::fs::read_to_string(&p4).unwrap();
    assert!(text4.contains("\"version\":4,"), "{text4}");
    let stray = text4.replace("\"version\":4,", "\"version\":4,\"base_fragments\":[1],");
    std::fs::write(&p4, stray).unwrap();
    expect(7, 4, DatasetErrorKind::Corrupt);

    // A base file deleted by hand: `Missing`, naming it.
    let (dir, store) = seven();
    std::fs::remove_file(dir.path().join(manifest_path(4))).unwrap();
    b2frame::dataset::clear_reopen_cache();
    let (at, kind, _) = dataset_err(Dataset::open_store(store).unwrap_err());
    assert_eq!(
        (at.as_str(), kind),
        (manifest_path(4).as_str(), DatasetErrorKind::Missing)
    );
}

/// Files written before `base_digests` existed: appends on top of them leave
/// the digests out until the next full manifest, and every version reads.
#[test]
fn appends_on_a_delta_without_digests_leave_them_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(dir.path().to_str().unwrap(), []).unwrap();
    for v in 0..5 {
        append(&store, v * 10, 10);
    }
    let p5 = dir.path().join(manifest_path(5));
    let text5 = std::fs::read_to_string(&p5).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text5).unwrap();
    assert_eq!(v["base"], serde_json::json!([4]));
    assert_eq!(
        v["base_digests"].as_array().map(Vec::len),
        Some(1),
        "{text5}"
    );
    let mut old = v.clone();
    old.as_object_mut().unwrap().remove("base_digests");
    std::fs::write(&p5, serde_json::to_string(&old).unwrap()).unwrap();
    let digests = |v: u64| -> Option<usize> {
        let text = std::fs::read_to_string(dir.path().join(manifest_path(v))).unwrap();
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        j["base_digests"].as_array().map(Vec::len)
    };
    for v in 6..=9u64 {
        assert_eq!(append(&store, (v as i64 - 1) * 10, 10), v);
        let ds = Dataset::open_version(store.clone(), v).unwrap();
        assert_eq!(ids(&ds), (0..v as i64 * 10).collect::<Vec<_>>(), "v{v}");
    }
    // 6 and 7 build on 5's stack (no digest for it), 8 is full, 9 names 8's.
    assert_eq!((digests(6), digests(7)), (None, None));
    assert_eq!((digests(8), digests(9)), (None, Some(1)));
}
