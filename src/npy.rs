//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): C-order,
//! little-endian arrays of the [`DType`]s b2frame knows, and conversions
//! between `.npy` and b2nd arrays or packed tensors.
//!
//! ```text
//! \x93NUMPY | major | minor | header_len (u16 LE for 1.0, u32 LE for 2.0/3.0)
//! | "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }" spaces '\n'
//! | data                      (magic + lengths + header padded to 64 bytes)
//! ```
//!
//! [`write()`] produces the same bytes as `numpy.save`. Headers are untrusted:
//! their length is capped and the data size is checked against the input
//! before anything is allocated.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Part, Result};
use crate::tensor::{DType, NdArray, NdMeta, PackedTensor, Tensor, TensorWriter};
use crate::CParams;

/// The six magic bytes of a `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Largest header accepted (numpy's own default limit is 10 000 bytes).
pub const MAX_HEADER_LEN: usize = 1 << 20;

const ALIGN: usize = 64;

fn corrupt(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(Part::NdMeta, offset, format!("npy: {}", detail.into()))
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NpyHeader {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// Element type.
    pub dtype: DType,
    /// Shape (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Parses the header at the start of `bytes` (the data need not follow).
    ///
    /// # Errors
    /// `Corrupt` (part `NdMeta`) for malformed headers; `Unsupported` for Fortran order,
    /// big-endian, object and structured dtypes.
    pub fn parse(bytes: &[u8]) -> Result<NpyHeader> {
        if bytes.get(..6) != Some(MAGIC.as_slice()) {
            return Err(corrupt(0, "missing the \\x93NUMPY magic"));
        }
        let (major, minor) = match bytes.get(6..8) {
            Some(&[a, b]) => (a, b),
            _ => return Err(corrupt(6, "truncated before the version")),
        };
        let (len, start) = match major {
            1 => match bytes.get(8..10) {
                Some(&[a, b]) => (usize::from(u16::from_le_bytes([a, b])), 10usize),
                _ => return Err(corrupt(8, "truncated header length")),
            },
            2 | 3 => match bytes.get(8..12) {
                Some(&[a, b, c, d]) => (u32::from_le_bytes([a, b, c, d]) as usize, 12),
                _ => return Err(corrupt(8, "truncated header length")),
            },
            _ => {
                return Err(Error::unsupported(
                    "npy version",
                    format!("{major}.{minor}, expected 1.0, 2.0 or 3.0"),
                ))
            }
        };
        if len > MAX_HEADER_LEN {
            return Err(corrupt(
                8,
                format!("header of {len} bytes, at most {MAX_HEADER_LEN} accepted"),
            ));
        }
        let end = start
            .checked_add(len)
            .ok_or_else(|| corrupt(8, "header length overflows"))?;
        let raw = bytes.get(start..end).ok_or_else(|| {
            corrupt(
                start,
                format!(
                    "header of {len} bytes, only {} follow",
                    bytes.len().saturating_sub(start)
                ),
            )
        })?;
        let text = if major == 3 {
            std::str::from_utf8(raw).map_err(|_| corrupt(start, "header is not utf-8"))?
        } else if raw.is_ascii() {
            std::str::from_utf8(raw).map_err(|_| corrupt(start, "header is not ascii"))?
        } else {
            return Err(Error::unsupported(
                "npy header",
                "non-ascii latin-1 header (structured field names)",
            ));
        };
        let (descr, fortran, shape) = parse_dict(text).map_err(|e| corrupt(start, e))?;
        let descr = match descr {
            Descr::Str(s) => s,
            Descr::Other => {
                return Err(Error::unsupported(
                    "dtype",
                    "structured dtype (a descr list) in the npy header: only plain numpy dtypes are supported",
                ))
            }
        };
        if fortran {
            return Err(Error::unsupported(
                "npy layout",
                "fortran_order True: only C-order arrays are supported (save np.ascontiguousarray(a))",
            ));
        }
        let dtype = DType::parse(&descr).map_err(|e| match e {
            Error::InvalidArgument { reason, .. } => corrupt(start, reason),
            other => other,
        })?;
        Ok(NpyHeader {
            version: (major, minor),
            dtype,
            shape,
            data_offset: end,
        })
    }

    /// Bytes of data the header announces, or `None` on overflow.
    pub fn nbytes(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(self.dtype.itemsize(), |acc, &s| acc.checked_mul(s))
    }

    /// The data bytes of `file` (which starts with this header), checked for length.
    ///
    /// # Errors
    /// `Corrupt` when the file is shorter than the header says (longer files are
    /// accepted, as numpy does).
    pub fn data<'a>(&self, file: &'a [u8]) -> Result<&'a [u8]> {
        let n = self
            .nbytes()
            .ok_or_else(|| corrupt(0, format!("shape {:?} overflows", self.shape)))?;
        self.data_offset
            .checked_add(n)
            .and_then(|end| file.get(self.data_offset..end))
            .ok_or_else(|| {
                corrupt(
                    self.data_offset,
                    format!(
                        "{n} data bytes announced, {} present",
                        file.len().saturating_sub(self.data_offset)
                    ),
                )
            })
    }
}

