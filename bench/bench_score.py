"""Benchmark of the training-free score (issue 3, items (a) and (c)).

(a) Median time to score a cell divided by the median time of a bare forward pass of the same
    network in the same mode (torch.no_grad, BN on batch statistics, dropout off), measured
    interleaved in the same run, in wall time and in this process's CPU time (the steadier
    figure on a shared machine). Goal: <= 1.15. Two cells: one with backward edges (neurons
    called once per timestep) and a forward-only one (multi-step neurons, one call per layer).
(c) Peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of a fresh subprocess) when scoring at
    C=64, B=256, next to the peak RSS of a subprocess that only runs the bare forward. Goal: < 3 GB.

(b), candidates/min with 2 workers, belongs to the search benchmark.

Usage::

    OMP_NUM_THREADS=1 python bench/bench_score.py               # all of it (several minutes on CPU)
    python bench/bench_score.py --skip-rss --repeats 5          # (a) only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from naslib_snn.predictors import score  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network  # noqa: E402

CELLS = {  # name -> (arch, multi_step)
    # authors' CIFAR-10 cell, with backward edges: neurons run single-step, T calls per layer
    "authors_cifar10": ("0303 0030 2002 0200", None),
    # forward-only cell of four conv3x3 edges: neurons run multi-step, one [T, B, ...] call per layer
    "forward_conv3": ("0333 0033 0003 0000", None),
    # the same cell step by step, as `naslib-snn search` scores it
    "forward_conv3_step": ("0333 0033 0003 0000", False),
}


def _network(cell: tuple[str, bool | None], channels: int, timesteps: int, size: int, seed: int) -> SpikingNB201Network:
    arch, multi_step = cell
    torch.manual_seed(seed)
    return SpikingNB201Network(arch, channels=channels, timesteps=timesteps, image_size=size, multi_step=multi_step)


def _bare_forward(network: torch.nn.Module, x: torch.Tensor) -> None:
    # The same mode score() uses for the paper variant: batch statistics, dropout off.
    network.train()
    for module in network.modules():
        if isinstance(module, torch.nn.Dropout):
            module.eval()
    with torch.no_grad():
        network(x)


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_ratio(args: argparse.Namespace) -> list[dict]:
    """Interleaved repeats; ratios of medians, in wall time and in this process's CPU time.

    On a shared machine the CPU time is the steadier figure: other processes' load
    stretches wall time but not the work this process does.
    """
    rows = []
    x = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    metrics = ("sahd", "sahd_reference")
    for name, cell in CELLS.items():
        network = _network(cell, args.channels, args.timesteps, args.size, seed=0)
        _bare_forward(network, x)  # warm-up
        score(network, x, "sahd")
        forward: list[tuple[float, float]] = []
        scored: dict[str, list[tuple[float, float]]] = {metric: [] for metric in metrics}
        for _ in range(args.repeats):  # interleaved, so load changes hit all alike
            forward.append(_timed(lambda: _bare_forward(network, x)))
            for metric in metrics:
                scored[metric].append(_timed(lambda: score(network, x, metric)))
        forward_wall = statistics.median(w for w, _ in forward)
        forward_cpu = statistics.median(c for _, c in forward)
        for metric in metrics:
            score_wall = statistics.median(w for w, _ in scored[metric])
            score_cpu = statistics.median(c for _, c in scored[metric])
            rows.append(
                {
                    "cell": name,
                    "multi_step": network.multi_step,
                    "metric": metric,
                    "forward_ms": 1e3 * forward_wall,
                    "score_ms": 1e3 * score_wall,
                    "ratio_wall": score_wall / forward_wall,
                    "forward_cpu_ms": 1e3 * forward_cpu,
                    "score_cpu_ms": 1e3 * score_cpu,
                    "ratio_cpu": score_cpu / forward_cpu,
                }
            )
    return rows


def _rss_child(args: argparse.Namespace) -> None:
    """Run in a fresh process: build the network, score (or only forward) once, print peak RSS."""
    network = _network(CELLS[args.rss_cell], args.rss_channels, args.timesteps, args.size, seed=0)
    x = torch.randn(args.rss_batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    if args.rss_child == "score":
        value = score(network, x, "sahd")
    else:
        _bare_forward(network, x)
        value = None
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"peak_rss_mib": peak_kib / 1024, "seconds": seconds, "score": value}))


def bench_rss(args: argparse.Namespace) -> list[dict]:
    rows = []
    for what in ("forward", "score"):
        command = [
            sys.executable, __file__, "--rss-child", what, "--rss-cell", args.rss_cell,
            "--rss-channels", str(args.rss_channels), "--rss-batch", str(args.rss_batch),
            "--timesteps", str(args.timesteps), "--size", str(args.size), "--threads", str(args.threads),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"run": what, **result})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=5)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--rss-channels", type=int, default=64)
    parser.add_argument("--rss-batch", type=int, default=256)
    parser.add_argument("--rss-cell", choices=sorted(CELLS), default="forward_conv3",
                        help="multi-step cells hold all T timesteps at once, the worst case for memory")
    parser.add_argument("--skip-ratio", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--rss-child", choices=["score", "forward"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.rss_child:
        _rss_child(args)
        return

    print(f"torch {torch.__version__}, {args.threads} thread(s), network: SpikingNB201Network")
    if not args.skip_ratio:
        print(f"\n(a) score / bare forward, C={args.channels} B={args.batch} T={args.timesteps} "
              f"{args.size}x{args.size}, median of {args.repeats} (goal <= 1.15)")
        print(f"{'cell':<16} {'mode':<5} {'metric':<15} {'fwd wall ms':>11} {'score wall ms':>13} "
              f"{'ratio':>6} {'fwd CPU ms':>10} {'score CPU ms':>12} {'ratio':>6}")
        for row in bench_ratio(args):
            mode = "m" if row["multi_step"] else "s"
            print(f"{row['cell']:<16} {mode:<5} {row['metric']:<15} {row['forward_ms']:>11.1f} "
                  f"{row['score_ms']:>13.1f} {row['ratio_wall']:>6.3f} {row['forward_cpu_ms']:>10.1f} "
                  f"{row['score_cpu_ms']:>12.1f} {row['ratio_cpu']:>6.3f}")
    if not args.skip_rss:
        print(f"\n(c) peak RSS, C={args.rss_channels} B={args.rss_batch} T={args.timesteps} "
              f"{args.size}x{args.size}, cell {args.rss_cell} (goal < 3 GB = 3072 MiB)")
        print(f"{'run':<8} {'peak RSS MiB':>13} {'seconds':>8}")
        for row in bench_rss(args):
            print(f"{row['run']:<8} {row['peak_rss_mib']:>13.0f} {row['seconds']:>8.1f}")


if __name__ == "__main__":
    main()
