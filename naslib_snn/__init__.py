"""naslib-snn: spiking neural networks for NASLib (SNASNet, Kim et al., ECCV 2022).

The top-level API is small and light: importing it loads neither NASLib nor torch. Torch-based
objects (``SpikingNB201Network``) load on first access.
"""

from ._version import __version__
from .search_spaces.spiking_nb201 import (
    AUTHORS_CIFAR10,
    AUTHORS_CIFAR100,
    CellSpec,
    SpikingNB201Space,
    parse_arch,
)
from .utils.malloc import tune_malloc

__all__ = [
    "__version__",
    "AUTHORS_CIFAR10",
    "AUTHORS_CIFAR100",
    "CellSpec",
    "SpikingNB201Space",
    "SpikingNB201Network",
    "parse_arch",
    "get_dataset_api",
    "tune_malloc",
]


def __getattr__(name: str):
    if name == "SpikingNB201Network":
        from .search_spaces.spiking_nb201.network import SpikingNB201Network

        return SpikingNB201Network
    if name == "get_dataset_api":
        from .oracles import get_dataset_api

        return get_dataset_api
    raise AttributeError(f"module 'naslib_snn' has no attribute {name!r}")
