"""Training and scoring speed of this checkout against an earlier commit, side by side (issue 10).

Two long-lived worker processes import naslib_snn, one from this checkout and one from a git worktree
of the baseline commit (same Python, same torch and SpikingJelly: only our code differs). The driver
gives them the same task in turns, ``--repeats`` times, so load from other processes hits both alike;
each figure is a median, and the speed-up is baseline / current of those medians.

Tasks:
  train-fw, train-bw  ``naslib_snn.train.train`` for one epoch at the benchmark's scale (C=8, T=4,
                      16x16, hidden 256, batch 64, 1 thread) on ``--train-images`` Fashion-MNIST images;
                      the figure is the trainer's own ``train_seconds`` of the epoch (evaluation not
                      included). fw: the authors' CIFAR-100 cell without its backward edge
                      (0302 0030 0003 0000); bw: the authors' CIFAR-100 cell (0302 0030 3003 0000).
  score               one search candidate: build the network as ``naslib-snn search`` does and
                      score it with SAHD, C=16, B=64, T=5, 32x32, the authors' CIFAR-100 cell,
                      2 threads (``--threads``).
  score-paper         the same at paper scale: C=128, B=256, 2 batches (slow: ~minutes each, no warm-up).
  train-fw-bf16, train-bw-bf16, score-bf16
                      the same tasks with this checkout in bfloat16 autocast (``bf16_autocast.py``, a
                      prototype: the package has no bf16 mode), the baseline in float32 as always.

Usage::

    git worktree add --detach ../baseline-e940386 e940386      # once: the issue's starting commit
    python bench/bench_speed.py --baseline ../baseline-e940386 [--tasks train-fw train-bw score] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CIFAR100_CELL = "0302 0030 3003 0000"  # authors' CIFAR-100 cell (backward conv3x3 2->0)
FORWARD_CELL = "0302 0030 0003 0000"  # the same without the backward edge
BASE_TASKS = ("train-fw", "train-bw", "score", "score-paper")
BF16_SUFFIX = "-bf16"
TASKS = (*BASE_TASKS, *(name + BF16_SUFFIX for name in ("train-fw", "train-bw", "score")))

# The worker: reads one JSON task per line on stdin, answers one JSON line on stdout.
WORKER = r'''
import contextlib, json, os, sys, time, tempfile
import torch
from naslib_snn import parse_arch

def score_network(spec, channels, timesteps, size, seed):
    # as naslib_snn.search builds a candidate in both versions: step by step, seeded init
    from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SpikingNB201Network(spec, num_classes=10, in_channels=3, channels=channels,
                                   timesteps=timesteps, image_size=size, multi_step=False)

def precision(task):
    if task["precision"] == "fp32":
        return contextlib.nullcontext()
    sys.path.insert(0, task["bench_dir"])  # only the current side is sent bf16 tasks
    from bf16_autocast import bf16_autocast
    return bf16_autocast()

def run(task):
    with precision(task):
        return run_fp(task)

def run_fp(task):
    torch.set_num_threads(task["threads"])
    if task["kind"] == "train":
        from naslib_snn.train import TrainConfig, train
        config = TrainConfig.for_dataset(
            "fashion_mnist", subset=task["images"], val_subset=0, test_subset=256, image_size=16, channels=8,
            timesteps=4, hidden=256, hidden_init_std=0.5, epochs=1, batch_size=64, lr=0.3, seed=0)
        result = train(parse_arch(task["cell"]), config, out_dir=None, progress=False)
        epoch = result["history"][0]
        return {"seconds": epoch["train_seconds"], "train_top1": round(epoch["train_top1"], 2)}
    from naslib_snn.predictors.registry import get_proxy
    import naslib_snn
    if hasattr(naslib_snn, "tune_malloc"):  # search's scoring workers tune malloc where the version has it
        naslib_snn.tune_malloc()
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(task["batch"], 3, task["size"], task["size"], generator=gen)
               for _ in range(task["batches"])]
    start = time.perf_counter()
    network = score_network(parse_arch(task["cell"]), task["channels"], task["timesteps"], task["size"], 0)
    value = float(get_proxy("sahd")(network, batches, seed=0))
    return {"seconds": time.perf_counter() - start, "score": value}

for line in sys.stdin:
    task = json.loads(line)
    print(json.dumps(run(task)), flush=True)
'''


def task_spec(name: str, args: argparse.Namespace) -> dict:
    """The task ``name`` as this checkout runs it (``precision`` "bf16" for the ``-bf16`` tasks)."""
    if name.endswith(BF16_SUFFIX):
        return dict(task_spec(name[: -len(BF16_SUFFIX)], args), precision="bf16", bench_dir=str(REPO / "bench"))
    return dict(_fp32_task_spec(name, args), precision="fp32")


def _fp32_task_spec(name: str, args: argparse.Namespace) -> dict:
    if name in ("train-fw", "train-bw"):
        return {"kind": "train", "cell": FORWARD_CELL if name == "train-fw" else CIFAR100_CELL,
                "images": args.train_images, "threads": 1}
    if name == "score":
        return {"kind": "score", "cell": CIFAR100_CELL, "channels": 16, "batch": 64, "batches": 1,
                "timesteps": 5, "size": 32, "threads": args.threads}
    if name == "score-paper":
        return {"kind": "score", "cell": CIFAR100_CELL, "channels": 128, "batch": 256, "batches": 2,
                "timesteps": 5, "size": 32, "threads": args.threads}
    raise ValueError(f"unknown task {name!r}; expected one of {TASKS}")


class Worker:
    def __init__(self, label: str, source: Path) -> None:
        env = dict(os.environ, PYTHONPATH=os.fspath(source), PYTHONWARNINGS="ignore")
        self.label = label
        self.process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=source, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, task: dict) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(task) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker died on task {task}")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout (git worktree) of the baseline commit")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=["train-fw", "train-bw", "score"])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each task per side (default: 3)")
    parser.add_argument("--train-images", type=int, default=1280, help="images in the timed epoch (default: 1280)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads when scoring (default: 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (args.baseline / "naslib_snn").is_dir():
        parser.error(f"--baseline {args.baseline} holds no naslib_snn package; expected a checkout of the baseline commit")

    workers = {"baseline": Worker("baseline", args.baseline.resolve()), "current": Worker("current", REPO)}
    rows = []
    try:
        for name in args.tasks:
            task = task_spec(name, args)
            # the baseline always runs float32: it has no other mode
            tasks = {"baseline": dict(task, precision="fp32"), "current": task}
            if name != "score-paper":  # minutes per run: first-call costs do not matter there
                for label, worker in workers.items():  # warm-up: imports, allocator, first-call costs
                    worker.run(tasks[label])
            times: dict[str, list[float]] = {label: [] for label in workers}
            extra: dict[str, dict] = {}
            for repeat in range(args.repeats):
                order = list(workers.items()) if repeat % 2 == 0 else list(reversed(workers.items()))
                for label, worker in order:
                    result = worker.run(tasks[label])
                    times[label].append(result.pop("seconds"))
                    extra[label] = result
            before, after = statistics.median(times["baseline"]), statistics.median(times["current"])
            rows.append({"task": name, "current_precision": task["precision"], "baseline_s": before, "current_s": after, "speedup": before / after,
                         "baseline_runs": times["baseline"], "current_runs": times["current"],
                         "baseline_result": extra["baseline"], "current_result": extra["current"]})
            print(f"{name:<13} baseline {before:8.3f} s   current {after:8.3f} s   speed-up {before / after:5.2f}x   "
                  f"{extra['baseline']} / {extra['current']}", flush=True)
    finally:
        for worker in workers.values():
            worker.close()
    print(f"torch threads: train 1, score {args.threads}; medians of {args.repeats} alternating runs; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
