"""Training-free score of a spiking network from its spike patterns (paper Sec. 3.2, 4.2).

Forward hooks on every SpikingJelly neuron turn each layer's output at each
timestep into a ``[B, N_A]`` binary matrix, whose kernel is added on the fly
to one float64 ``[B, B]`` accumulator. Spikes are never stored, so scoring
needs O(B^2) memory on top of the forward pass itself.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based.neuron import BaseNode
from torch import nn

from naslib_snn.predictors.kernels import (
    KernelFromGram,
    check_alpha,
    exact_count_dtype,
    gram_and_counts,
    hd_from_gram,
    log_abs_det,
    sahd_paper_from_gram,
    sahd_reference_from_gram,
)

__all__ = ["METRICS", "REFERENCE_NUM_BATCHES", "VARIANTS", "ScoreMetric", "score"]

# The authors average the score over this many batches of 256 training images.
REFERENCE_NUM_BATCHES = 2  # authors' code

# How the per-timestep kernels are combined: "paper" sums them (Eq. 5),
# "reference" averages them over hook calls (authors' code).
VARIANTS = ("paper", "reference")

# Modules whose randomness is switched off unless dropout is requested.
_DROPOUT_TYPES: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    sj_layer.Dropout,
    sj_layer.DropConnectLinear,
)


@dataclass(frozen=True)
class ScoreMetric:
    """A kernel per variant, and the variant used when none is asked for."""

    kernels: dict[str, KernelFromGram]
    default_variant: str


METRICS: dict[str, ScoreMetric] = {
    # NASWOT kernel N_A - d_H (Eq. 4); the variant only changes the accumulation.
    "hd": ScoreMetric({"paper": hd_from_gram, "reference": hd_from_gram}, "paper"),
    "sahd": ScoreMetric({"paper": sahd_paper_from_gram, "reference": sahd_reference_from_gram}, "paper"),
    # The authors' code as a whole: their kernel and their averaging.
    "sahd_reference": ScoreMetric({"reference": sahd_reference_from_gram}, "reference"),
}


def _resolve(metric: str, variant: str | None) -> tuple[KernelFromGram, str]:
    try:
        spec = METRICS[metric]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}") from None
    chosen = spec.default_variant if variant is None else variant
    if chosen not in spec.kernels:
        raise ValueError(
            f"unknown variant {variant!r} for metric {metric!r}; expected None or one of {sorted(spec.kernels)}"
        )
    return spec.kernels[chosen], chosen


class _KernelAccumulator:
    """Sums per-timestep kernels of one batch into a float64 ``[B, B]`` matrix."""

    def __init__(self, kernel_fn: KernelFromGram, alpha: float) -> None:
        self.kernel_fn = kernel_fn
        self.alpha = alpha
        self.kernel: torch.Tensor | None = None
        self.calls = 0  # one per layer per timestep
        self.not_binary: list[tuple[str, torch.Tensor]] = []

    def reset(self) -> None:
        self.kernel, self.calls, self.not_binary = None, 0, []

    def add(self, spikes: torch.Tensor, layer: str) -> None:
        """Add the kernels of ``spikes``, a ``[T, B, N_A]`` tensor (T timesteps of one layer)."""
        batch = spikes.shape[1]
        if self.kernel is not None and self.kernel.shape[0] != batch:
            raise ValueError(
                f"neuron {layer!r} saw a batch of {batch} samples, expected {self.kernel.shape[0]} "
                "as in the neurons before it"
            )
        gram, counts = gram_and_counts(spikes)
        if spikes.dtype != torch.bool:
            # Binary check in two cheap reductions instead of a full comparison pass: values in
            # [0, 1] whose sum equals their sum of squares (the diagonal of the product) are all
            # 0 or 1, since x(1-x) >= 0 there (up to float32 rounding). Kept as a tensor so that
            # a GPU does not synchronise at every hook call.
            low, high = torch.aminmax(spikes)
            sums = spikes.sum(dim=-1, dtype=exact_count_dtype(spikes.shape[-1]))
            self.not_binary.append((layer, (low < 0) | (high > 1) | (sums != counts).any()))
        kernel = self.kernel_fn(gram, counts, spikes.shape[-1], self.alpha)
        kernel = kernel[0] if kernel.shape[0] == 1 else kernel.sum(dim=0)
        if self.kernel is None:
            self.kernel = kernel
        else:
            self.kernel.add_(kernel)
        self.calls += spikes.shape[0]

    def finish(self, variant: str) -> torch.Tensor:
        """The batch's kernel: summed (``"paper"``) or averaged over calls (``"reference"``).

        Raises:
            ValueError: no neuron was called, or one emitted a value other than 0 or 1.
        """
        if self.kernel is None:
            raise ValueError("no spiking neuron of the network was called in its forward pass")
        for layer, flag in self.not_binary:
            if bool(flag):
                raise ValueError(f"neuron {layer!r} emitted a value other than 0 or 1; expected binary spikes")
        return self.kernel / self.calls if variant == "reference" else self.kernel


def _rows(spikes: torch.Tensor, lead: int) -> torch.Tensor:
    """Flatten the dims after the first ``lead`` ones, in memory order.

    The kernels depend on each sample's spike pattern as a set of neuron positions, not on their
    order, so the neurons may be listed in any fixed order; memory order makes this a view (no copy)
    for channels-last activations too, where a plain ``reshape`` copies every spike tensor.
    """
    features = sorted(range(lead, spikes.dim()), key=lambda d: -spikes.stride(d))
    return spikes.permute(*range(lead), *features).reshape(*spikes.shape[:lead], -1)


def _spikes_as_time_batch_neurons(module: BaseNode, output: object, layer: str) -> torch.Tensor:
    """View a neuron's output as ``[T, B, N_A]`` (T = 1 in single-step mode)."""
    spikes = output[0] if isinstance(output, (tuple, list)) else output
    if not isinstance(spikes, torch.Tensor):
        raise TypeError(f"neuron {layer!r} returned {type(spikes).__name__}, expected a spike tensor")
    if module.step_mode == "m":
        if spikes.dim() < 3:
            raise ValueError(
                f"neuron {layer!r} is in step_mode 'm', expected output shape [T, B, ...], "
                f"got {list(spikes.shape)}"
            )
        return _rows(spikes, 2)
    if spikes.dim() < 2:
        raise ValueError(
            f"neuron {layer!r} is in step_mode 's', expected output shape [B, ...], got {list(spikes.shape)}"
        )
    return _rows(spikes, 1).unsqueeze(0)


