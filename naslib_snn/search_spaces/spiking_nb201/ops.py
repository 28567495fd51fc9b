"""Spiking operations and step-mode aware building blocks.

Every block runs in SpikingJelly's single-step mode (``x`` is ``[B, ...]``, one call per timestep) or
multi-step mode (``x`` is ``[T, B, ...]``); :func:`spikingjelly.activation_based.functional.set_step_mode`
switches them all. Batch normalisation always uses per-timestep statistics, so both modes compute the
same function in training mode too.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import base, functional, neuron, surrogate
from torch import nn

from .lif import FastLIFNode

NEURONS = ("lif", "plif")
TAU = 4.0 / 3.0  # paper Sec. 5.1; REFERENCE.md: tau 4/3, v_threshold 1, hard reset to 0


def make_neuron(kind: str = "lif", step_mode: str = "s") -> neuron.BaseNode:
    """A SpikingJelly LIF neuron with the paper's settings.

    ``"lif"`` is :class:`~.lif.FastLIFNode` (SpikingJelly's ``LIFNode(tau=4/3)`` with the same spikes in
    fewer tensor ops); ``"plif"`` is ``ParametricLIFNode(init_tau=4/3)`` (paper Table 2).
    Both use v_threshold 1.0, hard reset to 0, the ATan surrogate (alpha 2) and ``detach_reset``.
    """
    common = dict(
        decay_input=True,
        v_threshold=1.0,
        v_reset=0.0,
        surrogate_function=surrogate.ATan(alpha=2.0),
        detach_reset=True,
        step_mode=step_mode,
    )
    if kind == "lif":
        return FastLIFNode(tau=TAU, v_threshold=1.0, alpha=2.0, step_mode=step_mode)
    if kind == "plif":
        return neuron.ParametricLIFNode(init_tau=TAU, **common)
    raise ValueError(f"unknown neuron {kind!r}; expected one of {NEURONS}")


class Stateless(nn.Module, base.StepModule):
    """Runs a stateless module on ``[B, ...]`` or, in multi-step mode, on ``[T, B, ...]`` with T and B merged."""

    def __init__(self, module: nn.Module, step_mode: str = "s") -> None:
        super().__init__()
        self.module = module
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return functional.seq_to_ann_forward(x, self.module)
        return self.module(x)


class TimeBatchNorm2d(nn.BatchNorm2d, base.StepModule):
    """BatchNorm2d whose batch statistics are per timestep in both step modes."""

    def __init__(self, num_features: int, step_mode: str = "s") -> None:
        super().__init__(num_features)
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return torch.stack([super(TimeBatchNorm2d, self).forward(x_t) for x_t in x.unbind(0)])
        return super().forward(x)


class Zero(nn.Module, base.StepModule):
    """The ``none`` op: multiplies by zero (kept for completeness; cells skip empty pairs)."""

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class SpikingConvBN(nn.Sequential):
    """LIF -> conv (no bias) -> BN: the pre-activation conv op of the authors' code."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, neuron_kind: str, step_mode: str = "s") -> None:
        super().__init__(
            make_neuron(neuron_kind, step_mode),
            Stateless(nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False), step_mode),
            TimeBatchNorm2d(c_out, step_mode),
        )


def make_op(name: str, channels: int, neuron_kind: str, step_mode: str = "s") -> nn.Module:
    """The module for one base op name (``skip_connect``, ``none``, ``nor_conv_3x3``, ...)."""
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return Zero(step_mode)
    if name == "nor_conv_3x3":
        return SpikingConvBN(channels, channels, 3, neuron_kind, step_mode)
    if name == "nor_conv_1x1":
        return SpikingConvBN(channels, channels, 1, neuron_kind, step_mode)
    if name == "avg_pool_3x3":
        # NB201's pooling: stride 1, padding 1, border averages over valid pixels only
        return Stateless(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), step_mode)
    raise ValueError(f"unknown op {name!r}")
