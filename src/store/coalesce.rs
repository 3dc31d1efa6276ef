//! Range coalescing: turns the byte ranges a reader needs into fewer, larger
//! requests, and maps each wanted range back into the fetched bytes.
//!
//! Pure arithmetic, no I/O: [`plan`] sorts the wanted ranges, merges those that
//! overlap or lie closer than `gap` bytes, and remembers for every input range
//! which merged request holds it and at which offset.

use std::ops::Range;

/// Where one wanted range lives inside the merged requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Index into [`Plan::fetches`].
    pub(crate) fetch: usize,
    /// Byte range inside that fetch's bytes.
    pub(crate) within: Range<usize>,
}

/// The merged requests for a set of wanted ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Merged, sorted, non-overlapping, non-empty ranges to fetch.
    pub(crate) fetches: Vec<Range<u64>>,
    /// One entry per wanted range, in the caller's order; `None` for an empty range
    /// (served without a request).
    pub(crate) slots: Vec<Option<Slot>>,
}

/// Merges `wanted` into requests: ranges that overlap or whose gap is at most
/// `gap` bytes share one request. Empty ranges need no request.
///
/// Callers validate that every range has `start <= end` first.
pub(crate) fn plan(wanted: &[Range<u64>], gap: u64) -> Plan {
    let mut order: Vec<usize> = (0..wanted.len())
        .filter(|&i| wanted[i].start < wanted[i].end)
        .collect();
    order.sort_by_key(|&i| (wanted[i].start, wanted[i].end));

    let mut fetches: Vec<Range<u64>> = Vec::new();
    let mut owner = vec![usize::MAX; wanted.len()];
    for &i in &order {
        let r = &wanted[i];
        match fetches.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => {
                last.end = last.end.max(r.end);
            }
            _ => fetches.push(r.clone()),
        }
        owner[i] = fetches.len() - 1;
    }

    let slots = wanted
        .iter()
        .zip(&owner)
        .map(|(r, &f)| {
            (r.start < r.end).then(|| {
                let base = fetches[f].start;
                Slot {
                    fetch: f,
                    // Fits in usize: a fetch's bytes are held in memory.
                    within: (r.start - base) as usize..(r.end - base) as usize,
                }
            })
        })
        .collect();
    Plan { fetches, slots }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearby_ranges_merge_into_one_fetch() {
        let wanted: Vec<Range<u64>> = (0..10).map(|i| i * 100..i * 100 + 50).collect();
        let p = plan(&wanted, 1 << 20);
        assert_eq!(p.fetches, vec![0..950]);
        assert_eq!(
            p.slots[3],
            Some(Slot {
                fetch: 0,
                within: 300..350
            })
        );
    }

    #[test]
    fn far_ranges_stay_apart_and_keep_caller_order() {
        let wanted = vec![5000..5010, 0..10, 20..30, 3..8];
        let p = plan(&wanted, 10);
        assert_eq!(p.fetches, vec![0..30, 5000..5010]);
        let s: Vec<_> = p.slots.iter().map(|s| s.clone().unwrap()).collect();
        assert_eq!((s[0].fetch, s[0].within.clone()), (1, 0..10));
        assert_eq!((s[1].fetch, s[1].within.clone()), (0, 0..10));
        assert_eq!((s[2].fetch, s[2].within.clone()), (0, 20..30));
        assert_eq!((s[3].fetch, s[3].within.clone()), (0, 3..8));
    }

    #[test]
    fn gap_of_exactly_gap_bytes_merges_one_more_does_not() {
        assert_eq!(plan(&[0..10, 20..30], 10).fetches, vec![0..30]);
        assert_eq!(plan(&[0..10, 21..30], 10).fetches, vec![0..10, 21..30]);
    }

    #[test]
    fn empty_ranges_need_no_fetch() {
        let p = plan(&[7..7, 0..4], 0);
        assert_eq!(p.fetches, vec![0..4]);
        assert_eq!(p.slots[0], None);
    }
}
