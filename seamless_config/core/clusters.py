"""Cluster definitions: parsing, queue TEMPLATE expansion, lookup.

A cluster file is a mapping of cluster names to definitions (plus an optional
``local_cluster: NAME``); the ``clusters`` command holds the same mapping
inline. Definitions are checked field by field; queues are expanded from their
``TEMPLATE`` at parse time, so a :class:`Cluster` is always complete.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from . import names, schema
from .convert import READERS, Errors, at, fail, is_null, read, to_str, unknown_field, unknown_fields
from .errors import (
    CONFLICT,
    MISSING,
    UNKNOWN_QUEUE,
    WRONG_TYPE,
    ConfigError,
    Origin,
    did_you_mean,
)
from .frozen import EMPTY, FrozenDict, frozen_map, thaw
from .results import gather, split
from .yamltree import Map, Node, Scalar, Seq, kind_name

# the field lists and value kinds come from the schema table
#: queue field -> kind of value
QUEUE_FIELDS: dict[str, str] = schema.kinds("queue")
#: Spellings accepted for queue fields besides the canonical one.
QUEUE_ALIASES = {name.replace("_", "-"): name for name in QUEUE_FIELDS if "_" in name}
_QUEUE_FIELD = {f.name: f for f in schema.fields("queue")}
_QUEUE_KEYS = (*QUEUE_FIELDS, "TEMPLATE")

CLUSTER_FIELDS = frozenset(schema.names("cluster"))
FRONTEND_FIELDS = frozenset(schema.names("frontend"))
SERVICES = names.SERVICE_SECTIONS
SERVICE_FIELDS: dict[str, frozenset[str]] = {s: frozenset(schema.names(s)) for s in SERVICES}
SERVICE_REQUIRED: dict[str, tuple[str, ...]] = {s: schema.required(s) for s in SERVICES}


@attrs.frozen
class Written:
    """Where a definition was written: as a whole (``origin``) and field by field (``origins``).

    Keyword-only, and outside equality: two definitions that differ only in where they stand are equal.
    """

    origin: Origin | None = attrs.field(default=None, eq=False, kw_only=True)
    origins: FrozenDict = attrs.field(default=EMPTY, eq=False, converter=frozen_map, kw_only=True)

    def origin_of(self, field: str) -> Origin | None:
        return self.origins.get(field)  # type: ignore[no-any-return]


@attrs.frozen
class ServiceSpec(Written):
    """One service section of a frontend (``hashserver:``, ``database:``, ...)."""

    service: str
    directory: str | None = None  # bufferdir (hashserver) / database_dir (database)
    conda: str | None = None
    network_interface: str | None = None
    port_start: int | None = None
    port_end: int | None = None

    # names used by the runtime (seamless_config.cluster compatibility)
    @property
    def bufferdir(self) -> str | None:
        return self.directory if self.service == "hashserver" else None

    @property
    def database_dir(self) -> str | None:
        return self.directory if self.service == "database" else None


@attrs.frozen
class Frontend(Written):
    hostname: str | None
    ssh_hostname: str | None = None
    hashserver: ServiceSpec | None = None
    database: ServiceSpec | None = None
    jobserver: ServiceSpec | None = None
    daskserver: ServiceSpec | None = None

    def service(self, name: str) -> ServiceSpec | None:
        return getattr(self, name)  # type: ignore[no-any-return]


@attrs.frozen
class QueueDefinition(Written):
    """A queue after TEMPLATE expansion: the fields set, in the order written.

    ``origins`` gives, per field, the file and line that set it; ``chain`` the
    TEMPLATE names it was expanded through (nearest first).
    """

    name: str
    fields: FrozenDict = attrs.field(converter=frozen_map)
    chain: tuple[str, ...] = ()

    def get(self, field: str, default: Any = None) -> Any:
        """One field as plain data (a new copy of a mapping or list), or ``default``."""
        return thaw(self.fields[field]) if field in self.fields else default

    def as_dict(self) -> dict[str, Any]:
        return thaw(self.fields)  # type: ignore[no-any-return]


@attrs.frozen
class Cluster(Written):
    name: str
    type: str | None = None
    tunnel: bool = False
    workers: int | None = None
    memory_per_core_property_name: str | None = None
    frontends: tuple[Frontend, ...] = ()
    queues: tuple[QueueDefinition, ...] | None = None
    default_queue: str | None = None

    #: the queues by name
    _queue_index: FrozenDict = attrs.field(init=False, eq=False, repr=False, default=attrs.Factory(
        lambda self: FrozenDict((q.name, q) for q in self.queues or ()), takes_self=True))

    def queue(self, name: str) -> QueueDefinition | None:
        return self._queue_index.get(name)  # type: ignore[no-any-return]

    def queue_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queues or ())


@attrs.frozen(eq=False)
class LazyCluster:
    """A cluster definition known to be valid (its JSON tree), built into a :class:`Cluster` when first used.

    Cluster files that passed validation before (same bytes, same validator:
    the parse cache knows) are not checked again; their clusters are only
    built when a resolution needs them, which keeps a thousand-cluster setup
    fast. The record never changes: :meth:`build` is a pure function of it,
    memoised outside it (records compare and hash by identity).
    """

    name: str
    origin: Origin
    raw: Any = attrs.field(repr=False)

    def build(self) -> Cluster:
        return _build(self)


@lru_cache(maxsize=4096)
def _build(lazy: LazyCluster) -> Cluster:
    from .yamltree import from_json

    node = from_json(lazy.raw)
    assert node is not None
    path = lazy.origin.file
    # the parse cache said these bytes validated; a failure here is a bug, not a user mistake
    cluster, mistakes = split(parse_cluster(lazy.name, Scalar(lazy.name, lazy.origin.line), node, path))
    if cluster is None:  # pragma: no cover
        raise AssertionError(f"cluster {lazy.name!r} of {path} no longer validates: {mistakes}")
    return cluster


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
                clusters.append(LazyCluster(key, Origin(path, kline), vraw))
    return ClustersCommand(tuple(clusters), Origin(path, 1), local_cluster, local_origin)


def parse_clusters_mapping(node: Node, path: str, *, origin: Origin, defer: bool = True) -> Result[ClustersCommand, Errors]:
    """Cluster definitions from a mapping ``name -> definition``.

    With ``defer``, a definition with mistakes becomes an :class:`InvalidCluster`
    (an error only if nothing replaces it); without, its mistakes fail the whole mapping.

    >>> from .yamltree import parse_yaml
    >>> text = '''
    ... here:
    ...   type: slurm
    ...   frontends: [{hostname: localhost, hashserver: {bufferdir: /b}}]
    ...   queues:
    ...     base: {cores: 8, walltime: "01:00:00"}
    ...     big: {TEMPLATE: base, cores: 32}
    ... '''
    >>> cc = parse_clusters_mapping(parse_yaml("c.yaml", text).unwrap(), "c.yaml", origin=Origin("c.yaml", 1)).unwrap()
    >>> cc.clusters[0].queue("big").as_dict()
    {'cores': 32, 'walltime': '01:00:00'}
    """
    if not isinstance(node, Map):
        return fail(WRONG_TYPE, "cluster definitions must be a mapping of cluster names to definitions", path, node,
                    "write 'NAME:' followed by the indented definition")
    clusters: list[Cluster | LazyCluster | InvalidCluster] = []
    errors: list[ConfigError] = []
    local_cluster = local_origin = None
    for key, value in node.items:
        if key.value == "local_cluster":
            local_origin = at(path, value)
            local_cluster, mistakes = split(to_str(value, "'local_cluster'", path))
            errors += mistakes
            continue
        err = names.check_name("cluster", key.value, at(path, key))
        if err is not None:
            errors.append(err)
            continue
        cluster, mistakes = split(parse_cluster(key.value, key, value, path))
        if cluster is not None:
            clusters.append(cluster)
        elif defer:
            clusters.append(InvalidCluster(key.value, at(path, key), mistakes))
        else:
            errors += mistakes
    # local_cluster may name a cluster of another file: checked when the clusters are combined
    if errors:
        return Failure(tuple(errors))
    return Success(ClustersCommand(tuple(clusters), origin, local_cluster, local_origin))


def _present(node: Map, path: str, what: str, known: frozenset[str], drop_null: bool = False
             ) -> tuple[dict[str, Node], Errors]:
    """The fields written in ``node``, by name (with ``drop_null``, those not written as null), and a
    mistake for each one ``known`` does not list."""
    written = {k.value: v for k, v in node.items}
    unknown = () if written.keys() <= known else unknown_fields(node, known, what, path)
    if drop_null:
        written = {k: v for k, v in written.items() if not is_null(v)}
    return written, unknown


#: the value fields of each section (structural ones, such as ``frontends``, are read by the section)
_VALUE_FIELDS = {s: tuple(f for f in schema.fields(s) if f.kind in READERS) for s in schema.SECTIONS}


def _read_all(section: str, written: dict[str, Node], path: str, owner: str) -> tuple[dict[str, Any], Errors]:
    """The written value fields of ``section``, read in the table's order."""
    return gather([(f.name, read(f, written[f.name], path, owner)) for f in _VALUE_FIELDS[section]
                   if f.name in written])


