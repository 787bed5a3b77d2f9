"""The clients this process has activated (filled in by the activation step)."""

from __future__ import annotations

from typing import Any

_clients: dict[str, list[dict[str, Any]]] = {"database": [], "buffer": []}
_forwarded = False


def active_clients(cluster: str | None) -> dict[str, list[dict[str, Any]]]:
    return {"database": [dict(c) for c in _clients["database"]], "buffer": [dict(c) for c in _clients["buffer"]]}


def use_clients(clients: dict[str, list[dict[str, Any]]], in_remote: bool = False) -> None:
    global _forwarded
    _clients["database"] = list(clients.get("database", []))
    _clients["buffer"] = list(clients.get("buffer", []))
    _forwarded = True


def configure_dask_client_from_env() -> None:
    return None
