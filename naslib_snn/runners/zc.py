"""Correlate zero-cost scores with benchmark accuracy on the spiking NB201 space, with NASLib's evaluator.

    python -m naslib_snn.runners.zc --config-file configs/zc_correlation.yaml [KEY VALUE ...]

For each predictor of ``predictors`` (or NASLib's single ``predictor`` key) NASLib's
``ZeroCostPredictorEvaluator`` draws ``test_size`` cells of the benchmark (``oracle.benchmark``,
labels = its final val accuracy), scores each with ``ZeroCost(method_type=predictor)`` on one batch
of our dataset (:func:`naslib_snn.naslib_data.naslib_loaders`) and correlates. Our predictors
(``sahd``, ``sahd_reference``, ``hd``) are registered by importing
:mod:`naslib_snn.predictors.naslib_measures`; NASLib's (synflow, snip, ...) are its own. Every
predictor sees the same cells (the seed is reset before each) with the same initial weights
(``cell_seed(seed, spec)``).

With ``zc_api: PATH`` (a zero-cost table of ``naslib-snn benchmark zc``) NASLib reads the scores stored
there instead of computing them (its ``use_zc_api`` mode); cells whose score is missing from the
table are computed.

Output: per predictor, its correlations on stdout, or ``<name> failed: <error>`` on stderr when it does
not apply to spiking networks (the others go on). Bad input (the config, an override, the dataset's
files) stops the run before any predictor, with a ``naslib_snn.runners.zc: error: ...`` message on
stderr and exit status 2; exit status 1 means that every predictor failed.

Files: NASLib's ``scores.json`` in ``<out_dir>/<config_type>/spiking_nb201/<dataset>/<predictor>/<seed>``
per predictor, and our ``summary.json`` (atomic) in ``<out_dir>/<config_type>/spiking_nb201/<dataset>``:
for each predictor NASLib's kendalltau / spearman / pearson (NASLib's pearson is ``|r|``; we add the
signed ``pearson_signed`` and recompute all three with scipy.stats as a check), or the error that
stopped it.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

from naslib_snn import compat
from naslib_snn.runners import _common

__all__ = ["main", "predictor_names", "run"]

SUMMARY_FILE = "summary.json"


def predictor_names(config: Any) -> list[str]:
    """``predictors`` if given and non-empty, else ``[predictor]``. Raises ValueError when neither is set."""
    names = list(config.get("predictors") or [])
    if not names and config.get("predictor"):
        names = [config.predictor]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"set `predictors` (a list of zero-cost proxy names) or `predictor`; got {names!r}")
    return names


def _zc_api_for(table: Optional[dict[str, Any]], predictor: str) -> Optional[dict[str, Any]]:
    """The entries of a zero-cost table that hold a score for ``predictor`` (NASLib cannot use a null score)."""
    if table is None:
        return None
    usable = {key: entry for key, entry in table.items()
              if isinstance(entry.get(predictor), dict) and entry[predictor].get("score") is not None}
    return usable or None


def run(config: Any) -> dict[str, Any]:
    """Evaluate every predictor; returns (and writes) the summary.

    Raises:
        ValueError: a bad config (no benchmark, test_size larger than the benchmark without replacement, ...).
        FileNotFoundError: the dataset's files are missing (raised before any predictor runs).
        ImportError: NASLib is missing.
    """
    from naslib import utils  # noqa: PLC0415
    from naslib.evaluators.zc_evaluator import ZeroCostPredictorEvaluator  # noqa: PLC0415
    from naslib.predictors import ZeroCost  # noqa: PLC0415

    import naslib_snn.predictors.naslib_measures  # noqa: F401, PLC0415  (registers sahd, hd, sahd_reference)
    from naslib_snn.naslib_data import naslib_loaders  # noqa: PLC0415
    from naslib_snn.oracles import resolve_oracle  # noqa: PLC0415
    from naslib_snn.utils.io import atomic_write_json  # noqa: PLC0415

    started = time.perf_counter()
    names = predictor_names(config)
    applied = compat.apply()
    options = _common.section(config, "oracle")
    if options.get("kind", "tabular") != "tabular":
        raise ValueError("the zc runner correlates with a benchmark's accuracies: use oracle.kind 'tabular'")
    train_config = _common.resolve_train_config(config, _common.benchmark_recipe(config))
    _common.record_resolved(config, train_config)
    template = _common.build_search_space(config, train_config)
    api = _common.build_oracle_api(config, "tabular", template, train_config)
    oracle = resolve_oracle(api)
    labeled = [spec.op_indices for spec in oracle.candidates() if spec in template.space]
    test_size = int(config.test_size)
    without_replacement = bool(config.get("sample_without_replacement", False))
    if without_replacement and test_size > len(labeled):
        raise ValueError(f"test_size {test_size} exceeds the {len(labeled)} cells of benchmark "
                         f"{oracle.api.name!r} (sampling without replacement)")
    table = None
    if config.get("zc_api"):
        from naslib_snn.benchmarks.zc import load_zc  # noqa: PLC0415

        zc = load_zc(config.zc_api)
        if config.dataset not in zc:
            raise ValueError(f"zero-cost table {config.zc_api} has no dataset {config.dataset!r}")
        table = zc[config.dataset]
    # Read the dataset once now: missing files are bad input for the whole run, not a failure of each predictor.
    naslib_loaders(config)
    base = os.path.join(config.out_dir, config.config_type, config.search_space, config.dataset)
    logger = None
    results: dict[str, Any] = {}
    for name in names:
        cfg = copy.deepcopy(config)
        cfg.predictor = name
        cfg.save = os.path.join(base, name, str(config.seed))
        os.makedirs(cfg.save, exist_ok=True)
        logger = logger or _common.setup_logging(cfg)
        utils.set_seed(int(config.seed))  # every predictor draws the same cells
        space = copy.deepcopy(template)
        space.labeled_archs = labeled
        space.sample_without_replacement = without_replacement
        zc_api = _zc_api_for(table, name)
        t0 = time.perf_counter()
        try:
            with compat.use_data_loaders(naslib_loaders):
                evaluator = ZeroCostPredictorEvaluator(ZeroCost(method_type=name), config=cfg, zc_api=zc_api,
                                                       use_zc_api=zc_api is not None)
                evaluator.adapt_search_space(space, load_labeled=True, dataset_api=api)
                if not hasattr(evaluator, "train_loader"):
                    # NASLib builds the loader only without use_zc_api, yet computes the scores a
                    # table lacks with it (single_evaluate): a partial table would raise AttributeError
                    evaluator.train_loader = naslib_loaders(cfg)[0]
                scores = evaluator.evaluate(zc_api)[-1]
        except Exception as err:  # noqa: BLE001  (one proxy failing on spiking nets must not stop the others)
            results[name] = {"error": f"{type(err).__name__}: {err}", "seconds": time.perf_counter() - t0}
            logger.warning("naslib_snn: predictor %s failed: %s", name, results[name]["error"])
            continue
        check = compat.correlations(scores["full_ytest"], scores["full_testpred"])
        results[name] = {
            "kendalltau": scores["kendalltau"],
            "spearman": scores["spearman"],
            "pearson": scores["pearson"],
            "pearson_signed": check["pearson"],
            "scipy": check,
            "n": len(scores["full_ytest"]),
            "query_time": scores.get("query_time"),
            "seconds": time.perf_counter() - t0,
            "used_zc_api": zc_api is not None,
            "scores_json": os.path.join(cfg.save, "scores.json"),
        }
        logger.info("naslib_snn: %s kendalltau %.4f spearman %.4f (n=%d)", name, scores["kendalltau"],
                    scores["spearman"], results[name]["n"])
    summary = _common.jsonable({
        "search_space": config.search_space,
        "dataset": config.dataset,
        "seed": int(config.seed),
        "test_size": test_size,
        "sample_without_replacement": without_replacement,
        "oracle": oracle.describe(),
        "network": _common.section(config, "spiking"),
        "predictors": results,
        "naslib_workarounds": applied,
        "naslib_commit_tested": compat.NASLIB_COMMIT,
        "seconds": time.perf_counter() - started,
        "save": base,
    })
    atomic_write_json(os.path.join(base, SUMMARY_FILE), summary)
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry point; returns the exit status (2 for bad input, 1 if every predictor failed).

    Errors, and the predictors that failed, go to stderr; the correlations go to stdout.
    """
    try:
        config = _common.load_config(sys.argv[1:] if argv is None else argv, config_type="zc")
        summary = run(config)
    except (ValueError, OSError, ImportError) as err:
        print(f"naslib_snn.runners.zc: error: {err}", file=sys.stderr)
        return 2
    for name, result in summary["predictors"].items():
        if "error" in result:
            print(f"{name:15s} failed: {result['error']}", file=sys.stderr)
        else:
            print(f"{name:15s} kendalltau {result['kendalltau']}  spearman {result['spearman']}  "
                  f"pearson {result['pearson_signed']}  (n={result['n']})")
    print(f"summary in {os.path.join(summary['save'], SUMMARY_FILE)}")
    ok = any("error" not in r for r in summary["predictors"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
