//! # b2frame
//!
//! A native Rust Blosc2 engine, byte-compatible with C-Blosc2 and
//! python-blosc2, built to be the columnar storage of Arrow and Polars
//! pipelines.
//!
//! ```text
//! codec, filter  →  chunk  →  super-chunk (SChunk)  →  frame (.b2frame)
//! ```
//!
//! Most users want [`SChunk`] (append, item-range reads, frames); the
//! single-buffer API is [`chunk::compress`] / [`chunk::decompress`].
//!
//! ```
//! use b2frame::{chunk, CParams, Codec, DParams, Filter};
//! let values: Vec<u8> = (0..100_000u32).flat_map(|v| v.to_le_bytes()).collect();
//! let cparams = CParams::default().with_codec(Codec::Lz4).with_typesize(4).with_filters([Filter::Shuffle]);
//! let packed = chunk::compress(&cparams, &values)?;
//! assert!(packed.len() < values.len() / 10);
//! assert_eq!(chunk::decompress(&packed, &DParams::default())?, values);
//! # Ok::<(), b2frame::Error>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod arrow;
pub mod chunk;
pub(crate) mod codec;
pub mod dataset;
pub mod error;
pub(crate) mod filter;
pub mod frame;
pub(crate) mod msgpack;
pub mod npy;
#[cfg(feature = "polars")]
pub mod polars;
pub mod schunk;
pub mod store;
pub mod tensor;

pub use chunk::params::{CParams, Codec, DParams, Filter, SplitMode};
pub use error::{Error, Result};
pub use schunk::{SChunk, Storage};
pub use store::{Store, StoreStats};
pub use tensor::{DType, NdArray, NdMeta};

/// Codec and filter kernels for `benches/codec.rs`; not a stable API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod __internals {
    /// LZ4 block compression with C's acceleration.
    pub fn lz4_compress(acceleration: u32, src: &[u8], dst: &mut [u8]) -> usize {
        crate::codec::lz4::compress(acceleration, src, dst)
    }
    /// Zstd stream compression at Blosc2 `clevel` (libzstd); 0 if it did not fit.
    pub fn zstd_compress(clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
        crate::codec::compress_stream(crate::codec::id::ZSTD, clevel, src, dst)
    }
    /// Zstd whole-stream decompression (libzstd).
    pub fn zstd_decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
        crate::codec::decompress_stream(crate::codec::FORMAT_ZSTD, src, dst)
    }
    /// Zstd window decoding: `dst[need]` of the frame `src`, whose whole output is
    /// `dst.len()` bytes (pure Rust).
    pub fn zstd_decompress_window(
        src: &[u8],
        dst: &mut [u8],
        need: std::ops::Range<usize>,
    ) -> Result<(), &'static str> {
        crate::codec::zstd::decompress_window(src, dst, need)
    }
    /// LZ4 block decompression.
    pub fn lz4_decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
        crate::codec::lz4::decompress(src, dst)
    }
    /// Byte shuffle of one block.
    pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
        crate::filter::shuffle(typesize, src, dst)
    }
    /// A filter kernel: `(typesize, src, dst)`.
    pub type FilterFn = fn(usize, &[u8], &mut [u8]);
    /// Every BYTEDELTA decode kernel usable on this CPU as `(name, decode)`,
    /// scalar first, the one the chunk decoder picks last.
    pub fn bytedelta_decode_kernels() -> Vec<(&'static str, FilterFn)> {
        crate::filter::bytedelta_kernels()
            .into_iter()
            .map(|k| (k.name, k.inverse))
            .collect()
    }
}
