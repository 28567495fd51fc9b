"""Tests of naslib_snn.data: offline datasets, IDX/CIFAR/Tiny-ImageNet readers, augmentation, loaders."""

from __future__ import annotations

import gzip
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from naslib_snn.data import (
    DATASETS,
    ImageTensorDataset,
    dataset_info,
    list_datasets,
    load_dataset,
    make_loader,
    read_idx,
    register_dataset,
    restricted_load,
    set_epoch,
    write_idx,
)
from naslib_snn.data.digits import digits_split_indices
from naslib_snn.data.idx import parse_idx
from naslib_snn.data.splits import stratified_order, stratified_subset
from naslib_snn.data.transforms import augment_params, default_padding, resize_images, shifted_crop

FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


# ----------------------------------------------------------------------------- registry


def test_registry_holds_all_datasets_with_consistent_info():
    assert list_datasets() == ("cifar10", "cifar100", "digits", "fashion_mnist", "synthetic", "tiny_imagenet")
    for name, info in DATASETS.items():
        assert info.name == name
        assert len(info.mean) == len(info.std) == info.in_channels
    assert dataset_info("cifar100").num_classes == 100
    assert dataset_info("digits").hflip is False
    with pytest.raises(AttributeError):
        dataset_info("digits").num_classes = 3  # frozen


