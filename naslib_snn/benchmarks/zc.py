"""Zero-cost proxy tables in NAS-Bench-Suite-Zero's layout, which NASLib reads as its ``zc_api``.

Schema (``validate_zc`` checks it)::

    {
      "<dataset>": {                                  # e.g. "fashion_mnist"
        "(2, 6, 3, 2, 1, 2)": {                       # str(tuple(op_indices)), as NASLib writes arch hashes
          "<proxy>": {"score": float, "time": float}, # time: seconds spent computing the score
          "<proxy>": {"score": null, "time": float, "missing": "why the proxy does not apply"},
          ...,
          "val_accuracy": float                       # the benchmark's final val accuracy (percent)
        }, ...
      },
      "__meta__": {"format": "naslib_snn.zc", "version": 1, "benchmark": ..., "dataset": ...,
                   "settings": {...}, "proxies": {"<proxy>": "<provider>"}, ...}
    }

NASLib's ``get_zc_benchmark_api(search_space, dataset)`` returns ``data[dataset]`` and looks
scores up as ``zc_api[str(arch_hash)][proxy]["score"]``, with ``arch_hash = tuple(op_indices)``;
the extra top-level ``"__meta__"`` key is never a dataset, so NASLib ignores it. Scores may be
``-Infinity`` (a singular kernel: the lowest possible score), written as Python's ``json`` writes
it; NaN is never stored: a proxy that gives no number is recorded with ``"score": null`` and the
reason in ``"missing"``.

Proxies come from **providers** (:func:`register_zc_provider`). The built-in provider computes the
proxies of :mod:`naslib_snn.predictors.registry` (``sahd``, ``sahd_reference``, ``hd``). A NASLib
adapter registers a provider for NASLib's proxies (synflow, snip, ...) in its own module, loaded
with ``--provider-module``, so this module never imports NASLib.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import math
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence, Union, runtime_checkable

from naslib_snn._version import __version__
from naslib_snn.benchmarks.api import SpikingBenchmarkAPI, load
from naslib_snn.search_spaces.spiking_nb201.spec import CellSpec
from naslib_snn.utils.io import atomic_write_text

__all__ = [
    "META_KEY",
    "ZC_BATCH_SIZE",
    "ZC_NUM_BATCHES",
    "ZC_PROVIDERS",
    "NativeProxies",
    "ZCContext",
    "ZCProvider",
    "arch_key",
    "compute_zc",
    "list_zc_proxies",
    "load_provider_modules",
    "load_zc",
    "missing_entry",
    "register_zc_provider",
    "score_entry",
    "spec_from_key",
    "validate_zc",
    "write_zc",
    "zc_scores",
]

PathLike = Union[str, "os.PathLike[str]"]
META_KEY = "__meta__"
ZC_FORMAT = "naslib_snn.zc"
ZC_BATCH_SIZE = 256  # authors' code: batches of 256 training images
ZC_NUM_BATCHES = 2  # authors' code: averaged over 2 batches (naslib_snn.predictors.REFERENCE_NUM_BATCHES)
_KEY = re.compile(r"^\((\d+), (\d+), (\d+), (\d+), (\d+), (\d+)\)$")


def arch_key(spec: CellSpec) -> str:
    """NASLib's key of a cell: ``str(tuple(op_indices))``, e.g. ``"(2, 6, 3, 2, 1, 2)"``."""
    return str(tuple(spec.op_indices))


def spec_from_key(key: str) -> CellSpec:
    """Inverse of :func:`arch_key`. Raises ValueError for anything else."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is None:
        raise ValueError(f"expected an arch key like '(2, 6, 3, 2, 1, 2)', got {key!r}")
    return CellSpec(tuple(int(g) for g in match.groups()))


# ---- entries -----------------------------------------------------------------------------------------
def score_entry(score: Any, seconds: float) -> dict[str, Any]:
    """``{"score", "time"}`` for a computed score; a NaN or non-number becomes a missing entry."""
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        try:
            score = float(score)  # numpy / torch scalars
        except (TypeError, ValueError):
            return missing_entry(f"the proxy returned {type(score).__name__}, not a number", seconds)
    score = float(score)
    if math.isnan(score):
        return missing_entry("the proxy returned NaN", seconds)
    return {"score": score, "time": float(seconds)}


def missing_entry(reason: str, seconds: float = 0.0) -> dict[str, Any]:
    """``{"score": None, "time", "missing": reason}``: the proxy does not apply, never a fake value."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"a missing score needs a reason, got {reason!r}")
    return {"score": None, "time": float(seconds), "missing": reason}


