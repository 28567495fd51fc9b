"""SAHD and HD as NASLib zero-cost measures, and NASLib's proxies as a zero-cost table provider.

Importing this module (it needs NASLib) does two things, both idempotent:

1. registers ``sahd``, ``sahd_reference`` and ``hd`` in NASLib's measure registry, so that
   ``naslib.predictors.ZeroCost(method_type="sahd").query(graph, dataloader)`` scores a spiking
   network with :func:`naslib_snn.predictors.score` on the loader's first batch (NASLib reads one);
2. registers the zero-cost provider ``"naslib"`` (:class:`NaslibProxies`) with
   :mod:`naslib_snn.benchmarks.zc`, which computes NASLib's own proxies on our spiking networks for
   the zero-cost tables (``naslib-snn benchmark zc --provider-module naslib_snn.predictors.naslib_measures``).

NASLib's ``find_measures`` sums the value of every measure but a few (``sum(torch.sum(v[i]) ...)``),
so our measures return a 1-element float64 tensor; the sum is then exactly :func:`score`'s value.
``ZeroCost.query`` maps a non-finite score (a network that never spikes: ``-inf``) to ``-1e8``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import torch
from spikingjelly.activation_based import functional as sj_functional

from naslib_snn import compat

compat.require_naslib()

from naslib.predictors.utils.pruners import measures as naslib_measures  # noqa: E402
from naslib.predictors.utils.pruners import predictive  # noqa: E402

from naslib_snn.benchmarks.zc import ZC_PROVIDERS, ZCContext, missing_entry, register_zc_provider, score_entry  # noqa: E402
from naslib_snn.predictors.scoring import score  # noqa: E402
from naslib_snn.search_spaces.spiking_nb201.graph import SpikingNasBench201SearchSpace  # noqa: E402

__all__ = ["NASLIB_PROXIES", "NATIVE_MEASURES", "NaslibProxies", "naslib_proxy_entry", "register_measures"]

#: our scores registered as NASLib measures (names of naslib_snn.predictors.registry)
NATIVE_MEASURES: tuple[str, ...] = ("sahd", "sahd_reference", "hd")

#: NASLib's proxies the "naslib" provider computes (params and flops are special-cased by find_measures)
NASLIB_PROXIES: tuple[str, ...] = (
    "synflow", "snip", "grad_norm", "jacov", "fisher", "grasp", "plain", "l2_norm", "epe_nas", "zen",
    "params", "flops", "nwot",
)

_MARK = "naslib_snn_measure"  # set on the impls we registered, to recognise them on a second import


def _make_measure(metric: str) -> Callable[..., torch.Tensor]:
    def measure(net: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, split_data: int = 1,
                loss_fn: Any = None, **kwargs: Any) -> torch.Tensor:
        # inputs [B, C, H, W]; targets, split_data and loss_fn are unused: the score needs only spikes
        return torch.tensor([score(net, inputs, metric=metric)], dtype=torch.float64)

    measure.__name__ = f"{metric}_measure"
    measure.__doc__ = f"NASLib measure {metric!r}: naslib_snn.predictors.score(net, inputs, metric={metric!r}) as a [1] tensor."
    return measure


def register_measures() -> list[str]:
    """Register :data:`NATIVE_MEASURES` in NASLib's registry; names already registered by us are skipped.

    Returns:
        The names registered by this call (empty on a second call).

    Raises:
        ValueError: NASLib already holds a measure of one of these names that is not ours.
    """
    added = []
    for name in NATIVE_MEASURES:
        impl = naslib_measures._measure_impls.get(name)
        if impl is not None:
            if getattr(impl, _MARK, None) == name:
                continue
            raise ValueError(f"NASLib already has a zero-cost measure named {name!r} that is not naslib_snn's")
        # copy_net=False: score() restores every buffer, training flag, hook and RNG state it touches
        naslib_measures.measure(name, bn=True, copy_net=False)(_make_measure(name))
        setattr(naslib_measures._measure_impls[name], _MARK, name)
        added.append(name)
    return added


register_measures()


# ---- NASLib's proxies on spiking networks ----------------------------------------------------------------
def _device() -> torch.device:
    # the device ZeroCost.query uses
    return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def _log_synflow(value: float) -> float:
    # ZeroCost.query reports synflow on a log scale, keeping the sign (0 stays 0)
    if value == 0:
        return 0.0
    return math.log(value) if value > 0 else -math.log(-value)


def _has_relu(network: torch.nn.Module) -> bool:
    return any("ReLU" in type(m).__name__ for m in network.modules())


def naslib_proxy_entry(proxy: str, network: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor],
                       num_classes: int) -> dict[str, Any]:
    """One NASLib proxy of one untrained network, as a zero-cost table entry.

    The value is what ``ZeroCost(proxy).query`` returns (synflow on its log scale), computed by
    NASLib's ``find_measures`` on ``batch`` (images ``[B, C, H, W]``, labels ``[B]``), except that a
    non-finite value or an error becomes a missing entry with the reason, never ``-1e8``.
    ``params`` and ``flops`` run the network step by step (tensorwatch's BatchNorm counter takes only
    4-D inputs; both modes compute the same function). ``nwot`` counts ReLU activation patterns; a
    spiking network has no ReLU, so it is recorded missing without running.

    Raises:
        ValueError: ``proxy`` is not one of :data:`NASLIB_PROXIES`.
    """
    if proxy not in NASLIB_PROXIES:
        raise ValueError(f"unknown NASLib proxy {proxy!r}; expected one of {', '.join(NASLIB_PROXIES)}")
    started = time.perf_counter()
    if proxy == "nwot" and not _has_relu(network):
        return missing_entry("nwot counts the binary codes of ReLU layers; a spiking network has no ReLU "
                             "(its kernel is 0 and log|det| is -inf)", time.perf_counter() - started)
    if proxy in ("params", "flops") and getattr(network, "multi_step", False):
        sj_functional.set_step_mode(network, "s")
        network.multi_step = False
    graph = SpikingNasBench201SearchSpace.from_network(network)
    graph.num_classes = int(num_classes)
    try:
        value = predictive.find_measures(
            net_orig=graph, dataloader=[batch], dataload_info=("random", 1, int(num_classes)), device=_device(),
            loss_fn=graph.get_loss_fn(), measure_names=[proxy],
        )
    except Exception as err:  # noqa: BLE001  (NASLib's proxies raise anything; the reason is recorded)
        hint = ""
        if proxy == "fisher" and isinstance(err, AttributeError) and network.spec.has_backward:
            hint = (" (fisher stashes one activation per layer and assumes each layer runs once per forward; "
                    "cells with backward edges run step by step, calling every layer T times)")
        return missing_entry(f"NASLib's {proxy} failed: {type(err).__name__}: {err}{hint}",
                             time.perf_counter() - started)
    seconds = time.perf_counter() - started
    value = float(value)
    if not math.isfinite(value):
        return missing_entry(f"NASLib's {proxy} returned {value}", seconds)
    return score_entry(_log_synflow(value) if proxy == "synflow" else value, seconds)


class NaslibProxies:
    """Zero-cost provider ``"naslib"``: NASLib's proxies (:data:`NASLIB_PROXIES`) through real NASLib.

    Each proxy gets a fresh network from the context (identical initial weights) and the context's
    first batch, as NASLib's ``ZeroCost`` reads one batch.
    """

    name = "naslib"

    def proxies(self) -> Sequence[str]:
        return list(NASLIB_PROXIES)

    def compute(self, context: ZCContext, proxies: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        batch = (context.inputs[0], context.labels[0])
        return {proxy: naslib_proxy_entry(proxy, context.build_network(), batch, context.num_classes)
                for proxy in proxies}


if NaslibProxies.name not in ZC_PROVIDERS:
    register_zc_provider(NaslibProxies)
