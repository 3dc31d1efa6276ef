//! Opening a contiguous frame held in memory without copying it
//! (python-blosc2's `schunk_from_cframe(buf, copy=False)`): the super-chunk
//! keeps a shared handle on the caller's buffer and reads chunks from it on
//! demand.

use std::io;
use std::sync::Arc;

use crate::error::Result;
use crate::schunk::{Backend, OpenOptions, SChunk};

/// A read-only [`Backend`] over bytes shared with the caller.
#[derive(Debug, Clone)]
pub struct SharedBytes(Arc<[u8]>);

impl SharedBytes {
    /// Wraps a shared buffer.
    pub fn new(bytes: Arc<[u8]>) -> SharedBytes {
        SharedBytes(bytes)
    }
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "frame borrowed from a shared buffer is read-only",
    )
}

impl Backend for SharedBytes {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        let start = usize::try_from(pos).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.0.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
        Err(read_only())
    }
    fn truncate(&self, _: u64) -> io::Result<()> {
        Err(read_only())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn replace(&self, _: &[u8]) -> io::Result<()> {
        Err(read_only())
    }
}

impl SChunk {
    /// Opens the contiguous frame in `bytes` without copying it: header, index and
    /// trailer are parsed up front, chunks are read from the shared buffer when
    /// needed (the `copy = false` of python-blosc2's `schunk_from_cframe`).
    /// [`SChunk::from_cframe`] is the copying variant. Edits of the result stay in
    /// memory, as for a file opened without `write`: the buffer is never written.
    ///
    /// # Errors
    /// As [`SChunk::open_file`] for a corrupt or truncated frame.
    pub fn from_cframe_shared(bytes: Arc<[u8]>) -> Result<SChunk> {
        SChunk::open_backend(Arc::new(SharedBytes::new(bytes)), &OpenOptions::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CParams, DParams, Storage};

    #[test]
    fn shared_frames_read_like_copied_ones_and_refuse_writes() {
        let cp = CParams::default().with_typesize(4);
        let mut sc = SChunk::with_storage(
            cp,
            DParams::default(),
            &Storage::default().with_chunksize(40_000),
        )
        .unwrap();
        let data: Vec<u8> = (0..25_000u32).flat_map(u32::to_le_bytes).collect();
        sc.append(&data).unwrap();
        let frame: Arc<[u8]> = sc.to_cframe().unwrap().into();
        let shared = SChunk::from_cframe_shared(Arc::clone(&frame)).unwrap();
        assert_eq!(shared.nitems(), 25_000);
        assert_eq!(
            shared.read(12_345..12_400).unwrap(),
            data[12_345 * 4..12_400 * 4]
        );
        assert_eq!(shared.read(0..25_000).unwrap(), data);
        // Edits stay in memory (as for a file opened without `write`): the shared
        // buffer is never written.
        let before = frame.to_vec();
        let mut shared = shared;
        shared.append(&data[..400]).unwrap();
        shared.flush().unwrap();
        assert_eq!(shared.nitems(), 25_100);
        assert_eq!(&*frame, &before[..]);
        let truncated: Arc<[u8]> = frame[..frame.len() - 30].to_vec().into();
        assert!(SChunk::from_cframe_shared(truncated).is_err());
    }
}
