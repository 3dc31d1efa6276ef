//! Special chunks (spec §A.5): a header that stands for zeros, NaNs,
//! uninitialised items or one repeated value.

use crate::chunk::header::{ChunkHeader, SpecialValue, HEADER_LEN, MAX_BUFFERSIZE};
use crate::error::{Error, Result};

/// Builds a special chunk of `nbytes` bytes.
///
/// `Value` needs `value` (one item; `nbytes` must be a multiple of its length);
/// `Nan` needs typesize 4 or 8. b2frame only writes special chunks whose size is a
/// multiple of the item size (C-Blosc2 cannot read the others back).
///
/// # Errors
/// `InvalidArgument` for inconsistent sizes.
pub fn special(
    kind: SpecialValue,
    nbytes: usize,
    typesize: usize,
    value: Option<&[u8]>,
) -> Result<Vec<u8>> {
    if nbytes > MAX_BUFFERSIZE {
        return Err(Error::invalid(
            "nbytes",
            format!("{nbytes}, at most {MAX_BUFFERSIZE}"),
        ));
    }
    if typesize == 0 {
        return Err(Error::invalid("typesize", "0, expected 1.."));
    }
    let item = match kind {
        SpecialValue::Value => value.map_or(0, <[u8]>::len),
        _ => typesize,
    };
    if item == 0 || !nbytes.is_multiple_of(item) {
        return Err(Error::invalid(
            "nbytes",
            format!("{nbytes} is not a multiple of the item size {item}"),
        ));
    }
    if kind == SpecialValue::Nan && typesize != 4 && typesize != 8 {
        return Err(Error::invalid(
            "typesize",
            format!("{typesize}, NaN chunks need 4 or 8"),
        ));
    }
    let payload: &[u8] = match kind {
        SpecialValue::Value => value.unwrap_or(&[]),
        _ => &[],
    };
    let header = ChunkHeader {
        version: 5,
        versionlz: 1,
        flags: 0x05,
        typesize: if typesize > 255 { 1 } else { typesize },
        nbytes,
        blocksize: nbytes.max(1),
        cbytes: HEADER_LEN + payload.len(),
        filters: [0; 6],
        codec_id: 0,
        compcode_meta: 0,
        filters_meta: [0; 6],
        blosc2_flags2: 0,
        blosc2_flags: kind.kind() << 4,
        header_len: HEADER_LEN,
    };
    let mut h = [0u8; HEADER_LEN];
    header.write(&mut h);
    let mut out = h.to_vec();
    out.extend_from_slice(payload);
    Ok(out)
}
