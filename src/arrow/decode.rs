//! Super-chunks → Arrow arrays for a row range: reads only the items of each
//! buffer that the rows need (for variable-size types the offsets of the range
//! first, then exactly the byte range of the values; bitmaps by byte range and bit
//! shift) and rebuilds validated Arrow data.

use std::ops::Range;

use arrow_array::{make_array, ArrayRef};
use arrow_buffer::{BooleanBuffer, Buffer, MutableBuffer, NullBuffer, ScalarBuffer};
use arrow_data::{ArrayData, ArrayDataBuilder};
use arrow_schema::{DataType, Field};

use super::{child_path, unsupported_type, ArrayNode, BufferMeta, BufferRole, Encoding};
use crate::error::{Error, Result};

/// Where buffer items come from: super-chunks in memory, frames in a store.
pub trait BufferSource: Sync {
    /// Decodes items `items` of `buffer` into `dst` (exactly `items.len() × typesize`
    /// bytes), decoding only the chunks and blocks the range touches.
    ///
    /// # Errors
    /// Decoding or I/O errors; `InvalidArgument` for a range past the buffer.
    fn read_into(&self, buffer: &BufferMeta, items: Range<u64>, dst: &mut [u8]) -> Result<()>;
}

/// Checks a read of an empty (frameless) buffer asks for nothing.
pub(crate) fn check_empty(buffer: &BufferMeta, items: &Range<u64>) -> Result<()> {
    if items.start < items.end || buffer.nbytes > 0 {
        return Err(Error::invalid(
            "items",
            format!(
                "{}..{} of an empty {} buffer",
                items.start,
                items.end,
                buffer.role.name()
            ),
        ));
    }
    Ok(())
}

/// Decodes rows `rows` of the array stored as `node` with `field`'s type.
///
/// # Errors
/// `InvalidArgument` for rows past the array's length; `Corrupt` or `Arrow` errors
/// when the stored buffers are inconsistent; the source's errors.
pub fn decode(
    node: &ArrayNode,
    field: &Field,
    rows: Range<u64>,
    src: &dyn BufferSource,
) -> Result<ArrayRef> {
    let data = decode_data(node, field.data_type(), field.name(), rows, src)?;
    Ok(make_array(data))
}

fn read(
    src: &dyn BufferSource,
    node: &ArrayNode,
    role: BufferRole,
    items: Range<u64>,
    name: &str,
) -> Result<Buffer> {
    let n = items.end.saturating_sub(items.start);
    let Some(meta) = node.buffer(role) else {
        if n == 0 {
            return Ok(Buffer::from_vec(Vec::<u8>::new()));
        }
        return Err(Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!("field '{name}' has no {} buffer", role.name()),
        ));
    };
    if items.start > items.end || items.end > meta.items() {
        return Err(Error::invalid(
            "items",
            format!(
                "field '{name}': {}..{} of a {} buffer of {} items",
                items.start,
                items.end,
                role.name(),
                meta.items()
            ),
        ));
    }
    let len = usize::try_from(n * u64::from(meta.typesize))
        .map_err(|_| Error::limit("buffer read", n, usize::MAX as u64))?;
    let mut buf = MutableBuffer::from_len_zeroed(len);
    if len > 0 {
        src.read_into(meta, items, buf.as_slice_mut())?;
    }
    Ok(buf.into())
}

/// Reads bits `rows` of a bitmap buffer, re-aligned to bit 0.
fn read_bits(
    src: &dyn BufferSource,
    node: &ArrayNode,
    role: BufferRole,
    rows: &Range<u64>,
    name: &str,
) -> Result<BooleanBuffer> {
    let (a, b) = (rows.start, rows.end);
    let bytes = read(src, node, role, a / 8..b.div_ceil(8), name)?;
    Ok(BooleanBuffer::new(
        bytes,
        (a % 8) as usize,
        (b - a) as usize,
    ))
}

