//! Shared helpers: paths, input generators, sha256, the python oracle.

use std::path::PathBuf;
use std::process::Command;

use sha2::{Digest, Sha256};

/// `../shared/golden` next to the repository (or `B2FRAME_GOLDEN`).
pub fn golden_dir() -> PathBuf {
    if let Ok(p) = std::env::var("B2FRAME_GOLDEN") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden")
}

/// Hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The splitmix64 byte generator of make_golden.py.
pub fn splitmix64_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// The python interpreter with the pinned python-blosc2 (`B2FRAME_PYTHON`).
pub fn python() -> Option<String> {
    if let Ok(p) = std::env::var("B2FRAME_PYTHON") {
        return Some(p);
    }
    let home = std::env::var("HOME").ok()?;
    let p = format!("{home}/.cache/b2frame/venv/bin/python");
    std::path::Path::new(&p).exists().then_some(p)
}

/// Whether oracle tests must run (`B2FRAME_ORACLE=1`); when set, a missing
/// interpreter is a failure, not a skip.
pub fn oracle() -> Option<String> {
    let required = std::env::var("B2FRAME_ORACLE").is_ok_and(|v| v == "1");
    match (python(), required) {
        (Some(p), _) => Some(p),
        (None, true) => {
            panic!("B2FRAME_ORACLE=1 but no python-blosc2 venv: run .ci/run or set B2FRAME_PYTHON")
        }
        (None, false) => {
            eprintln!("oracle skipped: set B2FRAME_ORACLE=1 and B2FRAME_PYTHON");
            None
        }
    }
}

/// Runs a python script with the oracle; panics with its stderr on failure.
pub fn run_python(py: &str, script: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Asserts two byte strings are equal, reporting the first difference (not the bytes).
#[track_caller]
pub fn assert_bytes_eq(ours: &[u8], theirs: &[u8], ctx: &str) {
    if ours != theirs {
        let first = ours
            .iter()
            .zip(theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        panic!(
            "{ctx}: bytes differ (ours {} bytes, theirs {} bytes, first difference at {first})",
            ours.len(),
            theirs.len()
        );
    }
}

/// Serializes the tests that clear what the process keeps between openings
/// (`clear_reopen_cache`) with those that count on it being kept (requests per
/// reopening, shared parses): the tests of one binary run in parallel.
pub fn kept_state() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
