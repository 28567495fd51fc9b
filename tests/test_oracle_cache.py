"""The on-the-fly oracle's cache shared between processes, its announcements, and the missing dataset_api error.

Runs without NASLib: the oracle trains with the fake trainers of ``tests/assets``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from naslib_snn import AUTHORS_CIFAR100, CellSpec
from naslib_snn.oracles import (
    LOCK_FILE,
    MissingDatasetAPIError,
    OnTheFlyOracle,
    TrainingEstimate,
    estimate_training,
    format_seconds,
    resolve_oracle,
)
from naslib_snn.train import TrainConfig
from naslib_snn.utils.locks import LockTimeout, file_lock

ASSETS = Path(__file__).parent / "assets"
sys.path.insert(0, str(ASSETS))

from fake_trainer import fake_accuracy, fake_train  # noqa: E402

CELL = CellSpec((2, 6, 3, 2, 1, 2))
# A recipe small enough to time in well under a second: 64 training images, 8x8, C=4, T=2.
TINY_RECIPE = dict(epochs=2, subset=64, val_subset=32, test_subset=16, batch_size=16, eval_batch_size=16,
                   channels=4, timesteps=2, image_size=8, hidden=32, vote=2)


# ---- the missing dataset_api ---------------------------------------------------------------------------------
def test_querying_without_a_dataset_api_is_both_notimplemented_and_valueerror():
    message = ("querying a spiking cell needs a dataset_api; build one with "
               "naslib_snn.oracles.get_dataset_api('spiking_nb201', dataset, oracle=...)")
    with pytest.raises(MissingDatasetAPIError) as info:
        resolve_oracle(None)
    assert str(info.value) == message  # the message of earlier releases
    assert isinstance(info.value, NotImplementedError) and isinstance(info.value, ValueError)
    # code written to NASLib's convention catches it, and so does code written to ours
    for convention in (NotImplementedError, ValueError):
        try:
            resolve_oracle(None)
        except convention as err:
            assert str(err) == message
    # a dataset_api of the wrong kind stays a plain ValueError
    with pytest.raises(ValueError, match="expected a dataset_api dict") as info:
        resolve_oracle(42)
    assert not isinstance(info.value, NotImplementedError)


# ---- the per-cell lock ---------------------------------------------------------------------------------------
def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_processes_sharing_a_cache_train_a_cell_once(tmp_path):
    """Process A trains the cell and is held mid-training; B asks for the same cell, waits for A's
    lock, and then reads A's result instead of training the cell a second time."""
    cache, log, release = tmp_path / "cache", tmp_path / "train.log", tmp_path / "release"
    env = {**os.environ, "FAKE_TRAIN_LOG": str(log), "FAKE_TRAIN_RELEASE": str(release), "OMP_NUM_THREADS": "1"}
    script = str(ASSETS / "slow_fake_trainer.py")
    cell = ",".join(map(str, CELL.op_indices))

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, script, str(cache), cell, str(tmp_path / f"{name}.ready")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start("a")
    second = None
    try:
        _wait_for(lambda: log.is_file() and "start" in log.read_text(), 60, "A to start training")
        second = start("b")
        _wait_for(lambda: (tmp_path / "b.ready").is_file(), 60, "B to ask for the cell")
        time.sleep(1.0)  # B is inside oracle.query now: blocked on the lock, or (without a lock) training too
        assert second.poll() is None, "B must wait while A trains the cell"
        assert log.read_text().split() == [str(first.pid), "start"], "B started training a cell A holds"
        release.write_text("go")
        outputs = [proc.communicate(timeout=60) for proc in (first, second)]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in (first, second)] == [0, 0], [err for _, err in outputs]
    answers = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert log.read_text().splitlines() == [f"{first.pid} start", f"{first.pid} end"]  # trained once, by A
    expected = fake_accuracy(CELL.op_indices, 0) - 1  # fake_train's final val_top1
    assert [a["val_accuracy"] for a in answers] == [expected, expected]
    folder = cache / "-".join(map(str, CELL.op_indices))
    assert json.loads((folder / "metrics.json").read_text())["final"]["val_accuracy"] == expected
    assert (folder / LOCK_FILE).is_file()


def test_a_stale_lock_file_left_by_a_killed_process_does_not_block_training(tmp_path):
    config = TrainConfig.for_dataset("synthetic", epochs=1)
    calls = []

    def train(spec, cfg, out_dir=None, resume=False, progress=True):
        calls.append(spec)
        return fake_train(spec, cfg, out_dir=out_dir, resume=resume, progress=progress)

    oracle = OnTheFlyOracle(config, tmp_path, train_fn=train, estimate=False, announce=lambda line: None)
    oracle.cell_dir(CELL).mkdir(parents=True)
    (oracle.cell_dir(CELL) / LOCK_FILE).write_text("12345")  # a lock file left behind by a killed process
    assert oracle.query(CELL, "val_accuracy") == fake_accuracy(CELL.op_indices, 0) - 1
    assert calls == [CELL]


