"""The paper's search: score N random cells with a training-free proxy, keep the best (Sec. 4.1, Fig. 4).

    >>> from naslib_snn.search import random_search
    >>> result = random_search(dataset="digits", candidates=20, out_dir="runs/search")
    >>> result.best["arch"], result.best["score"]

Command line (``naslib-snn search``, the default subcommand of ``naslib-snn``)::

    naslib-snn search                                   # 100 cells on digits, under a minute on 2 cores
    naslib-snn search --dataset cifar10 --data-dir DATA --candidates 5000 --batch-size 256 \\
        --batches 2 --channels 256 --workers 8          # the paper's setting
    naslib-snn search --out runs/search --resume        # continue a killed run

**Determinism.** Candidate ``k`` is fully determined by ``(seed, k)``: the candidate list is
``SpikingNB201Space(...).sample_many(N, seed, unique=True)`` (one seeded generator, so the first k
candidates do not depend on N), and candidate ``k``'s weights are initialised, and its forward
pass seeded, with :func:`candidate_seed` ``(seed, k)``. The scoring images are drawn once from the
training split with ``seed`` (:func:`naslib_snn.data.draw_scoring_batches`, class-balanced, the
draw the NASLib loaders and the zero-cost tables use too) and are the same for every candidate, as
in the paper. Scoring runs single-threaded in every process (``torch.set_num_threads(1)``);
parallelism comes from ``workers``. Results therefore do not depend on the number of workers, the
executor, or on resumption.

**Files** in ``out_dir``:

* ``results.jsonl``: one line per scored candidate (``index``, ``arch``, ``op_indices``,
  ``matrix``, ``has_backward``, ``score``, ``seconds``, ``init_seed``), appended whole by the parent
  process only, in completion order. A silent network scores ``-inf`` (written ``"-inf"``).
* ``config.json``: the settings that determine the scores, plus the scoring images' sampler and
  SHA-256. A run started before the sampler was unified (no ``scoring_sampler`` entry) cannot be
  resumed: its images differ.
* ``best.json``: the best candidate so far (rewritten atomically when it improves, and at the end).
  Ties go to the lowest index.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import dataclasses
import hashlib
import math
import multiprocessing
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from naslib_snn.search_spaces.spiking_nb201.space import SAMPLERS, SpikingNB201Space
from naslib_snn.search_spaces.spiking_nb201.spec import CellSpec
from naslib_snn.utils.checks import check_int
from naslib_snn.utils.io import append_jsonl, atomic_write_json, read_jsonl, repair_jsonl
from naslib_snn.utils.malloc import tune_malloc
from naslib_snn.utils.ray import RAY_TOKEN_HINT, RayConnectionError, connect_ray, import_ray  # noqa: F401 (re-exported)
from naslib_snn.utils.seeds import derive_seed
from naslib_snn.utils.threads import torch_threads

__all__ = [
    "EXECUTORS",
    "SearchConfig",
    "SearchResult",
    "candidate_seed",
    "configure_parser",
    "random_search",
    "run",
    "scoring_batches",
]

EXECUTORS = ("local", "ray")
RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"
BEST_FILE = "best.json"
DEFAULT_OUT = "runs/search"
MIN_IMAGE_SIZE = 4

# Candidate k's stream is derive_seed(seed, _INIT_STREAM, k); the scoring images have their own
# stream in naslib_snn.data.scoring.
_INIT_STREAM = 2

# Settings that may differ between a run and its resumption: they never change a score.
# `candidates` may grow (the first k candidates do not depend on N); the data directory may move,
# the scoring images are compared through their hash instead.
_RESUMABLE_CHANGES = frozenset({"candidates", "data_dir"})


@dataclass(frozen=True)
class SearchConfig:
    """The settings that determine a search's candidates and their scores.

    Defaults are small, for a CPU run of about a minute on digits; the paper's values are noted.
    ``image_size`` None means the dataset's default size. ``data_dir`` is ignored by datasets that
    need no files (digits, synthetic).

    Raises:
        ValueError: on construction, for an unknown dataset, metric or sampler, a count < 1, an
            image size < 4, a negative seed, or ``sampler="authors"`` with ``backward=False``.
        TypeError: a count or seed that is not an int.
    """

    dataset: str = "digits"
    data_dir: Optional[str] = None
    candidates: int = 100  # paper: 5000
    batch_size: int = 32  # authors' code: 256
    batches: int = 1  # authors' code: 2 (the score is averaged over them)
    channels: int = 8  # paper: 256 for CIFAR-10, 128 for CIFAR-100 / Tiny-ImageNet
    timesteps: int = 5  # paper
    image_size: Optional[int] = None
    metric: str = "sahd"  # paper: SAHD
    backward: bool = True  # paper: backward edges are part of the space
    require_path: bool = True  # skip cells whose output does not depend on the input
    sampler: str = "uniform"  # "authors" mimics the authors' candidate generator
    seed: int = 0

    def __post_init__(self) -> None:
        from naslib_snn.data import dataset_info
        from naslib_snn.predictors.registry import list_proxies

        for name in ("candidates", "batch_size", "batches", "channels", "timesteps"):
            check_int(name, getattr(self, name), 1)
        if self.image_size is not None:
            # The network halves the image twice (reduction, final pooling) before the classifier.
            check_int("image_size", self.image_size, MIN_IMAGE_SIZE)
        check_int("seed", self.seed, 0)
        dataset_info(self.dataset)  # ValueError listing the known datasets
        if self.metric not in list_proxies():
            raise ValueError(f"unknown metric {self.metric!r}; expected one of {', '.join(list_proxies())}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        if self.sampler == "authors" and not self.backward:
            raise ValueError("sampler 'authors' draws backward edges; it cannot be used with backward=False")
        if self.data_dir is not None and not isinstance(self.data_dir, (str, Path)):
            raise TypeError(f"data_dir must be a path or None, got {self.data_dir!r}")

    def space(self) -> SpikingNB201Space:
        """The search space candidates are drawn from."""
        return SpikingNB201Space(backward=self.backward, require_path=self.require_path, sampler=self.sampler)

    def resolved_image_size(self) -> int:
        """``image_size``, or the dataset's default size when it is None."""
        from naslib_snn.data import dataset_info

        return self.image_size if self.image_size is not None else dataset_info(self.dataset).image_size


