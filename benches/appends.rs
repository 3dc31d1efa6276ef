//! Many small appends: NYC flights (`datasets/flights.parquet`) appended in
//! `B2FRAME_APPENDS` (default 1000) commits of ~337 rows, against the anchor a
//! Parquet user has for appends, a directory with one Parquet file (ZSTD level 1)
//! per append. Prints, for b2frame before and after [`Dataset::compact`] +
//! [`Dataset::cleanup_old_versions`], and for Parquet: the time of the first and
//! last 10% of the commits, the bytes on disk, a full read into Arrow and a cold
//! 1000-row slice of `dep_delay` (b2frame: a process's first open, nothing kept
//! and every manifest file of the version parsed; Parquet: the footers of every
//! file, which a reader needs to find the rows, then the file(s) holding them).
//!
//! `cargo bench --bench appends --features convert` (one thread, like `arrow_io`);
//! without `--bench` (`cargo test --all-targets`) 20 appends and single runs.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use arrow_array::{Array, RecordBatch, RecordBatchReader};
use b2frame::dataset::{
    CleanupOptions, CompactOptions, Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions,
};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

const SLICE: usize = 1000;

fn flights() -> (Vec<RecordBatch>, arrow_schema::SchemaRef) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/flights.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .with_batch_size(1 << 16)
        .build()
        .unwrap();
    let schema = reader.schema();
    let b: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    let all = arrow_select::concat::concat_batches(&schema, &b).unwrap();
    let appends: usize = std::env::var("B2FRAME_APPENDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if bench_mode() { 1000 } else { 20 });
    let per = all.num_rows().div_ceil(appends);
    let parts = (0..all.num_rows())
        .step_by(per)
        .map(|a| all.slice(a, per.min(all.num_rows() - a)))
        .collect();
    (parts, schema)
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs a small round.
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Runs of the full reads and cold slices.
fn runs() -> (usize, usize) {
    if bench_mode() {
        (5, 51)
    } else {
        (1, 3)
    }
}

fn du(p: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() { du(&e.path()) } else { m.len() };
    }
    n
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Mean of the first and of the last 10% of `times`.
fn ends(times: &[Duration]) -> (Duration, Duration) {
    let k = (times.len() / 10).max(1);
    let mean = |s: &[Duration]| s.iter().sum::<Duration>() / s.len() as u32;
    (mean(&times[..k]), mean(&times[times.len() - k..]))
}

fn offsets(rows: usize, n: usize) -> Vec<usize> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % (rows - SLICE) as u64) as usize
        })
        .collect()
}

struct Row {
    name: &'static str,
    commits: (Duration, Duration),
    bytes: u64,
    read: Duration,
    slice: Duration,
}

/// The median time of `f(x)` over `xs`, each run after an untimed `before()`.
fn median_time<T: Copy>(xs: &[T], mut before: impl FnMut(), mut f: impl FnMut(T)) -> Duration {
    median(
        xs.iter()
            .map(|&x| {
                before();
                let t = Instant::now();
                f(x);
                t.elapsed()
            })
            .collect(),
    )
}

/// Median full read and cold slice of the dataset at `dir`.
fn b2_reads(dir: &Path, rows: usize) -> (Duration, Duration) {
    let url = dir.to_str().unwrap();
    let reads = vec![(); runs().0];
    let read = median_time(
        &reads,
        || {},
        |()| {
            let ds = Dataset::open(url).unwrap();
            let n: usize = ds
                .scan(ScanOptions::default())
                .unwrap()
                .map(|b| b.unwrap().num_rows())
                .sum();
            assert_eq!(n, rows);
        },
    );
    let cold = b2frame::dataset::clear_reopen_cache;
    let slice = median_time(&offsets(rows, runs().1), cold, |a| {
        let ds = Dataset::open(url).unwrap();
        let c = ds
            .read_column("dep_delay", a as u64..(a + SLICE) as u64)
            .unwrap();
        assert_eq!(c.len(), SLICE);
    });
    (read, slice)
}

