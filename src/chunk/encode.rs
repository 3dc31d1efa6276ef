//! Chunk encoder: C-Blosc2's serial algorithm (spec §A.8), so that output is
//! byte-identical to `nthreads == 1` C for the same codec bytes.
//!
//! With `nthreads > 1` blocks are encoded in parallel without a budget and
//! assembled in order; a block that could hit the running size budget is
//! re-encoded serially with the exact budget, so the bytes never depend on
//! the thread count.

use rayon::prelude::*;

use crate::chunk::blocksize::{compute_blocksize, split_decision};
use crate::chunk::header::{
    ChunkHeader, SpecialValue, FLAG_DELTA, FLAG_DONT_SPLIT, FLAG_MEMCPYED, HEADER_LEN,
    MAX_BUFFERSIZE,
};
use crate::chunk::params::{CParams, Filter};
use crate::chunk::pool;
use crate::chunk::scratch::{with_scratch, Scratch};
use crate::codec;
use crate::error::{Error, Result};
use crate::filter;

/// The running output would exceed `nbytes + 32`: store the chunk memcpyed.
struct GiveUp;

/// Everything fixed for one chunk.
struct Plan<'a> {
    src: &'a [u8],
    cp: &'a CParams,
    typesize: usize,
    bs: usize,
    nblocks: usize,
    split: bool,
    destsize: usize,
}

/// Compresses `src` into a new chunk.
///
/// # Errors
/// `InvalidArgument` for out-of-range parameters or a source larger than
/// Blosc2's 2 GiB − 33 bytes limit.
pub fn compress(cparams: &CParams, src: &[u8]) -> Result<Vec<u8>> {
    cparams.validate()?;
    if src.len() > MAX_BUFFERSIZE {
        return Err(Error::invalid(
            "src",
            format!(
                "{} bytes, at most {MAX_BUFFERSIZE} fit in one chunk",
                src.len()
            ),
        ));
    }
    let nbytes = src.len();
    let typesize = if cparams.typesize > 255 {
        1
    } else {
        cparams.typesize
    };
    let bs = compute_blocksize(cparams, cparams.typesize, nbytes);
    let header_bs = if nbytes == 0 { bs } else { bs.min(nbytes) };
    let nblocks = if nbytes == 0 {
        0
    } else {
        nbytes.div_ceil(header_bs)
    };
    let destsize = nbytes + HEADER_LEN;
    let split = split_decision(cparams, typesize, header_bs);
    let mut header = ChunkHeader {
        version: 5,
        versionlz: 1,
        flags: 0,
        typesize,
        nbytes,
        blocksize: header_bs,
        cbytes: 0,
        filters: cparams.filters.map(Filter::id),
        codec_id: cparams.codec.id(),
        compcode_meta: 0,
        filters_meta: cparams.filters_meta,
        blosc2_flags2: 0,
        blosc2_flags: 0,
        header_len: HEADER_LEN,
    };
    let memcpy_upfront = cparams.clevel == 0 || nbytes < 32 || HEADER_LEN + 4 * nblocks > destsize;
    if memcpy_upfront {
        header.flags = 0x07;
        return Ok(memcpyed(&mut header, src));
    }
    let has_delta = cparams.filters.contains(&Filter::Delta);
    header.flags = 0x05
        | if has_delta { FLAG_DELTA } else { 0 }
        | if split { 0 } else { FLAG_DONT_SPLIT }
        | (cparams.codec.format() << 5);
    for (slot, f) in cparams.filters.iter().enumerate() {
        if *f == Filter::TruncPrec {
            let prec = cparams.filters_meta[slot] as i8;
            filter::trunc_prec(prec, typesize, &[], &mut []).map_err(|e| {
                Error::invalid("filters_meta", format!("trunc_prec precision {prec}: {e}"))
            })?;
        }
    }
    if split && header_bs < typesize {
        // Streams of zero bytes: C gives up on such chunks, and so do we.
        header.flags |= FLAG_MEMCPYED;
        return Ok(memcpyed(&mut header, src));
    }
    let plan = Plan {
        src,
        cp: cparams,
        typesize,
        bs: header_bs,
        nblocks,
        split,
        destsize,
    };
    let mut out = Vec::with_capacity(destsize);
    out.resize(HEADER_LEN + 4 * nblocks, 0);
    let encoded = if cparams.nthreads > 1 && nblocks > 1 {
        plan.encode_parallel(&mut out)
    } else {
        plan.encode_serial(&mut out)
    };
    match encoded {
        Err(GiveUp) => {
            header.flags |= FLAG_MEMCPYED;
            Ok(memcpyed(&mut header, src))
        }
        Ok(all_zero_runs) => {
            if all_zero_runs {
                header.blosc2_flags |= SpecialValue::Zeros.kind() << 4;
                out.truncate(HEADER_LEN);
            }
            header.cbytes = out.len();
            let mut h = [0u8; HEADER_LEN];
            header.write(&mut h);
            out[..HEADER_LEN].copy_from_slice(&h);
            Ok(out)
        }
    }
}

