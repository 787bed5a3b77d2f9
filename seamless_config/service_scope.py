"""From Seamless-level arguments (service, cluster, project, stage, ...) to one service instance.

Shared by ``seamless-service-resolve`` and the other ``seamless-service-*``
commands. Reads the configuration of a work directory into a private
selection; the session's own selection is not touched.
"""

from __future__ import annotations

import os
from typing import Any

from returns.result import Failure

from .core import launch
from .core.errors import Origin, did_you_mean
from .core.launch import Scope
from .core.selection import PROJECT_TOPLEVEL, Selection, with_stage
from .errors import ConfigurationError
from .session import SESSION, raise_error

CACHE_ALIAS = "SEAMLESS_CACHE"


def resolve_service(
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
) -> dict[str, Any]:
    """The identity of one service: key, host, workdir, log path and scope."""
    from . import get_seamless_cache

    if project == CACHE_ALIAS:
        if get_seamless_cache() is None:
            raise ConfigurationError(
                "--project SEAMLESS_CACHE names the $SEAMLESS_CACHE project, but SEAMLESS_CACHE is not set "
                "(export SEAMLESS_CACHE=/path/to/cache)"
            )
        project = None
    from .core.selection import validate_api_name
    from .session import check

    # names from the command line reach keys and paths just like names from files
    for kind, value in (("cluster", cluster), ("project", project), ("subproject", subproject),
                        ("stage", stage), ("substage", substage), ("queue", queue)):
        if value is not None:
            check(validate_api_name(kind, value))
    start = with_stage(Selection(), stage, substage, Origin("(command line)"))
    res = SESSION.resolve(start, workdir=os.path.abspath(workdir) if workdir else None)
    sel = res.selection
    c = cluster if cluster is not None else sel.cluster
    if c is None:
        raise ConfigurationError("No cluster defined (pass --cluster, or add '- cluster: NAME' to seamless.profile.yaml)")
    cl = res.clusters.get(c)
    if cl is None:
        hint = did_you_mean(c, res.clusters.names())
        raise ConfigurationError(f"unknown cluster {c!r}" + (f" ({hint})" if hint else ""))
    local = res.clusters.local_cluster == c
    p = project if project is not None else sel.project
    sp = subproject if subproject is not None else sel.subproject
    q = queue if queue is not None else sel.effective_queue(c)
    if service != "pure-daskserver" and p is None:
        raise ConfigurationError("No project defined (pass --project, or add '- project: NAME' to seamless.yaml)")
    scope = Scope(p, sp, stage, substage)
    if service in ("hashserver", "database"):
        result = launch.storage_launch_dict(cl, service, mode, scope, frontend_name, local=local)
    elif service == "jobserver":
        result = launch.jobserver_launch_dict(cl, scope, sel.record, frontend_name, local=local)
    else:
        result = launch.daskserver_launch_dict(
            cl, scope, q, sel.node, sel.record, frontend_name, pure=(service == "pure-daskserver"), local=local)
    if isinstance(result, Failure):
        raise_error(result.failure())
    ld = result.unwrap()
    key = ld.key
    return {
        "service": service,
        "cluster": c,
        "mode": mode,
        "project": p,
        "subproject": sp,
        "stage": stage,
        "substage": substage,
        "queue": q,
        "key": key,
        "ssh_hostname": ld.get("ssh_hostname"),
        "workdir": ld.get("workdir"),
        "log_path": f"~/.remote-http-launcher/server/{key}.log",
    }


__all__ = ["resolve_service", "PROJECT_TOPLEVEL"]
