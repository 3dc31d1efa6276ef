//! Chunk-level oracle: python-blosc2 (pinned) reads every chunk we write and
//! we read every chunk it writes, over codec × filters × typesize × clevel ×
//! odd sizes × data shapes. BloscLZ and memcpy/special chunks must be
//! byte-identical; for the other codecs the header decisions (flags,
//! blocksize, split) must be. Known C-Blosc2 defects are named per case.

use b2frame::chunk::{self, ChunkHeader};
use b2frame::{CParams, Codec, DParams, Filter, SplitMode};
use serde_json::{json, Value};

use crate::common::{assert_bytes_eq, oracle, run_python, splitmix64_bytes};

const SCRIPT: &str = r#"
import sys, json, blosc2
d = sys.argv[1]
cases = json.load(open(d + "/cases.json"))
raw = open(d + "/raw.bin", "rb").read()
ours = open(d + "/ours.bin", "rb").read()
theirs = bytearray()
results = []
for c in cases:
    src = raw[c["raw"][0]:c["raw"][0] + c["raw"][1]]
    mine = ours[c["ours"][0]:c["ours"][0] + c["ours"][1]]
    try:
        back = blosc2.decompress2(mine, nthreads=1)
        read = {"ok": True, "equal": bytes(back) == src, "len": len(back), "back_at": len(theirs)}
        theirs_back = bytes(back)
    except Exception as e:
        read = {"ok": False, "err": str(e)}
        theirs_back = b""
    tc = blosc2.compress2(src, typesize=c["typesize"], codec=blosc2.Codec(c["codec"]), clevel=c["clevel"],
                          filters=[blosc2.Filter(f) for f in c["filters"]], filters_meta=c["filters_meta"],
                          splitmode=blosc2.SplitMode(c["splitmode"]), blocksize=c["blocksize"], nthreads=1)
    results.append({"read": read, "theirs": [len(theirs) + len(theirs_back), len(tc)]})
    theirs += theirs_back
    theirs += tc
open(d + "/theirs.bin", "wb").write(theirs)
json.dump(results, open(d + "/results.json", "w"))
"#;

/// Data shapes from the issue: constant, arange, random walk, small random, incompressible.
fn data(kind: usize, ts: usize, nbytes: usize, seed: u64) -> Vec<u8> {
    let noise = splitmix64_bytes(seed, nbytes + 8);
    let mut out = Vec::with_capacity(nbytes + 16);
    let mut walk: i64 = 1_000;
    let mut i: u64 = 0;
    while out.len() < nbytes {
        let v: u64 = match kind {
            0 => 0x0102_0304_0506_0708,
            1 => i,
            2 => {
                walk += i64::from(noise[i as usize % noise.len()] % 7) - 3;
                walk as u64
            }
            3 => u64::from(noise[i as usize % noise.len()] % 4),
            _ => u64::from_le_bytes(
                noise[(i as usize * 8) % (noise.len() - 8)..][..8]
                    .try_into()
                    .expect("8"),
            ),
        };
        let bytes = v.to_le_bytes();
        for k in 0..ts {
            out.push(if kind == 4 {
                noise[(out.len()) % noise.len()]
            } else {
                bytes[k % 8]
            });
        }
        i += 1;
    }
    out.truncate(nbytes);
    out
}

struct Case {
    cp: CParams,
    src: Vec<u8>,
    ours: Vec<u8>,
    label: String,
}

fn filter_sets(ts: usize) -> Vec<(Vec<Filter>, [u8; 6])> {
    let mut v = vec![
        (vec![Filter::NoFilter], [0; 6]),
        (vec![Filter::Shuffle], [0; 6]),
        (vec![Filter::BitShuffle], [0; 6]),
        (vec![Filter::Delta, Filter::Shuffle], [0; 6]),
        (
            vec![Filter::Shuffle, Filter::ByteDelta],
            [0, ts as u8, 0, 0, 0, 0],
        ),
    ];
    if ts == 4 || ts == 8 {
        v.push((
            vec![Filter::TruncPrec, Filter::Shuffle],
            [10, 0, 0, 0, 0, 0],
        ));
    }
    v
}

fn build_cases(codecs: &[Codec]) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut seed = 1u64;
    for &codec in codecs {
        for ts in [1usize, 2, 3, 4, 8, 12, 16] {
            for (filters, meta) in filter_sets(ts) {
                if ts == 1 && filters.contains(&Filter::ByteDelta) {
                    continue; // python-blosc2 turns bytedelta into nofilter at typesize 1
                }
                for clevel in [0u8, 1, 5, 9] {
                    let cp = CParams::default()
                        .with_codec(codec)
                        .with_clevel(clevel)
                        .with_typesize(ts)
                        .with_filters(filters.clone())
                        .with_filters_meta(meta)
                        .with_splitmode(SplitMode::Auto);
                    let bs = chunk::blocksize_for(&cp, 1 << 21).min(64 * 1024 * ts);
                    let cp = cp.with_blocksize(if clevel == 9 { bs } else { 0 });
                    let sizes = [0, ts, ts.saturating_sub(1), bs, bs + ts, 3 * bs + 5];
                    for (si, nbytes) in sizes.into_iter().enumerate() {
                        seed += 1;
                        let kind = (seed as usize + si) % 5;
                        let src = data(kind, ts, nbytes, seed);
                        let ours = chunk::compress(&cp, &src).expect("compress");
                        let label = format!(
                            "{}/{:?}/ts{ts}/cl{clevel}/{nbytes}B/data{kind}",
                            codec.name(),
                            filters.iter().map(|f| f.name()).collect::<Vec<_>>()
                        );
                        cases.push(Case {
                            cp: cp.clone(),
                            src,
                            ours,
                            label,
                        });
                    }
                }
            }
        }
    }
    cases
}

