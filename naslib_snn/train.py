"""Surrogate-gradient training of one spiking cell, the paper's recipe (Sec. 5.1), resumable.

    >>> from naslib_snn import parse_arch
    >>> from naslib_snn.train import TrainConfig, train
    >>> config = TrainConfig.for_dataset("digits", epochs=3)
    >>> result = train(parse_arch("0302 0030 3003 0000"), config, out_dir="runs/digits")
    >>> result["final"]["test_accuracy"]          # percent

The recipe: SGD (momentum 0.9, weight decay 5e-4), cosine schedule from ``lr`` to ``lr * 0.01``
stepped once per epoch, batch 64, T=5, random crop + flip, cross-entropy on the network's voted,
time-averaged output. Neuron state is reset at the start of every forward pass (the network does
it) and again after every batch.

The authors' code passed the weight decay as SGD's 4th positional argument, which is *dampening*
(REFERENCE.md), so their published runs had weight_decay=0 and dampening=5e-4. Here the defaults
follow the paper (weight_decay=5e-4, dampening=0); ``TrainConfig(weight_decay=0, dampening=5e-4)``
would reproduce the authors' runs.

Determinism: the model init, the shuffling and augmentation (``naslib_snn.data.set_epoch``) and the
dropout masks depend only on ``seed`` and the epoch, so on CPU a run killed at any point and
resumed from its last checkpoint ends with exactly the metrics of an uninterrupted run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from spikingjelly.activation_based import functional
from torch import nn
from tqdm.auto import tqdm

from .data import dataset_info, list_datasets, load_dataset, make_loader, set_epoch
from .data.transforms import derive_seed
from .search_spaces.spiking_nb201.network import SpikingNB201Network
from .search_spaces.spiking_nb201.ops import NEURONS
from .search_spaces.spiking_nb201.spec import CellSpec, parse_arch
from .utils.checks import check_int
from .utils.io import atomic_write_bytes, atomic_write_json
from .utils.malloc import tune_malloc

PathLike = Union[str, "os.PathLike[str]"]

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.json"
CHECKPOINT_FORMAT = 1
TRAIN_SPLITS = ("train", "trainval")
#: config fields that may differ between a checkpoint and the run resuming it: they do not change results
RESUME_TOLERATED = frozenset({"data_dir", "num_workers"})
_DROPOUT_TAG = 0x44524F50  # separates the dropout stream from the data streams of the same seed

# Per-dataset defaults, applied to every TrainConfig field left as None.
# cifar10 / cifar100 / tiny_imagenet: paper, Sec. 5.1 (lr, epochs, C, batch) and authors' code (hidden,
# vote, pools). digits / fashion_mnist / synthetic: ours, sized for a 2-core CPU. With their narrow classifier
# input (2C * 4 * 4 = 256 features) the authors' init normal(0, 0.01) leaves the hidden classifier LIF
# silent, and only the surrogate's small gradient reaches it: 10 digits epochs at lr 0.1 stayed at chance.
# A wider hidden init (std 0.5), lr 0.3 and batch 16 reach ~80% digits test accuracy in 3 epochs (batch 16
# because digits has only 1257 training images). Fashion-MNIST has steps enough for the paper's batch 64.
_SMALL = dict(lr=0.3, batch_size=16, channels=8, timesteps=4, image_size=16, hidden=256, hidden_init_std=0.5,
              vote=10, stem_stride=1, final_pool=2)
DATASET_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "cifar10": dict(epochs=300, lr=0.2, batch_size=64, channels=256, timesteps=5, image_size=32, hidden=1024,
                    vote=10, stem_stride=1, final_pool=4),
    "cifar100": dict(epochs=300, lr=0.1, batch_size=64, channels=128, timesteps=5, image_size=32, hidden=1024,
                     vote=5, stem_stride=1, final_pool=2),
    # Tiny-ImageNet's vote is not in REFERENCE.md; 5 as for CIFAR-100 (our assumption).
    "tiny_imagenet": dict(epochs=200, lr=0.1, batch_size=64, channels=128, timesteps=5, image_size=64, hidden=4096,
                          vote=5, stem_stride=2, final_pool=2),
    "digits": dict(_SMALL, epochs=10),
    "fashion_mnist": dict(_SMALL, batch_size=64, epochs=5, subset=10000, val_subset=2000, test_subset=5000),
    "synthetic": dict(_SMALL, epochs=5),
}
# Any other registered dataset: the paper's CIFAR-100 recipe at the dataset's own image size.
FALLBACK_DEFAULTS: Mapping[str, Any] = dict(epochs=300, lr=0.1, batch_size=64, channels=128, timesteps=5,
                                            hidden=1024, vote=10, stem_stride=1, final_pool=2)


class NonFiniteLossError(RuntimeError):
    """The loss or the gradient became NaN or inf. ``epoch`` and ``step`` are 1-based.

    ``step`` is None when the evaluation, not a training step, went non-finite. The checkpoint of
    the last completed epoch is left untouched.
    """

    def __init__(self, message: str, epoch: int, step: Optional[int]) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step


class CheckpointMismatchError(ValueError):
    """A checkpoint was written for another architecture or config than the one asked to resume."""


def _finite_float(name: str, value: object, low: float, high: float, low_open: bool = False,
                  high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run. Fields left as None take the dataset's defaults.

    ``TrainConfig()`` is the paper's CIFAR-10 recipe. Use :meth:`for_dataset` to switch datasets:
    ``dataclasses.replace(config, dataset=...)`` keeps the previous dataset's resolved values.

    Raises (on construction):
        ValueError: an unknown dataset, neuron, split or device, or a value out of range
            (the message names the field, the value and what was expected).
        TypeError: a value of the wrong type.
    """

    dataset: str = "cifar10"  # paper, Sec. 5.1 (CIFAR-10, CIFAR-100, Tiny-ImageNet)
    data_dir: Optional[str] = None  # None: the dataset's default location
    epochs: Optional[int] = None  # paper, Sec. 5.1: 300 / 300 / 200
    lr: Optional[float] = None  # paper, Sec. 5.1: 0.2 CIFAR-10, 0.1 CIFAR-100 / Tiny-ImageNet (authors' code: 0.1)
    momentum: float = 0.9  # paper, Sec. 5.1
    weight_decay: float = 5e-4  # paper, Sec. 5.1 (authors' code: 0, see dampening)
    dampening: float = 0.0  # SGD default; authors' code: 5e-4, by passing the weight decay positionally
    nesterov: bool = False  # authors' code (SGD default)
    lr_min_factor: float = 0.01  # authors' code: cosine from lr to lr * 0.01 (paper: "cosine")
    batch_size: Optional[int] = None  # paper, Sec. 5.1: 64
    eval_batch_size: int = 256  # ours; evaluation runs in eval mode, so it does not change the results
    timesteps: Optional[int] = None  # paper, Sec. 5.1: T = 5
    channels: Optional[int] = None  # paper, Sec. 5.1: C = 256 / 128 / 128
    image_size: Optional[int] = None  # the dataset's size: 32 CIFAR, 64 Tiny-ImageNet
    hidden: Optional[int] = None  # authors' code: 1024, 4096 for Tiny-ImageNet
    vote: Optional[int] = None  # authors' code: 10 for CIFAR-10, 5 for CIFAR-100
    dropout: float = 0.5  # paper, Sec. 5.1
    # authors' code: normal(0, 0.01) for the Linear before the hidden LIF; None keeps the network's (authors') init
    hidden_init_std: Optional[float] = None
    stem_stride: Optional[int] = None  # authors' code: 1, 2 for Tiny-ImageNet
    final_pool: Optional[int] = None  # authors' code: 4 for their CIFAR-10 network, else 2
    neuron: str = "lif"  # paper, Sec. 5.1 (LIF, tau 4/3)
    augment: bool = True  # paper, Sec. 5.1: random crop and horizontal flip
    train_split: str = "train"  # ours: train on "train", validate on "val"; "trainval" trains on both, no val
    subset: Optional[int] = None  # training images, class-balanced; None = the whole split
    val_subset: Optional[int] = None  # validation images; None = all, 0 = skip validation
    test_subset: Optional[int] = None  # test images; None = all
    test_every_epoch: bool = True  # ours; False: the test set is evaluated once, after the last epoch
    count_include_pad: bool = True  # authors' code (PyTorch's default) for avg_pool_3x3; False: NAS-Bench-201's
    subset_seed: int = 0  # which subset images are used; separate from seed so seeds share a subset
    seed: int = 0  # model init, shuffling, augmentation and dropout
    num_workers: int = 0  # DataLoader workers; the batches are the same for any number
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or self.dataset not in list_datasets():
            raise ValueError(f"unknown dataset {self.dataset!r}; known datasets: {', '.join(list_datasets())}")
        defaults = dict(DATASET_DEFAULTS.get(self.dataset, FALLBACK_DEFAULTS))
        defaults.setdefault("image_size", dataset_info(self.dataset).image_size)
        if self.train_split == "trainval":
            defaults.pop("val_subset", None)  # no validation split to subsample
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.data_dir is not None:
            if not isinstance(self.data_dir, (str, os.PathLike)):
                raise TypeError(f"data_dir must be a path or None, got {self.data_dir!r}")
            object.__setattr__(self, "data_dir", os.fspath(self.data_dir))
        for name in ("epochs", "batch_size", "eval_batch_size", "timesteps", "channels", "image_size", "hidden",
                     "vote", "stem_stride", "final_pool"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        for name in ("subset", "test_subset"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        if self.val_subset is not None:
            object.__setattr__(self, "val_subset", check_int("val_subset", self.val_subset, 0))
        for name in ("seed", "subset_seed", "num_workers"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 0))
        object.__setattr__(self, "lr", _finite_float("lr", self.lr, 0.0, math.inf, low_open=True, high_open=True))
        object.__setattr__(self, "momentum", _finite_float("momentum", self.momentum, 0.0, 1.0, high_open=True))
        object.__setattr__(self, "weight_decay", _finite_float("weight_decay", self.weight_decay, 0.0, math.inf,
                                                               high_open=True))
        object.__setattr__(self, "dampening", _finite_float("dampening", self.dampening, 0.0, 1.0))
        object.__setattr__(self, "lr_min_factor", _finite_float("lr_min_factor", self.lr_min_factor, 0.0, 1.0))
        if self.hidden_init_std is not None:
            object.__setattr__(self, "hidden_init_std", _finite_float("hidden_init_std", self.hidden_init_std, 0.0,
                                                                      math.inf, low_open=True, high_open=True))
        object.__setattr__(self, "dropout", _finite_float("dropout", self.dropout, 0.0, 1.0, high_open=True))
        for name in ("nesterov", "augment", "test_every_epoch", "count_include_pad"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                f"nesterov needs momentum > 0 and dampening 0, got momentum={self.momentum}, dampening={self.dampening}"
            )
        if self.neuron not in NEURONS:
            raise ValueError(f"unknown neuron {self.neuron!r}; expected one of {', '.join(NEURONS)}")
        if self.train_split not in TRAIN_SPLITS:
            raise ValueError(f"train_split must be one of {', '.join(TRAIN_SPLITS)}, got {self.train_split!r}")
        if self.train_split == "trainval" and self.val_subset:
            raise ValueError(f"train_split='trainval' trains on the validation images; val_subset must be None or 0, "
                             f"got {self.val_subset}")
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a str such as 'cpu' or 'cuda:0', got {self.device!r}")
        try:
            torch.device(self.device)
        except RuntimeError as err:
            raise ValueError(f"unknown device {self.device!r}; expected e.g. 'cpu' or 'cuda:0'") from err

    @classmethod
    def for_dataset(cls, name: str, **overrides: Any) -> "TrainConfig":
        """The defaults of dataset ``name`` (see :data:`DATASET_DEFAULTS`), with ``overrides`` applied.

        Raises:
            TypeError: an override names no field (the message lists the fields).
            ValueError / TypeError: as the constructor.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise TypeError(f"unknown TrainConfig field(s) {', '.join(unknown)}; fields are {', '.join(sorted(fields))}")
        return cls(dataset=name, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as a JSON-ready dict (every field, no None left but the optional ones)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`. Raises TypeError on unknown keys (as :meth:`for_dataset`)."""
        values = dict(values)
        return cls.for_dataset(values.pop("dataset", cls.dataset), **values)

    def network_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`SpikingNB201Network` for this config and dataset."""
        info = dataset_info(self.dataset)
        return dict(
            num_classes=info.num_classes, in_channels=info.in_channels, channels=self.channels,
            timesteps=self.timesteps, image_size=self.image_size, neuron=self.neuron, vote=self.vote,
            hidden=self.hidden, dropout=self.dropout, stem_stride=self.stem_stride, final_pool=self.final_pool,
            hidden_init_std=self.hidden_init_std, count_include_pad=self.count_include_pad,
        )


# --------------------------------------------------------------------------- building blocks


def build_network(spec: Union[CellSpec, str], config: TrainConfig) -> SpikingNB201Network:
    """The network of ``config``, initialised from ``config.seed`` alone (the global torch RNG is restored).

    Raises:
        ValueError: a bad arch or a network setting the network refuses (e.g. an image too small).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = SpikingNB201Network(parse_arch(spec), **config.network_kwargs())
    return net.to(config.device)


def build_optimizer(net: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with the config's momentum, weight decay (as a keyword, see the module docstring) and dampening."""
    return torch.optim.SGD(
        net.parameters(), lr=config.lr, momentum=config.momentum, dampening=config.dampening,
        weight_decay=config.weight_decay, nesterov=config.nesterov,
    )


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine annealing from ``lr`` to ``lr * lr_min_factor`` over ``epochs``, stepped once per epoch."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=config.epochs, eta_min=config.lr * config.lr_min_factor
    )


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)) -> list[int]:
    """Number of samples whose label is among the top-k logits, for each k.

    ``logits``: [B, K]; ``labels``: int [B]. A k larger than K counts every sample.
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"expected logits [B, K] and labels [B], got {list(logits.shape)} and {list(labels.shape)}")
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices  # [B, kmax]
    hits = top.eq(labels.unsqueeze(1))
    return [int(hits[:, :k].any(dim=1).sum()) for k in ks]


class FiringRateMonitor:
    """Counts the spikes of named spiking layers with forward hooks.

    A layer's firing rate is its total number of spikes divided by the number of its output elements
    over all recorded calls, i.e. the mean spikes per neuron per timestep, averaged over the neurons
    of the layer, the timesteps and the samples seen. A single-step layer is called once per
    timestep with [B, ...]; a multi-step layer once with [T, B, ...]; both count the same way.
    ``mean_rate`` weights the layers by their sizes: all spikes over all neuron-timesteps.

    Use as a context manager; the hooks are removed on exit.
    """

    def __init__(self, layers: Iterable[tuple[str, nn.Module]]) -> None:
        self.layers = list(layers)
        self.spikes: dict[str, float] = {name: 0.0 for name, _ in self.layers}
        self.counts: dict[str, int] = {name: 0 for name, _ in self.layers}
        self._handles: list[Any] = []

    def _hook(self, name: str):
        def record(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            self.spikes[name] += float(output.detach().sum(dtype=torch.float64))
            self.counts[name] += output.numel()

        return record

    def __enter__(self) -> "FiringRateMonitor":
        self._handles = [module.register_forward_hook(self._hook(name)) for name, module in self.layers]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def rates(self) -> dict[str, float]:
        """Layer name -> firing rate in [0, 1] (0.0 for a layer never called)."""
        return {name: self.spikes[name] / self.counts[name] if self.counts[name] else 0.0 for name, _ in self.layers}

    def mean_rate(self) -> float:
        """All spikes over all neuron-timesteps of all layers (0.0 if nothing was recorded)."""
        total = sum(self.counts.values())
        return sum(self.spikes.values()) / total if total else 0.0


def _grad_norm(net: nn.Module) -> torch.Tensor:
    """The L2 norm of all gradients together (0 if there are none)."""
    norms = [torch.linalg.vector_norm(p.grad) for p in net.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())


def train_step(net: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor,
               *, epoch: int = 1, step: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on a batch: forward, cross-entropy, backward, finiteness check, update, state reset.

    ``images``: [B, C, H, W]; ``labels``: int64 [B]. Returns (loss scalar, logits [B, K]), detached.

    Raises:
        NonFiniteLossError: the loss or the gradient norm is NaN/inf; the parameters are not updated.
    """
    logits = net(images)
    loss = nn.functional.cross_entropy(logits, labels)
    if not torch.isfinite(loss):
        functional.reset_net(net)
        raise NonFiniteLossError(
            f"non-finite training loss ({loss.item()}) at epoch {epoch}, step {step}; the last good checkpoint "
            "is kept. Try a smaller lr.", epoch, step)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = _grad_norm(net)
    if not torch.isfinite(grad_norm):
        functional.reset_net(net)
        raise NonFiniteLossError(
            f"non-finite gradient (norm {float(grad_norm)}) at epoch {epoch}, step {step} (loss {loss.item():.4g}); "
            "the last good checkpoint is kept. Check the inputs or try a smaller lr.", epoch, step)
    optimizer.step()
    functional.reset_net(net)  # the network resets on every forward; this frees the state early
    return loss.detach(), logits.detach()


