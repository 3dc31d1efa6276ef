#!/usr/bin/env bash
# The test command: installs the python-blosc2 oracle if needed, then runs
# every test with the oracle and the local S3 server required (never skipped).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
B2FRAME_PYTHON="$("$root/scripts/oracle-venv.sh")"
export B2FRAME_PYTHON
export B2FRAME_ORACLE=1
# The store tests' S3-compatible server (moto) on 127.0.0.1, private to this
# run (its own state directory) and stopped on exit.
B2FRAME_S3_DIR="$(mktemp -d)"
export B2FRAME_S3_DIR
trap '"$root/scripts/s3-server.sh" stop; rm -rf "$B2FRAME_S3_DIR"' EXIT
s3_env="$("$root/scripts/s3-server.sh" start)"
eval "$s3_env"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/b2frame/target}"
cargo test --all-features --all-targets "$@"
cargo test --all-features --doc
# The Python package (b2frame-py): maturin develop into the same venv, then pytest
# (python-blosc2 interop and S3 tests included).
"$root/scripts/python-test.sh"
