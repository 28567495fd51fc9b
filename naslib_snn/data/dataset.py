"""The in-memory dataset, :func:`load_dataset` and a seeded :func:`make_loader`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .registry import SPLITS, DatasetInfo, dataset_info, get_builder
from .splits import stratified_subset
from .transforms import augment_params, default_padding, epoch_permutation, resize_images, shifted_crop
from ..utils.checks import check_int

PathLike = Union[str, os.PathLike]


class ImageTensorDataset(Dataset):
    """Images held in memory; each access converts, augments and normalises one sample.

    ``images``: [N, C, H, W], uint8 (0..255) or float32 ([0, 1]). ``labels``: int64 [N].
    ``__getitem__(i)`` returns (float32 [C, H, W] normalised with ``mean``/``std``, int label).

    With ``augment`` the image is zero-padded by ``padding``, randomly cropped back to [H, W]
    and, if ``hflip``, flipped horizontally with probability 0.5, before normalisation (the
    order of torchvision's RandomCrop -> RandomHorizontalFlip -> ToTensor -> Normalize).
    The random choices depend only on (seed, epoch, index): call :meth:`set_epoch` at the start
    of every epoch, or every epoch sees the same augmentation.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        augment: bool = False,
        padding: int = 0,
        hflip: bool = False,
        seed: int = 0,
        indices: Optional[torch.Tensor] = None,
        info: Optional[DatasetInfo] = None,
        split: Optional[str] = None,
    ) -> None:
        if images.dim() != 4:
            raise ValueError(f"expected images with shape [N, C, H, W], got {tuple(images.shape)}")
        if images.dtype not in (torch.uint8, torch.float32):
            raise ValueError(f"images must be uint8 or float32, got {images.dtype}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"expected labels with shape [{images.shape[0]}], got {tuple(labels.shape)}")
        channels = images.shape[1]
        if len(mean) != channels or len(std) != channels:
            raise ValueError(f"mean/std need {channels} entries (one per channel), got {len(mean)}/{len(std)}")
        self.images = images
        self.labels = labels.to(torch.int64)
        self.indices = indices if indices is not None else torch.arange(images.shape[0])
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.augment = bool(augment)
        self.padding = check_int("padding", padding, 0)
        self.hflip = bool(hflip)
        self.seed = check_int("seed", seed, 0)
        self.info = info
        self.split = split
        self.epoch = 0
        self._params_epoch: Optional[int] = None
        self._params: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset (from its info, else 1 + the largest label)."""
        if self.info is not None:
            return self.info.num_classes
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every returned image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation of ``epoch`` (>= 0). Raises ValueError/TypeError on a bad epoch."""
        self.epoch = check_int("epoch", epoch, 0)

    def _augment_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._params_epoch != self.epoch or self._params is None:
            self._params = augment_params(len(self), self.padding, self.hflip, self.seed, self.epoch)
            self._params_epoch = self.epoch
        return self._params

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} samples")
        index = index % n
        image = self.images[index]
        image = image.float().div_(255.0) if image.dtype == torch.uint8 else image
        if self.augment:
            top, left, flip = self._augment_params()
            if self.padding > 0:
                image = shifted_crop(image, int(top[index]), int(left[index]), self.padding)
            if flip[index]:
                image = image.flip(-1)
        # sub() allocates, so the stored float images are never modified in place.
        return image.sub(self.mean).div_(self.std), int(self.labels[index])