# ---- validation --------------------------------------------------------------------------------------
def _bad(path: str, message: str) -> None:
    raise ValueError(f"invalid zero-cost table at {path}: {message}")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_zc(obj: Any) -> None:
    """Check ``obj`` against the schema in the module docstring.

    Raises:
        ValueError: naming the first bad path, e.g. ``fashion_mnist["(2, 6, 3, 2, 1, 2)"].sahd.score``.
    """
    if not isinstance(obj, Mapping):
        _bad("<root>", f"expected an object, got {type(obj).__name__}")
    if META_KEY in obj and not isinstance(obj[META_KEY], Mapping):
        _bad(META_KEY, "expected an object")
    datasets = [key for key in obj if key != META_KEY]
    if not datasets:
        _bad("<root>", "no dataset")
    for dataset in datasets:
        cells = obj[dataset]
        if not isinstance(dataset, str) or not dataset:
            _bad(repr(dataset), "a dataset key must be a non-empty string")
        if not isinstance(cells, Mapping):
            _bad(dataset, f"expected an object of arch key -> entry, got {type(cells).__name__}")
        for key, entry in cells.items():
            where = f"{dataset}[{key!r}]".replace("'", '"')
            try:
                spec_from_key(key)
            except ValueError as err:
                _bad(where, str(err))
            if not isinstance(entry, Mapping):
                _bad(where, f"expected an object, got {type(entry).__name__}")
            if not _finite(entry.get("val_accuracy")):
                _bad(f"{where}.val_accuracy", f"expected a finite number, got {entry.get('val_accuracy')!r}")
            for proxy, value in entry.items():
                if proxy != "val_accuracy":
                    _validate_entry(value, f"{where}.{proxy}")


