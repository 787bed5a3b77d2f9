"""Cluster definitions: parsing, queue TEMPLATE expansion, lookup.

A cluster file is a mapping of cluster names to definitions (plus an optional
``local_cluster: NAME``); the ``clusters`` command holds the same mapping
inline. Definitions are checked field by field; queues are expanded from their
``TEMPLATE`` at parse time, so a :class:`Cluster` is always complete.
"""

from __future__ import annotations

from typing import Any

import attrs

from . import names, schema
from .convert import (
    Problems,
    check_fields,
    is_null,
    plain,
    to_bool,
    to_int,
    to_str,
    to_str_list,
)
from .errors import (
    CONFLICT,
    INVALID_CHOICE,
    MISSING,
    UNKNOWN_FIELD,
    UNKNOWN_QUEUE,
    WRONG_TYPE,
    ConfigError,
    Origin,
    did_you_mean,
)
from .frozen import EMPTY, FrozenDict, frozen_map, thaw
from .yamltree import Map, Node, Scalar

# the field lists and value kinds come from the schema table
CLUSTER_TYPES = schema.choices("cluster", "type")
#: queue field -> kind of value
QUEUE_FIELDS: dict[str, str] = schema.kinds("queue")
#: Spellings accepted for queue fields besides the canonical one.
QUEUE_ALIASES = {name.replace("_", "-"): name for name in QUEUE_FIELDS if "_" in name}

CLUSTER_FIELDS = schema.names("cluster")
FRONTEND_FIELDS = schema.names("frontend")
SERVICES = names.SERVICE_SECTIONS
SERVICE_FIELDS: dict[str, tuple[str, ...]] = {s: schema.names(s) for s in SERVICES}
SERVICE_REQUIRED: dict[str, tuple[str, ...]] = {s: schema.required(s) for s in SERVICES}


@attrs.frozen
class ServiceSpec:
    """One service section of a frontend (``hashserver:``, ``database:``, ...)."""

    service: str
    directory: str | None = None  # bufferdir (hashserver) / database_dir (database)
    conda: str | None = None
    network_interface: str | None = None
    port_start: int | None = None
    port_end: int | None = None
    origin: Origin | None = attrs.field(default=None, eq=False)
    #: where each field was written
    origins: FrozenDict = attrs.field(default=EMPTY, eq=False, converter=frozen_map)

    # names used by the runtime (seamless_config.cluster compatibility)
    @property
    def bufferdir(self) -> str | None:
        return self.directory if self.service == "hashserver" else None

    @property
    def database_dir(self) -> str | None:
        return self.directory if self.service == "database" else None


@attrs.frozen
class Frontend:
    hostname: str | None
    ssh_hostname: str | None = None
    hashserver: ServiceSpec | None = None
    database: ServiceSpec | None = None
    jobserver: ServiceSpec | None = None
    daskserver: ServiceSpec | None = None
    origin: Origin | None = attrs.field(default=None, eq=False)
    #: where each field was written
    origins: FrozenDict = attrs.field(default=EMPTY, eq=False, converter=frozen_map)

    def service(self, name: str) -> ServiceSpec | None:
        return getattr(self, name)  # type: ignore[no-any-return]


@attrs.frozen
class QueueDefinition:
    """A queue after TEMPLATE expansion: the fields set, in the order written.

    ``origins`` gives, per field, the file and line that set it; ``chain`` the
    TEMPLATE names it was expanded through (nearest first).
    """

    name: str
    fields: FrozenDict = attrs.field(converter=frozen_map)
    origins: FrozenDict = attrs.field(default=EMPTY, eq=False, converter=frozen_map)
    chain: tuple[str, ...] = ()
    origin: Origin | None = attrs.field(default=None, eq=False)

    def get(self, field: str, default: Any = None) -> Any:
        """One field as plain data (a new copy of a mapping or list), or ``default``."""
        return thaw(self.fields[field]) if field in self.fields else default

    def as_dict(self) -> dict[str, Any]:
        return thaw(self.fields)  # type: ignore[no-any-return]

    def origin_of(self, field: str) -> Origin | None:
        return self.origins.get(field)  # type: ignore[no-any-return]


