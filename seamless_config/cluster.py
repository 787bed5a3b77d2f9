"""Cluster definitions as the runtime reads them (runtime-compatible API).

:func:`get_cluster` returns a read-only view with the attribute names the rest
of the Seamless stack uses (``frontends[i].hashserver.bufferdir``, ``queues`` as
a mapping of queue objects, ...).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .core.clusters import QUEUE_FIELDS, Cluster, Frontend, QueueDefinition, ServiceSpec
from .session import get_cluster_set, settled


def _service(spec: ServiceSpec | None) -> Any:
    if spec is None:
        return None
    fields: dict[str, Any] = {}
    if spec.service == "hashserver":
        fields["bufferdir"] = spec.directory
    elif spec.service == "database":
        fields["database_dir"] = spec.directory
    if spec.service != "daskserver":
        fields["conda"] = spec.conda
    fields.update(network_interface=spec.network_interface, port_start=spec.port_start, port_end=spec.port_end)
    return SimpleNamespace(**fields)


def _frontend(f: Frontend) -> Any:
    return SimpleNamespace(
        hostname=f.hostname,
        ssh_hostname=f.ssh_hostname,
        hashserver=_service(f.hashserver),
        database=_service(f.database),
        jobserver=_service(f.jobserver),
        daskserver=_service(f.daskserver),
    )


def _queue(q: QueueDefinition) -> Any:
    values = {name: None for name in QUEUE_FIELDS}
    values.update(q.as_dict())
    return SimpleNamespace(name=q.name, **values)


def view(c: Cluster) -> Any:
    return SimpleNamespace(
        name=c.name,
        type=c.type,
        tunnel=c.tunnel,
        workers=c.workers,
        memory_per_core_property_name=c.memory_per_core_property_name,
        frontends=[_frontend(f) for f in c.frontends],
        queues=None if c.queues is None else {q.name: _queue(q) for q in c.queues},
        default_queue=c.default_queue,
    )


def get_cluster(cluster: str) -> Any:
    """The definition of ``cluster``; :class:`ConfigurationError` when there is none."""
    return view(settled(get_cluster_set().named(cluster)))


def get_local_cluster() -> str | None:
    return get_cluster_set().local_cluster


__all__ = ["get_cluster", "get_local_cluster"]
