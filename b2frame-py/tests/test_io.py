"""write/read/sink/append and the Dataset API; round trips of every Polars dtype and
of pyarrow types."""

from __future__ import annotations

import datetime as dt
import decimal
import gc
import os
import time

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

import b2frame


def all_polars_dtypes(n: int = 1000) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    valid = [i % 7 != 3 for i in range(n)]

    def nulls(values):
        return [v if ok else None for v, ok in zip(values, valid)]

    ints = rng.integers(-100, 100, n)
    return pl.DataFrame(
        [
            pl.Series("i8", nulls(ints.tolist()), dtype=pl.Int8),
            pl.Series("i16", nulls(ints.tolist()), dtype=pl.Int16),
            pl.Series("i32", nulls(ints.tolist()), dtype=pl.Int32),
            pl.Series("i64", nulls((ints * 10**12).tolist()), dtype=pl.Int64),
            pl.Series("u8", nulls(np.abs(ints).tolist()), dtype=pl.UInt8),
            pl.Series("u16", nulls(np.abs(ints).tolist()), dtype=pl.UInt16),
            pl.Series("u32", nulls(np.abs(ints).tolist()), dtype=pl.UInt32),
            pl.Series("u64", nulls([2**63 + i for i in range(n)]), dtype=pl.UInt64),
            pl.Series("f32", nulls(rng.random(n).tolist()), dtype=pl.Float32),
            pl.Series("f64", nulls((rng.random(n) * 1e9).tolist()), dtype=pl.Float64),
            pl.Series("bool", nulls([i % 3 == 0 for i in range(n)]), dtype=pl.Boolean),
            pl.Series("str", nulls([f"s{i % 50}" * (i % 4) for i in range(n)]), dtype=pl.String),
            pl.Series("bin", nulls([bytes([i % 256]) * (i % 5) for i in range(n)]), dtype=pl.Binary),
            pl.Series("date", nulls([dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)]), dtype=pl.Date),
            pl.Series(
                "dt_tz",
                nulls(
                    [dt.datetime(2021, 3, 28, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=17 * i) for i in range(n)]
                ),
                dtype=pl.Datetime("us", "Europe/Madrid"),
            ),
            pl.Series(
                "dt_ns",
                nulls([dt.datetime(2000, 1, 1) + dt.timedelta(seconds=i) for i in range(n)]),
                dtype=pl.Datetime("ns"),
            ),
            pl.Series("dur", nulls([dt.timedelta(milliseconds=i) for i in range(n)]), dtype=pl.Duration("ms")),
            pl.Series("time", nulls([dt.time(i % 24, i % 60, i % 60) for i in range(n)]), dtype=pl.Time),
            pl.Series("dec", nulls([decimal.Decimal(i) / 100 for i in range(n)]), dtype=pl.Decimal(12, 2)),
            pl.Series("cat", nulls([["red", "green", "blue"][i % 3] for i in range(n)]), dtype=pl.Categorical),
            pl.Series(
                "enum", nulls([["lo", "mid", "hi"][i % 3] for i in range(n)]), dtype=pl.Enum(["lo", "mid", "hi"])
            ),
            pl.Series("list", nulls([list(range(i % 4)) for i in range(n)]), dtype=pl.List(pl.Int64)),
            pl.Series("list_str", nulls([[f"a{i}"] * (i % 3) for i in range(n)]), dtype=pl.List(pl.String)),
            pl.Series("arr", nulls([[i, i + 1, i + 2] for i in range(n)]), dtype=pl.Array(pl.Int32, 3)),
            pl.Series(
                "struct",
                nulls([{"a": i, "b": f"x{i}", "c": [i]} for i in range(n)]),
                dtype=pl.Struct({"a": pl.Int64, "b": pl.String, "c": pl.List(pl.Int16)}),
            ),
            pl.Series("null", [None] * n, dtype=pl.Null),
        ]
    )


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_every_polars_dtype_round_trips(tmp_path, engine):
    df = all_polars_dtypes()
    b2frame.write(df, tmp_path / "d", chunk_rows=128)
    got = b2frame.scan(tmp_path / "d").collect(engine=engine)
    assert got.schema == df.schema
    assert_frame_equal(got, df)
    # Slices and projections of every column.
    for name in df.columns:
        assert_frame_equal(
            b2frame.scan(tmp_path / "d").select(name).slice(300, 400).collect(engine=engine),
            df.select(name).slice(300, 400),
        )
    # And through pyarrow.
    assert_frame_equal(pl.from_arrow(b2frame.read(tmp_path / "d")), df)


