//! Arrow arrays as super-chunks: every buffer of an Arrow array (validity
//! bitmap, offsets, values, views) becomes one [`SChunk`] whose typesize is the
//! buffer's element width, and row slices decode only the chunks and blocks
//! that hold them.
//!
//! ```text
//! Int64 [nulls]     → validity (typesize 1, bitmap) + values (typesize 8)
//! Utf8              → [validity] + offsets (4) + values (1)
//! List<T>           → [validity] + offsets (4) + child 0 (T)
//! Struct{a, b}      → [validity] + child 0 (a) + child 1 (b)
//! Dictionary<K, V>  → [validity] + values (keys, width of K) + child 0 (the dictionary, V)
//! Utf8View          → [validity] + offsets (4 or 8) + values (1), or a dictionary
//!                      (format 3; format 2 stored views (16) + values (1), still read)
//! ```
//!
//! The layout of one stored array is an [`ArrayNode`] tree (serialisable, it is
//! what a dataset manifest keeps); [`encode`] builds it with the super-chunks,
//! [`decode`] reads any row range back through a [`BufferSource`].
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
//! use arrow_schema::{DataType, Field};
//! use b2frame::arrow::{EncodeOptions, EncodedArray};
//! let ints: ArrayRef = Arc::new(Int64Array::from_iter((0..10_000).map(|i| (i % 7 != 0).then_some(i))));
//! let field = Field::new("x", DataType::Int64, true);
//! let enc = EncodedArray::encode(&ints, &field, &EncodeOptions::default())?;
//! assert_eq!(enc.read(100..200)?.as_ref(), ints.slice(100, 100).as_ref());
//! let strs: ArrayRef = Arc::new(StringArray::from(vec!["a", "bb", "ccc"]));
//! let enc = EncodedArray::encode(&strs, &Field::new("s", DataType::Utf8, false), &EncodeOptions::default())?;
//! assert_eq!(enc.read(1..3)?.as_ref(), strs.slice(1, 2).as_ref());
//! # Ok::<(), b2frame::Error>(())
//! ```

mod decode;
mod dict;
mod encode;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};
use serde::{Deserialize, Serialize};

use crate::chunk::params::{CParams, Codec, Filter};
use crate::error::{Error, Result};
use crate::schunk::SChunk;

pub(crate) use decode::check_empty as check_empty_source;
pub use decode::{decode, BufferSource};
pub(crate) use encode::encode_parts;
pub use encode::{encode, EncodedBuffer};
pub(crate) use stats::zone_stats_parts;
pub use stats::{zone_stats, CmpOp, Predicate, StatValue, ZoneStats};

/// What a stored buffer holds, named as the Arrow columnar format names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferRole {
    /// The validity bitmap (stored only when the array has nulls).
    Validity,
    /// The offsets of a variable-size type (4 or 8 bytes each, `length + 1` of them).
    Offsets,
    /// Fixed-width values, bitmap of booleans, variable-size bytes or dictionary keys.
    Values,
    /// The 16-byte views of `Utf8View` / `BinaryView`.
    Views,
}

impl BufferRole {
    /// The role's name as written in paths and `info --json`.
    pub fn name(self) -> &'static str {
        match self {
            BufferRole::Validity => "validity",
            BufferRole::Offsets => "offsets",
            BufferRole::Values => "values",
            BufferRole::Views => "views",
        }
    }
}

/// One stored buffer of an array: where its frame is and how big it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferMeta {
    /// What the buffer holds.
    pub role: BufferRole,
    /// The frame's key (a path relative to the dataset); `None` for an empty buffer,
    /// which has no frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Bytes per item: the Arrow element width (1 for bitmaps and variable-size bytes).
    pub typesize: u32,
    /// Uncompressed bytes.
    pub nbytes: u64,
    /// Compressed bytes of the chunks.
    pub cbytes: u64,
    /// Size of the frame file (0 until written).
    #[serde(default)]
    pub frame_len: u64,
    /// Uncompressed bytes per chunk of the frame (0: not recorded; readers then
    /// read the frame's footer).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chunksize: u64,
    /// Where the chunks lie in the frame: chunk `i` is bytes
    /// `chunk_offsets[i]..chunk_offsets[i + 1]` (empty: not recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunk_offsets: Vec<u64>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl BufferMeta {
    /// Number of items (`nbytes / typesize`).
    pub fn items(&self) -> u64 {
        self.nbytes / u64::from(self.typesize.max(1))
    }
}