@dataclass
class SearchResult:
    """What :func:`random_search` returns.

    ``records`` holds every scored candidate (this session's and earlier ones'), sorted by index;
    each is a dict as written to ``results.jsonl``. ``best`` is the record with the highest
    score, the lowest index among equal scores. ``scored_now`` counts the candidates this call
    scored; ``seconds`` is this call's wall time.
    """

    config: SearchConfig
    records: list[dict]
    best: dict
    out_dir: Optional[Path]
    scored_now: int
    seconds: float

    @property
    def best_spec(self) -> CellSpec:
        """The winning cell."""
        return CellSpec.from_op_indices(self.best["op_indices"])

    @property
    def scores(self) -> list[float]:
        """Scores in index order."""
        return [record["score"] for record in self.records]


# ------------------------------------------------------------------------------------ helpers


def candidate_seed(seed: int, index: int) -> int:
    """The torch seed of candidate ``index`` in a search seeded with ``seed`` (an int in [0, 2**63)).

    ``derive_seed(seed, 2, index)`` (:func:`naslib_snn.utils.seeds.derive_seed`), so neighbouring
    seeds and indices give unrelated streams.

    Raises:
        TypeError: ``seed`` or ``index`` is not an int.
        ValueError: ``seed`` or ``index`` is < 0.
    """
    return derive_seed(check_int("seed", seed, 0), _INIT_STREAM, check_int("index", index, 0))


def scoring_batches(config: SearchConfig) -> list[np.ndarray]:
    """The images every candidate is scored on: ``batches`` float32 arrays ``[B, C, S, S]``.

    Drawn from the un-augmented, normalised training split by
    :func:`naslib_snn.data.load_scoring_batches` with ``seed``: distinct, class-balanced images, the
    same as ``naslib_snn.naslib_data.scoring_batches`` and ``naslib_snn.benchmarks.zc.scoring_batches``
    give for the same dataset, image size, batch size, batches and seed.

    Raises:
        ValueError: the split holds fewer than ``batch_size * batches`` images, or the dataset is unknown.
        FileNotFoundError: the dataset's files are missing (the message shows the expected layout).
    """
    from naslib_snn.data import load_scoring_batches

    images, _ = load_scoring_batches(
        config.dataset, config.batch_size, config.batches, config.seed,
        image_size=config.resolved_image_size(), data_dir=config.data_dir,
    )
    return [batch.numpy() for batch in images]