def test_every_polars_dtype_through_sink(tmp_path):
    df = all_polars_dtypes(3000)
    version = b2frame.sink(df.lazy(), tmp_path / "d", batch_rows=500, chunk_rows=256)
    assert version == 1
    assert_frame_equal(b2frame.scan(tmp_path / "d").collect(), df)


def pyarrow_table(n: int = 500) -> pa.Table:
    idx = list(range(n))
    valid = [i % 5 != 2 for i in idx]

    def nulls(values):
        return [v if ok else None for v, ok in zip(values, valid)]

    return pa.table(
        {
            "large_string": pa.array(nulls([f"v{i}" * (i % 3) for i in idx]), pa.large_string()),
            "string_view": pa.array(nulls([f"long value number {i}" for i in idx]), pa.string_view()),
            "large_binary": pa.array(nulls([b"b" * (i % 4) for i in idx]), pa.large_binary()),
            "dict": pa.array(nulls([["x", "y"][i % 2] for i in idx])).dictionary_encode(),
            "dict_i8_int": pa.DictionaryArray.from_arrays(
                pa.array([i % 3 for i in idx], pa.int8()), pa.array([10, 20, 30], pa.int64())
            ),
            "ts_tz": pa.array(nulls([i * 1_000_000 for i in idx]), pa.timestamp("us", tz="America/New_York")),
            "ts_s": pa.array(nulls(idx), pa.timestamp("s")),
            "date64": pa.array(nulls([i * 86_400_000 for i in idx]), pa.date64()),
            "time32": pa.array(nulls([i * 1000 for i in idx]), pa.time32("ms")),
            "dec128": pa.array(nulls([decimal.Decimal(i) / 1000 for i in idx]), pa.decimal128(20, 3)),
            "dec256": pa.array(nulls([decimal.Decimal(10**50 + i) for i in idx]), pa.decimal256(60, 0)),
            "fsb": pa.array(nulls([i.to_bytes(4, "little") for i in idx]), pa.binary(4)),
            "map": pa.array(nulls([[("k", i), ("l", -i)][: i % 3] for i in idx]), pa.map_(pa.string(), pa.int32())),
            "large_list": pa.array(nulls([[i] * (i % 3) for i in idx]), pa.large_list(pa.int16())),
            "fsl": pa.array(nulls([[float(i), -float(i)] for i in idx]), pa.list_(pa.float64(), 2)),
            "struct": pa.array(nulls([{"a": i, "b": None if i % 4 else "z"} for i in idx])),
            "half": pa.array(nulls(np.arange(n, dtype=np.float16).tolist()), pa.float16()),
            "nulls": pa.nulls(n),
            "not_null": pa.array(idx, pa.int64()),
        },
        schema=None,
    )


def with_not_null(t: pa.Table) -> pa.Table:
    fields = [f.with_nullable(False) if f.name == "not_null" else f for f in t.schema]
    return t.cast(pa.schema(fields, metadata={b"origin": b"test"}))


def test_pyarrow_types_round_trip(tmp_path):
    t = with_not_null(pyarrow_table())
    assert b2frame.write(t, tmp_path / "d", chunk_rows=64) == 1
    back = b2frame.read(tmp_path / "d")
    assert back.schema == t.schema
    assert back.schema.metadata == t.schema.metadata
    assert back.equals(t)
    assert b2frame.read(tmp_path / "d", columns=["map", "dec256"], rows=(100, 300)).equals(
        t.select(["map", "dec256"]).slice(100, 200)
    )
    assert b2frame.read(tmp_path / "d", rows=slice(-10, None)).equals(t.slice(490))
    # A RecordBatchReader and a RecordBatch are accepted too.
    b2frame.write(pa.RecordBatchReader.from_batches(t.schema, t.to_batches(100)), tmp_path / "r")
    assert b2frame.read(tmp_path / "r").equals(t)
    b2frame.write(t.to_batches()[0], tmp_path / "b")
    assert b2frame.read(tmp_path / "b").equals(t)


