//! Arrow array → super-chunks: walks an array's data (respecting its offset),
//! normalises every buffer to start at row 0 (offsets rebased to 0, bitmaps
//! re-aligned, view data buffers joined into one) and compresses the buffers'
//! chunks in parallel.

use arrow_array::Array;
use arrow_buffer::{BooleanBuffer, Buffer};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field};
use rayon::prelude::*;

use super::{
    check_supported, child_path, unsupported_type, ArrayNode, BufferMeta, BufferRole, Compression,
    EncodeOptions,
};
use crate::chunk::{self, params::DParams};
use crate::error::{Error, Result};
use crate::schunk::{SChunk, Storage};

/// Largest chunk of a fixed-width buffer.
const MAX_CHUNK: usize = 16 << 20;

/// One encoded buffer: its path and its super-chunk.
#[derive(Debug)]
pub struct EncodedBuffer {
    /// The buffer's path (`{key}[.{child}…].{role}.b2frame`).
    pub path: String,
    /// The compressed buffer.
    pub schunk: SChunk,
}

/// A buffer collected from the array, before compression.
struct Raw {
    path: String,
    bytes: Buffer,
    typesize: usize,
    chunksize: usize,
    compression: Compression,
}

struct Walker<'a> {
    options: &'a EncodeOptions,
    /// The column's compression override for values/views buffers.
    column: Option<&'a Compression>,
    raws: Vec<Raw>,
}

/// Encodes `array` as the field `field`: returns the layout and one super-chunk per
/// non-empty buffer, with paths prefixed by `key`. Values and views buffers use
/// `options.columns[field.name()]` when set.
///
/// # Errors
/// `Unsupported` naming the field for types that cannot be stored,
/// `InvalidArgument` when `array`'s type is not `field`'s, compression errors.
pub fn encode(
    array: &dyn Array,
    field: &Field,
    key: &str,
    options: &EncodeOptions,
) -> Result<(ArrayNode, Vec<EncodedBuffer>)> {
    check_supported(field)?;
    if array.data_type() != field.data_type() {
        return Err(Error::invalid(
            "array",
            format!(
                "field '{}' is {} but the array is {}",
                field.name(),
                field.data_type(),
                array.data_type()
            ),
        ));
    }
    let mut w = Walker {
        options,
        column: options.columns.get(field.name()),
        raws: Vec::new(),
    };
    let data = array.to_data();
    let mut node = w.walk(&data, field.data_type(), field.name(), key)?;
    let encoded: Vec<(EncodedBuffer, u64)> = w
        .raws
        .into_par_iter()
        .map(|r| {
            let sc = compress(&r)?;
            let cbytes = sc.cbytes() as u64;
            Ok((
                EncodedBuffer {
                    path: r.path,
                    schunk: sc,
                },
                cbytes,
            ))
        })
        .collect::<Result<_>>()?;
    let sizes: std::collections::HashMap<&str, u64> =
        encoded.iter().map(|(b, c)| (b.path.as_str(), *c)).collect();
    node.for_each_buffer_mut(&mut |b| {
        if let Some(p) = &b.path {
            b.cbytes = sizes.get(p.as_str()).copied().unwrap_or(0);
        }
    });
    Ok((node, encoded.into_iter().map(|(b, _)| b).collect()))
}

/// Compresses one buffer, its chunks in parallel.
fn compress(r: &Raw) -> Result<SChunk> {
    let mut cparams = r.compression.cparams(r.typesize);
    if r.compression.tune_filters && r.typesize > 1 && !r.bytes.is_empty() {
        let sample = &r.bytes.as_slice()[..r.bytes.len().min(r.chunksize)];
        let mut best = (usize::MAX, cparams.clone());
        for filters in r.compression.candidates() {
            let cp = cparams.clone().with_filters(filters);
            let n = chunk::compress(&cp, sample)?.len();
            if n < best.0 {
                best = (n, cp);
            }
        }
        cparams = best.1;
    }
    let storage = Storage::default().with_chunksize(r.chunksize);
    let mut sc = SChunk::with_storage(cparams.clone(), DParams::default(), &storage)?;
    let chunks: Vec<Vec<u8>> = r
        .bytes
        .as_slice()
        .par_chunks(r.chunksize)
        .map(|c| chunk::compress(&cparams, c))
        .collect::<Result<_>>()?;
    for c in chunks {
        sc.append_chunk(c)?;
    }
    Ok(sc)
}

