"""CIFAR-10 and CIFAR-100 from the python pickle batches, read with a restricted unpickler."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .registry import DatasetInfo, SplitSource, register_dataset
from .safe_pickle import restricted_load
from .splits import carve_validation

VAL_FRACTION = 0.1  # 5000 of the 50000 training images; "trainval" is the paper's training set

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = ("test_batch",)
CIFAR100_FOLDER = "cifar-100-python"
CIFAR100_TRAIN = ("train",)
CIFAR100_TEST = ("test",)

CIFAR10_INFO = DatasetInfo(
    name="cifar10",
    num_classes=10,
    in_channels=3,
    image_size=32,
    mean=(0.4913, 0.4821, 0.4465),  # authors' code
    std=(0.2470, 0.2434, 0.2615),  # authors' code
    hflip=True,
    needs_data_dir=True,
    default_data_dir=None,
    layout=(
        f"  <data_dir>/{CIFAR10_FOLDER}/  (or data_dir pointing at that folder itself)\n"
        f"      {', '.join(CIFAR10_TRAIN)}, {CIFAR10_TEST[0]}\n"
        "  each a pickled dict with 'data' (uint8 [N, 3072], RGB planes of 32x32) and 'labels' (N ints)"
    ),
    description="CIFAR-10 python batches; val = a fixed stratified 5000 of the training set",
)

CIFAR100_INFO = DatasetInfo(
    name="cifar100",
    num_classes=100,
    in_channels=3,
    image_size=32,
    mean=(0.5071, 0.4867, 0.4408),  # authors' code
    std=(0.2673, 0.2564, 0.2762),  # authors' code
    hflip=True,
    needs_data_dir=True,
    default_data_dir=None,
    layout=(
        f"  <data_dir>/{CIFAR100_FOLDER}/  (or data_dir pointing at that folder itself)\n"
        f"      {CIFAR100_TRAIN[0]}, {CIFAR100_TEST[0]}\n"
        "  each a pickled dict with 'data' (uint8 [N, 3072]) and 'fine_labels' (N ints in 0..99)"
    ),
    description="CIFAR-100 python batches, fine labels; val = a fixed stratified 5000 of the training set",
)


def _batch_dir(root: Path, folder: str, required: tuple[str, ...], info: DatasetInfo) -> Path:
    """``root`` if it holds the batches, else ``root/folder``. Raises FileNotFoundError otherwise."""
    for candidate in (root, root / folder):
        if all((candidate / name).is_file() for name in required):
            return candidate
    missing = [name for name in required if not (root / name).is_file()]
    raise FileNotFoundError(
        f"{info.name}: batch files {', '.join(missing)} not found in {root} or {root / folder}. "
        f"Expected layout:\n{info.layout}"
    )


def read_cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of one pickled batch.

    Raises:
        ValueError: not a valid batch (forbidden pickle content, missing key, wrong dtype or shape);
            the message names the file.
    """
    batch = restricted_load(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    batch = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(f"{path}: expected keys 'data' and {label_key!r}, found {sorted(map(str, batch))}")
    data, labels = batch["data"], np.asarray(batch[label_key])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        shape = getattr(data, "shape", None)
        raise ValueError(f"{path}: 'data' must be a uint8 array [N, 3072], got {type(data).__name__} {shape}")
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: {label_key!r} must hold {data.shape[0]} ints, got {labels.dtype} {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _build(root: Optional[Path], split: str, info: DatasetInfo, folder: str, train: tuple[str, ...],
           test: tuple[str, ...], label_key: str) -> SplitSource:
    assert root is not None
    names = test if split == "test" else train
    folder_path = _batch_dir(root, folder, train + test, info)
    parts = [read_cifar_batch(folder_path / name, label_key) for name in names]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts])
    idx = np.arange(len(labels), dtype=np.int64) if split == "test" else carve_validation(labels, split, VAL_FRACTION)
    return SplitSource(
        labels=labels[idx],
        indices=idx,
        load=lambda pos: torch.from_numpy(np.ascontiguousarray(images[idx[pos]])),
    )


@register_dataset(CIFAR10_INFO)
def build_cifar10(root: Optional[Path], split: str, image_size: int) -> SplitSource:
    """uint8 [N, 3, 32, 32] CIFAR-10 images of ``split``."""
    return _build(root, split, CIFAR10_INFO, CIFAR10_FOLDER, CIFAR10_TRAIN, CIFAR10_TEST, "labels")


@register_dataset(CIFAR100_INFO)
def build_cifar100(root: Optional[Path], split: str, image_size: int) -> SplitSource:
    """uint8 [N, 3, 32, 32] CIFAR-100 images of ``split`` with fine labels."""
    return _build(root, split, CIFAR100_INFO, CIFAR100_FOLDER, CIFAR100_TRAIN, CIFAR100_TEST, "fine_labels")
