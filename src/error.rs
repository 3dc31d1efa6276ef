//! The crate's one error type, with variants that say who must act: the file
//! (`Corrupt`, `Unsupported`), the caller (`InvalidArgument`), the limits
//! (`LimitExceeded`) or the environment (`Io`, `Store`).

use std::fmt;

/// Which part of a Blosc2 object a [`Error::Corrupt`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// A chunk's 16- or 32-byte header.
    ChunkHeader,
    /// A chunk's block-start table.
    BlockStarts,
    /// The compressed data of one block (its streams).
    Block,
    /// A frame's msgpack header (including metalayers).
    FrameHeader,
    /// A frame's trailer (including variable-length metalayers).
    FrameTrailer,
    /// A frame's chunk-offsets index.
    OffsetsIndex,
    /// A chunk stored inside a frame.
    FrameChunk,
    /// A msgpack value (metalayer or vlmeta content).
    Msgpack,
    /// A checksum kept by b2frame did not match the bytes.
    Checksum,
    /// The `b2nd` metalayer or tensor metadata.
    NdMeta,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::ChunkHeader => "chunk header",
            Part::BlockStarts => "block starts",
            Part::Block => "block",
            Part::FrameHeader => "frame header",
            Part::FrameTrailer => "frame trailer",
            Part::OffsetsIndex => "offsets index",
            Part::FrameChunk => "frame chunk",
            Part::Msgpack => "msgpack value",
            Part::Checksum => "checksum",
            Part::NdMeta => "b2nd metadata",
        })
    }
}

/// Which limit an untrusted size ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limit {
    /// What was being sized (e.g. "decompressed chunk").
    pub what: &'static str,
    /// The size the input asked for.
    pub requested: u64,
    /// The largest size allowed.
    pub max: u64,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} bytes, at most {} allowed",
            self.what, self.requested, self.max
        )
    }
}

/// Errors returned by every fallible operation of b2frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid Blosc2 object (truncated, corrupted, inconsistent).
    #[error("corrupt {part} at byte {offset}: {detail}")]
    Corrupt {
        /// The part of the object that is damaged.
        part: Part,
        /// Byte offset (inside the chunk or frame) where the damage was found.
        offset: u64,
        /// What was wrong, with expected vs found where known.
        detail: String,
    },
    /// The bytes are valid Blosc2 but use a feature b2frame does not implement.
    #[error("unsupported {what}: {detail}")]
    Unsupported {
        /// The kind of feature, e.g. "codec" or "filter".
        what: &'static str,
        /// Which one, e.g. "id 33 (ZFP)".
        detail: String,
    },
    /// A caller-supplied argument is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// Why it is invalid, with the accepted range.
        reason: String,
    },
    /// An untrusted size exceeded a configured limit.
    #[error("limit exceeded: {0}")]
    LimitExceeded(Limit),
    /// An I/O error from the environment.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An object-store error from the environment (missing object, permission
    /// denied, server down); its message names the object's path.
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// An Arrow error (invalid array data, IPC schema bytes).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A dataset problem, naming the object (path relative to the dataset) it concerns.
    #[error("dataset object {path}: {kind}: {detail}")]
    Dataset {
        /// The object's path relative to the dataset root (e.g. `_manifest/v…json`).
        path: String,
        /// What kind of problem.
        kind: DatasetErrorKind,
        /// What was wrong.
        detail: String,
    },
}

/// The kinds of [`Error::Dataset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatasetErrorKind {
    /// No dataset (no manifest) where one was expected.
    NotFound,
    /// A dataset already exists where a new one was to be created.
    AlreadyExists,
    /// An object the manifest names is missing.
    Missing,
    /// A manifest or column frame is corrupt or truncated.
    Corrupt,
    /// The schema of appended data differs from the dataset's.
    SchemaMismatch,
    /// Another writer committed the same version, and the commit could not be redone.
    Conflict,
}

impl fmt::Display for DatasetErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatasetErrorKind::NotFound => "no dataset",
            DatasetErrorKind::AlreadyExists => "dataset already exists",
            DatasetErrorKind::Missing => "missing object",
            DatasetErrorKind::Corrupt => "corrupt object",
            DatasetErrorKind::SchemaMismatch => "schema mismatch",
            DatasetErrorKind::Conflict => "commit conflict",
        })
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Corrupt`] for `part` at `offset`.
    pub(crate) fn corrupt(part: Part, offset: usize, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            part,
            offset: offset as u64,
            detail: detail.into(),
        }
    }

    /// A [`Error::InvalidArgument`] for `name`.
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }

    /// A [`Error::Unsupported`] feature.
    pub(crate) fn unsupported(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Unsupported {
            what,
            detail: detail.into(),
        }
    }

    /// A [`Error::LimitExceeded`].
    pub(crate) fn limit(what: &'static str, requested: u64, max: u64) -> Self {
        Error::LimitExceeded(Limit {
            what,
            requested,
            max,
        })
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(io) => io,
            Error::Corrupt { .. } => std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            Error::InvalidArgument { .. } => {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
            }
            other => std::io::Error::other(other),
        }
    }
}
