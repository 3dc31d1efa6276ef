//! Chunk decoding of arbitrary bytes: whole decode, threaded decode and item
//! ranges must return `Ok` or `Err`, never panic or read out of bounds.
#![no_main]

use b2frame::{chunk, DParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dparams = DParams::default().with_max_nbytes(1 << 24);
    let whole = chunk::decompress(data, &dparams);
    if let Ok(h) = chunk::ChunkHeader::parse(data) {
        if h.nbytes <= 1 << 24 {
            let items = h.nbytes.div_ceil(h.typesize);
            let mut out = vec![0u8; h.nbytes];
            let part = chunk::decompress_items_into(data, items / 3..items, &mut out);
            if let (Ok(w), Ok(n)) = (&whole, part) {
                let start = (items / 3) * h.typesize;
                assert_eq!(&out[..n], &w[start..start + n]);
            }
        }
    }
});