fn nulls(
    src: &dyn BufferSource,
    node: &ArrayNode,
    rows: &Range<u64>,
    name: &str,
) -> Result<Option<NullBuffer>> {
    if node.buffer(BufferRole::Validity).is_none() {
        return Ok(None);
    }
    let bits = read_bits(src, node, BufferRole::Validity, rows, name)?;
    let n = NullBuffer::new(bits);
    Ok((n.null_count() > 0).then_some(n))
}

/// Offsets `rows.start..=rows.end` as i64, and the rebased offsets buffer.
fn read_offsets(
    src: &dyn BufferSource,
    node: &ArrayNode,
    rows: &Range<u64>,
    width: usize,
    name: &str,
) -> Result<(u64, u64, Buffer)> {
    let raw = read(
        src,
        node,
        BufferRole::Offsets,
        rows.start..rows.end + 1,
        name,
    )?;
    if width == 4 {
        rebase::<i32>(raw, name)
    } else {
        rebase::<i64>(raw, name)
    }
}

/// Checks that offsets increase and rebases them to start at 0; returns the
/// first and last original offset and the rebased buffer.
fn rebase<O: arrow_array::OffsetSizeTrait>(raw: Buffer, name: &str) -> Result<(u64, u64, Buffer)> {
    let n = raw.len() / std::mem::size_of::<O>();
    let vals = ScalarBuffer::<O>::new(raw, 0, n);
    let first = vals.first().map_or(0, |v| v.as_usize() as i64);
    let increasing = vals.windows(2).all(|w| w[0] <= w[1]);
    if vals.first().is_some_and(|v| *v < O::usize_as(0)) || !increasing {
        return Err(Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!("field '{name}': offsets are not increasing"),
        ));
    }
    let last = vals.last().map_or(0, |v| v.as_usize() as i64);
    let base = O::usize_as(first as usize);
    let out: Vec<O> = vals.iter().map(|&v| v - base).collect();
    Ok((first as u64, last as u64, Buffer::from_vec(out)))
}

/// A string or binary array of type `dt` from rebased, checked offsets (`n + 1`
/// of the type's width) and bytes: built through the typed constructors, which
/// check UTF-8 once over the bytes rather than value by value.
fn var_array(
    dt: &DataType,
    n: usize,
    offsets: Buffer,
    values: Buffer,
    nulls: Option<NullBuffer>,
) -> Result<ArrayData> {
    use arrow_array::{Array, GenericBinaryArray, GenericStringArray};
    use arrow_buffer::OffsetBuffer;
    fn offs<O: arrow_array::OffsetSizeTrait>(b: Buffer, n: usize) -> OffsetBuffer<O> {
        // Increasing and non-negative: checked by the callers.
        OffsetBuffer::new(ScalarBuffer::new(b, 0, n + 1))
    }
    Ok(match dt {
        DataType::Utf8 => {
            GenericStringArray::<i32>::try_new(offs(offsets, n), values, nulls)?.into_data()
        }
        DataType::LargeUtf8 => {
            GenericStringArray::<i64>::try_new(offs(offsets, n), values, nulls)?.into_data()
        }
        DataType::Binary => {
            GenericBinaryArray::<i32>::try_new(offs(offsets, n), values, nulls)?.into_data()
        }
        _ => GenericBinaryArray::<i64>::try_new(offs(offsets, n), values, nulls)?.into_data(),
    })
}

