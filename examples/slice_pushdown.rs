//! Row-range and projection pushdown: a 1000-row slice of one column of a
//! dataset fetches only the frames and chunks that hold it (counted by the
//! store), and a predicate skips chunks by their min/max statistics.
//!
//! `cargo run --release --example slice_pushdown`

use std::fs::File;
use std::sync::Arc;

use b2frame::dataset::{Dataset, DatasetWriter, Predicate, ScanOptions, WriteOptions};
use b2frame::Store;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/flights.parquet");
    let store = Store::from_object_store(
        Arc::new(object_store::memory::InMemory::new()),
        Default::default(),
    );
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(src)?)?.build()?;
    let mut writer = DatasetWriter::new(
        store.clone(),
        arrow_array::RecordBatchReader::schema(&reader),
        WriteOptions::default(),
    )?;
    writer.write_reader(reader)?;
    writer.finish()?;

    let ds = Dataset::open_store(store.clone())?;
    let total: u64 = ds.info_json()["cbytes"].as_u64().unwrap_or(0);
    store.reset_stats();
    let t = std::time::Instant::now();
    let batches: Vec<_> = ds
        .scan(
            ScanOptions::default()
                .with_columns(["dep_delay"])
                .with_rows(200_000..201_000),
        )?
        .collect::<Result<_, _>>()?;
    let s = store.stats();
    println!(
        "cold 1000-row slice of dep_delay: {} rows in {:?}, {} GET requests, {} bytes read of {total}",
        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        t.elapsed(),
        s.get_requests,
        s.bytes_read
    );
    assert!(s.bytes_read < total / 4);

    // Each month's rows are contiguous: `month == 12` reads only the chunks holding December.
    store.reset_stats();
    let p = Predicate::eq("month", 12i64);
    let kept: usize = ds
        .scan(
            ScanOptions::default()
                .with_columns(["month", "dest"])
                .with_predicate(p),
        )?
        .map(|b| b.map(|b| b.num_rows()))
        .sum::<Result<_, _>>()?;
    println!(
        "month == 12: {kept} of {} rows kept after pruning, {} bytes read",
        ds.num_rows(),
        store.stats().bytes_read
    );
    assert!(kept < ds.num_rows() as usize / 2);
    Ok(())
}
