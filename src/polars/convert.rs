//! Arrow-rs ⇄ Polars conversion through the Arrow C Data Interface: buffers
//! are handed over, not copied. Types Polars cannot hold are refused up front
//! with an error naming the column, before Polars code could panic on them.
#![allow(unsafe_code)]

use std::sync::Arc;

use ::polars::prelude::{
    polars_bail, polars_err, CompatLevel, DataFrame, DataType, PlSmallStr, PolarsError,
    PolarsResult, Series,
};
use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{make_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType as ArrowType, Field, FieldRef, Fields, Schema, SchemaRef};
use polars_arrow::ffi::{ArrowArray, ArrowSchema};

// The two crates define the same `#[repr(C)]` structs of the C Data Interface.
const _: () = assert!(std::mem::size_of::<FFI_ArrowArray>() == std::mem::size_of::<ArrowArray>());
const _: () = assert!(std::mem::size_of::<FFI_ArrowSchema>() == std::mem::size_of::<ArrowSchema>());

/// Checks that Polars can represent `dt` (recursively), naming `column` otherwise.
pub(crate) fn check_representable(column: &str, dt: &ArrowType) -> PolarsResult<()> {
    use ArrowType as A;
    let bad = |why: &str| -> PolarsResult<()> {
        polars_bail!(InvalidOperation: "column '{column}': Arrow type {dt} cannot be read into Polars ({why})")
    };
    match dt {
        A::Null
        | A::Boolean
        | A::Int8
        | A::Int16
        | A::Int32
        | A::Int64
        | A::UInt8
        | A::UInt16
        | A::UInt32
        | A::UInt64
        | A::Float16
        | A::Float32
        | A::Float64
        | A::Utf8
        | A::LargeUtf8
        | A::Utf8View
        | A::Binary
        | A::LargeBinary
        | A::BinaryView
        | A::FixedSizeBinary(_)
        | A::Date32
        | A::Date64
        | A::Time32(_)
        | A::Time64(_)
        | A::Duration(_) => Ok(()),
        A::Timestamp(_, Some(tz)) => {
            match ::polars::prelude::TimeZone::opt_try_new(Some(PlSmallStr::from_str(tz))) {
                Ok(_) => Ok(()),
                Err(_) => bad("unknown time zone"),
            }
        }
        A::Timestamp(_, None) => Ok(()),
        A::Decimal32(p, _) | A::Decimal64(p, _) | A::Decimal128(p, _) | A::Decimal256(p, _) => {
            if (1..=38).contains(p) {
                Ok(())
            } else {
                bad("Polars decimals have a precision of 1 to 38")
            }
        }
        A::List(f) | A::LargeList(f) | A::FixedSizeList(f, _) | A::Map(f, _) => {
            check_representable(column, f.data_type())
        }
        A::Struct(fields) => fields
            .iter()
            .try_for_each(|f| check_representable(column, f.data_type())),
        A::Dictionary(k, v) => {
            if !k.is_integer() {
                return bad("dictionary keys must be integers");
            }
            match v.as_ref() {
                A::Utf8 | A::LargeUtf8 | A::Utf8View => Ok(()),
                _ => bad("only string dictionaries become Categorical/Enum"),
            }
        }
        _ => bad("no Polars equivalent"),
    }
}

/// The Polars field (dtype with Categorical/Enum/extension metadata) of an arrow-rs field.
pub(crate) fn polars_field(field: &Field) -> PolarsResult<polars_arrow::datatypes::Field> {
    check_representable(field.name(), field.data_type())?;
    let ffi = FFI_ArrowSchema::try_from(field).map_err(|e| arrow_err(field.name(), e))?;
    // SAFETY: `ffi` is a valid, owned C Data Interface schema (just exported by arrow-rs);
    // the two structs have the same `#[repr(C)]` layout (size asserted above), so the value
    // moves over with its release callback, which polars' `Drop` calls exactly once.
    let schema: ArrowSchema = unsafe { std::mem::transmute::<FFI_ArrowSchema, ArrowSchema>(ffi) };
    // SAFETY: `schema` is valid per the C Data Interface (see above).
    unsafe { polars_arrow::ffi::import_field_from_c(&schema) }
}

/// The Polars schema of an Arrow schema.
pub(crate) fn polars_schema(schema: &Schema) -> PolarsResult<::polars::prelude::Schema> {
    let mut out = ::polars::prelude::Schema::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let pf = polars_field(f)?;
        let dtype = guarded(f.name(), || DataType::from_arrow_field(&pf))?;
        out.insert(PlSmallStr::from_str(f.name()), dtype);
    }
    Ok(out)
}

