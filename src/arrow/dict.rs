//! Dictionaries of string and binary arrays, both ways.
//!
//! Encoding ([`build`]): one key per row and the distinct values in order of
//! first occurrence, or `None` as soon as the array shows too many distinct
//! values to be worth it. An open-addressing table keyed by the value: values
//! of at most 7 bytes are packed with their length into one `u64` (compared as
//! integers, no `memcmp`), longer ones are hashed with xxh3 and compared as
//! slices on a hash match.
//!
//! Decoding ([`gather`]): the rows' keys, as stored (1, 2 or 4 little-endian
//! bytes each), looked up in the decoded dictionary array and expanded into
//! Arrow offsets + bytes in one pass over the keys, without widening them first.

use arrow_array::OffsetSizeTrait;
use arrow_buffer::{Buffer, NullBuffer};
use arrow_data::ArrayData;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Part, Result};

/// Empty slot marker.
const EMPTY: u32 = u32::MAX;

/// Keys and distinct values of an array.
pub(crate) struct Dictionary<'a> {
    /// One key per row (0 for null rows).
    pub(crate) keys: Vec<u32>,
    /// The distinct values, in order of first occurrence.
    pub(crate) values: Vec<&'a [u8]>,
}

/// The interning table: slots hold indices into `values`/`tags`.
struct Table<'a> {
    slots: Vec<u32>,
    mask: usize,
    /// Per distinct value: its packed form (short values) or hash (long ones),
    /// with bit 63 telling which.
    tags: Vec<u64>,
    values: Vec<&'a [u8]>,
}

const LONG: u64 = 1 << 63;

/// The tag of `buf[a..b]`: short values packed with their length (bits
/// 56..59), long values their xxh3 hash with bit 63 set. Short values are read
/// as one 8-byte load from `buf` when it extends far enough.
#[inline]
fn tag(buf: &[u8], a: usize, b: usize) -> u64 {
    let len = b - a;
    if len <= 7 {
        let w = match buf.get(a..a + 8) {
            Some(s) => u64::from_le_bytes(s.try_into().unwrap_or([0; 8])),
            None => {
                let mut w = [0u8; 8];
                w[..len].copy_from_slice(&buf[a..b]);
                u64::from_le_bytes(w)
            }
        };
        (w & ((1u64 << (8 * len)) - 1)) | ((len as u64) << 56)
    } else {
        xxh3_64(&buf[a..b]) | LONG
    }
}

#[inline]
fn slot_of(tag: u64, mask: usize) -> usize {
    (tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl<'a> Table<'a> {
    fn new() -> Self {
        Table {
            slots: vec![EMPTY; 1024],
            mask: 1023,
            tags: Vec::new(),
            values: Vec::new(),
        }
    }

    /// The key of `v` (whose tag is `t`), inserting it when new (returns
    /// `(key, inserted)`).
    #[inline]
    fn intern(&mut self, v: &'a [u8], t: u64) -> (u32, bool) {
        let mut i = slot_of(t, self.mask);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                break;
            }
            let k = s as usize;
            if self.tags[k] == t && (t & LONG == 0 || self.values[k] == v) {
                return (s, false);
            }
            i = (i + 1) & self.mask;
        }
        let key = self.values.len() as u32;
        self.slots[i] = key;
        self.tags.push(t);
        self.values.push(v);
        if self.values.len() * 2 > self.slots.len() {
            self.grow();
        }
        (key, true)
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        self.mask = n - 1;
        self.slots = vec![EMPTY; n];
        for (k, &t) in self.tags.iter().enumerate() {
            let mut i = slot_of(t, self.mask);
            while self.slots[i] != EMPTY {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = k as u32;
        }
    }
}

/// Builds the dictionary of `len` rows whose value `i` is `buf[range(i)]`
/// (`range` returns `None` for a null row, and only ranges inside `buf`).
/// Gives up (`None`) when there are more than `most` distinct values, or more
/// distinct values than half of the rows seen after 16,384 rows.
pub(crate) fn build<'a>(
    buf: &'a [u8],
    len: usize,
    most: usize,
    mut range: impl FnMut(usize) -> Option<(usize, usize)>,
) -> Option<Dictionary<'a>> {
    let mut t = Table::new();
    let mut keys: Vec<u32> = Vec::with_capacity(len);
    let mut prev: (u64, u32) = (u64::MAX, 0);
    for i in 0..len {
        let Some((a, b)) = range(i) else {
            keys.push(0);
            continue;
        };
        let tg = tag(buf, a, b);
        if tg == prev.0 && tg & LONG == 0 {
            keys.push(prev.1);
            continue;
        }
        let (k, new) = t.intern(&buf[a..b], tg);
        if new && (t.values.len() > most || (i >= 16_384 && t.values.len() > i / 2)) {
            return None;
        }
        keys.push(k);
        prev = (tg, k);
    }
    Some(Dictionary {
        keys,
        values: t.values,
    })
}

