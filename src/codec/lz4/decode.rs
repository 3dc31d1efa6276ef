//! Safe LZ4 block decoder: a wild-copy fast loop on bounds-checked slices, then a fully
//! checked loop near the ends of the buffers. This is the scalar reference that the unsafe
//! kernel (`decode_fast.rs`) is tested against, and the path `B2FRAME_FORCE_SCALAR=1` selects.

use super::Decoded;

/// Smallest match length; the token's low nibble stores `match_len - MIN_MATCH`.
pub(super) const MIN_MATCH: usize = 4;

/// Input bytes the fast loop wants left after a sequence's token (16 literal bytes copied
/// wild, plus the offset and some length bytes).
const FAST_IN_MARGIN: usize = 32;

/// Output bytes the fast loop wants left at a sequence's start: 16 wild literal bytes plus a
/// short match (at most 18) rounded up to 16-byte copies, plus slack.
const FAST_OUT_MARGIN: usize = 64;

/// Reads the 255-continued length extension that follows a nibble of 15.
///
/// Each byte is added; a byte below 255 ends the run. Errors if the input ends first.
#[inline(always)]
pub(super) fn read_ext(src: &[u8], ip: &mut usize) -> Result<usize, &'static str> {
    let mut n = 0usize;
    loop {
        let b = *src
            .get(*ip)
            .ok_or("truncated input: length extension runs past the end")?;
        *ip += 1;
        n += b as usize;
        if b != 255 {
            return Ok(n);
        }
    }
}

/// Where a fast loop stopped.
pub(super) enum Stop {
    /// At the sequence starting at input `ip` and output `op`, for the checked loop.
    At(usize, usize),
    /// After a literal run that ended at output `op >= want`, before the end of the input.
    Want(usize),
}

/// Decodes a block with the safe fast loop followed by the checked tail, stopping after the
/// first literal run that ends at or past `want` output bytes (`usize::MAX`: the whole block).
pub(super) fn decompress_prefix(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    let stop = fast_loop(src, dst, want)?;
    finish(stop, src, dst, want)
}

/// Where a fast loop stopped, turned into the result: done at `want`, or the checked
/// tail from the sequence the loop left.
pub(super) fn finish(
    stop: Stop,
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    match stop {
        Stop::Want(op) => Ok(Decoded {
            len: op,
            whole: false,
        }),
        Stop::At(ip, op) => decode_checked(src, dst, ip, op, want),
    }
}

/// Copies a match of `ml` bytes from `op - offset` to `op` with LZ77 semantics (the source
/// may overlap the bytes being written). Caller checked `offset <= op` and `op + ml <= len`.
#[inline(always)]
pub(super) fn copy_match_exact(dst: &mut [u8], op: usize, offset: usize, ml: usize) {
    let m = op - offset;
    if offset >= ml {
        dst.copy_within(m..m + ml, op);
    } else if offset == 1 {
        let v = dst[m];
        dst[op..op + ml].fill(v);
    } else {
        // The result is periodic with period `offset`; copy whole periods, doubling the
        // copied span each time (the source never overlaps the destination of one copy).
        let mut done = 0;
        while done < ml {
            let n = (offset + done).min(ml - done);
            dst.copy_within(m..m + n, op + done);
            done += n;
        }
    }
}

/// Fully checked sequence loop from input position `ip` and output position `op` to the end
/// of the block, or to the first literal run that ends at or past `want` before it.
pub(super) fn decode_checked(
    src: &[u8],
    dst: &mut [u8],
    mut ip: usize,
    mut op: usize,
    want: usize,
) -> Result<Decoded, &'static str> {
    loop {
        let token = *src.get(ip).ok_or("truncated input: expected a token")?;
        ip += 1;
        let mut lit = (token >> 4) as usize;
        if lit == 15 {
            lit += read_ext(src, &mut ip)?;
        }
        if lit > src.len() - ip {
            return Err("literal run past the end of the input");
        }
        if lit > dst.len() - op {
            return Err("literal run past the end of the output");
        }
        dst[op..op + lit].copy_from_slice(&src[ip..ip + lit]);
        ip += lit;
        op += lit;
        if ip == src.len() || op >= want {
            return Ok(Decoded {
                len: op,
                whole: ip == src.len(),
            });
        }
        let Some(&[lo, hi]) = src.get(ip..ip + 2) else {
            return Err("truncated input: expected a 2-byte match offset");
        };
        ip += 2;
        let offset = u16::from_le_bytes([lo, hi]) as usize;
        if offset == 0 {
            return Err("match offset 0");
        }
        if offset > op {
            return Err("match offset points before the start of the output");
        }
        let mut ml = (token & 15) as usize;
        if ml == 15 {
            ml += read_ext(src, &mut ip)?;
        }
        ml += MIN_MATCH;
        if ml > dst.len() - op {
            return Err("match past the end of the output");
        }
        copy_match_exact(dst, op, offset, ml);
        op += ml;
    }
}

