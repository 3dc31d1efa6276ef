//! Per-chunk statistics (min, max, null count for every zone of `chunk_rows`
//! rows) and the simple predicates they can prune: `column op literal`, null
//! tests, and/or.

use std::cmp::Ordering;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

/// A statistic or literal value (in JSON: a boolean, number or string).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StatValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer (also dates, times, timestamps and durations, in their units).
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string (compared bytewise).
    Str(String),
}

/// Reads what `#[serde(untagged)]` would (integers up to `i64::MAX` as `Int`),
/// without trying each variant in turn: manifests hold thousands of these.
impl<'de> Deserialize<'de> for StatValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = StatValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean, number or string")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StatValue, E> {
                Ok(StatValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<StatValue, E> {
                Ok(StatValue::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StatValue, E> {
                Ok(i64::try_from(v).map_or(StatValue::UInt(v), StatValue::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<StatValue, E> {
                Ok(StatValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<StatValue, E> {
                Ok(StatValue::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<StatValue, E> {
                Ok(StatValue::Str(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<i64> for StatValue {
    fn from(v: i64) -> Self {
        StatValue::Int(v)
    }
}
impl From<i32> for StatValue {
    fn from(v: i32) -> Self {
        StatValue::Int(v.into())
    }
}
impl From<u64> for StatValue {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(StatValue::UInt(v), StatValue::Int)
    }
}
impl From<f64> for StatValue {
    fn from(v: f64) -> Self {
        StatValue::Float(v)
    }
}
impl From<bool> for StatValue {
    fn from(v: bool) -> Self {
        StatValue::Bool(v)
    }
}
impl From<&str> for StatValue {
    fn from(v: &str) -> Self {
        StatValue::Str(v.to_string())
    }
}
impl From<String> for StatValue {
    fn from(v: String) -> Self {
        StatValue::Str(v)
    }
}

impl StatValue {
    /// Compares two values of compatible kinds (`None` for incomparable kinds or NaN).
    pub fn compare(&self, other: &StatValue) -> Option<Ordering> {
        use StatValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (UInt(a), UInt(b)) => Some(a.cmp(b)),
            (Int(a), UInt(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (UInt(a), Int(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (Str(a), Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            StatValue::Int(v) => Some(*v as f64),
            StatValue::UInt(v) => Some(*v as f64),
            StatValue::Float(v) => Some(*v),
            _ => None,
        }
    }
}

/// Statistics of one zone (the rows of one chunk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneStats {
    /// Rows in the zone.
    pub rows: u64,
    /// Nulls in the zone.
    pub nulls: u64,
    /// Smallest non-null value (`None`: unknown or all null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<StatValue>,
    /// Largest non-null value (`None`: unknown or all null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<StatValue>,
}

/// Longest string kept as a statistic; zones with longer strings get no min/max.
const MAX_STAT_STR: usize = 256;

fn prim<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    conv: impl Fn(T::Native) -> Option<StatValue>,
) -> (Option<StatValue>, Option<StatValue>)
where
    T::Native: PartialOrd,
{
    let mut min: Option<T::Native> = None;
    let mut max: Option<T::Native> = None;
    let mut unordered = false;
    let mut see = |v: T::Native| {
        if v.partial_cmp(&v).is_none() {
            unordered = true; // NaN: the range is unknown
            return;
        }
        if min.is_none_or(|m| v < m) {
            min = Some(v);
        }
        if max.is_none_or(|m| v > m) {
            max = Some(v);
        }
    };
    // A tight loop over a run of values with a running min/max (branch-free
    // enough to vectorise for integers); `None` when a NaN is seen.
    fn fold<N: Copy + PartialOrd>(vals: &[N]) -> Option<Option<(N, N)>> {
        let Some(&first) = vals.first() else {
            return Some(None);
        };
        let (mut lo, mut hi) = (first, first);
        let mut nan = false;
        for &v in vals {
            nan |= v.partial_cmp(&v).is_none();
            lo = if v < lo { v } else { lo };
            hi = if v > hi { v } else { hi };
        }
        (!nan).then_some(Some((lo, hi)))
    }
    let vals = a.values();
    match a.nulls().filter(|n| n.null_count() > 0) {
        None => match fold(vals) {
            None => return (None, None),
            Some(Some((lo, hi))) => {
                see(lo);
                see(hi);
            }
            Some(None) => {}
        },
        Some(n) => {
            // 64 rows at a time: all-valid words take the tight loop.
            let chunks = n.inner().bit_chunks();
            let mut at = 0;
            for word in chunks.iter() {
                let run = &vals[at..at + 64];
                if word == u64::MAX {
                    match fold(run) {
                        None => return (None, None),
                        Some(Some((lo, hi))) => {
                            see(lo);
                            see(hi);
                        }
                        Some(None) => {}
                    }
                } else {
                    for (j, &v) in run.iter().enumerate() {
                        if word >> j & 1 == 1 {
                            see(v);
                        }
                    }
                }
                at += 64;
            }
            let word = chunks.remainder_bits();
            for (j, &v) in vals[at..].iter().enumerate() {
                if word >> j & 1 == 1 {
                    see(v);
                }
            }
        }
    }
    if unordered {
        return (None, None);
    }
    (min.and_then(&conv), max.and_then(&conv))
}

/// Min/max of one array (`None` when unknown or the type has no statistics).
fn min_max(a: &dyn Array) -> (Option<StatValue>, Option<StatValue>) {
    macro_rules! int {
        ($t:ty) => {
            prim(a.as_primitive::<$t>(), |v| Some(StatValue::from(v as i64)))
        };
    }
    match a.data_type() {
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => prim(a.as_primitive::<UInt64Type>(), |v| Some(StatValue::from(v))),
        DataType::Float32 => prim(a.as_primitive::<Float32Type>(), |v| {
            Some(StatValue::Float(f64::from(v)))
        }),
        DataType::Float64 => prim(a.as_primitive::<Float64Type>(), |v| {
            Some(StatValue::Float(v))
        }),
        DataType::Date32 => int!(Date32Type),
        DataType::Date64 => int!(Date64Type),
        DataType::Time32(arrow_schema::TimeUnit::Second) => int!(Time32SecondType),
        DataType::Time32(_) => int!(Time32MillisecondType),
        DataType::Time64(arrow_schema::TimeUnit::Microsecond) => int!(Time64MicrosecondType),
        DataType::Time64(_) => int!(Time64NanosecondType),
        DataType::Timestamp(..) | DataType::Duration(_) => {
            let d = a.to_data();
            let p = PrimitiveArray::<Int64Type>::from(
                d.into_builder()
                    .data_type(DataType::Int64)
                    .build()
                    .ok()
                    .unwrap_or_else(|| arrow_data::ArrayData::new_empty(&DataType::Int64)),
            );
            prim(&p, |v| Some(StatValue::Int(v)))
        }
        DataType::Boolean => {
            let b = a.as_boolean();
            let (mut t, mut f) = (false, false);
            for v in b.iter().flatten() {
                if v {
                    t = true
                } else {
                    f = true
                }
            }
            let min = (t || f).then_some(StatValue::Bool(!f));
            let max = (t || f).then_some(StatValue::Bool(t));
            (min, max)
        }
        DataType::Utf8 => str_offsets(a.as_string::<i32>()),
        DataType::LargeUtf8 => str_offsets(a.as_string::<i64>()),
        DataType::Utf8View => strs(a.as_string_view().iter()),
        _ => (None, None),
    }
}

/// The first 8 bytes of `buf[s..e]`, zero-padded, as a big-endian integer (one
/// 8-byte load when `buf` extends far enough): when two prefixes differ, they
/// order as the strings do.
#[inline]
fn prefix_at(buf: &[u8], s: usize, e: usize) -> u64 {
    let len = e - s;
    match buf.get(s..s + 8) {
        Some(w) => {
            let w = u64::from_be_bytes(w.try_into().unwrap_or([0; 8]));
            match len {
                0 => 0,
                1..=7 => w & !(u64::MAX >> (8 * len)),
                _ => w,
            }
        }
        None => {
            let mut w = [0u8; 8];
            let n = len.min(8);
            w[..n].copy_from_slice(&buf[s..s + n]);
            u64::from_be_bytes(w)
        }
    }
}

/// [`strs`] for `Utf8` / `LargeUtf8`, straight from offsets and bytes.
fn str_offsets<O: arrow_array::OffsetSizeTrait>(
    a: &arrow_array::GenericStringArray<O>,
) -> (Option<StatValue>, Option<StatValue>) {
    let offs = a.value_offsets();
    let vals = a.value_data();
    let nulls = a.nulls();
    // (prefix, start, end) of the smallest and largest value so far.
    let mut lo: Option<(u64, usize, usize)> = None;
    let mut hi: Option<(u64, usize, usize)> = None;
    for i in 0..a.len() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            continue;
        }
        let (s, e) = (offs[i].as_usize(), offs[i + 1].as_usize());
        if e - s > MAX_STAT_STR {
            return (None, None);
        }
        let p = prefix_at(vals, s, e);
        let len = e - s;
        // Equal prefixes of equal lengths below 8 are equal strings.
        let tie = |(_, ms, me): (u64, usize, usize)| len >= 8 || len != me - ms;
        match lo {
            Some(m) if p > m.0 || (p == m.0 && !(tie(m) && vals[s..e] < vals[m.1..m.2])) => {}
            _ => lo = Some((p, s, e)),
        }
        match hi {
            Some(m) if p < m.0 || (p == m.0 && !(tie(m) && vals[s..e] > vals[m.1..m.2])) => {}
            _ => hi = Some((p, s, e)),
        }
    }
    let text =
        |(_, s, e): (u64, usize, usize)| std::str::from_utf8(&vals[s..e]).ok().map(StatValue::from);
    (lo.and_then(text), hi.and_then(text))
}

/// The first 8 bytes of `v`, zero-padded, as a big-endian integer: when two
/// prefixes differ, they order as the strings do.
#[inline]
fn prefix(v: &str) -> u64 {
    let b = v.as_bytes();
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(w)
}

fn strs<'a>(it: impl Iterator<Item = Option<&'a str>>) -> (Option<StatValue>, Option<StatValue>) {
    let mut it = it.flatten();
    let Some(first) = it.next() else {
        return (None, None);
    };
    let (mut min, mut max) = (first, first);
    let (mut pmin, mut pmax) = (prefix(first), prefix(first));
    for v in std::iter::once(first).chain(it) {
        if v.len() > MAX_STAT_STR {
            return (None, None);
        }
        // Compare 8-byte prefixes first; whole strings only on a tie that the
        // prefix does not settle (equal prefixes of equal lengths below 8 are
        // equal strings).
        let p = prefix(v);
        let tie = |m: &str| v.len() >= 8 || v.len() != m.len();
        if p < pmin || (p == pmin && tie(min) && v < min) {
            (min, pmin) = (v, p);
        }
        if p > pmax || (p == pmax && tie(max) && v > max) {
            (max, pmax) = (v, p);
        }
    }
    (Some(StatValue::from(min)), Some(StatValue::from(max)))
}

/// Statistics of `array` for every zone of `zone_rows` rows.
pub fn zone_stats(array: &dyn Array, zone_rows: usize) -> Vec<ZoneStats> {
    let zone_rows = zone_rows.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < array.len() {
        let n = zone_rows.min(array.len() - start);
        let z = array.slice(start, n);
        let (min, max) = min_max(z.as_ref());
        out.push(ZoneStats {
            rows: n as u64,
            nulls: z.logical_null_count() as u64,
            min,
            max,
        });
        start += n;
    }
    out
}

/// [`zone_stats`] of the concatenation of `parts` (arrays of one type), without
/// concatenating them: a zone spanning parts merges their minima and maxima.
pub(crate) fn zone_stats_parts(parts: &[ArrayRef], zone_rows: usize) -> Vec<ZoneStats> {
    if let [one] = parts {
        return zone_stats(one.as_ref(), zone_rows);
    }
    let zone_rows = zone_rows.max(1);
    let total: usize = parts.iter().map(|a| a.len()).sum();
    let mut out = Vec::new();
    let (mut part, mut at) = (0usize, 0usize); // current part, rows of it consumed
    let mut start = 0;
    while start < total {
        let n = zone_rows.min(total - start);
        let (mut left, mut nulls) = (n, 0usize);
        let (mut min, mut max): (Option<StatValue>, Option<StatValue>) = (None, None);
        let mut unknown = false;
        while left > 0 {
            let Some(p) = parts.get(part) else { break };
            let k = left.min(p.len() - at);
            let sl = p.slice(at, k);
            let (lo, hi) = min_max(sl.as_ref());
            let nn = sl.logical_null_count();
            nulls += nn;
            if lo.is_none() && hi.is_none() && nn < k {
                unknown = true; // NaN, long strings or a type without statistics
            }
            if let Some(lo) = lo {
                if min
                    .as_ref()
                    .is_none_or(|m| lo.compare(m) == Some(Ordering::Less))
                {
                    min = Some(lo);
                }
            }
            if let Some(hi) = hi {
                if max
                    .as_ref()
                    .is_none_or(|m| hi.compare(m) == Some(Ordering::Greater))
                {
                    max = Some(hi);
                }
            }
            left -= k;
            at += k;
            if at == p.len() {
                part += 1;
                at = 0;
            }
        }
        if unknown {
            (min, max) = (None, None);
        }
        out.push(ZoneStats {
            rows: n as u64,
            nulls: nulls as u64,
            min,
            max,
        });
        start += n;
    }
    out
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A predicate on top-level columns, used to skip chunks whose statistics prove
/// that no row matches (pruning; rows of the chunks that are read are returned
/// as stored).
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `column op value`.
    Compare {
        /// The column name.
        column: String,
        /// The operator.
        op: CmpOp,
        /// The literal.
        value: StatValue,
    },
    /// The column is null.
    IsNull(String),
    /// The column is not null.
    IsNotNull(String),
    /// All must hold.
    And(Vec<Predicate>),
    /// One must hold.
    Or(Vec<Predicate>),
}

impl Predicate {
    /// `column op value`.
    pub fn cmp(column: impl Into<String>, op: CmpOp, value: impl Into<StatValue>) -> Self {
        Predicate::Compare {
            column: column.into(),
            op,
            value: value.into(),
        }
    }
    /// `column == value`.
    pub fn eq(column: impl Into<String>, value: impl Into<StatValue>) -> Self {
        Self::cmp(column, CmpOp::Eq, value)
    }
    /// `column < value`.
    pub fn lt(column: impl Into<String>, value: impl Into<StatValue>) -> Self {
        Self::cmp(column, CmpOp::Lt, value)
    }
    /// `column > value`.
    pub fn gt(column: impl Into<String>, value: impl Into<StatValue>) -> Self {
        Self::cmp(column, CmpOp::Gt, value)
    }
    /// `self and other`.
    pub fn and(self, other: Predicate) -> Self {
        Predicate::And(vec![self, other])
    }
    /// `self or other`.
    pub fn or(self, other: Predicate) -> Self {
        Predicate::Or(vec![self, other])
    }

    /// The columns the predicate names.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Predicate::Compare { column, .. }
            | Predicate::IsNull(column)
            | Predicate::IsNotNull(column) => vec![column.as_str()],
            Predicate::And(ps) | Predicate::Or(ps) => ps.iter().flat_map(|p| p.columns()).collect(),
        }
    }

    /// Whether some row of zone `zone` may match, given `stats(column, zone)`.
    /// Unknown statistics always may match.
    pub fn may_match<'a>(&self, stats: &impl Fn(&str) -> Option<&'a ZoneStats>) -> bool {
        match self {
            Predicate::And(ps) => ps.iter().all(|p| p.may_match(stats)),
            Predicate::Or(ps) => ps.iter().any(|p| p.may_match(stats)),
            Predicate::IsNull(c) => stats(c).is_none_or(|z| z.nulls > 0),
            Predicate::IsNotNull(c) => stats(c).is_none_or(|z| z.nulls < z.rows),
            Predicate::Compare { column, op, value } => {
                let Some(z) = stats(column) else { return true };
                if z.nulls >= z.rows {
                    return false;
                }
                let (Some(min), Some(max)) = (&z.min, &z.max) else {
                    return true;
                };
                let (Some(lo), Some(hi)) = (min.compare(value), max.compare(value)) else {
                    return true;
                };
                use Ordering::*;
                match op {
                    CmpOp::Eq => lo != Greater && hi != Less,
                    CmpOp::NotEq => !(lo == Equal && hi == Equal),
                    CmpOp::Lt => lo == Less,
                    CmpOp::LtEq => lo != Greater,
                    CmpOp::Gt => hi == Greater,
                    CmpOp::GtEq => hi != Less,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int32Array, StringArray};

    #[test]
    fn zones_and_pruning() {
        let a = Int32Array::from_iter((0..250).map(|i| (i % 50 != 0).then_some(i)));
        let z = zone_stats(&a, 100);
        assert_eq!(z.len(), 3);
        assert_eq!(z[1].min, Some(StatValue::Int(101)));
        assert_eq!(z[1].max, Some(StatValue::Int(199)));
        assert_eq!((z[1].nulls, z[2].rows), (2, 50));
        let p = Predicate::gt("x", 150).and(Predicate::lt("x", 180));
        let hits: Vec<bool> = z.iter().map(|zz| p.may_match(&|_| Some(zz))).collect();
        assert_eq!(hits, [false, true, false]);
        let s = StringArray::from(vec!["b", "a", "c"]);
        let z = zone_stats(&s, 10);
        assert_eq!(z[0].min, Some(StatValue::from("a")));
        let f = Float64Array::from(vec![1.0, f64::NAN]);
        assert_eq!(zone_stats(&f, 10)[0].max, None);
    }
}