def load_dataset(
    name: str,
    data_dir: Optional[PathLike] = None,
    split: str = "train",
    image_size: Optional[int] = None,
    subset: Optional[int] = None,
    seed: int = 0,
    augment: Optional[bool] = None,
    *,
    subset_seed: int = 0,
) -> ImageTensorDataset:
    """Load one split of a registered dataset from local files.

    Args:
        name: a registered dataset (see :func:`list_datasets`).
        data_dir: where the files are; None uses the dataset's default location. Ignored by
            datasets that need no files (digits, synthetic).
        split: "train", "val", "test", or "trainval" (train + val, the whole official training set).
            The splits are fixed; they never depend on ``seed``.
        image_size: side of the returned square images; None is the dataset's default. Images are
            resized once, at load time, with bilinear interpolation (antialiased when shrinking).
        subset: keep only this many samples of the split, chosen class-balanced with ``subset_seed``.
        seed: seed of the augmentation (int >= 0).
        augment: random crop (+ flip where it keeps the label); None means on for "train" and
            "trainval", off for "val" and "test".
        subset_seed: seed of the subset choice, separate from ``seed`` so that runs with different
            seeds can train on the same subset.

    Returns:
        An :class:`ImageTensorDataset` yielding (float32 [C, image_size, image_size], int label).

    Raises:
        ValueError: unknown dataset or split, bad sizes, or malformed data files (message names the file).
        TypeError: a non-int size or seed.
        FileNotFoundError: the data directory or one of its files is missing; the message names the
            path and shows the expected layout.
    """
    info = dataset_info(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    size = info.image_size if image_size is None else check_int("image_size", image_size, 1)
    if subset is not None:
        check_int("subset", subset, 1)
    seed = check_int("seed", seed, 0)
    subset_seed = check_int("subset_seed", subset_seed, 0)
    if augment is None:
        augment = split in ("train", "trainval")

    root = resolve_data_dir(info, data_dir)
    source = get_builder(name)(root, split, size)
    labels = np.asarray(source.labels, dtype=np.int64)
    positions = np.arange(len(labels), dtype=np.int64)
    if subset is not None:
        if subset > len(labels):
            raise ValueError(f"subset={subset} exceeds the {len(labels)} samples of {name} split {split!r}")
        positions = stratified_subset(labels, subset, subset_seed)
    images = source.load(positions)
    if images.dim() != 4 or images.shape[0] != len(positions) or images.shape[1] != info.in_channels:
        raise ValueError(
            f"{name}: expected {len(positions)} images of shape [{info.in_channels}, H, W], "
            f"got a tensor of shape {tuple(images.shape)}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= info.num_classes):
        raise ValueError(
            f"{name}: labels must lie in 0..{info.num_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    images = resize_images(images, size)
    return ImageTensorDataset(
        images,
        torch.from_numpy(labels[positions]),
        mean=info.mean,
        std=info.std,
        augment=augment,
        padding=default_padding(size),
        hflip=info.hflip,
        seed=seed,
        indices=torch.from_numpy(np.asarray(source.indices, dtype=np.int64)[positions]),
        info=info,
        split=split,
    )


def resolve_data_dir(info: DatasetInfo, data_dir: Optional[PathLike]) -> Optional[Path]:
    """The directory a dataset reads from: ``data_dir``, else its default; None if it needs no files.

    Raises:
        FileNotFoundError: the directory does not exist (message shows the expected layout).
        ValueError: the dataset has no default location and ``data_dir`` is None.
    """
    if not info.needs_data_dir:
        return None
    if data_dir is None:
        if info.default_data_dir is None:
            raise ValueError(
                f"{info.name} has no default location; pass data_dir (--data-dir). Expected layout:\n{info.layout}"
            )
        data_dir = info.default_data_dir
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{info.name}: data directory {root} does not exist. Expected layout:\n{info.layout}")
    return root


class SeededSampler(Sampler[int]):
    """Yields range(n), shuffled by a permutation that depends only on (seed, epoch).

    Call :meth:`set_epoch` at the start of every epoch; a resumed run then sees the same order.
    """

    def __init__(self, n: int, seed: int, shuffle: bool = True) -> None:
        self.n = check_int("n", n, 0)
        self.seed = check_int("seed", seed, 0)
        self.shuffle = bool(shuffle)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the order of ``epoch`` (>= 0)."""
        self.epoch = check_int("epoch", epoch, 0)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.n))
        return iter(epoch_permutation(self.n, self.seed, self.epoch).tolist())

    def __len__(self) -> int:
        return self.n


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader whose batches depend only on (seed, epoch), with any ``num_workers``.

    Batches are (float32 [B, C, H, W], int64 [B]). Call :func:`set_epoch` (loader, epoch)
    before iterating each epoch: it sets both the shuffling order and the dataset's augmentation.

    Raises:
        ValueError / TypeError: non-positive batch size, negative seed or worker count.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    seed = check_int("seed", seed, 0)
    num_workers = check_int("num_workers", num_workers, 0)
    sampler = SeededSampler(len(dataset), seed=seed, shuffle=shuffle)  # type: ignore[arg-type]
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        # Only seeds the workers' global RNGs; our sampling and augmentation do not use them.
        generator=torch.Generator().manual_seed(seed),
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Set ``epoch`` on the loader's sampler and dataset (those that have ``set_epoch``)."""
    epoch = check_int("epoch", epoch, 0)
    for part in (loader.sampler, loader.dataset):
        setter = getattr(part, "set_epoch", None)
        if callable(setter):
            setter(epoch)