def test_write_modes_append_overwrite_and_versions(tmp_path):
    path = tmp_path / "d"
    t = pa.table({"x": pa.array(range(10), pa.int64()), "s": [str(i) for i in range(10)]})
    assert b2frame.write(t, path) == 1
    with pytest.raises(b2frame.AlreadyExistsError):
        b2frame.write(t, path)
    ds = b2frame.Dataset.open(path)
    assert (ds.num_rows, ds.version, len(ds)) == (10, 1, 10)
    assert ds.schema == t.schema
    assert ds.append(t.slice(0, 3)) == 2
    assert (ds.num_rows, ds.version) == (13, 2)
    assert ds.to_table().equals(pa.concat_tables([t, t.slice(0, 3)]))
    assert b2frame.write(t.slice(5), path, mode="overwrite") == 3
    assert b2frame.read(path).equals(t.slice(5))
    assert ds.versions() == [1, 2, 3]
    assert b2frame.Dataset.open(path, version=2).num_rows == 13
    assert ds.refresh().version == 3
    assert b2frame.write(t, path, mode="create_or_append") == 4
    with pytest.raises(b2frame.SchemaError, match="'x'"):
        ds.append(pa.table({"x": pa.array([1.5]), "s": ["a"]}))
    with pytest.raises(b2frame.NotFoundError):
        b2frame.write(t, tmp_path / "nothing", mode="append")
    # pa.table / pl.DataFrame read a Dataset directly.
    assert ds.refresh().version == 4
    assert pa.table(ds).num_rows == 15
    assert pl.DataFrame(ds).height == 15


def test_sink_streams_a_lazyframe_and_appends(tmp_path):
    path = tmp_path / "d"
    lf = pl.LazyFrame({"a": range(50_000)}).with_columns(b=pl.col("a").cast(pl.String))
    assert b2frame.sink(lf, path, batch_rows=7_000) == 1
    assert b2frame.sink(lf.head(10), path, append=True) == 2
    want = pl.concat([lf.collect(), lf.head(10).collect()])
    assert_frame_equal(b2frame.scan(path).collect(), want)
    # A scan of one dataset sunk into another (the source runs Python under the sink).
    assert b2frame.sink(b2frame.scan(path).filter(pl.col("a") < 100), tmp_path / "e") == 1
    assert_frame_equal(b2frame.scan(tmp_path / "e").collect(), want.filter(pl.col("a") < 100))
    # A DataFrame and an empty LazyFrame.
    b2frame.sink(want, tmp_path / "f")
    assert_frame_equal(b2frame.scan(tmp_path / "f").collect(), want)
    b2frame.sink(lf.filter(pl.col("a") < 0), tmp_path / "g")
    assert b2frame.Dataset.open(tmp_path / "g").num_rows == 0
    assert_frame_equal(b2frame.scan(tmp_path / "g").collect(), want.clear())
    assert b2frame.sink(lf.head(3), tmp_path / "f", mode="overwrite") == 2
    assert b2frame.Dataset.open(tmp_path / "f").num_rows == 3
    # Appending another schema is refused and commits nothing.
    with pytest.raises(b2frame.SchemaError):
        b2frame.sink(lf.select("b"), path, append=True)
    assert b2frame.Dataset.open(path).version == 2


def test_compression_options(tmp_path):
    df = pl.DataFrame({"x": np.arange(100_000), "y": np.random.default_rng(0).random(100_000)})
    sizes = {}
    for name, kw in {
        "default": {},
        "lz4": {"codec": "lz4", "clevel": 5, "filters": ["shuffle"]},
        "none": {"clevel": 0, "filters": []},
        "per_column": {"columns": {"y": {"codec": "zlib", "clevel": 9, "filters": ["bitshuffle"]}}},
    }.items():
        b2frame.write(df, tmp_path / name, chunk_rows=8192, **kw)
        assert_frame_equal(b2frame.scan(tmp_path / name).collect(), df)
        sizes[name] = sum(p.stat().st_size for p in (tmp_path / name).rglob("*.b2frame"))
    assert sizes["none"] > 1_500_000 > sizes["default"]
    with pytest.raises(b2frame.InvalidArgumentError, match="codec"):
        b2frame.write(df, tmp_path / "bad", codec="snappy")
    with pytest.raises(b2frame.InvalidArgumentError, match="clevel"):
        b2frame.write(df, tmp_path / "bad", clevel=12)
    with pytest.raises(b2frame.InvalidArgumentError, match="unknown option"):
        b2frame.write(df, tmp_path / "bad", compresion="zstd")


