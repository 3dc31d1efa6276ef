//! Unsafe LZ4 block decoder kernel: the safe decoder's fast loop (`decode.rs`) on raw
//! pointers, without per-copy bounds checks. Near the buffer ends it hands over to the safe
//! checked loop, so every byte it touches is proven in bounds by the loop guards below.
//!
//! Invariants cited by the `SAFETY` comments (positions are indices into `src` / `dst`):
//!
//! 1. At the top of each iteration `ip + IN_MARGIN <= src.len()` and
//!    `op + OUT_MARGIN <= dst.len()` (the loop condition), so 16 bytes can be read at
//!    `ip + 1` and written at `op`.
//! 2. Before copying a long literal run, `ip + lit + 32 <= src.len()` and
//!    `op + lit + 64 <= dst.len()` were checked.
//! 3. After the literals `ip + 16 <= src.len()`: a short run (< 15) ends before
//!    `in_limit + 15 = src.len() - 17`, a long one was checked by (2).
//! 4. Before copying a match, `1 <= offset <= op` was checked, and `op + ml + 32 <=
//!    dst.len()`: checked for a long match; for a short one (ml <= 18) it follows from (1) and
//!    (2) (op + lit + 64 <= dst.len() after a long run, op + 14 + 18 + 32 < op + 64 after a
//!    short one); copies advance in 8-, 16- or 32-byte steps while below `ml`, so they end
//!    before `op + ml + 32`.
//! 5. `src` and `dst` never overlap (`&[u8]` and `&mut [u8]`); within `dst`, a copy of `k`
//!    bytes from `m` to `op` with `op - m >= k` has disjoint ranges. All `dst` accesses in
//!    the loop go through the one pointer `d`.
#![allow(unsafe_code)]

use super::decode::{finish, read_ext, Stop, MIN_MATCH};
use super::Decoded;
use std::ptr;

/// See invariant (1).
const IN_MARGIN: usize = 32;
/// See invariant (1).
const OUT_MARGIN: usize = 64;

/// Decodes a block up to the first literal run that ends at or past `want` (see
/// `decode::decompress_prefix`): pointer fast loop, then the safe checked tail.
pub(super) fn decompress_prefix(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<Decoded, &'static str> {
    let stop = fast_loop(src, dst, want)?;
    finish(stop, src, dst, want)
}

/// Copies 16 bytes.
///
/// # Safety
/// `s..s+16` readable, `d..d+16` writable, the ranges disjoint.
#[inline(always)]
unsafe fn copy16(s: *const u8, d: *mut u8) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { ptr::copy_nonoverlapping(s, d, 16) }
}

/// Copies 32 bytes.
///
/// # Safety
/// `s..s+32` readable, `d..d+32` writable, the ranges disjoint.
#[inline(always)]
unsafe fn copy32(s: *const u8, d: *mut u8) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { ptr::copy_nonoverlapping(s, d, 32) }
}

/// Copies 8 bytes.
///
/// # Safety
/// `s..s+8` readable, `d..d+8` writable, the ranges disjoint.
#[inline(always)]
unsafe fn copy8(s: *const u8, d: *mut u8) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { ptr::copy_nonoverlapping(s, d, 8) }
}

/// Whether the CPU has AVX2 (checked once).
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX2.get_or_init(|| std::is_x86_feature_detected!("avx2"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Pointer fast loop; returns the positions of the first sequence it left to the safe tail.
fn fast_loop(src: &[u8], dst: &mut [u8], want: usize) -> Result<Stop, &'static str> {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 is available (runtime detection above).
        return unsafe { fast_loop_avx2(src, dst, want) };
    }
    fast_loop_base(src, dst, want)
}

/// [`fast_loop_impl`] compiled for AVX2 (32-byte copies become single moves).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn fast_loop_avx2(src: &[u8], dst: &mut [u8], want: usize) -> Result<Stop, &'static str> {
    fast_loop_impl(src, dst, want)
}

/// [`fast_loop_impl`] for the baseline target.
#[inline(never)]
fn fast_loop_base(src: &[u8], dst: &mut [u8], want: usize) -> Result<Stop, &'static str> {
    fast_loop_impl(src, dst, want)
}

