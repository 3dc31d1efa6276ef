//! Direct reads of local files for stores opened from a local path: positioned
//! reads (`pread`) and directory walks on the calling thread, instead of
//! `object_store`'s `LocalFileSystem`, which hands every request to a blocking
//! thread and reopens the file for it. Errors become the `object_store` errors
//! that `LocalFileSystem` would return (`NotFound` stays `NotFound`), so callers
//! cannot tell the two paths apart except by speed.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;

use bytes::Bytes;

use crate::error::Error;

/// Whether `rel` is a relative path made only of ASCII letters, digits and
/// `._-=` between single `/`s: such paths name the same file for
/// `object_store` (no percent-encoding) and for the file system. Other paths
/// (and `LocalFileSystem`'s `#n` staging files) go through `object_store`.
pub(super) fn is_plain(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'='))
        })
}

/// The whole file.
pub(super) fn read(path: &Path) -> io::Result<Bytes> {
    Ok(std::fs::read(path)?.into())
}

/// Opens `path` for reading. On Linux without access-time updates
/// (`O_NOATIME`, allowed for the file's owner): each `pread` then skips the
/// kernel's access-time check, a few percent of a small slice. Where the flag
/// is refused (not the owner) the plain open is used from then on.
pub(super) fn open(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        static REFUSED: AtomicBool = AtomicBool::new(false);
        if !REFUSED.load(Ordering::Relaxed) {
            match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOATIME)
                .open(path)
            {
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    REFUSED.store(true, Ordering::Relaxed)
                }
                other => return other,
            }
        }
    }
    File::open(path)
}

/// What `stat` says of a local file or directory that changes whenever it does
/// (a directory: whenever an entry is added, removed or renamed): device, inode,
/// size, link count, modification and change times. Two stamps of the same path
/// compare equal only if nothing changed in between, provided the first one is
/// [`settled`](stamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    nlink: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// Whether `other` stamps the same file or directory (perhaps changed since).
    pub(crate) fn same_inode(&self, other: &Stamp) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

/// The [`Stamp`] of `path` when it is settled: its newest time lies further in
/// the past than the file system's timestamp granularity, so that any later
/// change must give another stamp. A change in the same clock tick as the stamp
/// could keep its times (kernels stamp files from a coarse clock, FAT and ext3
/// keep whole seconds); such a stamp is `None`, as is any error and any platform
/// without inode numbers.
pub(crate) fn stamp(path: &Path) -> Option<Stamp> {
    stamp_at(path, std::time::SystemTime::now())
}

/// [`stamp`] with the current time `now`, read before the `stat`.
#[cfg(unix)]
fn stamp_at(path: &Path, now: std::time::SystemTime) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    let s = Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        nlink: m.nlink(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    };
    settled(s.mtime.max(s.ctime), now).then_some(s)
}

#[cfg(not(unix))]
fn stamp_at(_path: &Path, _now: std::time::SystemTime) -> Option<Stamp> {
    None
}

/// Whether a time stamp `(seconds, nanoseconds)` since the epoch lies far enough
/// before `now`: 2 s for whole-second stamps (FAT keeps even seconds), else
/// 100 ms (ten ticks of the slowest kernel clock).
fn settled((secs, nanos): (i64, i64), now: std::time::SystemTime) -> bool {
    let Ok(now) = now.duration_since(std::time::UNIX_EPOCH) else {
        return false;
    };
    let margin_ns: i128 = if nanos == 0 {
        2_000_000_000
    } else {
        100_000_000
    };
    let t = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    t + margin_ns < now.as_nanos() as i128
}

/// Whether the open `file` still has a name (not deleted, nor replaced by a
/// rename); `true` where that cannot be told.
pub(crate) fn still_linked(file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        file.metadata().is_ok_and(|m| m.nlink() > 0)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

/// The file's size.
pub(super) fn size(path: &Path) -> io::Result<u64> {
    let m = std::fs::metadata(path)?;
    if m.is_dir() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "is a directory"));
    }
    Ok(m.len())
}

/// Bytes `range` of `file`; an `UnexpectedEof` error when the file ends first.
pub(super) fn read_at(file: &File, range: Range<u64>) -> io::Result<Bytes> {
    let len = usize::try_from(range.end - range.start)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "range too large"))?;
    let mut buf = vec![0u8; len];
    let mut done = 0usize;
    while done < len {
        let n = pread(file, &mut buf[done..], range.start + done as u64)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "range {}..{} returned {done} bytes, expected {len} (object too short)",
                    range.start, range.end
                ),
            ));
        }
        done += n;
    }
    Ok(buf.into())
}

#[cfg(unix)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read(buf)
}

