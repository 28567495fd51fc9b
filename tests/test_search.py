"""Tests of naslib_snn.search: the paper's random search, its files, resumption and its CLI."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from naslib_snn import CellSpec, SpikingNB201Space
from naslib_snn.cli import main as cli_main
from naslib_snn.data import SCORING_SAMPLER
from naslib_snn.predictors.registry import PROXIES
from naslib_snn.search import (
    SearchConfig,
    _best_of,
    candidate_seed,
    random_search,
    scoring_batches,
)
from naslib_snn.utils.io import read_jsonl

REPO_ROOT = Path(__file__).resolve().parents[1]

# Tiny settings: synthetic 8x8 RGB images, C=4, B=8, T=2.
TINY = dict(dataset="synthetic", image_size=8, channels=4, batch_size=8, timesteps=2, candidates=4, seed=3)
TINY_ARGS = [
    "--dataset", "synthetic", "--image-size", "8", "--channels", "4", "--batch-size", "8",
    "--timesteps", "2", "--candidates", "4", "--seed", "3", "--no-progress",
]


def without_seconds(records: list[dict]) -> list[dict]:
    """Records minus their wall time, the only field that may differ between runs."""
    return [{key: value for key, value in record.items() if key != "seconds"} for record in records]


def file_records(out: Path) -> list[dict]:
    return sorted(read_jsonl(out / "results.jsonl"), key=lambda record: record["index"])


# ------------------------------------------------------------------------------ determinism


def test_candidate_seed_is_deterministic_distinct_and_in_range():
    seeds = {candidate_seed(seed, index) for seed in range(3) for index in range(50)}
    assert len(seeds) == 150
    assert all(0 <= value < 2**63 for value in seeds)
    assert candidate_seed(7, 11) == candidate_seed(7, 11)


def test_scoring_batches_depend_on_seed_only():
    config = SearchConfig(**{**TINY, "batches": 2})
    first, again = scoring_batches(config), scoring_batches(config)
    assert [b.shape for b in first] == [(8, 3, 8, 8), (8, 3, 8, 8)]
    assert all(b.dtype == np.float32 for b in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1])  # two batches, drawn without replacement
    other = scoring_batches(SearchConfig(**{**TINY, "seed": 4}))
    assert not np.array_equal(first[0], other[0])


def test_same_seed_gives_same_results_and_candidate_k_depends_only_on_seed_and_k():
    first = random_search(**TINY)
    again = random_search(**TINY)
    assert without_seconds(first.records) == without_seconds(again.records)
    assert [r["index"] for r in first.records] == [0, 1, 2, 3]
    expected = SpikingNB201Space(backward=True, require_path=True).sample_many(4, 3)
    assert [r["arch"] for r in first.records] == [spec.to_str() for spec in expected]
    assert all(math.isfinite(s) for s in first.scores)
    # A shorter run is a prefix of the longer one: candidate k does not depend on N.
    shorter = random_search(**{**TINY, "candidates": 2})
    assert without_seconds(shorter.records) == without_seconds(first.records[:2])
    other = random_search(**{**TINY, "seed": 4})
    assert [r["arch"] for r in other.records] != [r["arch"] for r in first.records]


def test_results_identical_with_one_and_two_worker_processes(tmp_path):
    one = random_search(**TINY, out_dir=tmp_path / "one", workers=1)
    two = random_search(**TINY, out_dir=tmp_path / "two", workers=2)
    assert without_seconds(one.records) == without_seconds(two.records)
    assert without_seconds([one.best]) == without_seconds([two.best])
    lines = list(read_jsonl(tmp_path / "two" / "results.jsonl"))
    assert sorted(r["index"] for r in lines) == [0, 1, 2, 3]  # each once, written by the parent
    assert without_seconds(file_records(tmp_path / "two")) == without_seconds(one.records)


# ------------------------------------------------------------------------------ files and best


def test_files_and_best_json_name_the_max_score_candidate(tmp_path):
    result = random_search(**TINY, out_dir=tmp_path)
    records = file_records(tmp_path)
    assert without_seconds(records) == without_seconds(result.records)
    for record in records:
        assert set(record) >= {"index", "arch", "op_indices", "matrix", "score", "has_backward", "seconds"}
        spec = CellSpec.from_op_indices(record["op_indices"])
        assert record["arch"] == spec.to_str() and record["matrix"] == spec.matrix_str()
        assert record["has_backward"] == spec.has_backward
    top = max(records, key=lambda r: r["score"])
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["index"] == top["index"] == result.best["index"]
    assert best["arch"] == top["arch"] and best["score"] == top["score"]
    assert best["matrix"] == CellSpec.from_op_indices(best["op_indices"]).matrix_str()
    assert best["complete"] is True and best["scored"] == 4
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["seed"] == 3 and config["image_size"] == 8 and config["metric"] == "sahd"
    assert len(config["images_sha256"]) == 64


def test_ties_go_to_the_lowest_index_and_minus_inf_loses():
    records = [
        {"index": 3, "score": 5.0},
        {"index": 1, "score": -math.inf},
        {"index": 2, "score": 5.0},
        {"index": 0, "score": 4.0},
    ]
    assert _best_of(records)["index"] == 2
    assert _best_of(records[::-1])["index"] == 2
    assert _best_of([{"index": 4, "score": -math.inf}, {"index": 2, "score": -math.inf}])["index"] == 2
    assert _best_of([]) is None


def test_silent_network_score_minus_inf_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setitem(PROXIES, "test_silent", lambda network, inputs, **kw: -math.inf)
    result = random_search(**{**TINY, "metric": "test_silent"}, out_dir=tmp_path)
    assert result.scores == [-math.inf] * 4
    assert result.best["index"] == 0  # all tied: the lowest index wins
    raw = (tmp_path / "results.jsonl").read_text()
    assert raw.count('"score": "-inf"') == 4 and "NaN" not in raw
    assert json.loads((tmp_path / "best.json").read_text())["score"] == "-inf"


def test_nan_score_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(PROXIES, "test_nan", lambda network, inputs, **kw: math.nan)
    with pytest.raises(FloatingPointError, match="returned NaN for candidate 0"):
        random_search(**{**TINY, "metric": "test_nan"}, out_dir=tmp_path)
    assert not (tmp_path / "results.jsonl").exists()


# ------------------------------------------------------------------------------ resumption


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    # Slower candidates (~0.1 s each) than TINY, so that the kill lands mid-run.
    args = [
        "--dataset", "synthetic", "--image-size", "16", "--channels", "8", "--batch-size", "16",
        "--timesteps", "3", "--candidates", "6", "--seed", "5", "--no-progress",
    ]
    out = tmp_path / "killed"
    results = out / "results.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "naslib_snn.cli", "search", *args, "--out", str(out)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while not (results.exists() and results.read_bytes().count(b"\n") >= 1):
            assert proc.poll() is None, f"search exited early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no result within 120 s"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    interrupted = list(read_jsonl(results))
    assert 1 <= len(interrupted) < 6, "the kill must land before the run finished"

    assert cli_main(["search", *args, "--out", str(out), "--resume"]) == 0
    reference = random_search(
        dataset="synthetic", image_size=16, channels=8, batch_size=16, timesteps=3, candidates=6, seed=5
    )
    lines = list(read_jsonl(results))
    assert sorted(r["index"] for r in lines) == list(range(6))  # no index twice
    assert without_seconds(file_records(out)) == without_seconds(reference.records)
    best = json.loads((out / "best.json").read_text())
    assert (best["index"], best["arch"], best["score"]) == (
        reference.best["index"], reference.best["arch"], reference.best["score"]
    )


def test_torn_last_line_is_repaired_and_rescored_on_resume(tmp_path):
    full = random_search(**TINY, out_dir=tmp_path)
    results = tmp_path / "results.jsonl"
    data = results.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    results.write_bytes(data[: last_start + 25])  # a kill mid-write of the last record
    torn_index = json.loads(data[last_start:])["index"]

    resumed = random_search(**TINY, out_dir=tmp_path, resume=True)
    assert resumed.scored_now == 1
    assert resumed.records[torn_index]["index"] == torn_index
    text = results.read_text()
    assert text.endswith("\n") and all(json.loads(line) for line in text.splitlines())
    assert without_seconds(file_records(tmp_path)) == without_seconds(full.records)


def test_resume_of_a_finished_run_scores_nothing_and_may_add_candidates(tmp_path):
    first = random_search(**TINY, out_dir=tmp_path)
    again = random_search(**TINY, out_dir=tmp_path, resume=True)
    assert again.scored_now == 0 and again.best == first.best
    more = random_search(**{**TINY, "candidates": 6}, out_dir=tmp_path, resume=True)
    assert more.scored_now == 2
    assert without_seconds(more.records) == without_seconds(random_search(**{**TINY, "candidates": 6}).records)
    assert json.loads((tmp_path / "config.json").read_text())["candidates"] == 6


# ------------------------------------------------------------------------------ command line


def test_cli_runs_a_search_and_prints_the_winner(tmp_path, capsys):
    assert cli_main(["search", *TINY_ARGS, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["arch"] in printed and best["matrix"] in printed
    assert str(tuple(best["op_indices"])) in printed
    assert str(tmp_path / "results.jsonl") in printed
    assert len(list(read_jsonl(tmp_path / "results.jsonl"))) == 4


def test_cli_forward_only_and_authors_sampler(tmp_path):
    assert cli_main(["search", *TINY_ARGS, "--forward-only", "--out", str(tmp_path / "fw")]) == 0
    assert not any(r["has_backward"] for r in read_jsonl(tmp_path / "fw" / "results.jsonl"))
    assert json.loads((tmp_path / "fw" / "config.json").read_text())["backward"] is False
    assert cli_main(["search", *TINY_ARGS, "--sampler", "authors", "--out", str(tmp_path / "au")]) == 0
    records = list(read_jsonl(tmp_path / "au" / "results.jsonl"))
    # The authors' generator always keeps a forward op on the direct 0->3 pair.
    assert all(CellSpec.from_op_indices(r["op_indices"]).to_matrix()[0, 3] != 0 for r in records)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--candidates", "0", "candidates must be >= 1, got 0"),
        ("--workers", "0", "workers must be >= 1, got 0"),
        ("--batch-size", "-1", "batch_size must be >= 1, got -1"),
        ("--batches", "0", "batches must be >= 1, got 0"),
        ("--seed", "-2", "seed must be >= 0, got -2"),
    ],
)
def test_cli_rejects_bad_counts(tmp_path, capsys, flag, value, message):
    assert cli_main(["search", *TINY_ARGS, flag, value, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_rejects_unknown_metric_and_dataset(capsys):
    for flag, value in (("--metric", "nope"), ("--dataset", "mnist_typo")):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["search", flag, value])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"invalid choice: '{value}'" in err and ("sahd" in err or "digits" in err)


def test_api_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"unknown metric 'nope'; expected one of .*sahd"):
        SearchConfig(metric="nope")
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist_typo'; known datasets: .*digits"):
        SearchConfig(dataset="mnist_typo")
    with pytest.raises(ValueError, match="candidates must be >= 1, got -5"):
        SearchConfig(candidates=-5)
    with pytest.raises(ValueError, match="image_size must be >= 4, got 3"):
        SearchConfig(image_size=3)
    with pytest.raises(TypeError, match="channels must be an int"):
        SearchConfig(channels=2.5)
    with pytest.raises(ValueError, match="cannot be used with backward=False"):
        SearchConfig(sampler="authors", backward=False)
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        random_search(**TINY, workers=0)
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        random_search(**TINY, executor="dask")
    with pytest.raises(ValueError, match=r"batch size 400 x 2 batches = 800 scoring images, more than the 512 train"):
        random_search(**{**TINY, "batch_size": 400, "batches": 2})


def test_missing_data_dir_is_named(tmp_path, capsys):
    missing = tmp_path / "no_cifar_here"
    assert cli_main(["search", "--dataset", "cifar10", "--data-dir", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "does not exist" in err and "Expected layout" in err
    with pytest.raises(FileNotFoundError, match="no_cifar_here"):
        random_search(dataset="cifar10", data_dir=str(missing), candidates=1)


def test_existing_results_without_resume_are_not_overwritten(tmp_path, capsys):
    random_search(**TINY, out_dir=tmp_path)
    before = (tmp_path / "results.jsonl").read_bytes()
    assert cli_main(["search", *TINY_ARGS, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already holds 4 results" in err and "--resume" in err and "another --out" in err
    assert (tmp_path / "results.jsonl").read_bytes() == before


def test_resume_with_other_settings_is_refused(tmp_path, capsys):
    random_search(**{**TINY, "candidates": 2}, out_dir=tmp_path)
    before = (tmp_path / "config.json").read_bytes()
    other = [*TINY_ARGS, "--seed", "9", "--metric", "hd"]  # the last --seed wins
    assert cli_main(["search", *other, "--out", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "seed (saved 3, now 9)" in err and "metric (saved 'sahd', now 'hd')" in err
    assert "would mix results" in err
    with pytest.raises(ValueError, match="started with 2; use at least that many"):
        random_search(**{**TINY, "candidates": 1}, out_dir=tmp_path, resume=True)
    assert (tmp_path / "config.json").read_bytes() == before


def test_resume_of_a_run_scored_by_the_old_image_sampler_is_refused(tmp_path, capsys):
    random_search(**{**TINY, "candidates": 2}, out_dir=tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["scoring_sampler"] == SCORING_SAMPLER
    # config.json as naslib_snn 0.1.0 wrote it: no sampler entry, the hash of other images
    del config["scoring_sampler"]
    config["images_sha256"] = "0" * 64
    (tmp_path / "config.json").write_text(json.dumps(config))
    before = (tmp_path / "results.jsonl").read_bytes()
    with pytest.raises(ValueError, match="started before the scoring images were drawn by naslib_snn.data.scoring"):
        random_search(**TINY, out_dir=tmp_path, resume=True)
    assert cli_main(["search", *TINY_ARGS, "--out", str(tmp_path), "--resume"]) == 2
    assert "scored on other images" in capsys.readouterr().err
    assert (tmp_path / "results.jsonl").read_bytes() == before


def test_resume_refuses_results_of_another_run(tmp_path):
    random_search(**TINY, out_dir=tmp_path)
    records = list(read_jsonl(tmp_path / "results.jsonl"))
    records[1]["arch"] = records[0]["arch"]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(ValueError, match="candidate 1 is .* belongs to another run"):
        random_search(**TINY, out_dir=tmp_path, resume=True)


def test_ray_executor_without_ray_names_the_extra(capsys):
    try:
        import ray  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("Ray is installed")
    with pytest.raises(ImportError, match=r"pip install naslib-snn\[ray\]"):
        random_search(**TINY, executor="ray")
    assert cli_main(["search", *TINY_ARGS, "--executor", "ray"]) == 2
    assert "pip install naslib-snn[ray]" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_executor_gives_the_same_results():
    ray = pytest.importorskip("ray")
    try:
        ray.init(local_mode=True, include_dashboard=False)
    except RuntimeError:  # Ray >= 2.4x dropped local mode: a one-CPU local instance instead
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = random_search(**TINY, executor="ray", workers=2)
    finally:
        ray.shutdown()
    assert without_seconds(on_ray.records) == without_seconds(random_search(**TINY).records)
