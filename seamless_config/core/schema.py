"""Every command and every cluster, frontend, service and queue field, as data.

One :class:`Field` per name: the section it belongs to, the kind of value the
validator checks it as, whether it is required or may be null, its allowed
values, its default and a one-line description. The validators
(:mod:`.commands`, :mod:`.clusters`) take their field lists and value kinds from
here. So do the reference tables of ``docs/configuration.md`` and
``docs/clusters.md``, which :func:`markdown_table` writes (``make docs``;
``tests/test_schema.py`` fails when a page drifts from this table), and the test
that compares these fields with seamless-config 0.3.2's own classes.
"""

from __future__ import annotations

import attrs

from .names import SERVICE_SECTIONS

#: the sections, in the order the pages show them
SECTIONS = ("command", "cluster", "frontend", *SERVICE_SECTIONS, "queue")

#: value kinds the validators know: each has one reader (:data:`.convert.READERS`); the structural ones
#: (``section``, ``frontends``, ``queues``, ``clusters``, ``flag``, ``stage``) are read by their sections
KINDS = ("name", "subproject", "cluster", "enum", "bool", "int", "str", "path", "abspath", "host", "conda", "port",
         "list", "script", "mapping", "section", "frontends", "queues", "queue", "flag", "clusters", "stage", "template")
#: kinds that are not fields of the result: a block of commands, a queue's TEMPLATE (expanded away)
NOT_FIELDS = ("stage", "template")


@attrs.frozen
class Field:
    """One command or field."""

    section: str
    name: str
    kind: str
    #: the value as a user writes it (for the pages)
    value: str
    doc: str
    default: str = "none"
    required: bool = False
    nullable: bool = False
    allowed: tuple[str | None, ...] = ()
    #: whether seamless-config 0.3.2 knows it (every field here does; a field of our own would say False)
    reference: bool = True
    #: the message for a value outside ``allowed`` (``{value}``; ``{owner}``: the cluster, queue... it is in)
    invalid: str = attrs.field(default=attrs.Factory(lambda f: f"invalid {f.name} {{value!r}}", takes_self=True))


def _f(section: str, name: str, kind: str, value: str, doc: str, **kw: object) -> Field:
    return Field(section, name, kind, value, doc, **kw)  # type: ignore[arg-type]


_PORTS = "`port_start` and `port_end`: a port range; the service takes a free port in it"
_NI = "the address the service listens on"

def _service_fields(section: str, program: str | None, *, required: bool) -> tuple[Field, ...]:
    """The fields every service section has: ``conda`` (for a ``program`` of its own), where it
    listens and its port range (``required`` for the job services; else the service's defaults)."""
    conda = () if program is None else (_f(section, "conda", "conda", "environment name",
                                           f"the conda environment that has `{program}`; `\"\"` means none",
                                           nullable=True),)
    optional = {"required": required, "nullable": not required}
    return (*conda,
            _f(section, "network_interface", "host", "hostname or IP address", _NI,
               default="—" if required else "the service's own", **optional),
            *(_f(section, port, "port", "port number", _PORTS, default="—" if required else "a random free port",
                 **optional) for port in ("port_start", "port_end")))


