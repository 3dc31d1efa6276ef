//! BloscLZ: the FastLZ-derived byte codec that C-Blosc2 ships as codec id 0.
//!
//! The encoder reproduces C-Blosc2 3.3.5 (BloscLZ 2.5.3) byte for byte, including
//! its entropy probe and output-capacity give-up points (spec §C.5). The decoder
//! (spec §C.4) is safe on arbitrary input: every length and distance is checked
//! before it is used, and malformed streams return `Err`.
//!
//! Stream layout (one *token* byte, then its operands):
//!
//! ```text
//! 000LLLLL                      literal run: copy the next LLLLL + 1 bytes (1..=32)
//! LLLhhhhh llllllll             match, LLL in 1..=6: copy LLL + 2 bytes from distance
//!                               (hhhhh << 8 | llllllll) + 1
//! 111hhhhh eeee.. llllllll      LLL = 7: extension bytes e (255 means "more"),
//!                               length 9 + sum(e)
//! ...11111 [e..] 11111111 HH LL far match: distance (HH << 8 | LL) + 8192
//! ```
//!
//! The first token of a stream is always a literal run with bit 5 set as a marker.

use super::lz4::Decoded;

/// Longest literal run one token can carry.
const MAX_COPY: usize = 32;
/// Largest (biased) distance a near match can encode.
const MAX_DISTANCE: usize = 8191;
/// Matches at this distance or further are not searched (C's `MAX_FARDISTANCE`).
const MAX_FARDISTANCE: usize = 65535 + MAX_DISTANCE - 1;
/// log2 of the largest hash table (clevel >= 3).
const HASH_LOG: u32 = 14;
/// Bytes a match is shortened by after its extension (C's `ipshift`).
const IPSHIFT: usize = 4;
/// Shortest (shifted) match length that is encoded (C's `minlen`).
const MINLEN: usize = 4;
/// Hash multiplier (Knuth's, as in LZ4).
const HASH_MUL: u32 = 2_654_435_761;

/// Hash-table log2 size for each clevel (index 0 is unused).
const HASH_LOGS: [u32; 10] = [0, 12, 13, 14, 14, 14, 14, 14, 14, 14];
/// Minimum entropy-probe ratio for each clevel below which the data is stored raw.
const MIN_RATIOS: [f64; 10] = [0.0, 2.0, 1.5, 1.2, 1.2, 1.2, 1.2, 1.15, 1.1, 1.0];

/// Hash of four bytes into `hlog` bits. The mask is a no-op (`hlog <= HASH_LOG`)
/// that lets the compiler drop the table bounds checks.
#[inline(always)]
fn hash(seq: u32, hlog: u32) -> usize {
    (seq.wrapping_mul(HASH_MUL) >> (32 - hlog)) as usize & ((1 << HASH_LOG) - 1)
}

/// Little-endian u32 at `i` (caller guarantees `i + 4 <= buf.len()`).
#[inline(always)]
fn read_u32(buf: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&buf[i..i + 4]);
    u32::from_le_bytes(w)
}

