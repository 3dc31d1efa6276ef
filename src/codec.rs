//! Byte compressors behind one per-stream interface, with C-Blosc2's clevel
//! mapping (spec §C.2): BloscLZ (own), LZ4 (own fast codec), LZ4HC (own match
//! finder), zlib (`flate2` over zlib-rs, zlib-wrapped) and Zstd (`zstd`).
//!
//! Each call compresses one stream into a caller-sized buffer; a result of 0
//! means "did not fit or not worth it: store raw".

pub(crate) mod blosclz;
pub(crate) mod lz4;
pub(crate) mod lz4hc;
pub(crate) mod zstd;

use std::cell::RefCell;

/// Stream format ids stored in chunk flag bits 5..7.
pub(crate) const FORMAT_BLOSCLZ: u8 = 0;
/// LZ4 and LZ4HC.
pub(crate) const FORMAT_LZ4: u8 = 1;
/// zlib.
pub(crate) const FORMAT_ZLIB: u8 = 3;
/// Zstd.
pub(crate) const FORMAT_ZSTD: u8 = 4;

/// The codec ids of the built-in codecs, as `Codec::id` returns them.
pub(crate) mod id {
    /// BloscLZ.
    pub const BLOSCLZ: u8 = 0;
    /// LZ4.
    pub const LZ4: u8 = 1;
    /// LZ4HC.
    pub const LZ4HC: u8 = 2;
    /// zlib.
    pub const ZLIB: u8 = 4;
    /// Zstd.
    pub const ZSTD: u8 = 5;
}

thread_local! {
    static ZSTD_CCTX: RefCell<Option<(i32, ::zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static ZSTD_DCTX: RefCell<Option<::zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
    /// A decompressor with a dictionary loaded, keyed by the dictionary's XXH3-128 and
    /// length: a chunk's streams all share its dictionary.
    static ZSTD_DICT_DCTX: RefCell<Option<((u128, usize), ::zstd::bulk::Decompressor<'static>)>> = const { RefCell::new(None) };
    static ZLIB_C: RefCell<Option<(u32, flate2::Compress)>> = const { RefCell::new(None) };
    static ZLIB_D: RefCell<Option<flate2::Decompress>> = const { RefCell::new(None) };
}

/// The zstd level C-Blosc2 uses for a clevel: `2*clevel - 1`, 22 at clevel 9.
pub(crate) fn zstd_level(clevel: u8) -> i32 {
    if clevel >= 9 {
        22
    } else {
        2 * i32::from(clevel) - 1
    }
}

/// Compresses one stream with codec `codec_id` at `clevel` (1..=9) into `dst`
/// (its length is the capacity). Returns the compressed size, 0 if it did not fit.
pub(crate) fn compress_stream(codec_id: u8, clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
    if dst.is_empty() || src.is_empty() {
        return 0;
    }
    match codec_id {
        id::BLOSCLZ => blosclz::compress(clevel, src, dst),
        id::LZ4 => lz4::compress(10u32.saturating_sub(u32::from(clevel)).max(1), src, dst),
        id::LZ4HC => lz4hc::compress(clevel, src, dst),
        id::ZLIB => zlib_compress(clevel, src, dst),
        id::ZSTD => zstd_compress(zstd_level(clevel), src, dst),
        _ => 0,
    }
}

/// Decompresses one stream of `format` (chunk flag bits 5..7; `codec_id` for format 6)
/// into `dst`; returns the number of bytes written.
pub(crate) fn decompress_stream(
    format: u8,
    src: &[u8],
    dst: &mut [u8],
) -> Result<usize, &'static str> {
    match format {
        FORMAT_BLOSCLZ => blosclz::decompress(src, dst),
        FORMAT_LZ4 => lz4::decompress(src, dst),
        FORMAT_ZLIB => zlib_decompress(src, dst),
        FORMAT_ZSTD => zstd_decompress(src, dst),
        _ => Err("unsupported codec format"),
    }
}

/// The stream format of a codec id.
pub(crate) fn format_of(codec_id: u8) -> u8 {
    match codec_id {
        id::BLOSCLZ => FORMAT_BLOSCLZ,
        id::LZ4 | id::LZ4HC => FORMAT_LZ4,
        id::ZLIB => FORMAT_ZLIB,
        id::ZSTD => FORMAT_ZSTD,
        _ => 6,
    }
}

/// Decompresses a Zstd stream compressed with `dict` (chunks written with `use_dict`).
pub(crate) fn zstd_decompress_with_dict(
    dict: &[u8],
    src: &[u8],
    dst: &mut [u8],
) -> Result<usize, &'static str> {
    let key = (xxhash_rust::xxh3::xxh3_128(dict), dict.len());
    ZSTD_DICT_DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        if !matches!(&*slot, Some((k, _)) if *k == key) {
            let d = ::zstd::bulk::Decompressor::with_dictionary(dict)
                .map_err(|_| "invalid zstd dictionary")?;
            *slot = Some((key, d));
        }
        match slot.as_mut() {
            Some((_, d)) => d
                .decompress_to_buffer(src, dst)
                .map_err(|_| "malformed zstd stream"),
            None => Err("invalid zstd dictionary"),
        }
    })
}

