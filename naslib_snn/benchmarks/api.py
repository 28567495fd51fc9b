"""Query a tabular spiking benchmark, NATS-Bench style: ``load(name | path | dict) -> api``.

The table is one JSON object (format ``naslib_snn.benchmark``, version 1)::

    {
      "format": "naslib_snn.benchmark", "version": 1, "name": "spiking_nb201_fmnist",
      "meta": {"search_space": "spiking_nb201", "dataset": "fashion_mnist",
               "seeds": [0, 1],            # training seeds; the first is the primary seed
               "recipe": {...}, "sample_seed": 2022, ...},
      "cells": [
        {"arch": "|nor_conv_3x3~0|+...", "op_indices": [2, 6, 3, 2, 1, 2],
         "runs": [                          # one per training seed; every cell has the primary seed
           {"seed": 0,
            "final":   {"train_accuracy": 91.2, "val_accuracy": 88.0, "test_accuracy": 87.5,
                        "train_loss": 0.31, "val_loss": 0.35, "test_loss": 0.36,
                        "params": 51234, "train_time": 95.1, "firing_rate": 0.12,
                        "layer_firing_rate": {"cells.0.ops.1": 0.1, ...}},
            "history": {"train_accuracy": [...], "test_accuracy": [...], "epoch_seconds": [...], ...}}
         ]}
      ]
    }

Accuracies are percentages, losses cross-entropy, times seconds (of the machine that trained the
cell), ``firing_rate`` the mean spike rate over all spiking layers. ``null`` stands for a value
that was not finite (a diverged loss); :meth:`SpikingBenchmarkAPI.query` returns NaN for it.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from naslib_snn.search_spaces.spiking_nb201.spec import CellSpec, parse_arch

__all__ = [
    "BENCHMARKS",
    "DATA_DIR",
    "FORMAT",
    "FORMAT_VERSION",
    "MEAN",
    "METRICS",
    "BenchmarkInfo",
    "SpikingBenchmarkAPI",
    "SpecLike",
    "benchmark_path",
    "get_dataset_api",
    "load",
    "validate_table",
]

FORMAT = "naslib_snn.benchmark"
FORMAT_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"

#: metrics :meth:`SpikingBenchmarkAPI.query` answers; "raw" returns the whole record
METRICS: tuple[str, ...] = (
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "train_time",
    "params",
    "firing_rate",
    "raw",
)

#: ``query(..., seed=MEAN)``: the mean over a cell's training seeds
MEAN = "mean"

SpecLike = Union[CellSpec, str, Sequence[int]]
Source = Union[str, "os.PathLike[str]", Mapping[str, Any], "SpikingBenchmarkAPI"]


@dataclass(frozen=True)
class BenchmarkInfo:
    """A benchmark shipped with the package, found by name."""

    name: str
    search_space: str
    dataset: str
    filename: str

    @property
    def path(self) -> Path:
        return DATA_DIR / self.filename


#: name -> shipped benchmark
BENCHMARKS: dict[str, BenchmarkInfo] = {
    "spiking_nb201_fmnist": BenchmarkInfo(
        name="spiking_nb201_fmnist",
        search_space="spiking_nb201",
        dataset="fashion_mnist",
        filename="spiking_nb201_fmnist.json",
    ),
    # issue 9: twice the training images, the full test set, every cell trained with two seeds
    "spiking_nb201_fmnist_v2": BenchmarkInfo(
        name="spiking_nb201_fmnist_v2",
        search_space="spiking_nb201",
        dataset="fashion_mnist",
        filename="spiking_nb201_fmnist_v2.json",
    ),
}

BUILD_HINT = (
    "build it with `naslib-snn benchmark build --out DIR --resume` (resumable; a full build takes a few "
    "CPU-hours), then `naslib-snn benchmark export --out DIR`"
)


def benchmark_path(name: str) -> Path:
    """Where the shipped benchmark ``name`` lives (the file may not exist yet).

    Raises:
        KeyError: unknown name; the message lists the known names.
    """
    try:
        return BENCHMARKS[name].path
    except KeyError:
        raise KeyError(f"unknown benchmark {name!r}; known benchmarks: {', '.join(sorted(BENCHMARKS))}") from None


# ---- validation ----------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fail(path: str, message: str) -> None:
    raise ValueError(f"invalid benchmark table at {path}: {message}")


def validate_table(obj: Any) -> None:
    """Check that ``obj`` is a benchmark table as described in the module docstring.

    Raises:
        ValueError: naming the first bad path (e.g. ``cells[3].runs[0].final.test_accuracy``).
    """
    if not isinstance(obj, Mapping):
        _fail("<root>", f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("format") != FORMAT:
        _fail("format", f"expected {FORMAT!r}, got {obj.get('format')!r}")
    if obj.get("version") != FORMAT_VERSION:
        _fail("version", f"expected {FORMAT_VERSION}, got {obj.get('version')!r}")
    if not isinstance(obj.get("name"), str) or not obj["name"]:
        _fail("name", f"expected a non-empty string, got {obj.get('name')!r}")
    meta = obj.get("meta")
    if not isinstance(meta, Mapping):
        _fail("meta", f"expected an object, got {type(meta).__name__}")
    for key in ("search_space", "dataset"):
        if not isinstance(meta.get(key), str):
            _fail(f"meta.{key}", f"expected a string, got {meta.get(key)!r}")
    seeds = meta.get("seeds")
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        _fail("meta.seeds", f"expected a non-empty list of distinct ints (primary seed first), got {seeds!r}")
    cells = obj.get("cells")
    if not isinstance(cells, list) or not cells:
        _fail("cells", "expected a non-empty list of cells")
    seen: dict[CellSpec, int] = {}
    for i, cell in enumerate(cells):
        where = f"cells[{i}]"
        if not isinstance(cell, Mapping):
            _fail(where, f"expected an object, got {type(cell).__name__}")
        try:
            spec = CellSpec.from_str(cell.get("arch"))
        except ValueError as err:
            _fail(f"{where}.arch", str(err))
        if list(spec.op_indices) != list(cell.get("op_indices", [])):
            _fail(f"{where}.op_indices", f"{cell.get('op_indices')!r} does not match arch {cell['arch']!r} {spec.op_indices}")
        if spec in seen:
            _fail(where, f"cell {spec.to_str()} repeats cells[{seen[spec]}]")
        seen[spec] = i
        runs = cell.get("runs")
        if not isinstance(runs, list) or not runs:
            _fail(f"{where}.runs", "expected a non-empty list of runs")
        run_seeds = []
        for r, run in enumerate(runs):
            _validate_run(run, f"{where}.runs[{r}]", seeds)
            run_seeds.append(run["seed"])
        if len(set(run_seeds)) != len(run_seeds):
            _fail(f"{where}.runs", f"seeds repeat: {run_seeds}")
        if seeds[0] not in run_seeds:
            _fail(f"{where}.runs", f"no run with the primary seed {seeds[0]} (meta.seeds[0]); seeds: {run_seeds}")


def _validate_run(run: Any, where: str, seeds: list[int]) -> None:
    if not isinstance(run, Mapping):
        _fail(where, f"expected an object, got {type(run).__name__}")
    if run.get("seed") not in seeds:
        _fail(f"{where}.seed", f"{run.get('seed')!r} is not one of meta.seeds {seeds}")
    final = run.get("final")
    if not isinstance(final, Mapping):
        _fail(f"{where}.final", "expected an object")
    if not _is_number(final.get("test_accuracy")):
        _fail(f"{where}.final.test_accuracy", f"expected a number, got {final.get('test_accuracy')!r}")
    for key, value in final.items():
        if key == "layer_firing_rate":
            if not isinstance(value, Mapping) or not all(v is None or _is_number(v) for v in value.values()):
                _fail(f"{where}.final.layer_firing_rate", "expected an object of layer name -> number")
        elif value is not None and not _is_number(value):
            _fail(f"{where}.final.{key}", f"expected a number or null, got {value!r}")
    history = run.get("history", {})
    if not isinstance(history, Mapping):
        _fail(f"{where}.history", "expected an object of metric -> list")
    lengths = set()
    for key, column in history.items():
        if not isinstance(column, list) or not all(v is None or _is_number(v) for v in column):
            _fail(f"{where}.history.{key}", "expected a list of numbers or nulls")
        lengths.add(len(column))
    if len(lengths) > 1:
        _fail(f"{where}.history", f"columns have different lengths {sorted(lengths)}")


# ---- the API ---------------------------------------------------------------------------------------
def _spec_of(spec: SpecLike) -> CellSpec:
    """A CellSpec from a CellSpec, an arch string, op_indices or the authors' matrix (ValueError if malformed)."""
    return parse_arch(spec)


