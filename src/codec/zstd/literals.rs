//! The literals section of a compressed Zstd block (RFC 8878 §3.1.1.3.1): raw, RLE,
//! Huffman-coded with a new tree, or treeless (the frame's previous tree), in one or
//! four streams.

use super::huffman::Huff;

/// Largest literals section a block may regenerate.
const MAX_LITERALS: usize = 128 << 10;

/// Reads the literals section at the start of `src`, appending its literals to `lits`
/// (at most `room` of them, else an error); `huff` is the frame's Huffman table.
/// Returns the bytes of `src` used.
pub(super) fn read(
    src: &[u8],
    huff: &mut Huff,
    lits: &mut Vec<u8>,
    room: usize,
) -> Result<usize, &'static str> {
    const BAD: &str = "malformed zstd literals section";
    let byte = |i: usize| src.get(i).copied().map(usize::from).ok_or(BAD);
    let b0 = byte(0)?;
    let (ty, sf) = (b0 & 3, (b0 >> 2) & 3);
    if ty < 2 {
        let (hs, regen) = match sf {
            1 => (2, (b0 >> 4) + (byte(1)? << 4)),
            3 => (3, (b0 >> 4) + (byte(1)? << 4) + (byte(2)? << 12)),
            _ => (1, b0 >> 3),
        };
        if regen > room.min(MAX_LITERALS) {
            return Err("zstd literals exceed the output");
        }
        if ty == 0 {
            lits.extend_from_slice(src.get(hs..hs + regen).ok_or(BAD)?);
            return Ok(hs + regen);
        }
        let v = *src.get(hs).ok_or(BAD)?;
        lits.resize(lits.len() + regen, v);
        return Ok(hs + 1);
    }
    let (hs, bits, four) = match sf {
        0 => (3, 10, false),
        1 => (3, 10, true),
        2 => (4, 14, true),
        _ => (5, 18, true),
    };
    let mut v = 0u64;
    for i in (0..hs).rev() {
        v = v << 8 | byte(i)? as u64;
    }
    let mask = (1u64 << bits) - 1;
    let regen = ((v >> 4) & mask) as usize;
    let csize = ((v >> (4 + bits)) & mask) as usize;
    if regen > room.min(MAX_LITERALS) {
        return Err("zstd literals exceed the output");
    }
    let body = src.get(hs..hs + csize).ok_or(BAD)?;
    let tree = if ty == 2 { huff.read(body)? } else { 0 };
    let coded = body.get(tree..).ok_or(BAD)?;
    let start = lits.len();
    lits.resize(start + regen, 0);
    let out = &mut lits[start..];
    if !four {
        huff.decode(coded, out)?;
    } else {
        let size = |i: usize| {
            coded
                .get(i..i + 2)
                .map(|s| usize::from(u16::from_le_bytes([s[0], s[1]])))
                .ok_or(BAD)
        };
        let (s1, s2, s3) = (size(0)?, size(2)?, size(4)?);
        let streams = coded.get(6..).ok_or(BAD)?;
        let s4 = streams
            .len()
            .checked_sub(s1 + s2 + s3)
            .ok_or("zstd literal stream sizes exceed the section")?;
        let seg = regen.div_ceil(4);
        if 3 * seg > regen {
            return Err(BAD);
        }
        let mut at = 0;
        let mut o = 0;
        for (k, len) in [s1, s2, s3, s4].into_iter().enumerate() {
            let n = if k < 3 { seg } else { regen - 3 * seg };
            huff.decode(&streams[at..at + len], &mut out[o..o + n])?;
            at += len;
            o += n;
        }
    }
    Ok(hs + csize)
}
