"""A fake trainer that records each call and can be held mid-training, for the on-the-fly oracle's lock test.

``slow_fake_train`` appends ``<pid> start`` and ``<pid> end`` lines to $FAKE_TRAIN_LOG around
:func:`fake_trainer.fake_train`. While $FAKE_TRAIN_RELEASE names a file that does not exist yet it
waits for it (at most 60 s), so a test can keep one process "training" while a second one asks
for the same cell.

Run as a script: ``slow_fake_trainer.py CACHE_DIR OP_INDICES READY_FILE`` builds an on-the-fly
oracle on CACHE_DIR, touches READY_FILE, queries the cell's val_accuracy and prints it as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fake_trainer import fake_train  # noqa: E402


def _log(event: str) -> None:
    with open(os.environ["FAKE_TRAIN_LOG"], "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {event}\n")


def slow_fake_train(spec, config, out_dir=None, resume=False, progress=True):
    _log("start")
    release = os.environ.get("FAKE_TRAIN_RELEASE")
    deadline = time.monotonic() + 60
    while release and not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    result = fake_train(spec, config, out_dir=out_dir, resume=resume, progress=progress)
    _log("end")
    return result


if __name__ == "__main__":
    from naslib_snn import CellSpec
    from naslib_snn.oracles import OnTheFlyOracle
    from naslib_snn.train import TrainConfig

    cache_dir, op_indices, ready = sys.argv[1], sys.argv[2], sys.argv[3]
    oracle = OnTheFlyOracle(TrainConfig.for_dataset("synthetic", epochs=1), cache_dir, train_fn=slow_fake_train,
                            estimate=False)
    spec = CellSpec(tuple(int(code) for code in op_indices.split(",")))
    Path(ready).write_text(str(os.getpid()))
    print(json.dumps({"pid": os.getpid(), "val_accuracy": oracle.query(spec, "val_accuracy")}))
