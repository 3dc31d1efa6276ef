//! Criterion benches of b2frame datasets against arrow-rs Parquet (zstd, page
//! index) and Arrow IPC files (lz4, zstd) on NYC flights
//! (`datasets/flights.parquet`, 336,776 rows × 19 columns), one thread
//! (the rayon pool is built with one thread; Parquet and IPC are single-threaded).
//!
//! The flights table is loaded once into 65,536-row record batches; the four
//! files are written once into a temporary directory and their sizes printed.
//! Ids are `{write,full_read,slice1000}/{b2frame,parquet_zstd,ipc_lz4,ipc_zstd}`:
//!
//! - `write`: the in-memory batches into a fresh file / dataset directory;
//! - `full_read`: open and read all columns into record batches;
//! - `slice1000`: open and read rows `a..a + 1000` of `dep_delay` at a random
//!   offset `a` (b2frame: a row-range scan; Parquet: projection + `RowSelection`
//!   with the page index; IPC: projection, reading only the batches that hold
//!   the range).
//!
//! Before criterion runs, the median latency of `slice1000` over 201 random
//! offsets is printed per format (criterion reports means).
//! `cargo bench --bench arrow_io`; each bench has 10 samples.

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_ipc::CompressionType;
use arrow_schema::SchemaRef;
use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

/// Rows per in-memory record batch (and per IPC record batch).
const BATCH_ROWS: usize = 1 << 16;
/// Most rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 17;
/// Rows per slice.
const SLICE: usize = 1000;
/// The sliced column.
const COLUMN: &str = "dep_delay";
/// The benched formats.
const FORMATS: [Format; 4] = [
    Format::B2frame,
    Format::ParquetZstd,
    Format::IpcLz4,
    Format::IpcZstd,
];

/// One on-disk format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// A b2frame dataset directory (default write options).
    B2frame,
    /// One Parquet file, zstd level 1, page statistics and offset index.
    ParquetZstd,
    /// One Arrow IPC file, LZ4 frame buffers.
    IpcLz4,
    /// One Arrow IPC file, zstd buffers.
    IpcZstd,
}

impl Format {
    /// The bench id part.
    fn name(self) -> &'static str {
        match self {
            Format::B2frame => "b2frame",
            Format::ParquetZstd => "parquet_zstd",
            Format::IpcLz4 => "ipc_lz4",
            Format::IpcZstd => "ipc_zstd",
        }
    }
}

/// The loaded table and the files written from it.
struct Fixture {
    /// The in-memory batches.
    batches: Vec<RecordBatch>,
    /// Their schema.
    schema: SchemaRef,
    /// Total rows.
    rows: usize,
    /// Index of [`COLUMN`] in the schema.
    column: usize,
    /// Holds the written files.
    dir: tempfile::TempDir,
}

impl Fixture {
    /// The path of `format`'s file or directory.
    fn path(&self, format: Format) -> PathBuf {
        self.dir.path().join(match format {
            Format::B2frame => "flights.b2frame",
            Format::ParquetZstd => "flights.parquet",
            Format::IpcLz4 => "flights_lz4.arrow",
            Format::IpcZstd => "flights_zstd.arrow",
        })
    }
}

/// Loads `datasets/flights.parquet` into [`BATCH_ROWS`]-row batches.
fn load() -> (Vec<RecordBatch>, SchemaRef) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/flights.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .with_batch_size(BATCH_ROWS)
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
    (batches, schema)
}

/// Writes `batches` as `format` at `path`.
fn write(format: Format, path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) {
    match format {
        Format::B2frame => {
            let opts = WriteOptions::default().with_mode(WriteMode::Create);
            let mut w =
                DatasetWriter::create(path.to_str().unwrap(), schema.clone(), opts).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap();
        }
        Format::ParquetZstd => {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .set_statistics_enabled(EnabledStatistics::Page)
                .build();
            let mut w =
                ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), Some(props))
                    .unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
        }
        Format::IpcLz4 | Format::IpcZstd => {
            let codec = if format == Format::IpcLz4 {
                CompressionType::LZ4_FRAME
            } else {
                CompressionType::ZSTD
            };
            let opts = IpcWriteOptions::default()
                .try_with_compression(Some(codec))
                .unwrap();
            let file = std::io::BufWriter::new(File::create(path).unwrap());
            let mut w = FileWriter::try_new_with_options(file, schema, opts).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap();
        }
    }
}

