"""Run one of NASLib's discrete optimizers on the spiking NB201 space, through NASLib's Trainer.

    python -m naslib_snn.runners.nas --config-file configs/sahd_rs.yaml [KEY VALUE ...]

``optimizer`` is one of :data:`OPTIMIZERS` (rs, re, ls, bananas, npenas); NASLib's own ``search``
and ``evaluation`` keys apply, and the ``spiking`` / ``oracle`` / ``train`` sections of
:mod:`naslib_snn.runners._common` choose the space and what answers queries. ``search.epochs`` is
the number of architectures queried (one per epoch).

Flow: ``optimizer.adapt_search_space(space, dataset_api=search oracle)``, ``Trainer.search()``,
then ``Trainer.evaluate(best_arch=..., dataset_api=evaluation oracle)``, which queries the final
architecture's test accuracy (the paper trains the cell SAHD found: ``oracle.evaluate: on_the_fly``).

Training announces itself: when an on-the-fly oracle is in the config, the log says at the start
what it will train and roughly how long that takes (timed on the authors' CIFAR-100 cell), and again
before each cell is trained (timed on that cell), with the setting that skips it
(``oracle.evaluate none``, or ``oracle.kind training_free`` for the search).

Every ``search`` key of NASLib's discrete optimizers has a default (:data:`_common.SEARCH_DEFAULTS`),
so ``optimizer X`` works with any config. Bad input (the config, an override, missing data files)
ends with a ``naslib_snn.runners.nas: error: ...`` message on stderr and exit status 2.

Files under NASLib's ``config.save`` (``<out_dir>/spiking_nb201/<dataset>/<optimizer>/<seed>``):
NASLib's ``errors.json`` (the search trajectory), ``log.log`` and ``search/`` checkpoints, and our
``summary.json`` (written atomically): the best cell, its objective, the evaluation, the oracles.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Optional

from naslib_snn import compat
from naslib_snn.runners import _common

__all__ = ["OPTIMIZERS", "main", "run"]

#: config name -> NASLib optimizer class (module, class name)
OPTIMIZERS: dict[str, tuple[str, str]] = {
    "rs": ("naslib.optimizers.discrete.rs.optimizer", "RandomSearch"),
    "re": ("naslib.optimizers.discrete.re.optimizer", "RegularizedEvolution"),
    "ls": ("naslib.optimizers.discrete.ls.optimizer", "LocalSearch"),
    "bananas": ("naslib.optimizers.discrete.bananas.optimizer", "Bananas"),
    "npenas": ("naslib.optimizers.discrete.npenas.optimizer", "Npenas"),
}
SUMMARY_FILE = "summary.json"
#: how to skip the training that the announcements name
SKIP_EVALUATION = "`oracle.evaluate none` skips training the best cell"
SKIP_SEARCH_TRAINING = "`oracle.kind training_free` searches without training"


def optimizer_class(name: str) -> type:
    """The NASLib optimizer class of a config name. Raises ValueError listing the known names."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    module, cls = OPTIMIZERS[name]
    return getattr(importlib.import_module(module), cls)


