"""score() on toy spiking networks, and the proxy registry."""

import math

import pytest
import torch
from spikingjelly.activation_based import functional, neuron, surrogate
from torch import nn

from naslib_snn.predictors import PROXIES, get_proxy, list_proxies, register_proxy, score
from naslib_snn.predictors import registry as registry_module
from naslib_snn.predictors.kernels import hd_kernel, log_abs_det, sahd_kernel
from naslib_snn.predictors.scoring import METRICS

BATCH, SIZE, TIMESTEPS, CHANNELS = 8, 8, 3, 4


def _lif(step_mode: str, v_threshold: float) -> neuron.LIFNode:
    # authors' LIF: tau 4/3, hard reset to 0, ATan surrogate, detached reset
    return neuron.LIFNode(
        tau=4.0 / 3.0,
        v_threshold=v_threshold,
        v_reset=0.0,
        surrogate_function=surrogate.ATan(),
        detach_reset=True,
        step_mode=step_mode,
    )


class ToySNN(nn.Module):
    """conv-BN-LIF, conv-BN-LIF, pool, dropout, linear-BN-LIF, linear; direct coding over T steps.

    ``step_mode="s"`` loops over T; ``"m"`` runs the neurons once on ``[T, B, ...]``
    with the same per-timestep BN statistics, so both compute the same spikes.
    """

    def __init__(self, step_mode: str = "s", v_threshold: float = 1.0, hidden: int = 16) -> None:
        super().__init__()
        self.step_mode = step_mode
        self.conv1 = nn.Conv2d(1, CHANNELS, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(CHANNELS)
        self.lif1 = _lif(step_mode, v_threshold)
        self.conv2 = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(CHANNELS)
        self.lif2 = _lif(step_mode, v_threshold)
        self.drop = nn.Dropout(0.5)
        self.fc1 = nn.Linear(CHANNELS * SIZE * SIZE // 4, hidden, bias=False)
        self.bn3 = nn.BatchNorm1d(hidden)
        self.lif3 = _lif(step_mode, v_threshold)
        self.fc2 = nn.Linear(hidden, 3)

    def _hidden(self, spikes: torch.Tensor) -> torch.Tensor:
        return self.bn3(self.fc1(self.drop(nn.functional.avg_pool2d(spikes, 2).flatten(1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(self)
        if self.step_mode == "s":
            out = 0.0
            for _ in range(TIMESTEPS):
                h = self.lif1(self.bn1(self.conv1(x)))
                h = self.lif2(self.bn2(self.conv2(h)))
                out = out + self.fc2(self.lif3(self._hidden(h)))
            return out / TIMESTEPS
        current = self.bn1(self.conv1(x))
        s1 = self.lif1(current.unsqueeze(0).expand(TIMESTEPS, *current.shape))
        s2 = self.lif2(torch.stack([self.bn2(self.conv2(s)) for s in s1]))
        s3 = self.lif3(torch.stack([self._hidden(s) for s in s2]))
        return self.fc2(s3).mean(0)


def _toy(seed: int = 0, **kwargs) -> ToySNN:
    torch.manual_seed(seed)
    return ToySNN(**kwargs)


def _images(seed: int = 0, batch: int = BATCH) -> torch.Tensor:
    return torch.randn(batch, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _recorded_kernels(network: nn.Module, x: torch.Tensor, kernel) -> list[torch.Tensor]:
    """Independent check: store every spike matrix, one per layer per timestep, then apply ``kernel``."""
    spikes: list[torch.Tensor] = []

    def hook(module, args, output):
        steps = output if module.step_mode == "m" else output.unsqueeze(0)
        spikes.extend(s.reshape(s.shape[0], -1).clone() for s in steps)

    handles = [m.register_forward_hook(hook) for m in network.modules() if isinstance(m, neuron.BaseNode)]
    network.train()
    for module in network.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    with torch.no_grad():
        network(x)
    for handle in handles:
        handle.remove()
    return [kernel(s) for s in spikes]


# --- score() against the kernels ------------------------------------------------------------


@pytest.mark.parametrize(
    "metric, variant, kernel",
    [
        ("hd", "paper", hd_kernel),
        ("sahd", "paper", sahd_kernel),
        ("sahd", "reference", lambda s: sahd_kernel(s, variant="reference")),
        ("sahd_reference", None, lambda s: sahd_kernel(s, variant="reference")),
    ],
)
def test_score_equals_log_det_of_accumulated_kernels(metric, variant, kernel):
    net, x = _toy(), _images()
    kernels = _recorded_kernels(net, x, kernel)
    assert len(kernels) == 3 * TIMESTEPS
    total = torch.stack(kernels).sum(0)
    if (variant or METRICS[metric].default_variant) == "reference":
        total = total / len(kernels)  # averaged over hook calls
    expected = log_abs_det(total)
    got = score(net, x, metric, variant, dropout=False)
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_reference_variant_differs_from_paper_by_the_average():
    # For HD the kernel is the same, so averaging only shifts log|det| by B log(calls).
    net, x = _toy(), _images()
    paper = score(net, x, "hd", "paper")
    reference = score(net, x, "hd", "reference", dropout=False)
    assert reference == pytest.approx(paper - BATCH * math.log(3 * TIMESTEPS), rel=1e-12)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_single_and_multi_step_neurons_agree(metric):
    x = _images()
    single = score(_toy(step_mode="s"), x, metric, dropout=False)
    multi = score(_toy(step_mode="m"), x, metric, dropout=False)
    assert single == pytest.approx(multi, rel=1e-10)


def test_batches_are_averaged_and_loader_tuples_accepted():
    net = _toy()
    a, b = _images(1), _images(2)
    labels = torch.zeros(BATCH, dtype=torch.long)
    for metric in ("sahd", "sahd_reference"):
        # Without dropout each batch's score does not depend on the batches before it.
        sa, sb = score(net, a, metric, dropout=False), score(net, b, metric, dropout=False)
        assert sa != sb
        assert score(net, [a, b], metric, dropout=False) == pytest.approx((sa + sb) / 2, rel=1e-14)
        assert score(net, iter([(a, labels), (b, labels)]), metric) == score(net, [a, b], metric)


def test_score_does_not_depend_on_initial_mode_and_leaves_network_unchanged():
    net, x = _toy(), _images()
    net.eval()
    net.lif2.train()  # a mixed state must come back exactly
    flags = {name: m.training for name, m in net.named_modules()}
    buffers = {name: b.clone() for name, b in net.named_buffers()}
    params = {name: p.clone() for name, p in net.named_parameters()}
    rng_state = torch.get_rng_state()
    from_eval = score(net, x, "sahd_reference")  # dropout active: draws random masks
    assert {name: m.training for name, m in net.named_modules()} == flags
    assert all(torch.equal(b, buffers[name]) for name, b in net.named_buffers())
    assert all(torch.equal(p, params[name]) for name, p in net.named_parameters())
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert all(not m._forward_hooks for m in net.modules())
    net.train()
    assert score(net, x, "sahd_reference") == from_eval


def test_state_restored_when_forward_raises():
    class Failing(ToySNN):
        def forward(self, x):
            functional.reset_net(self)
            self.lif1(self.bn1(self.conv1(x)))
            raise RuntimeError("boom")

    net = _toy()
    failing = Failing()
    failing.load_state_dict(net.state_dict())
    failing.eval()
    buffers = [b.clone() for b in failing.buffers()]
    with pytest.raises(RuntimeError, match="boom"):
        score(failing, _images())
    assert not failing.training and not failing.bn1.training
    assert all(not m._forward_hooks for m in failing.modules())
    assert all(torch.equal(b, saved) for b, saved in zip(failing.buffers(), buffers))


def test_graded_output_of_a_twin_neuron_raises():
    class Halved(neuron.LIFNode):
        def forward(self, x):
            return 0.5 * super().forward(x)

    class Twins(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(1)
            self.a = _lif("s", 0.5)
            self.b = Halved(tau=4.0 / 3.0, v_threshold=0.5, v_reset=0.0, surrogate_function=surrogate.ATan())

        def forward(self, x):
            functional.reset_net(self)
            node = self.bn(x)
            return self.a(node).sum() + self.b(node).sum()

    with pytest.raises(ValueError, match=r"neuron 'b' emitted a value other than 0 or 1"):
        score(Twins(), _images())


# --- determinism and dropout -----------------------------------------------------------------


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_same_seed_same_score_bit_for_bit(metric):
    x = _images()
    first = score(_toy(seed=3), x, metric, seed=11)
    second = score(_toy(seed=3), x, metric, seed=11)
    assert first == second
    assert math.isfinite(first)
    assert score(_toy(seed=4), x, metric, seed=11) != first


def test_dropout_follows_the_variant_and_the_seed():
    net, x = _toy(), _images()
    # Paper variant: dropout off, the seed does not matter.
    assert score(net, x, "sahd", seed=0) == score(net, x, "sahd", seed=1)
    # Reference variant: dropout on as in the authors' code, so the seed matters ...
    assert score(net, x, "sahd_reference", seed=0) != score(net, x, "sahd_reference", seed=1)
    # ... unless switched off; and dropout can be switched on for the paper variant.
    assert score(net, x, "sahd_reference", seed=0, dropout=False) == score(net, x, "sahd_reference", seed=1, dropout=False)
    assert score(net, x, "sahd", seed=0, dropout=True) != score(net, x, "sahd", seed=0)


# --- silent networks -----------------------------------------------------------------------


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize("variant", [None, "reference"])
def test_silent_network_scores_minus_inf(metric, variant):
    net, x = _toy(v_threshold=1e9), _images()
    results = [score(net, x, metric, variant) for _ in range(2)]
    assert results == [-math.inf, -math.inf]


def test_one_silent_batch_makes_the_mean_minus_inf():
    net = _toy()
    assert score(net, [_images(1), torch.zeros(BATCH, 1, SIZE, SIZE)], "hd") == -math.inf


# --- bad input -------------------------------------------------------------------------------


def test_unknown_metric_and_variant_are_named():
    net, x = _toy(), _images()
    with pytest.raises(ValueError, match=r"unknown metric 'sahdd'; expected one of \['hd', 'sahd', 'sahd_reference'\]"):
        score(net, x, "sahdd")
    with pytest.raises(ValueError, match=r"unknown variant 'papr' for metric 'sahd'"):
        score(net, x, "sahd", "papr")
    with pytest.raises(ValueError, match=r"unknown variant 'paper' for metric 'sahd_reference'.*\['reference'\]"):
        score(net, x, "sahd_reference", "paper")
    with pytest.raises(ValueError, match=r"alpha to be a finite number > 0, got -1"):
        score(net, x, alpha=-1)


def test_network_without_neurons_raises():
    with pytest.raises(ValueError, match=r"network Sequential has no spiking neuron"):
        score(nn.Sequential(nn.Conv2d(1, 2, 3)), _images())


def test_bad_inputs_raise():
    net = _toy()
    with pytest.raises(ValueError, match="inputs held no batch"):
        score(net, [])
    with pytest.raises(TypeError, match="batch 1 of inputs is a str, expected a tensor"):
        score(net, [_images(), "x"])
    with pytest.raises(TypeError, match="expected inputs as a tensor or an iterable of batches, got int"):
        score(net, 3)
    with pytest.raises(TypeError, match=r"expected seed as an int, got 1\.5"):
        score(net, _images(), seed=1.5)
    with pytest.raises(TypeError, match=r"expected dropout as True, False or None, got 'yes'"):
        score(net, _images(), dropout="yes")


@pytest.mark.parametrize(
    "distort",
    [lambda s: 0.5 * s + 0.25, lambda s: s + 1.0, lambda s: s - 1.0, lambda s: s * float("nan")],
    ids=["graded", "above_one", "negative", "nan"],
)
def test_non_binary_neuron_output_raises(distort):
    class NotSpikes(neuron.LIFNode):
        def forward(self, x):
            return distort(super().forward(x))

    net = nn.Sequential(nn.Flatten(), nn.Linear(SIZE * SIZE, 8), NotSpikes())
    with pytest.raises(ValueError, match=r"neuron '2' emitted a value other than 0 or 1"):
        score(net, _images())


def test_neurons_disagreeing_on_batch_size_raise():
    class Halves(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = _lif("s", 0.5), _lif("s", 0.5)

        def forward(self, x):
            return self.b(self.a(x)[: x.shape[0] // 2])

    with pytest.raises(ValueError, match=r"neuron 'b' saw a batch of 4 samples, expected 8"):
        score(Halves(), _images())


def test_multi_step_neuron_needs_time_dimension():
    net = nn.Sequential(nn.Flatten(), _lif("m", 1.0))
    with pytest.raises(ValueError, match=r"neuron '1' is in step_mode 'm', expected output shape \[T, B, \.\.\.\], got \[8, 64\]"):
        score(net, _images())


# --- registry --------------------------------------------------------------------------------


def test_registry_holds_the_paper_proxies_and_every_metric():
    assert {"hd", "sahd", "sahd_reference"} <= set(list_proxies())
    assert set(METRICS) <= set(PROXIES)
    assert list_proxies() == sorted(PROXIES)


@pytest.mark.parametrize("name", list_proxies())
def test_every_proxy_finite_deterministic_and_minus_inf_when_silent(name):
    proxy = get_proxy(name)
    x = _images()
    first = proxy(_toy(seed=5), x, seed=2)
    assert isinstance(first, float) and math.isfinite(first)
    assert proxy(_toy(seed=5), x, seed=2) == first
    assert proxy(_toy(v_threshold=1e9), x) == -math.inf


def test_unknown_proxy_lists_known_names():
    with pytest.raises(KeyError, match=r"unknown proxy 'nope'; known proxies: hd, sahd, sahd_reference"):
        get_proxy("nope")


def test_duplicate_and_bad_names_raise(monkeypatch):
    monkeypatch.setattr(registry_module, "PROXIES", dict(PROXIES))
    with pytest.raises(ValueError, match=r"a proxy named 'sahd' is already registered"):
        registry_module.register_proxy("sahd")
    with pytest.raises(ValueError, match=r"non-empty lower-case string, got 'SAHD2'"):
        registry_module.register_proxy("SAHD2")

    @registry_module.register_proxy("constant_for_test")
    def constant(network, inputs, **kwargs):
        return 1.0

    assert registry_module.get_proxy("constant_for_test") is constant
    assert "constant_for_test" not in PROXIES  # the real registry is untouched
    with pytest.raises(ValueError, match=r"'constant_for_test' is already registered"):
        registry_module.register_proxy("constant_for_test")


def test_register_proxy_is_the_public_decorator():
    assert register_proxy is registry_module.register_proxy


# --- the real network ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch",
    ["0303 0030 2002 0200", "0302 0030 3003 0000", "0333 0033 0003 0000"],
    ids=["authors_cifar10", "authors_cifar100", "forward_only_multi_step"],
)
def test_scores_on_the_spiking_nb201_network(arch):
    network_module = pytest.importorskip("naslib_snn.search_spaces.spiking_nb201.network")
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def make():
        torch.manual_seed(0)
        return network_module.SpikingNB201Network(arch, channels=4, timesteps=2, image_size=16, hidden=32)

    for name in list_proxies():
        first = get_proxy(name)(make(), x, seed=1)
        assert math.isfinite(first)
        assert get_proxy(name)(make(), x, seed=1) == first


def test_spike_rows_are_views_in_memory_order_with_the_same_patterns():
    """Channels-last spikes are flattened without a copy; each sample keeps its spikes (in another order)."""
    from naslib_snn.predictors.kernels import gram_and_counts
    from naslib_snn.predictors.scoring import _rows

    spikes = (torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(0)) > 0.6).float()
    channels_last = spikes.contiguous(memory_format=torch.channels_last)
    rows = _rows(channels_last, 1)
    assert rows.shape == (4, 75) and rows.data_ptr() == channels_last.data_ptr()
    torch.testing.assert_close(rows.sort(dim=1).values, spikes.reshape(4, -1).sort(dim=1).values)
    assert torch.equal(gram_and_counts(rows)[0], gram_and_counts(spikes.reshape(4, -1))[0])
    seq = torch.stack([channels_last, channels_last])  # [T, B, ...]: T and B stay in front
    assert _rows(seq, 2).shape == (2, 4, 75)