pub(crate) fn decode_data(
    node: &ArrayNode,
    dt: &DataType,
    name: &str,
    rows: Range<u64>,
    src: &dyn BufferSource,
) -> Result<ArrayData> {
    if rows.start > rows.end || rows.end > node.length {
        return Err(Error::invalid(
            "rows",
            format!(
                "field '{name}': {}..{}, expected a range within 0..{}",
                rows.start, rows.end, node.length
            ),
        ));
    }
    let n = (rows.end - rows.start) as usize;
    if n == 0 {
        return Ok(ArrayData::new_empty(dt));
    }
    if matches!(dt, DataType::Null) {
        return Ok(ArrayData::new_null(dt, n));
    }
    let nulls = nulls(src, node, &rows, name)?;
    match node.encoding {
        Some(Encoding::Dictionary) => return decode_dictionary(node, dt, name, rows, src, nulls),
        Some(Encoding::VarSize) => return decode_views_var_size(node, dt, name, rows, src, nulls),
        Some(Encoding::VarSizeDictionary) => {
            return decode_views_dictionary(node, dt, name, rows, src, nulls)
        }
        _ => {}
    }
    let b = ArrayDataBuilder::new(dt.clone())
        .len(n)
        .nulls(nulls.clone());
    let child = |i: usize| {
        node.children.get(i).ok_or_else(|| {
            Error::corrupt(
                crate::error::Part::FrameChunk,
                0,
                format!("field '{name}' lacks stored child {i}"),
            )
        })
    };
    let b = match dt {
        DataType::Boolean => {
            let bits = read_bits(src, node, BufferRole::Values, &rows, name)?;
            b.add_buffer(bits.sliced())
        }
        DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary => {
            let w = if matches!(dt, DataType::Utf8 | DataType::Binary) {
                4
            } else {
                8
            };
            let (first, last, offsets) = read_offsets(src, node, &rows, w, name)?;
            let values = read(src, node, BufferRole::Values, first..last, name)?;
            return var_array(dt, n, offsets, values, nulls);
        }
        DataType::List(f) | DataType::Map(f, _) | DataType::LargeList(f) => {
            let w = if matches!(dt, DataType::LargeList(_)) {
                8
            } else {
                4
            };
            let (first, last, offsets) = read_offsets(src, node, &rows, w, name)?;
            let c = decode_data(
                child(0)?,
                f.data_type(),
                &child_path(name, f.name()),
                first..last,
                src,
            )?;
            b.add_buffer(offsets).add_child_data(c)
        }
        DataType::FixedSizeList(f, size) => {
            let k = u64::try_from(*size).unwrap_or(0);
            let c = decode_data(
                child(0)?,
                f.data_type(),
                &child_path(name, f.name()),
                rows.start * k..rows.end * k,
                src,
            )?;
            b.add_child_data(c)
        }
        DataType::Struct(fields) => {
            let mut b = b;
            for (i, f) in fields.iter().enumerate() {
                let c = decode_data(
                    child(i)?,
                    f.data_type(),
                    &child_path(name, f.name()),
                    rows.clone(),
                    src,
                )?;
                b = b.add_child_data(c);
            }
            b
        }
        DataType::Dictionary(_, v) => {
            let keys = read(src, node, BufferRole::Values, rows.clone(), name)?;
            let d = child(0)?;
            let values = decode_data(d, v, &child_path(name, "values"), 0..d.length, src)?;
            b.add_buffer(keys).add_child_data(values)
        }
        DataType::Utf8View | DataType::BinaryView => {
            let raw = read(src, node, BufferRole::Views, rows.clone(), name)?;
            let (mut lo, mut hi) = (u64::MAX, 0u64);
            for v in raw.as_slice().chunks_exact(16) {
                let v = u128::from_le_bytes(v.try_into().unwrap_or([0; 16]));
                let l = u64::from(v as u32);
                if l > 12 {
                    let o = u64::from((v >> 96) as u32);
                    lo = lo.min(o);
                    hi = hi.max(o + l);
                }
            }
            if lo > hi {
                lo = 0;
                hi = 0;
            }
            let values = read(src, node, BufferRole::Values, lo..hi, name)?;
            let mut views = MutableBuffer::with_capacity(raw.len());
            for v in raw.as_slice().chunks_exact(16) {
                let v = u128::from_le_bytes(v.try_into().unwrap_or([0; 16]));
                let nv = if (v as u32) > 12 {
                    let o = u64::from((v >> 96) as u32) - lo;
                    (v & 0xffff_ffff_ffff_ffff) | (u128::from(o as u32) << 96)
                } else {
                    v
                };
                views.extend_from_slice(&nv.to_le_bytes());
            }
            b.add_buffer(views.into()).add_buffer(values)
        }
        DataType::Union(..)
        | DataType::RunEndEncoded(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => return Err(unsupported_type(name, dt)),
        other => {
            if other.primitive_width().is_none() && !matches!(other, DataType::FixedSizeBinary(_)) {
                return Err(unsupported_type(name, dt));
            }
            let values = read(src, node, BufferRole::Values, rows.clone(), name)?;
            b.add_buffer(values)
        }
    };
    Ok(b.build()?)
}

/// Rows `rows` of a dictionary-encoded string or binary array: the keys of the
/// rows, then the whole dictionary, gathered into an array of type `dt`.
fn decode_dictionary(
    node: &ArrayNode,
    dt: &DataType,
    name: &str,
    rows: Range<u64>,
    src: &dyn BufferSource,
    nulls: Option<NullBuffer>,
) -> Result<ArrayData> {
    let bad = |detail: String| Error::corrupt(crate::error::Part::FrameChunk, 0, detail);
    let wide = match dt {
        DataType::Utf8 | DataType::Binary => false,
        DataType::LargeUtf8 | DataType::LargeBinary => true,
        _ => {
            return Err(bad(format!(
                "field '{name}': dictionary encoding of a {dt} column"
            )))
        }
    };
    let n = (rows.end - rows.start) as usize;
    let (width, keys) = read_key_bytes(node, name, rows, src)?;
    if keys.len() != n * width {
        return Err(bad(format!(
            "field '{name}': {} bytes of dictionary keys for {n} rows of {width} bytes",
            keys.len()
        )));
    }
    let d = dictionary_child(node, name)?;
    let dict = decode_data(d, dt, &child_path(name, "values"), 0..d.length, src)?;
    let check_utf8 = matches!(dt, DataType::Utf8 | DataType::LargeUtf8) && !force_scalar();
    let (k, nn) = (keys.as_slice(), nulls.as_ref());
    let g = if wide {
        super::dict::gather::<i64>(&dict, width, k, nn, check_utf8, name)?
    } else {
        super::dict::gather::<i32>(&dict, width, k, nn, check_utf8, name)?
    };
    gathered_array(dt, n, g, nulls)
}

/// The `Utf8`/`Binary` array (or the large types, per `dt`) of `n` rows that
/// [`super::dict::gather`] expanded. Its offsets were built increasing from 0
/// to the bytes' length, so only `B2FRAME_FORCE_SCALAR=1` re-checks them; the
/// bytes of a string array are checked for UTF-8 unless every dictionary value
/// was ([`super::dict::Gathered::utf8`]).
#[allow(unsafe_code)]
fn gathered_array(
    dt: &DataType,
    n: usize,
    g: super::dict::Gathered,
    nulls: Option<NullBuffer>,
) -> Result<ArrayData> {
    use arrow_array::{Array, GenericBinaryArray, GenericStringArray};
    use arrow_buffer::OffsetBuffer;
    let wide = matches!(dt, DataType::LargeUtf8 | DataType::LargeBinary);
    let width = if wide { 8 } else { 4 };
    let string = matches!(dt, DataType::Utf8 | DataType::LargeUtf8);
    if force_scalar()
        || (string && !g.utf8)
        || g.offsets.len() != (n + 1) * width
        || nulls.as_ref().is_some_and(|b| b.len() != n)
    {
        return var_array(dt, n, g.offsets, g.values, nulls);
    }
    /// Offsets known to be increasing from 0.
    fn offs<O: arrow_array::OffsetSizeTrait>(b: Buffer, n: usize) -> OffsetBuffer<O> {
        // SAFETY: `dict::gather` pushed 0 and then, after each row, the
        // length of the bytes appended so far (at most `O::MAX_OFFSET`,
        // checked there): non-empty, non-negative and non-decreasing; `n + 1`
        // of them (checked by the caller).
        unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::new(b, 0, n + 1)) }
    }
    // SAFETY (all four): what `try_new` checks holds by construction. The
    // offsets are valid (`offs`) and the last one is `g.values.len()` (each is
    // the length of the bytes after its row, see `Gathered`); `nulls` has `n` bits
    // (checked above). For strings, `g.utf8` says every dictionary value is
    // valid UTF-8; each row's bytes are a whole dictionary value or empty, so
    // the bytes are a concatenation of valid UTF-8 strings (valid UTF-8) and
    // every offset is at a boundary between them (a char boundary).
    Ok(match (string, wide) {
        (true, false) => {
            unsafe { GenericStringArray::<i32>::new_unchecked(offs(g.offsets, n), g.values, nulls) }
                .into_data()
        }
        (true, true) => {
            unsafe { GenericStringArray::<i64>::new_unchecked(offs(g.offsets, n), g.values, nulls) }
                .into_data()
        }
        (false, false) => {
            unsafe { GenericBinaryArray::<i32>::new_unchecked(offs(g.offsets, n), g.values, nulls) }
                .into_data()
        }
        (false, true) => {
            unsafe { GenericBinaryArray::<i64>::new_unchecked(offs(g.offsets, n), g.values, nulls) }
                .into_data()
        }
    })
}

