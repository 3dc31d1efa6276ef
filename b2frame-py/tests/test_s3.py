"""Object-store URLs against the local S3-compatible server (scripts/s3-server.sh).

These tests fail, never skip, when the server is not running."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

import b2frame


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_s3_write_scan_append(s3, engine):
    url, opts = s3
    df = pl.DataFrame({"k": np.arange(100_000), "v": np.random.default_rng(3).random(100_000)})
    assert b2frame.write(df, url, storage_options=opts, chunk_rows=10_000) == 1
    ds = b2frame.Dataset.open(url, storage_options=opts)
    assert ds.num_rows == 100_000 and ds.url.startswith("s3://")
    ds.reset_stats()
    assert_frame_equal(ds.scan().collect(engine=engine), df)
    full = ds.stats()
    assert full["get_requests"] > 0 and full["bytes_read"] > 0
    ds.reset_stats()
    pred = pl.col("k") < 5_000
    assert_frame_equal(ds.scan().filter(pred).select("v").collect(engine=engine), df.filter(pred).select("v"))
    assert ds.stats()["bytes_read"] < full["bytes_read"] / 4
    # The module-level functions take the URL and options too.
    q = b2frame.scan(url, storage_options=opts).filter(pl.col("k") >= 99_990).select("k")
    assert q.collect(engine=engine)["k"].to_list() == list(range(99_990, 100_000))
    assert b2frame.sink(df.lazy().head(7), url, append=True, storage_options=opts) == 2
    assert b2frame.read(url, storage_options=opts).num_rows == 100_007
    assert b2frame.Dataset.open(url, storage_options=opts).versions() == [1, 2]


def test_s3_errors(s3):
    url, opts = s3
    with pytest.raises(b2frame.NotFoundError, match="no dataset"):
        b2frame.Dataset.open(url + "/missing", storage_options=opts)
    b2frame.write(pa.table({"x": [1, 2]}), url, storage_options=opts)
    # A bucket that does not exist.
    with pytest.raises(b2frame.StoreError) as e:
        b2frame.write(pa.table({"x": [1, 2]}), "s3://no-such-bucket-b2frame/x", storage_options=opts)
    assert "no-such-bucket-b2frame" in str(e.value) or "NoSuchBucket" in str(e.value)
