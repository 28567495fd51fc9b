"""Forward-only cells: SpikingJelly multi-step mode against step-by-step execution.

Both networks hold identical weights and compute the same function; the ratio is
median(step-by-step time) / median(multi-step time), measured in the same run.

    python bench/bench_multistep.py [--channels 16] [--batch 64] [--timesteps 5] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from naslib_snn import CellSpec, SpikingNB201Network

CELLS = {
    "conv-heavy": CellSpec((2, 2, 3, 2, 3, 2)),
    "mixed": CellSpec((0, 1, 2, 3, 4, 0)),
    "pool+skip": CellSpec((4, 0, 3, 1, 4, 0)),
}


def paired_times(fn_a, fn_b, repeats: int) -> tuple[float, float, float]:
    """Median times of ``fn_a`` and ``fn_b`` and the median of their per-repeat ratios.

    The two run alternately, so load from other processes on a shared machine hits both alike.
    """
    fn_a(), fn_b()  # warm-up
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(times_a, times_b)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=5)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 10, (args.batch,))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, C={args.channels} B={args.batch} "
          f"T={args.timesteps} {args.size}x{args.size}, median of {args.repeats} alternating repeats")
    print(f"{'cell':<12} {'pass':<16} {'step (s)':>9} {'multi (s)':>9} {'speed-up':>9}")
    ratios = []
    for name, spec in CELLS.items():
        kw = dict(channels=args.channels, timesteps=args.timesteps, image_size=args.size)
        multi = SpikingNB201Network(spec, multi_step=True, **kw)
        single = SpikingNB201Network(spec, multi_step=False, **kw)
        single.load_state_dict(multi.state_dict())

        def forward(net):
            with torch.no_grad():
                net(x)

        def train_step(net):
            net.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(x), y).backward()

        for label, fn in (("forward", forward), ("forward+backward", train_step)):
            t_single, t_multi, ratio = paired_times(lambda: fn(single), lambda: fn(multi), args.repeats)
            ratios.append(ratio)
            print(f"{name:<12} {label:<16} {t_single:9.4f} {t_multi:9.4f} {ratio:8.2f}x")
    print(f"median speed-up over all cells and passes: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