def _describe(spec: SpecLike) -> str:
    try:
        parsed = _spec_of(spec)
    except (ValueError, TypeError):
        return repr(spec)
    return f"{parsed.to_str()} (op_indices {parsed.op_indices})"


def _value(value: Any) -> float:
    return float("nan") if value is None else value


class SpikingBenchmarkAPI:
    """A loaded benchmark table: cells, their training results, and the noise-ceiling pairs.

    >>> api = load("spiking_nb201_fmnist")
    >>> spec = api[0]
    >>> api.query(spec, "test_accuracy")                 # final test accuracy of the primary seed, %
    >>> api.query(spec.op_indices, "val_loss", epoch=2)  # after the third epoch

    Build it with :func:`load`; it never changes the table it was given.
    """

    def __init__(self, table: Mapping[str, Any], source: str = "<dict>") -> None:
        validate_table(table)
        self._table = copy.deepcopy(dict(table))
        self.source = source
        self.name: str = self._table["name"]
        self.meta: dict[str, Any] = self._table["meta"]
        self.primary_seed: int = self.meta["seeds"][0]
        self._specs: list[CellSpec] = []
        self._cells: dict[CellSpec, dict[str, Any]] = {}
        self._runs: dict[CellSpec, dict[int, dict[str, Any]]] = {}
        for cell in self._table["cells"]:
            spec = CellSpec.from_str(cell["arch"])
            self._specs.append(spec)
            self._cells[spec] = cell
            self._runs[spec] = {run["seed"]: run for run in cell["runs"]}

    # ---- container protocol -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[CellSpec]:
        return iter(self._specs)

    def __getitem__(self, index: int) -> CellSpec:
        """The ``index``-th cell of the table (table order)."""
        return self._specs[index]

    def __contains__(self, spec: object) -> bool:
        try:
            return _spec_of(spec) in self._cells  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return False

    def __repr__(self) -> str:
        return (
            f"SpikingBenchmarkAPI({self.name!r}, {len(self)} cells, dataset={self.dataset!r}, "
            f"seeds={self.meta['seeds']}, source={self.source!r})"
        )

    @property
    def dataset(self) -> str:
        return self.meta["dataset"]

    @property
    def search_space(self) -> str:
        return self.meta["search_space"]

    def specs(self) -> list[CellSpec]:
        """All cells, in table order."""
        return list(self._specs)

    def index(self, spec: SpecLike) -> int:
        """Position of ``spec`` in the table (inverse of ``api[i]``). Raises KeyError naming it."""
        return self._specs.index(self._lookup(spec))

    def seeds(self, spec: SpecLike) -> tuple[int, ...]:
        """The training seeds recorded for ``spec``, primary seed first."""
        return tuple(sorted(self._runs[self._lookup(spec)], key=lambda s: (s != self.primary_seed, s)))

    def _lookup(self, spec: SpecLike) -> CellSpec:
        parsed = _spec_of(spec)
        if parsed not in self._cells:
            raise KeyError(f"cell {_describe(parsed)} is not in benchmark {self.name!r} ({len(self)} cells)")
        return parsed

    # ---- queries ----------------------------------------------------------------------------------
    def query(self, spec: SpecLike, metric: str, epoch: Optional[int] = -1, seed: Union[int, str, None] = None) -> Any:
        """One training result of one cell.

        Args:
            spec: a CellSpec, an arch string, op_indices, or the authors' matrix string.
            metric: one of :data:`METRICS`. ``train_time`` is the cumulative training time in seconds;
                ``firing_rate`` the mean spike rate; ``raw`` the whole cell record (all seeds), or the
                run of ``seed`` when one is given.
            epoch: -1 (or None) for the final result; ``e >= 0`` for the value after epoch ``e``
                (0-based); other negative values count from the last epoch. ``params`` ignores it.
            seed: a training seed; None is the primary seed, which every cell has; ``"mean"`` is the
                mean over all of the cell's seeds (1 or more; not for ``raw``). NaN if any seed's
                value is NaN.

        Returns:
            A float (int for ``params``; NaN where the value was not finite) or, for ``raw``, a dict.

        Raises:
            KeyError: the cell is not in the table, or has no run with ``seed``; the message names them.
            ValueError: unknown metric (the message lists them), a malformed spec, or a metric this
                table did not record (per epoch).
            IndexError: ``epoch`` out of range.
        """
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
        key = self._lookup(spec)
        if isinstance(seed, str):
            if seed != MEAN:
                raise ValueError(f"seed must be an int, None (the primary seed) or {MEAN!r}, got {seed!r}")
            if metric == "raw":
                raise ValueError(f"metric 'raw' needs one seed, not {MEAN!r}; seeds of {key.to_str()}: {self.seeds(key)}")
            values = [self.query(key, metric, epoch=epoch, seed=s) for s in self.seeds(key)]
            return values[0] if metric == "params" else math.fsum(values) / len(values)
        if metric == "raw" and seed is None:
            return copy.deepcopy(self._cells[key])
        run = self._run(key, seed)
        if metric == "raw":
            return copy.deepcopy(run)
        final, history = run["final"], run.get("history", {})
        if metric == "params" or epoch is None or epoch == -1:
            if metric not in final:
                raise ValueError(f"metric {metric!r} was not recorded in benchmark {self.name!r}")
            return _value(final[metric])
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise ValueError(f"epoch must be an int (-1 for the final result), got {epoch!r}")
        column_name = "epoch_seconds" if metric == "train_time" else metric
        column = history.get(column_name)
        if column is None:
            recorded = sorted(k for k in history if k in METRICS) + (["train_time"] if "epoch_seconds" in history else [])
            raise ValueError(
                f"metric {metric!r} was not recorded per epoch in benchmark {self.name!r}; "
                f"per-epoch metrics: {', '.join(recorded) or 'none'}"
            )
        n = len(column)
        if not -n <= epoch < n:
            raise IndexError(f"epoch {epoch} out of range: cell {key.to_str()} was trained for {n} epochs (0..{n - 1})")
        if metric == "train_time":
            index = epoch % n
            return math.fsum(_value(v) for v in column[: index + 1])
        return _value(column[epoch])

    def _run(self, key: CellSpec, seed: Optional[int]) -> dict[str, Any]:
        runs = self._runs[key]
        chosen = self.primary_seed if seed is None else seed
        if chosen not in runs:
            raise KeyError(f"cell {key.to_str()} has no run with seed {chosen!r}; its seeds: {sorted(runs)}")
        return runs[chosen]

    def column(self, metric: str, seed: Union[int, str, None] = None, epoch: Optional[int] = -1) -> list[Any]:
        """``query(spec, metric, epoch, seed)`` for every cell, in table order."""
        return [self.query(spec, metric, epoch=epoch, seed=seed) for spec in self._specs]

    def repeat_pairs(self, metric: str = "test_accuracy") -> list[tuple[CellSpec, float, float]]:
        """The noise-ceiling pairs: ``(spec, value with the primary seed, value with the next seed)``.

        One pair per cell trained with more than one seed; the second value uses the lowest seed
        other than the primary one.
        """
        pairs = []
        for spec in self._specs:
            seeds = self.seeds(spec)
            if len(seeds) > 1:
                pairs.append((spec, self.query(spec, metric, seed=seeds[0]), self.query(spec, metric, seed=seeds[1])))
        return pairs

    def table(self) -> dict[str, Any]:
        """A deep copy of the whole table."""
        return copy.deepcopy(self._table)


