"""Selecting cluster, project, stage, execution mode and the rest (runtime-compatible API).

These functions change the session's :class:`~seamless_config.core.selection.Selection`.
A value chosen here survives reloads of the configuration files until a file
command sets the same thing; see ``docs/selection.md``.
"""

from __future__ import annotations

from typing import Any

from .core import selection as S
from .core.commands import EXECUTION_MODES, REMOTE_TARGETS
from .core.selection import PROJECT_TOPLEVEL, api_origin
from .errors import ConfigurationError, ConfigValueError
from .session import SESSION, _invalidate_record_cache, check, get_cluster_set, settled


def _sel() -> S.Selection:
    return SESSION.selection


def select_cluster(cluster: str | None) -> None:
    check(S.validate_api_name("cluster", cluster))
    SESSION.update(S.select_cluster(_sel(), cluster, api_origin("select_cluster")))


def _sticky(name: str, value: Any) -> None:
    check(S.validate_api_name(name, value))
    SESSION.update(S.set_sticky(_sel(), name, value, api_origin(f"select_{name}")))


def select_project(project: str) -> None:
    _sticky("project", project)


def select_subproject(subproject: str | None) -> None:
    _sticky("subproject", subproject)


def select_stage(stage: str | None) -> None:
    _sticky("stage", stage)


def select_substage(substage: str | None) -> None:
    _sticky("substage", substage)


def _tracked(name: str, value: Any, source: Any) -> None:
    check(S.validate_api_value(name, value))
    SESSION.update(S.select_tracked(_sel(), name, value, api_origin(f"select_{name}"), source))


def select_execution(execution: str, *, source: Any = "manual") -> None:
    _tracked("execution", execution, source)


def select_persistent(persistent: bool, *, source: Any = "manual") -> None:
    _tracked("persistent", persistent, source)


def select_record(record: bool, *, source: Any = "manual") -> None:
    _tracked("record", record, source)
    _invalidate_record_cache()


def select_remote(remote: str | None, *, source: Any = "manual") -> None:
    _tracked("remote", remote, source)


def select_node(node: str | None, *, source: Any = "manual") -> None:
    _tracked("node", node, source)


def select_queue(queue: str, *, source: Any = "manual") -> None:
    if not isinstance(queue, str):
        raise ConfigValueError(f"queue must be a string (got {queue!r})")
    clusters = get_cluster_set()
    check(S.check_queue(_sel(), queue, clusters, None))
    SESSION.update(S.select_queue_unchecked(_sel(), queue, api_origin("select_queue"), source))


def select_nparallel(nparallel: int) -> None:
    check(S.validate_api_value("nparallel", nparallel))
    SESSION.update(S.set_sticky(_sel(), "nparallel", nparallel, api_origin("select_nparallel")))


def get_stage() -> str | None:
    return _sel().stage


def get_substage() -> str | None:
    return _sel().substage


def get_selected_project() -> str | None:
    return _sel().project


def get_selected_subproject() -> str | None:
    return _sel().subproject


def get_selected_cluster() -> str | None:
    return _sel().cluster


def get_execution() -> str:
    return _sel().effective_execution()


def execution_was_set_explicitly() -> bool:
    return _sel().source("execution") is not None


def execution_command_seen() -> bool:
    return _sel().command_seen("execution")


def persistent_was_set_explicitly() -> bool:
    return _sel().source("persistent") is not None


def get_persistent(cluster: str | None = None) -> bool:
    return _sel().effective_persistent(cluster)


def get_record() -> bool:
    return _sel().record


def get_queue(cluster: str | None = None) -> str | None:
    return _sel().effective_queue(cluster)


def get_remote() -> str | None:
    return _sel().remote


def get_node() -> str | None:
    return _sel().node


def get_nparallel() -> int:
    n = _sel().nparallel
    if n is None:
        raise ConfigurationError(
            "nparallel is not set. Add 'nparallel: <N>' to seamless.profile.yaml "
            "or call seamless_config.set_nparallel(N)."
        )
    return n


def check_remote_redundancy(cluster: str) -> str | None:
    sel = _sel()
    if sel.remote is not None:
        return sel.remote
    return settled(get_cluster_set().named(cluster).bind(lambda c: S.check_remote_redundancy(sel, c)))


def _reset(name: str) -> None:
    SESSION.update(S.reset_before_load(_sel(), (name,)))


def reset_execution_before_load() -> None:
    _reset("execution")


def reset_queue_before_load() -> None:
    _reset("queue")


def reset_remote_before_load() -> None:
    _reset("remote")


def reset_persistent_before_load() -> None:
    _reset("persistent")


def reset_record_before_load() -> None:
    _reset("record")
    _invalidate_record_cache()


def reset_node_before_load() -> None:
    _reset("node")


def get_current(
    cluster: str | None = None,
    project: str | None = None,
    subproject: str | None = None,
    stage: str | None = None,
    substage: str | None = None,
) -> tuple[str, str, str | None, str | None, str | None]:
    """``(cluster, project, subproject, stage, substage)``, each argument overriding the selection."""
    sel = _sel()
    c = cluster if cluster is not None else sel.cluster
    p = project if project is not None else sel.project
    if c is None:
        raise ConfigurationError("No cluster defined")
    if p is None:
        raise ConfigurationError("No project defined")
    return (
        c,
        p,
        subproject if subproject is not None else sel.subproject,
        stage if stage is not None else sel.stage,
        substage if substage is not None else sel.substage,
    )


__all__ = [
    "PROJECT_TOPLEVEL", "EXECUTION_MODES", "REMOTE_TARGETS",
    "select_cluster", "select_project", "select_subproject", "select_stage", "select_substage",
    "select_execution", "select_persistent", "select_record", "select_queue", "select_remote",
    "select_node", "select_nparallel",
    "get_stage", "get_substage", "get_selected_project", "get_selected_subproject", "get_selected_cluster",
    "get_execution", "get_persistent", "get_record", "get_queue", "get_remote", "get_node",
    "get_nparallel", "get_current", "check_remote_redundancy",
    "execution_was_set_explicitly", "execution_command_seen", "persistent_was_set_explicitly",
    "reset_execution_before_load", "reset_queue_before_load", "reset_remote_before_load",
    "reset_persistent_before_load", "reset_record_before_load", "reset_node_before_load",
]
