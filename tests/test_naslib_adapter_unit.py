"""The NASLib adapter's parts that run without NASLib: import boundaries, oracles, data, correlations."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from naslib_snn import AUTHORS_CIFAR10, AUTHORS_CIFAR100, CellSpec
from naslib_snn import compat
from naslib_snn.benchmarks import load
from naslib_snn.naslib_data import naslib_loaders, scoring_batches
from naslib_snn.oracles import (
    INIT_STREAM,
    OBJECTIVE_FLOOR,
    ORACLES,
    SCORE_STREAM,
    OnTheFlyOracle,
    TabularOracle,
    TrainingFreeOracle,
    build_oracle,
    cell_seed,
    get_dataset_api,
    register_oracle,
    resolve_oracle,
)

ASSETS = Path(__file__).parent / "assets"
TINY = ASSETS / "tiny_benchmark.json"
REPO = Path(__file__).resolve().parent.parent
TINY_NET = dict(channels=4, timesteps=2, image_size=8, hidden=32, vote=2)

# Modules that need NASLib at import time: the Graph adapter and the ZeroCost measures.
ADAPTER_MODULES = ("naslib_snn.search_spaces.spiking_nb201.graph", "naslib_snn.predictors.naslib_measures")

# Run first in a subprocess: every later `import naslib...` raises, and each attempt is recorded.
BLOCK_NASLIB = textwrap.dedent(
    """
    import importlib.abc, sys
    ATTEMPTS = []

    class BlockNaslib(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "naslib" or name.startswith("naslib."):
                ATTEMPTS.append(name)
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    for key in [k for k in sys.modules if k == "naslib" or k.startswith("naslib.")]:
        del sys.modules[key]
    sys.meta_path.insert(0, BlockNaslib())
    """
)


def _run_blocked(body: str, tmp_path: Path) -> dict:
    """Run ``body`` after BLOCK_NASLIB in a fresh interpreter; it must print one JSON line last."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", BLOCK_NASLIB + textwrap.dedent(body)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _load_fake_trainer() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("naslib_adapter_fake_trainer", ASSETS / "fake_trainer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- import boundaries ----------------------------------------------------------------------------------
def test_core_modules_never_import_naslib(tmp_path):
    result = _run_blocked(
        f"""
        import importlib, json, pkgutil
        import naslib_snn
        adapters = {ADAPTER_MODULES!r}
        imported = []
        for info in pkgutil.walk_packages(naslib_snn.__path__, "naslib_snn."):
            if info.name not in adapters:
                importlib.import_module(info.name)
                imported.append(info.name)
        naslib_snn.get_dataset_api  # resolved lazily
        print(json.dumps({{"attempts": ATTEMPTS, "imported": imported}}))
        """,
        tmp_path,
    )
    assert result["attempts"] == []
    # the walk really covered the core and the adapter's NASLib-free helpers
    for name in ("naslib_snn.oracles", "naslib_snn.naslib_data", "naslib_snn.compat", "naslib_snn.predictors.scoring",
                 "naslib_snn.search_spaces.spiking_nb201.network", "naslib_snn.runners.nas", "naslib_snn.benchmarks.zc"):
        assert name in result["imported"]


def test_adapter_import_error_says_how_to_install_naslib(tmp_path):
    result = _run_blocked(
        f"""
        import contextlib, io, json
        messages = {{}}
        for name in {ADAPTER_MODULES!r}:
            try:
                __import__(name)
            except ImportError as err:
                messages[name] = str(err)
        from naslib_snn.runners import nas
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            status = nas.main(["--config-file", "any.yaml"])
        print(json.dumps({{"messages": messages, "status": status, "stderr": stderr.getvalue()}}))
        """,
        tmp_path,
    )
    assert sorted(result["messages"]) == sorted(ADAPTER_MODULES)
    for text in [*result["messages"].values(), result["stderr"]]:
        assert "github.com/automl/NASLib" in text
        assert compat.NASLIB_COMMIT in text
        assert "pip install" in text
        assert "blocked by the test" in text  # the original error is kept
    assert result["status"] == 2


# ---- oracles --------------------------------------------------------------------------------------------
def test_tabular_oracle_answers_from_the_table():
    oracle = TabularOracle(TINY)
    assert oracle.dataset == "synthetic"
    assert oracle.candidates() == load(TINY).specs()
    assert oracle.query(AUTHORS_CIFAR10, "test_accuracy") == 70.0
    assert oracle.query(AUTHORS_CIFAR10, "val_accuracy", epoch=1) == 60.0
    assert oracle.learning_curve(AUTHORS_CIFAR10, "test_accuracy") == [50.0, 60.0, 70.0]
    assert oracle.learning_curve(AUTHORS_CIFAR10, "train_time") == [1.0, 3.0, 6.0]  # cumulative
    with pytest.raises(KeyError, match="not in benchmark"):
        oracle.query(CellSpec((1,) * 6), "test_accuracy")
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        oracle.query(AUTHORS_CIFAR10, "accuracy")
    with pytest.raises(ValueError, match="not on dataset 'digits'"):
        TabularOracle(TINY, dataset="digits")


def test_tabular_oracle_answers_one_seed_or_the_mean():
    mean = TabularOracle(TINY, seed="mean")
    assert mean.query(AUTHORS_CIFAR10, "test_accuracy") == 69.0  # seeds 0 and 1: (70 + 68) / 2
    assert mean.query(AUTHORS_CIFAR10, "raw")["runs"][0]["seed"] == 0  # raw: the whole record
    assert mean.describe()["seed"] == "mean" and TabularOracle(TINY).describe()["seed"] == "primary"
    assert TabularOracle(TINY, seed=1).query(AUTHORS_CIFAR10, "test_accuracy") == 68.0
    api = get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY), seed="mean")
    assert api["oracle"].query(AUTHORS_CIFAR10, "test_accuracy") == 69.0
    for bad in ("avg", 7, True):
        with pytest.raises(ValueError, match=f"seed must be None .*'mean' or one of the benchmark's seeds \\[0, 1\\], got {bad!r}"):
            TabularOracle(TINY, seed=bad)


