//! N-d arrays and tensors in the CLI: `.npy` → `.b2nd`, frames of every kind →
//! raw or `.npy`, `append`, and the array part of `info`.

use std::path::Path;

use b2frame::npy;
use b2frame::schunk::OpenOptions;
use b2frame::tensor::{DType, NdArray, PackedTensor, B2ND_METALAYER, PACK_TENSOR_VLMETA};
use b2frame::{Error, Result, SChunk};
use serde_json::json;

use crate::args::CompressArgs;

/// What a frame holds.
pub enum Contents {
    /// A b2nd n-d array.
    Array(NdArray),
    /// A python-blosc2 `pack_tensor`/`save_tensor` frame.
    Tensor(PackedTensor),
    /// A plain super-chunk.
    Plain(SChunk),
}

/// Opens a contiguous frame, sparse-frame directory, b2nd file or tensor frame.
pub fn open(path: &Path) -> Result<Contents> {
    let sc = SChunk::open(path)?;
    if sc.metalayer(B2ND_METALAYER).is_some() {
        return Ok(Contents::Array(NdArray::from_schunk(sc)?));
    }
    if sc.vlmeta_names().contains(&PACK_TENSOR_VLMETA) {
        return Ok(Contents::Tensor(PackedTensor::from_schunk(sc)?));
    }
    Ok(Contents::Plain(sc))
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// `compress SRC.npy OUT`: a b2nd array with chunks of about `--chunksize` bytes.
pub fn compress_npy(params: &CompressArgs, input: &Path, output: &Path) -> Result<bool> {
    if !is_npy(input) {
        return Ok(false);
    }
    let bytes = std::fs::read(input).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", input.display()),
        ))
    })?;
    let header = npy::NpyHeader::parse(&bytes)?;
    let itemsize = header.dtype.itemsize().max(1);
    let shape = header.shape.clone();
    let (chunks, blocks) = partition(&shape, itemsize, params.chunksize(), 256 * 1024);
    let cparams = params.cparams().with_typesize(itemsize);
    let array = npy::to_ndarray(&bytes, &chunks, &blocks, cparams)?;
    array.save(output)?;
    Ok(true)
}

/// Chunk and block shapes: split the first dimension so that a chunk holds about
/// `chunk_bytes` and a block about `block_bytes`; other dimensions stay whole.
fn partition(
    shape: &[usize],
    itemsize: usize,
    chunk_bytes: usize,
    block_bytes: usize,
) -> (Vec<usize>, Vec<usize>) {
    if shape.is_empty() || shape.contains(&0) {
        return (shape.to_vec(), shape.to_vec());
    }
    let row: usize = shape[1..].iter().product::<usize>() * itemsize;
    let rows = |bytes: usize| (bytes / row.max(1)).clamp(1, shape[0]);
    let mut chunks = shape.to_vec();
    chunks[0] = rows(chunk_bytes);
    let mut blocks = chunks.clone();
    blocks[0] = rows(block_bytes).min(chunks[0]);
    (chunks, blocks)
}

/// `decompress IN OUT` for arrays and tensors; `None` when `IN` is a plain frame
/// and `OUT` is raw (the streaming path handles it).
pub fn decompress(
    input: &Path,
    output: &Path,
    start: Option<u64>,
    stop: Option<u64>,
) -> Result<bool> {
    let contents = open(input)?;
    let (data, shape, dtype) = match contents {
        Contents::Array(a) => (a.to_vec()?, a.shape().to_vec(), a.dtype().clone()),
        Contents::Tensor(t) => {
            let t = t.to_tensor()?;
            (t.data, t.shape, t.dtype)
        }
        Contents::Plain(sc) if is_npy(output) => {
            let data = sc.read(0..sc.nitems())?;
            let dtype = DType::Void(sc.typesize());
            (data, vec![sc.nitems()], dtype)
        }
        Contents::Plain(_) => return Ok(false),
    };
    let itemsize = dtype.itemsize().max(1);
    let nitems = data.len() / itemsize;
    let whole = start.is_none() && stop.is_none();
    let a = start.unwrap_or(0).min(nitems as u64) as usize;
    let b = stop.map_or(nitems, |s| (s as usize).min(nitems));
    if a > b {
        return Err(Error::InvalidArgument {
            name: "start",
            reason: format!("{a} is past --stop {b} (the array holds {nitems} items)"),
        });
    }
    let slice = &data[a * itemsize..b * itemsize];
    let write_err = |e: std::io::Error| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", output.display()),
        ))
    };
    if is_npy(output) {
        let shape = if whole { shape } else { vec![b - a] };
        npy::save(output, slice, &shape, &dtype)?;
    } else {
        std::fs::write(output, slice).map_err(write_err)?;
    }
    Ok(true)
}

/// `append FRAME RAW`: appends the raw file's items to the frame file in place.
pub fn append(frame: &Path, raw: &Path) -> Result<()> {
    let mut sc = SChunk::open_file(frame, &OpenOptions::default().with_write(true))?;
    let bytes = std::fs::read(raw).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", raw.display()),
        ))
    })?;
    let ts = sc.typesize();
    if !bytes.len().is_multiple_of(ts) {
        return Err(Error::InvalidArgument {
            name: "raw",
            reason: format!(
                "{} is {} bytes, not a multiple of the frame's typesize {ts}",
                raw.display(),
                bytes.len()
            ),
        });
    }
    let step = sc.chunksize().max(ts);
    for piece in bytes.chunks(step) {
        sc.append(piece)?;
    }
    sc.flush()
}

/// The array fields `info --json` adds for b2nd arrays and tensors.
pub fn info_fields(path: &Path) -> Result<serde_json::Value> {
    Ok(match open(path)? {
        Contents::Array(a) => json!({
            "kind": "b2nd",
            "shape": a.shape(),
            "chunks": a.meta().chunks,
            "blocks": a.meta().blocks,
            "dtype": a.dtype().to_string(),
        }),
        Contents::Tensor(t) => json!({
            "kind": "tensor",
            "shape": t.shape(),
            "dtype": t.dtype().to_string(),
            "tensor_kind": t.kind(),
        }),
        Contents::Plain(_) => json!({"kind": "schunk"}),
    })
}
