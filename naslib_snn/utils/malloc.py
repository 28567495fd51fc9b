"""Keep freed memory in the process instead of handing it back to the kernel after every step.

glibc serves a large allocation (above ``M_MMAP_THRESHOLD``, 128 KiB to start with) with a fresh
``mmap`` and gives it back with ``munmap`` when it is freed. A training step or a scoring pass
allocates and frees the same few-MiB activation tensors again and again, so every step starts on
fresh pages and pays a page fault for each 4 KiB of them: about 6,000 minor faults per training step
of a forward-only cell at the benchmark's scale, and 23,000 per scored candidate.

:func:`tune_malloc` raises the mmap threshold to glibc's maximum (32 MiB on 64-bit) and the trim
threshold to 1 GiB, so those buffers are reused from the heap. Peak memory does not grow (the same
buffers are live at the peak either way; freed memory is only kept for reuse), results are bit for
bit the same, and it is a no-op off glibc. Measured in ``bench/bench_malloc.py``.

It changes a process-wide setting, so the package applies it only where it owns the process: the
``naslib-snn`` command, :func:`naslib_snn.train.train`, and search's scoring workers. Set
``NASLIB_SNN_MALLOC=default`` to keep glibc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

ENV_VAR = "NASLIB_SNN_MALLOC"
M_TRIM_THRESHOLD = -1  # from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied: bool | None = None


def tune_malloc() -> bool:
    """Apply the settings above once per process; True when they are in effect.

    False off Linux/glibc, when ``NASLIB_SNN_MALLOC=default``, or when glibc refuses a value.

    Raises:
        ValueError: ``NASLIB_SNN_MALLOC`` is set to something other than ``tuned`` or ``default``.
    """
    global _applied
    choice = os.environ.get(ENV_VAR, "tuned").strip().lower()
    if choice not in ("tuned", "default"):
        raise ValueError(f"{ENV_VAR}={os.environ[ENV_VAR]!r}: expected 'tuned' (the default) or 'default'")
    if choice == "default":
        return False
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; setting either threshold also turns off glibc's dynamic adjustment
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