fn zstd_compress(level: i32, src: &[u8], dst: &mut [u8]) -> usize {
    ZSTD_CCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let fresh = !matches!(&*slot, Some((l, _)) if *l == level);
        if fresh {
            match ::zstd::bulk::Compressor::new(level) {
                Ok(c) => *slot = Some((level, c)),
                Err(_) => return 0,
            }
        }
        match slot.as_mut() {
            Some((_, c)) => c.compress_to_buffer(src, dst).unwrap_or(0),
            None => 0,
        }
    })
}

fn zstd_decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    ZSTD_DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                ::zstd::bulk::Decompressor::new().map_err(|_| "zstd context creation failed")?,
            );
        }
        match slot.as_mut() {
            Some(d) => d
                .decompress_to_buffer(src, dst)
                .map_err(|_| "malformed zstd stream"),
            None => Err("zstd context creation failed"),
        }
    })
}

fn zlib_compress(clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
    let level = u32::from(clevel.min(9));
    ZLIB_C.with(|cell| {
        let mut slot = cell.borrow_mut();
        match &mut *slot {
            Some((l, c)) if *l == level => c.reset(),
            _ => {
                *slot = Some((
                    level,
                    flate2::Compress::new(flate2::Compression::new(level), true),
                ))
            }
        }
        let Some((_, c)) = slot.as_mut() else {
            return 0;
        };
        match c.compress(src, dst, flate2::FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) => c.total_out() as usize,
            _ => 0,
        }
    })
}

/// Runs `f` with this thread's zlib decompressor, reset for a new stream.
fn with_inflater<T>(
    f: impl FnOnce(&mut flate2::Decompress) -> Result<T, &'static str>,
) -> Result<T, &'static str> {
    ZLIB_D.with(|cell| {
        let mut slot = cell.borrow_mut();
        match &mut *slot {
            Some(d) => d.reset(true),
            None => *slot = Some(flate2::Decompress::new(true)),
        }
        match slot.as_mut() {
            Some(d) => f(d),
            None => Err("zlib context creation failed"),
        }
    })
}

fn zlib_decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    with_inflater(
        |d| match d.decompress(src, dst, flate2::FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => Ok(d.total_out() as usize),
            Ok(_) => Err("zlib stream does not end within the block"),
            Err(_) => Err("malformed zlib stream"),
        },
    )
}

/// Decodes at least the first `want` bytes of a zlib stream into `dst` (the
/// stream's full length), or all of it. Deflate is sequential, so inflating stops
/// once `want` bytes are out; the Adler-32 trailer is then not reached (as with the
/// LZ4 prefix decoders, defects past the prefix show only in a whole decode).
pub(crate) fn zlib_decompress_prefix(
    src: &[u8],
    dst: &mut [u8],
    want: usize,
) -> Result<lz4::Decoded, &'static str> {
    if want >= dst.len() {
        let len = zlib_decompress(src, dst)?;
        return Ok(lz4::Decoded { len, whole: true });
    }
    with_inflater(|d| {
        let status = d
            .decompress(src, &mut dst[..want], flate2::FlushDecompress::None)
            .map_err(|_| "malformed zlib stream")?;
        let len = d.total_out() as usize;
        match status {
            flate2::Status::StreamEnd => Ok(lz4::Decoded { len, whole: true }),
            _ if len >= want => Ok(lz4::Decoded { len, whole: false }),
            _ => Err("zlib stream ends before the wanted bytes"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_levels_follow_c_blosc2() {
        let got: Vec<i32> = (1..=9).map(zstd_level).collect();
        assert_eq!(got, vec![1, 3, 5, 7, 9, 11, 13, 15, 22]);
    }

    #[test]
    fn zlib_and_zstd_streams_round_trip_and_report_overflow() {
        let src: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for (codec, format) in [(id::ZLIB, FORMAT_ZLIB), (id::ZSTD, FORMAT_ZSTD)] {
            let mut dst = vec![0u8; src.len()];
            let n = compress_stream(codec, 5, &src, &mut dst);
            assert!(n > 0 && n < 1000, "codec {codec}: {n}");
            let mut back = vec![0u8; src.len()];
            assert_eq!(
                decompress_stream(format, &dst[..n], &mut back),
                Ok(src.len())
            );
            assert_eq!(back, src);
            let mut tiny = [0u8; 4];
            assert_eq!(compress_stream(codec, 5, &src, &mut tiny), 0);
        }
    }
}
