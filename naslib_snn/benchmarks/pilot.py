"""Compare training recipes on the same cells: the noise ceiling each one reaches, and what it costs.

A recipe pilot is a set of benchmark builds (``naslib-snn benchmark build``), one per recipe, over
the same cells with two seeds each. For each build this module reports what issue 9 asks for:

* the noise ceiling: Kendall tau between the two seeds' test accuracies over the cells that have
  both, with its bootstrap interval (:func:`naslib_snn.correlation.correlation_stats`);
* the median and interquartile range of test accuracy and the median final train accuracy
  (primary seed);
* the median CPU-seconds per run, and what a full build of ``cells`` cells trained twice would cost.

    naslib-snn benchmark pilot benchmark-build/pilot_v2/A benchmark-build/pilot_v2/B ... [--markdown FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

from naslib_snn.benchmarks.builder import finished_runs, load_plan
from naslib_snn.correlation import correlation_stats

__all__ = ["configure_parser", "markdown_table", "run", "summarize_build"]

FULL_BUILD_CELLS = 150  # issue 9: a v2 build of >= 150 cells, each trained with two seeds


def _quartiles(values: Sequence[float]) -> Optional[list[float]]:
    return [float(q) for q in np.percentile(values, [25, 50, 75])] if values else None


def summarize_build(out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """The pilot figures of one build directory (finished runs only; an unfinished build is fine).

    Raises:
        FileNotFoundError: ``out_dir`` holds no build plan.
    """
    plan = load_plan(out_dir)
    runs = finished_runs(out_dir, plan)
    primary, second = plan.seeds[0], (plan.seeds[1] if len(plan.seeds) > 1 else None)
    test = {index: run["result"]["final"]["test_accuracy"] for (index, s), run in runs.items() if s == primary}
    train = [run["result"]["final"]["train_accuracy"] for (_, s), run in runs.items() if s == primary]
    pairs = sorted(index for (index, s) in runs if s == second and index in test)
    repeat = {index: runs[(index, second)]["result"]["final"]["test_accuracy"] for index in pairs}
    cpu = [float(run["cpu_seconds"]) for run in runs.values() if run.get("cpu_seconds") is not None]
    ceiling = correlation_stats([test[i] for i in pairs], [repeat[i] for i in pairs], seed=seed,
                                label="noise_ceiling")["kendall"] if len(pairs) >= 3 else None
    cpu_median = float(np.median(cpu)) if cpu else None
    return {
        "build": str(out_dir),
        "recipe": dict(plan.recipe),
        "runs_finished": len(runs),
        "runs_planned": len(plan.jobs()),
        "pairs": len(pairs),
        "noise_ceiling_kendall": None if ceiling is None else ceiling["value"],
        "noise_ceiling_ci": None if ceiling is None else ceiling["ci"],
        "mean_abs_seed_difference": float(np.mean([abs(test[i] - repeat[i]) for i in pairs])) if pairs else None,
        "test_accuracy_quartiles": _quartiles(list(test.values())),
        "train_accuracy_median": float(np.median(train)) if train else None,
        "cpu_seconds_median": cpu_median,
        "cpu_hours_total": sum(cpu) / 3600.0,
        "full_build_cpu_hours": None if cpu_median is None else 2 * FULL_BUILD_CELLS * cpu_median / 3600.0,
    }


def _recipe_text(recipe: Mapping[str, Any], reference: Mapping[str, Any]) -> str:
    changed = {k: v for k, v in recipe.items() if reference.get(k) != v or k in ("subset", "epochs")}
    return ", ".join(f"{k}={v}" for k, v in changed.items() if k != "dataset")


def markdown_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    """One row per build: the recipe's distinguishing fields and the pilot figures."""
    reference = summaries[0]["recipe"] if summaries else {}
    lines = [
        "| recipe | runs | pairs | noise ceiling tau [95% CI] | mean abs seed diff | test acc median [IQR] "
        "| train acc median | CPU-s / run | 150-cell x 2 build, CPU-h |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        tau = s["noise_ceiling_kendall"]
        ci = s["noise_ceiling_ci"]
        tau_text = "n/a" if tau is None else f"{tau:+.3f}" + ("" if ci is None else f" [{ci[0]:+.2f}, {ci[1]:+.2f}]")
        q = s["test_accuracy_quartiles"]
        q_text = "n/a" if q is None else f"{q[1]:.1f} [{q[0]:.1f}, {q[2]:.1f}]"

        def num(value: Optional[float], fmt: str) -> str:
            return "n/a" if value is None else format(value, fmt)

        lines.append(
            f"| {Path(s['build']).name}: {_recipe_text(s['recipe'], reference)} | {s['runs_finished']}/{s['runs_planned']} "
            f"| {s['pairs']} | {tau_text} | {num(s['mean_abs_seed_difference'], '.2f')} | {q_text} "
            f"| {num(s['train_accuracy_median'], '.1f')} | {num(s['cpu_seconds_median'], '.0f')} "
            f"| {num(s['full_build_cpu_hours'], '.1f')} |"
        )
    return "\n".join(lines) + "\n"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("builds", nargs="+", type=Path, help="build directories, one per recipe")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")


def run(args: argparse.Namespace) -> int:
    summaries = [summarize_build(path) for path in args.builds]
    table = markdown_table(summaries)
    print(table, end="")
    if args.markdown is not None:
        from naslib_snn.utils.io import atomic_write_bytes  # noqa: PLC0415

        atomic_write_bytes(args.markdown, table.encode("utf-8"))
    return 0
