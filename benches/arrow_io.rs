//! Benches of b2frame datasets against arrow-rs Parquet (zstd, page index) and
//! Arrow IPC files (lz4, zstd), one thread (b2frame's rayon pool is built with one
//! thread; Parquet and IPC readers and writers are single-threaded), on two tables:
//!
//! - NYC flights (`datasets/flights.parquet`, 336,776 rows × 19 columns);
//! - TPC-H lineitem generated with `tpchgen` at scale factor `B2FRAME_TPCH_SF`
//!   (default 1: 6,001,215 rows × 16 columns; 0 skips it), strings as `Utf8`,
//!   decimals as `Decimal128(15, 2)`, dates as `Date32`.
//!
//! Each table is held in memory as 65,536-row record batches and written once per
//! format into a temporary directory. Before criterion runs, a summary is timed
//! by hand and printed per table and format (medians):
//!
//! - `size`: bytes on disk;
//! - `write`: the batches into a fresh file / dataset directory;
//! - `full_read`: open and read all columns into record batches;
//! - `slice1000 cold`: open, then read rows `a..a + 1000` of one column
//!   (flights `dep_delay` Int64, lineitem `l_extendedprice` Decimal128) at
//!   random `a` (b2frame: a row-range scan; Parquet: projection + `RowSelection`
//!   with the page index; IPC: projection, reading only the batches that hold the
//!   range);
//!   b2frame keeps the datasets a process opened (an unchanged local dataset is
//!   reopened with one `stat`); a process's first open (nothing kept, manifest
//!   parsed) is printed after the table;
//! - `slice1000 opened`: the same on an already opened dataset / file (b2frame
//!   `read_column`; Parquet with its metadata and page index loaded once; IPC
//!   with its footer read once);
//! - `slice1000 S3`: cold slices from the local S3 server (moto, when
//!   `B2FRAME_S3_ENDPOINT` is set, see `scripts/s3-server.sh`), with the GET
//!   requests and bytes one slice needs. Parquet and IPC read through
//!   [`Store`] range requests (the same client and runtime).
//!
//! `B2FRAME_RUNS=w,r,s,s3` overrides the run counts, `B2FRAME_ONLY=b2frame` keeps
//! one format, `B2FRAME_PROFILE=write|read|parse|slice|slice_opened` loops one b2frame
//! operation for a profiler instead.
//!
//! Criterion then measures flights only: `{write,full_read,slice1000,
//! slice1000_opened}/{b2frame,parquet_zstd,ipc_lz4,ipc_zstd}` (10 samples).
//! `cargo bench --bench arrow_io` (the summary alone: `cargo bench --bench
//! arrow_io -- none`).

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, RecordBatchReader,
    StringArray,
};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_ipc::CompressionType;
use arrow_schema::SchemaRef;
use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions};
use b2frame::store::{block_on, Bytes};
use b2frame::Store;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{ChunkReader, Length};

/// Rows per in-memory record batch (and per IPC record batch).
const BATCH_ROWS: usize = 1 << 16;
/// Most rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 17;
/// Rows per slice.
const SLICE: usize = 1000;
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
    /// The file or directory name.
    fn file(self) -> &'static str {
        match self {
            Format::B2frame => "t.b2frame",
            Format::ParquetZstd => "t.parquet",
            Format::IpcLz4 => "t_lz4.arrow",
            Format::IpcZstd => "t_zstd.arrow",
        }
    }
}

/// A table in memory and the files written from it.
struct Table {
    /// `flights` or `lineitem`.
    name: String,
    /// The in-memory batches.
    batches: Vec<RecordBatch>,
    /// Their schema.
    schema: SchemaRef,
    /// Total rows.
    rows: usize,
    /// The sliced column and its index in the schema.
    column: (&'static str, usize),
    /// Holds the written files.
    dir: tempfile::TempDir,
}

impl Table {
    fn new(name: &str, batches: Vec<RecordBatch>, schema: SchemaRef, column: &'static str) -> Self {
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let index = schema.index_of(column).unwrap();
        Table {
            name: name.into(),
            batches,
            schema,
            rows,
            column: (column, index),
            dir: tempfile::tempdir().unwrap(),
        }
    }
    /// The path of `format`'s file or directory.
    fn path(&self, format: Format) -> PathBuf {
        self.dir.path().join(format.file())
    }
}

/// Loads `datasets/flights.parquet` into [`BATCH_ROWS`]-row batches.
fn flights() -> Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/flights.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .with_batch_size(BATCH_ROWS)
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
    Table::new("flights", batches, schema, "dep_delay")
}