/// Encodes `block` alone, as one block of a chunk whose header blocksize is `bs`,
/// appending its streams to `out` exactly as [`compress`] lays them out (no size
/// budget). For block-level splicing (`chunk::splice`); the caller excludes DELTA.
pub(crate) fn encode_one_block(
    cparams: &CParams,
    typesize: usize,
    bs: usize,
    split: bool,
    block: &[u8],
    out: &mut Vec<u8>,
) {
    let plan = Plan {
        src: block,
        cp: cparams,
        typesize,
        bs,
        nblocks: 1,
        split,
        destsize: usize::MAX,
    };
    // An unbounded budget never gives up.
    let _ = plan.encode_block(0, out, usize::MAX, &mut Scratch::default());
}

/// Whether every byte of `s` equals `first`: 64 bytes per step, branch-free inside.
fn is_run(s: &[u8], first: u8) -> bool {
    let pattern = u64::from_ne_bytes([first; 8]);
    let mut blocks = s.chunks_exact(64);
    for block in &mut blocks {
        let diff = block.chunks_exact(8).fold(0u64, |acc, w| {
            acc | (u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pattern)
        });
        if diff != 0 {
            return false;
        }
    }
    blocks.remainder().iter().all(|&b| b == first)
}

fn memcpyed(header: &mut ChunkHeader, src: &[u8]) -> Vec<u8> {
    header.cbytes = src.len() + HEADER_LEN;
    let mut out = vec![0u8; HEADER_LEN];
    let mut h = [0u8; HEADER_LEN];
    header.write(&mut h);
    out.copy_from_slice(&h);
    out.extend_from_slice(src);
    out
}