/// The `descr` value: a string, or something else (a structured descr list).
enum Descr {
    Str(String),
    Other,
}

/// Parses numpy's header dict literal.
fn parse_dict(text: &str) -> std::result::Result<(Descr, bool, Vec<usize>), String> {
    let mut p = Lit {
        s: text.as_bytes(),
        pos: 0,
    };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        match key.as_str() {
            "descr" => {
                descr = Some(if p.peek() == Some(b'\'') || p.peek() == Some(b'"') {
                    Descr::Str(p.string()?)
                } else {
                    p.skip_value()?;
                    Descr::Other
                })
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected key {other:?}")),
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.pos != p.s.len() {
        return Err("bytes after the header dict".into());
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err("header misses 'descr', 'fortran_order' or 'shape'".into()),
    }
}

/// A cursor over a python literal.
struct Lit<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lit<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.bump();
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected {:?} at header byte {}",
                char::from(c),
                self.pos
            ))
        }
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        let q = self.peek().filter(|&c| c == b'\'' || c == b'"');
        let q = q.ok_or_else(|| format!("expected a string at header byte {}", self.pos))?;
        self.bump();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == q {
                let v = self.s.get(start..self.pos).unwrap_or_default();
                self.bump();
                return String::from_utf8(v.to_vec()).map_err(|_| "string is not utf-8".into());
            }
            if c == b'\\' {
                return Err("escaped characters in header strings are not supported".into());
            }
            self.bump();
        }
        Err("unterminated string in header".into())
    }
    fn boolean(&mut self) -> std::result::Result<bool, String> {
        let rest = self.s.get(self.pos..).unwrap_or_default();
        if rest.starts_with(b"True") {
            self.pos = self.pos.saturating_add(4);
            Ok(true)
        } else if rest.starts_with(b"False") {
            self.pos = self.pos.saturating_add(5);
            Ok(false)
        } else {
            Err("fortran_order is not True or False".into())
        }
    }
    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut out = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                return Ok(out);
            }
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            let digits = self.s.get(start..self.pos).unwrap_or_default();
            let v = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<usize>().ok())
                .ok_or_else(|| format!("bad shape entry at header byte {start}"))?;
            out.push(v);
            if out.len() > 64 {
                return Err("more than 64 dimensions".into());
            }
            self.eat(b'L');
            self.ws();
            if !self.eat(b',') {
                self.ws();
                self.expect(b')')?;
                return Ok(out);
            }
        }
    }
    /// Skips a bracketed value (a structured descr list).
    fn skip_value(&mut self) -> std::result::Result<(), String> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'[' | b'(' => depth = depth.saturating_add(1),
                b']' | b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return Ok(());
                    }
                }
                b'\'' | b'"' => {
                    self.string()?;
                    continue;
                }
                _ => {}
            }
            self.bump();
        }
        Err("unterminated descr".into())
    }
}

