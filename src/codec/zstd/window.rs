//! Producing a window of a Zstd frame's output from its decoded sequences.
//!
//! A backward pass maps the wanted interval through the sequences that write it:
//! literal parts are taken from the literal buffer, match parts send the need to their
//! source (`[p - d, ..)` for a match at `p` with offset `d`; a match overlapping itself
//! repeats with period `d`, so its need maps into the first period `[p - d, p)`). A
//! forward pass then writes only the needed ranges, sources before their users. When
//! the interval set grows past a bound, the sequences are executed linearly up to the
//! end of the window instead.

use std::ops::Range;

/// One sequence with its place in the frame output and the literal buffer (raw and RLE
/// blocks and trailing literals are sequences too, some with `ml == 0`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Seq {
    /// Output position of its first literal.
    pub pos: usize,
    /// Index of its first literal in the literal buffer.
    pub lit: usize,
    /// Literal length.
    pub ll: u32,
    /// Match length.
    pub ml: u32,
    /// Match offset (at most the match position).
    pub off: u32,
}

/// One range of the output to write in the forward pass.
#[derive(Clone, Copy)]
struct Step {
    /// The sequence writing it.
    seq: usize,
    /// Whether it is taken from the sequence's literals (else from its match).
    lit: bool,
    /// The range.
    a: usize,
    /// Its end.
    b: usize,
}

/// Buffers of the two passes, kept between calls.
#[derive(Default)]
pub(super) struct Plan {
    /// Needed output intervals, sorted and disjoint.
    needed: Vec<(usize, usize)>,
    /// Match parts popped while handling one sequence.
    popped: Vec<(usize, usize)>,
    /// Ranges to write, last first.
    steps: Vec<Step>,
}

/// Most needed intervals before falling back to linear execution.
const MAX_INTERVALS: usize = 256;
/// Most forward steps before falling back to linear execution.
const MAX_STEPS: usize = 8192;

const BUG: &str = "zstd window plan out of range";

#[cfg(test)]
thread_local! {
    /// Makes [`Plan::backward`] give up at once, so tests reach [`linear`].
    pub(super) static FORCE_LINEAR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Writes the ranges planned by [`Plan::backward`] from the sequences `seqs`
/// (validated: every sequence lies inside `dst` and every offset within the output
/// before its match) and the literals `lits` (at least those planned).
pub(super) fn forward(
    dst: &mut [u8],
    lits: &[u8],
    seqs: &[Seq],
    plan: &Plan,
) -> Result<(), &'static str> {
    for st in plan.steps.iter().rev() {
        let s = seqs.get(st.seq).ok_or(BUG)?;
        let out = dst.get_mut(st.a..st.b).ok_or(BUG)?;
        let mp = s.pos + s.ll as usize;
        if st.lit {
            let from = s.lit + (st.a - s.pos);
            out.copy_from_slice(lits.get(from..from + out.len()).ok_or(BUG)?);
        } else {
            let d = s.off as usize;
            let ps = mp.checked_sub(d).ok_or(BUG)?;
            copy_periodic(dst, ps, d, (st.a - mp) % d, st.a..st.b)?;
        }
    }
    Ok(())
}

impl Plan {
    /// The literal-buffer ranges the plan reads for sequences `from..`.
    pub(super) fn literals<'a>(
        &'a self,
        seqs: &'a [Seq],
        from: usize,
    ) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.steps
            .iter()
            .filter(move |st| st.lit && st.seq >= from)
            .filter_map(move |st| {
                let s = seqs.get(st.seq)?;
                let l = s.lit + (st.a - s.pos);
                Some((l, l + (st.b - st.a)))
            })
    }

    /// Maps `need` back through `seqs`, planning the ranges to write; `false` if the
    /// plan grew too large (then [`linear`] must write the window).
    pub(super) fn backward(&mut self, need: Range<usize>, seqs: &[Seq]) -> bool {
        self.needed.clear();
        self.steps.clear();
        #[cfg(test)]
        if FORCE_LINEAR.get() {
            return false;
        }
        if need.is_empty() {
            return true;
        }
        self.needed.push((need.start, need.end));
        for (i, s) in seqs.iter().enumerate().rev() {
            if self.needed.is_empty() {
                break;
            }
            let mp = s.pos + s.ll as usize;
            if s.ml > 0 {
                self.popped.clear();
                pop_above(&mut self.needed, mp, &mut self.popped);
                let (d, ml) = (s.off as usize, s.ml as usize);
                for &(a, b) in &self.popped {
                    self.steps.push(Step {
                        seq: i,
                        lit: false,
                        a,
                        b,
                    });
                    if d >= ml {
                        insert(&mut self.needed, a - d, b - d);
                    } else if b - a >= d {
                        insert(&mut self.needed, mp - d, mp);
                    } else {
                        let (s0, s1) = ((a - mp) % d, (a - mp) % d + (b - a));
                        if s1 <= d {
                            insert(&mut self.needed, mp - d + s0, mp - d + s1);
                        } else {
                            insert(&mut self.needed, mp - d + s0, mp);
                            insert(&mut self.needed, mp - d, mp - d + (s1 - d));
                        }
                    }
                }
            }
            self.popped.clear();
            pop_above(&mut self.needed, s.pos, &mut self.popped);
            for &(a, b) in &self.popped {
                self.steps.push(Step {
                    seq: i,
                    lit: true,
                    a,
                    b,
                });
            }
            if self.needed.len() > MAX_INTERVALS || self.steps.len() > MAX_STEPS {
                return false;
            }
        }
        self.needed.is_empty()
    }
}

