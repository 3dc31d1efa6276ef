//! `b2frame sql`: a Polars SQL query over datasets, through `scan_b2` (so the
//! projection, predicates and limits are pushed into the readers).

use crate::args::SqlFormat;

/// Runs `query` over `tables` (`NAME=DATASET`) and prints the result in `format`.
#[cfg(feature = "polars")]
pub fn run(
    query: &str,
    tables: &[String],
    format: SqlFormat,
    storage_options: &[String],
) -> b2frame::Result<()> {
    use b2frame::polars::{scan_b2, to_record_batches, ScanArgsB2};
    use polars::prelude::*;
    use polars::sql::SQLContext;

    let invalid =
        |name: &'static str, reason: String| b2frame::Error::InvalidArgument { name, reason };
    let bad = |e: PolarsError| invalid("query", e.to_string());
    let mut args = ScanArgsB2::default();
    for kv in storage_options {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| invalid("storage-option", format!("{kv:?}: expected KEY=VALUE")))?;
        args = args.with_storage_option(k, v);
    }
    let ctx = SQLContext::new();
    for t in tables {
        let (name, source) = t
            .split_once('=')
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
            .ok_or_else(|| invalid("table", format!("{t:?}: expected NAME=DATASET")))?;
        let lf = scan_b2(source, args.clone())
            .map_err(|e| invalid("table", format!("{name}={source}: {e}")))?;
        ctx.register(name, lf);
    }
    let mut ctx = ctx;
    let mut df = ctx
        .execute(query)
        .and_then(|lf| lf.collect())
        .map_err(bad)?;
    match format {
        SqlFormat::Table => {
            if std::env::var_os("POLARS_FMT_MAX_ROWS").is_none() {
                // Polars' formatter reads the row limit from the environment.
                std::env::set_var("POLARS_FMT_MAX_ROWS", "50");
            }
            println!("{df}");
        }
        SqlFormat::Csv => {
            let (_, batches) = to_record_batches(&mut df).map_err(bad)?;
            let mut w = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(std::io::stdout().lock());
            for b in &batches {
                w.write(b)?;
            }
        }
        SqlFormat::Json => println!("{}", rows_json(&df)),
    }
    Ok(())
}

/// The rows of `df` as a JSON array of objects (numbers, strings, booleans, nulls;
/// other values as their Polars text).
#[cfg(feature = "polars")]
fn rows_json(df: &polars::prelude::DataFrame) -> serde_json::Value {
    use polars::prelude::AnyValue;
    use serde_json::{json, Map, Value};
    let cols: Vec<(String, Vec<Value>)> = df
        .columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series();
            let vals = s
                .iter()
                .map(|v| match v {
                    AnyValue::Null => Value::Null,
                    AnyValue::Boolean(b) => json!(b),
                    AnyValue::Int8(x) => json!(x),
                    AnyValue::Int16(x) => json!(x),
                    AnyValue::Int32(x) => json!(x),
                    AnyValue::Int64(x) => json!(x),
                    AnyValue::UInt8(x) => json!(x),
                    AnyValue::UInt16(x) => json!(x),
                    AnyValue::UInt32(x) => json!(x),
                    AnyValue::UInt64(x) => json!(x),
                    AnyValue::Float32(x) => json!(x),
                    AnyValue::Float64(x) => json!(x),
                    AnyValue::String(x) => json!(x),
                    AnyValue::StringOwned(x) => json!(x.as_str()),
                    other => json!(other.to_string()),
                })
                .collect();
            (c.name().to_string(), vals)
        })
        .collect();
    let rows = (0..df.height())
        .map(|i| {
            let mut m = Map::new();
            for (name, vals) in &cols {
                m.insert(name.clone(), vals[i].clone());
            }
            Value::Object(m)
        })
        .collect();
    Value::Array(rows)
}

/// Without the `polars` feature: an error saying how to get it.
#[cfg(not(feature = "polars"))]
pub fn run(
    _query: &str,
    _tables: &[String],
    _format: SqlFormat,
    _storage_options: &[String],
) -> b2frame::Result<()> {
    Err(b2frame::Error::Unsupported {
        what: "command",
        detail: "`sql` needs b2frame built with the `polars` feature \
                 (cargo install b2frame --features polars)"
            .into(),
    })
}
