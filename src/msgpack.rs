//! A small msgpack value model, encoder and decoder, matching python-blosc2's
//! use of msgpack (spec §F): `msgpack.packb(obj, use_bin_type=True)` bytes are
//! reproduced exactly (smallest encodings for ints, lengths and containers),
//! and tuples follow the `["__tuple__", item, …]` convention.
//!
//! The decoder reads untrusted bytes: nesting is limited to [`MAX_DEPTH`],
//! every length is checked against the remaining input before anything is
//! allocated, and it never panics.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
// Consumers (tensor metadata, `info`) use parts of this API as they land.
#![allow(dead_code)]

use crate::error::{Error, Part, Result};

/// Deepest nesting of arrays/maps the decoder accepts.
pub(crate) const MAX_DEPTH: usize = 64;

/// The marker string python-blosc2 puts first in an array that stands for a tuple.
pub(crate) const TUPLE_MARKER: &str = "__tuple__";

/// One msgpack value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `nil` (Python `None`).
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer (negative values; non-negative ones encode the same as [`Value::UInt`]).
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float 32.
    F32(f32),
    /// A float 64 (Python `float`).
    F64(f64),
    /// A UTF-8 string.
    Str(String),
    /// Binary data (Python `bytes` with `use_bin_type=True`).
    Bin(Vec<u8>),
    /// An array (Python `list`).
    Array(Vec<Value>),
    /// A map, pairs in order (Python `dict`).
    Map(Vec<(Value, Value)>),
    /// An extension value: type and data.
    Ext(i8, Vec<u8>),
}

impl Value {
    /// A string value.
    pub(crate) fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// An integer value (stored as `UInt` when non-negative, as msgpack does).
    pub(crate) fn int(v: i64) -> Value {
        if v >= 0 {
            Value::UInt(v.unsigned_abs())
        } else {
            Value::Int(v)
        }
    }

    /// A tuple in python-blosc2's convention: `["__tuple__", items…]`.
    pub(crate) fn tuple(items: impl IntoIterator<Item = Value>) -> Value {
        let mut v = vec![Value::str(TUPLE_MARKER)];
        v.extend(items);
        Value::Array(v)
    }