/// Where C-Blosc2 3.3.5 cannot read back even its own output (docs/COMPATIBILITY.md).
fn c_defect(case: &Case) -> Option<&'static str> {
    let partial = case.cp.typesize > 1 && !case.src.len().is_multiple_of(case.cp.typesize);
    let delta = case.cp.filters.contains(&Filter::Delta);
    let trunc = case.cp.filters.contains(&Filter::TruncPrec);
    if partial && delta {
        return Some("delta with a trailing partial item: C leaves the tail bytes unwritten");
    }
    if partial && trunc {
        return Some("trunc_prec with a trailing partial item: C leaves the tail bytes unwritten");
    }
    None
}

fn run(codecs: &[Codec], byte_identical: bool) {
    let Some(py) = oracle() else { return };
    let cases = build_cases(codecs);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut raw, mut ours, mut meta) = (Vec::new(), Vec::new(), Vec::new());
    for c in &cases {
        meta.push(json!({
            "raw": [raw.len(), c.src.len()], "ours": [ours.len(), c.ours.len()],
            "typesize": c.cp.typesize, "codec": c.cp.codec.id(), "clevel": c.cp.clevel,
            "filters": c.cp.filters.iter().map(|f| f.id()).collect::<Vec<_>>(),
            "filters_meta": c.cp.filters_meta, "splitmode": c.cp.splitmode.value(),
            "blocksize": c.cp.blocksize,
        }));
        raw.extend_from_slice(&c.src);
        ours.extend_from_slice(&c.ours);
    }
    std::fs::write(
        dir.path().join("cases.json"),
        serde_json::to_vec(&meta).expect("json"),
    )
    .expect("write");
    std::fs::write(dir.path().join("raw.bin"), &raw).expect("write");
    std::fs::write(dir.path().join("ours.bin"), &ours).expect("write");
    run_python(&py, SCRIPT, &[dir.path().to_str().expect("utf8")]);
    let results: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).expect("read"))
            .expect("json");
    let theirs = std::fs::read(dir.path().join("theirs.bin")).expect("read");
    let (mut identical, mut defects) = (0, 0);
    for (c, r) in cases.iter().zip(&results) {
        let lossless = !c.cp.filters.contains(&Filter::TruncPrec);
        let ours_back =
            chunk::decompress(&c.ours, &DParams::default()).expect("we read our own chunk");
        if lossless {
            assert_bytes_eq(&ours_back, &c.src, &format!("{}: our round trip", c.label));
        }
        let at = r["theirs"][0].as_u64().expect("at") as usize;
        let len = r["theirs"][1].as_u64().expect("len") as usize;
        let tc = &theirs[at..at + len];
        let defect = c_defect(c);
        // Python reads ours.
        let read = &r["read"];
        match defect {
            Some(_) => defects += 1,
            None => {
                assert!(
                    read["ok"].as_bool().expect("ok"),
                    "{}: python-blosc2 failed to read ours: {}",
                    c.label,
                    read["err"]
                );
                let back_at = read["back_at"].as_u64().expect("back") as usize;
                let back = &theirs[back_at..back_at + read["len"].as_u64().expect("len") as usize];
                assert_bytes_eq(
                    back,
                    &ours_back,
                    &format!("{}: python-blosc2 read of ours", c.label),
                );
            }
        }
        // We read theirs.
        let theirs_back = chunk::decompress(tc, &DParams::default()).unwrap_or_else(|e| {
            panic!("{}: we failed to read python-blosc2's chunk: {e}", c.label)
        });
        if defect.is_none() {
            if lossless {
                assert_bytes_eq(
                    &theirs_back,
                    &c.src,
                    &format!("{}: our read of theirs", c.label),
                );
            } else {
                assert_bytes_eq(
                    &theirs_back,
                    &ours_back,
                    &format!("{}: trunc_prec output", c.label),
                );
            }
            let (ho, ht) = (
                ChunkHeader::parse(&c.ours).expect("ours"),
                ChunkHeader::parse(tc).expect("theirs"),
            );
            let forced =
                byte_identical || c.cp.clevel == 0 || c.src.len() < 32 || ht.special().is_some();
            if forced {
                assert_bytes_eq(&c.ours, tc, &format!("{}: chunk bytes vs C", c.label));
                identical += 1;
            } else if !ht.is_memcpyed() && !ho.is_memcpyed() {
                assert_eq!(ho.blocksize, ht.blocksize, "{}: blocksize", c.label);
                assert_eq!(ho.flags, ht.flags, "{}: flags", c.label);
                assert_eq!(ho.filters, ht.filters, "{}: filters", c.label);
            }
        }
    }
    eprintln!(
        "{} cases: {identical} byte-identical, {defects} C defects named",
        cases.len()
    );
    assert!(cases.len() > 500);
}

