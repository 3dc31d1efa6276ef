"""b2frame: Blosc2 datasets and tensors for Polars, pyarrow and numpy.

A pure-Rust Blosc2 engine (the ``b2frame`` crate) behind a small Python API:

* Polars: :func:`scan` (a ``LazyFrame`` with projection, predicate-statistics and
  row-limit pushdown, for both the in-memory and the streaming engine) and
  :func:`sink`.
* pyarrow: :func:`read`, :func:`write` and :class:`Dataset`.
* numpy: :func:`save_tensor`, :func:`load_tensor`, :func:`pack_tensor` and
  :func:`unpack_tensor`, file-compatible with python-blosc2's functions of the
  same names.

Datasets live in a local directory or under an object-store URL (``s3://…``,
``memory://…``); ``storage_options`` are object_store keys such as
``aws_endpoint``, ``aws_allow_http`` or ``aws_access_key_id``.

Arrow data crosses the boundary through the Arrow PyCapsule Interface, without
copies. Errors are subclasses of :class:`B2FrameError`.
"""

from __future__ import annotations

import datetime
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from . import _b2frame as _ext
from ._b2frame import (
    AlreadyExistsError,
    B2FrameError,
    ConflictError,
    CorruptError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    SchemaError,
    StoreError,
    UnsupportedError,
)

if TYPE_CHECKING:
    import polars as pl

__version__ = _ext.__version__

__all__ = [
    "AlreadyExistsError",
    "B2FrameError",
    "ConflictError",
    "CorruptError",
    "Dataset",
    "InvalidArgumentError",
    "LimitExceededError",
    "NotFoundError",
    "SchemaError",
    "StoreError",
    "UnsupportedError",
    "clear_reopen_cache",
    "load_tensor",
    "pack_tensor",
    "read",
    "save_tensor",
    "scan",
    "sink",
    "unpack_tensor",
    "write",
]

#: Rows per batch when Polars gives no hint.
DEFAULT_BATCH_SIZE = 1 << 17
#: Rows of the first batches of a filtered scan (they grow to the batch size).
SMALL_BATCH = 8192

_WRITE_MODES = ("create", "append", "overwrite", "create_or_append")


# --------------------------------------------------------------------------- helpers


def _seconds(value: Any) -> Any:
    """A ``timedelta`` as seconds; anything else as it is."""
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


def _location(path_or_url: Any) -> str:
    if isinstance(path_or_url, (str, os.PathLike)):
        s = os.fspath(path_or_url)
        if isinstance(s, str) and s:
            return s
    raise InvalidArgumentError(f"path_or_url must be a non-empty str or os.PathLike, got {type(path_or_url).__name__}")


def _options(storage_options: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    if storage_options is None:
        return None
    if not isinstance(storage_options, Mapping):
        raise InvalidArgumentError(
            f"storage_options must be a dict of str to str, got {type(storage_options).__name__}"
        )
    out = []
    for k, v in storage_options.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        out.append((str(k), str(v)))
    return out


def _rows(rows: Any, num_rows: int) -> tuple[int | None, int | None]:
    """(start, end) of `rows`: a slice/range of step 1, a (start, end) pair or None."""
    if rows is None:
        return None, None
    if isinstance(rows, (slice, range)):
        if rows.step not in (None, 1):
            raise InvalidArgumentError(f"rows: only a step of 1 is supported, got {rows!r}")
        start, end = rows.start, rows.stop
    elif isinstance(rows, Sequence) and len(rows) == 2:
        start, end = rows
    else:
        raise InvalidArgumentError(f"rows must be a slice, range or (start, end), got {rows!r}")
    for v in (start, end):
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool)):
            raise InvalidArgumentError(f"rows bounds must be integers, got {rows!r}")
    start = None if start is None else int(start)
    end = None if end is None else int(end)
    # Negative bounds count from the end, as in Python slices.
    if start is not None and start < 0:
        start = max(num_rows + start, 0)
    if end is not None and end < 0:
        end = max(num_rows + end, 0)
    return start, end


def _columns(columns: Any) -> list[str] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, Sequence) and all(isinstance(c, str) for c in columns):
        return list(columns)
    raise InvalidArgumentError(f"columns must be a list of column names, got {columns!r}")


