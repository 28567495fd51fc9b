"""Tests of naslib_snn.data.scoring: the one sampler of the images cells are scored on, and its callers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from naslib_snn.benchmarks import zc
from naslib_snn.data import (
    SCORING_STREAM,
    ImageTensorDataset,
    draw_scoring_batches,
    load_scoring_batches,
    scoring_order,
)
from naslib_snn.data.splits import stratified_order
from naslib_snn.naslib_data import scoring_batches as naslib_scoring_batches
from naslib_snn.search import SearchConfig
from naslib_snn.search import scoring_batches as search_scoring_batches
from naslib_snn.utils.seeds import derive_seed


def tagged_dataset(labels: list[int]) -> ImageTensorDataset:
    """1x2x2 float images whose every pixel is the sample's position: an image names its sample."""
    n = len(labels)
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return ImageTensorDataset(images, torch.tensor(labels), mean=(0.0,), std=(1.0,))


# 12 samples of 3 classes, 4 each, the classes interleaved unevenly
LABELS = [0, 0, 1, 2, 1, 0, 2, 2, 1, 0, 1, 2]


def positions(images: list[torch.Tensor]) -> list[int]:
    return [int(image[0, 0, 0]) for batch in images for image in batch]


def test_the_draw_is_the_documented_stream_distinct_and_class_balanced():
    data = tagged_dataset(LABELS)
    images, labels = draw_scoring_batches(data, 3, 2, seed=5)
    assert [tuple(x.shape) for x in images] == [(3, 1, 2, 2)] * 2 and [tuple(y.shape) for y in labels] == [(3,)] * 2
    assert images[0].dtype == torch.float32 and labels[0].dtype == torch.int64
    chosen = positions(images)
    order = stratified_order(np.array(LABELS), derive_seed(5, SCORING_STREAM))
    assert chosen == order[:6].tolist() == scoring_order(LABELS, 5)[:6].tolist()
    assert len(set(chosen)) == 6
    # every label is that of the image's sample; each batch of 3 holds each of the 3 classes once
    assert [int(y) for batch in labels for y in batch] == [LABELS[i] for i in chosen]
    assert [sorted(batch.tolist()) for batch in labels] == [[0, 1, 2], [0, 1, 2]]


def test_more_batches_only_append_and_the_seed_changes_the_draw():
    data = tagged_dataset(LABELS)
    one, _ = draw_scoring_batches(data, 3, 1, seed=5)
    three, _ = draw_scoring_batches(data, 3, 3, seed=5)
    assert torch.equal(one[0], three[0])
    again, _ = draw_scoring_batches(data, 3, 3, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(three, again))
    draws = {tuple(positions(draw_scoring_batches(data, 3, 3, seed=s)[0])) for s in range(6)}
    assert len(draws) > 1


def test_a_dataset_without_labels_attribute_gives_the_same_draw():
    data = tagged_dataset(LABELS)
    plain = [data[i] for i in range(len(data))]  # a list of (image, label)
    a, la = draw_scoring_batches(data, 4, 2, seed=1)
    b, lb = draw_scoring_batches(plain, 4, 2, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a + la, b + lb))


def test_too_few_images_empty_data_and_bad_counts():
    data = tagged_dataset(LABELS)
    with pytest.raises(ValueError, match=r"batch size 5 x 3 batches = 15 scoring images, more than the 12 images"):
        draw_scoring_batches(data, 5, 3, seed=0)
    few, few_labels = draw_scoring_batches(data, 5, 3, seed=0, allow_fewer=True)
    assert [len(x) for x in few] == [5, 5, 2] and sorted(positions(few)) == list(range(12))
    assert sum(len(y) for y in few_labels) == 12
    with pytest.raises(ValueError, match="no images"):
        draw_scoring_batches([], 1, 1, seed=0, allow_fewer=True)
    with pytest.raises(TypeError, match="batch_size must be an int, got 2.0"):
        draw_scoring_batches(data, 2.0, 1, seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        draw_scoring_batches(data, 2, 1, seed=-1)
    with pytest.raises(ValueError, match="more than the 128 test images of synthetic"):
        load_scoring_batches("synthetic", 100, 2, 0, image_size=8, split="test")


@pytest.mark.parametrize(
    "dataset, image_size, batch_size, batches, seed",
    [("synthetic", 8, 8, 2, 3), ("digits", None, 10, 1, 0)],
)
def test_search_naslib_and_zero_cost_tables_score_on_the_same_images(dataset, image_size, batch_size, batches, seed):
    expected, expected_labels = load_scoring_batches(dataset, batch_size, batches, seed, image_size=image_size)
    search = search_scoring_batches(
        SearchConfig(dataset=dataset, image_size=image_size, batch_size=batch_size, batches=batches, seed=seed)
    )
    naslib, naslib_labels = naslib_scoring_batches(dataset, batch_size, batches, seed, image_size=image_size)
    table, table_labels = zc.scoring_batches(dataset, image_size, batch_size, batches, seed)
    assert len(search) == len(naslib) == len(table) == len(expected) == batches
    for b in range(batches):
        assert search[b].dtype == np.float32
        assert np.array_equal(search[b], expected[b].numpy())
        assert torch.equal(naslib[b], expected[b]) and torch.equal(table[b], expected[b])
        assert torch.equal(naslib_labels[b], expected_labels[b]) and torch.equal(table_labels[b], expected_labels[b])
    # 10 classes: a batch of 10 (digits) holds one image of each
    if batch_size == 10:
        assert sorted(expected_labels[0].tolist()) == list(range(10))