    /// The items of a tuple written with python-blosc2's convention.
    pub(crate) fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) => match v.split_first() {
                Some((Value::Str(s), rest)) if s == TUPLE_MARKER => Some(rest),
                _ => None,
            },
            _ => None,
        }
    }

    /// The items of an array or of a tuple.
    pub(crate) fn as_seq(&self) -> Option<&[Value]> {
        self.as_tuple().or(match self {
            Value::Array(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The value as an `i64`, if it is an integer that fits.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) => Some(v),
            Value::UInt(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a `&str`, if it is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a string key in a map.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Encodes the value as python's `msgpack.packb(obj, use_bin_type=True)` would.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of the value to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Nil => out.push(0xc0),
            Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::UInt(v) => encode_uint(*v, out),
            Value::Int(v) => {
                if *v >= 0 {
                    encode_uint(v.unsigned_abs(), out)
                } else {
                    encode_neg(*v, out)
                }
            }
            Value::F32(f) => {
                out.push(0xca);
                out.extend_from_slice(&f.to_be_bytes());
            }
            Value::F64(f) => {
                out.push(0xcb);
                out.extend_from_slice(&f.to_be_bytes());
            }
            Value::Str(s) => {
                encode_len(s.len(), Some((0xa0, 32)), [0xd9, 0xda, 0xdb], out);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Bin(b) => {
                encode_len(b.len(), None, [0xc4, 0xc5, 0xc6], out);
                out.extend_from_slice(b);
            }
            Value::Array(items) => {
                encode_container_len(items.len(), 0x90, [0xdc, 0xdd], out);
                for item in items {
                    item.encode_into(out);
                }
            }
            Value::Map(pairs) => {
                encode_container_len(pairs.len(), 0x80, [0xde, 0xdf], out);
                for (k, v) in pairs {
                    k.encode_into(out);
                    v.encode_into(out);
                }
            }
            Value::Ext(ty, data) => {
                let fixed = match data.len() {
                    1 => Some(0xd4),
                    2 => Some(0xd5),
                    4 => Some(0xd6),
                    8 => Some(0xd7),
                    16 => Some(0xd8),
                    _ => None,
                };
                match fixed {
                    Some(marker) => out.push(marker),
                    None => encode_len(data.len(), None, [0xc7, 0xc8, 0xc9], out),
                }
                out.push(ty.to_be_bytes()[0]);
                out.extend_from_slice(data);
            }
        }
    }

    /// Decodes exactly one value that must span all of `bytes`.
    ///
    /// # Errors
    /// `Corrupt` (part `Msgpack`) for truncated, malformed, too deep or trailing input.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Value> {
        let mut r = Reader { buf: bytes, pos: 0 };
        let v = r.value(0)?;
        if r.pos != bytes.len() {
            return Err(corrupt(
                r.pos,
                format!(
                    "{} trailing bytes after the value",
                    bytes.len().saturating_sub(r.pos)
                ),
            ));
        }
        Ok(v)
    }
}

fn encode_uint(v: u64, out: &mut Vec<u8>) {
    if v < 0x80 {
        out.push(v as u8);
    } else if v <= u64::from(u8::MAX) {
        out.extend_from_slice(&[0xcc, v as u8]);
    } else if v <= u64::from(u16::MAX) {
        out.push(0xcd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= u64::from(u32::MAX) {
        out.push(0xce);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn encode_neg(v: i64, out: &mut Vec<u8>) {
    if v >= -32 {
        out.push(v as i8 as u8);
    } else if v >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Writes a str/bin/ext length: fix form (`(base, limit)`) when given, then 8/16/32-bit.
fn encode_len(len: usize, fix: Option<(u8, usize)>, markers: [u8; 3], out: &mut Vec<u8>) {
    match fix {
        Some((base, limit)) if len < limit => out.push(base | len as u8),
        _ => {
            if len <= usize::from(u8::MAX) {
                out.extend_from_slice(&[markers[0], len as u8]);
            } else if len <= usize::from(u16::MAX) {
                out.push(markers[1]);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(markers[2]);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
    }
}

fn encode_container_len(len: usize, fix: u8, markers: [u8; 2], out: &mut Vec<u8>) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(markers[0]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(markers[1]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// `2^(m - base)` for a marker `m` inside a family starting at `base`.
fn pow2(m: u8, base: u8) -> usize {
    1usize
        .checked_shl(u32::from(m.wrapping_sub(base)))
        .unwrap_or(0)
}

fn corrupt(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupt(Part::Msgpack, offset, detail)
}

/// A cursor over untrusted msgpack bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                corrupt(
                    self.pos,
                    format!("{n} bytes needed, {} left", self.remaining()),
                )
            })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| corrupt(self.pos, "out of bounds"))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        let s = self.take(1)?;
        s.first()
            .copied()
            .ok_or_else(|| corrupt(self.pos, "truncated"))
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        s.try_into().map_err(|_| corrupt(self.pos, "truncated"))
    }

    fn len(&mut self, width: usize) -> Result<usize> {
        Ok(match width {
            1 => usize::from(self.u8()?),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    fn bytes(&mut self, len: usize) -> Result<Vec<u8>> {
        Ok(self.take(len)?.to_vec())
    }

    fn string(&mut self, len: usize) -> Result<Value> {
        let at = self.pos;
        let b = self.take(len)?;
        let s =
            std::str::from_utf8(b).map_err(|e| corrupt(at, format!("string is not utf-8: {e}")))?;
        Ok(Value::Str(s.to_owned()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value> {
        // Every element needs at least one byte: check before allocating.
        if n > self.remaining() {
            return Err(corrupt(
                self.pos,
                format!(
                    "array of {n} items but only {} bytes left",
                    self.remaining()
                ),
            ));
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.value(depth.saturating_add(1))?);
        }
        Ok(Value::Array(v))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value> {
        if n > self.remaining() / 2 {
            return Err(corrupt(
                self.pos,
                format!("map of {n} pairs but only {} bytes left", self.remaining()),
            ));
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.value(depth.saturating_add(1))?;
            let val = self.value(depth.saturating_add(1))?;
            v.push((k, val));
        }
        Ok(Value::Map(v))
    }

    fn ext(&mut self, len: usize) -> Result<Value> {
        let ty = i8::from_be_bytes([self.u8()?]);
        Ok(Value::Ext(ty, self.bytes(len)?))
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth >= MAX_DEPTH {
            return Err(corrupt(
                self.pos,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
        }
        let at = self.pos;
        let m = self.u8()?;
        Ok(match m {
            0x00..=0x7f => Value::UInt(u64::from(m)),
            0x80..=0x8f => self.map(usize::from(m & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(m & 0x0f), depth)?,
            0xa0..=0xbf => self.string(usize::from(m & 0x1f))?,
            0xc0 => Value::Nil,
            0xc1 => return Err(corrupt(at, "marker 0xc1 is never used")),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(pow2(m, 0xc4))?;
                Value::Bin(self.bytes(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len(pow2(m, 0xc7))?;
                self.ext(n)?
            }
            0xca => Value::F32(f32::from_be_bytes(self.be()?)),
            0xcb => Value::F64(f64::from_be_bytes(self.be()?)),
            0xcc => Value::UInt(u64::from(self.u8()?)),
            0xcd => Value::UInt(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => Value::UInt(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => Value::UInt(u64::from_be_bytes(self.be()?)),
            0xd0 => Value::int(i64::from(i8::from_be_bytes(self.be()?))),
            0xd1 => Value::int(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Value::int(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Value::int(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => self.ext(pow2(m, 0xd4))?,
            0xd9..=0xdb => {
                let n = self.len(pow2(m, 0xd9))?;
                self.string(n)?
            }
            0xdc | 0xdd => {
                let n = self.len(if m == 0xdc { 2 } else { 4 })?;
                self.array(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.len(if m == 0xde { 2 } else { 4 })?;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::Int(i64::from(i8::from_be_bytes([m]))),
        })
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

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn ints_use_smallest_encoding() {
        let cases: &[(i64, &str)] = &[
            (0, "00"),
            (127, "7f"),
            (128, "cc80"),
            (255, "ccff"),
            (256, "cd0100"),
            (65535, "cdffff"),
            (65536, "ce00010000"),
            (1 << 32, "cf0000000100000000"),
            (-1, "ff"),
            (-32, "e0"),
            (-33, "d0df"),
            (-128, "d080"),
            (-129, "d1ff7f"),
            (-32769, "d2ffff7fff"),
            (i64::MIN, "d38000000000000000"),
        ];
        for (v, h) in cases {
            assert_eq!(hex(&Value::int(*v).encode()), *h, "{v}");
            assert_eq!(hex(&Value::Int(*v).encode()), *h, "{v}");
            assert_eq!(
                Value::decode(&Value::int(*v).encode()).unwrap().as_i64(),
                Some(*v)
            );
        }
    }

    #[test]
    fn tuple_convention_matches_python_blosc2() {
        // ("numpy", (300, 250), "<f8") from golden f03.
        let v = Value::tuple([
            Value::str("numpy"),
            Value::tuple([Value::int(300), Value::int(250)]),
            Value::str("<f8"),
        ]);
        let expected = "94a95f5f7475706c655f5fa56e756d707993a95f5f7475706c655f5fcd012cccfaa33c6638";
        assert_eq!(hex(&v.encode()), expected);
        let back = Value::decode(&v.encode()).unwrap();
        assert_eq!(back, v);
        let items = back.as_tuple().unwrap();
        assert_eq!(items[0].as_str(), Some("numpy"));
        assert_eq!(items[1].as_tuple().unwrap()[1].as_i64(), Some(250));
    }

    #[test]
    fn strings_bins_containers_and_ext() {
        let long = "x".repeat(40);
        assert_eq!(hex(&Value::str("ab").encode()), "a26162");
        assert_eq!(&Value::str(long.clone()).encode()[..2], &[0xd9, 40]);
        assert_eq!(&Value::str("y".repeat(300)).encode()[..3], &[0xda, 1, 44]);
        assert_eq!(hex(&Value::Bin(vec![1, 2]).encode()), "c4020102");
        let arr = Value::Array((0..300).map(Value::int).collect());
        assert_eq!(&arr.encode()[..3], &[0xdc, 1, 44]);
        let map = Value::Map(vec![
            (Value::str("a"), Value::int(1)),
            (Value::str("b"), Value::str("text")),
        ]);
        assert_eq!(hex(&map.encode()), "82a16101a162a474657874");
        assert_eq!(hex(&Value::Ext(42, vec![7]).encode()), "d42a07");
        assert_eq!(hex(&Value::Ext(43, vec![0; 3]).encode()), "c7032b000000");
        assert_eq!(hex(&Value::F64(1.5).encode()), "cb3ff8000000000000");
        assert_eq!(hex(&Value::Nil.encode()), "c0");
        for v in [
            arr,
            map,
            Value::Ext(-1, vec![1; 12]),
            Value::F32(2.5),
            Value::Bool(true),
        ] {
            assert_eq!(Value::decode(&v.encode()).unwrap(), v);
        }
    }

    #[test]
    fn decoder_rejects_bad_input_without_panicking() {
        assert!(Value::decode(&[]).is_err());
        assert!(Value::decode(&[0xc1]).is_err());
        assert!(Value::decode(&[0x01, 0x02]).is_err());
        assert!(Value::decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Value::decode(&[0xdf, 0xff, 0xff, 0xff, 0xff, 0]).is_err());
        assert!(Value::decode(&[0xc6, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Value::decode(&[0xa2, 0xff, 0xfe]).is_err());
        assert!(Value::decode(&[0x91; 100]).is_err());
        let nested = Value::tuple([
            Value::str("numpy"),
            Value::tuple([Value::int(3)]),
            Value::Bin(vec![9; 70]),
        ])
        .encode();
        for cut in 0..nested.len() {
            assert!(Value::decode(&nested[..cut]).is_err());
        }
        // Every single-byte corruption returns, error or not.
        for i in 0..nested.len() {
            for x in [0x00, 0xff, 0xdc, 0xc9] {
                let mut b = nested.clone();
                b[i] = x;
                let _ = Value::decode(&b);
            }
        }
    }
}
