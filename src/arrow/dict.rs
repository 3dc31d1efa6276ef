//! Dictionary building for string and binary arrays: one key per row and the
//! distinct values in order of first occurrence, or `None` as soon as the array
//! shows too many distinct values to be worth it.
//!
//! An open-addressing table keyed by the value: values of at most 7 bytes are
//! packed with their length into one `u64` (compared as integers, no `memcmp`),
//! longer ones are hashed with xxh3 and compared as slices on a hash match.

use xxhash_rust::xxh3::xxh3_64;

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