def test_file_lock_excludes_a_second_holder_and_names_the_first(tmp_path):
    path = tmp_path / "sub" / "cell.lock"
    with file_lock(path):
        code = ("import sys; from naslib_snn.utils.locks import file_lock, LockTimeout\n"
                "try:\n    with file_lock(sys.argv[1], blocking=False): print('acquired')\n"
                "except LockTimeout as err: print('refused:', err)\n")
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == f"refused: {path} is locked by another process (pid {os.getpid()})"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "acquired"
    with file_lock(path, blocking=False):  # released: this process takes it again at once
        pass
    assert issubclass(LockTimeout, TimeoutError)


# ---- announcing the training ------------------------------------------------------------------------------------
def test_training_is_announced_before_it_starts_and_only_when_it_happens(tmp_path):
    config = TrainConfig.for_dataset("synthetic", **TINY_RECIPE)
    lines: list[str] = []
    seen_at_start: list[int] = []

    def train(spec, cfg, out_dir=None, resume=False, progress=True):
        seen_at_start.append(len(lines))
        return fake_train(spec, cfg, out_dir=out_dir, resume=resume, progress=progress)

    oracle = OnTheFlyOracle(config, tmp_path, train_fn=train, announce=lines.append)
    oracle.query(CELL, "val_accuracy")
    assert seen_at_start == [1]  # the line came before the training
    pattern = (rf"on-the-fly oracle: training {re.escape(CELL.to_str())} on synthetic: 2 epochs x 4 steps of 16 "
               rf"images \(\+ 48 evaluation images per epoch\), roughly \d+ (s|min|h); results cached in "
               rf"{re.escape(str(oracle.cell_dir(CELL)))}$")
    assert re.match(pattern, lines[0]), lines[0]
    oracle.query(CELL, "test_accuracy")  # answered from memory
    OnTheFlyOracle(config, tmp_path, train_fn=train, announce=lines.append).query(CELL, "val_accuracy")  # from disk
    assert len(lines) == 1 and seen_at_start == [1]


def test_announcement_without_estimate_names_the_cell_and_the_cache(tmp_path):
    lines: list[str] = []
    oracle = OnTheFlyOracle(TrainConfig.for_dataset("synthetic", epochs=1), tmp_path, train_fn=fake_train,
                            announce=lines.append, estimate=False)
    oracle.query(CELL, "val_accuracy")
    assert lines == [f"on-the-fly oracle: training {CELL.to_str()} on synthetic; results cached in "
                     f"{oracle.cell_dir(CELL)}"]


def test_estimate_counts_the_recipe_and_leaves_the_global_rng_alone():
    config = TrainConfig.for_dataset("synthetic", **TINY_RECIPE)
    state = torch.random.get_rng_state()
    estimate = estimate_training(AUTHORS_CIFAR100, config)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert isinstance(estimate, TrainingEstimate)
    assert (estimate.epochs, estimate.steps_per_epoch, estimate.batch_size) == (2, 4, 16)
    assert (estimate.train_images, estimate.eval_images) == (64, 48)
    assert 0 < estimate.seconds < 600
    no_val = TrainConfig.for_dataset("synthetic", **{**TINY_RECIPE, "val_subset": 0, "subset": 65})
    assert estimate_training(CELL, no_val).steps_per_epoch == 5  # 65 images: the last step is partial
    assert estimate_training(CELL, no_val).eval_images == 16
    with pytest.raises(ValueError, match="probe_steps"):
        estimate_training(CELL, config, probe_steps=0)


@pytest.mark.parametrize("seconds, text", [(0.2, "1 s"), (40, "40 s"), (89, "89 s"), (250, "4 min"),
                                           (5339, "89 min"), (9000, "2.5 h")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


# ---- get_dataset_api(oracle="on_the_fly") -----------------------------------------------------------------------
def test_get_dataset_api_builds_an_on_the_fly_oracle(tmp_path):
    from naslib_snn.oracles import get_dataset_api

    api = get_dataset_api("spiking_nb201", "synthetic", oracle="on_the_fly", config={"epochs": 1},
                          cache_dir=tmp_path, train_fn=fake_train, estimate=False, announce=lambda line: None)
    oracle = api["oracle"]
    assert isinstance(oracle, OnTheFlyOracle) and oracle.dataset == "synthetic" and oracle.config.epochs == 1
    assert oracle.query(CELL, "val_accuracy") == fake_accuracy(CELL.op_indices, 0) - 1
    with pytest.raises(ValueError, match="the on_the_fly oracle needs config="):
        get_dataset_api("spiking_nb201", "synthetic", oracle="on_the_fly", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="config trains on 'digits', not on dataset 'synthetic'"):
        get_dataset_api("spiking_nb201", "synthetic", oracle="on_the_fly", config=TrainConfig.for_dataset("digits"),
                        cache_dir=tmp_path / "other")
