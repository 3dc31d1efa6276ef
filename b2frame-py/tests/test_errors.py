"""Bad input raises B2FrameError subclasses with useful messages, never panics."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import b2frame


def test_hierarchy():
    for cls in (
        b2frame.StoreError,
        b2frame.NotFoundError,
        b2frame.CorruptError,
        b2frame.LimitExceededError,
        b2frame.SchemaError,
        b2frame.UnsupportedError,
        b2frame.InvalidArgumentError,
        b2frame.AlreadyExistsError,
        b2frame.ConflictError,
    ):
        assert issubclass(cls, b2frame.B2FrameError)
    assert issubclass(b2frame.NotFoundError, b2frame.StoreError)
    assert issubclass(b2frame.B2FrameError, Exception)


def test_missing_paths(tmp_path):
    with pytest.raises(b2frame.NotFoundError, match="no dataset"):
        b2frame.Dataset.open(tmp_path / "nothing")
    with pytest.raises(b2frame.NotFoundError):
        b2frame.scan(tmp_path / "nothing")
    with pytest.raises(b2frame.NotFoundError):
        b2frame.read(str(tmp_path / "nothing"))
    with pytest.raises(b2frame.NotFoundError):
        b2frame.load_tensor(tmp_path / "nothing.b2frame")
    b2frame.write(pa.table({"x": [1]}), tmp_path / "d")
    with pytest.raises(b2frame.NotFoundError):
        b2frame.Dataset.open(tmp_path / "d", version=7)


def test_corrupt_files(tmp_path):
    df = pl.DataFrame({"x": np.arange(100_000), "s": [str(i) for i in range(100_000)]})
    path = tmp_path / "d"
    b2frame.write(df, path)
    # A damaged column frame.
    frame = next(path.rglob("c0.values.b2frame"))
    raw = bytearray(frame.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\xff" * 64
    frame.write_bytes(bytes(raw))
    with pytest.raises(b2frame.CorruptError):
        b2frame.read(path, columns=["x"])
    with pytest.raises(b2frame.CorruptError):
        b2frame.scan(path).select("x").collect()
    # A truncated frame.
    frame.write_bytes(bytes(raw[:100]))
    with pytest.raises(b2frame.B2FrameError):
        b2frame.read(path, columns=["x"])
    # A missing frame.
    frame.unlink()
    with pytest.raises(b2frame.NotFoundError):
        b2frame.read(path, columns=["x"])
    # The other column still reads.
    assert b2frame.read(path, columns=["s"]).num_rows == 100_000
    # A damaged manifest.
    m = sorted((path / "_manifest").glob("*.json"))[-1]
    m.write_text("{not json")
    with pytest.raises(b2frame.CorruptError, match="_manifest"):
        b2frame.Dataset.open(path)
    # Tensor files.
    bad = tmp_path / "t.b2frame"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(b2frame.CorruptError):
        b2frame.load_tensor(bad)
    with pytest.raises(b2frame.CorruptError):
        b2frame.unpack_tensor(b"garbage" * 10)
    good = b2frame.pack_tensor(np.arange(1000))
    with pytest.raises(b2frame.B2FrameError):
        b2frame.unpack_tensor(good[: len(good) // 2])


def test_wrong_types_and_arguments(tmp_path):
    with pytest.raises(b2frame.InvalidArgumentError, match="path_or_url"):
        b2frame.scan(42)
    with pytest.raises(b2frame.InvalidArgumentError, match="data must be"):
        b2frame.write(object(), tmp_path / "x")
    with pytest.raises(b2frame.InvalidArgumentError, match="mode"):
        b2frame.write(pa.table({"x": [1]}), tmp_path / "x", mode="replace")
    with pytest.raises(b2frame.InvalidArgumentError, match="storage_options"):
        b2frame.read(tmp_path, storage_options=["a"])
    with pytest.raises(b2frame.InvalidArgumentError, match="sink expects"):
        b2frame.sink(pa.table({"x": [1]}), tmp_path / "x")
    b2frame.write(pa.table({"x": [1, 2, 3]}), tmp_path / "d")
    with pytest.raises(b2frame.InvalidArgumentError, match="no column 'y'"):
        b2frame.read(tmp_path / "d", columns=["y"])
    # Row bounds clamp as Python slices do; a bad `rows` is an error.
    assert b2frame.read(tmp_path / "d", rows=(1, 10)).num_rows == 2
    assert b2frame.read(tmp_path / "d", rows=(3, 1)).num_rows == 0
    with pytest.raises(b2frame.InvalidArgumentError, match="rows"):
        b2frame.read(tmp_path / "d", rows="0:2")
    with pytest.raises(b2frame.InvalidArgumentError, match="step"):
        b2frame.read(tmp_path / "d", rows=slice(0, 3, 2))
    with pytest.raises(b2frame.InvalidArgumentError, match="frame must be bytes"):
        b2frame.unpack_tensor(123)
    # Types b2frame cannot store name the column.
    u = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()), [pa.array([1, 2]), pa.array(["a", "b"])])
    with pytest.raises(b2frame.UnsupportedError, match="'u'"):
        b2frame.write(pa.table({"u": u}), tmp_path / "u")
    # Local paths take no storage options.
    with pytest.raises(b2frame.InvalidArgumentError):
        b2frame.write(pa.table({"x": [1]}), tmp_path / "o", storage_options={"aws_region": "x"})


def test_bad_urls(tmp_path):
    with pytest.raises(b2frame.InvalidArgumentError, match="url"):
        b2frame.read("gs://bucket/x")
    with pytest.raises(b2frame.InvalidArgumentError):
        b2frame.read("ftp://host/x")
    with pytest.raises(b2frame.B2FrameError):
        b2frame.read("s3://bucket/x", storage_options={"not_an_option": "1"})
    # An unreachable endpoint fails with a store error after the retries.
    with pytest.raises(b2frame.StoreError):
        b2frame.read(
            "s3://bucket/x",
            storage_options={
                "aws_endpoint": "http://127.0.0.1:9",
                "aws_allow_http": True,
                "aws_access_key_id": "a",
                "aws_secret_access_key": "b",
                "aws_region": "us-east-1",
                "max_retries": "0",
                "retry_timeout": "1",
            },
        )


def test_failing_polars_query_in_sink_commits_nothing(tmp_path):
    lf = pl.LazyFrame({"a": ["1", "2", "x"]}).select(pl.col("a").cast(pl.Int64, strict=True))
    with pytest.raises(Exception) as e:
        b2frame.sink(lf, tmp_path / "d")
    assert "x" in str(e.value) or "cast" in str(e.value).lower()
    with pytest.raises(b2frame.NotFoundError):
        b2frame.Dataset.open(tmp_path / "d")


def test_scan_of_types_polars_cannot_hold(tmp_path):
    import decimal

    t = pa.table({"ok": [1], "big": pa.array([decimal.Decimal(10**50)], pa.decimal256(60, 0))})
    b2frame.write(t, tmp_path / "d")
    with pytest.raises(b2frame.SchemaError, match="'big'"):
        b2frame.scan(tmp_path / "d")
    assert b2frame.read(tmp_path / "d").equals(t)