/// The files under `dir/prefix` (recursively) as `/`-separated paths relative to
/// `dir` with their sizes, sorted; a missing directory lists nothing. Only plain
/// names are listed (see [`is_plain`]), as `LocalFileSystem` skips its staging
/// files; with `after`, only files whose path sorts after it (the others are not
/// even `stat`ed). Without `sizes`, sizes are 0 and nothing is `stat`ed. Symbolic
/// links are not listed either way.
pub(super) fn list(
    dir: &Path,
    prefix: &str,
    after: Option<&str>,
    sizes: bool,
) -> io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut todo = vec![prefix.to_string()];
    while let Some(rel) = todo.pop() {
        let entries = match std::fs::read_dir(dir.join(&rel)) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = e.file_type()?;
            if ft.is_dir() {
                todo.push(path);
            } else if is_plain(&path) && after.is_none_or(|a| path.as_str() > a) {
                if !sizes {
                    // Names only: the entry's type needs no `stat`.
                    if ft.is_file() {
                        out.push((path, 0));
                    }
                    continue;
                }
                let meta = match e.metadata() {
                    Ok(m) => m,
                    // Deleted meanwhile.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(err),
                };
                if meta.is_file() {
                    out.push((path, meta.len()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `bytes` to the new file `path` (creating its folders); an existing
/// file is an `AlreadyExists` error.
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut f = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            open()?
        }
        other => other?,
    };
    f.write_all(bytes)
}

/// `object_store`'s error for a failed local `op` on `path`: `NotFound` for a
/// missing file, `Generic` naming the operation and path otherwise.
pub(super) fn error(op: &'static str, path: &Path, e: io::Error) -> Error {
    let path = path.display().to_string();
    Error::Store(if e.kind() == io::ErrorKind::NotFound {
        object_store::Error::NotFound {
            path,
            source: Box::new(e),
        }
    } else {
        object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(super::AtPath {
                op,
                path,
                source: Box::new(e),
            }),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_settle_after_the_timestamp_granularity() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |s: u64, ns: u32| UNIX_EPOCH + Duration::new(s, ns);
        // Nanosecond stamps: 100 ms.
        assert!(!settled((1000, 5), at(1000, 100_000_005)));
        assert!(settled((1000, 5), at(1000, 100_000_006)));
        // Whole-second stamps (ext3, FAT): 2 s.
        assert!(!settled((1000, 0), at(1001, 999_999_999)));
        assert!(!settled((1000, 0), at(1002, 0)));
        assert!(settled((1000, 0), at(1002, 1)));
        // A clock before the epoch settles nothing.
        assert!(!settled((0, 1), UNIX_EPOCH - Duration::from_secs(1)));
    }

    #[cfg(unix)]
    #[test]
    fn stamps_change_with_directory_entries() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let past = SystemTime::now() - Duration::from_secs(60);
        let age = |p: &Path| File::open(p).unwrap().set_modified(past).unwrap();
        // Just changed: not settled.
        assert_eq!(stamp(dir.path()), None);
        age(dir.path());
        // The change time cannot be set back: still too recent.
        assert_eq!(stamp(dir.path()), None);
        let later = SystemTime::now() + Duration::from_secs(60);
        let a = stamp_at(dir.path(), later).unwrap();
        assert_eq!(stamp_at(dir.path(), later), Some(a));
        std::fs::write(dir.path().join("x"), b"1").unwrap();
        age(dir.path());
        let b = stamp_at(dir.path(), later + Duration::from_secs(1)).unwrap();
        assert_ne!(a, b, "an added entry changes the stamp");
        assert!(a.same_inode(&b));
        assert_eq!(stamp(&dir.path().join("missing")), None);
    }

    #[test]
    fn plain_paths_are_simple_relative_names() {
        assert!(is_plain("data/000001-ab/c0.values.b2frame"));
        assert!(is_plain("_manifest/v00000000000000000001.json"));
        for bad in ["", "/a", "a//b", "a/../b", "a b", "a#1", "ä", "a/"] {
            assert!(!is_plain(bad), "{bad}");
        }
    }

    #[test]
    fn short_reads_are_errors_and_lists_skip_staging_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x"), b"0123456789").unwrap();
        std::fs::write(dir.path().join("a/y#1"), b"tmp").unwrap();
        let f = File::open(dir.path().join("a/b/x")).unwrap();
        assert_eq!(read_at(&f, 2..5).unwrap(), &b"234"[..]);
        assert_eq!(
            read_at(&f, 8..12).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert_eq!(
            list(dir.path(), "a", None, true).unwrap(),
            vec![("a/b/x".to_string(), 10)]
        );
        // Names only: the same files, sizes left at 0; symbolic links neither way.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("a/b/x"), dir.path().join("a/l")).unwrap();
            assert_eq!(
                list(dir.path(), "a", None, false).unwrap(),
                vec![("a/b/x".to_string(), 0)]
            );
            assert_eq!(list(dir.path(), "a", None, true).unwrap().len(), 1);
            std::fs::remove_file(dir.path().join("a/l")).unwrap();
        }
        assert!(list(dir.path(), "nothing", None, true).unwrap().is_empty());
        // Only paths after `after`, in subfolders too.
        std::fs::write(dir.path().join("a/b/z"), b"12").unwrap();
        std::fs::write(dir.path().join("a/c"), b"1").unwrap();
        let after = |a: &str| -> Vec<String> {
            let v = list(dir.path(), "a", Some(a), true).unwrap();
            v.into_iter().map(|(p, _)| p).collect()
        };
        assert_eq!(after("a/b/x"), ["a/b/z", "a/c"]);
        assert_eq!(after("a/b/z"), ["a/c"]);
        assert_eq!(after("a/a"), ["a/b/x", "a/b/z", "a/c"]);
        assert!(after("a/c").is_empty());
    }
}