def _codec_name(codec: Any) -> str | None:
    if codec is None:
        return None
    name = getattr(codec, "name", codec)  # blosc2.Codec.ZSTD -> "ZSTD"
    if not isinstance(name, str):
        raise InvalidArgumentError(f"codec must be a name or a blosc2.Codec, got {codec!r}")
    return name.lower()


def _filter_names(filters: Any) -> list[str] | None:
    if filters is None:
        return None
    if isinstance(filters, (str, bytes)) or not isinstance(filters, Sequence):
        filters = [filters]
    out = []
    for f in filters:
        name = getattr(f, "name", f)
        if not isinstance(name, str):
            raise InvalidArgumentError(f"filters must be names or blosc2.Filter, got {f!r}")
        if name.lower() != "nofilter":
            out.append(name.lower())
    return out


def _clevel(clevel: Any) -> int | None:
    if clevel is None:
        return None
    if not isinstance(clevel, (int, np.integer)) or isinstance(clevel, bool) or not 0 <= clevel <= 9:
        raise InvalidArgumentError(f"clevel must be an integer in 0..=9, got {clevel!r}")
    return int(clevel)


def _stream(data: Any) -> Any:
    """An object with `__arrow_c_stream__` for `data`."""
    try:
        import polars as pl
    except ImportError:  # pragma: no cover - polars is optional
        pl = None
    if pl is not None and isinstance(data, pl.LazyFrame):
        data = _lazy_batches(data)
    if isinstance(data, (pa.Table, pa.RecordBatchReader)):
        return data
    if hasattr(data, "__arrow_c_stream__"):
        # Through pyarrow's reader (no copies): it normalises what other producers
        # export, e.g. Polars' Null arrays, which arrow-rs's strict import refuses.
        return pa.RecordBatchReader.from_stream(data)
    if hasattr(data, "__arrow_c_array__"):
        return pa.Table.from_batches([pa.record_batch(data)])
    if isinstance(data, Mapping):
        return pa.table(data)
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, Iterator) or isinstance(data, list):
        batches = list(data)
        if batches and all(isinstance(b, pa.RecordBatch) for b in batches):
            return pa.Table.from_batches(batches)
    raise InvalidArgumentError(
        "data must be a pyarrow Table/RecordBatch/RecordBatchReader, a Polars DataFrame or "
        f"LazyFrame, a dict of columns or any object with __arrow_c_stream__; got {type(data).__name__}"
    )


def _lazy_batches(lf: pl.LazyFrame, batch_rows: int | None = None) -> Any:
    """The batches of a LazyFrame as an Arrow stream, streamed when Polars can."""
    if hasattr(lf, "collect_batches"):
        try:
            return lf.collect_batches(chunk_size=batch_rows, engine="streaming")
        except TypeError:  # older signatures
            return lf.collect_batches()
    return lf.collect(engine="streaming")


def _compression_kwargs(compression: Mapping[str, Any]) -> dict[str, Any]:
    """Writer options from `**compression`: codec, clevel, filters (all columns),
    columns={name: {codec, clevel, filters}}, chunk_rows, fragment_rows, dictionary."""
    known = {"codec", "clevel", "filters", "columns", "chunk_rows", "fragment_rows", "dictionary"}
    unknown = set(compression) - known
    if unknown:
        raise InvalidArgumentError(f"unknown option(s) {sorted(unknown)}; expected some of {sorted(known)}")
    per_column = {}
    for name, c in (compression.get("columns") or {}).items():
        if not isinstance(c, Mapping):
            raise InvalidArgumentError(f"columns[{name!r}] must be a dict of codec, clevel, filters")
        per_column[str(name)] = (
            _codec_name(c.get("codec")),
            _clevel(c.get("clevel")),
            _filter_names(c.get("filters")),
        )
    return {
        "codec": _codec_name(compression.get("codec")),
        "clevel": _clevel(compression.get("clevel")),
        "filters": _filter_names(compression.get("filters")),
        "columns": per_column or None,
        "chunk_rows": compression.get("chunk_rows"),
        "fragment_rows": compression.get("fragment_rows"),
        "dictionary": compression.get("dictionary"),
    }


# --------------------------------------------------------------------------- datasets