def test_unknown_dataset_name_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'.*cifar10.*digits.*synthetic"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="unknown dataset"):
        dataset_info("CIFAR10")


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="'digits' is already registered"):
        register_dataset(dataset_info("digits"))(lambda root, split, size: None)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"split": "valid"}, ValueError, "unknown split 'valid'"),
        ({"image_size": 0}, ValueError, "image_size must be >= 1"),
        ({"image_size": 16.0}, TypeError, "image_size must be an int"),
        ({"subset": 0}, ValueError, "subset must be >= 1"),
        ({"subset": 10_000}, ValueError, "subset=10000 exceeds the 512 samples"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        load_dataset("synthetic", **kwargs)


# ----------------------------------------------------------------------------- splits


def test_stratified_order_prefixes_are_balanced():
    labels = np.repeat(np.arange(4), [10, 7, 5, 3])
    order = stratified_order(labels, seed=3)
    assert sorted(order.tolist()) == list(range(len(labels)))
    for k in (4, 8, 12):
        assert np.bincount(labels[order[:k]], minlength=4).tolist() == [k // 4] * 4
    subset = stratified_subset(labels, 6, seed=1)
    assert np.all(np.diff(subset) > 0)
    assert sorted(np.bincount(labels[subset], minlength=4).tolist()) == [1, 1, 2, 2]
    assert not np.array_equal(stratified_order(labels, 3), stratified_order(labels, 4))


# ----------------------------------------------------------------------------- digits


def test_digits_splits_are_disjoint_complete_and_fixed():
    parts = {s: digits_split_indices(s) for s in ("train", "val", "test")}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [1257, 270, 270]
    union = np.concatenate(list(parts.values()))
    assert sorted(union.tolist()) == list(range(1797))
    assert np.array_equal(np.sort(np.concatenate([parts["train"], parts["val"]])), digits_split_indices("trainval"))
    # Fingerprint of the fixed split: changes here silently change every reported digits result.
    assert parts["test"][:8].tolist() == FIXED_DIGITS_TEST_HEAD


FIXED_DIGITS_TEST_HEAD = [2, 12, 20, 28, 53, 68, 72, 77]  # recorded when the split was defined


def test_digits_dataset_shapes_labels_and_determinism():
    train = load_dataset("digits", split="train", seed=0)
    again = load_dataset("digits", split="train", seed=0)
    test = load_dataset("digits", split="test")
    assert len(train) == 1257 and len(test) == 270
    image, label = train[5]
    assert image.shape == (1, 16, 16) and image.dtype == torch.float32
    assert isinstance(label, int) and 0 <= label < 10
    assert torch.equal(train[5][0], again[5][0])
    assert set(train.indices.tolist()).isdisjoint(test.indices.tolist())
    assert train.augment and not test.augment and not train.hflip
    stored = train.images.clone()
    _ = [train[i] for i in range(20)]
    assert torch.equal(train.images, stored)  # access never writes into the stored float images
    # Every class appears in the test split in near-equal numbers (stratified).
    assert test.labels.bincount().tolist() == [27] * 10


def test_digits_resize_and_normalisation():
    native = load_dataset("digits", split="test", image_size=8)
    from sklearn.datasets import load_digits

    raw = torch.from_numpy(load_digits().images[native.indices[0].item()]).float() / 16.0
    expected = (raw - 0.3053) / 0.3189
    assert torch.allclose(native[0][0][0], expected, atol=1e-5)
    big = load_dataset("digits", split="test", image_size=12)
    assert big[0][0].shape == (1, 12, 12)


# ----------------------------------------------------------------------------- transforms


def test_resize_keeps_dtype_and_constant_images():
    images = torch.full((3, 2, 8, 8), 77, dtype=torch.uint8)
    for size in (4, 8, 13):
        out = resize_images(images, size)
        assert out.shape == (3, 2, size, size) and out.dtype == torch.uint8
        assert torch.all(out == 77)
    floats = torch.rand(2, 1, 8, 8)
    assert resize_images(floats, 8) is floats
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        resize_images(torch.zeros(8, 8), 4)


@pytest.mark.parametrize("padding", [1, 2])
def test_shifted_crop_equals_pad_then_crop(padding):
    image = torch.arange(2 * 5 * 6, dtype=torch.float32).view(2, 5, 6) + 1
    padded = F.pad(image, [padding] * 4)
    for top in range(2 * padding + 1):
        for left in range(2 * padding + 1):
            expected = padded[:, top : top + 5, left : left + 6]
            assert torch.equal(shifted_crop(image, top, left, padding), expected)
    assert torch.equal(shifted_crop(image, padding, padding, padding), image)
    with pytest.raises(ValueError, match="crop offsets"):
        shifted_crop(image, 2 * padding + 1, 0, padding)


def test_shifted_crop_hand_example():
    image = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    assert shifted_crop(image, 0, 0, 1).tolist() == [[[0.0, 0.0], [0.0, 1.0]]]
    assert shifted_crop(image, 2, 1, 1).tolist() == [[[3.0, 4.0], [0.0, 0.0]]]


def test_default_padding():
    assert [default_padding(s) for s in (32, 64, 16, 28, 7)] == [4, 8, 2, 3, 0]


def test_augmentation_is_seeded_per_epoch_and_preserves_shape():
    kw = dict(split="train", image_size=16, subset=40)
    a, b, c = (load_dataset("synthetic", seed=s, **kw) for s in (5, 5, 6))
    plain = load_dataset("synthetic", augment=False, **kw)
    assert a.augment and a.padding == 2 and a.hflip
    stack = lambda ds: torch.stack([ds[i][0] for i in range(len(ds))])  # noqa: E731
    first = stack(a)
    assert first.shape == (40, 3, 16, 16)
    assert torch.equal(first, stack(b))
    assert not torch.equal(first, stack(c))
    assert not torch.equal(first, stack(plain))
    a.set_epoch(1)
    second = stack(a)
    assert not torch.equal(first, second)
    a.set_epoch(0)
    assert torch.equal(stack(a), first)
    # Labels never change under augmentation.
    assert [a[i][1] for i in range(40)] == [plain[i][1] for i in range(40)]


def test_augment_params_respect_padding_and_flip_flag():
    top, left, flip = augment_params(500, padding=3, hflip=False, seed=1, epoch=2)
    assert top.min() == 0 and top.max() == 6 and left.min() == 0 and left.max() == 6
    assert not flip.any()
    _, _, flip = augment_params(500, padding=3, hflip=True, seed=1, epoch=2)
    assert 150 < flip.sum() < 350


def test_flip_only_dataset_mirrors_images():
    images = torch.arange(8 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    ds = ImageTensorDataset(images, torch.tensor([0, 1]), mean=(0.0,), std=(1.0 / 255,), augment=True, hflip=True)
    _, _, flip = augment_params(2, 0, True, 0, 0)
    for i in range(2):
        expected = images[i].float().flip(-1) if flip[i] else images[i].float()
        assert torch.allclose(ds[i][0], expected)
    with pytest.raises(IndexError, match="out of range"):
        ds[2]


# ----------------------------------------------------------------------------- loaders


def test_make_loader_is_deterministic_given_seed_and_epoch():
    ds = load_dataset("synthetic", split="val", augment=False)

    def batches(seed, epoch):
        loader = make_loader(ds, batch_size=16, shuffle=True, seed=seed)
        set_epoch(loader, epoch)
        return [y.tolist() for _, y in loader]

    first = batches(0, 0)
    assert first == batches(0, 0)
    assert first != batches(0, 1) and first != batches(1, 0)
    assert sorted(sum(first, [])) == sorted(ds.labels.tolist())
    x, y = next(iter(make_loader(ds, batch_size=16, shuffle=False, seed=0)))
    assert x.shape == (16, 3, 16, 16) and y.dtype == torch.int64
    assert y.tolist() == ds.labels[:16].tolist()
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        make_loader(ds, batch_size=0, shuffle=True, seed=0)


def test_make_loader_gives_the_same_batches_with_workers():
    ds = load_dataset("synthetic", split="val", subset=32, seed=4)  # augmented

    def batches(num_workers):
        loader = make_loader(ds, batch_size=8, shuffle=True, seed=2, num_workers=num_workers)
        set_epoch(loader, 3)
        return list(loader)

    serial, parallel = batches(0), batches(2)
    assert len(serial) == len(parallel) == 4
    for (x0, y0), (x1, y1) in zip(serial, parallel):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)


def test_synthetic_is_reproducible_and_splits_disjoint():
    a = load_dataset("synthetic", split="train", augment=False)
    b = load_dataset("synthetic", split="train", augment=False)
    val = load_dataset("synthetic", split="val")
    assert torch.equal(a.images, b.images) and a.images.dtype == torch.uint8
    assert len(a) == 512 and len(val) == 128 and len(load_dataset("synthetic", split="test")) == 128
    assert set(a.indices.tolist()).isdisjoint(val.indices.tolist())
    assert load_dataset("synthetic", image_size=8)[0][0].shape == (3, 8, 8)


# ----------------------------------------------------------------------------- IDX / fashion_mnist


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    if dtype != np.uint8:
        array = array - 5  # negative values survive the big-endian round trip
    path = tmp_path / f"x-idx3-ubyte{suffix}"
    write_idx(path, array)
    raw = gzip.decompress(path.read_bytes()) if suffix else path.read_bytes()
    assert raw[:4] == bytes([0, 0, {np.uint8: 8, np.int16: 0x0B, np.float32: 0x0D}[dtype], 3])
    assert raw[4:16] == b"\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)


def test_idx_header_hand_parsed():
    data = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])
    assert parse_idx(data).tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    "data, pattern",
    [
        (bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]), "bad IDX magic number 0x01000801"),
        (bytes([0, 0, 7, 1, 0, 0, 0, 1, 5]), "bad IDX magic number"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 3, 5]), r"needs 3 data bytes, found 1"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 5, 6]), r"needs 1 data bytes, found 2"),
        (bytes([0, 0]), "too short"),
    ],
)
def test_idx_rejects_malformed_files(tmp_path, data, pattern):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=pattern) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_idx_rejects_corrupt_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        read_idx(path)


