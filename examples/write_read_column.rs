//! Writes datasets/flights.parquet as a dataset in a temporary directory, then
//! reads one column back and checks it against the Parquet file.
//!
//! `cargo run --release --example write_read_column`

use std::fs::File;

use arrow_array::RecordBatchReader;
use b2frame::dataset::{Dataset, DatasetWriter, WriteOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/flights.parquet");
    let dir = std::env::temp_dir().join(format!("b2frame-example-{}", std::process::id()));
    let url = dir.to_str().ok_or("non-UTF-8 temp dir")?;

    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(src)?)?.build()?;
    let mut writer = DatasetWriter::create(url, reader.schema(), WriteOptions::default())?;
    let rows = writer.write_reader(reader)?;
    let version = writer.finish()?;

    let ds = Dataset::open(url)?;
    let carrier = ds.read_column("carrier", 0..rows)?;
    let info = ds.info_json();
    println!(
        "{rows} rows, version {version}: {} -> {} bytes ({} for Parquet); carrier[0] = {:?}",
        info["nbytes"],
        info["cbytes"],
        std::fs::metadata(src)?.len(),
        arrow_cast_first(&carrier)
    );

    let direct = ParquetRecordBatchReaderBuilder::try_new(File::open(src)?)?.build()?;
    let batches: Vec<_> = direct.collect::<Result<_, _>>()?;
    let want = arrow_select::concat::concat(
        &batches
            .iter()
            .map(|b| b.column(9).as_ref())
            .collect::<Vec<_>>(),
    )?;
    assert_eq!(carrier.as_ref(), want.as_ref());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn arrow_cast_first(a: &arrow_array::ArrayRef) -> String {
    use arrow_array::cast::AsArray;
    match a.data_type() {
        arrow_schema::DataType::LargeUtf8 => a.as_string::<i64>().value(0).to_string(),
        arrow_schema::DataType::Utf8 => a.as_string::<i32>().value(0).to_string(),
        other => format!("<{other}>"),
    }
}
