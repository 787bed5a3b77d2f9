"""The first step of bringing a service up, on plain values: is it up already?

A service is reused as it is when its client connection file is there, not
marked stale or corrupt, was written for the same parameters, and the service
answers its health check there. :mod:`effects.launcher` takes this step for
every service; :mod:`effects.warm` takes it alone when nothing changed. Also
here: the storage clients a jobserver is given (its parameters), computed from
plain values so that both can compare them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from . import http_probe, statefiles

CHECK_TIMEOUT = 5.0  # seconds for a service to answer its health check
STORAGE = ("hashserver", "database")


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def health_check(host: str, port: int, path: str, tries: int = 1) -> bool:
    """Whether the service answers ``GET /path`` (any status below 500), trying ``tries`` times."""
    for attempt in range(tries):
        if http_probe.answers(host, port, path, CHECK_TIMEOUT if tries == 1 else 2.0):
            return True
        if attempt + 1 < tries:
            time.sleep(min(0.05 * 2**attempt, 0.5))
    return False


def same_parameters(data: dict[str, Any], wanted: dict[str, Any] | None) -> bool:
    """Whether a running service got the parameters this plan gives it."""
    return wanted is None or data.get("parameters") == wanted


def port_of(data: dict[str, Any], port_field: str) -> int | None:
    value = data.get(port_field)
    return value if isinstance(value, int) else None


def answering_client(existing: dict[str, Any] | None, wanted: Callable[[], dict[str, Any] | None],
                     port_field: str, check_path: str, workdir: str | None = None) -> tuple[bool, tuple[Any, Any] | None]:
    """``(reusable, silent)`` for a client file's content: ``reusable`` when it was written for a
    service in ``workdir`` (its storage), is usable for the parameters ``wanted()`` gives (asked
    only when the file is otherwise usable: it may wait), and its service answers; ``silent`` is
    the endpoint that did not answer, if any."""
    if (existing is None or existing.get("status") in ("stale", "corrupt")
            or (workdir is not None and existing.get("workdir") != workdir)
            or not same_parameters(existing, wanted())):
        return False, None
    port = port_of(existing, port_field)
    hostname = existing.get("hostname")
    if isinstance(hostname, str) and port and health_check(hostname, port, check_path):
        return True, None
    return False, (hostname, port)


def storage_clients(services: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The buffer and database clients, as workers on the cluster and this process reach them.

    Each service: ``role``, ``readonly``, ``launch_hostname`` (where it listens for the
    cluster), ``workdir``, ``ssh_host``, and its outcome's ``hostname``, ``port`` and
    ``client`` (the client file's content).
    """
    out: dict[str, list[dict[str, Any]]] = {"database": [], "buffer": []}
    for s in services:
        if s["role"] not in STORAGE:
            continue
        url = f"http://{url_host(s['hostname'])}:{s['port']}"
        remote_host = s["launch_hostname"] or s["hostname"]
        remote_port = s["client"].get("tunneled-port", s["port"])
        entry: dict[str, Any] = {
            "readonly": s["readonly"],
            "url": url,
            "remote_url": f"http://{url_host(remote_host)}:{remote_port}",
            "directory": None,
            "remote_directory": None,
        }
        if s["role"] == "hashserver":
            if s["ssh_host"] is None:
                entry["directory"] = s["workdir"]
            if not s["readonly"]:
                entry["remote_directory"] = s["workdir"]
            out["buffer"].append(entry)
        else:
            out["database"].append(entry)
    return out


def read_client(key: str) -> dict[str, Any] | None:
    return statefiles.read_json(statefiles.client_json(key))