def parse_cluster(name: str, key: Scalar, node: Node, path: str) -> Result[Cluster, Errors]:
    """One cluster definition, queues expanded from their TEMPLATEs."""
    what = f"cluster {name!r}"
    if not isinstance(node, Map):
        return fail(WRONG_TYPE, f"{what} must be a mapping of fields, not {kind_name(node)}", path, node,
                    "give at least 'type' and 'frontends'")
    written, unknown = _present(node, path, what, CLUSTER_FIELDS)
    values, errors = _read_all("cluster", written, path, what)
    ctype = values.get("type")
    frontends: list[Frontend] = []
    mistakes = [*unknown, *errors]
    if "frontends" not in written:
        mistakes += fail(MISSING, f"{what} has no 'frontends'", path, key,
                         "add 'frontends:' with at least one '- hostname: ...' entry").failure()
    elif not isinstance(fnode := written["frontends"], Seq):
        mistakes += fail(WRONG_TYPE, f"'frontends' of {what} must be a list, not {kind_name(fnode)}", path, fnode,
                         "start each frontend with '- hostname: ...'").failure()
    else:
        found, errs = gather((str(i), parse_frontend(fe, f"frontend {i + 1} of {what}", path, ctype))
                             for i, fe in enumerate(fnode.items))
        frontends, mistakes = list(found.values()), mistakes + list(errs)
    queues = None
    if "queues" in written and not is_null(written["queues"]):
        queues, errs = _parse_queues(written["queues"], name, ctype, path)
        mistakes += errs
    default_queue = values.get("default_queue")
    known = [q.name for q in queues or ()]
    # (a queue written with a mistake of its own is still defined: that mistake is reported, not this)
    qnode = written.get("queues")
    written_queues = qnode.keys() if isinstance(qnode, Map) else known
    if default_queue is not None and default_queue not in written_queues:
        mistakes += fail(UNKNOWN_QUEUE, f"default_queue {default_queue!r} of {what} is not one of its queues", path,
                         written["default_queue"],
                         did_you_mean(default_queue, known) if known else "define it under 'queues:'").failure()
    if mistakes:
        return Failure(tuple(mistakes))
    return Success(Cluster(
        name=name,
        type=ctype,
        tunnel=bool(values.get("tunnel")),
        workers=values.get("workers"),
        memory_per_core_property_name=values.get("memory_per_core_property_name"),
        frontends=tuple(frontends),
        queues=queues,
        default_queue=default_queue,
        origin=at(path, key),
        origins=tuple((k.value, at(path, k)) for k, _ in node.items),
    ))