# ---- loading ---------------------------------------------------------------------------------------
def load(source: Source) -> SpikingBenchmarkAPI:
    """Open a benchmark: a shipped name, a JSON file, a build directory, or a table dict.

    A build directory (``naslib-snn benchmark build --out DIR``) is read as its current, possibly
    partial, table.

    Raises:
        FileNotFoundError: a shipped benchmark that was not built yet (with the commands that build
            it), or a path that does not exist (with the known names).
        ValueError: the table is malformed (naming the bad path).
        TypeError: ``source`` is none of a name, a path, a dict or an API (the message names its type).
    """
    if isinstance(source, SpikingBenchmarkAPI):
        return source
    if isinstance(source, Mapping):
        return SpikingBenchmarkAPI(source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"expected a benchmark name, a path or a dict, got {type(source).__name__}")
    text = os.fspath(source)
    if text in BENCHMARKS:
        path = BENCHMARKS[text].path
        if not path.is_file():
            raise FileNotFoundError(f"benchmark {text!r} has not been built yet ({path} does not exist); {BUILD_HINT}")
    else:
        path = Path(text).expanduser()
    if path.is_dir():
        from naslib_snn.benchmarks.builder import table_from_build  # noqa: PLC0415  (only for build dirs)

        return SpikingBenchmarkAPI(table_from_build(path), source=str(path))
    if not path.is_file():
        raise FileNotFoundError(
            f"no benchmark named or at {text!r}; known benchmarks: {', '.join(sorted(BENCHMARKS))}, "
            f"or pass a table JSON file or a build directory"
        )
    with open(path, encoding="utf-8") as handle:
        try:
            table = json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from err
    return SpikingBenchmarkAPI(table, source=str(path))