/// TPC-H lineitem at scale factor `sf` in [`BATCH_ROWS`]-row batches (the
/// columns `tpchgen-arrow` builds, with `Utf8` strings).
fn lineitem(sf: f64) -> Table {
    use tpchgen::generators::LineItemGenerator;
    let mut rows = LineItemGenerator::new(sf, 1, 1).iter();
    let mut batches = Vec::new();
    let dec = |v: Vec<i128>| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(15, 2)
                .unwrap(),
        )
    };
    loop {
        let chunk: Vec<_> = rows.by_ref().take(BATCH_ROWS).collect();
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        fn strs<'a>(n: usize, f: impl Fn(usize) -> &'a str) -> ArrayRef {
            Arc::new(StringArray::from_iter_values((0..n).map(f)))
        }
        let i64s = |f: &dyn Fn(usize) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values((0..n).map(f)))
        };
        let dates = |f: &dyn Fn(usize) -> i32| -> ArrayRef {
            Arc::new(Date32Array::from_iter_values((0..n).map(f)))
        };
        let c = &chunk;
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("l_orderkey", i64s(&|i| c[i].l_orderkey)),
            ("l_partkey", i64s(&|i| c[i].l_partkey)),
            ("l_suppkey", i64s(&|i| c[i].l_suppkey)),
            (
                "l_linenumber",
                Arc::new(Int32Array::from_iter_values(
                    c.iter().map(|r| r.l_linenumber),
                )),
            ),
            (
                "l_quantity",
                dec(c.iter().map(|r| r.l_quantity as i128 * 100).collect()),
            ),
            (
                "l_extendedprice",
                dec(c.iter().map(|r| r.l_extendedprice.0 as i128).collect()),
            ),
            (
                "l_discount",
                dec(c.iter().map(|r| r.l_discount.0 as i128).collect()),
            ),
            ("l_tax", dec(c.iter().map(|r| r.l_tax.0 as i128).collect())),
            ("l_returnflag", strs(n, |i| c[i].l_returnflag)),
            ("l_linestatus", strs(n, |i| c[i].l_linestatus)),
            ("l_shipdate", dates(&|i| c[i].l_shipdate.to_unix_epoch())),
            (
                "l_commitdate",
                dates(&|i| c[i].l_commitdate.to_unix_epoch()),
            ),
            (
                "l_receiptdate",
                dates(&|i| c[i].l_receiptdate.to_unix_epoch()),
            ),
            ("l_shipinstruct", strs(n, |i| c[i].l_shipinstruct)),
            ("l_shipmode", strs(n, |i| c[i].l_shipmode)),
            ("l_comment", strs(n, |i| c[i].l_comment)),
        ];
        batches.push(RecordBatch::try_from_iter(cols).unwrap());
    }
    let schema = batches[0].schema();
    Table::new(
        &format!("lineitem sf{sf}"),
        batches,
        schema,
        "l_extendedprice",
    )
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

/// Where a slice reads from: a local path or an object in a [`Store`].
#[derive(Clone)]
enum Source {
    /// A local file or dataset directory.
    Local(PathBuf),
    /// `path` in `store` (for b2frame: the dataset's prefix).
    Remote(Store, String),
}

/// A Parquet or IPC file in a [`Store`], read by range requests.
#[derive(Clone)]
struct RemoteFile {
    store: Store,
    path: String,
    len: u64,
    pos: u64,
}

impl RemoteFile {
    fn open(store: &Store, path: &str) -> RemoteFile {
        let len = block_on(store.head(path)).unwrap().unwrap();
        RemoteFile {
            store: store.clone(),
            path: path.into(),
            len,
            pos: 0,
        }
    }
    fn range(&self, start: u64, end: u64) -> Bytes {
        block_on(self.store.get_range(&self.path, start..end.min(self.len)))
            .unwrap()
            .unwrap()
    }
}

