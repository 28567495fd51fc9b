"""Workarounds for NASLib bugs on today's stack (Python 3.11, numpy 2, scikit-learn >= 1.6).

Tested against automl/NASLib, branch Develop, commit :data:`NASLIB_COMMIT`. Everything here is
applied only by naslib_snn's NASLib adapter (the Graph search space, the ZeroCost measures) and its
runners; the core package never imports NASLib, and nothing here edits NASLib's files.

Runtime workarounds (:func:`apply`, idempotent, each applied only when the bug shows):

* ``count_parameters_in_MB`` calls ``np.sum`` on a generator, which numpy >= 2.4 refuses
  (``TypeError``). ``Trainer.__init__`` calls it through ``get_model_size()`` of RE, LS, Bananas and
  Npenas, so every run of those optimizers dies before searching. The optimizer modules bound the
  name at import, so the fixed function replaces it in each of them.
* ``compute_scores`` (and the predictor evaluator) call ``mean_squared_error(..., squared=False)``,
  a keyword scikit-learn 1.6 removed, inside a bare ``except`` that then sets rmse, pearson,
  spearman *and kendalltau* to NaN. The modules get a ``metrics`` namespace whose
  ``mean_squared_error`` still accepts ``squared`` (computing the RMSE with
  ``root_mean_squared_error``), so NASLib's own code computes every metric again.

Scoped workarounds, used by the runners:

* :func:`use_data_loaders` reroutes ``get_train_val_loaders`` (an if/elif chain over torchvision
  datasets that downloads CIFAR and knows none of ours) to :func:`naslib_snn.naslib_data.naslib_loaders`.
* :func:`merged_config_file`: NASLib's ``get_config_from_args`` first casts every ``opts`` value
  with ``type(old)(value)``, which fails for keys whose value is ``None``, for keys three levels
  deep and for ``bool`` (``bool("False")`` is True, though the yacs merge that follows repairs that).
  The opts are merged with yacs' own typed ``merge_from_list`` beforehand instead. The same step
  fills default keys the file lacks (NASLib's optimizers read ``config.search.<key>`` with no
  fallback, so a config written for one optimizer fails with another as ``AttributeError``).

Not fixable at runtime (they break ``import naslib.optimizers`` or the install), so the README lists
them as local fixes: ``collections.Iterable`` (removed in Python 3.10) in the GP-WL predictor, and
``setup.py``'s Python <= 3.9 check and its ``pip install git+https://...`` at build time.

NASLib's ``pearson`` is ``|r|`` (``np.abs(np.corrcoef(...))``); :func:`correlations` gives the
signed coefficients with scipy.stats.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import math
import os
import sys
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Optional

__all__ = [
    "INSTALL_HINT",
    "NASLIB_COMMIT",
    "apply",
    "correlations",
    "count_parameters_in_mb",
    "merged_config_file",
    "require_naslib",
    "use_data_loaders",
]

NASLIB_REPO = "https://github.com/automl/NASLib"
NASLIB_BRANCH = "Develop"
NASLIB_COMMIT = "0b51bc184622a98317ea1048b2daf7dd1150f243"  # 2023-11-17, the commit the adapter is tested against

INSTALL_HINT = (
    "naslib_snn's NASLib adapter needs NASLib, which has no PyPI release: clone "
    f"{NASLIB_REPO} (branch {NASLIB_BRANCH}, tested at commit {NASLIB_COMMIT}), apply the local fixes listed "
    "in naslib-snn's README (section 'NASLib integration': setup.py's Python <= 3.9 check and its build-time "
    "git installs, collections.Iterable -> collections.abc.Iterable), then `pip install --no-deps -e <NASLib "
    "checkout>` and its requirements. The rest of naslib_snn works without NASLib."
)

# Discrete optimizer modules that imported count_parameters_in_MB by name (re:11, ls:9, bananas:18, npenas:19).
_COUNT_PARAMETER_MODULES = (
    "naslib.utils",
    "naslib.optimizers.discrete.re.optimizer",
    "naslib.optimizers.discrete.ls.optimizer",
    "naslib.optimizers.discrete.bananas.optimizer",
    "naslib.optimizers.discrete.npenas.optimizer",
)
# Modules that call metrics.mean_squared_error(..., squared=False).
_SKLEARN_METRICS_MODULES = ("naslib.utils.zerocost", "naslib.utils", "naslib.defaults.predictor_evaluator")
# Modules that bound get_train_val_loaders at import (bananas:18, npenas:19); naslib.utils is looked up at call time.
_LOADER_MODULES = (
    "naslib.utils",
    "naslib.optimizers.discrete.bananas.optimizer",
    "naslib.optimizers.discrete.npenas.optimizer",
)


def require_naslib() -> types.ModuleType:
    """``import naslib``, or an ImportError that says how to install it.

    Raises:
        ImportError: NASLib is not importable (the message carries :data:`INSTALL_HINT`).
    """
    try:
        import naslib  # noqa: PLC0415
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} (import naslib failed: {err})") from err
    return naslib


def _import(name: str) -> types.ModuleType:
    """Import a NASLib module, turning a failure into an ImportError with the install hint."""
    require_naslib()
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f"cannot import {name} ({err}). {INSTALL_HINT}") from err


# ---- count_parameters_in_MB -----------------------------------------------------------------------------
def count_parameters_in_mb(model: Any) -> float:
    """Parameters of ``model`` in millions, leaving out names containing ``auxiliary`` (as NASLib counts)."""
    return sum(p.numel() for name, p in model.named_parameters() if "auxiliary" not in name) / 1e6


def _count_parameters_is_broken(fn: Callable[[Any], Any]) -> bool:
    import torch  # noqa: PLC0415

    try:
        fn(torch.nn.Linear(2, 2))
    except TypeError:
        return True
    return False


def _fix_count_parameters() -> bool:
    utils = _import("naslib.utils")
    if getattr(utils.count_parameters_in_MB, "__module__", "") == __name__:
        return True
    if not _count_parameters_is_broken(utils.count_parameters_in_MB):
        return False
    for name in _COUNT_PARAMETER_MODULES:
        module = _import(name)
        if hasattr(module, "count_parameters_in_MB"):
            module.count_parameters_in_MB = count_parameters_in_mb
    return True


# ---- scikit-learn >= 1.6 ---------------------------------------------------------------------------------
class _SklearnMetrics(types.ModuleType):
    """``sklearn.metrics`` whose ``mean_squared_error`` still accepts ``squared`` (removed in scikit-learn 1.6)."""

    def __init__(self) -> None:
        super().__init__("naslib_snn.compat.sklearn_metrics")
        import sklearn.metrics  # noqa: PLC0415

        self._metrics = sklearn.metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_metrics"], name)

    def mean_squared_error(self, y_true: Any, y_pred: Any, *args: Any, squared: bool = True, **kwargs: Any) -> Any:
        if squared:
            return self._metrics.mean_squared_error(y_true, y_pred, *args, **kwargs)
        return self._metrics.root_mean_squared_error(y_true, y_pred, *args, **kwargs)


def _sklearn_needs_fix() -> bool:
    from sklearn.metrics import mean_squared_error  # noqa: PLC0415

    return "squared" not in inspect.signature(mean_squared_error).parameters


def _fix_sklearn_metrics() -> bool:
    if not _sklearn_needs_fix():
        return False
    _import("naslib.utils.zerocost")
    shim = None
    for name in _SKLEARN_METRICS_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue  # the predictor evaluator: patched when apply() runs after it was imported
        if not isinstance(getattr(module, "metrics", None), _SklearnMetrics):
            shim = shim or _SklearnMetrics()
            module.metrics = shim
    return True


def apply() -> list[str]:
    """Apply the runtime workarounds that this NASLib / numpy / scikit-learn need; idempotent.

    Returns:
        The names of the workarounds in effect: ``"count_parameters_in_MB"``, ``"sklearn_squared"``.

    Raises:
        ImportError: NASLib is missing or cannot be imported (the message says how to install it).
    """
    applied = []
    if _fix_count_parameters():
        applied.append("count_parameters_in_MB")
    if _fix_sklearn_metrics():
        applied.append("sklearn_squared")
    return applied


# ---- data loaders ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def use_data_loaders(loader_fn: Callable[..., Any]) -> Iterator[None]:
    """Within the block, NASLib's ``get_train_val_loaders`` is ``loader_fn`` (restored afterwards).

    ``loader_fn(config, mode="train")`` must return ``(train_queue, valid_queue, test_queue, _, _)``,
    e.g. :func:`naslib_snn.naslib_data.naslib_loaders`.
    """
    saved = []
    for name in _LOADER_MODULES:
        module = _import(name)
        if hasattr(module, "get_train_val_loaders"):
            saved.append((module, module.get_train_val_loaders))
            module.get_train_val_loaders = loader_fn
    try:
        yield
    finally:
        for module, original in saved:
            module.get_train_val_loaders = original


# ---- config loading ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def merged_config_file(args: Any, open_sections: Sequence[str] = (),
                       defaults: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Iterator[Any]:
    """``args`` with its ``opts`` merged into a temporary copy of its config file by yacs' ``merge_from_list``.

    Yields the namespace to give ``naslib.utils.get_config_from_args`` (``config_file`` = the
    temporary file, ``opts`` = []); the file is removed afterwards. ``defaults`` (section -> key ->
    value) first fill the keys the file lacks, so the file's own values win and ``opts`` may set any
    of them. Keys must exist in the file or in ``defaults`` (at any depth), except directly under a
    section of ``open_sections``, which an override may add to (the caller checks those keys);
    values are parsed as Python literals and must keep the key's type (``None`` may be replaced by
    anything).

    Raises:
        ValueError: ``opts`` with an odd number of items, an unknown key or a value of the wrong type,
            or a section of ``defaults`` that the file holds as something other than a mapping.
        FileNotFoundError: the config file does not exist.
    """
    from fvcore.common.config import CfgNode  # noqa: PLC0415  (a NASLib dependency)

    opts = list(getattr(args, "opts", None) or [])
    if args.config_file is None:
        raise ValueError("--config-file is required (a YAML file like naslib-snn's configs/*.yaml)")
    if not os.path.isfile(args.config_file):
        raise FileNotFoundError(f"no config file at {args.config_file}")
    if len(opts) % 2:
        raise ValueError(f"opts must be KEY VALUE pairs, got an odd number of items: {opts}")
    with open(args.config_file, encoding="utf-8") as handle:
        config = CfgNode.load_cfg(handle)
    config.set_new_allowed(True)
    for name, values in (defaults or {}).items():
        if config.get(name) is None:
            config[name] = CfgNode()
        if not isinstance(config[name], CfgNode):
            raise ValueError(f"{args.config_file}: section {name!r} must be a mapping, got {config[name]!r}")
        for key, value in values.items():
            if key not in config[name]:
                config[name][key] = value
    for key in opts[0::2]:
        parts = str(key).split(".")
        if len(parts) == 2 and parts[0] in open_sections:
            if config.get(parts[0]) is None:
                config[parts[0]] = CfgNode()
            if parts[1] not in config[parts[0]]:
                config[parts[0]][parts[1]] = None  # yacs lets None take a value of any type
    try:
        config.merge_from_list(opts)
    except (AssertionError, ValueError, KeyError) as err:
        raise ValueError(f"bad opts override {opts}: {err}") from err
    fd, path = tempfile.mkstemp(prefix="naslib_snn_config_", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(config.dump())
        merged = types.SimpleNamespace(**vars(args))
        merged.config_file, merged.opts = path, []
        yield merged
    finally:
        os.unlink(path)


# ---- correlations ------------------------------------------------------------------------------------------
def correlations(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """Kendall's tau, Spearman's rho and Pearson's r (signed) between two sequences, with scipy.stats.

    A coefficient is NaN when it is undefined (fewer than 2 items, or a constant sequence).

    Raises:
        ValueError: the sequences have different lengths or hold NaN.
    """
    import numpy as np  # noqa: PLC0415
    from scipy import stats  # noqa: PLC0415

    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"expected two 1-D sequences of equal length, got shapes {y.shape} and {p.shape}")
    if np.isnan(y).any() or np.isnan(p).any():
        raise ValueError("cannot correlate sequences holding NaN")
    out = {"n": int(y.size), "kendalltau": math.nan, "spearman": math.nan, "pearson": math.nan}
    if y.size >= 2 and np.ptp(y) > 0 and np.ptp(p) > 0:
        out["kendalltau"] = float(stats.kendalltau(y, p).statistic)
        out["spearman"] = float(stats.spearmanr(y, p).statistic)
        if np.isfinite(p).all():
            out["pearson"] = float(stats.pearsonr(y, p).statistic)
    return out
