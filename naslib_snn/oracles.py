"""Oracles: what a NASLib ``dataset_api`` answers about a spiking cell, chosen in the config.

NASLib's discrete optimizers never train anything themselves: they ask the search space to
``query`` a metric, and the search space asks the ``dataset_api``. Three oracles can stand behind
that call (:data:`ORACLES`, filled by :func:`register_oracle`):

``tabular``
    A trained benchmark table (:mod:`naslib_snn.benchmarks`). Only the table's cells can be
    answered, so :meth:`Oracle.candidates` restricts sampling, mutation and neighbourhoods to them.
``training_free``
    The search objective is a training-free score of the untrained network, SAHD by default:
    random search with this oracle is exactly the paper's algorithm (score N random cells, keep
    the best), run through NASLib's optimizers. The score stands in for ``val_accuracy``, the
    metric every NASLib optimizer maximises; it knows no accuracy or loss (those are NaN).
``on_the_fly``
    Trains each cell it is asked about with :func:`naslib_snn.train.train` and caches the result
    on disk, one folder per cell, so a later query (or a later run) costs nothing.

    >>> from naslib_snn.oracles import get_dataset_api
    >>> api = get_dataset_api("spiking_nb201", "digits", oracle="training_free", proxy="sahd")
    >>> api["oracle"].query(CellSpec.from_op_indices((2, 6, 3, 2, 1, 2)), "val_accuracy")

A ``dataset_api`` is a dict (NASLib's convention) holding the oracle under ``"oracle"``; the
benchmark's own ``get_dataset_api`` dict (``{"api": SpikingBenchmarkAPI, ...}``) is accepted too
(:func:`resolve_oracle`). This module never imports NASLib.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Optional, Union

from naslib_snn.benchmarks.api import METRICS as BENCHMARK_METRICS
from naslib_snn.search_spaces.spiking_nb201.spec import CellSpec, parse_arch
from naslib_snn.utils.checks import require_int
from naslib_snn.utils.seeds import derive_seed

__all__ = [
    "MissingDatasetAPIError",
    "OBJECTIVE_FLOOR",
    "ORACLES",
    "ORACLE_METRICS",
    "OnTheFlyOracle",
    "Oracle",
    "TabularOracle",
    "TrainingEstimate",
    "TrainingFreeOracle",
    "build_oracle",
    "cell_seed",
    "estimate_training",
    "format_seconds",
    "get_dataset_api",
    "register_oracle",
    "resolve_oracle",
]

PathLike = Union[str, "os.PathLike[str]"]

_LOG = logging.getLogger(__name__)

#: the metrics every oracle understands: those of the tabular benchmark
ORACLE_METRICS: tuple[str, ...] = BENCHMARK_METRICS

#: what a singular kernel (score -inf) becomes as a search objective. NASLib's own ZeroCost.query maps
#: non-finite scores to -1e8 as well; model-based optimizers (Bananas, Npenas) cannot fit on -inf.
OBJECTIVE_FLOOR = -1e8

# Independent random streams of cell_seed.
INIT_STREAM = 1
SCORE_STREAM = 2


def cell_seed(seed: int, spec: CellSpec, stream: int = INIT_STREAM) -> int:
    """A seed in [0, 2**63) for one cell: ``derive_seed(seed, stream, *spec.op_indices)``.

    Used to initialise (``INIT_STREAM``) and score (``SCORE_STREAM``) a cell identically whenever,
    and in whatever order, it is asked about (:func:`naslib_snn.utils.seeds.derive_seed`).

    Raises:
        ValueError: ``seed`` or ``stream`` is not an int >= 0.
    """
    for name, value in (("seed", seed), ("stream", stream)):
        require_int(name, value, 0)
    return derive_seed(int(seed), int(stream), *spec.op_indices)


def _check_metric(metric: str) -> str:
    if metric not in ORACLE_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(ORACLE_METRICS)}")
    return metric


def _float(value: Any) -> float:
    """A float, NaN for None (a value the source did not record)."""
    return math.nan if value is None else float(value)


class Oracle(abc.ABC):
    """Answers metrics about cells. Subclasses set :attr:`kind` and implement :meth:`query`."""

    kind: ClassVar[str] = ""

    def __init__(self, dataset: str) -> None:
        from naslib_snn.data import dataset_info  # noqa: PLC0415  (the dataset registry needs torch)

        dataset_info(dataset)  # ValueError listing the known datasets
        self.dataset = dataset

    @abc.abstractmethod
    def query(self, spec: CellSpec, metric: str, epoch: int = -1) -> Any:
        """``metric`` (one of :data:`ORACLE_METRICS`) of ``spec``; -1 is the final epoch.

        Returns a float (NaN where the oracle does not know the value) or, for ``"raw"``, a dict.
        """

    def learning_curve(self, spec: CellSpec, metric: str) -> list[float]:
        """``metric`` after every epoch. Raises NotImplementedError where there are no epochs."""
        raise NotImplementedError(f"the {self.kind} oracle has no learning curves")

    def candidates(self) -> Optional[list[CellSpec]]:
        """The cells this oracle can answer, or None when it answers every cell of the space."""
        return None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for run summaries."""
        return {"kind": self.kind, "dataset": self.dataset}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.describe().items())})"


