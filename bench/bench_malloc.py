"""glibc malloc tuning (``naslib_snn.utils.malloc``): tuned vs glibc's defaults, same checkout, side by side.

Each measurement runs in a fresh process with ``NASLIB_SNN_MALLOC=tuned`` or ``default``; the two
alternate ``--repeats`` times and each figure is a median. Tasks (the same as ``bench_speed.py``):

  train-fw, train-bw  one training step (forward, backward, SGD) at the benchmark's scale: C=8, T=4,
                      16x16, batch 64, 1 thread; median of 20 steps after 5 warm-up steps. fw: the
                      authors' CIFAR-100 cell without its backward edge, bw: with it.
  score               one search candidate (build + SAHD), C=16, B=64, T=5, 32x32, the authors'
                      CIFAR-100 cell, 2 threads; median of 6 after 2 warm-up candidates.
  peak                peak RSS while scoring one candidate at C=64, B=256, T=5, 32x32, step by step as
                      search does (the issue's memory bound: under 3 GB).

Every row also reports the minor page faults per step or candidate, and the score, which must be the
same bit for bit. Usage::

    python bench/bench_malloc.py [--repeats 3] [--out bench/results/malloc.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS = ("train-fw", "train-bw", "score", "peak")

WORKER = r'''
import json, resource, statistics, sys, time
import torch
from naslib_snn import parse_arch, tune_malloc
from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network
from spikingjelly.activation_based import functional

task = sys.argv[1]
applied = tune_malloc()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
CIFAR100_CELL, FORWARD_CELL = "0302 0030 3003 0000", "0302 0030 0003 0000"

def timed(fn, warmup, repeats):
    for _ in range(warmup):
        out = fn()
    before, times = faults(), []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), (faults() - before) / repeats, out

if task.startswith("train"):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = SpikingNB201Network(parse_arch(FORWARD_CELL if task == "train-fw" else CIFAR100_CELL), num_classes=10,
                              in_channels=1, channels=8, timesteps=4, image_size=16)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(64, 1, 16, 16), torch.randint(0, 10, (64,))
    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        functional.reset_net(net)
        return float(loss)
    seconds, per_step, _ = timed(step, 5, 20)
    result = {"seconds": seconds, "faults": per_step}
else:
    from naslib_snn.predictors.registry import get_proxy
    torch.set_num_threads(2)
    channels, batch, warmup, repeats = (16, 64, 2, 6) if task == "score" else (64, 256, 0, 1)
    inputs = [torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(0))]
    def candidate():
        torch.manual_seed(0)
        net = SpikingNB201Network(parse_arch(CIFAR100_CELL), num_classes=10, in_channels=3, channels=channels,
                                  timesteps=5, image_size=32, multi_step=False)
        return float(get_proxy("sahd")(net, inputs, seed=0))
    seconds, per_candidate, score = timed(candidate, warmup, repeats)
    result = {"seconds": seconds, "faults": per_candidate, "score": score}
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result["tuned"] = applied
print(json.dumps(result))
'''


def run(task: str, setting: str) -> dict:
    env = dict(os.environ, NASLIB_SNN_MALLOC=setting, PYTHONPATH=os.fspath(REPO), PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-c", WORKER, task], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the raw figures and medians as JSON")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    rows = {}
    for task in args.tasks:
        runs = {"default": [], "tuned": []}
        for _ in range(args.repeats):
            for setting in ("default", "tuned"):  # alternate, so load from other processes hits both
                runs[setting].append(run(task, setting))
        scores = {r.get("score") for side in runs.values() for r in side}
        if len(scores) != 1:
            raise SystemExit(f"{task}: scores differ between settings: {sorted(map(str, scores))}")
        med = {s: {k: statistics.median(r[k] for r in runs[s]) for k in ("seconds", "faults", "peak_rss_mb")}
               for s in runs}
        rows[task] = {"runs": runs, "median": med, "speedup": med["default"]["seconds"] / med["tuned"]["seconds"]}
        print(f"{task:9s} default {med['default']['seconds']:.4f} s ({med['default']['faults']:.0f} faults, "
              f"{med['default']['peak_rss_mb']:.0f} MB) | tuned {med['tuned']['seconds']:.4f} s "
              f"({med['tuned']['faults']:.0f} faults, {med['tuned']['peak_rss_mb']:.0f} MB) | "
              f"speed-up {rows[task]['speedup']:.2f}x", flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
                "repeats": args.repeats}
        args.out.write_text(json.dumps({"meta": meta, "tasks": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
