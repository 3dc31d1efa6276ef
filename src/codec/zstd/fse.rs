//! FSE (tANS) tables of Zstd (RFC 8878 §4.1): reading a table description
//! (normalized counts) and spreading it into a decoding table.

/// One decoding-table cell: the symbol of a state and how to reach the next state
/// (`base + read(nb)`).
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct Cell {
    /// The decoded symbol.
    pub sym: u8,
    /// Bits read to move to the next state.
    pub nb: u8,
    /// Next state before adding the read bits.
    pub base: u16,
}

/// Reads `n` (at most 25) bits at bit `pos` of `src`, little-endian (zeros past the end).
fn bits_at(src: &[u8], pos: usize, n: u32) -> u32 {
    let mut w = [0u8; 4];
    let at = pos >> 3;
    if let Some(s) = src.get(at..) {
        let k = s.len().min(4);
        w[..k].copy_from_slice(&s[..k]);
    }
    (u32::from_le_bytes(w) >> (pos & 7)) & ((1u32 << n) - 1)
}

/// Reads an FSE table description from the start of `src` into `norm` (one count per
/// symbol, -1 meaning "less than 1"; symbols past `norm.len()` are an error).
/// Returns the accuracy log, the number of symbols described and the bytes used.
pub(super) fn read_counts(
    src: &[u8],
    norm: &mut [i16],
    max_log: u32,
) -> Result<(u32, usize, usize), &'static str> {
    const BAD: &str = "malformed zstd FSE table description";
    let al = bits_at(src, 0, 4) + 5;
    if al > max_log {
        return Err("zstd FSE accuracy log too large");
    }
    let mut pos = 4usize;
    let mut remaining: i32 = (1 << al) + 1;
    let mut threshold: i32 = 1 << al;
    let mut nbits = al + 1;
    let mut sym = 0usize;
    norm.fill(0);
    while remaining > 1 {
        if sym >= norm.len() {
            return Err(BAD);
        }
        let max = 2 * threshold - 1 - remaining;
        let low = bits_at(src, pos, nbits - 1) as i32;
        let v = if low < max {
            pos += nbits as usize - 1;
            low
        } else {
            let mut v = bits_at(src, pos, nbits) as i32;
            if v >= threshold {
                v -= max;
            }
            pos += nbits as usize;
            v
        };
        let count = v - 1;
        remaining -= count.abs();
        norm[sym] = count as i16;
        sym += 1;
        if count == 0 {
            loop {
                let r = bits_at(src, pos, 2) as usize;
                pos += 2;
                sym += r;
                if r != 3 {
                    break;
                }
            }
            if sym > norm.len() {
                return Err(BAD);
            }
        }
        while remaining < threshold && nbits > 1 {
            nbits -= 1;
            threshold >>= 1;
        }
        if pos > src.len() * 8 {
            return Err(BAD);
        }
    }
    if remaining != 1 {
        return Err(BAD);
    }
    Ok((al, sym, pos.div_ceil(8)))
}

/// Spreads normalized counts `norm` of accuracy log `al` into `cells` (at least
/// `1 << al` long).
pub(super) fn build(norm: &[i16], al: u32, cells: &mut [Cell]) -> Result<(), &'static str> {
    let size = 1usize << al;
    let cells = cells.get_mut(..size).ok_or("zstd FSE table too large")?;
    let total: usize = norm.iter().map(|&c| usize::from(c.unsigned_abs())).sum();
    if total != size || norm.len() > 256 {
        return Err("malformed zstd FSE distribution");
    }
    let mut next = [0u16; 256];
    let mut high = size;
    for (s, &c) in norm.iter().enumerate() {
        if c == -1 {
            high -= 1;
            cells[high] = Cell {
                sym: s as u8,
                nb: 0,
                base: 0,
            };
            next[s] = 1;
        } else {
            next[s] = c as u16;
        }
    }
    let step = (size >> 1) + (size >> 3) + 3;
    let mask = size - 1;
    if high == size {
        // No "less than 1" cells to skip: the k-th placed cell is `k * step` (mod size),
        // so the placements do not wait on each other.
        let mut k = 0usize;
        for (s, &c) in norm.iter().enumerate() {
            for _ in 0..c.max(0) {
                cells[k.wrapping_mul(step) & mask].sym = s as u8;
                k += 1;
            }
        }
        return finish(cells, &mut next, al);
    }
    let mut p = 0usize;
    for (s, &c) in norm.iter().enumerate() {
        for _ in 0..c.max(0) {
            cells[p].sym = s as u8;
            p = (p + step) & mask;
            while p >= high {
                p = (p + step) & mask;
            }
        }
    }
    if p != 0 {
        return Err("malformed zstd FSE distribution");
    }
    finish(cells, &mut next, al)
}

/// Sets the state transitions of spread `cells`, `next[s]` being the count of `s`.
fn finish(cells: &mut [Cell], next: &mut [u16; 256], al: u32) -> Result<(), &'static str> {
    let size = cells.len() as u32;
    for cell in cells.iter_mut() {
        let s = usize::from(cell.sym);
        let n = u32::from(next[s]);
        if n == 0 {
            return Err("malformed zstd FSE distribution");
        }
        next[s] += 1;
        let nb = al - (31 - n.leading_zeros());
        cell.nb = nb as u8;
        cell.base = ((n << nb) - size) as u16;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spreads_a_small_distribution() {
        // Accuracy log 5: counts 20, 10, 1, -1 (sum 32 with the -1 taking one cell).
        let norm = [20i16, 10, 1, -1];
        let mut cells = [Cell::default(); 32];
        build(&norm, 5, &mut cells).unwrap();
        assert_eq!(cells[31].sym, 3);
        assert_eq!((cells[31].nb, cells[31].base), (5, 0));
        let n0 = cells.iter().filter(|c| c.sym == 0).count();
        assert_eq!(n0, 20);
        // States of a symbol cover the table exactly once.
        let mut seen = [0u32; 32];
        for c in &cells {
            for v in 0..(1u32 << c.nb) {
                if c.sym == 0 {
                    seen[(u32::from(c.base) + v) as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert!(build(&[40, -1], 5, &mut cells).is_err());
    }
}