/// Runs a Polars conversion that panics on input it does not expect (e.g. malformed
/// Categorical metadata), turning a panic into an error naming the column.
fn guarded<T>(column: &str, f: impl FnOnce() -> T) -> PolarsResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| polars_err!(ComputeError: "column '{column}': Polars rejected its Arrow type or metadata"))
}

/// Moves one arrow-rs array into a Polars array.
fn to_polars_array(
    field: &polars_arrow::datatypes::Field,
    array: &ArrayRef,
) -> PolarsResult<Box<dyn polars_arrow::array::Array>> {
    let (ffi_array, _schema) = to_ffi(&array.to_data()).map_err(|e| arrow_err(&field.name, e))?;
    // SAFETY: `ffi_array` is a valid, owned C Data Interface array exported by arrow-rs;
    // identical `#[repr(C)]` layout (size asserted above), ownership (and the release
    // callback) moves to polars, whose import keeps the buffers alive until released.
    let c_array: ArrowArray =
        unsafe { std::mem::transmute::<FFI_ArrowArray, ArrowArray>(ffi_array) };
    // SAFETY: `c_array` was exported for `array`, whose data type `field.dtype` describes.
    unsafe { polars_arrow::ffi::import_array_from_c(c_array, field.dtype.clone()) }
}

/// Builds a DataFrame from record batches of `schema` (all columns, in order).
pub(crate) fn batches_to_df(schema: &Schema, batches: &[RecordBatch]) -> PolarsResult<DataFrame> {
    let height: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, f) in schema.fields().iter().enumerate() {
        let pf = polars_field(f)?;
        let chunks = batches
            .iter()
            .map(|b| to_polars_array(&pf, b.column(i)))
            .collect::<PolarsResult<Vec<_>>>()?;
        let series = if chunks.is_empty() {
            let dtype = guarded(f.name(), || DataType::from_arrow_field(&pf))?;
            Series::new_empty(PlSmallStr::from_str(f.name()), &dtype)
        } else {
            guarded(f.name(), || Series::try_from((&pf, chunks)))??
        };
        columns.push(series.into());
    }
    DataFrame::new(height, columns)
}

/// The arrow-rs field of a Polars Arrow field (metadata included).
fn arrow_field(field: &polars_arrow::datatypes::Field) -> PolarsResult<Field> {
    let c_schema = polars_arrow::ffi::export_field_to_c(field);
    // SAFETY: just exported by polars as a valid, owned C Data Interface schema; identical
    // `#[repr(C)]` layout (size asserted above); arrow-rs releases it once on drop.
    let ffi = unsafe { std::mem::transmute::<ArrowSchema, FFI_ArrowSchema>(c_schema) };
    Field::try_from(&ffi).map_err(|e| arrow_err(field.name.as_str(), e))
}

/// Moves one Polars array into an arrow-rs array and its field.
fn to_arrow_array(
    field: &polars_arrow::datatypes::Field,
    array: Box<dyn polars_arrow::array::Array>,
) -> PolarsResult<(Field, ArrayRef)> {
    if field.dtype == polars_arrow::datatypes::ArrowDataType::Null {
        // Polars exports Null arrays with a buffer the C Data Interface does not have.
        let f = Field::new(field.name.as_str(), ArrowType::Null, true);
        return Ok((
            f,
            arrow_array::new_null_array(&ArrowType::Null, array.len()),
        ));
    }
    let c_array = polars_arrow::ffi::export_array_to_c(array);
    let c_schema = polars_arrow::ffi::export_field_to_c(field);
    // SAFETY: both were just exported by polars as valid, owned C Data Interface values;
    // identical `#[repr(C)]` layouts (sizes asserted above); arrow-rs takes ownership and
    // calls each release callback once.
    let (ffi_array, ffi_schema) = unsafe {
        (
            std::mem::transmute::<ArrowArray, FFI_ArrowArray>(c_array),
            std::mem::transmute::<ArrowSchema, FFI_ArrowSchema>(c_schema),
        )
    };
    let name = field.name.as_str();
    let arrow_field = Field::try_from(&ffi_schema).map_err(|e| arrow_err(name, e))?;
    // SAFETY: `ffi_array` and `ffi_schema` describe the same array (exported together).
    let data = unsafe { from_ffi(ffi_array, &ffi_schema) }.map_err(|e| arrow_err(name, e))?;
    Ok((arrow_field, make_array(data)))
}