#: oracle kind -> class; filled by :func:`register_oracle`
ORACLES: dict[str, type[Oracle]] = {}


def register_oracle(kind: str) -> Callable[[type[Oracle]], type[Oracle]]:
    """Class decorator registering an :class:`Oracle` subclass under ``kind``.

    Raises:
        ValueError: ``kind`` is not a non-empty lower-case string or is already registered.
    """
    if not isinstance(kind, str) or not kind or kind != kind.lower():
        raise ValueError(f"an oracle kind is a non-empty lower-case string, got {kind!r}")
    if kind in ORACLES:
        raise ValueError(f"an oracle of kind {kind!r} is already registered ({ORACLES[kind].__qualname__})")

    def decorator(cls: type[Oracle]) -> type[Oracle]:
        cls.kind = kind
        ORACLES[kind] = cls
        return cls

    return decorator


# ---- tabular ------------------------------------------------------------------------------------------
@register_oracle("tabular")
class TabularOracle(Oracle):
    """A trained benchmark table: anything :func:`naslib_snn.benchmarks.load` accepts.

    ``seed`` chooses the training run it answers from: None (the primary seed, which every cell
    has), ``"mean"`` (the mean over each cell's seeds: less noisy where cells were trained twice,
    as in ``spiking_nb201_fmnist_v2``) or one seed.

    Raises (on construction):
        ValueError: the table is for another dataset than ``dataset`` (when given), or a ``seed``
            that is none of the above or that the table's meta does not list.
    """

    def __init__(self, benchmark: Any, dataset: Optional[str] = None, seed: Union[int, str, None] = None) -> None:
        from naslib_snn.benchmarks import load  # noqa: PLC0415
        from naslib_snn.benchmarks.api import MEAN  # noqa: PLC0415

        self.api = load(benchmark)
        if dataset is not None and dataset != self.api.dataset:
            raise ValueError(
                f"benchmark {self.api.name!r} was trained on {self.api.dataset!r}, not on dataset {dataset!r}"
            )
        seeds = list(self.api.meta.get("seeds") or [])
        valid = seed is None or seed == MEAN or (isinstance(seed, int) and not isinstance(seed, bool) and seed in seeds)
        if not valid:
            raise ValueError(f"seed must be None (the primary seed), {MEAN!r} or one of the benchmark's seeds "
                             f"{seeds}, got {seed!r}")
        self.seed = seed
        super().__init__(self.api.dataset)

    def query(self, spec: CellSpec, metric: str, epoch: int = -1) -> Any:
        """The table's value (of :attr:`seed`). Raises KeyError for a cell the table does not hold."""
        metric = _check_metric(metric)
        return self.api.query(spec, metric, epoch=epoch, seed=None if metric == "raw" else self.seed)

    def learning_curve(self, spec: CellSpec, metric: str) -> list[float]:
        _check_metric(metric)
        if metric in ("raw", "params"):
            raise ValueError(f"metric {metric!r} has no learning curve")
        history = self.api.query(spec, "raw", seed=self.api.primary_seed).get("history", {})
        column = history.get("epoch_seconds" if metric == "train_time" else metric)
        if column is None:
            raise ValueError(f"benchmark {self.api.name!r} did not record {metric!r} per epoch")
        return [self.api.query(spec, metric, epoch=e, seed=self.seed) for e in range(len(column))]

    def candidates(self) -> list[CellSpec]:
        return self.api.specs()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "benchmark": self.api.name, "cells": len(self.api),
                "source": self.api.source, "seed": "primary" if self.seed is None else self.seed}


