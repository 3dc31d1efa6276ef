//! The Polars source of a b2frame dataset or of one `.b2frame`/`.b2nd` column:
//! an [`AnonymousScan`] that receives Polars' projection, predicate and head and
//! reads only the columns, chunks and blocks they need.

use std::any::Any;
use std::ops::Range;
use std::sync::Arc;

use ::polars::prelude::{
    polars_bail, AnonymousScan, AnonymousScanArgs, DataFrame, Expr, IntoLazy, LazyFrame, OptFlags,
    PlSmallStr, PolarsResult, Schema as PlSchema, SchemaRef as PlSchemaRef,
};
use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};

use super::{convert, predicate, to_polars};
use crate::dataset::{unwrap_arrow_error, Dataset, ScanOptions};
use crate::{DType, NdArray, SChunk};

/// Where the rows come from.
pub(crate) enum Source {
    /// A dataset (directory or store prefix).
    Dataset(Dataset),
    /// One column held in a super-chunk (a `.b2frame` or a 1-D `.b2nd`).
    Column(Box<ColumnFrame>),
}

/// One fixed-width column stored as a super-chunk.
pub(crate) struct ColumnFrame {
    /// The column's Arrow field.
    pub(crate) field: Field,
    /// The items.
    pub(crate) schunk: SChunk,
    /// Item count.
    pub(crate) len: u64,
}

impl ColumnFrame {
    /// A column from a super-chunk: its dtype from the `b2nd` metalayer when there is
    /// one, else `dtype` (the caller's), which must have the frame's typesize.
    pub(crate) fn new(name: &str, schunk: SChunk, dtype: Option<&ArrowType>) -> PolarsResult<Self> {
        let (schunk, arrow_type) = if schunk.metalayer("b2nd").is_some() {
            let nd = NdArray::from_schunk(schunk).map_err(to_polars)?;
            if nd.shape().len() != 1 {
                polars_bail!(InvalidOperation: "{name}: a {}-d array is not a column (only 1-d arrays scan)", nd.shape().len());
            }
            let t = arrow_type_of(nd.dtype()).ok_or_else(|| {
                ::polars::prelude::polars_err!(InvalidOperation: "{name}: numpy dtype {:?} has no Arrow column type", nd.dtype())
            })?;
            let len = nd.nitems() as u64;
            let sc = nd.into_schunk();
            return Ok(ColumnFrame {
                field: Field::new(name, t, false),
                schunk: sc,
                len,
            });
        } else {
            match dtype {
                Some(t) => (schunk, t.clone()),
                None => polars_bail!(InvalidOperation:
                    "{name}: the frame has no dtype metadata (no b2nd metalayer); pass the column's dtype with ScanArgsB2::with_dtype"),
            }
        };
        let width = match &arrow_type {
            ArrowType::Boolean => 1,
            t => match t.primitive_width() {
                Some(w) => w,
                None => polars_bail!(InvalidOperation: "{name}: {t} is not a fixed-width type"),
            },
        };
        if width != schunk.typesize() {
            polars_bail!(SchemaMismatch: "{name}: dtype {arrow_type} is {width} bytes wide but the frame's typesize is {}", schunk.typesize());
        }
        let len = schunk.nitems() as u64;
        Ok(ColumnFrame {
            field: Field::new(name, arrow_type, false),
            schunk,
            len,
        })
    }

    fn read(&self, rows: Range<u64>) -> PolarsResult<ArrayRef> {
        let bytes = self
            .schunk
            .read(rows.start as usize..rows.end as usize)
            .map_err(to_polars)?;
        let n = (rows.end - rows.start) as usize;
        if self.field.data_type() == &ArrowType::Boolean {
            return Ok(Arc::new(BooleanArray::from_iter(
                bytes.iter().map(|b| Some(*b != 0)),
            )));
        }
        let data = arrow_data::ArrayData::builder(self.field.data_type().clone())
            .len(n)
            .add_buffer(arrow_buffer::Buffer::from_vec(bytes))
            .align_buffers(true)
            .build()
            .map_err(
                |e| ::polars::prelude::polars_err!(ComputeError: "{}: {e}", self.field.name()),
            )?;
        Ok(arrow_array::make_array(data))
    }
}