@attrs.frozen
class Cluster:
    name: str
    type: str | None = None
    tunnel: bool = False
    workers: int | None = None
    memory_per_core_property_name: str | None = None
    frontends: tuple[Frontend, ...] = ()
    queues: tuple[QueueDefinition, ...] | None = None
    default_queue: str | None = None
    origin: Origin | None = attrs.field(default=None, eq=False)
    origins: FrozenDict = attrs.field(default=EMPTY, eq=False, converter=frozen_map)

    def queue(self, name: str) -> QueueDefinition | None:
        for q in self.queues or ():
            if q.name == name:
                return q
        return None

    def queue_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queues or ())


class LazyCluster:
    """A cluster definition known to be valid, built into a :class:`Cluster` when first used.

    Cluster files that passed validation before (same bytes, same validator:
    the parse cache knows) are not checked again; their clusters are only
    built when a resolution needs them, which keeps a thousand-cluster setup
    fast.
    """

    __slots__ = ("name", "origin", "_path", "_key", "_raw", "_built")

    def __init__(self, name: str, path: str, key_line: int, raw: Any) -> None:
        self.name = name
        self.origin = Origin(path, key_line)
        self._path = path
        self._key = Scalar(name, key_line)
        self._raw = raw
        self._built: Cluster | None = None

    def build(self) -> Cluster:
        if self._built is None:
            from .yamltree import from_json

            p = Problems(self._path)
            node = from_json(self._raw)
            assert node is not None
            c = _parse_cluster(self.name, self._key, node, p)
            if c is None:  # pragma: no cover - the parse cache said this validated
                raise AssertionError(f"cluster {self.name!r} of {self._path} no longer validates: {p.errors}")
            self._built = c
        return self._built

    def __repr__(self) -> str:
        return f"LazyCluster({self.name!r}, {self.origin})"


@attrs.frozen
class InvalidCluster:
    """A cluster definition with mistakes, kept aside instead of failing its file.

    Only the final definition of a name is used (a later file or ``clusters``
    command replaces an earlier one whole), so, as in 0.3.2, a definition that
    a later one replaces cannot stop a load; its mistakes are reported only
    when it is the one in force (``merge_cluster_sets``).
    """

    name: str
    origin: Origin
    errors: tuple[ConfigError, ...]


def built(c: Cluster | LazyCluster) -> Cluster:
    return c.build() if isinstance(c, LazyCluster) else c


@attrs.frozen
class ClustersCommand:
    """A set of cluster definitions: one cluster file, or one ``clusters`` command."""

    clusters: tuple[Cluster | LazyCluster | InvalidCluster, ...]
    origin: Origin
    local_cluster: str | None = None
    local_cluster_origin: Origin | None = attrs.field(default=None, eq=False)

    @property
    def flawless(self) -> bool:
        """No definition has mistakes (the parse cache may then skip validating these bytes next time)."""
        return not any(isinstance(c, InvalidCluster) for c in self.clusters)


def prevalidated_clusters(path: str, raw: Any) -> ClustersCommand:
    """The clusters of a cluster file that validated before, from its cached JSON tree, unbuilt."""
    clusters: list[Cluster | LazyCluster] = []
    local_cluster = None
    local_origin = None
    if raw is not None:
        _line, _kind, items = raw
        for kline, key, vraw in items:
            if key == "local_cluster":
                from .yamltree import from_json

                node = from_json(vraw)  # a quoted name is stored as [line, [value]]
                local_cluster = node.value if isinstance(node, Scalar) else None
                local_origin = Origin(path, vraw[0])
            else:
                clusters.append(LazyCluster(key, path, kline, vraw))
    return ClustersCommand(tuple(clusters), Origin(path, 1), local_cluster, local_origin)


