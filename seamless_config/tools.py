"""Launch dicts for the services of the current selection (runtime-compatible API).

Each ``configure_*`` returns the dict remote-http-launcher's ``run()`` accepts;
explicit arguments override the current selection for that call.
"""

from __future__ import annotations

from typing import Any

from .core import launch
from .core.clients import MODES
from .core.clusters import Cluster
from .core.services import Scope
from .errors import ConfigurationError
from .select import get_current
from .session import SESSION, get_cluster_set, settled


def _cluster(name: str) -> tuple[Cluster, bool]:
    cs = get_cluster_set()
    return settled(cs.named(name)), cs.local_cluster == name


def _configure(service: str, cluster: str | None, scope: tuple[Any, ...], frontend_name: str | None,
               mode: str = "rw", queue: str | None = None) -> dict[str, Any]:
    """The launch dict of ``service`` for the current selection, each given argument overriding it
    (``scope``: project, subproject, stage and, for the job services, substage)."""
    sel = SESSION.selection
    if service == "pure-daskserver":  # no project scope
        c = cluster if cluster is not None else sel.cluster
        if c is None:
            raise ConfigurationError("No cluster defined")
        where = Scope(None)
    else:
        c, p, sp, st, sst = get_current(cluster, *scope)
        where = Scope(p, sp, st, sst if len(scope) == 4 else None)
    cl, local = _cluster(c)
    return settled(launch.launch_dict(service, cl, where, mode=mode,
                                      queue=sel.effective_queue(c) if queue is None else queue, node=sel.node,
                                      record=sel.record, frontend_name=frontend_name, local=local)).as_dict()


def _storage(service: str, mode: str, cluster, project, subproject, stage, frontend_name) -> dict[str, Any]:
    if mode not in MODES:
        raise ConfigurationError(f"mode must be 'rw' or 'ro', not {mode!r}")
    return _configure(service, cluster, (project, subproject, stage), frontend_name, mode)


def configure_hashserver(mode: str, *, cluster=None, project=None, subproject=None, stage=None, frontend_name=None) -> dict[str, Any]:
    return _storage("hashserver", mode, cluster, project, subproject, stage, frontend_name)


def configure_database(mode: str, *, cluster=None, project=None, subproject=None, stage=None, frontend_name=None) -> dict[str, Any]:
    return _storage("database", mode, cluster, project, subproject, stage, frontend_name)


def configure_jobserver(*, cluster=None, project=None, subproject=None, stage=None, substage=None, frontend_name=None) -> dict[str, Any]:
    return _configure("jobserver", cluster, (project, subproject, stage, substage), frontend_name)


def configure_daskserver(*, cluster=None, project=None, subproject=None, stage=None, substage=None, frontend_name=None) -> dict[str, Any]:
    return _configure("daskserver", cluster, (project, subproject, stage, substage), frontend_name)


def configure_pure_daskserver(*, cluster=None, queue: str | None = None, frontend_name=None) -> dict[str, Any]:
    return _configure("pure-daskserver", cluster, (), frontend_name, queue=queue)


__all__ = [
    "configure_hashserver",
    "configure_database",
    "configure_jobserver",
    "configure_daskserver",
    "configure_pure_daskserver",
]