/// Little-endian u64 at `i` (caller guarantees `i + 8 <= buf.len()`).
#[inline(always)]
fn read_u64(buf: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&buf[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Match extension as C computes it: the smallest `k >= p` with
/// `buf[k] != buf[q + (k - p)]`, returned as `min(k + 1, bound)`; `bound` when
/// there is no mismatch before `bound`. Requires `q < p <= bound <= buf.len()`.
#[inline(always)]
fn match_end(buf: &[u8], p: usize, q: usize, bound: usize) -> usize {
    let n = bound - p;
    let a = &buf[p..bound];
    let b = &buf[q..q + n];
    let mut i = 0;
    // 32 bytes per step: four u64 XORs folded into one test (vectorises to SSE2/AVX2).
    while i + 32 <= n {
        let x0 = read_u64(a, i) ^ read_u64(b, i);
        let x1 = read_u64(a, i + 8) ^ read_u64(b, i + 8);
        let x2 = read_u64(a, i + 16) ^ read_u64(b, i + 16);
        let x3 = read_u64(a, i + 24) ^ read_u64(b, i + 24);
        if (x0 | x1 | x2 | x3) != 0 {
            let (off, x) = if x0 != 0 {
                (0, x0)
            } else if x1 != 0 {
                (8, x1)
            } else if x2 != 0 {
                (16, x2)
            } else {
                (24, x3)
            };
            return p + i + off + (x.trailing_zeros() / 8) as usize + 1;
        }
        i += 32;
    }
    while i + 8 <= n {
        let x = read_u64(a, i) ^ read_u64(b, i);
        if x != 0 {
            return p + i + (x.trailing_zeros() / 8) as usize + 1;
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return p + i + 1;
        }
        i += 1;
    }
    bound
}

/// Entropy probe: estimated compression ratio of `win` (C's `get_cratio`).
/// `table` must be all zeros (C clears it here; our caller passes a fresh one).
fn probe_ratio(win: &[u8], hlog: u32, table: &mut [u32; 1 << HASH_LOG]) -> f64 {
    let hashlen = 1usize << hlog;
    let limit = win.len().min(hashlen);
    if limit <= 12 {
        return 0.0;
    }
    let bound = limit - 1;
    let ilimit = limit - 12;
    let mut oc: i64 = 5;
    let mut copy: usize = 4;
    let mut ip: usize = 0;
    while ip < ilimit {
        let a = ip;
        let seq = read_u32(win, a);
        let h = hash(seq, hlog);
        let r = table[h] as usize;
        table[h] = a as u32;
        let d = a - r;
        if d != 0 && d < MAX_FARDISTANCE && read_u32(win, r) == seq {
            let e = match_end(win, a + 4, r + 4, bound) - IPSHIFT;
            let len = e - a;
            if len >= MINLEN {
                if copy == 0 {
                    oc -= 1;
                }
                copy = 0;
                if len >= 7 {
                    oc += ((len - 7) / 255 + 1) as i64;
                }
                oc += if d - 1 < MAX_DISTANCE { 2 } else { 4 };
                table[hash(read_u32(win, e), hlog)] = e as u32;
                ip = e + 2;
                oc += 1;
                continue;
            }
        }
        oc += 1;
        ip = a + 1;
        copy += 1;
        if copy == MAX_COPY {
            copy = 0;
            oc += 1;
        }
    }
    ip as f64 / oc as f64
}

/// Output cursor with C's capacity checks: each `need(k)` fails when fewer than
/// `k` bytes of capacity remain.
struct Out<'a> {
    /// Destination buffer; its length is the capacity (`maxout`).
    buf: &'a mut [u8],
    /// Bytes written so far.
    op: usize,
}

impl Out<'_> {
    /// True when `k` more bytes fit.
    #[inline(always)]
    fn has(&self, k: usize) -> bool {
        self.op + k <= self.buf.len()
    }

    /// Appends one byte (capacity already checked).
    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.buf[self.op] = b;
        self.op += 1;
    }
}

/// Writes the length extension bytes of a long match (`len >= 7`): 255 per full
/// step, returning the final remainder, or `None` when the capacity runs out.
#[inline(always)]
fn emit_long_len(out: &mut Out<'_>, len: usize) -> Option<u8> {
    let mut len = len - 7;
    while len >= 255 {
        if !out.has(1) {
            return None;
        }
        out.push(255);
        len -= 255;
    }
    Some(len as u8)
}

/// Compress `src` into `dst` (dst.len() is the capacity, `maxout`). Returns the
/// compressed length, or 0 when the data is judged incompressible or does not fit.
///
/// Byte-identical to C-Blosc2's `blosclz_compress` for clevel 1..=9; clevel 0
/// returns 0 and clevels above 9 behave as 9.
pub(crate) fn compress(clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
    if clevel == 0 || src.len() > i32::MAX as usize {
        return 0;
    }
    let clevel = usize::from(clevel.min(9));
    let n = src.len();
    let hlog = HASH_LOGS[clevel];
    let mut table = [0u32; 1 << HASH_LOG];

    let maxlen = match clevel {
        1 => n / 8,
        2 | 3 => n / 4,
        4..=6 => n / 2,
        _ => n,
    };
    if probe_ratio(&src[n - maxlen..], hlog, &mut table) < MIN_RATIOS[clevel] {
        return 0;
    }
    if n < 16 || dst.len() < 66 {
        return 0;
    }
    compress_body(clevel == 9, hlog, src, dst, &mut table).unwrap_or(0)
}