def parse_clusters_mapping(node: Node, p: Problems, *, origin: Origin, defer: bool = True) -> ClustersCommand | None:
    """Cluster definitions from a mapping ``name -> definition``.

    With ``defer``, a definition with mistakes becomes an :class:`InvalidCluster`
    (an error only if nothing replaces it); without, its mistakes go to ``p``.

    >>> from .yamltree import parse_yaml
    >>> text = '''
    ... here:
    ...   type: slurm
    ...   frontends: [{hostname: localhost, hashserver: {bufferdir: /b}}]
    ...   queues:
    ...     base: {cores: 8, walltime: "01:00:00"}
    ...     big: {TEMPLATE: base, cores: 32}
    ... '''
    >>> p = Problems("c.yaml")
    >>> cc = parse_clusters_mapping(parse_yaml("c.yaml", text).unwrap(), p, origin=Origin("c.yaml", 1))
    >>> cc.clusters[0].queue("big").as_dict()
    {'cores': 32, 'walltime': '01:00:00'}
    """
    if not isinstance(node, Map):
        p.add(WRONG_TYPE, "cluster definitions must be a mapping of cluster names to definitions", node,
              "write 'NAME:' followed by the indented definition")
        return None
    clusters: list[Cluster | LazyCluster | InvalidCluster] = []
    local_cluster = None
    local_origin = None
    for key, value in node.items:
        if key.value == "local_cluster":
            local_cluster = to_str(value, "'local_cluster'", p)
            local_origin = p.origin(value)
            continue
        err = names.check_name("cluster", key.value, p.origin(key))
        if err is not None:
            p.errors.append(err)
            continue
        own = Problems(p.path)
        cluster = _parse_cluster(key.value, key, value, own)
        if own.errors and defer:
            clusters.append(InvalidCluster(key.value, p.origin(key), tuple(own.errors)))
        elif own.errors:
            p.extend(own.errors)
        elif cluster is not None:
            clusters.append(cluster)
    if local_cluster is not None and local_cluster not in {c.name for c in clusters}:
        # may name a cluster of another file; checked when the clusters are combined
        pass
    return ClustersCommand(tuple(clusters), origin, local_cluster, local_origin)


def _parse_cluster(name: str, key: Scalar, node: Node, p: Problems) -> Cluster | None:
    what = f"cluster {name!r}"
    if not isinstance(node, Map):
        p.add(WRONG_TYPE, f"{what} must be a mapping of fields, not {_kind(node)}", node,
              "give at least 'type' and 'frontends'")
        return None
    n_before = len(p.errors)
    check_fields(node, set(CLUSTER_FIELDS), what, p)
    fields = {k.value: v for k, v in node.items}
    origins = tuple((k.value, p.origin(k)) for k, _ in node.items)
    ctype = None
    if "type" in fields:
        ctype = to_str(fields["type"], f"field 'type' of {what}", p, nullable=True)  # null: no type
        if ctype is not None and ctype not in CLUSTER_TYPES:
            p.add(INVALID_CHOICE, f"unknown cluster type {ctype!r} in {what}", fields["type"], did_you_mean(ctype, CLUSTER_TYPES))
            ctype = None
    tunnel = False
    if "tunnel" in fields and not is_null(fields["tunnel"]):
        tunnel = bool(to_bool(fields["tunnel"], f"field 'tunnel' of {what}", p))
    workers = None
    if "workers" in fields and not is_null(fields["workers"]):
        workers = to_int(fields["workers"], f"field 'workers' of {what}", p, minimum=1)
    mpc = None
    if "memory_per_core_property_name" in fields:
        mpc = to_str(fields["memory_per_core_property_name"], f"field 'memory_per_core_property_name' of {what}", p, nullable=True)
    frontends: list[Frontend] = []
    if "frontends" not in fields:
        p.add(MISSING, f"{what} has no 'frontends'", key, "add 'frontends:' with at least one '- hostname: ...' entry")
    else:
        fnode = fields["frontends"]
        from .yamltree import Seq

        if not isinstance(fnode, Seq):
            p.add(WRONG_TYPE, f"'frontends' of {what} must be a list, not {_kind(fnode)}", fnode,
                  "start each frontend with '- hostname: ...'")
        else:
            for i, fe in enumerate(fnode.items):
                f = _parse_frontend(fe, f"frontend {i + 1} of {what}", p, ctype)
                if f is not None:
                    frontends.append(f)
    queues = None
    if "queues" in fields and not is_null(fields["queues"]):
        queues = _parse_queues(fields["queues"], name, ctype, p)
    default_queue = None
    if "default_queue" in fields:
        default_queue = to_str(fields["default_queue"], f"field 'default_queue' of {what}", p, nullable=True)
        if default_queue is not None and (queues is None or default_queue not in {q.name for q in queues}):
            known = [q.name for q in queues or ()]
            p.add(UNKNOWN_QUEUE, f"default_queue {default_queue!r} of {what} is not one of its queues", fields["default_queue"],
                  did_you_mean(default_queue, known) if known else "define it under 'queues:'")
    if len(p.errors) > n_before:
        return None
    return Cluster(
        name=name,
        type=ctype,
        tunnel=tunnel,
        workers=workers,
        memory_per_core_property_name=mpc,
        frontends=tuple(frontends),
        queues=queues,
        default_queue=default_queue,
        origin=p.origin(key),
        origins=origins,
    )


