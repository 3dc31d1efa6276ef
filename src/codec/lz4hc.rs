//! LZ4HC: our own high-compression encoder for the raw LZ4 block format.
//!
//! C-Blosc2 compresses LZ4HC streams with `LZ4_compress_HC(src, dst, n, maxout, clevel)`
//! (spec §C.2) and any LZ4 block decoder reads them back (§C.3). This encoder emits the
//! same block format and follows the strategies of LZ4 1.10's HC levels closely enough to
//! land within a fraction of a percent of its ratio (not byte-identical):
//!
//! | clevel | strategy | search effort |
//! |---|---|---|
//! | 1, 2 | "mid": one candidate from an 8-byte hash and one from a 4-byte hash | 2 probes |
//! | 3..=9 | hash chains with a three-match lazy parse | `1 << (clevel - 1)` candidates |
//!
//! LZ4 block rules kept by every emitted sequence (the decoder relies on them):
//!
//! ```text
//! sequence = token (lit len hi nibble | match len - 4 lo nibble)
//!            [lit len extension 255.. rest] literals
//!            offset u16 LE (1..=65535) [match len extension 255.. rest]
//! last sequence = token, literals only
//! every match starts at least 12 bytes before the end (MF_LIMIT)
//! the last 5 bytes are always literals (LAST_LITERALS)
//! ```
//!
//! Inputs shorter than 13 bytes are stored as one literal run. The output never grows
//! past `dst.len()`: when it would, [`compress`] returns 0 and the caller stores raw.

/// Shortest match the format can express.
const MIN_MATCH: usize = 4;
/// A match must start at least this many bytes before the end of the input.
const MF_LIMIT: usize = 12;
/// The last this many bytes of the input are always literals.
const LAST_LITERALS: usize = 5;
/// Largest offset a 16-bit LZ4 offset field holds.
const MAX_DISTANCE: usize = 65_535;
/// Largest input LZ4 accepts (`LZ4_MAX_INPUT_SIZE`).
const MAX_INPUT: usize = 0x7E00_0000;
/// Longest match whose length still fits in the token nibble (15 + 4 - 1).
const OPTIMAL_ML: usize = 18;
/// Positions are stored as `pos + BASE`, so an empty table entry (0) is always farther
/// than [`MAX_DISTANCE`] from any position and needs no special case.
const BASE: u32 = 65_536;

/// Bits of the hash-chain head table (32 Ki entries).
const HC_HASH_BITS: u32 = 15;
/// Bits of each of the two "mid" hash tables (16 Ki entries each).
const MID_HASH_BITS: u32 = 14;

/// Compresses `src` into `dst` as one raw LZ4 block at LZ4HC `level`.
///
/// `dst.len()` is the capacity. Returns the compressed size, or 0 when the output would
/// not fit (nothing past `dst.len()` is ever written) or `src` is larger than LZ4 allows
/// (0x7E00_0000 bytes). Levels 1..=9 follow LZ4 1.10's levels; 0 means the default 9 and
/// levels above 9 are treated as 9 (the optimal parser of levels 10..=12 is not provided).
pub(crate) fn compress(level: u8, src: &[u8], dst: &mut [u8]) -> usize {
    if src.len() > MAX_INPUT {
        return 0;
    }
    let level = match level {
        0 => 9,
        l => l.min(9),
    };
    let mut out = Out { buf: dst, len: 0 };
    let anchor = if src.len() < MF_LIMIT + 1 {
        Ok(0)
    } else if level <= 2 {
        compress_mid(src, &mut out)
    } else if level == 9 {
        compress_chain::<true>(src, &mut out, 1 << (level - 1))
    } else {
        compress_chain::<false>(src, &mut out, 1 << (level - 1))
    };
    match anchor {
        Ok(anchor) if out.put_last(&src[anchor..]) => out.len,
        _ => 0,
    }
}