/// The dictionary keys of rows `rows` as stored: their width (1, 2 or 4) and
/// little-endian bytes.
fn read_key_bytes(
    node: &ArrayNode,
    name: &str,
    rows: Range<u64>,
    src: &dyn BufferSource,
) -> Result<(usize, Buffer)> {
    let width = node.buffer(BufferRole::Values).map_or(0, |b| b.typesize) as usize;
    if !matches!(width, 1 | 2 | 4) {
        return Err(Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!("field '{name}': dictionary keys of {width} bytes, expected 1, 2 or 4"),
        ));
    }
    Ok((width, read(src, node, BufferRole::Values, rows, name)?))
}

/// The dictionary keys (1, 2 or 4 bytes each) of rows `rows`.
fn read_keys(
    node: &ArrayNode,
    name: &str,
    rows: Range<u64>,
    src: &dyn BufferSource,
) -> Result<Vec<u32>> {
    let (width, raw) = read_key_bytes(node, name, rows, src)?;
    Ok(match width {
        1 => raw.as_slice().iter().map(|&k| u32::from(k)).collect(),
        2 => raw
            .as_slice()
            .chunks_exact(2)
            .map(|k| u32::from(u16::from_le_bytes([k[0], k[1]])))
            .collect(),
        _ => raw
            .as_slice()
            .chunks_exact(4)
            .map(|k| u32::from_le_bytes([k[0], k[1], k[2], k[3]]))
            .collect(),
    })
}

