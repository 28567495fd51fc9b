"""torch's thread count for a block of work, put back afterwards."""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional


@contextlib.contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` (None: leave it) and restore the previous count.

    In a worker process the restore is moot; in the caller's process (an inline search or build, a
    test) it keeps the caller's setting, which changes float sums and so results.
    """
    import torch  # noqa: PLC0415 (torch is heavy; callers import this module early)

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
