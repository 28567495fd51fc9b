"""Fashion-MNIST from its IDX files (raw or gzipped)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .idx import read_idx
from .registry import DatasetInfo, SplitSource, register_dataset
from .splits import carve_validation

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
VAL_FRACTION = 1 / 6  # 10000 of the 60000 training images

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

FASHION_MNIST_INFO = DatasetInfo(
    name="fashion_mnist",
    num_classes=10,
    in_channels=1,
    image_size=28,
    # Measured on the 60000 training images, pixels scaled to [0, 1].
    mean=(0.2860,),
    std=(0.3530,),
    # A mirrored garment is the same garment.
    hflip=True,
    needs_data_dir=True,
    default_data_dir=DEFAULT_DIR,
    layout=(
        "  <data_dir>/train-images-idx3-ubyte[.gz]   (60000x28x28 uint8, magic 0x00000803)\n"
        "  <data_dir>/train-labels-idx1-ubyte[.gz]   (60000 uint8, magic 0x00000801)\n"
        "  <data_dir>/t10k-images-idx3-ubyte[.gz]\n"
        "  <data_dir>/t10k-labels-idx1-ubyte[.gz]\n"
        f"  (default data_dir {DEFAULT_DIR}: apt install dataset-fashion-mnist)"
    ),
    description="Zalando Fashion-MNIST, 28x28 grey; val = a fixed stratified 10000 of the training set",
)


def _find(root: Path, base: str) -> Path:
    for candidate in (root / base, root / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"fashion_mnist: neither {root / base} nor {root / base}.gz exists. "
        f"Expected layout:\n{FASHION_MNIST_INFO.layout}"
    )


def read_idx_pair(root: Path, images_base: str, labels_base: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, H, W] and labels int64 [N] from a pair of IDX files in ``root``.

    Raises:
        FileNotFoundError: a file is missing (with the expected layout).
        ValueError: wrong dtype or rank, or the counts disagree (message names the file).
    """
    images_path, labels_path = _find(root, images_base), _find(root, labels_base)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{images_path}: expected uint8 images [N, H, W], got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected uint8 labels [N], got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels.astype(np.int64)


@register_dataset(FASHION_MNIST_INFO)
def build_fashion_mnist(root: Optional[Path], split: str, image_size: int) -> SplitSource:
    """uint8 [N, 1, 28, 28] images of ``split``; val/train are carved from the training files."""
    assert root is not None
    images, labels = read_idx_pair(root, *FILES["test" if split == "test" else "train"])
    idx = np.arange(len(labels), dtype=np.int64) if split == "test" else carve_validation(labels, split, VAL_FRACTION)
    return SplitSource(
        labels=labels[idx],
        indices=idx,
        load=lambda pos: torch.from_numpy(np.ascontiguousarray(images[idx[pos]])[:, None]),
    )
