"""Connecting to Ray, shared by ``naslib-snn search`` and ``naslib-snn benchmark build`` (``--executor ray``).

Ray is an optional extra (``pip install naslib-snn[ray]``); nothing here imports it before it is needed.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["RAY_TOKEN_HINT", "RayConnectionError", "connect_ray", "import_ray"]


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(
            "executor 'ray' needs Ray, an optional extra: pip install naslib-snn[ray]"
        ) from None
    return ray


class RayConnectionError(ConnectionError):
    """Ray could not start, or join the cluster at ``--ray-address``; the message is one line."""


#: how to reach a head that uses Ray's token authentication (verified with Ray 2.60)
RAY_TOKEN_HINT = (
    "a head with token authentication (RAY_AUTH_MODE=token; Ray's docs say 2.59+ turns it on for local "
    "clusters) needs RAY_AUTH_MODE=token here too, with its token in RAY_AUTH_TOKEN or ~/.ray/auth_token "
    "(`ray get-auth-token` on the head prints it); on the head's machine --ray-address auto finds both"
)


def connect_ray(address: Optional[str]) -> bool:
    """``ray.init(address)`` unless Ray is initialised already; returns whether this call started the session.

    Raises:
        ImportError: Ray is not installed.
        RayConnectionError: Ray could not start or join the cluster (a one-line message with the
            address, Ray's own first line and, for an address, :data:`RAY_TOKEN_HINT`).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False)
    except Exception as err:  # noqa: BLE001  (Ray raises ConnectionError, AuthenticationError, RuntimeError, ...)
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = f"{type(err).__name__}: {lines[0] if lines else 'no message'}"
        where = f"join the Ray cluster at {address!r}" if address else "start or join a Ray cluster"
        hint = f"; {RAY_TOKEN_HINT}" if address else ""
        raise RayConnectionError(f"cannot {where} ({reason}){hint}") from err
    return True