@torch.no_grad()
def evaluate(net: nn.Module, loader: Iterable, device: Union[str, torch.device] = "cpu",
             monitor: Optional[FiringRateMonitor] = None) -> dict[str, float]:
    """Loss, top-1 and top-5 accuracy (percent) of ``net`` in eval mode over ``loader``.

    If ``monitor`` is given, spikes are recorded during this evaluation. Returns
    ``{"loss", "top1", "top5", "samples"}``; the loss is the mean per-sample cross-entropy.
    """
    was_training = net.training
    net.eval()
    loss_sum, correct1, correct5, n = 0.0, 0, 0, 0
    try:
        with monitor if monitor is not None else contextlib.nullcontext():
            for images, labels in loader:
                images, labels = images.to(device), labels.to(device)
                logits = net(images)
                loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
                c1, c5 = topk_correct(logits, labels)
                correct1, correct5, n = correct1 + c1, correct5 + c5, n + labels.shape[0]
                functional.reset_net(net)
    finally:
        net.train(was_training)
    if n == 0:
        raise ValueError("cannot evaluate on an empty loader")
    return {"loss": loss_sum / n, "top1": 100.0 * correct1 / n, "top5": 100.0 * correct5 / n, "samples": n}


# --------------------------------------------------------------------------- checkpoints


