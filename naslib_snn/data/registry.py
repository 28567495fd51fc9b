"""Name -> dataset builder registry, filled by the :func:`register_dataset` decorator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping, Optional

import numpy as np
import torch

SPLITS = ("train", "val", "trainval", "test")


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset looks like, known without reading any data.

    ``image_size`` is the default side length of the images :func:`load_dataset` returns
    (images are square). ``mean``/``std`` have one entry per channel and apply to pixel values
    scaled to [0, 1]. ``hflip`` says whether a horizontal flip keeps the label.
    ``default_data_dir`` is None when the data ships with a Python package or is generated.
    ``layout`` lists the expected files; it is shown in every missing-data error.
    """

    name: str
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    hflip: bool
    needs_data_dir: bool
    default_data_dir: Optional[str]
    layout: str
    description: str

    def __post_init__(self) -> None:
        if self.name != self.name.lower() or not self.name:
            raise ValueError(f"dataset names are non-empty lower case, got {self.name!r}")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ValueError(
                f"{self.name}: mean/std need {self.in_channels} entries, got {len(self.mean)}/{len(self.std)}"
            )
        if min(self.std) <= 0:
            raise ValueError(f"{self.name}: std must be positive, got {self.std}")


@dataclass(frozen=True)
class SplitSource:
    """One split of a dataset as a builder returns it, before subsetting and resizing.

    ``labels``: int64 [N]. ``indices``: int64 [N], each sample's position in its source file(s)
    (train pool or test set), so splits can be checked for overlap.
    ``load(positions)`` returns the images at ``positions`` (into this split) as a tensor
    [n, C, H, W], uint8 in 0..255 or float32 in [0, 1]. It is called once, with the final selection,
    so a builder that decodes files (Tiny-ImageNet) decodes only what is used.
    """

    labels: np.ndarray
    indices: np.ndarray
    load: Callable[[np.ndarray], torch.Tensor]


# builder(root, split, image_size) -> SplitSource. ``root`` is None for datasets that need no files.
Builder = Callable[[Optional[Path], str, int], SplitSource]

_INFOS: dict[str, DatasetInfo] = {}
_BUILDERS: dict[str, Builder] = {}

DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(_INFOS)
"""Read-only view name -> :class:`DatasetInfo` of every registered dataset."""


def register_dataset(info: DatasetInfo) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder`` under ``info.name``.

    Raises:
        ValueError: the name is already registered.
    """

    def decorator(builder: Builder) -> Builder:
        if info.name in _INFOS:
            raise ValueError(f"dataset {info.name!r} is already registered")
        _INFOS[info.name] = info
        _BUILDERS[info.name] = builder
        return builder

    return decorator


def list_datasets() -> tuple[str, ...]:
    """Sorted names of all registered datasets."""
    return tuple(sorted(_INFOS))


def dataset_info(name: str) -> DatasetInfo:
    """Metadata of dataset ``name``. Raises ValueError listing the known names if it is unknown."""
    try:
        return _INFOS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}") from None


def get_builder(name: str) -> Builder:
    """The builder registered under ``name``. Raises ValueError listing the known names if unknown."""
    dataset_info(name)
    return _BUILDERS[name]
