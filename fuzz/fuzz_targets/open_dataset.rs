//! Datasets whose manifest or column frames are arbitrary bytes: a small real dataset
//! (ints with nulls, strings, a dictionary-encoded string column, a list, string views
//! stored flat and as a dictionary) is written to
//! an in-memory store once, in two commits (a full manifest and a delta on it); each input damages one of its objects (the first byte picks
//! which, and whether it is also truncated) with byte XORs at chosen offsets, so the
//! mutations land in well-formed JSON, IPC schemas and frames. The dataset is then
//! opened and read whole and in a row range. Every step must return `Ok` or `Err`,
//! never panic or allocate without bound.
#![no_main]

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{ListBuilder, StringBuilder, StringViewBuilder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteOptions};
use b2frame::store::block_on;
use b2frame::Store;
use libfuzzer_sys::fuzz_target;

/// The dataset's objects (path, bytes), written once.
fn objects() -> &'static Vec<(String, Vec<u8>)> {
    static OBJECTS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let store = memory_store();
        let n = 3000;
        let ints: ArrayRef = Arc::new(Int64Array::from_iter(
            (0..n).map(|i| (i % 7 != 0).then_some(i * 31)),
        ));
        let mut s = StringBuilder::new();
        let mut d = StringBuilder::new();
        let mut l = ListBuilder::new(StringBuilder::new());
        let mut v = StringViewBuilder::new();
        let mut vd = StringViewBuilder::new();
        for i in 0..n {
            v.append_option((i % 9 != 0).then(|| format!("view value number {i}")));
            vd.append_value(["short", "a value past twelve bytes"][i as usize % 2]);
            s.append_value(format!("row {i}"));
            d.append_value(["a", "bb", "ccc"][i as usize % 3]);
            for j in 0..i % 3 {
                l.values().append_value(format!("{j}"));
            }
            l.append(i % 5 != 0);
        }
        let cols: Vec<ArrayRef> = vec![
            ints,
            Arc::new(s.finish()),
            Arc::new(d.finish()),
            Arc::new(l.finish()),
            Arc::new(v.finish()),
            Arc::new(vd.finish()),
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("s", DataType::Utf8, false),
            Field::new("d", DataType::Utf8, false),
            Field::new("l", cols[3].data_type().clone(), true),
            Field::new("v", DataType::Utf8View, true),
            Field::new("vd", DataType::Utf8View, false),
        ]));
        let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
        // Two commits: a full manifest and a delta manifest on top of it.
        for rows in [0..2000, 2000..n as usize] {
            let mut w =
                DatasetWriter::new(store.clone(), schema.clone(), WriteOptions::default()).unwrap();
            w.write(&batch.slice(rows.start, rows.len())).unwrap();
            w.finish().unwrap();
        }
        let mut out = Vec::new();
        for (path, _) in block_on(store.list("")).unwrap().unwrap() {
            let bytes = block_on(store.get(&path)).unwrap().unwrap();
            out.push((path, bytes.to_vec()));
        }
        out.sort();
        out
    })
}

fn memory_store() -> Store {
    Store::from_object_store(
        Arc::new(object_store::memory::InMemory::new()),
        Default::default(),
    )
}

fn read_all(store: Store) {
    let Ok(ds) = Dataset::open_store(store) else {
        return;
    };
    if ds.num_rows() > 1 << 20 {
        return;
    }
    let n = ds.num_rows();
    for opts in [
        ScanOptions::default(),
        ScanOptions::default()
            .with_rows(n / 3..n / 2)
            .with_batch_size(100),
    ] {
        if let Ok(reader) = ds.scan(opts) {
            for batch in reader {
                if batch.is_err() {
                    break;
                }
            }
        }
    }
}

/// `original` with the XOR edits `(offset_hi, offset_lo, xor)` of `edits`, cut at the
/// first edit's offset when `truncate`.
fn damage(original: &[u8], edits: &[u8], truncate: bool) -> Vec<u8> {
    let mut out = original.to_vec();
    if out.is_empty() {
        return edits.to_vec();
    }
    for e in edits.chunks_exact(3) {
        let at = usize::from(u16::from_be_bytes([e[0], e[1]])) % out.len();
        out[at] ^= e[2];
    }
    if truncate {
        if let Some(e) = edits.get(..2) {
            out.truncate(usize::from(u16::from_be_bytes([e[0], e[1]])) % (out.len() + 1));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, edits)) = data.split_first() else {
        return;
    };
    let objects = objects();
    let target = (pick & 0x7f) as usize % objects.len();
    let store = memory_store();
    for (i, (path, original)) in objects.iter().enumerate() {
        let body = if i == target {
            damage(original, edits, pick & 0x80 != 0)
        } else {
            original.clone()
        };
        block_on(store.put(path, bytes::Bytes::from(body)))
            .unwrap()
            .unwrap();
    }
    read_all(store);
});
