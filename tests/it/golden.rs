//! Every golden file of ../shared/golden decodes to what MANIFEST.json says;
//! chunks whose codec output is specified (BloscLZ, memcpy, special) are
//! re-encoded byte for byte from the regenerated inputs.

use b2frame::chunk::{self, ChunkHeader};
use b2frame::{CParams, Codec, DParams, Filter, SplitMode};
use serde_json::Value;

use crate::common::{assert_bytes_eq, golden_dir, sha256_hex, splitmix64_bytes};

fn manifest() -> Vec<Value> {
    let text =
        std::fs::read_to_string(golden_dir().join("MANIFEST.json")).expect("read MANIFEST.json");
    let v: Value = serde_json::from_str(&text).expect("parse MANIFEST.json");
    v["files"].as_array().expect("files").clone()
}

fn chunk_entries() -> Vec<Value> {
    manifest()
        .into_iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("chunk")))
        .collect()
}

fn hexbyte(v: &Value) -> u8 {
    let s = v.as_str().expect("hex string");
    u8::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

fn d1() -> Vec<u8> {
    (0..100_000i64)
        .flat_map(|i| (((7 * i) % 1000 + i / 1000) as i32).to_le_bytes())
        .collect()
}

/// Regenerates the inputs whose formulas are simple enough to restate here.
fn input(id: &str) -> Option<Vec<u8>> {
    Some(match id {
        "D1" => d1(),
        "D6" => splitmix64_bytes(6, 10007).repeat(9)[..90_000].to_vec(),
        "D9" => vec![0u8; 80_000],
        "D12" => splitmix64_bytes(12, 65_536),
        "D13" => d1()[..4000].to_vec(),
        "D14" => 3.5f64.to_le_bytes().repeat(5000),
        _ => return None,
    })
}

fn cparams_of(e: &Value) -> CParams {
    let codec = match e["codec"].as_str().expect("codec") {
        "blosclz" => Codec::BloscLz,
        "lz4" => Codec::Lz4,
        "lz4hc" => Codec::Lz4Hc,
        "zlib" => Codec::Zlib,
        "zstd" => Codec::Zstd,
        other => panic!("codec {other}"),
    };
    let filters: Vec<Filter> = e["filters"]
        .as_array()
        .expect("filters")
        .iter()
        .map(|f| Filter::from_id(f.as_u64().expect("id") as u8).expect("filter"))
        .collect();
    let mut meta = [0u8; 6];
    for (m, v) in meta
        .iter_mut()
        .zip(e["filters_meta"].as_array().expect("meta"))
    {
        *m = v.as_i64().expect("meta") as u8;
    }
    let split = match e["splitmode"].as_str().expect("splitmode") {
        "ALWAYS_SPLIT" => SplitMode::Always,
        "NEVER_SPLIT" => SplitMode::Never,
        "AUTO_SPLIT" => SplitMode::Auto,
        _ => SplitMode::ForwardCompat,
    };
    CParams::default()
        .with_codec(codec)
        .with_clevel(e["clevel"].as_u64().expect("clevel") as u8)
        .with_typesize(e["typesize"].as_u64().expect("typesize") as usize)
        .with_filters(filters)
        .with_filters_meta(meta)
        .with_splitmode(split)
        .with_blocksize(e["requested_blocksize"].as_u64().expect("bs") as usize)
}

#[test]
fn golden_chunk_headers_match_manifest() {
    let entries = chunk_entries();
    assert_eq!(entries.len(), 15, "15 golden chunks");
    for e in entries {
        let name = e["file"].as_str().expect("file");
        let bytes = std::fs::read(golden_dir().join(name)).expect("read chunk");
        let h = ChunkHeader::parse(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        let m = &e["chunk_header"];
        assert_eq!(
            u64::from(h.version),
            m["version"].as_u64().expect("v"),
            "{name}"
        );
        assert_eq!(h.flags, hexbyte(&m["flags"]), "{name}");
        assert_eq!(
            h.typesize as u64,
            m["typesize"].as_u64().expect("ts"),
            "{name}"
        );
        assert_eq!(
            h.nbytes as u64,
            m["nbytes"].as_u64().expect("nbytes"),
            "{name}"
        );
        assert_eq!(
            h.cbytes as u64,
            m["cbytes"].as_u64().expect("cbytes"),
            "{name}"
        );
        assert_eq!(h.cbytes, bytes.len(), "{name}");
        assert_eq!(h.blosc2_flags, hexbyte(&m["blosc2_flags"]), "{name}");
        let filters: Vec<u8> = m["filters"]
            .as_array()
            .expect("f")
            .iter()
            .map(|v| v.as_u64().expect("id") as u8)
            .collect();
        assert_eq!(h.filters.to_vec(), filters, "{name}");
    }
}

#[test]
fn golden_chunks_decode_to_manifest_sha256() {
    for e in chunk_entries() {
        let name = e["file"].as_str().expect("file");
        let bytes = std::fs::read(golden_dir().join(name)).expect("read chunk");
        let out = chunk::decompress(&bytes, &DParams::default())
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            out.len() as u64,
            e["decompressed"]["length"].as_u64().expect("len"),
            "{name}"
        );
        assert_eq!(
            sha256_hex(&out),
            e["decompressed"]["sha256"].as_str().expect("sha"),
            "{name}"
        );
        let par = chunk::decompress(&bytes, &DParams::default().with_nthreads(2))
            .expect("parallel decode");
        assert_bytes_eq(&par, &out, &format!("{name}: parallel decode"));
    }
}

#[test]
fn golden_chunks_item_ranges_match_whole_decode() {
    for e in chunk_entries() {
        let name = e["file"].as_str().expect("file");
        let bytes = std::fs::read(golden_dir().join(name)).expect("read chunk");
        let whole = chunk::decompress(&bytes, &DParams::default()).expect("decode");
        let ts = ChunkHeader::parse(&bytes).expect("header").typesize;
        let nitems = whole.len().div_ceil(ts);
        for (a, b) in [
            (0, 1),
            (0, nitems),
            (nitems / 3, nitems / 2),
            (nitems.saturating_sub(7), nitems),
            (nitems / 2, nitems / 2),
        ] {
            let mut out = vec![0u8; (b - a) * ts];
            let n = chunk::decompress_items_into(&bytes, a..b, &mut out)
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            let lo = a * ts;
            let hi = (b * ts).min(whole.len());
            assert_bytes_eq(&out[..n], &whole[lo..hi], &format!("{name} items {a}..{b}"));
        }
    }
}

#[test]
fn golden_specified_chunks_reencode_byte_identical() {
    let mut checked = 0;
    for e in chunk_entries() {
        let name = e["file"].as_str().expect("file");
        if e.get("codec").is_none() {
            continue;
        }
        let Some(src) = input(e["input"]["id"].as_str().expect("id")) else {
            continue;
        };
        assert_eq!(
            sha256_hex(&src),
            e["input"]["sha256"].as_str().expect("sha"),
            "{name}: regenerated input"
        );
        let expected = std::fs::read(golden_dir().join(name)).expect("read chunk");
        let cp = cparams_of(&e);
        let ours = chunk::compress(&cp, &src).expect("compress");
        assert_bytes_eq(&ours, &expected, &format!("{name}: re-encoded"));
        let ours_mt = chunk::compress(&cp.clone().with_nthreads(2), &src).expect("compress");
        assert_bytes_eq(&ours_mt, &expected, &format!("{name}: 2-thread re-encoded"));
        checked += 1;
    }
    assert_eq!(checked, 6, "c01, c06, c09, c12, c13, c14");
}
