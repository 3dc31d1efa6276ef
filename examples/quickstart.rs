//! Quickstart on bundled data: two NYC-flights columns (int64) compressed with
//! every codec, saved as `.b2frame` files that python-blosc2 opens, and a
//! 1000-item slice read back decoding only the blocks it touches.
//!
//! Run: `cargo run --release --example quickstart`

use std::path::PathBuf;
use std::time::Instant;

use b2frame::{CParams, Codec, DParams, Filter, SChunk, Storage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let out_dir = std::env::temp_dir().join("b2frame-quickstart");
    std::fs::create_dir_all(&out_dir)?;
    println!(
        "{:<12} {:<18} {:>9} {:>9} {:>7} {:>10} {:>10}",
        "column", "codec+filter", "raw KiB", "packed", "ratio", "write ms", "slice µs"
    );
    for column in ["time_hour", "distance"] {
        let raw = std::fs::read(root.join(format!("flights_{column}.i64")))?;
        for (codec, clevel, filter) in [
            (Codec::Lz4, 5, Filter::Shuffle),
            (Codec::Zstd, 1, Filter::Shuffle),
            (Codec::BloscLz, 5, Filter::Shuffle),
            (Codec::Zstd, 5, Filter::BitShuffle),
        ] {
            let cparams = CParams::default()
                .with_codec(codec)
                .with_clevel(clevel)
                .with_typesize(8)
                .with_filters([filter]);
            let t = Instant::now();
            let mut sc = SChunk::with_storage(
                cparams,
                DParams::default(),
                &Storage::default().with_chunksize(256 * 1024),
            )?;
            sc.append(&raw)?;
            let path = out_dir.join(format!(
                "{column}.{}-{}.b2frame",
                codec.name(),
                filter.name()
            ));
            sc.save(&path)?;
            let write_ms = t.elapsed().as_secs_f64() * 1e3;
            let opened = SChunk::open(&path)?;
            let start = opened.nitems() / 2 + 123;
            let t = Instant::now();
            let slice = opened.read(start..start + 1000)?;
            let slice_us = t.elapsed().as_secs_f64() * 1e6;
            assert_eq!(slice, raw[start * 8..(start + 1000) * 8]);
            println!(
                "{column:<12} {:<18} {:>9} {:>9} {:>7.1} {write_ms:>10.2} {slice_us:>10.1}",
                format!("{}+{}", codec.name(), filter.name()),
                raw.len() / 1024,
                opened.cbytes(),
                raw.len() as f64 / opened.cbytes() as f64
            );
        }
    }
    let example = out_dir.join("time_hour.zstd-shuffle.b2frame");
    println!("\nOpen with python-blosc2:\n  python -c \"import blosc2, numpy as np; s = blosc2.open('{}'); print(np.frombuffer(s[:5], '<i8'))\"", example.display());
    Ok(())
}
