import pytest
import torch
from spikingjelly.activation_based import functional

from naslib_snn import AUTHORS_CIFAR100, CellSpec, SpikingNB201Network
from naslib_snn.search_spaces.spiking_nb201.network import SpikingCell

FORWARD = CellSpec((2, 1, 3, 2, 4, 0))
SMALL = dict(channels=6, timesteps=3, image_size=16, hidden=32)


def make_net(spec, seed=0, **kw):
    torch.manual_seed(seed)
    return SpikingNB201Network(spec, **{**SMALL, **kw})


def wake_classifier(net, std=0.5):
    """The authors' init (normal 0.01) leaves a narrow hidden layer silent; widen it so it spikes."""
    torch.nn.init.normal_(net.hidden_linear.weight, 0.0, std)


@pytest.mark.parametrize("spec", [FORWARD, AUTHORS_CIFAR100, CellSpec((1,) * 6)])
def test_output_shape_and_finite(spec):
    net = make_net(spec, num_classes=7, in_channels=1)
    out = net(torch.randn(5, 1, 16, 16))
    assert out.shape == (5, 7)
    assert torch.isfinite(out).all()


def test_sequence_input():
    net = make_net(AUTHORS_CIFAR100)
    out = net(torch.randn(4, 2, 3, 16, 16))
    assert out.shape == (2, 10)


@pytest.mark.parametrize(
    "shape, message",
    [((3, 16, 16), "expected x with shape"), ((2, 1, 16, 16), "expected x with shape"), ((2, 3, 8, 8), "got \\[2, 3, 8, 8\\]")],
)
def test_bad_input_shapes(shape, message):
    net = make_net(FORWARD)
    with pytest.raises(ValueError, match=message):
        net(torch.randn(*shape))


def test_bad_config():
    with pytest.raises(ValueError, match="multi_step=True needs a forward-only cell"):
        make_net(AUTHORS_CIFAR100, multi_step=True)
    with pytest.raises(ValueError, match="unknown neuron 'izh'"):
        make_net(FORWARD, neuron="izh")
    with pytest.raises(ValueError, match="timesteps must be a positive int"):
        make_net(FORWARD, timesteps=0)
    with pytest.raises(ValueError, match="too small"):
        make_net(FORWARD, image_size=2)


def test_default_step_modes():
    assert make_net(FORWARD).multi_step
    assert not make_net(AUTHORS_CIFAR100).multi_step


@pytest.mark.parametrize("train", [True, False])
def test_multi_step_equals_step_by_step(train):
    multi = make_net(FORWARD, dropout=0.0)
    wake_classifier(multi)
    single = make_net(FORWARD, dropout=0.0, multi_step=False)
    single.load_state_dict(multi.state_dict())
    x = torch.randn(6, 3, 16, 16)
    if not train:  # give BN running statistics that match the data before evaluating
        with torch.no_grad():
            for _ in range(20):
                multi(x), single(x)
    multi.train(train)
    single.train(train)
    out_m, out_s = multi(x), single(x)
    assert out_m.abs().max() > 0
    torch.testing.assert_close(out_m, out_s, rtol=1e-5, atol=1e-6)
    for (name, a), (_, b) in zip(multi.named_buffers(), single.named_buffers()):
        torch.testing.assert_close(a, b, msg=name)


def _cells(channels=4):
    torch.manual_seed(0)
    with_bw = SpikingCell(CellSpec((2, 6, 3, 2, 1, 5)), channels)
    without = SpikingCell(CellSpec((2, 1, 3, 2, 1, 1)), channels)
    without.load_state_dict(with_bw.state_dict(), strict=False)
    return with_bw, without


def test_backward_edge_acts_only_from_t1():
    with_bw, without = _cells()
    torch.manual_seed(1)
    xs = [3 * torch.randn(4, 4, 8, 8) for _ in range(3)]
    outs_bw = [with_bw(x) for x in xs]
    outs_fw = [without(x) for x in xs]
    torch.testing.assert_close(outs_bw[0], outs_fw[0])
    for t in (1, 2):
        assert not torch.allclose(outs_bw[t], outs_fw[t]), f"backward edge had no effect at t={t}"


def test_backward_feedback_is_reset():
    with_bw, _ = _cells()
    x = 3 * torch.randn(4, 4, 8, 8)
    first = with_bw(x)
    with_bw(x)
    functional.reset_net(with_bw)
    torch.testing.assert_close(with_bw(x), first)


def test_network_backward_edge_no_effect_with_one_timestep():
    net_bw = make_net(CellSpec((2, 5, 3, 2, 1, 2)), timesteps=1, dropout=0.0)
    net_fw = make_net(CellSpec((2, 1, 3, 2, 1, 2)), timesteps=1, dropout=0.0, multi_step=False)
    net_fw.load_state_dict(net_bw.state_dict(), strict=False)
    for net in (net_bw, net_fw):
        wake_classifier(net)
    net_fw.hidden_linear.weight.data.copy_(net_bw.hidden_linear.weight.data)
    x = torch.randn(4, 3, 16, 16)
    torch.testing.assert_close(net_bw(x), net_fw(x))
    net_bw.timesteps = net_fw.timesteps = 3
    assert not torch.allclose(net_bw(x), net_fw(x))


def test_no_state_leaks_between_calls():
    net = make_net(AUTHORS_CIFAR100).eval()
    wake_classifier(net)
    x = torch.randn(4, 3, 16, 16)
    first = net(x)
    net(torch.randn(4, 3, 16, 16))
    torch.testing.assert_close(net(x), first)


@pytest.mark.parametrize("neuron", ["lif", "plif"])
@pytest.mark.parametrize("spec", [FORWARD, CellSpec((2, 6, 3, 2, 7, 2))])
def test_every_parameter_gets_a_gradient(spec, neuron):
    net = make_net(spec, neuron=neuron, dropout=0.0)
    wake_classifier(net)
    x = torch.randn(8, 3, 16, 16)
    loss = torch.nn.functional.cross_entropy(net(x), torch.arange(8) % 10)
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} got a zero gradient"


def test_same_seed_same_output():
    x = torch.randn(4, 3, 16, 16)
    a = make_net(AUTHORS_CIFAR100, seed=3)
    b = make_net(AUTHORS_CIFAR100, seed=3)
    torch.manual_seed(9)
    out_a = a(x)
    torch.manual_seed(9)
    out_b = b(x)
    assert torch.equal(out_a, out_b)


def test_string_spec_and_param_count():
    net = make_net(AUTHORS_CIFAR100.to_str())
    assert net.spec == AUTHORS_CIFAR100
    assert net.num_params() == sum(p.numel() for p in net.parameters())
    assert len(net.spiking_layers()) == 2 * 5 + 3  # 5 conv ops per cell, reduction, head, classifier


def test_deepcopy_after_forward_with_gradients():
    import copy

    net = make_net(AUTHORS_CIFAR100)
    net(torch.randn(4, 3, 16, 16)).sum().backward()
    clone = copy.deepcopy(net)
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(0)
    expected = net.eval()(x)
    torch.manual_seed(0)
    torch.testing.assert_close(clone.eval()(x), expected)


def test_get_dataset_api_offers_the_oracles():
    import naslib_snn
    from naslib_snn import oracles

    assert naslib_snn.get_dataset_api is oracles.get_dataset_api
