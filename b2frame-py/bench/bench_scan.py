"""b2frame.scan vs pl.scan_parquet / pl.scan_ipc on TPC-H lineitem, and
b2frame.load_tensor vs blosc2.load_tensor.

    python b2frame-py/bench/bench_scan.py            # SF 0.1 (600k rows)
    B2FRAME_BENCH_SF=1 python b2frame-py/bench/bench_scan.py

Data: `tpchgen-cli` (pip) writes lineitem as Parquet into $B2FRAME_BENCH_DIR
(default ~/.cache/b2frame/bench-py/sf{SF}); the IPC (LZ4) and b2frame copies are
written from it once. Each query runs once to warm up, then the best of
$B2FRAME_BENCH_REPEAT (default 5) wall times is reported, with the ratio
`other / b2frame` (above 1: b2frame is faster). Build the extension in release
mode first (`maturin develop --release`); CI does not run this script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import blosc2
import numpy as np
import polars as pl

import b2frame

SF = os.environ.get("B2FRAME_BENCH_SF", "0.1")
REPEAT = int(os.environ.get("B2FRAME_BENCH_REPEAT", "5"))
ROOT = Path(os.environ.get("B2FRAME_BENCH_DIR", Path.home() / ".cache/b2frame/bench-py")) / f"sf{SF}"


def tpchgen() -> str:
    exe = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    if not Path(exe).exists():
        sys.exit("tpchgen-cli not found: pip install tpchgen-cli")
    return exe


def prepare() -> dict[str, Path]:
    ROOT.mkdir(parents=True, exist_ok=True)
    parquet = ROOT / "lineitem.parquet"
    if not parquet.exists():
        print(f"generating lineitem SF {SF} …", flush=True)
        subprocess.run([tpchgen(), "parquet", "-s", SF, "--tables=lineitem", f"--output-dir={ROOT}"], check=True)
    ipc = ROOT / "lineitem.arrow"
    if not ipc.exists():
        pl.scan_parquet(parquet).sink_ipc(ipc, compression="lz4")
    b2 = ROOT / "lineitem.b2"
    if not (b2 / "_manifest").exists():
        shutil.rmtree(b2, ignore_errors=True)
        b2frame.sink(pl.scan_parquet(parquet), b2)
    return {"parquet": parquet, "ipc": ipc, "b2frame": b2}


def best(fn) -> float:
    fn()
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def size_of(p: Path) -> int:
    return p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main() -> None:
    paths = prepare()
    scans = {
        "b2frame": lambda: b2frame.scan(paths["b2frame"]),
        "parquet": lambda: pl.scan_parquet(paths["parquet"]),
        "ipc": lambda: pl.scan_ipc(paths["ipc"]),
    }
    rows = pl.scan_parquet(paths["parquet"]).select(pl.len()).collect().item()
    max_key = pl.scan_parquet(paths["parquet"]).select(pl.col("l_orderkey").max()).collect().item()
    print(
        f"lineitem SF {SF}: {rows:,} rows; sizes: "
        + ", ".join(f"{k} {size_of(p) / 1e6:.1f} MB" for k, p in paths.items())
    )
    queries = {
        "full scan": lambda lf: lf,
        "one column (l_extendedprice)": lambda lf: lf.select("l_extendedprice"),
        "head(1000) after filter l_orderkey > 90%": lambda lf: lf.filter(
            pl.col("l_orderkey") > int(max_key * 0.9)
        ).head(1000),
        "head(1000) after filter l_quantity > 45": lambda lf: lf.filter(pl.col("l_quantity") > 45).head(1000),
        "sum(l_extendedprice) where l_orderkey < 5%": lambda lf: lf.filter(
            pl.col("l_orderkey") < int(max_key * 0.05)
        ).select(pl.col("l_extendedprice").sum()),
    }
    print(f"\n{'query':48} {'engine':10} {'b2frame':>9} {'parquet':>9} {'ipc':>9} {'pq/b2':>7} {'ipc/b2':>7}")
    for qname, q in queries.items():
        for engine in ("streaming", "in-memory"):
            t = {k: best(lambda mk=mk: q(mk()).collect(engine=engine)) for k, mk in scans.items()}
            check = [q(mk()).collect(engine=engine) for mk in scans.values()]
            assert all(c.shape == check[0].shape for c in check), [c.shape for c in check]
            print(
                f"{qname:48} {engine:10} {t['b2frame'] * 1e3:8.1f}ms"
                f" {t['parquet'] * 1e3:8.1f}ms {t['ipc'] * 1e3:8.1f}ms"
                f" {t['parquet'] / t['b2frame']:7.2f} {t['ipc'] / t['b2frame']:7.2f}"
            )

    # Tensors: the same python-blosc2-compatible file, loaded by both libraries.
    n = int(float(SF) * 60_000_000) // 2
    rng = np.random.default_rng(0)
    arrays = {
        "f8 walk": np.cumsum(rng.normal(size=n)).astype(np.float64),
        "i8 arange": np.arange(n, dtype=np.int64),
    }
    print(
        f"\n{'tensor (' + str(n) + ' items)':30} {'save b2':>9} {'save bl2':>9}"
        f" {'load b2':>9} {'load bl2':>9} {'save':>6} {'load':>6}"
    )
    for name, a in arrays.items():
        p1, p2 = ROOT / "t_b2.b2frame", ROOT / "t_bl2.b2frame"
        for p in (p1, p2):
            p.unlink(missing_ok=True)

        def save_b2():
            b2frame.save_tensor(a, p1)

        def save_bl2():
            p2.unlink(missing_ok=True)
            blosc2.save_tensor(a, str(p2))

        ts_b2, ts_bl2 = best(save_b2), best(save_bl2)
        tl_b2 = best(lambda: b2frame.load_tensor(p2))
        tl_bl2 = best(lambda: blosc2.load_tensor(str(p2)))
        np.testing.assert_array_equal(b2frame.load_tensor(p2), a)
        np.testing.assert_array_equal(blosc2.load_tensor(str(p1)), a)
        print(
            f"{name:30} {ts_b2 * 1e3:8.1f}ms {ts_bl2 * 1e3:8.1f}ms {tl_b2 * 1e3:8.1f}ms {tl_bl2 * 1e3:8.1f}ms"
            f" {ts_bl2 / ts_b2:6.2f} {tl_bl2 / tl_b2:6.2f}"
        )
    print("\nratios: other / b2frame (above 1: b2frame faster); tensors: blosc2 / b2frame")


if __name__ == "__main__":
    main()
