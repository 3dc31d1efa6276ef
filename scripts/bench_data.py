#!/usr/bin/env python3
"""Raw benchmark inputs for scripts/bench_compare.py, cached on disk.

Each data set is one little-endian raw file `<name>.<dtype>` in
`<cache>/scale-<scale>/`, reused when present with the expected size and the
same generator version (see `manifest.json` there).

| name | items at scale 1 | what |
|---|---|---|
| c_i64_arange | 50,000,000 | `arange` as int64 |
| c_f64_walk | 25,000,000 | `cumsum` of standard normal steps, float64, seed 20251124 |
| c_i32_ts | 50,000,000 | int32 timestamps from 1,700,000,000 with steps 1..3, seed 20251124 |
| l_*  | 6,001,215 (TPC-H SF 1) | TPC-H lineitem columns from `tpchgen-cli` (dbgen-identical) |

TPC-H DECIMAL(15,2) columns are stored as int64 hundredths (how DuckDB and
Arrow's decimal64 keep them); `l_extendedprice` also as float64 (how pandas
keeps it); `l_shipdate` as int32 days since 1970-01-01 (Arrow date32).

Needs numpy and pyarrow; `tpchgen-cli` (a PyPI wheel holding the Rust
generator) is pip-installed into the running interpreter if missing.

Run it alone to (re)make the files: `python scripts/bench_data.py --scale 0.2`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SEED = 20251124
#: Bumped whenever a generator changes, so stale caches are remade.
GENERATOR_VERSION = 1
TPCHGEN_CLI = "tpchgen-cli==4.0.0"
DEFAULT_CACHE = Path.home() / ".cache" / "b2frame" / "bench-data"

#: name -> (numpy dtype, items at scale 1 or None for TPC-H, description)
SYNTHETIC = {
    "c_i64_arange": ("int64", 50_000_000, "arange int64"),
    "c_f64_walk": ("float64", 25_000_000, "random walk float64 (N(0,1) steps)"),
    "c_i32_ts": ("int32", 50_000_000, "int32 timestamps, steps 1..3"),
}
#: name -> (dtype, source column, conversion, description)
TPCH = {
    "l_orderkey_i64": ("int64", "l_orderkey", "int", "TPC-H l_orderkey int64"),
    "l_quantity_i64": ("int64", "l_quantity", "dec", "TPC-H l_quantity, int64 hundredths"),
    "l_extendedprice_i64": ("int64", "l_extendedprice", "dec", "TPC-H l_extendedprice, int64 cents"),
    "l_extendedprice_f64": ("float64", "l_extendedprice", "f64", "TPC-H l_extendedprice float64"),
    "l_discount_i64": ("int64", "l_discount", "dec", "TPC-H l_discount, int64 hundredths"),
    "l_shipdate_i32": ("int32", "l_shipdate", "date", "TPC-H l_shipdate, int32 days"),
}
DATASETS = list(SYNTHETIC) + list(TPCH)


def suffix(dtype: str) -> str:
    """File suffix for a numpy dtype name: int64 -> i64, float64 -> f64."""
    return {"int64": "i64", "int32": "i32", "float64": "f64"}[dtype]


def dtype_of(name: str) -> str:
    """The numpy dtype name of data set `name`."""
    return SYNTHETIC[name][0] if name in SYNTHETIC else TPCH[name][0]


def describe(name: str) -> str:
    """One-line description of data set `name`."""
    return SYNTHETIC[name][2] if name in SYNTHETIC else TPCH[name][3]


def make_synthetic(name: str, n: int) -> np.ndarray:
    """Generates synthetic data set `name` with `n` items (own generator per set)."""
    rng = np.random.default_rng(SEED)
    if name == "c_i64_arange":
        return np.arange(n, dtype=np.int64)
    if name == "c_f64_walk":
        return rng.standard_normal(n).cumsum()
    if name == "c_i32_ts":
        steps = rng.integers(1, 4, size=n, dtype=np.int32)
        return (np.int64(1_700_000_000) + np.cumsum(steps, dtype=np.int64)).astype(np.int32)
    raise KeyError(name)


def tpchgen_binary() -> str:
    """Path of tpchgen-cli, pip-installing it into this interpreter if needed."""
    here = Path(sys.executable).parent / "tpchgen-cli"
    if here.exists():
        return str(here)
    found = shutil.which("tpchgen-cli")
    if found:
        return found
    print(f"installing {TPCHGEN_CLI} into {sys.prefix} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", TPCHGEN_CLI], check=True)
    if here.exists():
        return str(here)
    found = shutil.which("tpchgen-cli")
    if not found:
        sys.exit("tpchgen-cli not found after pip install")
    return found


def decimal_unscaled(arr) -> np.ndarray:
    """The unscaled integers of an Arrow decimal128 array (values fit in int64)."""
    import pyarrow as pa

    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    raw = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    lo = raw[0::2][arr.offset : arr.offset + len(arr)]
    hi = raw[1::2][arr.offset : arr.offset + len(arr)]
    if not np.all(hi == (lo >> 63)):
        raise ValueError("decimal value does not fit in int64")
    return lo.copy()


def make_tpch(sf: float, names: list[str], outdir: Path) -> dict[str, np.ndarray]:
    """Runs tpchgen-cli for lineitem at scale factor `sf` and returns the columns asked."""
    import pyarrow.parquet as pq

    exe = tpchgen_binary()
    with tempfile.TemporaryDirectory(dir=outdir) as tmp:
        subprocess.run(
            [exe, "parquet", "-s", repr(sf), "--tables", "lineitem", "--output-dir", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cols = sorted({TPCH[n][1] for n in names})
        table = pq.read_table(Path(tmp) / "lineitem.parquet", columns=cols)
    out = {}
    for name in names:
        dtype, col, conv, _ = TPCH[name]
        arr = table.column(col).combine_chunks()
        if conv == "int":
            v = arr.to_numpy().astype(np.int64)
        elif conv == "dec":
            v = decimal_unscaled(arr)
        elif conv == "f64":
            v = decimal_unscaled(arr).astype(np.float64) / 100.0
        elif conv == "date":
            v = arr.cast("int32").to_numpy()
        else:
            raise KeyError(conv)
        out[name] = np.ascontiguousarray(v.astype(dtype))
    return out


def ensure(scale: float, cache: Path = DEFAULT_CACHE, names: list[str] | None = None) -> dict[str, Path]:
    """Makes (or reuses) the raw files for `names` at `scale`; returns name -> path."""
    names = list(names or DATASETS)
    d = cache / f"scale-{scale:g}"
    d.mkdir(parents=True, exist_ok=True)
    mpath = d / "manifest.json"
    manifest = json.loads(mpath.read_text()) if mpath.exists() else {}
    if manifest.get("generator_version") != GENERATOR_VERSION:
        manifest = {"generator_version": GENERATOR_VERSION, "seed": SEED, "scale": scale, "files": {}}
    files = manifest["files"]

    def fresh(name: str) -> bool:
        p = d / f"{name}.{suffix(dtype_of(name))}"
        info = files.get(name)
        return bool(info) and p.exists() and p.stat().st_size == info["nbytes"]

    def store(name: str, v: np.ndarray, extra: dict) -> None:
        p = d / f"{name}.{suffix(dtype_of(name))}"
        tmp = p.with_suffix(p.suffix + ".tmp")
        v.astype(np.dtype(dtype_of(name)).newbyteorder("<"), copy=False).tofile(tmp)
        os.replace(tmp, p)
        files[name] = {"nbytes": p.stat().st_size, "items": int(v.size), "dtype": dtype_of(name), **extra}
        mpath.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        print(f"  made {p} ({p.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)

    for name in names:
        if name in SYNTHETIC and not fresh(name):
            n = max(1, int(round(SYNTHETIC[name][1] * scale)))
            store(name, make_synthetic(name, n), {})
    missing = [n for n in names if n in TPCH and not fresh(n)]
    if missing:
        sf = round(scale, 6)
        print(f"generating TPC-H lineitem SF {sf:g} ...", file=sys.stderr)
        for name, v in make_tpch(sf, missing, d).items():
            store(name, v, {"tpch_sf": sf, "generator": TPCHGEN_CLI})
    return {n: d / f"{n}.{suffix(dtype_of(n))}" for n in names}


def main() -> None:
    """CLI: make the cached raw files and print their paths."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="size factor (1 = full size)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="cache directory")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated names")
    a = ap.parse_args()
    for name, p in ensure(a.scale, a.cache, a.datasets.split(",")).items():
        print(f"{name}\t{p}")


if __name__ == "__main__":
    main()
