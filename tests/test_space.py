import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from naslib_snn import CellSpec, SpikingNB201Space
from naslib_snn.search_spaces.spiking_nb201 import has_path, to_networkx


def test_lengths():
    assert len(SpikingNB201Space()) == 9**6 == 531_441
    assert len(SpikingNB201Space(backward=False)) == 5**6 == 15_625


@pytest.mark.parametrize("backward", [True, False])
def test_index_bijection(backward):
    space = SpikingNB201Space(backward=backward)
    rng = np.random.default_rng(0)
    for index in rng.integers(0, len(space), size=300):
        spec = space[int(index)]
        assert space.index(spec) == index
    assert space[0] == CellSpec((0,) * 6)
    assert space[len(space) - 1] == CellSpec(((8 if backward else 4),) * 6)
    assert space[-1] == space[len(space) - 1]


def test_forward_space_enumerates_every_nb201_cell_once():
    space = SpikingNB201Space(backward=False)
    cells = list(space)
    assert len(set(cells)) == 15_625
    assert not any(c.has_backward for c in cells)


def test_index_errors():
    space = SpikingNB201Space(backward=False)
    with pytest.raises(IndexError, match="15625"):
        space[15_625]
    with pytest.raises(ValueError, match="forward-only"):
        space.index(CellSpec((5, 1, 1, 1, 1, 1)))


def test_sample_seeded():
    space = SpikingNB201Space()
    assert space.sample(7) == space.sample(np.random.default_rng(7))
    many = space.sample_many(50, 3)
    assert len(set(many)) == 50
    assert many == space.sample_many(50, 3)
    assert any(s.has_backward for s in many)
    assert not any(s.has_backward for s in SpikingNB201Space(backward=False).sample_many(50, 3))


def test_require_path():
    space = SpikingNB201Space(require_path=True)
    assert all(has_path(s) for s in space.sample_many(200, 0))


def test_has_path_counts_backward_edges():
    # 0 -> 2 forward, 2 -> 1 backward, 1 -> 3 forward: the output sees the input one step later
    spec = CellSpec((1, 0, 1, 5, 0, 1))
    assert has_path(spec)
    assert not has_path(CellSpec((0, 0, 1, 0, 1, 1)))  # nothing reaches node 3
    assert has_path(CellSpec((1, 1, 2, 1, 1, 1)))


def test_to_networkx_marks_backward_edges():
    spec = CellSpec((2, 6, 3, 2, 1, 2))
    graph = to_networkx(spec)
    assert isinstance(graph, nx.DiGraph)
    assert graph.edges[2, 0]["direction"] == "backward"
    assert graph.edges[2, 0]["op"] == "nor_conv_3x3"
    assert graph.edges[2, 0]["code"] == 6
    assert graph.edges[0, 1]["direction"] == "forward"
    assert graph.number_of_edges() == 5  # (1,3) is none
    assert SpikingNB201Space.to_networkx(spec).edges == graph.edges


def test_authors_sampler():
    space = SpikingNB201Space(sampler="authors")
    specs = space.sample_many(100, 0, unique=False)
    assert all(s.to_matrix()[0, 3] != 0 for s in specs)
    assert all(has_path(s) for s in specs)
    assert any(s.has_backward for s in specs)
    with pytest.raises(ValueError, match="unknown sampler"):
        SpikingNB201Space(sampler="bogus")


def test_import_does_not_load_naslib_or_torch():
    code = "import sys, naslib_snn; naslib_snn.CellSpec; print('naslib' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