impl Plan<'_> {
    fn block_len(&self, b: usize) -> usize {
        (self.src.len() - b * self.bs).min(self.bs)
    }

    fn nstreams(&self, bsize: usize) -> usize {
        if self.split && bsize == self.bs {
            self.typesize
        } else {
            1
        }
    }

    /// Largest number of bytes block `b` can add (raw streams plus run tokens).
    fn worst_case(&self, b: usize) -> usize {
        let bsize = self.block_len(b);
        bsize + 5 * self.nstreams(bsize)
    }

    fn encode_serial(&self, out: &mut Vec<u8>) -> Result<bool, GiveUp> {
        with_scratch(|scratch| {
            let mut all_zero = true;
            for b in 0..self.nblocks {
                let start = out.len();
                out[HEADER_LEN + 4 * b..HEADER_LEN + 4 * b + 4]
                    .copy_from_slice(&(start as i32).to_le_bytes());
                all_zero &= self.encode_block(b, out, self.destsize, scratch)?;
            }
            Ok(all_zero)
        })
    }

    fn encode_parallel(&self, out: &mut Vec<u8>) -> Result<bool, GiveUp> {
        let blocks: Vec<(Vec<u8>, bool)> = pool::install(self.cp.nthreads, || {
            (0..self.nblocks)
                .into_par_iter()
                .map(|b| {
                    let mut buf = Vec::with_capacity(self.worst_case(b));
                    // Unbounded budget: never gives up.
                    let zero =
                        with_scratch(|scratch| self.encode_block(b, &mut buf, usize::MAX, scratch))
                            .unwrap_or(false);
                    (buf, zero)
                })
                .collect()
        });
        let mut all_zero = true;
        for (b, (bytes, zero)) in blocks.into_iter().enumerate() {
            let start = out.len();
            out[HEADER_LEN + 4 * b..HEADER_LEN + 4 * b + 4]
                .copy_from_slice(&(start as i32).to_le_bytes());
            if start + self.worst_case(b) <= self.destsize {
                out.extend_from_slice(&bytes);
                all_zero &= zero;
            } else {
                all_zero &=
                    with_scratch(|scratch| self.encode_block(b, out, self.destsize, scratch))?;
            }
        }
        Ok(all_zero)
    }

    /// Applies the forward filters to block `b`; returns which buffer holds the
    /// result (`None` = the source itself).
    fn filter_block(&self, b: usize, scratch: &mut Scratch) -> Option<bool> {
        let bsize = self.block_len(b);
        let block = &self.src[b * self.bs..b * self.bs + bsize];
        let mut cur: Option<bool> = None; // Some(false) = a, Some(true) = b
        for (slot, f) in self.cp.filters.iter().enumerate() {
            let meta = self.cp.filters_meta[slot];
            if *f == Filter::NoFilter || (*f == Filter::Shuffle && self.shuffle_size(meta) <= 1) {
                continue;
            }
            let (input, output): (&[u8], &mut Vec<u8>) = match cur {
                None => (block, &mut scratch.a),
                Some(false) => (&scratch.a[..bsize], &mut scratch.b),
                Some(true) => (&scratch.b[..bsize], &mut scratch.a),
            };
            // The two buffers are distinct fields; take the output out to satisfy the borrow checker.
            let mut outbuf = std::mem::take(output);
            outbuf.resize(bsize.max(outbuf.len()), 0);
            let dst = &mut outbuf[..bsize];
            match f {
                Filter::Shuffle => filter::shuffle(self.shuffle_size(meta), input, dst),
                Filter::BitShuffle => filter::bitshuffle(self.typesize, input, dst),
                Filter::Delta => {
                    filter::delta_encode(&self.src[..bsize], b == 0, self.typesize, input, dst)
                }
                Filter::ByteDelta => {
                    let s = if meta == 0 {
                        self.typesize
                    } else {
                        usize::from(meta)
                    };
                    filter::bytedelta_encode(s, input, dst)
                }
                Filter::TruncPrec => {
                    // Parameters were validated in compress().
                    let _ = filter::trunc_prec(meta as i8, self.typesize, input, dst);
                }
                Filter::NoFilter | Filter::ByteDeltaLegacy => dst.copy_from_slice(input),
            }
            let next = match cur {
                None | Some(true) => false,
                Some(false) => true,
            };
            if next {
                scratch.b = outbuf;
            } else {
                scratch.a = outbuf;
            }
            cur = Some(next);
        }
        cur
    }

    fn shuffle_size(&self, meta: u8) -> usize {
        if meta == 0 {
            self.typesize
        } else {
            usize::from(meta)
        }
    }

    /// Appends block `b`'s streams to `out`, keeping `out.len() <= budget`.
    /// Returns whether every stream was a zero run.
    fn encode_block(
        &self,
        b: usize,
        out: &mut Vec<u8>,
        budget: usize,
        scratch: &mut Scratch,
    ) -> Result<bool, GiveUp> {
        let bsize = self.block_len(b);
        let which = self.filter_block(b, scratch);
        let filtered: &[u8] = match which {
            None => &self.src[b * self.bs..b * self.bs + bsize],
            Some(false) => &scratch.a[..bsize],
            Some(true) => &scratch.b[..bsize],
        };
        let nstreams = self.nstreams(bsize);
        let neblock = bsize / nstreams;
        let mut all_zero = true;
        for stream in filtered.chunks_exact(neblock).take(nstreams) {
            let csize_at = out.len();
            if csize_at + 4 > budget {
                return Err(GiveUp);
            }
            out.extend_from_slice(&[0; 4]);
            let first = stream[0];
            if is_run(stream, first) {
                if first != 0 {
                    all_zero = false;
                    if out.len() + 1 > budget {
                        return Err(GiveUp);
                    }
                    out.push(1);
                }
                let csize = -i32::from(first);
                out[csize_at..csize_at + 4].copy_from_slice(&csize.to_le_bytes());
                continue;
            }
            all_zero = false;
            let room = budget.saturating_sub(out.len());
            let maxout = neblock.min(room);
            if maxout == 0 {
                return Err(GiveUp);
            }
            let at = out.len();
            out.resize(at + maxout, 0);
            let n =
                codec::compress_stream(self.cp.codec.id(), self.cp.clevel, stream, &mut out[at..]);
            let csize = if n == 0 || n >= neblock {
                if at + neblock > budget {
                    return Err(GiveUp);
                }
                out.truncate(at);
                out.extend_from_slice(stream);
                neblock
            } else {
                out.truncate(at + n);
                n
            };
            out[csize_at..csize_at + 4].copy_from_slice(&(csize as i32).to_le_bytes());
        }
        Ok(all_zero)
    }
}