def _kind(node: Node) -> str:
    from .yamltree import kind_name

    return kind_name(node)


#: where a frontend's ``hostname`` comes from when a ``type: local`` cluster leaves it out
LOCAL_HOSTNAME_ORIGIN = Origin("(default: local cluster)")


def _parse_frontend(node: Node, what: str, p: Problems, ctype: str | None = None) -> Frontend | None:
    if not isinstance(node, Map):
        p.add(WRONG_TYPE, f"{what} must be a mapping, not {_kind(node)}", node, "write '- hostname: ...' with its services indented below")
        return None
    check_fields(node, set(FRONTEND_FIELDS), what, p)
    fields = {k.value: v for k, v in node.items}
    hostname = None
    if "hostname" in fields:
        hostname = to_str(fields["hostname"], f"'hostname' of {what}", p)
        if hostname is not None and (err := names.check_host("hostname", hostname, p.origin(fields["hostname"]))):
            p.errors.append(err)
    elif ctype == "local":
        hostname = "localhost"  # as the reference: a local cluster's services are on this machine
    else:
        p.add(MISSING, f"{what} has no 'hostname'", node, "add 'hostname: <where the services listen>', e.g. 'hostname: localhost'")
    ssh_hostname = None
    if "ssh_hostname" in fields:
        ssh_hostname = to_str(fields["ssh_hostname"], f"'ssh_hostname' of {what}", p, nullable=True)
        if ssh_hostname is not None and (err := names.check_host("ssh_hostname", ssh_hostname, p.origin(fields["ssh_hostname"]))):
            p.errors.append(err)
    services: dict[str, ServiceSpec | None] = {}
    for service in SERVICES:
        if service in fields and not is_null(fields[service]):
            services[service] = _parse_service(service, fields[service], f"{service} of {what}", p)
    origins = tuple((k.value, p.origin(k)) for k, _ in node.items)
    if "hostname" not in fields:
        origins += (("hostname", LOCAL_HOSTNAME_ORIGIN),)
    return Frontend(hostname=hostname, ssh_hostname=ssh_hostname, origin=p.origin(node), origins=origins, **services)


