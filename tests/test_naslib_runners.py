"""The NASLib runners as a new user meets them: any config with any optimizer, announced training, errors on stderr.

Needs the real NASLib (skipped without it); see the README, section "NASLib integration".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

naslib = pytest.importorskip("naslib")

pytestmark = pytest.mark.naslib

from naslib.search_spaces.core.query_metrics import Metric  # noqa: E402

from naslib_snn.runners import _common, nas, zc  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.graph import SpikingNasBench201SearchSpace  # noqa: E402

TESTS = Path(__file__).parent
CONFIGS = TESTS.parent / "configs"
TINY_BENCHMARK = TESTS / "assets" / "tiny_benchmark.json"
SEARCH_CONFIGS = ("sahd_rs.yaml", "sahd_re.yaml", "sahd_ls.yaml", "bananas_benchmark.yaml")
TINY_NET = dict(channels=4, timesteps=2, image_size=8, hidden=32, vote=2)
TINY_OPTS = ["dataset", "synthetic", *[x for key, value in TINY_NET.items() for x in (f"spiking.{key}", str(value))],
             "oracle.batch_size", "16", "oracle.num_batches", "1"]
TINY_TABULAR = ["dataset", "synthetic", "oracle.benchmark", str(TINY_BENCHMARK)]


def _argv(config: str, tmp_path: Path, *opts: str) -> list[str]:
    return ["--config-file", str(CONFIGS / config), "out_dir", str(tmp_path), *opts]


# ---- every config runs every optimizer ----------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", list(nas.OPTIMIZERS))
@pytest.mark.parametrize("config", SEARCH_CONFIGS)
def test_every_config_builds_every_optimizer(config, optimizer, tmp_path):
    loaded = _common.load_config(_argv(config, tmp_path, "optimizer", optimizer), config_type="nas")
    assert loaded.optimizer == optimizer
    missing = sorted(set(_common.SEARCH_DEFAULTS) - set(loaded.search))
    assert not missing, f"{config} lacks search keys {missing}"
    nas.optimizer_class(optimizer)(loaded)  # NASLib's constructor reads config.search.<key> without fallback


def test_a_config_s_own_values_win_over_the_defaults(tmp_path):
    re_config = _common.load_config(_argv("sahd_re.yaml", tmp_path), config_type="nas")
    assert re_config.search.epochs == 200 != _common.SEARCH_DEFAULTS["epochs"]
    assert re_config.search.checkpoint_freq == 1000000 != _common.SEARCH_DEFAULTS["checkpoint_freq"]
    assert re_config.evaluation.checkpoint_freq == 1000000
    assert re_config.search.k == _common.SEARCH_DEFAULTS["k"]  # filled in
    # a key only the defaults hold can be overridden, and the override wins
    rs_config = _common.load_config(_argv("sahd_rs.yaml", tmp_path, "optimizer", "re", "search.sample_size", "4"),
                                    config_type="nas")
    assert rs_config.search.sample_size == 4 and rs_config.search.population_size == 30


def test_an_unknown_search_key_is_refused_on_stderr_with_exit_2(tmp_path, capsys):
    status = nas.main(_argv("sahd_rs.yaml", tmp_path, "search.sampel_size", "4"))
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("naslib_snn.runners.nas: error: bad opts override")
    assert "Non-existent key: search.sampel_size" in captured.err


RUNS = [  # the combinations that failed before the defaults existed, at tiny sizes
    ("sahd_rs.yaml", "re", TINY_OPTS),
    ("sahd_ls.yaml", "rs", TINY_OPTS),
    ("sahd_ls.yaml", "npenas", TINY_OPTS),
    ("bananas_benchmark.yaml", "rs", TINY_TABULAR),
]


@pytest.mark.parametrize("config, optimizer, opts", RUNS, ids=[f"{c}-{o}" for c, o, _ in RUNS])
def test_optimizer_switched_on_the_command_line_runs(config, optimizer, opts, tmp_path):
    argv = _argv(config, tmp_path, "optimizer", optimizer, "search.epochs", "3", "oracle.evaluate", "none", *opts)
    assert nas.main(argv) == 0
    summary = json.loads((tmp_path / "spiking_nb201" / "synthetic" / optimizer / "0" / "summary.json").read_text())
    assert summary["optimizer"] == optimizer and len(summary["trajectory"]["valid_acc"]) == 3
    assert summary["evaluation"] == {"oracle": "none", "metric": "test_accuracy", "value": None}


def test_bananas_with_the_default_predictor_fits_it(tmp_path):
    """Past num_init, Bananas fits the default predictor (mlp on the adjacency encoding) and keeps going."""
    argv = _argv("sahd_ls.yaml", tmp_path, "optimizer", "bananas", "search.epochs", "5", "search.num_init", "3",
                 "search.k", "2", "oracle.evaluate", "none", *TINY_OPTS)
    assert nas.main(argv) == 0
    save = tmp_path / "spiking_nb201" / "synthetic" / "bananas" / "0"
    trajectory = json.loads((save / "summary.json").read_text())["trajectory"]["valid_acc"]
    assert len(trajectory) == 5 and trajectory == sorted(trajectory)


# ---- long steps announce themselves ------------------------------------------------------------------------
def test_on_the_fly_training_is_announced_before_the_search_and_before_training(tmp_path):
    argv = _argv("sahd_rs.yaml", tmp_path, *TINY_OPTS, "search.epochs", "2", "train.epochs", "1",
                 "train.subset", "32", "train.val_subset", "16", "train.test_subset", "16", "train.batch_size", "16")
    assert nas.main(argv) == 0
    log = (tmp_path / "spiking_nb201" / "synthetic" / "rs" / "0" / "log.log").read_text()
    plan = log.index("after the search, the on-the-fly oracle trains the best cell")
    training = log.index("on-the-fly oracle: training |")
    assert plan < log.index("Beginning search") < log.index("Start evaluation") < training
    for start in (plan, training):
        line = log[start:log.index("\n", start)]
        assert re.search(r"1 epochs x 2 steps of 16 images \(\+ 32 evaluation images per epoch\), roughly \d+ "
                         r"(s|min|h)", line), line
        assert line.endswith("(`oracle.evaluate none` skips training the best cell)")
    assert "training_free" not in log[training:log.index("\n", training)]


def test_nothing_is_announced_when_nothing_is_trained(tmp_path):
    argv = _argv("sahd_rs.yaml", tmp_path, *TINY_OPTS, "search.epochs", "2", "oracle.evaluate", "none")
    assert nas.main(argv) == 0
    log = (tmp_path / "spiking_nb201" / "synthetic" / "rs" / "0" / "log.log").read_text()
    assert "on-the-fly oracle" not in log


def test_config_comments_say_how_long_evaluation_takes_and_how_to_skip_it():
    for name in ("sahd_rs.yaml", "sahd_re.yaml", "sahd_ls.yaml"):
        text = (CONFIGS / name).read_text()
        line = next(line for line in text.splitlines() if line.strip().startswith("evaluate: on_the_fly"))
        assert "min" in line and "oracle.evaluate none" in text, name


# ---- errors go to stderr with exit status 2 ------------------------------------------------------------------
def _run_module(module: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGV`` in ``cwd`` (outside the checkout), as a user runs it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_nas_runner_missing_dataset_is_an_error_on_stderr(tmp_path):
    missing = tmp_path / "no_fmnist"
    done = _run_module("naslib_snn.runners.nas", _argv("sahd_rs.yaml", tmp_path, "search.epochs", "2",
                                                       "oracle.evaluate", "none", "spiking.data_dir", str(missing)),
                       cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"naslib_snn.runners.nas: error: fashion_mnist: data directory {missing} "
                                  "does not exist"), done.stderr
    assert "Traceback" not in done.stderr and "error" not in done.stdout.lower()
    assert not list(tmp_path.rglob("summary.json"))


def test_zc_runner_missing_dataset_is_one_error_on_stderr_before_any_predictor(tmp_path):
    missing = tmp_path / "no_fmnist"
    done = _run_module("naslib_snn.runners.zc", _argv("zc_correlation.yaml", tmp_path, "spiking.data_dir",
                                                      str(missing), "test_size", "5", "predictors", "['sahd', 'hd']"),
                       cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"naslib_snn.runners.zc: error: fashion_mnist: data directory {missing} "
                                  "does not exist"), done.stderr
    assert done.stderr.count("error:") == 1 and "failed" not in done.stdout + done.stderr
    written = [path.name for path in tmp_path.rglob("*") if path.is_file()]
    assert "summary.json" not in written and "scores.json" not in written  # stopped before any predictor ran


def test_zc_runner_prints_a_failed_predictor_on_stderr_and_the_others_on_stdout(tmp_path, capsys):
    status = zc.main(_argv("zc_correlation.yaml", tmp_path, *TINY_TABULAR, *TINY_OPTS[2:], "test_size", "4",
                           "batch_size", "8", "predictors", "['sahd', 'no_such_proxy']"))
    captured = capsys.readouterr()
    assert status == 0
    assert re.search(r"^no_such_proxy +failed: ", captured.err, re.M)
    assert re.search(r"^sahd +kendalltau ", captured.out, re.M)
    assert not re.search(r"^no_such_proxy +failed", captured.out, re.M)  # (NASLib's log on stdout names it too)


# ---- NASLib's convention for a query without a dataset_api ------------------------------------------------------
def test_query_without_dataset_api_raises_what_naslib_code_catches():
    space = SpikingNasBench201SearchSpace(**TINY_NET, init_seed=0)
    space.set_spec((2, 6, 3, 2, 1, 2))
    with pytest.raises(NotImplementedError, match="needs a dataset_api"):
        space.query(Metric.VAL_ACCURACY, "synthetic")
    with pytest.raises(ValueError, match="needs a dataset_api"):
        space.query(Metric.VAL_ACCURACY, "synthetic", dataset_api=None)


def test_the_space_takes_every_network_setting_of_the_training_recipe(tmp_path):
    """The runners build the space from TrainConfig.network_kwargs(): a setting added there must reach the space."""
    from naslib_snn.train import TrainConfig

    network = TrainConfig.for_dataset("synthetic").network_kwargs()
    settings = SpikingNasBench201SearchSpace().settings()
    assert set(network) - {"num_classes", "in_channels"} <= set(settings)
    config = _common.load_config(_argv("sahd_rs.yaml", tmp_path, *TINY_OPTS, "spiking.count_include_pad", "False"),
                                 config_type="nas")
    space = _common.build_search_space(config, _common.resolve_train_config(config))
    assert space.network_kwargs["count_include_pad"] is False
    space.set_spec((4, 4, 4, 4, 4, 4))
    space.parse()
    pools = [m for m in space.network.modules() if type(m).__name__ == "AvgPool2d" and m.kernel_size == 3]
    assert pools and not any(pool.count_include_pad for pool in pools)
