//! The main job, on bundled data (NYC flights 2013, `datasets/flights.parquet`,
//! 336,776 rows × 19 columns): convert it into a b2frame dataset in a local
//! directory, compare its size with Parquet-zstd and Arrow IPC, time a full scan
//! and a random 1000-row slice, answer a question with a pushed-down predicate,
//! append rows, name the column file python-blosc2 opens, and save/load a tensor.
//!
//! Run: `cargo run --release --example quickstart`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch, RecordBatchReader};
use b2frame::dataset::{Dataset, DatasetWriter, Predicate, ScanOptions, WriteMode, WriteOptions};
use b2frame::tensor::{load_tensor, save_tensor};
use b2frame::{CParams, DType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/flights.parquet");
    let work = std::env::temp_dir().join(format!("b2frame-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = run(&data, &work);
    std::fs::remove_dir_all(&work)?;
    result
}

fn run(data: &Path, work: &Path) -> Res<()> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(data)?)?
        .with_batch_size(65_536)
        .build()?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    println!(
        "flights: {rows} rows × {} columns ({})",
        schema.fields().len(),
        data.display()
    );

    // 1. Convert into a dataset (a local directory; any object_store URL works too).
    let dir = work.join("flights-b2");
    let url = dir.to_str().ok_or("non-UTF-8 temp dir")?;
    let t = Instant::now();
    let mut w = DatasetWriter::create(
        url,
        schema.clone(),
        WriteOptions::default().with_mode(WriteMode::Create),
    )?;
    for b in &batches {
        w.write(b)?;
    }
    let version = w.finish()?;
    let write_ms = ms(t);
    let b2_size = dir_size(&dir)?;
    let pq_size = write_parquet_zstd(&work.join("flights.zstd.parquet"), &batches)?;
    let ipc_size = write_ipc(&work.join("flights.lz4.arrow"), &batches)?;
    println!("\nsize on disk        b2frame {:>6.2} MB   Parquet-zstd {:>6.2} MB   Arrow IPC lz4 {:>6.2} MB",
        mb(b2_size), mb(pq_size), mb(ipc_size));
    println!("written in {write_ms:.0} ms as version {version}");

    // 2. Full scan and a random 1000-row slice of one column.
    let ds = Dataset::open(url)?;
    let t = Instant::now();
    let scanned: usize = ds
        .scan(ScanOptions::default())?
        .map(|b| b.map(|b| b.num_rows()))
        .sum::<Result<_, _>>()?;
    let scan_ms = ms(t);
    assert_eq!(scanned, rows);
    let mut slice_us = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..51 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let a = seed % (rows as u64 - 1000);
        let t = Instant::now();
        let col = Dataset::open(url)?.read_column("dep_delay", a..a + 1000)?;
        slice_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(col.len(), 1000);
    }
    slice_us.sort_by(f64::total_cmp);
    println!("full scan           {scan_ms:.1} ms ({scanned} rows, all columns)");
    println!(
        "1000-row slice      {:.0} µs median (open + read of dep_delay at a random row)",
        slice_us[25]
    );

    // 3. A question, with the predicate pushed down to the chunk statistics.
    let pred = Predicate::eq("month", 1i64).and(Predicate::eq("carrier", "UA"));
    let t = Instant::now();
    let (mut sum, mut n, mut read_rows) = (0i64, 0i64, 0usize);
    for b in ds.scan(
        ScanOptions::default()
            .with_columns(["month", "carrier", "dep_delay"])
            .with_predicate(pred),
    )? {
        let b = b?;
        read_rows += b.num_rows();
        let (month, carrier) = (
            b.column(0).as_primitive::<Int64Type>(),
            b.column(1).as_string::<i64>(),
        );
        let delay = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if month.value(i) == 1
                && carrier.is_valid(i)
                && carrier.value(i) == "UA"
                && delay.is_valid(i)
            {
                sum += delay.value(i);
                n += 1;
            }
        }
    }
    println!(
        "\nmean departure delay of United (UA) in January 2013: {:.2} min over {n} flights",
        sum as f64 / n as f64
    );
    println!(
        "  {:.1} ms; the month statistics let the scan read only {read_rows} of {rows} rows",
        ms(t)
    );

    // 4. Append: a new version; existing data objects are not rewritten.
    let extra = batches[0].slice(0, 10_000);
    let mut w = DatasetWriter::create(
        url,
        schema.clone(),
        WriteOptions::default().with_mode(WriteMode::Append),
    )?;
    w.write(&extra)?;
    let v2 = w.finish()?;
    println!(
        "\nappended {} rows: version {v2}, {} → {} rows",
        extra.num_rows(),
        rows,
        Dataset::open(url)?.num_rows()
    );

    // 5. Every column buffer is a frame python-blosc2 opens.
    let idx = schema.index_of("dep_delay")?;
    let values = ds.manifest().fragments[0].columns[idx]
        .buffers
        .iter()
        .find(|b| b.role == b2frame::arrow::BufferRole::Values)
        .and_then(|b| b.path.clone())
        .ok_or("dep_delay has no values frame")?;
    println!("\ndep_delay values, readable by python-blosc2:");
    println!("  python -c \"import blosc2, numpy as np; s = blosc2.open('{}'); print(np.frombuffer(s[:5], '<i8'))\"",
        dir.join(&values).display());
    println!(
        "  (the example deletes {} when it ends; keep a copy to try it)",
        work.display()
    );

    // 6. Tensors: blosc2.save_tensor / load_tensor compatible.
    let delays = ds.read_column("arr_delay", 0..100_000)?;
    let delays = delays.as_primitive::<Int64Type>();
    let matrix: Vec<u8> = delays
        .iter()
        .flat_map(|v| (v.unwrap_or(0) as f32).to_le_bytes())
        .collect();
    let path = work.join("arr_delay.b2frame");
    let t = Instant::now();
    let bytes = save_tensor(
        &path,
        &matrix,
        &[1000, 100],
        &DType::Float32,
        &CParams::default(),
    )?;
    let back = load_tensor(&path)?;
    assert_eq!(
        (back.shape.as_slice(), &back.data),
        (&[1000usize, 100][..], &matrix)
    );
    println!(
        "\ntensor 1000×100 f32 saved in {bytes} bytes ({:.1}× smaller) and loaded back in {:.1} ms",
        matrix.len() as f64 / bytes as f64,
        ms(t)
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let m = e.metadata()?;
        total += if m.is_dir() {
            dir_size(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(total)
}

fn write_parquet_zstd(path: &Path, batches: &[RecordBatch]) -> Res<u64> {
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path)?,
        batches[0].schema(),
        Some(props),
    )?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(std::fs::metadata(path)?.len())
}

fn write_ipc(path: &Path, batches: &[RecordBatch]) -> Res<u64> {
    use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
    let opts = IpcWriteOptions::default()
        .try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))?;
    let schema = Arc::clone(&batches[0].schema());
    let mut w = FileWriter::try_new_with_options(std::fs::File::create(path)?, &schema, opts)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    Ok(std::fs::metadata(path)?.len())
}