def _parse_service(service: str, node: Node, what: str, p: Problems) -> ServiceSpec | None:
    if not isinstance(node, Map):
        p.add(WRONG_TYPE, f"{what} must be a mapping, not {_kind(node)}", node)
        return None
    n_before = len(p.errors)
    allowed = SERVICE_FIELDS[service]
    check_fields(node, set(allowed), what, p)
    fields = {k.value: v for k, v in node.items if not is_null(v)}
    for req in SERVICE_REQUIRED[service]:
        if req not in fields:
            p.add(MISSING, f"{what} needs '{req}'", node, _required_hint(service, req))
    values: dict[str, Any] = {}
    for fname, fnode in fields.items():
        if fname not in allowed:
            continue
        fwhat = f"'{fname}' of {what}"
        if fname in ("port_start", "port_end"):
            values[fname] = to_int(fnode, fwhat, p, minimum=1, maximum=65535)
        else:
            v = to_str(fnode, fwhat, p)
            if v is None:
                continue
            if fname in ("bufferdir", "database_dir"):
                err = names.check_abs_path(fname, v, p.origin(fnode))
            elif fname == "conda":
                err = names.check_conda(v, p.origin(fnode))
            else:  # (0.3.2 accepts "" here, and remote-http-launcher then refuses the launch dict)
                err = names.check_host(fname, v, p.origin(fnode))
            if err is not None:
                p.errors.append(err)
            values[fname] = v
    ps, pe = values.get("port_start"), values.get("port_end")
    if ("port_start" in fields) != ("port_end" in fields):
        have, miss = ("port_start", "port_end") if "port_start" in fields else ("port_end", "port_start")
        p.add(CONFLICT, f"{what} sets '{have}' without '{miss}'", fields[have], f"set both '{have}' and '{miss}', or neither")
    elif ps is not None and pe is not None and ps > pe:
        p.add(CONFLICT, f"{what} has port_start {ps} above port_end {pe}", fields["port_start"], "swap them")
    if len(p.errors) > n_before:
        return None
    directory = values.pop("bufferdir", None) or values.pop("database_dir", None)
    origins = tuple((k.value, p.origin(k)) for k, _ in node.items)
    return ServiceSpec(service=service, directory=directory, origin=p.origin(node), origins=origins, **values)


def _required_hint(service: str, field: str) -> str:
    examples = {
        "bufferdir": "bufferdir: /data/seamless/buffers",
        "database_dir": "database_dir: /data/seamless/db",
        "network_interface": "network_interface: 127.0.0.1",
        "port_start": "port_start: 5100",
        "port_end": "port_end: 5199",
    }
    return f"add '{examples.get(field, field + ': ...')}' under '{service}:'"


def _parse_queues(node: Node, cluster: str, ctype: str | None, p: Problems) -> tuple[QueueDefinition, ...] | None:
    if not isinstance(node, Map):
        p.add(WRONG_TYPE, f"'queues' of cluster {cluster!r} must be a mapping of queue names to fields, not {_kind(node)}", node)
        return None
    done: dict[str, QueueDefinition] = {}
    for key, qnode in node.items:
        qname = key.value
        what = f"cluster {cluster!r}, queue {qname!r}"
        if (err := names.check_name("queue", qname, p.origin(key))) is not None:
            p.errors.append(err)
            continue
        if is_null(qnode):
            qnode = Map((), key.line)
        if not isinstance(qnode, Map):
            p.add(WRONG_TYPE, f"queue {qname!r} of cluster {cluster!r} must be a mapping of fields, not {_kind(qnode)}", qnode)
            continue
        q = _parse_queue(qname, key, qnode, what, done, cluster, ctype, p, frozenset(node.keys()))
        if q is not None:
            done[qname] = q
    return tuple(done.values())