/// numpy's `repr` of a shape tuple.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [one] => format!("({one},)"),
        many => format!(
            "({})",
            many.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The header bytes `numpy.save` writes for `shape` and `dtype` (version 1.0 when it
/// fits, else 2.0), magic included.
pub fn header(shape: &[usize], dtype: &DType) -> Vec<u8> {
    let sr = shape_repr(shape);
    let mut h = format!("{{'descr': '{dtype}', 'fortran_order': False, 'shape': {sr}, }}");
    // numpy leaves room to grow the first axis in place (GROWTH_AXIS_MAX_DIGITS = 21).
    if let Some(first) = shape.first() {
        let grow = 21usize.saturating_sub(first.to_string().len());
        h.extend(std::iter::repeat_n(' ', grow));
    }
    let hlen = h.len().saturating_add(1);
    let pad_for =
        |prefix: usize| ALIGN.saturating_sub(prefix.saturating_add(hlen).rem_euclid(ALIGN));
    let (major, pad) = if hlen.saturating_add(pad_for(10)) <= usize::from(u16::MAX) {
        (1u8, pad_for(10))
    } else {
        (2, pad_for(12))
    };
    let total = hlen.saturating_add(pad);
    let mut out = Vec::with_capacity(total.saturating_add(12));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
    out.extend_from_slice(h.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

fn check_len(len: usize, shape: &[usize], dtype: &DType) -> Result<()> {
    let want = shape
        .iter()
        .try_fold(dtype.itemsize(), |acc, &s| acc.checked_mul(s));
    if want != Some(len) {
        return Err(Error::invalid(
            "data",
            format!("{len} bytes do not hold shape {shape:?} of {dtype}"),
        ));
    }
    Ok(())
}

/// Writes a `.npy` stream (the bytes `numpy.save` writes) for a C-order array.
///
/// # Errors
/// `InvalidArgument` when `data` does not match `shape` and `dtype`; `Io`.
pub fn write_to<W: Write>(mut w: W, data: &[u8], shape: &[usize], dtype: &DType) -> Result<()> {
    check_len(data.len(), shape, dtype)?;
    w.write_all(&header(shape, dtype))?;
    w.write_all(data)?;
    Ok(())
}

/// The `.npy` bytes of a C-order array.
///
/// # Errors
/// `InvalidArgument` when `data` does not match `shape` and `dtype`.
pub fn write(data: &[u8], shape: &[usize], dtype: &DType) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_to(&mut out, data, shape, dtype)?;
    Ok(out)
}

/// Parses `.npy` bytes into a tensor (the data are copied).
///
/// # Errors
/// As [`NpyHeader::parse`] and [`NpyHeader::data`].
pub fn read(bytes: &[u8]) -> Result<Tensor> {
    let h = NpyHeader::parse(bytes)?;
    let data = h.data(bytes)?.to_vec();
    Tensor::new(data, h.shape, h.dtype)
}

/// Reads a `.npy` file.
///
/// # Errors
/// `Io`, and as [`read`].
pub fn load(path: impl AsRef<Path>) -> Result<Tensor> {
    read(&std::fs::read(path)?)
}

/// Writes a `.npy` file.
///
/// # Errors
/// `Io`, and as [`write()`].
pub fn save(path: impl AsRef<Path>, data: &[u8], shape: &[usize], dtype: &DType) -> Result<()> {
    let f = std::io::BufWriter::new(std::fs::File::create(path)?);
    write_to(f, data, shape, dtype)
}

/// Builds a b2nd array from `.npy` bytes with the given chunk and block shapes.
///
/// # Errors
/// As [`read`]-style header errors, [`NdMeta::new`] and [`NdArray::from_c_order`].
pub fn to_ndarray(
    npy: &[u8],
    chunks: &[usize],
    blocks: &[usize],
    cparams: CParams,
) -> Result<NdArray> {
    let h = NpyHeader::parse(npy)?;
    let data = h.data(npy)?;
    let meta = NdMeta::new(&h.shape, chunks, blocks, h.dtype)?;
    NdArray::from_c_order(data, meta, cparams)
}

/// The `.npy` bytes of a b2nd array.
///
/// # Errors
/// Decoding errors.
pub fn from_ndarray(a: &NdArray) -> Result<Vec<u8>> {
    write(&a.to_vec()?, a.shape(), a.dtype())
}

/// Packs `.npy` bytes as a tensor (see [`crate::tensor::pack_tensor`]); `chunksize` 0
/// picks python's default.
///
/// # Errors
/// As [`NpyHeader::parse`] and [`TensorWriter`].
pub fn to_packed_tensor(npy: &[u8], cparams: CParams, chunksize: usize) -> Result<PackedTensor> {
    let h = NpyHeader::parse(npy)?;
    let data = h.data(npy)?;
    let mut w = TensorWriter::new(&h.shape, h.dtype, cparams, chunksize)?;
    w.write(data)?;
    w.finish()
}

/// Writes a packed tensor as `.npy` bytes to `w`, chunk by chunk (the whole array is
/// never held in memory).
///
/// # Errors
/// Decoding errors; `Io`.
pub fn write_packed_tensor<W: Write>(mut w: W, t: &PackedTensor) -> Result<()> {
    w.write_all(&header(t.shape(), t.dtype()))?;
    let sc = t.schunk();
    let ts = sc.typesize();
    let step = sc.chunksize().checked_div(ts).unwrap_or(1).max(1);
    let n = sc.nitems();
    let mut buf = Vec::new();
    let mut at = 0usize;
    while at < n {
        let end = at.saturating_add(step).min(n);
        buf.resize(end.saturating_sub(at).saturating_mul(ts), 0);
        sc.read_into(at..end, &mut buf)?;
        w.write_all(&buf)?;
        at = end;
    }
    Ok(())
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
    fn header_matches_numpy_layout() {
        let h = header(&[3, 4], &DType::Float64);
        assert_eq!(h.len() % 64, 0);
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
        assert!(text.ends_with(" \n"));
        assert_eq!(header(&[], &DType::Bool)[10..].len() % 64, 54);
        let p = NpyHeader::parse(&h).unwrap();
        assert_eq!(
            (p.shape, p.dtype, p.data_offset),
            (vec![3, 4], DType::Float64, h.len())
        );
    }

    /// `f` with the first `from` replaced by `to` (same length).
    fn replace(f: &[u8], from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let at = f
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap();
        let mut g = f.to_vec();
        g[at..at + to.len()].copy_from_slice(to.as_bytes());
        g
    }

    #[test]
    fn round_trip_and_errors() {
        let data: Vec<u8> = (0..24u8).collect();
        let f = write(&data, &[2, 3], &DType::Int32).unwrap();
        let t = read(&f).unwrap();
        assert_eq!((t.data, t.shape), (data.clone(), vec![2, 3]));
        assert!(read(&f[..f.len() - 1]).is_err());
        assert!(write(&data, &[2, 4], &DType::Int32).is_err());
        let fortran = replace(&f, "False", "True ");
        assert!(matches!(read(&fortran), Err(Error::Unsupported { .. })));
        let be = replace(&f, "<i4", ">i4");
        assert!(read(&be).unwrap_err().to_string().contains("big-endian"));
        let obj = replace(&f, "<i4", "|O8");
        assert!(read(&obj).unwrap_err().to_string().contains("object"));
        // A huge shape is refused before any allocation.
        let huge = replace(&f, "(2, 3), }          ", "(99999999999, 3), }");
        assert!(read(&huge).is_err());
        for cut in 0..f.len() {
            let _ = read(&f[..cut]);
        }
        for i in 0..f.len() {
            let mut g = f.clone();
            g[i] ^= 0x55;
            let _ = read(&g);
        }
    }

    #[test]
    fn structured_descr_is_unsupported() {
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let d =
            "{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, 'shape': (2,), }\n";
        h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        h.extend_from_slice(d.as_bytes());
        let e = NpyHeader::parse(&h).unwrap_err().to_string();
        assert!(e.contains("structured"), "{e}");
    }
}