#: where a frontend's ``hostname`` comes from when a ``type: local`` cluster leaves it out
LOCAL_HOSTNAME_ORIGIN = Origin("(default: local cluster)")


def parse_frontend(node: Node, what: str, path: str, ctype: str | None = None) -> Result[Frontend, Errors]:
    if not isinstance(node, Map):
        return fail(WRONG_TYPE, f"{what} must be a mapping, not {kind_name(node)}", path, node,
                    "write '- hostname: ...' with its services indented below")
    written, unknown = _present(node, path, what, FRONTEND_FIELDS)
    values, errors = _read_all("frontend", written, path, what)
    mistakes = [*unknown, *errors]
    origins = tuple((k.value, at(path, k)) for k, _ in node.items)
    if "hostname" not in written:
        if ctype == "local":  # as the reference: a local cluster's services are on this machine
            values["hostname"] = "localhost"
            origins += (("hostname", LOCAL_HOSTNAME_ORIGIN),)
        else:
            mistakes += fail(MISSING, f"{what} has no 'hostname'", path, node,
                             "add 'hostname: <where the services listen>', e.g. 'hostname: localhost'").failure()
    services, errs = gather((service, parse_service(service, written[service], f"{service} of {what}", path))
                            for service in SERVICES if service in written and not is_null(written[service]))
    mistakes += errs
    if mistakes:
        return Failure(tuple(mistakes))
    return Success(Frontend(hostname=values.get("hostname"), ssh_hostname=values.get("ssh_hostname"),
                            origin=at(path, node), origins=origins, **services))