/// Fails when a key of `keys` is past a dictionary of `len` values.
fn check_keys(keys: &[u32], len: usize, name: &str) -> Result<()> {
    let max = keys.iter().copied().max().unwrap_or(0) as usize;
    if !keys.is_empty() && max >= len {
        return Err(Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!("field '{name}': dictionary key {max} but the dictionary holds {len} values"),
        ));
    }
    Ok(())
}

/// Child 0 of a dictionary-encoded node: the distinct values.
fn dictionary_child<'a>(node: &'a ArrayNode, name: &str) -> Result<&'a ArrayNode> {
    node.children.first().ok_or_else(|| {
        Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!("field '{name}' lacks its dictionary"),
        )
    })
}

/// The `Utf8`/`Binary` type (large when `node`'s offsets are 8 bytes wide) in
/// which a view column of type `dt` is stored.
fn flat_type_of_views(node: &ArrayNode, dt: &DataType, name: &str) -> Result<DataType> {
    let wide = match node.buffer(BufferRole::Offsets).map(|b| b.typesize) {
        Some(4) | None => false,
        Some(8) => true,
        Some(w) => {
            return Err(Error::corrupt(
                crate::error::Part::FrameChunk,
                0,
                format!("field '{name}': offsets of {w} bytes, expected 4 or 8"),
            ))
        }
    };
    Ok(match (dt, wide) {
        (DataType::Utf8View, false) => DataType::Utf8,
        (DataType::Utf8View, true) => DataType::LargeUtf8,
        (DataType::BinaryView, false) => DataType::Binary,
        (DataType::BinaryView, true) => DataType::LargeBinary,
        _ => {
            return Err(Error::corrupt(
                crate::error::Part::FrameChunk,
                0,
                format!("field '{name}': view encoding of a {dt} column"),
            ))
        }
    })
}