FIELDS: tuple[Field, ...] = (
    # -- commands (seamless.yaml, seamless.profile.yaml) ----------------------------------------
    _f("command", "project", "name", "name",
       "the project: the first component of every storage path and service key"),
    _f("command", "subproject", "subproject", "name, parts separated by `/`",
       "a sub-path inside the project's storage"),
    _f("command", "cluster", "cluster", "cluster name, or null",
       "the cluster that hosts the services; null deselects", nullable=True),
    _f("command", "execution", "enum", "`process`, `spawn` or `remote`",
       "where transformations run: in this process, in local worker processes, or on the cluster",
       default="`remote` when a cluster is selected, else `process`", allowed=("process", "spawn", "remote"),
       invalid="invalid execution mode {value!r}"),
    _f("command", "queue", "name", "queue name",
       "the queue of the selected cluster for the daskserver (select the cluster first)"),
    _f("command", "remote", "enum", "`jobserver`, `daskserver` or null",
       "which remote backend `execution: remote` uses, when a frontend offers both",
       nullable=True, allowed=(None, "daskserver", "jobserver")),
    _f("command", "persistent", "bool", "`true` / `false`",
       "whether buffers and results go to the cluster's hashserver and database",
       default="on when a cluster is selected"),
    _f("command", "record", "bool", "`true` / `false`", "full execution records instead of minimal ones",
       default="`false`"),
    _f("command", "node", "name", "node name, or null",
       "ask the batch system for this node (slurm and oar clusters)", nullable=True),
    _f("command", "nparallel", "int", "whole number ≥ 1",
       "how many transformations may run at once in this process"),
    _f("command", "clusters", "clusters", "mapping",
       "cluster definitions, inline (see [clusters.md](clusters.md)); they apply before all other commands",
       default="—"),
    _f("command", "inherit_from_parent", "flag", "—", "also read the parent directory's files, before these",
       default="—"),
    _f("command", "stage NAME:", "stage", "list of commands", "commands that apply only in stage `NAME`",
       default="—"),
    # -- a cluster ------------------------------------------------------------------------------
    _f("cluster", "type", "enum", "`local`, `slurm`, `oar`",
       "what runs the Dask workers: `distributed.LocalCluster`, or dask-jobqueue's SLURMCluster / OARCluster. "
       "A daskserver needs it.", nullable=True, allowed=("local", "slurm", "oar"),
       invalid="unknown cluster type {value!r} in {owner}"),
    _f("cluster", "tunnel", "bool", "boolean", "reach the services through SSH tunnels", default="`false`",
       nullable=True),
    _f("cluster", "workers", "int", "whole number ≥ 1",
       "worker processes for `execution: spawn` and for the jobserver (which needs it); the default `cores` of "
       "queues of a local cluster", nullable=True),
    _f("cluster", "memory_per_core_property_name", "str", "string", "passed on to the daskserver", nullable=True),
    _f("cluster", "frontends", "frontends", "list", "the machines that host services, below", default="—",
       required=True),
    _f("cluster", "queues", "queues", "mapping of queue name to queue", "batch queues for the daskserver, below",
       nullable=True),
    _f("cluster", "default_queue", "queue", "queue name",
       "the queue used when none is selected; must be one of `queues`", nullable=True),
    # -- a frontend -----------------------------------------------------------------------------
    _f("frontend", "hostname", "host", "hostname or IP address",
       "where the services listen, as the cluster reaches them",
       default="— (in a `type: local` cluster: `localhost`)", required=True),
    _f("frontend", "ssh_hostname", "host", "hostname or SSH alias",
       "how this machine reaches the frontend over SSH, when it differs from `hostname`", nullable=True),
    _f("frontend", "hashserver", "section", "mapping", "the buffer store (fields below)", nullable=True),
    _f("frontend", "database", "section", "mapping", "the result database (fields below)", nullable=True),
    _f("frontend", "jobserver", "section", "mapping", "the job server (fields below)", nullable=True),
    _f("frontend", "daskserver", "section", "mapping",
       "the Dask scheduler (fields below); its conda environment comes from the queue", nullable=True),
    # -- the service sections of a frontend -----------------------------------------------------
    _f("hashserver", "bufferdir", "abspath", "absolute path, or `~/...`",
       "where the buffers go, in `<dir>/<project>[/<subproject>][/STAGE-<stage>]`", default="—", required=True),
    *_service_fields("hashserver", "hashserver", required=False),
    _f("database", "database_dir", "abspath", "absolute path, or `~/...`",
       "where the result database goes, in `<dir>/<project>[/<subproject>][/STAGE-<stage>]`", default="—",
       required=True),
    *_service_fields("database", "seamless-database", required=False),
    *_service_fields("jobserver", "seamless-jobserver", required=True),
    *_service_fields("daskserver", None, required=True),
    # -- a queue (dask-jobqueue parameters) -----------------------------------------------------
    _f("queue", "TEMPLATE", "template", "queue name",
       "start from that queue (defined above, in the same cluster) and override only the fields written here; "
       "a field written as null is unset", default="—"),
    _f("queue", "conda", "conda", "environment name", "conda environment of the daskserver and its workers"),
    _f("queue", "walltime", "str", "string, e.g. `\"01:00:00\"` (quote it)", "job walltime"),
    _f("queue", "cores", "int", "whole number",
       "cores per worker job; required unless `exclusive` (or on a local cluster, where it defaults to `workers`)"),
    _f("queue", "job_cores", "int", "whole number",
       "cores requested from the batch system, when more than `cores`; not with `exclusive`"),
    _f("queue", "memory", "str", "string, e.g. `32GB`", "memory per job"),
    _f("queue", "tmpdir", "path", "absolute path, `~/...` or `$VARIABLE/...`",
       "local scratch directory of the workers (`$TMPDIR` and other variables are the job's)"),
    _f("queue", "partition", "str", "string", "SLURM partition"),
    _f("queue", "project", "str", "string", "accounting project"),
    _f("queue", "exclusive", "bool", "boolean",
       "whole-node jobs: with `cores`, `job_cores` becomes `cores`; without, `--exclusive` (SLURM) or "
       "`/nodes=1` (OAR)", default="`false`"),
    _f("queue", "interactive", "bool", "boolean", "interactive jobs", default="`false`"),
    _f("queue", "job_extra_directives", "list", "list of strings", "extra `#SBATCH` / `#OAR` lines"),
    _f("queue", "job_script_prologue", "script", "list of strings", "shell lines run before the worker starts "
       "(0.3.2 reads queues without it: see differences.md)", reference=False),
    _f("queue", "worker_threads", "int", "whole number", "threads per worker",
       default="none; 2 for pure Dask"),
    _f("queue", "processes", "int", "whole number", "worker processes per job"),
    _f("queue", "lifetime", "str", "duration, e.g. `50m`", "worker lifetime before renewal"),
    _f("queue", "lifetime_stagger", "str", "duration, e.g. `4m`", "spread of the lifetimes, so that workers "
       "do not all renew at once"),
    _f("queue", "unknown_task_duration", "str", "duration", "Dask adaptive scaling parameter"),
    _f("queue", "target_duration", "str", "duration", "Dask adaptive scaling parameter"),
    _f("queue", "dask_resources", "mapping", "mapping, e.g. `{GPU: 1}`", "Dask worker resources"),
    _f("queue", "extra_dask_config", "mapping", "mapping", "extra Dask configuration"),
    _f("queue", "maximum_jobs", "int", "whole number", "most jobs at once"),
)