impl Length for RemoteFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for RemoteFile {
    type T = std::io::Cursor<Bytes>;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(std::io::Cursor::new(self.range(start, self.len)))
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(self.range(start, start + length as u64))
    }
}

impl Read for RemoteFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let end = (self.pos + buf.len() as u64).min(self.len);
        if end <= self.pos {
            return Ok(0);
        }
        let b = self.range(self.pos, end);
        buf[..b.len()].copy_from_slice(&b);
        self.pos += b.len() as u64;
        Ok(b.len())
    }
}

impl Seek for RemoteFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => (self.len as i64 + d) as u64,
            SeekFrom::Current(d) => (self.pos as i64 + d) as u64,
        };
        Ok(self.pos)
    }
}

/// An opened dataset or file, ready for slices.
enum Opened {
    B2(Dataset),
    PqLocal(File, ArrowReaderMetadata),
    PqRemote(RemoteFile, ArrowReaderMetadata),
    IpcLocal(FileReader<File>),
    IpcRemote(FileReader<RemoteFile>),
}

/// Opens `format` at `src` for slices of column `column`.
fn open(format: Format, src: &Source, column: usize) -> Opened {
    let pq_opts = || ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    match (format, src) {
        (Format::B2frame, Source::Local(p)) => {
            Opened::B2(Dataset::open(p.to_str().unwrap()).unwrap())
        }
        (Format::B2frame, Source::Remote(s, p)) => {
            Opened::B2(Dataset::open_store(s.child(p).unwrap()).unwrap())
        }
        (Format::ParquetZstd, Source::Local(p)) => {
            let f = File::open(p).unwrap();
            let m = ArrowReaderMetadata::load(&f, pq_opts()).unwrap();
            Opened::PqLocal(f, m)
        }
        (Format::ParquetZstd, Source::Remote(s, p)) => {
            let f = RemoteFile::open(s, p);
            let m = ArrowReaderMetadata::load(&f, pq_opts()).unwrap();
            Opened::PqRemote(f, m)
        }
        (_, Source::Local(p)) => Opened::IpcLocal(
            FileReader::try_new(File::open(p).unwrap(), Some(vec![column])).unwrap(),
        ),
        (_, Source::Remote(s, p)) => Opened::IpcRemote(
            FileReader::try_new(RemoteFile::open(s, p), Some(vec![column])).unwrap(),
        ),
    }
}

/// Rows `a..a + SLICE` of `column` from an opened `o` (`name` for b2frame, index
/// for the others); returns the row count.
fn slice(o: &mut Opened, name: &str, column: usize, a: usize) -> usize {
    fn pq<T: ChunkReader + 'static>(
        input: T,
        m: &ArrowReaderMetadata,
        column: usize,
        a: usize,
    ) -> Vec<RecordBatch> {
        let b = ParquetRecordBatchReaderBuilder::new_with_metadata(input, m.clone());
        let mask = ProjectionMask::roots(b.parquet_schema(), [column]);
        let selection = RowSelection::from(vec![RowSelector::skip(a), RowSelector::select(SLICE)]);
        b.with_projection(mask)
            .with_row_selection(selection)
            .with_batch_size(SLICE)
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
    fn ipc<R: Read + Seek>(r: &mut FileReader<R>, a: usize) -> Vec<RecordBatch> {
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
    let batches: Vec<RecordBatch> = match o {
        Opened::B2(ds) => {
            let col = ds.read_column(name, a as u64..(a + SLICE) as u64).unwrap();
            vec![RecordBatch::try_from_iter([(name, col)]).unwrap()]
        }
        Opened::PqLocal(f, m) => pq(f.try_clone().unwrap(), m, column, a),
        Opened::PqRemote(f, m) => pq(f.clone(), m, column, a),
        Opened::IpcLocal(r) => ipc(r, a),
        Opened::IpcRemote(r) => ipc(r, a),
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

/// The median of `n` runs of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    t.sort();
    t[n / 2]
}

/// Formats a duration with a unit that keeps 3-4 digits.
fn fmt(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.1} us", s * 1e6)
    }
}

