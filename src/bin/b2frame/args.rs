//! Command-line arguments (the interface scripts depend on).

use std::path::PathBuf;

use b2frame::{CParams, Codec, Filter};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// b2frame: Blosc2 super-chunks and frames, byte-compatible with python-blosc2.
#[derive(Debug, Parser)]
#[command(name = "b2frame", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compress a raw file into a contiguous frame (.b2frame) that python-blosc2 opens.
    Compress {
        /// Compression parameters.
        #[command(flatten)]
        params: CompressArgs,
        /// Raw input file.
        input: PathBuf,
        /// Output frame.
        output: PathBuf,
    },
    /// Decompress items [start, stop) of a frame into a raw file.
    Decompress {
        /// First item (default 0).
        #[arg(long)]
        start: Option<u64>,
        /// One past the last item (default: all).
        #[arg(long)]
        stop: Option<u64>,
        /// Input frame (.b2frame file or sparse-frame directory).
        input: PathBuf,
        /// Raw output file.
        output: PathBuf,
    },
    /// Append a raw file's items to an existing frame file, in place.
    Append {
        /// The frame file (.b2frame) to grow.
        frame: PathBuf,
        /// Raw input file (a multiple of the frame's typesize).
        raw: PathBuf,
    },
    /// Show a frame's (or a dataset's) parameters and sizes.
    Info {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Input frame, or a dataset (a directory holding `_manifest`, or a store URL).
        input: PathBuf,
    },
    /// Convert between .parquet, .csv, .ndjson/.jsonl, .arrow/.ipc/.feather files and datasets
    /// (a directory or a store URL such as s3://bucket/prefix).
    Convert {
        /// Add IN's rows to the existing dataset OUT (schemas must match).
        #[arg(long)]
        append: bool,
        /// Rows per fragment when writing a dataset.
        #[arg(long)]
        fragment_rows: Option<usize>,
        /// No progress bar or summary.
        #[arg(long, short)]
        quiet: bool,
        /// Input file or dataset.
        input: String,
        /// Output file or dataset.
        output: String,
    },
    /// Merge a dataset's runs of small fragments (left by many small appends) into
    /// one fragment each, committed as a new version; nothing is deleted.
    Compact {
        /// Fragments with fewer rows are merged, up to this many rows each.
        #[arg(long, default_value_t = 1 << 20)]
        target_rows: u64,
        /// Print one JSON object instead of text (and no progress bar).
        #[arg(long)]
        json: bool,
        /// Object-store option `KEY=VALUE` for store URLs (e.g. `aws_endpoint=…`).
        #[arg(long = "storage-option", value_name = "KEY=VALUE")]
        storage_options: Vec<String>,
        /// The dataset (a directory or a store URL).
        dataset: String,
    },
    /// Delete a dataset's old versions and the objects no kept version names.
    Cleanup {
        /// The newest versions to keep.
        #[arg(long, default_value_t = 1)]
        keep_versions: usize,
        /// Also keep versions that were the newest, and objects written, less than
        /// this many seconds ago (readers and writers may still be using them).
        #[arg(long, default_value_t = 3600)]
        min_age_secs: u64,
        /// Only report what would be deleted.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Object-store option `KEY=VALUE` for store URLs (e.g. `aws_endpoint=…`).
        #[arg(long = "storage-option", value_name = "KEY=VALUE")]
        storage_options: Vec<String>,
        /// The dataset (a directory or a store URL).
        dataset: String,
    },
    /// Run a Polars SQL query over datasets (needs the `polars` cargo feature).
    Sql {
        /// The query, e.g. `SELECT carrier, AVG(dep_delay) FROM flights GROUP BY carrier`.
        query: String,
        /// A table the query names: `NAME=DATASET` (a directory, store URL or
        /// `.b2frame` column); repeat for more tables.
        #[arg(long = "table", value_name = "NAME=DATASET", required = true)]
        tables: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: SqlFormat,
        /// Object-store option `KEY=VALUE` for store URLs (e.g. `aws_endpoint=…`).
        #[arg(long = "storage-option", value_name = "KEY=VALUE")]
        storage_options: Vec<String>,
    },
    /// Benchmark compression and decompression of a raw file in memory.
    Bench {
        /// Compression parameters.
        #[command(flatten)]
        params: CompressArgs,
        /// How many times to compress and decompress (the median is reported).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Also time reads of this many items at random offsets, 1-item writes and
        /// unaligned appends (slice_median_us, set_item_median_us, unaligned_append_GBps).
        #[arg(long)]
        slice_items: Option<usize>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Raw input file.
        raw: PathBuf,
    },
}