# ---- training-free ------------------------------------------------------------------------------------
@register_oracle("training_free")
class TrainingFreeOracle(Oracle):
    """The search objective is a training-free proxy of the untrained network (paper Sec. 4).

    ``query(spec, "val_accuracy")`` is the proxy's score (``-inf``, a singular kernel, becomes
    :data:`OBJECTIVE_FLOOR`), ``"train_time"`` the seconds spent scoring, ``"params"`` the
    network's parameter count, ``"raw"`` a dict with the exact score; accuracies and losses are
    NaN (this oracle trains nothing). Each cell is built with weights seeded by
    ``cell_seed(seed, spec, INIT_STREAM)`` and scored on the same batches, so a score does not
    depend on when, or how often, a cell is asked about. Scores are cached in memory.

    Args:
        dataset: a registered dataset; the scoring batches are drawn from its training split.
        proxy: a name of :mod:`naslib_snn.predictors.registry` (``sahd``, the paper's; ``hd``; ...).
        network: keyword arguments of :class:`SpikingNB201Network` (num_classes, in_channels and
            image_size default to the dataset's).
        batch_size, num_batches: the scoring batches (authors' code: 2 batches of 256).
        seed: chooses the batches and seeds every cell's initialisation and forward pass.
        data_dir: where the dataset's files are (None: the dataset's default).
        inputs: scoring batches to use instead of drawing them (tensors ``[B, C, H, W]``).
        proxy_kwargs: extra keyword arguments of the proxy (e.g. ``variant``, ``alpha``).

    Raises (on construction):
        KeyError: unknown proxy (the message lists the known ones).
        ValueError: bad counts or seed.
    """

    def __init__(
        self,
        dataset: str,
        proxy: str = "sahd",  # paper, Sec. 4.2: SAHD
        *,
        network: Optional[Mapping[str, Any]] = None,
        batch_size: int = 64,
        num_batches: int = 1,
        seed: int = 0,
        data_dir: Optional[PathLike] = None,
        inputs: Optional[Sequence[Any]] = None,
        proxy_kwargs: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(dataset)
        from naslib_snn.data import dataset_info  # noqa: PLC0415
        from naslib_snn.predictors.registry import get_proxy  # noqa: PLC0415

        self.proxy = proxy
        self._proxy_fn = get_proxy(proxy)
        for name, value in (("batch_size", batch_size), ("num_batches", num_batches)):
            require_int(name, value, 1)
        require_int("seed", seed, 0)
        info = dataset_info(dataset)
        self.network_kwargs: dict[str, Any] = {
            "num_classes": info.num_classes,
            "in_channels": info.in_channels,
            "image_size": info.image_size,
            **dict(network or {}),
        }
        self.batch_size, self.num_batches, self.seed = int(batch_size), int(num_batches), int(seed)
        self.data_dir = None if data_dir in (None, "") else os.fspath(data_dir)
        self.proxy_kwargs = dict(proxy_kwargs or {})
        self._inputs = None if inputs is None else list(inputs)
        self._cache: dict[CellSpec, dict[str, Any]] = {}

    def inputs(self) -> list[Any]:
        """The scoring batches (drawn on first use)."""
        if self._inputs is None:
            from naslib_snn.naslib_data import scoring_batches  # noqa: PLC0415

            images, _ = scoring_batches(self.dataset, self.batch_size, self.num_batches, self.seed,
                                        image_size=self.network_kwargs["image_size"], data_dir=self.data_dir)
            self._inputs = images
        return self._inputs

    def build_network(self, spec: CellSpec) -> Any:
        """The untrained network of ``spec``, initialised from ``cell_seed(seed, spec)`` (global RNG untouched)."""
        import torch  # noqa: PLC0415

        from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network  # noqa: PLC0415

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cell_seed(self.seed, spec, INIT_STREAM))
            return SpikingNB201Network(spec, **self.network_kwargs)

    def record(self, spec: CellSpec) -> dict[str, Any]:
        """``{"proxy", "score", "objective", "seconds", "params", "init_seed"}`` of ``spec`` (cached)."""
        spec = parse_arch(spec)
        if spec not in self._cache:
            started = time.perf_counter()
            network = self.build_network(spec)
            value = float(self._proxy_fn(network, self.inputs(), seed=cell_seed(self.seed, spec, SCORE_STREAM),
                                         **self.proxy_kwargs))
            if math.isnan(value):
                raise FloatingPointError(f"proxy {self.proxy!r} returned NaN for {spec.to_str()}")
            self._cache[spec] = {
                "proxy": self.proxy,
                "score": value,
                "objective": value if math.isfinite(value) else (OBJECTIVE_FLOOR if value < 0 else -OBJECTIVE_FLOOR),
                "seconds": time.perf_counter() - started,
                "params": int(network.num_params()),
                "init_seed": cell_seed(self.seed, spec, INIT_STREAM),
            }
        return self._cache[spec]

    def query(self, spec: CellSpec, metric: str, epoch: int = -1) -> Any:
        _check_metric(metric)
        record = self.record(spec)
        if metric == "val_accuracy":
            return record["objective"]
        if metric == "train_time":
            return record["seconds"]
        if metric == "params":
            return record["params"]
        if metric == "raw":
            return dict(record)
        return math.nan  # accuracies, losses and firing rates need training

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "proxy": self.proxy, "batch_size": self.batch_size,
                "num_batches": self.num_batches, "seed": self.seed, "network": dict(self.network_kwargs)}


