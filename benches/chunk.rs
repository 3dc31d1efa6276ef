//! Criterion benches of [`b2frame::chunk::compress`] and
//! [`b2frame::chunk::decompress_into`] on one 4 MiB chunk, one thread, automatic
//! blocksize: the same data shapes and codec × filter matrix as
//! `scripts/bench_compare.py`, generated here (seed 20251124, no files).
//!
//! Ids are `{compress,decompress}/<codec>+<filter>/<data>/4MiB/1t`, throughput
//! in uncompressed bytes. Filter by id, e.g.
//! `cargo bench --bench chunk -- 'decompress/lz4+shuffle/c_i32_ts'`.
//! The whole matrix (144 benches) takes ~7 minutes; each bench has 10 samples,
//! 0.5 s warm-up and 2 s measurement (criterion flags such as
//! `--measurement-time` override these).

use std::hint::black_box;
use std::time::Duration;

use b2frame::{chunk, CParams, Codec, DParams, Filter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tpchgen::generators::LineItemGenerator;

/// Bytes per chunk.
const CHUNK: usize = 4 << 20;
/// Seed of the synthetic shapes.
const SEED: u64 = 20251124;

/// The codecs and their levels, as in `scripts/bench_compare.py`.
const CODECS: [(&str, Codec, u8); 4] = [
    ("lz4", Codec::Lz4, 5),
    ("zstd", Codec::Zstd, 1),
    ("blosclz", Codec::BloscLz, 5),
    ("lz4hc", Codec::Lz4Hc, 5),
];
/// The filters.
const FILTERS: [(&str, Filter); 2] = [
    ("shuffle", Filter::Shuffle),
    ("bitshuffle", Filter::BitShuffle),
];

/// SplitMix64: a small, well-mixed deterministic generator.
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
    /// Uniform in (0, 1].
    fn next_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller, one value per call).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.next_f64(), self.next_f64());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Little-endian bytes of `values`, cut to one chunk.
fn bytes_of<T: Copy, const N: usize>(
    values: impl IntoIterator<Item = T>,
    le: fn(T) -> [u8; N],
) -> Vec<u8> {
    let mut out: Vec<u8> = values.into_iter().take(CHUNK / N).flat_map(le).collect();
    out.truncate(CHUNK);
    assert_eq!(out.len(), CHUNK, "generator produced too few values");
    out
}

/// One 4 MiB chunk of every data shape: (name, typesize, bytes).
fn shapes() -> Vec<(&'static str, usize, Vec<u8>)> {
    let mut v = Vec::new();
    v.push(("c_i64_arange", 8, bytes_of(0i64.., i64::to_le_bytes)));
    let mut rng = SplitMix64(SEED);
    let mut x = 0.0f64;
    let walk = std::iter::repeat_with(|| {
        x += rng.normal();
        x
    });
    v.push(("c_f64_walk", 8, bytes_of(walk, f64::to_le_bytes)));
    let mut rng = SplitMix64(SEED);
    let mut t = 1_700_000_000i32;
    let ts = std::iter::repeat_with(|| {
        t += 1 + (rng.next_u64() % 3) as i32;
        t
    });
    v.push(("c_i32_ts", 4, bytes_of(ts, i32::to_le_bytes)));

    // The first 2^20 lineitem rows at scale factor 1 (as the full-size script run uses).
    let rows: Vec<_> = LineItemGenerator::new(1.0, 1, 1)
        .iter()
        .take(CHUNK / 4)
        .map(|r| {
            (
                r.l_orderkey,
                r.l_quantity * 100,
                r.l_extendedprice.0,
                r.l_discount.0,
                r.l_shipdate.to_unix_epoch(),
            )
        })
        .collect();
    v.push((
        "l_orderkey_i64",
        8,
        bytes_of(rows.iter().map(|r| r.0), i64::to_le_bytes),
    ));
    v.push((
        "l_quantity_i64",
        8,
        bytes_of(rows.iter().map(|r| r.1), i64::to_le_bytes),
    ));
    v.push((
        "l_extendedprice_i64",
        8,
        bytes_of(rows.iter().map(|r| r.2), i64::to_le_bytes),
    ));
    let price_f64 = rows.iter().map(|r| r.2 as f64 / 100.0);
    v.push((
        "l_extendedprice_f64",
        8,
        bytes_of(price_f64, f64::to_le_bytes),
    ));
    v.push((
        "l_discount_i64",
        8,
        bytes_of(rows.iter().map(|r| r.3), i64::to_le_bytes),
    ));
    v.push((
        "l_shipdate_i32",
        4,
        bytes_of(rows.iter().map(|r| r.4), i32::to_le_bytes),
    ));
    v
}

/// Registers compress and decompress benches for every shape × codec × filter.
fn bench_chunks(c: &mut Criterion) {
    let shapes = shapes();
    let dparams = DParams::default().with_nthreads(1);
    let mut out = vec![0u8; CHUNK];
    for (codec_name, codec, clevel) in CODECS {
        for (filter_name, filter) in FILTERS {
            for (data, typesize, src) in &shapes {
                let cparams = CParams::default()
                    .with_codec(codec)
                    .with_clevel(clevel)
                    .with_typesize(*typesize)
                    .with_filters([filter])
                    .with_nthreads(1);
                let id = format!("{codec_name}+{filter_name}/{data}/4MiB/1t");
                let packed = chunk::compress(&cparams, src).expect("compress");
                let n = chunk::decompress_into(&packed, &mut out, &dparams).expect("decompress");
                assert!(n == CHUNK && out == *src, "round trip differs for {id}");

                let mut g = c.benchmark_group("compress");
                g.throughput(Throughput::Bytes(CHUNK as u64));
                g.bench_function(&id, |b| {
                    b.iter(|| chunk::compress(&cparams, black_box(src)).expect("compress"))
                });
                g.finish();

                let mut g = c.benchmark_group("decompress");
                g.throughput(Throughput::Bytes(CHUNK as u64));
                g.bench_function(&id, |b| {
                    b.iter(|| {
                        chunk::decompress_into(black_box(&packed), &mut out, &dparams)
                            .expect("decompress")
                    })
                });
                g.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_chunks
}
criterion_main!(benches);