def _fake_fmnist(root: Path, n_train: int = 60, n_test: int = 20, gz: bool = True) -> None:
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 8, 8), dtype=np.uint8))
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_from_fake_idx_files(tmp_path, gz):
    _fake_fmnist(tmp_path, gz=gz)
    train = load_dataset("fashion_mnist", data_dir=tmp_path, split="train", image_size=8, augment=False)
    val = load_dataset("fashion_mnist", data_dir=tmp_path, split="val", image_size=8)
    test = load_dataset("fashion_mnist", data_dir=str(tmp_path), split="test", image_size=8)
    assert (len(train), len(val), len(test)) == (50, 10, 20)
    assert val.labels.bincount().tolist() == [1] * 10
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())
    raw = read_idx(tmp_path / f"train-images-idx3-ubyte{'.gz' if gz else ''}")
    i = int(train.indices[3])
    assert torch.equal(train.images[3, 0], torch.from_numpy(raw[i]))
    assert torch.allclose(train[3][0][0], (torch.from_numpy(raw[i]).float() / 255 - 0.2860) / 0.3530)


def test_fashion_mnist_count_mismatch_is_named(tmp_path):
    _fake_fmnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(7, dtype=np.uint8))
    with pytest.raises(ValueError, match="has 20 images but .*t10k-labels-idx1-ubyte.gz has 7 labels"):
        load_dataset("fashion_mnist", data_dir=tmp_path, split="test")