# ---- on the fly -----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TrainingEstimate:
    """How much work a training run is, and roughly how long it takes on this machine."""

    seconds: float  # the estimate, for the whole run (every epoch, evaluation included)
    epochs: int
    steps_per_epoch: int  # SGD steps
    batch_size: int
    train_images: int
    eval_images: int  # validation + test images, evaluated after every epoch

    def describe(self) -> str:
        """``"5 epochs x 157 steps of 64 images (+ 7000 evaluation images per epoch), roughly 4 min"``."""
        return (f"{self.epochs} epochs x {self.steps_per_epoch} steps of {self.batch_size} images "
                f"(+ {self.eval_images} evaluation images per epoch), roughly {format_seconds(self.seconds)}")


def format_seconds(seconds: float) -> str:
    """A rough duration for humans: ``"40 s"``, ``"4 min"``, ``"2.5 h"``."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _split_size(config: Any, split: str, subset: Optional[int]) -> int:
    if subset is not None:
        return int(subset)
    from naslib_snn.data import load_dataset  # noqa: PLC0415

    from naslib_snn.data import dataset_info  # noqa: PLC0415

    native = dataset_info(config.dataset).image_size  # the count does not depend on the size; resizing costs time
    return len(load_dataset(config.dataset, data_dir=config.data_dir, split=split, image_size=native, augment=False))


def estimate_training(spec: CellSpec, config: Any, *, probe_steps: int = 3) -> TrainingEstimate:
    """Roughly how long ``naslib_snn.train.train(spec, config)`` takes on this machine.

    Times ``probe_steps`` SGD steps (after one warm-up step) on random inputs ``[batch_size, C, S, S]``
    and one evaluation forward pass of at most 64 images, then scales their median to the recipe's
    epochs, steps and evaluation images. Data loading, augmentation and checkpoints are not counted,
    spiking activity on real data differs and other jobs on the machine slow training down as much as
    they slow the probe (seconds) down, so take it as a rough figure, not a promise. The global
    torch RNG is left as it was. Costs a few seconds (the split sizes are read when the config has no
    ``subset``).

    Raises:
        ValueError: ``probe_steps`` < 1, or what building the network raises.
        FileNotFoundError: the dataset's files are missing (only read without ``subset``).
    """
    import torch  # noqa: PLC0415

    from naslib_snn.data import dataset_info  # noqa: PLC0415
    from naslib_snn.train import build_network, build_optimizer, train_step  # noqa: PLC0415

    require_int("probe_steps", probe_steps, 1)
    spec = parse_arch(spec)
    train_images = _split_size(config, config.train_split, config.subset)
    eval_images = _split_size(config, "test", config.test_subset)
    if config.train_split == "train" and config.val_subset != 0:
        eval_images += _split_size(config, "val", config.val_subset)
    steps = max(1, -(-train_images // config.batch_size))
    channels = dataset_info(config.dataset).in_channels
    with torch.random.fork_rng(devices=[]):
        generator = torch.Generator().manual_seed(0)
        net = build_network(spec, config)
        optimizer = build_optimizer(net, config)
        images = torch.randn(config.batch_size, channels, config.image_size, config.image_size,
                             generator=generator).to(config.device)
        labels = torch.randint(0, net.num_classes, (config.batch_size,), generator=generator).to(config.device)
        times = []
        for _ in range(probe_steps + 1):
            started = time.perf_counter()
            train_step(net, optimizer, images, labels)
            times.append(time.perf_counter() - started)
        step_seconds = sorted(times[1:])[len(times[1:]) // 2]  # the median: the min is optimistic under load
        net.eval()
        batch = torch.randn(min(config.eval_batch_size, 64), channels, config.image_size, config.image_size,
                            generator=generator).to(config.device)
        with torch.no_grad():
            started = time.perf_counter()
            net(batch)
            eval_seconds = (time.perf_counter() - started) / len(batch)  # per image
    seconds = config.epochs * (steps * step_seconds + eval_images * eval_seconds)
    return TrainingEstimate(seconds=seconds, epochs=int(config.epochs), steps_per_epoch=steps,
                            batch_size=int(config.batch_size), train_images=train_images, eval_images=eval_images)


CACHE_FORMAT = "naslib_snn.oracle_cache"
CACHE_MANIFEST = "oracle.json"
RESULT_FILE = "metrics.json"  # the name naslib_snn.train.train writes its result under
LOCK_FILE = ".lock"  # per cell folder: one process trains a cell, the others wait for its result

# oracle metric -> key of train()'s "final" summary, and of its per-epoch history
_FINAL_KEYS = {
    "train_accuracy": "train_accuracy", "val_accuracy": "val_accuracy", "test_accuracy": "test_accuracy",
    "train_loss": "train_loss", "val_loss": "val_loss", "test_loss": "test_loss",
    "train_time": "train_seconds", "params": "params", "firing_rate": "mean_firing_rate",
}
_HISTORY_KEYS = {
    "train_accuracy": "train_top1", "val_accuracy": "val_top1", "test_accuracy": "test_top1",
    "train_loss": "train_loss", "val_loss": "val_loss", "test_loss": "test_loss",
    "firing_rate": "mean_firing_rate",
}


@register_oracle("on_the_fly")
class OnTheFlyOracle(Oracle):
    """Trains every cell it is asked about with the project's trainer, and caches the results on disk.

    Layout of ``cache_dir``: ``oracle.json`` (the training config every cached result was obtained
    with) and one folder per cell, named by its op_indices (``2-6-3-2-1-2/``), holding the
    trainer's ``checkpoint.pt`` and ``metrics.json``. Both are written atomically; a run killed
    mid-training resumes from the cell's last epoch on the next query. Processes may share a
    ``cache_dir``: a cell's training holds its folder's ``.lock`` (``fcntl.flock``, POSIX only;
    elsewhere unlocked), so a second process asking for the same cell waits and then reads the
    first one's result instead of training the cell again.

    Args:
        config: a :class:`naslib_snn.train.TrainConfig`, or a mapping of its fields (with ``dataset``).
        cache_dir: where results are kept. A folder used with another config is refused.
        train_fn: ``train(spec, config, out_dir=, resume=, progress=) -> result`` (default:
            :func:`naslib_snn.train.train`); tests pass a fake.
        progress: show the trainer's progress bars.
        announce: called with one line before a cell is trained: what is trained and roughly how
            long it takes (:func:`estimate_training`). Default: ``logging.getLogger(__name__).info``.
        estimate: whether that line carries the time estimate (a few seconds of probing per cell).

    Raises (on construction):
        ValueError: the config trains without a validation split (the optimizers' objective is
            ``val_accuracy``), or ``cache_dir`` holds results of another config.
    """

    def __init__(self, config: Any, cache_dir: PathLike, *, train_fn: Optional[Callable[..., Mapping[str, Any]]] = None,
                 progress: bool = False, announce: Optional[Callable[[str], Any]] = None,
                 estimate: bool = True) -> None:
        from naslib_snn.train import RESUME_TOLERATED, TrainConfig  # noqa: PLC0415

        if isinstance(config, Mapping):
            config = TrainConfig.from_dict(config)
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig or a mapping of its fields, got {type(config).__name__}")
        if config.train_split != "train" or config.val_subset == 0:
            raise ValueError(
                "the on-the-fly oracle answers val_accuracy, the metric NASLib's optimizers maximise; train with "
                f"train_split='train' and val_subset != 0 (got train_split={config.train_split!r}, "
                f"val_subset={config.val_subset!r})"
            )
        super().__init__(config.dataset)
        self.config = config
        self.cache_dir = Path(cache_dir)
        self.progress = bool(progress)
        self.announce = announce if announce is not None else _LOG.info
        self.estimate = bool(estimate)
        self._train_fn = train_fn
        self._results: dict[CellSpec, dict[str, Any]] = {}
        identity = {k: v for k, v in config.to_dict().items() if k not in RESUME_TOLERATED}
        manifest = self.cache_dir / CACHE_MANIFEST
        if manifest.is_file():
            saved = json.loads(manifest.read_text(encoding="utf-8"))
            if saved.get("format") != CACHE_FORMAT or saved.get("config") != identity:
                old = saved.get("config") or {}
                diff = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
                raise ValueError(
                    f"{self.cache_dir} caches results of another training config (differs in: "
                    f"{', '.join(diff) or 'format'}); use another cache_dir"
                )
        else:
            from naslib_snn.utils.io import atomic_write_json  # noqa: PLC0415

            atomic_write_json(manifest, {"format": CACHE_FORMAT, "version": 1, "config": identity})

    def cell_dir(self, spec: CellSpec) -> Path:
        """The folder of ``spec``'s checkpoint and result."""
        return self.cache_dir / "-".join(str(code) for code in spec.op_indices)

    def is_cached(self, spec: CellSpec) -> bool:
        """Whether ``spec`` was trained to the end already (in memory or on disk)."""
        spec = parse_arch(spec)
        return spec in self._results or (self.cell_dir(spec) / RESULT_FILE).is_file()

    def result(self, spec: CellSpec) -> dict[str, Any]:
        """The trainer's result for ``spec``: from memory, from disk, or by training it now.

        Training holds the cell's lock; a process that finds the lock taken waits for it, then reads
        the result the holder wrote (a holder that died leaves a checkpoint, which is resumed).

        Raises:
            naslib_snn.train.NonFiniteLossError: training diverged (fix the recipe, e.g. a smaller lr).
            ValueError: a cached result belongs to another cell.
        """
        from naslib_snn.utils.locks import file_lock  # noqa: PLC0415

        spec = parse_arch(spec)
        if spec in self._results:
            return self._results[spec]
        folder = self.cell_dir(spec)
        path = folder / RESULT_FILE
        result = None
        if not path.is_file():
            with file_lock(folder / LOCK_FILE):
                if not path.is_file():  # else another process trained it while this one waited
                    result = self._train(spec, folder)
        if result is None:
            result = json.loads(path.read_text(encoding="utf-8"))
            if list(result.get("op_indices", [])) != list(spec.op_indices):
                raise ValueError(f"{path} holds the result of {result.get('arch')!r}, not of {spec.to_str()}")
        self._results[spec] = result
        return result

    def _train(self, spec: CellSpec, folder: Path) -> dict[str, Any]:
        """Train ``spec`` into ``folder`` (the caller holds the cell's lock) and write its result file."""
        train_fn = self._train_fn
        if train_fn is None:
            from naslib_snn.train import train as train_fn  # noqa: PLC0415
        how_long = ""
        if self.estimate:
            how_long = f": {estimate_training(spec, self.config).describe()}"
        self.announce(f"on-the-fly oracle: training {spec.to_str()} on {self.dataset}{how_long}; "
                      f"results cached in {folder}")
        result = dict(train_fn(spec, self.config, out_dir=folder, resume=True, progress=self.progress))
        path = folder / RESULT_FILE
        if not path.is_file():  # the project's trainer writes it; a custom train_fn may not
            from naslib_snn.utils.io import atomic_write_text  # noqa: PLC0415

            atomic_write_text(path, json.dumps(result, allow_nan=True) + "\n")
        return result

    def query(self, spec: CellSpec, metric: str, epoch: int = -1) -> Any:
        _check_metric(metric)
        result = self.result(spec)
        if metric == "raw":
            return copy.deepcopy(result)
        if metric == "params" or epoch is None or epoch == -1:
            return _float(result["final"].get(_FINAL_KEYS[metric]))
        history = result["history"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not -len(history) <= epoch < len(history):
            raise IndexError(f"epoch {epoch!r} out of range: {spec.to_str()} was trained for {len(history)} epochs")
        if metric == "train_time":
            return math.fsum(h["epoch_seconds"] for h in history[: (epoch % len(history)) + 1])
        return _float(history[epoch].get(_HISTORY_KEYS[metric]))

    def learning_curve(self, spec: CellSpec, metric: str) -> list[float]:
        if metric in ("raw", "params"):
            raise ValueError(f"metric {metric!r} has no learning curve")
        return [self.query(spec, metric, epoch=e) for e in range(len(self.result(spec)["history"]))]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "cache_dir": str(self.cache_dir),
                "cached_cells": len(self._results), "config": self.config.to_dict()}