def _iter_batches(inputs: torch.Tensor | Iterable[object]) -> Iterator[torch.Tensor]:
    if isinstance(inputs, torch.Tensor):
        yield inputs
        return
    if not isinstance(inputs, Iterable):
        raise TypeError(f"expected inputs as a tensor or an iterable of batches, got {type(inputs).__name__}")
    for index, item in enumerate(inputs):
        batch = item[0] if isinstance(item, (tuple, list)) and item else item
        if not isinstance(batch, torch.Tensor):
            raise TypeError(f"batch {index} of inputs is a {type(batch).__name__}, expected a tensor")
        yield batch


@contextlib.contextmanager
def _seeded_rng(seed: int) -> Iterator[None]:
    """Seed torch's generators for the block and restore their previous state afterwards."""
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed_all(seed)
        yield


def score(
    network: nn.Module,
    inputs: torch.Tensor | Iterable[object],
    metric: str = "sahd",
    variant: str | None = None,
    *,
    alpha: float = 0.5,
    dropout: bool | None = None,
    seed: int = 0,
) -> float:
    """Score an untrained spiking network by how distinct its spike patterns are across samples.

    Every ``spikingjelly.activation_based.neuron.BaseNode`` in ``network`` is
    hooked. A neuron in step_mode ``'s'`` is called once per timestep with
    output ``[B, ...]``; one in step_mode ``'m'`` is called once with
    ``[T, B, ...]``, which is split along T. Each timestep of each layer gives
    a binary ``[B, N_A]`` matrix whose kernel (``metric``) is added to a
    float64 ``[B, B]`` accumulator K. The batch's score is ``log |det K|``.

    * ``variant="paper"``: K is the sum over layers and timesteps (Eq. 5).
    * ``variant="reference"``: K is divided by the number of (layer, timestep)
      pairs, as the authors' code does.

    ``inputs`` is one batch, a tensor such as ``[B, C, H, W]`` or
    ``[T, B, C, H, W]`` passed as is to ``network(x)``, or an iterable of
    batches (each a tensor, or a ``(tensor, labels, ...)`` tuple from a data
    loader whose first element is used). The result is the mean of the batch
    scores; the authors average ``REFERENCE_NUM_BATCHES`` = 2 batches of 256
    images, so pass two batches for their setting. The iterable is consumed
    once, one batch at a time. Inputs are not moved to the network's device.

    Mode during scoring:

    * ``torch.no_grad``; ``functional.reset_net`` before every batch, so
      membranes never carry over between batches (the authors' code did not
      reset between its 2 batches), and again at the end.
    * BatchNorm uses **batch statistics** (the network is put in train mode,
      as the authors do). At initialisation the running statistics are mean 0
      and variance 1, so eval-mode BN would pass the raw conv outputs through
      and whether a LIF fires would measure the weight scale of the random
      init, not the architecture. Batch statistics normalise every channel as
      the first training step would. BN's running statistics, and every other
      buffer, are restored afterwards.
    * Dropout is off by default for ``variant="paper"`` (its random masks add
      noise unrelated to the architecture) and on for ``variant="reference"``,
      as in the authors' code; ``dropout`` overrides either default.
    * Any randomness in the forward pass draws from torch generators seeded
      with ``seed``; the global RNG state is unchanged afterwards. The same
      network, inputs and seed give the same score bit for bit on CPU.

    Each module's training flag and the network's hooks are restored even if
    the forward pass raises.

    Args:
        network: any ``nn.Module`` containing SpikingJelly neurons; it should
            reset its neurons or be resettable with ``functional.reset_net``.
        inputs: a batch tensor or an iterable of batches, see above.
        metric: ``"hd"``, ``"sahd"`` or ``"sahd_reference"`` (SAHD as the
            authors' code computes it; only variant ``"reference"``).
        variant: ``"paper"``, ``"reference"``, or None for the metric's default.
        alpha: the SAHD constant (paper and authors' code: 0.5).
        dropout: whether dropout layers are active; None for the variant's default.
        seed: seed for the randomness of the forward pass.

    Returns:
        The mean over batches of ``log |det K|``; ``-inf`` if some batch's K is
        singular, e.g. for a network that never spikes. Never NaN.

    Raises:
        ValueError: unknown metric or variant, ``alpha`` <= 0, no batches,
            no spiking neuron in the network or none called in a forward pass,
            a non-binary neuron output, or neurons that disagree on the batch size.
        TypeError: ``inputs`` is neither a tensor nor an iterable of tensors,
            ``seed`` is not an int, or ``dropout`` is not a bool or None.
    """
    kernel_fn, chosen_variant = _resolve(metric, variant)
    check_alpha(alpha)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"expected seed as an int, got {seed!r}")
    if dropout is not None and not isinstance(dropout, bool):
        raise TypeError(f"expected dropout as True, False or None, got {dropout!r}")
    if dropout is None:
        dropout = chosen_variant == "reference"
    neurons = {name: m for name, m in network.named_modules() if isinstance(m, BaseNode)}
    if not neurons:
        raise ValueError(
            f"network {type(network).__name__} has no spiking neuron "
            "(spikingjelly.activation_based.neuron.BaseNode) to score"
        )

    training_flags = {module: module.training for module in network.modules()}
    saved_buffers = [(buffer, buffer.detach().clone()) for buffer in network.buffers()]
    handles = []
    accumulator = _KernelAccumulator(kernel_fn, float(alpha))

    def make_hook(layer: str):
        def hook(module: nn.Module, args: object, output: object) -> None:
            accumulator.add(_spikes_as_time_batch_neurons(module, output, layer), layer)

        return hook

    batch_scores: list[float] = []
    try:
        network.train()
        if not dropout:
            for module in network.modules():
                if isinstance(module, _DROPOUT_TYPES):
                    module.eval()
        for name, neuron in neurons.items():
            handles.append(neuron.register_forward_hook(make_hook(name)))
        with torch.no_grad(), _seeded_rng(seed):
            for batch in _iter_batches(inputs):
                accumulator.reset()
                sj_functional.reset_net(network)
                network(batch)
                batch_scores.append(log_abs_det(accumulator.finish(chosen_variant)))
                accumulator.reset()
    finally:
        for handle in handles:
            handle.remove()
        sj_functional.reset_net(network)
        with torch.no_grad():
            for buffer, saved in saved_buffers:
                buffer.copy_(saved)
        for module, flag in training_flags.items():
            module.training = flag
    if not batch_scores:
        raise ValueError("inputs held no batch to score")
    if any(s == -math.inf for s in batch_scores):
        return -math.inf
    return math.fsum(batch_scores) / len(batch_scores)
