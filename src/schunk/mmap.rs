//! A read-only [`Backend`] over a memory-mapped file ([`OpenOptions::with_mmap`]):
//! chunks are decoded straight from the mapping, without copying them out of the
//! page cache, and only the pages of the blocks a read touches are faulted in.
//!
//! The contract of a mapping (as with python-blosc2's `mmap_mode`): nothing may
//! truncate or rewrite the file while it is mapped. b2frame never writes through
//! it; a file changed underneath reads changed bytes (caught by checksums where the
//! frame has them) or, if truncated, faults.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::disk::{Backend, OpenOptions};

/// A file mapped read-only into memory.
#[derive(Debug)]
pub struct MmapBackend {
    path: PathBuf,
    map: Option<Mmap>,
}

impl MmapBackend {
    /// Maps the file at `path` (an empty file maps to nothing).
    ///
    /// # Errors
    /// I/O errors of opening or mapping the file.
    pub fn open(path: impl AsRef<Path>) -> io::Result<MmapBackend> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path)?;
        let map = if file.metadata()?.len() == 0 {
            None
        } else {
            // SAFETY: the mapping is read-only and b2frame never writes the file while
            // it is mapped (writes need `OpenOptions::with_write`, which `open_file`
            // refuses together with `with_mmap`); that no other process truncates or
            // rewrites it meanwhile is the documented contract of `with_mmap`.
            Some(unsafe { Mmap::map(&file)? })
        };
        Ok(MmapBackend { path, map })
    }

    fn read_only(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is memory-mapped read-only", self.path.display()),
        )
    }
}

impl Backend for MmapBackend {
    fn size(&self) -> io::Result<u64> {
        Ok(self.mapped().map_or(0, |m| m.len() as u64))
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        let all = self.mapped().unwrap_or(&[]);
        let src = usize::try_from(pos)
            .ok()
            .and_then(|p| all.get(p..p.checked_add(buf.len())?))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: {} bytes at {pos} past the end ({} bytes)",
                        self.path.display(),
                        buf.len(),
                        all.len()
                    ),
                )
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
        Err(self.read_only())
    }
    fn truncate(&self, _: u64) -> io::Result<()> {
        Err(self.read_only())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn replace(&self, _: &[u8]) -> io::Result<()> {
        Err(self.read_only())
    }
    fn mapped(&self) -> Option<&[u8]> {
        Some(self.map.as_deref().unwrap_or(&[]))
    }
}

/// Checks that `options` can open a mapping.
pub(crate) fn check_options(options: &OpenOptions) -> crate::Result<()> {
    if options.write {
        return Err(crate::Error::invalid(
            "options",
            "a memory-mapped frame is read-only: with_mmap and with_write exclude each other",
        ));
    }
    Ok(())
}