def _images_digest(batches: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for batch in batches:
        digest.update(str(batch.shape).encode())
        digest.update(np.ascontiguousarray(batch).tobytes())
    return digest.hexdigest()


def _identity(config: SearchConfig, digest: str) -> dict[str, Any]:
    """config.json's content: the settings (image size resolved), the images' sampler and hash."""
    from naslib_snn._version import __version__
    from naslib_snn.data import SCORING_SAMPLER

    identity = dataclasses.asdict(config)
    identity["data_dir"] = None if config.data_dir is None else str(config.data_dir)
    identity["image_size"] = config.resolved_image_size()
    identity["scoring_sampler"] = SCORING_SAMPLER
    identity["images_sha256"] = digest
    identity["naslib_snn_version"] = __version__
    return identity


def _best_of(records: Iterable[dict]) -> Optional[dict]:
    """The record with the highest score; the lowest index among ties. None if there are none."""
    best = None
    for record in records:
        if best is None or (record["score"], -record["index"]) > (best["score"], -best["index"]):
            best = record
    return best


def _json_score(value: float) -> Union[float, str]:
    return value if math.isfinite(value) else ("-inf" if value < 0 else "inf")


# --------------------------------------------------------------------------- scoring a candidate


@dataclass(frozen=True)
class _ScoringContext:
    """Everything a worker needs besides the candidate: picklable, sent once per worker."""

    batches: tuple[np.ndarray, ...]
    metric: str
    num_classes: int
    in_channels: int
    channels: int
    timesteps: int
    image_size: int


@dataclass(frozen=True)
class _Task:
    index: int
    op_indices: tuple[int, ...]
    init_seed: int


_WORKER_CONTEXT: Optional[_ScoringContext] = None
_WORKER_INPUTS: Optional[list] = None


def _init_worker(context: _ScoringContext) -> None:
    """Process-pool initializer: one thread per worker, the scoring images kept as tensors."""
    import torch

    global _WORKER_CONTEXT, _WORKER_INPUTS
    torch.set_num_threads(1)
    tune_malloc()
    _WORKER_CONTEXT = context
    _WORKER_INPUTS = [torch.from_numpy(np.array(batch)) for batch in context.batches]


def _worker_score(task: _Task) -> dict:
    if _WORKER_CONTEXT is None or _WORKER_INPUTS is None:
        raise RuntimeError("scoring worker used before _init_worker")
    return _score_task(task, _WORKER_CONTEXT, _WORKER_INPUTS)


def _score_task(task: _Task, context: _ScoringContext, inputs: list) -> dict:
    """Build candidate ``task`` with its seed and score it; returns its results.jsonl record.

    Raises:
        FloatingPointError: the proxy returned NaN (a bug: proxies return a number or -inf).
    """
    import torch

    from naslib_snn.predictors.registry import get_proxy
    from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network

    spec = CellSpec.from_op_indices(task.op_indices)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(task.init_seed)
        network = SpikingNB201Network(
            spec,
            num_classes=context.num_classes,
            in_channels=context.in_channels,
            channels=context.channels,
            timesteps=context.timesteps,
            image_size=context.image_size,
            # Step by step even for forward-only cells: the same score, and on CPU it is as fast as
            # multi-step mode with ~40% less peak memory (bench/bench_multistep.py, bench/bench_score.py).
            multi_step=False,
        )
    value = float(get_proxy(context.metric)(network, inputs, seed=task.init_seed))
    seconds = time.perf_counter() - start
    if math.isnan(value):
        raise FloatingPointError(f"metric {context.metric!r} returned NaN for candidate {task.index} ({spec.to_str()})")
    return {
        "index": task.index,
        "arch": spec.to_str(),
        "op_indices": list(spec.op_indices),
        "matrix": spec.matrix_str(),
        "has_backward": spec.has_backward,
        "score": value,
        "seconds": round(seconds, 4),
        "init_seed": task.init_seed,
    }


def _run_inline(tasks: Sequence[_Task], context: _ScoringContext) -> Iterator[dict]:
    import torch

    inputs = [torch.from_numpy(np.array(batch)) for batch in context.batches]
    with torch_threads(1):
        for task in tasks:
            yield _score_task(task, context, inputs)


# Imported once by the fork server, so that forked workers start with torch loaded.
_FORKSERVER_PRELOAD = ("naslib_snn.search_spaces.spiking_nb201.network", "naslib_snn.predictors.registry")


def _worker_context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only has an effect before the fork server starts; "__main__" keeps the default behaviour.
    context.set_forkserver_preload(["__main__", *_FORKSERVER_PRELOAD])
    return context


def _run_processes(tasks: Sequence[_Task], context: _ScoringContext, workers: int) -> Iterator[dict]:
    """Score in ``workers`` processes; yields records as they complete.

    Workers come from a fork server that has imported torch and the network once (later pools
    reuse it, so they start in a fraction of a second), or are spawned where there is no fork
    server. Neither inherits the parent's torch thread pools or locks, unlike a plain fork.
    """
    pool = futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_worker_context(),
        initializer=_init_worker,
        initargs=(context,),
    )
    try:
        pending = {pool.submit(_worker_score, task) for task in tasks}
        for done in futures.as_completed(pending):
            yield done.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray_score(task: _Task, context: _ScoringContext) -> dict:
    import torch

    torch.set_num_threads(1)
    tune_malloc()
    inputs = [torch.from_numpy(np.array(batch)) for batch in context.batches]
    return _score_task(task, context, inputs)


