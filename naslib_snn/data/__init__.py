"""Offline datasets: local files in their standard formats, no network, no torchvision.

Registered datasets: ``digits`` (scikit-learn), ``fashion_mnist`` (IDX files), ``cifar10`` /
``cifar100`` (python pickle batches), ``tiny_imagenet`` (folder layout) and ``synthetic``.

    >>> from naslib_snn.data import load_dataset, load_scoring_batches, make_loader, set_epoch
    >>> train = load_dataset("digits", split="train")           # (float [1, 16, 16], int)
    >>> loader = make_loader(train, batch_size=64, shuffle=True, seed=0)
    >>> set_epoch(loader, 0)                                    # shuffling + augmentation of epoch 0
    >>> images, labels = load_scoring_batches("digits", 32, 2, seed=0)  # what cells are scored on
"""

from . import cifar, digits, fashion_mnist, synthetic, tiny_imagenet  # noqa: F401  (register builders)
from .dataset import ImageTensorDataset, SeededSampler, load_dataset, make_loader, resolve_data_dir, set_epoch
from .idx import read_idx, write_idx
from .registry import DATASETS, SPLITS, DatasetInfo, SplitSource, dataset_info, list_datasets, register_dataset
from .safe_pickle import RestrictedUnpickler, restricted_load
from .scoring import SCORING_SAMPLER, SCORING_STREAM, draw_scoring_batches, load_scoring_batches, scoring_order

__all__ = [
    "DATASETS",
    "SCORING_SAMPLER",
    "SCORING_STREAM",
    "SPLITS",
    "DatasetInfo",
    "ImageTensorDataset",
    "RestrictedUnpickler",
    "SeededSampler",
    "SplitSource",
    "dataset_info",
    "draw_scoring_batches",
    "list_datasets",
    "load_dataset",
    "load_scoring_batches",
    "make_loader",
    "read_idx",
    "register_dataset",
    "resolve_data_dir",
    "restricted_load",
    "scoring_order",
    "set_epoch",
    "write_idx",
]
