"""The genotype of a spiking NAS-Bench-201 cell with forward and backward edges.

A cell has 4 nodes and 6 node pairs ``(i, j)``, ``i < j``, in NASLib's NAS-Bench-201 edge order
:data:`EDGE_LIST`. Each pair holds one of 9 choices (:data:`OP_NAMES`):

===== ================== =========================================================
code  name               meaning
===== ================== =========================================================
0     skip_connect       forward: node i at timestep t feeds node j at timestep t
1     none               no connection in either direction
2     nor_conv_3x3       forward, LIF -> conv3x3 -> BN
3     nor_conv_1x1       forward, LIF -> conv1x1 -> BN
4     avg_pool_3x3       forward, 3x3 average pooling, stride 1
5     bw_skip_connect    backward: node j at timestep t-1 feeds node i at timestep t
6     bw_nor_conv_3x3    backward, LIF -> conv3x3 -> BN
7     bw_nor_conv_1x1    backward, LIF -> conv1x1 -> BN
8     bw_avg_pool_3x3    backward, 3x3 average pooling, stride 1
===== ================== =========================================================

Codes 0-4 are exactly NASLib's NB201 ``op_indices``, so a forward-only cell has NASLib's
op_indices and NASLib's arch string.

**String notation.** The NB201 arch string lists, for each node j = 1, 2, 3, the pairs (i, j)
as ``name~i``: ``|skip_connect~0|+|none~0|nor_conv_1x1~1|+|...~0|...~1|...~2|``. A backward op on
pair (i, j) is written in the same slot with the ``bw_`` prefix: ``|bw_nor_conv_3x3~0|`` in node
2's group means node 2's value at t-1, passed through a conv3x3, feeds node 0 at t.

**Matrix notation.** The authors' 4x4 connection matrix ``m`` uses their op codes
(:data:`AUTHOR_CODES`: 0 zeroize, 1 identity, 2 conv1x1, 3 conv3x3, 4 avgpool). ``m[i][j]`` with
i < j is the forward edge i -> j and ``m[j][i]`` the backward edge j -> i. A pair may use only one
direction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

import numpy as np

NUM_NODES = 4
EDGE_LIST: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
NUM_EDGES = len(EDGE_LIST)

FORWARD_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
BACKWARD_PREFIX = "bw_"
#: code -> name; codes 5..8 are the backward versions of skip, conv3x3, conv1x1, avgpool.
OP_NAMES: tuple[str, ...] = FORWARD_OPS + tuple(
    BACKWARD_PREFIX + name for name in ("skip_connect", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
)
NUM_CHOICES = len(OP_NAMES)
NONE_CODE = 1
NUM_FORWARD_CHOICES = len(FORWARD_OPS)

#: the op each code runs, whatever its direction (``None`` for the empty pair)
BASE_OP = {code: name.removeprefix(BACKWARD_PREFIX) for code, name in enumerate(OP_NAMES)}
BASE_OP[NONE_CODE] = None

#: authors' matrix code -> op name
AUTHOR_CODES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

_OP_CODE = {name: code for code, name in enumerate(OP_NAMES)}
_TOKEN = re.compile(r"^(?P<name>[a-z0-9_]+)~(?P<src>\d+)$")

MatrixLike = Union[str, Sequence[Sequence[int]], np.ndarray]


def is_backward(code: int) -> bool:
    """True for the codes 5..8 (backward ops)."""
    return code >= NUM_FORWARD_CHOICES


def _backward_code(op_name: str) -> int:
    return _OP_CODE[BACKWARD_PREFIX + op_name]


@dataclass(frozen=True)
class CellSpec:
    """An immutable, hashable cell: one code in 0..8 for each pair of :data:`EDGE_LIST`.

    Raises:
        ValueError: on a wrong number of codes or a code outside 0..8.
    """

    op_indices: tuple[int, ...]

    def __post_init__(self) -> None:
        codes = tuple(self.op_indices)
        if len(codes) != NUM_EDGES:
            raise ValueError(
                f"op_indices must have {NUM_EDGES} codes, one per pair {list(EDGE_LIST)}; got {len(codes)}: {codes}"
            )
        checked = []
        for pos, code in enumerate(codes):
            if isinstance(code, (bool, np.bool_)) or not isinstance(code, (int, np.integer)):
                raise ValueError(f"op_indices[{pos}] must be an int in 0..{NUM_CHOICES - 1}, got {code!r}")
            if not 0 <= int(code) < NUM_CHOICES:
                raise ValueError(
                    f"op_indices[{pos}] (pair {EDGE_LIST[pos]}) is {int(code)}, expected a code in 0..{NUM_CHOICES - 1}"
                )
            checked.append(int(code))  # plain ints: numpy integers must not leak into hashes
        object.__setattr__(self, "op_indices", tuple(checked))

    # ---- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_op_indices(cls, seq: Iterable[int]) -> "CellSpec":
        """Build from 6 codes in :data:`EDGE_LIST` order."""
        try:
            codes = tuple(seq)
        except TypeError as err:
            raise ValueError(f"op_indices must be a sequence of {NUM_EDGES} ints, got {seq!r}") from err
        return cls(codes)

    @classmethod
    def from_str(cls, text: str) -> "CellSpec":
        """Parse the NB201-style arch string (see the module docstring for the ``bw_`` notation)."""
        if not isinstance(text, str):
            raise ValueError(f"arch string must be a str, got {type(text).__name__}")
        groups = text.strip().split("+")
        if len(groups) != NUM_NODES - 1:
            raise ValueError(
                f"malformed arch string {text!r}: expected {NUM_NODES - 1} node groups separated by '+', "
                f"like '|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|'"
            )
        codes = {}
        for target, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
                raise ValueError(f"malformed arch string {text!r}: group {group!r} must start and end with '|'")
            tokens = group[1:-1].split("|")
            if len(tokens) != target:
                raise ValueError(
                    f"malformed arch string {text!r}: node {target}'s group {group!r} must list {target} "
                    f"inputs (~0..~{target - 1}), got {len(tokens)}"
                )
            for source, token in enumerate(tokens):
                match = _TOKEN.match(token)
                if match is None:
                    raise ValueError(f"malformed arch string {text!r}: token {token!r} is not of the form 'op~{source}'")
                if int(match["src"]) != source:
                    raise ValueError(
                        f"malformed arch string {text!r}: token {token!r} should name input ~{source}"
                    )
                name = match["name"]
                if name not in _OP_CODE:
                    raise ValueError(f"unknown op name {name!r} in arch string {text!r}; expected one of {list(OP_NAMES)}")
                codes[(source, target)] = _OP_CODE[name]
        return cls(tuple(codes[edge] for edge in EDGE_LIST))

    @classmethod
    def from_matrix(cls, matrix: MatrixLike) -> "CellSpec":
        """Build from the authors' 4x4 connection matrix, as an array or a string of 4 rows.

        ``"0302 0030 3003 0000"`` (rows separated by spaces, commas or semicolons) is the authors'
        published CIFAR-100 cell.
        """
        m = _parse_matrix(matrix)
        codes = []
        for i, j in EDGE_LIST:
            fwd, bwd = int(m[i, j]), int(m[j, i])
            if fwd and bwd:
                raise ValueError(
                    f"matrix pair ({i},{j}) has both a forward op (m[{i}][{j}]={fwd}) and a backward op "
                    f"(m[{j}][{i}]={bwd}); a pair may use only one direction"
                )
            if bwd:
                codes.append(_backward_code(AUTHOR_CODES[bwd]))
            else:
                codes.append(_OP_CODE[AUTHOR_CODES[fwd]])
        return cls(tuple(codes))

    # ---- views ------------------------------------------------------------------------------------
    def to_str(self) -> str:
        """The NB201-style arch string; a forward-only cell renders exactly as NB201 does."""
        code = dict(zip(EDGE_LIST, self.op_indices))
        groups = []
        for target in range(1, NUM_NODES):
            tokens = [f"{OP_NAMES[code[(source, target)]]}~{source}" for source in range(target)]
            groups.append("|" + "|".join(tokens) + "|")
        return "+".join(groups)

    def to_matrix(self) -> np.ndarray:
        """The authors' 4x4 connection matrix (int64), with their op codes."""
        m = np.zeros((NUM_NODES, NUM_NODES), dtype=np.int64)
        for (i, j), code in zip(EDGE_LIST, self.op_indices):
            base = BASE_OP[code]
            if base is None:
                continue
            row, col = (j, i) if is_backward(code) else (i, j)
            m[row, col] = AUTHOR_CODES.index(base)
        return m

    def matrix_str(self) -> str:
        """The matrix as the authors write it, e.g. ``"0302 0030 3003 0000"``."""
        return " ".join("".join(str(v) for v in row) for row in self.to_matrix())

    @property
    def has_backward(self) -> bool:
        """Whether any pair holds a backward op."""
        return any(is_backward(code) for code in self.op_indices)

    def edges(self) -> list[tuple[int, int, str, str]]:
        """The non-empty edges as ``(src, dst, op, direction)``, with direction 'forward' or 'backward'.

        A backward op on pair (i, j) is the edge ``(j, i, op, 'backward')``.
        """
        out = []
        for (i, j), code in zip(EDGE_LIST, self.op_indices):
            base = BASE_OP[code]
            if base is None:
                continue
            out.append((j, i, base, "backward") if is_backward(code) else (i, j, base, "forward"))
        return out

    # ---- neighbourhood ----------------------------------------------------------------------------
    def neighbours(self, backward: bool = True) -> list["CellSpec"]:
        """All cells that differ in exactly one pair: 48 (6 pairs x 8), or 24 with ``backward=False``.

        With ``backward=False`` the changed pair takes only forward choices (codes 0..4).
        """
        choices = range(NUM_CHOICES if backward else NUM_FORWARD_CHOICES)
        out = []
        for pos, current in enumerate(self.op_indices):
            for code in choices:
                if code != current:
                    codes = list(self.op_indices)
                    codes[pos] = code
                    out.append(CellSpec(tuple(codes)))
        return out

    def mutate(self, rng: Union[np.random.Generator, int, None], backward: bool = True) -> "CellSpec":
        """Change exactly one uniformly chosen pair to one of its other choices, chosen uniformly."""
        rng = as_generator(rng)
        pos = int(rng.integers(NUM_EDGES))
        n_choices = NUM_CHOICES if backward else NUM_FORWARD_CHOICES
        others = [code for code in range(n_choices) if code != self.op_indices[pos]]
        codes = list(self.op_indices)
        codes[pos] = others[int(rng.integers(len(others)))]
        return CellSpec(tuple(codes))

    def __str__(self) -> str:
        return self.to_str()