# ---- dataset_api ----------------------------------------------------------------------------------------
class MissingDatasetAPIError(NotImplementedError, ValueError):
    """A query about a spiking cell without a ``dataset_api``.

    Both a ``NotImplementedError``, what NASLib's queryable spaces (NB101, NB201, NB301,
    TransNAS-Bench-101, NATS-size) raise there and what code written for NASLib catches, and a
    ``ValueError``, what this package raises for a missing input.
    """


def build_oracle(kind: str, dataset: str, **options: Any) -> Oracle:
    """An oracle of a registered ``kind`` for ``dataset``; ``options`` go to its constructor.

    The tabular oracle takes ``benchmark`` (a shipped name, a path, or a table dict); the on-the-fly
    oracle takes ``config`` (a TrainConfig, or a mapping of its fields whose ``dataset`` defaults to
    ``dataset``) and ``cache_dir``.

    Raises:
        ValueError: unknown kind (the message lists the kinds), a missing ``benchmark`` / ``config``,
            a training config for another dataset, or what the oracle raises.
    """
    if kind not in ORACLES:
        raise ValueError(f"unknown oracle {kind!r}; expected one of {', '.join(sorted(ORACLES))}")
    if kind == "tabular":
        if options.get("benchmark") is None:
            raise ValueError("the tabular oracle needs benchmark= (a shipped benchmark name, a path or a dict)")
        return TabularOracle(options.pop("benchmark"), dataset=dataset, **options)
    if kind == "on_the_fly":  # its constructor takes the training config, which names the dataset
        config = options.pop("config", None)
        if config is None:
            raise ValueError("the on_the_fly oracle needs config= (a naslib_snn.train.TrainConfig or a mapping of "
                             "its fields) and cache_dir=")
        if isinstance(config, Mapping):
            config = {"dataset": dataset, **config}
        oracle = OnTheFlyOracle(config, **options)
        if oracle.dataset != dataset:
            raise ValueError(f"the on_the_fly oracle's config trains on {oracle.dataset!r}, not on dataset {dataset!r}")
        return oracle
    return ORACLES[kind](dataset, **options)


