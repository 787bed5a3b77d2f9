"""From Seamless-level arguments (service, cluster, project, stage, ...) to one service instance.

Shared by ``seamless-service-resolve`` and the other ``seamless-service-*``
commands. Reads the configuration of a work directory into a private
selection; the session's own selection is not touched.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from ..core import launch, services
from ..core.clients import STORAGE
from ..core.clusters import Cluster
from ..core.errors import DEFAULT_ORIGIN, Origin
from ..core.launch import LaunchDict
from ..core.names import SEAMLESS_CACHE_PROJECT_ALIAS
from ..core.selection import PROJECT_TOPLEVEL, Resolution, Selection, with_stage
from ..core.services import Scope
from ..errors import ConfigurationError
from ..session import SESSION, settled


@attrs.frozen
class ServiceLocation:
    """One service instance: what ``seamless-service-resolve`` prints, and where it runs."""

    info: dict[str, Any]
    launch: LaunchDict
    cluster: Cluster
    #: ``None``: this machine (no SSH); else the SSH destination (decided as the plan decides)
    destination: str | None
    #: the configured bufferdir / database_dir (hashserver, database)
    base_dir: str | None

    @property
    def key(self) -> str:
        return self.launch.key


def _running_cache_root(service: str, mode: str, stage: str | None, substage: str | None) -> str | None:
    """The ``SEAMLESS_CACHE`` directory of this service (or else of the hashserver) in cache mode, from
    the ``workdir`` of its server state file on this machine; ``None`` when there is none."""
    from effects.statefiles import read_json, server_json

    from ..core.selection import seamless_cache_cluster

    cache = seamless_cache_cluster("/")
    scope = Scope(PROJECT_TOPLEVEL, None, stage, substage)
    for svc in dict.fromkeys((service, "hashserver")):
        if svc not in STORAGE:
            continue
        ld = launch.storage_launch_dict(cache, svc, mode, scope, local=True).value_or(None)
        if ld is None:
            continue
        try:
            state = read_json(server_json(ld.key))
        except OSError:  # (StateError is one) an unusable state directory: as if no state
            continue
        workdir = state.get("workdir") if isinstance(state, dict) else None
        if isinstance(workdir, str) and workdir.startswith("/"):
            return services.cache_root_of(workdir, stage)
    return None


def locate_service(
    *,
    service: str,
    cluster: str | None = None,
    project: str | None = None,
    subproject: str | None = None,
    stage: str | None = None,
    substage: str | None = None,
    mode: str = "rw",
    queue: str | None = None,
    frontend_name: str | None = None,
    workdir: str | None = None,
    project_files: bool = True,
) -> ServiceLocation:
    """The service instance the arguments name, as :class:`ServiceLocation`.

    Without ``project_files`` only flags, environment variables and the home cluster files
    count (``seamless-service-resolve`` without ``--workdir``, the contract's "agent mode").
    """
    from .. import get_seamless_cache

    cache_root = None
    if project == SEAMLESS_CACHE_PROJECT_ALIAS:
        # as 0.3.2: the directory of a cache-mode service that has a state file here, else $SEAMLESS_CACHE
        cache_root = _running_cache_root(service, mode, stage, substage) or get_seamless_cache()
        if cache_root is None:
            raise ConfigurationError(
                "--project SEAMLESS_CACHE names the project of SEAMLESS_CACHE mode, but no such service has a "
                "state file on this machine and SEAMLESS_CACHE is not set (export SEAMLESS_CACHE=/path/to/cache)"
            )
        project = None
    from ..core.selection import validate_api_name
    from ..session import check

    # names from the command line reach keys and paths just like names from files
    for kind, value in (("cluster", cluster), ("project", project), ("subproject", subproject),
                        ("stage", stage), ("substage", substage), ("queue", queue)):
        if value is not None:
            check(validate_api_name(kind, value))
    start = with_stage(Selection(), stage, substage, Origin("(command line)"))
    res = SESSION.resolve(start, workdir=os.path.abspath(workdir) if workdir else None, project_files=project_files,
                          seamless_cache=cache_root)
    sel = res.selection
    c = cluster if cluster is not None else sel.cluster
    if c is None:
        raise ConfigurationError(
            "No cluster defined (pass --cluster, or add '- cluster: NAME' to seamless.profile.yaml)" if project_files
            else "No cluster defined (pass --cluster NAME; or --workdir DIR to use the seamless.yaml and "
                 "seamless.profile.yaml of a project: without it they are not read)")
    where = None if cluster is not None else sel.origin("cluster")  # (a file's line, when a file chose it)
    cl = settled(res.clusters.named(c, where if where != DEFAULT_ORIGIN else None, extra="" if project_files else
                                    "a cluster defined in a project's files needs --workdir DIR"))
    local = res.clusters.local_cluster == c
    p = project if project is not None else sel.project
    sp = subproject if subproject is not None else sel.subproject
    q = queue if queue is not None else sel.effective_queue(c)
    if service != "pure-daskserver" and p is None:
        raise ConfigurationError(
            "No project defined (pass --project, or add '- project: NAME' to seamless.yaml)" if project_files
            else "No project defined (pass --project NAME; or --workdir DIR to use a project's seamless.yaml)")
    scope = Scope(p, sp, stage, substage)
    result = launch.launch_dict(service, cl, scope, mode=mode, queue=q, node=sel.node, record=sel.record,
                                frontend_name=frontend_name, local=local)
    ld = settled(result)
    key = ld.key
    info = {
        "service": service,
        "cluster": c,
        "mode": mode,
        "project": p,
        "subproject": sp,
        "stage": stage,
        "substage": substage,
        "queue": (ld.get("meta") or {}).get("queue", q) if service == "pure-daskserver" else q,  # (the key's)
        "key": key,
        "ssh_hostname": ld.get("ssh_hostname"),
        "workdir": ld.get("workdir"),
        "log_path": f"~/.remote-http-launcher/server/{key}.log",
    }
    base_dir = None
    if service in STORAGE:
        fe = launch.choose_frontend(cl, service, frontend_name).unwrap()
        spec = fe.service(service)
        base_dir = spec.directory if spec is not None else None
    return ServiceLocation(info, ld, cl, services.launch_destination(cl, ld, res.clusters.local_cluster), base_dir)


def read_clusters(workdir: str | None = None) -> Resolution:
    """The configuration of ``workdir``: its selection and every cluster in force."""
    return SESSION.resolve(Selection(), workdir=os.path.abspath(workdir) if workdir else None)


def cluster_destinations(res: Resolution, name: str, frontend_name: str | None = None) -> tuple[str | None, ...]:
    """The hosts that run cluster ``name``'s services (``None``: this machine)."""
    cl = settled(res.clusters.named(name))
    return settled(services.cluster_destinations(cl, res.clusters.local_cluster, frontend_name), value_error=True)


__all__ = ["locate_service", "ServiceLocation", "PROJECT_TOPLEVEL"]
