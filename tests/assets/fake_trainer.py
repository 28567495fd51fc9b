"""A fake trainer with the result layout of ``naslib_snn.train.train``, for the builder tests.

It "trains" for EPOCHS epochs, writing ``out_dir/checkpoint.pt`` (JSON, not torch) after each, and
resumes from it. Its accuracy is a known function of the cell and the seed. With the environment
variable FAKE_TRAIN_HANG=<suffix of a run dir>, the run whose out_dir ends so writes the file
``hanging`` after its first epoch and sleeps, so that a test can SIGKILL the build mid-run.

Run as a script, it builds the tiny benchmark of :data:`CELLS` into ``sys.argv[1]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

EPOCHS = 3
CELLS = ("2,6,3,2,1,2", "3,2,3,1,4,0", "0,4,1,7,1,2")


def fake_accuracy(op_indices, seed: int) -> float:
    return 10.0 + sum(op_indices) + 0.5 * seed


def fake_train(spec, config, out_dir=None, resume=False, progress=True):
    out = Path(out_dir)
    checkpoint = out / "checkpoint.pt"
    start = json.loads(checkpoint.read_text())["epoch"] if resume and checkpoint.exists() else 0
    seed = config["seed"] if isinstance(config, dict) else config.seed
    accuracy = fake_accuracy(spec.op_indices, seed)
    history = []
    for epoch in range(EPOCHS):
        frac = (epoch + 1) / EPOCHS
        history.append({
            "epoch": epoch + 1, "lr": 0.1 / (epoch + 1),
            "train_loss": 2.0 - frac, "train_top1": accuracy * frac + 5, "train_top5": 90.0,
            "val_loss": 2.1 - frac, "val_top1": accuracy * frac - 1, "val_top5": 88.0,
            "test_loss": 2.2 - frac, "test_top1": accuracy * frac, "test_top5": 87.0,
            "firing_rate": {"cell1.a": 0.1 * frac, "cell1.b": 0.3 * frac}, "mean_firing_rate": 0.2 * frac,
            "steps": 4, "train_seconds": 0.5, "eval_seconds": 0.5, "epoch_seconds": 1.0,
        })
    for epoch in range(start, EPOCHS):
        tmp = out / "checkpoint.tmp"
        tmp.write_text(json.dumps({"epoch": epoch + 1}))
        os.replace(tmp, checkpoint)
        hang = os.environ.get("FAKE_TRAIN_HANG")
        if hang and str(out).endswith(hang) and epoch == 0:
            (out / "hanging").write_text("1")
            time.sleep(120)
    last = history[-1]
    return {
        "arch": spec.to_str(),
        "op_indices": list(spec.op_indices),
        "config": dict(config) if isinstance(config, dict) else {"seed": seed},
        "history": history,
        "final": {
            "test_accuracy": last["test_top1"], "test_top5": 87.0, "test_loss": last["test_loss"],
            "val_accuracy": last["val_top1"], "val_top5": 88.0, "val_loss": last["val_loss"],
            "train_accuracy": last["train_top1"], "train_top5": 90.0, "train_loss": last["train_loss"],
            "best_val_accuracy": last["val_top1"], "epochs": EPOCHS, "params": 1000 + sum(spec.op_indices),
            "firing_rate": dict(last["firing_rate"]), "mean_firing_rate": last["mean_firing_rate"],
            "train_seconds": 3.0,
        },
        "resumed_from_epoch": start,
    }


def tiny_plan():
    from naslib_snn import parse_arch
    from naslib_snn.benchmarks.builder import make_plan

    return make_plan(cells=[parse_arch(c) for c in CELLS], num_repeats=1, recipe={"dataset": "synthetic"},
                     name="tiny_build")


if __name__ == "__main__":
    from naslib_snn.benchmarks.builder import build

    build(sys.argv[1], plan=tiny_plan(), resume=True, train_fn=fake_train, config_fn=dict, progress=False)
