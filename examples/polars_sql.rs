//! The Polars path on bundled data (NYC flights 2013): store the flights as a b2frame
//! dataset, scan it into a LazyFrame with pushdown, ask Polars SQL for the mean
//! departure delay per carrier, and sink a LazyFrame into a new dataset.
//!
//! Run: `cargo run --release --features polars --example polars_sql`

use std::path::PathBuf;
use std::time::Instant;

use arrow_array::RecordBatchReader;
use b2frame::dataset::{DatasetWriter, WriteMode, WriteOptions};
use b2frame::polars::{scan_b2, sink_b2, ScanArgsB2, SinkOptionsB2};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use polars::prelude::*;
use polars::sql::SQLContext;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/flights.parquet");
    let work = std::env::temp_dir().join(format!("b2frame-polars-sql-{}", std::process::id()));
    let flights = work.join("flights-b2");
    let flights_url = flights.to_str().ok_or("non-UTF-8 temp dir")?;

    // Store the flights as a dataset (record batches straight from Parquet).
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&data)?)?.build()?;
    let mut w = DatasetWriter::create(
        flights_url,
        reader.schema(),
        WriteOptions::default().with_mode(WriteMode::Create),
    )?;
    w.write_reader(reader)?;
    w.finish()?;

    // Scan: only `carrier` and `dep_delay` are opened; SQL runs on Polars.
    let t = Instant::now();
    let ctx = SQLContext::new();
    ctx.register("flights", scan_b2(flights_url, ScanArgsB2::default())?);
    let mut ctx = ctx;
    let per_carrier = ctx
        .execute(
            "SELECT carrier, AVG(dep_delay) AS mean_dep_delay, COUNT(*) AS flights \
             FROM flights GROUP BY carrier ORDER BY mean_dep_delay DESC",
        )?
        .collect()?;
    println!(
        "mean departure delay per carrier ({:.0} ms):\n{per_carrier}",
        t.elapsed().as_secs_f64() * 1e3
    );

    // A filter pushed into the scan: chunks whose month statistics exclude July are skipped.
    let july = scan_b2(flights_url, ScanArgsB2::default())?
        .filter(col("month").eq(lit(7i64)).and(col("origin").eq(lit("JFK"))))
        .select([
            len().alias("flights"),
            col("arr_delay").mean().alias("mean_arr_delay"),
        ])
        .collect()?;
    println!("JFK departures in July:\n{july}");

    // Sink: a LazyFrame streamed into a new dataset, then scanned back.
    let out = work.join("per-carrier-b2");
    let out_url = out.to_str().ok_or("non-UTF-8 temp dir")?;
    let rows = sink_b2(
        per_carrier.clone().lazy(),
        out_url,
        SinkOptionsB2::default(),
    )?;
    let back = scan_b2(out_url, ScanArgsB2::default())?.collect()?;
    assert!(back.equals_missing(&per_carrier));
    println!("sank {rows} rows into {out_url} and read them back unchanged");

    std::fs::remove_dir_all(&work)?;
    Ok(())
}