/// The Arrow type of a numpy dtype, for the ones a column can hold.
fn arrow_type_of(dt: &DType) -> Option<ArrowType> {
    let unit = |u: &str| match u {
        "s" => Some(TimeUnit::Second),
        "ms" => Some(TimeUnit::Millisecond),
        "us" | "μs" => Some(TimeUnit::Microsecond),
        "ns" => Some(TimeUnit::Nanosecond),
        _ => None,
    };
    Some(match dt {
        DType::Bool => ArrowType::Boolean,
        DType::Int8 => ArrowType::Int8,
        DType::Int16 => ArrowType::Int16,
        DType::Int32 => ArrowType::Int32,
        DType::Int64 => ArrowType::Int64,
        DType::UInt8 => ArrowType::UInt8,
        DType::UInt16 => ArrowType::UInt16,
        DType::UInt32 => ArrowType::UInt32,
        DType::UInt64 => ArrowType::UInt64,
        DType::Float32 => ArrowType::Float32,
        DType::Float64 => ArrowType::Float64,
        DType::DateTime64(u) => ArrowType::Timestamp(unit(u)?, None),
        DType::TimeDelta64(u) => ArrowType::Duration(unit(u)?),
        _ => return None,
    })
}

/// The scan Polars drives.
pub(crate) struct B2Scan {
    pub(crate) source: Source,
    /// The Arrow schema of the source.
    pub(crate) arrow_schema: SchemaRef,
    /// Rows to read (the offset slice pushed down through `ScanArgsB2`).
    pub(crate) rows: Range<u64>,
    pub(crate) batch_size: usize,
}

impl B2Scan {
    pub(crate) fn new(
        source: Source,
        rows: Option<Range<u64>>,
        batch_size: usize,
    ) -> PolarsResult<Self> {
        let (arrow_schema, n) = match &source {
            Source::Dataset(ds) => (ds.schema(), ds.num_rows()),
            Source::Column(c) => (Arc::new(Schema::new(vec![c.field.clone()])), c.len),
        };
        let rows = match rows {
            None => 0..n,
            Some(r) if r.start <= r.end => r.start.min(n)..r.end.min(n),
            Some(r) => {
                polars_bail!(OutOfBounds: "rows {}..{} is an empty, reversed range", r.start, r.end)
            }
        };
        // Fail at scan time, not at collect time, on types Polars cannot hold.
        convert::polars_schema(&arrow_schema)?;
        Ok(B2Scan {
            source,
            arrow_schema,
            rows,
            batch_size: batch_size.max(1),
        })
    }

    /// The Polars schema.
    pub(crate) fn polars_schema(&self) -> PolarsResult<PlSchemaRef> {
        Ok(Arc::new(convert::polars_schema(&self.arrow_schema)?))
    }

    /// Reads `columns` of rows `rows`, pruning chunks with `pred`, as batches.
    pub(crate) fn read(
        &self,
        columns: &[String],
        rows: Range<u64>,
        pred: Option<crate::dataset::Predicate>,
    ) -> PolarsResult<(SchemaRef, Vec<RecordBatch>)> {
        match &self.source {
            Source::Dataset(ds) => {
                let mut opts = ScanOptions::default()
                    .with_columns(columns.iter().cloned())
                    .with_rows(rows)
                    .with_batch_size(self.batch_size);
                if let Some(p) = pred {
                    opts = opts.with_predicate(p);
                }
                let reader = ds.scan(opts).map_err(to_polars)?;
                let schema = arrow_array::RecordBatchReader::schema(&reader);
                let batches = reader
                    .map(|b| b.map_err(|e| to_polars(unwrap_arrow_error(e))))
                    .collect::<PolarsResult<Vec<_>>>()?;
                Ok((schema, batches))
            }
            Source::Column(c) => {
                let schema = Arc::new(Schema::new(
                    columns.iter().map(|_| c.field.clone()).collect::<Vec<_>>(),
                ));
                let mut batches = Vec::new();
                let mut s = rows.start;
                while s < rows.end {
                    let e = s.saturating_add(self.batch_size as u64).min(rows.end);
                    let a = c.read(s..e)?;
                    let cols = vec![a; columns.len()];
                    let opts = arrow_array::RecordBatchOptions::new()
                        .with_row_count(Some((e - s) as usize));
                    batches.push(
                        RecordBatch::try_new_with_options(schema.clone(), cols, &opts)
                            .map_err(|e| ::polars::prelude::polars_err!(ComputeError: "{e}"))?,
                    );
                    s = e;
                }
                Ok((schema, batches))
            }
        }
    }
}