def _validate_entry(value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        _bad(where, f"expected {{'score', 'time'}}, got {value!r}")
    extra = sorted(set(value) - {"score", "time", "missing"})
    if extra:
        _bad(where, f"unexpected keys {extra}; an entry has 'score', 'time' and, when missing, 'missing'")
    if not _finite(value.get("time")) or value["time"] < 0:
        _bad(f"{where}.time", f"expected seconds >= 0, got {value.get('time')!r}")
    score = value.get("score", "absent")
    if score is None:
        reason = value.get("missing")
        if not isinstance(reason, str) or not reason.strip():
            _bad(f"{where}.missing", "a null score needs the reason it is missing")
    else:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
            _bad(f"{where}.score", f"expected a number (or null with a reason), got {score!r}")
        if "missing" in value:
            _bad(f"{where}.missing", "only a null score may carry a 'missing' reason")


def write_zc(path: PathLike, obj: Mapping[str, Any]) -> None:
    """Validate, then atomically write ``obj`` (``-Infinity`` allowed, as Python's json writes it)."""
    validate_zc(obj)
    atomic_write_text(path, json.dumps(obj, indent=1, allow_nan=True) + "\n")


def load_zc(path: PathLike) -> dict[str, Any]:
    """Read and validate a zero-cost table. Raises ValueError (bad JSON or schema), FileNotFoundError."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    validate_zc(obj)
    return obj


def zc_scores(zc: Mapping[str, Any], dataset: str, proxy: str) -> dict[CellSpec, Optional[float]]:
    """``{spec: score}`` of one proxy (None where missing); cells without that proxy are left out.

    Raises:
        KeyError: the table has no such dataset (the message lists the datasets).
    """
    if dataset not in zc or dataset == META_KEY:
        raise KeyError(f"zero-cost table has no dataset {dataset!r}; it has {[k for k in zc if k != META_KEY]}")
    out = {}
    for key, entry in zc[dataset].items():
        if proxy in entry:
            out[spec_from_key(key)] = entry[proxy]["score"]
    return out


def zc_proxies(zc: Mapping[str, Any], dataset: str) -> list[str]:
    """The proxies present in a table for ``dataset``, in order of first appearance."""
    names: dict[str, None] = {}
    for entry in zc.get(dataset, {}).values():
        for key in entry:
            if key != "val_accuracy":
                names.setdefault(key)
    return list(names)


# ---- providers -----------------------------------------------------------------------------------------
@dataclasses.dataclass
class ZCContext:
    """What a provider gets for one cell.

    Attributes:
        spec: the cell.
        inputs: the scoring batches, each float ``[B, C, H, W]`` (normalised like the training data).
        labels: their int64 labels ``[B]`` (for gradient-based proxies such as snip).
        network_factory: ``spec -> nn.Module``: a fresh network with the benchmark's architecture
            settings, initialised from ``seed`` alone (identical weights on every call).
        seed: the scoring seed.
        num_classes: classes of the dataset.
    """

    spec: CellSpec
    inputs: list[Any]
    labels: list[Any]
    network_factory: Callable[[CellSpec], Any]
    seed: int
    num_classes: int

    def build_network(self) -> Any:
        """A fresh, seeded network of :attr:`spec` (build one per proxy: some proxies change weights)."""
        return self.network_factory(self.spec)


@runtime_checkable
class ZCProvider(Protocol):
    """Computes some proxies. ``compute`` returns ``{proxy: score_entry(...) or missing_entry(...)}``."""

    name: str

    def proxies(self) -> Sequence[str]: ...

    def compute(self, context: ZCContext, proxies: Sequence[str]) -> Mapping[str, Mapping[str, Any]]: ...


#: provider name -> provider; filled by :func:`register_zc_provider`
ZC_PROVIDERS: dict[str, ZCProvider] = {}


def register_zc_provider(provider: ZCProvider) -> ZCProvider:
    """Register a provider (usable as a class decorator on a no-argument class, or called with an instance).

    Raises:
        ValueError: a provider of that name is registered, or the object is not a provider.
    """
    instance = provider() if isinstance(provider, type) else provider
    if not isinstance(instance, ZCProvider):
        raise ValueError(f"{provider!r} is not a zero-cost provider (needs name, proxies(), compute())")
    if instance.name in ZC_PROVIDERS:
        raise ValueError(f"a zero-cost provider named {instance.name!r} is already registered")
    ZC_PROVIDERS[instance.name] = instance
    return provider


def list_zc_proxies() -> dict[str, str]:
    """``{proxy: provider name}`` over all registered providers.

    Raises:
        ValueError: two providers offer the same proxy name.
    """
    out: dict[str, str] = {}
    for name, provider in ZC_PROVIDERS.items():
        for proxy in provider.proxies():
            if proxy in out:
                raise ValueError(f"proxy {proxy!r} is offered by both providers {out[proxy]!r} and {name!r}")
            out[proxy] = name
    return out


def load_provider_modules(modules: Sequence[str]) -> None:
    """Import modules that register providers (e.g. a NASLib adapter). Raises ImportError naming the module."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ImportError(f"cannot import zero-cost provider module {module!r}: {err}") from err


@register_zc_provider
class NativeProxies:
    """The proxies of :mod:`naslib_snn.predictors.registry`, on the spikes of the untrained network."""

    name = "naslib_snn"

    def proxies(self) -> Sequence[str]:
        from naslib_snn.predictors.registry import list_proxies  # noqa: PLC0415  (torch)

        return list_proxies()

    def compute(self, context: ZCContext, proxies: Sequence[str]) -> dict[str, dict[str, Any]]:
        from naslib_snn.predictors.registry import get_proxy  # noqa: PLC0415

        out = {}
        for proxy in proxies:
            network = context.build_network()
            started = time.perf_counter()
            value = get_proxy(proxy)(network, context.inputs)
            out[proxy] = score_entry(value, time.perf_counter() - started)
        return out


# ---- computing a table ---------------------------------------------------------------------------------
def recipe_network_factory(recipe: Mapping[str, Any], seed: int) -> Callable[[CellSpec], Any]:
    """``spec -> network`` built as the trainer builds it for ``recipe``, initialised from ``seed``."""
    from naslib_snn.train import TrainConfig, build_network  # noqa: PLC0415  (torch)

    rest = {k: v for k, v in dict(recipe).items() if k != "seed"}
    config = TrainConfig.for_dataset(rest.pop("dataset"), seed=int(seed), **rest)
    return lambda spec: build_network(spec, config)


def scoring_batches(
    dataset: str,
    image_size: Optional[int],
    batch_size: int,
    num_batches: int,
    seed: int,
    data_dir: Optional[PathLike] = None,
) -> tuple[list[Any], list[Any]]:
    """``num_batches`` batches (float ``[B, C, S, S]``, int64 ``[B]``) of class-balanced training images,
    without augmentation, chosen by ``seed``: :func:`naslib_snn.data.load_scoring_batches`, the draw
    the search and the NASLib loaders use too.

    The shipped v1 table (``spiking_nb201_fmnist``) predates that draw: it was scored on a torch
    permutation of a class-balanced subset, so these are not the images it was computed on.

    Raises:
        ValueError / TypeError / FileNotFoundError: as :func:`naslib_snn.data.load_scoring_batches`.
    """
    from naslib_snn.data import load_scoring_batches  # noqa: PLC0415  (torch)

    return load_scoring_batches(dataset, batch_size, num_batches, seed, image_size=image_size, data_dir=data_dir)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def compute_zc(
    benchmark: Any,
    out: Optional[PathLike] = None,
    proxies: Optional[Sequence[str]] = None,
    *,
    batch_size: int = ZC_BATCH_SIZE,
    num_batches: int = ZC_NUM_BATCHES,
    seed: int = 0,
    data_dir: Optional[PathLike] = None,
    network_factory: Optional[Callable[[CellSpec], Any]] = None,
    limit: Optional[int] = None,
    retry_missing: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute ``proxies`` for every cell of ``benchmark``; resumable, one atomic write per cell.

    Args:
        benchmark: anything :func:`naslib_snn.benchmarks.load` accepts. Its ``meta.recipe`` gives the
            dataset, image size and network settings.
        out: the JSON file; an existing file is continued (cells and proxies already there are kept).
            None computes in memory only.
        proxies: names offered by the registered providers (:func:`list_zc_proxies`); None = the
            built-in ones (sahd, sahd_reference, hd).
        batch_size / num_batches / seed: the scoring batches and the network initialisation.
        data_dir: where the dataset's files are (default: the recipe's, else the dataset's default).
        network_factory: ``spec -> network`` (default: :func:`recipe_network_factory`).
        limit: score at most this many cells (those not done yet, in table order).
        retry_missing: compute again the entries recorded as missing.

    Returns:
        The whole table (schema in the module docstring).

    Raises:
        ValueError: unknown proxy (the message lists the known ones), settings that differ from those
            of an existing ``out`` file, or a cell without a val accuracy.
    """
    api: SpikingBenchmarkAPI = load(benchmark)
    known = list_zc_proxies()
    names = list(ZC_PROVIDERS["naslib_snn"].proxies()) if proxies is None else list(proxies)
    unknown = [p for p in names if p not in known]
    if unknown:
        raise ValueError(
            f"unknown proxy {', '.join(map(repr, unknown))}; known proxies: {', '.join(sorted(known))} "
            f"(load more providers with --provider-module)"
        )
    from naslib_snn.data import SCORING_SAMPLER  # noqa: PLC0415  (torch)

    recipe = dict(api.meta.get("recipe") or {})
    if "dataset" not in recipe:
        recipe["dataset"] = api.dataset
    settings = {
        "dataset": recipe["dataset"],
        "image_size": recipe.get("image_size"),
        "batch_size": int(batch_size),
        "num_batches": int(num_batches),
        "seed": int(seed),
        "recipe": recipe,
        "inputs": f"training images, no augmentation, drawn by {SCORING_SAMPLER}",
        "network": "untrained, built as the trainer builds it for the recipe, initialised from seed (fresh per proxy)",
    }
    table: dict[str, Any] = {}
    if out is not None and Path(out).exists():
        table = load_zc(out)
        old = table.get(META_KEY, {}).get("settings")
        if old is not None and old != settings:
            diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            why = " (its scoring images were drawn by another sampler)" if "inputs" in diff else ""
            raise ValueError(
                f"{out} was computed with other settings (differ in: {', '.join(diff)}){why}; use another --out"
            )
    meta = dict(table.get(META_KEY, {}))
    meta.update({
        "format": ZC_FORMAT,
        "version": 1,
        "benchmark": api.name,
        "dataset": api.dataset,
        "settings": settings,
        "package_version": __version__,
        "updated": _now(),
        "schema": "{dataset: {str(op_indices): {proxy: {score, time[, missing]}, val_accuracy}}}; "
        "null score = the proxy does not apply (reason in 'missing'); -Infinity = lowest score",
    })
    meta.setdefault("created", meta["updated"])
    meta["proxies"] = {**meta.get("proxies", {}), **{p: known[p] for p in names}}
    table[META_KEY] = meta
    cells = table.setdefault(api.dataset, {})

    def todo_for(spec: CellSpec) -> list[str]:
        entry = cells.get(arch_key(spec), {})
        return [p for p in names if p not in entry or (retry_missing and entry[p]["score"] is None)]

    pending = [spec for spec in api if todo_for(spec)]
    if limit is not None:
        pending = pending[: max(0, int(limit))]
    if pending:
        inputs, labels = scoring_batches(recipe["dataset"], recipe.get("image_size"), batch_size, num_batches, seed,
                                         data_dir=data_dir if data_dir is not None else recipe.get("data_dir"))
        factory = network_factory or recipe_network_factory(recipe, seed)
        num_classes = _num_classes(recipe["dataset"])
    from tqdm.auto import tqdm  # noqa: PLC0415

    for spec in tqdm(pending, desc="zero-cost", unit="cell", disable=not progress, dynamic_ncols=True):
        try:
            val = api.query(spec, "val_accuracy")
        except ValueError:
            val = None
        if val is None or not math.isfinite(val):
            raise ValueError(f"cell {spec.to_str()} has no finite val accuracy in {api.name!r}; NASLib's layout needs one")
        context = ZCContext(spec, inputs, labels, factory, int(seed), num_classes)
        entry = dict(cells.get(arch_key(spec), {}))
        entry.pop("val_accuracy", None)
        wanted = todo_for(spec)
        for provider_name in dict.fromkeys(known[p] for p in wanted):
            group = [p for p in wanted if known[p] == provider_name]
            entry.update(_run_provider(ZC_PROVIDERS[provider_name], context, group))
        entry["val_accuracy"] = float(val)
        cells[arch_key(spec)] = entry
        if out is not None:
            write_zc(out, table)
    validate_zc(table)
    if out is not None and not pending:
        write_zc(out, table)
    return table


def _num_classes(dataset: str) -> int:
    from naslib_snn.data import dataset_info  # noqa: PLC0415

    return dataset_info(dataset).num_classes


def _run_provider(provider: ZCProvider, context: ZCContext, proxies: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The provider's entries for ``proxies``; an error becomes a missing entry with the error as reason."""
    started = time.perf_counter()
    try:
        entries = dict(provider.compute(context, list(proxies)))
    except Exception as err:  # noqa: BLE001  (one proxy failing on one cell must not stop the table)
        reason = f"provider {provider.name!r} failed: {type(err).__name__}: {err}"
        warnings.warn(f"{context.spec.to_str()}: {reason}", stacklevel=2)
        seconds = time.perf_counter() - started
        return {p: missing_entry(reason, seconds) for p in proxies}
    out = {}
    for proxy in proxies:
        if proxy not in entries:
            out[proxy] = missing_entry(f"provider {provider.name!r} returned no entry", 0.0)
            continue
        try:
            _validate_entry(entries[proxy], proxy)
        except ValueError as err:
            raise ValueError(f"provider {provider.name!r} returned a bad entry for {proxy!r}: {err}") from err
        out[proxy] = dict(entries[proxy])
    return out
