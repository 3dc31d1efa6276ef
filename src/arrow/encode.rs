//! Arrow array → super-chunks: walks an array's data (respecting its offset),
//! normalises every buffer to start at row 0 (offsets rebased to 0, bitmaps
//! re-aligned, view data buffers joined into one) and compresses the buffers'
//! chunks in parallel.

use std::borrow::Cow;
use std::ops::Range;

use arrow_array::{Array, ArrayRef};
use arrow_buffer::{BooleanBuffer, Buffer};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field};
use rayon::prelude::*;

use super::{
    check_supported, child_path, dict, unsupported_type, ArrayNode, BufferMeta, BufferRole,
    Compression, EncodeOptions, Encoding, DICTIONARY_MIN_ROWS_PER_VALUE,
};
use crate::chunk::{
    self,
    params::{CParams, Codec, DParams, Filter},
};
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

/// A buffer collected from the array, before compression: its bytes are the
/// concatenation of `parts`.
struct Raw {
    path: String,
    parts: Vec<Buffer>,
    typesize: usize,
    chunksize: usize,
    compression: Compression,
    /// The variable-size bytes of strings or binary (their tuning also tries
    /// LZ4HC).
    text: bool,
}

struct Walker<'a> {
    options: &'a EncodeOptions,
    /// The column's compression override for values/views buffers.
    column: Option<&'a Compression>,
    raws: Vec<Raw>,
    /// Inside a dictionary's values (never dictionary-encoded again).
    in_dictionary: bool,
}

impl<'a> Walker<'a> {
    /// A walker for the top-level column `field`.
    fn new(options: &'a EncodeOptions, field: &Field) -> Self {
        Walker {
            options,
            column: options.columns.get(field.name()),
            raws: Vec::new(),
            in_dictionary: false,
        }
    }
}

/// `InvalidArgument` unless an array of type `dt` can be stored as `field`.
fn check_array_type(field: &Field, dt: &DataType) -> Result<()> {
    if dt == field.data_type() {
        return Ok(());
    }
    Err(Error::invalid(
        "array",
        format!(
            "field '{}' is {} but the array is {dt}",
            field.name(),
            field.data_type()
        ),
    ))
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
    check_array_type(field, array.data_type())?;
    let mut w = Walker::new(options, field);
    let data = array.to_data();
    let node = w.walk(&data, field.data_type(), field.name(), key)?;
    finish(node, w.raws)
}

/// Encodes the column made of `parts` (arrays of `field`'s type, in row order)
/// as [`encode`] encodes their concatenation, but without concatenating the
/// values of fixed-width types (their chunks are cut across the parts); other
/// types are concatenated first.
///
/// # Errors
/// As [`encode`].
pub(crate) fn encode_parts(
    parts: &[ArrayRef],
    field: &Field,
    key: &str,
    options: &EncodeOptions,
) -> Result<(ArrayNode, Vec<EncodedBuffer>)> {
    let dt = field.data_type();
    let width = match dt {
        DataType::Boolean | DataType::Null => None,
        DataType::FixedSizeBinary(w) => usize::try_from(*w).ok().filter(|&w| w > 0),
        other => other.primitive_width(),
    };
    let (Some(w), true) = (width, parts.len() > 1) else {
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        return match refs.as_slice() {
            [one] => encode(*one, field, key, options),
            _ => encode(
                arrow_select::concat::concat(&refs)?.as_ref(),
                field,
                key,
                options,
            ),
        };
    };
    check_supported(field)?;
    for a in parts {
        check_array_type(field, a.data_type())?;
    }
    let mut wk = Walker::new(options, field);
    let len: usize = parts.iter().map(|a| a.len()).sum();
    let null_count: usize = parts.iter().map(|a| a.null_count()).sum();
    let mut node = ArrayNode {
        length: len as u64,
        null_count: null_count as u64,
        buffers: Vec::new(),
        children: Vec::new(),
        encoding: None,
    };
    if null_count > 0 {
        let mut bits = arrow_buffer::BooleanBufferBuilder::new(len);
        for a in parts {
            match a.nulls() {
                Some(n) => bits.append_buffer(n.inner()),
                None => bits.append_n(a.len(), true),
            }
        }
        let bits = bits.finish().sliced();
        wk.push(&mut node, dt, key, BufferRole::Validity, 1, bits);
    }
    let mut values = Vec::with_capacity(parts.len());
    for a in parts {
        let d = a.to_data();
        let b = d.buffers().first().ok_or_else(|| {
            Error::invalid(
                "array",
                format!("field '{}' ({dt}) has no buffers", field.name()),
            )
        })?;
        values.push(slice_checked(b, d.offset() * w, d.len() * w, field.name())?);
    }
    wk.push_parts(&mut node, dt, key, BufferRole::Values, w, values);
    finish(node, wk.raws)
}

