#!/usr/bin/env bash
# Builds the Python package (b2frame-py, debug profile) into the oracle venv and
# runs its pytest suite.
#
#   scripts/python-test.sh [pytest args…]
#
# Interpreter: $B2FRAME_PYTHON, else the venv of scripts/oracle-venv.sh. Cargo
# output: $CARGO_TARGET_DIR, else ~/.cache/b2frame/target. The S3 tests need the
# local server: eval "$(B2FRAME_S3_DIR=$(mktemp -d) ./scripts/s3-server.sh start)".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${B2FRAME_PYTHON:-$("$root/scripts/oracle-venv.sh")}"
req="$root/b2frame-py/requirements-dev.txt"
stamp="$(dirname "$python")/../.b2frame-py-requirements"
if ! cmp -s "$req" "$stamp"; then
  "$python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/b2frame/target}"
# `maturin develop` installs into the environment of $VIRTUAL_ENV.
export VIRTUAL_ENV="$(cd "$(dirname "$python")/.." && pwd)"
export PATH="$VIRTUAL_ENV/bin:$PATH"
(cd "$root/b2frame-py" && "$python" -m maturin develop --quiet --locked)
cd "$root"
exec "$python" -m pytest -q b2frame-py/tests "$@"