class Dataset:
    """A b2frame dataset: Arrow columns stored as Blosc2 frames in a directory or
    object-store prefix, versioned by atomic commits.

    Open one with :meth:`Dataset.open`; a ``Dataset`` reads the version it opened
    (:meth:`append` moves it to the version it commits, :meth:`refresh` to the newest).
    """

    def __init__(self, inner: Any, url: str, storage_options: list[tuple[str, str]] | None):
        self._inner = inner
        self._url = url
        self._storage_options = storage_options

    @classmethod
    def open(
        cls,
        path_or_url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
        version: int | None = None,
        max_staleness: float | datetime.timedelta | None = None,
    ) -> Dataset:
        """Opens the newest version (or ``version``) of the dataset at ``path_or_url``.

        ``max_staleness`` (seconds or a ``timedelta``; default: always check): a
        version this process found to be the newest less than that long ago is
        reopened without any request (no listing on S3), so a commit may be seen up
        to that late. Raises :class:`NotFoundError` when there is none."""
        url = _location(path_or_url)
        opts = _options(storage_options)
        inner = _ext.Dataset.open(url, opts, version, _seconds(max_staleness))
        return cls(inner, url, opts)

    def refresh(self) -> Dataset:
        """Re-opens the newest version; returns ``self``."""
        self._inner = _ext.Dataset.open(self._url, self._storage_options, None)
        return self

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema (metadata, nullability and time zones included)."""
        return pa.schema(self._inner)

    @property
    def num_rows(self) -> int:
        """Total rows of the version opened."""
        return self._inner.num_rows

    @property
    def version(self) -> int:
        """The version opened."""
        return self._inner.version

    @property
    def url(self) -> str:
        """The store URL (a ``file://`` URL for a local directory)."""
        return self._inner.url

    @property
    def num_fragments(self) -> int:
        """Fragments (write batches of up to ``fragment_rows`` rows) of the version."""
        return self._inner.num_fragments

    def versions(self) -> list[int]:
        """Every committed version, ascending."""
        return _ext.list_versions(self._url, self._storage_options)

    def stats(self) -> dict[str, int]:
        """Requests and bytes this dataset's store made since it was opened or
        :meth:`reset_stats` (``get_requests``, ``bytes_read``, ``bytes_written``, …).
        Scans of :meth:`scan`'s LazyFrames count here."""
        return self._inner.stats()

    def reset_stats(self) -> None:
        """Sets the counters of :meth:`stats` to zero."""
        self._inner.reset_stats()

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"b2frame.Dataset({self.url!r}, version={self.version}, rows={self.num_rows})"

    def to_reader(
        self,
        columns: Sequence[str] | None = None,
        rows: Any = None,
        *,
        batch_size: int | None = None,
    ) -> pa.RecordBatchReader:
        """A pyarrow ``RecordBatchReader`` over ``columns`` (default all) and ``rows``
        (a slice/range or ``(start, end)``, default all), read lazily."""
        start, end = _rows(rows, self.num_rows)
        scanner = self._inner.scan(_columns(columns), start, end, batch_size, None)
        schema = pa.schema(scanner)
        return pa.RecordBatchReader.from_batches(schema, _batches(scanner))

    def to_table(
        self,
        columns: Sequence[str] | None = None,
        rows: Any = None,
    ) -> pa.Table:
        """Reads ``columns`` (default all) of ``rows`` (default all) into a ``pyarrow.Table``."""
        start, end = _rows(rows, self.num_rows)
        scanner = self._inner.scan(_columns(columns), start, end, None, None)
        return pa.Table.from_batches(list(_batches(scanner)), schema=pa.schema(scanner))

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Every row as an Arrow stream (``pa.table(ds)``, ``pl.DataFrame(ds)``)."""
        return self._inner.scan(None, None, None, None, None).__arrow_c_stream__(requested_schema)

    def append(self, data: Any, **compression: Any) -> int:
        """Appends ``data`` (same schema) and moves this object to the new version;
        returns it."""
        version = write(
            data,
            self._url,
            mode="append",
            storage_options=dict(self._storage_options or []),
            **compression,
        )
        self._inner = _ext.Dataset.open(self._url, self._storage_options, version)
        return version

    def compact(self, *, target_rows: int | None = None) -> dict[str, Any]:
        """Merges runs of consecutive small fragments (many small appends leave them)
        into one fragment each and commits a new version with the same rows in the same
        order; older versions stay readable and nothing is deleted. Fragments with fewer
        than ``target_rows`` rows (default 1,048,576) are merged, up to ``target_rows``
        rows each. Moves this object to the committed version; returns ``{"version",
        "fragments_before", "fragments_after", "rows_rewritten"}`` (``version`` is
        ``None`` when there was nothing to merge)."""
        version, before, after, rows = self._inner.compact(target_rows)
        if version is not None:
            self._inner = _ext.Dataset.open(self._url, self._storage_options, version)
        return {
            "version": version,
            "fragments_before": before,
            "fragments_after": after,
            "rows_rewritten": rows,
        }

    def cleanup_old_versions(
        self,
        *,
        keep_versions: int = 1,
        min_age: float | datetime.timedelta = 3600.0,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Deletes the manifests of old versions and the objects no kept version names.
        Kept: the newest ``keep_versions`` versions, every version that was the newest
        less than ``min_age`` (seconds or a ``timedelta``) ago, every object younger
        than ``min_age`` (a writer may be about to commit it), and the fragments of a
        write in progress (written for a version after the newest; with concurrent
        writers ``min_age`` must also exceed the longest write). Returns
        ``{"versions_removed", "versions_kept", "objects_removed", "bytes_removed"}``;
        ``dry_run`` deletes nothing."""
        removed, kept, objects, nbytes = self._inner.cleanup_old_versions(
            keep_versions, float(_seconds(min_age)), dry_run
        )
        return {
            "versions_removed": removed,
            "versions_kept": kept,
            "objects_removed": objects,
            "bytes_removed": nbytes,
        }

    def scan(self) -> pl.LazyFrame:
        """A Polars ``LazyFrame`` over the dataset (see :func:`scan`)."""
        return _scan_lazyframe(self)


def _batches(scanner: Any) -> Iterator[pa.RecordBatch]:
    """The batches of a scan as pyarrow RecordBatches (zero-copy); b2frame errors
    propagate as they are."""
    while (batch := scanner.next_batch()) is not None:
        yield pa.record_batch(batch)


def read(
    path_or_url: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    rows: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    max_staleness: float | datetime.timedelta | None = None,
) -> pa.Table:
    """Reads ``columns`` (default all) of ``rows`` (slice/range/``(start, end)``, default
    all) of the dataset at ``path_or_url`` into a ``pyarrow.Table`` (``max_staleness``:
    see :meth:`Dataset.open`)."""
    ds = Dataset.open(path_or_url, storage_options=storage_options, max_staleness=max_staleness)
    return ds.to_table(columns, rows)


def clear_reopen_cache() -> None:
    """Forgets the datasets this process keeps for reopening and closes the column
    files they hold open (once no open ``Dataset`` uses them).

    Opening a local dataset again, while its ``_manifest/`` folder is unchanged,
    reuses what the last opening read (one ``stat``, no listing, no file opens).
    Call this after deleting such a dataset to free its disk space at once."""
    _ext.clear_reopen_cache()


def write(
    data: Any,
    path_or_url: str | os.PathLike[str],
    *,
    mode: str = "create",
    storage_options: Mapping[str, Any] | None = None,
    **compression: Any,
) -> int:
    """Writes ``data`` (pyarrow Table/RecordBatch/RecordBatchReader, Polars DataFrame or
    LazyFrame, dict of columns, or any ``__arrow_c_stream__`` object) as a dataset
    and commits it; returns the version committed.

    ``mode``: ``"create"`` (fails if a dataset exists), ``"append"`` (same schema),
    ``"overwrite"`` (a new version holding only ``data``; older versions stay
    readable) or ``"create_or_append"``.

    ``**compression``: ``codec`` (``"zstd"``, ``"lz4"``, ``"lz4hc"``, ``"zlib"``,
    ``"blosclz"`` or a ``blosc2.Codec``), ``clevel`` (0–9) and ``filters`` for every
    column, ``columns={name: {"codec":…, "clevel":…, "filters":…}}`` per column,
    ``chunk_rows`` (rows per chunk, also the granularity of the statistics),
    ``fragment_rows`` and ``dictionary`` (automatic dictionary encoding of strings).
    """
    if mode not in _WRITE_MODES:
        raise InvalidArgumentError(f"mode must be one of {_WRITE_MODES}, got {mode!r}")
    url = _location(path_or_url)
    kw = _compression_kwargs(compression)
    _, version = _ext.write(_stream(data), url, mode, _options(storage_options), **kw)
    return version


def sink(
    lf_or_df: pl.LazyFrame | pl.DataFrame,
    path_or_url: str | os.PathLike[str],
    *,
    append: bool = False,
    mode: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    batch_rows: int | None = None,
    **compression: Any,
) -> int:
    """Streams a Polars ``LazyFrame`` (batch by batch, with the streaming engine) or
    ``DataFrame`` into the dataset at ``path_or_url``; commits once at the end (nothing
    is committed on error) and returns the version.

    ``append=False`` creates the dataset (an existing one is an error);
    ``append=True`` appends to it (the schema must match); ``mode`` (as in
    :func:`write`, e.g. ``"overwrite"``) overrides ``append``. ``batch_rows``: rows per
    batch pulled from Polars. ``**compression`` as in :func:`write`."""
    import polars as pl

    if isinstance(lf_or_df, pl.LazyFrame):
        data = _lazy_batches(lf_or_df, batch_rows)
    elif isinstance(lf_or_df, pl.DataFrame):
        data = lf_or_df
    else:
        raise InvalidArgumentError(f"sink expects a Polars LazyFrame or DataFrame, got {type(lf_or_df).__name__}")
    return write(
        data,
        path_or_url,
        mode=mode if mode is not None else ("append" if append else "create"),
        storage_options=storage_options,
        **compression,
    )


# --------------------------------------------------------------------------- Polars scan


def scan(
    path_or_url: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pl.LazyFrame:
    """A Polars ``LazyFrame`` over the dataset at ``path_or_url``.

    The scan reads only the projected columns, skips chunks whose statistics
    exclude the filter (``col <op> literal``, ``is_null``/``is_not_null``, ``&``
    and ``|`` of those; the filter itself is always applied exactly), stops after
    a ``head``/``limit`` and yields zero-copy batches. It works with
    ``collect()`` and ``collect(engine="streaming")``. Open a :class:`Dataset`
    and call :meth:`Dataset.scan` to watch its I/O counters."""
    return Dataset.open(path_or_url, storage_options=storage_options).scan()


def _scan_lazyframe(ds: Dataset) -> pl.LazyFrame:
    import polars as pl
    from polars.io.plugins import register_io_source

    inner = ds._inner
    schema = ds.schema

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        return _scan_batches(inner, schema, with_columns, predicate, n_rows, batch_size)

    def register(schema: pa.Schema) -> pl.LazyFrame:
        return register_io_source(
            source,
            schema=pl.DataFrame(schema.empty_table()).schema,
            is_pure=True,
            explain_name="b2frame",
            explain_detail=ds.url,
        )

    try:
        return register(schema)
    except Exception as e:  # noqa: BLE001 - Polars raises several types here
        bad = []
        for f in schema:
            try:
                register(pa.schema([f]))
            except Exception:  # noqa: BLE001
                bad.append(f"{f.name!r} ({f.type})")
        raise SchemaError(
            f"Polars cannot represent column(s) {', '.join(bad) or '?'} of {ds.url}: {e}; "
            "read them with b2frame.read (pyarrow) instead"
        ) from e


def _scan_batches(
    inner: Any,
    schema: pa.Schema,
    with_columns: list[str] | None,
    predicate: pl.Expr | None,
    n_rows: int | None,
    batch_size: int | None,
) -> Iterator[pl.DataFrame]:
    import polars as pl

    names = schema.names
    want = list(with_columns) if with_columns is not None else list(names)
    read_cols = list(want)
    pred_json = None
    if predicate is not None:
        for c in predicate.meta.root_names():
            if c in names and c not in read_cols:
                read_cols.append(c)
        pred_json = predicate_to_json(predicate, schema)
    start = end = None
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    if n_rows is not None:
        if n_rows <= 0:
            return
        if predicate is None:
            end = min(n_rows, inner.num_rows)
    # With a filter the engine may stop pulling early (a `head` after it is not
    # pushed down): read small batches first, then ever larger groups of them.
    step = min(batch_size, SMALL_BATCH) if predicate is not None else batch_size
    scanner = inner.scan(read_cols, start, end, step, pred_json)
    remaining = n_rows
    target = step
    pending: list[pl.DataFrame] = []
    pending_rows = 0
    while remaining is None or remaining > 0:
        # Batches of `step` rows at first, then up to `target` rows in one read.
        batch = scanner.next_batch(target - pending_rows)
        if batch is None:
            break
        df = pl.DataFrame(batch) if read_cols else _height_only(batch.num_rows)
        if predicate is not None:
            pending_rows += df.height
            pending.append(df.filter(predicate))
            if pending_rows + step <= target:
                # Room for another planned batch (the read stopped at a gap).
                continue
            df = pl.concat(pending, rechunk=False) if len(pending) > 1 else pending[0]
            pending, pending_rows = [], 0
            target = min(target * 2, batch_size)
        out = _finish(df, read_cols, want, remaining)
        if remaining is not None:
            remaining -= out.height
        yield out
    if pending:
        df = pl.concat(pending, rechunk=False) if len(pending) > 1 else pending[0]
        yield _finish(df, read_cols, want, remaining)


def _height_only(n: int) -> pl.DataFrame:
    """A frame of `n` rows and no columns (only a row count is needed)."""
    import polars as pl

    return pl.DataFrame({"_": pl.repeat(None, n, eager=True)}).drop("_")


def _finish(df: pl.DataFrame, read_cols: list[str], want: list[str], remaining: int | None) -> pl.DataFrame:
    if not want:
        df = _height_only(df.height)
    elif len(read_cols) != len(want):
        df = df.select(want)
    if remaining is not None and df.height > remaining:
        df = df.head(remaining)
    return df


# Predicate translation: the simple parts of a Polars expression, as the JSON the
# extension parses into a pruning predicate. Anything else: no pruning.

_OPS = {"Eq": "==", "NotEq": "!=", "Lt": "<", "LtEq": "<=", "Gt": ">", "GtEq": ">="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_UNITS = {"Milliseconds": "ms", "Microseconds": "us", "Nanoseconds": "ns"}
_INTS = {"Int8", "Int16", "Int32", "Int64", "Int128", "UInt8", "UInt16", "UInt32", "UInt64"}


def predicate_to_json(expr: pl.Expr, schema: pa.Schema) -> str | None:
    """The pruning predicate implied by the Polars expression ``expr`` over a
    dataset of ``schema``, as JSON for the extension, or ``None`` when nothing in
    it can prune. Only provably implied parts are kept: an untranslatable conjunct
    is dropped from ``&`` (pruning less); it makes ``|`` untranslatable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = json.loads(expr.meta.serialize(format="json"))
    except Exception:
        return None
    p = _to_pred(tree, schema)
    return None if p is None else json.dumps(p, allow_nan=False)


def _prunable(schema: pa.Schema, column: str) -> pa.DataType | None:
    if column not in schema.names:
        return None
    t = schema.field(column).type
    ok = (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_date32(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_duration(t)
    )
    return t if ok else None


def _to_pred(node: Any, schema: pa.Schema) -> dict | None:
    if not isinstance(node, dict) or len(node) != 1:
        return None
    ((kind, body),) = node.items()
    if kind == "BinaryExpr":
        op = body.get("op")
        left, right = body.get("left"), body.get("right")
        if op in ("And", "LogicalAnd"):
            parts = [p for p in (_to_pred(left, schema), _to_pred(right, schema)) if p]
            if not parts:
                return None
            flat = []
            for p in parts:
                flat.extend(p["and"] if "and" in p else [p])
            return flat[0] if len(flat) == 1 else {"and": flat}
        if op in ("Or", "LogicalOr"):
            a, b = _to_pred(left, schema), _to_pred(right, schema)
            return {"or": [a, b]} if a and b else None
        if op not in _OPS:
            return None
        sym = _OPS[op]
        if _is_literal(right) and (c := _cast_column(left, schema)):
            (column, as_float), lit = c, right["Literal"]
        elif _is_literal(left) and (c := _cast_column(right, schema)):
            (column, as_float), lit, sym = c, left["Literal"], _FLIP[sym]
        else:
            return None
        t = _prunable(schema, column)
        if t is None:
            return None
        if as_float:
            # The literal as a float statistic: what Polars compares the cast with.
            cmp = _int_cmp_of_float(sym, _literal(pa.float64(), lit))
            return None if cmp is None else {"cmp": [column, *cmp]}
        value = _literal(t, lit)
        if value is None:
            return None
        return {"cmp": [column, sym, value]}
    if kind == "Function":
        inputs, fn = body.get("input"), body.get("function")
        if isinstance(inputs, list) and len(inputs) == 1 and _is_column(inputs[0]):
            column = inputs[0]["Column"]
            if _prunable(schema, column) is None:
                return None
            if fn == {"Boolean": "IsNull"}:
                return {"is_null": column}
            if fn == {"Boolean": "IsNotNull"}:
                return {"is_not_null": column}
    return None


def _cast_column(node: Any, schema: pa.Schema) -> tuple[str, bool] | None:
    """``(column, as_float)`` for a column, or for a cast of one that keeps every
    value's order: an integer column cast to Float64 (``as_float``: Polars casts
    it to compare it with a float literal), a float column to Float64, a signed
    or narrow unsigned integer column to Int64."""
    if _is_column(node):
        return node["Column"], False
    cast = node.get("Cast") if isinstance(node, dict) else None
    if not isinstance(cast, dict) or not _is_column(cast.get("expr")):
        return None
    column = cast["expr"]["Column"]
    target = cast.get("dtype")
    target = target.get("Literal") if isinstance(target, dict) else None
    if column not in schema.names:
        return None
    t = schema.field(column).type
    if target == "Float64" and pa.types.is_integer(t):
        return column, True
    if target == "Float64" and pa.types.is_floating(t):
        return column, False
    if target == "Int64" and pa.types.is_integer(t) and (pa.types.is_signed_integer(t) or t.bit_width <= 32):
        return column, False
    return None


def _int_cmp_of_float(sym: str, f: float | None) -> tuple[str, int] | None:
    """The comparison of an integer ``x`` equivalent to ``float(x) sym f``, or
    None. Exact for ``|f| <= 2**53``: every integer there is a float, and
    rounding a larger integer to a float keeps it on the same side of ``f``."""
    if f is None or not np.isfinite(f) or abs(f) > 2**53:
        return None
    lo, hi = int(np.floor(f)), int(np.ceil(f))
    if sym == "<":
        return "<", hi
    if sym == "<=":
        return "<=", lo
    if sym == ">":
        return ">", lo
    if sym == ">=":
        return ">=", hi
    if lo != hi:
        # Never equal to an integer: `==` matches nothing, `!=` everything.
        return None
    return sym, lo


def _is_column(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("Column"), str)


def _is_literal(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("Literal"), dict)


def _literal(t: pa.DataType, lit: dict) -> Any:
    """The literal as a statistic of the column's kind and unit, or None."""
    is_int = pa.types.is_integer(t)
    is_float = pa.types.is_floating(t)
    is_str = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)

    def from_int(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int):
            return None
        if is_int and -(2**63) <= v < 2**64:
            return v
        if is_float and abs(v) <= 2**53:
            return float(v)
        return None

    if "Dyn" in lit:
        d = lit["Dyn"]
        if not isinstance(d, dict) or len(d) != 1:
            return None
        ((k, v),) = d.items()
        if k == "Int":
            return from_int(v)
        if k == "Float" and is_float and isinstance(v, (int, float)) and np.isfinite(v):
            return float(v)
        if k == "Str" and is_str and isinstance(v, str):
            return v
        return None
    s = lit.get("Scalar")
    if not isinstance(s, dict) or len(s) != 1:
        return None
    ((k, v),) = s.items()
    if k in _INTS:
        return from_int(v)
    if k in ("Float32", "Float64") and is_float and isinstance(v, (int, float)) and np.isfinite(v):
        return float(v)
    if k in ("String", "StringOwned") and is_str and isinstance(v, str):
        return v
    if k == "Boolean" and pa.types.is_boolean(t) and isinstance(v, bool):
        return v
    if k == "Date" and pa.types.is_date32(t) and isinstance(v, int):
        return v
    if k == "Datetime" and pa.types.is_timestamp(t) and isinstance(v, list) and len(v) >= 2:
        if _UNITS.get(v[1]) == t.unit and isinstance(v[0], int):
            return v[0]
        return None
    if k == "Duration" and pa.types.is_duration(t) and isinstance(v, list) and len(v) >= 2:
        if _UNITS.get(v[1]) == t.unit and isinstance(v[0], int):
            return v[0]
        return None
    return None


# --------------------------------------------------------------------------- tensors


def _c_array(array: Any) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype.hasobject or a.dtype.fields is not None:
        raise UnsupportedError(
            f"dtype {a.dtype}: only plain numpy dtypes (numbers, bool, bytes, str, "
            "datetime64, timedelta64) can be stored as tensors"
        )
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    # Not np.ascontiguousarray: it turns 0-d arrays into 1-d ones.
    return a if a.flags.c_contiguous else a.copy(order="C")


def _cparams(codec: Any, clevel: Any, filters: Any, nthreads: Any, cparams: Any) -> dict[str, Any]:
    if cparams is not None:  # python-blosc2 style: dict or blosc2.CParams
        get = cparams.get if isinstance(cparams, Mapping) else lambda k: getattr(cparams, k, None)
        codec = codec if codec is not None else get("codec")
        clevel = clevel if clevel is not None else get("clevel")
        filters = filters if filters is not None else get("filters")
        nthreads = nthreads if nthreads is not None else get("nthreads")
    return {
        "codec": _codec_name(codec),
        "clevel": _clevel(clevel),
        "filters": _filter_names(filters),
        "nthreads": _threads(nthreads),
    }


def save_tensor(
    array: Any,
    urlpath: str | os.PathLike[str],
    *,
    codec: Any = None,
    clevel: int | None = None,
    filters: Any = None,
    nthreads: int | None = None,
    cparams: Any = None,
) -> int:
    """Saves a numpy array to ``urlpath`` as ``blosc2.save_tensor`` does (readable by
    ``blosc2.load_tensor`` and :func:`load_tensor`); returns the file size.

    Defaults are python-blosc2's (ZSTD, clevel 5, shuffle); ``cparams`` may be a
    python-blosc2 cparams dict."""
    a = _c_array(array)
    kw = _cparams(codec, clevel, filters, nthreads, cparams)
    return _ext.save_tensor(_location(urlpath), a.ctypes.data, a.nbytes, list(a.shape), a.dtype.str, **kw)


def _threads(nthreads: int | None) -> int:
    """Threads for block coding: as python-blosc2, all cores by default."""
    if nthreads is None:
        return os.cpu_count() or 1
    if not isinstance(nthreads, (int, np.integer)) or isinstance(nthreads, bool) or nthreads < 1:
        raise InvalidArgumentError(f"nthreads must be a positive integer, got {nthreads!r}")
    return int(nthreads)


def _read_tensor(t: Any, nthreads: int | None) -> np.ndarray:
    out = np.empty(tuple(t.shape), dtype=np.dtype(t.dtype))
    t.read_into(out.ctypes.data, out.nbytes, _threads(nthreads))
    return out


def load_tensor(urlpath: str | os.PathLike[str], *, nthreads: int | None = None) -> np.ndarray:
    """Loads a tensor file written by ``save_tensor`` (ours or python-blosc2's),
    decoding with ``nthreads`` threads (default: all cores, as python-blosc2)."""
    return _read_tensor(_ext.TensorFile.open(_location(urlpath)), nthreads)


def pack_tensor(
    array: Any,
    *,
    codec: Any = None,
    clevel: int | None = None,
    filters: Any = None,
    nthreads: int | None = None,
    cparams: Any = None,
) -> bytes:
    """Packs a numpy array into a contiguous frame, as ``blosc2.pack_tensor``."""
    a = _c_array(array)
    kw = _cparams(codec, clevel, filters, nthreads, cparams)
    return _ext.pack_tensor(a.ctypes.data, a.nbytes, list(a.shape), a.dtype.str, **kw)


def unpack_tensor(frame: bytes | bytearray | memoryview, *, nthreads: int | None = None) -> np.ndarray:
    """Unpacks a frame made by ``pack_tensor`` (ours or python-blosc2's)."""
    if isinstance(frame, (bytearray, memoryview)):
        frame = bytes(frame)
    if not isinstance(frame, bytes):
        raise InvalidArgumentError(f"frame must be bytes, got {type(frame).__name__}")
    return _read_tensor(_ext.TensorFile.from_frame(frame), nthreads)
