import numpy as np
import pytest

from naslib_snn import AUTHORS_CIFAR10, AUTHORS_CIFAR100, CellSpec, parse_arch
from naslib_snn.search_spaces.spiking_nb201.spec import EDGE_LIST, OP_NAMES

NB201_EXAMPLE = "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|"


def random_specs(n, seed=0):
    rng = np.random.default_rng(seed)
    return [CellSpec.from_op_indices(rng.integers(0, 9, size=6)) for _ in range(n)]


def test_nb201_string_example():
    spec = CellSpec.from_op_indices((0, 1, 2, 3, 4, 0))
    assert spec.to_str() == NB201_EXAMPLE
    assert CellSpec.from_str(NB201_EXAMPLE) == spec
    assert not spec.has_backward


def test_authors_cifar100_cell():
    spec = CellSpec.from_matrix("0302 0030 3003 0000")
    assert spec.op_indices == (2, 6, 3, 2, 1, 2)
    assert spec == AUTHORS_CIFAR100
    assert spec.has_backward
    assert spec.matrix_str() == "0302 0030 3003 0000"
    # the backward conv3 runs from node 2 to node 0
    assert (2, 0, "nor_conv_3x3", "backward") in spec.edges()


def test_authors_cifar10_cell_from_array():
    m = np.array([[0, 3, 0, 3], [0, 0, 3, 0], [2, 0, 0, 2], [0, 2, 0, 0]])
    spec = CellSpec.from_matrix(m)
    assert spec == AUTHORS_CIFAR10
    np.testing.assert_array_equal(spec.to_matrix(), m)
    assert spec.op_indices == (2, 7, 2, 2, 7, 3)


def test_backward_string_notation():
    spec = CellSpec.from_op_indices((2, 6, 3, 2, 1, 2))
    assert spec.to_str() == "|nor_conv_3x3~0|+|bw_nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|"


@pytest.mark.parametrize("spec", random_specs(50))
def test_round_trips(spec):
    assert CellSpec.from_str(spec.to_str()) == spec
    assert CellSpec.from_op_indices(spec.op_indices) == spec
    assert CellSpec.from_matrix(spec.to_matrix()) == spec
    assert CellSpec.from_matrix(spec.matrix_str()) == spec
    assert parse_arch(spec.to_str()) == spec
    assert parse_arch(",".join(map(str, spec.op_indices))) == spec
    assert parse_arch(spec.matrix_str()) == spec
    assert hash(CellSpec(spec.op_indices)) == hash(spec)


def test_immutable_and_plain_ints():
    spec = CellSpec.from_op_indices(np.array([0, 1, 2, 3, 4, 5], dtype=np.int64))
    assert all(type(code) is int for code in spec.op_indices)
    with pytest.raises(AttributeError):
        spec.op_indices = (0,) * 6


def test_has_backward_each_code():
    for code in range(9):
        spec = CellSpec((code, 1, 1, 1, 1, 1))
        assert spec.has_backward == (code >= 5)


def test_mutate_changes_exactly_one_pair():
    rng = np.random.default_rng(1)
    spec = CellSpec((0, 1, 2, 3, 4, 5))
    for _ in range(200):
        child = spec.mutate(rng)
        assert sum(a != b for a, b in zip(spec.op_indices, child.op_indices)) == 1
    forward = CellSpec((0, 1, 2, 3, 4, 0))
    for _ in range(100):
        assert not forward.mutate(rng, backward=False).has_backward


def test_mutate_is_seeded():
    spec = CellSpec((0, 1, 2, 3, 4, 5))
    assert spec.mutate(3) == spec.mutate(3)
    with pytest.raises(ValueError, match="rng"):
        spec.mutate(None)


def test_neighbours():
    spec = CellSpec((0, 1, 2, 3, 4, 5))
    nbhd = spec.neighbours()
    assert len(nbhd) == 48 == len(set(nbhd))
    assert spec not in nbhd
    assert all(sum(a != b for a, b in zip(spec.op_indices, n.op_indices)) == 1 for n in nbhd)
    assert len(CellSpec((0, 1, 2, 3, 4, 0)).neighbours(backward=False)) == 24


@pytest.mark.parametrize(
    "codes, message",
    [
        ((0, 1, 2), "6 codes"),
        ((0, 1, 2, 3, 4, 5, 6), "6 codes"),
        ((0, 1, 2, 3, 4, 9), r"op_indices\[5\].*0\.\.8"),
        ((0, 1, 2, 3, 4, -1), r"op_indices\[5\]"),
        ((0, 1, 2, 3, 4, "x"), "must be an int"),
        ((0, 1, 2, 3, 4, 1.5), "must be an int"),
    ],
)
def test_bad_op_indices(codes, message):
    with pytest.raises(ValueError, match=message):
        CellSpec.from_op_indices(codes)


@pytest.mark.parametrize(
    "text, message",
    [
        ("|skip_connect~0|+|none~0|nor_conv_1x1~1|", "3 node groups"),
        ("|skip_connect~0|+|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|", "must list 2 inputs"),
        ("|conv_5x5~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|", "unknown op name 'conv_5x5'"),
        ("|skip_connect~1|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|", "should name input ~0"),
        ("|skip_connect|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|", "not of the form"),
        ("skip_connect~0+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|", "start and end with"),
    ],
)
def test_bad_strings(text, message):
    with pytest.raises(ValueError, match=message):
        CellSpec.from_str(text)


@pytest.mark.parametrize(
    "matrix, message",
    [
        ("0302 0030 3003", "4 rows of 4 digits"),
        ("0302 0030 3003 00x0", "4 rows of 4 digits"),
        ("0302 0030 3003 0500", r"m\[3\]\[1\]=5 is out of range"),
        ("1302 0030 3003 0000", "diagonal"),
        ("0302 3030 3003 0000", r"pair \(0,1\) has both a forward op"),
        (np.zeros((3, 4)), r"shape \(4, 4\)"),
    ],
)
def test_bad_matrices(matrix, message):
    with pytest.raises(ValueError, match=message):
        CellSpec.from_matrix(matrix)


def test_parse_arch_rejects_garbage():
    with pytest.raises(ValueError, match="cannot parse architecture 'hello'"):
        parse_arch("hello")


def test_op_names_are_unique_and_ordered():
    assert len(set(OP_NAMES)) == 9
    assert OP_NAMES[:5] == ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    assert EDGE_LIST == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
