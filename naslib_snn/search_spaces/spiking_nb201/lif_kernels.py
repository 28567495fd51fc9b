"""Numba kernels of the hard-reset LIF over T timesteps, for float32 tensors on the CPU.

One loop over the elements per timestep instead of five to ten tensor ops (each a full pass over
memory): about twice as fast as the tensor-op version on this project's CPU (bench/bench_speed.py).
The forward pass computes SpikingJelly's expression in float32, ``h = v + (x - v) / tau``, so
spikes and membranes are bit for bit those of ``LIFNode``. The kernels see ``[T, N]`` arrays in
memory order, so any dense layout (channels-last included) works without a copy.

Compiled on first use and cached on disk by numba (``cache=True``). ``error_model="numpy"``: IEEE
arithmetic (NaN and inf propagate, as in tensor ops) instead of Python's ZeroDivisionError, so a
NaN input reaches the trainer's finiteness checks.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["lif_backward", "lif_forward"]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _forward(x, v_in, v, tau, v_threshold, spikes, h_out):  # pragma: no cover - compiled
    steps, count = x.shape
    for t in range(steps):
        previous = v_in if t == 0 else v
        for n in range(count):
            h = previous[n] + (x[t, n] - previous[n]) / tau
            h_out[t, n] = h
            if h >= v_threshold:
                spikes[t, n] = 1.0
                v[n] = 0.0
            else:
                spikes[t, n] = 0.0
                v[n] = h


# fastmath (and no branch) lets LLVM vectorise the loop, 2x faster; gradients need no bit-exactness
# (they agree with the tensor-op path to ~1e-7), only determinism, which a compiled kernel keeps.
@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _backward(g_spikes, carry, h, inv_tau, v_threshold, slope, half_alpha, decay, g_x):  # pragma: no cover
    steps, count = h.shape
    one, zero = np.float32(1.0), np.float32(0.0)
    for t in range(steps - 1, -1, -1):
        h_t, g_t, g_x_t = h[t], g_spikes[t], g_x[t]
        for n in range(count):
            z = slope * (h_t[n] - v_threshold)
            # detach_reset: the membrane's gradient passes only where the neuron did not fire
            kept = one if h_t[n] < v_threshold else zero
            g_h = g_t[n] * (half_alpha / (one + z * z)) + carry[n] * kept  # ATan surrogate's derivative
            g_x_t[n] = g_h * inv_tau
            carry[n] = g_h * decay


def lif_forward(x: np.ndarray, v_in: np.ndarray, v_out: np.ndarray, tau: float, v_threshold: float,
                spikes: np.ndarray, h: np.ndarray) -> None:
    """``x``, ``spikes``, ``h``: float32 ``[T, N]``; ``v_in``: the membrane before the first step and
    ``v_out``: written with the one after the last, float32 ``[N]`` (they may be the same array)."""
    _forward(x, v_in, v_out, np.float32(tau), np.float32(v_threshold), spikes, h)


def lif_backward(g_spikes: np.ndarray, carry: np.ndarray, h: np.ndarray, tau: float, v_threshold: float,
                 alpha: float, g_x: np.ndarray) -> None:
    """Gradients through :func:`lif_forward`: ``carry`` (``[N]``) enters as dL/dv_T and leaves as dL/dv_0."""
    _backward(g_spikes, carry, h, np.float32(1.0) / np.float32(tau), np.float32(v_threshold),
              np.float32(math.pi / 2 * alpha), np.float32(alpha / 2), np.float32(1.0 - 1.0 / tau), g_x)