/// Rows expanded from a dictionary by [`gather`].
#[derive(Debug)]
pub(crate) struct Gathered {
    /// `rows + 1` offsets of the row values in `values`: 0 first, increasing,
    /// `values.len()` last.
    pub(crate) offsets: Buffer,
    /// The row values back to back (null rows are empty).
    pub(crate) values: Buffer,
    /// Whether [`gather`] checked every dictionary value to be valid UTF-8
    /// (asked for and true). Each row's bytes are then one whole dictionary
    /// value or empty, so the values are valid UTF-8 and every offset falls on
    /// a character boundary.
    pub(crate) utf8: bool,
}

/// Row `k`'s key from its `W` little-endian bytes.
#[inline(always)]
fn key<const W: usize>(b: &[u8]) -> usize {
    match W {
        1 => usize::from(b[0]),
        2 => usize::from(u16::from_le_bytes([b[0], b[1]])),
        _ => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
    }
}

/// The largest of the `W`-byte keys `keys` (0 when there are none), in the
/// keys' own width so that the loop vectorises.
fn max_key<const W: usize>(keys: &[u8]) -> usize {
    match W {
        1 => usize::from(keys.iter().copied().max().unwrap_or(0)),
        2 => usize::from(
            keys.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .max()
                .unwrap_or(0),
        ),
        _ => keys
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .max()
            .unwrap_or(0) as usize,
    }
}

/// Expands `keys` (`width` = 1, 2 or 4 little-endian bytes per row) through
/// the string or binary array `dict` (offsets of type `O`): null rows (per
/// `nulls`, one bit per row) are empty whatever their key. With `check_utf8`,
/// also checks every dictionary value once for UTF-8 (see [`Gathered::utf8`]).
///
/// # Errors
/// `Corrupt` for a key past the dictionary or keys of another width;
/// `LimitExceeded` when the rows' bytes do not fit offsets of type `O`.
pub(crate) fn gather<O: OffsetSizeTrait>(
    dict: &ArrayData,
    width: usize,
    keys: &[u8],
    nulls: Option<&NullBuffer>,
    check_utf8: bool,
    name: &str,
) -> Result<Gathered> {
    match width {
        1 => gather_keys::<O, 1>(dict, keys, nulls, check_utf8, name),
        2 => gather_keys::<O, 2>(dict, keys, nulls, check_utf8, name),
        4 => gather_keys::<O, 4>(dict, keys, nulls, check_utf8, name),
        _ => Err(Error::corrupt(
            Part::FrameChunk,
            0,
            format!("field '{name}': dictionary keys of {width} bytes, expected 1, 2 or 4"),
        )),
    }
}

