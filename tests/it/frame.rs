//! Frames and super-chunks: every golden frame parses to what MANIFEST.json says
//! and decodes to its sha256; frames are rebuilt byte for byte; round trips;
//! python-blosc2 opens our frames and we open its frames (oracle); damaged
//! frames are errors, never panics.

use std::path::Path;

use b2frame::chunk::{ChunkHeader, SpecialValue};
use b2frame::frame::{cframe, sframe, ChunkOffset, Frame};
use b2frame::{CParams, Codec, DParams, Filter, SChunk, Storage};
use serde_json::Value;

use crate::common::{assert_bytes_eq, golden_dir, oracle, run_python, sha256_hex};

fn frame_entries() -> Vec<Value> {
    let text =
        std::fs::read_to_string(golden_dir().join("MANIFEST.json")).expect("read MANIFEST.json");
    let v: Value = serde_json::from_str(&text).expect("parse MANIFEST.json");
    v["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|e| e["file"].as_str().is_some_and(|f| f.starts_with('f')))
        .cloned()
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn hexbyte(v: &Value) -> u8 {
    u8::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

fn path_of(e: &Value) -> std::path::PathBuf {
    golden_dir().join(e["file"].as_str().expect("file").trim_end_matches('/'))
}

/// Parses a golden frame (cframe file or sframe directory) and returns it with its chunks.
fn parse_golden(path: &Path) -> (Frame, Vec<Vec<u8>>) {
    if path.is_dir() {
        let idx = std::fs::read(path.join(sframe::INDEX_FILE)).expect("read index");
        let f = sframe::parse(&idx).expect("parse sframe");
        let chunks = f
            .offsets
            .iter()
            .enumerate()
            .map(|(i, o)| match *o {
                ChunkOffset::Stored(id) => {
                    std::fs::read(path.join(sframe::chunk_file_name(id))).expect("chunk file")
                }
                ChunkOffset::Special(k) => f.special_chunk(i, k).expect("special"),
            })
            .collect();
        (f, chunks)
    } else {
        let buf = std::fs::read(path).expect("read frame");
        let f = cframe::parse(&buf).expect("parse cframe");
        let chunks = (0..f.nchunks())
            .map(|i| cframe::chunk(&buf, &f, i).expect("chunk").into_owned())
            .collect();
        (f, chunks)
    }
}

#[test]
fn golden_frames_match_manifest() {
    let entries = frame_entries();
    assert_eq!(entries.len(), 7);
    for e in &entries {
        let name = e["file"].as_str().expect("file");
        let (f, chunks) = parse_golden(&path_of(e));
        let m = &e["frame_header"];
        let h = &f.header;
        assert_eq!(
            h.header_len as u64,
            m["header_len"].as_u64().expect("u64"),
            "{name}"
        );
        assert_eq!(h.frame_len, m["frame_len"].as_u64().expect("u64"), "{name}");
        assert_eq!(h.general_flags, hexbyte(&m["general_flags"]), "{name}");
        assert_eq!(
            u64::from(h.frame_type),
            m["frame_type"].as_u64().expect("u64"),
            "{name}"
        );
        let codec_flags = hexbyte(&m["codec_flags"]);
        assert_eq!(
            (h.clevel, h.codec_id.min(6)),
            (codec_flags >> 4, codec_flags & 15),
            "{name}"
        );
        assert_eq!(h.splitmode - 1, hexbyte(&m["other_flags"]) & 3, "{name}");
        assert_eq!(h.nbytes, m["nbytes"].as_u64().expect("u64"), "{name}");
        assert_eq!(h.cbytes, m["cbytes"].as_u64().expect("u64"), "{name}");
        assert_eq!(
            h.typesize as u64,
            m["typesize"].as_u64().expect("u64"),
            "{name}"
        );
        assert_eq!(
            i64::from(h.blocksize),
            m["blocksize"].as_i64().expect("i64"),
            "{name}"
        );
        assert_eq!(
            i64::from(h.chunksize),
            m["chunksize"].as_i64().expect("i64"),
            "{name}"
        );
        assert_eq!(
            i64::from(h.nthreads_c),
            m["nthreads_c"].as_i64().expect("i64"),
            "{name}"
        );
        assert_eq!(
            i64::from(h.nthreads_d),
            m["nthreads_d"].as_i64().expect("i64"),
            "{name}"
        );
        assert_eq!(
            h.has_vlmeta,
            m["has_vlmeta"].as_bool().expect("bool"),
            "{name}"
        );
        assert_eq!(
            u64::from(h.codec_id),
            m["compcode"].as_u64().expect("u64"),
            "{name}"
        );
        let ids: Vec<u64> = h.filters.iter().map(|&x| u64::from(x)).collect();
        let want: Vec<u64> = m["filters"]
            .as_array()
            .expect("filters")
            .iter()
            .map(|v| v.as_u64().expect("u64"))
            .collect();
        assert_eq!(ids, want, "{name}");
        assert_eq!(h.filters_meta, [0; 6], "{name}");
        assert_eq!(f.trailer_version, 1, "{name}");
        let nchunks = e["nchunks"].as_u64().expect("nchunks") as usize;
        assert_eq!(f.nchunks(), nchunks, "{name}");
        if let Some(cs) = e["chunks"].as_array() {
            for (i, (c, want)) in chunks.iter().zip(cs).enumerate() {
                let ch = ChunkHeader::parse(c).expect("chunk header");
                assert_eq!(
                    ch.nbytes as u64,
                    want["nbytes"].as_u64().expect("u64"),
                    "{name} chunk {i}"
                );
                assert_eq!(
                    ch.cbytes as u64,
                    want["cbytes"].as_u64().expect("u64"),
                    "{name} chunk {i}"
                );
                assert_eq!(ch.flags, hexbyte(&want["flags"]), "{name} chunk {i}");
                assert_eq!(
                    ch.blosc2_flags,
                    hexbyte(&want["blosc2_flags"]),
                    "{name} chunk {i}"
                );
            }
        }
        if let Some(raw) = e["metalayers_raw_hex"].as_object() {
            let names: Vec<&str> = f.metalayers.iter().map(|(n, _)| n.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                raw.keys().map(String::as_str).collect::<Vec<_>>(),
                "{name}"
            );
            for (k, v) in raw {
                assert_eq!(
                    hex(f.metalayer(k).expect("metalayer")),
                    v.as_str().expect("hex"),
                    "{name} {k}"
                );
            }
        }
        if let Some(b2nd) = e["b2nd_metalayer_hex"].as_str() {
            assert_eq!(
                hex(f.metalayer("b2nd").expect("b2nd metalayer")),
                b2nd,
                "{name}"
            );
        }
        if let Some(vl) = e["vlmeta_msgpack_hex"].as_object() {
            let sc = SChunk::open(path_of(e)).expect("open");
            let mut names = sc.vlmeta_names();
            names.sort_unstable();
            assert_eq!(
                names,
                vl.keys().map(String::as_str).collect::<Vec<_>>(),
                "{name}"
            );
            for (k, v) in vl {
                let content = sc
                    .vlmeta(k)
                    .expect("vlmeta decodes")
                    .expect("vlmeta exists");
                assert_eq!(hex(&content), v.as_str().expect("hex"), "{name} {k}");
            }
        }
    }
}

#[test]
fn golden_frames_decode_to_manifest_sha256() {
    for e in frame_entries() {
        let name = e["file"].as_str().expect("file");
        let sc = SChunk::open(path_of(&e)).expect("open");
        let want = e["decompressed"]["all_chunks_concatenated_sha256"]
            .as_str()
            .or(e["decompressed"]["sha256"].as_str())
            .expect("sha256");
        let got = sc.read(0..sc.nitems()).map(|b| sha256_hex(&b));
        match got {
            Ok(sha) => assert_eq!(sha, want, "{name}: sha256"),
            Err(err) => panic!("{name}: {err}"),
        }
    }
}

#[test]
fn golden_frames_rebuild_byte_for_byte() {
    // Through the SChunk: open, then serialise again. f02 is a directory whose chunk ids
    // were allocated out of order by inserts; its index file is rebuilt from its parts.
    for e in frame_entries() {
        let name = e["file"].as_str().expect("file");
        let path = path_of(&e);
        if path.is_dir() {
            let idx = std::fs::read(path.join(sframe::INDEX_FILE)).expect("read");
            let f = sframe::parse(&idx).expect("parse");
            let raw: Vec<i64> = f.offsets.iter().map(|o| o.to_raw()).collect();
            let again = b2frame::frame::write_frame(&f.header, &f.metalayers, &[], &raw, &f.vlmeta)
                .expect("write");
            assert_bytes_eq(&again, &idx, name);
            continue;
        }
        let buf = std::fs::read(&path).expect("read");
        let again = SChunk::open(&path)
            .expect("open")
            .to_cframe()
            .expect("to_cframe");
        assert_bytes_eq(&again, &buf, name);
    }
}

fn sample_schunk(sparse: bool) -> (SChunk, Vec<u8>) {
    let cparams = CParams::default()
        .with_codec(Codec::Zstd)
        .with_clevel(5)
        .with_typesize(4)
        .with_nthreads(1);
    let storage = Storage::default()
        .with_chunksize(40_000)
        .with_sparse(sparse)
        .with_meta("m1", vec![0x7b])
        .with_meta("name", b"\xa6golden".to_vec());
    let mut sc = SChunk::with_storage(cparams, DParams::default(), &storage).expect("new");
    let mut data: Vec<u8> = (0..10_000i32)
        .flat_map(|i| (i * 7 % 1000).to_le_bytes())
        .collect();
    data.extend_from_slice(&[0u8; 40_000]);
    data.extend((0..15_000i32).flat_map(|i| (i / 3).to_le_bytes()));
    // Unaligned appends: 3 full chunks (one of zeros) and a partial one.
    for piece in data.chunks(12_344) {
        sc.append(piece).expect("append");
    }
    sc.set_vlmeta("info", &unhex("82a16101a162a474657874"))
        .expect("vlmeta"); // {"a": 1, "b": "text"}
                           // ("x", (1, 2), [3.5, None]) with python-blosc2's tuple convention.
    sc.set_vlmeta("tup", &unhex(TUP_HEX)).expect("vlmeta");
    (sc, data)
}

const TUP_HEX: &str = "94a95f5f7475706c655f5fa17893a95f5f7475706c655f5f010292cb400c000000000000c0";

#[test]
fn schunk_round_trips_through_cframe_and_sframe() {
    let (sc, data) = sample_schunk(false);
    assert_eq!((sc.nchunks(), sc.nbytes()), (4, 140_000));
    let f = sc.to_cframe().expect("to_cframe");
    let parsed = cframe::parse(&f).expect("parse");
    assert_eq!(parsed.offsets[1], ChunkOffset::Special(SpecialValue::Zeros));
    let back = SChunk::from_cframe(&f).expect("from_cframe");
    assert_eq!(back.read(0..back.nitems()).expect("read"), data);
    assert_eq!(back.to_cframe().expect("again"), f);
    assert_eq!(back.vlmeta("tup").expect("vlmeta"), Some(unhex(TUP_HEX)));
    // Appending to a reopened frame completes its partial last chunk.
    let mut more = back.clone();
    more.append(&data[..8]).expect("append");
    assert_eq!(more.nchunks(), 4);
    assert_eq!(
        more.read(34_999..35_002).expect("read"),
        [&data[139_996..], &data[..8]].concat()
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let (sp, _) = sample_schunk(true);
    let p = dir.path().join("s.b2frame");
    sp.save(&p).expect("save sframe");
    // Chunks 0, 2, 3 are stored as files 0, 1, 2; the zero chunk has no file.
    assert!(p.join("chunks.b2frame").exists() && p.join("00000002.chunk").exists());
    assert!(
        !p.join("00000003.chunk").exists(),
        "the zero chunk has no file"
    );
    let re = SChunk::open(&p).expect("open sframe");
    assert!(re.is_sparse());
    assert_eq!(re.read(0..re.nitems()).expect("read"), data);
    assert_eq!(re.metalayer("name"), Some(&b"\xa6golden"[..]));
}

#[test]
fn x_truncated_frames_are_errors() {
    let (sc, _) = sample_schunk(false);
    let mut frames = vec![sc.to_cframe().expect("to_cframe")];
    for name in [
        "f01_cframe_meta_vlmeta.b2frame",
        "f07_empty.b2frame",
        "f06_pack_tensor_1d_i8.b2frame",
    ] {
        frames.push(std::fs::read(golden_dir().join(name)).expect("read"));
    }
    for f in &frames {
        for cut in 0..f.len() {
            assert!(
                SChunk::from_cframe(&f[..cut]).is_err(),
                "cut at {cut} of {}",
                f.len()
            );
        }
    }
}

#[test]
fn x_flipped_frame_headers_and_trailers_never_panic() {
    let (sc, _) = sample_schunk(false);
    let mut frames = vec![sc.to_cframe().expect("to_cframe")];
    frames.push(std::fs::read(golden_dir().join("f01_cframe_meta_vlmeta.b2frame")).expect("read"));
    for f in &frames {
        let parsed = cframe::parse(f).expect("parse");
        let hl = parsed.header.header_len;
        let index_start = hl + parsed.header.cbytes as usize;
        let positions: Vec<usize> = (0..hl).chain(index_start..f.len()).collect();
        for &i in &positions {
            for mask in [0x01u8, 0x80, 0xff, 0x10] {
                let mut b = f.clone();
                b[i] ^= mask;
                if let Ok(s) = SChunk::from_cframe(&b) {
                    let _ = s.read(0..s.nitems());
                    for name in s.vlmeta_names() {
                        let _ = s.vlmeta(name);
                    }
                }
            }
        }
    }
}

/// python-blosc2 describes a frame: sizes, sha256 of the content, metalayers and vlmeta (repr).
const DESCRIBE: &str = r#"
import sys, json, hashlib, blosc2
s = blosc2.open(sys.argv[1])
data = s[:] if s.nbytes else b""
print(json.dumps(dict(nchunks=s.nchunks, nbytes=s.nbytes, typesize=s.typesize, chunksize=s.chunksize,
    sha=hashlib.sha256(data).hexdigest(),
    meta={k: repr(s.meta[k]) for k in s.meta.keys()},
    vlmeta={k: repr(v) for k, v in s.vlmeta.getall().items()})))
"#;

fn describe(py: &str, path: &Path) -> Value {
    let out = run_python(py, DESCRIBE, &[path.to_str().expect("utf-8 path")]);
    serde_json::from_slice(&out).expect("json")
}

#[test]
fn oracle_python_opens_our_frames() {
    let Some(py) = oracle() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    for sparse in [false, true] {
        let (sc, data) = sample_schunk(sparse);
        let p = dir.path().join(format!("ours{sparse}.b2frame"));
        sc.save(&p).expect("save");
        let d = describe(&py, &p);
        assert_eq!(d["nchunks"], 4);
        assert_eq!(d["nbytes"], 140_000);
        assert_eq!(d["chunksize"], 40_000);
        assert_eq!(d["typesize"], 4);
        assert_eq!(d["sha"], sha256_hex(&data));
        assert_eq!(d["meta"]["m1"], "123");
        assert_eq!(d["meta"]["name"], "'golden'");
        assert_eq!(d["vlmeta"]["info"], "{'a': 1, 'b': 'text'}");
        assert_eq!(d["vlmeta"]["tup"], "('x', (1, 2), [3.5, None])");
    }
    // An empty frame, and 2.5 chunks whose last two are zeros.
    let cp = CParams::default()
        .with_typesize(8)
        .with_filters([Filter::Shuffle]);
    let empty = SChunk::with_storage(
        cp.clone(),
        DParams::default(),
        &Storage::default().with_chunksize(800),
    )
    .expect("new");
    let p = dir.path().join("empty.b2frame");
    empty.save(&p).expect("save");
    let d = describe(&py, &p);
    assert_eq!(
        (d["nchunks"].as_u64(), d["nbytes"].as_u64()),
        (Some(0), Some(0))
    );
    let mut z = SChunk::with_storage(
        cp,
        DParams::default(),
        &Storage::default().with_chunksize(800),
    )
    .expect("new");
    let data: Vec<u8> = (0..100u64)
        .flat_map(u64::to_le_bytes)
        .chain(vec![0u8; 1200])
        .collect();
    z.append(&data).expect("append");
    let p = dir.path().join("zero.b2frame");
    z.save(&p).expect("save");
    let f = cframe::parse(&std::fs::read(&p).expect("read")).expect("parse");
    assert_eq!(f.offsets[2], ChunkOffset::Special(SpecialValue::Zeros));
    let d = describe(&py, &p);
    assert_eq!(d["nchunks"], 3);
    assert_eq!(d["sha"], sha256_hex(&data));
}

/// python-blosc2 writes the frames of `oracle_python_opens_our_frames` (argv: directory).
const WRITE: &str = r#"
import sys, os, numpy as np, blosc2
d = sys.argv[1]
data = np.concatenate([np.arange(10000, dtype='<i4') * 7 % 1000, np.zeros(10000, '<i4'),
                       np.arange(15000, dtype='<i4') // 3])
for contiguous, name in [(True, 'theirs.b2frame'), (False, 'theirs_dir.b2frame')]:
    s = blosc2.SChunk(chunksize=40000, data=data, urlpath=os.path.join(d, name), contiguous=contiguous, mode='w',
                      cparams=dict(typesize=4, codec=blosc2.Codec.ZSTD, clevel=5, nthreads=1),
                      dparams=dict(nthreads=1), meta={'m1': 123, 'name': 'golden'})
    s.vlmeta['info'] = {'a': 1, 'b': 'text'}
    s.vlmeta['tup'] = ('x', (1, 2), [3.5, None])
s = blosc2.SChunk(chunksize=800, urlpath=os.path.join(d, 'empty.b2frame'), contiguous=True, mode='w',
                  cparams=dict(typesize=8, nthreads=1))
z = np.concatenate([np.arange(100, dtype='<u8'), np.zeros(150, '<u8')])
s = blosc2.SChunk(chunksize=800, data=z, urlpath=os.path.join(d, 'zero.b2frame'), contiguous=True, mode='w',
                  cparams=dict(typesize=8, nthreads=1))
"#;

#[test]
fn oracle_we_open_python_frames() {
    let Some(py) = oracle() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    run_python(&py, WRITE, &[dir.path().to_str().expect("utf-8")]);
    let (ours, data) = sample_schunk(false);
    for name in ["theirs.b2frame", "theirs_dir.b2frame"] {
        let sc = SChunk::open(dir.path().join(name)).expect("open");
        assert_eq!(
            (sc.nchunks(), sc.nbytes(), sc.chunksize()),
            (4, 140_000, 40_000),
            "{name}"
        );
        assert_eq!(sc.read(0..sc.nitems()).expect("read"), data, "{name}");
        assert_eq!(
            sc.read(12_345..23_456).expect("read"),
            data[12_345 * 4..23_456 * 4],
            "{name}"
        );
        assert_eq!(sc.metalayers(), ours.metalayers(), "{name}");
        for k in ["info", "tup"] {
            assert_eq!(
                sc.vlmeta(k).expect("vlmeta"),
                ours.vlmeta(k).expect("ours"),
                "{name} {k}"
            );
        }
        assert_eq!(sc.is_sparse(), name.ends_with("_dir.b2frame"));
    }
    // The contiguous frame python wrote is what we write for the same content.
    let theirs = std::fs::read(dir.path().join("theirs.b2frame")).expect("read");
    let reopened = SChunk::open(dir.path().join("theirs.b2frame")).expect("open");
    assert_bytes_eq(
        &reopened.to_cframe().expect("to_cframe"),
        &theirs,
        "python frame re-serialised",
    );
    assert_bytes_eq(
        &ours.to_cframe().expect("to_cframe"),
        &theirs,
        "same content built by b2frame",
    );

    let e = SChunk::open(dir.path().join("empty.b2frame")).expect("open empty");
    assert_eq!((e.nchunks(), e.nbytes()), (0, 0));
    let z = SChunk::open(dir.path().join("zero.b2frame")).expect("open zero");
    let want: Vec<u8> = (0..100u64)
        .flat_map(u64::to_le_bytes)
        .chain(vec![0u8; 1200])
        .collect();
    assert_eq!(z.read(0..z.nitems()).expect("read"), want);
    let f = cframe::parse(&std::fs::read(dir.path().join("zero.b2frame")).expect("read"))
        .expect("parse");
    assert_eq!(f.offsets[2], ChunkOffset::Special(SpecialValue::Zeros));
}
