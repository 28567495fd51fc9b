"""A faster LIF for the paper's neuron: the same spikes as SpikingJelly's ``LIFNode``, in one pass.

The paper's neuron (tau 4/3, decay_input, v_threshold 1, hard reset to 0, ``detach_reset``, ATan
surrogate) runs here as one autograd function over all T timesteps of a ``[T, ...]`` input. Two
backends compute it: numba kernels (:mod:`.lif_kernels`, one loop over memory; the default for
float32 CPU tensors) and tensor ops (any device or dtype; :func:`set_backend` picks). Both compute:

* forward, per timestep: ``h = v + (x_t - v) / tau`` (SpikingJelly's expression, so spikes and
  membranes are bit for bit the same), ``s = h >= v_th``, ``v = 0 where s else h``. Only ``h`` is
  kept for the backward pass.
* backward: the surrogate derivative ``(alpha / 2) / (1 + (pi / 2 * alpha * (h - v_th))^2)`` for
  all timesteps at once, then the reverse-time recurrence ``g_h[t] = g_s[t] * sg[t] + carry * (1 - s[t])``
  (``detach_reset``: no gradient flows through the spike in the reset), ``carry = g_h[t] * (1 - 1/tau)``,
  ``g_x[t] = g_h[t] / tau``.

SpikingJelly 2.0's CPU path computes the same function with about three times as many tensor ops;
the numba kernels are about twice as fast again (README, "Development"). Under ``torch.no_grad``
nothing is kept for a backward pass. :class:`FastLIFNode` is a SpikingJelly ``LIFNode``, so ``reset_net``,
step modes, hooks and ``isinstance(m, BaseNode)`` all work as before.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from spikingjelly.activation_based import neuron, surrogate

try:  # numba is a dependency; the tensor-op path below stays for other devices and dtypes
    from . import lif_kernels
except ImportError:  # pragma: no cover - numba missing or broken
    lif_kernels = None

__all__ = ["BACKENDS", "FastLIFNode", "lif_multi_step", "set_backend"]

BACKENDS = ("numba", "torch")
_backend = "numba" if lif_kernels is not None else "torch"


def set_backend(name: str) -> str:
    """Choose how :func:`lif_multi_step` runs on float32 CPU tensors: ``"numba"`` kernels (the default
    when numba imports) or ``"torch"`` tensor ops. Returns the previous choice. Both give the same spikes.

    Raises:
        ValueError: an unknown name, or ``"numba"`` without numba.
    """
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"unknown LIF backend {name!r}; expected one of {BACKENDS}")
    if name == "numba" and lif_kernels is None:
        raise ValueError("the numba LIF backend needs numba (pip install numba)")
    previous, _backend = _backend, name
    return previous


def _use_kernels(x_seq: torch.Tensor) -> bool:
    return _backend == "numba" and x_seq.device.type == "cpu" and x_seq.dtype == torch.float32


def _memory_order(x_seq: torch.Tensor) -> Optional[list[int]]:
    """The permutation of dims that makes ``x_seq`` contiguous with time first, or None if there is none."""
    rest = sorted(range(1, x_seq.dim()), key=lambda d: -x_seq.stride(d))
    order = [0, *rest]
    return order if x_seq.permute(order).is_contiguous() else None


def _flat(tensor: torch.Tensor, order: list[int], output: bool = False) -> np.ndarray:
    """``[T, N]`` (or ``[N]`` for a frame) numpy array of a tensor, in the memory order ``order`` gives.

    A view when the tensor is laid out that way, else a copy; an ``output`` the kernel writes must be a view.
    """
    if tensor.dim() == len(order):
        array = tensor.detach().permute(order).reshape(tensor.shape[0], -1).numpy()
    else:
        array = tensor.detach().permute([d - 1 for d in order[1:]]).reshape(-1).numpy()
    if output and array.ctypes.data != tensor.data_ptr():
        raise RuntimeError("LIF kernel output is not laid out like its input")  # a bug, not bad input
    return array


def _kernel_forward(x_seq: torch.Tensor, v: torch.Tensor, tau: float, v_threshold: float
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    order = _memory_order(x_seq)
    if order is None:  # an expanded or sliced input: copy it once
        x_seq = x_seq.contiguous()
        order = list(range(x_seq.dim()))
    spikes, h_seq = torch.empty_like(x_seq), torch.empty_like(x_seq)  # same (dense) layout as x_seq
    v_out = torch.empty_like(x_seq[0])
    # v is only read: _flat gives a view when its layout matches x's, else a copy in x's order
    lif_kernels.lif_forward(_flat(x_seq, order), _flat(v, order), _flat(v_out, order, output=True), tau,
                            v_threshold, _flat(spikes, order, output=True), _flat(h_seq, order, output=True))
    return spikes, v_out, h_seq


def _kernel_backward(g_spikes: Optional[torch.Tensor], g_v: Optional[torch.Tensor], h_seq: torch.Tensor,
                     tau: float, v_threshold: float, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    order = _memory_order(h_seq)  # h_seq is dense: made by empty_like of a dense tensor
    g_x, carry = torch.empty_like(h_seq), torch.zeros_like(h_seq[0])
    if g_v is not None:
        carry.copy_(g_v)  # a copy: the kernel updates it in place
    g_s = torch.zeros_like(h_seq) if g_spikes is None else g_spikes
    lif_kernels.lif_backward(_flat(g_s, order), _flat(carry, order, output=True), _flat(h_seq, order), tau,
                             v_threshold, alpha, _flat(g_x, order, output=True))
    return g_x, carry


def _tensor_backward(g_spikes: Optional[torch.Tensor], g_v: Optional[torch.Tensor], h_seq: torch.Tensor,
                     tau: float, v_threshold: float, alpha: float) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    # the ATan surrogate's derivative (alpha / 2) / (1 + z^2), z = pi / 2 * alpha * (h - v_th),
    # folded into one division: g_h = g_s / ((1 + z^2) * 2 / alpha)
    z = (h_seq - v_threshold).mul_(math.pi / 2 * alpha)
    denominator = torch.addcmul(h_seq.new_full((), 2.0 / alpha), z, z, value=2.0 / alpha)
    g_h = torch.zeros_like(h_seq) if g_spikes is None else torch.div(g_spikes, denominator)
    not_fired = h_seq < v_threshold
    decay = 1.0 - 1.0 / tau
    carry = g_v
    for t in range(h_seq.shape[0] - 1, -1, -1):
        if carry is not None:
            g_h[t].addcmul_(carry, not_fired[t])
        carry = g_h[t] * decay
    return g_h.div_(tau), carry


def _tensor_forward(x_seq: torch.Tensor, v: torch.Tensor, tau: float, v_threshold: float,
                     h_seq: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    fired = torch.empty_like(x_seq, dtype=torch.bool)
    h = torch.empty_like(x_seq[0]) if h_seq is None else None
    zero = x_seq.new_zeros(())
    for t in range(x_seq.shape[0]):
        h_t = h if h_seq is None else h_seq[t]
        torch.sub(x_seq[t], v, out=h_t)
        h_t.div_(tau).add_(v)
        torch.ge(h_t, v_threshold, out=fired[t])
        v = torch.where(fired[t], zero, h_t)
    return fired.to(x_seq.dtype), v


class _LIFMultiStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq: torch.Tensor, v: torch.Tensor, tau: float, v_threshold: float, alpha: float):
        if _use_kernels(x_seq):
            spikes, v, h_seq = _kernel_forward(x_seq, v, tau, v_threshold)
        else:
            h_seq = torch.empty_like(x_seq)
            spikes, v = _tensor_forward(x_seq, v, tau, v_threshold, h_seq)
        ctx.save_for_backward(h_seq)
        ctx.tau, ctx.v_threshold, ctx.alpha = tau, v_threshold, alpha
        return spikes, v

    @staticmethod
    def backward(ctx, g_spikes: Optional[torch.Tensor], g_v: Optional[torch.Tensor]):
        (h_seq,) = ctx.saved_tensors
        backward = _kernel_backward if _use_kernels(h_seq) else _tensor_backward
        g_x, g_v0 = backward(g_spikes, g_v, h_seq, ctx.tau, ctx.v_threshold, ctx.alpha)
        return g_x, g_v0, None, None, None


def lif_multi_step(x_seq: torch.Tensor, v: torch.Tensor, tau: float = 4.0 / 3.0, v_threshold: float = 1.0,
                   alpha: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the hard-reset LIF over ``x_seq`` (``[T, ...]``) from membrane ``v`` (``x_seq.shape[1:]``).

    Returns ``(spikes [T, ...] as 0./1. in x's dtype, v after the last step)``. Differentiable in
    ``x_seq`` and ``v`` through the ATan surrogate with parameter ``alpha``; the reset is detached.
    """
    if x_seq.dim() < 1 or v.shape != x_seq.shape[1:]:
        raise ValueError(f"expected x_seq [T, ...] and v with x_seq.shape[1:]; got {list(x_seq.shape)} and {list(v.shape)}")
    if torch.is_grad_enabled() and (x_seq.requires_grad or v.requires_grad):
        return _LIFMultiStep.apply(x_seq, v, tau, v_threshold, alpha)
    if _use_kernels(x_seq):
        spikes, v, _ = _kernel_forward(x_seq, v, tau, v_threshold)
        return spikes, v
    return _tensor_forward(x_seq, v, tau, v_threshold, None)


