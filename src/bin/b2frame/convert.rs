//! `b2frame convert IN OUT` between Parquet, CSV, NDJSON and Arrow IPC files and
//! datasets (directories or store URLs), and `b2frame info DATASET`.

use std::fs::File;
use std::io::Seek;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use b2frame::dataset::{Dataset, DatasetWriter, ScanOptions, WriteMode, WriteOptions};
use b2frame::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};

/// What a command-line location holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Parquet,
    Csv,
    Ndjson,
    Ipc,
    Dataset,
}

fn kind(loc: &str) -> Kind {
    let lower = loc.to_ascii_lowercase();
    let ext = Path::new(&lower)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    match ext {
        "parquet" | "pq" => Kind::Parquet,
        "csv" => Kind::Csv,
        "ndjson" | "jsonl" | "json" => Kind::Ndjson,
        "arrow" | "ipc" | "feather" | "arrows" => Kind::Ipc,
        _ => Kind::Dataset,
    }
}

/// Whether `input` names a dataset rather than a frame file: a directory holding
/// `_manifest`, or a store URL.
pub fn is_dataset(input: &str) -> bool {
    let p = Path::new(input);
    if p.is_dir() {
        return p.join("_manifest").is_dir();
    }
    input.contains("://") && !p.exists()
}

fn other(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!("{what}: {e}")))
}

fn open_file(path: &str) -> Result<File> {
    File::open(path).map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("{path}: {e}"))))
}

fn create_file(path: &str) -> Result<File> {
    File::create(path).map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("{path}: {e}"))))
}

/// Opens `input` as a batch reader; returns it with its row count when known.
fn source(input: &str) -> Result<(Box<dyn RecordBatchReader + Send>, Option<u64>)> {
    match kind(input) {
        Kind::Parquet => {
            let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                open_file(input)?,
            )
            .map_err(|e| other(input, e))?;
            let rows = u64::try_from(b.metadata().file_metadata().num_rows()).ok();
            let r = b
                .with_batch_size(65536)
                .build()
                .map_err(|e| other(input, e))?;
            Ok((Box::new(r), rows))
        }
        Kind::Csv => {
            let mut f = open_file(input)?;
            let format = arrow_csv::reader::Format::default().with_header(true);
            let (schema, _) = format
                .infer_schema(&mut f, Some(100_000))
                .map_err(|e| other(input, e))?;
            f.rewind()?;
            let r = arrow_csv::ReaderBuilder::new(Arc::new(schema))
                .with_format(format)
                .with_batch_size(65536)
                .build(f)
                .map_err(|e| other(input, e))?;
            Ok((Box::new(r), None))
        }
        Kind::Ndjson => {
            let mut f = std::io::BufReader::new(open_file(input)?);
            let (schema, _) =
                arrow_json::reader::infer_json_schema_from_seekable(&mut f, Some(100_000))
                    .map_err(|e| other(input, e))?;
            let r = arrow_json::ReaderBuilder::new(Arc::new(schema))
                .with_batch_size(65536)
                .build(f)
                .map_err(|e| other(input, e))?;
            Ok((Box::new(r), None))
        }
        Kind::Ipc => {
            if let Ok(r) = arrow_ipc::reader::FileReader::try_new(open_file(input)?, None) {
                return Ok((Box::new(r), None));
            }
            let r = arrow_ipc::reader::StreamReader::try_new(open_file(input)?, None)
                .map_err(|e| other(input, e))?;
            Ok((Box::new(r), None))
        }
        Kind::Dataset => {
            let ds = Dataset::open(input)?;
            let rows = ds.num_rows();
            Ok((Box::new(ds.scan(ScanOptions::default())?), Some(rows)))
        }
    }
}

/// Where batches go.
enum Sink {
    Parquet(parquet::arrow::ArrowWriter<File>),
    Csv(arrow_csv::Writer<File>),
    Ndjson(arrow_json::LineDelimitedWriter<File>),
    Ipc(arrow_ipc::writer::FileWriter<File>),
    Dataset(Box<DatasetWriter>),
}