/// The view of `bytes`, held at `offset` of data buffer 0 when longer than 12.
fn view_of(bytes: &[u8], offset: u32) -> u128 {
    let len = bytes.len() as u128;
    if bytes.len() <= 12 {
        let mut inline = [0u8; 16];
        inline[..bytes.len()].copy_from_slice(bytes);
        len | (u128::from_le_bytes(inline) << 32)
    } else {
        let prefix = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        len | (u128::from(prefix) << 32) | (u128::from(offset) << 96)
    }
}

/// A view array of type `dt` over data buffer `data`. Views of a `Utf8View` array
/// that [`view_of`] built from values of an already validated `Utf8` array
/// (`from_valid_utf8`) skip the per-view UTF-8 check of the typed constructor (a third
/// of a full scan's time); everything else is checked (bounds, prefixes, UTF-8).
fn view_array(
    dt: &DataType,
    views: Vec<u128>,
    data: Buffer,
    nulls: Option<NullBuffer>,
    from_valid_utf8: bool,
) -> Result<ArrayData> {
    use arrow_array::{Array, BinaryViewArray, StringViewArray};
    let n = views.len();
    if nulls.as_ref().is_some_and(|b| b.len() != n) {
        return Err(Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!(
                "{} validity bits for {n} views",
                nulls.map_or(0, |b| b.len())
            ),
        ));
    }
    let views = ScalarBuffer::from(views);
    Ok(if matches!(dt, DataType::Utf8View) {
        if from_valid_utf8 && !force_scalar() {
            trusted_string_views(views, data, nulls).into_data()
        } else {
            StringViewArray::try_new(views, vec![data], nulls)?.into_data()
        }
    } else {
        BinaryViewArray::try_new(views, vec![data], nulls)?.into_data()
    })
}

/// Whether `B2FRAME_FORCE_SCALAR=1` asks for the checked paths only (decided once).
fn force_scalar() -> bool {
    static FORCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCE.get_or_init(|| std::env::var_os("B2FRAME_FORCE_SCALAR").is_some_and(|v| v == "1"))
}

/// A string view array without re-checking its views.
#[allow(unsafe_code)]
fn trusted_string_views(
    views: ScalarBuffer<u128>,
    data: Buffer,
    nulls: Option<NullBuffer>,
) -> arrow_array::StringViewArray {
    // SAFETY: the callers built every view with `view_of` from a slice `a..b` of
    // `data` (buffer 0), where `a..b` are consecutive offsets of a `Utf8` array that
    // `GenericStringArray::try_new` validated over these same bytes (offsets in
    // bounds, increasing, on char boundaries of valid UTF-8): so each view's length,
    // inline bytes or prefix, buffer index 0 and offset (< 2^32, checked) describe
    // valid UTF-8 inside `data`; null views are zero (empty); `nulls` has one bit per
    // view (checked by `view_array`).
    unsafe { arrow_array::StringViewArray::new_unchecked(views, vec![data].into(), nulls) }
}

