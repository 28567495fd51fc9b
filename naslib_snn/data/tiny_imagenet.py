"""Tiny-ImageNet-200 from its standard folder layout, decoded with PIL."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .registry import DatasetInfo, SplitSource, register_dataset
from .splits import carve_validation

FOLDER = "tiny-imagenet-200"
VAL_FRACTION = 0.1  # 10000 of the 100000 training images

TINY_IMAGENET_INFO = DatasetInfo(
    name="tiny_imagenet",
    num_classes=200,
    in_channels=3,
    image_size=64,
    mean=(0.485, 0.456, 0.406),  # authors' code (the ImageNet statistics)
    std=(0.229, 0.224, 0.225),  # authors' code
    hflip=True,
    needs_data_dir=True,
    default_data_dir=None,
    layout=(
        f"  <data_dir>/{FOLDER}/  (or data_dir pointing at that folder itself)\n"
        "      wnids.txt                               one WordNet id per line (the classes)\n"
        "      train/<wnid>/images/*.JPEG              500 images per class\n"
        "      val/images/*.JPEG\n"
        "      val/val_annotations.txt                 <file>\\t<wnid>\\t... per line"
    ),
    description="Tiny-ImageNet-200, 64x64 RGB; classes in sorted wnid order; val = a fixed stratified 10% "
    "of train; test = the official (labelled) val folder",
)


def _root(data_dir: Path) -> Path:
    for candidate in (data_dir, data_dir / FOLDER):
        if (candidate / "wnids.txt").is_file():
            return candidate
    raise FileNotFoundError(
        f"tiny_imagenet: wnids.txt not found in {data_dir} or {data_dir / FOLDER}. "
        f"Expected layout:\n{TINY_IMAGENET_INFO.layout}"
    )


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"tiny_imagenet: {what} {path} not found. Expected layout:\n{TINY_IMAGENET_INFO.layout}"
        )
    return path


def read_wnids(root: Path) -> list[str]:
    """Class ids of wnids.txt in sorted order (so class k is the k-th folder name, as ImageFolder does).

    Raises:
        ValueError: the file is empty, has duplicates, or lists more than 200 classes.
    """
    path = root / "wnids.txt"
    wnids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not wnids or len(set(wnids)) != len(wnids) or len(wnids) > TINY_IMAGENET_INFO.num_classes:
        raise ValueError(
            f"{path}: expected 1..{TINY_IMAGENET_INFO.num_classes} distinct WordNet ids, "
            f"found {len(wnids)} lines ({len(set(wnids))} distinct)"
        )
    return sorted(wnids)


def list_train(root: Path, wnids: list[str]) -> tuple[list[Path], np.ndarray]:
    """Sorted training image paths and their int64 labels."""
    files: list[Path] = []
    labels: list[int] = []
    for label, wnid in enumerate(wnids):
        images_dir = _require(root / "train" / wnid / "images", "training folder")
        found = sorted(images_dir.glob("*.JPEG"))
        files.extend(found)
        labels.extend([label] * len(found))
    return files, np.asarray(labels, dtype=np.int64)


def list_val(root: Path, wnids: list[str]) -> tuple[list[Path], np.ndarray]:
    """Official validation image paths (annotation order) and their int64 labels.

    Raises:
        ValueError: a malformed annotation line or an unknown wnid (names file and line).
    """
    annotations = _require(root / "val" / "val_annotations.txt", "annotation file")
    images_dir = root / "val" / "images"
    label_of = {wnid: k for k, wnid in enumerate(wnids)}
    files: list[Path] = []
    labels: list[int] = []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in label_of:
            raise ValueError(f"{annotations}:{number}: expected '<file>\\t<wnid from wnids.txt>...', got {line!r}")
        files.append(images_dir / fields[0])
        labels.append(label_of[fields[1]])
    return files, np.asarray(labels, dtype=np.int64)


def decode_images(files: list[Path]) -> torch.Tensor:
    """Decode image files to uint8 [N, 3, H, W] (grey images become RGB).

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a file is not a readable image, or the sizes differ (message names the file).
    """
    from PIL import Image, UnidentifiedImageError

    out: Optional[np.ndarray] = None
    for k, path in enumerate(files):
        try:
            with Image.open(_require(path, "image")) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise ValueError(f"{path}: cannot decode image ({err})") from err
        if out is None:
            out = np.empty((len(files), 3, *pixels.shape[:2]), dtype=np.uint8)
        if pixels.shape[:2] != out.shape[2:]:
            raise ValueError(
                f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]}, expected {out.shape[3]}x{out.shape[2]}"
            )
        out[k] = pixels.transpose(2, 0, 1)
    if out is None:
        return torch.empty((0, 3, TINY_IMAGENET_INFO.image_size, TINY_IMAGENET_INFO.image_size), dtype=torch.uint8)
    return torch.from_numpy(out)


@register_dataset(TINY_IMAGENET_INFO)
def build_tiny_imagenet(root: Optional[Path], split: str, image_size: int) -> SplitSource:
    """Lists the files of ``split``; only the selected images are decoded (uint8 [n, 3, 64, 64])."""
    assert root is not None
    root = _root(root)
    wnids = read_wnids(root)
    if split == "test":
        files, labels = list_val(root, wnids)
        idx = np.arange(len(labels), dtype=np.int64)
    else:
        files, labels = list_train(root, wnids)
        idx = carve_validation(labels, split, VAL_FRACTION)
    return SplitSource(
        labels=labels[idx],
        indices=idx,
        load=lambda pos: decode_images([files[i] for i in idx[pos]]),
    )