def test_dataset_api_and_oracle_resolution():
    api = get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY))
    assert isinstance(api["oracle"], TabularOracle) and api["api"].name == "tiny_fake"
    assert resolve_oracle(api) is api["oracle"]
    assert resolve_oracle(api["oracle"]) is api["oracle"]
    from_benchmark_dict = resolve_oracle({"api": load(TINY)})  # the benchmark helper's own dataset_api
    assert isinstance(from_benchmark_dict, TabularOracle) and from_benchmark_dict.query(AUTHORS_CIFAR100, "test_accuracy") \
        == api["oracle"].query(AUTHORS_CIFAR100, "test_accuracy")
    with pytest.raises(ValueError, match="needs a dataset_api"):
        resolve_oracle(None)
    with pytest.raises(ValueError, match="got int"):
        resolve_oracle(42)
    with pytest.raises(ValueError, match="not 'nasbench201'"):
        get_dataset_api("nasbench201", "synthetic", benchmark=str(TINY))
    with pytest.raises(ValueError, match="tabular oracle only"):
        get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY), oracle="training_free")
    with pytest.raises(ValueError, match="unknown oracle 'magic'.*on_the_fly, tabular, training_free"):
        build_oracle("magic", "synthetic")
    with pytest.raises(ValueError, match="needs benchmark="):
        build_oracle("tabular", "synthetic")
    with pytest.raises(ValueError, match="already registered"):
        register_oracle("tabular")
    assert set(ORACLES) >= {"tabular", "training_free", "on_the_fly"}


def test_cell_seed_is_fixed_by_seed_cell_and_stream():
    a, b = AUTHORS_CIFAR10, AUTHORS_CIFAR100
    assert cell_seed(0, a) == cell_seed(0, a)
    assert len({cell_seed(0, a), cell_seed(1, a), cell_seed(0, b), cell_seed(0, a, SCORE_STREAM)}) == 4
    assert 0 <= cell_seed(7, b) < 2**63
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        cell_seed(-1, a)