impl B2Scan {
    /// Columns `wanted` of rows `rows` as one DataFrame, reading also the columns
    /// `predicate` needs, pruning chunks with it and filtering the rows exactly.
    pub(crate) fn frame(
        &self,
        wanted: &[String],
        rows: Range<u64>,
        predicate: Option<Expr>,
    ) -> PolarsResult<DataFrame> {
        let all: Vec<&String> = self
            .arrow_schema
            .fields()
            .iter()
            .map(|f| f.name())
            .collect();
        // Columns the predicate needs but the projection does not.
        let mut read = wanted.to_vec();
        if let Some(p) = &predicate {
            for c in polars_plan::utils::expr_to_leaf_column_names(p) {
                let c = c.to_string();
                if !read.contains(&c) && all.contains(&&c) {
                    read.push(c);
                }
            }
        }
        if read.is_empty() {
            // `select(len())` and the like: only the row count.
            return Ok(DataFrame::empty_with_height(
                (rows.end - rows.start) as usize,
            ));
        }
        let pruning = predicate
            .as_ref()
            .and_then(|p| predicate::to_predicate(p, &self.arrow_schema));
        let (schema, batches) = self.read(&read, rows, pruning)?;
        let mut df = convert::batches_to_df(&schema, &batches)?;
        if let Some(p) = predicate {
            df = df.lazy().filter(p).collect()?;
        }
        if read.len() != wanted.len() {
            df = df.select(wanted.iter().map(|s| PlSmallStr::from_str(s)))?;
        }
        Ok(df)
    }

    /// The plan every Polars engine runs: an opaque map over an empty frame with the
    /// source's schema. Polars pushes the projection into that frame, so the map sees
    /// which columns are wanted and reads only those; filters and slices stay above it.
    pub(crate) fn into_mapped_lazy(self) -> PolarsResult<LazyFrame> {
        let schema = self.polars_schema()?;
        let placeholder = DataFrame::empty_with_schema(&schema);
        let scan = Arc::new(self);
        let read = move |df: DataFrame| -> PolarsResult<DataFrame> {
            let wanted: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|c| c.to_string())
                .collect();
            scan.frame(&wanted, scan.rows.clone(), None)
        };
        let same_schema =
            |input: &PlSchema| -> PolarsResult<PlSchemaRef> { Ok(Arc::new(input.clone())) };
        Ok(placeholder.lazy().map(
            read,
            OptFlags::PROJECTION_PUSHDOWN,
            Some(Arc::new(same_schema)),
            Some("b2frame_streaming_scan"),
        ))
    }
}

impl AnonymousScan for B2Scan {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn scan(&self, args: AnonymousScanArgs) -> PolarsResult<DataFrame> {
        let wanted: Vec<String> = match &args.with_columns {
            Some(cols) => cols.iter().map(|c| c.to_string()).collect(),
            None => self
                .arrow_schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        };
        // Polars' pre-slice (`head`) applies to the stored rows, before the predicate.
        let mut rows = self.rows.clone();
        if let Some(n) = args.n_rows {
            rows.end = rows.end.min(rows.start.saturating_add(n as u64));
        }
        self.frame(&wanted, rows, args.predicate)
    }

    fn schema(&self, _infer_schema_length: Option<usize>) -> PolarsResult<PlSchemaRef> {
        self.polars_schema()
    }

    fn allows_predicate_pushdown(&self) -> bool {
        true
    }

    fn allows_projection_pushdown(&self) -> bool {
        true
    }
}
