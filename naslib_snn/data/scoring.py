"""The images a cell is scored on: one sampler and one random stream for every caller.

Training-free scores (HD, SAHD, NASLib's proxies) see a few fixed batches of un-augmented images.
The search (:func:`naslib_snn.search.scoring_batches`), the NASLib loaders and the training-free
oracle (:func:`naslib_snn.naslib_data.scoring_batches`) and the zero-cost tables
(:func:`naslib_snn.benchmarks.zc.scoring_batches`) all draw them with :func:`draw_scoring_batches`,
so the same split, image size, batch size and seed give the same images everywhere.

**The draw.** With ``n = batch_size * num_batches`` and K classes, the images are the first ``n``
samples of ``stratified_order(labels, derive_seed(seed, SCORING_STREAM))``
(:func:`naslib_snn.data.splits.stratified_order`, one ``numpy.random.default_rng``), cut into
consecutive batches. Therefore:

* the ``n`` images are distinct and class-balanced: each class holds ``n // K`` of them or one
  more, as long as it has that many samples;
* the first batch is class-balanced too, and so is every batch when ``batch_size`` is a multiple of K;
* the first ``m`` batches do not depend on ``num_batches``: asking for more batches only appends.

Before this module (package 0.1.0, benchmark v1) the three callers drew their own images: the
search and the NASLib loaders with numpy streams ``(seed, 1)`` and ``(seed, 3)``, the zero-cost
tables with a torch permutation of a class-balanced subset. The shipped zero-cost table of
``spiking_nb201_fmnist`` was computed with that older draw, so recomputing it now gives other
images and other scores.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np
import torch

from ..utils.checks import check_int
from ..utils.seeds import derive_seed
from .dataset import load_dataset
from .splits import stratified_order

__all__ = ["SCORING_SAMPLER", "SCORING_STREAM", "draw_scoring_batches", "load_scoring_batches", "scoring_order"]

PathLike = Union[str, "os.PathLike[str]"]

#: the stream tag of the scoring images: ``derive_seed(seed, SCORING_STREAM)`` seeds their draw
SCORING_STREAM = 0x53434F52  # "SCOR"

#: names the draw above; recorded with results (search's config.json, zero-cost tables) so that
#: results drawn by an older sampler are recognised
SCORING_SAMPLER = "naslib_snn.data.scoring: class-balanced stratified_order, derive_seed(seed, 0x53434F52)"


def scoring_order(labels: Sequence[int], seed: int) -> np.ndarray:
    """All positions ``0..N-1`` in the order the scoring images are taken from a split with ``labels``.

    Returns: int64 ``[N]``, every prefix class-balanced (see the module docstring).

    Raises:
        TypeError / ValueError: ``seed`` is not an int >= 0.
    """
    seed = check_int("seed", seed, 0)
    return stratified_order(np.asarray(labels, dtype=np.int64), derive_seed(seed, SCORING_STREAM))


def _labels_of(data: Any) -> np.ndarray:
    """The labels of a map-style dataset of ``(image, label)``: its ``labels`` attribute if it has one."""
    labels = getattr(data, "labels", None)
    if labels is not None and len(labels) == len(data):
        return np.asarray(labels, dtype=np.int64)
    return np.array([int(data[i][1]) for i in range(len(data))], dtype=np.int64)


def _describe(data: Any) -> str:
    """``"train images of digits"`` for our datasets, ``"images"`` for others."""
    split, info = getattr(data, "split", None), getattr(data, "info", None)
    name = getattr(info, "name", None)
    return f"{split} images of {name}" if split and name else "images"


def draw_scoring_batches(
    data: Any,
    batch_size: int,
    num_batches: int,
    seed: int,
    *,
    allow_fewer: bool = False,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``num_batches`` batches of distinct, class-balanced samples of ``data``, chosen by ``seed``.

    Args:
        data: a map-style dataset of ``(float32 image [C, S, S], int label)``, normally an
            un-augmented :func:`naslib_snn.data.load_dataset` split. Its ``labels`` attribute is
            used when present; otherwise every sample is read once for its label.
        batch_size / num_batches: ``n = batch_size * num_batches`` images are drawn.
        seed: the stream is ``derive_seed(seed, SCORING_STREAM)``.
        allow_fewer: if ``data`` holds fewer than ``n`` samples, use all of them (the last batch
            is then shorter, or batches are missing) instead of raising.

    Returns:
        ``(images, labels)``: lists of float32 ``[B, C, S, S]`` and int64 ``[B]`` tensors, fresh on
        every call.

    Raises:
        ValueError: ``data`` holds fewer than ``n`` samples (without ``allow_fewer``) or none, or a
            count or seed is < 1 (< 0 for the seed).
        TypeError: a count or seed that is not an int.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    num_batches = check_int("num_batches", num_batches, 1)
    seed = check_int("seed", seed, 0)
    needed = batch_size * num_batches
    if len(data) == 0:
        raise ValueError(f"no {_describe(data)} to draw scoring batches from")
    if needed > len(data):
        if not allow_fewer:
            raise ValueError(
                f"batch size {batch_size} x {num_batches} batches = {needed} scoring images, more than the "
                f"{len(data)} {_describe(data)}"
            )
        needed = len(data)
    chosen = scoring_order(_labels_of(data), seed)[:needed]
    samples = [data[int(i)] for i in chosen]
    images = torch.stack([sample[0] for sample in samples]).to(torch.float32)
    labels = torch.tensor([int(sample[1]) for sample in samples], dtype=torch.int64)
    return list(images.split(batch_size)), list(labels.split(batch_size))


def load_scoring_batches(
    dataset: str,
    batch_size: int,
    num_batches: int,
    seed: int,
    *,
    image_size: Optional[int] = None,
    data_dir: Optional[PathLike] = None,
    split: str = "train",
    allow_fewer: bool = False,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """:func:`draw_scoring_batches` from the un-augmented ``split`` of a registered dataset.

    ``image_size`` None is the dataset's default; ``data_dir`` None its default location.

    Raises:
        ValueError: an unknown dataset or split, or as :func:`draw_scoring_batches`.
        TypeError: as :func:`draw_scoring_batches`.
        FileNotFoundError: the dataset's files are missing (the message shows the expected layout).
    """
    data = load_dataset(dataset, data_dir=data_dir, split=split, image_size=image_size, augment=False)
    return draw_scoring_batches(data, batch_size, num_batches, seed, allow_fewer=allow_fewer)