def _run_ray(
    tasks: Sequence[_Task], context: _ScoringContext, workers: int, address: Optional[str]
) -> Iterator[dict]:
    """Score on Ray with at most ``workers`` tasks in flight; yields records as they complete.

    Connects to ``address`` (None starts a local instance) unless Ray is already initialised, in
    which case the caller's session (e.g. a test's local instance, or :func:`_prepare`'s) is used
    and left running.
    """
    ray = import_ray()
    started_here = connect_ray(address)
    try:
        remote = ray.remote(num_cpus=1)(_ray_score)
        context_ref = ray.put(context)
        queue = list(tasks)[::-1]
        in_flight: list = []
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                in_flight.append(remote.remote(queue.pop(), context_ref))
            done, in_flight = ray.wait(in_flight, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()


# ----------------------------------------------------------------------------- the search


def _load_previous(
    out_dir: Path, identity: dict[str, Any], candidates: Sequence[CellSpec]
) -> dict[int, dict]:
    """Records of an earlier run in ``out_dir``, checked against the current settings.

    Raises:
        ValueError: config.json differs in a setting that changes scores, the earlier run had
            more candidates, or a record does not match the candidate of its index.
    """
    import json

    config_path = out_dir / CONFIG_FILE
    results_path = out_dir / RESULTS_FILE
    if config_path.exists():
        saved = json.loads(config_path.read_text())
        differences = [
            f"{key} (saved {saved.get(key)!r}, now {value!r})"
            for key, value in identity.items()
            if key not in _RESUMABLE_CHANGES and key != "naslib_snn_version" and saved.get(key) != value
        ]
        if "scoring_sampler" not in saved:
            raise ValueError(
                f"cannot resume {out_dir}: it was started before the scoring images were drawn by "
                f"naslib_snn.data.scoring (its {CONFIG_FILE} names no scoring_sampler), so its candidates "
                "were scored on other images. Resuming would mix results; start it again with another --out."
            )
        if differences:
            raise ValueError(
                f"cannot resume {out_dir}: its {CONFIG_FILE} differs from the current settings in "
                + "; ".join(differences)
                + ". Resuming with other settings would mix results; rerun with the saved settings "
                "or choose another --out."
            )
        if saved.get("candidates", 0) > identity["candidates"]:
            raise ValueError(
                f"cannot resume {out_dir} with --candidates {identity['candidates']}: the run was started "
                f"with {saved['candidates']}; use at least that many"
            )
    elif results_path.exists() and results_path.stat().st_size:
        raise ValueError(f"cannot resume {out_dir}: {results_path} exists but {config_path} is missing")
    repair_jsonl(results_path)
    records: dict[int, dict] = {}
    for record in read_jsonl(results_path):
        index = record.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(candidates):
            raise ValueError(f"{results_path}: record with index {index!r} outside 0..{len(candidates) - 1}")
        expected = candidates[index].to_str()
        if record.get("arch") != expected:
            raise ValueError(
                f"{results_path}: candidate {index} is {record.get('arch')!r} there, but seed "
                f"{identity['seed']} gives {expected!r}; the file belongs to another run"
            )
        records.setdefault(index, record)
    return records


@dataclass
class _Plan:
    """A validated search, ready to score: what :func:`_prepare` hands to :func:`_execute`."""

    config: SearchConfig
    candidates: list[CellSpec]
    context: "_ScoringContext"
    records: dict[int, dict]
    out_dir: Optional[Path]
    workers: int
    executor: str
    ray_address: Optional[str]
    ray_started: bool = False  # _prepare started the Ray session; _execute shuts it down


def _prepare(
    config: SearchConfig,
    out_dir: Union[str, Path, None],
    resume: bool,
    workers: int,
    executor: str,
    ray_address: Optional[str],
) -> _Plan:
    """Check everything, load the scoring images, read an earlier run, write config.json.

    Every error caused by bad input is raised here, before any candidate is scored.
    """
    from naslib_snn.data import dataset_info

    check_int("workers", workers, 1)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if executor == "ray":
        import_ray()
    info = dataset_info(config.dataset)
    batches = scoring_batches(config)
    identity = _identity(config, _images_digest(batches))
    candidates = config.space().sample_many(config.candidates, config.seed, unique=True)

    records: dict[int, dict] = {}
    if out_dir is not None:
        out_dir = Path(out_dir)
        results_path = out_dir / RESULTS_FILE
        if resume:
            records = _load_previous(out_dir, identity, candidates)
        elif results_path.exists() and results_path.stat().st_size:
            count = sum(1 for _ in read_jsonl(results_path))
            raise FileExistsError(
                f"{results_path} already holds {count} results; pass --resume (resume=True) to continue "
                "that run, or choose another --out"
            )
    # Join Ray after every other check and before any file is written: a bad address leaves nothing behind.
    ray_started = connect_ray(ray_address) if executor == "ray" else False
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out_dir / CONFIG_FILE, identity)
        except BaseException:
            if ray_started:
                import_ray().shutdown()
            raise

    context = _ScoringContext(
        batches=tuple(batches),
        metric=config.metric,
        num_classes=info.num_classes,
        in_channels=info.in_channels,
        channels=config.channels,
        timesteps=config.timesteps,
        image_size=config.resolved_image_size(),
    )
    return _Plan(config, candidates, context, records, out_dir, workers, executor, ray_address, ray_started)