/// The Arrow schema a DataFrame is stored as: Polars' own Arrow types with views and
/// large offsets replaced by the classic ones (`Utf8`, `Binary`, `List`), so that stored
/// schemas are what pyarrow and arrow-rs users expect and never drift between writes.
pub(crate) fn storage_schema(df: &DataFrame) -> PolarsResult<SchemaRef> {
    let mut fields = Vec::with_capacity(df.width());
    for c in df.columns() {
        let pf = c.field().to_arrow(CompatLevel::newest());
        fields.push(classic_field(&arrow_field(&pf)?));
    }
    Ok(Arc::new(Schema::new(fields)))
}

fn classic_field(f: &Field) -> Field {
    Field::new(f.name(), classic_type(f.data_type()), f.is_nullable())
        .with_metadata(f.metadata().clone())
}

fn classic_type(dt: &ArrowType) -> ArrowType {
    use ArrowType as A;
    let child = |f: &FieldRef| -> FieldRef { Arc::new(classic_field(f)) };
    match dt {
        A::Utf8View | A::LargeUtf8 => A::Utf8,
        A::BinaryView | A::LargeBinary => A::Binary,
        A::LargeList(f) | A::List(f) => A::List(child(f)),
        A::FixedSizeList(f, n) => A::FixedSizeList(child(f), *n),
        A::Struct(fs) => A::Struct(fs.iter().map(child).collect::<Fields>()),
        A::Dictionary(k, v) => A::Dictionary(k.clone(), Box::new(classic_type(v))),
        A::Map(f, sorted) => A::Map(child(f), *sorted),
        other => other.clone(),
    }
}

/// Converts a DataFrame into record batches of `schema` (casting Polars' view and large
/// types back to the stored ones). Columns are matched by name; a missing column or a
/// type that does not cast is an error naming the column.
pub(crate) fn df_to_batches(
    df: &mut DataFrame,
    schema: &SchemaRef,
) -> PolarsResult<Vec<RecordBatch>> {
    let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
    let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names != expected {
        polars_bail!(SchemaMismatch: "columns {names:?} do not match the dataset's {expected:?}");
    }
    df.rechunk_mut();
    let n_chunks = df
        .columns()
        .first()
        .map_or(0, |c| c.as_materialized_series().chunks().len());
    let mut batches = Vec::with_capacity(n_chunks);
    for ci in 0..n_chunks {
        let mut arrays = Vec::with_capacity(schema.fields().len());
        let mut rows = 0;
        for (c, target) in df.columns().iter().zip(schema.fields()) {
            let s = c.as_materialized_series();
            let pf = s.field().to_arrow(CompatLevel::newest());
            let (_, a) = to_arrow_array(&pf, s.to_arrow(ci, CompatLevel::newest()))?;
            rows = a.len();
            arrays.push(cast_to(target, a)?);
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(rows));
        let b = RecordBatch::try_new_with_options(schema.clone(), arrays, &opts)
            .map_err(|e| polars_err!(SchemaMismatch: "{e}"))?;
        batches.push(b);
    }
    Ok(batches)
}

fn cast_to(target: &Field, a: ArrayRef) -> PolarsResult<ArrayRef> {
    if a.data_type() == target.data_type() {
        return Ok(a);
    }
    arrow_cast::cast(&a, target.data_type()).map_err(|e| {
        polars_err!(SchemaMismatch: "column '{}': {} does not convert to the stored {}: {e}",
            target.name(), a.data_type(), target.data_type())
    })
}

fn arrow_err(column: &str, e: arrow_schema::ArrowError) -> PolarsError {
    polars_err!(ComputeError: "column '{column}': {e}")
}

/// The arrow-rs type of a Polars dtype (as Polars exports it), naming `column` on error.
pub(crate) fn arrow_type_of_polars(column: &str, dtype: &DataType) -> PolarsResult<ArrowType> {
    let pf = ::polars::prelude::Field::new(PlSmallStr::from_str(column), dtype.clone());
    let af = guarded(column, || pf.dtype.try_to_arrow(CompatLevel::newest()))??;
    let field = polars_arrow::datatypes::Field::new(PlSmallStr::from_str(column), af, true);
    Ok(arrow_field(&field)?.data_type().clone())
}
