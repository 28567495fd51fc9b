"""Build the tabular spiking benchmark: a fixed, seeded sample of cells, each trained with one recipe.

A build lives in one directory and may span many sessions::

    DIR/build.json          the plan: sample seed, cells, seeds, recipe (written once, checked on resume)
    DIR/cells.jsonl         one line per finished (cell, seed) run, appended whole and fsynced
    DIR/cells/<i>/seed<s>/  the trainer's checkpoint.pt / metrics.json of a run in progress

A run killed mid-training resumes from its own checkpoint; a run in ``cells.jsonl`` is never
trained again, so a build resumed any number of times holds each run exactly once.
:func:`export_table` turns a build into the compact table that :func:`naslib_snn.benchmarks.load`
reads (format in :mod:`naslib_snn.benchmarks.api`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import importlib
import importlib.metadata
import json
import math
import multiprocessing
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from naslib_snn._version import __version__
from naslib_snn.benchmarks.api import BENCHMARKS, FORMAT, FORMAT_VERSION, validate_table
from naslib_snn.search_spaces.spiking_nb201.space import SpikingNB201Space, has_path
from naslib_snn.search_spaces.spiking_nb201.spec import AUTHORS_CIFAR10, AUTHORS_CIFAR100, CellSpec
from naslib_snn.utils.io import append_jsonl, atomic_write_json, atomic_write_text, read_jsonl, repair_jsonl
from naslib_snn.utils.ray import connect_ray, import_ray
from naslib_snn.utils.threads import torch_threads

__all__ = [
    "BENCHMARK_NAME",
    "NUM_CELLS",
    "NUM_REPEATS",
    "PRIMARY_SEED",
    "RECIPE",
    "REPEAT_SEED",
    "SAMPLE_SEED",
    "BuildPlan",
    "build",
    "compact_run",
    "export_table",
    "finished_runs",
    "make_plan",
    "sample_cells",
    "table_from_build",
]

PathLike = Union[str, "os.PathLike[str]"]
TrainFn = Callable[..., Mapping[str, Any]]
ConfigFn = Callable[[Mapping[str, Any]], Any]

BENCHMARK_NAME = "spiking_nb201_fmnist"

#: The one training recipe of the benchmark: ``TrainConfig.for_dataset(RECIPE["dataset"], **rest)``
#: with ``seed`` set per run. A CPU-sized PLACEHOLDER, to be tuned after measuring the cost of one
#: cell (the whole build, 100 cells + the repeats, should cost at most ~5 CPU-hours on 2 cores) and
#: the spread of accuracies (neither near chance nor all alike).
RECIPE: dict[str, Any] = {
    "dataset": "fashion_mnist",  # issue 5: Debian package dataset-fashion-mnist
    "subset": 5000,  # training images (class-balanced)
    "val_subset": 1000,
    "test_subset": 2000,  # evaluated after every epoch by the trainer, so kept small
    "image_size": 16,
    "channels": 8,
    "timesteps": 4,
    "epochs": 5,
    "batch_size": 64,
}

#: Benchmark v2 (issue 9): recipe B of the pilot (docs/results.md), the best noise ceiling per
#: CPU-hour of the three recipes tried: twice v1's training images, the full 10,000-image test set
#: evaluated once after the last epoch, and every cell trained with both seeds.
BENCHMARK_NAME_V2 = "spiking_nb201_fmnist_v2"
RECIPE_V2: dict[str, Any] = {
    "dataset": "fashion_mnist",
    "subset": 10000,
    "val_subset": 1000,
    "test_subset": None,  # all 10,000 test images
    "image_size": 16,
    "channels": 8,
    "timesteps": 4,
    "epochs": 5,
    "batch_size": 64,
    "test_every_epoch": False,
}
PRIMARY_SEED = 0  # every cell is trained with this seed
REPEAT_SEED = 1  # the noise-ceiling cells are trained again with this one
SAMPLE_SEED = 2022  # seeds the choice of cells
NUM_CELLS = 100  # issue 5: at least 100
NUM_REPEATS = 20  # issue 5: at least 15 cells trained twice


@dataclasses.dataclass(frozen=True)
class Preset:
    """The plan settings of a named benchmark: ``naslib-snn benchmark build --name NAME``."""

    recipe: Mapping[str, Any]
    num_cells: int
    num_repeats: int
    sample_seed: int = SAMPLE_SEED


#: name -> how that benchmark is built (v1 exactly as it was built; v2 of issue 9)
PRESETS: dict[str, Preset] = {
    BENCHMARK_NAME: Preset(RECIPE, NUM_CELLS, NUM_REPEATS),
    BENCHMARK_NAME_V2: Preset(RECIPE_V2, num_cells=150, num_repeats=150),
}

BUILD_FORMAT = "naslib_snn.benchmark_build"
EXECUTORS = ("local", "ray")
PLAN_NAME = "build.json"
LOCK_NAME = ".lock"
RUNS_NAME = "cells.jsonl"
RUN_DIRS = "cells"
CHECKPOINT_NAME = "checkpoint.pt"  # the trainer's name (naslib_snn.train.CHECKPOINT_NAME)


# ---- the sample ----------------------------------------------------------------------------------
def sample_cells(n: int = NUM_CELLS, seed: int = SAMPLE_SEED) -> list[CellSpec]:
    """A fixed sample of ``n`` distinct cells, all with an input-to-output path.

    The authors' two published cells (both with backward edges) come first; then forward-only and
    backward cells alternate, so every prefix of the sample is balanced. ``n // 2`` cells (at
    least the two authors' cells) have backward edges and the rest are forward-only. Forward-only
    cells are uniform over NAS-Bench-201's cells with a path; backward cells uniform over the cells
    with a path and at least one backward edge.

    Raises:
        ValueError: ``n < 2`` (the authors' cells are always in).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"the sample needs at least the authors' 2 cells; got n={n!r}")
    rng = np.random.default_rng(seed)
    authors = [AUTHORS_CIFAR10, AUTHORS_CIFAR100]
    n_backward = max(len(authors), n // 2)
    n_forward = n - n_backward
    seen = set(authors)
    forward_space = SpikingNB201Space(backward=False, require_path=True)
    backward_space = SpikingNB201Space(backward=True, require_path=True)
    forward: list[CellSpec] = []
    while len(forward) < n_forward:
        spec = forward_space.sample(rng)
        if spec not in seen:
            seen.add(spec)
            forward.append(spec)
    backward: list[CellSpec] = []
    while len(backward) < n_backward - len(authors):
        spec = backward_space.sample(rng)
        if spec.has_backward and spec not in seen:
            seen.add(spec)
            backward.append(spec)
    cells = list(authors)
    for i in range(max(len(forward), len(backward))):
        cells.extend(group[i] for group in (forward, backward) if i < len(group))
    assert all(has_path(spec) for spec in cells)
    return cells


# ---- the plan ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BuildPlan:
    """What a build trains: ``cells`` with ``seeds[0]``, and ``cells[i]`` for ``i in repeats`` with ``seeds[1:]``."""

    cells: tuple[CellSpec, ...]
    recipe: Mapping[str, Any]
    seeds: tuple[int, ...] = (PRIMARY_SEED, REPEAT_SEED)
    repeats: tuple[int, ...] = ()
    sample_seed: Optional[int] = SAMPLE_SEED
    name: str = BENCHMARK_NAME

    def __post_init__(self) -> None:
        if not self.cells:
            raise ValueError("a build plan needs at least one cell")
        if len(set(self.cells)) != len(self.cells):
            raise ValueError("the cells of a build plan must be distinct")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be a non-empty list of distinct ints, got {self.seeds!r}")
        if self.repeats and len(self.seeds) < 2:
            raise ValueError(f"repeated cells need a second seed; seeds={self.seeds!r}")
        bad = [i for i in self.repeats if not 0 <= i < len(self.cells)]
        if bad or len(set(self.repeats)) != len(self.repeats):
            raise ValueError(f"repeats must be distinct cell positions in 0..{len(self.cells) - 1}, got {self.repeats!r}")
        if "dataset" not in self.recipe:
            raise ValueError(f"the recipe must name its dataset, got {dict(self.recipe)!r}")

    def jobs(self) -> list[tuple[int, int]]:
        """All ``(cell position, seed)`` runs, in training order: cell by cell, each cell's primary run
        followed by its repeats, so that any prefix of a build is balanced and its cells are paired."""
        repeats = set(self.repeats)
        out = []
        for i in range(len(self.cells)):
            out.append((i, self.seeds[0]))
            if i in repeats:
                out += [(i, seed) for seed in self.seeds[1:]]
        return out

    def recipe_for(self, seed: int) -> dict[str, Any]:
        """The recipe of one run: :attr:`recipe` with its ``seed``."""
        return {**dict(self.recipe), "seed": int(seed)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BUILD_FORMAT,
            "version": 1,
            "name": self.name,
            "search_space": "spiking_nb201",
            "dataset": self.recipe["dataset"],
            "sample_seed": self.sample_seed,
            "seeds": list(self.seeds),
            "repeats": list(self.repeats),
            "recipe": dict(self.recipe),
            "cells": [{"index": i, "arch": s.to_str(), "op_indices": list(s.op_indices)} for i, s in enumerate(self.cells)],
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "BuildPlan":
        if obj.get("format") != BUILD_FORMAT:
            raise ValueError(f"not a build plan: format {obj.get('format')!r}, expected {BUILD_FORMAT!r}")
        return cls(
            cells=tuple(CellSpec.from_str(c["arch"]) for c in obj["cells"]),
            recipe=dict(obj["recipe"]),
            seeds=tuple(obj["seeds"]),
            repeats=tuple(obj["repeats"]),
            sample_seed=obj.get("sample_seed"),
            name=obj.get("name", BENCHMARK_NAME),
        )


def make_plan(
    num_cells: int = NUM_CELLS,
    num_repeats: int = NUM_REPEATS,
    sample_seed: int = SAMPLE_SEED,
    recipe: Optional[Mapping[str, Any]] = None,
    seeds: Sequence[int] = (PRIMARY_SEED, REPEAT_SEED),
    cells: Optional[Sequence[CellSpec]] = None,
    name: str = BENCHMARK_NAME,
) -> BuildPlan:
    """The plan of a build: :func:`sample_cells` (or the given ``cells``), the first ``num_repeats``
    of them trained again with ``seeds[1:]``, and ``recipe`` (default :data:`RECIPE`).

    Raises:
        ValueError: ``num_repeats`` exceeds the number of cells, or any check of :class:`BuildPlan`.
    """
    specs = tuple(cells) if cells is not None else tuple(sample_cells(num_cells, sample_seed))
    if not 0 <= num_repeats <= len(specs):
        raise ValueError(f"num_repeats must be in 0..{len(specs)} (the number of cells), got {num_repeats}")
    return BuildPlan(
        cells=specs,
        recipe=dict(RECIPE if recipe is None else recipe),
        seeds=tuple(int(s) for s in seeds),
        repeats=tuple(range(num_repeats)),
        sample_seed=None if cells is not None else sample_seed,
        name=name,
    )


def load_plan(out_dir: PathLike) -> BuildPlan:
    """The plan of the build in ``out_dir``. Raises FileNotFoundError if there is none."""
    path = Path(out_dir) / PLAN_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{out_dir} is not a benchmark build directory (no {PLAN_NAME})")
    return BuildPlan.from_dict(json.loads(path.read_text(encoding="utf-8")))


# ---- running ---------------------------------------------------------------------------------------
def default_config(recipe: Mapping[str, Any]) -> Any:
    """``naslib_snn.train.TrainConfig`` of a run's recipe (a dict with ``dataset`` and overrides)."""
    from naslib_snn.train import TrainConfig  # noqa: PLC0415  (torch-heavy; only when training)

    rest = dict(recipe)
    return TrainConfig.for_dataset(rest.pop("dataset"), **rest)


def default_train(spec: CellSpec, config: Any, out_dir: Optional[PathLike] = None, resume: bool = False,
                  progress: bool = True) -> Mapping[str, Any]:
    """``naslib_snn.train.train``, imported when first called."""
    from naslib_snn.train import train  # noqa: PLC0415

    return train(spec, config, out_dir=out_dir, resume=resume, progress=progress)


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a resolved config (a dataclass, a mapping, or an object with ``to_dict``)."""
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"cannot record a config of type {type(config).__name__}")


def machine_info() -> dict[str, Any]:
    """The machine that trains: CPU model, core count, OS, Python and torch versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "torch": torch_version,
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def run_dir(out_dir: PathLike, index: int, seed: int) -> Path:
    """Where the run ``(index, seed)`` keeps its checkpoint while it trains."""
    return Path(out_dir) / RUN_DIRS / str(index) / f"seed{seed}"


def _train_one(
    train_fn: TrainFn,
    config_fn: ConfigFn,
    spec_text: str,
    recipe: Mapping[str, Any],
    directory: str,
    threads: Optional[int],
    progress: bool,
) -> dict[str, Any]:
    """Train one run (in this process or a worker) and return its result with timing.

    ``threads`` sets torch's thread count for the run; a build run in the caller's process gets the
    caller's count back afterwards.
    """
    spec = CellSpec.from_str(spec_text)
    config = config_fn(recipe)
    wall, cpu = time.perf_counter(), time.process_time()
    with torch_threads(threads):
        result = dict(train_fn(spec, config, out_dir=directory, resume=True, progress=progress))
    return {
        "result": result,
        "config": config_dict(config),
        "wall_seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
    }


@contextlib.contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` so that two builds never train the same runs at once.

    Raises:
        RuntimeError: another process holds the lock (the message gives its pid).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            import fcntl  # noqa: PLC0415  (POSIX; elsewhere the build runs unlocked)
        except ImportError:
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            raise RuntimeError(f"another build is running in {out_dir} (pid {owner}); wait for it or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def finished_runs(out_dir: PathLike, plan: Optional[BuildPlan] = None) -> dict[tuple[int, int], dict[str, Any]]:
    """The runs recorded in ``out_dir/cells.jsonl``, keyed by ``(cell position, seed)``.

    A torn last line (a kill mid-write) is ignored; a duplicated run (impossible through
    :func:`build`, but a hand-merged file may have one) keeps its first record, with a warning.

    Raises:
        ValueError: a record names a cell that is not the plan's cell at that position.
    """
    plan = load_plan(out_dir) if plan is None else plan
    runs: dict[tuple[int, int], dict[str, Any]] = {}
    for record in read_jsonl(Path(out_dir) / RUNS_NAME):
        key = (int(record["index"]), int(record["seed"]))
        if not 0 <= key[0] < len(plan.cells) or plan.cells[key[0]].to_str() != record["arch"]:
            raise ValueError(
                f"{out_dir}/{RUNS_NAME}: record for cell {key[0]} ({record['arch']}) does not match the plan"
            )
        if key in runs:
            warnings.warn(f"{out_dir}/{RUNS_NAME}: run {key} is recorded twice; keeping the first record", stacklevel=2)
            continue
        runs[key] = record
    return runs


def build(
    out_dir: PathLike,
    plan: Optional[BuildPlan] = None,
    resume: bool = False,
    train_fn: Optional[TrainFn] = None,
    config_fn: Optional[ConfigFn] = None,
    workers: int = 1,
    threads: Optional[int] = None,
    max_runs: Optional[int] = None,
    max_seconds: Optional[float] = None,
    keep_checkpoints: bool = False,
    progress: bool = True,
    train_progress: bool = False,
    data_dir: Optional[PathLike] = None,
    executor: str = "local",
    ray_address: Optional[str] = None,
) -> dict[str, Any]:
    """Train every run of ``plan`` not yet in ``out_dir/cells.jsonl``, appending each as it finishes.

    Args:
        out_dir: the build directory (created if needed).
        plan: what to train; None means :func:`make_plan` () for a new build, or the stored plan on resume.
            On resume a given plan must equal the stored one.
        resume: continue the build in ``out_dir``; without it a directory that already holds a plan is refused.
        train_fn: ``train_fn(spec, config, out_dir=..., resume=True, progress=...) -> result`` with the
            result layout of ``naslib_snn.train.train``; default that function. It must resume from
            ``out_dir/checkpoint.pt`` when there is one. With ``workers > 1`` it must be picklable.
        config_fn: recipe dict (``dataset``, overrides, ``seed``) -> the config passed to ``train_fn``;
            default ``TrainConfig.for_dataset``.
        workers: runs trained in parallel, each in its own process.
        threads: torch threads per run (default: unchanged in-process, ``cpu_count // workers`` in workers).
        max_runs / max_seconds: stop starting new runs after this many runs / seconds (a session budget).
        keep_checkpoints: keep each finished run's ``checkpoint.pt`` (default: removed once recorded).
            The trainer's ``metrics.json`` stays in the run's directory either way.
        progress: a progress bar over runs; ``train_progress`` shows the trainer's own bars.
        data_dir: where the dataset is, passed to the config as ``data_dir`` (not part of the plan).
        executor: ``"local"`` (processes on this machine) or ``"ray"``: at most ``workers`` runs in
            flight as Ray tasks of ``threads`` CPUs each (default 1), on the cluster at ``ray_address``
            (None: a local Ray instance, or the session already initialised). The driver records every
            finished run; run directories (checkpoints, ``metrics.json``) are written where each task
            runs, so a run interrupted on a node without this ``out_dir`` starts over when resumed.

    Returns:
        ``{"planned", "done", "trained", "remaining"}`` run counts.

    Raises:
        FileExistsError: ``out_dir`` holds a build and ``resume`` is False.
        ValueError: ``plan`` differs from the stored plan, or bad counts.
        Whatever ``train_fn`` raises, after the runs finished before it were recorded.
        RuntimeError: another build holds ``out_dir``'s lock.
        ImportError: ``executor="ray"`` without Ray.
        naslib_snn.utils.ray.RayConnectionError: Ray could not start or join ``ray_address``; raised
            before anything is written.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    ray_started = connect_ray(ray_address) if executor == "ray" else False
    try:
        with build_lock(Path(out_dir)):
            return _build_locked(out_dir, plan, resume, train_fn, config_fn, workers, threads, max_runs, max_seconds,
                                 keep_checkpoints, progress, train_progress, data_dir, executor)
    finally:
        if ray_started:
            import_ray().shutdown()


def _build_locked(
    out_dir: PathLike,
    plan: Optional[BuildPlan],
    resume: bool,
    train_fn: Optional[TrainFn],
    config_fn: Optional[ConfigFn],
    workers: int,
    threads: Optional[int],
    max_runs: Optional[int],
    max_seconds: Optional[float],
    keep_checkpoints: bool,
    progress: bool,
    train_progress: bool,
    data_dir: Optional[PathLike],
    executor: str,
) -> dict[str, Any]:
    from tqdm.auto import tqdm  # noqa: PLC0415

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    out = Path(out_dir)
    plan_path = out / PLAN_NAME
    if plan_path.exists():
        if not resume:
            raise FileExistsError(
                f"{out} already holds a benchmark build; pass --resume (resume=True) to continue it, or choose another --out"
            )
        stored = load_plan(out)
        if plan is not None and plan.to_dict() != stored.to_dict():
            diff = [k for k, v in plan.to_dict().items() if stored.to_dict().get(k) != v]
            raise ValueError(
                f"{out} was started with a different plan (differs in: {', '.join(diff)}); resume it with the same "
                f"options, or build into another --out"
            )
        plan = stored
    else:
        plan = make_plan() if plan is None else plan
        atomic_write_json(plan_path, plan.to_dict())
    train_fn = default_train if train_fn is None else train_fn
    config_fn = default_config if config_fn is None else config_fn

    runs_path = out / RUNS_NAME
    repair_jsonl(runs_path)  # a kill mid-append leaves a torn line; later lines must start fresh
    done = finished_runs(out, plan)
    todo = [job for job in plan.jobs() if job not in done]
    if max_runs is not None:
        todo = todo[: max(0, int(max_runs))]
    machine = machine_info()
    started = time.monotonic()
    if workers > 1 and threads is None and executor == "local":
        threads = max(1, (os.cpu_count() or 1) // workers)

    def record(job: tuple[int, int], outcome: Mapping[str, Any]) -> None:
        index, seed = job
        spec = plan.cells[index]
        result = dict(outcome["result"])
        result.pop("config", None)  # recorded once per record below, resolved
        append_jsonl(
            runs_path,
            {
                "index": index,
                "arch": spec.to_str(),
                "op_indices": list(spec.op_indices),
                "seed": seed,
                "result": result,
                "config": outcome["config"],
                "wall_seconds": outcome["wall_seconds"],
                "cpu_seconds": outcome["cpu_seconds"],
                "machine": machine,
                "version": __version__,
                "finished": _now(),
            },
        )
        checkpoint = run_dir(out, index, seed) / CHECKPOINT_NAME
        if not keep_checkpoints and checkpoint.exists():
            checkpoint.unlink()

    def args_of(job: tuple[int, int]) -> tuple[Any, ...]:
        index, seed = job
        directory = run_dir(out, index, seed)
        directory.mkdir(parents=True, exist_ok=True)
        recipe = plan.recipe_for(seed)
        if data_dir is not None:
            recipe["data_dir"] = os.fspath(data_dir)
        return (train_fn, config_fn, plan.cells[index].to_str(), recipe, str(directory), threads, train_progress)

    def out_of_time() -> bool:
        return max_seconds is not None and time.monotonic() - started >= max_seconds

    total = len(plan.jobs())
    bar = tqdm(total=total, initial=len(done), desc=plan.name, unit="run", disable=not progress, dynamic_ncols=True)
    trained = 0
    try:
        if executor == "ray":
            ray = import_ray()
            remote = ray.remote(num_cpus=threads or 1)(_train_one)
            queue = list(todo)
            refs: list[Any] = []
            jobs: list[tuple[int, int]] = []
            while queue or refs:
                while queue and len(refs) < workers and not out_of_time():
                    job = queue.pop(0)
                    refs.append(remote.remote(*args_of(job)))
                    jobs.append(job)
                if not refs:
                    break
                ready, _ = ray.wait(refs, num_returns=1)
                position = next(i for i, ref in enumerate(refs) if ref is ready[0])
                refs.pop(position)
                record(jobs.pop(position), ray.get(ready[0]))
                trained += 1
                bar.update(1)
        elif workers == 1:
            for job in todo:
                if out_of_time():
                    break
                bar.set_postfix_str(f"cell {job[0]} seed {job[1]}")
                record(job, _train_one(*args_of(job)))
                trained += 1
                bar.update(1)
        else:
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                pending: dict[concurrent.futures.Future, tuple[int, int]] = {}
                queue = list(todo)
                while queue or pending:
                    while queue and len(pending) < workers and not out_of_time():
                        job = queue.pop(0)
                        pending[pool.submit(_train_one, *args_of(job))] = job
                    if not pending:
                        break
                    finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in finished:
                        job = pending.pop(future)
                        record(job, future.result())
                        trained += 1
                        bar.update(1)
    finally:
        bar.close()
    done_now = len(done) + trained
    return {"planned": total, "done": done_now, "trained": trained, "remaining": total - done_now}


# ---- export ----------------------------------------------------------------------------------------
#: trainer key -> table key (history and final); keys not listed keep their name
_RENAMES = {
    "train_top1": "train_accuracy",
    "val_top1": "val_accuracy",
    "test_top1": "test_accuracy",
    "mean_firing_rate": "firing_rate",
    "train_seconds": "train_time",
}
#: the per-epoch columns kept in the compact table
HISTORY_COLUMNS = (
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "firing_rate",
    "lr",
    "epoch_seconds",
)


def _number(value: Any) -> Optional[float]:
    """A finite number rounded to 6 significant digits; None for anything non-finite or absent."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _mean(values: Iterable[Any]) -> Optional[float]:
    finite = [float(v) for v in values if _number(v) is not None]
    return math.fsum(finite) / len(finite) if finite else None


def _history_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One epoch of the trainer's history with table names; the per-epoch ``train_seconds`` (training
    part of an epoch) is dropped, ``epoch_seconds`` kept."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "train_seconds":
            continue
        if key == "firing_rate" and isinstance(value, Mapping):
            if "mean_firing_rate" not in row:
                out["firing_rate"] = _number(_mean(value.values()))
            continue
        out[_RENAMES.get(key, key)] = _number(value)
    return out


def compact_run(record: Mapping[str, Any]) -> dict[str, Any]:
    """One ``cells.jsonl`` record as a table run: ``{"seed", "final", "history"}``.

    Renames the trainer's keys (``test_top1`` -> ``test_accuracy``, ``mean_firing_rate`` ->
    ``firing_rate``, ``train_seconds`` -> ``train_time``), keeps the per-layer rates of the
    final epoch as ``layer_firing_rate``, keeps the :data:`HISTORY_COLUMNS` per epoch, and turns
    non-finite numbers into null. ``train_time`` falls back to the recorded wall time.
    """
    result = record["result"]
    final: dict[str, Any] = {}
    for key, value in dict(result.get("final", {})).items():
        if key == "firing_rate" and isinstance(value, Mapping):
            final["layer_firing_rate"] = {str(k): _number(v) for k, v in value.items()}
            continue
        if isinstance(value, Mapping) or isinstance(value, (list, tuple, str)) or value is None:
            continue
        final[_RENAMES.get(key, key)] = _number(value)
    rows = [_history_row(row) for row in result.get("history", [])]
    history = {
        column: [row.get(column) for row in rows]
        for column in HISTORY_COLUMNS
        if any(row.get(column) is not None for row in rows)
    }
    if "firing_rate" not in final and "layer_firing_rate" in final:
        final["firing_rate"] = _number(_mean(final["layer_firing_rate"].values()))
    for column, values in history.items():
        if column in HISTORY_COLUMNS[:7] and final.get(column) is None and values and values[-1] is not None:
            final[column] = values[-1]
    if final.get("train_time") is None:
        final["train_time"] = _number(record.get("wall_seconds"))
    return {"seed": int(record["seed"]), "final": final, "history": history}


def table_from_build(out_dir: PathLike, require_complete: bool = False) -> dict[str, Any]:
    """The benchmark table of the build in ``out_dir`` (cells whose primary run has finished).

    Raises:
        ValueError: ``require_complete`` and some runs are missing, or no cell has finished yet.
    """
    out = Path(out_dir)
    plan = load_plan(out)
    runs = finished_runs(out, plan)
    jobs = plan.jobs()
    missing = [job for job in jobs if job not in runs]
    if require_complete and missing:
        raise ValueError(
            f"the build in {out} is incomplete: {len(missing)} of {len(jobs)} runs missing "
            f"(first: cell {missing[0][0]} seed {missing[0][1]}); resume it, or export with --partial"
        )
    compact = {key: compact_run(rec) for key, rec in runs.items()}
    cells = []
    for index, spec in enumerate(plan.cells):
        seeds = [seed for seed in plan.seeds if (index, seed) in runs]
        if plan.seeds[0] not in seeds:
            continue
        cells.append({
            "arch": spec.to_str(),
            "op_indices": list(spec.op_indices),
            "runs": [compact[(index, seed)] for seed in seeds],
        })
    if not cells:
        raise ValueError(f"no cell of the build in {out} has finished its primary run yet")
    records = list(runs.values())
    machines = []
    for rec in records:
        if rec.get("machine") not in machines:
            machines.append(rec.get("machine"))
    config = next((rec.get("config") for rec in records if rec["seed"] == plan.seeds[0]), None)
    finished = sorted(rec["finished"] for rec in records if rec.get("finished"))
    backward = sum(1 for cell in cells if CellSpec.from_str(cell["arch"]).has_backward)
    info = BENCHMARKS.get(plan.name)
    meta = {
        "search_space": "spiking_nb201",
        "dataset": plan.recipe["dataset"],
        "description": (
            "Spiking NAS-Bench-201 cells with backward edges (SNASNet), each trained once with one recipe "
            f"on {plan.recipe['dataset']}; accuracies in percent"
        ),
        "seeds": list(plan.seeds),
        "sample_seed": plan.sample_seed,
        "sample": (
            "naslib_snn.benchmarks.builder.sample_cells: the authors' CIFAR-10 and CIFAR-100 cells, then "
            "alternating uniform forward-only cells and uniform cells with backward edges, all with an "
            "input-to-output path"
        ),
        "num_cells": len(cells),
        "num_backward": backward,
        "num_forward": len(cells) - backward,
        "num_repeated": sum(1 for cell in cells if len(cell["runs"]) > 1),
        "planned_cells": len(plan.cells),
        "complete": not missing,
        "recipe": dict(plan.recipe),
        "config": config,
        "package_version": __version__,
        "built_with_versions": sorted({str(rec.get("version")) for rec in records}),
        "cost": {
            "runs": len(records),
            "train_seconds": round(math.fsum(float(run["final"].get("train_time") or 0.0) for run in compact.values()), 1),
            "cpu_seconds": round(math.fsum(float(r.get("cpu_seconds") or 0.0) for r in records), 1),
            "wall_seconds": round(math.fsum(float(r.get("wall_seconds") or 0.0) for r in records), 1),
            "note": "train_seconds: summed training + evaluation time of all runs (CPU cost on the machines below); "
            "cpu_seconds: process CPU time, all threads",
        },
        "machines": machines,
        "first_run_finished": finished[0] if finished else None,
        "last_run_finished": finished[-1] if finished else None,
        "date": _now(),
    }
    if info is not None and info.dataset != meta["dataset"]:
        meta["note"] = f"built with dataset {meta['dataset']!r}, not the shipped benchmark's {info.dataset!r}"
    table = {"format": FORMAT, "version": FORMAT_VERSION, "name": plan.name, "meta": meta, "cells": cells}
    validate_table(table)
    return table


def dumps_table(table: Mapping[str, Any]) -> str:
    """Compact JSON with one cell per line (small, and readable in a diff)."""
    head = {k: v for k, v in table.items() if k != "cells"}
    lines = [json.dumps(cell, separators=(",", ":"), allow_nan=False) for cell in table["cells"]]
    text = json.dumps(head, indent=1, allow_nan=False)
    return text[:-2] + ',\n "cells": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def export_table(out_dir: PathLike, path: Optional[PathLike] = None, partial: bool = False) -> Path:
    """Write the build's table to ``path`` (default: the shipped ``naslib_snn/benchmarks/data/<name>.json``).

    Raises:
        ValueError: the build is incomplete and ``partial`` is False.
    """
    plan = load_plan(out_dir)
    table = table_from_build(out_dir, require_complete=not partial)
    if path is None:
        info = BENCHMARKS.get(plan.name)
        if info is None or info.dataset != plan.recipe["dataset"]:
            raise ValueError(
                f"build {plan.name!r} (dataset {plan.recipe['dataset']!r}) is not a shipped benchmark; pass an output path"
            )
        path = info.path
    path = Path(path)
    atomic_write_text(path, dumps_table(table))
    return path


def load_callable(text: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (for ``--train-fn``).

    Raises:
        ValueError: not of the form ``module:attr``, or the attribute is not callable.
    """
    module_name, sep, attr = text.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected 'module:function', got {text!r}")
    target = getattr(importlib.import_module(module_name), attr)
    if not callable(target):
        raise ValueError(f"{text!r} is not callable")
    return target

