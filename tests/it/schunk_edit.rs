//! Super-chunk edits against a plain `Vec<u8>` model (in memory and in files,
//! reopened between steps), python-blosc2 reading our edited frames and us
//! reading frames python edited, and checksums of files.

use std::path::Path;

use b2frame::error::Part;
use b2frame::schunk::OpenOptions;
use b2frame::{CParams, Codec, DParams, Error, Filter, SChunk, Storage};
use proptest::prelude::*;

use crate::common::{oracle, run_python, sha256_hex};

const TS: usize = 2;
const CHUNK_ITEMS: usize = 128;

fn cparams(delta: bool) -> CParams {
    let filters = if delta {
        vec![Filter::Delta, Filter::Shuffle]
    } else {
        vec![Filter::Shuffle]
    };
    CParams::default()
        .with_codec(Codec::Lz4)
        .with_typesize(TS)
        .with_filters(filters)
        .with_blocksize(64)
}

fn storage() -> Storage {
    Storage::default().with_chunksize(CHUNK_ITEMS * TS)
}

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    /// Start as a fraction (per mille) of nitems + 16, length in items.
    SetSlice(usize, usize),
    Insert(usize, usize),
    Update(usize, usize),
    Delete(usize),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..400).prop_map(Op::Append),
        4 => (0usize..1000, 0usize..300).prop_map(|(a, n)| Op::SetSlice(a, n)),
        1 => (0usize..100, 1usize..=CHUNK_ITEMS).prop_map(|(i, n)| Op::Insert(i, n)),
        1 => (0usize..100, 1usize..=CHUNK_ITEMS).prop_map(|(i, n)| Op::Update(i, n)),
        1 => (0usize..100).prop_map(Op::Delete),
        1 => Just(Op::Flush),
    ]
}

/// Deterministic item bytes for step `k`.
fn bytes(k: usize, n_items: usize) -> Vec<u8> {
    (0..n_items * TS)
        .map(|i| ((i / 7) as u8).wrapping_mul(3).wrapping_add(k as u8))
        .collect()
}

/// Byte offset where chunk `i` starts.
fn chunk_start(sc: &SChunk, i: usize) -> usize {
    (0..i)
        .map(|j| sc.decompress_chunk(j).expect("chunk").len())
        .sum()
}

/// Applies `op` to both the super-chunk and the model.
fn apply(sc: &mut SChunk, model: &mut Vec<u8>, k: usize, op: &Op) {
    let n = sc.nchunks();
    match *op {
        Op::Append(items) => {
            let d = bytes(k, items);
            sc.append(&d).expect("append");
            model.extend_from_slice(&d);
        }
        Op::SetSlice(frac, len) => {
            let nitems = model.len() / TS;
            let a = (frac * (nitems + 16) / 1000).min(nitems);
            let d = bytes(k, len);
            sc.set_slice(a..a + len, &d).expect("set_slice");
            let end = (a + len) * TS;
            if end > model.len() {
                model.resize(end, 0);
            }
            model[a * TS..end].copy_from_slice(&d);
        }
        Op::Insert(i, items) => {
            let i = i % (n + 1);
            let at = chunk_start(sc, i);
            let d = bytes(k, items);
            sc.insert_data(i, &d).expect("insert");
            model.splice(at..at, d);
        }
        Op::Update(i, items) if n > 0 => {
            let i = i % n;
            let at = chunk_start(sc, i);
            let len = sc.decompress_chunk(i).expect("chunk").len();
            let d = bytes(k, items);
            sc.update_data(i, &d).expect("update");
            model.splice(at..at + len, d);
        }
        Op::Delete(i) if n > 0 => {
            let i = i % n;
            let at = chunk_start(sc, i);
            let len = sc.decompress_chunk(i).expect("chunk").len();
            sc.delete_chunk(i).expect("delete");
            model.drain(at..at + len);
        }
        Op::Flush => sc.flush().expect("flush"),
        Op::Update(..) | Op::Delete(_) => {}
    }
}

