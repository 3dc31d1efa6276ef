"""b2frame.scan: results equal Polars on the in-memory frame, for both engines, and
the store's counters show what the pushdowns saved."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

import b2frame

ENGINES = ["in-memory", "streaming"]


def check(lf_b2: pl.LazyFrame, lf_mem: pl.LazyFrame, engine: str, *, check_row_order=True):
    got = lf_b2.collect(engine=engine)
    want = lf_mem.collect()
    assert_frame_equal(got, want, check_row_order=check_row_order)
    return got


def bytes_of(ds: b2frame.Dataset, query, engine: str) -> int:
    ds.reset_stats()
    query(ds.scan()).collect(engine=engine)
    return ds.stats()["bytes_read"]


@pytest.mark.parametrize("engine", ENGINES)
def test_full_scan_and_schema(lineitem_ds, engine):
    path, df = lineitem_ds
    lf = b2frame.scan(path)
    assert lf.collect_schema() == df.schema
    check(lf, df.lazy(), engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_projection_reads_only_the_columns_asked(lineitem_ds, engine):
    path, df = lineitem_ds
    ds = b2frame.Dataset.open(path)
    full = bytes_of(ds, lambda lf: lf, engine)
    one = bytes_of(ds, lambda lf: lf.select("quantity"), engine)
    assert 0 < one < full / 3, (one, full)
    check(ds.scan().select("quantity", "flag"), df.lazy().select("quantity", "flag"), engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_head_reads_a_small_fraction(lineitem_ds, engine):
    path, df = lineitem_ds
    ds = b2frame.Dataset.open(path)
    full = bytes_of(ds, lambda lf: lf, engine)
    head = bytes_of(ds, lambda lf: lf.head(5), engine)
    assert head < full / 10, (head, full)
    check(ds.scan().head(5), df.lazy().head(5), engine)
    check(ds.scan().select("comment").head(12_345), df.lazy().select("comment").head(12_345), engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_selective_predicate_prunes_chunks(lineitem_ds, engine):
    path, df = lineitem_ds
    ds = b2frame.Dataset.open(path)
    pred = (pl.col("orderkey") >= 120_000) & (pl.col("orderkey") < 125_000)
    full = bytes_of(ds, lambda lf: lf, engine)
    some = bytes_of(ds, lambda lf: lf.filter(pred), engine)
    assert some < full / 5, (some, full)
    check(ds.scan().filter(pred), df.lazy().filter(pred), engine)
    # An untranslatable predicate: no pruning, same results.
    odd = (pl.col("orderkey") % 1000) == 7
    check(ds.scan().filter(odd), df.lazy().filter(odd), engine)
    none = bytes_of(ds, lambda lf: lf.filter(odd), engine)
    assert none > some


PREDICATES = [
    pl.col("orderkey") < 1234,
    pl.col("orderkey") == 150_000,
    pl.col("orderkey") != 3,
    pl.lit(199_990) < pl.col("orderkey"),
    (pl.col("orderkey") > 190_000) | (pl.col("orderkey") < 100),
    (pl.col("orderkey") > 100_000) & (pl.col("quantity").abs() > 45),
    (pl.col("orderkey") > 100_000) & ((pl.col("quantity") > 45) | pl.col("flag").str.contains("N")),
    pl.col("price").is_null(),
    pl.col("price").is_not_null() & (pl.col("price") < 10.5),
    pl.col("price") > 999,
    pl.col("flag") == "R",
    pl.col("comment") >= "comment 99",
    pl.col("shipdate") >= dt.date(1997, 6, 1),
    pl.col("discount").is_between(0.02, 0.03),
    pl.col("quantity").is_in([1, 2]),
    pl.col("orderkey") > 10**12,
    pl.col("quantity").cast(pl.Float64) > 49.5,
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("pred", PREDICATES, ids=[str(p)[:60] for p in PREDICATES])
def test_predicates_match_polars(lineitem_ds, engine, pred):
    path, df = lineitem_ds
    lf = b2frame.scan(path)
    check(lf.filter(pred), df.lazy().filter(pred), engine)
    check(
        lf.filter(pred).select("orderkey", "flag"),
        df.lazy().filter(pred).select("orderkey", "flag"),
        engine,
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_filter_then_head(lineitem_ds, engine):
    path, df = lineitem_ds
    ds = b2frame.Dataset.open(path)
    pred = pl.col("orderkey") > 150_000
    check(ds.scan().filter(pred).head(1000), df.lazy().filter(pred).head(1000), engine)
    full = bytes_of(ds, lambda lf: lf, engine)
    pruned = bytes_of(ds, lambda lf: lf.filter(pred), engine)
    few = bytes_of(ds, lambda lf: lf.filter(pred).head(1000), engine)
    # Pruning skips the first 3/4 of the rows (what is read of the rest includes
    # whole string chunks, dictionaries and footers).
    assert pruned < full * 0.6, (pruned, full)
    # Polars passes no row limit with a filter; the streaming engine may stop
    # pulling early (batches start small), the in-memory one drains the source.
    assert few <= pruned, (few, pruned)
    # A predicate on a column that is not selected.
    q = lambda lf: lf.filter(pl.col("quantity") > 48).select("comment").head(777)  # noqa: E731
    check(q(ds.scan()), q(df.lazy()), engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_aggregations_and_slices(lineitem_ds, engine):
    path, df = lineitem_ds
    lf = b2frame.scan(path)
    check(lf.select(pl.len()), df.lazy().select(pl.len()), engine)
    check(lf.slice(150_000, 20), df.lazy().slice(150_000, 20), engine)
    check(lf.tail(3), df.lazy().tail(3), engine)
    q = lambda lf: lf.group_by("flag").agg(pl.col("quantity").sum(), pl.len()).sort("flag")  # noqa: E731
    check(q(lf), q(df.lazy()), engine)
    q = lambda lf: lf.filter(pl.col("flag") == "A").select(pl.col("price").mean())  # noqa: E731
    check(q(lf), q(df.lazy()), engine)
    assert lf.head(0).collect(engine=engine).shape == (0, df.width)


@pytest.mark.parametrize("engine", ENGINES)
def test_batches_follow_polars_batch_size(tmp_path, engine):
    df = pl.DataFrame({"x": range(100_000)})
    b2frame.write(df, tmp_path / "d", chunk_rows=1000)
    got = b2frame.scan(tmp_path / "d").collect(engine=engine)
    assert_frame_equal(got, df)
    # The plugin is also usable on its own, with small batches.
    ds = b2frame.Dataset.open(tmp_path / "d")
    frames = list(b2frame._scan_batches(ds._inner, ds.schema, ["x"], None, 25_000, 4096))
    assert [f.height for f in frames[:2]] == [4096, 4096]
    assert sum(f.height for f in frames) == 25_000


def test_predicate_translation(lineitem_ds):
    path, _ = lineitem_ds
    schema = b2frame.Dataset.open(path).schema
    tr = lambda e: b2frame.predicate_to_json(e, schema)  # noqa: E731
    assert tr(pl.col("orderkey") > 5) == '{"cmp": ["orderkey", ">", 5]}'
    assert tr(5 > pl.col("orderkey")) == '{"cmp": ["orderkey", "<", 5]}'
    assert tr(pl.col("price") < 2) == '{"cmp": ["price", "<", 2.0]}'
    assert tr(pl.col("flag").is_null()) == '{"is_null": "flag"}'
    assert tr((pl.col("orderkey") > 1) & (pl.col("flag") == "A") & (pl.col("orderkey").abs() > 1)) == (
        '{"and": [{"cmp": ["orderkey", ">", 1]}, {"cmp": ["flag", "==", "A"]}]}'
    )
    assert tr((pl.col("orderkey") > 1) | (pl.col("orderkey").abs() > 1)) is None
    assert tr(pl.col("orderkey") == "5") is None  # kinds differ
    assert tr(pl.col("nope") == 1) is None
    assert tr(pl.col("shipdate") == dt.date(1970, 1, 2)) == '{"cmp": ["shipdate", "==", 1]}'


def test_integer_columns_compared_with_floats_still_prune(lineitem_ds):
    """Polars casts an integer column to Float64 to compare it with a float
    literal (``orderkey < 0.05 * n``): the bound is carried over to integers."""
    path, df = lineitem_ds
    ds = b2frame.Dataset.open(path)
    schema = ds.schema
    tr = lambda e: b2frame.predicate_to_json(e, schema)  # noqa: E731
    f64 = pl.col("orderkey").cast(pl.Float64)
    assert tr(f64 < 1234.5) == '{"cmp": ["orderkey", "<", 1235]}'
    assert tr(f64 <= 1234.5) == '{"cmp": ["orderkey", "<=", 1234]}'
    assert tr(f64 > 1234.5) == '{"cmp": ["orderkey", ">", 1234]}'
    assert tr(f64 >= 1234.0) == '{"cmp": ["orderkey", ">=", 1234]}'
    assert tr(f64 == 1234.0) == '{"cmp": ["orderkey", "==", 1234]}'
    assert tr(f64 == 1234.5) is None
    assert tr(1234.5 > f64) == '{"cmp": ["orderkey", "<", 1235]}'
    assert tr(f64 < 2.0**60) is None  # beyond exact floats
    assert tr(f64 < float("nan")) is None
    assert tr(pl.col("orderkey").cast(pl.Float32) < 3.0) is None
    assert tr(pl.col("price").cast(pl.Float64) < 2.5) == '{"cmp": ["price", "<", 2.5]}'
    # The same query as users write it: the float bound prunes like an integer one.
    n = df.height
    pred = pl.col("orderkey") < 0.02 * n
    assert "cast(Float64)" in ds.scan().filter(pred).explain()
    full = bytes_of(ds, lambda lf: lf, "in-memory")
    some = bytes_of(ds, lambda lf: lf.filter(pred), "in-memory")
    assert some < full / 5, (some, full)
    check(ds.scan().filter(pred), df.lazy().filter(pred), "in-memory")
    check(ds.scan().filter(pred), df.lazy().filter(pred), "streaming")


def test_batches_cross_without_copies(tmp_path):
    b2frame.write(pl.DataFrame({"x": range(10_000), "s": [str(i) for i in range(10_000)]}), tmp_path / "d")
    ds = b2frame.Dataset.open(tmp_path / "d")
    batch = ds._inner.scan(["x"], None, None, None, None).next_batch()
    a1 = pa.record_batch(batch).column(0)
    a2 = pa.record_batch(batch).column(0)
    # Both exports point at the same (Rust-owned) values buffer…
    assert a1.buffers()[1].address == a2.buffers()[1].address
    # …and so does the Polars frame made from it.
    s = pl.DataFrame(batch)["x"]
    assert s.to_arrow().buffers()[1].address == a1.buffers()[1].address
    assert s.to_list() == list(range(10_000))


def test_filtered_scans_read_ever_larger_batches(tmp_path):
    """With a filter the scan starts with small batches (the engine may stop
    early) and then joins planned batches into reads of up to `batch_size` rows."""
    b2frame.write(pl.DataFrame({"x": range(300_000)}), tmp_path / "d")
    ds = b2frame.Dataset.open(tmp_path / "d")
    frames = list(b2frame._scan_batches(ds._inner, ds.schema, ["x"], pl.col("x") >= 0, None, 100_000))
    # Whole planned batches of 8192 rows: 12 of them make the largest read.
    assert [f.height for f in frames[:6]] == [8192, 16384, 32768, 65536, 98304, 78816]
    assert pl.concat(frames)["x"].to_list() == list(range(300_000))
    scanner = ds._inner.scan(["x"], None, None, 1000, None)
    assert [scanner.next_batch(2500).num_rows for _ in range(3)] == [2000, 2000, 2000]


def test_count_only_scans(tmp_path):
    b2frame.write(pl.DataFrame({"x": range(1000)}), tmp_path / "d", chunk_rows=100)
    ds = b2frame.Dataset.open(tmp_path / "d")
    frames = list(b2frame._scan_batches(ds._inner, ds.schema, [], None, None, 300))
    assert [f.shape for f in frames] == [(300, 0), (300, 0), (300, 0), (100, 0)]
    frames = list(b2frame._scan_batches(ds._inner, ds.schema, [], pl.col("x") >= 950, 10, 300))
    assert sum(f.height for f in frames) == 10 and all(f.width == 0 for f in frames)
