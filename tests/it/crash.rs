//! Crash safety of file-backed super-chunks: every edit is run against a backend
//! that fails after N bytes, for every N; the file left behind must open and hold
//! the contents of one of the commit points of an uninterrupted run.

use std::sync::{Arc, Mutex};

use b2frame::schunk::{Backend, OpenOptions};
use b2frame::{CParams, Codec, DParams, Filter, SChunk, Storage};

/// An in-memory backend that fails (after writing a prefix) once `budget` bytes
/// have been written; it records a snapshot after every header patch or replace.
#[derive(Debug, Default)]
struct FlakyMem {
    data: Mutex<Vec<u8>>,
    budget: Mutex<Option<usize>>,
    snapshots: Mutex<Vec<Vec<u8>>>,
    /// Bytes written before each header patch began.
    patches: Mutex<Vec<usize>>,
    spent: Mutex<usize>,
}

impl FlakyMem {
    fn with(bytes: Vec<u8>, budget: Option<usize>) -> Arc<FlakyMem> {
        Arc::new(FlakyMem {
            data: Mutex::new(bytes),
            budget: Mutex::new(budget),
            snapshots: Mutex::new(Vec::new()),
            patches: Mutex::new(Vec::new()),
            spent: Mutex::new(0),
        })
    }
    fn bytes(&self) -> Vec<u8> {
        self.data.lock().unwrap().clone()
    }
    /// Takes up to `n` bytes of budget; returns how many may be written.
    fn spend(&self, n: usize) -> usize {
        let k = self.spend_budget(n);
        *self.spent.lock().unwrap() += k;
        k
    }
    fn spend_budget(&self, n: usize) -> usize {
        let mut b = self.budget.lock().unwrap();
        match b.as_mut() {
            None => n,
            Some(left) => {
                let k = n.min(*left);
                *left -= k;
                k
            }
        }
    }
    fn fail() -> std::io::Error {
        std::io::Error::other("injected failure")
    }
}

impl Backend for FlakyMem {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.data.lock().unwrap().len() as u64)
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
        let d = self.data.lock().unwrap();
        let p = pos as usize;
        let src = d
            .get(p..p + buf.len())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_all_at(&self, buf: &[u8], pos: u64) -> std::io::Result<()> {
        if pos == 16 {
            let at = *self.spent.lock().unwrap();
            self.patches.lock().unwrap().push(at);
        }
        let k = self.spend(buf.len());
        {
            let mut d = self.data.lock().unwrap();
            let p = pos as usize;
            if d.len() < p + k {
                d.resize(p + k, 0);
            }
            d[p..p + k].copy_from_slice(&buf[..k]);
        }
        if k < buf.len() {
            return Err(FlakyMem::fail());
        }
        if pos == 16 {
            let snap = self.bytes();
            self.snapshots.lock().unwrap().push(snap);
        }
        Ok(())
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        if self.spend(1) == 0 {
            return Err(FlakyMem::fail());
        }
        self.data.lock().unwrap().truncate(len as usize);
        Ok(())
    }
    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn replace(&self, bytes: &[u8]) -> std::io::Result<()> {
        if self.spend(bytes.len()) < bytes.len() {
            return Err(FlakyMem::fail());
        }
        *self.data.lock().unwrap() = bytes.to_vec();
        let snap = self.bytes();
        self.snapshots.lock().unwrap().push(snap);
        Ok(())
    }
}

fn cparams() -> CParams {
    CParams::default()
        .with_codec(Codec::Lz4)
        .with_typesize(4)
        .with_filters([Filter::Shuffle])
        .with_blocksize(256)
}

fn items(range: std::ops::Range<u32>) -> Vec<u8> {
    range
        .flat_map(|v| (v.wrapping_mul(2_654_435_761) >> 24).to_le_bytes())
        .collect()
}

/// Contents of a frame held by a backend (all items, and the vlmeta names).
fn contents(io: Arc<FlakyMem>) -> b2frame::Result<(Vec<u8>, Vec<String>)> {
    let sc = SChunk::open_backend(io, &OpenOptions::default())?;
    let data = sc.read(0..sc.nitems())?;
    let names = sc.vlmeta_names().iter().map(|s| s.to_string()).collect();
    Ok((data, names))
}

type Op = fn(&mut SChunk) -> b2frame::Result<()>;

