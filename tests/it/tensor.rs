//! N-d arrays, packed tensors and `.npy`: golden b2nd/tensor files decode to
//! their MANIFEST.json sha256 and are rebuilt byte for byte; slices match a
//! reference slicer and decode only the chunks they touch; python-blosc2 and
//! numpy read ours and we read theirs (oracle); a packed tensor above 2^31
//! bytes is written and read without materialising it.

// 1-D slices are one-element arrays of ranges.
#![allow(clippy::single_range_in_vec_init)]

use std::ops::Range;

use b2frame::npy;
use b2frame::tensor::{
    load_tensor, pack_tensor, save_tensor, unpack_tensor, DType, NdArray, NdMeta, PackedTensor,
    TensorWriter,
};
use b2frame::{CParams, Codec, Filter};
use proptest::prelude::*;
use serde_json::Value;

use crate::common::{assert_bytes_eq, golden_dir, oracle, run_python, sha256_hex};

fn entry(prefix: &str) -> Value {
    let text = std::fs::read_to_string(golden_dir().join("MANIFEST.json")).expect("manifest");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|e| e["file"].as_str().is_some_and(|f| f.starts_with(prefix)))
        .cloned()
        .expect("manifest entry")
}

fn f04_input() -> Vec<u8> {
    (0..50i32)
        .flat_map(|r| (0..37i32).map(move |c| 1000 * r + c))
        .flat_map(i32::to_le_bytes)
        .collect()
}

fn f05_input() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..5 {
        for j in 0..9 {
            for k in 0..13 {
                let v = (f64::from(i) * 100.0 + f64::from(j) * 10.0 + f64::from(k) * 0.5) as f32;
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

/// The items of `ranges` of a C-order array, the slow way.
fn reference_slice(data: &[u8], shape: &[usize], item: usize, ranges: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::new();
    let nd = shape.len();
    if ranges.iter().any(|r| r.is_empty()) {
        return out;
    }
    let mut idx: Vec<usize> = ranges.iter().map(|r| r.start).collect();
    loop {
        let mut lin = 0;
        for k in 0..nd {
            lin = lin * shape[k] + idx[k];
        }
        out.extend_from_slice(&data[lin * item..(lin + 1) * item]);
        let mut d = nd;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < ranges[d].end {
                break;
            }
            idx[d] = ranges[d].start;
        }
    }
}

#[test]
fn golden_b2nd_files_decode_and_rebuild_byte_for_byte() {
    let cases: [(&str, Vec<u8>, CParams); 2] = [
        (
            "f04",
            f04_input(),
            CParams::default()
                .with_codec(Codec::BloscLz)
                .with_clevel(5)
                .with_filters([
                    Filter::NoFilter,
                    Filter::NoFilter,
                    Filter::NoFilter,
                    Filter::NoFilter,
                    Filter::NoFilter,
                    Filter::Shuffle,
                ]),
        ),
        (
            "f05",
            f05_input(),
            CParams::default()
                .with_codec(Codec::Lz4)
                .with_clevel(7)
                .with_filters([Filter::BitShuffle]),
        ),
    ];
    for (prefix, input, cparams) in cases {
        let e = entry(prefix);
        let name = e["file"].as_str().expect("file");
        let path = golden_dir().join(name);
        let a = NdArray::open(&path).expect("open");
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|v| v.as_u64().expect("dim") as usize)
            .collect();
        assert_eq!(a.shape(), shape.as_slice(), "{name}");
        assert_eq!(a.dtype().to_string(), e["dtype"].as_str().expect("dtype"));
        assert_eq!(
            a.meta().extchunks(),
            e["extchunkshape"]
                .as_array()
                .expect("ext")
                .iter()
                .map(|v| v.as_u64().expect("d") as usize)
                .collect::<Vec<_>>()
        );
        let hex: String = a
            .meta()
            .encode()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            e["b2nd_metalayer_hex"].as_str().expect("hex"),
            "{name}"
        );
        let all = a.to_vec().expect("decode");
        assert_eq!(
            sha256_hex(&all),
            e["decompressed"]["sha256"].as_str().expect("sha"),
            "{name}"
        );
        assert_eq!(all, input, "{name}");
        let chunks: Vec<u8> = (0..a.nchunks())
            .flat_map(|i| a.schunk().decompress_chunk(i).expect("chunk"))
            .collect();
        assert_eq!(
            sha256_hex(&chunks),
            e["decompressed"]["all_chunks_concatenated_sha256"]
                .as_str()
                .expect("sha"),
            "{name}: padding must be zeros laid out block by block"
        );
        let again = NdArray::from_c_order(&input, a.meta().clone(), cparams).expect("build");
        assert_bytes_eq(
            &again.to_cframe().expect("cframe"),
            &std::fs::read(&path).expect("read"),
            name,
        );
    }
}

