//! Reading `.b2frame` files by positioned reads (the default) or through a
//! memory map (`OpenOptions::with_mmap`): open + a 1000-item slice at random
//! offsets, and a whole read of a 64 MB frame whose big chunks carry no checksums
//! (as python-blosc2 writes them). One thread.
//!
//! `cargo bench --bench file_read`

use std::hint::black_box;

use b2frame::schunk::OpenOptions;
use b2frame::{CParams, Codec, DParams, Filter, SChunk, Storage};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A 64 MB frame of f64 random-walk-like values in 8 MiB chunks (ZSTD 1, shuffle).
fn write_frame(dir: &std::path::Path) -> (std::path::PathBuf, usize) {
    let n = 8_000_000usize;
    let mut x = 0.0f64;
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..n)
        .flat_map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            x += (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            x.to_le_bytes()
        })
        .collect();
    let cp = CParams::default()
        .with_typesize(8)
        .with_codec(Codec::Zstd)
        .with_clevel(1)
        .with_filters([Filter::Shuffle]);
    let st = Storage::default().with_chunksize(8 << 20);
    let mut sc = SChunk::with_storage(cp, DParams::default(), &st).expect("schunk");
    sc.append(&data).expect("append");
    let path = dir.join("walk.b2frame");
    sc.save(&path).expect("save");
    (path, n)
}

fn bench_file_reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, n) = write_frame(dir.path());
    let modes = [
        ("pread", OpenOptions::default()),
        ("mmap", OpenOptions::default().with_mmap(true)),
    ];
    let mut g = c.benchmark_group("open_slice1000");
    for (name, opts) in &modes {
        let mut at = 12345usize;
        g.bench_function(*name, |b| {
            b.iter(|| {
                at = (at * 7919 + 104_729) % (n - 1000);
                let sc = SChunk::open_file(&path, opts).expect("open");
                black_box(sc.read(at..at + 1000).expect("slice"))
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("whole_read");
    g.throughput(Throughput::Bytes((n * 8) as u64));
    g.sample_size(10);
    for (name, opts) in &modes {
        let sc = SChunk::open_file(&path, opts).expect("open");
        let mut out = vec![0u8; n * 8];
        g.bench_function(*name, |b| {
            b.iter(|| black_box(sc.read_into(0..n, &mut out).expect("read")))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500));
    targets = bench_file_reads
}
criterion_main!(benches);