/// The stored layout of one array: its length, null count, buffers and children.
///
/// Children are, by type: the element array of lists and maps, the fields of a
/// struct, the element array of a fixed-size list, the dictionary of a dictionary
/// array. The data type itself is not stored here: it comes from the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayNode {
    /// Number of rows (slots) of this array.
    pub length: u64,
    /// Number of nulls.
    pub null_count: u64,
    /// The stored buffers (at most one per role).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buffers: Vec<BufferMeta>,
    /// The child arrays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ArrayNode>,
    /// How the values are stored when not as the type's own buffers (`None`: as
    /// the Arrow buffers of the type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

/// How an array's values are stored instead of the Arrow buffers of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Encoding {
    /// Dictionary encoding of a string or binary array: the `values` buffer holds
    /// one key per row (unsigned, 1, 2 or 4 bytes: `typesize`), child 0 the
    /// distinct values (an array of the same type). Reads decode the keys of the
    /// rows asked and gather the values, so they return the column's own type.
    Dictionary,
    /// A `Utf8View`/`BinaryView` array stored in the layout of `Utf8`/`Binary`
    /// (offsets of 4 bytes, or 8 for `LargeUtf8`/`LargeBinary` when its bytes pass
    /// 2 GiB, and the values' bytes; no `views` buffer). Reads rebuild the views,
    /// pointing into one data buffer (format version 3).
    VarSize,
    /// A `Utf8View`/`BinaryView` array dictionary-encoded as [`Encoding::Dictionary`]
    /// describes, its child 0 holding the distinct values as `Utf8`/`Binary` (or the
    /// large types, by the child's offsets width). Reads build each distinct value's
    /// view once and gather them (format version 3).
    VarSizeDictionary,
}

impl ArrayNode {
    /// The buffer with `role`, if stored.
    pub fn buffer(&self, role: BufferRole) -> Option<&BufferMeta> {
        self.buffers.iter().find(|b| b.role == role)
    }

    /// Every buffer of this node and its descendants, depth first.
    pub fn all_buffers(&self) -> Vec<&BufferMeta> {
        let mut out: Vec<&BufferMeta> = self.buffers.iter().collect();
        for c in &self.children {
            out.extend(c.all_buffers());
        }
        out
    }

    /// Mutable access to every buffer of this node and its descendants.
    pub(crate) fn for_each_buffer_mut(&mut self, f: &mut impl FnMut(&mut BufferMeta)) {
        for b in &mut self.buffers {
            f(b);
        }
        for c in &mut self.children {
            c.for_each_buffer_mut(f);
        }
    }
}

/// How one buffer is compressed: codec, level and filters (the typesize comes from
/// the buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    /// The codec.
    pub codec: Codec,
    /// Compression level 0..=9.
    pub clevel: u8,
    /// Filters, applied in order (for typesize 1 shuffles are no-ops).
    pub filters: Vec<Filter>,
    /// Block size in bytes (0 = automatic).
    pub blocksize: usize,
    /// Try candidate filter pipelines on a 64 KiB sample of the buffer's first
    /// chunk and keep the smallest for the whole buffer (`filters` is then
    /// ignored): for buffers wider than one byte shuffle, bitshuffle and shuffle +
    /// bytedelta (bytedelta, slower to decode, only when it saves 5%), for one-byte
    /// buffers none and bitshuffle. With [`Codec::Zstd`], the buffer then uses
    /// LZ4 (clevel 9) instead when that makes the sample at most 10% larger: LZ4
    /// decodes about three times faster; for the bytes of strings and binary,
    /// failing that, LZ4HC (clevel 1) when it is at most 50% larger.
    pub tune_filters: bool,
}

/// Default block size of fixed-width buffers (values, offsets, keys): a
/// 1,000-row slice decodes one or two such blocks.
pub const DEFAULT_BLOCKSIZE: usize = 64 << 10;
/// Default block size of variable-size bytes (strings, binary): text
/// compresses much better in larger blocks.
pub const DEFAULT_BYTES_BLOCKSIZE: usize = 256 << 10;

