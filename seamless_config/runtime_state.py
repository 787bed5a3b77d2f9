"""The clients this process uses, as the runtime-compatible API reports and sets them."""

from __future__ import annotations

import sys
from typing import Any


def active_clients(cluster: str | None) -> dict[str, list[dict[str, Any]]]:
    runtime = sys.modules.get("effects.runtime")
    if runtime is None:
        return {"database": [], "buffer": []}
    return runtime.active_clients()


def use_clients(clients: dict[str, list[dict[str, Any]]], in_remote: bool = False) -> None:
    from effects.runtime import connect_clients

    from .session import SESSION

    connect_clients(clients, in_remote=in_remote)
    # A process given its clients must not launch services of its own.
    SESSION.initialized = True
    SESSION.clients_forwarded = True


def configure_dask_client_from_env() -> None:
    return None