/// The data buffer and one view per value of `flat`, a validated `Utf8`/`Binary`
/// array (or the large types) of at most 4 GiB of bytes: long values point into the
/// data buffer, which is `flat`'s own bytes.
fn views_of_flat(flat: &ArrayData) -> (Buffer, Vec<u128>) {
    let n = flat.len();
    let data = flat
        .buffers()
        .get(1)
        .cloned()
        .unwrap_or_else(|| Buffer::from_vec(Vec::<u8>::new()));
    let ends: Vec<usize> = if matches!(flat.data_type(), DataType::Utf8 | DataType::Binary) {
        flat.buffer::<i32>(0)[..=n]
            .iter()
            .map(|&o| o as usize)
            .collect()
    } else {
        flat.buffer::<i64>(0)[..=n]
            .iter()
            .map(|&o| o as usize)
            .collect()
    };
    let bytes = data.as_slice();
    let views = ends
        .windows(2)
        .map(|p| view_of(&bytes[p[0]..p[1]], p[0] as u32))
        .collect();
    (data, views)
}

/// Rows `rows` of a view column stored as offsets + values ([`Encoding::VarSize`]).
fn decode_views_var_size(
    node: &ArrayNode,
    dt: &DataType,
    name: &str,
    rows: Range<u64>,
    src: &dyn BufferSource,
    nulls: Option<NullBuffer>,
) -> Result<ArrayData> {
    let flat_dt = flat_type_of_views(node, dt, name)?;
    let w = if matches!(flat_dt, DataType::Utf8 | DataType::Binary) {
        4
    } else {
        8
    };
    let n = (rows.end - rows.start) as usize;
    let (first, last, offsets) = read_offsets(src, node, &rows, w, name)?;
    if last - first > u64::from(u32::MAX) {
        return Err(Error::limit(
            "bytes of one read of a view column",
            last - first,
            u64::from(u32::MAX),
        ));
    }
    let values = read(src, node, BufferRole::Values, first..last, name)?;
    // The flat array checks the offsets against the bytes and, for strings, UTF-8
    // once over all of them; the views are then built from it.
    let flat = var_array(&flat_dt, n, offsets, values, nulls.clone())?;
    let (data, views) = views_of_flat(&flat);
    view_array(dt, views, data, nulls, true)
}