def _execute(plan: _Plan, progress: bool, started: float) -> SearchResult:
    """Score the candidates missing from ``plan.records``, writing each record as it arrives."""
    config, records, out_dir = plan.config, dict(plan.records), plan.out_dir
    results_path = None if out_dir is None else out_dir / RESULTS_FILE
    best_path = None if out_dir is None else out_dir / BEST_FILE
    tasks = [
        _Task(index, spec.op_indices, candidate_seed(config.seed, index))
        for index, spec in enumerate(plan.candidates)
        if index not in records
    ]
    if plan.executor == "ray" and tasks:
        stream = _run_ray(tasks, plan.context, plan.workers, plan.ray_address)
    elif plan.workers == 1 or len(tasks) <= 1:
        stream = _run_inline(tasks, plan.context)
    else:
        stream = _run_processes(tasks, plan.context, min(plan.workers, len(tasks)))

    best = _best_of(records.values())
    bar = _progress_bar(progress, total=len(plan.candidates), initial=len(records), best=best)
    session_start = time.perf_counter()
    scored_now = 0
    try:
        for record in stream:
            if results_path is not None:
                append_jsonl(results_path, record)
            records[record["index"]] = record
            scored_now += 1
            if best is None or _best_of([best, record]) is record:
                best = record
                if best_path is not None:
                    _write_best(best_path, best, len(records), len(plan.candidates))
            if bar is not None:
                per_min = 60.0 * scored_now / max(time.perf_counter() - session_start, 1e-9)
                bar.set_postfix({"cand/min": f"{per_min:.1f}", "best": f"{best['score']:.4g}"}, refresh=False)
                bar.update(1)
    finally:
        stream.close()  # stops and joins the workers if the loop ended early
        if bar is not None:
            bar.close()
        if plan.ray_started:
            import_ray().shutdown()

    if best is None:
        raise RuntimeError("no candidate was scored")  # unreachable: candidates >= 1
    if best_path is not None:
        _write_best(best_path, best, len(records), len(plan.candidates))
    return SearchResult(
        config=config,
        records=[records[index] for index in sorted(records)],
        best=best,
        out_dir=out_dir,
        scored_now=scored_now,
        seconds=time.perf_counter() - started,
    )


