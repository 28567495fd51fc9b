"""Kernels on binary spike patterns, as pure functions (paper Eqs. 4, 5, 9).

Every function takes ``spikes``, a binary ``[B, N_A]`` tensor: one row per
sample of a mini-batch, one column per neuron of one layer at one timestep.
Kernels are float64; the one matrix product behind them is exact (below).

The Hamming distance between samples i and j is
``d_H = x_i (1 - x_j)^T + (1 - x_i) x_j^T = n_i + n_j - 2 x_i x_j^T``,
with ``n`` the spike counts, so the whole ``[B, B]`` matrix costs one matrix
product. The product of 0/1 values is an exact integer in float32 as long as
``N_A < 2**24``; wider layers fall back to a float64 product.

Zero denominators in the paper's SAHD (Eq. 9). The denominator
``r_i (1 - r_j) + (1 - r_i) r_j`` (``r`` = fraction of zeros) is 0 only when
both samples are all-silent or both are all-firing (``r_i = r_j`` in
``{0, 1}``). Then the two rows are identical, ``d_H = 0``, and we define the
sparsity-aware distance to be 0 as well: the 0/0 is the limit of a distance
that is exactly 0 at every nearby sparsity. No NaN and no warning is produced.
The authors' variant never divides by 0 because of its ``+ 1e-3``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "SAHD_VARIANTS",
    "hamming_distance",
    "hd_kernel",
    "log_abs_det",
    "sahd_kernel",
]

# Up to this width a float32 product of 0/1 values sums exactly (24-bit mantissa).
_FLOAT32_EXACT_LIMIT = 2**24
# The authors' code adds this to the normalising denominator.
_REFERENCE_EPS = 1e-3  # authors' code


def _check_spikes(spikes: torch.Tensor) -> None:
    """Raise unless ``spikes`` is a 2-D tensor of zeros and ones with N_A >= 1."""
    if not isinstance(spikes, torch.Tensor):
        raise TypeError(f"expected spikes as a torch.Tensor of shape [B, N_A], got {type(spikes).__name__}")
    if spikes.dim() != 2:
        raise ValueError(f"expected spikes with shape [B, N_A], got shape {list(spikes.shape)}")
    if spikes.shape[0] < 1 or spikes.shape[1] < 1:
        raise ValueError(f"expected spikes with B >= 1 and N_A >= 1, got shape {list(spikes.shape)}")
    if spikes.dtype != torch.bool and not bool(((spikes == 0) | (spikes == 1)).all()):
        bad = spikes[(spikes != 0) & (spikes != 1)].flatten()[0].item()
        raise ValueError(f"expected binary spikes (values in {{0, 1}}), found the value {bad!r}")


def check_alpha(alpha: float) -> None:
    """Raise ValueError unless ``alpha`` is a finite real number > 0."""
    if isinstance(alpha, bool) or not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"expected alpha to be a finite number > 0, got {alpha!r}")


def exact_count_dtype(n_a: int) -> torch.dtype:
    """The cheapest float dtype in which sums of ``n_a`` zeros and ones are exact."""
    return torch.float32 if n_a < _FLOAT32_EXACT_LIMIT else torch.float64


def gram_and_counts(spikes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Overlaps and spike counts of binary spikes, without input checks.

    Args:
        spikes: ``[..., B, N_A]`` binary tensor (any real or bool dtype).

    Returns:
        ``(gram, counts)``: ``gram[..., i, j]`` is the number of neurons where
        samples i and j both spike, ``[..., B, B]`` float64; ``counts`` is the
        number of spikes of each sample, ``[..., B]`` float64.
    """
    dtype = exact_count_dtype(spikes.shape[-1])
    # float16/bfloat16 products may not sum exactly, so compute in float32 at least.
    x = spikes if spikes.dtype == dtype else spikes.to(dtype)
    gram = torch.matmul(x, x.transpose(-1, -2)).to(torch.float64)
    # For binary x the diagonal of x x^T is the spike count: no second pass over x.
    counts = torch.diagonal(gram, dim1=-2, dim2=-1).clone()
    return gram, counts


def _pair_sums(counts: torch.Tensor) -> torch.Tensor:
    """``n_i + n_j``, ``[..., B, B]``."""
    return counts.unsqueeze(-1) + counts.unsqueeze(-2)