#[test]
fn golden_tensors_load_and_rebuild() {
    let f03 = entry("f03");
    let t = load_tensor(golden_dir().join(f03["file"].as_str().expect("file"))).expect("load f03");
    assert_eq!(
        (t.shape.as_slice(), &t.dtype),
        (&[300usize, 250][..], &DType::Float64)
    );
    assert_eq!(
        sha256_hex(&t.data),
        f03["decompressed"]["sha256"].as_str().expect("sha")
    );
    let expect: Vec<u8> = (0..300)
        .flat_map(|r| (0..250).map(move |c| f64::from(r) * 1.5 + f64::from(c) * 0.25))
        .flat_map(f64::to_le_bytes)
        .collect();
    assert_eq!(t.data, expect);

    let f06 = entry("f06");
    let bytes =
        std::fs::read(golden_dir().join(f06["file"].as_str().expect("file"))).expect("read");
    let t = unpack_tensor(&bytes).expect("unpack f06");
    let expect: Vec<u8> = (0..1000i64).flat_map(|i| (3 * i).to_le_bytes()).collect();
    assert_eq!(
        (t.shape.as_slice(), &t.dtype, &t.data),
        (&[1000usize][..], &DType::Int64, &expect)
    );
    // pack_tensor reproduces python's to_cframe() copy byte for byte.
    let ours = pack_tensor(&expect, &[1000], &DType::Int64, &CParams::default()).expect("pack");
    assert_bytes_eq(&ours, &bytes, "f06");

    // save_tensor with chunksize 240000 (python writes the frame directly).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = TensorWriter::new(&[300, 250], DType::Float64, CParams::default(), 240_000)
        .expect("writer");
    let data = load_tensor(golden_dir().join(f03["file"].as_str().expect("file")))
        .expect("load")
        .data;
    w.write(&data).expect("write");
    let p = dir.path().join("f03.b2frame");
    let size = w.finish().expect("finish").save(&p).expect("save");
    let theirs =
        std::fs::read(golden_dir().join(f03["file"].as_str().expect("file"))).expect("read");
    assert_eq!(size, theirs.len() as u64);
    assert_bytes_eq(&std::fs::read(&p).expect("read"), &theirs, "f03");
}

#[test]
fn slices_match_reference_including_padding_edges() {
    let input = f05_input();
    let a = NdArray::open(golden_dir().join(entry("f05")["file"].as_str().expect("file")))
        .expect("open");
    for ranges in [
        vec![0..5, 0..9, 0..13],
        vec![4..5, 8..9, 12..13],
        vec![1..4, 3..7, 5..12],
        vec![0..1, 0..9, 6..7],
        vec![2..2, 0..9, 0..13],
    ] {
        let got = a.read(&ranges).expect("read");
        assert_eq!(
            got,
            reference_slice(&input, &[5, 9, 13], 4, &ranges),
            "{ranges:?}"
        );
    }
}

