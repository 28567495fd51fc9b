"""Pure kernel functions: hand-computed values, invariants and input checks."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

from naslib_snn.predictors import kernels
from naslib_snn.predictors.kernels import hamming_distance, hd_kernel, log_abs_det, sahd_kernel

# Three samples, four neurons: fractions of zeros r = 3/4, 1/2, 1.
HAND_SPIKES = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.float32)


def _reference_entry(d_h: int, r_i: Fraction, r_j: Fraction, n_a: int = 4, alpha: Fraction = Fraction(1, 2)) -> float:
    """The authors' kernel entry, in exact rational arithmetic."""
    p = r_i * (1 - r_j) + (1 - r_i) * r_j
    return float(n_a - alpha * d_h / (n_a * p + Fraction(1, 1000)))


def _random_spikes(seed: int, batch: int = 7, n_a: int = 23, rate: float = 0.3) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy((rng.random((batch, n_a)) < rate).astype(np.float32))


def test_hamming_distance_by_hand():
    expected = torch.tensor([[0, 1, 1], [1, 0, 2], [1, 2, 0]], dtype=torch.float64)
    assert torch.equal(hamming_distance(HAND_SPIKES), expected)


def test_hd_kernel_by_hand():
    expected = torch.tensor([[4, 3, 3], [3, 4, 2], [3, 2, 4]], dtype=torch.float64)
    assert torch.equal(hd_kernel(HAND_SPIKES), expected)


def test_sahd_paper_kernel_by_hand():
    # p_01 = 1/2, p_02 = 1/4, p_12 = 1/2; d_SAH = 0.5 / p * d_H = 1, 2, 2. The
    # all-silent sample 2 has p_22 = 0 and d_H = 0: distance 0 by definition.
    expected = torch.tensor([[4, 3, 2], [3, 4, 2], [2, 2, 4]], dtype=torch.float64)
    assert torch.equal(sahd_kernel(HAND_SPIKES), expected)
    assert torch.equal(sahd_kernel(HAND_SPIKES, alpha=0.5, variant="paper"), expected)


def test_sahd_reference_kernel_by_hand():
    # 4 - 0.5 * d_H / (4 p + 0.001): 4 - 0.5/2.001, 4 - 0.5/1.001, 4 - 1/2.001.
    k01, k02, k12 = Fraction(7504, 2001), Fraction(3504, 1001), Fraction(7004, 2001)
    r = [Fraction(3, 4), Fraction(1, 2), Fraction(1)]
    assert float(k01) == _reference_entry(1, r[0], r[1])
    assert float(k02) == _reference_entry(1, r[0], r[2])
    assert float(k12) == _reference_entry(2, r[1], r[2])
    expected = torch.tensor(
        [[4, float(k01), float(k02)], [float(k01), 4, float(k12)], [float(k02), float(k12), 4]],
        dtype=torch.float64,
    )
    got = sahd_kernel(HAND_SPIKES, variant="reference")
    assert torch.allclose(got, expected, rtol=0, atol=1e-14)
    assert got[0, 1].item() == pytest.approx(3.750124937531234, abs=1e-15)
    assert got[0, 2].item() == pytest.approx(3.500499500499501, abs=1e-15)
    assert got[1, 2].item() == pytest.approx(3.500249875062469, abs=1e-15)


def test_sahd_alpha_scales_the_distance():
    # alpha = 1 doubles the paper distances 1, 2, 2 of the hand example.
    expected = torch.tensor([[4, 2, 0], [2, 4, 0], [0, 0, 4]], dtype=torch.float64)
    assert torch.equal(sahd_kernel(HAND_SPIKES, alpha=1.0), expected)


def test_log_abs_det_by_hand():
    assert log_abs_det(hd_kernel(HAND_SPIKES)) == pytest.approx(math.log(12), abs=1e-12)
    assert log_abs_det(sahd_kernel(HAND_SPIKES)) == pytest.approx(math.log(20), abs=1e-12)
    # The sign is dropped: det = -2.
    assert log_abs_det(torch.tensor([[0.0, 1.0], [2.0, 0.0]])) == pytest.approx(math.log(2), abs=1e-15)


@pytest.mark.parametrize("kernel", [hd_kernel, sahd_kernel, lambda s: sahd_kernel(s, variant="reference")])
def test_identical_samples_give_minus_inf(kernel):
    spikes = torch.zeros(5, 6)
    for _ in range(2):
        result = log_abs_det(kernel(spikes))
        assert result == -math.inf
    assert log_abs_det(kernel(torch.ones(4, 3))) == -math.inf


def test_log_abs_det_singular_and_bad_input():
    assert log_abs_det(torch.tensor([[1.0, 2.0], [2.0, 4.0]])) == -math.inf
    with pytest.raises(ValueError, match=r"square kernel with shape \[B, B\], got \[2, 3\]"):
        log_abs_det(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="NaN or inf"):
        log_abs_det(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))


