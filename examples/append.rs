//! Appends to a dataset: every commit is a new manifest version, existing data
//! objects are never rewritten, and earlier versions stay readable.
//!
//! `cargo run --release --example append`

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use b2frame::dataset::{Dataset, DatasetWriter, WriteMode, WriteOptions};

fn batch(start: i64, n: i64) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + n));
    let tag: ArrayRef = Arc::new(StringArray::from_iter_values(
        (start..start + n).map(|i| format!("row {i}")),
    ));
    RecordBatch::try_from_iter([("id", id), ("tag", tag)])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("b2frame-append-{}", std::process::id()));
    let url = dir.to_str().ok_or("non-UTF-8 temp dir")?;
    let first = batch(0, 1000)?;
    let mut w = DatasetWriter::create(
        url,
        first.schema(),
        WriteOptions::default().with_mode(WriteMode::Create),
    )?;
    w.write(&first)?;
    println!("created version {}", w.finish()?);

    for round in 1..=3 {
        let b = batch(round * 1000, 500)?;
        let mut w = DatasetWriter::create(
            url,
            b.schema(),
            WriteOptions::default().with_mode(WriteMode::Append),
        )?;
        w.write(&b)?;
        let v = w.finish()?;
        println!(
            "appended 500 rows: version {v}, {} rows",
            Dataset::open(url)?.num_rows()
        );
    }
    let store = b2frame::Store::from_url(url, [])?;
    for v in Dataset::versions(&store)? {
        println!(
            "version {v}: {} rows",
            Dataset::open_version(store.clone(), v)?.num_rows()
        );
    }
    assert_eq!(Dataset::open(url)?.num_rows(), 2500);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