/// Reads all columns and rows of `format` at `path`; returns the row count.
fn full_read(format: Format, path: &Path) -> usize {
    let batches: Vec<RecordBatch> = match format {
        Format::B2frame => Dataset::open(path.to_str().unwrap())
            .unwrap()
            .scan(ScanOptions::default())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
        Format::ParquetZstd => ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .with_batch_size(BATCH_ROWS)
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
        Format::IpcLz4 | Format::IpcZstd => {
            FileReader::try_new_buffered(File::open(path).unwrap(), None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
    };
    black_box(&batches);
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Reads rows `a..a + SLICE` of column `column` (index in the schema) of
/// `format` at `path`; returns the row count.
fn slice(format: Format, path: &Path, column: usize, a: usize) -> usize {
    let batches: Vec<RecordBatch> = match format {
        Format::B2frame => Dataset::open(path.to_str().unwrap())
            .unwrap()
            .scan(
                ScanOptions::default()
                    .with_columns([COLUMN])
                    .with_rows(a as u64..(a + SLICE) as u64),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
        Format::ParquetZstd => {
            let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
            let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
                File::open(path).unwrap(),
                opts,
            )
            .unwrap();
            let mask = ProjectionMask::roots(builder.parquet_schema(), [column]);
            let selection =
                RowSelection::from(vec![RowSelector::skip(a), RowSelector::select(SLICE)]);
            builder
                .with_projection(mask)
                .with_row_selection(selection)
                .with_batch_size(SLICE)
                .build()
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        Format::IpcLz4 | Format::IpcZstd => {
            let mut r = FileReader::try_new_buffered(File::open(path).unwrap(), Some(vec![column]))
                .unwrap();
            let (first, last) = (a / BATCH_ROWS, (a + SLICE - 1) / BATCH_ROWS);
            let mut out = Vec::with_capacity(last - first + 1);
            r.set_index(first).unwrap();
            for i in first..=last {
                let b = r.next().unwrap().unwrap();
                let lo = if i == first { a - i * BATCH_ROWS } else { 0 };
                let hi = (a + SLICE - i * BATCH_ROWS).min(b.num_rows());
                out.push(b.slice(lo, hi - lo));
            }
            out
        }
    };
    black_box(&batches);
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// SplitMix64: a small deterministic generator for the slice offsets.
struct SplitMix64(u64);

impl SplitMix64 {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A slice offset in `0..=rows - SLICE`.
    fn offset(&mut self, rows: usize) -> usize {
        (self.next_u64() % (rows - SLICE + 1) as u64) as usize
    }
}

/// Bytes under `path` (a file or a directory tree).
fn disk_size(path: &Path) -> u64 {
    let meta = std::fs::metadata(path).unwrap();
    if meta.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| disk_size(&e.unwrap().path()))
            .sum()
    } else {
        meta.len()
    }
}

/// Loads the table, writes the four files, checks them, prints sizes and slice
/// medians.
fn setup() -> Fixture {
    // One thread for b2frame's parallel encode/decode (ignored if already set).
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    let (batches, schema) = load();
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let column = schema.index_of(COLUMN).unwrap();
    let fx = Fixture {
        batches,
        schema,
        rows,
        column,
        dir: tempfile::tempdir().unwrap(),
    };
    let in_memory: usize = fx
        .batches
        .iter()
        .map(RecordBatch::get_array_memory_size)
        .sum();
    println!(
        "flights: {rows} rows x {} columns, {COLUMN}: {}, in memory {in_memory} B",
        fx.schema.fields().len(),
        fx.schema.field(column).data_type()
    );
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let n = if bench_mode { 201 } else { 3 };
    for f in FORMATS {
        let p = fx.path(f);
        write(f, &p, &fx.schema, &fx.batches);
        assert_eq!(full_read(f, &p), rows, "{}", f.name());
        let mut rng = SplitMix64(20251125);
        let mut times: Vec<Duration> = (0..n)
            .map(|_| {
                let a = rng.offset(rows);
                let t = Instant::now();
                assert_eq!(slice(f, &p, column, a), SLICE);
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{:>13}: size {:>9} B, slice1000 median {:>8.1} us over {n} offsets",
            f.name(),
            disk_size(&p),
            times[n / 2].as_secs_f64() * 1e6
        );
    }
    // The same slices on an already opened dataset: how much is open().
    let ds = Dataset::open(fx.path(Format::B2frame).to_str().unwrap()).unwrap();
    let mut rng = SplitMix64(20251125);
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let a = rng.offset(rows) as u64;
            let t = Instant::now();
            assert_eq!(
                ds.read_column(COLUMN, a..a + SLICE as u64).unwrap().len(),
                SLICE
            );
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "b2frame opened: slice1000 median {:.1} us (read_column, no open)",
        times[n / 2].as_secs_f64() * 1e6
    );
    fx
}

/// The three bench groups.
fn benches(c: &mut Criterion) {
    let fx = setup();

    let mut g = c.benchmark_group("write");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    for f in FORMATS {
        g.bench_function(BenchmarkId::from_parameter(f.name()), |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    write(f, &dir.path().join("out"), &fx.schema, &fx.batches);
                    dir
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("full_read");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for f in FORMATS {
        let p = fx.path(f);
        g.bench_function(BenchmarkId::from_parameter(f.name()), |b| {
            b.iter(|| full_read(f, &p))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("slice1000");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for f in FORMATS {
        let p = fx.path(f);
        let mut rng = SplitMix64(7);
        g.bench_function(BenchmarkId::from_parameter(f.name()), |b| {
            b.iter(|| slice(f, &p, fx.column, rng.offset(fx.rows)))
        });
    }
    g.finish();
}

criterion_group!(arrow_io, benches);
criterion_main!(arrow_io);
