//! Compression and decompression parameters: codecs, filters, split modes,
//! with python-blosc2's defaults (ZSTD, clevel 5, SHUFFLE, AUTO split).

use crate::error::{Error, Result};

/// A Blosc2 codec, with the ids C-Blosc2 writes at header byte 0x16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// BloscLZ (id 0), Blosc's own FastLZ derivative.
    BloscLz,
    /// LZ4 (id 1), raw block format.
    Lz4,
    /// LZ4HC (id 2): LZ4 blocks from a high-compression match finder.
    Lz4Hc,
    /// zlib (id 4): zlib-wrapped deflate.
    Zlib,
    /// Zstandard (id 5).
    Zstd,
}

impl Codec {
    /// The codec id as stored in chunk byte 0x16 and frame byte 77.
    pub fn id(self) -> u8 {
        match self {
            Codec::BloscLz => 0,
            Codec::Lz4 => 1,
            Codec::Lz4Hc => 2,
            Codec::Zlib => 4,
            Codec::Zstd => 5,
        }
    }

    /// The codec for an id, or an `Unsupported` error naming it.
    pub fn from_id(id: u8) -> Result<Codec> {
        Ok(match id {
            0 => Codec::BloscLz,
            1 => Codec::Lz4,
            2 => Codec::Lz4Hc,
            4 => Codec::Zlib,
            5 => Codec::Zstd,
            other => return Err(Error::unsupported("codec", codec_id_name(other))),
        })
    }

    /// The stream format stored in flag bits 5..7 (LZ4 and LZ4HC share format 1).
    pub(crate) fn format(self) -> u8 {
        match self {
            Codec::BloscLz => 0,
            Codec::Lz4 | Codec::Lz4Hc => 1,
            Codec::Zlib => 3,
            Codec::Zstd => 4,
        }
    }

    /// The lowercase name used by the CLI and `info` ("blosclz", "lz4", ...).
    pub fn name(self) -> &'static str {
        match self {
            Codec::BloscLz => "blosclz",
            Codec::Lz4 => "lz4",
            Codec::Lz4Hc => "lz4hc",
            Codec::Zlib => "zlib",
            Codec::Zstd => "zstd",
        }
    }

    /// Whether C-Blosc2 counts this codec as high-compression-ratio (HCR) in its blocksize tuner.
    pub(crate) fn is_hcr(self) -> bool {
        matches!(self, Codec::Lz4Hc | Codec::Zlib | Codec::Zstd)
    }
}

/// A human name for a codec id, including the ones b2frame does not implement.
pub(crate) fn codec_id_name(id: u8) -> String {
    let name = match id {
        0 => "BloscLZ",
        1 => "LZ4",
        2 => "LZ4HC",
        3 => "Snappy (removed from Blosc2)",
        4 => "zlib",
        5 => "Zstd",
        32 => "NDLZ",
        33..=35 => "ZFP",
        36 => "OpenHTJ2K",
        37 => "Grok",
        38 => "OpenZL",
        39 => "J2K",
        40 => "HTJ2K",
        160..=255 => "user-defined codec",
        _ => "unknown codec",
    };
    format!("codec id {id} ({name})")
}

/// A Blosc2 filter, with the ids stored in the six filter slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Filter {
    /// No filter (id 0).
    #[default]
    NoFilter,
    /// Byte shuffle (id 1).
    Shuffle,
    /// Bit shuffle (id 2).
    BitShuffle,
    /// XOR delta against the first block (id 3).
    Delta,
    /// Lossy mantissa truncation of f32/f64 (id 4); the meta byte is the precision in bits.
    TruncPrec,
    /// Byte delta (id 35), meant to follow shuffle.
    ByteDelta,
    /// The legacy byte delta (id 34), read-only.
    ByteDeltaLegacy,
}

impl Filter {
    /// The filter id.
    pub fn id(self) -> u8 {
        match self {
            Filter::NoFilter => 0,
            Filter::Shuffle => 1,
            Filter::BitShuffle => 2,
            Filter::Delta => 3,
            Filter::TruncPrec => 4,
            Filter::ByteDeltaLegacy => 34,
            Filter::ByteDelta => 35,
        }
    }

    /// The filter for an id, or an `Unsupported` error naming it.
    pub fn from_id(id: u8) -> Result<Filter> {
        Ok(match id {
            0 => Filter::NoFilter,
            1 => Filter::Shuffle,
            2 => Filter::BitShuffle,
            3 => Filter::Delta,
            4 => Filter::TruncPrec,
            34 => Filter::ByteDeltaLegacy,
            35 => Filter::ByteDelta,
            32 => return Err(Error::unsupported("filter", "filter id 32 (NDCELL)")),
            33 => return Err(Error::unsupported("filter", "filter id 33 (NDMEAN)")),
            36 => return Err(Error::unsupported("filter", "filter id 36 (INT_TRUNC)")),
            other => return Err(Error::unsupported("filter", format!("filter id {other}"))),
        })
    }

    /// The lowercase name used by the CLI and `info`.
    pub fn name(self) -> &'static str {
        match self {
            Filter::NoFilter => "nofilter",
            Filter::Shuffle => "shuffle",
            Filter::BitShuffle => "bitshuffle",
            Filter::Delta => "delta",
            Filter::TruncPrec => "trunc_prec",
            Filter::ByteDelta => "bytedelta",
            Filter::ByteDeltaLegacy => "bytedelta_legacy",
        }
    }
}

/// How blocks are cut into streams (C-Blosc2's `splitmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SplitMode {
    /// Always split blocks into `typesize` streams (1).
    Always,
    /// Never split (2).
    Never,
    /// C-Blosc2's automatic rule (3), python-blosc2's default.
    #[default]
    Auto,
    /// C-Blosc2's default (4); behaves like `Auto`.
    ForwardCompat,
}

