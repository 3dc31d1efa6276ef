//! LZ4 block decoding of shuffled numeric data: b2frame's own decoder against
//! `lz4_flex` (safe decoder) on the streams C-Blosc2 feeds its codec — one
//! 256 KiB block of shuffled int64 values (arange, timestamps, random walk).
//! `lz4_flex` decoded shuffled int64 timestamps at 3.3 GB/s where C liblz4
//! did 15.7 GB/s; this bench shows where ours stands (C itself is measured
//! at chunk level by `scripts/bench_compare.py`).
//!
//! `bytedelta_decode/<kernel>/ts<N>` times every BYTEDELTA decode kernel the
//! CPU has (scalar first) on one 256 KiB block of BYTEDELTA-coded shuffled
//! timestamps.
//!
//! Needs the `bench-internals` feature: `cargo bench --features bench-internals --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use b2frame::__internals::{bytedelta_decode_kernels, lz4_compress, lz4_decompress, shuffle};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const BLOCK: usize = 256 * 1024;

fn shuffled_block(kind: &str) -> Vec<u8> {
    let n = BLOCK / 8;
    let mut x: u64 = 20_251_124;
    let mut walk = 0f64;
    let values: Vec<u8> = (0..n as u64)
        .flat_map(|i| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v: i64 = match kind {
                "arange" => i as i64,
                "timestamps" => 1_700_000_000_000 + (i as i64) * 2 + ((x >> 62) as i64),
                _ => {
                    walk += ((x >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
                    walk.to_bits() as i64
                }
            };
            v.to_le_bytes()
        })
        .collect();
    let mut out = vec![0u8; values.len()];
    shuffle(8, &values, &mut out);
    out
}

fn lz4_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("lz4_decode");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for kind in ["arange", "timestamps", "randwalk"] {
        let block = shuffled_block(kind);
        let mut packed = vec![0u8; BLOCK];
        let n = lz4_compress(5, &block, &mut packed);
        assert!(n > 0, "{kind} compresses");
        packed.truncate(n);
        let mut out = vec![0u8; BLOCK];
        group.throughput(Throughput::Bytes(BLOCK as u64));
        group.bench_function(format!("b2frame/{kind}"), |b| {
            b.iter(|| lz4_decompress(black_box(&packed), black_box(&mut out)).expect("decode"))
        });
        group.bench_function(format!("lz4_flex/{kind}"), |b| {
            b.iter(|| {
                lz4_flex::block::decompress_into(black_box(&packed), black_box(&mut out))
                    .expect("decode")
            })
        });
    }
    group.finish();
}

/// BYTEDELTA decode of one block per kernel and typesize (out of place, as the
/// chunk decoder runs it).
fn bytedelta_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("bytedelta_decode");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let block = shuffled_block("timestamps");
    // Any bytes decode at the same speed; deltas of shuffled data are realistic.
    let mut coded = vec![0u8; BLOCK];
    coded[0] = block[0];
    for i in 1..BLOCK {
        coded[i] = block[i].wrapping_sub(block[i - 1]);
    }
    let mut out = vec![0u8; BLOCK];
    group.throughput(Throughput::Bytes(BLOCK as u64));
    for (name, decode) in bytedelta_decode_kernels() {
        for ts in [1usize, 4, 8] {
            group.bench_function(format!("{name}/ts{ts}"), |b| {
                b.iter(|| decode(ts, black_box(&coded), black_box(&mut out)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lz4_decode, bytedelta_decode);
criterion_main!(benches);
