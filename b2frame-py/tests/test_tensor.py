"""Tensors: file- and frame-compatible with python-blosc2 in both directions."""

from __future__ import annotations

import blosc2
import numpy as np
import pytest

import b2frame

rng = np.random.default_rng(7)

ARRAYS = {
    "f8_2d": rng.random((300, 250)),
    "i4_3d": rng.integers(-1000, 1000, (7, 11, 13), dtype=np.int32),
    "u1_1d": rng.integers(0, 255, 100_000, dtype=np.uint8),
    "i8_big": np.arange(3_000_000, dtype=np.int64),
    "f4_fortran": np.asfortranarray(rng.random((64, 33), dtype=np.float32)),
    "bool": rng.random(1000) > 0.5,
    "c16": (rng.random(100) + 1j * rng.random(100)).astype(np.complex128),
    "f2": rng.random(77).astype(np.float16),
    "bytes": np.array([b"ab", b"cde", b""], dtype="S3"),
    "unicode": np.array(["x", "yz", "héllo"], dtype="U5"),
    "datetime": np.arange("2020-01-01", "2020-03-01", dtype="datetime64[D]").astype("datetime64[ns]"),
    "timedelta": np.arange(50, dtype="timedelta64[ms]"),
    "zeros": np.zeros((100, 100)),
    "empty": np.zeros((0, 5), dtype=np.int16),
    "scalar": np.array(3.5),
    "big_endian": np.arange(100, dtype=">i4"),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_save_tensor_is_read_by_blosc2(tmp_path, name):
    a = ARRAYS[name]
    path = tmp_path / "t.b2frame"
    size = b2frame.save_tensor(a, path)
    assert size == path.stat().st_size
    np.testing.assert_array_equal(blosc2.load_tensor(str(path)), a)
    back = b2frame.load_tensor(path)
    np.testing.assert_array_equal(back, a)
    assert back.shape == a.shape and back.flags.writeable and back.flags.c_contiguous


@pytest.mark.parametrize("name", ARRAYS)
def test_blosc2_save_tensor_is_read_by_b2frame(tmp_path, name):
    a = ARRAYS[name]
    path = tmp_path / "t.b2nd"
    blosc2.save_tensor(np.ascontiguousarray(a) if a.ndim else a, str(path))
    if a.dtype.byteorder == ">":
        # python-blosc2 stores big-endian bytes with a '>' dtype; b2frame reads
        # little-endian frames only, and says so.
        with pytest.raises(b2frame.UnsupportedError, match="big-endian"):
            b2frame.load_tensor(path)
        return
    back = b2frame.load_tensor(path)
    np.testing.assert_array_equal(back, a)
    assert back.dtype == a.dtype


@pytest.mark.parametrize("name", ["f8_2d", "i4_3d", "unicode", "scalar", "empty"])
def test_pack_tensor_both_ways(name):
    a = ARRAYS[name]
    frame = b2frame.pack_tensor(a)
    np.testing.assert_array_equal(blosc2.unpack_tensor(frame), a)
    np.testing.assert_array_equal(b2frame.unpack_tensor(frame), a)
    np.testing.assert_array_equal(b2frame.unpack_tensor(blosc2.pack_tensor(a)), a)


def test_cparams(tmp_path):
    a = np.arange(1_000_000, dtype=np.int64)
    sizes = {}
    for name, kw in {
        "lz4": {"codec": "lz4", "clevel": 9},
        "blosc2_style": {"cparams": {"codec": blosc2.Codec.ZLIB, "clevel": 1, "filters": [blosc2.Filter.BITSHUFFLE]}},
        "none": {"clevel": 0},
        "threads": {"nthreads": 2, "filters": ["shuffle", "bytedelta"]},
    }.items():
        path = tmp_path / f"{name}.b2frame"
        sizes[name] = b2frame.save_tensor(a, path, **kw)
        np.testing.assert_array_equal(blosc2.load_tensor(str(path)), a)
    assert sizes["none"] > 8_000_000 > sizes["lz4"]
    with pytest.raises(b2frame.InvalidArgumentError, match="codec"):
        b2frame.save_tensor(a, tmp_path / "x", codec="brotli")
    with pytest.raises(b2frame.UnsupportedError, match="dtype"):
        b2frame.save_tensor(np.array([object()]), tmp_path / "x")
    with pytest.raises(b2frame.UnsupportedError):
        b2frame.pack_tensor(np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]))
