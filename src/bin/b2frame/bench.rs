//! `b2frame bench`: in-memory compress/decompress throughput of a raw file.

use std::time::Instant;

use b2frame::{chunk, DParams, Result};
use serde_json::json;

use crate::args::CompressArgs;

/// Measured results.
pub struct BenchReport {
    /// The JSON object printed by `--json`.
    pub json: serde_json::Value,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Compresses `raw` into chunks of `chunksize` and decompresses them, `repeat` times.
pub fn run(params: &CompressArgs, repeat: usize, raw: &[u8]) -> Result<BenchReport> {
    let cparams = params.cparams();
    let dparams = DParams::default().with_nthreads(params.nthreads());
    let cs = params.chunksize();
    let repeat = repeat.max(1);
    let mut ctimes = Vec::with_capacity(repeat);
    let mut dtimes = Vec::with_capacity(repeat);
    let mut out = vec![0u8; raw.len()];
    let mut cbytes = 0usize;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        chunks = raw
            .chunks(cs)
            .map(|c| chunk::compress(&cparams, c))
            .collect::<Result<_>>()?;
        ctimes.push(t.elapsed().as_secs_f64());
        cbytes = chunks.iter().map(Vec::len).sum();
        let t = Instant::now();
        for (c, dst) in chunks.iter().zip(out.chunks_mut(cs)) {
            chunk::decompress_into(c, dst, &dparams)?;
        }
        dtimes.push(t.elapsed().as_secs_f64());
    }
    if out != raw {
        return Err(b2frame::Error::Io(std::io::Error::other(
            "bench round trip differs from the input",
        )));
    }
    let nbytes = raw.len();
    let gbps = |t: f64| {
        if t > 0.0 {
            nbytes as f64 / t / 1e9
        } else {
            f64::INFINITY
        }
    };
    let blocksize = chunks
        .first()
        .and_then(|c| chunk::ChunkHeader::parse(c).ok())
        .map_or(0, |h| h.blocksize);
    let json = json!({
        "nbytes": nbytes,
        "cbytes": cbytes,
        "ratio": if cbytes > 0 { nbytes as f64 / cbytes as f64 } else { 0.0 },
        "compress_GBps": gbps(median(ctimes)),
        "decompress_GBps": gbps(median(dtimes)),
        "codec": cparams.codec.name(),
        "clevel": cparams.clevel,
        "filters": cparams.filters.iter().filter(|f| **f != b2frame::Filter::NoFilter).map(|f| f.name()).collect::<Vec<_>>(),
        "typesize": cparams.typesize,
        "chunksize": cs,
        "blocksize": blocksize,
        "threads": cparams.nthreads,
        "repeat": repeat,
        "nchunks": chunks.len(),
    });
    Ok(BenchReport { json })
}

/// Item-level timings of a super-chunk (`--slice-items N`): reads of `n` items at
/// random offsets in memory and from a `.b2frame` file opened for each read
/// (`SChunk::open_file` + `read_into`, with and without per-chunk checksums),
/// 1-item `set_slice`, and appends of 100k-item pieces against chunk-aligned
/// appends. Adds keys to `report.json`.
pub fn run_items(
    params: &CompressArgs,
    repeat: usize,
    raw: &[u8],
    n: usize,
    report: &mut BenchReport,
) -> Result<()> {
    let cparams = params.cparams();
    let ts = cparams.typesize;
    let storage = b2frame::Storage::default().with_chunksize(params.chunksize());
    let dparams = DParams::default().with_nthreads(params.nthreads());
    let mut sc = b2frame::SChunk::with_storage(cparams.clone(), dparams.clone(), &storage)?;
    let t = Instant::now();
    for piece in raw.chunks(params.chunksize()) {
        sc.append(piece)?;
    }
    sc.flush()?;
    let aligned = t.elapsed().as_secs_f64();
    let piece = 100_000 * ts;
    let mut unaligned_sc =
        b2frame::SChunk::with_storage(cparams.clone(), dparams.clone(), &storage)?;
    let t = Instant::now();
    for p in raw.chunks(piece) {
        unaligned_sc.append(p)?;
    }
    unaligned_sc.flush()?;
    let unaligned = t.elapsed().as_secs_f64();
    let nitems = sc.nitems();
    let n = n.min(nitems).max(1);
    let rounds = (repeat * 20).max(200);
    let mut x: u64 = 20_251_124;
    let mut next = |bound: usize| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((x >> 33) as usize) % bound.max(1)
    };
    let mut slice_times = Vec::with_capacity(rounds);
    let mut out = vec![0u8; n * ts];
    for _ in 0..rounds {
        let start = next(nitems - n + 1);
        let t = Instant::now();
        sc.read_into(start..start + n, &mut out)?;
        slice_times.push(t.elapsed().as_secs_f64());
    }
    let open_median = |file: &b2frame::SChunk, next: &mut dyn FnMut(usize) -> usize| {
        let path =
            std::env::temp_dir().join(format!("b2frame-bench-{}.b2frame", std::process::id()));
        file.save(&path)?;
        let options = b2frame::schunk::OpenOptions::default();
        let mut out = vec![0u8; n * ts];
        let mut times = Vec::with_capacity(rounds);
        let result = (|| -> Result<f64> {
            for _ in 0..rounds {
                let start = next(nitems - n + 1);
                let t = Instant::now();
                let f = b2frame::SChunk::open_file(&path, &options)?;
                f.read_into(start..start + n, &mut out)?;
                times.push(t.elapsed().as_secs_f64());
                drop(f);
            }
            Ok(median(times))
        })();
        let _ = std::fs::remove_file(&path);
        result
    };
    let open_plain = open_median(&sc, &mut next)?;
    let mut summed = b2frame::SChunk::with_storage(
        cparams.clone(),
        dparams.clone(),
        &storage.clone().with_checksums(true),
    )?;
    summed.append(raw)?;
    summed.flush()?;
    let open_checked = open_median(&summed, &mut next)?;
    drop(summed);
    let mut set_times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let at = next(nitems);
        let item = raw[at * ts..(at + 1) * ts].to_vec();
        let t = Instant::now();
        sc.set_slice(at..at + 1, &item)?;
        set_times.push(t.elapsed().as_secs_f64());
    }
    let gbps = |t: f64| {
        if t > 0.0 {
            raw.len() as f64 / t / 1e9
        } else {
            f64::INFINITY
        }
    };
    if let Some(obj) = report.json.as_object_mut() {
        obj.insert("slice_items".into(), json!(n));
        obj.insert("slice_median_us".into(), json!(median(slice_times) * 1e6));
        obj.insert("slice_open_median_us".into(), json!(open_plain * 1e6));
        obj.insert(
            "slice_open_checksums_median_us".into(),
            json!(open_checked * 1e6),
        );
        obj.insert("set_item_median_us".into(), json!(median(set_times) * 1e6));
        obj.insert("aligned_append_GBps".into(), json!(gbps(aligned)));
        obj.insert("unaligned_append_GBps".into(), json!(gbps(unaligned)));
    }
    Ok(())
}
