//! NumPy-style element types ([`DType`]): parsing and formatting of numpy's
//! `dtype.str` (`<f8`, `|b1`, `|S5`, `<U3`, `<M8[ns]` …), item sizes, and
//! clear errors for what b2frame does not model (big-endian, object and
//! structured dtypes).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Largest item size a [`DType`] may have (Blosc2 frames store the typesize as an `i32`).
pub const MAX_ITEMSIZE: usize = i32::MAX as usize;

/// An element type of a C-order, little-endian array, as numpy names it.
///
/// ```
/// use b2frame::tensor::DType;
/// let d: DType = "<M8[ns]".parse()?;
/// assert_eq!((d.itemsize(), d.to_string()), (8, "<M8[ns]".to_string()));
/// assert_eq!(DType::Unicode(5).itemsize(), 20);
/// # Ok::<(), b2frame::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// `|b1`: one byte, 0 or 1.
    Bool,
    /// `|i1`.
    Int8,
    /// `<i2`.
    Int16,
    /// `<i4`.
    Int32,
    /// `<i8`.
    Int64,
    /// `|u1`.
    UInt8,
    /// `<u2`.
    UInt16,
    /// `<u4`.
    UInt32,
    /// `<u8`.
    UInt64,
    /// `<f2`: IEEE half precision.
    Float16,
    /// `<f4`.
    Float32,
    /// `<f8`.
    Float64,
    /// `<c8`: two `f32` (real, imaginary).
    Complex64,
    /// `<c16`: two `f64` (real, imaginary).
    Complex128,
    /// `|S<n>`: fixed-size byte strings of `n` bytes (zero padded).
    Bytes(usize),
    /// `<U<n>`: fixed-size unicode strings of `n` code points, stored as raw UCS-4 (4·n bytes).
    Unicode(usize),
    /// `|V<n>`: opaque (unstructured) void items of `n` bytes.
    Void(usize),
    /// `<M8[unit]`: datetime64, an `i64` count of `unit` since the epoch (`""` = generic unit).
    DateTime64(String),
    /// `<m8[unit]`: timedelta64, an `i64` count of `unit` (`""` = generic unit).
    TimeDelta64(String),
}

fn bad(s: &str, why: impl fmt::Display) -> Error {
    Error::invalid("dtype", format!("{s:?}: {why}"))
}

/// Whether `unit` is a numpy datetime unit, optionally with a positive multiplier (`10ms`).
fn valid_unit(unit: &str) -> bool {
    let base = unit.trim_start_matches(|c: char| c.is_ascii_digit());
    let digits = unit.len().saturating_sub(base.len());
    if digits > 0 && unit.get(..digits).is_some_and(|d| d.starts_with('0')) {
        return false;
    }
    matches!(
        base,
        "Y" | "M" | "W" | "D" | "h" | "m" | "s" | "ms" | "us" | "μs" | "ns" | "ps" | "fs" | "as"
    ) || (unit.is_empty())
}