#[test]
fn slice_reads_only_touched_chunks_and_blocks() {
    // 1-D, chunks of 10,000 items in blocks of 1,000: damage block 5 of chunk 1.
    let data: Vec<u8> = (0..30_000u32).flat_map(|v| (v / 5).to_le_bytes()).collect();
    let meta = NdMeta::new(&[30_000], &[10_000], &[1_000], DType::UInt32).expect("meta");
    let cp = CParams::default()
        .with_codec(Codec::Lz4)
        .with_filters([Filter::Shuffle]);
    let a = NdArray::from_c_order(&data, meta, cp).expect("build");
    let mut sc = a.schunk().clone();
    let bytes = {
        let mut f = sc.to_cframe().expect("cframe");
        let c1 = sc.chunk(1).expect("chunk").into_owned();
        let at = f
            .windows(c1.len())
            .position(|w| w == c1.as_slice())
            .expect("chunk in frame");
        let bstart5 = u32::from_le_bytes(c1[32 + 20..32 + 24].try_into().expect("4")) as usize;
        for b in &mut f[at + bstart5 + 4..at + bstart5 + 12] {
            *b ^= 0xA5;
        }
        f
    };
    sc = b2frame::SChunk::from_cframe(&bytes).expect("frame still parses");
    let b = NdArray::from_schunk(sc).expect("wrap");
    assert_eq!(b.read(&[0..10_000]).expect("chunk 0"), data[..40_000]);
    assert_eq!(
        b.read(&[10_000..15_000]).expect("blocks 0..5 of chunk 1"),
        data[40_000..60_000]
    );
    assert_eq!(
        b.read(&[16_000..30_000])
            .expect("blocks 6..10 of chunk 1, chunk 2"),
        data[64_000..]
    );
    let whole = b.read(&[0..30_000]);
    assert!(
        whole.is_err() || whole.expect("read") != data,
        "damage must show in a whole read"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_geometries_round_trip_and_slice(
        dims in proptest::collection::vec((1usize..9, 1usize..6, 1usize..4), 1..=4),
        itemsel in 0usize..4,
        seed in any::<u64>(),
    ) {
        let shape: Vec<usize> = dims.iter().map(|d| d.0).collect();
        let chunks: Vec<usize> = dims.iter().map(|d| d.1).collect();
        let blocks: Vec<usize> = dims.iter().map(|d| d.2.min(d.1)).collect();
        let dtype = [DType::UInt8, DType::Int16, DType::Float32, DType::Complex128][itemsel].clone();
        let item = dtype.itemsize();
        let n: usize = shape.iter().product::<usize>() * item;
        let data: Vec<u8> = (0..n).map(|i| ((i as u64).wrapping_mul(seed | 1) >> 3) as u8).collect();
        let meta = NdMeta::new(&shape, &chunks, &blocks, dtype).expect("meta");
        let a = NdArray::from_c_order(&data, meta, CParams::default().with_codec(Codec::BloscLz)).expect("build");
        let b = NdArray::from_cframe(&a.to_cframe().expect("cframe")).expect("open");
        prop_assert_eq!(b.to_vec().expect("all"), data.clone());
        let ranges: Vec<Range<usize>> = shape.iter().enumerate().map(|(k, &s)| {
            let x = (seed >> (8 * k)) as usize % (s + 1);
            let y = (seed >> (8 * k + 4)) as usize % (s + 1);
            x.min(y)..x.max(y)
        }).collect();
        prop_assert_eq!(b.read(&ranges).expect("slice"), reference_slice(&data, &shape, item, &ranges));
    }
}

#[test]
fn npy_round_trips_with_b2nd_and_tensors() {
    let data: Vec<u8> = (0..60u16).flat_map(u16::to_le_bytes).collect();
    let f = npy::write(&data, &[3, 4, 5], &DType::UInt16).expect("npy");
    let a = npy::to_ndarray(&f, &[2, 2, 5], &[1, 2, 2], CParams::default()).expect("to b2nd");
    assert_eq!(npy::from_ndarray(&a).expect("from b2nd"), f);
    let t = npy::to_packed_tensor(&f, CParams::default(), 32).expect("to tensor");
    let mut back = Vec::new();
    npy::write_packed_tensor(&mut back, &t).expect("from tensor");
    assert_eq!(back, f);
    assert_eq!(npy::read(&f).expect("read").data, data);
}

#[test]
fn tensor_above_2_gib_streams_chunk_by_chunk() {
    // 2^28 + 1024 float64 = 2^31 + 8 KiB. Chunks of 4 MiB; only the first and last
    // pieces hold data, the rest are special zero chunks that are never materialised.
    let n = (1usize << 28) + 1024;
    let cs = 1usize << 22;
    let mut w = TensorWriter::new(&[n], DType::Float64, CParams::default(), cs).expect("writer");
    let head: Vec<u8> = (0..cs / 8).flat_map(|i| (i as f64).to_le_bytes()).collect();
    w.write(&head).expect("head");
    w.write(&vec![0u8; cs])
        .expect("a zero chunk through compression");
    let tail: Vec<u8> = (0..2048usize)
        .flat_map(|i| (-(i as f64)).to_le_bytes())
        .collect();
    w.write_zeros(n * 8 - 2 * cs - tail.len()).expect("zeros");
    w.write(&tail).expect("tail");
    let t = w.finish().expect("finish");
    assert_eq!(t.schunk().nbytes(), n * 8);
    assert!(t.schunk().nbytes() > 1 << 31);
    assert!(
        t.schunk().cbytes() < 2 << 20,
        "cbytes {}",
        t.schunk().cbytes()
    );
    let frame = t.to_cframe().expect("cframe");
    let back = PackedTensor::from_cframe(&frame).expect("open");
    assert_eq!((back.shape(), back.dtype()), (&[n][..], &DType::Float64));
    let mut buf = vec![0u8; 4096 * 8];
    back.read_into(n - 4096..n, &mut buf).expect("read end");
    assert_eq!(buf[..2048 * 8], vec![0u8; 2048 * 8]);
    assert_eq!(buf[2048 * 8..], tail);
    back.read_into(cs / 8 - 2048..cs / 8 + 2048, &mut buf)
        .expect("read across chunks");
    assert_eq!(buf[..2048 * 8], head[cs - 2048 * 8..]);
    let mid = (1usize << 28) - 5000;
    back.read_into(mid..mid + 10, &mut buf[..80])
        .expect("read zeros near 2^31 bytes");
    assert_eq!(buf[..80], [0u8; 80]);
    let past = 1usize << 28; // item 2^28 starts at byte 2^31
    back.read_into(past + 10..past + 20, &mut buf[..80])
        .expect("read past 2^31 bytes");
    let t0 = (past + 10 - (n - 2048)) * 8;
    assert_eq!(buf[..80], tail[t0..t0 + 80]);
    if let Some(py) = oracle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("big.b2frame");
        std::fs::write(&p, &frame).expect("write");
        let out = run_python(
            &py,
            r#"
import sys, hashlib, blosc2, numpy as np
s = blosc2.open(sys.argv[1])
kind, shape, dtype = s.vlmeta["__pack_tensor__"]
n = shape[0]
tail = np.frombuffer(s.get_slice(n - 2048, n), dtype=dtype)
print(kind, shape, dtype, s.nbytes, hashlib.sha256(tail.tobytes()).hexdigest())
"#,
            &[p.to_str().expect("utf-8")],
        );
        let line = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            line.trim(),
            format!("numpy ({n},) <f8 {} {}", n * 8, sha256_hex(&tail))
        );
    }
}

