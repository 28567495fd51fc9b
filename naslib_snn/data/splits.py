"""Seeded, class-balanced (stratified) selection of sample indices. Pure numpy."""

from __future__ import annotations

import numpy as np

# The seed of every train/val/test split. It is a constant, not an argument: a dataset's
# splits are part of its definition and must never change between runs or seeds.
SPLIT_SEED = 0


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation of ``range(len(labels))`` whose every prefix is class-balanced.

    The first samples are one per class (classes in random order), then a second one per class,
    and so on, so any prefix of length k holds floor(k / n_classes) or one more of each class
    (as long as the class has that many samples). Within a class the order is random.

    Returns: int64 [N].
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    permuted = labels[perm]
    rank = np.empty(len(labels), dtype=np.int64)
    for cls in np.unique(permuted):
        where = np.flatnonzero(permuted == cls)
        rank[where] = np.arange(len(where))
    return perm[np.argsort(rank, kind="stable")].astype(np.int64)


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded, class-balanced subset of ``size`` samples.

    Raises:
        ValueError: ``size`` is not in 1..len(labels).
    """
    if not 1 <= size <= len(labels):
        raise ValueError(f"subset size must be in 1..{len(labels)}, got {size}")
    return np.sort(stratified_order(labels, seed)[:size])


def carve_validation(labels: np.ndarray, split: str, val_fraction: float) -> np.ndarray:
    """Sorted positions of ``split`` ("train", "val" or "trainval") within a training pool.

    "val" is a stratified ``round(val_fraction * N)`` samples drawn with :data:`SPLIT_SEED`,
    "train" is the rest and "trainval" is the whole pool.

    Raises:
        ValueError: ``split`` is not one of the three.
    """
    n = len(labels)
    if split == "trainval":
        return np.arange(n, dtype=np.int64)
    n_val = int(round(val_fraction * n))
    order = stratified_order(labels, SPLIT_SEED)
    if split == "val":
        return np.sort(order[:n_val])
    if split == "train":
        return np.sort(order[n_val:])
    raise ValueError(f"split must be 'train', 'val' or 'trainval' for a training pool, got {split!r}")
