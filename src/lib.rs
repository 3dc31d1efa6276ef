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

pub mod chunk;
pub(crate) mod codec;
pub mod error;
pub(crate) mod filter;
pub mod frame;
pub(crate) mod msgpack;
pub mod schunk;

pub use chunk::params::{CParams, Codec, DParams, Filter, SplitMode};
pub use error::{Error, Result};
pub use schunk::{SChunk, Storage};
