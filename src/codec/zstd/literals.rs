//! The literals section of a compressed Zstd block (RFC 8878 §3.1.1.3.1): raw, RLE,
//! Huffman-coded with a new tree, or treeless (the frame's previous tree), in one or
//! four streams. The section is parsed first ([`parse`]) and its literals decoded
//! later, only the ranges a window needs ([`Lits::decode`]).

use super::huffman::Huff;

/// Largest literals section a block may regenerate.
const MAX_LITERALS: usize = 128 << 10;

/// A parsed literals section.
pub(super) enum Lits<'a> {
    /// Stored literals.
    Raw(&'a [u8]),
    /// One byte repeated `.1` times.
    Rle(u8, usize),
    /// `.1` literals in one Huffman stream.
    One(&'a [u8], usize),
    /// `.1` literals in four Huffman streams.
    Four([&'a [u8]; 4], usize),
}

/// Parses the literals section at the start of `src` (at most `room` literals, else an
/// error), reading a new Huffman tree into `huff`. Returns the section and the bytes
/// of `src` it used.
pub(super) fn parse<'a>(
    src: &'a [u8],
    huff: &mut Huff,
    room: usize,
) -> Result<(Lits<'a>, usize), &'static str> {
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
            let data = src.get(hs..hs + regen).ok_or(BAD)?;
            return Ok((Lits::Raw(data), hs + regen));
        }
        let v = *src.get(hs).ok_or(BAD)?;
        return Ok((Lits::Rle(v, regen), hs + 1));
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
    if huff.max_bits == 0 {
        return Err("zstd literals reuse a Huffman table never described");
    }
    let coded = body.get(tree..).ok_or(BAD)?;
    if !four {
        return Ok((Lits::One(coded, regen), hs + csize));
    }
    let size = |i: usize| {
        coded
            .get(i..i + 2)
            .map(|s| usize::from(u16::from_le_bytes([s[0], s[1]])))
            .ok_or(BAD)
    };
    let (s1, s2, s3) = (size(0)?, size(2)?, size(4)?);
    let rest = coded.get(6..).ok_or(BAD)?;
    let (a, rest) = rest.split_at_checked(s1).ok_or(BAD)?;
    let (b, rest) = rest.split_at_checked(s2).ok_or(BAD)?;
    let (c, d) = rest.split_at_checked(s3).ok_or(BAD)?;
    if 3 * regen.div_ceil(4) > regen {
        return Err(BAD);
    }
    Ok((Lits::Four([a, b, c, d], regen), hs + csize))
}

impl Lits<'_> {
    /// Number of literals.
    pub(super) fn len(&self) -> usize {
        match *self {
            Lits::Raw(d) => d.len(),
            Lits::Rle(_, n) | Lits::One(_, n) | Lits::Four(_, n) => n,
        }
    }

    /// Writes at least the literals with indices in `ranges` into `out` (`len()`
    /// long; other bytes may change). Huffman streams are decoded up to the last
    /// needed literal they hold, streams holding none are skipped.
    pub(super) fn decode(
        &self,
        huff: &Huff,
        out: &mut [u8],
        ranges: &[(usize, usize)],
    ) -> Result<(), &'static str> {
        const BUG: &str = "zstd literal range out of bounds";
        match *self {
            Lits::Raw(d) => {
                for &(a, b) in ranges {
                    out.get_mut(a..b)
                        .ok_or(BUG)?
                        .copy_from_slice(d.get(a..b).ok_or(BUG)?);
                }
            }
            Lits::Rle(v, _) => {
                for &(a, b) in ranges {
                    out.get_mut(a..b).ok_or(BUG)?.fill(v);
                }
            }
            Lits::One(s, n) => {
                let end = ranges.iter().map(|r| r.1).max().unwrap_or(0).min(n);
                huff.decode(s, out.get_mut(..end).ok_or(BUG)?, end == n)?;
            }
            Lits::Four(streams, n) => {
                let seg = n.div_ceil(4);
                for (k, s) in streams.into_iter().enumerate() {
                    let (lo, hi) = (k * seg, if k < 3 { (k + 1) * seg } else { n });
                    let end = ranges
                        .iter()
                        .filter(|r| r.0 < hi && r.1 > lo)
                        .map(|r| r.1.min(hi))
                        .max();
                    if let Some(end) = end {
                        huff.decode(s, out.get_mut(lo..end).ok_or(BUG)?, end == hi)?;
                    }
                }
            }
        }
        Ok(())
    }
}
