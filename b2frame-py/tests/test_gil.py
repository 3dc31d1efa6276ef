"""Long calls release the GIL: another Python thread keeps running meanwhile."""

from __future__ import annotations

import threading
import time

import numpy as np
import polars as pl

import b2frame


def longest_stall(work) -> tuple[float, float]:
    """(longest gap between iterations of a Python loop running while `work` runs in
    another thread, duration of `work`)."""
    done = threading.Event()
    took = []

    def run():
        t0 = time.perf_counter()
        work()
        took.append(time.perf_counter() - t0)
        done.set()

    t = threading.Thread(target=run)
    last = time.perf_counter()
    gap = 0.0
    t.start()
    while not done.is_set():
        now = time.perf_counter()
        gap = max(gap, now - last)
        last = now
    t.join()
    return gap, took[0]


def test_tensor_and_scan_calls_release_the_gil(tmp_path):
    a = np.cumsum(np.random.default_rng(0).normal(size=8_000_000))
    path = tmp_path / "t.b2frame"
    gap, took = longest_stall(lambda: b2frame.save_tensor(a, path, nthreads=1))
    assert gap < took / 2, (gap, took)
    gap, took = longest_stall(lambda: b2frame.load_tensor(path, nthreads=1))
    assert gap < took / 2, (gap, took)
    df = pl.DataFrame({"x": a})
    gap, took = longest_stall(lambda: b2frame.write(df, tmp_path / "d"))
    assert gap < took / 2, (gap, took)
    ds = b2frame.Dataset.open(tmp_path / "d")
    gap, took = longest_stall(lambda: ds.to_table())
    assert gap < took / 2, (gap, took)


def test_threads_share_a_scanner(tmp_path):
    b2frame.write(pl.DataFrame({"x": range(200_000)}), tmp_path / "d", chunk_rows=1000)
    scanner = b2frame.Dataset.open(tmp_path / "d")._inner.scan(None, None, None, 1000, None)
    seen: list[int] = []

    def pull():
        while (b := scanner.next_batch()) is not None:
            seen.append(pl.DataFrame(b)["x"][0])

    threads = [threading.Thread(target=pull) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(seen) == list(range(0, 200_000, 1000))
