"""The spiking NB201 space as a NASLib search space: ``SpikingNasBench201SearchSpace(Graph)``.

NASLib's discrete optimizers (random search, regularized evolution, local search, Bananas, Npenas),
its ``Trainer`` and its ``ZeroCostPredictorEvaluator`` duck-type the search space. This class gives
them every method they call, on the cells of :class:`CellSpec` (forward *and* backward edges):

* sampling, mutation and neighbourhoods on op_indices (python ints, so ``str(get_hash())`` matches
  NAS-Bench-Suite-Zero style keys); on an oracle that knows only some cells (a benchmark table)
  they stay on those cells;
* ``query`` answered by the ``dataset_api``'s oracle (:mod:`naslib_snn.oracles`);
* ``encode``: the adjacency one-hot encoding extended to the 9 choices per node pair;
* ``parse`` builds the :class:`SpikingNB201Network` and ``forward`` runs it, so NASLib's zero-cost
  proxies (and ours, :mod:`naslib_snn.predictors.naslib_measures`) score it.

NASLib's ``Graph`` runs a DAG of edge ops in topological order; backward edges (node j at t-1
feeds node i < j at t) cannot be such edges. So the graph holds no nodes or edges at all: NASLib
sees the cell only through ``set_spec`` / ``get_hash`` / ``get_op_indices``, and the spiking network,
built by ``parse``, runs the timesteps itself.

Randomness comes from numpy's global generator, as in NASLib's own search spaces: NASLib's
``Trainer.search`` seeds it with ``config.search.seed``, so a run is reproducible from its config.
Weights are initialised from torch's global generator, or from ``cell_seed(init_seed, spec)`` when
``init_seed`` is set (the same cell then gets the same weights whenever it is built).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional as sj_functional
from torch import nn

from naslib_snn import compat

compat.require_naslib()

from naslib.search_spaces.core.graph import Graph  # noqa: E402
from naslib.search_spaces.core.query_metrics import Metric  # noqa: E402
from naslib.utils.encodings import EncodingType  # noqa: E402

from naslib_snn.oracles import INIT_STREAM, cell_seed, resolve_oracle  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.space import SAMPLERS, SpikingNB201Space, has_path  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.spec import NUM_CHOICES, NUM_EDGES, CellSpec, parse_arch  # noqa: E402

__all__ = ["METRIC_NAMES", "SEARCH_SPACE_NAME", "SpikingNasBench201SearchSpace"]

SEARCH_SPACE_NAME = "spiking_nb201"

#: NASLib metric -> oracle metric name (naslib_snn.oracles.ORACLE_METRICS)
METRIC_NAMES: dict[Metric, str] = {
    Metric.TRAIN_ACCURACY: "train_accuracy",
    Metric.VAL_ACCURACY: "val_accuracy",
    Metric.TEST_ACCURACY: "test_accuracy",
    Metric.TRAIN_LOSS: "train_loss",
    Metric.VAL_LOSS: "val_loss",
    Metric.TEST_LOSS: "test_loss",
    Metric.TRAIN_TIME: "train_time",
    Metric.PARAMETERS: "params",
    Metric.RAW: "raw",
}

_MAX_PATH_REDRAWS = 100  # mutations redrawn at most this often to keep a path from input to output

SpecLike = Union[CellSpec, str, Sequence[int]]


class _SharedPool:
    """A list of op_indices shared by a space and all its clones: ``deepcopy`` returns the same object.

    So ``sample_without_replacement`` really draws without replacement across the clones that NASLib
    makes for every sample, and a long list of labeled cells is not copied each time.
    """

    def __init__(self, items: Iterable[SpecLike]) -> None:
        self.items: list[tuple[int, ...]] = [parse_arch(item).op_indices for item in items]

    def __deepcopy__(self, memo: dict) -> "_SharedPool":
        return self


class SpikingNasBench201SearchSpace(Graph):
    """A NASLib search space whose architectures are spiking NB201 cells (:class:`CellSpec`).

    The constructor takes only keywords with defaults (NASLib re-creates graphs with
    ``self.__class__()``); :meth:`clone` keeps every setting. Network settings are those of
    :class:`SpikingNB201Network`.

    Args:
        n_classes, in_channels: the dataset's classes and image channels (NASLib's NB201 names).
        channels, timesteps, image_size, neuron, vote, hidden, dropout, stem_stride, final_pool,
            multi_step, hidden_init_std, count_include_pad: the network built by :meth:`parse`
            (``multi_step=None``: SpikingJelly's multi-step mode for forward-only cells).
        backward: cells with backward edges belong to the space (9 choices per pair) or not (5,
            NAS-Bench-201's space).
        require_path: sampling, mutation and neighbourhoods skip cells whose output ignores the
            input (no path from node 0 to node 3), as NASLib's NB201 sampler does.
        sampler: ``"uniform"`` or ``"authors"`` (see :class:`SpikingNB201Space`).
        init_seed: None initialises networks from torch's global generator; an int from
            ``cell_seed(init_seed, spec)``.
        instantiate_model: whether NASLib's optimizers should ``parse()`` every architecture they
            sample (Bananas, Npenas read it). Off by default: the oracles need only the cell, and
            NASLib checkpoints the weights of every architecture in its history.

    Raises:
        ValueError: an unknown sampler, or a setting that is not a positive int.
    """

    OPTIMIZER_SCOPE = SEARCH_SPACE_NAME  # NASLib's discrete optimizers only store it
    QUERYABLE = True

    def __init__(
        self,
        n_classes: int = 10,
        in_channels: int = 3,
        *,
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
        backward: bool = True,
        require_path: bool = True,
        sampler: str = "uniform",
        init_seed: Optional[int] = None,
        instantiate_model: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("n_classes", n_classes), ("in_channels", in_channels), ("channels", channels),
                            ("timesteps", timesteps), ("image_size", image_size), ("vote", vote),
                            ("hidden", hidden), ("stem_stride", stem_stride), ("final_pool", final_pool)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if init_seed is not None and (isinstance(init_seed, bool) or not isinstance(init_seed, (int, np.integer))
                                      or init_seed < 0):
            raise ValueError(f"init_seed must be None or an int >= 0, got {init_seed!r}")
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
        self.num_classes = int(n_classes)
        self.in_channels = int(in_channels)
        self.network_kwargs: dict[str, Any] = dict(
            channels=int(channels), timesteps=int(timesteps), image_size=int(image_size), neuron=neuron,
            vote=int(vote), hidden=int(hidden), dropout=float(dropout), stem_stride=int(stem_stride),
            final_pool=int(final_pool), multi_step=multi_step, hidden_init_std=hidden_init_std,
            count_include_pad=bool(count_include_pad),
        )
        self.space = SpikingNB201Space(backward=bool(backward), require_path=bool(require_path), sampler=sampler)
        self.init_seed = None if init_seed is None else int(init_seed)
        self.instantiate_model = bool(instantiate_model)
        self.space_name = SEARCH_SPACE_NAME
        self.sample_without_replacement = False
        self.spec: Optional[CellSpec] = None
        self.network: Optional[SpikingNB201Network] = None
        self._labeled: Optional[_SharedPool] = None

    # ---- construction ---------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The constructor's keyword arguments that give this space (without its cell)."""
        return dict(
            n_classes=self.num_classes, in_channels=self.in_channels, **self.network_kwargs,
            backward=self.space.backward, require_path=self.space.require_path, sampler=self.space.sampler,
            init_seed=self.init_seed, instantiate_model=self.instantiate_model,
        )

    @classmethod
    def from_network(cls, network: SpikingNB201Network, **settings: Any) -> "SpikingNasBench201SearchSpace":
        """A parsed graph around an existing network (e.g. to score it with NASLib's proxies).

        ``settings`` fill in what the network does not tell (``channels``, ``hidden``, ...; used only
        if the graph is rebuilt).
        """
        if not isinstance(network, SpikingNB201Network):
            raise TypeError(f"expected a SpikingNB201Network, got {type(network).__name__}")
        known = dict(n_classes=network.num_classes, in_channels=network.in_channels, image_size=network.image_size,
                     timesteps=network.timesteps, vote=network.vote, multi_step=network.multi_step)
        graph = cls(**{**known, **settings})
        graph.spec = network.spec
        graph.network = network
        graph.is_parsed = True
        return graph

    def _blank(self) -> "SpikingNasBench201SearchSpace":
        """A new space with these settings and the same labeled pool, without a cell."""
        blank = type(self)(**self.settings())
        blank._labeled = self._labeled
        blank.sample_without_replacement = self.sample_without_replacement
        return blank

    def __bool__(self) -> bool:
        # networkx's __len__ (number of nodes, always 0 here) would make every instance falsy, and
        # Trainer.evaluate(best_arch=...) tests `if not best_arch`.
        return True

    def __repr__(self) -> str:
        cell = self.spec.to_str() if self.spec is not None else "no cell"
        return f"{type(self).__name__}({cell}, parsed={self.network is not None})"

    __str__ = __repr__  # networkx's __str__ would describe the (empty) node set

    # ---- NASLib's conventions ---------------------------------------------------------------------------
    def get_type(self) -> str:
        return SEARCH_SPACE_NAME

    def get_loss_fn(self) -> Any:
        """Cross-entropy on the network's time-averaged logits ``[B, num_classes]``."""
        return F.cross_entropy

    @property
    def labeled_archs(self) -> Optional[list[tuple[int, ...]]]:
        """Cells with known results (op_indices tuples) that ``load_labeled`` sampling draws from."""
        return None if self._labeled is None else self._labeled.items

    @labeled_archs.setter
    def labeled_archs(self, archs: Optional[Iterable[SpecLike]]) -> None:
        self._labeled = None if archs is None else _SharedPool(archs)

    # ---- the cell --------------------------------------------------------------------------------------------
    def get_spec(self) -> CellSpec:
        """The cell. Raises ValueError when none was set or sampled yet."""
        if self.spec is None:
            raise ValueError("this search space holds no cell yet; call set_spec() or sample_random_architecture()")
        return self.spec

    def get_op_indices(self) -> list[int]:
        """The 6 codes in NASLib's NB201 edge order (0-4 forward ops, 5-8 backward ops)."""
        return list(self.get_spec().op_indices)

    def get_hash(self) -> tuple[int, ...]:
        """``tuple(op_indices)`` of python ints, so ``str(get_hash())`` is a NAS-Bench-Suite-Zero style key."""
        return tuple(int(code) for code in self.get_spec().op_indices)

    def set_spec(self, spec: SpecLike, dataset_api: Any = None) -> None:
        """Set the cell (a CellSpec, op_indices, an arch string or the authors' matrix).

        Raises:
            ValueError: a malformed cell, a backward cell in a forward-only space, or a new cell
                after :meth:`parse` built the network of another one.
        """
        spec = parse_arch(tuple(spec) if isinstance(spec, np.ndarray) else spec)
        if spec not in self.space:
            raise ValueError(f"{spec.to_str()} has backward edges, but this space was built with backward=False")
        if self.network is not None and spec != self.spec:
            raise ValueError(
                f"this graph already holds the network of {self.spec.to_str()}; clone the unsampled space to set "
                "another cell"
            )
        self.spec = spec

    def set_op_indices(self, op_indices: SpecLike) -> None:
        """Alias of :meth:`set_spec` (NASLib's NB201 name)."""
        self.set_spec(op_indices)

    # ---- sampling ----------------------------------------------------------------------------------------
    def _candidates(self, dataset_api: Any) -> Optional[list[CellSpec]]:
        """The cells the oracle can answer that belong to this space, or None for the whole space."""
        if dataset_api is None:
            return None
        found = resolve_oracle(dataset_api).candidates()
        if found is None:
            return None
        cells = [spec for spec in found if spec in self.space]
        if not cells:
            raise ValueError("the dataset_api's oracle knows no cell of this search space (backward="
                             f"{self.space.backward})")
        return cells

    @staticmethod
    def _draw_seed() -> int:
        return int(np.random.randint(2**31 - 1))

    def get_arch_iterator(self, dataset_api: Any = None) -> Iterator[tuple[int, ...]]:
        """Every cell's op_indices: the oracle's cells, or the whole space (531,441 or 15,625)."""
        cells = self._candidates(dataset_api)
        for spec in self.space if cells is None else cells:
            yield spec.op_indices

    def sample_random_labeled_architecture(self) -> None:
        """Set a cell drawn from :attr:`labeled_archs` (removed from the pool with ``sample_without_replacement``).

        Raises:
            ValueError: no labeled cells (or none left).
        """
        if not self.labeled_archs:
            raise ValueError("no labeled architectures to sample from: set labeled_archs (e.g. the benchmark's "
                             "cells) first" + (" (all were drawn already)" if self._labeled is not None else ""))
        index = int(np.random.randint(len(self._labeled.items)))
        chosen = self._labeled.items.pop(index) if self.sample_without_replacement else self._labeled.items[index]
        self.set_spec(chosen)

    def sample_random_architecture(self, dataset_api: Any = None, load_labeled: bool = False) -> None:
        """Set a random cell: from :attr:`labeled_archs` with ``load_labeled``, else from the oracle's cells
        (a benchmark table), else from the whole space (skipping cells without a path when ``require_path``)."""
        if load_labeled:
            self.sample_random_labeled_architecture()
            return
        cells = self._candidates(dataset_api)
        if cells is None:
            self.set_spec(self.space.sample(self._draw_seed()))
        else:
            self.set_spec(cells[int(np.random.randint(len(cells)))])

    def mutate(self, parent: "SpikingNasBench201SearchSpace", dataset_api: Any = None) -> None:
        """Set a mutation of ``parent``'s cell: one pair changed to another of its choices.

        On an oracle that knows only some cells, the mutation moves to one of its cells closest to the
        parent (fewest differing pairs, at least one), drawn uniformly.
        """
        parent_spec = parent.get_spec()
        cells = self._candidates(dataset_api)
        if cells is not None:
            nearest = _nearest(parent_spec, cells)
            self.set_spec(nearest[int(np.random.randint(len(nearest)))] if nearest else parent_spec)
            return
        rng = np.random.default_rng(self._draw_seed())
        child = parent_spec.mutate(rng, backward=self.space.backward)
        for _ in range(_MAX_PATH_REDRAWS):
            if not self.space.require_path or has_path(child):
                break
            child = parent_spec.mutate(rng, backward=self.space.backward)
        self.set_spec(child)

    def neighbour_specs(self, dataset_api: Any = None) -> list[CellSpec]:
        """The cells one pair away (48, or 24 forward-only; those with a path when ``require_path``), or the
        oracle's nearest cells when it knows only some. Unshuffled."""
        spec = self.get_spec()
        cells = self._candidates(dataset_api)
        if cells is not None:
            return _nearest(spec, cells)
        found = spec.neighbours(backward=self.space.backward)
        if self.space.require_path:
            found = [s for s in found if has_path(s)]
        return found

    def get_nbhd(self, dataset_api: Any = None) -> list[nn.Module]:
        """NASLib's neighbourhood: shuffled ``nn.Module`` wrappers whose ``.arch`` is a new space (these
        settings, ``num_classes`` included) holding one neighbour cell."""
        out = []
        for spec in self.neighbour_specs(dataset_api):
            wrapper = nn.Module()
            wrapper.arch = self._blank()
            wrapper.arch.set_spec(spec)
            out.append(wrapper)
        return [out[i] for i in np.random.permutation(len(out))]

    # ---- queries ----------------------------------------------------------------------------------------
    def query(
        self,
        metric: Union[Metric, str, None] = None,
        dataset: Optional[str] = None,
        path: Optional[str] = None,
        epoch: int = -1,
        full_lc: bool = False,
        dataset_api: Any = None,
    ) -> Any:
        """``metric`` of this cell from ``dataset_api``'s oracle (see :mod:`naslib_snn.oracles`).

        Args:
            metric: a NASLib ``Metric`` of :data:`METRIC_NAMES` (or its oracle name, e.g. ``"val_accuracy"``).
            dataset: must be the oracle's dataset when given.
            path: ignored (NASLib's signature).
            epoch: -1 for the final value, else after that epoch (0-based).
            full_lc: the whole learning curve (up to ``epoch`` when it is not -1).
            dataset_api: from :func:`naslib_snn.oracles.get_dataset_api`.

        Returns:
            A float (percent for accuracies; NaN where the oracle does not know it), a dict for
            ``Metric.RAW``, a list with ``full_lc``.

        Raises:
            NotImplementedError: a NASLib metric the spiking space does not record (e.g. FLOPS, LATENCY).
            naslib_snn.oracles.MissingDatasetAPIError: no dataset_api; both a NotImplementedError (what
                NASLib's queryable spaces raise there) and a ValueError.
            ValueError: no cell, another dataset, or an unknown metric.
        """
        oracle = resolve_oracle(dataset_api)
        if isinstance(metric, Metric):
            if metric not in METRIC_NAMES:
                raise NotImplementedError(
                    f"the spiking NB201 space does not record {metric}; supported: "
                    f"{', '.join(str(m) for m in METRIC_NAMES)}"
                )
            name = METRIC_NAMES[metric]
        elif isinstance(metric, str) and metric in METRIC_NAMES.values():
            name = metric
        else:
            raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(str(m) for m in METRIC_NAMES)}")
        if dataset is not None and dataset != oracle.dataset:
            raise ValueError(f"the dataset_api answers for dataset {oracle.dataset!r}, not {dataset!r}")
        spec = self.get_spec()
        if full_lc:
            curve = oracle.learning_curve(spec, name)
            return curve if epoch == -1 else curve[:epoch]
        return oracle.query(spec, name, epoch=epoch)

    # ---- encodings ----------------------------------------------------------------------------------------
    def encode(self, encoding_type: Union[EncodingType, str] = EncodingType.ADJACENCY_ONE_HOT) -> list[int]:
        """The cell as a feature vector for NASLib's model-based predictors.

        ``ADJACENCY_ONE_HOT``: for each of the 6 pairs (NB201 edge order), a one-hot of its choice, over
        9 choices (5 forward ops and 4 backward ones; 5 in a forward-only space, which is then
        exactly NASLib's NB201 encoding). ``COMPACT``: the op_indices.

        Raises:
            NotImplementedError: other encodings (PATH needs a DAG; use ``predictor_type`` mlp, xgb,
                lgb, rf, gp, ... instead of ``bananas``, which asks for PATH).
        """
        kind = getattr(encoding_type, "value", encoding_type)
        codes = self.get_op_indices()
        if kind == EncodingType.ADJACENCY_ONE_HOT.value:
            choices = NUM_CHOICES if self.space.backward else self.space.num_choices
            out = [0] * (NUM_EDGES * choices)
            for edge, code in enumerate(codes):
                out[edge * choices + code] = 1
            return out
        if kind == EncodingType.COMPACT.value:
            return codes
        raise NotImplementedError(
            f"encoding {encoding_type!r} is not available for the spiking NB201 space (backward edges make "
            "cycles); supported: adjacency_one_hot, compact. For Bananas/Npenas choose a predictor_type that "
            "uses adjacency_one_hot (mlp, xgb, lgb, rf, gp, ...), not 'bananas' (path encoding)."
        )

    # ---- the network ----------------------------------------------------------------------------------------
    def build_network(self) -> SpikingNB201Network:
        """A new, untrained network of this cell (not attached; see :meth:`parse`)."""
        spec = self.get_spec()
        kwargs = dict(num_classes=self.num_classes, in_channels=self.in_channels, **self.network_kwargs)
        if self.init_seed is None:
            return SpikingNB201Network(spec, **kwargs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cell_seed(self.init_seed, spec, INIT_STREAM))
            return SpikingNB201Network(spec, **kwargs)

    def parse(self) -> None:
        """Build this cell's network (once) as the submodule ``network``; NASLib calls it before training
        or scoring."""
        if self.network is None:
            self.network = self.build_network()
        self.is_parsed = True

    def unparse(self) -> "SpikingNasBench201SearchSpace":
        """A copy of this space with the same cell and no network."""
        blank = self._blank()
        if self.spec is not None:
            blank.set_spec(self.spec)
        return blank

    def copy(self) -> "SpikingNasBench201SearchSpace":
        """A deep copy (NASLib's ``Graph.copy`` re-creates the graph with ``self.__class__()``, which would
        drop this space's settings)."""
        return self.clone()

    def _parsed_network(self) -> SpikingNB201Network:
        if self.network is None:
            raise RuntimeError(
                "the graph has no network yet: call parse() first (NASLib's optimizers parse only when "
                "instantiate_model is True)"
            )
        return self.network

    def forward(self, x: torch.Tensor, *args: Any) -> torch.Tensor:
        """``x`` ``[B, C, H, W]`` (direct coding) or ``[T, B, C, H, W]`` -> logits ``[B, num_classes]``.

        The neurons are reset afterwards, so the graph can be deep-copied (NASLib copies it for its
        proxies): SpikingJelly keeps the last membrane potentials, autograd tensors that ``deepcopy``
        refuses.
        """
        network = self._parsed_network()
        try:
            return network(x)
        finally:
            sj_functional.reset_net(network)

    def forward_before_global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map entering the classifier's pooling, averaged over timesteps: ``[B, 2C, H', W']``.

        NASLib's ``zen`` proxy reads it.
        """
        network = self._parsed_network()
        pools = [m for m in network.head.modules() if isinstance(m, nn.AvgPool2d)]
        if not pools:
            raise RuntimeError("the network's head has no AvgPool2d")
        seen: list[torch.Tensor] = []
        handle = pools[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
        try:
            self.forward(x)
        finally:
            handle.remove()
        batch = x.shape[0] if x.dim() == 4 else x.shape[1]
        frames = torch.cat(seen, dim=0)  # [T * B, C, H, W] in both step modes
        return frames.reshape(-1, batch, *frames.shape[1:]).mean(dim=0)


def _nearest(spec: CellSpec, cells: Sequence[CellSpec]) -> list[CellSpec]:
    """The cells of ``cells`` that differ from ``spec`` in the fewest pairs (at least one)."""
    best, out = None, []
    for cell in cells:
        distance = sum(a != b for a, b in zip(cell.op_indices, spec.op_indices))
        if distance == 0:
            continue
        if best is None or distance < best:
            best, out = distance, [cell]
        elif distance == best:
            out.append(cell)
    return out

