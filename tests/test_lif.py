"""FastLIFNode computes SpikingJelly's LIFNode (the paper's settings) with fewer ops: same spikes, same gradients."""

import pytest
import torch
from spikingjelly.activation_based import functional, neuron, surrogate

from naslib_snn.search_spaces.spiking_nb201 import lif
from naslib_snn.search_spaces.spiking_nb201.lif import FastLIFNode, lif_multi_step, set_backend
from naslib_snn.search_spaces.spiking_nb201.ops import TAU


@pytest.fixture(params=lif.BACKENDS, autouse=True)
def backend(request):
    """Every test runs with the numba kernels and with the tensor-op path."""
    previous = set_backend(request.param)
    yield request.param
    set_backend(previous)


def _reference(step_mode: str) -> neuron.LIFNode:
    return neuron.LIFNode(tau=TAU, decay_input=True, v_threshold=1.0, v_reset=0.0,
                          surrogate_function=surrogate.ATan(alpha=2.0), detach_reset=True, step_mode=step_mode)


def _inputs(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(5, 4, 3, 6, 6, generator=gen) * 1.5 + 0.5  # [T, B, C, H, W], fires often


def _run(node: neuron.BaseNode, x: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_()  # keeps the layout (an expanded input stays expanded)
    functional.reset_net(node)
    if node.step_mode == "m":
        out = node(x)
    else:
        out = torch.stack([node(x_t) for x_t in x])
    v = node.v.detach().clone()
    out.backward(grad)
    functional.reset_net(node)
    return out.detach(), v, x.grad


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "expanded"])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_fast_lif_matches_spikingjelly(step_mode, layout):
    x, grad = _inputs(0), _inputs(1)
    if layout == "channels_last":
        x = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, x.shape[:2])
    elif layout == "expanded":  # direct coding: the same frame at every timestep
        x = x[0].unsqueeze(0).expand_as(x)
    ref_spikes, ref_v, ref_grad = _run(_reference(step_mode), x, grad)
    spikes, v, x_grad = _run(FastLIFNode(TAU, step_mode=step_mode), x, grad)
    assert 0.05 < ref_spikes.mean() < 0.95  # the test exercises both firing and silent neurons
    assert torch.equal(spikes, ref_spikes)  # same expression, so bit for bit
    assert torch.equal(v, ref_v)
    torch.testing.assert_close(x_grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_hand_computed_membrane():
    # REFERENCE.md: v <- 0.25 v + 0.75 x; a constant 0.8 gives v = 0.6, 0.75, 0.7875, ... and never fires
    x = torch.full((3, 1), 0.8)
    spikes, v = lif_multi_step(x, torch.zeros(1))
    assert spikes.sum() == 0
    torch.testing.assert_close(v, torch.tensor([0.7875]))
    # 2.0 crosses the threshold at once (h = 1.5), resets to 0, and fires again
    spikes, v = lif_multi_step(torch.full((2, 1), 2.0), torch.zeros(1))
    assert spikes.flatten().tolist() == [1.0, 1.0] and v.item() == 0.0


def test_no_grad_path_equals_autograd_path():
    x = _inputs(2)
    with torch.no_grad():
        s0, v0 = lif_multi_step(x, torch.zeros_like(x[0]))
    s1, v1 = lif_multi_step(x.clone().requires_grad_(), torch.zeros_like(x[0]))
    assert torch.equal(s0, s1) and torch.equal(v0, v1.detach())


def test_gradient_reaches_initial_membrane():
    x = _inputs(3).requires_grad_()
    v0 = torch.zeros_like(x[0]).requires_grad_()
    spikes, v = lif_multi_step(x, v0)
    (spikes.sum() + v.sum()).backward()
    assert v0.grad is not None and torch.isfinite(v0.grad).all() and v0.grad.abs().sum() > 0


def test_backends_agree_and_unknown_backend_is_refused():
    x = _inputs(4).requires_grad_()
    results = {}
    for name in lif.BACKENDS:
        set_backend(name)
        x.grad = None
        spikes, v = lif_multi_step(x, torch.zeros_like(x[0]))
        (spikes * _inputs(5)).sum().backward()
        results[name] = (spikes.detach(), v.detach(), x.grad.clone())
    (s0, v0, g0), (s1, v1, g1) = results.values()
    assert torch.equal(s0, s1) and torch.equal(v0, v1)
    torch.testing.assert_close(g0, g1, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unknown LIF backend 'cuda'"):
        set_backend("cuda")


def test_state_resets_and_shape_error():
    node = FastLIFNode(TAU, step_mode="s")
    node(torch.full((2, 3), 0.9))
    assert isinstance(node.v, torch.Tensor) and node.v.abs().sum() > 0
    functional.reset_net(node)
    assert node.v == 0.0
    with pytest.raises(ValueError, match=r"expected x_seq \[T, \.\.\.\]"):
        lif_multi_step(torch.zeros(2, 3), torch.zeros(4))


def test_nan_input_propagates_instead_of_raising():
    """IEEE semantics on both backends: a NaN input gives NaN membranes and gradients, so the trainer's
    finiteness checks see it (numba's default error model would raise ZeroDivisionError instead)."""
    x = torch.tensor([[float("nan"), 0.5], [2.0, float("nan")]], requires_grad=True)
    spikes, v = lif_multi_step(x, torch.zeros(2))
    spikes.sum().backward()
    assert spikes.tolist() == [[0.0, 0.0], [0.0, 0.0]]  # NaN never crosses the threshold, and stays in v
    assert torch.isnan(v).all()
    assert torch.isnan(x.grad[0, 0]) and torch.isnan(x.grad[1, 1])