def test_training_free_oracle_is_the_proxy_score_of_the_seeded_network():
    from naslib_snn.predictors import score
    from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network

    oracle = TrainingFreeOracle("synthetic", "sahd", network=TINY_NET, batch_size=8, seed=3)
    spec = AUTHORS_CIFAR100
    before = torch.get_rng_state()
    value = oracle.query(spec, "val_accuracy")
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is left alone
    torch.manual_seed(cell_seed(3, spec, INIT_STREAM))
    network = SpikingNB201Network(spec, num_classes=10, in_channels=3, **TINY_NET)
    images, _ = scoring_batches("synthetic", 8, 1, 3, image_size=8)
    assert value == score(network, images, metric="sahd", seed=cell_seed(3, spec, SCORE_STREAM))
    assert math.isfinite(value)
    assert oracle.query(spec, "params") == network.num_params()
    assert math.isnan(oracle.query(spec, "test_accuracy")) and math.isnan(oracle.query(spec, "train_loss"))
    raw = oracle.query(spec, "raw")
    assert raw["score"] == value and raw["proxy"] == "sahd" and raw["seconds"] == oracle.query(spec, "train_time")
    # the order of the queries does not matter
    other = TrainingFreeOracle("synthetic", "sahd", network=TINY_NET, batch_size=8, seed=3)
    assert other.query(AUTHORS_CIFAR10, "val_accuracy") == oracle.query(AUTHORS_CIFAR10, "val_accuracy")
    assert other.query(spec, "val_accuracy") == value


def test_training_free_oracle_floors_a_silent_network():
    oracle = TrainingFreeOracle("synthetic", "hd", network=TINY_NET, batch_size=8)
    silent = CellSpec((1,) * 6)  # no edge: the cell's output is constant, every sample spikes alike
    assert oracle.query(silent, "raw")["score"] == -math.inf
    assert oracle.query(silent, "val_accuracy") == OBJECTIVE_FLOOR


def test_training_free_oracle_rejects_bad_settings():
    with pytest.raises(KeyError, match="unknown proxy 'synflow'"):
        TrainingFreeOracle("synthetic", "synflow")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        TrainingFreeOracle("synthetic", batch_size=0)
    with pytest.raises(ValueError, match="unknown dataset"):
        TrainingFreeOracle("no_such_data")


def test_on_the_fly_oracle_trains_each_cell_once_and_caches_it_on_disk(tmp_path):
    from naslib_snn.train import TrainConfig

    fake = _load_fake_trainer()
    calls = []

    def train_fn(spec, config, out_dir=None, resume=False, progress=True):
        calls.append((spec, Path(out_dir), resume))
        return fake.fake_train(spec, config, out_dir=out_dir, resume=resume, progress=progress)

    config = TrainConfig.for_dataset("synthetic", epochs=3, seed=1)
    oracle = OnTheFlyOracle(config, tmp_path / "cache", train_fn=train_fn)
    spec = AUTHORS_CIFAR100
    accuracy = fake.fake_accuracy(spec.op_indices, 1)
    assert oracle.query(spec, "val_accuracy") == accuracy - 1  # the fake's last val_top1
    assert oracle.query(spec, "test_accuracy") == accuracy
    assert oracle.query(spec, "val_accuracy", epoch=0) == pytest.approx(accuracy / 3 - 1)
    assert oracle.query(spec, "train_time", epoch=1) == 2.0  # epoch_seconds 1 + 1
    assert oracle.query(spec, "params") == 1000 + sum(spec.op_indices)
    assert oracle.learning_curve(spec, "test_accuracy") == pytest.approx([accuracy / 3, 2 * accuracy / 3, accuracy])
    assert oracle.query(spec, "raw")["op_indices"] == list(spec.op_indices)
    assert [(s, folder.name, resume) for s, folder, resume in calls] == [(spec, "2-6-3-2-1-2", True)]
    assert (tmp_path / "cache" / "2-6-3-2-1-2" / "metrics.json").is_file()
    # a new oracle on the same folder reads the result instead of training again
    again = OnTheFlyOracle(config, tmp_path / "cache", train_fn=train_fn)
    assert again.is_cached(spec) and not again.is_cached(AUTHORS_CIFAR10)
    assert again.query(spec, "test_accuracy") == accuracy
    assert len(calls) == 1
    with pytest.raises(ValueError, match="another training config.*seed"):
        OnTheFlyOracle(TrainConfig.for_dataset("synthetic", epochs=3, seed=2), tmp_path / "cache", train_fn=train_fn)
    with pytest.raises(ValueError, match="needs|val_subset"):
        OnTheFlyOracle(TrainConfig.for_dataset("synthetic", val_subset=0), tmp_path / "other", train_fn=train_fn)