def test_memory_urls(tmp_path):
    # Each memory:// URL opening is a new empty store: writing works, re-opening finds nothing.
    t = pa.table({"x": [1, 2, 3]})
    assert b2frame.write(t, "memory://a/b") == 1
    with pytest.raises(b2frame.NotFoundError):
        b2frame.read("memory://a/b")


def _open_files_under(path) -> int:
    """Files of this process open under ``path`` (Linux ``/proc``)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(path)):
                n += 1
        except OSError:
            pass
    return n


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_reopening_keeps_files_open_until_the_cache_is_cleared(tmp_path):
    path = tmp_path / "d"
    b2frame.write({"x": np.arange(10_000)}, path)
    # Let the commit's folder times settle, so that the opening is kept.
    time.sleep(2.5)
    assert b2frame.read(path, rows=(5, 8)).column("x").to_pylist() == [5, 6, 7]
    assert _open_files_under(path) >= 1
    # Reopened from what was kept: the same rows; a new commit is seen at once.
    assert b2frame.read(path, rows=(9_998, 10_000)).column("x").to_pylist() == [9_998, 9_999]
    b2frame.write({"x": np.arange(10_000, 10_005)}, path, mode="append")
    assert b2frame.Dataset.open(path).num_rows == 10_005
    b2frame.clear_reopen_cache()
    gc.collect()
    assert _open_files_under(path) == 0


def test_compact_and_cleanup_old_versions(tmp_path):
    path = tmp_path / "d"
    for i in range(7):
        b2frame.write({"x": np.arange(i * 100, i * 100 + 100)}, path, mode="create_or_append")
    ds = b2frame.Dataset.open(path)
    assert (ds.version, ds.num_fragments) == (7, 7)
    r = ds.compact()
    assert r == {"version": 8, "fragments_before": 7, "fragments_after": 1, "rows_rewritten": 700}
    assert (ds.version, ds.num_fragments) == (8, 1)
    assert ds.to_table().column("x").to_pylist() == list(range(700))
    assert ds.compact()["version"] is None
    # Everything is younger than an hour: the default keeps it all.
    young = ds.cleanup_old_versions()
    assert (young["versions_removed"], young["objects_removed"]) == ([], 0)
    # Version 7 is read from the manifests of versions 4 and 6 too: keeping it keeps them.
    dry = ds.cleanup_old_versions(keep_versions=2, min_age=dt.timedelta(0), dry_run=True)
    assert (dry["versions_removed"], dry["versions_kept"]) == ([1, 2, 3, 5], [4, 6, 7, 8])
    assert ds.versions() == list(range(1, 9))
    done = ds.cleanup_old_versions(min_age=0)
    assert (done["versions_removed"], done["versions_kept"]) == (list(range(1, 8)), [8])
    assert done["objects_removed"] == 7 + 7 and done["bytes_removed"] > 0
    assert ds.versions() == [8]
    assert len(os.listdir(path / "data")) == 1
    assert b2frame.read(path).column("x").to_pylist() == list(range(700))
    with pytest.raises(b2frame.NotFoundError):
        b2frame.Dataset.open(path, version=3)
    with pytest.raises(b2frame.InvalidArgumentError, match="keep_versions"):
        ds.cleanup_old_versions(keep_versions=0)
    with pytest.raises(b2frame.InvalidArgumentError, match="min_age"):
        ds.cleanup_old_versions(min_age=-1)


def test_max_staleness_trusts_a_recently_checked_version(tmp_path):
    path = tmp_path / "d"
    b2frame.write({"x": np.arange(10)}, path)
    assert b2frame.Dataset.open(path).version == 1
    b2frame.write({"x": np.arange(5)}, path, mode="append")
    # Version 1 was found to be the newest a moment ago: trusted, no request.
    stale = b2frame.Dataset.open(path, max_staleness=dt.timedelta(hours=1))
    assert (stale.version, stale.stats()["requests"]) == (1, 0)
    assert b2frame.read(path, max_staleness=3600).num_rows == 10
    assert b2frame.read(path).num_rows == 15
    assert b2frame.Dataset.open(path, max_staleness=3600).version == 2
    with pytest.raises(b2frame.InvalidArgumentError, match="max_staleness"):
        b2frame.Dataset.open(path, max_staleness=-1)
