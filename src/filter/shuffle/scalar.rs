//! Scalar byte shuffle: the always-built reference implementation, also used
//! by the SIMD kernels for the elements after their last full tile.
//!
//! Elements are processed in groups of 8 so that each stream receives one
//! 8-byte store per group; element sizes 2, 4, 8 and 16 get monomorphised
//! copies so the inner loops fully unroll.

/// Byte-shuffles `src` into `dst` (spec §B.2). `dst.len() == src.len()`.
pub(crate) fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    shuffle_from(typesize, 0, src, dst);
}

/// Inverse of [`shuffle`]. `dst.len() == src.len()`.
pub(crate) fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    unshuffle_from(typesize, 0, src, dst);
}

/// Shuffles elements `start..ne` (earlier ones are done by the caller) and
/// copies the trailing partial element.
pub(crate) fn shuffle_from(s: usize, start: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    if s <= 1 {
        dst[start..].copy_from_slice(&src[start..]);
        return;
    }
    let ne = n / s;
    match s {
        2 => fwd::<2>(start, ne, src, dst),
        4 => fwd::<4>(start, ne, src, dst),
        8 => fwd::<8>(start, ne, src, dst),
        16 => fwd::<16>(start, ne, src, dst),
        _ => fwd_dyn(s, start, ne, src, dst),
    }
    dst[ne * s..].copy_from_slice(&src[ne * s..]);
}

/// Unshuffles elements `start..ne` and copies the trailing partial element.
pub(crate) fn unshuffle_from(s: usize, start: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    if s <= 1 {
        dst[start..].copy_from_slice(&src[start..]);
        return;
    }
    let ne = n / s;
    match s {
        2 => inv::<2>(start, ne, src, dst),
        4 => inv::<4>(start, ne, src, dst),
        8 => inv::<8>(start, ne, src, dst),
        16 => inv::<16>(start, ne, src, dst),
        _ => inv_dyn(s, start, ne, src, dst),
    }
    dst[ne * s..].copy_from_slice(&src[ne * s..]);
}

/// Forward transposition for a compile-time element size `S`.
fn fwd<const S: usize>(start: usize, ne: usize, src: &[u8], dst: &mut [u8]) {
    let mut i = start;
    while i + 8 <= ne {
        let group = &src[i * S..(i + 8) * S];
        for j in 0..S {
            let mut w = [0u8; 8];
            for (t, b) in w.iter_mut().enumerate() {
                *b = group[t * S + j];
            }
            dst[j * ne + i..j * ne + i + 8].copy_from_slice(&w);
        }
        i += 8;
    }
    for i in i..ne {
        for j in 0..S {
            dst[j * ne + i] = src[i * S + j];
        }
    }
}

/// Forward transposition for any element size.
fn fwd_dyn(s: usize, start: usize, ne: usize, src: &[u8], dst: &mut [u8]) {
    let mut i = start;
    while i + 8 <= ne {
        let group = &src[i * s..(i + 8) * s];
        for j in 0..s {
            let mut w = [0u8; 8];
            for (t, b) in w.iter_mut().enumerate() {
                *b = group[t * s + j];
            }
            dst[j * ne + i..j * ne + i + 8].copy_from_slice(&w);
        }
        i += 8;
    }
    for i in i..ne {
        for j in 0..s {
            dst[j * ne + i] = src[i * s + j];
        }
    }
}

/// Inverse transposition for a compile-time element size `S`.
fn inv<const S: usize>(start: usize, ne: usize, src: &[u8], dst: &mut [u8]) {
    let mut i = start;
    while i + 8 <= ne {
        let group = &mut dst[i * S..(i + 8) * S];
        for j in 0..S {
            let w = &src[j * ne + i..j * ne + i + 8];
            for (t, &b) in w.iter().enumerate() {
                group[t * S + j] = b;
            }
        }
        i += 8;
    }
    for i in i..ne {
        for j in 0..S {
            dst[i * S + j] = src[j * ne + i];
        }
    }
}

/// Inverse transposition for any element size.
fn inv_dyn(s: usize, start: usize, ne: usize, src: &[u8], dst: &mut [u8]) {
    let mut i = start;
    while i + 8 <= ne {
        let group = &mut dst[i * s..(i + 8) * s];
        for j in 0..s {
            let w = &src[j * ne + i..j * ne + i + 8];
            for (t, &b) in w.iter().enumerate() {
                group[t * s + j] = b;
            }
        }
        i += 8;
    }
    for i in i..ne {
        for j in 0..s {
            dst[i * s + j] = src[j * ne + i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts2_splits_even_and_odd_bytes() {
        let src: Vec<u8> = (0..21).collect();
        let mut dst = vec![0; 21];
        shuffle(2, &src, &mut dst);
        let want: Vec<u8> = (0..20)
            .step_by(2)
            .chain((1..20).step_by(2))
            .chain([20])
            .collect();
        assert_eq!(dst, want);
    }

    #[test]
    fn shuffle_from_leaves_earlier_elements() {
        let src: Vec<u8> = (0..48).collect();
        let mut full = vec![0; 48];
        shuffle(3, &src, &mut full);
        let mut part = full.clone();
        for j in 0..3 {
            for i in 8..16 {
                part[j * 16 + i] = 0;
            }
        }
        shuffle_from(3, 8, &src, &mut part);
        assert_eq!(part, full);
        let mut back = vec![0; 48];
        unshuffle(3, &full, &mut back);
        assert_eq!(back, src);
    }
}
