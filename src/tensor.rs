//! N-dimensional data over super-chunks: numpy element types ([`DType`]),
//! b2nd arrays ([`NdArray`], spec §G) and python-blosc2's packed tensors
//! ([`pack_tensor`] / [`save_tensor`], spec §H).
//!
//! ```text
//! NdArray       = SChunk + "b2nd" metalayer   (chunks and blocks are N-d tiles)
//! packed tensor = SChunk + vlmeta "__pack_tensor__" = ("numpy", shape, dtype)
//!                 (the C-order bytes cut into chunks of equal size)
//! ```
//!
//! ```
//! use b2frame::tensor::{pack_tensor, unpack_tensor, DType};
//! use b2frame::CParams;
//! let data: Vec<u8> = (0..1000i64).flat_map(|v| (3 * v).to_le_bytes()).collect();
//! let frame = pack_tensor(&data, &[1000], &DType::Int64, &CParams::default())?;
//! let t = unpack_tensor(&frame)?;
//! assert_eq!((t.shape.as_slice(), &t.dtype, &t.data), (&[1000usize][..], &DType::Int64, &data));
//! # Ok::<(), b2frame::Error>(())
//! ```

mod b2nd;
mod dtype;
mod meta;
mod pack;

pub use b2nd::NdArray;
pub use dtype::{DType, MAX_ITEMSIZE};
pub use meta::{NdMeta, B2ND_METALAYER, MAX_DIM};
pub use pack::{
    load_tensor, pack_tensor, save_tensor, unpack_tensor, PackedTensor, Tensor, TensorWriter,
    MAX_TENSOR_CHUNKSIZE, PACK_TENSOR_VLMETA,
};
