//! Per-thread scratch buffers shared by the chunk encoder and decoder, so that
//! compressing or decoding a chunk allocates (and zeroes) nothing after the
//! first chunk on each thread.

use std::cell::RefCell;

/// Reusable buffers for one worker.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Filter ping-pong buffer.
    pub(crate) a: Vec<u8>,
    /// Filter ping-pong buffer.
    pub(crate) b: Vec<u8>,
    /// A whole decoded block, for item ranges that cover part of it.
    pub(crate) block: Vec<u8>,
    /// The decoded first block (or its prefix), DELTA's reference in range reads.
    pub(crate) reference: Vec<u8>,
    /// The filtered bytes of the items of a partly decoded block.
    pub(crate) part: Vec<u8>,
    /// Items of a partly decoded block, when the range starts or ends inside one.
    pub(crate) items: Vec<u8>,
    /// BYTEDELTA-decoded stream prefixes of a partly decoded block.
    pub(crate) summed: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (fresh ones if they are in use).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}