/// A base file: 3 full chunks of 1000 items, one of 500 items, vlmeta "a".
fn base() -> Vec<u8> {
    let io = FlakyMem::with(Vec::new(), None);
    let mut sc = SChunk::create_backend(
        io.clone(),
        cparams(),
        DParams::default(),
        &Storage::default().with_chunksize(4000),
        &OpenOptions::default(),
    )
    .expect("create");
    sc.append(&items(0..3500)).expect("append");
    sc.set_vlmeta("a", b"\x01").expect("vlmeta");
    sc.flush().expect("flush");
    drop(sc);
    io.bytes()
}

fn ops() -> Vec<(&'static str, Op)> {
    vec![
        ("append_aligned_after_partial", |s| {
            s.append(&items(5000..7000))?;
            s.flush()
        }),
        ("append_tail", |s| {
            s.append(&items(9000..9100))?;
            s.flush()
        }),
        ("set_slice_one_item", |s| {
            s.set_slice(1234..1235, &[9, 9, 9, 9])
        }),
        ("set_slice_grow", |s| {
            s.set_slice(3400..3700, &items(100..400))?;
            s.flush()
        }),
        ("insert_chunk", |s| s.insert_data(1, &items(0..1000))),
        ("update_chunk", |s| s.update_data(2, &items(7..1007))),
        ("delete_chunk", |s| s.delete_chunk(0)),
        ("set_vlmeta", |s| s.set_vlmeta("b", b"\x02\x03")),
        ("delete_all", |s| {
            while s.nchunks() > 0 {
                s.delete_chunk(0)?;
            }
            Ok(())
        }),
    ]
}

#[test]
fn every_interrupted_edit_leaves_old_or_committed_contents() {
    let old = base();
    let old_contents = contents(FlakyMem::with(old.clone(), None)).expect("base opens");
    assert_eq!(old_contents.0, items(0..3500));
    let mut torn = 0;
    for (name, op) in ops() {
        // An uninterrupted run: the commit points and the number of bytes written.
        let clean = FlakyMem::with(old.clone(), Some(usize::MAX));
        {
            let mut sc =
                SChunk::open_backend(clean.clone(), &OpenOptions::default().with_write(true))
                    .expect("open");
            op(&mut sc).expect(name);
        }
        let written = usize::MAX - clean.budget.lock().unwrap().expect("budget");
        let mut valid = vec![old_contents.clone()];
        for snap in clean.snapshots.lock().unwrap().iter() {
            valid.push(contents(FlakyMem::with(snap.clone(), None)).expect("commit point opens"));
        }
        let last = contents(FlakyMem::with(clean.bytes(), None)).expect("final opens");
        assert!(
            valid.contains(&last),
            "{name}: final state is a commit point"
        );
        let patches = clean.patches.lock().unwrap().clone();
        let step = (written / 300).max(1);
        let near_patch = |n: usize| patches.iter().any(|&p| p + 60 >= n && p <= n + step + 4);
        let mut n = 0;
        while n < written {
            let io = FlakyMem::with(old.clone(), Some(n));
            if let Ok(mut sc) =
                SChunk::open_backend(io.clone(), &OpenOptions::default().with_write(true))
            {
                let _ = op(&mut sc);
            }
            let got = contents(FlakyMem::with(io.bytes(), None)).unwrap_or_else(|e| {
                panic!("{name}: failure after {n} bytes: file does not open: {e}")
            });
            assert!(
                valid.contains(&got),
                "{name}: failure after {n} bytes left {} bytes of items, not a commit point",
                got.0.len()
            );
            // A header torn mid-patch is not a valid frame by itself: b2frame rebuilt it.
            torn += usize::from(b2frame::frame::cframe::parse(&io.bytes()).is_err());
            // The reopened file accepts edits again (a torn header is repaired).
            let again = FlakyMem::with(io.bytes(), None);
            let mut sc =
                SChunk::open_backend(again.clone(), &OpenOptions::default().with_write(true))
                    .expect("reopen for writing");
            sc.append(&items(0..1000)).expect("append after recovery");
            sc.flush().expect("flush after recovery");
            drop(sc);
            let (d, _) = contents(again).expect("opens after recovery");
            assert_eq!(d[got.0.len()..], items(0..1000)[..], "{name} after {n}");
            // Around every header patch each byte counts; elsewhere sample.
            n += if near_patch(n) || n < 100 { 1 } else { step };
        }
    }
    assert!(
        torn > 0,
        "no failure point tore the header: the recovery path was not exercised"
    );
}
