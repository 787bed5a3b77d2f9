"""The rows of ``seamless-service-ps``, and which of them a service command acts on (pure).

A row is one service as a host's state files, this machine's client
connection files or a storage directory show it (:func:`server_row`,
:func:`client_row`); :class:`RowFilter` says which rows ``ps``, ``stop`` and
``rm`` take. The table itself is drawn beside the CLIs (:mod:`seamless_config.cli.table`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ..core.clients import MODES
from ..core.names import PROJECT_TOPLEVEL, SEAMLESS_CACHE_CLUSTER, SEAMLESS_CACHE_PROJECT_ALIAS
from ..core.services import MARKERS, SCOPE_FIELDS, ServiceScope, scope_of

if TYPE_CHECKING:
    from ..core.selection import Resolution


@attrs.frozen
class ServiceRow:
    """One line of ``seamless-service-ps``."""

    key: str
    scope: ServiceScope
    #: ``running``, ``starting``, ``stale``, ``failed``, ``corrupt`` (server state), ``client``
    #: (a connection file for a service this machine cannot see), or ``None`` (storage only)
    process: str | None
    port: int | None = None
    pid: int | None = None
    #: the SSH destination of the host that runs the service; ``None`` for this machine
    host: str | None = None
    #: the service's storage directory (hashserver, database), on ``host``
    path: str | None = None
    persistent: str | None = None  # absent / empty / populated
    size: int | None = None
    source: str = "server"  # server / client / storage

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object of the row.

        >>> from seamless_config.core.services import parse_key
        >>> r = ServiceRow("hashserver-c-rw-p", parse_key("hashserver-c-rw-p"), "running", 5000)
        >>> sorted(r.as_json())[:6]
        ['cluster', 'host', 'key', 'mode', 'path', 'persistent']
        """
        s = self.scope
        return {
            "key": self.key if self.source != "storage" else None,
            **{name: getattr(s, name) for name in SCOPE_FIELDS},
            "project": display_project(s.project, s.cluster),
            "process": self.process, "port": self.port, "pid": self.pid, "host": self.host,
            "path": self.path, "persistent": self.persistent, "size": self.size, "source": self.source,
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def server_row(state: dict[str, Any], host: str | None, clusters: Iterable[str] = ()) -> ServiceRow:
    """A row from one ``Host.list_states`` entry (the state plus ``key``, its status corrected).

    >>> server_row({"key": "database-c-rw-p", "status": "running", "port": 5, "pid": 9, "workdir": "/d/p"}, None).path
    '/d/p'
    """
    key = str(state.get("key"))
    scope = scope_of(key, state.get("meta"), clusters)
    status = state.get("status") if isinstance(state.get("status"), str) else "failed"
    workdir = state.get("workdir") if scope.service in MARKERS and isinstance(state.get("workdir"), str) else None
    return ServiceRow(key, scope, status, _int(state.get("port")), _int(state.get("pid")), host, workdir)


def client_row(key: str, data: dict[str, Any], server_state: dict[str, Any] | None,
               clusters: Iterable[str] = ()) -> ServiceRow:
    """A row from a client connection file on this machine.

    ``server_state`` is the service's server state when it is on this machine too
    (a ``list_states`` row, status corrected): its status is then the process column.
    Else the process column says ``client``, or ``stale`` once the file was marked so.

    >>> client_row("hashserver-c-rw-p", {"hostname": "h", "port": 7}, None).process
    'client'
    >>> client_row("hashserver-c-rw-p", {"port": 7, "status": "stale"}, None).process
    'stale'
    >>> client_row("hashserver-c-rw-p", {"port": 7}, {"status": "running", "pid": 3, "workdir": "/b/p"}).process
    'running'
    """
    scope = scope_of(key, data.get("meta"), clusters)
    process: str = "client"
    pid: int | None = None
    path: str | None = None
    if data.get("status") == "stale":
        process = "stale"
    elif server_state is not None:
        status = server_state.get("status")
        process = status if isinstance(status, str) else "failed"
        pid = _int(server_state.get("pid"))
    if server_state is not None and scope.service in MARKERS and isinstance(server_state.get("workdir"), str):
        path = server_state["workdir"]
    host = None
    if server_state is None:
        for name in ("tunneled-host", "ssh_hostname", "hostname"):
            if isinstance(data.get(name), str):
                host = data[name]
                break
    return ServiceRow(key, scope, process, _int(data.get("port")), pid, host, path, source="client")


@attrs.frozen
class RowFilter(ServiceScope):
    """Which rows a command acts on: a scope, and the row's process status; every field given must
    match (``None`` matches anything)."""

    status: str | None = None

    def matches(self, row: ServiceRow) -> bool:
        """
        >>> from seamless_config.core.services import parse_key
        >>> row = ServiceRow("hashserver-c-rw-p--STAGE-s", parse_key("hashserver-c-rw-p--STAGE-s"), "stale")
        >>> RowFilter(cluster="c", stage="s").matches(row), RowFilter(project="q").matches(row)
        (True, False)
        >>> RowFilter(status="running").matches(row)
        False
        """
        s = row.scope
        for name in SCOPE_FIELDS:
            wanted = getattr(self, name)
            if wanted is not None and getattr(s, name) != wanted:
                return False
        return self.status is None or row.process == self.status


def select_rows(rows: Iterable[ServiceRow], wanted: RowFilter) -> list[ServiceRow]:
    """The rows a command acts on, sorted by cluster, service and key; each key once per host."""
    seen: set[tuple[str | None, str]] = set()
    out = []
    for row in rows:
        if (row.host, row.key) in seen or not wanted.matches(row):
            continue
        seen.add((row.host, row.key))
        out.append(row)
    return sorted(out, key=lambda r: (r.scope.cluster or "", r.scope.service or "", r.key, r.host or ""))


#: where a storage service keeps its data: its host (SSH destination, ``None`` for this machine) and directory
Place = tuple[str | None, str]


def storage_place(res: Resolution, scope: ServiceScope, frontend_name: str | None = None) -> Place | None:
    """Where the storage service ``scope`` names keeps its data, as its plan would say; ``None`` when
    the configuration does not say (an unknown cluster, no project, no such service)."""
    from ..core.launch import storage_launch_dict
    from ..core.services import launch_destination

    cl = res.clusters.get(scope.cluster) if scope.cluster else None
    if cl is None or scope.project is None or scope.service not in MARKERS:
        return None
    local = res.clusters.local_cluster
    ld = storage_launch_dict(cl, scope.service, scope.mode if scope.mode in MODES else "rw", scope, frontend_name,
                             local=cl.name == local).value_or(None)
    return None if ld is None else (launch_destination(cl, ld, local), ld.get("workdir"))


def storage_places(rows: Iterable[ServiceRow], res: Resolution, selected: ServiceScope | None = None,
                   frontend_name: str | None = None) -> list[tuple[ServiceRow, Place | None]]:
    """Each row with the place of its storage (hashserver and database rows); then a ``storage`` row
    for each storage service of the ``selected`` scope (its ``service``, else both) whose place no
    row shows."""
    located: list[tuple[ServiceRow, Place | None]] = []
    for row in rows:
        where = None
        if row.scope.service in MARKERS:
            where = ((row.host if row.source == "server" else None, row.path) if row.path is not None
                     else storage_place(res, row.scope))
        located.append((row, where))
    if selected is None:
        return located
    shown = {w for _, w in located if w is not None}
    for service in MARKERS:
        if selected.service not in (None, service):
            continue
        scope = attrs.evolve(selected, service=service, mode=None)
        where = storage_place(res, scope, frontend_name)
        if where is not None and where not in shown:
            located.append((ServiceRow("", scope, None, host=where[0], path=where[1], source="storage"), where))
            shown.add(where)
    return located


def usage_asks(located: Iterable[tuple[ServiceRow, Place | None]]) -> dict[str | None, dict[str | None, list[str]]]:
    """The disk usage to ask each host for: by marker file (a hashserver's, or ``None``), each path once."""
    asks: dict[str | None, dict[str | None, list[str]]] = {}
    for row, where in located:
        if where is not None:
            marker = MARKERS["hashserver"] if row.scope.service == "hashserver" else None
            paths = asks.setdefault(where[0], {}).setdefault(marker, [])
            if where[1] not in paths:
                paths.append(where[1])
    return asks


def with_usage(located: Iterable[tuple[ServiceRow, Place | None]],
               found: dict[Place, dict[str, Any]]) -> list[ServiceRow]:
    """The rows with PERSISTENT and SIZE from the disk usage ``found`` at their places."""
    out = []
    for row, where in located:
        u = found.get(where) if where is not None else None
        if u is not None and where is not None:
            row = attrs.evolve(row, path=where[1], persistent=u.get("state"),
                               size=u.get("size") if u.get("state") == "populated" else None)
        out.append(row)
    return out


def human_size(size: int | None) -> str:
    """Bytes as ``du -h`` shows them.

    >>> human_size(None), human_size(0), human_size(512), human_size(98304), human_size(3 * 1024**3)
    ('-', '0', '512B', '96K', '3.0G')
    """
    if size is None:
        return "-"
    if size == 0:
        return "0"
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return f"{value:.0f}T"  # pragma: no cover


def display_project(project: str | None, cluster: str | None) -> str | None:
    """How rows show a project: ``SEAMLESS_CACHE`` for the project of ``SEAMLESS_CACHE`` mode.

    >>> display_project("__TOPLEVEL__", "__SEAMLESS_CACHE__"), display_project("p", "c")
    ('SEAMLESS_CACHE', 'p')
    """
    if project == PROJECT_TOPLEVEL and cluster == SEAMLESS_CACHE_CLUSTER:
        return SEAMLESS_CACHE_PROJECT_ALIAS
    return project
