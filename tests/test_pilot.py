"""naslib-snn benchmark pilot: noise ceiling, accuracies and cost of recipe builds, checked by hand."""

import subprocess
import sys
from pathlib import Path

import pytest

from naslib_snn import parse_arch
from naslib_snn.benchmarks import builder
from naslib_snn.benchmarks.pilot import markdown_table, summarize_build

ASSETS = Path(__file__).parent / "assets"
sys.path.insert(0, str(ASSETS))
import fake_trainer  # noqa: E402  (a test asset: accuracy = 10 + sum(op_indices) + 0.5 * seed)


def _build(out: Path, repeats: int) -> Path:
    plan = builder.make_plan(cells=[parse_arch(c) for c in fake_trainer.CELLS], num_repeats=repeats,
                             recipe={"dataset": "synthetic", "epochs": 3}, name="pilot_test")
    builder.build(out, plan=plan, train_fn=fake_trainer.fake_train, config_fn=dict, progress=False)
    return out


def test_summary_by_hand(tmp_path):
    summary = summarize_build(_build(tmp_path / "a", repeats=3))
    # seed-0 accuracies 10 + (16, 13, 15) = 26, 23, 25; seed 1 adds 0.5 to each, so the ranks agree
    assert summary["runs_finished"] == summary["runs_planned"] == 6
    assert summary["pairs"] == 3
    assert summary["noise_ceiling_kendall"] == pytest.approx(1.0)
    assert summary["mean_abs_seed_difference"] == pytest.approx(0.5)
    assert summary["test_accuracy_quartiles"] == pytest.approx([24.0, 25.0, 25.5])
    assert summary["train_accuracy_median"] == pytest.approx(30.0)  # the fake's train top-1 is test + 5
    cpu = summary["cpu_seconds_median"]
    assert cpu is not None and summary["full_build_cpu_hours"] == pytest.approx(300 * cpu / 3600)


def test_unfinished_build_and_table(tmp_path):
    summary = summarize_build(_build(tmp_path / "b", repeats=1))
    assert summary["pairs"] == 1 and summary["noise_ceiling_kendall"] is None  # fewer than 3 pairs: no tau
    table = markdown_table([summary, summarize_build(_build(tmp_path / "c", repeats=3))])
    rows = table.strip().splitlines()
    assert len(rows) == 4 and rows[2].startswith("| b: ") and "| n/a |" in rows[2]
    assert "+1.000" in rows[3]


def test_cli_writes_the_table_and_reports_a_missing_build(tmp_path):
    build = _build(tmp_path / "a", repeats=3)
    out = tmp_path / "pilot.md"
    done = subprocess.run([sys.executable, "-m", "naslib_snn.cli", "benchmark", "pilot", str(build), "--markdown",
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == done.stdout and "| a: " in done.stdout
    missing = subprocess.run([sys.executable, "-m", "naslib_snn.cli", "benchmark", "pilot", str(tmp_path / "none")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "naslib-snn benchmark pilot: error:" in missing.stderr
