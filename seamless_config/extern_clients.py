"""Forwarding remote clients to worker processes (the module the Seamless runtime imports).

``collect_remote_clients(cluster)`` reports what seamless-remote has active: every
extern client, whoever defined it, and the clients of the services this project
brought up for ``cluster``. ``set_remote_clients`` connects a process to such a
collection; ``set_remote_clients_from_env`` does so from ``SEAMLESS_REMOTE_CLIENTS``
(and, for nested work, connects to the Dask scheduler ``SEAMLESS_DASK_SCHEDULER``).
"""

from __future__ import annotations

import json
import os
from typing import Any

ENV_CLIENTS = "SEAMLESS_REMOTE_CLIENTS"
ENV_SCHEDULER = "SEAMLESS_DASK_SCHEDULER"
ENV_WORKERS = "SEAMLESS_DASK_WORKERS"
_SHAPE = ('{"buffer": [{"url": ..., "readonly": ...}, ...], "database": [{"url": ..., "readonly": ...}, ...]} '
          '(buffer entries may give "directory" instead of "url")')


def collect_remote_clients(cluster: str | None) -> dict[str, list[dict[str, Any]]]:
    """``{"database": [...], "buffer": [...]}``: seamless-remote's extern clients (defined by any
    code), then the clients this project connected for ``cluster``'s services."""
    from effects import runtime

    return runtime.collect_clients(cluster)


def set_remote_clients(clients: dict[str, list[dict[str, Any]]], in_remote: bool = False) -> None:
    """Use these clients instead of launching services (call before ``init()``)."""
    from effects.runtime import connect_clients

    from .errors import ConfigurationError
    from .session import SESSION

    if SESSION.initialized and not SESSION.clients_forwarded:
        raise ConfigurationError("set_remote_clients() must be called before init(): init() already connected "
                                 "this process to its services")
    problem = clients_problem(clients, in_remote=in_remote)
    if problem is not None:
        raise ConfigurationError(f"remote clients {problem}; expected {_SHAPE}")
    connect_clients(clients, in_remote=in_remote)
    # A process given its clients must not launch services of its own.
    SESSION.initialized = True
    SESSION.clients_forwarded = True


def clients_problem(clients: Any, *, in_remote: bool) -> str | None:
    """What is wrong with the shape of a client collection, or ``None``.

    >>> clients_problem({"buffer": [{"url": "http://h:1"}], "database": []}, in_remote=False) is None
    True
    >>> clients_problem([1, 2], in_remote=False)
    'must be a JSON object, not a list'
    >>> clients_problem({"buffer": 5}, in_remote=False)
    "'buffer' must be a list, not a number"
    >>> clients_problem({"database": [{"readonly": True}]}, in_remote=True)
    "database entry 1 has no 'remote_url' (nor 'url')"
    """
    if not isinstance(clients, dict):
        return f"must be a JSON object, not {_kind(clients)}"
    for kind in ("buffer", "database"):
        entries = clients.get(kind, [])
        if entries is None:
            continue
        if not isinstance(entries, list):
            return f"'{kind}' must be a list, not {_kind(entries)}"
        for i, entry in enumerate(entries, 1):
            if not isinstance(entry, dict):
                return f"{kind} entry {i} must be an object, not {_kind(entry)}"
            for field in ("url", "remote_url", "directory", "remote_directory"):
                if entry.get(field) is not None and not isinstance(entry[field], str):
                    return f"{kind} entry {i}: '{field}' must be a string, not {_kind(entry[field])}"
            if "readonly" in entry and not isinstance(entry["readonly"], bool):
                return f"{kind} entry {i}: 'readonly' must be true or false"
            url = entry.get("remote_url" if in_remote else "url") or entry.get("url")
            directory = entry.get("remote_directory" if in_remote else "directory")
            if not url and not (kind == "buffer" and directory):
                wanted = "'remote_url' (nor 'url')" if in_remote else "'url'"
                return f"{kind} entry {i} has no {wanted}" + (" or directory" if kind == "buffer" else "")
    return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def set_remote_clients_from_env(include_dask: bool) -> bool:
    """Apply ``SEAMLESS_REMOTE_CLIENTS`` (JSON) when set, as a process on the cluster; ``True`` if
    it was. With ``include_dask``, outside Seamless workers, also connect to the Dask scheduler
    ``SEAMLESS_DASK_SCHEDULER`` (``SEAMLESS_DASK_WORKERS`` worker processes), so that nested work
    goes to the same scheduler. Nothing is done under ``SEAMLESS_CACHE``."""
    from . import get_seamless_cache
    from .errors import ConfigurationError

    if get_seamless_cache() is not None:
        return False
    raw = os.environ.get(ENV_CLIENTS)
    if raw is None:
        return False
    try:
        clients = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_CLIENTS} is not valid JSON: {exc}") from None
    problem = clients_problem(clients, in_remote=True)
    if problem is not None:
        raise ConfigurationError(f"{ENV_CLIENTS} {problem}; expected {_SHAPE}")
    set_remote_clients(clients, in_remote=True)
    if include_dask:
        _connect_dask_from_env()
    return True


def _connect_dask_from_env() -> None:
    from . import _is_seamless_worker

    if _is_seamless_worker():
        return  # a Seamless worker hands its work back to its parent
    address = os.environ.get(ENV_SCHEDULER)
    if not address:
        return
    try:
        workers = max(1, int(os.environ.get(ENV_WORKERS) or 1))
    except ValueError:
        from .errors import ConfigurationError

        raise ConfigurationError(f"{ENV_WORKERS} must be a whole number, not {os.environ[ENV_WORKERS]!r}") from None
    from effects.runtime import connect_dask

    connect_dask(address, workers)
