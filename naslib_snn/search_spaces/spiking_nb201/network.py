"""The spiking cell with forward and backward edges, and the SNASNet macro network."""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
from spikingjelly.activation_based import base, functional, layer
from torch import nn

from .ops import NEURONS, Stateless, TimeBatchNorm2d, make_neuron, make_op, stack_frames
from .spec import NUM_NODES, CellSpec, parse_arch

OUTPUT_NODE = NUM_NODES - 1


class SpikingCell(base.MemoryModule):
    """One 4-node cell. Node values are analog sums; spikes exist only inside the conv ops.

    Per timestep t (REFERENCE.md), with ``fb_k`` the feedback stored for node k at t-1 (zero at t=0):

    1. ``a_0 = x_t + fb_0``; for j = 1, 2, 3: ``a_j = sum_{i<j forward} op_ij(a_i) + fb_j``
       (``fb_3`` is always zero: no backward edge ends at the output node).
    2. The new feedback ``fb_i = sum_{j>i backward} op_ji(a_j)`` is stored for t+1.

    The output is ``a_3``. The feedback is SpikingJelly memory, so ``functional.reset_net`` clears it.
    Cells with backward edges run only in single-step mode.

    Shapes: ``x`` is ``[B, C, H, W]`` (single step) or ``[T, B, C, H, W]`` (multi-step, forward-only).
    """

    def __init__(self, spec: CellSpec, channels: int, neuron_kind: str = "lif", step_mode: str = "s",
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.spec = spec
        self.forward_ops = nn.ModuleDict()
        self.backward_ops = nn.ModuleDict()
        self.forward_edges: list[tuple[int, int]] = []
        self.backward_edges: list[tuple[int, int]] = []
        for src, dst, op, direction in spec.edges():
            key = f"{src}_{dst}"
            if direction == "forward":
                self.forward_ops[key] = make_op(op, channels, neuron_kind, step_mode, count_include_pad)
                self.forward_edges.append((src, dst))
            else:
                self.backward_ops[key] = make_op(op, channels, neuron_kind, step_mode, count_include_pad)
                self.backward_edges.append((src, dst))
        for node in range(OUTPUT_NODE):
            self.register_memory(f"feedback_{node}", 0.0)
        self.step_mode = step_mode

    def supported_step_mode(self) -> tuple[str, ...]:
        return ("s",) if self.backward_edges else ("s", "m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: list[Optional[torch.Tensor]] = [None] * NUM_NODES
        values[0] = x + self.feedback_0 if self.backward_edges else x
        for dst in range(1, NUM_NODES):
            total = None
            for src, edge_dst in self.forward_edges:
                if edge_dst == dst:
                    out = self.forward_ops[f"{src}_{dst}"](values[src])
                    total = out if total is None else total + out
            if total is None:
                total = torch.zeros_like(x)
            if dst < OUTPUT_NODE and self.backward_edges:
                total = total + getattr(self, f"feedback_{dst}")
            values[dst] = total
        if self.backward_edges:
            new_feedback: list[Union[float, torch.Tensor]] = [0.0] * OUTPUT_NODE
            for src, dst in self.backward_edges:
                new_feedback[dst] = new_feedback[dst] + self.backward_ops[f"{src}_{dst}"](values[src])
            for node, value in enumerate(new_feedback):
                setattr(self, f"feedback_{node}", value)
        return values[OUTPUT_NODE]


class SpikingNB201Network(nn.Module):
    """The SNASNet macro network (paper Fig. 5, authors' code as in REFERENCE.md).

    stem (conv3x3 + BN, computed once for direct coding) -> per timestep: cell(C) -> reduction
    (BN, LIF, conv3x3 C->2C, BN, avgpool 2) -> cell(2C) -> BN, LIF, avgpool(final_pool) -> flatten,
    dropout, linear(->hidden, no bias), LIF, linear(->num_classes*vote) -> voting (mean over groups of
    ``vote``). The output is the voted logits averaged over the T timesteps.

    Execution: forward-only cells run in SpikingJelly's multi-step mode throughout by default (all T
    timesteps batched through the convs); cells with backward edges run step by step. ``multi_step=True``
    on a cell with backward edges runs the recurrent cells step by step and the layers around them
    (stem, reduction, head) multi-step. All modes compute what step-by-step execution computes (BN
    statistics stay per timestep); step by step needs the least memory (scoring uses it). At C=64,
    B=256 a scored backward cell peaked at 3.6 GB with multi-step macro layers, 1.6 GB step by step,
    for no measurable speed-up on CPU, hence the default.
    Activations are kept channels-last, which mkldnn's convolutions run about twice as fast on CPU
    (bench/bench_speed.py).

    Args:
        spec: the cell (a :class:`CellSpec` or any text :func:`parse_arch` accepts).
        num_classes, in_channels, image_size: the data (square images; ``image_size`` fixes the
            classifier's input width).
        channels: C, the first cell's width (paper: 256 CIFAR-10, 128 CIFAR-100/Tiny-ImageNet).
        timesteps: T for direct coding (paper: 5).
        neuron: ``"lif"`` or ``"plif"``.
        vote: outputs per class averaged by the voting layer (authors: 10).
        hidden: width of the hidden classifier layer (authors: 1024; 4096 for Tiny-ImageNet).
        dropout: dropout before the classifier (authors: 0.5). SpikingJelly's ``layer.Dropout``, as in
            the authors' code: one mask for all T timesteps of a forward pass, redrawn at the next one.
        stem_stride: 1, or 2 for Tiny-ImageNet.
        final_pool: the pooling before the classifier (authors: 2, or 4 for their CIFAR-10 cell).
        multi_step: None: multi-step for forward-only cells, step by step for cells with backward
            edges; True: multi-step (cells with backward edges step by step inside it); False: step by step.
        hidden_init_std: if given, the Linear feeding the hidden classifier LIF is drawn from
            normal(0, hidden_init_std) after the authors' init. With the authors' normal(0, 0.01) a
            narrow network (small C or images) never fires there at init, and training stalls at chance.
        count_include_pad: ``avg_pool_3x3``'s border averages. True (default): PyTorch's default, as in
            the authors' code, counts the zero padding; False: NAS-Bench-201's, valid pixels only.
        channels_last: keep activations in channels-last memory (the same values; faster on CPU).

    Neuron state and cell feedback are reset at the start and at the end of every forward call, so
    nothing leaks between calls and a network can be deep-copied after a forward pass.
    """

    def __init__(
        self,
        spec: Union[CellSpec, str],
        num_classes: int = 10,
        in_channels: int = 3,
        channels: int = 16,
        timesteps: int = 5,
        image_size: int = 32,
        neuron: str = "lif",
        vote: int = 10,
        hidden: int = 1024,
        dropout: float = 0.5,
        stem_stride: int = 1,
        final_pool: int = 2,
        multi_step: Optional[bool] = None,
        hidden_init_std: Optional[float] = None,
        count_include_pad: bool = True,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        spec = parse_arch(spec)
        for name, value in (
            ("num_classes", num_classes), ("in_channels", in_channels), ("channels", channels),
            ("timesteps", timesteps), ("image_size", image_size), ("vote", vote), ("hidden", hidden),
            ("stem_stride", stem_stride), ("final_pool", final_pool),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if neuron not in NEURONS:
            raise ValueError(f"unknown neuron {neuron!r}; expected one of {NEURONS}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if hidden_init_std is not None and not (isinstance(hidden_init_std, (int, float)) and 0 < hidden_init_std < math.inf):
            raise ValueError(f"hidden_init_std must be a positive finite float or None, got {hidden_init_std!r}")
        for name, value in (("count_include_pad", count_include_pad), ("channels_last", channels_last)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        if multi_step is None:
            multi_step = not spec.has_backward
        if not isinstance(multi_step, bool):
            raise TypeError(f"multi_step must be None, True or False, got {multi_step!r}")
        stem_size = math.ceil(image_size / stem_stride)
        feature_size = stem_size // 2 // final_pool
        if feature_size < 1:
            raise ValueError(
                f"image_size {image_size} is too small for stem_stride {stem_stride} and final_pool {final_pool}: "
                "the feature map vanishes before the classifier"
            )
        self.spec = spec
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.image_size = image_size
        self.timesteps = timesteps
        self.vote = vote
        self.multi_step = multi_step
        self.count_include_pad = count_include_pad
        self.channels_last = channels_last
        mode = "m" if multi_step else "s"
        cell_mode = "m" if multi_step and not spec.has_backward else "s"
        c2 = 2 * channels

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.cell1 = SpikingCell(spec, channels, neuron, cell_mode, count_include_pad)
        self.reduction = nn.Sequential(
            TimeBatchNorm2d(channels, mode),
            make_neuron(neuron, mode),
            Stateless(nn.Conv2d(channels, c2, 3, padding=1, bias=False), mode),
            TimeBatchNorm2d(c2, mode),
            Stateless(nn.AvgPool2d(2), mode),
        )
        self.cell2 = SpikingCell(spec, c2, neuron, cell_mode, count_include_pad)
        self.head = nn.Sequential(
            TimeBatchNorm2d(c2, mode),
            make_neuron(neuron, mode),
            Stateless(nn.Sequential(nn.AvgPool2d(final_pool), nn.Flatten()), mode),
            layer.Dropout(dropout, step_mode=mode) if dropout > 0 else nn.Identity(),
            Stateless(nn.Linear(c2 * feature_size * feature_size, hidden, bias=False), mode),
            make_neuron(neuron, mode),
            Stateless(nn.Linear(hidden, num_classes * vote), mode),
        )
        self._init_weights(hidden_init_std)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    @property
    def hidden_linear(self) -> nn.Linear:
        """The Linear layer that feeds the hidden classifier neurons."""
        return self.head[4].module

    def _init_weights(self, hidden_init_std: Optional[float]) -> None:
        # authors' code: conv kaiming-uniform (a=2), linear normal(0, 0.01)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_uniform_(module.weight, a=2)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        if hidden_init_std is not None:  # drawn last, so the other weights match the authors' init
            nn.init.normal_(self.hidden_linear.weight, 0.0, hidden_init_std)

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        expected = f"[B, {self.in_channels}, {self.image_size}, {self.image_size}] or [T, B, {self.in_channels}, {self.image_size}, {self.image_size}]"
        if x.dim() not in (4, 5) or tuple(x.shape[-3:]) != (self.in_channels, self.image_size, self.image_size):
            raise ValueError(f"expected x with shape {expected}, got {list(x.shape)}")

    def _vote(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.unflatten(-1, (self.num_classes, self.vote)).mean(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, C, H, W]`` (direct coding over ``timesteps``) or ``[T, B, C, H, W]``.

        Returns ``[B, num_classes]`` logits averaged over time.
        """
        self._check_input(x)
        functional.reset_net(self)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
        if x.dim() == 4:
            stem, steps, frames = self.stem(x), self.timesteps, None
        else:
            stem, steps = None, x.shape[0]
            frames = functional.seq_to_ann_forward(x, self.stem)
        if self.multi_step:
            if frames is None:
                # direct coding: the stem output at every timestep, densely stored in its layout
                frames = stack_frames([stem] * steps)
            logits = self._vote(self._body_multi_step(frames)).mean(0)  # [T, B, classes*vote] -> [B, classes]
        else:
            total = 0.0
            for t in range(steps):
                total = total + self._vote(self._body(stem if frames is None else frames[t]))
            logits = total / steps
        # Drop the membranes and feedback now: they hold autograd history, which would keep memory
        # alive and make copy.deepcopy(net) fail until the next call.
        functional.reset_net(self)
        return logits

    def _cell_multi_step(self, cell: "SpikingCell", frames: torch.Tensor) -> torch.Tensor:
        if cell.step_mode == "m":
            return cell(frames)
        return stack_frames([cell(frame) for frame in frames.unbind(0)])  # recurrent: step by step

    def _body_multi_step(self, frames: torch.Tensor) -> torch.Tensor:
        hidden = self.reduction(self._cell_multi_step(self.cell1, frames))
        return self.head(self._cell_multi_step(self.cell2, hidden))

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cell2(self.reduction(self.cell1(x))))

    def num_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def spiking_layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` for every spiking neuron, in forward order."""
        from spikingjelly.activation_based.neuron import BaseNode

        return [(name, m) for name, m in self.named_modules() if isinstance(m, BaseNode)]

    def extra_repr(self) -> str:
        return (f"spec={self.spec.to_str()}, timesteps={self.timesteps}, multi_step={self.multi_step}, "
                f"count_include_pad={self.count_include_pad}, channels_last={self.channels_last}")