def parse_service(service: str, node: Node, what: str, path: str) -> Result[ServiceSpec, Errors]:
    """One service section; a field written as null counts as not written."""
    if not isinstance(node, Map):
        return fail(WRONG_TYPE, f"{what} must be a mapping, not {kind_name(node)}", path, node)
    written, unknown = _present(node, path, what, SERVICE_FIELDS[service], drop_null=True)
    missing = [MISSING(f"{what} needs '{req}'", at(path, node), _required_hint(service, req))
               for req in SERVICE_REQUIRED[service] if req not in written]
    values, errors = _read_all(service, written, path, what)
    mistakes = [*unknown, *missing, *errors]
    ps, pe = values.get("port_start"), values.get("port_end")
    if ("port_start" in written) != ("port_end" in written):
        have, miss = ("port_start", "port_end") if "port_start" in written else ("port_end", "port_start")
        mistakes.append(CONFLICT(f"{what} sets '{have}' without '{miss}'", at(path, written[have]),
                                 f"set both '{have}' and '{miss}', or neither"))
    elif ps is not None and pe is not None and ps > pe:
        mistakes.append(CONFLICT(f"{what} has port_start {ps} above port_end {pe}", at(path, written["port_start"]),
                                 "swap them"))
    if mistakes:
        return Failure(tuple(mistakes))
    directory = values.pop("bufferdir", None) or values.pop("database_dir", None)
    origins = tuple((k.value, at(path, k)) for k, _ in node.items)
    return Success(ServiceSpec(service=service, directory=directory, origin=at(path, node), origins=origins, **values))


def _required_hint(service: str, field: str) -> str:
    examples = {
        "bufferdir": "bufferdir: /data/seamless/buffers",
        "database_dir": "database_dir: /data/seamless/db",
        "network_interface": "network_interface: 127.0.0.1",
        "port_start": "port_start: 5100",
        "port_end": "port_end: 5199",
    }
    return f"add '{examples.get(field, field + ': ...')}' under '{service}:'"


def _parse_queues(node: Node, cluster: str, ctype: str | None, path: str
                  ) -> tuple[tuple[QueueDefinition, ...] | None, Errors]:
    """The queues of a cluster, each expanded from its TEMPLATE, and the mistakes of the others."""
    if not isinstance(node, Map):
        return None, fail(WRONG_TYPE, f"'queues' of cluster {cluster!r} must be a mapping of queue names to fields, "
                                      f"not {kind_name(node)}", path, node).failure()
    done: dict[str, QueueDefinition] = {}
    broken: set[str] = set()  # queues with mistakes: a TEMPLATE naming one is not "unknown"
    errors: list[ConfigError] = []
    all_queues = frozenset(node.keys())
    for key, qnode in node.items:
        qname = key.value
        if (err := names.check_name("queue", qname, at(path, key))) is not None:
            errors.append(err)
            continue
        if is_null(qnode):
            qnode = Map((), key.line)
        if not isinstance(qnode, Map):
            errors += fail(WRONG_TYPE, f"queue {qname!r} of cluster {cluster!r} must be a mapping of fields, "
                                       f"not {kind_name(qnode)}", path, qnode).failure()
            continue
        q, mistakes = split(_parse_queue(qname, key, qnode, done, cluster, ctype, path, all_queues, broken))
        if q is not None:
            done[qname] = q
        else:
            broken.add(qname)
        errors += mistakes
    return tuple(done.values()), tuple(errors)


