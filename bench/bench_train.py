"""Training steps/s of the trainer's SGD step (naslib_snn.train.train_step) at C=16, B=64, T=5, 32x32.

Cells:
  forward     the authors' CIFAR-100 cell without its backward edge (0302 0030 0003 0000), multi-step mode
  forward-ss  the same cell forced to run step by step (isolates the multi-step speed-up)
  backward    the authors' CIFAR-100 cell (0302 0030 3003 0000), backward conv3x3 2->0, step by step
and "forward-raw": the forward cell's plain step (forward, loss, backward, SGD) without the trainer's
finiteness checks, to show their overhead.

Batches come from the ``synthetic`` dataset at 32x32 (held in memory, so the loader is not timed).
The variants run in turns, so load from other processes hits them alike; each figure is the median
of ``--repeats`` timed steps after ``--warmup`` untimed ones. Ratios are against "forward" measured
in the same run.

    python bench/bench_train.py [--channels 16] [--batch 64] [--timesteps 5] [--size 32] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from spikingjelly.activation_based import functional

from naslib_snn import parse_arch
from naslib_snn.data import load_dataset, make_loader, set_epoch
from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network
from naslib_snn.train import TrainConfig, build_network, build_optimizer, train_step

FORWARD = "0302 0030 0003 0000"
BACKWARD = "0302 0030 3003 0000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=5)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()

    config = TrainConfig.for_dataset(
        "synthetic", channels=args.channels, batch_size=args.batch, timesteps=args.timesteps,
        image_size=args.size, hidden=1024, hidden_init_std=None, lr=0.1,
    )
    data = load_dataset("synthetic", split="train", image_size=args.size, seed=0)
    loader = make_loader(data, args.batch, shuffle=True, seed=0)
    set_epoch(loader, 0)
    batches = [batch for batch, _ in zip(loader, range(args.warmup + args.repeats))]

    nets = {
        "forward": build_network(FORWARD, config),
        "backward": build_network(BACKWARD, config),
    }
    single = SpikingNB201Network(parse_arch(FORWARD), multi_step=False, **config.network_kwargs())
    single.load_state_dict(nets["forward"].state_dict())
    nets["forward-ss"] = single
    raw = build_network(FORWARD, config)
    optimizers = {name: build_optimizer(net, config) for name, net in nets.items()}
    raw_optimizer = build_optimizer(raw, config)

    def raw_step(images: torch.Tensor, labels: torch.Tensor) -> None:
        loss = torch.nn.functional.cross_entropy(raw(images), labels)
        raw_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        raw_optimizer.step()
        functional.reset_net(raw)

    steps = {name: (lambda x, y, n=name: train_step(nets[n], optimizers[n], x, y)) for name in nets}
    steps["forward-raw"] = raw_step
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i, (images, labels) in enumerate(batches):
        for name, step in steps.items():
            start = time.perf_counter()
            step(images, labels)
            if i >= args.warmup:
                times[name].append(time.perf_counter() - start)

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, C={args.channels} B={args.batch} "
          f"T={args.timesteps} {args.size}x{args.size}, median of {args.repeats} steps after {args.warmup} warm-up")
    base = statistics.median(times["forward"])
    print(f"{'cell':<12} {'params':>9} {'s/step':>8} {'steps/s':>8} {'vs forward':>11}")
    for name in ("forward", "forward-raw", "forward-ss", "backward"):
        median = statistics.median(times[name])
        net = raw if name == "forward-raw" else nets[name]
        print(f"{name:<12} {net.num_params():>9,} {median:8.3f} {1.0 / median:8.2f} {median / base:10.2f}x")


if __name__ == "__main__":
    main()