/// The compression pass proper (after the probe and size gate); `None` when the
/// output capacity runs out at one of C's check points.
fn compress_body(
    second_hash: bool,
    hlog: u32,
    src: &[u8],
    dst: &mut [u8],
    table: &mut [u32; 1 << HASH_LOG],
) -> Option<usize> {
    let n = src.len();
    let bound = n - 1;
    let ilimit = n - 12;
    table[..1usize << hlog].fill(0);
    let mut out = Out { buf: dst, op: 0 };

    out.push((MAX_COPY - 1) as u8);
    out.push(src[0]);
    out.push(src[1]);
    out.push(src[2]);
    out.push(src[3]);
    let mut copy: usize = 4;
    let mut ip: usize = 4;

    while ip < ilimit {
        let a = ip;
        let seq = read_u32(src, a);
        let h = hash(seq, hlog);
        let r = table[h] as usize;
        table[h] = a as u32;
        let d = a - r;
        if d != 0 && d < MAX_FARDISTANCE && read_u32(src, r) == seq {
            let dist = d - 1;
            let e = match_end(src, a + 4, r + 4, bound) - IPSHIFT;
            let len = e - a;
            if len >= MINLEN && !(len <= 5 && dist >= MAX_DISTANCE) {
                // Close the pending literal run (or drop its unused token).
                if copy > 0 {
                    out.buf[out.op - copy - 1] = (copy - 1) as u8;
                } else {
                    out.op -= 1;
                }
                copy = 0;
                if dist < MAX_DISTANCE {
                    let hi = (dist >> 8) as u8;
                    if len < 7 {
                        if !out.has(2) {
                            return None;
                        }
                        out.push(((len as u8) << 5) + hi);
                    } else {
                        if !out.has(1) {
                            return None;
                        }
                        out.push((7 << 5) + hi);
                        let rest = emit_long_len(&mut out, len)?;
                        if !out.has(2) {
                            return None;
                        }
                        out.push(rest);
                    }
                    out.push(dist as u8);
                } else {
                    let far = dist - MAX_DISTANCE;
                    if len < 7 {
                        if !out.has(4) {
                            return None;
                        }
                        out.push(((len as u8) << 5) + 31);
                    } else {
                        if !out.has(1) {
                            return None;
                        }
                        out.push((7 << 5) + 31);
                        let rest = emit_long_len(&mut out, len)?;
                        if !out.has(4) {
                            return None;
                        }
                        out.push(rest);
                    }
                    out.push(255);
                    out.push((far >> 8) as u8);
                    out.push(far as u8);
                }
                let seq = read_u32(src, e);
                table[hash(seq, hlog)] = e as u32;
                if second_hash {
                    table[hash(seq >> 8, hlog)] = (e + 1) as u32;
                }
                ip = e + 2;
                if !out.has(1) {
                    return None;
                }
                out.push((MAX_COPY - 1) as u8);
                continue;
            }
        }
        // Literal byte.
        if !out.has(2) {
            return None;
        }
        out.push(src[a]);
        ip = a + 1;
        copy += 1;
        if copy == MAX_COPY {
            copy = 0;
            out.push((MAX_COPY - 1) as u8);
        }
    }

    // Left-over bytes as literals.
    while ip < n {
        if !out.has(2) {
            return None;
        }
        out.push(src[ip]);
        ip += 1;
        copy += 1;
        if copy == MAX_COPY {
            copy = 0;
            out.push((MAX_COPY - 1) as u8);
        }
    }
    if copy > 0 {
        out.buf[out.op - copy - 1] = (copy - 1) as u8;
    } else {
        out.op -= 1;
    }
    out.buf[0] |= 1 << 5;
    Some(out.op)
}

/// Decompress one stream; returns bytes written (must be <= dst.len()). Errors on
/// any malformed input (never panics).
///
/// Bytes of `dst` past the returned length may have been overwritten. An empty
/// `src` decodes to 0 bytes (as in C; the chunk layer's size check rejects it).
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    decompress_prefix(src, dst, usize::MAX).map(|d| d.len)
}