impl Compression {
    /// A compression with `codec`, `clevel` and `filters`, automatic block size.
    pub fn new(codec: Codec, clevel: u8, filters: impl IntoIterator<Item = Filter>) -> Self {
        Compression {
            codec,
            clevel,
            filters: filters.into_iter().collect(),
            blocksize: 0,
            tune_filters: false,
        }
    }

    /// The default for a buffer of an array of type `dt` (see `docs/FORMAT.md`):
    /// validity bitmaps LZ4 clevel 9 and boolean bitmaps ZSTD clevel 1 (zstd
    /// level 1), both unfiltered in automatic blocks; other buffers ZSTD clevel 1
    /// with the filters (and maybe LZ4) that [`Compression::tune_filters`] picks,
    /// in blocks of [`DEFAULT_BLOCKSIZE`] ([`DEFAULT_BYTES_BLOCKSIZE`] for
    /// variable-size bytes).
    pub fn default_for(dt: &DataType, role: BufferRole, typesize: usize) -> Self {
        let mut c = Compression::new(Codec::Zstd, 1, [Filter::Shuffle]);
        if role == BufferRole::Validity {
            // A bitmap of an eighth of the rows' count: LZ4 costs a few bytes
            // more than ZSTD but a slice decodes only up to its bits, without
            // ZSTD's table set-up (a third of a 1000-row slice's time).
            return Compression::new(Codec::Lz4, 9, []);
        }
        if matches!(dt, DataType::Boolean) {
            c.filters.clear();
            return c;
        }
        c.tune_filters = true;
        let fixed = dt.primitive_width().is_some() || matches!(dt, DataType::FixedSizeBinary(_));
        c.blocksize = if typesize <= 1 && !fixed {
            DEFAULT_BYTES_BLOCKSIZE
        } else {
            DEFAULT_BLOCKSIZE
        };
        if typesize <= 1 {
            c.filters.clear();
        }
        c
    }

    /// The filter pipelines [`Compression::tune_filters`] tries for items of
    /// `typesize` bytes, the ones slower to decode last.
    pub(crate) fn candidates(&self, typesize: usize) -> Vec<Vec<Filter>> {
        if typesize <= 1 {
            return vec![vec![], vec![Filter::BitShuffle]];
        }
        vec![
            vec![Filter::Shuffle],
            vec![Filter::BitShuffle],
            vec![Filter::Shuffle, Filter::ByteDelta],
        ]
    }

    /// The chunk parameters for a buffer of `typesize` bytes per item.
    pub fn cparams(&self, typesize: usize) -> CParams {
        let filters = if typesize <= 1 {
            self.filters
                .iter()
                .copied()
                .filter(|f| !matches!(f, Filter::Shuffle | Filter::ByteDelta))
                .collect::<Vec<_>>()
        } else {
            self.filters.clone()
        };
        CParams::default()
            .with_codec(self.codec)
            .with_clevel(self.clevel)
            .with_typesize(typesize.max(1))
            .with_filters(filters)
            .with_blocksize(self.blocksize)
            .with_nthreads(1)
    }
}

/// Bytes of a buffer's first chunk that [`Compression::tune_filters`] compresses
/// with each candidate.
pub(crate) const TUNE_SAMPLE: usize = 64 << 10;
/// Shuffle + bytedelta (slower to decode) is kept only when it makes the sample
/// this much smaller than the best other pipeline.
pub(crate) const BYTEDELTA_GAIN: f64 = 0.95;
/// LZ4 replaces ZSTD when it makes the sample at most this much larger.
pub(crate) const LZ4_MARGIN: f64 = 0.10;
/// LZ4HC (clevel 1) replaces ZSTD for the bytes of strings and binary when it
/// makes the sample at most this much larger. It decodes text ~2.4× faster
/// (TPC-H `l_comment`: 4.1 against 1.7 GB/s), and a local full read is bound by
/// decoding, not by reading the bytes. Text whose gain is mostly repeated words
/// lands within the margin (`l_comment` 1.31× ZSTD's size, random words or
/// base64 1.33–1.36×, flights' strings 1.36–1.46×); text whose gain is entropy
/// coding stays ZSTD (digits, hex, decimals, URLs, JSON logs, names:
/// 1.60–1.76×).
pub(crate) const LZ4HC_MARGIN: f64 = 0.5;

