"""Connect the Seamless runtime to the services of a plan (and disconnect it).

Uses seamless-remote's *extern* clients with the URLs this project brought up,
so the runtime launches nothing itself; the daskserver gets a
``SeamlessDaskClient`` (persistent mode) or a plain ``distributed.Client``
(pure Dask mode); ``execution: spawn`` starts the local worker pool.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from .outcomes import LaunchError, Outcome, require
from .shell import SHELL, RuntimeClients

PREFIX = "seamless-config"


def _require(module: str) -> Any:
    return require(module, "the Seamless runtime is not installed",
                   "install it with: pip install 'seamless-config[runtime]'")


def imported(module: str) -> Any:
    """``module`` if the runtime has imported it, complete; else ``None``.

    Another thread may be importing it at this moment: seamless's buffer writer
    imports ``seamless_remote.buffer_remote`` in its own thread right after
    ``import seamless``, and until it is done ``sys.modules`` holds a half-built
    module (without ``activate``). Importing it again waits for that import.
    """
    if module not in sys.modules:
        return None
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def deactivate() -> None:
    """Disconnect every client this module connected."""
    for name in ("buffer_remote", "database_remote", "jobserver_remote"):
        mod = imported(f"seamless_remote.{name}")
        if mod is not None:
            mod.activate(no_main=True)
    client = SHELL.runtime.dask_client
    if client is not None:
        mod = imported("seamless_dask.transformer_client")
        if mod is not None and hasattr(mod, "set_seamless_dask_client"):
            mod.set_seamless_dask_client(None)
        close = getattr(client, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - a client of a vanished scheduler
                pass
        SHELL.runtime.dask_client = None
    for name in SHELL.runtime.names:
        for mod_name in ("seamless_remote.buffer_remote", "seamless_remote.database_remote"):
            mod = imported(mod_name)
            if mod is not None:
                mod._extern_clients.pop(name, None)
    SHELL.runtime = RuntimeClients()


def _initialize(clients: Sequence[Any]) -> None:
    """Mark seamless-remote clients initialized now, outside any event loop.

    seamless-remote initializes an extern client lazily, and its synchronous
    initializer, called from a coroutine on the runtime's own event loop (as
    ``buffer_writer.flush()`` does before every jobserver submission), schedules
    the work on that same loop and waits for it: a deadlock whenever the client
    was not yet used. Initializing here (without a health check: the launcher
    has just checked each service) takes that path away.
    """
    import asyncio  # (here: seamless-init loads this module without a runtime to connect, and
    import threading  # asyncio alone would cost it ~25 ms)

    def run() -> None:
        for c in clients:
            c.ensure_initialized_sync(skip_healthcheck=True)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run()
        return
    # called from a coroutine (e.g. in Jupyter): initialize from a thread without a loop
    t = threading.Thread(target=run, name="seamless-config-init-clients")
    t.start()
    t.join()


def connect_clients(clients: dict[str, list[dict[str, Any]]], *, in_remote: bool,
                    launched_for: str | None = None) -> None:
    """Point seamless-remote's buffer and database clients at these services.

    ``in_remote``: this process runs on the cluster (a jobserver or Dask worker), so it uses
    the URLs and directories as the cluster sees them. ``launched_for``: the cluster whose
    services this project brought up; else the clients were handed to this process and are
    defined as the reference defines them (``extern-db-N``, ``extern-buffer-N[-folder|-server]``),
    so that they are reported as extern clients afterwards. Database clients come first; a
    buffer entry gives a read-only folder client (its directory) and/or a server client (its URL).
    """
    buffer_remote = _require("seamless_remote.buffer_remote")
    database_remote = _require("seamless_remote.database_remote")
    launched = launched_for is not None
    url_key, dir_key = ("remote_url", "remote_directory") if in_remote else ("url", "directory")
    database_names: list[str] = []
    for i, c in enumerate(clients.get("database", [])):
        url = c.get(url_key) or (c.get("url") if launched else None)
        if not url:
            raise LaunchError(f"database client {i + 1} has no {url_key!r}")
        name = f"{PREFIX}-database-{i}" if launched else f"extern-db-{i}"
        database_remote.define_extern_client(name, "database", url=url, readonly=c.get("readonly", True))
        database_names.append(name)
    database_remote.activate(no_main=True, extern_clients=database_names)
    buffer_names: list[str] = []
    for i, c in enumerate(clients.get("buffer", [])):
        url = c.get(url_key) or (c.get("url") if launched else None)
        directory = c.get(dir_key)
        if directory is not None and in_remote:
            directory = os.path.expanduser(directory)
        if directory is None and not url:
            raise LaunchError(f"buffer client {i + 1} has neither {url_key!r} nor {dir_key!r}")
        if directory is not None:
            name = (f"{PREFIX}-bufferfolder-{i}" if launched
                    else f"extern-buffer-{i}-folder" if url else f"extern-buffer-{i}")
            buffer_remote.define_extern_client(name, "bufferfolder", directory=directory, readonly=True)
            buffer_names.append(name)
        if url:
            name = (f"{PREFIX}-buffer-{i}" if launched
                    else f"extern-buffer-{i}-server" if directory is not None else f"extern-buffer-{i}")
            buffer_remote.define_extern_client(name, "hashserver", url=url, readonly=c.get("readonly", True))
            buffer_names.append(name)
    buffer_remote.activate(no_main=True, extern_clients=buffer_names)
    _initialize([c for c in (buffer_remote._extern_clients.get(n) for n in buffer_names) if c is not None]
                + [c for c in (database_remote._extern_clients.get(n) for n in database_names) if c is not None])
    if launched:
        SHELL.runtime.cluster = launched_for
        SHELL.runtime.clients = {k: [dict(c) for c in clients.get(k, [])] for k in ("database", "buffer")}
        SHELL.runtime.names = set(buffer_names) | set(database_names)


def collect_clients(cluster: str | None) -> dict[str, list[dict[str, Any]]]:
    """What seamless-remote has active, for forwarding to workers: every extern client not
    defined for a launched service (as seamless-remote reports it), then the clients of the
    services brought up for ``cluster`` (with the URL and directory the cluster sees)."""
    out: dict[str, list[dict[str, Any]]] = {"database": [], "buffer": []}
    for kind, module in (("database", "seamless_remote.database_remote"), ("buffer", "seamless_remote.buffer_remote")):
        mod = _require(module)
        for info in mod.inspect_extern_clients():
            if info.get("name") not in SHELL.runtime.names:
                out[kind].append(_entry(info))
        if SHELL.runtime.cluster is not None and SHELL.runtime.cluster == cluster:
            out[kind] += [_entry(c) for c in SHELL.runtime.clients[kind]]
    return out


def _entry(info: dict[str, Any]) -> dict[str, Any]:
    """A client as ``set_remote_clients`` takes it: ``readonly``, and those of ``url``,
    ``remote_url``, ``directory``, ``remote_directory`` that are set."""
    entry: dict[str, Any] = {"readonly": bool(info.get("readonly", True))}
    for field in ("directory", "url", "remote_url", "remote_directory"):
        if info.get(field) is not None:
            entry[field] = info[field]
    return entry


def connect_dask(address: str, workers: int) -> None:
    """Connect this process's Seamless runtime to the Dask scheduler at ``address`` (nested work from
    inside a cluster job), unless it has a Seamless Dask client already."""
    tc = _require("seamless_dask.transformer_client")
    if tc.get_seamless_dask_client() is not None:
        return
    distributed = _require("distributed")
    client_mod = _require("seamless_dask.client")
    try:
        dc = distributed.Client(address, timeout="10s", set_as_default=False)
    except OSError as exc:
        raise LaunchError(f"cannot reach the Dask scheduler {address} (SEAMLESS_DASK_SCHEDULER): {exc}") from None
    sdc = client_mod.SeamlessDaskClient(dc, worker_plugin_workers=workers)
    tc.set_seamless_dask_client(sdc)
    SHELL.runtime.dask_client = sdc


def prepare(activation: dict[str, Any]) -> None:
    """Import the runtime's modules that :func:`activate` will need for a plan's ``activation``
    (:meth:`seamless_config.core.plan.Plan.activation`), without connecting anything (a warm ``init()``
    does this while the services' health answers are on their way). A module that is missing is
    left for :func:`activate` to report."""
    roles = set(activation["roles"])
    modules = ["seamless_remote.buffer_remote", "seamless_remote.database_remote"] if activation["persistent"] else []
    if "jobserver" in roles:
        modules.append("seamless_remote.jobserver_remote")
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            pass


def activate(activation: dict[str, Any], outcomes: Sequence[Outcome], clients: dict[str, list[dict[str, Any]]]) -> None:
    """Connect the runtime as a plan's ``activation`` says, to the services in ``outcomes`` whose
    storage ``clients`` are these (:func:`seamless_config.core.clients.storage_clients`)."""
    deactivate()
    by_role = {o.role: o for o in outcomes}
    if activation["persistent"] and outcomes:
        connect_clients(clients, in_remote=False, launched_for=activation["cluster"])
    job = by_role.get("jobserver")
    if job is not None:
        jobserver_remote = _require("seamless_remote.jobserver_remote")
        name = f"{PREFIX}-jobserver"
        jobserver_remote.define_extern_client(name, "jobserver", url=f"http://{job.hostname}:{job.port}")
        jobserver_remote.activate(no_main=True, extern_clients=[name])
        _initialize([jobserver_remote._extern_clients[name]])
    dask = by_role.get("daskserver") or by_role.get("pure-daskserver")
    if dask is not None:
        _activate_dask(activation["dask_client"], dask, clients)
    spawn_workers = activation["spawn_workers"]
    if spawn_workers is not None:
        worker = _require("seamless_transformer.worker")
        if not worker.has_spawned():
            worker.spawn(spawn_workers or None)  # 0 (SPAWN_PER_CPU): the worker's own default
    SHELL.runtime.activation = activation


def _activate_dask(how: dict[str, Any] | None, dask: Outcome, clients: dict[str, list[dict[str, Any]]]) -> None:
    distributed = _require("distributed")
    address = f"tcp://{dask.hostname}:{dask.port}"
    if dask.role == "pure-daskserver":
        SHELL.runtime.dask_client = distributed.Client(address, timeout="10s", set_as_default=True)
        return
    assert how is not None
    client_mod = _require("seamless_dask.client")
    tc = _require("seamless_dask.transformer_client")
    dc = distributed.Client(address, timeout="10s", set_as_default=False)
    sdc = client_mod.SeamlessDaskClient(
        dc,
        worker_plugin_workers=how["workers"],
        remote_clients=clients,
        is_local_cluster=how["local_cluster"],
        interactive=how["interactive"],
    )
    tc.set_seamless_dask_client(sdc)
    SHELL.runtime.dask_client = sdc