/// The cases both oracle tests use: name, numpy dtype, shape, chunks, blocks, codec.
const CASES: &str = r#"
import numpy as np, blosc2
def cases():
    def arr(dt, shape):
        n = int(np.prod(shape)) if len(shape) else 1
        i = np.arange(n)
        k = np.dtype(dt).kind
        if k == 'b': a = (i % 3) == 0
        elif k == 'S': a = np.array([b'x%d' % v for v in i], dtype=dt)
        elif k == 'U': a = np.array([chr(0x3b1 + v % 20) * (v % 4) + str(v) for v in i], dtype=dt)
        elif k == 'M': a = (i * 86399).astype(dt)
        elif k == 'm': a = (i * 7 - 20).astype(dt)
        elif k == 'c': a = (i * 0.5 - 1j * (i % 7)).astype(dt)
        elif k == 'f': a = (i * 0.25 - 3).astype(dt)
        else: a = (i * 37 - 50).astype(dt)
        return a.reshape(shape)
    B, Z, L = blosc2.Codec.BLOSCLZ, blosc2.Codec.ZSTD, blosc2.Codec.LZ4
    out = [
        ('b1', '|b1', (10, 7), (4, 3), (2, 2), B),
        ('i1', '|i1', (100,), (30,), (7,), B),
        ('u2', '<u2', (6, 5, 4), (4, 3, 3), (2, 2, 2), Z),
        ('i8', '<i8', (3, 4, 5, 6), (2, 3, 4, 5), (1, 2, 3, 4), B),
        ('f2', '<f2', (33,), (16,), (8,), L),
        ('f4', '<f4', (17, 19), (8, 8), (4, 8), B),
        ('f8', '<f8', (50, 37), (20, 15), (8, 4), Z),
        ('c8', '<c8', (9, 9), (4, 4), (2, 2), B),
        ('c16', '<c16', (7,), (3,), (2,), L),
        ('S5', '|S5', (11, 3), (5, 2), (2, 2), B),
        ('U3', '<U3', (8,), (5,), (2,), B),
        ('U100', '<U100', (5, 2), (2, 2), (1, 2), B),
        ('M8', '<M8[s]', (10,), (4,), (4,), B),
        ('m8', '<m8[ms]', (10,), (4,), (2,), Z),
        ('u4_0d', '<u4', (), (), (), B),
    ]
    return [(n, dt, s, c, b, codec, arr(dt, s)) for (n, dt, s, c, b, codec) in out]
