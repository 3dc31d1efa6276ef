//! A Zstd frame decoder (RFC 8878) that produces only a wanted window of a frame's
//! output, for item-level slice reads: it decodes the literals and the sequences up to
//! the one that writes the window's end, then writes only the output the window
//! depends on ([`window`]). Whole decodes and compression stay on libzstd
//! ([`super::decompress_stream`]).
//!
//! Frames with a dictionary id, skippable frames and windows above 2^27 bytes are
//! refused (the caller then decodes the stream whole with libzstd). The content
//! checksum is not checked: a partial decode cannot check it.

mod bits;
mod fse;
mod huffman;
mod literals;
mod sequences;
mod window;

use std::cell::RefCell;
use std::ops::Range;

use huffman::Huff;
use sequences::Tables;
use window::{Plan, Seq};

/// Largest output of one block.
const MAX_BLOCK: usize = 128 << 10;
/// Largest window log accepted (libzstd's default decoding limit).
const MAX_WINDOW_LOG: u32 = 27;

/// Per-thread state reused between frames.
struct Scratch {
    /// Literals of the blocks decoded so far, back to back.
    lits: Vec<u8>,
    /// Sequences decoded so far.
    seqs: Vec<Seq>,
    /// The frame's Huffman table.
    huff: Huff,
    /// The frame's sequence code tables and repeat offsets.
    tables: Tables,
    /// Buffers of the window passes.
    plan: Plan,
    /// Literal ranges of the last block that the window reads.
    ranges: Vec<(usize, usize)>,
}

thread_local! {
    static SCRATCH: RefCell<Option<Box<Scratch>>> = const { RefCell::new(None) };
}

/// Decodes the bytes `need` of the single Zstd frame `src`, whose whole output is
/// `dst.len()` bytes, into `dst[need]` (other bytes of `dst` may change arbitrarily).
/// Errs on malformed or unsupported frames (dictionary ids, skippable frames, a
/// declared content size other than `dst.len()`).
pub(crate) fn decompress_window(
    src: &[u8],
    dst: &mut [u8],
    need: Range<usize>,
) -> Result<(), &'static str> {
    if need.start > need.end || need.end > dst.len() {
        return Err("zstd window outside the output");
    }
    SCRATCH.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| "zstd decoder re-entered")?;
        let s = slot.get_or_insert_with(|| {
            Box::new(Scratch {
                lits: Vec::new(),
                seqs: Vec::new(),
                huff: Huff::new(),
                tables: Tables::new(),
                plan: Plan::default(),
                ranges: Vec::new(),
            })
        });
        decode(s, src, dst, need)
    })
}

/// Reads the frame header; returns the offset of the first block.
fn header(src: &[u8], out_len: usize) -> Result<usize, &'static str> {
    const SHORT: &str = "zstd frame header truncated";
    if src.get(..4) != Some(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Err("not a zstd frame");
    }
    let fhd = *src.get(4).ok_or(SHORT)?;
    let single = fhd & 0x20 != 0;
    if fhd & 0x08 != 0 {
        return Err("zstd frame header reserved bit set");
    }
    if fhd & 3 != 0 {
        return Err("zstd frame names a dictionary");
    }
    let mut at = 5;
    if !single {
        let wd = *src.get(at).ok_or(SHORT)?;
        if 10 + u32::from(wd >> 3) > MAX_WINDOW_LOG {
            return Err("zstd window too large");
        }
        at += 1;
    }
    let fcs_len = match fhd >> 6 {
        0 => usize::from(single),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    if fcs_len > 0 {
        let b = src.get(at..at + fcs_len).ok_or(SHORT)?;
        let mut v = b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x));
        if fcs_len == 2 {
            v += 256;
        }
        if v != out_len as u64 {
            return Err("zstd frame content size differs from the stream size");
        }
        at += fcs_len;
    }
    Ok(at)
}

/// Grows `v` to at least `n` bytes (never shrinks it: the literal buffer keeps its
/// largest size, so no bytes are cleared per frame).
fn grow(v: &mut Vec<u8>, n: usize) {
    if v.len() < n {
        v.resize(n, 0);
    }
}

