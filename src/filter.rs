//! Blosc2 byte filters (spec §B): the reversible block transforms run before
//! the codec on encode and after it on decode.
//!
//! Every function here works on **one block** (spec §A.6/§A.7): the chunk layer
//! cuts a chunk into blocks, runs the filter pipeline on each block (slots 0→5
//! when encoding, 5→0 when decoding) and hands each kernel the block's bytes.
//! All kernels write `dst.len() == src.len()` bytes and never fail on data;
//! only [`trunc_prec()`] can reject its parameters.
//!
//! | id | filter | forward | inverse |
//! |---|---|---|---|
//! | 1 | SHUFFLE | [`shuffle()`] | [`unshuffle`] |
//! | 2 | BITSHUFFLE | [`bitshuffle()`] | [`bitunshuffle`], [`bitunshuffle_legacy_v2`] (chunk version 2) |
//! | 3 | DELTA | [`delta_encode`] | [`delta_decode`] |
//! | 4 | TRUNC_PREC | [`trunc_prec()`] | nothing (lossy) |
//! | 34 | BYTEDELTA (legacy) | — | [`bytedelta_legacy_decode`] |
//! | 35 | BYTEDELTA | [`bytedelta_encode`] | [`bytedelta_decode`] |
//!
//! Shuffle, bitshuffle and the bytedelta decoder pick a SIMD implementation
//! once per process (`OnceLock`, runtime feature detection on x86-64:
//! AVX-512, AVX2, SSE2/SSSE3); the scalar code is always built and is the
//! reference in tests. Setting `B2FRAME_FORCE_SCALAR=1` in the environment
//! forces the scalar path. Delta, the bytedelta encoder and trunc_prec are
//! plain Rust written to autovectorise.
//!
//! Where C-Blosc2 leaves bytes unwritten (the partial trailing word of DELTA,
//! the partial trailing element of TRUNC_PREC, the tail of legacy BYTEDELTA)
//! these kernels copy the input bytes instead, so data round-trips exactly.

mod bitshuffle;
mod bytedelta;
mod delta;
mod shuffle;
mod trunc_prec;

pub(crate) use bitshuffle::{bitshuffle, bitunshuffle, bitunshuffle_legacy_v2};
pub(crate) use bytedelta::{bytedelta_decode, bytedelta_encode, bytedelta_legacy_decode};
pub(crate) use delta::{delta_decode, delta_encode};
pub(crate) use shuffle::{shuffle, unshuffle};
pub(crate) use trunc_prec::trunc_prec;

/// One implementation (scalar or one SIMD instruction set) of a transposing
/// filter, as a pair of safe function pointers `(typesize, src, dst)`.
///
/// Listed by [`shuffle_kernels`] and [`bitshuffle_kernels`] so tests and
/// benchmarks can call every implementation the CPU supports explicitly.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub struct Kernel {
    /// Short name: `"scalar"`, `"sse2"`, `"avx2"` or `"avx512vbmi"`.
    pub name: &'static str,
    /// Forward transform (encode direction).
    pub forward: fn(usize, &[u8], &mut [u8]),
    /// Inverse transform (decode direction).
    pub inverse: fn(usize, &[u8], &mut [u8]),
}

/// Every shuffle implementation usable on this CPU, scalar first, fastest last.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn shuffle_kernels() -> Vec<Kernel> {
    shuffle::kernels()
}

/// Every bitshuffle implementation usable on this CPU, scalar first, fastest last.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn bitshuffle_kernels() -> Vec<Kernel> {
    bitshuffle::kernels()
}

/// Every BYTEDELTA implementation usable on this CPU, scalar first, fastest last.
#[cfg_attr(not(feature = "bench-internals"), allow(dead_code))]
pub(crate) fn bytedelta_kernels() -> Vec<Kernel> {
    bytedelta::kernels()
}

/// Whether `B2FRAME_FORCE_SCALAR=1` asks for the scalar kernels (read once).
fn force_scalar() -> bool {
    static FORCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCE.get_or_init(|| std::env::var_os("B2FRAME_FORCE_SCALAR").is_some_and(|v| v == "1"))
}

/// Picks the kernel to use from a list ordered slowest to fastest.
fn pick(kernels: Vec<Kernel>) -> Kernel {
    let scalar = kernels[0];
    if force_scalar() {
        scalar
    } else {
        kernels.last().copied().unwrap_or(scalar)
    }
}

/// Panics unless `src` and `dst` have the same length (a caller bug, never input).
#[track_caller]
fn check_lengths(src: &[u8], dst: &[u8]) {
    assert_eq!(src.len(), dst.len(), "filter: src and dst lengths differ");
}

#[cfg(test)]
mod tests;
