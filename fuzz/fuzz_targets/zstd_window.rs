//! The pure-Rust Zstd window decoder on arbitrary bytes: it returns `Ok` or `Err`,
//! never panics, and where libzstd decodes the same frame whole, the window equals
//! libzstd's bytes. The first byte picks the mode: arbitrary frames, or the rest
//! compressed by libzstd first (so deep decoder states are reached).
#![no_main]

use b2frame::__internals::{zstd_compress, zstd_decompress, zstd_decompress_window};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 7 {
        return;
    }
    let (head, body) = data.split_at(7);
    let a = usize::from(u16::from_le_bytes([head[1], head[2]]));
    let b = usize::from(u16::from_le_bytes([head[3], head[4]]));
    let frame;
    let (frame, olen) = if head[0] & 1 == 0 {
        let olen = usize::from(u16::from_le_bytes([head[5], head[6]]));
        (body, olen)
    } else {
        let mut packed = vec![0u8; body.len() + 256];
        let n = zstd_compress(1 + head[5] % 9, body, &mut packed);
        if n == 0 {
            return;
        }
        packed.truncate(n);
        frame = packed;
        (&frame[..], body.len())
    };
    let (a, b) = (a % (olen + 1), b % (olen + 1));
    let need = a.min(b)..a.max(b);
    let mut out = vec![0u8; olen];
    let ours = zstd_decompress_window(frame, &mut out, need.clone());
    let mut whole = vec![0u8; olen];
    let theirs = zstd_decompress(frame, &mut whole);
    if head[0] & 1 == 1 {
        assert_eq!(theirs, Ok(olen));
        assert_eq!(ours, Ok(()));
        assert_eq!(&whole[..], body);
    }
    if let (Ok(()), Ok(n)) = (ours, theirs) {
        if n == olen {
            assert_eq!(&out[need.clone()], &whole[need]);
        }
    }
});