class FastLIFNode(neuron.LIFNode):
    """SpikingJelly's ``LIFNode`` for the paper's settings, computed by :func:`lif_multi_step`.

    Only this project's settings exist here (decay_input, hard reset to 0, detach_reset, ATan
    surrogate); the constructor takes just tau, v_threshold, the surrogate's alpha and the step mode.
    """

    def __init__(self, tau: float, v_threshold: float = 1.0, alpha: float = 2.0, step_mode: str = "s") -> None:
        super().__init__(tau=tau, decay_input=True, v_threshold=v_threshold, v_reset=0.0,
                         surrogate_function=surrogate.ATan(alpha=alpha), detach_reset=True, step_mode=step_mode)
        self.alpha = float(alpha)

    def _membrane(self, like: torch.Tensor) -> torch.Tensor:
        v = self.v
        if isinstance(v, torch.Tensor) and v.shape == like.shape:
            return v
        return torch.zeros_like(like)  # v_reset is 0

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        spikes, self.v = lif_multi_step(x.unsqueeze(0), self._membrane(x), self.tau, self.v_threshold, self.alpha)
        return spikes[0]

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        spikes, self.v = lif_multi_step(x_seq, self._membrane(x_seq[0]), self.tau, self.v_threshold, self.alpha)
        return spikes