def _rng_state() -> dict[str, Any]:
    """Global torch and numpy RNG states as tensors and plain types (loadable with weights_only=True)."""
    _, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    return {
        "torch": torch.get_rng_state(),
        "numpy_key": torch.from_numpy(key.astype(np.int64)),
        "numpy_pos": int(pos),
        "numpy_has_gauss": int(has_gauss),
        "numpy_gauss": float(gauss),
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    key = state["numpy_key"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", key, state["numpy_pos"], state["numpy_has_gauss"], state["numpy_gauss"]))


def _atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through :func:`atomic_write_bytes`: a kill never leaves a torn checkpoint."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: PathLike, map_location: Union[str, torch.device] = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`train`, loaded with ``weights_only=True``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a checkpoint of this format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a naslib-snn training checkpoint (format {CHECKPOINT_FORMAT})")
    return state


def _check_resumable(state: Mapping[str, Any], spec: CellSpec, config: TrainConfig, path: Path) -> None:
    saved = dict(state["config"])
    wanted = config.to_dict()
    diffs = [
        f"{key}: checkpoint {saved.get(key)!r}, requested {wanted.get(key)!r}"
        for key in sorted(set(saved) | set(wanted))
        if key not in RESUME_TOLERATED and saved.get(key) != wanted.get(key)
    ]
    if state["arch"] != spec.to_str():
        diffs.insert(0, f"arch: checkpoint {state['arch']}, requested {spec.to_str()}")
    if diffs:
        raise CheckpointMismatchError(
            f"cannot resume from {path}: it was written for a different run ({'; '.join(diffs)}). "
            "Use the same arch and settings, or another output directory."
        )


# --------------------------------------------------------------------------- the training loop


def _load_splits(config: TrainConfig) -> tuple[Any, Optional[Any], Any]:
    """(train, val or None, test) datasets of the config. Raises as :func:`naslib_snn.data.load_dataset`."""
    common = dict(data_dir=config.data_dir, image_size=config.image_size, subset_seed=config.subset_seed)
    train_set = load_dataset(config.dataset, split=config.train_split, subset=config.subset, seed=config.seed,
                             augment=config.augment, **common)
    val_set = None
    if config.train_split == "train" and config.val_subset != 0:
        val_set = load_dataset(config.dataset, split="val", subset=config.val_subset, augment=False, **common)
    test_set = load_dataset(config.dataset, split="test", subset=config.test_subset, augment=False, **common)
    return train_set, val_set, test_set


def _final_summary(history: list[dict[str, Any]], params: int) -> dict[str, Any]:
    last = history[-1]
    return {
        "test_accuracy": last["test_top1"],
        "test_top5": last["test_top5"],
        "test_loss": last["test_loss"],
        "val_accuracy": last["val_top1"],
        "val_top5": last["val_top5"],
        "val_loss": last["val_loss"],
        "train_accuracy": last["train_top1"],
        "train_top5": last["train_top5"],
        "train_loss": last["train_loss"],
        "best_val_accuracy": max((h["val_top1"] for h in history if h["val_top1"] is not None), default=None),
        "epochs": last["epoch"],
        "params": params,
        "firing_rate": dict(last["firing_rate"]),
        "mean_firing_rate": last["mean_firing_rate"],
        "train_seconds": sum(h["epoch_seconds"] for h in history),
    }


def _result(spec: CellSpec, config: TrainConfig, history: list[dict[str, Any]], params: int) -> dict[str, Any]:
    return {
        "arch": spec.to_str(),
        "op_indices": list(spec.op_indices),
        "matrix": spec.matrix_str(),
        "config": config.to_dict(),
        "history": history,
        "final": _final_summary(history, params),
    }


def _train_epoch(net: nn.Module, optimizer: torch.optim.Optimizer, loader: Iterable, device: torch.device,
                 number: int, epochs: int, progress: bool) -> dict[str, float]:
    """One pass over ``loader`` with :func:`train_step`; running mean loss, top-1 and top-5 (percent)."""
    net.train()
    loss_sum, correct1, correct5, seen = 0.0, 0, 0, 0
    bar = tqdm(loader, total=len(loader), desc=f"epoch {number}/{epochs}", unit="step", disable=not progress,
               leave=False, dynamic_ncols=True, file=sys.stderr,
               mininterval=0.5 if sys.stderr.isatty() else 30.0)  # a log file gets a line every 30 s
    for step, (images, labels) in enumerate(bar, start=1):
        images, labels = images.to(device), labels.to(device)
        loss, logits = train_step(net, optimizer, images, labels, epoch=number, step=step)
        c1, c5 = topk_correct(logits, labels)
        batch = labels.shape[0]
        loss_sum, seen = loss_sum + float(loss) * batch, seen + batch
        correct1, correct5 = correct1 + c1, correct5 + c5
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{100.0 * correct1 / seen:.1f}", refresh=False)
    bar.close()
    return {"loss": loss_sum / seen, "top1": 100.0 * correct1 / seen, "top5": 100.0 * correct5 / seen}


def _check_finite_after_epoch(net: nn.Module, val: Optional[Mapping[str, float]], test: Optional[Mapping[str, float]],
                              number: int) -> None:
    """Raise NonFiniteLossError if an evaluation loss or a parameter is NaN/inf after epoch ``number``."""
    for split, metrics in (("validation", val), ("test", test)):
        if metrics is not None and not math.isfinite(metrics["loss"]):
            raise NonFiniteLossError(
                f"non-finite {split} loss ({metrics['loss']}) after epoch {number}; the last good checkpoint "
                "is kept", number, None)
    # A huge step can overflow a weight even when every loss and gradient was finite.
    bad = [name for name, p in net.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise NonFiniteLossError(
            f"non-finite parameters ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}) after epoch {number}; "
            "the last good checkpoint is kept. Try a smaller lr.", number, None)


def train(spec: Union[CellSpec, str], config: TrainConfig, out_dir: Optional[PathLike] = None,
          resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train ``spec`` with ``config``; return (and write to ``out_dir/metrics.json``) the metrics.

    Every epoch: train (running loss/top-1/top-5 over the epoch's batches, in train mode with
    augmentation and dropout), step the cosine schedule, evaluate val and test in eval mode (the
    firing rates are recorded during the test evaluation), then write ``out_dir/checkpoint.pt``
    atomically. ``metrics.json`` is written once, at the end.

    Returns:
        ``{"arch", "op_indices", "matrix", "config", "history": [per-epoch dict], "final": {...}}``.
        History entries hold ``epoch`` (1-based), ``lr`` (used in that epoch), ``{train,val,test}_{loss,
        top1,top5}`` (percent; val ones None without a validation split), ``firing_rate`` (layer -> rate),
        ``mean_firing_rate``, ``train_seconds``, ``eval_seconds``, ``epoch_seconds`` and ``steps``.
        ``final`` holds the last epoch's ``test_accuracy``, ``test_top5``, ``test_loss``,
        ``val_accuracy``, ..., ``params``, ``firing_rate``, ``mean_firing_rate`` and ``train_seconds``
        (the summed epoch times, over all resumed sessions).

    Args:
        spec: the cell (a :class:`CellSpec` or any text :func:`parse_arch` accepts).
        out_dir: where checkpoint.pt and metrics.json go; None keeps nothing on disk.
        resume: continue from ``out_dir/checkpoint.pt`` if it exists (else start afresh).
        progress: show a tqdm bar (loss, accuracy, steps/s) and one line per epoch on stderr.

    Raises:
        ValueError: a bad arch, or resume without out_dir.
        FileNotFoundError: missing data files (message shows the expected layout).
        FileExistsError: ``out_dir`` holds a checkpoint and ``resume`` is False.
        CheckpointMismatchError: the checkpoint belongs to another arch or config.
        NonFiniteLossError: the loss or gradient went NaN/inf (the last good checkpoint is kept).
    """
    spec = parse_arch(spec)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    tune_malloc()  # reuse freed activation buffers instead of page-faulting fresh ones every step
    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ValueError("resume=True needs out_dir (where the checkpoint is)")
    checkpoint_path = out / CHECKPOINT_NAME if out is not None else None
    state = None
    if checkpoint_path is not None and checkpoint_path.exists():
        if not resume:
            raise FileExistsError(
                f"{checkpoint_path} already exists; pass resume=True (--resume) to continue that run, "
                "or choose another output directory"
            )
        state = load_checkpoint(checkpoint_path)  # on CPU: the RNG states must stay there
        _check_resumable(state, spec, config, checkpoint_path)
    if resume and checkpoint_path is not None:
        for stale in checkpoint_path.parent.glob(f".{CHECKPOINT_NAME}.*.tmp"):  # left by a kill mid-write
            stale.unlink(missing_ok=True)

    train_set, val_set, test_set = _load_splits(config)
    net = build_network(spec, config)
    optimizer = build_optimizer(net, config)
    scheduler = build_scheduler(optimizer, config)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
        _set_rng_state(state["rng"])
        if progress:
            tqdm.write(f"resuming {spec.to_str()} from {checkpoint_path} after epoch {start_epoch}/{config.epochs}",
                       file=sys.stderr)

    train_loader = make_loader(train_set, config.batch_size, shuffle=True, seed=config.seed,
                               num_workers=config.num_workers)
    val_loader = (make_loader(val_set, config.eval_batch_size, shuffle=False, seed=config.seed,
                              num_workers=config.num_workers) if val_set is not None else None)
    test_loader = make_loader(test_set, config.eval_batch_size, shuffle=False, seed=config.seed,
                              num_workers=config.num_workers)
    layers = net.spiking_layers()
    params = net.num_params()
    device = torch.device(config.device)

    for epoch in range(start_epoch, config.epochs):
        number = epoch + 1
        started = time.perf_counter()
        set_epoch(train_loader, epoch)
        # Dropout draws from the global torch RNG: reseed it per epoch so an epoch's masks depend only
        # on (seed, epoch), whatever ran before it (a resume, another caller).
        torch.manual_seed(derive_seed(config.seed, epoch, _DROPOUT_TAG))
        lr = optimizer.param_groups[0]["lr"]
        fit = _train_epoch(net, optimizer, train_loader, device, number, config.epochs, progress)
        scheduler.step()
        train_seconds = time.perf_counter() - started

        eval_started = time.perf_counter()
        val = evaluate(net, val_loader, device) if val_loader is not None else None
        monitor = FiringRateMonitor(layers)
        test = (evaluate(net, test_loader, device, monitor=monitor)
                if config.test_every_epoch or number == config.epochs else None)
        _check_finite_after_epoch(net, val, test, number)
        eval_seconds = time.perf_counter() - eval_started
        record = {
            "epoch": number,
            "lr": lr,
            "train_loss": fit["loss"],
            "train_top1": fit["top1"],
            "train_top5": fit["top5"],
            "val_loss": val["loss"] if val else None,
            "val_top1": val["top1"] if val else None,
            "val_top5": val["top5"] if val else None,
            "test_loss": test["loss"] if test else None,
            "test_top1": test["top1"] if test else None,
            "test_top5": test["top5"] if test else None,
            "firing_rate": monitor.rates() if test else None,
            "mean_firing_rate": monitor.mean_rate() if test else None,
            "steps": len(train_loader),
            "train_seconds": train_seconds,
            "eval_seconds": eval_seconds,
            "epoch_seconds": time.perf_counter() - started,
        }
        history.append(record)
        if checkpoint_path is not None:
            _atomic_torch_save(
                {
                    "format": CHECKPOINT_FORMAT,
                    "arch": spec.to_str(),
                    "op_indices": list(spec.op_indices),
                    "config": config.to_dict(),
                    "epoch": number,
                    "model": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "history": history,
                    "rng": _rng_state(),
                },
                checkpoint_path,
            )
        if progress:
            val_text = f" val {record['val_top1']:.2f}%" if val else ""
            test_text = (f" test {record['test_top1']:.2f}% firing {record['mean_firing_rate']:.4f}" if test
                         else "")
            tqdm.write(
                f"epoch {number}/{config.epochs}: lr {lr:.4g} train loss {record['train_loss']:.4f} "
                f"acc {record['train_top1']:.2f}%{val_text}{test_text} ({record['epoch_seconds']:.1f} s)",
                file=sys.stderr,
            )

    result = _result(spec, config, history, params)
    if out is not None:
        atomic_write_json(out / METRICS_NAME, result)
    return result


# --------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``naslib-snn train``. Options left out take the dataset's defaults (TrainConfig)."""
    parser.add_argument("--arch", required=True, metavar="SPEC",
                        help="the cell: an arch string '|op~0|+|...|', 6 op_indices '2,6,3,2,1,2', "
                             "or the authors' matrix rows '0302 0030 3003 0000'")
    parser.add_argument("--dataset", required=True, metavar="NAME",
                        help=f"one of: {', '.join(list_datasets())}")
    parser.add_argument("--out", required=True, metavar="DIR", help="writes DIR/checkpoint.pt and DIR/metrics.json")
    parser.add_argument("--data-dir", metavar="DIR", help="where the dataset files are (default: the dataset's own)")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    for flag, kind, text in (
        ("--epochs", int, "training epochs"),
        ("--lr", float, "base learning rate (cosine to lr * lr-min-factor)"),
        ("--lr-min-factor", float, "final lr as a fraction of the base lr"),
        ("--momentum", float, "SGD momentum"),
        ("--weight-decay", float, "SGD weight decay"),
        ("--batch-size", int, "training batch size"),
        ("--eval-batch-size", int, "evaluation batch size"),
        ("--channels", int, "C, the first cell's width"),
        ("--timesteps", int, "T, timesteps of direct coding"),
        ("--image-size", int, "side of the (square) input images"),
        ("--hidden", int, "width of the hidden classifier layer"),
        ("--vote", int, "outputs per class of the voting layer"),
        ("--dropout", float, "dropout before the classifier"),
        ("--hidden-init-std", float, "std of the normal init of the Linear before the hidden LIF"),
        ("--subset", int, "train on this many (class-balanced) images"),
        ("--val-subset", int, "validate on this many images (0: no validation)"),
        ("--test-subset", int, "test on this many images"),
        ("--seed", int, "seed of init, shuffling, augmentation and dropout"),
        ("--num-workers", int, "DataLoader worker processes"),
    ):
        parser.add_argument(flag, type=kind, help=f"{text} (default: the dataset's)")
    parser.add_argument("--neuron", help=f"spiking neuron: {', '.join(NEURONS)} (default lif)")
    parser.add_argument("--train-split", help="train (validate on val) or trainval (no validation)")
    parser.add_argument("--no-augment", action="store_true", help="no random crop / flip")
    parser.add_argument("--test-once", action="store_true",
                        help="evaluate the test set only after the last epoch (default: after every epoch)")
    parser.add_argument("--nb201-pooling", action="store_true",
                        help="avg_pool_3x3 averages valid pixels only, as NAS-Bench-201 (default: counts the padding, "
                             "as the authors' code)")
    parser.add_argument("--device", help="torch device, e.g. cpu or cuda:0 (default cpu)")


_CLI_FIELDS = ("data_dir", "epochs", "lr", "lr_min_factor", "momentum", "weight_decay", "batch_size", "eval_batch_size",
               "channels", "timesteps", "image_size", "hidden", "vote", "dropout", "hidden_init_std", "subset", "val_subset",
               "test_subset", "seed", "num_workers", "neuron", "train_split", "device")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of parsed ``naslib-snn train`` arguments. Raises as :class:`TrainConfig`."""
    overrides = {name: getattr(args, name) for name in _CLI_FIELDS if getattr(args, name, None) is not None}
    if getattr(args, "no_augment", False):
        overrides["augment"] = False
    if getattr(args, "test_once", False):
        overrides["test_every_epoch"] = False
    if getattr(args, "nb201_pooling", False):
        overrides["count_include_pad"] = False
    return TrainConfig.for_dataset(args.dataset, **overrides)


def format_summary(result: Mapping[str, Any], out_dir: Optional[PathLike] = None) -> str:
    """A few human-readable lines about a finished run."""
    final, config = result["final"], result["config"]
    val = f"{final['val_accuracy']:.2f}%" if final["val_accuracy"] is not None else "n/a"
    lines = [
        f"arch      {result['arch']}  (matrix {result['matrix']}, op_indices {result['op_indices']})",
        f"dataset   {config['dataset']} {config['image_size']}x{config['image_size']}, C={config['channels']}, "
        f"T={config['timesteps']}, {final['epochs']} epochs, lr {config['lr']}, seed {config['seed']}",
        f"test      top-1 {final['test_accuracy']:.2f}%  top-5 {final['test_top5']:.2f}%  loss {final['test_loss']:.4f}",
        f"val       top-1 {val}   train top-1 {final['train_accuracy']:.2f}%",
        f"params    {final['params']:,}   mean firing rate {final['mean_firing_rate']:.4f}   "
        f"time {final['train_seconds']:.1f} s",
    ]
    if out_dir is not None:
        lines.append(f"written   {Path(out_dir) / METRICS_NAME}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``naslib-snn train``: 0 on success, 2 on bad arguments or data, 1 if training diverged."""
    try:
        spec = parse_arch(args.arch)
        config = config_from_args(args)
    except (ValueError, TypeError) as err:
        print(f"naslib-snn train: error: {err}", file=sys.stderr)
        return 2
    try:
        result = train(spec, config, out_dir=args.out, resume=args.resume, progress=not args.no_progress)
    except NonFiniteLossError as err:
        print(f"naslib-snn train: training diverged: {err}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"naslib-snn train: error: {err}", file=sys.stderr)
        return 2
    print(format_summary(result, args.out))
    return 0
