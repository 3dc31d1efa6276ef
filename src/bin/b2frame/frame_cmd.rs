//! `compress`, `decompress` and `info`: raw bytes ↔ frames.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use b2frame::{chunk, DParams, Error, Result, SChunk, Storage};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::args::CompressArgs;

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io(std::io::Error::new(
        e.kind(),
        format!("{}: {e}", path.display()),
    ))
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Compresses the raw file `input` into the contiguous frame `output`, streaming.
pub fn compress(params: &CompressArgs, input: &Path, output: &Path) -> Result<()> {
    let cparams = params.cparams();
    let cs = params.chunksize();
    let mut sc = SChunk::with_storage(
        cparams,
        DParams::default().with_nthreads(params.nthreads()),
        &Storage::default().with_chunksize(cs),
    )?;
    let mut file = File::open(input).map_err(|e| io_err(input, e))?;
    let len = file.metadata().map_err(|e| io_err(input, e))?.len();
    let ts = params.typesize as usize;
    if len % ts as u64 != 0 {
        return Err(Error::InvalidArgument {
            name: "input",
            reason: format!(
                "{} is {len} bytes, not a multiple of --typesize {ts}",
                input.display()
            ),
        });
    }
    let bar = progress(len, "compress");
    let mut buf = vec![0u8; cs];
    loop {
        let n = read_full(&mut file, &mut buf).map_err(|e| io_err(input, e))?;
        if n == 0 {
            break;
        }
        sc.append(&buf[..n])?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    sc.save(output)
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Writes items `[start, stop)` of the frame `input` to the raw file `output`.
pub fn decompress(
    input: &Path,
    output: &Path,
    start: Option<u64>,
    stop: Option<u64>,
) -> Result<()> {
    let sc = SChunk::open(input)?;
    let nitems = sc.nitems() as u64;
    let start = start.unwrap_or(0);
    let stop = stop.unwrap_or(nitems).min(nitems);
    if start > stop {
        return Err(Error::InvalidArgument {
            name: "start",
            reason: format!("{start} is past --stop {stop} (the frame holds {nitems} items)"),
        });
    }
    let ts = sc.typesize() as u64;
    let step = (sc.chunksize().max(ts as usize) as u64 / ts).max(1);
    let file = File::create(output).map_err(|e| io_err(output, e))?;
    let mut w = BufWriter::new(file);
    let bar = progress((stop - start) * ts, "decompress");
    let mut at = start;
    while at < stop {
        let end = (at + step).min(stop);
        let bytes = sc.read(at as usize..end as usize)?;
        w.write_all(&bytes).map_err(|e| io_err(output, e))?;
        bar.inc(bytes.len() as u64);
        at = end;
    }
    bar.finish_and_clear();
    w.flush().map_err(|e| io_err(output, e))?;
    Ok(())
}

/// The `info` report of a frame.
pub fn info(input: &Path) -> Result<serde_json::Value> {
    let sc = SChunk::open(input)?;
    let cp = sc.cparams();
    let blocksize = if sc.nchunks() > 0 {
        chunk::ChunkHeader::parse(&sc.chunk(0)?)?.blocksize
    } else {
        cp.blocksize
    };
    let (nbytes, cbytes) = (sc.nbytes(), sc.cbytes());
    Ok(json!({
        "path": input.display().to_string(),
        "typesize": sc.typesize(),
        "nitems": sc.nitems(),
        "nbytes": nbytes,
        "cbytes": cbytes,
        "ratio": if cbytes > 0 { nbytes as f64 / cbytes as f64 } else { 0.0 },
        "nchunks": sc.nchunks(),
        "chunksize": sc.chunksize(),
        "blocksize": blocksize,
        "codec": cp.codec.name(),
        "clevel": cp.clevel,
        "filters": cp.filters.iter().zip(cp.filters_meta).filter(|(f, _)| **f != b2frame::Filter::NoFilter)
            .map(|(f, m)| json!({"name": f.name(), "meta": m})).collect::<Vec<_>>(),
        "splitmode": format!("{:?}", cp.splitmode).to_lowercase(),
        "contiguous": !sc.is_sparse(),
        "metalayers": sc.metalayers().iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        "vlmeta": sc.vlmeta_names(),
    }))
}

/// Human-readable `info`.
pub fn print_info(v: &serde_json::Value) {
    let s = |k: &str| v[k].to_string();
    println!("{}", v["path"].as_str().unwrap_or(""));
    println!("  typesize   {}", s("typesize"));
    println!("  nitems     {}", s("nitems"));
    println!("  nbytes     {}", s("nbytes"));
    println!("  cbytes     {}", s("cbytes"));
    println!("  ratio      {:.2}", v["ratio"].as_f64().unwrap_or(0.0));
    println!("  nchunks    {}", s("nchunks"));
    println!("  chunksize  {}", s("chunksize"));
    println!("  blocksize  {}", s("blocksize"));
    println!(
        "  codec      {} (clevel {})",
        v["codec"].as_str().unwrap_or(""),
        s("clevel")
    );
    let filters: Vec<String> = v["filters"].as_array().map_or(vec![], |a| {
        a.iter()
            .map(|f| format!("{}(meta {})", f["name"].as_str().unwrap_or(""), f["meta"]))
            .collect()
    });
    println!(
        "  filters    {}",
        if filters.is_empty() {
            "none".into()
        } else {
            filters.join(", ")
        }
    );
    println!("  metalayers {}", v["metalayers"]);
    println!("  vlmeta     {}", v["vlmeta"]);
}
