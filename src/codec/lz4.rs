//! LZ4 placeholder over lz4_flex (replaced by our own codec).

/// Compress.
pub(crate) fn compress(_acceleration: u32, src: &[u8], dst: &mut [u8]) -> usize {
    lz4_flex::block::compress_into(src, dst).unwrap_or(0)
}

/// Decompress.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    lz4_flex::block::decompress_into(src, dst).map_err(|_| "malformed lz4 block")
}