def _parse_queue(
    qname: str,
    key: Scalar,
    node: Map,
    what: str,
    done: dict[str, QueueDefinition],
    cluster: str,
    ctype: str | None,
    p: Problems,
    all_queues: frozenset[str] = frozenset(),
) -> QueueDefinition | None:
    n_before = len(p.errors)
    written: list[tuple[str, Any, Origin]] = []
    template: QueueDefinition | None = None
    for fkey, fnode in node.items:
        fname = QUEUE_ALIASES.get(fkey.value, fkey.value)
        if fname == "TEMPLATE":
            tname = to_str(fnode, f"'TEMPLATE' of {what}", p)
            if tname is None:
                continue
            if tname == qname:
                p.add(CONFLICT, f"queue {qname!r} of cluster {cluster!r} names itself as TEMPLATE", fnode, "name a queue defined above it")
            elif tname not in done:
                hint = (
                    f"define queue {tname!r} above {qname!r}"
                    if tname in all_queues
                    else did_you_mean(tname, list(done)) or "name a queue defined above it in the same cluster"
                )
                p.add(UNKNOWN_QUEUE, f"unknown TEMPLATE {tname!r} for queue {qname!r} of cluster {cluster!r}", fnode, hint)
            else:
                template = done[tname]
            continue
        if fname not in QUEUE_FIELDS:
            p.add(UNKNOWN_FIELD, f"unknown queue field {fkey.value!r} in {what}", fkey, did_you_mean(fkey.value, list(QUEUE_FIELDS) + ["TEMPLATE"]))
            continue
        origin = p.origin(fkey)
        if is_null(fnode):
            written.append((fname, None, origin))  # explicit null: unset what a template gave
            continue
        value = _queue_value(fname, fnode, f"queue field '{fname}' in {what}", p)
        if value is not _INVALID:
            written.append((fname, value, origin))
    if len(p.errors) > n_before:
        return None
    fields: dict[str, Any] = dict(template.fields) if template else {}
    origins: dict[str, Origin] = dict(template.origins) if template else {}
    for fname, value, origin in written:
        if value is None:
            fields.pop(fname, None)
            origins.pop(fname, None)
        else:
            fields[fname] = value
            origins[fname] = origin
    chain = ((template.name,) + template.chain) if template else ()
    q = QueueDefinition(qname, fields, origins, chain, p.origin(key))
    _check_exclusive_rules(q, what, ctype, key, p)
    if len(p.errors) > n_before:
        return None
    return q


_INVALID = object()


def _queue_value(fname: str, node: Node, what: str, p: Problems) -> Any:
    kind = QUEUE_FIELDS[fname]
    n_before = len(p.errors)
    value: Any
    if kind == "int":
        value = to_int(node, what, p, minimum=1)
    elif kind == "bool":
        value = to_bool(node, what, p)
    elif kind == "list":
        value = to_str_list(node, what, p, multiline=fname == "job_script_prologue")
        value = list(value) if value is not None else None
    elif kind == "mapping":
        if not isinstance(node, Map):
            p.add(WRONG_TYPE, f"{what} must be a mapping, not {_kind(node)}", node, f"write e.g. '{fname}: {{GPU: 1}}'")
            return _INVALID
        value = plain(node)
    else:
        value = to_str(node, what, p)
        if value is not None and kind == "conda" and (err := names.check_conda(value, p.origin(node))):
            p.errors.append(err)
    return _INVALID if len(p.errors) > n_before else value


def _check_exclusive_rules(q: QueueDefinition, what: str, ctype: str | None, key: Scalar, p: Problems) -> None:
    exclusive = bool(q.get("exclusive"))
    cores = q.get("cores")
    where = q.origin_of("exclusive") or q.origin_of("job_cores") or p.origin(key)
    if exclusive and q.get("job_cores") is not None:
        p.errors.append(CONFLICT(f"'job_cores' must not be set in exclusive mode ({what})",
                                    q.origin_of("job_cores") or where,
                                    "remove 'job_cores': an exclusive job takes the whole node, or 'cores' of it"))
    elif not exclusive and cores is None and ctype != "local":
        p.errors.append(MISSING(f"'cores' is required when 'exclusive' is not set ({what})", p.origin(key),
                                    "add 'cores: N', or 'exclusive: true' for whole-node jobs"))
    elif exclusive and cores is None and ctype == "local":
        p.errors.append(MISSING(f"'cores' is required for an exclusive queue of a local cluster ({what})",
                                    q.origin_of("exclusive") or p.origin(key), "add 'cores: N'"))