/// Median full read and cold slice of the `files` Parquet files in `dir`.
fn parquet_reads(dir: &Path, files: usize, rows: usize) -> (Duration, Duration) {
    let open = |i: usize| {
        let f = File::open(dir.join(format!("part-{i:06}.parquet"))).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(f).unwrap()
    };
    let reads = vec![(); runs().0];
    let read = median_time(
        &reads,
        || {},
        |()| {
            let n: usize = (0..files)
                .map(|i| {
                    open(i)
                        .build()
                        .unwrap()
                        .map(|b| b.unwrap().num_rows())
                        .sum::<usize>()
                })
                .sum();
            assert_eq!(n, rows);
        },
    );
    let slice = median_time(
        &offsets(rows, runs().1),
        || {},
        |a| {
            // Row counts from every footer, then the files holding a..a+SLICE.
            let builders: Vec<_> = (0..files).map(open).collect();
            let (mut start, mut got) = (0usize, 0usize);
            for b in builders {
                let n = b.metadata().file_metadata().num_rows() as usize;
                let (lo, hi) = (a.max(start), (a + SLICE).min(start + n));
                if lo < hi {
                    let col = b.schema().index_of("dep_delay").unwrap();
                    let mask = parquet::arrow::ProjectionMask::roots(b.parquet_schema(), [col]);
                    let sel = RowSelection::from(vec![
                        RowSelector::skip(lo - start),
                        RowSelector::select(hi - lo),
                    ]);
                    let r = b
                        .with_projection(mask)
                        .with_row_selection(sel)
                        .build()
                        .unwrap();
                    got += r.map(|b| b.unwrap().num_rows()).sum::<usize>();
                }
                start += n;
            }
            assert_eq!(got, SLICE);
        },
    );
    (read, slice)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    let (parts, schema) = flights();
    let rows: usize = parts.iter().map(RecordBatch::num_rows).sum();
    let tmp = tempfile::tempdir().unwrap();
    let b2 = tmp.path().join("b2");
    let pq = tmp.path().join("pq");
    std::fs::create_dir(&pq).unwrap();
    println!(
        "flights: {rows} rows in {} appends of ~{} rows",
        parts.len(),
        parts[0].num_rows()
    );

    let opts = WriteOptions::default().with_mode(WriteMode::CreateOrAppend);
    let mut times = Vec::with_capacity(parts.len());
    for p in &parts {
        let t = Instant::now();
        let mut w =
            DatasetWriter::create(b2.to_str().unwrap(), schema.clone(), opts.clone()).unwrap();
        w.write(p).unwrap();
        w.finish().unwrap();
        times.push(t.elapsed());
    }
    let b2_commits = ends(&times);
    let manifest = Dataset::open(b2.to_str().unwrap())
        .unwrap()
        .manifest()
        .fragments
        .len();
    let newest = std::fs::read_dir(b2.join("_manifest"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    let b2_bytes = du(&b2);
    let (r, s) = b2_reads(&b2, rows);
    let before = Row {
        name: "b2frame, appended",
        commits: b2_commits,
        bytes: b2_bytes,
        read: r,
        slice: s,
    };

    let t = Instant::now();
    let ds = Dataset::open(b2.to_str().unwrap()).unwrap();
    let c = ds.compact(CompactOptions::default()).unwrap();
    let compact_time = t.elapsed();
    let t = Instant::now();
    let ds = Dataset::open(b2.to_str().unwrap()).unwrap();
    let cl = ds
        .cleanup_old_versions(CleanupOptions::default().with_min_age(Duration::ZERO))
        .unwrap();
    let cleanup_time = t.elapsed();
    let (r, s) = b2_reads(&b2, rows);
    let after = Row {
        name: "b2frame, compacted + cleaned",
        commits: (Duration::ZERO, Duration::ZERO),
        bytes: du(&b2),
        read: r,
        slice: s,
    };

    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
        .build();
    let mut times = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let t = Instant::now();
        let f = File::create(pq.join(format!("part-{i:06}.parquet"))).unwrap();
        let mut w = ArrowWriter::try_new(f, schema.clone(), Some(props.clone())).unwrap();
        w.write(p).unwrap();
        w.close().unwrap();
        times.push(t.elapsed());
    }
    let (r, s) = parquet_reads(&pq, parts.len(), rows);
    let parquet = Row {
        name: "Parquet, file per append",
        commits: ends(&times),
        bytes: du(&pq),
        read: r,
        slice: s,
    };

    println!(
        "b2frame: {manifest} fragments, newest manifest {newest} bytes; compact {compact_time:.2?} \
         ({} -> {} fragments, {} rows), cleanup {cleanup_time:.2?} ({} versions, {} objects, {} bytes)",
        c.fragments_before,
        c.fragments_after,
        c.rows_rewritten,
        cl.versions_removed.len(),
        cl.objects_removed,
        cl.bytes_removed
    );
    println!(
        "| | commit, first 10% | commit, last 10% | bytes on disk | full read | slice1000 cold |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in [&before, &after, &parquet] {
        println!(
            "| {} | {:.2?} | {:.2?} | {:.1} MB | {:.1?} | {:.1?} |",
            r.name,
            r.commits.0,
            r.commits.1,
            r.bytes as f64 / 1e6,
            r.read,
            r.slice
        );
    }
}