fn offsets_of<T: Copy + Into<i64>>(buf: &Buffer, offset: usize, len: usize) -> Result<Vec<i64>> {
    let width = std::mem::size_of::<T>();
    let bytes = buf.as_slice();
    let need = (offset + len + 1) * width;
    if bytes.is_empty() && len == 0 {
        return Ok(vec![0]);
    }
    if bytes.len() < need {
        return Err(Error::invalid(
            "array",
            format!("offsets buffer of {} bytes, expected {need}", bytes.len()),
        ));
    }
    Ok(bytes[offset * width..need]
        .chunks_exact(width)
        .map(|c| {
            if width == 4 {
                i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            } else {
                i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))
            }
        })
        .collect())
}

impl Walker<'_> {
    fn push(
        &mut self,
        node: &mut ArrayNode,
        dt: &DataType,
        key: &str,
        role: BufferRole,
        typesize: usize,
        bytes: Buffer,
    ) {
        let nbytes = bytes.len() as u64;
        let path = (nbytes > 0).then(|| format!("{key}.{}.b2frame", role.name()));
        let chunksize = match role {
            BufferRole::Values if matches!(dt, DataType::Boolean) => {
                (self.options.chunk_rows / 8).max(1)
            }
            BufferRole::Validity => (self.options.chunk_rows / 8).max(1),
            BufferRole::Values if typesize == 1 && !is_fixed_width(dt) => {
                self.options.bytes_chunksize.max(1)
            }
            _ => {
                let rows = self.options.chunk_rows.min((MAX_CHUNK / typesize).max(1));
                rows * typesize
            }
        };
        let compression = match (role, self.column) {
            (BufferRole::Values | BufferRole::Views, Some(c)) => c.clone(),
            _ => Compression::default_for(dt, role, typesize),
        };
        if let Some(p) = &path {
            self.raws.push(Raw {
                path: p.clone(),
                bytes,
                typesize,
                chunksize,
                compression,
            });
        }
        node.buffers.push(BufferMeta {
            role,
            path,
            typesize: typesize as u32,
            nbytes,
            cbytes: 0,
            frame_len: 0,
        });
    }

    fn walk(
        &mut self,
        data: &ArrayData,
        dt: &DataType,
        name: &str,
        key: &str,
    ) -> Result<ArrayNode> {
        let (off, len) = (data.offset(), data.len());
        let mut node = ArrayNode {
            length: len as u64,
            null_count: data.null_count() as u64,
            buffers: Vec::new(),
            children: Vec::new(),
        };
        if matches!(dt, DataType::Null) {
            node.null_count = len as u64;
            return Ok(node);
        }
        if let Some(nulls) = data.nulls() {
            if nulls.null_count() > 0 {
                let bytes = nulls.inner().sliced();
                self.push(&mut node, dt, key, BufferRole::Validity, 1, bytes);
            }
        }
        let buffer0 = || -> Result<&Buffer> {
            data.buffers().first().ok_or_else(|| {
                Error::invalid("array", format!("field '{name}' ({dt}) has no buffers"))
            })
        };
        match dt {
            DataType::Boolean => {
                let bits = BooleanBuffer::new(buffer0()?.clone(), off, len).sliced();
                self.push(&mut node, dt, key, BufferRole::Values, 1, bits);
            }
            DataType::FixedSizeBinary(w) => {
                let w = usize::try_from(*w).unwrap_or(0);
                let b = slice_checked(buffer0()?, off * w, len * w, name)?;
                self.push(&mut node, dt, key, BufferRole::Values, w.max(1), b);
            }
            DataType::Utf8 | DataType::Binary => {
                self.var_size::<i32>(&mut node, data, dt, key, name)?
            }
            DataType::LargeUtf8 | DataType::LargeBinary => {
                self.var_size::<i64>(&mut node, data, dt, key, name)?
            }
            DataType::List(f) | DataType::Map(f, _) => {
                let (first, last) = self.offsets::<i32>(&mut node, data, dt, key, name)?;
                let child = child_data(data, 0, name)?.slice(first, last - first);
                let cname = child_path(name, f.name());
                node.children.push(self.walk(
                    &child,
                    f.data_type(),
                    &cname,
                    &format!("{key}.0"),
                )?);
            }
            DataType::LargeList(f) => {
                let (first, last) = self.offsets::<i64>(&mut node, data, dt, key, name)?;
                let child = child_data(data, 0, name)?.slice(first, last - first);
                let cname = child_path(name, f.name());
                node.children.push(self.walk(
                    &child,
                    f.data_type(),
                    &cname,
                    &format!("{key}.0"),
                )?);
            }
            DataType::FixedSizeList(f, n) => {
                let n = usize::try_from(*n).unwrap_or(0);
                let child = child_data(data, 0, name)?.slice(off * n, len * n);
                let cname = child_path(name, f.name());
                node.children.push(self.walk(
                    &child,
                    f.data_type(),
                    &cname,
                    &format!("{key}.0"),
                )?);
            }
            DataType::Struct(fields) => {
                for (i, f) in fields.iter().enumerate() {
                    let child = child_data(data, i, name)?.slice(off, len);
                    let cname = child_path(name, f.name());
                    node.children.push(self.walk(
                        &child,
                        f.data_type(),
                        &cname,
                        &format!("{key}.{i}"),
                    )?);
                }
            }
            DataType::Dictionary(k, v) => {
                let w = k.primitive_width().unwrap_or(1);
                let b = slice_checked(buffer0()?, off * w, len * w, name)?;
                self.push(&mut node, dt, key, BufferRole::Values, w, b);
                let values = child_data(data, 0, name)?.clone();
                let cname = child_path(name, "values");
                node.children
                    .push(self.walk(&values, v, &cname, &format!("{key}.0"))?);
            }
            DataType::Utf8View | DataType::BinaryView => {
                self.views(&mut node, data, dt, key, name)?
            }
            DataType::Union(..)
            | DataType::RunEndEncoded(..)
            | DataType::ListView(_)
            | DataType::LargeListView(_) => return Err(unsupported_type(name, dt)),
            other => {
                let w = other
                    .primitive_width()
                    .ok_or_else(|| unsupported_type(name, dt))?;
                let b = slice_checked(buffer0()?, off * w, len * w, name)?;
                self.push(&mut node, dt, key, BufferRole::Values, w, b);
            }
        }
        Ok(node)
    }

    /// Pushes rebased offsets; returns the original first and last offset.
    fn offsets<T: Copy + Into<i64>>(
        &mut self,
        node: &mut ArrayNode,
        data: &ArrayData,
        dt: &DataType,
        key: &str,
        name: &str,
    ) -> Result<(usize, usize)> {
        let w = std::mem::size_of::<T>();
        let buf = data
            .buffers()
            .first()
            .ok_or_else(|| Error::invalid("array", format!("field '{name}' has no offsets")))?;
        let offs = offsets_of::<T>(buf, data.offset(), data.len())?;
        let first = offs.first().copied().unwrap_or(0);
        let last = offs.last().copied().unwrap_or(0);
        if first < 0 || last < first {
            return Err(Error::invalid(
                "array",
                format!("field '{name}': offsets {first}..{last} are not increasing"),
            ));
        }
        let mut out = Vec::with_capacity(offs.len() * w);
        for o in &offs {
            let r = o - first;
            if w == 4 {
                out.extend_from_slice(&(r as i32).to_le_bytes());
            } else {
                out.extend_from_slice(&r.to_le_bytes());
            }
        }
        self.push(node, dt, key, BufferRole::Offsets, w, Buffer::from_vec(out));
        Ok((first as usize, last as usize))
    }

    fn var_size<T: Copy + Into<i64>>(
        &mut self,
        node: &mut ArrayNode,
        data: &ArrayData,
        dt: &DataType,
        key: &str,
        name: &str,
    ) -> Result<()> {
        let (first, last) = self.offsets::<T>(node, data, dt, key, name)?;
        let values = data
            .buffers()
            .get(1)
            .ok_or_else(|| Error::invalid("array", format!("field '{name}' has no values")))?;
        let b = slice_checked(values, first, last - first, name)?;
        self.push(node, dt, key, BufferRole::Values, 1, b);
        Ok(())
    }

    /// Views with every long value's bytes copied into one data buffer.
    fn views(
        &mut self,
        node: &mut ArrayNode,
        data: &ArrayData,
        dt: &DataType,
        key: &str,
        name: &str,
    ) -> Result<()> {
        let (off, len) = (data.offset(), data.len());
        let buffers = data.buffers();
        let views_buf = buffers
            .first()
            .ok_or_else(|| Error::invalid("array", format!("field '{name}' has no views")))?;
        let raw = slice_checked(views_buf, off * 16, len * 16, name)?;
        let mut views = Vec::with_capacity(len * 16);
        let mut bytes: Vec<u8> = Vec::new();
        for (i, v) in raw.as_slice().chunks_exact(16).enumerate() {
            let v = u128::from_le_bytes(v.try_into().unwrap_or([0; 16]));
            let valid = data.nulls().is_none_or(|n| n.is_valid(i));
            let l = (v as u32) as usize;
            let nv = if !valid {
                0u128
            } else if l <= 12 {
                v
            } else {
                let bi = ((v >> 64) as u32) as usize;
                let o = ((v >> 96) as u32) as usize;
                let src = buffers
                    .get(1 + bi)
                    .and_then(|b| b.as_slice().get(o..o + l))
                    .ok_or_else(|| {
                        Error::invalid("array", format!("field '{name}': view {i} out of bounds"))
                    })?;
                let no = u32::try_from(bytes.len()).map_err(|_| {
                    Error::limit(
                        "view data of one fragment",
                        bytes.len() as u64,
                        u64::from(u32::MAX),
                    )
                })?;
                bytes.extend_from_slice(src);
                (v & 0xffff_ffff_ffff_ffff) | (u128::from(no) << 96)
            };
            views.extend_from_slice(&nv.to_le_bytes());
        }
        self.push(
            node,
            dt,
            key,
            BufferRole::Views,
            16,
            Buffer::from_vec(views),
        );
        self.push(
            node,
            dt,
            key,
            BufferRole::Values,
            1,
            Buffer::from_vec(bytes),
        );
        Ok(())
    }
}

fn is_fixed_width(dt: &DataType) -> bool {
    dt.primitive_width().is_some() || matches!(dt, DataType::FixedSizeBinary(_))
}

fn child_data<'a>(data: &'a ArrayData, i: usize, name: &str) -> Result<&'a ArrayData> {
    data.child_data()
        .get(i)
        .ok_or_else(|| Error::invalid("array", format!("field '{name}' lacks child {i}")))
}

fn slice_checked(buf: &Buffer, start: usize, len: usize, name: &str) -> Result<Buffer> {
    if start + len > buf.len() {
        return Err(Error::invalid(
            "array",
            format!(
                "field '{name}': buffer of {} bytes, the array needs {}",
                buf.len(),
                start + len
            ),
        ));
    }
    Ok(buf.slice_with_length(start, len))
}
