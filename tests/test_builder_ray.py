"""``naslib-snn benchmark build --executor ray``: the same runs as the local executor, and clean Ray errors.

A fake ``ray`` module (tests/test_search_ray.py's, running every task inline) stands in for Ray, so
neither Ray nor a cluster is needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from naslib_snn.benchmarks import builder
from naslib_snn.cli import main as cli_main

sys.path.insert(0, str(Path(__file__).parent / "assets"))
import fake_trainer  # noqa: E402  (a test asset)
from test_search_ray import FakeRay  # noqa: E402


@pytest.fixture
def fake_ray(monkeypatch):
    def install(init_error=None):
        module = FakeRay(init_error)
        monkeypatch.setitem(sys.modules, "ray", module)
        return module
    return install


def _results(out: Path) -> dict:
    return {(i, s): r["result"]["final"] for (i, s), r in builder.finished_runs(out).items()}


def test_ray_executor_records_the_same_runs_as_local(tmp_path, fake_ray):
    ray = fake_ray()
    kwargs = dict(plan=fake_trainer.tiny_plan(), train_fn=fake_trainer.fake_train, config_fn=dict, progress=False)
    counts = builder.build(tmp_path / "ray", executor="ray", workers=2, **kwargs)
    builder.build(tmp_path / "local", **kwargs)
    assert counts == {"planned": 4, "done": 4, "trained": 4, "remaining": 0}
    assert _results(tmp_path / "ray") == _results(tmp_path / "local")
    assert ray.calls == [("init", None), ("shutdown",)]  # a session it started, it stops


def test_ray_executor_keeps_a_session_the_caller_started(tmp_path, fake_ray):
    ray = fake_ray()
    ray.initialized = True
    builder.build(tmp_path / "b", plan=fake_trainer.tiny_plan(), train_fn=fake_trainer.fake_train, config_fn=dict,
                  progress=False, executor="ray", max_runs=1)
    assert ray.calls == [] and ray.initialized
    assert len(builder.finished_runs(tmp_path / "b")) == 1


def test_cli_ray_failure_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, fake_ray):
    fake_ray(ConnectionError("Failed to connect to Ray cluster at 10.1.2.3:6379\nmore of Ray's text"))
    out = tmp_path / "build"
    status = cli_main(["benchmark", "build", "--out", str(out), "--cells", "3", "--repeat-seeds", "1",
                       "--executor", "ray", "--ray-address", "10.1.2.3:6379", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("naslib-snn benchmark build: error: cannot join the Ray cluster at '10.1.2.3:6379'")
    assert len(err.strip().splitlines()) == 1 and "RAY_AUTH_MODE=token" in err
    assert not out.exists()


def test_unknown_executor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown executor 'dask'; expected one of local, ray"):
        builder.build(tmp_path, plan=fake_trainer.tiny_plan(), executor="dask")
    assert not any(tmp_path.iterdir())