"#;

const PY_WRITE: &str = r#"
import sys, os
d = sys.argv[1]
for name, dt, shape, chunks, blocks, codec, a in cases():
    np.save(os.path.join(d, name + '.npy'), a)
    for v in [(2, 0), (3, 0)]:
        with open(os.path.join(d, name + '.v%d.npy' % v[0]), 'wb') as f:
            np.lib.format.write_array(f, a, version=v)
    cp = dict(codec=codec, clevel=5, filters=[blosc2.Filter.SHUFFLE], nthreads=1)
    blosc2.asarray(a, chunks=chunks, blocks=blocks, urlpath=os.path.join(d, name + '.b2nd'), mode='w',
                   cparams=cp, dparams=dict(nthreads=1))
    blosc2.save_tensor(a, os.path.join(d, name + '.tensor'), mode='w', cparams=dict(nthreads=1))
    open(os.path.join(d, name + '.packed'), 'wb').write(blosc2.pack_tensor(a, cparams=dict(nthreads=1)))
"#;

const PY_CHECK: &str = r#"
import sys, os, json
d = sys.argv[1]
res = {}
for name, dt, shape, chunks, blocks, codec, a in cases():
    p = lambda ext: os.path.join(d, name + ext)
    r = {}
    b = blosc2.open(p('.ours.b2nd'))
    r['b2nd'] = (type(b).__name__, b.shape == a.shape, b.dtype == a.dtype, b.chunks == chunks, b.blocks == blocks,
                 b[()].tobytes() == a.tobytes())
    if a.ndim:
        sl = tuple(slice(1 if s > 2 else 0, s) for s in a.shape)
        r['slice'] = b[sl].tobytes() == a[sl].tobytes()
    r['npy_load'] = (lambda n: n.dtype == a.dtype and n.shape == a.shape and n.tobytes() == a.tobytes())(np.load(p('.ours.npy')))
    import io
    buf = io.BytesIO(); np.save(buf, a)
    r['npy_bytes'] = buf.getvalue() == open(p('.ours.npy'), 'rb').read()
    t = blosc2.load_tensor(p('.ours.tensor'))
    r['load_tensor'] = (t.dtype == a.dtype, t.shape == a.shape, t.tobytes() == a.tobytes())
    t = blosc2.unpack_tensor(open(p('.ours.packed'), 'rb').read())
    r['unpack_tensor'] = (t.dtype == a.dtype, t.shape == a.shape, t.tobytes() == a.tobytes())
    res[name] = r
print(json.dumps(res))
"#;

fn all_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(_) => true,
        Value::Array(a) => a.iter().all(all_true),
        Value::Object(o) => o.values().all(all_true),
        _ => false,
    }
}