/// Why a parse stopped early.
#[derive(Debug)]
enum Stop {
    /// The output buffer is full: the whole call fails.
    Full,
}

/// Output cursor over the caller's buffer; every write is checked against its capacity.
struct Out<'a> {
    /// The caller's buffer; its length is the capacity.
    buf: &'a mut [u8],
    /// Bytes written so far.
    len: usize,
}

/// Bytes needed after the token for a length field whose nibble saturates at 15.
#[inline(always)]
fn ext_len(v: usize) -> usize {
    if v >= 15 {
        (v - 15) / 255 + 1
    } else {
        0
    }
}

impl Out<'_> {
    /// Writes the extension bytes of a saturated length field (`v >= 15`).
    #[inline(always)]
    fn put_ext(&mut self, v: usize) {
        let mut rest = v - 15;
        while rest >= 255 {
            self.buf[self.len] = 255;
            self.len += 1;
            rest -= 255;
        }
        self.buf[self.len] = rest as u8;
        self.len += 1;
    }

    /// Appends one sequence: `lits`, then a match of `mlen` bytes at distance `off`.
    /// Returns false (writing nothing) when it does not fit.
    #[inline]
    fn put_seq(&mut self, lits: &[u8], off: usize, mlen: usize) -> bool {
        let ll = lits.len();
        let ml = mlen - MIN_MATCH;
        let need = 1 + ext_len(ll) + ll + 2 + ext_len(ml);
        if self.buf.len() - self.len < need {
            return false;
        }
        let token = self.len;
        self.len += 1;
        if ll >= 15 {
            self.put_ext(ll);
        }
        self.buf[self.len..self.len + ll].copy_from_slice(lits);
        self.len += ll;
        self.buf[self.len..self.len + 2].copy_from_slice(&(off as u16).to_le_bytes());
        self.len += 2;
        if ml >= 15 {
            self.put_ext(ml);
        }
        self.buf[token] = ((ll.min(15) as u8) << 4) | ml.min(15) as u8;
        true
    }

    /// Appends the closing literal-only sequence. Returns false when it does not fit.
    fn put_last(&mut self, lits: &[u8]) -> bool {
        let ll = lits.len();
        if self.buf.len() - self.len < 1 + ext_len(ll) + ll {
            return false;
        }
        self.buf[self.len] = (ll.min(15) as u8) << 4;
        self.len += 1;
        if ll >= 15 {
            self.put_ext(ll);
        }
        self.buf[self.len..self.len + ll].copy_from_slice(lits);
        self.len += ll;
        true
    }
}

/// Little-endian u16 at `i` (caller guarantees `i + 2 <= s.len()`).
#[inline(always)]
fn read16(s: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([s[i], s[i + 1]])
}

