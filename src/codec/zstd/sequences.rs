//! The sequences section of a compressed Zstd block (RFC 8878 §3.1.1.3.2): the
//! sequence count, the three code tables (predefined, RLE, FSE-described or repeated)
//! and the backward stream of (literal length, match length, offset) triples with the
//! repeat-offset rules.

use super::bits::RevBits;
use super::fse::{self, Cell};

/// Literal-length codes 16.. : (baseline, extra bits).
const LL_TAIL: [(u32, u8); 20] = [
    (16, 1),
    (18, 1),
    (20, 1),
    (22, 1),
    (24, 2),
    (28, 2),
    (32, 3),
    (40, 3),
    (48, 4),
    (64, 6),
    (128, 7),
    (256, 8),
    (512, 9),
    (1024, 10),
    (2048, 11),
    (4096, 12),
    (8192, 13),
    (16384, 14),
    (32768, 15),
    (65536, 16),
];
/// Match-length codes 32.. : (baseline, extra bits).
const ML_TAIL: [(u32, u8); 21] = [
    (35, 1),
    (37, 1),
    (39, 1),
    (41, 1),
    (43, 2),
    (47, 2),
    (51, 3),
    (59, 3),
    (67, 4),
    (83, 4),
    (99, 5),
    (131, 7),
    (259, 8),
    (515, 9),
    (1027, 10),
    (2051, 11),
    (4099, 12),
    (8195, 13),
    (16387, 14),
    (32771, 15),
    (65539, 16),
];
/// Predefined literal-length distribution (accuracy log 6).
const LL_DEFAULT: [i16; 36] = [
    4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
    -1, -1, -1, -1,
];
/// Predefined match-length distribution (accuracy log 6).
const ML_DEFAULT: [i16; 53] = [
    1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
];
/// Predefined offset-code distribution (accuracy log 5).
const OF_DEFAULT: [i16; 29] = [
    1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1,
];

/// Which of the three codes a table decodes.
#[derive(Clone, Copy)]
enum Kind {
    /// Literal lengths.
    Ll,
    /// Match lengths.
    Ml,
    /// Offsets.
    Of,
}

impl Kind {
    /// Largest code, largest accuracy log and the predefined distribution.
    fn limits(self) -> (usize, u32, &'static [i16], u32) {
        match self {
            Kind::Ll => (35, 9, &LL_DEFAULT, 6),
            Kind::Ml => (52, 9, &ML_DEFAULT, 6),
            Kind::Of => (31, 8, &OF_DEFAULT, 5),
        }
    }

    /// The baseline and extra bits of code `c` (at most the largest code).
    fn code(self, c: u8) -> (u32, u8) {
        let c32 = u32::from(c);
        match self {
            Kind::Ll if c < 16 => (c32, 0),
            Kind::Ll => LL_TAIL[usize::from(c - 16) % 20],
            Kind::Ml if c < 32 => (c32 + 3, 0),
            Kind::Ml => ML_TAIL[usize::from(c - 32) % 21],
            Kind::Of => (1 << (c32 & 31), c & 31),
        }
    }
}

/// A decoding-table cell with its code resolved: value = `base + read(extra)`, next
/// state = `next + read(nb)`.
#[derive(Clone, Copy, Default)]
struct SeqCell {
    /// Baseline of the code.
    base: u32,
    /// Extra bits of the code.
    extra: u8,
    /// State bits.
    nb: u8,
    /// Next state before adding the state bits.
    next: u16,
}

/// One code table of a frame (kept for the repeat mode).
struct Table {
    /// Cells, `1 << log` used.
    cells: [SeqCell; 512],
    /// Accuracy log.
    log: u32,
    /// Whether a table was ever set in this frame.
    set: bool,
}

impl Table {
    /// An unset table.
    fn new() -> Self {
        Self {
            cells: [SeqCell::default(); 512],
            log: 0,
            set: false,
        }
    }

    /// Reads this table's mode `mode` (and description from `src`); returns bytes used.
    fn read(
        &mut self,
        kind: Kind,
        mode: u8,
        src: &[u8],
        cells: &mut [Cell; 512],
    ) -> Result<usize, &'static str> {
        let (max_code, max_log, _, _) = kind.limits();
        let mut norm = [0i16; 53];
        let (used, nsym, log) = match mode {
            0 => {
                let (t, log) = predefined(kind);
                self.cells[..t.len()].copy_from_slice(t);
                self.log = log;
                self.set = true;
                return Ok(0);
            }
            1 => {
                let s = *src.first().ok_or("zstd sequences section too short")?;
                if usize::from(s) > max_code {
                    return Err("zstd RLE code out of range");
                }
                let (base, extra) = kind.code(s);
                self.cells[0] = SeqCell {
                    base,
                    extra,
                    nb: 0,
                    next: 0,
                };
                self.log = 0;
                self.set = true;
                return Ok(1);
            }
            2 => {
                let (log, nsym, used) = fse::read_counts(src, &mut norm[..=max_code], max_log)?;
                (used, nsym, log)
            }
            _ => {
                return if self.set {
                    Ok(0)
                } else {
                    Err("zstd repeat mode without a previous table")
                };
            }
        };
        fse::build(&norm[..nsym], log, cells)?;
        resolve(kind, &cells[..1 << log], &mut self.cells);
        self.log = log;
        self.set = true;
        Ok(used)
    }
}

/// Fills `out` with the cells `cells` of a `kind` table, codes resolved.
fn resolve(kind: Kind, cells: &[Cell], out: &mut [SeqCell]) {
    for (d, c) in out.iter_mut().zip(cells) {
        let (base, extra) = kind.code(c.sym);
        *d = SeqCell {
            base,
            extra,
            nb: c.nb,
            next: c.base,
        };
    }
}