def as_generator(rng: Union[np.random.Generator, int, None]) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator or an int seed (``None`` is refused: seeds are explicit)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def _parse_matrix(matrix: MatrixLike) -> np.ndarray:
    if isinstance(matrix, str):
        rows = [row for row in re.split(r"[\s,;]+", matrix.strip()) if row]
        if len(rows) != NUM_NODES or any(len(row) != NUM_NODES or not row.isdigit() for row in rows):
            raise ValueError(
                f"malformed matrix string {matrix!r}: expected {NUM_NODES} rows of {NUM_NODES} digits, "
                f"like '0302 0030 3003 0000'"
            )
        m = np.array([[int(ch) for ch in row] for row in rows], dtype=np.int64)
    else:
        try:
            m = np.asarray(matrix)
        except (TypeError, ValueError) as err:
            raise ValueError(f"matrix must be a {NUM_NODES}x{NUM_NODES} array, got {matrix!r}") from err
        if m.shape != (NUM_NODES, NUM_NODES):
            raise ValueError(f"matrix must have shape ({NUM_NODES}, {NUM_NODES}), got {m.shape}")
        if not np.issubdtype(m.dtype, np.integer):
            if not np.all(np.mod(m, 1) == 0):
                raise ValueError(f"matrix entries must be integers, got {m.tolist()}")
        m = m.astype(np.int64)
    bad = [(int(r), int(c), int(m[r, c])) for r, c in zip(*np.nonzero((m < 0) | (m >= len(AUTHOR_CODES))))]
    if bad:
        r, c, v = bad[0]
        raise ValueError(f"matrix entry m[{r}][{c}]={v} is out of range; expected an author op code in 0..{len(AUTHOR_CODES) - 1}")
    diag = np.diag(m)
    if diag.any():
        k = int(np.flatnonzero(diag)[0])
        raise ValueError(f"matrix diagonal entry m[{k}][{k}]={int(diag[k])} must be 0 (no self-loops)")
    return m