/// [`gather`] for keys of `W` bytes.
fn gather_keys<O: OffsetSizeTrait, const W: usize>(
    dict: &ArrayData,
    keys: &[u8],
    nulls: Option<&NullBuffer>,
    check_utf8: bool,
    name: &str,
) -> Result<Gathered> {
    let rows = keys.len() / W;
    let keys = &keys[..rows * W];
    let len = dict.len();
    let max = max_key::<W>(keys);
    if rows > 0 && max >= len {
        return Err(Error::corrupt(
            Part::FrameChunk,
            0,
            format!("field '{name}': dictionary key {max} but the dictionary holds {len} values"),
        ));
    }
    if nulls.is_some_and(|n| n.len() != rows) {
        return Err(Error::corrupt(
            Part::FrameChunk,
            0,
            format!(
                "field '{name}': {} validity bits for {rows} dictionary keys",
                nulls.map_or(0, NullBuffer::len)
            ),
        ));
    }
    let doffs = dict.buffer::<O>(0);
    let dvals = dict.buffers().get(1).map_or(&[][..], |b| b.as_slice());
    // One span per value, then an empty one (index `len`) standing in for null rows.
    let spans: Vec<(usize, usize)> = (0..len)
        .map(|k| (doffs[k].as_usize(), doffs[k + 1].as_usize()))
        .chain([(0, 0)])
        .collect();
    let utf8 = check_utf8
        && spans
            .iter()
            .all(|&(a, b)| std::str::from_utf8(&dvals[a..b]).is_ok());
    let lens: Vec<usize> = spans.iter().map(|(a, b)| b - a).collect();
    // Null rows count their key's length here: an upper bound, exact without nulls.
    let mut bound: usize = keys.chunks_exact(W).map(|k| lens[key::<W>(k)]).sum();
    if bound > O::MAX_OFFSET {
        bound = match nulls {
            None => bound,
            Some(nn) => keys
                .chunks_exact(W)
                .enumerate()
                .filter(|&(i, _)| nn.is_valid(i))
                .map(|(_, k)| lens[key::<W>(k)])
                .sum(),
        };
        if bound > O::MAX_OFFSET {
            return Err(Error::limit(
                "gathered dictionary values",
                bound as u64,
                O::MAX_OFFSET as u64,
            ));
        }
    }
    let longest = lens.iter().copied().max().unwrap_or(0);
    let (offsets, values) = if longest <= 8 {
        padded_gather::<O, W, 8>(dvals, &spans, keys, nulls, bound)
    } else if longest <= 16 {
        padded_gather::<O, W, 16>(dvals, &spans, keys, nulls, bound)
    } else if longest <= 32 {
        padded_gather::<O, W, 32>(dvals, &spans, keys, nulls, bound)
    } else {
        long_gather::<O, W>(dvals, &spans, keys, nulls, bound)
    };
    Ok(Gathered {
        offsets: Buffer::from_vec(offsets),
        values: Buffer::from_vec(values),
        utf8,
    })
}

/// Calls `row(key)` for each row in order with the row's key, or `empty` for
/// a null row (per `nulls`): validity bits are read 64 rows at a time and
/// select the key without a branch.
#[inline(always)]
fn for_each_row<const W: usize>(
    keys: &[u8],
    nulls: Option<&NullBuffer>,
    empty: usize,
    mut row: impl FnMut(usize),
) {
    match nulls {
        None => {
            for k in keys.chunks_exact(W) {
                row(key::<W>(k));
            }
        }
        Some(nn) => {
            let bits = nn.inner().bit_chunks();
            for (ks, mask) in keys.chunks(64 * W).zip(bits.iter_padded()) {
                for (k, j) in ks.chunks_exact(W).zip(0..) {
                    row(if (mask >> j) & 1 != 0 {
                        key::<W>(k)
                    } else {
                        empty
                    });
                }
            }
        }
    }
}

/// The gather loop for dictionaries whose values are at most `N` bytes: each
/// row appends the `N` bytes of a zero-padded copy of its value (`spans`
/// into `dvals`, the last one empty) and takes back the padding, so the copy
/// is one fixed-size move. Returns the offsets and the bytes.
///
/// Both outputs are reserved up front (`bound` is the most the rows can need)
/// and filled by appending: no zeroing pass over fresh memory.
#[inline(never)]
fn padded_gather<O: OffsetSizeTrait, const W: usize, const N: usize>(
    dvals: &[u8],
    spans: &[(usize, usize)],
    keys: &[u8],
    nulls: Option<&NullBuffer>,
    bound: usize,
) -> (Vec<O>, Vec<u8>) {
    let padded: Vec<([u8; N], usize)> = spans
        .iter()
        .map(|&(a, b)| {
            let mut p = [0u8; N];
            p[..b - a].copy_from_slice(&dvals[a..b]);
            (p, b - a)
        })
        .collect();
    let mut offsets: Vec<O> = Vec::with_capacity(keys.len() / W + 1);
    offsets.push(O::usize_as(0));
    let mut out: Vec<u8> = Vec::with_capacity(bound + N);
    for_each_row::<W>(keys, nulls, padded.len() - 1, |k| {
        let (p, l) = &padded[k];
        out.extend_from_slice(p);
        out.truncate(out.len() - (N - l));
        offsets.push(O::usize_as(out.len()));
    });
    (offsets, out)
}

