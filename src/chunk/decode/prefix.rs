//! Prefix cuts of sequential streams: how much of an LZ4 or BloscLZ stream to
//! decode for its first `want` output bytes.
//!
//! Both formats end a stream with a literal run, and a decoder stops when the
//! input ends right after one. So a stream cut right after any literal run is
//! itself a valid stream that decodes to a prefix of the full output. The
//! scanners below walk the instruction headers (no data is copied) and return the
//! cut after the first literal run that ends at or past `want`, or `None` when
//! that is the whole stream or the headers are malformed (the caller then decodes
//! the whole stream, whose decoder reports any defect).

use crate::codec::{FORMAT_BLOSCLZ, FORMAT_LZ4};

/// Input length to decode from `src` (a stream of `format`) for at least its first
/// `want` output bytes; `None` to decode it whole.
pub(super) fn cut(format: u8, src: &[u8], want: usize) -> Option<usize> {
    match format {
        FORMAT_LZ4 => lz4(src, want),
        FORMAT_BLOSCLZ => blosclz(src, want),
        _ => None,
    }
}

/// Reads a 255-continued length extension at `*ip`.
fn ext(src: &[u8], ip: &mut usize) -> Option<usize> {
    let mut n = 0usize;
    loop {
        let b = *src.get(*ip)?;
        *ip += 1;
        n = n.checked_add(usize::from(b))?;
        if b != 255 {
            return Some(n);
        }
    }
}

/// LZ4 block: `token (lit:4 | match-4:4) [lit ext] literals offset:u16 [match ext]`.
fn lz4(src: &[u8], want: usize) -> Option<usize> {
    let (mut ip, mut op) = (0usize, 0usize);
    loop {
        let token = *src.get(ip)?;
        ip += 1;
        let mut lit = usize::from(token >> 4);
        if lit == 15 {
            lit = lit.checked_add(ext(src, &mut ip)?)?;
        }
        ip = ip.checked_add(lit)?;
        op = op.checked_add(lit)?;
        if ip >= src.len() {
            return None;
        }
        if op >= want {
            return Some(ip);
        }
        ip += 2;
        let mut ml = usize::from(token & 15);
        if ml == 15 {
            ml = ml.checked_add(ext(src, &mut ip)?)?;
        }
        op = op.checked_add(ml + 4)?;
    }
}

/// BloscLZ: a control byte `c` (the first one's low 5 bits) is either a literal
/// run of `c + 1` bytes (`c < 32`) or a match of `(c >> 5) + 2` bytes (7 means
/// 255-continued) with a distance byte (two more when the distance is far).
fn blosclz(src: &[u8], want: usize) -> Option<usize> {
    let mut ctrl = usize::from(*src.first()? & 31);
    let (mut ip, mut op) = (1usize, 0usize);
    loop {
        if ctrl < 32 {
            ip = ip.checked_add(ctrl + 1)?;
            op = op.checked_add(ctrl + 1)?;
            if ip >= src.len() {
                return None;
            }
            if op >= want {
                return Some(ip);
            }
        } else {
            let mut len = (ctrl >> 5) + 2;
            if len == 9 {
                len = len.checked_add(ext(src, &mut ip)?)?;
            }
            let lo = *src.get(ip)?;
            ip += 1;
            if ctrl & 31 == 31 && lo == 255 {
                ip += 2;
            }
            op = op.checked_add(len)?;
        }
        ctrl = usize::from(*src.get(ip)?);
        ip += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use proptest::prelude::*;

    /// Compressible bytes: runs, repeats at various distances and noise.
    fn data(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            let r = next();
            match r % 4 {
                0 => v.extend(std::iter::repeat_n(r as u8, (r >> 8) as usize % 300)),
                1 if v.len() > 16 => {
                    let d = 1 + (r >> 8) as usize % v.len().min(70_000);
                    for _ in 0..(r >> 32) as usize % 200 {
                        v.push(v[v.len() - d]);
                    }
                }
                _ => v.extend((0..(r >> 16) as usize % 40).map(|_| next() as u8)),
            }
        }
        v.truncate(n);
        v
    }

    fn check(format: u8, codec_id: u8, clevel: u8, src: &[u8]) -> Result<(), TestCaseError> {
        let mut packed = vec![0u8; src.len() + 64];
        let c = codec::compress_stream(codec_id, clevel, src, &mut packed);
        if c == 0 {
            return Ok(());
        }
        let packed = &packed[..c];
        for want in [
            0,
            1,
            src.len() / 3,
            src.len() / 2,
            src.len().saturating_sub(1),
            src.len(),
        ] {
            let Some(k) = cut(format, packed, want) else {
                continue;
            };
            prop_assert!(k < packed.len());
            let mut out = vec![0u8; src.len()];
            let n = codec::decompress_stream(format, &packed[..k], &mut out)
                .map_err(|e| TestCaseError::fail(format!("cut at {k}: {e}")))?;
            prop_assert!(n >= want && n <= src.len(), "n {} want {}", n, want);
            prop_assert_eq!(&out[..n], &src[..n]);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn cut_streams_decode_to_prefixes(seed in any::<u64>(), n in 1usize..100_000, clevel in 1u8..=9) {
            let src = data(seed, n);
            check(FORMAT_LZ4, codec::id::LZ4, clevel, &src)?;
            check(FORMAT_LZ4, codec::id::LZ4HC, clevel, &src)?;
            check(FORMAT_BLOSCLZ, codec::id::BLOSCLZ, clevel, &src)?;
        }

        #[test]
        fn garbage_never_panics(src in prop::collection::vec(any::<u8>(), 0..300), want in 0usize..2000) {
            let _ = cut(FORMAT_LZ4, &src, want);
            let _ = cut(FORMAT_BLOSCLZ, &src, want);
        }
    }
}