/// [`decompress`] up to the first literal run that ends at or past `want` output bytes
/// (a stream cut after any literal run is itself a valid stream, so the bytes written
/// are a prefix of the whole output), or to the end of the stream.
///
/// # Errors
///
/// As [`decompress`], for the part decoded.
pub(crate) fn decompress_prefix(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    let Some(&first) = src.first() else {
        return Ok(Decoded {
            len: 0,
            whole: true,
        });
    };
    let mut ip = 1usize;
    let mut op = 0usize;
    let mut ctrl = usize::from(first & 31);
    loop {
        if ctrl < 32 {
            let run = ctrl + 1;
            if ip + MAX_COPY <= src.len() && op + MAX_COPY <= dst.len() {
                // Fixed-size copy of a full token's worth; the extra bytes are
                // overwritten by what follows.
                dst[op..op + MAX_COPY].copy_from_slice(&src[ip..ip + MAX_COPY]);
            } else {
                if run > dst.len() - op {
                    return Err("blosclz literal run overflows the output");
                }
                let Some(lit) = src.get(ip..ip + run) else {
                    return Err("blosclz literal run past the end of the input");
                };
                dst[op..op + run].copy_from_slice(lit);
            }
            op += run;
            ip += run;
            let Some(&c) = src.get(ip) else {
                break;
            };
            if op >= want {
                return Ok(Decoded {
                    len: op,
                    whole: false,
                });
            }
            ctrl = usize::from(c);
            ip += 1;
        } else {
            let mut len = (ctrl >> 5) + 2;
            if len == 9 {
                loop {
                    let Some(&code) = src.get(ip) else {
                        return Err("blosclz match length truncated");
                    };
                    ip += 1;
                    len = len.saturating_add(usize::from(code));
                    if code != 255 {
                        break;
                    }
                }
            }
            let hi = ctrl & 31;
            let Some(&lo) = src.get(ip) else {
                return Err("blosclz match distance truncated");
            };
            ip += 1;
            let mut dist = (hi << 8) + usize::from(lo) + 1;
            if hi == 31 && lo == 255 {
                let Some(far) = src.get(ip..ip + 2) else {
                    return Err("blosclz far match distance truncated");
                };
                ip += 2;
                dist = ((usize::from(far[0]) << 8) | usize::from(far[1])) + MAX_DISTANCE + 1;
            }
            if len > dst.len() - op {
                return Err("blosclz match overflows the output");
            }
            if dist > op {
                return Err("blosclz match distance before the start of the output");
            }
            let Some(&c) = src.get(ip) else {
                return Err("blosclz stream ends with a match");
            };
            ctrl = usize::from(c);
            ip += 1;
            copy_match(dst, op, dist, len);
            op += len;
        }
    }
    Ok(Decoded {
        len: op,
        whole: true,
    })
}

/// Matches up to this length take the fixed-size-step paths; longer ones use
/// `memmove`/`memset`, which win once the call overhead is amortised.
const SHORT_MATCH: usize = 64;

