"""python-blosc2 opens a dataset's column frames (docs/FORMAT.md)."""

from __future__ import annotations

import json

import blosc2
import numpy as np
import pyarrow as pa

import b2frame


def manifest(path):
    latest = sorted((path / "_manifest").glob("v*.json"))[-1]
    return json.loads(latest.read_text())


def test_blosc2_opens_column_frames(tmp_path):
    n = 300_000
    t = pa.table(
        {
            "i": pa.array(np.arange(n, dtype=np.int64)),
            "f": pa.array(np.linspace(0, 1, n, dtype=np.float32)),
            "s": pa.array([f"row{i}" for i in range(n)], pa.large_string()),
        }
    )
    path = tmp_path / "d"
    b2frame.write(t, path, dictionary=False)
    m = manifest(path)
    frames = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.b2frame"))
    assert any(f.endswith("c0.values.b2frame") for f in frames), frames

    def values(name):
        (f,) = [f for f in frames if f.endswith(name)]
        sc = blosc2.open(str(path / f))
        return sc[:] if isinstance(sc[:], bytes) else bytes(sc[:])

    i = np.frombuffer(values("c0.values.b2frame"), dtype=np.int64)
    np.testing.assert_array_equal(i, np.arange(n))
    f = np.frombuffer(values("c1.values.b2frame"), dtype=np.float32)
    np.testing.assert_array_equal(f, t["f"].to_numpy())
    offsets = np.frombuffer(values("c2.offsets.b2frame"), dtype=np.int64)
    data = values("c2.values.b2frame")
    assert data[offsets[12345] : offsets[12346]] == b"row12345"
    assert m["rows"] == n
