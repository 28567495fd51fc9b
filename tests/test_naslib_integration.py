"""The spiking NB201 space, SAHD measures and runners on the real NASLib (skipped without it).

Run: ``OMP_NUM_THREADS=1 python -m pytest tests/test_naslib_integration.py -q`` in an environment with
NASLib installed (see the README, section "NASLib integration").
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

naslib = pytest.importorskip("naslib")

import numpy as np  # noqa: E402
import torch  # noqa: E402

pytestmark = pytest.mark.naslib

from naslib.predictors import ZeroCost  # noqa: E402
from naslib.predictors.utils.pruners import measures as naslib_measures  # noqa: E402
from naslib.search_spaces.core.query_metrics import Metric  # noqa: E402

from naslib_snn import AUTHORS_CIFAR10, AUTHORS_CIFAR100, CellSpec, compat  # noqa: E402
from naslib_snn.benchmarks.zc import ZCContext  # noqa: E402
from naslib_snn.oracles import get_dataset_api  # noqa: E402
from naslib_snn.predictors import naslib_measures as our_measures  # noqa: E402
from naslib_snn.predictors import score  # noqa: E402
from naslib_snn.runners import nas, zc  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201 import has_path  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.graph import SpikingNasBench201SearchSpace  # noqa: E402

TESTS = Path(__file__).parent
TINY = TESTS / "assets" / "tiny_benchmark.json"
CONFIGS = TESTS.parent / "configs"
from naslib_snn.train import TrainConfig  # noqa: E402

TINY_NET = dict(channels=4, timesteps=2, image_size=8, hidden=32, vote=2)
TINY_NET_OPTS = ["dataset", "synthetic"] + [x for key, value in TINY_NET.items() for x in (f"spiking.{key}", str(value))]
TRAINING_FREE_OPTS = ["oracle.kind", "training_free", "oracle.batch_size", "16", "oracle.num_batches", "1",
                      "oracle.evaluate", "none"]
TABULAR_OPTS = ["oracle.kind", "tabular", "oracle.benchmark", str(TINY), "oracle.evaluate", "None"]


def _space(**settings) -> SpikingNasBench201SearchSpace:
    return SpikingNasBench201SearchSpace(**{**TINY_NET, "init_seed": 0, **settings})


def _batch(seed: int = 0, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(size, 3, 8, 8, generator=generator), torch.randint(0, 10, (size,), generator=generator)


# ---- the search space -------------------------------------------------------------------------------------
def test_space_contract_no_arg_constructor_light_clone_truthy_plain_int_hashes():
    default = SpikingNasBench201SearchSpace()  # NASLib re-creates graphs with self.__class__()
    assert default.num_classes == 10 and default.QUERYABLE and default.space_name == "spiking_nb201"
    assert bool(default) and len(default) == 0  # truthy although networkx sees no node
    space = _space(n_classes=100)
    clone = space.clone()
    assert list(clone.parameters()) == [] and clone.settings() == space.settings()
    np.random.seed(0)
    clone.sample_random_architecture()
    assert has_path(clone.get_spec())
    child = space.clone()
    for _ in range(20):
        child = space.clone()
        child.mutate(clone)
        assert type(child.get_hash()) is tuple and all(type(c) is int for c in child.get_hash())
        assert sum(a != b for a, b in zip(child.get_hash(), clone.get_hash())) == 1
        assert has_path(child.get_spec())
    assert str(child.get_hash()) == str(tuple(child.get_op_indices()))


def test_neighbourhood_keeps_the_settings_and_covers_one_pair_changes():
    space = _space(n_classes=100, require_path=False)
    space.set_spec(AUTHORS_CIFAR100)
    np.random.seed(0)
    nbhd = space.get_nbhd()
    assert len(nbhd) == 48 and all(isinstance(m, torch.nn.Module) for m in nbhd)
    assert {m.arch.get_spec() for m in nbhd} == set(AUTHORS_CIFAR100.neighbours())
    assert all(m.arch.num_classes == 100 and m.arch.settings() == space.settings() for m in nbhd)
    forward_only = _space(backward=False)
    forward_only.set_spec((0, 2, 3, 4, 0, 2))
    assert len(forward_only.get_nbhd()) == 24


def test_tabular_oracle_keeps_sampling_mutation_and_nbhd_on_the_table():
    api = get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY))
    table = set(api["oracle"].candidates())
    space = _space()
    np.random.seed(1)
    for _ in range(10):
        arch = space.clone()
        arch.sample_random_architecture(dataset_api=api)
        child = space.clone()
        child.mutate(arch, dataset_api=api)
        assert arch.get_spec() in table and child.get_spec() in table and child.get_spec() != arch.get_spec()
    assert {m.arch.get_spec() for m in arch.get_nbhd(dataset_api=api)} <= table - {arch.get_spec()}


def test_encode_one_hot_extends_naslib_nb201_encoding():
    from naslib.search_spaces import NasBench201SearchSpace

    space = _space()
    space.set_spec(AUTHORS_CIFAR100)  # (2, 6, 3, 2, 1, 2)
    code = space.encode()
    assert len(code) == 54 and sum(code) == 6
    assert [i for i, bit in enumerate(code) if bit] == [9 * e + c for e, c in enumerate((2, 6, 3, 2, 1, 2))]
    forward_only = _space(backward=False)
    forward_only.set_spec((0, 2, 3, 4, 0, 2))
    reference = NasBench201SearchSpace()
    reference.set_op_indices([0, 2, 3, 4, 0, 2])
    assert forward_only.encode() == list(reference.encode())  # exactly NASLib's NB201 encoding
    with pytest.raises(NotImplementedError, match="adjacency_one_hot"):
        space.encode(encoding_type="path")


def test_query_answers_naslib_metrics_from_the_oracle():
    api = get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY))
    arch = _space()
    arch.set_spec(AUTHORS_CIFAR10)
    assert arch.query(Metric.TEST_ACCURACY, "synthetic", dataset_api=api) == 70.0
    assert arch.query(metric=Metric.VAL_ACCURACY, dataset="synthetic", dataset_api=api) == 72.0
    assert arch.query(Metric.TRAIN_TIME, "synthetic", dataset_api=api) == 6.0
    assert arch.query(Metric.PARAMETERS, "synthetic", dataset_api=api) == 7312
    assert arch.query(Metric.RAW, "synthetic", dataset_api=api)["op_indices"] == list(AUTHORS_CIFAR10.op_indices)
    assert arch.query(Metric.TEST_ACCURACY, "synthetic", dataset_api=api, full_lc=True) == [50.0, 60.0, 70.0]
    assert arch.query(Metric.TEST_ACCURACY, "synthetic", dataset_api=api, epoch=2, full_lc=True) == [50.0, 60.0]
    with pytest.raises(NotImplementedError, match="does not record"):
        arch.query(Metric.FLOPS, "synthetic", dataset_api=api)
    with pytest.raises(ValueError, match="not 'cifar10'"):
        arch.query(Metric.TEST_ACCURACY, "cifar10", dataset_api=api)
    with pytest.raises(ValueError, match="needs a dataset_api"):
        arch.query(Metric.TEST_ACCURACY, "synthetic")
    with pytest.raises(ValueError, match="no cell yet"):
        _space().query(Metric.TEST_ACCURACY, "synthetic", dataset_api=api)


def test_parsed_graph_runs_the_network_and_survives_deepcopy():
    for cell in (AUTHORS_CIFAR100, CellSpec((0, 2, 3, 4, 0, 2))):  # step by step, and multi-step
        graph = _space()
        graph.set_spec(cell)
        with pytest.raises(RuntimeError, match="parse"):
            graph(_batch()[0])
        graph.parse()
        x, _ = _batch()
        logits = graph(x)
        assert logits.shape == (8, 10) and torch.isfinite(logits).all()
        logits.sum().backward()
        twin = graph.clone()  # NASLib deep-copies graphs for its proxies, after forward passes
        assert torch.equal(twin(x), graph(x))
        features = graph.forward_before_global_avg_pool(x)
        assert features.shape == (8, 8, 4, 4)  # [B, 2C, H/2, W/2]
    step = _space(multi_step=False)
    step.set_spec((0, 2, 3, 4, 0, 2))
    step.parse()
    assert torch.allclose(step.forward_before_global_avg_pool(x), features, atol=1e-6)  # the same function


# ---- measures --------------------------------------------------------------------------------------------
def test_registration_is_idempotent(monkeypatch):
    assert set(our_measures.NATIVE_MEASURES) <= set(naslib_measures._measure_impls)
    assert our_measures.register_measures() == []
    importlib.reload(our_measures)  # a second import registers nothing and raises nothing
    assert naslib_measures.available_measures.count("sahd") == 1
    monkeypatch.setattr(our_measures, "NATIVE_MEASURES", ("synflow",))
    with pytest.raises(ValueError, match="'synflow' that is not naslib_snn's"):
        our_measures.register_measures()


@pytest.mark.parametrize("metric", ["sahd", "sahd_reference", "hd"])
@pytest.mark.parametrize("cell", [AUTHORS_CIFAR100, CellSpec((0, 2, 3, 4, 0, 2))], ids=["backward", "forward"])
def test_zerocost_measure_equals_our_score(metric, cell):
    graph = _space()
    graph.set_spec(cell)
    graph.parse()
    x, y = _batch()
    expected = score(graph.network, x, metric=metric)
    assert math.isfinite(expected)
    assert ZeroCost(method_type=metric).query(graph, dataloader=[(x, y)]) == expected


def test_naslib_proxy_provider_records_failures_as_missing():
    def factory(spec):
        torch.manual_seed(0)
        from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network

        return SpikingNB201Network(spec, **TINY_NET)

    x, y = _batch()
    provider = our_measures.NaslibProxies()
    for cell in (AUTHORS_CIFAR100, CellSpec((0, 2, 3, 4, 0, 2))):
        context = ZCContext(cell, [x], [y], factory, 0, 10)
        entries = provider.compute(context, ["synflow", "l2_norm", "params", "nwot", "fisher"])
        for proxy in ("synflow", "l2_norm", "params"):
            assert math.isfinite(entries[proxy]["score"]), entries[proxy]
        assert entries["nwot"]["score"] is None and "no ReLU" in entries["nwot"]["missing"]
    assert entries["fisher"]["score"] is not None  # forward-only cells run multi-step: every layer once
    backward = provider.compute(ZCContext(AUTHORS_CIFAR100, [x], [y], factory, 0, 10), ["fisher"])["fisher"]
    assert backward["score"] is None and "backward edges" in backward["missing"]


# ---- NASLib workarounds ------------------------------------------------------------------------------------
def test_compat_fixes_naslib_metrics_and_parameter_count():
    from naslib import utils

    compat.apply()
    assert compat.apply() == compat.apply()  # idempotent
    y, p = [70.0, 60.0, 55.0, 80.0, 65.0], [3.0, 1.0, 2.0, 5.0, 4.0]
    scores = utils.compute_scores(y, p)
    check = compat.correlations(y, p)
    assert scores["kendalltau"] == pytest.approx(check["kendalltau"])
    assert scores["spearman"] == pytest.approx(check["spearman"])
    assert scores["pearson"] == pytest.approx(abs(check["pearson"]))  # NASLib reports |r|
    assert scores["rmse"] == pytest.approx(float(np.sqrt(np.mean((np.array(y) - np.array(p)) ** 2))))
    model = torch.nn.Linear(3, 4)
    from naslib.optimizers.discrete.re import optimizer as re_module

    assert re_module.count_parameters_in_MB(model) == pytest.approx(16 / 1e6)


def test_opts_reach_any_depth_and_replace_nulls(tmp_path):
    config = nas._common.load_config(
        ["--config-file", str(CONFIGS / "sahd_rs.yaml"), "out_dir", str(tmp_path), "search.epochs", "7",
         "spiking.channels", "6", "spiking.data_dir", "'/data'", "train.epochs", "2"],
        config_type="nas",
    )
    assert config.search.epochs == 7 and config.spiking.channels == 6 and config.spiking.data_dir == "/data"
    assert config.train.epochs == 2 and config.save.startswith(str(tmp_path))
    with pytest.raises(ValueError, match="Non-existent key: search.no_such_key"):
        nas._common.load_config(["--config-file", str(CONFIGS / "sahd_rs.yaml"), "search.no_such_key", "1"], "nas")
    with pytest.raises(ValueError, match="unknown key.*chanels.*'spiking'"):
        nas._common.load_config(["--config-file", str(CONFIGS / "sahd_rs.yaml"), "out_dir", str(tmp_path),
                                 "spiking.chanels", "4"], "nas")


# ---- optimizers through the runner ---------------------------------------------------------------------------
OPTIMIZER_RUNS = {
    # paper's objective (SAHD, training-free) for the sampling-based optimizers
    "rs": ("sahd_rs.yaml", TRAINING_FREE_OPTS + ["search.epochs", "6"]),
    "re": ("sahd_re.yaml", TRAINING_FREE_OPTS + ["search.epochs", "6", "search.population_size", "3",
                                                  "search.sample_size", "2"]),
    "ls": ("sahd_ls.yaml", TRAINING_FREE_OPTS + ["search.epochs", "6", "search.num_init", "2"]),
    # model-based optimizers on the (tiny) benchmark
    "bananas": ("bananas_benchmark.yaml", TABULAR_OPTS + ["search.epochs", "5", "search.num_init", "3", "search.k",
                                                          "2", "search.num_ensemble", "1", "search.predictor_type",
                                                          "xgb", "search.num_candidates", "4",
                                                          "search.num_arches_to_mutate", "1"]),
    "npenas": ("bananas_benchmark.yaml", TABULAR_OPTS + ["optimizer", "npenas", "search.epochs", "5",
                                                         "search.num_init", "3", "search.k", "2",
                                                         "search.num_ensemble", "1", "search.predictor_type", "xgb",
                                                         "search.num_candidates", "4", "search.num_arches_to_mutate",
                                                         "1"]),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZER_RUNS))
def test_optimizer_returns_an_architecture_with_a_finite_query(optimizer, tmp_path):
    config_file, opts = OPTIMIZER_RUNS[optimizer]
    argv = ["--config-file", str(CONFIGS / config_file), "out_dir", str(tmp_path), *TINY_NET_OPTS, *opts]
    assert nas.main(argv) == 0
    save = tmp_path / "spiking_nb201" / "synthetic" / optimizer / "0"
    summary = json.loads((save / "summary.json").read_text())
    print(f"\n{optimizer}: best {summary['best']['op_indices']} objective {summary['best']['objective']} "
          f"evaluation {summary['evaluation']}")
    assert summary["optimizer"] == optimizer and (save / "errors.json").is_file()
    objective = summary["best"]["objective"]
    assert isinstance(objective, float) and math.isfinite(objective)
    trajectory = summary["trajectory"]["valid_acc"]
    assert len(trajectory) == summary["epochs"]
    assert trajectory[-1] == objective and trajectory == sorted(trajectory)  # the incumbent never gets worse
    # the returned cell, queried again through a fresh space and oracle, gives the same answer
    arch = _space()
    arch.set_spec(summary["best"]["op_indices"])
    if summary["oracle"]["kind"] == "tabular":
        api = get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY))
        assert arch.query(Metric.VAL_ACCURACY, "synthetic", dataset_api=api) == objective
        assert summary["evaluation"]["value"] == arch.query(Metric.TEST_ACCURACY, "synthetic", dataset_api=api)
    else:
        # the runner scores the networks it would train: the dataset's TrainConfig fills hidden_init_std
        hidden_init_std = TrainConfig.for_dataset("synthetic").hidden_init_std
        api = get_dataset_api("spiking_nb201", "synthetic", oracle="training_free", proxy="sahd",
                              network=dict(TINY_NET, num_classes=10, in_channels=3, multi_step=None,
                                           hidden_init_std=hidden_init_std), batch_size=16)
        assert arch.query(Metric.VAL_ACCURACY, "synthetic", dataset_api=api) == objective


def test_paper_search_trains_the_best_cell_on_the_fly(tmp_path):
    argv = ["--config-file", str(CONFIGS / "sahd_rs.yaml"), "out_dir", str(tmp_path), *TINY_NET_OPTS,
            "search.epochs", "3", "oracle.batch_size", "16", "oracle.num_batches", "1",
            "train.epochs", "1", "train.subset", "64", "train.val_subset", "32", "train.test_subset", "32",
            "train.batch_size", "16"]
    assert nas.main(argv) == 0
    summary = json.loads((tmp_path / "spiking_nb201" / "synthetic" / "rs" / "0" / "summary.json").read_text())
    value = summary["evaluation"]["value"]
    assert summary["evaluation"]["oracle"] == "on_the_fly" and 0.0 <= value <= 100.0
    cell = "-".join(map(str, summary["best"]["op_indices"]))
    metrics = tmp_path / "oracle_cache" / "spiking_nb201" / "synthetic" / cell / "metrics.json"
    assert json.loads(metrics.read_text())["final"]["test_accuracy"] == value
    assert len(list(metrics.parent.parent.iterdir())) == 2  # oracle.json and the one trained cell


# ---- zero-cost correlation runner ----------------------------------------------------------------------------
def test_zc_runner_writes_finite_kendalltau(tmp_path):
    argv = ["--config-file", str(CONFIGS / "zc_correlation.yaml"), "out_dir", str(tmp_path), *TINY_NET_OPTS,
            "oracle.benchmark", str(TINY), "test_size", "7", "batch_size", "16",
            "predictors", "['sahd', 'hd', 'synflow']"]
    assert zc.main(argv) == 0
    base = tmp_path / "zc_correlation" / "spiking_nb201" / "synthetic"
    summary = json.loads((base / "summary.json").read_text())
    assert set(summary["predictors"]) == {"sahd", "hd", "synflow"}
    for name, result in summary["predictors"].items():
        print(f"\n{name}: kendalltau {result['kendalltau']} spearman {result['spearman']}")
        assert math.isfinite(result["kendalltau"]) and math.isfinite(result["spearman"])
        assert result["n"] == 7
        assert result["kendalltau"] == pytest.approx(result["scipy"]["kendalltau"])
        scores = json.loads((base / name / "0" / "scores.json").read_text())[-1]  # NASLib's own file
        assert math.isfinite(scores["kendalltau"])
        assert sorted(scores["full_ytest"]) == sorted(api_val for api_val in _tiny_val_accuracies())


def _tiny_val_accuracies() -> list[float]:
    api = get_dataset_api("spiking_nb201", "synthetic", benchmark=str(TINY))["api"]
    return [api.query(spec, "val_accuracy") for spec in api]


def test_zc_runner_reads_a_zero_cost_table_and_computes_what_it_lacks(tmp_path):
    from naslib_snn.benchmarks.zc import arch_key, compute_zc, missing_entry, write_zc

    table = compute_zc(str(TINY), proxies=["sahd"], batch_size=8, num_batches=1, progress=False)
    cells = table["synthetic"]
    lacking = arch_key(AUTHORS_CIFAR100)
    cells[lacking]["sahd"] = missing_entry("left out by the test")
    write_zc(tmp_path / "zc.json", table)
    argv = ["--config-file", str(CONFIGS / "zc_correlation.yaml"), "out_dir", str(tmp_path), *TINY_NET_OPTS,
            "oracle.benchmark", str(TINY), "test_size", "7", "batch_size", "16", "predictors", "['sahd']",
            "zc_api", f"'{tmp_path / 'zc.json'}'"]
    assert zc.main(argv) == 0
    base = tmp_path / "zc_correlation" / "spiking_nb201" / "synthetic"
    result = json.loads((base / "summary.json").read_text())["predictors"]["sahd"]
    assert result["used_zc_api"] and result["n"] == 7 and math.isfinite(result["kendalltau"])
    predictions = json.loads((base / "sahd" / "0" / "scores.json").read_text())[-1]["full_testpred"]
    stored = [-1e9 if e["sahd"]["score"] == -math.inf else e["sahd"]["score"]  # NASLib's mapping of -inf
              for key, e in cells.items() if key != lacking]
    assert sorted(p for p in predictions if p in stored) == sorted(stored)  # read from the table
    assert len([p for p in predictions if p not in stored]) == 1  # the lacking cell, scored by ZeroCost
