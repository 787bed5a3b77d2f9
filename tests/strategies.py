"""Hypothesis strategies, one for each record of the pure pipeline.

Records that the parser builds from YAML (queues, clusters) are generated as
plain JSON-like definitions and rendered to YAML (JSON is YAML flow style), so
that the strategies exercise the same validation a user's file meets.

The commands and queue fields, and the kind of value each takes, come from the
schema table (:mod:`seamless_config.core.schema`): a field added there is
generated here without a change (:data:`BY_KIND`), a few fields get more
realistic values (:data:`_REALISTIC`).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from returns.result import Failure, Success

from seamless_config.core import schema
from seamless_config.core.clusters import (
    QUEUE_ALIASES,
    Cluster,
    Frontend,
    QueueDefinition,
    ServiceSpec,
)
from seamless_config.core.commands import Command, Document, StageBlock
from seamless_config.core.errors import Origin
from seamless_config.core.selection import Selection
from seamless_config.core.services import Scope
from seamless_config.core.yamltree import Map, Scalar, Seq, parse_yaml

# -- names -----------------------------------------------------------------------------------

#: names every stage accepts (project, cluster, queue, stage, node)
names = st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z0-9]{1,3})?(-[a-z0-9]{1,4})?", fullmatch=True)
subprojects = st.lists(names, min_size=1, max_size=3).map("/".join)
condas = st.one_of(st.sampled_from(["base", "seamless", "my-env_1.2", "env+x"]), names)
#: names a careless user might write, valid or not
wild_names = st.one_of(
    names,
    st.sampled_from(["a b", "x--y", "STAGE-x", "..", ".", ";rm", "$(x)", "a/b", "{x}", "-a", "a\\b", "ünï"]),
    st.text(alphabet="abc-_./{}$ ;:", min_size=1, max_size=8),
)
lines = st.integers(min_value=1, max_value=10_000)
origins = st.builds(Origin, st.sampled_from(["/p/seamless.yaml", "/p/seamless.profile.yaml", "c.yaml"]), lines)

# -- YAML trees ------------------------------------------------------------------------------

scalars = st.builds(Scalar, st.text(max_size=10), lines)


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    seqs = st.builds(Seq, st.lists(children, max_size=4).map(tuple), lines)
    maps = st.builds(Map, st.lists(st.tuples(scalars, children), max_size=4).map(tuple), lines)
    return st.one_of(seqs, maps)


trees = st.recursive(scalars, _containers, max_leaves=20)

# -- commands ---------------------------------------------------------------------------------

def _of_kind(f: schema.Field) -> st.SearchStrategy | None:
    """A strategy of valid values for a field of the schema table, from its kind (None: the field is
    a structure generated on its own, such as ``clusters`` or ``frontends``)."""
    base = {
        "name": names, "cluster": names, "queue": names, "subproject": subprojects,
        "bool": st.booleans(), "int": st.integers(min_value=1, max_value=64),
        "str": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,12}", fullmatch=True),
        "conda": condas, "path": st.sampled_from(["/tmp", "/scratch", "$TMPDIR/dask", "/scratch/${USER}"]),
        "abspath": st.sampled_from(["/tmp", "/scratch", "/local/tmp"]),
        "list": st.lists(st.sampled_from(["--a", "--qos=high", "-C gpu"]), max_size=3),
        "script": st.lists(st.sampled_from(["module load x", "export A=1", "cd /tmp"]), max_size=3),
        "mapping": st.dictionaries(st.sampled_from(["a", "b", "x.y"]), st.integers(0, 9), min_size=1, max_size=2),
    }.get(f.kind)
    if f.kind == "enum":
        base = st.sampled_from([v for v in f.allowed if v is not None])
    if base is None:
        return None
    return st.one_of(st.none(), base) if f.nullable and f.section == "command" else base


#: every kind the table uses that has a value strategy
BY_KIND = {f.kind for f in schema.FIELDS if _of_kind(f) is not None}
_command_values: dict[str, st.SearchStrategy] = {
    f.name: s for f in schema.fields("command") if (s := _of_kind(f)) is not None
}
_command_values["nparallel"] = st.integers(min_value=1, max_value=64)
COMMAND_NAMES = tuple(_command_values)


@st.composite
def commands(draw, name: str | None = None) -> Command:
    n = name if name is not None else draw(st.sampled_from(COMMAND_NAMES))
    return Command(n, draw(_command_values[n]), draw(origins))


stages = st.sampled_from(["prod", "dev", "test"])


def _blocks(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(StageBlock, stages, st.lists(children, max_size=4).map(tuple), origins)


#: a command or a (possibly nested) stage block
items = st.recursive(commands(), _blocks, max_leaves=12)
documents = st.builds(
    Document,
    st.sampled_from(["/p/seamless.yaml", "/p/seamless.profile.yaml"]),
    st.lists(items, max_size=8).map(tuple),
    st.booleans(),
)


def command_yaml(cmd: Command) -> str:
    """One command as a YAML list item (flow style value)."""
    v = cmd.value
    if v is None:
        return f"- {cmd.name}"
    if isinstance(v, bool):
        return f"- {cmd.name}: {'true' if v else 'false'}"
    return f"- {cmd.name}: {v}"


def item_yaml(item: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    if isinstance(item, Command):
        return [pad + command_yaml(item)]
    out = [f"{pad}- stage {item.stage}:"]
    if not item.items:
        out[0] += " []"
    for sub in item.items:
        out += item_yaml(sub, indent + 2)
    return out


def document_yaml(doc: Document) -> str:
    """The YAML text of a document (stage blocks in block style)."""
    body: list[str] = []
    for item in doc.items:
        body += item_yaml(item)
    if doc.inherits:
        body.append("- inherit_from_parent")
    return "\n".join(body) + "\n" if body else "[]\n"


# -- clusters ---------------------------------------------------------------------------------

hostnames = st.one_of(
    st.sampled_from(["localhost", "fe1", "login.example.org", "10.0.0.1", "::1", "127.0.0.1"]),
    st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z][a-z0-9-]{0,4}[a-z0-9])?", fullmatch=True),
)
#: hostnames including ones a validator must refuse or the launcher would refuse
wild_hostnames = st.one_of(
    hostnames,
    st.sampled_from(["a_b", "-a", "a-", "a..b", "[::1]", "fe80::1%eth0", "a b", "x;y", "_x", "h:22"]),
    st.from_regex(r"[A-Za-z0-9_.:\-\[\]%]{1,12}", fullmatch=True),
)
directories = st.one_of(
    st.sampled_from(["/data/buffers", "/b", "/b/", "~/buffers", "/scratch/seamless-db"]),
    st.from_regex(r"/[a-z0-9_.@-]{1,8}(/[a-z0-9_-]{1,6}){0,2}", fullmatch=True),
)
wild_directories = st.one_of(
    directories,
    st.sampled_from(["rel/dir", "/a b", "/a/../b", "/a+b", "/a,b", "/a=b", "/a%b", "~x", "/x;y", "/$HOME"]),
    st.from_regex(r"~?/[A-Za-z0-9_.\-+@%/~,=]{0,12}", fullmatch=True),
)
ports = st.integers(min_value=1024, max_value=65535)


@st.composite
def port_ranges(draw) -> dict[str, int]:
    if draw(st.booleans()):
        return {}
    a, b = sorted(draw(st.tuples(ports, ports)))
    return {"port_start": a, "port_end": b}


@st.composite
def service_definitions(draw, service: str, wild: bool = False) -> dict[str, Any]:
    """A service section as written in YAML (always complete enough to be valid)."""
    host = wild_hostnames if wild else hostnames
    d: dict[str, Any] = {}
    if service in ("hashserver", "database"):
        d["bufferdir" if service == "hashserver" else "database_dir"] = draw(wild_directories if wild else directories)
        if draw(st.booleans()):
            d["network_interface"] = draw(host)
        if draw(st.booleans()):
            d["conda"] = draw(condas)
        d.update(draw(port_ranges()))
    else:
        d["network_interface"] = draw(host)
        a, b = sorted(draw(st.tuples(ports, ports)))
        d["port_start"], d["port_end"] = a, b
        if service == "jobserver":
            d["conda"] = draw(condas)
    return d


@st.composite
def frontend_definitions(draw, wild: bool = False) -> dict[str, Any]:
    host = wild_hostnames if wild else hostnames
    d: dict[str, Any] = {"hostname": draw(host)}
    if draw(st.booleans()):
        d["ssh_hostname"] = draw(host)
    for service in ("hashserver", "database", "jobserver", "daskserver"):
        if draw(st.booleans()):
            d[service] = draw(service_definitions(service, wild))
    return d


# queue fields and values that are always valid on their own: every queue field of the schema table
# by its kind, some with values a batch system would see
_REALISTIC: dict[str, st.SearchStrategy] = {
    "walltime": st.sampled_from(["01:00:00", "00:30:00", "2-00:00:00"]),
    "cores": st.integers(min_value=1, max_value=128),
    "job_cores": st.integers(min_value=1, max_value=128),
    "memory": st.sampled_from(["10GB", "500MB", "1TB"]),
    "partition": names,
    "project": names,
    "job_script_prologue": st.lists(st.sampled_from(["module load cuda", "source ~/env.sh"]), min_size=1, max_size=2),
    "lifetime": st.sampled_from(["40m", "1h"]),
    "lifetime_stagger": st.sampled_from(["3m", "5m"]),
    "unknown_task_duration": st.sampled_from(["1m", "10s"]),
    "target_duration": st.sampled_from(["10m", "99m"]),
    "dask_resources": st.dictionaries(st.sampled_from(["GPU", "MEM", "R"]), st.integers(0, 8), min_size=1, max_size=2),
    "maximum_jobs": st.integers(min_value=1, max_value=100),
}
_QUEUE_VALUES: dict[str, st.SearchStrategy] = {
    f.name: _REALISTIC[f.name] if f.name in _REALISTIC else _of_kind(f)  # type: ignore[misc]
    for f in schema.fields("queue") if f.kind not in schema.NOT_FIELDS
}
QUEUE_FIELD_NAMES = tuple(_QUEUE_VALUES)
_ALIAS_OF = {v: k for k, v in QUEUE_ALIASES.items()}


@st.composite
def queue_fields(draw, *, nulls: bool = False, aliases: bool = True) -> dict[str, Any]:
    """Queue fields as written (keys maybe hyphenated); with ``nulls``, some values are ``None``."""
    chosen = draw(st.lists(st.sampled_from(QUEUE_FIELD_NAMES), unique=True, max_size=8))
    out: dict[str, Any] = {}
    for f in chosen:
        key = _ALIAS_OF[f] if aliases and f in _ALIAS_OF and draw(st.booleans()) else f
        if nulls and draw(st.integers(0, 3)) == 0:
            out[key] = None
        else:
            out[key] = draw(_QUEUE_VALUES[f])
    return out


def canonical(fields: dict[str, Any]) -> dict[str, Any]:
    """Hyphenated queue field names to their canonical spelling."""
    return {QUEUE_ALIASES.get(k, k): v for k, v in fields.items()}


@st.composite
def valid_queue_fields(draw, ctype: str | None) -> dict[str, Any]:
    """Queue fields that satisfy the cores / exclusive / job_cores rules for ``ctype``."""
    f = canonical(draw(queue_fields(aliases=False)))
    if f.get("exclusive"):
        f.pop("job_cores", None)
        if ctype == "local":
            f.setdefault("cores", draw(_QUEUE_VALUES["cores"]))
    elif ctype != "local":
        f.setdefault("cores", draw(_QUEUE_VALUES["cores"]))
    return f


@st.composite
def cluster_definitions(draw, *, wild: bool = False, ctype: Any = ...) -> dict[str, Any]:
    """One cluster definition as written in YAML, with queues (some through TEMPLATE)."""
    t = draw(st.sampled_from(["local", "slurm", "oar", None])) if ctype is ... else ctype
    d: dict[str, Any] = {}
    if t is not None:
        d["type"] = t
    if draw(st.booleans()):
        d["tunnel"] = draw(st.booleans())
    if draw(st.booleans()):
        d["workers"] = draw(st.integers(min_value=1, max_value=64))
    if draw(st.booleans()):
        d["memory_per_core_property_name"] = draw(names)
    d["frontends"] = draw(st.lists(frontend_definitions(wild), min_size=1, max_size=3))
    queue_names = draw(st.lists(names, unique=True, max_size=3))
    if queue_names:
        queues: dict[str, Any] = {}
        for i, q in enumerate(queue_names):
            fields = draw(valid_queue_fields(t))
            if i and draw(st.booleans()):
                # a TEMPLATE child restating valid fields in full keeps the queue valid
                fields = {"TEMPLATE": queue_names[i - 1], **fields}
                for k in list(queues[queue_names[i - 1]]):
                    if k not in fields and k != "TEMPLATE":
                        fields[k] = None
            queues[q] = fields
        d["queues"] = queues
        if draw(st.booleans()):
            d["default_queue"] = draw(st.sampled_from(queue_names))
    return d


def to_yaml(data: Any) -> str:
    """JSON is YAML flow style; strictyaml reads it with ``allow_flow_style``."""
    return json.dumps(data) + "\n"


def parse_cluster(name: str, definition: dict[str, Any], path: str = "/h/.seamless/clusters.yaml"):
    """``(Cluster | None, errors)`` for one definition, through the real parser."""
    from seamless_config.core.clusters import parse_clusters_mapping

    tree = parse_yaml(path, to_yaml({name: definition})).unwrap()
    match parse_clusters_mapping(tree, path, origin=Origin(path, 1), defer=False):
        case Success(cc) if cc.clusters:
            return cc.clusters[0], []
        case Success(_):
            return None, []
        case Failure(errors):
            return None, list(errors)


@st.composite
def queue_definitions(draw) -> QueueDefinition:
    """A QueueDefinition built by the parser from a generated YAML queue mapping."""
    ctype = draw(st.sampled_from(["local", "slurm", "oar"]))
    qname = draw(names)
    definition = {"type": ctype, "frontends": [{"hostname": "localhost"}], "queues": {qname: draw(valid_queue_fields(ctype))}}
    cluster, errors = parse_cluster("c", definition)
    assert cluster is not None, errors
    return cluster.queues[0]


@st.composite
def clusters(draw, wild: bool = False) -> Cluster:
    """A Cluster parsed from a generated definition (regenerated until the parser accepts it)."""
    name = draw(names)
    definition = draw(cluster_definitions(wild=wild))
    cluster, errors = parse_cluster(name, definition)
    from hypothesis import assume

    assume(cluster is not None)
    return cluster


service_specs = st.one_of(
    st.builds(ServiceSpec, st.just("hashserver"), directories, st.none() | condas, st.none() | hostnames),
    st.builds(ServiceSpec, st.just("database"), directories, st.none() | condas, st.none() | hostnames),
    st.builds(ServiceSpec, st.just("jobserver"), st.none(), condas, hostnames, st.just(5000), st.just(5100)),
    st.builds(ServiceSpec, st.just("daskserver"), st.none(), st.none(), hostnames, st.just(8000), st.just(8100)),
)
frontends = st.builds(
    Frontend,
    hostnames,
    st.none() | hostnames,
    st.none() | st.builds(ServiceSpec, st.just("hashserver"), directories),
    st.none() | st.builds(ServiceSpec, st.just("database"), directories),
)

# -- selection and scope ---------------------------------------------------------------------

selections = st.builds(
    Selection,
    cluster=st.none() | names,
    project=st.none() | names,
    subproject=st.none() | subprojects,
    stage=st.none() | stages,
    substage=st.none() | names,
    execution=st.sampled_from(schema.choices("command", "execution")),
    persistent=st.none() | st.booleans(),
    record=st.booleans(),
    queue=st.none() | names,
    queue_cluster=st.none() | names,
    remote=st.sampled_from([None, "jobserver", "daskserver"]),
    node=st.none() | names,
    nparallel=st.none() | st.integers(1, 64),
    sources=st.lists(
        st.tuples(st.sampled_from(["execution", "persistent", "record", "queue", "remote", "node"]),
                  st.sampled_from(["manual", "command", "file"])),
        unique_by=lambda t: t[0], max_size=6,
    ).map(tuple),
)
scopes = st.builds(Scope, names, st.none() | subprojects, st.none() | names, st.none() | names)