# ---- data -----------------------------------------------------------------------------------------------
def test_scoring_batches_are_fixed_by_the_seed():
    images, labels = scoring_batches("synthetic", 8, 2, seed=0, image_size=8)
    assert [tuple(x.shape) for x in images] == [(8, 3, 8, 8)] * 2
    assert [y.dtype for y in labels] == [torch.int64] * 2
    again, _ = scoring_batches("synthetic", 8, 2, seed=0, image_size=8)
    other, _ = scoring_batches("synthetic", 8, 2, seed=1, image_size=8)
    assert all(torch.equal(a, b) for a, b in zip(images, again))
    assert not torch.equal(images[0], other[0])
    flat = torch.cat(images).flatten(1)
    assert len({tuple(row.tolist()) for row in flat}) == 16  # distinct images
    with pytest.raises(ValueError, match="200 scoring images, more than the 128 test images"):
        scoring_batches("synthetic", 100, 2, split="test", image_size=8)
    few, _ = scoring_batches("synthetic", 100, 2, split="test", image_size=8, allow_fewer=True)
    assert [len(x) for x in few] == [100, 28]


def test_naslib_loaders_stand_in_for_get_train_val_loaders():
    config = types.SimpleNamespace(dataset="synthetic", batch_size=8, search=types.SimpleNamespace(seed=2),
                                   spiking=types.SimpleNamespace(image_size=8, data_dir=None, loader_batches=None))
    train, valid, test, train_transform, valid_transform = naslib_loaders(config, mode="train")
    assert train_transform is None and valid_transform is None
    assert [len(q) for q in (train, valid, test)] == [1, 1, 1]
    images, labels = train[0]
    expected, expected_labels = scoring_batches("synthetic", 8, 1, seed=2, image_size=8)
    assert torch.equal(images, expected[0]) and torch.equal(labels, expected_labels[0])
    assert tuple(valid[0][0].shape) == tuple(test[0][0].shape) == (8, 3, 8, 8)


# ---- correlations ---------------------------------------------------------------------------------------
def test_correlations_by_hand():
    # y = (1, 2, 3), p = (1, 3, 2): 2 concordant and 1 discordant pair -> tau 1/3; ranks differ by
    # (0, 1, 1) -> rho = 1 - 6 * 2 / (3 * 8) = 0.5; Pearson r = 0.5 as well.
    result = compat.correlations([1, 2, 3], [1, 3, 2])
    assert result == pytest.approx({"n": 3, "kendalltau": 1 / 3, "spearman": 0.5, "pearson": 0.5})
    assert compat.correlations([1, 2, 3, 4], [40, 30, 20, 10])["kendalltau"] == pytest.approx(-1.0)
    constant = compat.correlations([1, 2, 3], [5, 5, 5])
    assert all(math.isnan(constant[k]) for k in ("kendalltau", "spearman", "pearson"))
    with pytest.raises(ValueError, match="equal length"):
        compat.correlations([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        compat.correlations([1, 2], [1, float("nan")])


def test_count_parameters_in_mb_counts_like_naslib():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model.auxiliary = torch.nn.Linear(10, 10)  # left out, as NASLib does
    assert compat.count_parameters_in_mb(model) == (3 * 4 + 4 + 4 * 2 + 2) / 1e6
    assert isinstance(compat.count_parameters_in_mb(model), float)
    assert np.isclose(compat.count_parameters_in_mb(torch.nn.Identity()), 0.0)
