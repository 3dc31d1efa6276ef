//! Damaged chunks are errors, never panics: every truncation and a flip of
//! every header/offset byte (plus a stride over the payload) of every golden chunk.

use b2frame::chunk;
use b2frame::DParams;

use crate::common::golden_dir;

fn golden_chunks() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(golden_dir())
        .expect("golden dir")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "b2chunk" {
                return None;
            }
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                std::fs::read(&p).ok()?,
            ))
        })
        .collect();
    v.sort();
    assert_eq!(v.len(), 15);
    v
}

#[test]
fn x_truncated_golden_chunks_are_errors() {
    let dp = DParams::default();
    for (name, bytes) in golden_chunks() {
        for len in 0..bytes.len() {
            assert!(
                chunk::decompress(&bytes[..len], &dp).is_err(),
                "{name} truncated to {len} decoded"
            );
            let mut out = vec![0u8; 64];
            assert!(
                chunk::decompress_items_into(&bytes[..len], 0..1, &mut out).is_err(),
                "{name} truncated to {len}"
            );
        }
    }
}

#[test]
fn x_flipped_golden_chunks_never_panic() {
    let dp = DParams::default().with_max_nbytes(1 << 24);
    let mut errors = 0usize;
    let mut total = 0usize;
    for (name, bytes) in golden_chunks() {
        let positions: Vec<usize> = (0..bytes.len().min(512))
            .chain((512..bytes.len()).step_by(97))
            .collect();
        for pos in positions {
            for mask in [0xFFu8, 0x01, 0x80] {
                let mut bad = bytes.clone();
                bad[pos] ^= mask;
                total += 1;
                let whole = chunk::decompress(&bad, &dp);
                errors += usize::from(whole.is_err());
                let mut out = vec![0u8; 4096];
                let _ = chunk::decompress_items_into(&bad, 3..5, &mut out);
                let _ = chunk::decompress(&bad, &dp.clone().with_nthreads(2));
                let _ = name.len();
            }
        }
    }
    // Many flips land in payload bytes a codec cannot check; header flips must mostly fail.
    assert!(errors > total / 10, "{errors} errors of {total} flips");
}
