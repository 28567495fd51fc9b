"""SAHD scores in bfloat16 autocast against float32 over random cells: Kendall tau and speed (issue 10).

The issue's rule for a faster mode that changes numerics: it may become the scoring default only with
Kendall tau >= 0.98 between its scores and the float32 scores over >= 100 random cells. This script
measures that tau, separately for forward-only cells and cells with backward edges too, on real
Fashion-MNIST images at the search's scale (C=16, B=64, T=5, 32x32, one batch). bf16 is
``bf16_autocast.py``'s prototype (the package has no bf16 mode). Each cell is built with the same seed
and scored both ways, in alternating order; the speed figure is the ratio of the median per-cell times.

Usage::

    python bench/bench_bf16.py [--cells 60] [--threads 1] [--json bench/results/bf16_scoring.json]
    python bench/bench_bf16.py --ops     # only: single convolutions and a Linear, bf16 against float32
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bf16_autocast import bf16_autocast  # noqa: E402

from naslib_snn.data import load_scoring_batches  # noqa: E402
from naslib_snn.predictors.registry import get_proxy  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201 import CellSpec, SpikingNB201Space  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network  # noqa: E402


def sample_cells(per_kind: int, seed: int) -> list[CellSpec]:
    """``per_kind`` forward-only cells and ``per_kind`` cells with a backward edge, all with an input-output path."""
    rng = np.random.default_rng(seed)
    forward = SpikingNB201Space(backward=False, require_path=True).sample_many(per_kind, rng)
    backward_space, backward = SpikingNB201Space(backward=True, require_path=True), []
    while len(backward) < per_kind:
        spec = backward_space.sample(rng)
        if spec.has_backward and spec not in backward:
            backward.append(spec)
    return forward + backward


def score_cell(spec: CellSpec, images: list[torch.Tensor], precision: str, seed: int) -> tuple[float, float]:
    """(SAHD score, seconds to build and score) of ``spec``, built as ``naslib-snn search`` builds it."""
    start = time.perf_counter()
    with bf16_autocast() if precision == "bf16" else contextlib.nullcontext():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = SpikingNB201Network(spec, num_classes=10, in_channels=images[0].shape[1], channels=16,
                                          timesteps=5, image_size=images[0].shape[-1], multi_step=False)
        value = float(get_proxy("sahd")(network, images, seed=seed))
    return value, time.perf_counter() - start


def kendall(a: list[float], b: list[float]) -> float:
    """Kendall tau-b; -inf scores (networks that never fire) rank below every finite one."""
    lowest = min(min(x for x in a + b if math.isfinite(x)), 0.0) - 1e6
    clean = [[x if math.isfinite(x) else lowest for x in values] for values in (a, b)]
    return float(stats.kendalltau(*clean).statistic)


def _median_seconds(fn, repeats: int = 20) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def op_speeds() -> None:
    """Print float32 / bf16 time ratios of the network's largest ops, channels-last as the network runs them."""
    cases = []
    for channels, batch, size in ((8, 256, 16), (16, 64, 32)):  # training (T*B frames), scoring (one frame)
        conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
        x = torch.randn(batch, channels, size, size).contiguous(memory_format=torch.channels_last)
        cases.append((f"conv3x3 C={channels} B={batch} {size}x{size}", conv, x))
    cases.append(("linear 256x512 -> 256", nn.Linear(512, 256, bias=False), torch.randn(256, 512)))
    for name, module, x in cases:
        fp32 = _median_seconds(lambda: module(x))
        low, x_low = copy.deepcopy(module).to(torch.bfloat16), x.to(torch.bfloat16)
        bf16 = _median_seconds(lambda: low(x_low))
        print(f"{name:<28} fp32 {fp32 * 1e3:7.2f} ms  bf16 {bf16 * 1e3:7.2f} ms  bf16 speed-up {fp32 / bf16:5.2f}x",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=60, help="cells of each kind (forward-only, backward) (default: 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cell sample, the images and the init (default: 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--json", type=Path, help="also write the figures and every score here")
    parser.add_argument("--ops", action="store_true", help="only time single ops in bf16 against float32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.ops:
        op_speeds()
        return
    images, _ = load_scoring_batches("fashion_mnist", 64, 1, args.seed, image_size=32)
    cells = sample_cells(args.cells, args.seed)
    score_cell(cells[0], images, "fp32", args.seed)  # warm-up: numba, allocator
    score_cell(cells[0], images, "bf16", args.seed)
    rows = []
    for index, spec in enumerate(cells):
        order = ("fp32", "bf16") if index % 2 == 0 else ("bf16", "fp32")
        result = {precision: score_cell(spec, images, precision, args.seed) for precision in order}
        rows.append({"arch": spec.to_str(), "backward": spec.has_backward,
                     "fp32": result["fp32"][0], "bf16": result["bf16"][0],
                     "fp32_s": result["fp32"][1], "bf16_s": result["bf16"][1]})
        print(f"{index + 1:4d}/{len(cells)} {spec.to_str()}  fp32 {rows[-1]['fp32']:10.4f}  bf16 {rows[-1]['bf16']:10.4f}",
              flush=True)

    summary = {}
    for kind, subset in (("all", rows), ("forward", [r for r in rows if not r["backward"]]),
                         ("backward", [r for r in rows if r["backward"]])):
        fp32, bf16 = [r["fp32"] for r in subset], [r["bf16"] for r in subset]
        fp32_s, bf16_s = statistics.median(r["fp32_s"] for r in subset), statistics.median(r["bf16_s"] for r in subset)
        finite = [abs(r["bf16"] - r["fp32"]) for r in subset if math.isfinite(r["fp32"]) and math.isfinite(r["bf16"])]
        summary[kind] = {
            "cells": len(subset), "kendall_tau": kendall(fp32, bf16),
            "median_abs_diff": statistics.median(finite) if finite else None,
            "max_abs_diff": max(finite) if finite else None,
            "infinite_mismatch": sum(math.isfinite(r["fp32"]) != math.isfinite(r["bf16"]) for r in subset),
            "fp32_median_s": fp32_s, "bf16_median_s": bf16_s, "bf16_speedup": fp32_s / bf16_s,
        }
        print(f"{kind:<9} {len(subset):4d} cells  Kendall tau {summary[kind]['kendall_tau']:.4f}  "
              f"median |diff| {summary[kind]['median_abs_diff']}  bf16 speed-up {fp32_s / bf16_s:.2f}x", flush=True)
    if args.json:
        setting = {"dataset": "fashion_mnist", "image_size": 32, "channels": 16, "batch": 64, "batches": 1,
                   "timesteps": 5, "threads": args.threads, "seed": args.seed, "torch": torch.__version__,
                   "date": time.strftime("%Y-%m-%d %H:%M")}
        args.json.write_text(json.dumps({"setting": setting, "summary": summary, "cells": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