/// Copies `len` bytes from `op - dist` to `op` forward, byte-by-byte semantics
/// (overlap repeats the pattern). Requires `1 <= dist <= op` and
/// `op + len <= dst.len()`. May write up to 15 bytes past `op + len` when they
/// are inside `dst`.
#[inline(always)]
fn copy_match(dst: &mut [u8], op: usize, dist: usize, len: usize) {
    let start = op - dist;
    let end = op + len;
    if len <= SHORT_MATCH && end + 16 <= dst.len() {
        if dist >= 16 {
            // 16-byte steps: each source block was fully written before it is read.
            let (mut s, mut o) = (start, op);
            loop {
                let mut t = [0u8; 16];
                t.copy_from_slice(&dst[s..s + 16]);
                dst[o..o + 16].copy_from_slice(&t);
                o += 16;
                s += 16;
                if o >= end {
                    return;
                }
            }
        } else if dist == 1 {
            let b = [dst[start]; 16];
            let mut o = op;
            loop {
                dst[o..o + 16].copy_from_slice(&b);
                o += 16;
                if o >= end {
                    return;
                }
            }
        } else if dist >= 8 {
            let (mut s, mut o) = (start, op);
            loop {
                let mut t = [0u8; 8];
                t.copy_from_slice(&dst[s..s + 8]);
                dst[o..o + 8].copy_from_slice(&t);
                o += 8;
                s += 8;
                if o >= end {
                    return;
                }
            }
        } else {
            for i in op..end {
                dst[i] = dst[i - dist];
            }
            return;
        }
    }
    if dist == 1 {
        let b = dst[start];
        dst[op..end].fill(b);
    } else if dist >= len {
        dst.copy_within(start..start + len, op);
    } else {
        // Overlapping: the pattern [start, op) repeats; double it each step.
        let mut filled = op;
        while filled < end {
            let k = (filled - start).min(end - filled);
            dst.copy_within(start..start + k, filled);
            filled += k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round trip helper.
    fn roundtrip(clevel: u8, src: &[u8]) -> usize {
        let mut c = vec![0u8; src.len()];
        let cs = compress(clevel, src, &mut c);
        if cs > 0 {
            let mut d = vec![0u8; src.len()];
            assert_eq!(decompress(&c[..cs], &mut d), Ok(src.len()));
            assert_eq!(&d, src);
        }
        cs
    }

    #[test]
    fn runs_compress_and_roundtrip() {
        let src = vec![7u8; 10_000];
        for cl in 1..=9 {
            let cs = roundtrip(cl, &src);
            assert!(cs > 0 && cs < 200, "clevel {cl}: {cs}");
        }
    }

    #[test]
    fn tiny_and_random_inputs_are_not_compressed() {
        assert_eq!(compress(5, &[1, 2, 3], &mut [0u8; 100]), 0);
        let mut s = 1u64;
        let rnd: Vec<u8> = (0..4096)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect();
        assert_eq!(compress(9, &rnd, &mut vec![0u8; 4096]), 0);
    }

    #[test]
    fn known_stream_for_a_short_run() {
        // 64 bytes of 'a': literal "aaaa", a 57-byte match at distance 4 (the hash
        // table starts at 0), then 3 literals.
        let src = [b'a'; 64];
        let mut c = [0u8; 128];
        let cs = compress(5, &src, &mut c);
        assert_eq!(
            &c[..cs],
            &[0x23, 97, 97, 97, 97, 0xe0, 48, 3, 2, 97, 97, 97]
        );
        let mut d = [0u8; 64];
        assert_eq!(decompress(&c[..cs], &mut d), Ok(64));
        assert_eq!(d, src);
    }

    #[test]
    fn far_matches_use_the_escape_and_capacity_gives_up_exactly() {
        // 10007-byte pseudo-random pattern repeated: only far matches are possible.
        let mut x = 12345u32;
        let pat: Vec<u8> = (0..10_007)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let src: Vec<u8> = pat.iter().cycle().take(30_000).copied().collect();
        let mut c = vec![0u8; src.len()];
        let cs = compress(9, &src, &mut c);
        assert!(cs > 10_007 && cs < 10_500, "{cs}");
        // Far distance 10007 - 1 - 8191 = 1815 = 0x0717 after the 0xff escape.
        assert!(c[..cs].windows(3).any(|w| w == [255, 0x07, 0x17]));
        let mut d = vec![0u8; src.len()];
        assert_eq!(decompress(&c[..cs], &mut d), Ok(src.len()));
        assert_eq!(d, src);
        // One byte less capacity than needed: give up (0), never a truncated stream.
        assert_eq!(compress(9, &src, &mut c[..cs - 1]), 0);
        assert_eq!(compress(0, &src, &mut c), 0);
        assert_eq!(compress(200, &src, &mut c), cs);
    }

    #[test]
    fn match_end_semantics() {
        let buf = b"abcdabcdabcxabcdabcd";
        // p=4 vs q=0: mismatch at k=11 -> 12.
        assert_eq!(match_end(buf, 4, 0, buf.len()), 12);
        assert_eq!(match_end(buf, 4, 0, 10), 10);
    }

    #[test]
    fn decoder_rejects_malformed() {
        let mut d = [0u8; 16];
        assert!(decompress(&[0x05, 1, 2], &mut d).is_err()); // literal past end
        assert!(decompress(&[0x20, 1, 0x20, 5, 0], &mut d).is_err()); // distance too far
        assert!(decompress(&[0x20, 1, 0x20, 0], &mut d).is_err()); // ends with a match
        assert!(decompress(&[0x2f; 1], &mut d).is_err()); // literal of 16 needs 16 bytes
        assert_eq!(decompress(&[0x20, 9], &mut d), Ok(1));
    }
}