/// Writes `ml` bytes of an overlapping match with `offset < 8` at `op`, possibly writing up to
/// 15 bytes past `op + ml` (caller guarantees `op + ml + 16 <= dst.len()`).
#[inline(always)]
fn copy_short_offset_wild(dst: &mut [u8], op: usize, offset: usize, ml: usize) {
    let m = op - offset;
    let v: u64 = match offset {
        1 => u64::from(dst[m]) * 0x0101_0101_0101_0101,
        2 => u64::from(u16::from_le_bytes([dst[m], dst[m + 1]])) * 0x0001_0001_0001_0001,
        4 => {
            u64::from(u32::from_le_bytes([
                dst[m],
                dst[m + 1],
                dst[m + 2],
                dst[m + 3],
            ])) * 0x0000_0001_0000_0001
        }
        _ => {
            // 3, 5, 6, 7: byte-by-byte for the first 8 bytes, then the period is a multiple of
            // `offset` that is at least 8, so 8-byte copies never read unwritten bytes.
            for i in 0..8 {
                dst[op + i] = dst[m + i];
            }
            let period = offset * 8usize.div_ceil(offset);
            let mut i = 8;
            while i < ml {
                dst.copy_within(op + i - period..op + i - period + 8, op + i);
                i += 8;
            }
            return;
        }
    };
    let mut pat = [0u8; 16];
    pat[..8].copy_from_slice(&v.to_le_bytes());
    pat[8..].copy_from_slice(&v.to_le_bytes());
    let mut i = 0;
    while i < ml {
        dst[op + i..op + i + 16].copy_from_slice(&pat);
        i += 16;
    }
}

/// The safe fast loop: decodes sequences while both buffers have comfortable margins, using
/// fixed-size (wild) copies that may write past the current sequence's end. Returns the
/// positions of the first sequence it did not decode, for `decode_checked` to finish, or
/// where a literal run reached `want`.
fn fast_loop(src: &[u8], dst: &mut [u8], want: usize) -> Result<Stop, &'static str> {
    let (mut ip, mut op) = (0usize, 0usize);
    let in_limit = src.len().saturating_sub(FAST_IN_MARGIN);
    let out_limit = dst.len().saturating_sub(FAST_OUT_MARGIN);
    while ip < in_limit && op < out_limit {
        let (seq_ip, seq_op) = (ip, op);
        let token = src[ip];
        ip += 1;
        let mut lit = (token >> 4) as usize;
        if lit < 15 {
            dst[op..op + 16].copy_from_slice(&src[ip..ip + 16]);
        } else {
            lit += read_ext(src, &mut ip)?;
            if lit + 16 > src.len() - ip || lit + 32 > dst.len() - op {
                return Ok(Stop::At(seq_ip, seq_op));
            }
            dst[op..op + lit].copy_from_slice(&src[ip..ip + lit]);
        }
        ip += lit;
        op += lit;
        if ip + 16 > src.len() {
            return Ok(Stop::At(seq_ip, seq_op));
        }
        if op >= want {
            return Ok(Stop::Want(op));
        }
        let offset = u16::from_le_bytes([src[ip], src[ip + 1]]) as usize;
        ip += 2;
        if offset == 0 {
            return Err("match offset 0");
        }
        if offset > op {
            return Err("match offset points before the start of the output");
        }
        let mut ml = (token & 15) as usize;
        if ml == 15 {
            ml += read_ext(src, &mut ip)?;
        }
        ml += MIN_MATCH;
        if ml + 32 > dst.len() - op {
            return Ok(Stop::At(seq_ip, seq_op));
        }
        let m = op - offset;
        if offset >= 16 {
            let mut i = 0;
            while i < ml {
                dst.copy_within(m + i..m + i + 16, op + i);
                i += 16;
            }
        } else if offset >= 8 {
            let mut i = 0;
            while i < ml {
                dst.copy_within(m + i..m + i + 8, op + i);
                i += 8;
            }
        } else {
            copy_short_offset_wild(dst, op, offset, ml);
        }
        op += ml;
    }
    Ok(Stop::At(ip, op))
}
