//! Cached `rayon` thread pools, one per requested thread count, so that
//! `nthreads > 1` never pays pool start-up per chunk.

use std::sync::{Arc, Mutex, OnceLock};

/// Pools built so far, by thread count.
type Pools = Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>>;

static POOLS: OnceLock<Pools> = OnceLock::new();

/// Runs `f` inside a pool of `nthreads` threads (the global pool if one cannot be built).
pub(crate) fn install<R: Send>(nthreads: usize, f: impl FnOnce() -> R + Send) -> R {
    let pools = POOLS.get_or_init(|| Mutex::new(Vec::new()));
    let pool = {
        let mut guard = match pools.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, p)) = guard.iter().find(|(n, _)| *n == nthreads) {
            Some(Arc::clone(p))
        } else {
            match rayon::ThreadPoolBuilder::new()
                .num_threads(nthreads)
                .build()
            {
                Ok(p) => {
                    let p = Arc::new(p);
                    guard.push((nthreads, Arc::clone(&p)));
                    Some(p)
                }
                Err(_) => None,
            }
        }
    };
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}
