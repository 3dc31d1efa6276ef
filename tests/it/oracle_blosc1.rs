//! Legacy chunks: python-blosc 1.11.4 (C-Blosc 1.21) writes Blosc1 chunks
//! (16-byte header, version 2); we decode every codec × shuffle × typesize.

use b2frame::chunk::{self, ChunkHeader};
use b2frame::DParams;

use crate::common::{assert_bytes_eq, oracle, run_python};

const SCRIPT: &str = r#"
import sys, struct, blosc
out = bytearray()
n = 0
for cname in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
    for shuffle in [blosc.NOSHUFFLE, blosc.SHUFFLE, blosc.BITSHUFFLE]:
        for ts in [1, 2, 4, 8, 3, 12]:
            for nitems in [0, 1, 7, 1001, 20000, 70001]:
                raw = bytes(((i * 7) // 3 + i // 100) % 256 for i in range(nitems * ts))
                c = blosc.compress(raw, typesize=ts, cname=cname, shuffle=shuffle, clevel=5)
                out += struct.pack("<II", len(raw), len(c)) + raw + c
                n += 1
sys.stdout.buffer.write(out)
"#;

#[test]
fn oracle_blosc1_chunks_decode() {
    let Some(py) = oracle() else { return };
    let blob = run_python(&py, SCRIPT, &[]);
    let mut at = 0;
    let mut cases = 0;
    while at < blob.len() {
        let raw_len = u32::from_le_bytes(blob[at..at + 4].try_into().expect("4")) as usize;
        let c_len = u32::from_le_bytes(blob[at + 4..at + 8].try_into().expect("4")) as usize;
        let raw = &blob[at + 8..at + 8 + raw_len];
        let c = &blob[at + 8 + raw_len..at + 8 + raw_len + c_len];
        at += 8 + raw_len + c_len;
        let h = ChunkHeader::parse(c).expect("blosc1 header");
        assert_eq!((h.version, h.header_len), (2, 16));
        let back = chunk::decompress(c, &DParams::default())
            .unwrap_or_else(|e| panic!("case {cases} {h:?}: {e}"));
        assert_bytes_eq(&back, raw, &format!("blosc1 case {cases} {h:?}"));
        cases += 1;
    }
    assert_eq!(cases, 5 * 3 * 6 * 6);
}
