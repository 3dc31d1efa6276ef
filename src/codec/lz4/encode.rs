//! LZ4 "fast" block encoder with C liblz4's acceleration semantics (safe Rust).
//!
//! The search follows the LZ4 fast strategy: one hash-table probe per position; after
//! `64` consecutive misses the step between probed positions grows by one, and the budget of
//! misses before that happens is divided by `acceleration` (so `acceleration = a` starts
//! growing the step `a` times sooner). After a match the positions `end - 2` and `end` are
//! inserted and `end` is tried at once. Table layout and hashes follow liblz4 1.10 with the
//! default 16 KiB state: inputs below 64 KiB + 11 bytes use 8192 16-bit slots and a hash of
//! 4 bytes, larger ones 4096 32-bit slots and a hash of 5 bytes. The output is a standard raw
//! LZ4 block (last 5 bytes literal, no match starting in the last 12 bytes).

use super::decode::MIN_MATCH;

/// The last this many bytes of a block are always literals.
const LAST_LITERALS: usize = 5;
/// No match may start within this many bytes of the end.
const MF_LIMIT: usize = 12;
/// Inputs shorter than this are stored as a single literal run.
const MIN_LENGTH: usize = MF_LIMIT + 1;
/// Largest encodable match offset.
const MAX_DISTANCE: usize = 65_535;
/// Inputs shorter than this use the 16-bit table (positions fit in `u16`).
const LIMIT_64K: usize = 65_536 + MF_LIMIT - 1;
/// log2 of the number of misses before the search step grows.
const SKIP_TRIGGER: u32 = 6;
/// Largest acceleration C accepts (larger values are clamped).
const ACCELERATION_MAX: u32 = 65_537;

/// Reads 4 little-endian bytes at `i`.
#[inline(always)]
fn read_u32(s: &[u8], i: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&s[i..i + 4]);
    u32::from_le_bytes(b)
}

/// Reads 8 little-endian bytes at `i`.
#[inline(always)]
fn read_u64(s: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(b)
}

/// A position hash table (one of the two liblz4 layouts).
trait Table {
    /// Fresh zeroed table.
    fn new() -> Self;
    /// Hash of the bytes at `i` (needs 8 readable bytes for the 32-bit table, 4 for 16-bit).
    fn hash(src: &[u8], i: usize) -> usize;
    /// Stored position for hash `h`.
    fn get(&self, h: usize) -> usize;
    /// Stores position `pos` for hash `h`.
    fn put(&mut self, h: usize, pos: usize);
    /// Whether a candidate at `m` may be used for position `i` (offset range check).
    fn in_range(m: usize, i: usize) -> bool;
}

/// 8192 16-bit slots, hash of 4 bytes (inputs below [`LIMIT_64K`]).
struct Table16([u16; 8192]);
/// 4096 32-bit slots, hash of 5 bytes.
struct Table32([u32; 4096]);

impl Table for Table16 {
    fn new() -> Self {
        Table16([0; 8192])
    }
    #[inline(always)]
    fn hash(src: &[u8], i: usize) -> usize {
        (read_u32(src, i).wrapping_mul(2_654_435_761) >> (32 - 13)) as usize
    }
    #[inline(always)]
    fn get(&self, h: usize) -> usize {
        self.0[h & 8191] as usize
    }
    #[inline(always)]
    fn put(&mut self, h: usize, pos: usize) {
        self.0[h & 8191] = pos as u16;
    }
    #[inline(always)]
    fn in_range(_m: usize, _i: usize) -> bool {
        true // the whole input is within 64 KiB
    }
}

impl Table for Table32 {
    fn new() -> Self {
        Table32([0; 4096])
    }
    #[inline(always)]
    fn hash(src: &[u8], i: usize) -> usize {
        ((read_u64(src, i) << 24).wrapping_mul(889_523_592_379) >> (64 - 12)) as usize
    }
    #[inline(always)]
    fn get(&self, h: usize) -> usize {
        self.0[h & 4095] as usize
    }
    #[inline(always)]
    fn put(&mut self, h: usize, pos: usize) {
        self.0[h & 4095] = pos as u32;
    }
    #[inline(always)]
    fn in_range(m: usize, i: usize) -> bool {
        m + MAX_DISTANCE >= i
    }
}