_INDICES = re.compile(r"^[\(\[]?\s*\d\s*([,\s]\s*\d\s*){5}[\)\]]?$")


def parse_arch(text: Union[str, "CellSpec", Sequence[int]]) -> CellSpec:
    """Parse any of the three notations: arch string, op_indices (``"2,6,3,2,1,2"``) or matrix rows.

    Raises:
        ValueError: naming the text and the accepted forms when none of them matches.
    """
    if isinstance(text, CellSpec):
        return text
    if not isinstance(text, str):
        return CellSpec.from_op_indices(text)
    stripped = text.strip()
    if "|" in stripped:
        return CellSpec.from_str(stripped)
    if _INDICES.match(stripped):
        return CellSpec.from_op_indices(int(ch) for ch in re.findall(r"\d", stripped))
    if re.fullmatch(r"[\d\s,;]+", stripped) and len(re.findall(r"\d+", stripped)) == NUM_NODES:
        return CellSpec.from_matrix(stripped)
    raise ValueError(
        f"cannot parse architecture {text!r}; expected an arch string like "
        f"'|nor_conv_3x3~0|+|bw_nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|', "
        f"6 op_indices like '2,6,3,2,1,2', or the authors' matrix like '0302 0030 3003 0000'"
    )


#: the authors' published cells (REFERENCE.md)
AUTHORS_CIFAR10 = CellSpec.from_matrix("0303 0030 2002 0200")
AUTHORS_CIFAR100 = CellSpec.from_matrix("0302 0030 3003 0000")
