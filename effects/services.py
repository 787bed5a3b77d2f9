"""The effects of the ``seamless-service-*`` commands: client files, stopping, removing, clearing.

Everything on the host that runs a service goes through the :class:`~effects.hosts.Host`
protocol (this machine: :class:`~effects.hosts.LocalHost`; another one:
:func:`effects.ssh.host_for_ssh`); client connection files and tunnel monitors
are on this machine. Which services to act on is decided by the caller
(``seamless_config.core.services``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from seamless_config.core.clients import LIVE

from . import statefiles, tunnels
from .hosts import Host, LocalHost, state_row

#: hosts (or needs) handled at once by the service commands and doctor
MAX_PARALLEL = 16
T = TypeVar("T")
R = TypeVar("R")


def parallel(items: Sequence[T], fn: Callable[[T], R]) -> list[R]:
    """``fn`` of each item, in order; in up to :data:`MAX_PARALLEL` threads when there are several."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items))) as pool:
        return list(pool.map(fn, items))


def host_for(destination: str | None, where: str | None = None) -> Host:
    """The host that runs services for ``destination`` (``None``: this machine); ``where`` says,
    in messages, which frontend of which cluster it is."""
    if destination is None:
        return LocalHost()
    from .ssh import host_for_ssh

    return host_for_ssh(destination, where)


def close_host(host: Host) -> None:
    close = getattr(host, "close", None)
    if callable(close):
        close()


def client_files() -> list[tuple[str, dict[str, Any]]]:
    """``(key, contents)`` of every client connection file on this machine, sorted by key."""
    directory = statefiles.client_dir()
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
    except OSError:
        return []
    out = []
    for name in names:
        data = statefiles.read_json(directory / name)
        if data is not None:
            out.append((name[: -len(".json")], data))
    return out


def local_server_rows(keys: list[str]) -> dict[str, dict[str, Any]]:
    """The server states on this machine of those ``keys`` that have one, status corrected."""
    host = LocalHost()
    directory = statefiles.server_dir()
    try:
        present = set(os.listdir(directory))
    except OSError:
        return {}
    out = {}
    for key in keys:
        if f"{key}.json" in present:
            data = statefiles.read_json(directory / f"{key}.json")
            if data is not None:
                out[key] = state_row(key, data, host.running_pid(key, data) is not None)
    return out


def stop(host: Host, key: str) -> dict[str, Any]:
    """Stop one service (SIGINT, SIGTERM, SIGKILL on its host); keep its state, marked stale.

    Its client file on this machine is marked stale too and its tunnel, if any,
    closed. Returns ``{"outcome": stopped|not-running|not-ours|missing, "client": bool, "tunnel": bool}``.
    """
    with statefiles.key_lock(key, create=False):
        outcome = host.stop_key(key)
        client = statefiles.read_client(key)
        if client is not None and client.get("status") != "stale":
            statefiles.write_json_atomic(statefiles.client_json(key), {**client, "status": "stale"})
        tunnel = tunnels.close_tunnel(client)
    return {"outcome": outcome, "client": client is not None, "tunnel": tunnel}


def remove_server_state(host: Host, key: str) -> tuple[str, int | None]:
    """Remove a server state unless its process runs: ``removed``, ``missing`` or ``running`` (and the pid)."""
    with statefiles.key_lock(key, create=False):
        state = host.read_state(key)
        if state is None:
            return "missing", None
        pid = host.running_pid(key, state) if state.get("status") in LIVE else None
        if pid is not None:
            return "running", pid
        host.remove_state(key)
    return "removed", None


def remove_client(key: str, client: dict[str, Any] | None = None) -> bool:
    """Remove the client file of ``key`` (``client``: its content, when already read), closing
    the tunnel it names; whether there was one."""
    if client is None:
        client = statefiles.read_client(key)
    if client is None:
        return False
    tunnels.close_tunnel(client)
    statefiles.remove(statefiles.client_json(key))
    return True


def usage(host: Host, paths: list[str], file: str | None = None,
          marker: str | None = None) -> dict[str, dict[str, Any]]:
    """``disk_usage`` rows by path (see :meth:`Host.disk_usage` for ``file`` and ``marker``)."""
    if not paths:
        return {}
    return {r["path"]: r for r in host.disk_usage(paths, file=file, marker=marker)}


def escapes_locally(target: str, base: str) -> bool:
    """On this machine: whether ``target``, symlinks resolved, lies outside ``base`` (resolved)."""
    t = os.path.realpath(os.path.expanduser(target))
    b = os.path.realpath(os.path.expanduser(base))
    return not t.startswith(b.rstrip("/") + "/")


def home() -> str:
    return str(Path.home())
