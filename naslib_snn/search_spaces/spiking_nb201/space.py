"""The set of all spiking NB201 cells: indexing, sampling and graph views."""

from __future__ import annotations

from typing import Iterator, Optional, Union

import networkx as nx
import numpy as np

from .spec import (
    AUTHOR_CODES,
    EDGE_LIST,
    NUM_CHOICES,
    NUM_EDGES,
    NUM_FORWARD_CHOICES,
    NUM_NODES,
    CellSpec,
    as_generator,
    is_backward,
)

SAMPLERS = ("uniform", "authors")


class SpikingNB201Space:
    """All cells of the spiking NAS-Bench-201 space.

    Args:
        backward: include backward edges (9 choices per pair, 9**6 = 531,441 cells) or not
            (5 choices, 5**6 = 15,625 cells, exactly NAS-Bench-201's space).
        require_path: if True, :meth:`sample` redraws cells whose output does not depend on the input,
            i.e. with no directed path from node 0 to node 3 (forward edges i->j and backward edges
            j->i both count, since a backward edge carries node j's value to node i one timestep
            later). Indexing and iteration always cover the whole space, such cells included: their
            output is constant (zero), which is a legitimate, if poor, architecture.
        sampler: ``"uniform"`` draws every cell with equal probability. ``"authors"`` mimics the
            authors' candidate generator (REFERENCE.md): each pair flips a coin for its direction and
            draws an author op code 0..4 uniformly; edges of nodes that cannot reach node 3 or cannot
            be reached from node 0 are zeroed, and candidates without a forward 0->3 op are redrawn.
    """

    def __init__(self, backward: bool = True, require_path: bool = False, sampler: str = "uniform") -> None:
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
        if sampler == "authors" and not backward:
            raise ValueError("sampler='authors' draws backward edges; use it with backward=True")
        self.backward = bool(backward)
        self.require_path = bool(require_path)
        self.sampler = sampler
        self.num_choices = NUM_CHOICES if backward else NUM_FORWARD_CHOICES

    def __len__(self) -> int:
        return self.num_choices**NUM_EDGES

    def __repr__(self) -> str:
        return (
            f"SpikingNB201Space(backward={self.backward}, require_path={self.require_path}, "
            f"sampler={self.sampler!r}) with {len(self):,} cells"
        )

    def __getitem__(self, index: int) -> CellSpec:
        """The cell at ``index``: op_indices read as base-9 (or base-5) digits, first pair most significant."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"space index must be an int, got {index!r}")
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"space index {index} out of range for a space of {len(self)} cells")
        codes = []
        for _ in range(NUM_EDGES):
            index, digit = divmod(index, self.num_choices)
            codes.append(digit)
        return CellSpec(tuple(reversed(codes)))

    def index(self, spec: CellSpec) -> int:
        """The inverse of ``space[i]``. Raises ValueError for a backward cell in a forward-only space."""
        if not isinstance(spec, CellSpec):
            raise TypeError(f"expected a CellSpec, got {type(spec).__name__}")
        if spec not in self:
            raise ValueError(f"{spec.to_str()} has backward edges, but this space is forward-only")
        index = 0
        for code in spec.op_indices:
            index = index * self.num_choices + code
        return index

    def __contains__(self, spec: object) -> bool:
        return isinstance(spec, CellSpec) and all(code < self.num_choices for code in spec.op_indices)

    def __iter__(self) -> Iterator[CellSpec]:
        for index in range(len(self)):
            yield self[index]

    # ---- sampling ---------------------------------------------------------------------------------
    def sample(self, rng: Union[np.random.Generator, int]) -> CellSpec:
        """Draw one cell with this space's sampler, seeded by a Generator or an int."""
        rng = as_generator(rng)
        while True:
            if self.sampler == "authors":
                spec = _authors_candidate(rng)
            else:
                spec = self[int(rng.integers(len(self)))]
            if not self.require_path or has_path(spec):
                return spec

    def sample_many(self, n: int, rng: Union[np.random.Generator, int], unique: bool = True) -> list[CellSpec]:
        """``n`` cells from one generator; with ``unique`` no cell repeats."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = as_generator(rng)
        out: list[CellSpec] = []
        seen: set[CellSpec] = set()
        while len(out) < n:
            spec = self.sample(rng)
            if unique and spec in seen:
                continue
            seen.add(spec)
            out.append(spec)
        return out

    # ---- graph views ------------------------------------------------------------------------------
    @staticmethod
    def to_networkx(spec: CellSpec) -> nx.DiGraph:
        """The cell as a directed graph on nodes 0..3.

        Each non-empty pair is one edge with attributes ``op`` (the op name without the ``bw_``
        prefix), ``code`` (0..8) and ``direction`` ('forward' or 'backward'). A backward op on pair
        (i, j) is the edge j -> i.
        """
        return to_networkx(spec)


def to_networkx(spec: CellSpec) -> nx.DiGraph:
    """See :meth:`SpikingNB201Space.to_networkx`."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(NUM_NODES))
    for src, dst, op, direction in spec.edges():
        pair = (min(src, dst), max(src, dst))
        code = spec.op_indices[EDGE_LIST.index(pair)]
        graph.add_edge(src, dst, op=op, code=code, direction=direction)
    return graph


def has_path(spec: CellSpec) -> bool:
    """Whether the cell's output (node 3) depends on its input (node 0), through any edges."""
    return nx.has_path(to_networkx(spec), 0, NUM_NODES - 1)


def _authors_candidate(rng: np.random.Generator) -> CellSpec:
    """One candidate from the authors' generator (REFERENCE.md, 'Candidate generator')."""
    while True:
        m = np.zeros((NUM_NODES, NUM_NODES), dtype=np.int64)
        for i, j in EDGE_LIST:
            op = int(rng.integers(len(AUTHOR_CODES)))
            if rng.integers(2):
                m[j, i] = op
            else:
                m[i, j] = op
        graph = nx.DiGraph()
        graph.add_nodes_from(range(NUM_NODES))
        graph.add_edges_from((int(r), int(c)) for r, c in zip(*np.nonzero(m)))
        live = nx.descendants(graph, 0) | {0}
        live &= nx.ancestors(graph, NUM_NODES - 1) | {NUM_NODES - 1}
        for node in range(NUM_NODES):
            if node not in live:
                m[node, :] = 0
                m[:, node] = 0
        if m[0, NUM_NODES - 1]:
            return CellSpec.from_matrix(m)


__all__ = ["SpikingNB201Space", "to_networkx", "has_path", "is_backward"]
