"""``naslib-snn search --executor ray``: a Ray that cannot start or join is a one-line error with exit 2.

Most tests put a fake ``ray`` module in ``sys.modules``, so they need neither Ray nor a cluster; the
last one uses the real Ray's AuthenticationError and is skipped without Ray.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from naslib_snn.cli import main as cli_main
from naslib_snn.search import RAY_TOKEN_HINT, RayConnectionError, random_search
from naslib_snn.utils.threads import torch_threads

TINY = dict(dataset="synthetic", image_size=8, channels=4, batch_size=8, timesteps=2, candidates=3, seed=3)
TINY_ARGS = [
    "--dataset", "synthetic", "--image-size", "8", "--channels", "4", "--batch-size", "8",
    "--timesteps", "2", "--candidates", "3", "--seed", "3", "--no-progress",
]
ADDRESS = "10.1.2.3:6379"


class FakeRay(types.ModuleType):
    """Enough of Ray's API for naslib_snn.search, running every task inline; ``init`` may raise."""

    def __init__(self, init_error: BaseException | None = None) -> None:
        super().__init__("ray")
        self.init_error = init_error
        self.initialized = False
        self.calls: list[tuple] = []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, address=None, **kwargs) -> None:
        self.calls.append(("init", address))
        if self.init_error is not None:
            raise self.init_error
        self.initialized = True

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))
        self.initialized = False

    def remote(self, **options):
        def wrap(fn):
            return types.SimpleNamespace(remote=lambda *args: fn(*args))
        return wrap

    def put(self, value):
        return value

    def wait(self, refs, num_returns=1):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref


@pytest.fixture
def fake_ray(monkeypatch):
    def install(init_error: BaseException | None = None) -> FakeRay:
        module = FakeRay(init_error)
        monkeypatch.setitem(sys.modules, "ray", module)
        return module
    # the fake runs Ray tasks in this process, and a task sets torch's thread count as a Ray worker
    # would; put it back so later tests see the session's setting
    with torch_threads(None):
        yield install


AUTH_FAILURE = ConnectionError("Failed to connect to Ray cluster at 10.1.2.3:6379\nsecond line of Ray's message")


def test_cli_reports_a_failed_join_on_one_stderr_line_with_exit_2_and_writes_nothing(tmp_path, capsys, fake_ray):
    ray = fake_ray(AUTH_FAILURE)
    out = tmp_path / "run"
    status = cli_main(["search", *TINY_ARGS, "--executor", "ray", "--ray-address", ADDRESS, "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err == (f"naslib-snn search: error: cannot join the Ray cluster at '{ADDRESS}' (ConnectionError: "
                            f"Failed to connect to Ray cluster at {ADDRESS}); {RAY_TOKEN_HINT}\n")
    assert "RAY_AUTH_MODE=token" in captured.err and "--ray-address auto" in captured.err
    assert not out.exists()  # no config.json left behind
    assert ray.calls == [("init", ADDRESS)]


def test_a_failed_local_start_is_one_line_without_the_token_hint(tmp_path, capsys, fake_ray):
    fake_ray(RuntimeError("Ray could not start: no space left in /tmp/ray"))
    status = cli_main(["search", *TINY_ARGS, "--executor", "ray", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2
    assert err == ("naslib-snn search: error: cannot start or join a Ray cluster (RuntimeError: Ray could not "
                   "start: no space left in /tmp/ray)\n")
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_keeps_its_files_when_ray_fails(tmp_path, capsys, fake_ray):
    out = tmp_path / "run"
    assert cli_main(["search", *TINY_ARGS, "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    fake_ray(AUTH_FAILURE)
    capsys.readouterr()
    status = cli_main(["search", *TINY_ARGS, "--candidates", "5", "--resume", "--executor", "ray",
                       "--ray-address", ADDRESS, "--out", str(out)])
    assert status == 2 and capsys.readouterr().err.startswith("naslib-snn search: error: cannot join")
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_api_raises_a_connection_error_and_chains_ray_s(fake_ray):
    fake_ray(AUTH_FAILURE)
    with pytest.raises(ConnectionError) as info:
        random_search(**TINY, executor="ray", ray_address=ADDRESS)
    assert isinstance(info.value, RayConnectionError) and info.value.__cause__ is AUTH_FAILURE
    assert "\n" not in str(info.value)


def test_a_session_the_search_started_is_shut_down_and_results_match_local(tmp_path, fake_ray):
    ray = fake_ray()
    on_ray = random_search(**TINY, executor="ray", ray_address=ADDRESS, workers=2, out_dir=tmp_path / "ray")
    assert ray.calls == [("init", ADDRESS), ("shutdown",)]
    local = random_search(**TINY)
    strip = lambda records: [{k: v for k, v in r.items() if k != "seconds"} for r in records]  # noqa: E731
    assert strip(on_ray.records) == strip(local.records)
    # nothing left to score (resume of a finished run): still joined once and shut down
    random_search(**TINY, executor="ray", ray_address=ADDRESS, out_dir=tmp_path / "ray", resume=True)
    assert ray.calls[2:] == [("init", ADDRESS), ("shutdown",)]


def test_a_session_the_caller_started_is_left_running(fake_ray):
    ray = fake_ray()
    ray.init(address=None)
    random_search(**TINY, executor="ray")
    assert ray.calls == [("init", None)] and ray.initialized


def test_real_ray_authentication_error_becomes_one_line(tmp_path, capsys, monkeypatch):
    ray = pytest.importorskip("ray")
    from ray.exceptions import AuthenticationError

    def refuse(*args, **kwargs):
        raise AuthenticationError("Token authentication is enabled but no authentication token was found")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    out = tmp_path / "run"
    status = cli_main(["search", *TINY_ARGS, "--executor", "ray", "--ray-address", ADDRESS, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and not out.exists()
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"naslib-snn search: error: cannot join the Ray cluster at '{ADDRESS}' "
                          "(AuthenticationError: Token authentication is enabled but no authentication token was found")
    assert err.rstrip().endswith(RAY_TOKEN_HINT)