/// Output formats of `sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    /// An aligned text table (at most `POLARS_FMT_MAX_ROWS` rows, default 50).
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of row objects.
    Json,
}

/// Codec names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CodecArg {
    /// BloscLZ.
    Blosclz,
    /// LZ4.
    Lz4,
    /// LZ4HC.
    Lz4hc,
    /// zlib.
    Zlib,
    /// Zstandard.
    Zstd,
}

/// Filter names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FilterArg {
    /// No filter.
    Nofilter,
    /// Byte shuffle.
    Shuffle,
    /// Bit shuffle.
    Bitshuffle,
    /// XOR delta, then shuffle.
    Delta,
    /// Shuffle, then byte delta.
    Bytedelta,
    /// Truncate f32/f64 mantissas to 10 bits (lossy), then shuffle.
    #[value(name = "trunc_prec")]
    TruncPrec,
}

/// Compression flags shared by `compress` and `bench`. Defaults are python-blosc2's.
#[derive(Debug, Clone, Args)]
pub struct CompressArgs {
    /// Codec.
    #[arg(long, value_enum, default_value = "zstd")]
    pub codec: CodecArg,
    /// Compression level 0-9 (0 stores data uncompressed).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub clevel: u8,
    /// Filter pipeline.
    #[arg(long, value_enum, default_value = "shuffle")]
    pub filter: FilterArg,
    /// Item size in bytes (1-2147483647); shuffles work on items of this size.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=2_147_483_647))]
    pub typesize: u64,
    /// Bytes per chunk (rounded down to a multiple of typesize; default 4 MiB).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub chunksize: u64,
    /// Bytes per block (0 = C-Blosc2's automatic choice).
    #[arg(long, default_value_t = 0)]
    pub blocksize: u64,
    /// Threads for compression (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl CompressArgs {
    /// The parameters as `CParams`.
    pub fn cparams(&self) -> CParams {
        let codec = match self.codec {
            CodecArg::Blosclz => Codec::BloscLz,
            CodecArg::Lz4 => Codec::Lz4,
            CodecArg::Lz4hc => Codec::Lz4Hc,
            CodecArg::Zlib => Codec::Zlib,
            CodecArg::Zstd => Codec::Zstd,
        };
        let ts = self.typesize as usize;
        // Filters sit at the end of the six slots, as C-Blosc2 and python-blosc2's
        // defaults place them (SHUFFLE in slot 5, DELTA before it in slot 4).
        let n = Filter::NoFilter;
        let (filters, meta): ([Filter; 6], [u8; 6]) = match self.filter {
            FilterArg::Nofilter => ([n; 6], [0; 6]),
            FilterArg::Shuffle => ([n, n, n, n, n, Filter::Shuffle], [0; 6]),
            FilterArg::Bitshuffle => ([n, n, n, n, n, Filter::BitShuffle], [0; 6]),
            FilterArg::Delta => ([n, n, n, n, Filter::Delta, Filter::Shuffle], [0; 6]),
            FilterArg::Bytedelta if ts == 1 => ([n, n, n, n, n, Filter::Shuffle], [0; 6]),
            FilterArg::Bytedelta => (
                [n, n, n, n, Filter::Shuffle, Filter::ByteDelta],
                [0, 0, 0, 0, 0, ts.min(255) as u8],
            ),
            FilterArg::TruncPrec => (
                [n, n, n, n, Filter::TruncPrec, Filter::Shuffle],
                [0, 0, 0, 0, 10, 0],
            ),
        };
        CParams::default()
            .with_codec(codec)
            .with_clevel(self.clevel)
            .with_typesize(ts)
            .with_filters(filters)
            .with_filters_meta(meta)
            .with_blocksize(self.blocksize as usize)
            .with_nthreads(self.nthreads())
    }

    /// Thread count (default: available parallelism).
    pub fn nthreads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    /// Chunk size rounded down to a multiple of typesize (at least one item).
    pub fn chunksize(&self) -> usize {
        let ts = self.typesize as usize;
        let cs = (self.chunksize as usize).min(b2frame::chunk::MAX_BUFFERSIZE);
        (cs - cs % ts).max(ts)
    }
}