def run(config: Any) -> dict[str, Any]:
    """Search and evaluate as the config says; returns (and writes to ``<save>/summary.json``) the summary.

    Raises:
        ValueError: a bad config (unknown optimizer, oracle, ...).
        ImportError: NASLib is missing (the message says how to install it).
    """
    from naslib import utils  # noqa: PLC0415
    from naslib.defaults.trainer import Trainer  # noqa: PLC0415
    from naslib.search_spaces.core.query_metrics import Metric  # noqa: PLC0415

    from naslib_snn.naslib_data import naslib_loaders  # noqa: PLC0415
    from naslib_snn.oracles import resolve_oracle  # noqa: PLC0415
    from naslib_snn.utils.io import atomic_write_json  # noqa: PLC0415

    started = time.perf_counter()
    cls = optimizer_class(config.optimizer)
    applied = compat.apply()
    utils.set_seed(config.seed)
    logger = _common.setup_logging(config)
    options = _common.section(config, "oracle")
    kind = options.get("kind", "training_free")
    train_config = _common.resolve_train_config(config, _common.benchmark_recipe(config) if kind == "tabular" else None)
    _common.record_resolved(config, train_config)
    space = _common.build_search_space(config, train_config)
    evaluate_kind = options.get("evaluate", kind)
    hints = {kind: SKIP_SEARCH_TRAINING, evaluate_kind: SKIP_EVALUATION} if evaluate_kind != kind else {
        kind: f"{SKIP_SEARCH_TRAINING}; {SKIP_EVALUATION}"}
    search_api = _common.build_oracle_api(config, kind, space, train_config,
                                          announce=_announcer(logger, hints[kind]))
    candidates = resolve_oracle(search_api).candidates()
    if candidates is not None:  # Bananas / Npenas with search.load_labeled draw from these
        space.labeled_archs = [spec.op_indices for spec in candidates if spec in space.space]
    eval_api = None
    if evaluate_kind == kind:
        eval_api = search_api
    elif evaluate_kind != "none":
        eval_api = _common.build_oracle_api(config, evaluate_kind, space, train_config,
                                            announce=_announcer(logger, hints[evaluate_kind]))
    logger.info("naslib_snn: %s on %s, oracle %s, evaluation %s, NASLib workarounds %s", config.optimizer,
                config.dataset, resolve_oracle(search_api), evaluate_kind, applied or "none needed")
    announce_training_plan(logger, kind, evaluate_kind, int(config.search.epochs), train_config)

    with compat.use_data_loaders(naslib_loaders):
        optimizer = cls(config)
        optimizer.adapt_search_space(space, dataset_api=search_api)
        trainer = Trainer(optimizer, config, lightweight_output=True)
        trainer.search(resume_from="")
        best = optimizer.get_final_architecture()
        evaluation: dict[str, Any] = {"oracle": evaluate_kind, "metric": "test_accuracy", "value": None}
        if eval_api is not None:
            try:
                evaluation["value"] = float(trainer.evaluate(best_arch=best, dataset_api=eval_api,
                                                             metric=Metric.TEST_ACCURACY))
            except KeyError as err:  # a tabular oracle asked about a cell it does not hold
                evaluation["error"] = str(err)
    spec = best.get_spec()
    summary = {
        "optimizer": config.optimizer,
        "search_space": config.search_space,
        "dataset": config.dataset,
        "seed": int(config.seed),
        "epochs": int(config.search.epochs),
        "best": {
            "arch": spec.to_str(),
            "op_indices": list(spec.op_indices),
            "matrix": spec.matrix_str(),
            "objective": float(best.query(Metric.VAL_ACCURACY, config.dataset, dataset_api=search_api)),
        },
        "evaluation": evaluation,
        "oracle": resolve_oracle(search_api).describe(),
        "evaluation_oracle": resolve_oracle(eval_api).describe() if eval_api is not None else None,
        "trajectory": {key: list(trainer.search_trajectory[key]) for key in ("valid_acc", "test_acc", "train_time",
                                                                             "runtime")},
        "naslib_workarounds": applied,
        "naslib_commit_tested": compat.NASLIB_COMMIT,
        "seconds": time.perf_counter() - started,
        "save": config.save,
    }
    summary = _common.jsonable(summary)
    atomic_write_json(os.path.join(config.save, SUMMARY_FILE), summary)
    value = evaluation["value"]
    logger.info("naslib_snn: best %s, objective %s, %s %s", spec.to_str(), summary["best"]["objective"],
                evaluation["metric"], "n/a" if value is None or math.isnan(value) else f"{value:.3f}")
    return summary


def _announcer(logger: Any, hint: str) -> Callable[[str], None]:
    """What an on-the-fly oracle calls before it trains a cell: a log line that ends with how to skip it."""

    def announce(line: str) -> None:
        logger.info("naslib_snn: %s (%s)", line, hint)

    return announce


def announce_training_plan(logger: Any, kind: str, evaluate_kind: str, epochs: int, train_config: Any) -> Optional[str]:
    """Log, before the search starts, what the on-the-fly oracle will train and roughly how long it takes.

    Returns the line logged, or None when no on-the-fly oracle is configured (nothing is trained).
    The estimate times :data:`naslib_snn.AUTHORS_CIFAR100` (:func:`naslib_snn.oracles.estimate_training`).
    """
    if "on_the_fly" not in (kind, evaluate_kind):
        return None
    from naslib_snn import AUTHORS_CIFAR100  # noqa: PLC0415
    from naslib_snn.oracles import estimate_training  # noqa: PLC0415

    work = estimate_training(AUTHORS_CIFAR100, train_config).describe()
    if kind == "on_the_fly":
        line = (f"naslib_snn: the on-the-fly oracle trains every cell the search queries (search.epochs {epochs}, "
                f"cached cells cost nothing), each {work} on {train_config.dataset} for a cell like the authors' "
                f"CIFAR-100 cell ({SKIP_SEARCH_TRAINING})")
    else:
        line = (f"naslib_snn: after the search, the on-the-fly oracle trains the best cell (unless it is cached): "
                f"{work} on {train_config.dataset} for a cell like the authors' CIFAR-100 cell ({SKIP_EVALUATION})")
    logger.info(line)
    return line


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry point; returns the exit status (2 for bad input: config, overrides, files)."""
    try:
        config = _common.load_config(sys.argv[1:] if argv is None else argv, config_type="nas")
        summary = run(config)
    except (ValueError, OSError, ImportError) as err:
        print(f"naslib_snn.runners.nas: error: {err}", file=sys.stderr)
        return 2
    print(f"best {summary['best']['arch']} (objective {summary['best']['objective']}); "
          f"{summary['evaluation']['metric']} {summary['evaluation']['value']}; summary in "
          f"{os.path.join(summary['save'], SUMMARY_FILE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