def get_dataset_api(
    search_space: str = "spiking_nb201",
    dataset: str = "fashion_mnist",
    benchmark: Any = None,
    *,
    oracle: str = "tabular",
    **options: Any,
) -> dict[str, Any]:
    """NASLib's ``get_dataset_api`` for the spiking space: a dict whose ``"oracle"`` answers queries.

    ``oracle="tabular"`` (the default) is :func:`naslib_snn.benchmarks.get_dataset_api`'s dict (the
    shipped table of ``dataset``, or ``benchmark``) with the oracle added. ``"training_free"`` and
    ``"on_the_fly"`` take their constructor's options (see :class:`TrainingFreeOracle`,
    :class:`OnTheFlyOracle`).

    Raises:
        ValueError: another search space, an unknown oracle, or ``benchmark`` with a non-tabular oracle.
        FileNotFoundError: the shipped table was not built yet (the message says how to build it).
    """
    if search_space != "spiking_nb201":
        raise ValueError(f"naslib_snn serves the search space 'spiking_nb201', not {search_space!r}")
    if oracle == "tabular":
        from naslib_snn.benchmarks import get_dataset_api as benchmark_api  # noqa: PLC0415

        api = dict(benchmark_api(search_space, dataset, benchmark=benchmark))
        api["oracle"] = TabularOracle(api["api"], dataset=dataset, **options)
        return api
    if benchmark is not None:
        raise ValueError(f"benchmark= applies to the tabular oracle only, not to oracle={oracle!r}")
    return {"oracle": build_oracle(oracle, dataset, **options), "search_space": search_space, "dataset": dataset,
            "benchmark": None}


def resolve_oracle(dataset_api: Any) -> Oracle:
    """The oracle behind a ``dataset_api``: an :class:`Oracle`, a dict holding one under ``"oracle"``,
    or the benchmark's dict holding a ``SpikingBenchmarkAPI`` under ``"api"``.

    Raises:
        MissingDatasetAPIError: ``dataset_api`` is None (a ``NotImplementedError`` and a ``ValueError``).
        ValueError: ``dataset_api`` is none of these (the message says how to build one).
    """
    if isinstance(dataset_api, Oracle):
        return dataset_api
    if isinstance(dataset_api, Mapping):
        if isinstance(dataset_api.get("oracle"), Oracle):
            return dataset_api["oracle"]
        if dataset_api.get("api") is not None:
            return TabularOracle(dataset_api["api"])
    hint = "build one with naslib_snn.oracles.get_dataset_api('spiking_nb201', dataset, oracle=...)"
    if dataset_api is None:
        raise MissingDatasetAPIError(f"querying a spiking cell needs a dataset_api; {hint}")
    raise ValueError(f"expected a dataset_api dict holding an 'oracle' or a benchmark 'api', got "
                     f"{type(dataset_api).__name__}; {hint}")
