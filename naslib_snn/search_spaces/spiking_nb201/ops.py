"""Spiking operations and step-mode aware building blocks.

Every block runs in SpikingJelly's single-step mode (``x`` is ``[B, ...]``, one call per timestep) or
multi-step mode (``x`` is ``[T, B, ...]``); :func:`spikingjelly.activation_based.functional.set_step_mode`
switches them all. Batch normalisation always uses per-timestep statistics, so both modes compute the
same function in training mode too.
"""

from __future__ import annotations

from collections.abc import Sequence

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


class _StackFrames(torch.autograd.Function):
    @staticmethod
    def forward(ctx, *frames: torch.Tensor) -> torch.Tensor:
        first = frames[0]
        out = torch.empty((len(frames) * first.shape[0], *first.shape[1:]), dtype=first.dtype, device=first.device,
                          memory_format=torch.channels_last if _is_channels_last(first) else torch.contiguous_format)
        out = out.unflatten(0, (len(frames), first.shape[0]))
        for t, frame in enumerate(frames):
            out[t].copy_(frame)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return grad.unbind(0)


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous()


def stack_frames(frames: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.stack(frames)`` for ``[B, C, H, W]`` frames that keeps their channels-last layout.

    ``torch.stack`` returns a plainly contiguous ``[T, B, C, H, W]`` tensor, so the next convolution
    would reorder its input back to channels-last; this one returns channels-last frames when the
    inputs are. Values and gradients are those of ``torch.stack``.
    """
    if frames[0].dim() != 4:
        return torch.stack(list(frames))
    return _StackFrames.apply(*frames)


class TimeBatchNorm2d(nn.BatchNorm2d, base.StepModule):
    """BatchNorm2d whose batch statistics are per timestep in both step modes.

    Multi-step training normalises each timestep's frame with its own batch statistics, as T
    single-step calls would (and updates the running statistics in the same order). In eval mode
    all timesteps share the running statistics, so one ``batch_norm`` call over the T*B frames is exact.
    """

    def __init__(self, num_features: int, step_mode: str = "s") -> None:
        super().__init__(num_features)  # momentum 0.1: an exponential moving average
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode != "m":
            return super().forward(x)
        if x.dim() != 5:
            raise ValueError(f"expected x with shape [T, B, C, H, W] in step_mode 'm', got {list(x.shape)}")
        if not self.training and self.track_running_stats:
            return functional.seq_to_ann_forward(x, super().forward)
        # T calls of the native kernel beat one fused pass here: a fused version with the two-pass
        # statistics per (timestep, channel) was 1.0-2.6x slower at C=8-16 (bench notes in the README).
        return stack_frames([super(TimeBatchNorm2d, self).forward(x_t) for x_t in x.unbind(0)])


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


def make_op(name: str, channels: int, neuron_kind: str, step_mode: str = "s", count_include_pad: bool = True) -> nn.Module:
    """The module for one base op name (``skip_connect``, ``none``, ``nor_conv_3x3``, ...).

    ``count_include_pad`` sets ``avg_pool_3x3``'s border averages: True (PyTorch's default, the
    authors' code) counts the zero padding, False (NAS-Bench-201) averages the valid pixels only.
    """
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return Zero(step_mode)
    if name == "nor_conv_3x3":
        return SpikingConvBN(channels, channels, 3, neuron_kind, step_mode)
    if name == "nor_conv_1x1":
        return SpikingConvBN(channels, channels, 1, neuron_kind, step_mode)
    if name == "avg_pool_3x3":
        return Stateless(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=count_include_pad), step_mode)
    raise ValueError(f"unknown op {name!r}")
