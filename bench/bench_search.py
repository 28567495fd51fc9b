"""Random search throughput: candidates/min with 2 worker processes against 1 (issue 3, benchmark b).

Both settings score the same candidates (same seed) on the same scoring batch; each repeat runs
them back to back, so load from other processes on a shared machine hits both alike. The
figure is the median over repeats of the per-repeat ratio. Goal: >= 1.7x on 2 free cores.

Each timed run is a whole ``random_search`` call with its files (results.jsonl fsynced per line),
as a user runs it. The 2-worker pool's fork server is started once before timing (a search of
thousands of candidates pays that cost once), so later pools start in well under a second.

    python bench/bench_search.py [--channels 16] [--batch-size 64] [--timesteps 5] [--image-size 32]
                                 [--candidates 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

from naslib_snn.search import SearchConfig, random_search


def timed_search(config: SearchConfig, workers: int, out_dir: Path) -> tuple[float, float]:
    """Wall seconds of one search into a fresh ``out_dir``, and the mean seconds per candidate.

    The per-candidate time is measured inside the worker around building and scoring; if it
    grows with 2 workers, the workers are competing for cores (a loaded machine), not idle.
    """
    start = time.perf_counter()
    result = random_search(config, out_dir=out_dir, workers=workers)
    wall = time.perf_counter() - start
    return wall, statistics.fmean(record["seconds"] for record in result.records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataset", default="synthetic")
    args = parser.parse_args()

    config = SearchConfig(
        dataset=args.dataset,
        image_size=args.image_size,
        channels=args.channels,
        batch_size=args.batch_size,
        timesteps=args.timesteps,
        candidates=args.candidates,
        seed=0,
    )
    print(
        f"C={config.channels} B={config.batch_size} T={config.timesteps} {config.resolved_image_size()}px "
        f"{config.dataset}, {config.candidates} candidates, {args.repeats} repeats; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Warm-up: imports in this process, and the fork server the 2-worker pools fork from.
        random_search(dataclasses.replace(config, candidates=2), out_dir=root / "warm1", workers=1)
        random_search(dataclasses.replace(config, candidates=2), out_dir=root / "warm2", workers=2)
        one, two, ratios, slowdowns, busy = [], [], [], [], []
        for repeat in range(args.repeats):
            t1, c1 = timed_search(config, 1, root / f"r{repeat}w1")
            t2, c2 = timed_search(config, 2, root / f"r{repeat}w2")
            one.append(t1)
            two.append(t2)
            ratios.append(t1 / t2)
            slowdowns.append(c2 / c1)
            busy.append(config.candidates * c2 / (2 * t2))
            print(
                f"  repeat {repeat}: 1 worker {60 * config.candidates / t1:6.1f} cand/min ({t1:.1f} s, "
                f"{c1:.2f} s/cand), 2 workers {60 * config.candidates / t2:6.1f} cand/min ({t2:.1f} s, "
                f"{c2:.2f} s/cand), speed-up {t1 / t2:.2f}x"
            )
    per_min_one = 60 * config.candidates / statistics.median(one)
    per_min_two = 60 * config.candidates / statistics.median(two)
    speedup = statistics.median(ratios)
    print(f"median: 1 worker {per_min_one:.1f} cand/min, 2 workers {per_min_two:.1f} cand/min")
    print(f"(b) speed-up 2 workers / 1 worker: {speedup:.2f}x (goal >= 1.7x); load average now {os.getloadavg()[0]:.1f}")
    print(
        f"    time per candidate inside a worker, 2 workers / 1 worker: {statistics.median(slowdowns):.2f}x "
        "(about 1 on 2 free cores; about 2 when only one core is free)"
    )
    print(
        f"    2-worker pool utilisation (time spent scoring / (2 x wall)): {statistics.median(busy):.0%} "
        "(what the pool loses to start-up, hand-off and the last candidate running alone)"
    )


if __name__ == "__main__":
    main()