_SECTION_FIELDS: dict[str, tuple[Field, ...]] = {s: tuple(f for f in FIELDS if f.section == s) for s in SECTIONS}
_BY_NAME: dict[tuple[str, str], Field] = {(f.section, f.name): f for f in FIELDS}


def fields(section: str) -> tuple[Field, ...]:
    """The fields of one section, in the table's order."""
    return _SECTION_FIELDS[section]


def field(section: str, name: str) -> Field:
    """One field (or command) of the table."""
    return _BY_NAME[(section, name)]


def names(section: str) -> tuple[str, ...]:
    """The names of a section's fields (for commands: the command names; not ``stage NAME:`` blocks
    or a queue's ``TEMPLATE``)."""
    return tuple(f.name for f in fields(section) if f.kind not in NOT_FIELDS)


def required(section: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields(section) if f.required)


def kinds(section: str) -> dict[str, str]:
    return {f.name: f.kind for f in fields(section) if f.kind not in NOT_FIELDS}


def allowed(section: str, name: str) -> tuple[str | None, ...]:
    """The values a field allows (``None``: null), in the table's order."""
    return field(section, name).allowed


def choices(section: str, name: str) -> tuple[str, ...]:
    """The written values a field allows (null left out)."""
    return tuple(v for v in allowed(section, name) if v is not None)


_TABLE_HEAD = {
    "command": ("command", "value", "default", "effect"),
    "queue": ("field", "value", "default", "meaning (dask-jobqueue parameter)"),
}


def markdown_table(section: str) -> str:
    """The reference table of one section, as the pages show it (service sections: ``section.field``)."""
    head = _TABLE_HEAD.get(section, ("field", "value", "default", "meaning"))
    rows = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for f in fields(section):
        value = f.value + (" (required)" if f.required else "")
        rows.append(f"| `{f.name}` | {value} | {f.default} | {f.doc} |")
    return "\n".join(rows) + "\n"


# -- JSON Schema (draft 2020-12) for editors ---------------------------------------------------
#
# What an editor's YAML language server reads (YAML 1.2: ``yes`` is a string, ``01:00:00`` a string)
# or a YAML 1.1 reader (``yes`` is true, ``01:00:00`` a number) must both pass where the validator
# passes: the schema may accept more than the validator (it cannot see across fields), never less.

_NAME = "^[A-Za-z0-9_][A-Za-z0-9_.\\-]*$"
_SUBPROJECT = "^([A-Za-z0-9_][A-Za-z0-9_.\\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\\-]*)*)?$"  # "": none
_SCALAR = ["string", "number", "integer", "boolean"]
_BOOL_WORDS = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff])$"
_DIGITS = "^[-+]?[0-9]+$"
#: the commands a list item may give without a value
BARE_COMMANDS = ("cluster", "remote", "node", "inherit_from_parent")