/// The predefined table of `kind` (built once) and its accuracy log.
fn predefined(kind: Kind) -> (&'static [SeqCell], u32) {
    use std::sync::OnceLock;
    static TABLES: [OnceLock<Vec<SeqCell>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (_, _, norm, log) = kind.limits();
    let slot = match kind {
        Kind::Ll => &TABLES[0],
        Kind::Ml => &TABLES[1],
        Kind::Of => &TABLES[2],
    };
    let t = slot.get_or_init(|| {
        let mut cells = [Cell::default(); 512];
        let mut out = vec![SeqCell::default(); 1 << log];
        // The predefined distributions are valid; a failure would leave zero cells
        // (caught by the tests against libzstd).
        if fse::build(norm, log, &mut cells).is_ok() {
            resolve(kind, &cells[..1 << log], &mut out);
        }
        out
    });
    (t, log)
}

/// The code tables and repeat offsets a frame carries from block to block.
pub(super) struct Tables {
    /// Literal lengths.
    ll: Table,
    /// Match lengths.
    ml: Table,
    /// Offsets.
    of: Table,
    /// Repeat offsets 1..=3.
    pub reps: [u32; 3],
    /// Scratch for spreading a table description.
    spread: [Cell; 512],
}

impl Tables {
    /// The state at the start of a frame.
    pub(super) fn new() -> Self {
        Self {
            ll: Table::new(),
            ml: Table::new(),
            of: Table::new(),
            reps: [1, 4, 8],
            spread: [Cell::default(); 512],
        }
    }

    /// Resets to the start of a frame.
    pub(super) fn reset(&mut self) {
        self.ll.set = false;
        self.ml.set = false;
        self.of.set = false;
        self.reps = [1, 4, 8];
    }

    /// Reads the sequence count and table descriptions at the start of `src` (the
    /// whole sequences section); returns the count and the backward stream.
    pub(super) fn read_header<'a>(
        &mut self,
        src: &'a [u8],
    ) -> Result<(usize, &'a [u8]), &'static str> {
        const SHORT: &str = "zstd sequences section too short";
        let byte = |i: usize| src.get(i).copied().map(usize::from).ok_or(SHORT);
        let b0 = byte(0)?;
        let (n, mut at) = match b0 {
            0 => {
                return if src.len() == 1 {
                    Ok((0, &[]))
                } else {
                    Err("zstd block has bytes after an empty sequences section")
                }
            }
            1..=127 => (b0, 1),
            128..=254 => (((b0 - 128) << 8) + byte(1)?, 2),
            _ => (byte(1)? + (byte(2)? << 8) + 0x7F00, 3),
        };
        let modes = byte(at)? as u8;
        at += 1;
        if modes & 3 != 0 {
            return Err("zstd sequence modes use reserved bits");
        }
        let sp = &mut self.spread;
        at += self
            .ll
            .read(Kind::Ll, modes >> 6, src.get(at..).ok_or(SHORT)?, sp)?;
        at += self
            .of
            .read(Kind::Of, (modes >> 4) & 3, src.get(at..).ok_or(SHORT)?, sp)?;
        at += self
            .ml
            .read(Kind::Ml, (modes >> 2) & 3, src.get(at..).ok_or(SHORT)?, sp)?;
        Ok((n, src.get(at..).ok_or(SHORT)?))
    }

    /// Decodes `n` sequences from `stream`, handing each `(literal length, match
    /// length, offset)` to `emit`, which returns `true` to stop early. The stream must
    /// end exactly after the last sequence when all are decoded.
    pub(super) fn decode(
        &mut self,
        stream: &[u8],
        n: usize,
        mut emit: impl FnMut(u32, u32, u32) -> Result<bool, &'static str>,
    ) -> Result<(), &'static str> {
        let mut r = RevBits::new(stream)?;
        let (ll, ml, of) = (&self.ll.cells, &self.ml.cells, &self.of.cells);
        let mut sl = r.read(self.ll.log) as usize;
        let mut so = r.read(self.of.log) as usize;
        let mut sm = r.read(self.ml.log) as usize;
        let reps = &mut self.reps;
        for i in 0..n {
            let (cl, co, cm) = (ll[sl & 511], of[so & 511], ml[sm & 511]);
            let ofv = co.base.wrapping_add(r.read(u32::from(co.extra)));
            let mlv = cm.base + r.read(u32::from(cm.extra));
            let llv = cl.base + r.read(u32::from(cl.extra));
            let off = if ofv > 3 {
                *reps = [ofv - 3, reps[0], reps[1]];
                ofv - 3
            } else {
                match ofv - 1 + u32::from(llv == 0) {
                    0 => reps[0],
                    1 => {
                        *reps = [reps[1], reps[0], reps[2]];
                        reps[0]
                    }
                    2 => {
                        *reps = [reps[2], reps[0], reps[1]];
                        reps[0]
                    }
                    _ => {
                        let o = reps[0].wrapping_sub(1);
                        if o == 0 {
                            return Err("zstd repeat offset of 0");
                        }
                        *reps = [o, reps[0], reps[1]];
                        o
                    }
                }
            };
            if i + 1 < n {
                sl = usize::from(cl.next) + r.read(u32::from(cl.nb)) as usize;
                sm = usize::from(cm.next) + r.read(u32::from(cm.nb)) as usize;
                so = usize::from(co.next) + r.read(u32::from(co.nb)) as usize;
            }
            if r.overflowed() {
                return Err("zstd sequence stream too short");
            }
            if emit(llv, mlv, off)? {
                return Ok(());
            }
        }
        if !r.finished() {
            return Err("zstd sequence stream does not end with its sequences");
        }
        Ok(())
    }
}
