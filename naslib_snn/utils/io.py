"""Crash-safe file output: whole files replaced atomically, JSONL lines appended whole.

A SIGKILL at any moment leaves either the old file or the new one (``atomic_write_*``), and a
JSONL file whose lines are each complete, except possibly a torn last line that
:func:`read_jsonl` drops.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _target_mode(path: Path) -> int:
    """The permission bits ``path`` should get: its current ones, else what ``open()`` would give."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    The file keeps its permission bits, or gets the umask's for a new file (``mkstemp`` alone would
    leave 0600, unreadable to other users of a shared benchmark folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _target_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any, indent: int | None = 2) -> None:
    """Atomically replace ``path`` with ``obj`` as JSON. NaN/inf are refused (``allow_nan=False``)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, allow_nan=False) + "\n")


def append_jsonl(path: PathLike, record: dict) -> None:
    """Append ``record`` as one JSON line, with a single write, then flush and fsync.

    Non-finite floats are written as the JSON strings ``"inf"``, ``"-inf"`` and ``"nan"``, so the
    file stays valid JSON; :func:`read_jsonl` turns them back into floats.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(_encode_nonfinite(record), allow_nan=False) + "\n"
    with open(path, "ab") as handle:
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: PathLike) -> Iterator[dict]:
    """The complete records of a JSONL file; a torn (unterminated or unparsable) last line is skipped.

    Raises:
        ValueError: a line other than the last is not valid JSON (the file is corrupt, not torn).
    """
    path = Path(path)
    if not path.exists():
        return
    lines = path.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        is_last = number == len(lines) or all(not rest.strip() for rest in lines[number:])
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:
            if is_last:
                return
            raise ValueError(f"{path}: line {number} is not valid JSON ({err.msg})") from err
        yield _decode_nonfinite(record)


def repair_jsonl(path: PathLike) -> int:
    """Truncate a torn last line left by a kill, so later appends start on a fresh line.

    Returns the number of bytes removed.
    """
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - keep


_NONFINITE = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}


def _encode_nonfinite(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return "nan"
    if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
        return "inf" if obj > 0 else "-inf"
    if isinstance(obj, dict):
        return {key: _encode_nonfinite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode_nonfinite(value) for value in obj]
    return obj


def _decode_nonfinite(obj: Any) -> Any:
    if isinstance(obj, str) and obj in _NONFINITE:
        return _NONFINITE[obj]
    if isinstance(obj, dict):
        return {key: _decode_nonfinite(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_decode_nonfinite(value) for value in obj]
    return obj