/// Rows `rows` of a dictionary-encoded view column ([`Encoding::VarSizeDictionary`]):
/// each distinct value's view is built once, then gathered by key.
fn decode_views_dictionary(
    node: &ArrayNode,
    dt: &DataType,
    name: &str,
    rows: Range<u64>,
    src: &dyn BufferSource,
    nulls: Option<NullBuffer>,
) -> Result<ArrayData> {
    let keys = read_keys(node, name, rows, src)?;
    let d = dictionary_child(node, name)?;
    let flat_dt = flat_type_of_views(d, dt, name)?;
    let dict = decode_data(d, &flat_dt, &child_path(name, "values"), 0..d.length, src)?;
    if dict.buffers().get(1).map_or(0, Buffer::len) > u32::MAX as usize {
        return Err(Error::limit(
            "bytes of a view column's dictionary",
            dict.buffers()[1].len() as u64,
            u64::from(u32::MAX),
        ));
    }
    let (data, distinct) = views_of_flat(&dict);
    check_keys(&keys, distinct.len(), name)?;
    let views: Vec<u128> = match &nulls {
        None => keys.iter().map(|&k| distinct[k as usize]).collect(),
        Some(nn) => keys
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                if nn.is_valid(i) {
                    distinct[k as usize]
                } else {
                    0
                }
            })
            .collect(),
    };
    view_array(dt, views, data, nulls, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, StringViewArray};

    /// Buffers held raw in memory, by role.
    struct Raw(Vec<(BufferRole, Vec<u8>)>);

    impl BufferSource for Raw {
        fn read_into(&self, b: &BufferMeta, items: Range<u64>, dst: &mut [u8]) -> Result<()> {
            let bytes = &self.0.iter().find(|(r, _)| *r == b.role).unwrap().1;
            let ts = b.typesize as usize;
            dst.copy_from_slice(&bytes[items.start as usize * ts..items.end as usize * ts]);
            Ok(())
        }
    }

    fn meta(role: BufferRole, typesize: u32, bytes: &[u8]) -> BufferMeta {
        BufferMeta {
            role,
            path: Some(format!("{}.b2frame", role.name())),
            typesize,
            nbytes: bytes.len() as u64,
            cbytes: 0,
            frame_len: 0,
            chunksize: 0,
            chunk_offsets: Vec::new(),
        }
    }

    #[test]
    fn views_written_by_format_2_still_read() {
        // Format 2 stored a Utf8View column as its 16-byte views (long values
        // pointing into one data buffer) plus that buffer.
        let long = "a value longer than twelve bytes";
        let views = [view_of(b"short", 0), view_of(long.as_bytes(), 0), 0];
        let vb: Vec<u8> = views.iter().flat_map(|v| v.to_le_bytes()).collect();
        let validity = vec![0b011u8];
        let node = ArrayNode {
            length: 3,
            null_count: 1,
            buffers: vec![
                meta(BufferRole::Validity, 1, &validity),
                meta(BufferRole::Views, 16, &vb),
                meta(BufferRole::Values, 1, long.as_bytes()),
            ],
            children: Vec::new(),
            encoding: None,
        };
        let src = Raw(vec![
            (BufferRole::Validity, validity),
            (BufferRole::Views, vb),
            (BufferRole::Values, long.as_bytes().to_vec()),
        ]);
        let a = make_array(decode_data(&node, &DataType::Utf8View, "s", 0..3, &src).unwrap());
        let want = StringViewArray::from(vec![Some("short"), Some(long), None]);
        assert_eq!(a.as_ref(), &want as &dyn Array);
        let tail = make_array(decode_data(&node, &DataType::Utf8View, "s", 1..3, &src).unwrap());
        assert_eq!(tail.as_ref(), &want.slice(1, 2) as &dyn Array);
    }

    #[test]
    fn invalid_utf8_in_a_view_column_is_an_error() {
        let offsets: Vec<u8> = [0i32, 2, 16].iter().flat_map(|o| o.to_le_bytes()).collect();
        let mut values = vec![b'a'; 16];
        values[0] = 0xff;
        let node = ArrayNode {
            length: 2,
            null_count: 0,
            buffers: vec![
                meta(BufferRole::Offsets, 4, &offsets),
                meta(BufferRole::Values, 1, &values),
            ],
            children: Vec::new(),
            encoding: Some(Encoding::VarSize),
        };
        let src = Raw(vec![
            (BufferRole::Offsets, offsets),
            (BufferRole::Values, values),
        ]);
        assert!(decode_data(&node, &DataType::Utf8View, "s", 0..2, &src).is_err());
        // As binary, the same bytes are fine.
        let b = decode_data(&node, &DataType::BinaryView, "s", 0..2, &src).unwrap();
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn a_view_pointing_past_its_data_is_an_error() {
        let offsets: Vec<u8> = [0i32, 20].iter().flat_map(|o| o.to_le_bytes()).collect();
        let node = ArrayNode {
            length: 1,
            null_count: 0,
            buffers: vec![
                meta(BufferRole::Offsets, 4, &offsets),
                meta(BufferRole::Values, 1, b"too short"),
            ],
            children: Vec::new(),
            encoding: Some(Encoding::VarSize),
        };
        let src = Raw(vec![
            (BufferRole::Offsets, offsets),
            (BufferRole::Values, b"too short".to_vec()),
        ]);
        assert!(decode_data(&node, &DataType::Utf8View, "s", 0..1, &src).is_err());
    }
}