#[test]
fn oracle_b2nd_tensors_and_npy_both_ways() {
    let Some(py) = oracle() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8").to_owned();
    run_python(&py, &format!("{CASES}{PY_WRITE}"), &[&d]);
    let names = [
        "b1", "i1", "u2", "i8", "f2", "f4", "f8", "c8", "c16", "S5", "U3", "U100", "M8", "m8",
        "u4_0d",
    ];
    let mut identical = 0;
    for name in names {
        let p = |ext: &str| dir.path().join(format!("{name}{ext}"));
        // numpy's .npy → ours.
        let want = npy::load(p(".npy")).unwrap_or_else(|e| panic!("{name}: npy: {e}"));
        for v in [".v2.npy", ".v3.npy"] {
            let t = npy::load(p(v)).unwrap_or_else(|e| panic!("{name}{v}: {e}"));
            assert_eq!(t, want, "{name}{v}");
        }
        let npy_bytes = std::fs::read(p(".npy")).expect("read npy");
        assert_eq!(
            npy::write(&want.data, &want.shape, &want.dtype).expect("write npy"),
            npy_bytes,
            "{name}: our .npy bytes equal numpy's"
        );
        // python's b2nd → ours.
        let a = NdArray::open(p(".b2nd")).unwrap_or_else(|e| panic!("{name}: b2nd: {e}"));
        assert_eq!(
            (a.shape(), a.dtype()),
            (want.shape.as_slice(), &want.dtype),
            "{name}"
        );
        assert_eq!(a.to_vec().expect("decode"), want.data, "{name}");
        if !want.shape.is_empty() {
            let ranges: Vec<Range<usize>> =
                want.shape.iter().map(|&s| (s / 3)..(s - s / 4)).collect();
            let item = want.dtype.itemsize();
            assert_eq!(
                a.read(&ranges).expect("slice"),
                reference_slice(&want.data, &want.shape, item, &ranges),
                "{name}: slice"
            );
        }
        // python's tensors → ours.
        for ext in [".tensor", ".packed"] {
            let t = if ext == ".tensor" {
                load_tensor(p(ext))
            } else {
                unpack_tensor(&std::fs::read(p(ext)).expect("read"))
            }
            .unwrap_or_else(|e| panic!("{name}{ext}: {e}"));
            assert_eq!(
                (&t.shape, &t.dtype, &t.data),
                (&want.shape, &want.dtype, &want.data),
                "{name}{ext}"
            );
        }
        // ours → python (checked below); rebuild the b2nd with python's parameters.
        let m = a.meta().clone();
        let codec = b2frame::chunk::ChunkHeader::parse(&a.schunk().chunk(0).expect("chunk"))
            .expect("h")
            .codec_id;
        let cp = CParams::default()
            .with_codec(Codec::from_id(codec).expect("codec"))
            .with_clevel(5)
            .with_filters([Filter::Shuffle]);
        let ours = NdArray::from_c_order(&want.data, m, cp).expect("build");
        ours.save(p(".ours.b2nd")).expect("save");
        if codec == 0 {
            assert_bytes_eq(
                &std::fs::read(p(".ours.b2nd")).expect("read"),
                &std::fs::read(p(".b2nd")).expect("read"),
                &format!("{name}.b2nd (BloscLZ)"),
            );
            identical += 1;
        }
        npy::save(p(".ours.npy"), &want.data, &want.shape, &want.dtype).expect("npy");
        save_tensor(
            p(".ours.tensor"),
            &want.data,
            &want.shape,
            &want.dtype,
            &CParams::default(),
        )
        .expect("save_tensor");
        let packed =
            pack_tensor(&want.data, &want.shape, &want.dtype, &CParams::default()).expect("pack");
        std::fs::write(p(".ours.packed"), &packed).expect("write");
    }
    assert!(identical >= 8, "{identical} BloscLZ b2nd files compared");
    let out = run_python(&py, &format!("{CASES}{PY_CHECK}"), &[&d]);
    let v: Value = serde_json::from_slice(&out).expect("json");
    for name in names {
        assert!(all_true(&v[name]), "{name}: python disagrees: {}", v[name]);
    }
}

#[test]
fn damaged_b2nd_frames_are_errors_not_panics() {
    let path = golden_dir().join(entry("f04")["file"].as_str().expect("file"));
    let f = std::fs::read(&path).expect("read");
    // The metalayer content starts after the header's index; flip every byte of the
    // first 200 bytes (header + metalayer) and truncate at every length below that.
    for i in 0..200.min(f.len()) {
        for x in [0x01u8, 0x80, 0xff] {
            let mut g = f.clone();
            g[i] ^= x;
            if let Ok(a) = NdArray::from_cframe(&g) {
                let _ = a.read(&[0..50, 0..37]);
            }
        }
    }
    for cut in 0..f.len() {
        let _ = NdArray::from_cframe(&f[..cut]);
    }
    assert!(NdArray::from_cframe(&f[..f.len() - 1]).is_err());
    let plain = b2frame::SChunk::new(CParams::default(), b2frame::DParams::default()).expect("new");
    let err = NdArray::from_schunk(plain).expect_err("no b2nd");
    assert!(err.to_string().contains("b2nd"), "{err}");
}
