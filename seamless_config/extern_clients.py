"""Forwarding the active remote clients to worker processes (runtime-compatible API)."""

from __future__ import annotations

import json
import os
from typing import Any

_forwarded: dict[str, list[dict[str, Any]]] | None = None


def collect_remote_clients(cluster: str | None) -> dict[str, list[dict[str, Any]]]:
    """``{"database": [...], "buffer": [...]}``: one entry per active client."""
    from .runtime_state import active_clients

    return active_clients(cluster)


def set_remote_clients(clients: dict[str, list[dict[str, Any]]], in_remote: bool = False) -> None:
    """Use these clients instead of launching services (call before ``init()``)."""
    from .runtime_state import use_clients

    use_clients(clients, in_remote=in_remote)


def set_remote_clients_from_env(include_dask: bool) -> bool:
    """Apply ``SEAMLESS_REMOTE_CLIENTS`` (JSON) when set; ``True`` if it was."""
    raw = os.environ.get("SEAMLESS_REMOTE_CLIENTS")
    if raw is None:
        return False
    try:
        clients = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        from .errors import ConfigurationError

        raise ConfigurationError(f"SEAMLESS_REMOTE_CLIENTS is not valid JSON: {exc}") from None
    set_remote_clients(clients, in_remote=True)
    if include_dask:
        from .runtime_state import configure_dask_client_from_env

        configure_dask_client_from_env()
    return True