/// The local S3 server, when `B2FRAME_S3_ENDPOINT` is set.
fn s3() -> Option<Store> {
    let endpoint = std::env::var("B2FRAME_S3_ENDPOINT").ok()?;
    let bucket = std::env::var("B2FRAME_S3_BUCKET").unwrap_or_else(|_| "b2frame-test".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let opts = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
        ("aws_region", "us-east-1"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    Some(Store::from_url(&format!("s3://{bucket}/bench-{nanos}"), opts).unwrap())
}

/// Uploads the file or directory `local` to `remote` in `store`.
fn upload(store: &Store, local: &Path, remote: &str) {
    if local.is_dir() {
        for e in std::fs::read_dir(local).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            upload(store, &e.path(), &format!("{remote}/{name}"));
        }
    } else {
        let bytes = std::fs::read(local).unwrap();
        block_on(store.put(remote, bytes.into())).unwrap().unwrap();
    }
}

/// The machine's load average (1, 5, 15 minutes).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Writes `t` in every format, checks the files and prints the hand-timed
/// summary (runs: writes, full reads, local slices, S3 slices).
fn summary(t: &Table, runs: [usize; 4]) {
    // `B2FRAME_RUNS=w,r,s,s3` overrides the run counts (0 S3 runs: no S3).
    let runs = std::env::var("B2FRAME_RUNS")
        .ok()
        .map(|v| {
            let n: Vec<usize> = v.split(',').map(|x| x.parse().unwrap()).collect();
            [n[0], n[1], n[2], n[3]]
        })
        .unwrap_or(runs);
    let [nw, nr, ns, n3] = runs;
    let only = std::env::var("B2FRAME_ONLY").ok();
    let in_memory: usize = t
        .batches
        .iter()
        .map(RecordBatch::get_array_memory_size)
        .sum();
    println!(
        "\n{}: {} rows x {} columns, {} in memory, sliced column {} ({}); load {}",
        t.name,
        t.rows,
        t.schema.fields().len(),
        in_memory,
        t.column.0,
        t.schema.field(t.column.1).data_type(),
        loadavg()
    );
    println!(
        "{:>13} {:>11} {:>9} {:>9} {:>11} {:>11} {:>11} {:>15}",
        "format",
        "size B",
        "write",
        "read",
        "slice cold",
        "slice open",
        "slice S3",
        "S3 GETs/bytes"
    );
    let formats: Vec<Format> = FORMATS
        .into_iter()
        .filter(|f| only.as_deref().is_none_or(|o| o == f.name()))
        .collect();
    // Writes and full reads go round the formats in turn (round r of each
    // format runs back to back), so that the load of a shared machine hits all
    // alike.
    let rounds = |n: usize, op: &mut dyn FnMut(usize, Format)| -> Vec<Duration> {
        let mut t = vec![Vec::with_capacity(n); formats.len()];
        for r in 0..n {
            for (i, &f) in formats.iter().enumerate() {
                let s = Instant::now();
                op(r, f);
                t[i].push(s.elapsed());
            }
        }
        t.into_iter()
            .map(|mut v| {
                v.sort();
                v[v.len() / 2]
            })
            .collect()
    };
    // Writes: to a fresh path each round (removing the old one is not timed).
    let tw = rounds(nw, &mut |r, f| {
        let p = t.dir.path().join(format!("w{r}-{}", f.file()));
        write(f, &p, &t.schema, &t.batches);
    });
    for f in &formats {
        write(*f, &t.path(*f), &t.schema, &t.batches);
        for r in 0..nw {
            let p = t.dir.path().join(format!("w{r}-{}", f.file()));
            let _ = std::fs::remove_dir_all(&p);
            let _ = std::fs::remove_file(&p);
        }
    }
    let tr = rounds(nr, &mut |_, f| {
        assert_eq!(full_read(f, &t.path(f)), t.rows, "{}", f.name())
    });
    let (name, col) = t.column;
    let offsets: Vec<usize> = {
        let mut rng = SplitMix64(20251125);
        (0..ns.max(n3)).map(|_| rng.offset(t.rows)).collect()
    };
    // Slices: each format's in a row (short operations; the median over many
    // offsets absorbs the noise, and a format's caches stay its own).
    let cold: Vec<Duration> = formats
        .iter()
        .map(|&f| {
            let src = Source::Local(t.path(f));
            let mut r = 0;
            median(ns, || {
                let mut o = open(f, &src, col);
                assert_eq!(slice(&mut o, name, col, offsets[r]), SLICE);
                r += 1;
            })
        })
        .collect();
    let warm: Vec<Duration> = formats
        .iter()
        .map(|&f| {
            let mut o = open(f, &Source::Local(t.path(f)), col);
            let mut r = 0;
            median(ns, || {
                assert_eq!(slice(&mut o, name, col, offsets[r]), SLICE);
                r += 1;
            })
        })
        .collect();
    // S3: upload each format, then cold slices (one format at a time: the
    // request counts are per format).
    let s3_store = s3().filter(|_| n3 > 0);
    let s3_key = |f: Format| format!("{}/{}", t.name.replace(' ', "_"), f.file());
    let remote: Vec<(String, String)> = match &s3_store {
        None => vec![("-".into(), "-".into()); formats.len()],
        Some(s) => formats
            .iter()
            .map(|&f| {
                let key = s3_key(f);
                upload(s, &t.path(f), &key);
                let src = Source::Remote(s.clone(), key);
                s.reset_stats();
                let mut r = 0;
                let d = median(n3, || {
                    let mut o = open(f, &src, col);
                    assert_eq!(slice(&mut o, name, col, offsets[r]), SLICE);
                    r += 1;
                });
                let st = s.stats();
                (
                    fmt(d),
                    format!(
                        "{:.1}/{}",
                        st.get_requests as f64 / n3 as f64,
                        st.bytes_read / n3 as u64
                    ),
                )
            })
            .collect(),
    };
    for (i, f) in formats.iter().enumerate() {
        println!(
            "{:>13} {:>11} {:>9} {:>9} {:>11} {:>11} {:>11} {:>15}",
            f.name(),
            disk_size(&t.path(*f)),
            fmt(tw[i]),
            fmt(tr[i]),
            fmt(cold[i]),
            fmt(warm[i]),
            remote[i].0,
            remote[i].1
        );
    }
    if formats.contains(&Format::B2frame) {
        // The cold slices above reopen a kept dataset (one `stat`). A process's
        // first open also lists `_manifest/`, reads and parses the manifest and
        // opens the column files: timed with nothing kept (`clear_reopen_cache`
        // also drops the parsed manifests); the parse alone is timed apart.
        let src = Source::Local(t.path(Format::B2frame));
        let mut r = 0;
        let unkept = median(ns, || {
            b2frame::dataset::clear_reopen_cache();
            let mut o = open(Format::B2frame, &src, col);
            assert_eq!(slice(&mut o, name, col, offsets[r]), SLICE);
            r += 1;
        });
        let (path, bytes) = newest_manifest(&t.path(Format::B2frame));
        let parse = median(ns.max(3), || {
            black_box(b2frame::dataset::Manifest::parse(&path, &bytes).unwrap());
        });
        println!(
            "b2frame first open in a process (cold slice with nothing kept): {}, of which manifest parse {} ({} bytes)",
            fmt(unkept),
            fmt(parse),
            bytes.len()
        );
        // A service that accepts commits up to a second late opens with
        // `max_staleness`: the kept dataset is trusted without a listing.
        if let Some(s) = &s3_store {
            let store = s.child(&s3_key(Format::B2frame)).unwrap();
            s.reset_stats();
            let mut r = 0;
            let d = median(n3, || {
                let ds = Dataset::open_store_with(store.clone(), Duration::from_secs(1)).unwrap();
                assert_eq!(slice(&mut Opened::B2(ds), name, col, offsets[r]), SLICE);
                r += 1;
            });
            let st = s.stats();
            println!(
                "b2frame slice S3 with max_staleness 1 s: {} ({:.1} requests, {:.1} GETs, {} bytes per slice)",
                fmt(d),
                st.requests as f64 / n3 as f64,
                st.get_requests as f64 / n3 as f64,
                st.bytes_read / n3 as u64
            );
        }
    }
    println!("load after {}: {}", t.name, loadavg());
}

/// The name (`_manifest/…`) and bytes of the newest manifest of the dataset at `ds`.
fn newest_manifest(ds: &Path) -> (String, Vec<u8>) {
    let newest = std::fs::read_dir(ds.join("_manifest"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .max()
        .unwrap();
    let name = format!(
        "_manifest/{}",
        newest.file_name().unwrap().to_str().unwrap()
    );
    (name, std::fs::read(&newest).unwrap())
}

/// Repeats one b2frame operation on flights (`B2FRAME_PROFILE_LINEITEM=1`:
/// lineitem sf 0.2) for 8 s, for a profiler (`perf record`), then exits: `write`,
/// `read` (full), `parse` (the newest manifest), `slice` (cold) or
/// `slice_opened`.
fn profile(what: &str) -> ! {
    let t = if std::env::var("B2FRAME_PROFILE_LINEITEM").is_ok() {
        lineitem(0.2)
    } else {
        flights()
    };
    let p = t.path(Format::B2frame);
    write(Format::B2frame, &p, &t.schema, &t.batches);
    let src = Source::Local(p.clone());
    let (name, col) = t.column;
    let mut o = open(Format::B2frame, &src, col);
    let mut rng = SplitMix64(1);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(8) {
        match what {
            "write" => {
                let q = t.dir.path().join(format!("w{n}"));
                write(Format::B2frame, &q, &t.schema, &t.batches);
                std::fs::remove_dir_all(&q).unwrap();
            }
            "read" => {
                full_read(Format::B2frame, &p);
            }
            "parse" => {
                let (name, bytes) = newest_manifest(&p);
                black_box(b2frame::dataset::Manifest::parse(&name, &bytes).unwrap());
            }
            "slice" => {
                let mut o = open(Format::B2frame, &src, col);
                slice(&mut o, name, col, rng.offset(t.rows));
            }
            _ => {
                slice(&mut o, name, col, rng.offset(t.rows));
            }
        }
        n += 1;
    }
    println!("{what}: {n} iterations, {:?} each", start.elapsed() / n);
    std::process::exit(0);
}

/// Builds the one-thread pool, runs the summaries; returns flights for criterion.
fn setup() -> Table {
    // One thread for b2frame's parallel encode/decode (ignored if already set).
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if let Ok(what) = std::env::var("B2FRAME_PROFILE") {
        profile(&what);
    }
    let fl = flights();
    summary(
        &fl,
        if bench_mode {
            [5, 7, 201, 21]
        } else {
            [1, 1, 3, 3]
        },
    );
    let sf: f64 = std::env::var("B2FRAME_TPCH_SF")
        .ok()
        .map(|v| v.parse().unwrap())
        .unwrap_or(if bench_mode { 1.0 } else { 0.01 });
    if sf > 0.0 {
        let li = lineitem(sf);
        summary(
            &li,
            if bench_mode {
                [3, 3, 101, 21]
            } else {
                [1, 1, 3, 3]
            },
        );
    }
    fl
}

/// The criterion groups (flights).
fn benches(c: &mut Criterion) {
    let t = setup();
    let (name, col) = t.column;

    let mut g = c.benchmark_group("write");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    for f in FORMATS {
        g.bench_function(BenchmarkId::from_parameter(f.name()), |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    write(f, &dir.path().join("out"), &t.schema, &t.batches);
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
        let p = t.path(f);
        g.bench_function(BenchmarkId::from_parameter(f.name()), |b| {
            b.iter(|| full_read(f, &p))
        });
    }
    g.finish();

    for (group, opened) in [("slice1000", false), ("slice1000_opened", true)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for f in FORMATS {
            let src = Source::Local(t.path(f));
            let mut rng = SplitMix64(7);
            let mut o = open(f, &src, col);
            g.bench_function(BenchmarkId::from_parameter(f.name()), |b| {
                b.iter(|| {
                    if !opened {
                        o = open(f, &src, col);
                    }
                    slice(&mut o, name, col, rng.offset(t.rows))
                })
            });
        }
        g.finish();
    }
}

criterion_group!(arrow_io, benches);
criterion_main!(arrow_io);