/// Options for encoding arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Rows per chunk of fixed-width buffers (chunks of `chunk_rows × typesize`
    /// bytes, capped at 16 MiB); also the row granularity of the statistics.
    pub chunk_rows: usize,
    /// Chunk size in bytes of variable-size byte buffers.
    pub bytes_chunksize: usize,
    /// Compression of the values (and views) buffers of top-level columns, by
    /// column name, overriding [`Compression::default_for`].
    pub columns: HashMap<String, Compression>,
    /// Dictionary-encode string and binary arrays (`Utf8`, `LargeUtf8`,
    /// `Binary`, `LargeBinary`) that have at most one distinct value per
    /// [`DICTIONARY_MIN_ROWS_PER_VALUE`] rows (see [`Encoding::Dictionary`]).
    /// Reads return the column's own type either way. Default: on.
    pub dictionary: bool,
}

/// Dictionary encoding is used when every distinct value occurs this many times
/// on average (at least).
pub const DICTIONARY_MIN_ROWS_PER_VALUE: usize = 4;

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            chunk_rows: 1 << 17,
            bytes_chunksize: 1 << 20,
            columns: HashMap::new(),
            dictionary: true,
        }
    }
}

impl EncodeOptions {
    /// Sets the rows per chunk.
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(8);
        self
    }
    /// Sets the compression of one column's values.
    pub fn with_column(mut self, name: impl Into<String>, compression: Compression) -> Self {
        self.columns.insert(name.into(), compression);
        self
    }
    /// Turns dictionary encoding of low-cardinality string and binary arrays on
    /// or off.
    pub fn with_dictionary(mut self, on: bool) -> Self {
        self.dictionary = on;
        self
    }
}

/// An array stored as super-chunks in memory: its layout and one [`SChunk`] per
/// non-empty buffer, keyed by the buffer's path.
#[derive(Debug, Clone)]
pub struct EncodedArray {
    /// The field (name, type, nullability) the array was encoded as.
    pub field: Field,
    /// The stored layout.
    pub node: ArrayNode,
    /// The super-chunks by buffer path.
    pub schunks: BTreeMap<String, SChunk>,
}

impl EncodedArray {
    /// Encodes `array` (of `field`'s type) with the buffer paths prefixed by the
    /// field name.
    ///
    /// # Errors
    /// `Unsupported` naming the field for types that cannot be stored (unions,
    /// run-end encoded, list views); `InvalidArgument` when the array's type differs
    /// from the field's; compression errors.
    pub fn encode(array: &ArrayRef, field: &Field, options: &EncodeOptions) -> Result<Self> {
        let (node, buffers) = encode(array.as_ref(), field, field.name(), options)?;
        let schunks = buffers.into_iter().map(|b| (b.path, b.schunk)).collect();
        Ok(EncodedArray {
            field: field.clone(),
            node,
            schunks,
        })
    }

    /// Decodes rows `rows` (decoding only the chunks and blocks they touch).
    ///
    /// # Errors
    /// `InvalidArgument` for a range past the end; decoding errors.
    pub fn read(&self, rows: Range<u64>) -> Result<ArrayRef> {
        decode(&self.node, &self.field, rows, &self.schunks)
    }

    /// Compressed bytes of all buffers.
    pub fn cbytes(&self) -> u64 {
        self.node.all_buffers().iter().map(|b| b.cbytes).sum()
    }
}

impl BufferSource for BTreeMap<String, SChunk> {
    fn read_into(&self, buffer: &BufferMeta, items: Range<u64>, dst: &mut [u8]) -> Result<()> {
        let Some(path) = &buffer.path else {
            return decode::check_empty(buffer, &items);
        };
        let sc = self
            .get(path)
            .ok_or_else(|| Error::invalid("buffer", format!("no super-chunk for {path}")))?;
        let start =
            usize::try_from(items.start).map_err(|_| Error::invalid("items", "too large"))?;
        let end = usize::try_from(items.end).map_err(|_| Error::invalid("items", "too large"))?;
        sc.read_into(start..end, dst)?;
        Ok(())
    }
}

/// The path of a field inside a schema, for error messages (`a.b.item`).
pub(crate) fn child_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// The error for a type b2frame cannot store.
pub(crate) fn unsupported_type(path: &str, dt: &DataType) -> Error {
    Error::unsupported(
        "arrow type",
        format!("field '{path}' has type {dt}, which b2frame cannot store"),
    )
}