/// Decodes the frame `src` up to the end of `need`, then writes `dst[need]`.
///
/// Blocks before the one that reaches `need.end` get all their literals decoded (a
/// later block may replace the Huffman table); the last block's literals are decoded
/// after planning, only those the window reads.
fn decode(
    s: &mut Scratch,
    src: &[u8],
    dst: &mut [u8],
    need: Range<usize>,
) -> Result<(), &'static str> {
    let mut at = header(src, dst.len())?;
    if need.is_empty() {
        return Ok(());
    }
    let Scratch {
        lits,
        seqs,
        huff,
        tables,
        plan,
        ranges,
    } = s;
    seqs.clear();
    tables.reset();
    huff.max_bits = 0;
    let mut pos = 0usize;
    // Literals decoded so far are `lits[..nl]`.
    let mut nl = 0usize;
    let last_block = loop {
        let h = src.get(at..at + 3).ok_or("zstd block header truncated")?;
        let h = u32::from(h[0]) | u32::from(h[1]) << 8 | u32::from(h[2]) << 16;
        at += 3;
        let (last, ty, size) = (h & 1 != 0, (h >> 1) & 3, (h >> 3) as usize);
        if size > MAX_BLOCK {
            return Err("zstd block too large");
        }
        let room = dst.len() - pos;
        let first_seq = seqs.len();
        let first_lit = nl;
        let block = match ty {
            0 | 1 => {
                let n = if ty == 0 { size } else { 1 };
                let data = src
                    .get(at..at + n)
                    .ok_or("zstd raw or RLE block truncated")?;
                if size > room {
                    return Err("zstd frame exceeds the output");
                }
                at += n;
                if size > 0 {
                    grow(lits, nl + n);
                    lits[nl..nl + n].copy_from_slice(data);
                    let (ll, ml) = if ty == 0 { (size, 0) } else { (1, size - 1) };
                    seqs.push(Seq {
                        pos,
                        lit: nl,
                        ll: ll as u32,
                        ml: ml as u32,
                        off: 1,
                    });
                    pos += size;
                    nl += n;
                }
                None
            }
            2 => {
                let body = src.get(at..at + size).ok_or("zstd block truncated")?;
                at += size;
                let (l, used) = literals::parse(body, huff, room)?;
                let nlits = l.len();
                grow(lits, nl + nlits);
                let rest = body.get(used..).ok_or("zstd block truncated")?;
                let (n, stream) = tables.read_header(rest)?;
                let mut lit_at = 0usize;
                let block_start = pos;
                if n > 0 {
                    tables.decode(stream, n, |ll, ml, off| {
                        let (ll, ml) = (ll as usize, ml as usize);
                        if ll > nlits - lit_at {
                            return Err("zstd sequence takes more literals than decoded");
                        }
                        let mp = pos + ll;
                        let end = mp + ml;
                        if end > dst.len() || end - block_start > MAX_BLOCK {
                            return Err("zstd sequences exceed the output");
                        }
                        if off as usize > mp {
                            return Err("zstd match offset before the start of the output");
                        }
                        let (ll, ml) = (ll as u32, ml as u32);
                        seqs.push(Seq {
                            pos,
                            lit: first_lit + lit_at,
                            ll,
                            ml,
                            off,
                        });
                        pos = end;
                        lit_at += ll as usize;
                        Ok(pos >= need.end)
                    })?;
                }
                if pos < need.end {
                    let rest = nlits - lit_at;
                    if pos + rest > dst.len() || pos + rest - block_start > MAX_BLOCK {
                        return Err("zstd literals exceed the output");
                    }
                    if rest > 0 {
                        seqs.push(Seq {
                            pos,
                            lit: first_lit + lit_at,
                            ll: rest as u32,
                            ml: 0,
                            off: 0,
                        });
                        pos += rest;
                        lit_at = nlits;
                    }
                }
                nl += nlits;
                Some((l, lit_at))
            }
            _ => return Err("zstd block type reserved"),
        };
        if pos >= need.end {
            break block.map(|(l, used)| (l, first_lit, first_seq, used));
        }
        if let Some((l, _)) = block {
            l.decode(huff, &mut lits[first_lit..nl], &[(0, nl - first_lit)])?;
        }
        if last {
            return Err("zstd frame ends before the window");
        }
    };
    let planned = plan.backward(need.clone(), seqs);
    if let Some((l, first_lit, first_seq, used)) = last_block {
        ranges.clear();
        if planned {
            ranges.extend(
                plan.literals(seqs, first_seq)
                    .map(|(a, b)| (a - first_lit, b - first_lit)),
            );
        } else {
            ranges.push((0, used));
        }
        l.decode(huff, &mut lits[first_lit..nl], ranges)?;
    }
    if planned {
        window::forward(dst, lits, seqs, plan)
    } else {
        window::linear(dst, need.end, lits, seqs)
    }
}

#[cfg(test)]
mod tests;
