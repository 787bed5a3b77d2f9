"""Launch dicts for the services of the current selection (runtime-compatible API).

Each ``configure_*`` returns the dict remote-http-launcher's ``run()`` accepts;
explicit arguments override the current selection for that call.
"""

from __future__ import annotations

from typing import Any

from returns.result import Failure, Result

from .core import launch
from .core.clusters import Cluster
from .core.errors import unknown_cluster
from .core.launch import LaunchDict, Scope
from .errors import ConfigurationError
from .select import get_current
from .session import SESSION, get_cluster_set, raise_error


def _cluster(name: str) -> tuple[Cluster, bool]:
    cs = get_cluster_set()
    c = cs.get(name)
    if c is None:
        raise_error(unknown_cluster(name, cs.names()))
    return c, cs.local_cluster == name


def _done(result: Result[LaunchDict, Any]) -> dict[str, Any]:
    if isinstance(result, Failure):
        raise_error(result.failure())
    return result.unwrap().as_dict()


def _storage(service: str, mode: str, cluster, project, subproject, stage, frontend_name) -> dict[str, Any]:
    if mode not in ("rw", "ro"):
        raise ConfigurationError(f"mode must be 'rw' or 'ro', not {mode!r}")
    c, p, sp, st, _ = get_current(cluster, project, subproject, stage)
    cl, local = _cluster(c)
    return _done(launch.storage_launch_dict(cl, service, mode, Scope(p, sp, st), frontend_name, local=local))


def configure_hashserver(mode: str, *, cluster=None, project=None, subproject=None, stage=None, frontend_name=None) -> dict[str, Any]:
    return _storage("hashserver", mode, cluster, project, subproject, stage, frontend_name)


def configure_database(mode: str, *, cluster=None, project=None, subproject=None, stage=None, frontend_name=None) -> dict[str, Any]:
    return _storage("database", mode, cluster, project, subproject, stage, frontend_name)


def configure_jobserver(*, cluster=None, project=None, subproject=None, stage=None, substage=None, frontend_name=None) -> dict[str, Any]:
    c, p, sp, st, sst = get_current(cluster, project, subproject, stage, substage)
    cl, local = _cluster(c)
    record = SESSION.selection.record
    return _done(launch.jobserver_launch_dict(cl, Scope(p, sp, st, sst), record, frontend_name, local=local))


def configure_daskserver(*, cluster=None, project=None, subproject=None, stage=None, substage=None, frontend_name=None) -> dict[str, Any]:
    c, p, sp, st, sst = get_current(cluster, project, subproject, stage, substage)
    cl, local = _cluster(c)
    sel = SESSION.selection
    return _done(launch.daskserver_launch_dict(
        cl, Scope(p, sp, st, sst), sel.effective_queue(c), sel.node, sel.record, frontend_name, local=local))


def configure_pure_daskserver(*, cluster=None, queue: str | None = None, frontend_name=None) -> dict[str, Any]:
    sel = SESSION.selection
    c = cluster if cluster is not None else sel.cluster
    if c is None:
        raise ConfigurationError("No cluster defined")
    cl, local = _cluster(c)
    q = queue if queue is not None else sel.effective_queue(c)
    return _done(launch.daskserver_launch_dict(cl, None, q, sel.node, sel.record, frontend_name, pure=True, local=local))


__all__ = [
    "configure_hashserver",
    "configure_database",
    "configure_jobserver",
    "configure_daskserver",
    "configure_pure_daskserver",
]
