#!/usr/bin/env bash
# Starts or stops a local S3-compatible server (moto, pinned in
# python/requirements-oracle.txt) on 127.0.0.1 for the store tests.
#
#   eval "$(scripts/s3-server.sh start)"   # exports B2FRAME_S3_ENDPOINT, B2FRAME_S3_BUCKET
#   scripts/s3-server.sh stop
#
# `start` picks a free loopback port, waits until the server answers, creates
# the bucket `b2frame-test` and prints the export lines; when a server started
# from the same state directory still answers, it prints its lines again.
# State (pid, endpoint, log) lives in $B2FRAME_S3_DIR or ~/.cache/b2frame/s3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${B2FRAME_S3_DIR:-$HOME/.cache/b2frame/s3}"
bucket="b2frame-test"
mkdir -p "$dir"

exports() {
  echo "export B2FRAME_S3_ENDPOINT=$(cat "$dir/endpoint")"
  echo "export B2FRAME_S3_BUCKET=$bucket"
}

alive() {
  [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null
}

case "${1:-}" in
start)
  python="$("$root/scripts/oracle-venv.sh")"
  if alive && [ -f "$dir/endpoint" ] &&
    "$python" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "$(cat "$dir/endpoint")/$bucket" >/dev/null 2>&1; then
    exports
    exit 0
  fi
  port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  endpoint="http://127.0.0.1:$port"
  "$(dirname "$python")/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  # Ready when it answers; then one unsigned PUT creates the bucket.
  if ! "$python" - "$endpoint" "$bucket" <<'EOF' >&2; then
import sys, time, urllib.request
endpoint, bucket = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(endpoint + "/", timeout=2).read()
        break
    except Exception as e:
        if time.monotonic() > deadline:
            sys.exit(f"s3 server at {endpoint} not ready after 60 s: {e}")
        time.sleep(0.1)
req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
urllib.request.urlopen(req, timeout=10).read()
EOF
    echo "s3-server: failed to start, log:" >&2
    cat "$dir/log" >&2 || true
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
    exit 1
  fi
  echo "$endpoint" >"$dir/endpoint"
  exports
  ;;
stop)
  if alive; then
    pid="$(cat "$dir/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid" "$dir/endpoint"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
