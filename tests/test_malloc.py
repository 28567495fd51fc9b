"""naslib_snn.utils.malloc: freed tensor memory is reused instead of page-faulted in again."""

import os
import platform
import subprocess
import sys

import pytest

from naslib_snn.cli import main
from naslib_snn.utils import malloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Minor page faults per training step of a forward-only cell at the benchmark's scale.
FAULTS = r"""
import resource, sys, torch
from spikingjelly.activation_based import functional
from naslib_snn import parse_arch, tune_malloc
from naslib_snn.search_spaces.spiking_nb201.network import SpikingNB201Network
applied = tune_malloc()
torch.set_num_threads(1)
torch.manual_seed(0)
net = SpikingNB201Network(parse_arch("0302 0030 0003 0000"), num_classes=10, in_channels=1, channels=8,
                          timesteps=4, image_size=16)
x, y = torch.randn(64, 1, 16, 16), torch.randint(0, 10, (64,))
def step():
    torch.nn.functional.cross_entropy(net(x), y).backward()
    functional.reset_net(net)
    net.zero_grad(set_to_none=True)
for _ in range(4):
    step()
windows = []  # faults per step in windows of two steps
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    step()
    windows.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 2)
print(applied, min(windows), sum(windows) / len(windows))
"""


def _faults(setting: str) -> tuple[str, float, float]:
    """Whether the tuning applied, and the least and the mean faults per step over the windows."""
    env = dict(os.environ, NASLIB_SNN_MALLOC=setting)
    out = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True, check=True)
    applied, least, mean = out.stdout.split()
    return applied, float(least), float(mean)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_tuned_malloc_stops_page_faults_in_a_training_step():
    applied, tuned, _ = _faults("tuned")
    not_applied, _, default = _faults("default")
    assert (applied, not_applied) == ("True", "False")
    # measured here: the steadiest window 0.5-1 faults per step tuned; with glibc's defaults 1,200-6,700
    # per step on average (some steps fault their fresh pages in, some do not)
    assert tuned <= 20 and default >= 200


def test_bad_setting_is_named(monkeypatch, capsys):
    monkeypatch.setenv(malloc.ENV_VAR, "fast")
    with pytest.raises(ValueError, match="NASLIB_SNN_MALLOC='fast'.*'tuned'.*'default'"):
        malloc.tune_malloc()
    assert main(["search", "--candidates", "1"]) == 2
    assert "NASLIB_SNN_MALLOC='fast'" in capsys.readouterr().err
    monkeypatch.setenv(malloc.ENV_VAR, "default")
    assert malloc.tune_malloc() is False


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_tuned_is_the_default_and_idempotent(monkeypatch):
    monkeypatch.delenv(malloc.ENV_VAR, raising=False)
    assert malloc.tune_malloc() is True and malloc.tune_malloc() is True
