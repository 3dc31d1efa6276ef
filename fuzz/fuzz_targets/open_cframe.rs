//! Contiguous frames from arbitrary bytes: opening in memory (checksums verified
//! or not) and through a positioned-read or a mapped backend, then reading every item and
//! every chunk, must return `Ok` or `Err`, never panic or allocate without bound.
#![no_main]

use std::sync::Arc;

use b2frame::schunk::{Backend, OpenOptions};
use b2frame::SChunk;
use libfuzzer_sys::fuzz_target;

/// A read-only in-memory backend (positioned reads, or, when `.1`, a mapping whose
/// chunks decode in place as with `OpenOptions::with_mmap`).
#[derive(Debug)]
struct Bytes(Vec<u8>, bool);

impl Backend for Bytes {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
        let p = usize::try_from(pos).map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
        let src = p
            .checked_add(buf.len())
            .and_then(|e| self.0.get(p..e))
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
    fn mapped(&self) -> Option<&[u8]> {
        self.1.then_some(self.0.as_slice())
    }
}

fn read_all(sc: &SChunk) {
    if sc.nbytes() > 1 << 24 {
        return;
    }
    let n = sc.nitems();
    let _ = sc.read(0..n);
    let _ = sc.read(n / 3..n);
    for i in 0..sc.nchunks().min(64) {
        if let Ok(c) = sc.chunk(i) {
            if let Ok(h) = b2frame::chunk::ChunkHeader::parse(&c) {
                if h.nbytes <= 1 << 24 {
                    let _ = sc.decompress_chunk(i);
                }
            }
        }
    }
    for name in sc.vlmeta_names() {
        let _ = sc.vlmeta(name);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sc) = SChunk::from_cframe(data) {
        read_all(&sc);
    }
    let lax = OpenOptions::default().with_verify_checksums(false);
    if let Ok(sc) = SChunk::from_cframe_with(data, &lax) {
        read_all(&sc);
    }
    for opts in [OpenOptions::default(), lax] {
        for mapped in [false, true] {
            let io = Arc::new(Bytes(data.to_vec(), mapped));
            if let Ok(sc) = SChunk::open_backend(io, &opts) {
                read_all(&sc);
            }
        }
    }
});
