"""Advisory file locks between processes that share a folder (POSIX only).

:func:`file_lock` holds an exclusive ``fcntl.flock`` on a lock file for the length of a ``with``
block. The lock belongs to the open file, so the kernel releases it when the process exits, even on
SIGKILL: a stale lock file never blocks anybody. Where ``fcntl`` does not exist (Windows) the block
runs unlocked, as :func:`naslib_snn.benchmarks.builder.build_lock` does.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Union

__all__ = ["LockTimeout", "file_lock"]

PathLike = Union[str, "os.PathLike[str]"]


class LockTimeout(TimeoutError):
    """The lock was still held by another process when ``blocking=False`` asked for it."""


@contextlib.contextmanager
def file_lock(path: PathLike, *, blocking: bool = True) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (created, with its folder, if missing) inside the block.

    ``blocking=True`` waits for another holder to finish; ``blocking=False`` raises at once. The
    file is left in place afterwards (deleting it would race with a process about to lock it) and
    holds the pid of its last holder, for humans.

    Yields:
        The lock file's path.

    Raises:
        LockTimeout: ``blocking=False`` and another process holds the lock (the message names the
            file and its holder's pid).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            import fcntl  # noqa: PLC0415  (POSIX)
        except ImportError:  # pragma: no cover  (Windows: unlocked)
            yield path
            return
        flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            raise LockTimeout(f"{path} is locked by another process (pid {owner})") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield path
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
