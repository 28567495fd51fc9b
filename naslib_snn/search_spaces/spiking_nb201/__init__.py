"""The spiking NAS-Bench-201 search space with backward edges (SNASNet, Kim et al. ECCV 2022).

The cell spec and the space import only numpy and networkx; the torch modules load on first use.
"""

from .space import SpikingNB201Space, has_path, to_networkx
from .spec import (
    AUTHORS_CIFAR10,
    AUTHORS_CIFAR100,
    EDGE_LIST,
    OP_NAMES,
    CellSpec,
    parse_arch,
)

__all__ = [
    "AUTHORS_CIFAR10",
    "AUTHORS_CIFAR100",
    "EDGE_LIST",
    "OP_NAMES",
    "CellSpec",
    "SpikingNB201Space",
    "SpikingNB201Network",
    "SpikingCell",
    "has_path",
    "parse_arch",
    "to_networkx",
]


def __getattr__(name: str):
    if name in ("SpikingNB201Network", "SpikingCell"):
        from . import network

        return getattr(network, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