/// Counts equal bytes at `a` and `b` (`b < a`), stopping at `limit` (exclusive, for `a`).
#[inline(always)]
fn count_match(src: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let x = &src[a..limit];
    let y = &src[b..b + x.len()];
    let mut n = 0;
    for (cx, cy) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
        let (mut wx, mut wy) = ([0u8; 8], [0u8; 8]);
        wx.copy_from_slice(cx);
        wy.copy_from_slice(cy);
        let d = u64::from_le_bytes(wx) ^ u64::from_le_bytes(wy);
        if d != 0 {
            return n + (d.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + x[n..]
        .iter()
        .zip(&y[n..])
        .take_while(|(p, q)| p == q)
        .count()
}

/// Writes the 255-continued extension of a length `n` whose nibble was 15 (`n` already has
/// 15 subtracted). Caller reserved `n / 255 + 1` bytes.
#[inline(always)]
fn write_ext(dst: &mut [u8], op: &mut usize, mut n: usize) {
    while n >= 255 {
        dst[*op] = 255;
        *op += 1;
        n -= 255;
    }
    dst[*op] = n as u8;
    *op += 1;
}

/// Compresses `src` into `dst`; returns the size or 0 if it does not fit. See module docs.
pub(super) fn compress(acceleration: u32, src: &[u8], dst: &mut [u8]) -> usize {
    let acc = acceleration.clamp(1, ACCELERATION_MAX);
    if src.len() < LIMIT_64K {
        compress_generic::<Table16>(acc, src, dst)
    } else {
        compress_generic::<Table32>(acc, src, dst)
    }
}

/// The encoder proper, monomorphised per table layout.
#[inline(always)]
fn compress_generic<T: Table>(acc: u32, src: &[u8], dst: &mut [u8]) -> usize {
    let n = src.len();
    let olimit = dst.len();
    let mut op = 0usize;
    let mut anchor = 0usize;
    if n >= MIN_LENGTH {
        let mut table = T::new();
        let match_limit = n - LAST_LITERALS;
        let mf_limit_plus_one = n - MF_LIMIT + 1;
        let mut ip = 0usize;
        table.put(T::hash(src, 0), 0);
        ip += 1;
        let mut forward_h = T::hash(src, ip);
        'outer: loop {
            // Find a match, probing with a growing step.
            let mut m;
            {
                let mut forward_ip = ip;
                let mut step = 1usize;
                let mut search_nb = acc << SKIP_TRIGGER;
                loop {
                    let h = forward_h;
                    ip = forward_ip;
                    forward_ip += step;
                    step = (search_nb >> SKIP_TRIGGER) as usize;
                    search_nb += 1;
                    if forward_ip > mf_limit_plus_one {
                        break 'outer;
                    }
                    m = table.get(h);
                    forward_h = T::hash(src, forward_ip);
                    table.put(h, ip);
                    if T::in_range(m, ip) && read_u32(src, m) == read_u32(src, ip) {
                        break;
                    }
                }
            }
            // Extend backwards over equal bytes.
            while ip > anchor && m > 0 && src[ip - 1] == src[m - 1] {
                ip -= 1;
                m -= 1;
            }
            // Literal run and token.
            let lit = ip - anchor;
            let mut token_pos = op;
            op += 1;
            if op + lit + (2 + 1 + LAST_LITERALS) + lit / 255 > olimit {
                return 0;
            }
            if lit >= 15 {
                dst[token_pos] = 15 << 4;
                write_ext(dst, &mut op, lit - 15);
            } else {
                dst[token_pos] = (lit as u8) << 4;
            }
            dst[op..op + lit].copy_from_slice(&src[anchor..ip]);
            op += lit;
            loop {
                // Offset and match length.
                dst[op..op + 2].copy_from_slice(&((ip - m) as u16).to_le_bytes());
                op += 2;
                let code = count_match(src, ip + MIN_MATCH, m + MIN_MATCH, match_limit);
                ip += code + MIN_MATCH;
                if op + (1 + LAST_LITERALS) + (code + 240) / 255 > olimit {
                    return 0;
                }
                if code >= 15 {
                    dst[token_pos] += 15;
                    write_ext(dst, &mut op, code - 15);
                } else {
                    dst[token_pos] += code as u8;
                }
                anchor = ip;
                if ip >= mf_limit_plus_one {
                    break 'outer;
                }
                table.put(T::hash(src, ip - 2), ip - 2);
                // Try the position right after the match.
                let h = T::hash(src, ip);
                m = table.get(h);
                table.put(h, ip);
                if T::in_range(m, ip) && read_u32(src, m) == read_u32(src, ip) {
                    token_pos = op;
                    dst[op] = 0;
                    op += 1;
                    continue;
                }
                break;
            }
            ip += 1;
            forward_h = T::hash(src, ip);
        }
    }
    // Last literals.
    let last = n - anchor;
    if op + last + 1 + (last + 255 - 15) / 255 > olimit {
        return 0;
    }
    if last >= 15 {
        dst[op] = 15 << 4;
        op += 1;
        write_ext(dst, &mut op, last - 15);
    } else {
        dst[op] = (last as u8) << 4;
        op += 1;
    }
    dst[op..op + last].copy_from_slice(&src[anchor..]);
    op + last
}
