"""Our offline datasets for NASLib's code paths: nothing is downloaded, NASLib is never imported.

NASLib builds its data loaders with ``naslib.utils.get_train_val_loaders(config, mode)``, an
if/elif chain over torchvision datasets that downloads CIFAR and knows none of ours. The runners
put :func:`naslib_loaders` in its place (see :func:`naslib_snn.compat.use_data_loaders`) while
NASLib's ``ZeroCostPredictorEvaluator`` (or Bananas with zero-cost features) runs.

The loaders hold only the images NASLib's zero-cost code reads: ``ZeroCost.query`` takes the first
batch of the train loader, and the evaluator deep-copies that loader for every architecture, so a
small, fixed, un-augmented subset keeps it cheap and gives every architecture the same batch.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Optional, Union

from naslib_snn.utils.checks import require_int

__all__ = ["LOADER_BATCHES", "naslib_loaders", "scoring_batches"]

PathLike = Union[str, "os.PathLike[str]"]

#: batches in each loader: NASLib's ZeroCost reads one batch (``num_imgs_or_batches = 1``)
LOADER_BATCHES = 1


def scoring_batches(
    dataset: str,
    batch_size: int,
    num_batches: int = 1,
    seed: int = 0,
    *,
    image_size: Optional[int] = None,
    data_dir: Optional[PathLike] = None,
    split: str = "train",
    allow_fewer: bool = False,
) -> tuple[list[Any], list[Any]]:
    """``num_batches`` batches of distinct, un-augmented images of ``split``, chosen by ``seed``.

    The draw is :func:`naslib_snn.data.draw_scoring_batches` (class-balanced, one random stream
    shared with the search and the zero-cost tables): the same arguments give the same images there.

    Returns ``(images, labels)``: lists of float32 ``[B, C, S, S]`` and int64 ``[B]`` tensors (fresh
    tensors on every call; the split is read once per process).

    Raises:
        ValueError: the split holds fewer than ``batch_size * num_batches`` images (unless
            ``allow_fewer``, which then uses them all), bad counts, or an unknown dataset (as
            :func:`naslib_snn.data.load_dataset`).
        FileNotFoundError: the dataset's files are missing (the message shows the expected layout).
    """
    for name, value in (("batch_size", batch_size), ("num_batches", num_batches)):
        require_int(name, value, 1)
    require_int("seed", seed, 0)
    data_dir = None if data_dir in (None, "") else os.fspath(data_dir)
    from naslib_snn.data import draw_scoring_batches  # noqa: PLC0415  (torch)

    data = _read_split(dataset, split, image_size, data_dir)
    return draw_scoring_batches(data, batch_size, num_batches, seed, allow_fewer=allow_fewer)


@functools.lru_cache(maxsize=8)
def _read_split(dataset: str, split: str, image_size: Optional[int], data_dir: Optional[str]) -> Any:
    """One un-augmented split, read once per process (reading it never changes it)."""
    from naslib_snn.data import load_dataset  # noqa: PLC0415

    return load_dataset(dataset, data_dir=data_dir, split=split, image_size=image_size, augment=False)


def _get(node: Any, key: str, default: Any = None) -> Any:
    """``node.key`` for a NASLib CfgNode (or any attribute object / mapping), ``default`` if absent or None."""
    if node is None:
        return default
    value = node.get(key, None) if isinstance(node, dict) else getattr(node, key, None)
    return default if value is None else value


def naslib_loaders(config: Any, mode: str = "train") -> tuple[Any, Any, Any, None, None]:
    """A stand-in for ``naslib.utils.get_train_val_loaders(config, mode)`` on our datasets.

    Reads ``config.dataset``, the batch size (``config.batch_size``, else ``config.search.batch_size``),
    the seed (``config.search.seed``, else ``config.seed``) and, from the ``spiking`` section when
    present, ``image_size``, ``data_dir`` and ``loader_batches`` (default :data:`LOADER_BATCHES`).

    Returns:
        ``(train_queue, valid_queue, test_queue, None, None)`` as NASLib's function does (its two
        torchvision transforms do not exist here): lists of ``(images [B, C, S, S], labels [B])``
        batches from the train, val and test splits, fixed by the seed. ``mode`` is accepted and
        ignored: nothing is augmented.

    Raises:
        ValueError: an unknown dataset (the message lists ours), or as :func:`scoring_batches`.
    """
    dataset = _get(config, "dataset")
    search = _get(config, "search")
    spiking = _get(config, "spiking")
    batch_size = int(_get(config, "batch_size", _get(search, "batch_size", 64)))
    seed = int(_get(search, "seed", _get(config, "seed", 0)))
    batches = int(_get(spiking, "loader_batches", LOADER_BATCHES))
    common = dict(image_size=_get(spiking, "image_size"), data_dir=_get(spiking, "data_dir"))
    queues = []
    for split in ("train", "val", "test"):
        images, labels = scoring_batches(dataset, batch_size, batches, seed, split=split,
                                         allow_fewer=split != "train", **common)
        queues.append(list(zip(images, labels)))
    return queues[0], queues[1], queues[2], None, None