def random_search(
    config: Optional[SearchConfig] = None,
    *,
    out_dir: Union[str, Path, None] = None,
    resume: bool = False,
    workers: int = 1,
    executor: str = "local",
    ray_address: Optional[str] = None,
    progress: bool = False,
    **settings: Any,
) -> SearchResult:
    """Score ``config.candidates`` random cells with ``config.metric`` and return the best.

    Args:
        config: the settings (:class:`SearchConfig`); keyword ``settings`` build one or override
            its fields, e.g. ``random_search(dataset="synthetic", candidates=10)``.
        out_dir: where ``results.jsonl``, ``config.json`` and ``best.json`` go; None keeps the
            results in memory only.
        resume: continue the run in ``out_dir``: score only the candidates missing from its
            ``results.jsonl`` (a torn last line is repaired first). ``candidates`` may be larger
            than the earlier run's, never smaller; every other setting must match. Without an
            earlier run, a new one starts.
        workers: number of processes (or Ray tasks in flight) scoring candidates; 1 scores in
            this process. More start from a fork server (spawned where there is none), so a
            script must call this under ``if __name__ == "__main__":``.
        executor: ``"local"`` (processes on this machine) or ``"ray"``.
        ray_address: the Ray cluster to join (None: an already initialised session, else a new
            local instance).
        progress: show a tqdm bar with candidates/min and the best score so far.

    Returns:
        A :class:`SearchResult` over all candidates, this call's and earlier ones'.

    Raises:
        ValueError: bad settings (see :class:`SearchConfig`), ``workers`` < 1, an unknown
            executor, too few training images, or, with ``resume``, an ``out_dir`` whose run used
            other settings.
        TypeError: a setting of the wrong type.
        FileExistsError: ``out_dir`` already holds results and ``resume`` is False.
        FileNotFoundError: the dataset's files are missing.
        ImportError: ``executor="ray"`` without Ray installed.
        ConnectionError: ``executor="ray"`` and Ray cannot start or join ``ray_address``
            (:class:`RayConnectionError`; nothing is written to ``out_dir``).
        FloatingPointError: the metric returned NaN for a candidate (a bug in the metric).
    """
    started = time.perf_counter()
    if config is None:
        config = SearchConfig(**settings)
    elif settings:
        config = dataclasses.replace(config, **settings)
    plan = _prepare(config, out_dir, resume, workers, executor, ray_address)
    return _execute(plan, progress, started)


def _write_best(path: Path, best: dict, scored: int, total: int) -> None:
    atomic_write_json(
        path,
        {
            "index": best["index"],
            "arch": best["arch"],
            "op_indices": best["op_indices"],
            "matrix": best["matrix"],
            "has_backward": best["has_backward"],
            "score": _json_score(best["score"]),
            "scored": scored,
            "candidates": total,
            "complete": scored == total,
        },
    )


def _progress_bar(enabled: bool, total: int, initial: int, best: Optional[dict]) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    # tqdm's own rate is per second; the postfix carries candidates per minute instead.
    bar = tqdm(
        total=total,
        initial=initial,
        desc="search",
        dynamic_ncols=True,
        file=sys.stderr,
        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
    )
    if best is not None:
        bar.set_postfix({"best": f"{best['score']:.4g}"})
    return bar


# --------------------------------------------------------------------------------- command line