def hamming_from_gram(gram: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``d_H[..., i, j] = n_i + n_j - 2 gram_ij``, float64 ``[..., B, B]``."""
    return torch.add(_pair_sums(counts), gram, alpha=-2.0)


def _expected_distance(pair_sums: torch.Tensor, counts: torch.Tensor, n_a: int) -> torch.Tensor:
    """``E[d_H] = N_A (r_i (1 - r_j) + (1 - r_i) r_j) = n_i + n_j - 2 n_i n_j / N_A`` (Eq. 8).

    With r = 1 - n / N_A the fraction of zeros; written with the counts it takes two
    operations on ``[B, B]`` tensors instead of seven.
    """
    return torch.add(pair_sums, counts.unsqueeze(-1) * counts.unsqueeze(-2), alpha=-2.0 / n_a)


def hd_from_gram(gram: torch.Tensor, counts: torch.Tensor, n_a: int, alpha: float) -> torch.Tensor:
    """NASWOT kernel ``N_A - d_H = N_A - n_i - n_j + 2 gram_ij`` (Eq. 4); ``alpha`` is unused."""
    del alpha
    return torch.add(n_a - _pair_sums(counts), gram, alpha=2.0)


def sahd_paper_from_gram(gram: torch.Tensor, counts: torch.Tensor, n_a: int, alpha: float) -> torch.Tensor:
    """Eq. 9 as printed: ``N_A - alpha / p_ij * d_H = N_A - alpha N_A d_H / E[d_H]``.

    ``E[d_H] = 0`` only for two all-silent or two all-firing rows, where ``d_H = 0`` too;
    that distance is defined as 0. Elsewhere ``E[d_H] >= 1`` (integer counts), so no tiny divisor occurs.
    """
    pair_sums = _pair_sums(counts)
    d_h = torch.add(pair_sums, gram, alpha=-2.0)
    expected = _expected_distance(pair_sums, counts, n_a)
    # torch.where picks 0 where the division gave 0/0 = NaN; torch does not warn about it.
    ratio = torch.where(expected > 0, d_h / expected, 0.0)
    return ratio.mul_(-alpha * n_a).add_(n_a)


def sahd_reference_from_gram(gram: torch.Tensor, counts: torch.Tensor, n_a: int, alpha: float) -> torch.Tensor:
    """The authors' code: ``N_A - alpha d_H / (N_A p_ij + 1e-3) = N_A - alpha d_H / (E[d_H] + 1e-3)``."""
    pair_sums = _pair_sums(counts)
    d_h = torch.add(pair_sums, gram, alpha=-2.0)
    denominator = _expected_distance(pair_sums, counts, n_a).add_(_REFERENCE_EPS)
    return d_h.div_(denominator).mul_(-alpha).add_(n_a)


KernelFromGram = Callable[[torch.Tensor, torch.Tensor, int, float], torch.Tensor]

SAHD_VARIANTS: dict[str, KernelFromGram] = {
    "paper": sahd_paper_from_gram,  # paper, Eq. 9
    "reference": sahd_reference_from_gram,  # authors' code
}


def _sahd_variant(variant: str) -> KernelFromGram:
    try:
        return SAHD_VARIANTS[variant]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown SAHD variant {variant!r}; expected one of {sorted(SAHD_VARIANTS)}"
        ) from None


def hamming_distance(spikes: torch.Tensor) -> torch.Tensor:
    """Pairwise Hamming distances between the rows of ``spikes``.

    Args:
        spikes: binary ``[B, N_A]`` tensor.

    Returns:
        ``[B, B]`` float64 tensor, ``d_H[i, j]`` = number of neurons where
        samples i and j differ.

    Raises:
        TypeError: ``spikes`` is not a tensor.
        ValueError: ``spikes`` is not 2-D, is empty, or holds a value other than 0 or 1.
    """
    _check_spikes(spikes)
    return hamming_from_gram(*gram_and_counts(spikes))


def hd_kernel(spikes: torch.Tensor) -> torch.Tensor:
    """NASWOT kernel ``K_H = N_A - d_H`` (paper Eq. 4).

    Args:
        spikes: binary ``[B, N_A]`` tensor.

    Returns:
        ``[B, B]`` float64 symmetric tensor with ``N_A`` on the diagonal.

    Raises:
        TypeError, ValueError: as :func:`hamming_distance`.
    """
    _check_spikes(spikes)
    gram, counts = gram_and_counts(spikes)
    return hd_from_gram(gram, counts, spikes.shape[1], 1.0)


def sahd_kernel(spikes: torch.Tensor, alpha: float = 0.5, variant: str = "paper") -> torch.Tensor:
    """Sparsity-aware Hamming distance kernel ``N_A - d_SAH`` (paper Eq. 9).

    With ``r_i`` the fraction of zeros in row i and
    ``p_ij = r_i (1 - r_j) + (1 - r_i) r_j``:

    * ``variant="paper"``: ``K = N_A - alpha / p_ij * d_H`` (Eq. 9 as printed);
      where ``p_ij = 0`` (then ``d_H = 0`` too) the distance is defined as 0.
    * ``variant="reference"``: the authors' code,
      ``K = N_A - alpha * d_H / (N_A * p_ij + 1e-3)``.

    Both are invariant under ``spikes -> 1 - spikes``.

    Args:
        spikes: binary ``[B, N_A]`` tensor.
        alpha: normalising constant, > 0 (paper and authors' code: 0.5).
        variant: ``"paper"`` or ``"reference"``.

    Returns:
        ``[B, B]`` float64 symmetric tensor with ``N_A`` on the diagonal.

    Raises:
        TypeError, ValueError: as :func:`hamming_distance`.
        ValueError: ``alpha`` is not a finite number > 0, or ``variant`` is unknown.
    """
    kernel_fn = _sahd_variant(variant)
    check_alpha(alpha)
    _check_spikes(spikes)
    gram, counts = gram_and_counts(spikes)
    return kernel_fn(gram, counts, spikes.shape[1], float(alpha))


def log_abs_det(kernel: torch.Tensor) -> float:
    """``log |det K|`` of a square matrix, computed in float64 with ``slogdet``.

    Args:
        kernel: ``[B, B]`` real tensor with finite entries.

    Returns:
        The log of the absolute determinant; ``-inf`` when ``slogdet`` finds
        the matrix singular (sign 0). Never NaN.

    Raises:
        ValueError: ``kernel`` is not a square 2-D matrix, or has a NaN or inf entry.
    """
    if not isinstance(kernel, torch.Tensor) or kernel.dim() != 2 or kernel.shape[0] != kernel.shape[1]:
        shape = list(kernel.shape) if isinstance(kernel, torch.Tensor) else type(kernel).__name__
        raise ValueError(f"expected a square kernel with shape [B, B], got {shape}")
    k = kernel.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(k).all()):
        raise ValueError("expected a kernel with finite entries, found NaN or inf")
    sign, logabsdet = torch.linalg.slogdet(k)
    if sign.item() == 0:
        return -math.inf
    return float(logabsdet.item())