def _value(kind: str, nullable: bool, allowed: tuple[str | None, ...] = (), minimum: int | None = None,
           maximum: int | None = None) -> dict[str, object]:
    """The JSON Schema of one value of ``kind``."""
    null: list[dict[str, object]] = [{"type": "null"}] if nullable else []
    if kind in ("name", "cluster", "queue", "subproject"):
        pattern = _SUBPROJECT if kind == "subproject" else _NAME
        return {"anyOf": [{"type": "string", "pattern": pattern}, {"type": ["number", "boolean"]}, *null]}
    if kind == "enum":
        return {"enum": [*allowed, *([None] if nullable and None not in allowed else [])]}
    if kind == "bool":
        return {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _BOOL_WORDS}, *null]}
    if kind in ("int", "port"):
        number: dict[str, object] = {"type": "integer"}
        if minimum is not None:
            number["minimum"] = minimum
        if maximum is not None:
            number["maximum"] = maximum
        return {"anyOf": [number, {"type": "string", "pattern": _DIGITS}, *null]}
    if kind in ("list", "script"):
        return {"anyOf": [{"type": "array", "items": {"type": _SCALAR}}, {"type": _SCALAR}, *null]}
    if kind in ("mapping", "clusters"):
        return {"type": ["object", "null"] if nullable else "object"}
    if kind == "flag":
        return {}
    # str, path, host, conda, template: any one-line scalar
    return {"type": [*_SCALAR, "null"] if nullable else _SCALAR}


def _field_schema(f: Field) -> dict[str, object]:
    if f.kind == "section":
        out: dict[str, object] = {"anyOf": [{"$ref": f"#/$defs/{f.name}"}, {"type": "null"}]}
    elif f.kind == "frontends":
        out = {"type": "array", "items": {"$ref": "#/$defs/frontend"}}
    elif f.kind == "queues":
        out = {"type": ["object", "null"], "additionalProperties": {"anyOf": [{"$ref": "#/$defs/queue"},
                                                                               {"type": "null"}]}}
    elif f.kind == "clusters":
        out = {"$ref": "#/$defs/clusters"}
    else:
        minimum = 1 if f.kind in ("int", "port") else None
        out = _value(f.kind, f.nullable or f.section in (*SERVICE_SECTIONS, "queue"), f.allowed, minimum,
                     65535 if f.kind == "port" else None)
    return {**out, "description": f.doc + (f" (default: {f.default})" if f.default not in ("none", "—") else "")}


def _object(section: str) -> dict[str, object]:
    props = {f.name: _field_schema(f) for f in fields(section) if f.kind != "stage"}
    if section == "queue":  # hyphenated spellings are accepted too
        props.update({n.replace("_", "-"): props[n] for n in list(props) if "_" in n})
    out: dict[str, object] = {"type": "object", "properties": props, "additionalProperties": False}
    if section in SERVICE_SECTIONS and required(section):
        out["required"] = list(required(section))
    if section == "cluster":
        out["required"] = ["frontends"]
    return out


def json_schema(file: str) -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of ``file``: ``project`` (seamless.yaml), ``profile``
    (seamless.profile.yaml; the same commands) or ``clusters`` (~/.seamless/clusters.yaml)."""
    defs: dict[str, object] = {s: _object(s) for s in SECTIONS if s != "command"}
    defs["clusters"] = {
        "type": "object",
        "description": "cluster definitions by name, and which of them runs on this machine",
        "properties": {"local_cluster": {"type": ["string", "null"],
                                         "description": "the cluster whose services run on this machine"}},
        "additionalProperties": {"$ref": "#/$defs/cluster"},
    }
    title = {"project": "seamless.yaml", "profile": "seamless.profile.yaml", "clusters": "~/.seamless/clusters.yaml"}
    base: dict[str, object] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title[file]}
    if file == "clusters":
        return {**base, "anyOf": [{"$ref": "#/$defs/clusters"}, {"type": "null"}], "$defs": defs}
    commands = {f.name: _field_schema(f) for f in fields("command") if f.kind != "stage"}
    stage = next(f for f in fields("command") if f.kind == "stage")
    defs["item"] = {"anyOf": [
        {"enum": list(BARE_COMMANDS), "description": "a command without a value"},
        {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": commands,
         "patternProperties": {"^stage +[^ ]": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/item"}},
                                                          {"type": "null"}],
                                                "description": stage.doc}},
         "additionalProperties": False},
    ]}
    return {**base, "description": "a list of commands, one per item", "type": "array",
            "items": {"$ref": "#/$defs/item"}, "$defs": defs}


#: where each generated table goes: ``<!-- schema:SECTION -->`` ... ``<!-- /schema -->`` in these pages
PAGES = {"command": "configuration.md", **{s: "clusters.md" for s in SECTIONS if s != "command"}}


def render_page(text: str) -> str:
    """``text`` with every ``<!-- schema:SECTION -->`` block replaced by the table of that section."""
    import re

    def table(m: re.Match[str]) -> str:
        return f"<!-- schema:{m[1]} -->\n{markdown_table(m[1])}<!-- /schema -->"

    return re.sub(r"<!-- schema:([a-z]+) -->\n.*?<!-- /schema -->", table, text, flags=re.S)


__all__ = ["Field", "FIELDS", "SECTIONS", "KINDS", "fields", "field", "names", "required", "kinds", "allowed", "choices", "markdown_table",
           "render_page", "PAGES", "json_schema", "BARE_COMMANDS"]
