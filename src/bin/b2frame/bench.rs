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