#[test]
fn oracle_chunks_blosclz_byte_identical_both_ways() {
    run(&[Codec::BloscLz], true);
}

#[test]
fn oracle_chunks_lz4_lz4hc_both_ways() {
    run(&[Codec::Lz4, Codec::Lz4Hc], false);
}

#[test]
fn oracle_chunks_zlib_zstd_both_ways() {
    run(&[Codec::Zlib, Codec::Zstd], false);
}

#[test]
fn oracle_multithreaded_c_chunks_decode() {
    // C with nthreads > 1 writes blocks in completion order: bstarts need not increase.
    let Some(py) = oracle() else { return };
    let script = r#"
import sys, blosc2, numpy as np
a = (np.arange(3_000_000, dtype=np.int64) * 7 // 3).tobytes()
out = bytearray()
for codec in [blosc2.Codec.BLOSCLZ, blosc2.Codec.LZ4, blosc2.Codec.ZSTD]:
    for filt in [blosc2.Filter.SHUFFLE, blosc2.Filter.DELTA]:
        c = blosc2.compress2(a, typesize=8, codec=codec, clevel=5, filters=[filt, blosc2.Filter.SHUFFLE], blocksize=65536, nthreads=4)
        out += len(c).to_bytes(4, "little") + c
sys.stdout.buffer.write(out)
"#;
    let blob = run_python(&py, script, &[]);
    let want: Vec<u8> = (0..3_000_000i64)
        .flat_map(|i| (i * 7 / 3).to_le_bytes())
        .collect();
    let mut at = 0;
    let mut n = 0;
    while at < blob.len() {
        let len = u32::from_le_bytes(blob[at..at + 4].try_into().expect("4")) as usize;
        let c = &blob[at + 4..at + 4 + len];
        at += 4 + len;
        let back = chunk::decompress(c, &DParams::default().with_nthreads(2)).expect("decode");
        assert_bytes_eq(&back, &want, &format!("multithreaded C chunk {n}"));
        let mut part = vec![0u8; 8 * 1000];
        chunk::decompress_items_into(c, 2_000_000..2_001_000, &mut part).expect("items");
        assert_bytes_eq(
            &part,
            &want[16_000_000..16_008_000],
            &format!("items of multithreaded C chunk {n}"),
        );
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn oracle_zstd_dictionary_chunks_decode_and_lz4_ones_are_named() {
    let Some(py) = oracle() else { return };
    let script = r#"
import sys, blosc2, numpy as np
out = bytearray()
for ts, arr in [(8, np.arange(200_000, dtype=np.int64) * 7 // 3), (4, (np.arange(300_000) % 977).astype(np.int32)), (1, np.frombuffer(b"the quick brown fox " * 40_000, dtype=np.uint8))]:
    raw = arr.tobytes()
    for codec in [blosc2.Codec.ZSTD, blosc2.Codec.LZ4]:
        c = blosc2.compress2(raw, typesize=ts, codec=codec, clevel=5, use_dict=True, nthreads=1)
        out += len(raw).to_bytes(4, "little") + raw + len(c).to_bytes(4, "little") + c
sys.stdout.buffer.write(out)
"#;
    let blob = run_python(&py, script, &[]);
    let (mut at, mut zstd, mut lz4) = (0, 0, 0);
    while at < blob.len() {
        let rl = u32::from_le_bytes(blob[at..at + 4].try_into().expect("4")) as usize;
        let raw = &blob[at + 4..at + 4 + rl];
        at += 4 + rl;
        let cl = u32::from_le_bytes(blob[at..at + 4].try_into().expect("4")) as usize;
        let c = &blob[at + 4..at + 4 + cl];
        at += 4 + cl;
        let h = ChunkHeader::parse(c).expect("header");
        assert!(h.has_dict(), "python wrote a dictionary");
        match h.codec_id {
            5 => {
                let back = chunk::decompress(c, &DParams::default()).expect("zstd dict chunk");
                assert_bytes_eq(&back, raw, "zstd dictionary chunk");
                let mut part = vec![0u8; 64];
                let n = chunk::decompress_items_into(c, 100..108, &mut part).expect("items");
                let ts = h.typesize;
                assert_bytes_eq(
                    &part[..n],
                    &raw[100 * ts..108 * ts],
                    "zstd dictionary chunk items",
                );
                zstd += 1;
            }
            _ => {
                let Err(err) = chunk::decompress(c, &DParams::default()) else {
                    panic!("lz4 dict decoded")
                };
                assert!(err.to_string().contains("dictionary"), "{err}");
                lz4 += 1;
            }
        }
    }
    assert_eq!((zstd, lz4), (3, 3));
}
