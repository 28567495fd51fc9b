"""What both runners share: loading the config, and building the search space and the oracles from it.

Config sections of ours (every key optional; ``null`` means "the default")::

    spiking:                  # the search space, and the networks parse() builds
      backward: true          # cells with backward edges (paper) or forward-only (NAS-Bench-201)
      require_path: true      # skip cells whose output ignores the input
      sampler: uniform        # or "authors"
      multi_step: null        # SpikingJelly multi-step mode for forward-only cells (null: yes)
      instantiate_model: false
      data_dir: null          # where the dataset's files are
      image_size: null        # network settings (TrainConfig names); null: the benchmark's recipe,
      channels: null          #   else the dataset's defaults (naslib_snn.train.DATASET_DEFAULTS)
      timesteps: null
      hidden: null
      vote: null
      ...                     # neuron, dropout, stem_stride, final_pool, count_include_pad
    oracle:
      kind: training_free     # tabular | training_free | on_the_fly
      benchmark: null         # tabular: a shipped benchmark name or a table path
      proxy: sahd             # training_free: a naslib_snn proxy
      batch_size: 64          # training_free: scoring batches
      num_batches: 1
      cache_dir: null         # on_the_fly: default <out_dir>/oracle_cache/<search_space>/<dataset>
      evaluate: null          # nas runner: who answers Trainer.evaluate (null: the search oracle;
                              #   tabular | on_the_fly | none)
    train: {}                 # TrainConfig fields for on-the-fly training (epochs, lr, subset, seed, ...)

NASLib's own sections: the nas runner fills every key of :data:`NAS_DEFAULTS` that a config leaves
out (``search``: the keys of all five discrete optimizers; ``evaluation``), so any config runs with
any optimizer (``optimizer re``) and an override may set any of those keys (``search.sample_size 5``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Optional

from naslib_snn import compat

__all__ = [
    "NAS_DEFAULTS",
    "NETWORK_KEYS",
    "SEARCH_DEFAULTS",
    "SPACE_KEYS",
    "build_oracle_api",
    "build_search_space",
    "jsonable",
    "load_config",
    "resolve_train_config",
    "section",
]

SEARCH_SPACE = "spiking_nb201"
#: TrainConfig fields that shape the network; they belong to the `spiking` section
NETWORK_KEYS = ("image_size", "channels", "timesteps", "hidden", "vote", "neuron", "dropout", "stem_stride",
                "final_pool", "hidden_init_std", "count_include_pad")
#: `spiking` keys of the search space itself
SPACE_KEYS = ("backward", "require_path", "sampler", "multi_step", "instantiate_model", "data_dir", "loader_batches")
#: our sections: an override may add any of their (checked) keys, e.g. `spiking.channels 8`
OPEN_SECTIONS = ("spiking", "oracle", "train")
ORACLE_KEYS = ("kind", "benchmark", "seed", "proxy", "batch_size", "num_batches", "cache_dir", "evaluate", "progress")

#: NASLib's ``search`` keys that its discrete optimizers (rs, re, ls, bananas, npenas) and ``Trainer`` read
#: without a fallback, with NASLib's values (``naslib/defaults/nb201_defaults.yaml`` and
#: ``naslib/runners/nas/discrete_config.yaml``) unless noted. The one place these defaults live: a
#: config's own values win over them.
SEARCH_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "epochs": 100,                  # all: cells queried, one per epoch (discrete_config.yaml)
    "checkpoint_freq": 1000,        # Trainer: save the search state every N epochs (discrete_config.yaml)
    "fidelity": -1,                 # rs: the epoch queried, -1 = final (discrete_config.yaml has NB101's 108)
    "sample_size": 10,              # re: tournament size
    "population_size": 30,          # re
    "num_init": 10,                 # ls, bananas, npenas: random cells before the first step
    "k": 10,                        # bananas, npenas: cells chosen per predictor fit
    "num_ensemble": 3,              # bananas, npenas
    # bananas, npenas: discrete_config.yaml's var_sparse_gp fits slowly; mlp is one of the predictors
    # that read the adjacency encoding (NASLib's "bananas" predictor needs the path encoding)
    "predictor_type": "mlp",
    "acq_fn_type": "its",           # bananas
    "acq_fn_optimization": "mutation",  # bananas
    "encoding_type": "adjacency_one_hot",  # bananas, npenas (nb201_defaults.yaml: path; cycles have no paths)
    "num_arches_to_mutate": 2,      # bananas, npenas
    "max_mutations": 1,             # bananas, npenas
    "num_candidates": 100,          # bananas, npenas
})
#: NASLib's config loader writes into ``evaluation``, so it must exist; ``Trainer`` reads ``checkpoint_freq``.
EVALUATION_DEFAULTS: Mapping[str, Any] = MappingProxyType({"checkpoint_freq": 30})  # discrete_config.yaml
#: section -> defaults that the nas runner fills under a config's own values
NAS_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "search": SEARCH_DEFAULTS,
    "evaluation": EVALUATION_DEFAULTS,
})
#: config type -> its defaults (the zc runner's config has no optimizer, so nothing is filled there)
CONFIG_DEFAULTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = MappingProxyType({"nas": NAS_DEFAULTS})


def load_config(argv: Optional[Sequence[str]], config_type: str) -> Any:
    """NASLib's config (a CfgNode) from ``--config-file FILE [KEY VALUE ...]`` and NASLib's other flags.

    Raises:
        ValueError: a bad override, or a config for another search space than ``spiking_nb201``.
        FileNotFoundError: no config file.
        ImportError: NASLib is missing (the message says how to install it).
    """
    compat.require_naslib()
    from naslib import utils  # noqa: PLC0415

    args = utils.parse_args(parser=utils.default_argument_parser(), args=list(argv or []))
    defaults = CONFIG_DEFAULTS.get(config_type, {})
    with compat.merged_config_file(args, open_sections=OPEN_SECTIONS, defaults=defaults) as merged:
        config = utils.get_config_from_args(merged, config_type=config_type)
    if config.get("search_space") != SEARCH_SPACE:
        raise ValueError(f"search_space must be {SEARCH_SPACE!r} for naslib_snn's runners, got "
                         f"{config.get('search_space')!r}")
    for name, keys in (("spiking", NETWORK_KEYS + SPACE_KEYS), ("oracle", ORACLE_KEYS)):
        unknown = sorted(set(section(config, name)) - set(keys))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)} in section {name!r}; expected some of "
                             f"{', '.join(keys)}")
    return config


def section(config: Any, name: str) -> dict[str, Any]:
    """A config section as a plain dict without its ``null`` entries (empty if the section is absent)."""
    node = config.get(name) if hasattr(config, "get") else None
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ValueError(f"config section {name!r} must be a mapping, got {node!r}")
    return {key: _plain(value) for key, value in node.items() if value is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def resolve_train_config(config: Any, recipe: Optional[Mapping[str, Any]] = None) -> Any:
    """The :class:`naslib_snn.train.TrainConfig` of the run: the dataset's defaults, then the benchmark's
    ``recipe`` (network fields only), then the ``spiking`` section's network fields, then the ``train``
    section.

    Raises:
        ValueError: a network field in the ``train`` section, or what TrainConfig raises.
    """
    from naslib_snn.train import TrainConfig  # noqa: PLC0415

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    spiking = section(config, "spiking")
    train = section(config, "train")
    misplaced = sorted(set(train) & set(NETWORK_KEYS))
    if misplaced:
        raise ValueError(f"network setting(s) {', '.join(misplaced)} belong to the 'spiking' section, not 'train'")
    values: dict[str, Any] = {}
    if recipe:
        values.update({k: v for k, v in recipe.items() if k in NETWORK_KEYS and v is not None})
    values.update({k: v for k, v in spiking.items() if k in NETWORK_KEYS})
    if spiking.get("data_dir"):
        values["data_dir"] = spiking["data_dir"]
    values.update(train)
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"unknown training setting(s) {', '.join(unknown)}; TrainConfig fields are "
                         f"{', '.join(sorted(fields))}")
    return TrainConfig.for_dataset(config.dataset, **values)


def build_search_space(config: Any, train_config: Any) -> Any:
    """The :class:`SpikingNasBench201SearchSpace` of the run; networks are initialised from ``config.seed``."""
    from naslib_snn.search_spaces.spiking_nb201.graph import SpikingNasBench201SearchSpace  # noqa: PLC0415

    spiking = section(config, "spiking")
    network = train_config.network_kwargs()
    settings = {
        "n_classes": network.pop("num_classes"),
        "in_channels": network.pop("in_channels"),
        **network,
        **{k: spiking[k] for k in ("backward", "require_path", "sampler", "multi_step", "instantiate_model")
           if k in spiking},
        "init_seed": int(config.seed),
    }
    return SpikingNasBench201SearchSpace(**settings)


def _network_kwargs(space: Any) -> dict[str, Any]:
    return {"num_classes": space.num_classes, "in_channels": space.in_channels, **space.network_kwargs}


def default_cache_dir(config: Any) -> Path:
    """``<out_dir>/oracle_cache/<search_space>/<dataset>``: shared by runs of any seed and optimizer."""
    return Path(config.out_dir) / "oracle_cache" / config.search_space / config.dataset


def build_oracle_api(config: Any, kind: str, space: Any, train_config: Any, *,
                     announce: Optional[Any] = None) -> dict[str, Any]:
    """A ``dataset_api`` with an oracle of ``kind`` built from the ``oracle`` section.

    ``announce`` goes to an on-the-fly oracle, which calls it before it trains a cell.

    Raises:
        ValueError: an unknown kind, or a tabular oracle without ``oracle.benchmark``.
    """
    from naslib_snn.oracles import ORACLES, OnTheFlyOracle, get_dataset_api  # noqa: PLC0415

    options = section(config, "oracle")
    spiking = section(config, "spiking")
    if kind == "tabular":
        if not options.get("benchmark"):
            raise ValueError("oracle kind 'tabular' needs oracle.benchmark (a shipped benchmark name or a table path)")
        seed = options.get("seed")
        return get_dataset_api(SEARCH_SPACE, config.dataset, benchmark=options["benchmark"],
                               **({} if seed is None else {"seed": seed}))
    if kind == "training_free":
        return get_dataset_api(
            SEARCH_SPACE, config.dataset, oracle="training_free", proxy=options.get("proxy", "sahd"),
            network=_network_kwargs(space), batch_size=int(options.get("batch_size", 64)),
            num_batches=int(options.get("num_batches", 1)), seed=int(config.seed), data_dir=spiking.get("data_dir"),
        )
    if kind == "on_the_fly":
        cache_dir = options.get("cache_dir") or default_cache_dir(config)
        oracle = OnTheFlyOracle(train_config, cache_dir, progress=bool(options.get("progress", False)),
                                announce=announce)
        return {"oracle": oracle, "search_space": SEARCH_SPACE, "dataset": config.dataset, "benchmark": None}
    raise ValueError(f"unknown oracle kind {kind!r}; expected one of {', '.join(sorted(ORACLES))}")


def benchmark_recipe(config: Any) -> Optional[dict[str, Any]]:
    """The training recipe of the config's benchmark (``oracle.benchmark``), if there is one."""
    benchmark = section(config, "oracle").get("benchmark")
    if not benchmark:
        return None
    from naslib_snn.benchmarks import load  # noqa: PLC0415

    return dict(load(benchmark).meta.get("recipe") or {})


def jsonable(obj: Any) -> Any:
    """``obj`` with NaN as None and infinities as the strings ``"inf"`` / ``"-inf"`` (strict JSON)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return jsonable(obj.item())  # numpy / torch scalars
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def setup_logging(config: Any) -> Any:
    """NASLib's logger, writing to ``<save>/log.log`` and stdout."""
    from naslib import utils  # noqa: PLC0415

    log = utils.setup_logger(os.path.join(config.save, "log.log"))
    log.setLevel(logging.INFO)
    return log


def record_resolved(config: Any, train_config: Any) -> None:
    """Write the resolved network settings back into ``config.spiking`` (NASLib's data loaders and the
    logged config then see the sizes the networks were built with)."""
    from fvcore.common.config import CfgNode  # noqa: PLC0415  (a NASLib dependency)

    spiking = dict(config.get("spiking") or {})
    for key in NETWORK_KEYS:
        spiking[key] = getattr(train_config, key)
    spiking["data_dir"] = train_config.data_dir
    config.spiking = CfgNode(spiking)