impl Sink {
    fn open(
        output: &str,
        schema: &SchemaRef,
        append: bool,
        fragment_rows: Option<usize>,
    ) -> Result<Sink> {
        let k = kind(output);
        if append && k != Kind::Dataset {
            return Err(Error::InvalidArgument {
                name: "--append",
                reason: "only datasets can be appended to".into(),
            });
        }
        Ok(match k {
            Kind::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                    .build();
                Sink::Parquet(
                    parquet::arrow::ArrowWriter::try_new(
                        create_file(output)?,
                        schema.clone(),
                        Some(props),
                    )
                    .map_err(|e| other(output, e))?,
                )
            }
            Kind::Csv => Sink::Csv(arrow_csv::Writer::new(create_file(output)?)),
            Kind::Ndjson => {
                Sink::Ndjson(arrow_json::LineDelimitedWriter::new(create_file(output)?))
            }
            Kind::Ipc => Sink::Ipc(arrow_ipc::writer::FileWriter::try_new(
                create_file(output)?,
                schema,
            )?),
            Kind::Dataset => {
                let mut o = WriteOptions::default().with_mode(if append {
                    WriteMode::Append
                } else {
                    WriteMode::Create
                });
                if let Some(n) = fragment_rows {
                    o = o.with_fragment_rows(n);
                }
                Sink::Dataset(Box::new(DatasetWriter::create(output, schema.clone(), o)?))
            }
        })
    }

    fn write(&mut self, b: &RecordBatch) -> Result<()> {
        match self {
            Sink::Parquet(w) => w.write(b).map_err(|e| other("parquet", e)),
            Sink::Csv(w) => Ok(w.write(b)?),
            Sink::Ndjson(w) => Ok(w.write(b)?),
            Sink::Ipc(w) => Ok(w.write(b)?),
            Sink::Dataset(w) => w.write(b),
        }
    }

    /// Finishes; returns the dataset version committed, if any.
    fn finish(self) -> Result<Option<u64>> {
        match self {
            Sink::Parquet(w) => {
                w.close().map_err(|e| other("parquet", e))?;
                Ok(None)
            }
            Sink::Csv(_) => Ok(None),
            Sink::Ndjson(mut w) => {
                w.finish()?;
                Ok(None)
            }
            Sink::Ipc(mut w) => {
                w.finish()?;
                Ok(None)
            }
            Sink::Dataset(w) => Ok(Some(w.finish()?)),
        }
    }
}

/// Copies every row of `input` to `output`.
pub fn convert(
    input: &str,
    output: &str,
    append: bool,
    fragment_rows: Option<usize>,
    quiet: bool,
) -> Result<()> {
    let (reader, total) = source(input)?;
    let schema = reader.schema();
    let mut sink = Sink::open(output, &schema, append, fragment_rows)?;
    let bar = match (quiet, total) {
        (true, _) => ProgressBar::hidden(),
        (false, Some(n)) => ProgressBar::new(n),
        (false, None) => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} rows {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("{input} -> {output}"));
    let mut rows = 0u64;
    for b in reader {
        let b = b.map_err(b2frame::dataset::unwrap_arrow_error)?;
        rows += b.num_rows() as u64;
        sink.write(&b)?;
        bar.set_position(rows);
    }
    let version = sink.finish()?;
    bar.finish_and_clear();
    if !quiet {
        match version {
            Some(v) => eprintln!("{rows} rows written to {output} (version {v})"),
            None => eprintln!("{rows} rows written to {output}"),
        }
    }
    Ok(())
}

/// `info` of a dataset.
pub fn info(input: &str) -> Result<serde_json::Value> {
    Ok(Dataset::open(input)?.info_json())
}

/// Human-readable dataset `info`.
pub fn print_info(v: &serde_json::Value) {
    println!("dataset   {}", v["url"].as_str().unwrap_or(""));
    println!("version   {}", v["version"]);
    println!("rows      {}", v["rows"]);
    println!("fragments {}", v["fragments"]);
    let (n, c) = (
        v["nbytes"].as_f64().unwrap_or(0.0),
        v["cbytes"].as_f64().unwrap_or(0.0),
    );
    println!(
        "bytes     {} -> {} (ratio {:.2})",
        v["nbytes"],
        v["cbytes"],
        if c > 0.0 { n / c } else { 0.0 }
    );
    if let Some(cols) = v["columns"].as_array() {
        for c in cols {
            let cb: u64 = c["buffers"]
                .as_array()
                .map_or(0, |b| b.iter().filter_map(|x| x["cbytes"].as_u64()).sum());
            println!(
                "  {:<24} {:<28} nulls {:<8} cbytes {}",
                c["name"].as_str().unwrap_or(""),
                c["type"].as_str().unwrap_or(""),
                c["null_count"],
                cb
            );
        }
    }
}
