//! Super-chunks → Arrow arrays for a row range: reads only the items of each
//! buffer that the rows need (for variable-size types the offsets of the range
//! first, then exactly the byte range of the values; bitmaps by byte range and bit
//! shift) and rebuilds validated Arrow data.

use std::ops::Range;

use arrow_array::{make_array, ArrayRef};
use arrow_buffer::{BooleanBuffer, Buffer, MutableBuffer, NullBuffer};
use arrow_data::{ArrayData, ArrayDataBuilder};
use arrow_schema::{DataType, Field};

use super::{child_path, unsupported_type, ArrayNode, BufferMeta, BufferRole};
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
    let vals: Vec<i64> = raw
        .as_slice()
        .chunks_exact(width)
        .map(|c| {
            if width == 4 {
                i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            } else {
                i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))
            }
        })
        .collect();
    let first = vals.first().copied().unwrap_or(0);
    let last = vals.last().copied().unwrap_or(0);
    if first < 0 || last < first {
        return Err(Error::corrupt(
            crate::error::Part::FrameChunk,
            0,
            format!("field '{name}': offsets {first}..{last} are not increasing"),
        ));
    }
    let mut out = MutableBuffer::with_capacity(vals.len() * width);
    for v in &vals {
        let r = v - first;
        if width == 4 {
            out.extend_from_slice(&(r as i32).to_le_bytes());
        } else {
            out.extend_from_slice(&r.to_le_bytes());
        }
    }
    Ok((first as u64, last as u64, out.into()))
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
    let b = ArrayDataBuilder::new(dt.clone()).len(n).nulls(nulls);
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
            b.add_buffer(offsets).add_buffer(values)
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