@pytest.mark.skipif(not FMNIST_DIR.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_real_files():
    train = load_dataset("fashion_mnist", split="train", image_size=16, subset=200)
    test = load_dataset("fashion_mnist", split="test", augment=False)
    assert len(test) == 10000 and test[0][0].shape == (1, 28, 28)
    assert test.labels.bincount().tolist() == [1000] * 10
    assert len(train) == 200 and train[0][0].shape == (1, 16, 16)
    assert train.labels.bincount().tolist() == [20] * 10
    assert train.images.dtype == torch.uint8
    # The default subset seed is independent of the augmentation seed.
    other = load_dataset("fashion_mnist", split="train", image_size=16, subset=200, seed=3)
    assert torch.equal(other.indices, train.indices)


# ----------------------------------------------------------------------------- missing data


@pytest.mark.parametrize(
    "name, expected",
    [
        ("fashion_mnist", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
        ("cifar10", ["cifar-10-batches-py", "data_batch_1", "test_batch"]),
        ("cifar100", ["cifar-100-python", "train", "test"]),
        ("tiny_imagenet", ["wnids.txt", "val_annotations.txt", "train/<wnid>/images"]),
    ],
)
def test_missing_dir_error_names_path_and_layout(tmp_path, name, expected):
    missing = tmp_path / "no_such_dir"
    with pytest.raises(FileNotFoundError) as err:
        load_dataset(name, data_dir=missing)
    assert str(missing) in str(err.value)
    for text in expected:
        assert text in str(err.value)
    # An existing but empty directory fails the same way, naming it.
    with pytest.raises(FileNotFoundError) as err:
        load_dataset(name, data_dir=tmp_path)
    assert str(tmp_path) in str(err.value) and expected[0] in str(err.value)


def test_cifar_without_data_dir_says_how_to_fix():
    with pytest.raises(ValueError, match=r"(?s)cifar10 has no default location; pass data_dir.*data_batch_1"):
        load_dataset("cifar10")


# ----------------------------------------------------------------------------- CIFAR


def _write_batch(path: Path, n: int, label_key: str, seed: int, bytes_keys: bool) -> np.ndarray:
    data = np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in np.arange(n) % 10]
    batch = {"data": data, label_key: labels, "batch_label": "fake"}
    if bytes_keys:  # what the real Python 2 batches give under encoding="bytes"
        batch = {key.encode(): value for key, value in batch.items()}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return data


@pytest.mark.parametrize("nested", [False, True])
def test_cifar10_from_fake_batches(tmp_path, nested):
    folder = tmp_path / "cifar-10-batches-py" if nested else tmp_path
    folder.mkdir(exist_ok=True)
    datas = [_write_batch(folder / f"data_batch_{i}", 10, "labels", i, bytes_keys=i % 2 == 0) for i in range(1, 6)]
    test_data = _write_batch(folder / "test_batch", 10, "labels", 99, bytes_keys=True)
    train = load_dataset("cifar10", data_dir=tmp_path, split="train", augment=False)
    val = load_dataset("cifar10", data_dir=tmp_path, split="val")
    test = load_dataset("cifar10", data_dir=tmp_path, split="test")
    assert (len(train), len(val), len(test)) == (45, 5, 10)
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())
    all_train = np.concatenate(datas).reshape(-1, 3, 32, 32)
    i = int(train.indices[7])
    assert torch.equal(train.images[7], torch.from_numpy(all_train[i]))
    assert train[7][1] == i % 10
    assert torch.equal(test.images[0], torch.from_numpy(test_data[0].reshape(3, 32, 32)))
    # RGB planes: channel 0 is the first 1024 bytes.
    assert test.images[0, 0, 0, 1].item() == test_data[0, 1]
    assert test.images[0, 1, 0, 0].item() == test_data[0, 1024]
    assert train[0][0].shape == (3, 32, 32)


def test_cifar100_uses_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    _write_batch(folder / "train", 20, "fine_labels", 1, bytes_keys=True)
    # The real batches were pickled under numpy 1 and name numpy.core.multiarray._reconstruct.
    legacy = (folder / "train").read_bytes().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct" in legacy
    (folder / "train").write_bytes(legacy)
    _write_batch(folder / "test", 10, "fine_labels", 2, bytes_keys=False)
    test = load_dataset("cifar100", data_dir=folder, split="test", image_size=16)
    assert test.labels.tolist() == list(range(10)) and test[0][0].shape == (3, 16, 16)
    assert len(load_dataset("cifar100", data_dir=tmp_path, split="trainval")) == 20


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_cifar_refuses_malicious_pickle(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_batch(folder / name, 10, "labels", 0, bytes_keys=True)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": _Exploit(marker)}, protocol=2))
    with pytest.raises(ValueError, match=r"refusing to load global (posix|os|nt)\.system") as err:
        load_dataset("cifar10", data_dir=tmp_path, split="test")
    assert "test_batch" in str(err.value)
    assert not marker.exists()
    # Any other callable is refused too, even a harmless-looking builtin.
    (folder / "test_batch").write_bytes(pickle.dumps({"data": print}, protocol=4))
    with pytest.raises(ValueError, match="refusing to load global builtins.print"):
        restricted_load(folder / "test_batch")


@pytest.mark.parametrize(
    "batch, pattern",
    [
        ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, r"'data' must be a uint8 array \[N, 3072\]"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "'labels' must hold 2 ints"),
        ({"pixels": np.zeros((2, 3072), np.uint8)}, "expected keys 'data' and 'labels'"),
        ([1, 2, 3], "expected a pickled dict"),
    ],
)
def test_cifar_malformed_batch_is_named(tmp_path, batch, pattern):
    for name in [f"data_batch_{i}" for i in range(1, 6)]:
        _write_batch(tmp_path / name, 10, "labels", 0, bytes_keys=False)
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=pattern) as err:
        load_dataset("cifar10", data_dir=tmp_path, split="test")
    assert str(tmp_path / "test_batch") in str(err.value)


