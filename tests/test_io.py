import json
import math
import os

import pytest

from naslib_snn.utils.io import append_jsonl, atomic_write_json, read_jsonl, repair_jsonl


def test_atomic_json_round_trip(tmp_path):
    path = tmp_path / "sub" / "a.json"
    atomic_write_json(path, {"x": 1})
    atomic_write_json(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]  # no temp files left behind
    with pytest.raises(ValueError):
        atomic_write_json(path, {"x": float("nan")})
    assert json.loads(path.read_text()) == {"x": 2}


def test_jsonl_nonfinite_and_torn_line(tmp_path):
    path = tmp_path / "r.jsonl"
    append_jsonl(path, {"score": -math.inf, "i": 0})
    append_jsonl(path, {"score": 1.5, "i": 1})
    with open(path, "ab") as handle:
        handle.write(b'{"score": 2.0, "i"')  # a kill in the middle of a write
    records = list(read_jsonl(path))
    assert [r["i"] for r in records] == [0, 1]
    assert records[0]["score"] == -math.inf
    assert repair_jsonl(path) == len(b'{"score": 2.0, "i"')
    append_jsonl(path, {"score": 3.0, "i": 2})
    assert [r["i"] for r in read_jsonl(path)] == [0, 1, 2]


def test_corrupt_middle_line_raises(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValueError, match="line 2"):
        list(read_jsonl(path))


def test_atomic_write_permissions_follow_umask_and_existing_file(tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.json"
        atomic_write_json(new, {"a": 1})
        assert new.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        kept.chmod(0o640)
        atomic_write_json(kept, {"b": 2})
        assert kept.stat().st_mode & 0o777 == 0o640
        assert json.loads(kept.read_text()) == {"b": 2}
    finally:
        os.umask(old)