/// Compresses the collected buffers (in parallel) and records their sizes.
fn finish(mut node: ArrayNode, raws: Vec<Raw>) -> Result<(ArrayNode, Vec<EncodedBuffer>)> {
    let encoded: Vec<(EncodedBuffer, u64)> = raws
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

/// Bytes `range` of the concatenation of `parts` (whose start offsets are
/// `starts`), borrowed when they lie in one part.
fn bytes_of<'a>(parts: &'a [Buffer], starts: &[usize], range: Range<usize>) -> Cow<'a, [u8]> {
    let p = starts
        .partition_point(|&s| s <= range.start)
        .saturating_sub(1);
    let (s, part) = (starts[p], &parts[p]);
    if range.end - s <= part.len() {
        return Cow::Borrowed(&part.as_slice()[range.start - s..range.end - s]);
    }
    let mut out = Vec::with_capacity(range.len());
    let mut at = range.start;
    for (i, part) in parts.iter().enumerate().skip(p) {
        let s = starts[i];
        let (a, b) = (at.max(s), range.end.min(s + part.len()));
        if a < b {
            out.extend_from_slice(&part.as_slice()[a - s..b - s]);
            at = b;
        }
        if at >= range.end {
            break;
        }
    }
    Cow::Owned(out)
}

/// The bytes a filter trial compresses: the middle of the first chunk, whole
/// items, at most [`super::TUNE_SAMPLE`] bytes.
fn sample(bytes: &[u8], chunksize: usize, typesize: usize) -> &[u8] {
    let first = &bytes[..bytes.len().min(chunksize)];
    let n = super::TUNE_SAMPLE.min(first.len());
    let n = n - n % typesize.max(1);
    let start = (first.len() - n) / 2;
    let start = start - start % typesize.max(1);
    &first[start..start + n]
}

/// The parameters [`Compression::tune_filters`] picks from a trial on `sample`
/// (one block of the real block size, so the trial sees the real split into
/// streams): the smallest filters with the buffer's codec; then, for ZSTD, LZ4
/// with those filters when it is at most [`super::LZ4_MARGIN`] larger (LZ4
/// decodes about three times faster), else for `text` (variable-size bytes)
/// LZ4HC when it is at most [`super::LZ4HC_MARGIN`] larger.
fn tune(
    c: &Compression,
    cparams: &CParams,
    typesize: usize,
    text: bool,
    sample: &[u8],
) -> Result<CParams> {
    let mut best: Option<(usize, CParams)> = None;
    for filters in c.candidates(typesize) {
        let slow = filters.contains(&Filter::ByteDelta);
        let cp = cparams.clone().with_filters(filters);
        let n = chunk::compress(&cp, sample)?.len();
        let better = match &best {
            None => true,
            Some((b, _)) if slow => (n as f64) < *b as f64 * super::BYTEDELTA_GAIN,
            Some((b, _)) => n < *b,
        };
        if better {
            best = Some((n, cp));
        }
    }
    let Some((n, cp)) = best else {
        return Ok(cparams.clone());
    };
    if c.codec != Codec::Zstd {
        return Ok(cp);
    }
    // Faster-decoding codecs with the same filters, each kept when the sample
    // grows by at most its margin.
    let mut alternatives = vec![(Codec::Lz4, 9, super::LZ4_MARGIN)];
    if text {
        alternatives.push((Codec::Lz4Hc, 1, super::LZ4HC_MARGIN));
    }
    for (codec, clevel, margin) in alternatives {
        let alt = cp.clone().with_codec(codec).with_clevel(clevel);
        if chunk::compress(&alt, sample)?.len() as f64 <= n as f64 * (1.0 + margin) {
            return Ok(alt);
        }
    }
    Ok(cp)
}

