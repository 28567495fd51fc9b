"""docs/naslib.md's walkthrough runs as written: every ```bash block, in order, in a fresh directory.

Needs NASLib and the Fashion-MNIST files (skipped without them); takes a few minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("naslib")

from naslib_snn.data import dataset_info  # noqa: E402

pytestmark = [pytest.mark.naslib, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "naslib.md"


def walkthrough_commands() -> list[str]:
    """The doc's ```bash blocks, in order."""
    return re.findall(r"^```bash\n(.*?)^```$", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_doc_has_the_four_steps():
    commands = walkthrough_commands()
    assert len(commands) == 4
    assert "naslib_snn.runners.zc" in commands[0] and "configs/zc_correlation.yaml" in commands[0]
    assert "naslib_snn.runners.nas" in commands[1] and "configs/sahd_re.yaml" in commands[1]
    assert 'oracle="on_the_fly"' in commands[2] and "cell.query(" in commands[2]
    assert "summary.json" in commands[3]


def test_walkthrough_runs_as_written(tmp_path):
    fashion = Path(dataset_info("fashion_mnist").default_data_dir)
    if not any(fashion.glob("train-images-idx3-ubyte*")):
        pytest.skip(f"no Fashion-MNIST files in {fashion} (apt install dataset-fashion-mnist)")
    (tmp_path / "configs").symlink_to(REPO / "configs")  # "from the root of the checkout", without writing there
    # `python` in the commands is this environment's (the one with NASLib)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "OMP_NUM_THREADS": "1"}
    outputs = []
    for number, command in enumerate(walkthrough_commands(), start=1):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"step {number} failed:\n{command}\n{done.stderr[-3000:]}"
        outputs.append(done)
    zc_out, _, evaluate, read = outputs
    for name in ("sahd", "hd", "synflow"):
        assert re.search(rf"^{name} +kendalltau -?\d", zc_out.stdout, re.M), zc_out.stdout[-2000:]
    runs = tmp_path / "runs" / "walkthrough"
    nas = json.loads((runs / "spiking_nb201" / "fashion_mnist" / "re" / "0" / "summary.json").read_text())
    assert len(nas["trajectory"]["valid_acc"]) == 40 and nas["evaluation"]["oracle"] == "none"
    cell = "-".join(map(str, nas["best"]["op_indices"]))
    trained = json.loads((runs / "oracle_cache" / cell / "metrics.json").read_text())
    assert trained["op_indices"] == nas["best"]["op_indices"] and len(trained["history"]) == 1
    accuracies = re.findall(r"^Metric\.(VAL|TEST)_ACCURACY (\d+\.\d+)$", evaluate.stdout, re.M)
    assert [(m, float(v)) for m, v in accuracies] == [("VAL", trained["final"]["val_accuracy"]),
                                                       ("TEST", trained["final"]["test_accuracy"])]
    assert f"on-the-fly oracle: training {nas['best']['arch']} on fashion_mnist: 1 epochs x 32 steps" in evaluate.stderr
    assert f"best cell {nas['best']['arch']}" in read.stdout and "summary.json" in read.stdout
