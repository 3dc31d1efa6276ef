//! The Blosc2 chunk: one compressed buffer of at most 2 GiB, cut into blocks
//! that are filtered, split into streams and compressed (C-Blosc2's
//! `README_CHUNK_FORMAT.rst`, spec §A–§D).
//!
//! ```text
//! chunk = header (32 B) | bstarts (i32 × nblocks) | block 0 | block 1 | …
//! block = for each stream: csize (i32) | payload
//! ```
//!
//! [`compress`] reproduces C-Blosc2's serial encoder (so BloscLZ chunks are
//! byte-identical), [`decompress`] validates every field of untrusted bytes,
//! and [`decompress_items_into`] decodes only the blocks an item range needs.

mod blocksize;
mod decode;
mod encode;
pub mod header;
pub mod params;
pub(crate) mod partial;
pub(crate) mod pool;
mod scratch;
mod special;
pub(crate) mod splice;

pub use decode::{decompress, decompress_into, decompress_items_into};
pub use encode::compress;
pub use header::{ChunkHeader, SpecialValue, HEADER_LEN, MAX_BLOCKSIZE, MAX_BUFFERSIZE};
pub use special::special;

/// The block size C-Blosc2 would choose for a chunk of `nbytes` with `cparams`.
pub fn blocksize_for(cparams: &params::CParams, nbytes: usize) -> usize {
    let bs = blocksize::compute_blocksize(cparams, cparams.typesize, nbytes);
    if nbytes == 0 {
        bs
    } else {
        bs.min(nbytes)
    }
}
