//! Huffman-coded literals of Zstd (RFC 8878 §4.2): the tree description (direct or
//! FSE-compressed weights), the decoding table and one coded stream.

use super::bits::RevBits;
use super::fse::{self, Cell};

/// Longest code Zstd allows.
const MAX_BITS: u32 = 11;

/// A single-symbol decoding table indexed by the next `max_bits` bits of a stream.
pub(super) struct Huff {
    /// Length of the longest code; 0 while no table has been read.
    pub max_bits: u32,
    /// `symbol | code_length << 8` per index.
    cells: [u16; 1 << MAX_BITS],
}

impl Huff {
    /// An empty table (no tree read yet).
    pub(super) fn new() -> Self {
        Self {
            max_bits: 0,
            cells: [0; 1 << MAX_BITS],
        }
    }

    /// Reads a tree description from the start of `src`, replacing the table.
    /// Returns the bytes used.
    pub(super) fn read(&mut self, src: &[u8]) -> Result<usize, &'static str> {
        const BAD: &str = "malformed zstd Huffman tree description";
        let (&head, rest) = src.split_first().ok_or(BAD)?;
        let mut w = [0u8; 256];
        let (n, used) = if head < 128 {
            let body = rest.get(..usize::from(head)).ok_or(BAD)?;
            (fse_weights(body, &mut w)?, usize::from(head))
        } else {
            let n = usize::from(head) - 127;
            let body = rest.get(..n.div_ceil(2)).ok_or(BAD)?;
            for (i, slot) in w.iter_mut().take(n).enumerate() {
                let b = body.get(i >> 1).copied().unwrap_or(0);
                *slot = if i & 1 == 0 { b >> 4 } else { b & 15 };
            }
            (n, n.div_ceil(2))
        };
        self.build(&mut w, n)?;
        Ok(used + 1)
    }

    /// Builds the table from the weights `w[..n]` of symbols `0..n` (symbol `n`'s
    /// weight is implied).
    fn build(&mut self, w: &mut [u8; 256], n: usize) -> Result<(), &'static str> {
        const BAD: &str = "malformed zstd Huffman weights";
        if n == 0 || n > 255 {
            return Err(BAD);
        }
        let mut sum = 0u32;
        for &x in &w[..n] {
            if u32::from(x) > MAX_BITS {
                return Err(BAD);
            }
            if x > 0 {
                sum += 1 << (x - 1);
            }
        }
        if sum == 0 {
            return Err(BAD);
        }
        let max_bits = 32 - sum.leading_zeros();
        if max_bits > MAX_BITS {
            return Err(BAD);
        }
        let rest = (1u32 << max_bits) - sum;
        if !rest.is_power_of_two() {
            return Err(BAD);
        }
        w[n] = (rest.trailing_zeros() + 1) as u8;
        // Codes go in order of increasing weight, then of symbol: the first index of
        // each weight is the total span of all lighter weights.
        let mut start = [0usize; MAX_BITS as usize + 2];
        for &x in &w[..=n] {
            if x > 0 {
                start[usize::from(x)] += 1 << (x - 1);
            }
        }
        let mut pos = 0usize;
        for slot in start.iter_mut().skip(1) {
            let span = *slot;
            *slot = pos;
            pos += span;
        }
        if pos != 1 << max_bits {
            return Err(BAD);
        }
        for (s, &x) in w[..=n].iter().enumerate() {
            if x == 0 {
                continue;
            }
            let len = 1usize << (x - 1);
            let nb = (max_bits + 1 - u32::from(x)) as u16;
            let at = start[usize::from(x)];
            start[usize::from(x)] = at + len;
            self.cells
                .get_mut(at..at + len)
                .ok_or(BAD)?
                .fill(s as u16 | nb << 8);
        }
        self.max_bits = max_bits;
        Ok(())
    }

    /// Decodes the first `out.len()` symbols of the coded stream `src`; when `whole`
    /// (they are all its symbols) the stream must end exactly after them.
    pub(super) fn decode(
        &self,
        src: &[u8],
        out: &mut [u8],
        whole: bool,
    ) -> Result<(), &'static str> {
        let mb = self.max_bits;
        if mb == 0 {
            return Err("zstd literals reuse a Huffman table never described");
        }
        let mut r = RevBits::new(src)?;
        let mask = (1usize << mb) - 1;
        let mut quads = out.chunks_exact_mut(4);
        let mut done = 0;
        for q in &mut quads {
            if !r.ensure(4 * mb) {
                break;
            }
            for o in q.iter_mut() {
                let c = self.cells[r.peek_buffered(mb) as usize & ((1 << MAX_BITS) - 1)];
                *o = c as u8;
                r.skip_buffered(u32::from(c >> 8));
            }
            done += 4;
        }
        for o in out.iter_mut().skip(done) {
            let c = self.cells[r.peek(mb) as usize & mask];
            *o = c as u8;
            r.skip(u32::from(c >> 8));
        }
        if r.overflowed() || (whole && !r.finished()) {
            return Err("zstd Huffman stream does not end with its literals");
        }
        Ok(())
    }
}

/// Decodes FSE-compressed Huffman weights (`src`: table description, then a backward
/// stream read by two interleaved states) into `w`; returns how many.
fn fse_weights(src: &[u8], w: &mut [u8; 256]) -> Result<usize, &'static str> {
    const BAD: &str = "malformed zstd Huffman weight stream";
    let mut norm = [0i16; 256];
    let (al, nsym, used) = fse::read_counts(src, &mut norm, 6)?;
    let mut cells = [Cell::default(); 64];
    fse::build(&norm[..nsym], al, &mut cells)?;
    let mut r = RevBits::new(src.get(used..).ok_or(BAD)?)?;
    let mut s1 = r.read(al) as usize & 63;
    let mut s2 = r.read(al) as usize & 63;
    let mut n = 0usize;
    let mut put = |n: &mut usize, sym: u8| -> Result<(), &'static str> {
        *w.get_mut(*n).ok_or(BAD)? = sym;
        *n += 1;
        Ok(())
    };
    loop {
        let c = cells[s1];
        put(&mut n, c.sym)?;
        s1 = (usize::from(c.base) + r.read(u32::from(c.nb)) as usize) & 63;
        if r.overflowed() {
            put(&mut n, cells[s2].sym)?;
            break;
        }
        let c = cells[s2];
        put(&mut n, c.sym)?;
        s2 = (usize::from(c.base) + r.read(u32::from(c.nb)) as usize) & 63;
        if r.overflowed() {
            put(&mut n, cells[s1].sym)?;
            break;
        }
    }
    if n > 255 {
        return Err(BAD);
    }
    Ok(n)
}