impl DType {
    /// Parses numpy's `dtype.str` (also accepting `=` for native order and `?` for bool).
    ///
    /// # Errors
    /// `Unsupported` for big-endian multi-byte types, object (`O`) and structured dtypes;
    /// `InvalidArgument` for strings numpy would not produce or zero-sized items.
    pub fn parse(s: &str) -> Result<DType> {
        if s.starts_with('[') || s.starts_with('{') || s.starts_with('(') {
            return Err(Error::unsupported(
                "dtype",
                format!("structured dtype {s}: only plain numpy dtypes (e.g. '<f8', '|S4') are supported"),
            ));
        }
        let (order, rest) = match s.chars().next() {
            Some(c @ ('<' | '>' | '|' | '=')) => (c, s.get(1..).unwrap_or("")),
            _ => ('=', s),
        };
        if rest == "?" {
            return Ok(DType::Bool);
        }
        let mut chars = rest.chars();
        let kind = chars.next().ok_or_else(|| bad(s, "empty dtype"))?;
        let tail = chars.as_str();
        let (num, unit) = match tail.find('[') {
            Some(p) => {
                let unit = tail
                    .get(p..)
                    .and_then(|u| u.strip_prefix('['))
                    .and_then(|u| u.strip_suffix(']'))
                    .ok_or_else(|| bad(s, "unterminated datetime unit"))?;
                (tail.get(..p).unwrap_or(""), Some(unit))
            }
            None => (tail, None),
        };
        if kind == 'O' {
            return Err(Error::unsupported(
                "dtype",
                format!("{s}: object arrays hold python pointers, not data"),
            ));
        }
        let size: usize = if num.is_empty() {
            0
        } else {
            num.parse()
                .map_err(|_| bad(s, format!("item size {num:?} is not a number")))?
        };
        if unit.is_some() && kind != 'M' && kind != 'm' {
            return Err(bad(s, "only datetime64/timedelta64 take a unit"));
        }
        let dt = match (kind, size) {
            ('b', 1) => DType::Bool,
            ('i', 1) => DType::Int8,
            ('i', 2) => DType::Int16,
            ('i', 4) => DType::Int32,
            ('i', 8) => DType::Int64,
            ('u', 1) => DType::UInt8,
            ('u', 2) => DType::UInt16,
            ('u', 4) => DType::UInt32,
            ('u', 8) => DType::UInt64,
            ('f', 2) => DType::Float16,
            ('f', 4) => DType::Float32,
            ('f', 8) => DType::Float64,
            ('c', 8) => DType::Complex64,
            ('c', 16) => DType::Complex128,
            ('S' | 'a', n) if n > 0 => DType::Bytes(n),
            ('U', n) if n > 0 && n <= MAX_ITEMSIZE / 4 => DType::Unicode(n),
            ('V', n) if n > 0 => DType::Void(n),
            ('M' | 'm', 8) => {
                let unit = unit.unwrap_or("");
                if !valid_unit(unit) {
                    return Err(bad(s, format!("unknown datetime unit {unit:?}")));
                }
                if kind == 'M' {
                    DType::DateTime64(unit.to_owned())
                } else {
                    DType::TimeDelta64(unit.to_owned())
                }
            }
            ('f', 12 | 16) | ('c', 24 | 32) => {
                return Err(Error::unsupported(
                    "dtype",
                    format!("{s}: extended precision (long double) has no portable layout"),
                ))
            }
            _ => return Err(bad(s, "not a numpy dtype b2frame knows")),
        };
        if dt.itemsize() > MAX_ITEMSIZE {
            return Err(bad(s, format!("item size above {MAX_ITEMSIZE}")));
        }
        if order == '>' && dt.itemsize() > 1 && !matches!(dt, DType::Bytes(_) | DType::Void(_)) {
            return Err(Error::unsupported(
                "dtype",
                format!("{s}: big-endian data, only little-endian is supported"),
            ));
        }
        Ok(dt)
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => 1,
            DType::Int16 | DType::UInt16 | DType::Float16 => 2,
            DType::Int32 | DType::UInt32 | DType::Float32 => 4,
            DType::Int64
            | DType::UInt64
            | DType::Float64
            | DType::Complex64
            | DType::DateTime64(_)
            | DType::TimeDelta64(_) => 8,
            DType::Complex128 => 16,
            DType::Bytes(n) | DType::Void(n) => *n,
            DType::Unicode(n) => n.saturating_mul(4),
        }
    }

    /// The numpy kind character (`b`, `i`, `u`, `f`, `c`, `S`, `U`, `V`, `M`, `m`).
    pub fn kind(&self) -> char {
        match self {
            DType::Bool => 'b',
            DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64 => 'i',
            DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => 'u',
            DType::Float16 | DType::Float32 | DType::Float64 => 'f',
            DType::Complex64 | DType::Complex128 => 'c',
            DType::Bytes(_) => 'S',
            DType::Unicode(_) => 'U',
            DType::Void(_) => 'V',
            DType::DateTime64(_) => 'M',
            DType::TimeDelta64(_) => 'm',
        }
    }

    /// The element size numpy prints in `dtype.str` (characters for `U`).
    fn str_size(&self) -> usize {
        match self {
            DType::Unicode(n) => *n,
            other => other.itemsize(),
        }
    }
}

impl fmt::Display for DType {
    /// Formats as numpy's `dtype.str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = match self {
            DType::Bool | DType::Int8 | DType::UInt8 | DType::Bytes(_) | DType::Void(_) => '|',
            _ => '<',
        };
        write!(f, "{order}{}{}", self.kind(), self.str_size())?;
        match self {
            DType::DateTime64(u) | DType::TimeDelta64(u) if !u.is_empty() => write!(f, "[{u}]"),
            _ => Ok(()),
        }
    }
}

impl FromStr for DType {
    type Err = Error;
    fn from_str(s: &str) -> Result<DType> {
        DType::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    #[test]
    fn numpy_strings_round_trip() {
        for (s, size) in [
            ("|b1", 1),
            ("|i1", 1),
            ("<i2", 2),
            ("<i4", 4),
            ("<i8", 8),
            ("|u1", 1),
            ("<u2", 2),
            ("<u4", 4),
            ("<u8", 8),
            ("<f2", 2),
            ("<f4", 4),
            ("<f8", 8),
            ("<c8", 8),
            ("<c16", 16),
            ("|S3", 3),
            ("<U2", 8),
            ("|V8", 8),
            ("<M8[s]", 8),
            ("<m8[10ms]", 8),
            ("<M8", 8),
        ] {
            let d = DType::parse(s).unwrap();
            assert_eq!((d.to_string().as_str(), d.itemsize()), (s, size), "{s}");
        }
        assert_eq!(DType::parse("?").unwrap(), DType::Bool);
        assert_eq!(DType::parse("=f8").unwrap(), DType::Float64);
        assert_eq!(DType::parse(">i1").unwrap(), DType::Int8);
        assert_eq!(DType::parse(">S4").unwrap(), DType::Bytes(4));
    }

    #[test]
    fn unsupported_dtypes_say_why() {
        let e = DType::parse(">f8").unwrap_err().to_string();
        assert!(e.contains("big-endian"), "{e}");
        let e = DType::parse("[('a', '<i4'), ('b', '<f8')]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("structured"), "{e}");
        assert!(DType::parse("|O")
            .unwrap_err()
            .to_string()
            .contains("object"));
        for s in [
            "",
            "<",
            "<i3",
            "<f",
            "|S0",
            "<M8[xs]",
            "<M8[s",
            "<i4[s]",
            "<U99999999999",
        ] {
            assert!(
                matches!(DType::parse(s), Err(Error::InvalidArgument { .. })),
                "{s}"
            );
        }
    }
}
