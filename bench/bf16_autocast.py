"""A bfloat16 autocast prototype of the network, for measuring only (issue 10); not part of the package.

On this project's CPU (AMD EPYC, AVX2, no AVX512-BF16 and no AMX) bf16 convolutions and matmuls have
no hardware path and run 9-15x slower than float32, so a whole training step or scored candidate is
4-6x slower (README, "Development"). The package therefore has no bf16 mode; this context manager
lets ``bench_speed.py --tasks ... score-bf16`` and ``bench_bf16.py`` repeat the measurement on
another CPU. Inside it:

* ``SpikingNB201Network.forward`` runs under ``torch.autocast("cpu", dtype=torch.bfloat16)`` and
  returns float32 logits (so the loss is computed in float32);
* ``FastLIFNode`` casts its input to float32 first: the numba LIF kernels take float32 only, and the
  spikes stay exactly 0/1 (the next convolution casts them to bf16, where 0 and 1 are exact);
* the scoring accumulator runs outside autocast, so spike Gram matrices and counts stay exact
  (under autocast the matmul in ``gram_and_counts`` would run in bf16 and round the counts).

Everything is restored on exit. Only ``lif`` neurons are covered (``plif`` is SpikingJelly's).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def bf16_autocast() -> Iterator[None]:
    """Run this checkout's network in bf16 autocast on the CPU for the duration of the block."""
    from naslib_snn.predictors import scoring
    from naslib_snn.search_spaces.spiking_nb201 import lif, network

    saved = [
        (network.SpikingNB201Network, "forward", network.SpikingNB201Network.forward),
        (lif.FastLIFNode, "single_step_forward", lif.FastLIFNode.single_step_forward),
        (lif.FastLIFNode, "multi_step_forward", lif.FastLIFNode.multi_step_forward),
        (scoring._KernelAccumulator, "add", scoring._KernelAccumulator.add),
    ]
    forward, single, multi, add = (original for _, _, original in saved)

    @functools.wraps(forward)
    def autocast_forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = forward(self, x)
        return logits.float()

    @functools.wraps(add)
    def exact_add(self, spikes, layer):
        with torch.autocast("cpu", enabled=False):
            return add(self, spikes.float(), layer)

    network.SpikingNB201Network.forward = autocast_forward
    lif.FastLIFNode.single_step_forward = functools.wraps(single)(lambda self, x: single(self, x.float()))
    lif.FastLIFNode.multi_step_forward = functools.wraps(multi)(lambda self, x: multi(self, x.float()))
    scoring._KernelAccumulator.add = exact_add
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