/// Moves the parts of `needed` at or above `at` into `out` (highest first).
fn pop_above(needed: &mut Vec<(usize, usize)>, at: usize, out: &mut Vec<(usize, usize)>) {
    while let Some(&(a, b)) = needed.last() {
        if b <= at {
            break;
        }
        needed.pop();
        if a < at {
            needed.push((a, at));
            out.push((at, b));
            break;
        }
        out.push((a, b));
    }
}

/// Adds `[a, b)` to the sorted, disjoint intervals `v`, merging touching ones.
fn insert(v: &mut Vec<(usize, usize)>, a: usize, b: usize) {
    if a >= b {
        return;
    }
    let i = v.partition_point(|&(_, e)| e < a);
    let (mut na, mut nb) = (a, b);
    let mut j = i;
    while let Some(&(x, y)) = v.get(j) {
        if x > nb {
            break;
        }
        na = na.min(x);
        nb = nb.max(y);
        j += 1;
    }
    if j == i {
        v.insert(i, (na, nb));
    } else {
        v[i] = (na, nb);
        v.drain(i + 1..j);
    }
}

/// Writes `out` of `dst` with the bytes repeating with period `d` from `dst[ps..ps+d]`,
/// starting at phase `phase` of the period.
fn copy_periodic(
    dst: &mut [u8],
    ps: usize,
    d: usize,
    phase: usize,
    out: Range<usize>,
) -> Result<(), &'static str> {
    let len = out.len();
    if d == 0 || phase >= d || ps + d > out.start || out.end > dst.len() {
        return Err(BUG);
    }
    if d == 1 {
        let v = dst[ps];
        dst[out].fill(v);
        return Ok(());
    }
    let a = out.start;
    let n0 = len.min(d - phase);
    dst.copy_within(ps + phase..ps + phase + n0, a);
    let mut done = n0;
    if done < len {
        let n1 = (len - done).min(phase);
        dst.copy_within(ps..ps + n1, a + done);
        done += n1;
    }
    while done < len {
        let l = done / d * d;
        let n = (len - done).min(l);
        dst.copy_within(a + done - l..a + done - l + n, a + done);
        done += n;
    }
    Ok(())
}

/// Executes the sequences in order until `end` bytes of output are written.
pub(super) fn linear(
    dst: &mut [u8],
    end: usize,
    lits: &[u8],
    seqs: &[Seq],
) -> Result<(), &'static str> {
    for s in seqs {
        if s.pos >= end {
            break;
        }
        let ll = s.ll as usize;
        dst.get_mut(s.pos..s.pos + ll)
            .ok_or(BUG)?
            .copy_from_slice(lits.get(s.lit..s.lit + ll).ok_or(BUG)?);
        let mp = s.pos + ll;
        let m = (s.ml as usize).min(end.saturating_sub(mp));
        if m > 0 {
            let d = s.off as usize;
            copy_periodic(dst, mp.checked_sub(d).ok_or(BUG)?, d, 0, mp..mp + m)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn intervals_merge_and_pop() {
        let mut v = vec![];
        insert(&mut v, 10, 20);
        insert(&mut v, 30, 40);
        insert(&mut v, 20, 25);
        insert(&mut v, 5, 6);
        assert_eq!(v, [(5, 6), (10, 25), (30, 40)]);
        insert(&mut v, 24, 31);
        assert_eq!(v, [(5, 6), (10, 40)]);
        let mut out = vec![];
        pop_above(&mut v, 15, &mut out);
        assert_eq!((v, out), (vec![(5, 6), (10, 15)], vec![(15, 40)]));
    }

    #[test]
    fn periodic_copies_follow_their_period() {
        let mut d = *b"abcdefgh________________________";
        copy_periodic(&mut d, 2, 3, 1, 8..30).unwrap();
        assert_eq!(&d[8..30], b"decdecdecdecdecdecdecd");
    }
}