def _metric_choices() -> list[str]:
    from naslib_snn.predictors.registry import list_proxies

    return list_proxies()


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``naslib-snn search``'s options to ``parser``."""
    from naslib_snn.data import list_datasets

    from naslib_snn.cli import DefaultsHelpFormatter

    defaults = SearchConfig.__dataclass_fields__
    parser.formatter_class = DefaultsHelpFormatter
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default=defaults["dataset"].default, choices=list_datasets())
    data.add_argument("--data-dir", default=None, help="the dataset's files (default: its standard location)")
    data.add_argument("--image-size", type=int, default=None, help="image side (default: the dataset's)")
    data.add_argument("--batch-size", type=int, default=defaults["batch_size"].default,
                      help="images per scoring batch (authors: 256)")
    data.add_argument("--batches", type=int, default=defaults["batches"].default,
                      help="scoring batches, score averaged (authors: 2)")
    search = parser.add_argument_group("search")
    search.add_argument("--candidates", type=int, default=defaults["candidates"].default,
                        help="random cells to score (paper: 5000)")
    search.add_argument("--metric", default=defaults["metric"].default, choices=_metric_choices())
    search.add_argument("--backward", action=argparse.BooleanOptionalAction, default=True,
                        help="include backward edges (--no-backward: NB201's forward-only space)")
    search.add_argument("--forward-only", dest="backward", action="store_false",
                        help="same as --no-backward (default: backward edges included)")
    search.add_argument("--require-path", action=argparse.BooleanOptionalAction, default=True,
                        help="draw only cells whose output depends on the input")
    search.add_argument("--sampler", default=defaults["sampler"].default, choices=SAMPLERS)
    search.add_argument("--seed", type=int, default=defaults["seed"].default)
    network = parser.add_argument_group("network")
    network.add_argument("--channels", type=int, default=defaults["channels"].default,
                         help="first cell's width C (paper: 256 / 128)")
    network.add_argument("--timesteps", type=int, default=defaults["timesteps"].default, help="T (paper: 5)")
    execution = parser.add_argument_group("execution")
    execution.add_argument("--workers", type=int, default=1, help="parallel scoring processes")
    execution.add_argument("--executor", default="local", choices=EXECUTORS)
    execution.add_argument("--ray-address", default=None,
                           help="with --executor ray: HOST:PORT of a Ray head, or auto (default: $RAY_ADDRESS, else "
                                "the cluster `ray start` last started on this machine, else a new local one); a "
                                "head with token authentication needs RAY_AUTH_MODE=token, see the README")
    execution.add_argument("--out", default=DEFAULT_OUT, help="output directory")
    execution.add_argument("--resume", action="store_true", help="continue the run in --out (default: start a new run)")
    execution.add_argument("--no-progress", dest="progress", action="store_false",
                           help="hide the progress bar (default: shown)")


def run(args: argparse.Namespace) -> int:
    """Run ``naslib-snn search``; returns 0, or 2 on bad input (the message goes to stderr)."""
    started = time.perf_counter()
    try:
        config = SearchConfig(
            dataset=args.dataset,
            data_dir=args.data_dir,
            candidates=args.candidates,
            batch_size=args.batch_size,
            batches=args.batches,
            channels=args.channels,
            timesteps=args.timesteps,
            image_size=args.image_size,
            metric=args.metric,
            backward=args.backward,
            require_path=args.require_path,
            sampler=args.sampler,
            seed=args.seed,
        )
        plan = _prepare(config, args.out, args.resume, args.workers, args.executor, args.ray_address)
    except (ValueError, TypeError, ImportError, OSError) as err:
        print(f"naslib-snn search: error: {err}", file=sys.stderr)
        return 2
    print(summary(_execute(plan, args.progress, started)))
    return 0


def summary(result: SearchResult) -> str:
    """A few lines naming the winner and where the files are."""
    best = result.best
    silent = sum(1 for record in result.records if record["score"] == -math.inf)
    lines = [
        f"scored {len(result.records)} candidates ({result.scored_now} now, {result.seconds:.1f} s); "
        f"metric {result.config.metric}, seed {result.config.seed}"
        + (f"; {silent} silent (-inf)" if silent else ""),
        f"best candidate #{best['index']}: score {best['score']:.6g}",
        f"  arch        {best['arch']}",
        f"  op_indices  {tuple(best['op_indices'])}",
        f"  matrix      {best['matrix']}  (authors' notation)",
    ]
    if result.out_dir is not None:
        lines.append(
            f"files: {result.out_dir / RESULTS_FILE}, {result.out_dir / BEST_FILE}, {result.out_dir / CONFIG_FILE}"
        )
    return "\n".join(lines)
