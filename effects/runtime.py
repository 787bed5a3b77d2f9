"""Connect the Seamless runtime to the services of a plan (and disconnect it).

Uses seamless-remote's *extern* clients with the URLs this project brought up,
so the runtime launches nothing itself; the daskserver gets a
``SeamlessDaskClient`` (persistent mode) or a plain ``distributed.Client``
(pure Dask mode); ``execution: spawn`` starts the local worker pool.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from seamless_config.core.plan import Plan

from .hosts import LaunchError
from .launcher import Outcome, remote_clients

PREFIX = "seamless-config"
_state: dict[str, Any] = {"dask_client": None, "plan": None, "clients": {"database": [], "buffer": []}}


def _require(module: str) -> Any:
    try:
        __import__(module)
    except ImportError as exc:
        raise LaunchError(
            f"the Seamless runtime is not installed ({exc}); install it with: pip install 'seamless-config[runtime]'"
        ) from None
    return sys.modules[module]


def deactivate() -> None:
    """Disconnect every client this module connected."""
    for name in ("buffer_remote", "database_remote", "jobserver_remote"):
        mod = sys.modules.get(f"seamless_remote.{name}")
        if mod is not None:
            mod.activate(no_main=True)
    client = _state["dask_client"]
    if client is not None:
        mod = sys.modules.get("seamless_dask.transformer_client")
        if mod is not None and hasattr(mod, "set_seamless_dask_client"):
            mod.set_seamless_dask_client(None)
        close = getattr(client, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - a client of a vanished scheduler
                pass
        _state["dask_client"] = None
    _state["plan"] = None
    _state["clients"] = {"database": [], "buffer": []}


def _initialize(clients: Sequence[Any]) -> None:
    """Mark seamless-remote clients initialized now, outside any event loop.

    seamless-remote initializes an extern client lazily, and its synchronous
    initializer, called from a coroutine on the runtime's own event loop (as
    ``buffer_writer.flush()`` does before every jobserver submission), schedules
    the work on that same loop and waits for it: a deadlock whenever the client
    was not yet used. Initializing here (without a health check: the launcher
    has just checked each service) takes that path away.
    """
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


def connect_clients(clients: dict[str, list[dict[str, Any]]], *, in_remote: bool) -> None:
    """Point seamless-remote's buffer and database clients at these services.

    ``in_remote``: this process runs on the cluster (a jobserver or Dask
    worker), so it uses the URLs and directories as the cluster sees them.
    """
    buffer_remote = _require("seamless_remote.buffer_remote")
    database_remote = _require("seamless_remote.database_remote")
    url_key, dir_key = ("remote_url", "remote_directory") if in_remote else ("url", "directory")
    names = []
    for i, c in enumerate(clients.get("buffer", [])):
        url = c.get(url_key) or c.get("url")
        readonly = bool(c.get("readonly", True))
        if url:
            name = f"{PREFIX}-buffer-{i}"
            buffer_remote.define_extern_client(name, "hashserver", url=url, readonly=readonly)
            names.append(name)
        directory = c.get(dir_key) if in_remote else c.get("directory")
        if directory and os.path.isdir(os.path.expanduser(directory)):
            name = f"{PREFIX}-bufferfolder-{i}"
            buffer_remote.define_extern_client(name, "bufferfolder", directory=os.path.expanduser(directory))
            names.append(name)
    buffer_remote.activate(no_main=True, extern_clients=names)
    defined = [buffer_remote._extern_clients[n] for n in names]
    names = []
    for i, c in enumerate(clients.get("database", [])):
        url = c.get(url_key) or c.get("url")
        if url:
            name = f"{PREFIX}-database-{i}"
            database_remote.define_extern_client(name, "database", url=url, readonly=bool(c.get("readonly", True)))
            names.append(name)
    database_remote.activate(no_main=True, extern_clients=names)
    _initialize(defined + [database_remote._extern_clients[n] for n in names])
    _state["clients"] = {k: [dict(c) for c in clients.get(k, [])] for k in ("database", "buffer")}


def activate(plan: Plan, outcomes: Sequence[Outcome]) -> None:
    """Connect the runtime as ``plan`` says, to the services in ``outcomes``."""
    deactivate()
    by_role = {o.role: o for o in outcomes}
    clients = remote_clients(plan.services, outcomes)
    if plan.persistent and plan.services:
        connect_clients(clients, in_remote=False)
    job = by_role.get("jobserver")
    if job is not None:
        jobserver_remote = _require("seamless_remote.jobserver_remote")
        name = f"{PREFIX}-jobserver"
        jobserver_remote.define_extern_client(name, "jobserver", url=f"http://{job.hostname}:{job.port}")
        jobserver_remote.activate(no_main=True, extern_clients=[name])
        _initialize([jobserver_remote._extern_clients[name]])
    dask = by_role.get("daskserver") or by_role.get("pure-daskserver")
    if dask is not None:
        _activate_dask(plan, dask, clients)
    if plan.spawn_workers:
        worker = _require("seamless_transformer.worker")
        if not worker.has_spawned():
            worker.spawn(plan.spawn_workers)
    _state["plan"] = plan


def _activate_dask(plan: Plan, dask: Outcome, clients: dict[str, list[dict[str, Any]]]) -> None:
    distributed = _require("distributed")
    address = f"tcp://{dask.hostname}:{dask.port}"
    if dask.role == "pure-daskserver":
        _state["dask_client"] = distributed.Client(address, timeout="10s", set_as_default=True)
        return
    sp = plan.service("daskserver")
    assert sp is not None
    fp = sp.launch.get("file_parameters") or {}
    client_mod = _require("seamless_dask.client")
    tc = _require("seamless_dask.transformer_client")
    dc = distributed.Client(address, timeout="10s", set_as_default=False)
    sdc = client_mod.SeamlessDaskClient(
        dc,
        worker_plugin_workers=int(fp.get("cores") or 1),
        remote_clients=clients,
        is_local_cluster="LocalCluster" in (sp.launch.get("cluster_string") or ""),
        interactive=bool(fp.get("interactive")),
    )
    tc.set_seamless_dask_client(sdc)
    _state["dask_client"] = sdc


def active_clients() -> dict[str, list[dict[str, Any]]]:
    return {k: [dict(c) for c in v] for k, v in _state["clients"].items()}
