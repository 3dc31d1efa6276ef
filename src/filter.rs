//! Filter placeholder (scalar), replaced by the SIMD filter module.

/// Shuffle.
pub(crate) fn shuffle(ts: usize, src: &[u8], dst: &mut [u8]) {
    let ne = src.len() / ts;
    for i in 0..ne { for j in 0..ts { dst[j * ne + i] = src[i * ts + j]; } }
    dst[ne * ts..].copy_from_slice(&src[ne * ts..]);
}
/// Unshuffle.
pub(crate) fn unshuffle(ts: usize, src: &[u8], dst: &mut [u8]) {
    let ne = src.len() / ts;
    for i in 0..ne { for j in 0..ts { dst[i * ts + j] = src[j * ne + i]; } }
    dst[ne * ts..].copy_from_slice(&src[ne * ts..]);
}
/// Bitshuffle.
pub(crate) fn bitshuffle(_ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Bitunshuffle.
pub(crate) fn bitunshuffle(_ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Legacy.
pub(crate) fn bitunshuffle_legacy_v2(_ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Delta.
pub(crate) fn delta_encode(_r: &[u8], _f: bool, _ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Delta.
pub(crate) fn delta_decode(_r: &[u8], _f: bool, _ts: usize, _buf: &mut [u8]) {}
/// Bytedelta.
pub(crate) fn bytedelta_encode(_ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Bytedelta.
pub(crate) fn bytedelta_decode(_ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Bytedelta legacy.
pub(crate) fn bytedelta_legacy_decode(_ts: usize, src: &[u8], dst: &mut [u8]) { dst.copy_from_slice(src) }
/// Trunc prec.
pub(crate) fn trunc_prec(_p: i8, _ts: usize, src: &[u8], dst: &mut [u8]) -> Result<(), &'static str> { dst.copy_from_slice(src); Ok(()) }
