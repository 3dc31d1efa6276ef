//! TRUNC_PREC (filter id 4, spec §B.5): lossy zeroing of low mantissa bits of
//! f32/f64 elements. Runs on encode only; decoding has nothing to undo.

/// Zeroes the low mantissa bits of every 4- or 8-byte element of `src` into
/// `dst`. `prec` is the filter meta byte read as `i8`: `p >= 0` keeps `p`
/// mantissa bits, `p < 0` drops `-p` bits. A partial trailing element is
/// copied unchanged (C leaves it unwritten).
///
/// # Errors
/// Typesize other than 4 or 8; `|prec|` larger than the mantissa (23 / 52
/// bits); or a request that would zero the whole mantissa.
///
/// # Panics
/// If `src.len() != dst.len()` (a caller bug).
pub(crate) fn trunc_prec(
    prec: i8,
    typesize: usize,
    src: &[u8],
    dst: &mut [u8],
) -> Result<(), &'static str> {
    super::check_lengths(src, dst);
    let mantissa: u32 = match typesize {
        4 => 23,
        8 => 52,
        _ => return Err("trunc_prec typesize must be 4 or 8"),
    };
    let p = i32::from(prec);
    if p.unsigned_abs() > mantissa {
        return Err("trunc_prec precision larger than the mantissa");
    }
    let zeroed = if p >= 0 {
        mantissa - p as u32
    } else {
        p.unsigned_abs()
    };
    if zeroed >= mantissa {
        return Err("trunc_prec would zero the whole mantissa");
    }
    let whole = src.len() / typesize * typesize;
    if typesize == 4 {
        let mask = !((1u32 << zeroed) - 1);
        for (d, s) in dst[..whole]
            .chunks_exact_mut(4)
            .zip(src[..whole].chunks_exact(4))
        {
            let v = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) & mask;
            d.copy_from_slice(&v.to_le_bytes());
        }
    } else {
        let mask = !((1u64 << zeroed) - 1);
        for (d, s) in dst[..whole]
            .chunks_exact_mut(8)
            .zip(src[..whole].chunks_exact(8))
        {
            let mut b = [0u8; 8];
            b.copy_from_slice(s);
            d.copy_from_slice(&(u64::from_le_bytes(b) & mask).to_le_bytes());
        }
    }
    dst[whole..].copy_from_slice(&src[whole..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_keeps_requested_bits() {
        let x = std::f32::consts::PI;
        let src: Vec<u8> = [x, -x]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .chain([7u8, 8])
            .collect();
        let mut dst = vec![0; src.len()];
        trunc_prec(10, 4, &src, &mut dst).unwrap();
        let got = u32::from_le_bytes(dst[0..4].try_into().unwrap());
        assert_eq!(got, x.to_bits() & !((1 << 13) - 1));
        assert_eq!(dst[8..], [7, 8]);
        trunc_prec(-3, 4, &src, &mut dst).unwrap();
        let got = u32::from_le_bytes(dst[4..8].try_into().unwrap());
        assert_eq!(got, (-x).to_bits() & !7);
    }

    #[test]
    fn f64_masks_low_bits() {
        let src = 1.0f64.to_bits().wrapping_add(0xFFFF).to_le_bytes();
        let mut dst = [0u8; 8];
        trunc_prec(-8, 8, &src, &mut dst).unwrap();
        assert_eq!(u64::from_le_bytes(dst), 1.0f64.to_bits() + 0xFF00);
    }

    #[test]
    fn rejects_bad_parameters() {
        let mut d = [0u8; 8];
        assert!(trunc_prec(5, 2, &[0; 8], &mut d).is_err());
        assert!(trunc_prec(24, 4, &[0; 8], &mut d).is_err());
        assert!(trunc_prec(0, 4, &[0; 8], &mut d).is_err());
        assert!(trunc_prec(-23, 4, &[0; 8], &mut d).is_err());
        assert!(trunc_prec(-128, 8, &[0; 8], &mut d).is_err());
        assert!(trunc_prec(23, 4, &[0; 8], &mut d).is_ok());
        assert!(trunc_prec(52, 8, &[0; 8], &mut d).is_ok());
        assert!(trunc_prec(-51, 8, &[0; 8], &mut d).is_ok());
    }
}