fn check(sc: &SChunk, model: &[u8], ctx: &str) {
    assert_eq!(sc.nbytes(), model.len(), "{ctx}: nbytes");
    assert_eq!(
        sc.read(0..sc.nitems()).expect("read"),
        model,
        "{ctx}: content"
    );
    // A few partial reads.
    let n = sc.nitems();
    for (a, b) in [(n / 3, (n / 3 + 1).min(n)), (n / 2, n), (0, n.min(5))] {
        assert_eq!(
            sc.read(a..b).expect("read"),
            model[a * TS..b * TS],
            "{ctx}: {a}..{b}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn edits_in_memory_match_a_vec_model(ops in prop::collection::vec(op(), 1..14), delta in any::<bool>()) {
        let mut sc = SChunk::with_storage(cparams(delta), DParams::default(), &storage()).expect("new");
        let mut model = Vec::new();
        for (k, op) in ops.iter().enumerate() {
            apply(&mut sc, &mut model, k, op);
            check(&sc, &model, &format!("step {k} {op:?}"));
        }
        let back = SChunk::from_cframe(&sc.to_cframe().expect("to_cframe")).expect("from_cframe");
        check(&back, &model, "cframe round trip");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn edits_in_a_file_match_a_vec_model_across_reopens(ops in prop::collection::vec(op(), 1..10)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.b2frame");
        let w = OpenOptions::default().with_write(true).with_sync(false);
        let sc = SChunk::create_file(&path, cparams(false), DParams::default(), &storage(), &w).expect("create");
        drop(sc);
        let mut model = Vec::new();
        for (k, op) in ops.iter().enumerate() {
            let mut sc = SChunk::open_file(&path, &w).expect("open");
            apply(&mut sc, &mut model, k, op);
            check(&sc, &model, &format!("step {k} {op:?}"));
            drop(sc); // flushes the buffered tail
            let ro = SChunk::open_file(&path, &OpenOptions::default()).expect("reopen");
            check(&ro, &model, &format!("reopened after step {k} {op:?}"));
        }
        let whole = SChunk::open(&path).expect("open in memory");
        check(&whole, &model, "in memory");
    }
}

#[test]
fn file_reads_touch_only_needed_blocks_and_checksums_catch_flips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.b2frame");
    let w = OpenOptions::default().with_write(true);
    let mut sc = SChunk::create_file(&path, cparams(false), DParams::default(), &storage(), &w)
        .expect("create");
    let d = bytes(1, 1000);
    sc.append(&d).expect("append");
    drop(sc);
    let good = std::fs::read(&path).expect("read");
    let f = b2frame::frame::cframe::parse(&good).expect("python-compatible frame");
    let (hl, cb) = (f.header.header_len, f.header.cbytes as usize);
    // Flip every byte of the chunks section: with checksums every read fails with
    // Part::Checksum, or succeeds with the right bytes if the byte is unreferenced.
    for at in hl..hl + cb {
        let mut b = good.clone();
        b[at] ^= 0x41;
        std::fs::write(&path, &b).expect("write");
        let sc = match SChunk::open_file(&path, &OpenOptions::default()) {
            Ok(sc) => sc,
            Err(e) => panic!("flip at {at}: open failed: {e}"),
        };
        match sc.read(0..1000) {
            Ok(v) => assert_eq!(v, d, "flip at {at} decoded wrongly"),
            Err(Error::Corrupt { part, .. }) => assert_eq!(part, Part::Checksum, "flip at {at}"),
            Err(e) => panic!("flip at {at}: {e}"),
        }
    }
}

/// python-blosc2 reads a frame and prints the sha256 of its content and nchunks.
const READ: &str = r#"
import sys, hashlib, blosc2
s = blosc2.open(sys.argv[1])
if s.chunksize == 0:
    # Variable-size frames: python's slicing divides by chunksize (SIGFPE); go by chunks.
    data = b"".join(s.decompress_chunk(i) for i in range(s.nchunks))
else:
    data = s[:] if s.nbytes else b""
print(hashlib.sha256(data).hexdigest(), s.nchunks, s.nbytes)
"#;

fn python_reads(py: &str, path: &Path) -> (String, usize, usize) {
    let out =
        String::from_utf8(run_python(py, READ, &[path.to_str().expect("utf-8")])).expect("utf-8");
    let v: Vec<&str> = out.split_whitespace().collect();
    (
        v[0].to_owned(),
        v[1].parse().expect("nchunks"),
        v[2].parse().expect("nbytes"),
    )
}

#[test]
fn oracle_python_reads_every_kind_of_edit() {
    let Some(py) = oracle() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("o.b2frame");
    let w = OpenOptions::default().with_write(true);
    let mut model = Vec::new();
    let mut sc = SChunk::create_file(&path, cparams(false), DParams::default(), &storage(), &w)
        .expect("create");
    sc.set_vlmeta("note", b"\xa2hi").expect("vlmeta");
    let steps = [
        Op::Append(300),
        Op::Flush,
        Op::Append(100),
        Op::Flush,
        Op::SetSlice(500, 1),
        Op::SetSlice(900, 200),
        Op::Flush,
        Op::Insert(1, CHUNK_ITEMS),
        Op::Insert(0, 17),
        Op::Update(2, 50),
        Op::Delete(1),
        Op::Delete(0),
    ];
    for (k, op) in steps.iter().enumerate() {
        apply(&mut sc, &mut model, k, op);
        sc.flush().expect("flush");
        let (sha, nchunks, nbytes) = python_reads(&py, &path);
        assert_eq!(
            (sha, nchunks, nbytes),
            (sha256_hex(&model), sc.nchunks(), model.len()),
            "file after {op:?}"
        );
        // The same content serialised in memory, with and without checksums.
        let mem = dir.path().join("m.b2frame");
        std::fs::write(&mem, sc.to_cframe().expect("to_cframe")).expect("write");
        assert_eq!(
            python_reads(&py, &mem).0,
            sha256_hex(&model),
            "cframe after {op:?}"
        );
    }
    drop(sc);
    // python edits our file; we read it (its stale checksums are ignored).
    let edit = r#"
import sys, blosc2, numpy as np
s = blosc2.open(sys.argv[1], mode='a')
s.append_data(np.arange(128, dtype='<i2'))
s.update_data(0, np.full(128, 7, dtype='<i2'), copy=True)
s.insert_data(1, np.arange(128, dtype='<i2') * 3, copy=True)
s.delete_chunk(2)
print(s.nchunks)
"#;
    let before = SChunk::open(&path).expect("open");
    let mut want_chunks: Vec<Vec<u8>> = (0..before.nchunks())
        .map(|i| before.decompress_chunk(i).expect("chunk"))
        .collect();
    let ar = |f: &dyn Fn(i16) -> i16| -> Vec<u8> {
        (0..128i16).flat_map(|v| f(v).to_le_bytes()).collect()
    };
    want_chunks.push(ar(&|v| v));
    want_chunks[0] = ar(&|_| 7);
    want_chunks.insert(1, ar(&|v| v * 3));
    want_chunks.remove(2);
    run_python(&py, edit, &[path.to_str().expect("utf-8")]);
    for sc in [
        SChunk::open(&path).expect("open in memory"),
        SChunk::open_file(&path, &OpenOptions::default()).expect("open file"),
    ] {
        assert_eq!(sc.read(0..sc.nitems()).expect("read"), want_chunks.concat());
        assert_eq!(sc.vlmeta("note").expect("vlmeta"), Some(b"\xa2hi".to_vec()));
    }
    // And we keep editing the file python edited.
    let mut sc = SChunk::open_file(&path, &w).expect("open for writing");
    sc.append(&bytes(3, 10)).expect("append");
    sc.flush().expect("flush");
    let (sha, _, _) = python_reads(&py, &path);
    assert_eq!(sha, sha256_hex(&sc.read(0..sc.nitems()).expect("read")));
}

/// Quick timings (run with `--ignored --nocapture` in release mode).
#[test]
#[ignore]
fn timing_set_slice_and_appends() {
    use std::time::Instant;
    let cp = CParams::default()
        .with_codec(Codec::Zstd)
        .with_clevel(5)
        .with_typesize(4)
        .with_filters([Filter::Shuffle]);
    let n = 1usize << 24; // 64 MiB of u32
    let data: Vec<u8> = (0..n as u32)
        .flat_map(|v| ((v / 3) ^ (v >> 7)).to_le_bytes())
        .collect();
    let st = Storage::default().with_chunksize(4 << 20);
    let mut a = SChunk::with_storage(cp.clone(), DParams::default(), &st).expect("new");
    let mut aligned = f64::MAX;
    for _ in 0..2 {
        let t = Instant::now();
        a = SChunk::with_storage(cp.clone(), DParams::default(), &st).expect("new");
        for piece in data.chunks(4 << 20) {
            a.append(piece).expect("append");
        }
        aligned = aligned.min(t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let mut u = SChunk::with_storage(cp.clone(), DParams::default(), &st).expect("new");
    for piece in data.chunks(400_000) {
        u.append(piece).expect("append");
    }
    u.flush().expect("flush");
    let unaligned = t.elapsed().as_secs_f64();
    let gb = data.len() as f64 / 1e9;
    println!(
        "append aligned {:.2} GB/s, unaligned (100k items) {:.2} GB/s, ratio {:.2}",
        gb / aligned,
        gb / unaligned,
        aligned / unaligned
    );
    let reps = 200;
    let t = Instant::now();
    for k in 0..reps {
        let i = (k * 7919 * 13) % n;
        a.set_slice(i..i + 1, &(k as u32).to_le_bytes())
            .expect("set");
    }
    let one = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    for k in 0..20 {
        let c = (k * 3) % a.nchunks();
        let mut raw = a.decompress_chunk(c).expect("chunk");
        raw[8..12].copy_from_slice(&7u32.to_le_bytes());
        a.update_data(c, &raw).expect("update");
    }
    let whole = t.elapsed().as_secs_f64() / 20.0;
    println!(
        "1-item set_slice {:.1} us, whole-chunk decode+patch+re-encode {:.1} us",
        one * 1e6,
        whole * 1e6
    );
}

/// A read-only backend over bytes in memory that records the longest read.
#[derive(Debug)]
struct Recording(Vec<u8>, std::sync::atomic::AtomicUsize);

impl b2frame::schunk::Backend for Recording {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
        self.1
            .fetch_max(buf.len(), std::sync::atomic::Ordering::Relaxed);
        let p = pos as usize;
        let src = self
            .0
            .get(p..p + buf.len())
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_all_at(&self, _: &[u8], _: u64) -> std::io::Result<()> {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
    fn truncate(&self, _: u64) -> std::io::Result<()> {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn replace(&self, _: &[u8]) -> std::io::Result<()> {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
}

/// Whole chunks of 4 MiB and more in files without checksums (as python-blosc2
/// writes them) are read block group by block group (no read near the chunk's
/// size): the same bytes as in memory for every filter layout (delta needs block 0
/// in every group) and memcpyed chunks, on one or several threads. Files with
/// checksums still read and verify whole chunks.
#[test]
fn big_chunks_in_files_are_read_by_block_groups() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = 1_500_000usize; // 12 MB of u64: one 8 MiB chunk and a 4 MiB tail.
                            // Hashed values of 40 bits: chunks stay megabytes big once compressed.
    let d: Vec<u8> = (0..n as u64)
        .flat_map(|i| {
            let z = (i ^ (i >> 7)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            (z >> 24).to_le_bytes()
        })
        .collect();
    let cases = [
        (
            "shuffle",
            CParams::default()
                .with_typesize(8)
                .with_codec(Codec::Zstd)
                .with_clevel(1)
                .with_filters([Filter::Shuffle]),
        ),
        (
            "delta",
            CParams::default()
                .with_typesize(8)
                .with_codec(Codec::Lz4)
                .with_clevel(5)
                .with_filters([Filter::Delta, Filter::Shuffle]),
        ),
        (
            "memcpyed",
            CParams::default().with_typesize(8).with_clevel(0),
        ),
    ];
    for (name, cp) in cases {
        for checksums in [false, true] {
            let st = Storage::default()
                .with_chunksize(8 << 20)
                .with_checksums(checksums);
            let mut sc = SChunk::with_storage(cp.clone(), DParams::default(), &st).expect("new");
            sc.append(&d).expect("append");
            let frame = sc.to_cframe().expect("frame");
            let io = std::sync::Arc::new(Recording(frame, AtomicUsize::new(0)));
            let sc = SChunk::open_backend(io.clone(), &OpenOptions::default()).expect("open");
            let biggest = (0..sc.nchunks())
                .map(|i| sc.chunk(i).expect("chunk").len())
                .max()
                .unwrap_or(0);
            assert!(biggest > 2 << 20, "{name}: chunks of {biggest} bytes");
            for threads in [1, 2] {
                io.1.store(0, Ordering::Relaxed);
                let mut got = vec![0u8; d.len()];
                let dp = DParams::default().with_nthreads(threads);
                sc.read_into_with(0..n, &mut got, &dp).expect("read");
                assert!(got == d, "{name}, checksums {checksums}, {threads} threads");
                let longest = io.1.load(Ordering::Relaxed);
                if checksums || name == "memcpyed" {
                    // The header first (32 bytes), then the rest of the chunk.
                    assert!(
                        longest + 32 >= biggest,
                        "{name}: whole chunks read, got {longest} of {biggest}"
                    );
                } else {
                    assert!(
                        longest * 2 < biggest,
                        "{name}: longest read {longest} of {biggest}"
                    );
                }
            }
        }
    }
}

/// `OpenOptions::with_mmap`: the same items, chunks and checksum errors as positioned
/// reads; read-only; bad files are errors.
#[test]
fn memory_mapped_frames_read_like_positioned_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.b2frame");
    let w = OpenOptions::default().with_write(true);
    let mut sc = SChunk::create_file(&path, cparams(true), DParams::default(), &storage(), &w)
        .expect("create");
    let d = bytes(3, 5000);
    sc.append(&d).expect("append");
    drop(sc);
    let mm = OpenOptions::default().with_mmap(true);
    let a = SChunk::open_file(&path, &mm).expect("mmap");
    let b = SChunk::open_file(&path, &OpenOptions::default()).expect("pread");
    assert_eq!(a.read(0..5000).expect("read"), d);
    for r in [0..1, 17..1234, 4000..5000, 2500..2501] {
        assert_eq!(
            a.read(r.clone()).expect("slice"),
            b.read(r.clone()).expect("slice"),
            "{r:?}"
        );
    }
    for i in 0..a.nchunks() {
        assert_eq!(a.chunk(i).expect("chunk"), b.chunk(i).expect("chunk"));
    }
    drop((a, b));
    // Read-only.
    let err = SChunk::open_file(&path, &mm.clone().with_write(true)).expect_err("rw mmap");
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    // A flipped byte of a chunk is a checksum error through the mapping too (or, in
    // a byte nothing reads, the right data), never wrong data.
    let good = std::fs::read(&path).expect("read");
    let f = b2frame::frame::cframe::parse(&good).expect("frame");
    let (hl, cb) = (f.header.header_len, f.header.cbytes as usize);
    let mut caught = 0;
    for at in (hl..hl + cb).step_by(97) {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        std::fs::write(&path, &bad).expect("write");
        let a = SChunk::open_file(&path, &mm).expect("mmap damaged");
        match a.read(0..5000) {
            Ok(v) => assert!(v == d, "flip at {at} decoded wrongly"),
            Err(Error::Corrupt { part, .. }) => {
                assert_eq!(part, Part::Checksum, "flip at {at}");
                caught += 1;
            }
            Err(e) => panic!("flip at {at}: {e}"),
        }
    }
    assert!(caught > 0, "no flip was caught");
    // Empty and truncated files are errors, not panics.
    std::fs::write(&path, b"").expect("write");
    assert!(SChunk::open_file(&path, &mm).is_err());
    std::fs::write(&path, &good[..good.len() / 2]).expect("write");
    if let Ok(sc) = SChunk::open_file(&path, &mm) {
        let _ = sc.read(0..sc.nitems());
    }
}
