"""Shared fixtures of the b2frame Python tests."""

from __future__ import annotations

import os
import uuid

import numpy as np
import polars as pl
import pytest

import b2frame

S3_HOWTO = (
    'start it with: eval "$(B2FRAME_S3_DIR=$(mktemp -d) ./scripts/s3-server.sh start)" '
    "(exports B2FRAME_S3_ENDPOINT and B2FRAME_S3_BUCKET), then re-run the tests"
)


@pytest.fixture
def s3():
    """(url prefix, storage_options) of a fresh prefix on the local S3 server.

    Fails (never skips) when the server is not configured or does not answer."""
    endpoint = os.environ.get("B2FRAME_S3_ENDPOINT")
    if not endpoint:
        pytest.fail(f"B2FRAME_S3_ENDPOINT is not set: this test needs the local S3 server; {S3_HOWTO}")
    bucket = os.environ.get("B2FRAME_S3_BUCKET", "b2frame-test")
    import urllib.request

    try:
        urllib.request.urlopen(f"{endpoint}/{bucket}", timeout=5).read()
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the S3 server at {endpoint} does not answer ({e}); {S3_HOWTO}")
    options = {
        "aws_endpoint": endpoint,
        "aws_allow_http": "true",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "us-east-1",
    }
    return f"s3://{bucket}/py-{uuid.uuid4().hex}", options


def lineitem_like(n: int, seed: int = 0) -> pl.DataFrame:
    """A lineitem-like frame: a sorted key, numbers, strings with nulls, dates."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "orderkey": np.arange(n, dtype=np.int64),
            "quantity": rng.integers(1, 51, n).astype(np.int32),
            "price": rng.random(n) * 1000,
            "discount": np.round(rng.random(n) / 10, 2),
            "flag": rng.choice(["A", "N", "R"], n),
            "comment": [f"comment {i} {'x' * (i % 13)}" for i in range(n)],
            "shipdate": (np.datetime64("1992-01-01") + np.arange(n) // 100).astype("datetime64[D]"),
        }
    ).with_columns(
        pl.when(pl.col("orderkey") % 17 == 0).then(None).otherwise(pl.col("price")).alias("price"),
    )


@pytest.fixture
def lineitem_ds(tmp_path):
    """A 200k-row dataset in 10k-row chunks (so predicates can prune), and its frame."""
    df = lineitem_like(200_000)
    path = tmp_path / "lineitem"
    b2frame.write(df, path, chunk_rows=10_000)
    return path, df
