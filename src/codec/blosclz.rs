//! BloscLZ placeholder (replaced by the byte-exact codec).

/// Compress (placeholder: always "incompressible").
pub(crate) fn compress(_clevel: u8, _src: &[u8], _dst: &mut [u8]) -> usize {
    0
}

/// Decompress (placeholder).
pub(crate) fn decompress(_src: &[u8], _dst: &mut [u8]) -> Result<usize, &'static str> {
    Err("blosclz not yet implemented")
}