/// Checks that every type in `field` (recursively) can be stored.
///
/// # Errors
/// `Unsupported` naming the first field whose type cannot be stored.
pub fn check_supported(field: &Field) -> Result<()> {
    check_type(field.name(), field.data_type())
}

fn check_type(path: &str, dt: &DataType) -> Result<()> {
    match dt {
        DataType::Union(..)
        | DataType::RunEndEncoded(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => Err(unsupported_type(path, dt)),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => check_type(&child_path(path, f.name()), f.data_type()),
        DataType::Struct(fields) => fields
            .iter()
            .try_for_each(|f| check_type(&child_path(path, f.name()), f.data_type())),
        DataType::Dictionary(k, v) => {
            if !k.is_dictionary_key_type() {
                return Err(unsupported_type(path, dt));
            }
            check_type(&child_path(path, "values"), v)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int32Array};
    use std::sync::Arc;

    #[test]
    fn int32_round_trip_with_nulls_and_typesize_4() {
        let a: ArrayRef = Arc::new(Int32Array::from_iter(
            (0..1000).map(|i| (i % 3 != 0).then_some(i)),
        ));
        let f = Field::new("v", DataType::Int32, true);
        let e =
            EncodedArray::encode(&a, &f, &EncodeOptions::default().with_chunk_rows(64)).unwrap();
        let values = e.node.buffer(BufferRole::Values).unwrap();
        assert_eq!((values.typesize, values.nbytes), (4, 4000));
        assert_eq!(e.node.null_count, 334);
        assert!(e.node.buffer(BufferRole::Validity).is_some());
        let back = e.read(10..700).unwrap();
        assert_eq!(back.as_ref(), a.slice(10, 690).as_ref());
        assert_eq!(e.read(0..0).unwrap().len(), 0);
    }

    #[test]
    fn dictionary_keys_past_the_dictionary_are_corrupt() {
        use arrow_array::StringArray;
        let a: ArrayRef = Arc::new(StringArray::from_iter(
            (0..1000).map(|i| (i % 7 != 0).then(|| ["x", "yy", "zzz"][i % 3])),
        ));
        let f = Field::new("s", DataType::Utf8, true);
        let mut e = EncodedArray::encode(&a, &f, &EncodeOptions::default()).unwrap();
        assert_eq!(e.node.encoding, Some(Encoding::Dictionary));
        assert_eq!(e.read(0..1000).unwrap().as_ref(), a.as_ref());
        assert_eq!(
            e.read(333..345).unwrap().as_ref(),
            a.slice(333, 12).as_ref()
        );
        let keys = e
            .node
            .buffer(BufferRole::Values)
            .unwrap()
            .path
            .clone()
            .unwrap();
        e.schunks
            .get_mut(&keys)
            .unwrap()
            .set_slice(3..4, &[200])
            .unwrap();
        let err = e.read(0..10).unwrap_err().to_string();
        assert!(err.contains("dictionary key 200"), "{err}");
        // Values of every gather width (8, 16, 32 bytes and longer), with nulls.
        for len in [3, 12, 30, 70] {
            let a: ArrayRef = Arc::new(arrow_array::LargeStringArray::from_iter(
                (0..5000).map(|i| (i % 9 != 0).then(|| format!("{:0>len$}", i % 17))),
            ));
            let f = Field::new("s", DataType::LargeUtf8, true);
            let e = EncodedArray::encode(&a, &f, &EncodeOptions::default()).unwrap();
            assert_eq!(e.node.encoding, Some(Encoding::Dictionary));
            assert_eq!(e.read(0..5000).unwrap().as_ref(), a.as_ref(), "{len}");
            assert_eq!(
                e.read(17..4000).unwrap().as_ref(),
                a.slice(17, 3983).as_ref()
            );
        }
    }

    #[test]
    fn unsupported_types_name_the_field() {
        use arrow_schema::{UnionFields, UnionMode};
        let u = DataType::Union(UnionFields::empty(), UnionMode::Sparse);
        let f = Field::new(
            "outer",
            DataType::Struct(vec![Field::new("u", u, true)].into()),
            true,
        );
        let e = check_supported(&f).unwrap_err().to_string();
        assert!(e.contains("outer.u"), "{e}");
    }
}