/// The gather loop for dictionaries with values longer than 32 bytes: one
/// copy of each row's exact bytes (`bound` is the most the rows can need).
#[inline(never)]
fn long_gather<O: OffsetSizeTrait, const W: usize>(
    dvals: &[u8],
    spans: &[(usize, usize)],
    keys: &[u8],
    nulls: Option<&NullBuffer>,
    bound: usize,
) -> (Vec<O>, Vec<u8>) {
    let mut offsets: Vec<O> = Vec::with_capacity(keys.len() / W + 1);
    offsets.push(O::usize_as(0));
    let mut out: Vec<u8> = Vec::with_capacity(bound);
    for_each_row::<W>(keys, nulls, spans.len() - 1, |k| {
        let (a, b) = spans[k];
        out.extend_from_slice(&dvals[a..b]);
        offsets.push(O::usize_as(out.len()));
    });
    (offsets, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values joined into one buffer and their ranges.
    fn flat(rows: &[Option<&[u8]>]) -> (Vec<u8>, Vec<Option<(usize, usize)>>) {
        let mut buf = Vec::new();
        let ranges = rows
            .iter()
            .map(|r| {
                r.map(|v| {
                    buf.extend_from_slice(v);
                    (buf.len() - v.len(), buf.len())
                })
            })
            .collect();
        (buf, ranges)
    }

    /// Row `i` of `keys` (width `w`) per the definition: its dictionary
    /// value, or nothing for a null row.
    fn naive_rows(values: &[&[u8]], w: usize, keys: &[u8], valid: &[bool]) -> Vec<Vec<u8>> {
        keys.chunks_exact(w)
            .zip(valid)
            .map(|(k, &ok)| {
                let mut b = [0u8; 4];
                b[..w].copy_from_slice(k);
                if ok {
                    values[u32::from_le_bytes(b) as usize].to_vec()
                } else {
                    Vec::new()
                }
            })
            .collect()
    }

    /// The rows of a [`Gathered`] with `O` offsets.
    fn rows_of<O: OffsetSizeTrait>(g: &Gathered) -> Vec<Vec<u8>> {
        let offs: &[O] = bytemuck_offsets(&g.offsets);
        assert_eq!(offs[0].as_usize(), 0);
        assert_eq!(offs[offs.len() - 1].as_usize(), g.values.len());
        offs.windows(2)
            .map(|p| g.values[p[0].as_usize()..p[1].as_usize()].to_vec())
            .collect()
    }

    /// The offsets in `b` as a slice of `O`.
    fn bytemuck_offsets<O: OffsetSizeTrait>(b: &Buffer) -> &[O] {
        b.typed_data::<O>()
    }

    /// The dictionary array of `values` with `O` offsets (binary: no UTF-8 check).
    fn dict_array<O: OffsetSizeTrait>(values: &[&[u8]]) -> ArrayData {
        let arr = arrow_array::GenericBinaryArray::<O>::from_iter_values(values.iter());
        arrow_array::Array::into_data(arr)
    }

    /// Checks `gather` against the definition for every key width and both
    /// offset widths, with and without validity bits.
    fn check_gather(values: &[&[u8]], key_list: &[u32], valid: &[bool]) {
        let nulls = NullBuffer::from(valid.to_vec());
        for w in [1usize, 2, 4] {
            if values.len() > 1 << (8 * w.min(3)) {
                continue;
            }
            let keys: Vec<u8> = key_list
                .iter()
                .flat_map(|k| k.to_le_bytes()[..w].to_vec())
                .collect();
            let all = vec![true; key_list.len()];
            for (nn, v) in [(None, &all[..]), (Some(&nulls), valid)] {
                let want = naive_rows(values, w, &keys, v);
                let d32 = dict_array::<i32>(values);
                let g = gather::<i32>(&d32, w, &keys, nn, true, "f").unwrap();
                assert_eq!(rows_of::<i32>(&g), want, "w {w} nulls {}", nn.is_some());
                let d64 = dict_array::<i64>(values);
                let g = gather::<i64>(&d64, w, &keys, nn, false, "f").unwrap();
                assert_eq!(rows_of::<i64>(&g), want, "w {w} large");
                assert!(!g.utf8);
            }
        }
    }

    #[test]
    fn gather_expands_keys_of_every_width_and_value_length() {
        let long = "a dictionary value longer than thirty-two bytes".as_bytes();
        let sets: Vec<Vec<&[u8]>> = vec![
            vec![b"AA", b"B", b"", b"CCCCCCCC"],
            vec![b"AA", b"ninebytes", b"sixteen bytes!!!"],
            vec![b"x", b"thirty-two bytes, not one more!!"],
            vec![b"x", long, b""],
        ];
        for values in &sets {
            // 200 rows: more than three 64-row validity words, plus a partial one.
            let keys: Vec<u32> = (0..200u32)
                .map(|i| (i * 7 + i / 3) % values.len() as u32)
                .collect();
            let valid: Vec<bool> = (0..200).map(|i| i % 5 != 2 && i != 130).collect();
            check_gather(values, &keys, &valid);
            check_gather(values, &[], &[]);
        }
        // A dictionary of 300 values needs 2-byte keys.
        let many: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
        let values: Vec<&[u8]> = many.iter().map(|v| v.as_bytes()).collect();
        let keys: Vec<u32> = (0..1000u32).map(|i| (i * 31) % 300).collect();
        let valid: Vec<bool> = (0..1000).map(|i| i % 64 != 0).collect();
        check_gather(&values, &keys, &valid);
    }

    #[test]
    fn gather_checks_dictionary_utf8_once() {
        let d = dict_array::<i32>(&[b"ok", b"caf\xc3\xa9"]);
        let g = gather::<i32>(&d, 1, &[0, 1, 1], None, true, "f").unwrap();
        assert!(g.utf8);
        assert_eq!(&g.values[..], "okcaf\u{e9}caf\u{e9}".as_bytes());
        let d = dict_array::<i32>(&[b"ok", b"\xff"]);
        let g = gather::<i32>(&d, 1, &[0, 0], None, true, "f").unwrap();
        assert!(!g.utf8, "an invalid value anywhere in the dictionary");
    }

    #[test]
    fn gather_rejects_keys_past_the_dictionary() {
        let d = dict_array::<i32>(&[b"a", b"b"]);
        let err = gather::<i32>(&d, 2, &[1, 0, 2, 0], None, false, "f").unwrap_err();
        assert!(err.to_string().contains("dictionary key 2"), "{err}");
        assert!(gather::<i32>(&d, 3, &[0, 0, 0], None, false, "f").is_err());
        let nulls = NullBuffer::from(vec![true]);
        assert!(gather::<i32>(&d, 1, &[0, 1], Some(&nulls), false, "f").is_err());
    }

    proptest::proptest! {
        #[test]
        fn gather_equals_definition(
            values in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..40), 1..20),
            picks in proptest::collection::vec((0usize..1000, proptest::prelude::any::<bool>()), 0..300),
        ) {
            let values: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            let keys: Vec<u32> = picks.iter().map(|(k, _)| (k % values.len()) as u32).collect();
            let valid: Vec<bool> = picks.iter().map(|(_, v)| *v).collect();
            check_gather(&values, &keys, &valid);
        }
    }

    #[test]
    fn keys_follow_first_occurrence_and_nulls_get_zero() {
        let rows: Vec<Option<&[u8]>> = vec![
            Some(b"b"),
            None,
            Some(b"a"),
            Some(b"b"),
            Some(b"a long value of many bytes"),
            Some(b""),
            Some(b"a long value of many bytes"),
            Some(b"a\0"),
            Some(b"a"),
        ];
        let (buf, ranges) = flat(&rows);
        let d = build(&buf, rows.len(), 100, |i| ranges[i]).unwrap();
        assert_eq!(d.keys, vec![0, 0, 1, 0, 2, 3, 2, 4, 1]);
        let want: Vec<&[u8]> = vec![b"b", b"a", b"a long value of many bytes", b"", b"a\0"];
        assert_eq!(d.values, want);
    }

    #[test]
    fn many_distinct_values_give_up_and_the_table_grows() {
        let vals: Vec<String> = (0..100_000).map(|i| format!("v{}", i % 3000)).collect();
        let rows: Vec<Option<&[u8]>> = vals.iter().map(|v| Some(v.as_bytes())).collect();
        let (buf, ranges) = flat(&rows);
        let d = build(&buf, vals.len(), 25_000, |i| ranges[i]).unwrap();
        assert_eq!(d.values.len(), 3000);
        assert_eq!(d.values[d.keys[54_321] as usize], vals[54_321].as_bytes());
        let uniq: Vec<String> = (0..100_000).map(|i| format!("value number {i}")).collect();
        let rows: Vec<Option<&[u8]>> = uniq.iter().map(|v| Some(v.as_bytes())).collect();
        let (buf, ranges) = flat(&rows);
        assert!(build(&buf, uniq.len(), 25_000, |i| ranges[i]).is_none());
    }
}