# ----------------------------------------------------------------------------- Tiny-ImageNet


def _fake_tiny_imagenet(root: Path, wnids=("n02", "n01", "n03"), per_class: int = 10, size: int = 8) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for wnid in wnids:
        images = root / "train" / wnid / "images"
        images.mkdir(parents=True)
        for k in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(images / f"{wnid}_{k}.JPEG", format="JPEG")
    (root / "val" / "images").mkdir(parents=True)
    lines = []
    for k, wnid in enumerate(list(wnids) * 2):
        grey = rng.integers(0, 256, (size, size), dtype=np.uint8)  # some real val images are greyscale
        Image.fromarray(grey).save(root / "val" / "images" / f"val_{k}.JPEG", format="JPEG")
        lines.append(f"val_{k}.JPEG\t{wnid}\t0\t0\t{size}\t{size}")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")


def test_tiny_imagenet_from_fake_tree(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    _fake_tiny_imagenet(root)
    train = load_dataset("tiny_imagenet", data_dir=tmp_path, split="train", image_size=8, augment=False)
    val = load_dataset("tiny_imagenet", data_dir=root, split="val", image_size=8)
    test = load_dataset("tiny_imagenet", data_dir=root, split="test", image_size=8)
    assert (len(train), len(val), len(test)) == (27, 3, 6)
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())
    assert val.labels.bincount().tolist() == [1, 1, 1]
    # Classes follow sorted wnid order: n01 -> 0, n02 -> 1, n03 -> 2.
    assert test.labels.tolist() == [1, 0, 2, 1, 0, 2]
    assert train.images.shape == (27, 3, 8, 8) and train.images.dtype == torch.uint8
    # Greyscale JPEGs become RGB with three equal channels.
    assert torch.equal(test.images[0, 0], test.images[0, 1])
    from PIL import Image

    with Image.open(root / "train" / "n01" / "images" / "n01_0.JPEG") as image:
        first = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(load_dataset("tiny_imagenet", data_dir=root, split="trainval", image_size=8).images[0], first)
    assert load_dataset("tiny_imagenet", data_dir=root, split="test")[0][0].shape == (3, 64, 64)


def test_tiny_imagenet_bad_annotation_and_missing_class_folder(tmp_path):
    _fake_tiny_imagenet(tmp_path, per_class=2)
    (tmp_path / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99\t0\t0\t8\t8\n")
    with pytest.raises(ValueError, match=r"val_annotations.txt:1: expected"):
        load_dataset("tiny_imagenet", data_dir=tmp_path, split="test")
    (tmp_path / "wnids.txt").write_text("n01\nn02\nn03\nn04\n")
    with pytest.raises(FileNotFoundError, match=r"training folder .*n04.*images not found"):
        load_dataset("tiny_imagenet", data_dir=tmp_path, split="train")


def test_tiny_imagenet_rejects_undecodable_image(tmp_path):
    _fake_tiny_imagenet(tmp_path, per_class=2)
    broken = tmp_path / "val" / "images" / "val_1.JPEG"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="cannot decode image") as err:
        load_dataset("tiny_imagenet", data_dir=tmp_path, split="test", image_size=8)
    assert str(broken) in str(err.value)


# ----------------------------------------------------------------------------- imports


def test_data_package_imports_neither_torchvision_nor_naslib():
    import ast

    import naslib_snn.data

    package = Path(naslib_snn.data.__file__).parent
    imported = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert {"torch", "numpy"} <= imported  # the scan sees real imports
    assert not imported & {"torchvision", "naslib"}
    assert "torchvision" not in sys.modules
