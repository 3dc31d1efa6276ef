#!/usr/bin/env bash
# Creates (once) the Python venv holding the pinned python-blosc2 oracle and
# prints the interpreter's path. Location: $B2FRAME_VENV or ~/.cache/b2frame/venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${B2FRAME_VENV:-$HOME/.cache/b2frame/venv}"
req="$root/python/requirements-oracle.txt"
stamp="$venv/.b2frame-requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv/bin/python"
