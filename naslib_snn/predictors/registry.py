"""Registry of training-free proxies: name -> ``proxy(network, inputs, **kwargs) -> float``.

Filled by the :func:`register_proxy` decorator, the only list of names. The
CLI, the correlation study and the NASLib adapter look proxies up here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from naslib_snn.predictors.scoring import score

__all__ = ["PROXIES", "Proxy", "get_proxy", "list_proxies", "register_proxy"]

Proxy = Callable[..., float]

PROXIES: dict[str, Proxy] = {}


def register_proxy(name: str) -> Callable[[Proxy], Proxy]:
    """Decorator that registers ``proxy(network, inputs, **kwargs) -> float`` under ``name``.

    A higher score means a network that is predicted to train better.

    Raises:
        ValueError: ``name`` is not a non-empty lower-case string, or is already registered.
    """
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"expected a proxy name as a non-empty lower-case string, got {name!r}")
    if name in PROXIES:
        raise ValueError(f"a proxy named {name!r} is already registered ({PROXIES[name].__qualname__})")

    def decorator(proxy: Proxy) -> Proxy:
        if name in PROXIES:
            raise ValueError(f"a proxy named {name!r} is already registered ({PROXIES[name].__qualname__})")
        PROXIES[name] = proxy
        return proxy

    return decorator


def get_proxy(name: str) -> Proxy:
    """The proxy registered under ``name``.

    Raises:
        KeyError: no proxy has that name; the message lists the known names.
    """
    try:
        return PROXIES[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown proxy {name!r}; known proxies: {', '.join(list_proxies())}") from None


def list_proxies() -> list[str]:
    """Sorted names of all registered proxies."""
    return sorted(PROXIES)


@register_proxy("hd")
def hd_score(network: nn.Module, inputs: torch.Tensor | Iterable[object], **kwargs: object) -> float:
    """NASWOT's Hamming-distance kernel on spikes, summed over layers and timesteps (Eqs. 4, 5)."""
    return score(network, inputs, metric="hd", **kwargs)


@register_proxy("sahd")
def sahd_score(network: nn.Module, inputs: torch.Tensor | Iterable[object], **kwargs: object) -> float:
    """Sparsity-aware Hamming distance as the paper prints it (Eqs. 5, 9)."""
    return score(network, inputs, metric="sahd", **kwargs)


@register_proxy("sahd_reference")
def sahd_reference_score(network: nn.Module, inputs: torch.Tensor | Iterable[object], **kwargs: object) -> float:
    """SAHD as the authors' code computes it: its kernel, averaged over hook calls."""
    return score(network, inputs, metric="sahd_reference", **kwargs)