def _parse_queue(qname: str, key: Scalar, node: Map, done: dict[str, QueueDefinition], cluster: str,
                 ctype: str | None, path: str, all_queues: frozenset[str], broken: set[str]
                 ) -> Result[QueueDefinition, Errors]:
    """One queue: its TEMPLATE's fields (a queue defined above it), then its own, in the order written
    (a field written as null unsets what the template gave). A queue whose TEMPLATE has mistakes of
    its own fails without a word: those mistakes are said where they are written."""
    what = f"cluster {cluster!r}, queue {qname!r}"
    errors: list[ConfigError] = []
    written: list[tuple[str, Any, Origin]] = []
    template: QueueDefinition | None = None
    silent = False
    for fkey, fnode in node.items:
        fname = QUEUE_ALIASES.get(fkey.value, fkey.value)
        if fname == "TEMPLATE":
            template, mistakes = split(_template(fnode, qname, cluster, done, all_queues, path, broken))
            errors += mistakes
            silent = template is None and not mistakes
        elif fname not in QUEUE_FIELDS:
            errors.append(unknown_field(fkey, _QUEUE_KEYS, what, path, "queue field"))
        elif is_null(fnode):
            written.append((fname, None, at(path, fkey)))  # explicit null: unset what a template gave
        else:
            value, mistakes = split(read(_QUEUE_FIELD[fname], fnode, path, what))
            if not mistakes:
                written.append((fname, value, at(path, fkey)))
            errors += mistakes
    if errors or silent:
        return Failure(tuple(errors))
    fields: dict[str, Any] = dict(template.fields) if template else {}
    origins: dict[str, Origin] = dict(template.origins) if template else {}
    for fname, value, where in written:
        if value is None:
            fields.pop(fname, None)
            origins.pop(fname, None)
        else:
            fields[fname] = value
            origins[fname] = where
    chain = ((template.name,) + template.chain) if template else ()
    q = QueueDefinition(qname, fields, chain, origins=origins, origin=at(path, key))
    rule = _exclusive_rules(q, what, ctype, at(path, key))
    return Success(q) if rule is None else Failure((rule,))


def _template(node: Node, qname: str, cluster: str, done: dict[str, QueueDefinition], all_queues: frozenset[str],
              path: str, broken: set[str]) -> Result[QueueDefinition, Errors]:
    """The queue a ``TEMPLATE: NAME`` names: one defined above, in the same cluster (a failure without
    mistakes when that queue has mistakes of its own)."""
    return to_str(node, f"'TEMPLATE' of cluster {cluster!r}, queue {qname!r}", path).bind(
        lambda tname: Failure(()) if tname in broken
        else _known_template(tname, qname, cluster, done, all_queues, path, node, broken))


def _known_template(tname: str, qname: str, cluster: str, done: dict[str, QueueDefinition],
                    all_queues: frozenset[str], path: str, node: Node, broken: set[str]
                    ) -> Result[QueueDefinition, Errors]:
    if tname in done:
        return Success(done[tname])
    if tname == qname:
        return fail(CONFLICT, f"queue {qname!r} of cluster {cluster!r} names itself as TEMPLATE", path, node,
                    "name a queue defined above it")
    hint = (f"define queue {tname!r} above {qname!r}" if tname in all_queues
            else did_you_mean(tname, [*done, *sorted(broken)]) or "name a queue defined above it in the same cluster")
    return fail(UNKNOWN_QUEUE, f"unknown TEMPLATE {tname!r} for queue {qname!r} of cluster {cluster!r}", path, node, hint)


def _exclusive_rules(q: QueueDefinition, what: str, ctype: str | None, key: Origin) -> ConfigError | None:
    exclusive = bool(q.get("exclusive"))
    cores = q.get("cores")
    if exclusive and q.get("job_cores") is not None:
        return CONFLICT(f"'job_cores' must not be set in exclusive mode ({what})",
                        q.origin_of("job_cores") or q.origin_of("exclusive") or key,
                        "remove 'job_cores': an exclusive job takes the whole node, or 'cores' of it")
    if not exclusive and cores is None and ctype != "local":
        return MISSING(f"'cores' is required when 'exclusive' is not set ({what})", key,
                       "add 'cores: N', or 'exclusive: true' for whole-node jobs")
    if exclusive and cores is None and ctype == "local":
        return MISSING(f"'cores' is required for an exclusive queue of a local cluster ({what})",
                       q.origin_of("exclusive") or key, "add 'cores: N'")
    return None
