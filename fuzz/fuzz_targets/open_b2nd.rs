//! b2nd arrays, packed tensors and `.npy` headers from arbitrary bytes: the
//! metalayer, frame, vlmeta and header parsers must return `Ok` or `Err`,
//! never panic; small arrays are also decoded (whole and a slice).
#![no_main]

use b2frame::npy;
use b2frame::tensor::{NdArray, NdMeta, PackedTensor};
use libfuzzer_sys::fuzz_target;

/// Largest decoded size the target asks for.
const MAX: usize = 1 << 24;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(m) = NdMeta::decode(rest, 4) {
                let again = NdMeta::decode(&m.encode(), 4).expect("re-decode");
                assert_eq!(again, m);
            }
        }
        1 => {
            if let Ok(a) = NdArray::from_cframe(rest) {
                let m = a.meta();
                let small = m.chunk_nbytes() <= MAX
                    && m.nitems()
                        .checked_mul(m.dtype.itemsize())
                        .is_some_and(|n| n <= MAX);
                if small {
                    let whole = a.to_vec();
                    let ranges: Vec<_> = m.shape.iter().map(|&s| s / 3..s - s / 4).collect();
                    let _ = a.read(&ranges);
                    if let Ok(w) = whole {
                        assert_eq!(w.len(), m.nitems() * m.dtype.itemsize());
                    }
                }
            }
        }
        2 => {
            if let Ok(h) = npy::NpyHeader::parse(rest) {
                if h.nbytes().is_some_and(|n| n <= MAX) {
                    let _ = npy::read(rest);
                }
            }
        }
        _ => {
            if let Ok(t) = PackedTensor::from_cframe(rest) {
                if t.schunk().nbytes() <= MAX {
                    let _ = t.to_tensor();
                }
            }
        }
    }
});