impl SplitMode {
    /// The cparams value (1..=4).
    pub fn value(self) -> u8 {
        match self {
            SplitMode::Always => 1,
            SplitMode::Never => 2,
            SplitMode::Auto => 3,
            SplitMode::ForwardCompat => 4,
        }
    }

    /// The mode for a cparams value.
    pub fn from_value(v: u8) -> Result<SplitMode> {
        Ok(match v {
            1 => SplitMode::Always,
            2 => SplitMode::Never,
            3 => SplitMode::Auto,
            4 => SplitMode::ForwardCompat,
            other => {
                return Err(Error::invalid(
                    "splitmode",
                    format!("{other}, expected 1..=4"),
                ))
            }
        })
    }
}

/// Compression parameters.
///
/// Defaults are python-blosc2's: ZSTD, clevel 5, filters `[0,0,0,0,0,SHUFFLE]`,
/// typesize 8, AUTO split, automatic blocksize, one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CParams {
    /// The codec.
    pub codec: Codec,
    /// Compression level 0..=9 (0 stores data uncompressed).
    pub clevel: u8,
    /// Item size in bytes, 1..=255 inside chunks (larger sizes are compressed as 1).
    pub typesize: usize,
    /// The six filter slots, applied 0..5 when compressing.
    pub filters: [Filter; 6],
    /// One meta byte per filter slot.
    pub filters_meta: [u8; 6],
    /// The split mode.
    pub splitmode: SplitMode,
    /// Block size in bytes; 0 picks C-Blosc2's automatic size.
    pub blocksize: usize,
    /// Threads for block encoding; 1 never touches a thread pool.
    pub nthreads: usize,
}

impl Default for CParams {
    fn default() -> Self {
        CParams {
            codec: Codec::Zstd,
            clevel: 5,
            typesize: 8,
            filters: [
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::Shuffle,
            ],
            filters_meta: [0; 6],
            splitmode: SplitMode::Auto,
            blocksize: 0,
            nthreads: 1,
        }
    }
}

impl CParams {
    /// Sets the codec.
    pub fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }
    /// Sets the compression level (validated when compressing).
    pub fn with_clevel(mut self, clevel: u8) -> Self {
        self.clevel = clevel;
        self
    }
    /// Sets the item size in bytes.
    pub fn with_typesize(mut self, typesize: usize) -> Self {
        self.typesize = typesize;
        self
    }
    /// Fills the filter slots from slot 0, as python-blosc2 does with its `filters` list;
    /// the remaining slots get `NoFilter`. At most six filters are used.
    pub fn with_filters(mut self, filters: impl IntoIterator<Item = Filter>) -> Self {
        self.filters = [Filter::NoFilter; 6];
        for (slot, f) in self.filters.iter_mut().zip(filters) {
            *slot = f;
        }
        self
    }
    /// Sets the meta bytes of the six filter slots.
    pub fn with_filters_meta(mut self, meta: [u8; 6]) -> Self {
        self.filters_meta = meta;
        self
    }
    /// Sets the split mode.
    pub fn with_splitmode(mut self, mode: SplitMode) -> Self {
        self.splitmode = mode;
        self
    }
    /// Sets the block size (0 = automatic).
    pub fn with_blocksize(mut self, blocksize: usize) -> Self {
        self.blocksize = blocksize;
        self
    }
    /// Sets the number of threads (0 is treated as 1).
    pub fn with_nthreads(mut self, nthreads: usize) -> Self {
        self.nthreads = nthreads;
        self
    }

    /// Checks ranges; returns the parameters as they will be written.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.clevel > 9 {
            return Err(Error::invalid(
                "clevel",
                format!("{}, expected 0..=9", self.clevel),
            ));
        }
        if self.typesize == 0 || self.typesize > i32::MAX as usize {
            return Err(Error::invalid(
                "typesize",
                format!("{}, expected 1..=2147483647", self.typesize),
            ));
        }
        if self.blocksize > crate::chunk::MAX_BLOCKSIZE {
            return Err(Error::invalid(
                "blocksize",
                format!(
                    "{}, expected at most {}",
                    self.blocksize,
                    crate::chunk::MAX_BLOCKSIZE
                ),
            ));
        }
        for (slot, f) in self.filters.iter().enumerate() {
            if *f == Filter::ByteDeltaLegacy {
                return Err(Error::invalid(
                    "filters",
                    format!("slot {slot}: legacy bytedelta (id 34) is read-only, use ByteDelta"),
                ));
            }
            if *f == Filter::TruncPrec {
                let ts = self.typesize;
                if ts != 4 && ts != 8 {
                    return Err(Error::invalid(
                        "filters",
                        format!("trunc_prec needs typesize 4 or 8, found {ts}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Decompression parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DParams {
    /// Threads for block decoding; 1 never touches a thread pool.
    pub nthreads: usize,
    /// Largest decompressed size accepted from untrusted headers when the
    /// library allocates the output (default 2^31 bytes, Blosc2's format limit).
    pub max_nbytes: usize,
}

impl Default for DParams {
    fn default() -> Self {
        DParams {
            nthreads: 1,
            max_nbytes: i32::MAX as usize,
        }
    }
}

impl DParams {
    /// Sets the number of threads (0 is treated as 1).
    pub fn with_nthreads(mut self, nthreads: usize) -> Self {
        self.nthreads = nthreads;
        self
    }
    /// Sets the largest decompressed size the library will allocate for one chunk.
    pub fn with_max_nbytes(mut self, max: usize) -> Self {
        self.max_nbytes = max;
        self
    }
}
