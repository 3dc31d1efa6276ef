#!/usr/bin/env bash
# The test command: installs the python-blosc2 oracle if needed, then runs
# every test with the oracle required (never skipped).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
B2FRAME_PYTHON="$("$root/scripts/oracle-venv.sh")"
export B2FRAME_PYTHON
export B2FRAME_ORACLE=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/b2frame/target}"
cargo test --all-features --all-targets "$@"
cargo test --all-features --doc
