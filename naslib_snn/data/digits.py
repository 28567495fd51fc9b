"""scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), no download needed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .registry import DatasetInfo, SplitSource, register_dataset
from .splits import SPLIT_SEED, stratified_order

TEST_FRACTION = 0.15
VAL_FRACTION = 0.15

DIGITS_INFO = DatasetInfo(
    name="digits",
    num_classes=10,
    in_channels=1,
    image_size=16,
    # Measured on all 1797 images at 16x16 (bilinear), pixels scaled to [0, 1].
    mean=(0.3053,),
    std=(0.3189,),
    # A mirrored digit is a different symbol (2/5, 3/E), so flipping would corrupt labels.
    hflip=False,
    needs_data_dir=False,
    default_data_dir=None,
    layout="(bundled with scikit-learn: sklearn.datasets.load_digits, no files needed)",
    description="UCI optical handwritten digits, 8x8 grey levels 0..16, upsampled to 16x16 by default; "
    "fixed stratified split 70/15/15 (1257/270/270)",
)


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, None]  # [1797, 1, 8, 8] in [0, 1]
    return images, bunch.target.astype(np.int64)


def digits_split_indices(split: str) -> np.ndarray:
    """Sorted indices into ``load_digits()`` of a split: a fixed stratified 70/15/15 partition.

    "trainval" is train + val. Raises ValueError on an unknown split.
    """
    _, labels = _digits()
    n = len(labels)
    n_test, n_val = int(round(TEST_FRACTION * n)), int(round(VAL_FRACTION * n))
    order = stratified_order(labels, SPLIT_SEED)
    parts = {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
        "trainval": order[n_test:],
    }
    if split not in parts:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(parts)}")
    return np.sort(parts[split])


@register_dataset(DIGITS_INFO)
def build_digits(root: Optional[Path], split: str, image_size: int) -> SplitSource:
    """The digits split at native 8x8, float32 in [0, 1]; :func:`load_dataset` resizes it."""
    images, labels = _digits()
    idx = digits_split_indices(split)
    return SplitSource(
        labels=labels[idx],
        indices=idx,
        load=lambda pos: torch.from_numpy(np.ascontiguousarray(images[idx[pos]])),
    )
