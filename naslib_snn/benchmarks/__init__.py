"""Tabular spiking benchmarks: load a trained table and query it, NATS-Bench style.

    >>> from naslib_snn import benchmarks
    >>> api = benchmarks.load("spiking_nb201_fmnist")      # or a path, a build directory, or a dict
    >>> len(api), api[0]
    >>> api.query(api[0], "test_accuracy")                 # percent, primary seed, final epoch

Building the table (``builder``), zero-cost proxy tables in NASLib's layout (``zc``) and the
command line (``cli``) live in submodules; importing this package loads neither torch nor NASLib.
"""

from naslib_snn.benchmarks.api import (
    BENCHMARKS,
    METRICS,
    BenchmarkInfo,
    SpikingBenchmarkAPI,
    benchmark_path,
    get_dataset_api,
    load,
    validate_table,
)

__all__ = [
    "BENCHMARKS",
    "METRICS",
    "BenchmarkInfo",
    "SpikingBenchmarkAPI",
    "benchmark_path",
    "get_dataset_api",
    "load",
    "validate_table",
]
