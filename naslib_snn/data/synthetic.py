"""Seeded random images with a learnable class signal, for smoke tests only."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .registry import DatasetInfo, SplitSource, register_dataset
from .splits import carve_validation

TRAIN_POOL_SIZE = 640  # train 512 + val 128
TEST_SIZE = 128
VAL_FRACTION = 0.2
_DATA_SEED = 1234

SYNTHETIC_INFO = DatasetInfo(
    name="synthetic",
    num_classes=10,
    in_channels=3,
    image_size=16,
    # Pixels are 0.5 * class prototype + 0.5 * noise, both uniform on [0, 1].
    mean=(0.5, 0.5, 0.5),
    std=(0.2, 0.2, 0.2),
    hflip=True,
    needs_data_dir=False,
    default_data_dir=None,
    layout="(generated in memory, no files needed)",
    description="seeded random RGB images: half a fixed per-class prototype, half noise; "
    "train 512 / val 128 / test 128",
)


def synthetic_images(labels: np.ndarray, image_size: int, noise_seed: int) -> torch.Tensor:
    """uint8 [N, 3, S, S] images, 0.5 * prototype(label) + 0.5 * uniform noise.

    The class prototypes depend only on ``image_size``; the noise on ``noise_seed``.
    """
    prototypes = np.random.default_rng([_DATA_SEED, image_size]).random((10, 3, image_size, image_size))
    noise = np.random.default_rng([_DATA_SEED, image_size, noise_seed]).random(
        (len(labels), 3, image_size, image_size)
    )
    pixels = 0.5 * prototypes[labels] + 0.5 * noise
    return torch.from_numpy(np.round(pixels * 255.0).astype(np.uint8))


@register_dataset(SYNTHETIC_INFO)
def build_synthetic(root: Optional[Path], split: str, image_size: int) -> SplitSource:
    """Generated directly at ``image_size``; the same labels and noise in every run."""
    is_test = split == "test"
    n = TEST_SIZE if is_test else TRAIN_POOL_SIZE
    labels = np.random.default_rng([_DATA_SEED, int(is_test)]).permutation(np.arange(n) % 10).astype(np.int64)
    idx = np.arange(n, dtype=np.int64) if is_test else carve_validation(labels, split, VAL_FRACTION)

    def load(pos: np.ndarray) -> torch.Tensor:
        # Generate the whole pool so a sample does not depend on which others were selected.
        return synthetic_images(labels, image_size, noise_seed=int(is_test))[idx[pos]]

    return SplitSource(labels=labels[idx], indices=idx, load=load)
