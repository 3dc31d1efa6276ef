#!/usr/bin/env python3
"""Item-level operations against C-Blosc2 in the same run (issue: super-chunks).

Times, on the same raw file and parameters (4 MiB chunks, 1 thread):
  - a 1000-item slice at random offsets (median µs), in memory and from a contiguous
    frame file opened for each read (C: blosc2.open + get_slice; ours: SChunk::open_file
    + read_into, on a file without and with b2frame's per-chunk checksums),
  - a 1-item set_slice (median µs),
  - appends of 100k-item pieces vs chunk-aligned appends (GB/s),
for python-blosc2 (C) and `b2frame bench --slice-items` (ours), and prints ours/C.

Usage: ~/.cache/b2frame/venv/bin/python scripts/bench_items.py [RAW] [--codec zstd --clevel 1]
"""
import argparse, json, os, random, statistics, subprocess, sys, tempfile, time

import blosc2
import numpy as np

CODECS = {"lz4": blosc2.Codec.LZ4, "zstd": blosc2.Codec.ZSTD, "blosclz": blosc2.Codec.BLOSCLZ, "lz4hc": blosc2.Codec.LZ4HC,
          "zlib": blosc2.Codec.ZLIB}


def c_side(raw, codec, clevel, ts, cs, n, rounds):
    cp = {"codec": CODECS[codec], "clevel": clevel, "typesize": ts, "nthreads": 1}
    dp = {"nthreads": 1}
    t = time.perf_counter()
    sc = blosc2.SChunk(chunksize=cs, cparams=cp, dparams=dp)
    for i in range(0, len(raw), cs):
        sc.append_data(raw[i:i + cs])
    aligned = len(raw) / (time.perf_counter() - t) / 1e9
    piece = 100_000 * ts
    t = time.perf_counter()
    sc2 = blosc2.SChunk(chunksize=cs, cparams=cp, dparams=dp)
    at = 0
    for i in range(0, len(raw), piece):
        p = raw[i:i + piece]
        sc2[at:at + len(p) // ts] = p
        at += len(p) // ts
    unaligned = len(raw) / (time.perf_counter() - t) / 1e9
    nitems = len(raw) // ts
    rng = random.Random(20251124)
    out = np.empty(n * ts, dtype=np.uint8)
    slices = []
    for _ in range(rounds):
        s = rng.randrange(0, nitems - n)
        t = time.perf_counter()
        sc.get_slice(s, s + n, out)
        slices.append(time.perf_counter() - t)
    fd, path = tempfile.mkstemp(suffix=".b2frame")
    with os.fdopen(fd, "wb") as f:
        f.write(sc.to_cframe())
    opens = []
    for _ in range(rounds):
        s = rng.randrange(0, nitems - n)
        t = time.perf_counter()
        f = blosc2.open(path, mode="r")
        f.get_slice(s, s + n, out)
        opens.append(time.perf_counter() - t)
        del f
    os.remove(path)
    sets = []
    for _ in range(max(rounds // 4, 10)):
        s = rng.randrange(0, nitems)
        item = raw[s * ts:(s + 1) * ts]
        t = time.perf_counter()
        sc[s:s + 1] = item
        sets.append(time.perf_counter() - t)
    return {"slice_median_us": statistics.median(slices) * 1e6,
            "slice_open_median_us": statistics.median(opens) * 1e6, "set_item_median_us": statistics.median(sets) * 1e6,
            "aligned_append_GBps": aligned, "unaligned_append_GBps": unaligned}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", nargs="?")
    ap.add_argument("--codec", default="zstd")
    ap.add_argument("--clevel", type=int, default=1)
    ap.add_argument("--typesize", type=int, default=8)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=200)
    a = ap.parse_args()
    raw_path = a.raw
    if raw_path is None:
        raw_path = os.path.expanduser("~/.cache/b2frame/bench-data/items_i64_walk.bin")
        if not os.path.exists(raw_path):
            os.makedirs(os.path.dirname(raw_path), exist_ok=True)
            rng = np.random.default_rng(20251124)
            (np.cumsum(rng.integers(-3, 4, 10_000_000)) + 1_700_000_000).astype("<i8").tofile(raw_path)
    raw = open(raw_path, "rb").read()
    cs = 4 * 1024 * 1024
    c = c_side(raw, a.codec, a.clevel, a.typesize, cs, a.items, a.rounds)
    exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "b2frame")
    ours = json.loads(subprocess.check_output([exe, "bench", "--codec", a.codec, "--clevel", str(a.clevel), "--typesize",
                                               str(a.typesize), "--chunksize", str(cs), "--threads", "1", "--repeat", "10",
                                               "--slice-items", str(a.items), "--json", raw_path]))
    print(f"{a.codec} clevel {a.clevel}, blocksize {ours['blocksize']}, load {os.getloadavg()[0]:.2f}")
    print(f"| metric | C-Blosc2 | b2frame | ours/C |\n|---|---:|---:|---:|")
    c["slice_open_checksums_median_us"] = c["slice_open_median_us"]
    for k in ["slice_median_us", "slice_open_median_us", "slice_open_checksums_median_us", "set_item_median_us",
              "aligned_append_GBps", "unaligned_append_GBps"]:
        print(f"| {k} | {c[k]:.2f} | {ours[k]:.2f} | {ours[k] / c[k]:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