def test_zero_denominator_is_distance_zero_without_warnings():
    # Rows 0, 1 all silent; rows 2, 3 all firing. Same-kind pairs have p = 0 and
    # d_H = 0; a silent row and a firing row have p = 1 and d_H = N_A.
    spikes = torch.tensor([[0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1]], dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = sahd_kernel(spikes, alpha=0.5)
    expected = torch.tensor(
        [[3, 3, 1.5, 1.5], [3, 3, 1.5, 1.5], [1.5, 1.5, 3, 3], [1.5, 1.5, 3, 3]], dtype=torch.float64
    )
    assert torch.equal(k, expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_distance_equals_naive_loop(seed):
    spikes = _random_spikes(seed)
    batch, n_a = spikes.shape
    rows = spikes.tolist()
    alpha = 0.5
    got_d = hamming_distance(spikes)
    got_paper = sahd_kernel(spikes, alpha, "paper")
    got_reference = sahd_kernel(spikes, alpha, "reference")
    for i in range(batch):
        for j in range(batch):
            d_h = sum(a != b for a, b in zip(rows[i], rows[j]))
            r_i = 1 - sum(rows[i]) / n_a
            r_j = 1 - sum(rows[j]) / n_a
            p = r_i * (1 - r_j) + (1 - r_i) * r_j
            assert got_d[i, j].item() == d_h
            paper = n_a - (alpha / p * d_h if p > 0 else 0.0)
            assert got_paper[i, j].item() == pytest.approx(paper, rel=1e-12, abs=1e-12)
            reference = n_a - alpha * d_h / (n_a * p + 1e-3)
            assert got_reference[i, j].item() == pytest.approx(reference, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "kernel",
    [hd_kernel, lambda s: sahd_kernel(s, variant="paper"), lambda s: sahd_kernel(s, variant="reference")],
    ids=["hd", "sahd_paper", "sahd_reference"],
)
@pytest.mark.parametrize("seed", [3, 4])
def test_kernels_symmetric_with_n_a_diagonal_and_float64(kernel, seed):
    spikes = _random_spikes(seed, rate=0.2)
    k = kernel(spikes)
    assert k.dtype == torch.float64
    assert k.shape == (7, 7)
    assert torch.equal(k, k.T)
    assert torch.equal(torch.diagonal(k), torch.full((7,), 23.0, dtype=torch.float64))
    assert bool(torch.isfinite(k).all())


@pytest.mark.parametrize("variant", ["paper", "reference"])
@pytest.mark.parametrize("seed", [5, 6])
def test_sahd_invariant_under_complement(variant, seed):
    spikes = _random_spikes(seed, rate=0.15)
    spikes[0] = 0  # include an all-silent sample, whose complement fires everywhere
    assert torch.allclose(
        sahd_kernel(spikes, variant=variant), sahd_kernel(1 - spikes, variant=variant), rtol=0, atol=1e-12
    )


def test_dtypes_agree():
    spikes = _random_spikes(7)
    expected = sahd_kernel(spikes)
    for dtype in (torch.bool, torch.uint8, torch.float16, torch.float64):
        assert torch.equal(sahd_kernel(spikes.to(dtype)), expected)


def test_float64_product_for_wide_layers(monkeypatch):
    spikes = _random_spikes(8)
    expected = hd_kernel(spikes)
    monkeypatch.setattr(kernels, "_FLOAT32_EXACT_LIMIT", 4)
    assert torch.equal(hd_kernel(spikes), expected)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(4), r"shape \[B, N_A\], got shape \[4\]"),
        (torch.zeros(2, 3, 4), r"shape \[B, N_A\], got shape \[2, 3, 4\]"),
        (torch.zeros(2, 0), r"N_A >= 1, got shape \[2, 0\]"),
        (torch.tensor([[0.0, 2.0]]), r"binary spikes .* found the value 2\.0"),
        (torch.tensor([[0.5, 1.0]]), r"found the value 0\.5"),
        (torch.tensor([[float("nan"), 1.0]]), r"found the value nan"),
    ],
)
@pytest.mark.parametrize("fn", [hamming_distance, hd_kernel, sahd_kernel])
def test_bad_spikes_raise(fn, bad, message):
    with pytest.raises(ValueError, match=message):
        fn(bad)


def test_non_tensor_raises_type_error():
    with pytest.raises(TypeError, match=r"torch.Tensor of shape \[B, N_A\], got list"):
        hd_kernel([[0, 1]])


@pytest.mark.parametrize("alpha", [0, -0.5, float("nan"), float("inf"), True, "0.5"])
def test_bad_alpha_raises(alpha):
    with pytest.raises(ValueError, match=r"alpha to be a finite number > 0, got"):
        sahd_kernel(HAND_SPIKES, alpha=alpha)


@pytest.mark.parametrize("variant", ["papr", "Reference", None])
def test_unknown_variant_named(variant):
    with pytest.raises(ValueError, match=rf"unknown SAHD variant {variant!r}.*'paper', 'reference'"):
        sahd_kernel(HAND_SPIKES, variant=variant)