/// The pointer fast loop proper (see the module invariants).
#[inline(always)]
fn fast_loop_impl(src: &[u8], dst: &mut [u8], want: usize) -> Result<Stop, &'static str> {
    let (ilen, olen) = (src.len(), dst.len());
    if ilen < IN_MARGIN || olen < OUT_MARGIN {
        return Ok(Stop::At(0, 0));
    }
    let (in_limit, out_limit) = (ilen - IN_MARGIN, olen - OUT_MARGIN);
    let s = src.as_ptr();
    let d = dst.as_mut_ptr();
    let (mut ip, mut op) = (0usize, 0usize);
    while ip < in_limit && op < out_limit {
        let (seq_ip, seq_op) = (ip, op);
        // SAFETY: (1) ip < src.len().
        let token = unsafe { *s.add(ip) };
        ip += 1;
        let mut lit = (token >> 4) as usize;
        if lit < 15 {
            // SAFETY: (1) ip + 16 <= src.len(), op + 16 <= dst.len(); (5) disjoint buffers.
            unsafe { copy16(s.add(ip), d.add(op)) };
        } else {
            lit += read_ext(src, &mut ip)?;
            if lit + 32 > ilen - ip || lit + 64 > olen - op {
                return Ok(Stop::At(seq_ip, seq_op));
            }
            if lit <= 64 {
                let mut i = 0;
                while i < lit {
                    // SAFETY: (2) i < lit so ip + i + 32 <= src.len() and op + i + 32 <=
                    // dst.len(); (5) disjoint buffers.
                    unsafe { copy32(s.add(ip + i), d.add(op + i)) };
                    i += 32;
                }
            } else {
                // SAFETY: (2) ip + lit <= src.len(), op + lit <= dst.len(); (5) disjoint.
                unsafe { ptr::copy_nonoverlapping(s.add(ip), d.add(op), lit) };
            }
        }
        ip += lit;
        op += lit;
        if op >= want {
            // (3): ip + 16 <= src.len(), so the input goes on past this literal run.
            return Ok(Stop::Want(op));
        }
        // SAFETY: (3) ip + 2 <= src.len().
        let offset = unsafe { u16::from_le_bytes([*s.add(ip), *s.add(ip + 1)]) } as usize;
        ip += 2;
        if offset.wrapping_sub(1) >= op {
            return Err(if offset == 0 {
                "match offset 0"
            } else {
                "match offset points before the start of the output"
            });
        }
        let mut ml = (token & 15) as usize + MIN_MATCH;
        if ml == 15 + MIN_MATCH {
            ml += read_ext(src, &mut ip)?;
            if ml + 32 > olen - op {
                return Ok(Stop::At(seq_ip, seq_op));
            }
        }
        let m = op - offset;
        if ml <= 14 + MIN_MATCH && offset >= 8 {
            // Short match: three 8-byte copies (small loads forward from recent stores better
            // than 16/32-byte ones, which matters on text-like data full of short matches).
            // SAFETY: (4) offset >= 8 keeps each 8-byte pair disjoint; op + 24 <= op + ml + 32
            // <= dst.len().
            unsafe {
                copy8(d.add(m), d.add(op));
                copy8(d.add(m + 8), d.add(op + 8));
                copy8(d.add(m + 16), d.add(op + 16));
            }
        } else if offset >= 32 {
            let mut i = 0;
            while i < ml {
                // SAFETY: (4) m + i + 32 <= op + i (offset >= 32, disjoint), op + i + 32 <=
                // dst.len().
                unsafe { copy32(d.add(m + i), d.add(op + i)) };
                i += 32;
            }
        } else if offset >= 16 {
            // SAFETY: (4) offset >= 16 keeps each 16-byte pair disjoint; op + 32 <= dst.len().
            unsafe {
                copy16(d.add(m), d.add(op));
                copy16(d.add(m + 16), d.add(op + 16));
            }
            let mut i = 32;
            while i < ml {
                // SAFETY: (4) m + i + 16 <= op + i (offset >= 16, disjoint), op + i + 16 <=
                // dst.len().
                unsafe { copy16(d.add(m + i), d.add(op + i)) };
                i += 16;
            }
        } else if offset >= 8 {
            let mut i = 0;
            while i < ml {
                // SAFETY: (4) m + i + 8 <= op + i (offset >= 8, disjoint), op + i + 8 <=
                // dst.len().
                unsafe { copy8(d.add(m + i), d.add(op + i)) };
                i += 8;
            }
        } else {
            // SAFETY: (4) 1 <= offset < 8, offset <= op, op + ml + 32 <= dst.len().
            unsafe { copy_short_offset(d, op, offset, ml) };
        }
        op += ml;
    }
    Ok(Stop::At(ip, op))
}

/// Writes an overlapping match with `offset < 8` by pattern expansion, writing up to 31 bytes
/// past `op + ml`.
///
/// # Safety
/// `d` is valid for reads and writes of `op + ml + 32` bytes, and `1 <= offset <= min(op, 7)`.
#[inline(always)]
unsafe fn copy_short_offset(d: *mut u8, op: usize, offset: usize, ml: usize) {
    let m = op - offset;
    // SAFETY: m + 4 <= op + 3 < op + ml + 16 (bytes m..m+offset are the decoded pattern; the
    // rest are initialised bytes of dst whose value is not used).
    let head = unsafe { ptr::read_unaligned(d.add(m) as *const u32) }.to_le();
    let v: u64 = match offset {
        1 => u64::from(head & 0xFF) * 0x0101_0101_0101_0101,
        2 => u64::from(head & 0xFFFF) * 0x0001_0001_0001_0001,
        4 => u64::from(head) * 0x0000_0001_0000_0001,
        _ => {
            // 3, 5, 6, 7: the first 8 bytes one at a time (each reads an earlier byte), then
            // 8-byte copies from `period` (a multiple of offset, 8..=14) back.
            for i in 0..8 {
                // SAFETY: m + i < op + i < op + 8 <= op + ml + 16.
                unsafe { *d.add(op + i) = *d.add(m + i) };
            }
            let period = offset * 8usize.div_ceil(offset);
            let mut i = 8;
            while i < ml {
                // SAFETY: period >= 8 keeps the 8-byte ranges disjoint; op + i - period >=
                // op + 8 - period > m - 0 >= 0 since period < offset + 8; op + i + 8 <=
                // op + ml + 16.
                unsafe { copy8(d.add(op + i - period), d.add(op + i)) };
                i += 8;
            }
            return;
        }
    };
    let pat = [v.to_le(); 4];
    let mut i = 0;
    while i < ml {
        // SAFETY: i < ml so op + i + 32 <= op + ml + 32; `pat` is a local.
        unsafe { ptr::write_unaligned(d.add(op + i) as *mut [u64; 4], pat) };
        i += 32;
    }
}