/// Little-endian u32 at `i` (caller guarantees `i + 4 <= s.len()`).
#[inline(always)]
fn read32(s: &[u8], i: usize) -> u32 {
    let b = &s[i..i + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Little-endian u64 at `i` (caller guarantees `i + 8 <= s.len()`).
#[inline(always)]
fn read64(s: &[u8], i: usize) -> u64 {
    let b = &s[i..i + 8];
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Length of the common run of `s[a..limit]` and `s[b..]`, with `b < a`.
#[inline(always)]
fn count(s: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let fwd = &s[a.min(limit)..limit];
    let src = &s[b..b + fwd.len()];
    let mut done = 0;
    for (x, y) in fwd.chunks_exact(8).zip(src.chunks_exact(8)) {
        let d = word(x) ^ word(y);
        if d != 0 {
            return done + (d.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + fwd[done..]
        .iter()
        .zip(&src[done..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many bytes before `ip` (down to `low`) and before `m` (down to 0) agree.
#[inline(always)]
fn count_back(s: &[u8], ip: usize, m: usize, low: usize) -> usize {
    let max = (ip - low).min(m);
    let here = &s[ip - max..ip];
    let there = &s[m - max..m];
    let mut done = 0;
    for (x, y) in here.rchunks_exact(8).zip(there.rchunks_exact(8)) {
        // Little-endian: the highest addresses are the top bytes of the word.
        let d = word(x) ^ word(y);
        if d != 0 {
            return done + (d.leading_zeros() / 8) as usize;
        }
        done += 8;
    }
    let rest = max - done;
    done + here[..rest]
        .iter()
        .rev()
        .zip(there[..rest].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Little-endian u64 from an 8-byte chunk.
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

/// A match candidate: `len` bytes at `start` repeat the bytes `off` earlier.
#[derive(Clone, Copy, Debug)]
struct Match {
    /// First position covered.
    start: usize,
    /// Length in bytes; 0 means "no match".
    len: usize,
    /// Distance back to the source (1..=65535).
    off: usize,
}

impl Match {
    /// The empty match.
    const NONE: Match = Match {
        start: 0,
        len: 0,
        off: 0,
    };

    /// One past the last position covered.
    #[inline(always)]
    fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Emits `lits = src[*anchor..m.start]` and the match `m`, then moves `anchor` past it.
///
/// Returns `Ok(false)` without writing when `m` would break an LZ4 block rule (the parse
/// then ends with literals, which is always valid), `Err(Full)` when out of space.
#[inline]
fn emit(src: &[u8], out: &mut Out<'_>, anchor: &mut usize, m: Match) -> Result<bool, Stop> {
    let n = src.len();
    let valid = m.start >= *anchor
        && m.len >= MIN_MATCH
        && m.start + MF_LIMIT <= n
        && m.end() + LAST_LITERALS <= n
        && m.off >= 1
        && m.off <= MAX_DISTANCE
        && m.off <= m.start;
    debug_assert!(valid, "invalid sequence {m:?} anchor {anchor} n {n}");
    if !valid {
        return Ok(false);
    }
    if !out.put_seq(&src[*anchor..m.start], m.off, m.len) {
        return Err(Stop::Full);
    }
    *anchor = m.end();
    Ok(true)
}

/// Hash-chain match finder: a head per 4-byte hash and, per position, the distance to
/// the previous position with the same hash (saturated at [`MAX_DISTANCE`]).
struct Chain {
    /// Most recent `pos + BASE` per hash of the 4 bytes at `pos`.
    head: Box<[u32; 1 << HC_HASH_BITS]>,
    /// Indexed by `(pos + BASE) as u16`: distance to the previous same-hash position.
    prev: Box<[u16; 1 << 16]>,
    /// Next position not yet inserted.
    next: usize,
}

/// A zeroed fixed-size table on the heap (fixed sizes let indexing by a masked hash or
/// a `u16` skip bounds checks).
fn boxed_zeroed<T: Copy + Default, const N: usize>() -> Box<[T; N]> {
    match vec![T::default(); N].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("length is N"),
    }
}

/// Hash of 4 bytes into [`HC_HASH_BITS`] bits.
#[inline(always)]
fn hash_hc(v: u32) -> usize {
    (v.wrapping_mul(2_654_435_761) >> (32 - HC_HASH_BITS)) as usize
}

impl Chain {
    /// Empty tables.
    fn new() -> Self {
        Chain {
            head: boxed_zeroed(),
            prev: boxed_zeroed(),
            next: 0,
        }
    }

    /// Inserts every position before `target` (each needs 4 readable bytes).
    #[inline(always)]
    fn insert_upto(&mut self, src: &[u8], target: usize) {
        while self.next < target {
            let p = self.next;
            let h = hash_hc(read32(src, p));
            let idx = p as u32 + BASE;
            let delta = (idx - self.head[h]).min(MAX_DISTANCE as u32);
            self.prev[idx as u16 as usize] = delta as u16;
            self.head[h] = idx;
            self.next += 1;
        }
    }

    /// Finds the longest match covering `ip` that is longer than `longest`, possibly
    /// extended backwards down to `low` and forwards up to `high`, trying at most
    /// `attempts` candidates. Returns [`Match::NONE`] when none beats `longest`.
    ///
    /// Needs `low <= ip`, `ip + 4 <= high <= src.len()`. With `SKIP_RUNS` (level 9,
    /// like LZ4's "pattern analysis" above 128 attempts) runs of one repeated byte are
    /// jumped over instead of walked one link at a time. Inlined into each call site so
    /// the first search (`low == ip`, `longest == 3`) specialises.
    #[inline(always)]
    fn find_wider<const SKIP_RUNS: bool>(
        &mut self,
        src: &[u8],
        ip: usize,
        low: usize,
        high: usize,
        mut longest: usize,
        attempts: u32,
    ) -> Match {
        self.insert_upto(src, ip);
        let ip_idx = ip as u32 + BASE;
        let lowest = ip_idx.saturating_sub(MAX_DISTANCE as u32).max(BASE);
        let pattern = read32(src, ip);
        let mut cand = self.head[hash_hc(pattern)];
        if cand < lowest {
            return Match::NONE;
        }
        let look_back = ip - low;
        let ceiling = high - low;
        let mut best = Match::NONE;
        let mut left = attempts;
        // Quick reject: to beat `longest`, the pair of bytes ending at that length
        // (counted from the widest start) must agree; `want` is that pair at `low`.
        let probe_at = |longest: usize| {
            let p = low + longest - 1;
            (p + 2 <= high).then(|| read16(src, p))
        };
        let mut want = probe_at(longest);
        // Length of the run of one byte at `ip`, once known (`Some(None)`: not a run).
        let mut src_run: Option<Option<usize>> = None;
        while cand >= lowest && left > 0 {
            left -= 1;
            let m = (cand - BASE) as usize;
            // Wraps (and so misses `get`) when the candidate cannot reach back that far.
            let j = (m + longest - 1).wrapping_sub(look_back);
            let worth = match (want, src.get(j..j.wrapping_add(2))) {
                (Some(w), Some(pair)) => u16::from_le_bytes([pair[0], pair[1]]) == w,
                _ => true,
            };
            if worth && read32(src, m) == pattern {
                let back = if look_back > 0 {
                    count_back(src, ip, m, low)
                } else {
                    0
                };
                let len = MIN_MATCH + count(src, ip + MIN_MATCH, m + MIN_MATCH, high) + back;
                if len > longest {
                    longest = len;
                    best = Match {
                        start: ip - back,
                        len,
                        off: ip - m,
                    };
                    if len >= ceiling {
                        break;
                    }
                    want = probe_at(longest);
                }
            }
            let step = self.prev[cand as u16 as usize];
            if SKIP_RUNS && step == 1 {
                // `m` may sit inside a run of one byte: jump over the run.
                let run = *src_run.get_or_insert_with(|| {
                    let byte = pattern as u8;
                    (pattern == u32::from(byte) * 0x0101_0101)
                        .then(|| MIN_MATCH + run_forward(src, ip + MIN_MATCH, high, byte))
                });
                let lowest_pos = (lowest - BASE) as usize;
                if let (Some(src_len), Some(c)) = (run, m.checked_sub(1)) {
                    if c >= lowest_pos && read32(src, c) == pattern {
                        let byte = pattern as u8;
                        let fwd = MIN_MATCH + run_forward(src, c + MIN_MATCH, high, byte);
                        let back = run_backward(src, c, lowest_pos, byte);
                        if back + fwd >= src_len && fwd <= src_len {
                            // A copy of the whole source run fits ending at the run's
                            // end; try there next (more may match after it).
                            cand = (c + fwd - src_len) as u32 + BASE;
                        } else {
                            // Jump to the run's start (its longest copy source) and
                            // continue from the previous position with that hash.
                            let start = c - back;
                            let seg = (back + fwd).min(src_len);
                            if look_back == 0 && seg > longest {
                                longest = seg;
                                best = Match {
                                    start: ip,
                                    len: seg,
                                    off: ip - start,
                                };
                                want = probe_at(longest);
                            }
                            let start_idx = start as u32 + BASE;
                            cand = start_idx - u32::from(self.prev[start_idx as u16 as usize]);
                        }
                        continue;
                    }
                }
            }
            cand -= u32::from(step);
        }
        best
    }
}

/// How many bytes of `s[from..limit]` equal `byte`, from the start.
#[inline]
fn run_forward(s: &[u8], from: usize, limit: usize, byte: u8) -> usize {
    let tail = &s[from.min(limit)..limit];
    let pat = u64::from(byte) * 0x0101_0101_0101_0101;
    let mut done = 0;
    for c in tail.chunks_exact(8) {
        let d = word(c) ^ pat;
        if d != 0 {
            return done + (d.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + tail[done..].iter().take_while(|&&b| b == byte).count()
}

/// How many bytes of `s[low..end]` equal `byte`, from the end.
#[inline]
fn run_backward(s: &[u8], end: usize, low: usize, byte: u8) -> usize {
    let head = &s[low.min(end)..end];
    let pat = u64::from(byte) * 0x0101_0101_0101_0101;
    let mut done = 0;
    for c in head.rchunks_exact(8) {
        let d = word(c) ^ pat;
        if d != 0 {
            return done + (d.leading_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + head[..head.len() - done]
        .iter()
        .rev()
        .take_while(|&&b| b == byte)
        .count()
}

/// Levels 3..=9: hash chains with a lazy parse that looks at up to three overlapping
/// matches before committing, trimming the first so the next one starts as early as
/// pays. Returns the anchor (start of the final literals).
fn compress_chain<const SKIP_RUNS: bool>(
    src: &[u8],
    out: &mut Out<'_>,
    attempts: u32,
) -> Result<usize, Stop> {
    /// Which lookahead the parse is on.
    enum Step {
        /// Looking for a match overlapping the end of `a`.
        Second,
        /// `b` beats `a`; looking for one overlapping the end of `b`.
        Third,
    }
    let n = src.len();
    let mf_limit = n - MF_LIMIT;
    let match_limit = n - LAST_LITERALS;
    let mut chain = Chain::new();
    let mut anchor = 0;
    let mut ip = 0;
    while ip <= mf_limit {
        let first =
            chain.find_wider::<SKIP_RUNS>(src, ip, ip, match_limit, MIN_MATCH - 1, attempts);
        if first.len == 0 {
            ip += 1;
            continue;
        }
        // `a` is the next match to emit, `b` and `c` the lookaheads; `saved` is the first
        // match found at this round, kept in case skipping past it lost too much.
        let mut a = first;
        let mut saved = first;
        let mut b = Match::NONE;
        let mut step = Step::Second;
        loop {
            match step {
                Step::Second => {
                    b = if a.end() <= mf_limit {
                        chain.find_wider::<SKIP_RUNS>(
                            src,
                            a.end() - 2,
                            a.start,
                            match_limit,
                            a.len,
                            attempts,
                        )
                    } else {
                        Match::NONE
                    };
                    if b.len == 0 {
                        if !emit(src, out, &mut anchor, a)? {
                            return Ok(anchor);
                        }
                        ip = a.end();
                        break;
                    }
                    if saved.start < a.start && b.start < a.start + saved.len {
                        a = saved;
                    }
                    if b.start - a.start < 3 {
                        // `a` is too short to be worth a sequence: `b` replaces it.
                        a = b;
                        continue;
                    }
                    step = Step::Third;
                }
                Step::Third => {
                    if b.start - a.start < OPTIMAL_ML {
                        // Let `a` keep up to OPTIMAL_ML bytes, leaving `b` >= 4.
                        let keep = a.len.min(OPTIMAL_ML).min(b.end() - MIN_MATCH - a.start);
                        let gap = b.start - a.start;
                        if keep > gap {
                            b.start += keep - gap;
                            b.len -= keep - gap;
                        }
                    }
                    let c = if b.end() <= mf_limit {
                        chain.find_wider::<SKIP_RUNS>(
                            src,
                            b.end() - 3,
                            b.start,
                            match_limit,
                            b.len,
                            attempts,
                        )
                    } else {
                        Match::NONE
                    };
                    if c.len == 0 {
                        // No better third: emit `a` (cut at `b`) and `b`.
                        if b.start < a.end() {
                            a.len = b.start - a.start;
                        }
                        if !emit(src, out, &mut anchor, a)? || !emit(src, out, &mut anchor, b)? {
                            return Ok(anchor);
                        }
                        ip = b.end();
                        break;
                    }
                    if c.start < a.end() + 3 {
                        if c.start >= a.end() {
                            // `b` is squeezed out: emit `a`, `c` becomes the first match.
                            if b.start < a.end() {
                                let cut = a.end() - b.start;
                                b.start += cut;
                                b.len = b.len.saturating_sub(cut);
                                if b.len < MIN_MATCH {
                                    b = c;
                                }
                            }
                            if !emit(src, out, &mut anchor, a)? {
                                return Ok(anchor);
                            }
                            a = c;
                            saved = b;
                            step = Step::Second;
                            continue;
                        }
                        // `c` overlaps `a` too much: it replaces `b`.
                        b = c;
                        continue;
                    }
                    // Three ascending matches: settle `a` against `b` and emit it.
                    if b.start < a.end() {
                        let gap = b.start - a.start;
                        if gap < OPTIMAL_ML {
                            a.len = a.len.min(OPTIMAL_ML).min(b.end() - MIN_MATCH - a.start);
                            if a.end() > b.start {
                                let cut = a.end() - b.start;
                                b.start += cut;
                                b.len -= cut;
                            }
                        } else {
                            a.len = gap;
                        }
                    }
                    if !emit(src, out, &mut anchor, a)? {
                        return Ok(anchor);
                    }
                    a = b;
                    b = c;
                }
            }
        }
    }
    Ok(anchor)
}

/// Hash of the 4 bytes in `v` into [`MID_HASH_BITS`] bits.
#[inline(always)]
fn hash_mid4(v: u32) -> usize {
    (v.wrapping_mul(2_654_435_761) >> (32 - MID_HASH_BITS)) as usize
}

/// Hash of the low 7 bytes of `v` into [`MID_HASH_BITS`] bits.
#[inline(always)]
fn hash_mid8(v: u64) -> usize {
    ((v << 8).wrapping_mul(58_295_818_150_454_627) >> (64 - MID_HASH_BITS)) as usize
}

/// Levels 1..=2: per position, one candidate from a long (7-byte) hash, else one from a
/// 4-byte hash (then a long candidate one byte later may replace it); matches grow
/// backwards into pending literals. Returns the anchor (start of the final literals).
fn compress_mid(src: &[u8], out: &mut Out<'_>) -> Result<usize, Stop> {
    let n = src.len();
    let mf_limit = n - MF_LIMIT;
    let match_limit = n - LAST_LITERALS;
    // Last position whose 8 bytes can be hashed.
    let hash_limit = n - 8;
    let mut t4: Box<[u32; 1 << MID_HASH_BITS]> = boxed_zeroed();
    let mut t8: Box<[u32; 1 << MID_HASH_BITS]> = boxed_zeroed();
    let idx = |p: usize| p as u32 + BASE;
    // Position of `cand` if it is within reach of `p`.
    let reach = |p: usize, cand: u32| -> Option<usize> {
        (idx(p) - cand <= MAX_DISTANCE as u32).then(|| (cand - BASE) as usize)
    };
    let mut anchor = 0;
    let mut ip = 0;
    while ip <= mf_limit {
        let mut found = None;
        let h8 = hash_mid8(read64(src, ip));
        let c8 = t8[h8];
        t8[h8] = idx(ip);
        if let Some(m) = reach(ip, c8) {
            let len = count(src, ip, m, match_limit);
            if len >= MIN_MATCH {
                found = Some((len, ip - m));
            }
        }
        if found.is_none() {
            let h4 = hash_mid4(read32(src, ip));
            let c4 = t4[h4];
            t4[h4] = idx(ip);
            if let Some(m) = reach(ip, c4) {
                let len = count(src, ip, m, match_limit);
                if len >= MIN_MATCH {
                    found = Some((len, ip - m));
                    // A long match one byte later may be better.
                    if ip < mf_limit {
                        let h = hash_mid8(read64(src, ip + 1));
                        if let Some(m2) = reach(ip + 1, t8[h]) {
                            let len2 = count(src, ip + 1, m2, match_limit);
                            if len2 > len {
                                t8[h] = idx(ip + 1);
                                ip += 1;
                                found = Some((len2, ip - m2));
                            }
                        }
                    }
                }
            }
        }
        let Some((mut len, off)) = found else {
            ip += 1 + ((ip - anchor) >> 9);
            continue;
        };
        while ip > anchor && ip > off && src[ip - 1] == src[ip - 1 - off] {
            ip -= 1;
            len += 1;
        }
        for p in [ip + 1, ip + 2] {
            t8[hash_mid8(read64(src, p))] = idx(p);
        }
        t4[hash_mid4(read32(src, ip + 1))] = idx(ip + 1);
        let m = Match {
            start: ip,
            len,
            off,
        };
        if !emit(src, out, &mut anchor, m)? {
            return Ok(anchor);
        }
        let end = m.end();
        if end - 2 < hash_limit {
            if end > 5 {
                t8[hash_mid8(read64(src, end - 5))] = idx(end - 5);
            }
            for p in [end - 3, end - 2] {
                t8[hash_mid8(read64(src, p))] = idx(p);
            }
            for p in [end - 2, end - 1] {
                t4[hash_mid4(read32(src, p))] = idx(p);
            }
        }
        ip = end;
    }
    Ok(anchor)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes with lz4_flex and checks the round trip.
    fn roundtrip(level: u8, src: &[u8]) -> usize {
        let mut dst = vec![0u8; src.len() + src.len() / 255 + 16];
        let n = compress(level, src, &mut dst);
        assert!(n > 0, "level {level} len {}", src.len());
        let back = lz4_flex::block::decompress(&dst[..n], src.len()).expect("decodes");
        assert_eq!(back, src, "level {level}");
        n
    }

    #[test]
    fn tiny_inputs_are_literals() {
        for len in 0..13 {
            let src: Vec<u8> = (0..len as u8).collect();
            for level in 1..=9 {
                let n = roundtrip(level, &src);
                assert_eq!(n, 1 + len);
            }
        }
    }

    #[test]
    fn runs_compress_hard() {
        let src = vec![7u8; 100_000];
        for level in 1..=9 {
            let n = roundtrip(level, &src);
            assert!(n < 450, "level {level}: {n}");
        }
    }

    #[test]
    fn text_roundtrips_and_shrinks() {
        let text = b"the quick brown fox jumps over the lazy dog; ".repeat(500);
        for level in 1..=9 {
            let n = roundtrip(level, &text);
            assert!(n < text.len() / 20, "level {level}: {n}");
        }
    }

    #[test]
    fn output_too_small_returns_zero() {
        let mut x = 0x1234_5678u32;
        let src: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for level in 1..=9 {
            let mut dst = vec![0u8; 4999];
            assert_eq!(compress(level, &src, &mut dst), 0);
            let mut dst = vec![0u8; 5100];
            assert!(compress(level, &src, &mut dst) > 5000);
        }
    }
}
