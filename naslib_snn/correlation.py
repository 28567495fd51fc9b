"""How well do training-free proxies rank trained cells? Kendall, Spearman and Pearson, with intervals.

For every proxy of a zero-cost table (:mod:`naslib_snn.benchmarks.zc`) and the final accuracy of a
benchmark (:mod:`naslib_snn.benchmarks`), on all cells, forward-only cells and cells with backward
edges: the three correlations (scipy.stats; Kendall's tau-b), each with a seeded percentile
bootstrap interval, next to the **noise ceiling**: the same statistics between the two training
seeds of the repeated cells, which bounds what any proxy can reach. Also the search-level view:
the accuracy and percentile of the best-scoring cell under each proxy, against the median cell.

Scores that are not numbers are handled explicitly and counted:

* missing (``"score": null`` with a reason, or no entry for the cell): left out of every statistic;
* ``-inf`` (e.g. a singular kernel, log 0): the lowest possible score. Rank statistics (Kendall,
  Spearman) rank it below every finite score (ties among themselves); Pearson needs values, so it
  leaves non-finite scores out.

Command line: ``naslib-snn correlate --benchmark spiking_nb201_fmnist --zc zc.json --out DIR``
writes ``DIR/correlation.json``, ``DIR/correlation.md`` and scatter plots in the style of the
paper's Fig. 4 (``DIR/scatter_<proxy>.png``, ``DIR/scatter_grid.png``, ``DIR/noise_ceiling.png``).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import warnings
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
from scipy import stats

from naslib_snn.utils.checks import require_int
from naslib_snn.utils.io import atomic_write_bytes, atomic_write_json, atomic_write_text

__all__ = [
    "LEVEL",
    "N_RESAMPLES",
    "STATISTICS",
    "SUBSETS",
    "bootstrap_interval",
    "configure_parser",
    "correlate",
    "correlation_stats",
    "kendall_tau_b_rows",
    "pearson_rows",
    "run",
    "spearman_rows",
    "write_report",
]

PathLike = Union[str, "os.PathLike[str]"]
STATISTICS = ("kendall", "spearman", "pearson")
SUBSETS = ("all", "forward", "backward")
N_RESAMPLES = 1000
LEVEL = 0.95
TARGETS = ("test_accuracy", "val_accuracy", "train_accuracy")
BEST_OF = (10, 50, 100)  # the best-of-N view: the paper draws N candidates and keeps the best-scoring one
OUR_PROXIES = ("sahd", "sahd_reference", "hd")
ENSEMBLE_BASE = "sahd"
ENSEMBLE_COVERAGE = 0.9  # the ensemble's partner must score at least this share of the cells
#: paired Kendall comparisons: the paper's SAHD (Eq. 9) vs the authors' code's SAHD vs NASWOT's HD
COMPARISONS = (("sahd", "sahd_reference"), ("sahd", "hd"), ("sahd_reference", "hd"))
_CHUNK_ELEMENTS = 4_000_000  # pairwise-sign elements per chunk in the vectorised Kendall tau


# ---- statistics on many resamples at once ------------------------------------------------------------
def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of ``x``, ``y`` ``[R, n]`` -> ``[R]``; NaN for a constant row."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    denom = np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=-1) / denom
    r[denom == 0] = np.nan
    return np.clip(r, -1.0, 1.0)


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho (Pearson r of average ranks, as ``scipy.stats.spearmanr``) per row ``[R, n]`` -> ``[R]``."""
    return pearson_rows(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


def kendall_tau_b_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b (as ``scipy.stats.kendalltau``) per row ``[R, n]`` -> ``[R]``; NaN for a constant row.

    tau-b = sum_ij sign(dx) sign(dy) / sqrt(#pairs untied in x * #pairs untied in y), which accounts
    for the ties a bootstrap resample always has. Infinite values are fine (only their order counts).
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape [R, n], got {x.shape} and {y.shape}")
    # ranks make the differences finite when x holds infinities
    x = stats.rankdata(x, axis=-1)
    y = stats.rankdata(y, axis=-1)
    rows, n = x.shape
    out = np.empty(rows, dtype=np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(1, n * n))
    for start in range(0, rows, step):
        xs, ys = x[start:start + step], y[start:start + step]
        sx = np.sign(xs[:, :, None] - xs[:, None, :]).astype(np.int8)
        sy = np.sign(ys[:, :, None] - ys[:, None, :]).astype(np.int8)
        concordance = (sx.astype(np.int64) * sy).sum(axis=(1, 2))
        untied_x = np.abs(sx).sum(axis=(1, 2), dtype=np.int64)
        untied_y = np.abs(sy).sum(axis=(1, 2), dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = concordance / np.sqrt(untied_x.astype(np.float64) * untied_y)
        tau[(untied_x == 0) | (untied_y == 0)] = np.nan
        out[start:start + step] = tau
    return np.clip(out, -1.0, 1.0)


_ROW_STATS = {"kendall": kendall_tau_b_rows, "spearman": spearman_rows, "pearson": pearson_rows}


def _scipy_stat(name: str, x: np.ndarray, y: np.ndarray) -> tuple[Optional[float], Optional[float]]:
    """(statistic, p-value) from scipy; (None, None) where undefined (constant input, n < 3)."""
    if len(x) < 3:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConstantInputWarning: reported as null instead
        if name == "kendall":
            result = stats.kendalltau(x, y)
        elif name == "spearman":
            result = stats.spearmanr(x, y)
        else:
            result = stats.pearsonr(x, y)
    value, p = float(result.statistic), float(result.pvalue)
    return (None, None) if math.isnan(value) else (value, None if math.isnan(p) else p)


def bootstrap_interval(
    x: np.ndarray,
    y: np.ndarray,
    statistic: str,
    n_resamples: int = N_RESAMPLES,
    seed: Union[int, Sequence[int], np.random.Generator] = 0,
    level: float = LEVEL,
) -> tuple[Optional[float], Optional[float], int]:
    """Percentile bootstrap interval of ``statistic`` (``kendall``, ``spearman`` or ``pearson``).

    Resamples the ``n`` (x, y) pairs with replacement ``n_resamples`` times, computes the statistic
    on each, and returns ``(low, high, n_valid)``: the ``(1 - level) / 2`` and ``(1 + level) / 2``
    percentiles of the resamples where it is defined (a resample of constant values is not), and
    how many those are. ``(None, None, 0)`` when ``n < 3`` or no resample is defined.

    Raises:
        ValueError: unknown statistic, mismatched lengths, ``level`` outside (0, 1), n_resamples < 1.
    """
    if statistic not in _ROW_STATS:
        raise ValueError(f"unknown statistic {statistic!r}; expected one of {', '.join(STATISTICS)}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got shapes {x.shape} and {y.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n_resamples = require_int("n_resamples", n_resamples, 1)
    n = len(x)
    if n < 3:
        return None, None, 0
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(int(n_resamples), n))
    values = _ROW_STATS[statistic](x[idx], y[idx])
    values = values[np.isfinite(values)]
    if not len(values):
        return None, None, 0
    low, high = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(low), float(high), int(len(values))


def _seed_for(seed: int, *labels: str) -> list[int]:
    """A seed sequence for one (proxy, subset, statistic): stable when other proxies come and go."""
    return [int(seed)] + [zlib.crc32(label.encode("utf-8")) for label in labels]


def correlation_stats(
    scores: Sequence[Optional[float]],
    targets: Sequence[float],
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
    label: str = "",
) -> dict[str, Any]:
    """Kendall tau-b, Spearman rho and Pearson r of ``scores`` against ``targets``, with intervals.

    ``None`` or NaN scores are missing and left out; infinite scores count in the rank statistics
    and are left out of Pearson. Returns ``{"n_cells", "n_missing", "n_neg_inf", "n_pos_inf",
    "kendall": {"n", "value", "p_value", "ci", "n_valid_resamples"}, "spearman": {...},
    "pearson": {..., "n_excluded_nonfinite"}}``; values are None where undefined (n < 3, constant).
    """
    s = np.array([np.nan if v is None else float(v) for v in scores], dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if s.shape != t.shape:
        raise ValueError(f"scores and targets must have equal length, got {len(s)} and {len(t)}")
    present = ~np.isnan(s) & np.isfinite(t)
    x, y = s[present], t[present]
    out: dict[str, Any] = {
        "n_cells": int(len(s)),
        "n_missing": int((~present).sum()),
        "n_neg_inf": int(np.isneginf(x).sum()),
        "n_pos_inf": int(np.isposinf(x).sum()),
    }
    finite = np.isfinite(x)
    for name in STATISTICS:
        xs, ys = (x[finite], y[finite]) if name == "pearson" else (stats.rankdata(x), y)
        value, p_value = _scipy_stat(name, xs, ys)
        low, high, n_valid = bootstrap_interval(xs, ys, name, n_resamples, _seed_for(seed, label, name), level)
        out[name] = {
            "n": int(len(xs)),
            "value": value,
            "p_value": p_value,
            "ci": None if low is None else [low, high],
            "n_valid_resamples": n_valid,
        }
        if name == "pearson":
            out[name]["n_excluded_nonfinite"] = int((~finite).sum())
    return out


def best_cell(specs: Sequence[Any], scores: Sequence[Optional[float]], targets: Sequence[float]) -> Optional[dict[str, Any]]:
    """The best-scoring cell's accuracy against the median cell's (search-level view).

    The percentile is that of its accuracy among all cells (``scipy.stats.percentileofscore``,
    ties counted half). Ties for the best score are reported; the first in table order is taken.
    None if no cell has a score.
    """
    s = np.array([np.nan if v is None else float(v) for v in scores], dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    scored = np.flatnonzero(~np.isnan(s) & np.isfinite(t))
    if not len(scored):
        return None
    top = np.max(s[scored])
    tied = scored[s[scored] == top]
    first = int(tied[0])
    accuracy = float(t[first])
    t = t[np.isfinite(t)]
    median = float(np.median(t))
    return {
        "arch": specs[first].to_str(),
        "op_indices": list(specs[first].op_indices),
        "has_backward": bool(specs[first].has_backward),
        "score": float(top) if math.isfinite(top) else str(top),
        "n_tied": int(len(tied)),
        "accuracy": accuracy,
        "percentile": float(stats.percentileofscore(t, accuracy, kind="mean")),
        "median_accuracy": median,
        "best_accuracy": float(np.max(t)),
        "beats_median": bool(accuracy > median),
    }


def _ranks_with_missing_lowest(scores: Sequence[Optional[float]]) -> np.ndarray:
    """Average ranks (1 = lowest) of ``scores``; missing (None/NaN) and -inf share the lowest ranks."""
    s = np.array([np.nan if v is None else float(v) for v in scores], dtype=np.float64)
    return stats.rankdata(np.where(np.isnan(s), -np.inf, s))


def best_of_n(
    scores: Sequence[Optional[float]],
    targets: Sequence[float],
    n: int,
    pool: Optional[np.ndarray] = None,
    n_resamples: int = N_RESAMPLES,
    seed: Union[int, Sequence[int]] = 0,
) -> Optional[dict[str, Any]]:
    """The paper's use of a proxy: draw ``n`` cells, keep the best-scoring one; how good is it?

    Draws ``n`` distinct cells from ``pool`` (a boolean mask over the cells; default all) ``n_resamples``
    times and records the accuracy percentile, among **all** cells, of the best-scoring cell of each
    draw (missing scores rank lowest, like -inf; ties go to a random one of the tied cells). Returns
    ``{"n", "pool", "expected_percentile", "expected_accuracy", "oracle_percentile"}``, where the
    oracle picks the truly best cell of each draw (the ceiling of any proxy) and a random pick
    averages 50; None when the pool has fewer than ``n`` cells with a finite accuracy, or when the
    proxy scored none of the pool's cells (its "pick" would be a random cell).
    """
    n = require_int("n", n, 1)
    t = np.asarray(targets, dtype=np.float64)
    valid = np.isfinite(t)
    members = np.flatnonzero(valid if pool is None else (np.asarray(pool, dtype=bool) & valid))
    if len(members) < n:
        return None
    scored = np.array([v is not None and not np.isnan(float(v)) for v in scores], dtype=bool)
    if len(scored) != len(t):
        raise ValueError(f"scores and targets must have equal length, got {len(scored)} and {len(t)}")
    if not scored[members].any():
        return None
    percentile = np.array([stats.percentileofscore(t[valid], v, kind="mean") if np.isfinite(v) else np.nan for v in t])
    ranks = _ranks_with_missing_lowest(scores)
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.permutation(members)[:n] for _ in range(int(n_resamples))])  # random order: random ties
    picked = draws[np.arange(len(draws)), np.argmax(ranks[draws], axis=1)]
    best = draws[np.arange(len(draws)), np.argmax(t[draws], axis=1)]
    return {
        "n": n,
        "pool": int(len(members)),
        "expected_percentile": float(percentile[picked].mean()),
        "expected_accuracy": float(t[picked].mean()),
        "oracle_percentile": float(percentile[best].mean()),
    }


def rank_average(*score_lists: Sequence[Optional[float]]) -> list[Optional[float]]:
    """Rank-average ensemble: the mean of each proxy's rank (-inf lowest); missing where any is missing."""
    columns = [np.array([np.nan if v is None else float(v) for v in scores], dtype=np.float64) for scores in score_lists]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ValueError(f"score lists must have equal length, got {sorted(lengths)}")
    missing = np.any([np.isnan(c) for c in columns], axis=0)
    mean_rank = np.mean([stats.rankdata(c[~missing]) for c in columns], axis=0)
    out: list[Optional[float]] = [None] * len(missing)
    for position, value in zip(np.flatnonzero(~missing), mean_rank):
        out[int(position)] = float(value)
    return out


def paired_difference(
    scores_a: Sequence[Optional[float]],
    scores_b: Sequence[Optional[float]],
    targets: Sequence[float],
    n_resamples: int = N_RESAMPLES,
    seed: Union[int, Sequence[int]] = 0,
    level: float = LEVEL,
) -> Optional[dict[str, Any]]:
    """Kendall tau(a) - tau(b) on the cells both proxies scored, with a paired bootstrap interval.

    Both taus are computed on the same resampled cells, so the interval answers "does a rank cells
    better than b?" directly; ``separate`` is True when it excludes 0. None with fewer than 3 cells.
    """
    a = np.array([np.nan if v is None else float(v) for v in scores_a], dtype=np.float64)
    b = np.array([np.nan if v is None else float(v) for v in scores_b], dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    both = ~np.isnan(a) & ~np.isnan(b) & np.isfinite(t)
    a, b, t = a[both], b[both], t[both]
    if len(t) < 3:
        return None
    value = float(kendall_tau_b_rows(a, t)[0] - kendall_tau_b_rows(b, t)[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(t), size=(int(n_resamples), len(t)))
    diffs = kendall_tau_b_rows(a[idx], t[idx]) - kendall_tau_b_rows(b[idx], t[idx])
    diffs = diffs[np.isfinite(diffs)]
    if not len(diffs):
        return {"n": int(len(t)), "value": value, "ci": None, "separate": False}
    low, high = np.percentile(diffs, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return {"n": int(len(t)), "value": value, "ci": [float(low), float(high)], "separate": bool(low > 0 or high < 0)}


# ---- the study ------------------------------------------------------------------------------------------
def correlate(
    benchmark: Any,
    zc: Mapping[str, Any],
    proxies: Optional[Sequence[str]] = None,
    target: str = "test_accuracy",
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
    target_seed: Union[int, str, None] = None,
    best_of: Sequence[int] = BEST_OF,
    ensemble: bool = True,
) -> dict[str, Any]:
    """The whole study as a JSON-ready dict (see the module docstring).

    Args:
        benchmark: anything :func:`naslib_snn.benchmarks.load` accepts.
        zc: a zero-cost table (:func:`naslib_snn.benchmarks.zc.load_zc`) for the benchmark's dataset.
        proxies: names to study; None = every proxy in the table.
        target: the accuracy to correlate with (final).
        target_seed: the training seed of the target; None = the primary seed, ``"mean"`` = the
            mean over each cell's seeds.
        best_of: sample sizes N of the best-of-N view (:func:`best_of_n`), on all cells and on each
            kind of cell alone.
        ensemble: add the rank average of ``sahd`` and the best other proxy (by Kendall tau on all
            cells; chosen on the same data, so optimistic) as one more row, and the paired
            comparisons of :data:`COMPARISONS`.

    Raises:
        ValueError: unknown target or a proxy absent from the table (the message lists those present).
        KeyError: the table has no entries for the benchmark's dataset.
    """
    from naslib_snn.benchmarks import load  # noqa: PLC0415
    from naslib_snn.benchmarks.zc import META_KEY, arch_key, zc_proxies  # noqa: PLC0415

    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
    api = load(benchmark)
    if api.dataset not in zc:
        raise KeyError(f"the zero-cost table has no dataset {api.dataset!r}; it has {[k for k in zc if k != META_KEY]}")
    cells = zc[api.dataset]
    available = zc_proxies(zc, api.dataset)
    names = available if proxies is None else list(proxies)
    absent = [p for p in names if p not in available]
    if absent:
        raise ValueError(f"proxy {', '.join(map(repr, absent))} not in the zero-cost table; it has {', '.join(available)}")
    specs = api.specs()
    targets = np.array(api.column(target, seed=target_seed), dtype=np.float64)
    groups = {
        "all": np.ones(len(specs), dtype=bool),
        "forward": np.array([not s.has_backward for s in specs]),
        "backward": np.array([s.has_backward for s in specs]),
    }
    result: dict[str, Any] = {
        "benchmark": api.name,
        "source": api.source,
        "dataset": api.dataset,
        "target": target,
        "target_seed": api.primary_seed if target_seed is None else target_seed,
        "n_cells": len(specs),
        "n_forward": int(groups["forward"].sum()),
        "n_backward": int(groups["backward"].sum()),
        "bootstrap": {"method": "percentile", "n_resamples": int(n_resamples), "seed": int(seed), "level": level},
        "zc_settings": dict(zc.get(META_KEY, {})).get("settings"),
        "handling": (
            "missing scores (null, or no entry) are left out of every statistic; -inf ranks below every finite "
            "score in Kendall and Spearman and is left out of Pearson; Kendall is tau-b"
        ),
        "noise_ceiling": _noise_ceiling(api, target, n_resamples, seed, level),
        "proxies": {},
    }
    for proxy in names:
        scores: list[Optional[float]] = []
        reasons: Counter[str] = Counter()
        for spec in specs:
            entry = cells.get(arch_key(spec), {}).get(proxy)
            if entry is None:
                scores.append(None)
                reasons["no entry for the cell in the zero-cost table"] += 1
            else:
                scores.append(entry["score"])
                if entry["score"] is None:
                    reasons[entry.get("missing", "missing")] += 1
        result["proxies"][proxy] = _proxy_result(proxy, scores, dict(reasons), specs, targets, groups, best_of,
                                                 n_resamples, seed, level)
    if ensemble and ENSEMBLE_BASE in result["proxies"]:
        _add_ensemble(result, specs, targets, groups, best_of, n_resamples, seed, level)
    result["cells"] = [s.to_str() for s in specs]
    result["targets"] = [float(v) if math.isfinite(v) else None for v in targets]
    return result


def _proxy_result(proxy: str, scores: list[Optional[float]], reasons: dict[str, int], specs: Sequence[Any],
                  targets: np.ndarray, groups: Mapping[str, np.ndarray], best_of: Sequence[int], n_resamples: int,
                  seed: int, level: float) -> dict[str, Any]:
    subsets = {}
    for subset, mask in groups.items():
        chosen = np.flatnonzero(mask)
        subsets[subset] = correlation_stats(
            [scores[i] for i in chosen], targets[chosen], n_resamples, seed, level, label=f"{proxy}/{subset}"
        )
    return {
        "subsets": subsets,
        "missing_reasons": reasons,
        "best_cell": best_cell(specs, scores, targets),
        "best_of_n": {  # the same draws for every proxy (common random numbers): one oracle, paired picks
            subset: {str(n): best_of_n(scores, targets, n, mask, n_resamples, _seed_for(seed, "best_of", subset, str(n)))
                     for n in best_of}
            for subset, mask in groups.items()
        },
        "scores": [None if v is None else (float(v) if math.isfinite(v) else str(v)) for v in scores],
    }


def _scores_of(info: Mapping[str, Any]) -> list[Optional[float]]:
    return [None if v is None else float(v) for v in info["scores"]]


def _add_ensemble(result: dict[str, Any], specs: Sequence[Any], targets: np.ndarray, groups: Mapping[str, np.ndarray],
                  best_of: Sequence[int], n_resamples: int, seed: int, level: float) -> None:
    """The rank-average row and the paired comparisons (see :func:`correlate`)."""
    proxies = result["proxies"]
    others = {}
    for proxy, info in proxies.items():
        stat = info["subsets"]["all"]
        covered = stat["n_cells"] - stat["n_missing"] >= ENSEMBLE_COVERAGE * stat["n_cells"]
        if proxy not in OUR_PROXIES and covered and stat["kendall"]["value"] is not None:
            others[proxy] = stat["kendall"]["value"]
    comparisons = [pair for pair in COMPARISONS if pair[0] in proxies and pair[1] in proxies]
    if others:
        partner = max(others, key=lambda p: others[p])
        name = f"rank_avg({ENSEMBLE_BASE}+{partner})"
        scores = rank_average(_scores_of(proxies[ENSEMBLE_BASE]), _scores_of(proxies[partner]))
        proxies[name] = _proxy_result(name, scores, {}, specs, targets, groups, best_of, n_resamples, seed, level)
        proxies[name]["ensemble_of"] = [ENSEMBLE_BASE, partner]
        result["ensemble"] = {"name": name, "of": [ENSEMBLE_BASE, partner],
                              "note": f"{partner} is the best other proxy by Kendall tau on all cells (among those that score "
                                      f"at least {ENSEMBLE_COVERAGE:.0%} of them), chosen on the same cells, so this "
                                      "row is optimistic"}
        comparisons += [(name, ENSEMBLE_BASE), (name, partner)]
    result["comparisons"] = [
        {"a": a, "b": b, "subset": subset,
         "kendall_difference": paired_difference(
             [_scores_of(proxies[a])[i] for i in np.flatnonzero(mask)],
             [_scores_of(proxies[b])[i] for i in np.flatnonzero(mask)],
             targets[mask], n_resamples, _seed_for(seed, a, b, subset), level)}
        for a, b in comparisons for subset, mask in groups.items()
    ]


def _noise_ceiling(api: Any, target: str, n_resamples: int, seed: int, level: float) -> Optional[dict[str, Any]]:
    pairs = api.repeat_pairs(target)
    if not pairs:
        return None
    a = [p[1] for p in pairs]
    b = [p[2] for p in pairs]
    out = correlation_stats(a, b, n_resamples, seed, level, label="noise_ceiling")
    backward = np.array([p[0].has_backward for p in pairs], dtype=bool)
    out["subsets"] = {  # the ceiling of each kind of cell: proxies on a subset compare with these
        subset: (correlation_stats(np.asarray(a)[mask], np.asarray(b)[mask], n_resamples, seed, level,
                                   label=f"noise_ceiling/{subset}") if mask.sum() >= 3 else None)
        for subset, mask in (("forward", ~backward), ("backward", backward))
    }
    seeds = api.meta["seeds"]
    out.update({
        "n_pairs": len(pairs),
        "seeds": list(seeds[:2]),
        "mean_abs_difference": float(np.mean(np.abs(np.subtract(a, b)))),
        "cells": [p[0].to_str() for p in pairs],
        "first_seed": a,
        "second_seed": b,
    })
    return out


# ---- report -----------------------------------------------------------------------------------------------
def _fmt(stat: Mapping[str, Any]) -> str:
    if stat["value"] is None:
        return "n/a"
    ci = stat["ci"]
    interval = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
    return f"{stat['value']:+.3f}{interval}"


def markdown_report(result: Mapping[str, Any]) -> str:
    """The study as a markdown document: correlation table, noise ceiling, best cells, handling notes."""
    boot = result["bootstrap"]
    lines = [
        f"# Training-free proxies vs. trained accuracy: {result['benchmark']}",
        "",
        f"- Cells: {result['n_cells']} ({result['n_forward']} forward-only, {result['n_backward']} with backward edges); "
        f"target: final {result['target']} ("
        + ("mean over each cell's seeds" if result["target_seed"] == "mean" else f"seed {result['target_seed']}") + ").",
        f"- Intervals: {boot['level']:.0%} {boot['method']} bootstrap, {boot['n_resamples']} resamples, seed {boot['seed']}.",
        f"- Handling: {result['handling']}.",
        "",
    ]
    ceiling = result.get("noise_ceiling")
    if ceiling:
        lines += [
            "## Noise ceiling",
            "",
            f"{ceiling['n_pairs']} cells trained with seeds {ceiling['seeds'][0]} and {ceiling['seeds'][1]}: "
            f"Kendall tau {_fmt(ceiling['kendall'])}, Spearman {_fmt(ceiling['spearman'])}, "
            f"Pearson {_fmt(ceiling['pearson'])}; mean |difference| {ceiling['mean_abs_difference']:.2f} points. "
            "No proxy can rank cells more consistently than a second training run does.",
            "",
        ]
        r = ceiling["pearson"]["value"]
        if result["target_seed"] == "mean" and r is not None and r > 0:
            lines += [
                f"The target here is the mean of the seeds, which is less noisy than one run. By the "
                f"Spearman-Brown formula its reliability is 2r/(1+r) = {2 * r / (1 + r):.3f} for Pearson r = {r:.3f} "
                f"between seeds, so even the cells' true accuracy would reach a Pearson r of only about "
                f"{math.sqrt(2 * r / (1 + r)):.3f} with it (the seed-to-seed ceiling above stays the conservative "
                "reference for the rank statistics).",
                "",
            ]
    else:
        lines += ["## Noise ceiling", "", "No cell was trained with a second seed.", ""]
    lines += [
        "## Correlations",
        "",
        "| proxy | cells | n | missing | -inf | Kendall tau [CI] | Spearman rho [CI] | Pearson r [CI] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if ceiling:
        parts = [("repeated", ceiling)] + [(k, v) for k, v in ceiling.get("subsets", {}).items() if v]
        for subset, c in parts:
            lines.append(
                f"| *noise ceiling* | {subset} | {c['kendall']['n']} | 0 | 0 | {_fmt(c['kendall'])} | "
                f"{_fmt(c['spearman'])} | {_fmt(c['pearson'])} |"
            )
    for proxy, info in result["proxies"].items():
        for subset in SUBSETS:
            s = info["subsets"][subset]
            pearson_note = f" (n={s['pearson']['n']})" if s["pearson"]["n_excluded_nonfinite"] else ""
            lines.append(
                f"| {proxy} | {subset} | {s['kendall']['n']} | {s['n_missing']} | {s['n_neg_inf']} | "
                f"{_fmt(s['kendall'])} | {_fmt(s['spearman'])} | {_fmt(s['pearson'])}{pearson_note} |"
            )
    lines += [
        "",
        "## Best-scoring cell vs. the median cell",
        "",
        "| proxy | best-scoring cell (op_indices) | backward edges | score | accuracy | percentile | median | beats median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for proxy, info in result["proxies"].items():
        best = info["best_cell"]
        if best is None:
            lines.append(f"| {proxy} | (no scores) | | | | | | |")
            continue
        score = best["score"] if isinstance(best["score"], str) else f"{best['score']:.4g}"
        ties = f" ({best['n_tied']} tied)" if best["n_tied"] > 1 else ""
        lines.append(
            f"| {proxy} | `{tuple(best['op_indices'])}`{ties} | {'yes' if best['has_backward'] else 'no'} | {score} | "
            f"{best['accuracy']:.2f} | {best['percentile']:.0f} | "
            f"{best['median_accuracy']:.2f} | {'yes' if best['beats_median'] else 'no'} |"
        )
    lines += _best_of_n_lines(result) + _comparison_lines(result)
    notes = [(p, info["missing_reasons"]) for p, info in result["proxies"].items() if info["missing_reasons"]]
    if notes:
        lines += ["", "## Missing scores", ""]
        for proxy, reasons in notes:
            for reason, count in reasons.items():
                lines.append(f"- {proxy}: {count} cell(s): {reason}")
    return "\n".join(lines) + "\n"


def _best_of_n_lines(result: Mapping[str, Any]) -> list[str]:
    proxies = [(p, info) for p, info in result["proxies"].items() if info.get("best_of_n")]
    if not proxies:
        return []
    sizes = list(next(iter(proxies))[1]["best_of_n"]["all"])

    def cell(entry: Optional[Mapping[str, Any]]) -> str:
        return "n/a" if entry is None else f"{entry['expected_percentile']:.1f}"

    lines = [
        "",
        "## Best of N: the percentile of the cell each proxy picks",
        "",
        "Draw N cells at random, keep the best-scoring one (the paper's search), and look up its accuracy "
        "percentile among all cells; averaged over the bootstrap's number of draws. A random pick averages 50; "
        "the *oracle* row picks the truly best cell of each draw. Restricted pools (forward-only, backward) draw "
        "only from those cells but rank the pick among all cells, which tests the paper's claim that backward "
        "cells are the better place to search. n/a: the pool has fewer than N cells, or the proxy scored none "
        "of them.",
        "",
        "| proxy | " + " | ".join(f"N={n} all" for n in sizes) + " | "
        + " | ".join(f"N={n} fw / bw" for n in sizes) + " |",
        "|---|" + "---|" * (2 * len(sizes)),
    ]
    def oracle(pool: str, n: Any) -> str:  # the same for every proxy that has an entry (same draws)
        entry = next((info["best_of_n"][pool][n] for _, info in proxies if info["best_of_n"][pool][n]), None)
        return "n/a" if entry is None else f"{entry['oracle_percentile']:.1f}"

    lines.append("| *oracle* | " + " | ".join(oracle("all", n) for n in sizes) + " | "
                 + " | ".join(f"{oracle('forward', n)} / {oracle('backward', n)}" for n in sizes) + " |")
    for proxy, info in proxies:
        b = info["best_of_n"]
        lines.append(f"| {proxy} | " + " | ".join(cell(b["all"][n]) for n in sizes) + " | "
                     + " | ".join(f"{cell(b['forward'][n])} / {cell(b['backward'][n])}" for n in sizes) + " |")
    return lines


def _comparison_lines(result: Mapping[str, Any]) -> list[str]:
    comparisons = result.get("comparisons") or []
    lines = []
    if result.get("ensemble"):
        lines += ["", f"**Ensemble.** `{result['ensemble']['name']}`: {result['ensemble']['note']}."]
    if not comparisons:
        return lines
    lines += [
        "",
        "## Paired comparisons (Kendall tau of a minus b, same bootstrap draws)",
        "",
        "| a | b | cells | n | tau(a) - tau(b) [CI] | intervals separate |",
        "|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        d = c["kendall_difference"]
        if d is None:
            lines.append(f"| {c['a']} | {c['b']} | {c['subset']} | <3 | n/a | |")
            continue
        ci = f" [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]" if d["ci"] else ""
        lines.append(f"| {c['a']} | {c['b']} | {c['subset']} | {d['n']} | {d['value']:+.3f}{ci} | "
                     f"{'yes' if d['separate'] else 'no'} |")
    return lines


def side_by_side_markdown(results: Mapping[str, Mapping[str, Any]], statistic: str = "kendall") -> str:
    """One table comparing studies (e.g. benchmark v1 and v2): ``statistic`` with its interval per
    proxy and kind of cell, the noise ceilings first; proxies absent from a study show as "-"."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; expected one of {', '.join(STATISTICS)}")
    labels = list(results)
    header = " | ".join(f"{label}: {subset}" for subset in SUBSETS for label in labels)
    lines = [
        "| proxy | " + header + " |",
        "|---|" + "---|" * (len(SUBSETS) * len(labels)),
    ]
    def ceiling_cell(label: str, subset: str) -> str:
        ceiling = results[label].get("noise_ceiling")
        if ceiling and subset != "all":
            ceiling = (ceiling.get("subsets") or {}).get(subset)
        return f"*{_fmt(ceiling[statistic])} (n={ceiling[statistic]['n']})*" if ceiling else "-"

    lines.append("| *noise ceiling* | " + " | ".join(ceiling_cell(label, s) for s in SUBSETS for label in labels) + " |")
    lines.append("| *cells* | " + " | ".join(
        str(results[label][key]) for key in ("n_cells", "n_forward", "n_backward") for label in labels) + " |")
    proxies: list[str] = []
    for label in labels:
        proxies += [p for p in results[label]["proxies"] if p not in proxies]
    for proxy in proxies:
        row = []
        for subset in SUBSETS:
            for label in labels:
                info = results[label]["proxies"].get(proxy)
                row.append(_fmt(info["subsets"][subset][statistic]) if info else "-")
        lines.append(f"| {proxy} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _scatter(ax: Any, proxy: str, info: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    from naslib_snn.search_spaces.spiking_nb201.spec import CellSpec  # noqa: PLC0415

    scores = [float(v) if v is not None else math.nan for v in info["scores"]]
    backward = [CellSpec.from_str(a).has_backward for a in result["cells"]]
    targets = [math.nan if t is None else t for t in result["targets"]]
    hidden = 0
    for flag, colour, label in ((False, "tab:blue", "forward-only"), (True, "tab:red", "with backward edges")):
        xs = [s for s, b in zip(scores, backward) if b == flag and math.isfinite(s)]
        ys = [t for s, b, t in zip(scores, backward, targets) if b == flag and math.isfinite(s)]
        hidden += sum(1 for s, b in zip(scores, backward) if b == flag and not math.isfinite(s))
        ax.scatter(xs, ys, s=18, c=colour, alpha=0.8, edgecolors="none", label=f"{label} ({len(xs)})")
    tau = info["subsets"]["all"]["kendall"]
    title = f"{proxy}: Kendall $\\tau$ = {_fmt(tau)}" if tau["value"] is not None else f"{proxy}: Kendall $\\tau$ n/a"
    ax.set_title(title, fontsize=9)
    xlabel = f"{proxy} score"
    if hidden:
        xlabel += f" ({hidden} missing / -inf not shown)"
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(f"{result['target'].replace('_', ' ')} (%)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="best")


def write_plots(result: Mapping[str, Any], out_dir: PathLike) -> list[Path]:
    """Scatter plots of score vs. accuracy (one per proxy, and a grid) and of the two seeds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415  (Agg; no pyplot state)
    from matplotlib.figure import Figure  # noqa: PLC0415

    out = Path(out_dir)
    written = []

    def save(fig: Any, name: str) -> None:
        FigureCanvasAgg(fig)
        fig.tight_layout()
        path = out / name
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=120)
        atomic_write_bytes(path, buffer.getvalue())
        written.append(path)

    proxies = list(result["proxies"].items())
    for proxy, info in proxies:
        fig = Figure(figsize=(4.2, 3.4))
        _scatter(fig.add_subplot(1, 1, 1), proxy, info, result)
        save(fig, f"scatter_{_safe(proxy)}.png")
    if proxies:
        cols = min(3, len(proxies))
        rows = math.ceil(len(proxies) / cols)
        fig = Figure(figsize=(4.2 * cols, 3.4 * rows))
        for k, (proxy, info) in enumerate(proxies):
            _scatter(fig.add_subplot(rows, cols, k + 1), proxy, info, result)
        save(fig, "scatter_grid.png")
    if proxies:
        save(_forest_figure(result, Figure), "kendall_forest.png")
        if any(e is not None for _, info in proxies for e in info.get("best_of_n", {}).get("all", {}).values()):
            save(_best_of_n_figure(result, Figure), "best_of_n.png")
    ceiling = result.get("noise_ceiling")
    if ceiling:
        fig = Figure(figsize=(4.2, 3.4))
        ax = fig.add_subplot(1, 1, 1)
        ax.scatter(ceiling["first_seed"], ceiling["second_seed"], s=18, c="tab:gray")
        low = min(ceiling["first_seed"] + ceiling["second_seed"])
        high = max(ceiling["first_seed"] + ceiling["second_seed"])
        ax.plot([low, high], [low, high], lw=0.8, c="k", ls="--")
        ax.set_title(f"noise ceiling: Kendall $\\tau$ = {_fmt(ceiling['kendall'])}", fontsize=9)
        ax.set_xlabel(f"{result['target'].replace('_', ' ')}, seed {ceiling['seeds'][0]} (%)", fontsize=8)
        ax.set_ylabel(f"seed {ceiling['seeds'][1]} (%)", fontsize=8)
        save(fig, "noise_ceiling.png")
    return written


def _forest_figure(result: Mapping[str, Any], figure: Any) -> Any:
    """Kendall tau with its interval per proxy and kind of cell, against the noise ceiling."""
    proxies = sorted(result["proxies"], key=lambda p: result["proxies"][p]["subsets"]["all"]["kendall"]["value"] or -2)
    fig = figure(figsize=(6.4, 0.9 + 0.42 * len(proxies)))
    ax = fig.add_subplot(1, 1, 1)
    styles = (("all", "k", 0.0), ("forward", "tab:blue", -0.22), ("backward", "tab:red", 0.22))
    for subset, colour, offset in styles:
        for row, proxy in enumerate(proxies):
            stat = result["proxies"][proxy]["subsets"][subset]["kendall"]
            if stat["value"] is None:
                continue
            low, high = stat["ci"] if stat["ci"] else (stat["value"], stat["value"])
            ax.errorbar(stat["value"], row + offset, xerr=[[max(0.0, stat["value"] - low)], [max(0.0, high - stat["value"])]], fmt="o",
                        ms=3.5, c=colour, lw=1)
        ax.plot([], [], "o-", ms=3.5, c=colour, lw=1, label={"all": "all cells", "forward": "forward-only",
                                                            "backward": "backward edges"}[subset])
    ceiling = result.get("noise_ceiling")
    if ceiling and ceiling["kendall"]["value"] is not None:
        value = ceiling["kendall"]["value"]
        ax.axvline(value, c="tab:green", lw=1.2, label=f"noise ceiling {value:+.2f}")
        if ceiling["kendall"]["ci"]:
            ax.axvspan(*ceiling["kendall"]["ci"], color="tab:green", alpha=0.12, lw=0)
        for subset, colour, _ in styles[1:]:  # each kind's own ceiling, where it has pairs enough
            stat = ((ceiling.get("subsets") or {}).get(subset) or {}).get("kendall")
            if stat and stat["value"] is not None:
                ax.axvline(stat["value"], c=colour, lw=1, ls="--", label=f"ceiling, {subset} {stat['value']:+.2f}")
    ax.axvline(0.0, c="grey", lw=0.6, ls=":")
    ax.set_yticks(range(len(proxies)), proxies, fontsize=8)
    ax.set_xlabel("Kendall $\\tau$ with trained accuracy (95% bootstrap interval)", fontsize=8)
    ax.set_title(f"{result['benchmark']}: {result['n_cells']} cells", fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def _best_of_n_figure(result: Mapping[str, Any], figure: Any) -> Any:
    """Expected percentile of the best-of-N pick against N, per proxy, with the oracle and random picks."""
    fig = figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    first = None
    curves = {}
    for proxy, info in result["proxies"].items():
        entries = [e for e in info["best_of_n"]["all"].values() if e is not None]
        if entries:
            curves[proxy] = entries
            first = first or entries
    # ours, the ensemble and the three best others by their mean percentile get a colour; the rest are grey
    others = sorted((p for p in curves if p not in OUR_PROXIES and not p.startswith("rank_avg")),
                    key=lambda p: -np.mean([e["expected_percentile"] for e in curves[p]]))
    named = [p for p in curves if p in OUR_PROXIES or p.startswith("rank_avg")] + others[:3]
    for proxy, entries in curves.items():
        xs, ys = [e["n"] for e in entries], [e["expected_percentile"] for e in entries]
        if proxy in named:
            ax.plot(xs, ys, marker="o", ms=3, lw=1.6, label=proxy)
        else:
            ax.plot(xs, ys, c="lightgrey", lw=0.8, zorder=0)
    if len(named) < len(curves):
        ax.plot([], [], c="lightgrey", lw=0.8, label=f"{len(curves) - len(named)} other proxies")
    if first:
        ax.plot([e["n"] for e in first], [e["oracle_percentile"] for e in first], c="k", ls="--", lw=1, label="oracle")
        ax.axhline(50.0, c="grey", ls=":", lw=1, label="random pick")
        ax.set_xscale("log")
        ax.set_xticks([e["n"] for e in first], [str(e["n"]) for e in first])
    ax.set_xlabel("N candidates scored", fontsize=8)
    ax.set_ylabel("accuracy percentile of the pick", fontsize=8)
    ax.set_title(f"{result['benchmark']}: best of N", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, ncol=2, loc="best")
    return fig


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def write_report(result: Mapping[str, Any], out_dir: PathLike, plots: bool = True) -> list[Path]:
    """Write ``correlation.json``, ``correlation.md`` and (``plots``) the PNGs into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "correlation.json", result)
    atomic_write_text(out / "correlation.md", markdown_report(result))
    written = [out / "correlation.json", out / "correlation.md"]
    if plots:
        written += write_plots(result, out)
    return written


# ---- command line -------------------------------------------------------------------------------------------
def _target_seed(text: str) -> Union[int, str]:
    if text == "mean":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a training seed (an int) or 'mean', got {text!r}") from None


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="spiking_nb201_fmnist",
                        help="shipped benchmark name, table JSON, or build directory (default: %(default)s)")
    parser.add_argument("--zc", default=None,
                        help="zero-cost table (naslib-snn benchmark zc); without it the built-in proxies are "
                             "computed into OUT/zc.json (resumable)")
    parser.add_argument("--proxies", default=None, help="comma-separated proxies (default: all in the table)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--target", default="test_accuracy", choices=TARGETS)
    parser.add_argument("--target-seed", default=None, type=_target_seed, metavar="SEED|mean",
                        help="training seed of the target, or 'mean' over each cell's seeds (default: the primary seed)")
    parser.add_argument("--n-resamples", type=int, default=N_RESAMPLES, help="bootstrap resamples (%(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (%(default)s)")
    parser.add_argument("--level", type=float, default=LEVEL, help="interval level (%(default)s)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG scatter plots")
    parser.add_argument("--data-dir", default=None, help="dataset location, when computing the zero-cost table")
    parser.add_argument("--zc-batch-size", type=int, default=None, help="scoring batch size, when computing it")
    parser.add_argument("--zc-num-batches", type=int, default=None, help="scoring batches, when computing it")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--compare", nargs="+", default=None, metavar="LABEL=DIR",
                        help="instead of a study: put earlier studies (DIR/correlation.json) side by side into "
                             "OUT/side_by_side.md, e.g. --compare v1=docs/results v2=docs/results/v2")


def run(args: argparse.Namespace) -> int:
    """Run the study; a bad input or a missing file prints one error line and returns 2."""
    try:
        return _run(args)
    except (FileNotFoundError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"naslib-snn correlate: error: {message}", file=sys.stderr)
        return 2


def _compare(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    results = {}
    for item in args.compare:
        label, sep, directory = item.partition("=")
        if not sep or not label or not directory:
            raise ValueError(f"--compare expects LABEL=DIR (e.g. v1=docs/results), got {item!r}")
        path = Path(directory) / "correlation.json"
        if not path.is_file():
            raise FileNotFoundError(f"no study at {path}; run `naslib-snn correlate ... --out {directory}` first")
        results[label] = json.loads(path.read_text(encoding="utf-8"))
    text = side_by_side_markdown(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "side_by_side.md", text)
    print(text)
    print(f"wrote {out / 'side_by_side.md'}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from naslib_snn.benchmarks import zc as zc_module  # noqa: PLC0415

    if args.compare:
        return _compare(args)

    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()] if args.proxies else None
    out = Path(args.out)
    if args.zc is not None:
        table = zc_module.load_zc(args.zc)
    else:
        options = {}
        if args.zc_batch_size is not None:
            options["batch_size"] = args.zc_batch_size
        if args.zc_num_batches is not None:
            options["num_batches"] = args.zc_num_batches
        table = zc_module.compute_zc(args.benchmark, out / "zc.json", proxies, data_dir=args.data_dir,
                                     progress=not args.no_progress, **options)
    result = correlate(args.benchmark, table, proxies, target=args.target, n_resamples=args.n_resamples,
                       seed=args.seed, level=args.level, target_seed=args.target_seed)
    result["zc_file"] = str(args.zc) if args.zc is not None else str(out / "zc.json")
    written = write_report(result, out, plots=not args.no_plots)
    print(markdown_report(result))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