def get_dataset_api(
    search_space: str = "spiking_nb201",
    dataset: str = "fashion_mnist",
    benchmark: Optional[Source] = None,
) -> dict[str, Any]:
    """NASLib-style ``dataset_api``: ``{"api": SpikingBenchmarkAPI, "search_space", "dataset", "benchmark"}``.

    ``benchmark`` overrides the shipped table chosen by (search_space, dataset), e.g. a path or a dict.

    Raises:
        ValueError: no shipped benchmark for (search_space, dataset); the message lists those there are.
        FileNotFoundError: the shipped table was not built yet, with the commands that build it.
    """
    if benchmark is None:
        matches = [info for info in BENCHMARKS.values() if (info.search_space, info.dataset) == (search_space, dataset)]
        if not matches:
            known = ", ".join(f"({i.search_space!r}, {i.dataset!r})" for i in BENCHMARKS.values())
            raise ValueError(
                f"no tabular benchmark for search_space={search_space!r}, dataset={dataset!r}; available: {known}"
            )
        benchmark = matches[0].name
    api = load(benchmark)
    if (api.search_space, api.dataset) != (search_space, dataset):
        raise ValueError(
            f"benchmark {api.name!r} is for search_space={api.search_space!r}, dataset={api.dataset!r}, "
            f"not ({search_space!r}, {dataset!r})"
        )
    return {"api": api, "search_space": search_space, "dataset": dataset, "benchmark": api.name}