/// Compresses one buffer, its chunks in parallel.
fn compress(r: &Raw) -> Result<SChunk> {
    let mut cparams = r.compression.cparams(r.typesize);
    let mut starts = Vec::with_capacity(r.parts.len());
    let mut total = 0usize;
    for p in &r.parts {
        starts.push(total);
        total += p.len();
    }
    if r.compression.tune_filters && total > 0 {
        let first = bytes_of(&r.parts, &starts, 0..total.min(r.chunksize));
        let sample = sample(&first, r.chunksize, r.typesize);
        cparams = tune(&r.compression, &cparams, r.typesize, r.text, sample)?;
    }
    let storage = Storage::default().with_chunksize(r.chunksize);
    let mut sc = SChunk::with_storage(cparams.clone(), DParams::default(), &storage)?;
    let cs = r.chunksize.max(1);
    let chunks: Vec<Vec<u8>> = (0..total.div_ceil(cs))
        .into_par_iter()
        .map(|i| {
            let c = bytes_of(&r.parts, &starts, i * cs..((i + 1) * cs).min(total));
            chunk::compress(&cparams, &c)
        })
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
        self.push_parts(node, dt, key, role, typesize, vec![bytes]);
    }

    /// Adds a buffer made of `parts` (concatenated).
    fn push_parts(
        &mut self,
        node: &mut ArrayNode,
        dt: &DataType,
        key: &str,
        role: BufferRole,
        typesize: usize,
        parts: Vec<Buffer>,
    ) {
        let nbytes = parts.iter().map(|p| p.len() as u64).sum::<u64>();
        let path = (nbytes > 0).then(|| format!("{key}.{}.b2frame", role.name()));
        // Dictionary keys are fixed-width integers, whatever the column's type.
        let keys_dt;
        let dt = if node.encoding == Some(Encoding::Dictionary) && role == BufferRole::Values {
            keys_dt = match typesize {
                1 => DataType::UInt8,
                2 => DataType::UInt16,
                _ => DataType::UInt32,
            };
            &keys_dt
        } else {
            dt
        };
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
                parts,
                typesize,
                chunksize,
                compression,
                text: role == BufferRole::Values && typesize == 1 && !is_fixed_width(dt),
            });
        }
        node.buffers.push(BufferMeta {
            role,
            path,
            typesize: typesize as u32,
            nbytes,
            cbytes: 0,
            frame_len: 0,
            chunksize: chunksize as u64,
            chunk_offsets: Vec::new(),
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
            encoding: None,
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
                if !self.dictionary::<i32>(&mut node, data, dt, key, name)? {
                    self.var_size::<i32>(&mut node, data, dt, key, name)?
                }
            }
            DataType::LargeUtf8 | DataType::LargeBinary => {
                if !self.dictionary::<i64>(&mut node, data, dt, key, name)? {
                    self.var_size::<i64>(&mut node, data, dt, key, name)?
                }
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
                // Stored in the layout of Utf8/Binary (offsets + bytes, or a
                // dictionary of them): smaller than 16-byte views, and reads rebuild
                // the views from it (see `Encoding::VarSize`).
                let flat = flatten_views(data, dt, name)?;
                let flat_dt = flat.data_type().clone();
                let wide = matches!(flat_dt, DataType::LargeUtf8 | DataType::LargeBinary);
                let dictionary = if wide {
                    self.dictionary::<i64>(&mut node, &flat, &flat_dt, key, name)?
                } else {
                    self.dictionary::<i32>(&mut node, &flat, &flat_dt, key, name)?
                };
                if dictionary {
                    node.encoding = Some(Encoding::VarSizeDictionary);
                } else {
                    if wide {
                        self.var_size::<i64>(&mut node, &flat, &flat_dt, key, name)?
                    } else {
                        self.var_size::<i32>(&mut node, &flat, &flat_dt, key, name)?
                    }
                    node.encoding = Some(Encoding::VarSize);
                }
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

    /// Dictionary-encodes a string or binary array with few distinct values
    /// (see [`EncodeOptions::dictionary`]): pushes one key per row as the values
    /// buffer and walks the distinct values, in order of first occurrence, as
    /// child 0. Returns `false`, having pushed nothing, when the array has too many
    /// distinct values (the scan stops early once more than half of the rows seen
    /// are new values).
    fn dictionary<T: Copy + Into<i64>>(
        &mut self,
        node: &mut ArrayNode,
        data: &ArrayData,
        dt: &DataType,
        key: &str,
        name: &str,
    ) -> Result<bool> {
        let (off, len) = (data.offset(), data.len());
        if !self.options.dictionary || self.in_dictionary || len < 64 {
            return Ok(false);
        }
        let (Some(obuf), Some(vbuf)) = (data.buffers().first(), data.buffers().get(1)) else {
            return Ok(false);
        };
        let w = std::mem::size_of::<T>();
        let ob = obuf.as_slice();
        if ob.len() < (off + len + 1) * w {
            return Err(Error::invalid(
                "array",
                format!(
                    "field '{name}': offsets buffer of {} bytes is too short",
                    ob.len()
                ),
            ));
        }
        let at = |i: usize| -> i64 {
            let b = &ob[(off + i) * w..(off + i + 1) * w];
            if w == 4 {
                i64::from(i32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
            } else {
                i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
            }
        };
        let values = vbuf.as_slice();
        let nulls = data.nulls();
        let mut bad = None;
        let built = dict::build(values, len, len / DICTIONARY_MIN_ROWS_PER_VALUE, |i| {
            if nulls.is_some_and(|n| n.is_null(i)) {
                return None;
            }
            let (a, b) = (at(i), at(i + 1));
            match usize::try_from(a).ok().zip(usize::try_from(b).ok()) {
                Some((a, b)) if a <= b && b <= values.len() => Some((a, b)),
                _ => {
                    bad.get_or_insert((i, a, b));
                    None
                }
            }
        });
        if let Some((i, a, b)) = bad {
            return Err(Error::invalid(
                "array",
                format!("field '{name}': value {i} at {a}..{b} is out of bounds"),
            ));
        }
        let Some(dict::Dictionary {
            keys,
            values: distinct,
        }) = built
        else {
            return Ok(false);
        };
        if distinct.is_empty() {
            return Ok(false);
        }
        node.encoding = Some(Encoding::Dictionary);
        let width = match distinct.len() {
            0..=256 => 1,
            257..=65_536 => 2,
            _ => 4,
        };
        let mut kb = Vec::with_capacity(len * width);
        match width {
            1 => kb.extend(keys.iter().map(|&k| k as u8)),
            2 => kb.extend(keys.iter().flat_map(|&k| (k as u16).to_le_bytes())),
            _ => kb.extend(keys.iter().flat_map(|&k| k.to_le_bytes())),
        }
        self.push(
            node,
            dt,
            key,
            BufferRole::Values,
            width,
            Buffer::from_vec(kb),
        );
        // The distinct values as an array of the column's type.
        let wide = std::mem::size_of::<T>() == 8;
        let mut ob: Vec<u8> = Vec::with_capacity((distinct.len() + 1) * if wide { 8 } else { 4 });
        let mut vb: Vec<u8> = Vec::with_capacity(distinct.iter().map(|v| v.len()).sum());
        let push_offset = |o: usize, ob: &mut Vec<u8>| {
            if wide {
                ob.extend_from_slice(&(o as i64).to_le_bytes());
            } else {
                ob.extend_from_slice(&(o as i32).to_le_bytes());
            }
        };
        push_offset(0, &mut ob);
        for v in &distinct {
            vb.extend_from_slice(v);
            push_offset(vb.len(), &mut ob);
        }
        let dict = ArrayData::builder(dt.clone())
            .len(distinct.len())
            .add_buffer(Buffer::from_vec(ob))
            .add_buffer(Buffer::from_vec(vb))
            .build()?;
        self.in_dictionary = true;
        let child = self.walk(&dict, dt, &child_path(name, "values"), &format!("{key}.0"));
        self.in_dictionary = false;
        node.children.push(child?);
        Ok(true)
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
}

/// The string or binary view array `data` (of type `dt`) as the equivalent
/// `Utf8`/`Binary` array (`LargeUtf8`/`LargeBinary` past 2 GiB of bytes): the
/// values' bytes in row order, null rows empty, the same validity.
fn flatten_views(data: &ArrayData, dt: &DataType, name: &str) -> Result<ArrayData> {
    let (off, len) = (data.offset(), data.len());
    let buffers = data.buffers();
    let views_buf = buffers
        .first()
        .ok_or_else(|| Error::invalid("array", format!("field '{name}' has no views")))?;
    let raw = slice_checked(views_buf, off * 16, len * 16, name)?;
    let mut ends: Vec<u64> = Vec::with_capacity(len);
    let mut bytes: Vec<u8> = Vec::new();
    for (i, v) in raw.as_slice().chunks_exact(16).enumerate() {
        let valid = data.nulls().is_none_or(|n| n.is_valid(i));
        let l = u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize;
        if valid && l <= 12 {
            let inline = v.get(4..4 + l).ok_or_else(|| {
                Error::invalid("array", format!("field '{name}': view {i} is malformed"))
            })?;
            bytes.extend_from_slice(inline);
        } else if valid {
            let bi = u32::from_le_bytes([v[8], v[9], v[10], v[11]]) as usize;
            let o = u32::from_le_bytes([v[12], v[13], v[14], v[15]]) as usize;
            let src = buffers
                .get(1 + bi)
                .and_then(|b| b.as_slice().get(o..o + l))
                .ok_or_else(|| {
                    Error::invalid("array", format!("field '{name}': view {i} out of bounds"))
                })?;
            bytes.extend_from_slice(src);
        }
        ends.push(bytes.len() as u64);
    }
    let utf8 = matches!(dt, DataType::Utf8View);
    let wide = bytes.len() > i32::MAX as usize;
    let (flat_dt, offsets) = if wide {
        let o: Vec<i64> = std::iter::once(0)
            .chain(ends.iter().map(|&e| e as i64))
            .collect();
        let t = if utf8 {
            DataType::LargeUtf8
        } else {
            DataType::LargeBinary
        };
        (t, Buffer::from_vec(o))
    } else {
        let o: Vec<i32> = std::iter::once(0)
            .chain(ends.iter().map(|&e| e as i32))
            .collect();
        let t = if utf8 {
            DataType::Utf8
        } else {
            DataType::Binary
        };
        (t, Buffer::from_vec(o))
    };
    Ok(ArrayData::builder(flat_dt)
        .len(len)
        .nulls(data.nulls().cloned())
        .add_buffer(offsets)
        .add_buffer(Buffer::from_vec(bytes))
        .build()?)
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
