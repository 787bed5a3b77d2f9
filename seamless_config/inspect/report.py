"""What ``seamless-config show``, ``diff`` and ``check`` report, computed and rendered (pure).

Every value comes with the :class:`Origin` that set it: a file and line, or
``(default)``, ``(command line)``, ``(derived)``. Renderers turn reports into
text (paths as in error messages: relative to the current directory, ``~/``
for home) or into the stable JSON documented in ``docs/cli/seamless-config.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from ..core.clients import STORAGE
from ..core.clusters import Cluster
from ..core.errors import CHECK, DEFAULT_ORIGIN, UNKNOWN_CLUSTER, ConfigError, Origin
from ..core.frozen import EMPTY, FrozenDict, frozen_map
from ..core.jobqueue import JobScriptRequest, planned_daskserver, refused
from ..core.launch import choose_frontend
from ..core.layout import (
    COMMAND_LINE,
    Layout,
    StageResult,
    cluster_commands,
    inline_clusters,
    resolve_stage,
    stage_blocks,
    stages_named,
    walk,
)
from ..core.plan import Plan, ServicePlan
from ..core.selection import load_notes

DERIVED = Origin("(derived)")
#: the selection settings, in the order they are shown
SETTINGS = ("project", "subproject", "stage", "substage", "cluster", "execution", "remote", "queue",
            "persistent", "record", "node", "nparallel")
SERVICE_FIELDS = ("host", "ssh", "workdir", "key", "ports", "tunnel")
_SECRET = re.compile(r"passw(or)?d|passphrase|secret|token|credential|(^|[^a-z0-9])(api_?)?key$", re.I)
MASK = "***"


# -- secrets ---------------------------------------------------------------------------------


def is_secret_name(name: str) -> bool:
    """Whether a field of this name holds a secret.

    >>> [is_secret_name(n) for n in ("password", "ACCESS_TOKEN", "tls.key", "api-key", "monkey", "keys", "cores")]
    [True, True, True, True, False, False, False]
    """
    return bool(_SECRET.search(name))


def mask(value: Any, name: str = "", show: bool = False) -> Any:
    """``value`` with the values of secret-named fields, at any depth, replaced by ``***``.

    >>> mask({"distributed": {"comm": {"tls": {"key": "k.pem"}}, "password": "x"}, "n": 1})
    {'distributed': {'comm': {'tls': {'key': '***'}}, 'password': '***'}, 'n': 1}
    """
    if show:
        return value
    if name and is_secret_name(name) and value is not None:
        return MASK
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


# -- the selection ---------------------------------------------------------------------------


@attrs.frozen
class Entry:
    """One reported value: where it was set, and in which stage block (if any)."""

    name: str
    value: Any
    origin: Origin
    block: str | None = None
    note: str = ""


def block_of(layout: Layout, stage: str | None) -> dict[Origin, str]:
    """Origin of each command inside a stage block that applies in ``stage`` -> the block's stage."""
    return {item.origin: block for item, block in walk(layout.documents, stage) if block is not None}


def selection_entries(layout: Layout, r: StageResult) -> tuple[Entry, ...]:
    """The effective selection of a resolved stage, each value with its origin."""
    assert r.resolution is not None and r.plan is not None
    sel, plan = r.resolution.selection, r.plan
    blocks = block_of(layout, r.stage)
    cluster = r.resolution.clusters.get(sel.cluster) if sel.cluster is not None else None
    out: list[Entry] = []

    def add(name: str, value: Any, origin: Origin | None = None, note: str = "") -> None:
        o = origin if origin is not None else sel.origin(name)
        out.append(Entry(name, value, o, blocks.get(o), note))

    add("project", sel.project)
    add("subproject", sel.subproject)
    add("stage", sel.stage, COMMAND_LINE if sel.stage is not None else DEFAULT_ORIGIN)
    add("substage", sel.substage, COMMAND_LINE if sel.substage is not None else DEFAULT_ORIGIN)
    add("cluster", sel.cluster)
    if sel.source("execution") is None and sel.cluster is not None:
        add("execution", plan.execution, DEFAULT_ORIGIN, "a cluster is selected")
    else:
        add("execution", plan.execution)
    if sel.remote is None and plan.remote is not None:
        add("remote", plan.remote, DEFAULT_ORIGIN, f"the only remote service cluster {sel.cluster!r} offers")
    else:
        add("remote", sel.remote)
    queue = sel.effective_queue(sel.cluster)
    if queue is None and cluster is not None and cluster.default_queue is not None:
        add("queue", cluster.default_queue, cluster.origins.get("default_queue") or cluster.origin,
            f"default_queue of cluster {cluster.name!r}")
    else:
        add("queue", queue, sel.origin("queue") if queue is not None else DEFAULT_ORIGIN)
    if sel.persistent is None and plan.persistent:
        add("persistent", True, DEFAULT_ORIGIN, "a cluster is selected")
    else:
        add("persistent", plan.persistent)
    add("record", sel.record)
    add("node", sel.node)
    add("nparallel", sel.nparallel)
    return tuple(out)


# -- the services ----------------------------------------------------------------------------


@attrs.frozen
class ServiceReport:
    """One service of the plan: where it runs and what it serves, each field with its origin."""

    role: str
    host: str
    ssh: str | None
    workdir: str
    key: str
    ports: tuple[int, int] | None
    tunnel: bool
    origins: FrozenDict = attrs.field(converter=frozen_map)

    def origin(self, field: str) -> Origin:
        return self.origins.get(field) or DEFAULT_ORIGIN

    def value(self, field: str) -> Any:
        return getattr(self, field)

    def plain(self, field: str) -> Any:
        """The value as shown: ports as ``START-END``."""
        return f"{self.ports[0]}-{self.ports[1]}" if field == "ports" and self.ports else self.value(field)


def service_report(sp: ServicePlan, cluster: Cluster) -> ServiceReport:
    """Where the values of one service plan were written."""
    section = "daskserver" if sp.role == "pure-daskserver" else sp.role
    frontend = choose_frontend(cluster, sp.role, None).value_or(None)
    spec = frontend.service(section) if frontend is not None else None
    fo = frontend.origins if frontend is not None else EMPTY
    so = spec.origins if spec is not None else EMPTY
    origins: dict[str, Origin] = {"key": DERIVED}
    host = sp.launch.get("hostname") or "localhost"
    if sp.launch.get("hostname") is not None:
        origins["host"] = fo.get("hostname") or DEFAULT_ORIGIN
    if sp.ssh_host is not None:
        origins["ssh"] = fo.get("ssh_hostname") or fo.get("hostname") or DEFAULT_ORIGIN
    if sp.role in STORAGE:
        origins["workdir"] = so.get("bufferdir" if sp.role == "hashserver" else "database_dir") or DERIVED
    ports = None
    if sp.launch.get("port_start") is not None:
        ports = (sp.launch.get("port_start"), sp.launch.get("port_end"))
        origins["ports"] = so.get("port_start") or DEFAULT_ORIGIN
    if sp.tunnel:
        origins["tunnel"] = cluster.origins.get("tunnel") or DEFAULT_ORIGIN
    return ServiceReport(sp.role, host, sp.ssh_host, sp.launch.get("workdir"), sp.key, ports, sp.tunnel, origins)


@attrs.frozen
class ShowReport:
    """``seamless-config show``: the selection and the plan of one stage."""

    workdir: str
    selection: tuple[Entry, ...]
    services: tuple[ServiceReport, ...]
    queue_fields: tuple[Entry, ...] = ()
    queue_chain: tuple[str, ...] = ()
    spawn_workers: int | None = None

    def entry(self, name: str) -> Entry:
        for e in self.selection:
            if e.name == name:
                return e
        raise KeyError(name)

    def service(self, role: str) -> ServiceReport | None:
        for s in self.services:
            if s.role == role:
                return s
        return None


def effective_cluster(r: StageResult) -> Cluster | None:
    assert r.resolution is not None
    sel = r.resolution.selection
    return r.resolution.clusters.get(sel.cluster) if sel.cluster is not None else None


def show_report(layout: Layout, r: StageResult, show_secrets: bool = False) -> ShowReport:
    """The report of a resolved stage (``r`` must have a plan)."""
    assert r.plan is not None
    plan: Plan = r.plan
    entries = selection_entries(layout, r)
    cluster = effective_cluster(r)
    services = tuple(service_report(sp, cluster) for sp in plan.services) if cluster is not None else ()
    qfields: tuple[Entry, ...] = ()
    chain: tuple[str, ...] = ()
    dask = plan.service("daskserver") or plan.service("pure-daskserver")
    if dask is not None and cluster is not None:
        q = cluster.queue(dask.launch.get("meta", {}).get("queue") or "")
        if q is not None:
            chain = (q.name,) + q.chain
            qfields = tuple(Entry(f"queue.{k}", mask(v, k, show_secrets), q.origin_of(k) or DEFAULT_ORIGIN)
                            for k, v in q.as_dict().items())
    return ShowReport(layout.workdir, entries, services, qfields, chain, plan.spawn_workers)


# -- diff ------------------------------------------------------------------------------------


@attrs.frozen
class Change:
    """One value that differs between two stages (``None`` on a side where it does not exist)."""

    what: str
    a: Entry | None
    b: Entry | None


@attrs.frozen
class DiffReport:
    stage_a: str
    stage_b: str
    selection: tuple[Change, ...]
    services: tuple[Change, ...]
    storage_shared: bool


def diff_reports(label_a: str, a: ShowReport, label_b: str, b: ShowReport) -> DiffReport:
    """What changes from stage ``a`` to stage ``b``: selection values, services, storage."""
    sel = tuple(Change(ea.name, ea, eb) for ea, eb in zip(a.selection, b.selection, strict=True) if ea.value != eb.value)
    services: list[Change] = []
    roles = [s.role for s in a.services] + [s.role for s in b.services if a.service(s.role) is None]
    for role in roles:
        sa, sb = a.service(role), b.service(role)
        if sa is None or sb is None:
            present = sa or sb
            assert present is not None
            e = Entry(role, present.key, DERIVED)
            services.append(Change(role, e if sa else None, e if sb else None))
            continue
        for field in SERVICE_FIELDS:
            if sa.value(field) != sb.value(field):
                services.append(Change(f"{role}.{field}",
                                       Entry(field, sa.plain(field), sa.origin(field)),
                                       Entry(field, sb.plain(field), sb.origin(field))))
    shared = True
    for role in STORAGE:
        sa, sb = a.service(role), b.service(role)
        if sa is None and sb is None:
            continue
        if sa is None or sb is None or (sa.host, sa.ssh, sa.workdir) != (sb.host, sb.ssh, sb.workdir):
            shared = False
    if not a.service("hashserver") and not b.service("hashserver"):
        shared = False  # nothing persistent: nothing is shared between runs at all
    return DiffReport(label_a, label_b, sel, tuple(services), shared)


# -- check -----------------------------------------------------------------------------------


@attrs.frozen
class Finding:
    """A mistake found by ``check``, and the stages in which it shows (empty: in the files themselves)."""

    error: ConfigError
    stages: tuple[str | None, ...] = ()
    strict: bool = False
    #: worth knowing, not a mistake: ``check`` still passes
    warning: bool = False


@attrs.frozen
class CheckReport:
    files: tuple[str, ...]
    stages: tuple[str | None, ...]
    findings: tuple[Finding, ...]
    #: the daskservers the stages would start, with those stages: the shell has seamless-dask-wrapper
    #: judge them (:func:`with_refusals`)
    daskservers: tuple[tuple[JobScriptRequest, tuple[str | None, ...]], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.mistakes

    @property
    def mistakes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.warning)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.warning)


def check_layout(layout: Layout, strict: bool = False) -> CheckReport:
    """Every mistake of every file, and of every stage named in a stage block, each reported once.

    When a project file has a mistake, its commands are missing from every
    stage, so the stages are not checked (their mistakes might only follow
    from it); when a cluster file has one, stages that select an unknown
    cluster are not reported (the definition may be in that file). The
    daskservers the stages would start are listed for seamless-dask-wrapper
    to judge (:func:`with_refusals`).
    """
    stages: tuple[str | None, ...] = (None,) + stages_named(layout.documents)
    findings: dict[str, Finding] = {}
    for e in layout.errors:
        findings.setdefault(str(e), Finding(e))
    results = {s: resolve_stage(layout, s) for s in stages}
    for s, r in results.items():
        if layout.broken_documents:
            break
        if layout.errors and any(e.kind == UNKNOWN_CLUSTER.kind for e in r.errors):
            continue  # the selection went off track where a broken file's cluster was selected
        for e in r.errors:
            f = findings.get(str(e))
            if f is None:
                findings[str(e)] = Finding(e, (s,))
            elif f.stages and s not in f.stages:
                findings[str(e)] = attrs.evolve(f, stages=f.stages + (s,))
    out = list(findings.values())
    if strict and not layout.errors:
        out += strict_findings(layout, results)
    daskservers: dict[JobScriptRequest, tuple[str | None, ...]] = {}
    if not layout.errors:  # a broken file may hold the definition
        out += undefined_overridden(layout, results, {f.error.origin for f in out})
        out += replaced_with_mistakes(results)
        out += load_warnings(results)
        wrapper_mistakes: list[tuple[ConfigError, str | None]] = []
        for s, r in results.items():
            if r.resolution is None or r.plan is None:
                continue
            planned = planned_daskserver(r.resolution, (sp.role for sp in r.plan.services))
            req = planned.value_or(None) if planned is not None else None
            if req is not None:
                daskservers[req] = daskservers.get(req, ()) + (s,)
            elif planned is not None:
                wrapper_mistakes.append((planned.failure(), s))
        out += _merged(wrapper_mistakes)
    return CheckReport(layout.files, stages, tuple(out), tuple(daskservers.items()))


def _merged(found: Iterable[tuple[ConfigError, str | None]], warning: bool = False) -> list[Finding]:
    """One finding per mistake (or warning), with every stage it shows in, in the order first found."""
    seen: dict[str, Finding] = {}
    for e, s in found:
        f = seen.get(str(e))
        seen[str(e)] = Finding(e, (s,), warning=warning) if f is None else attrs.evolve(f, stages=f.stages + (s,))
    return list(seen.values())


def with_refusals(report: CheckReport, refusals: dict[JobScriptRequest, str]) -> CheckReport:
    """``report`` with what seamless-dask-wrapper refuses of its daskservers, at their queues."""
    found = _merged((refused(req, refusals[req]), s) for req, stages in report.daskservers if req in refusals
                    for s in stages)
    return attrs.evolve(report, findings=report.findings + tuple(found))


def load_warnings(results: dict[str | None, StageResult]) -> list[Finding]:
    """What ``init()`` would warn of (:func:`.selection.load_notes`: remote work on a cluster that
    offers no remote service, storage an oar cluster deletes), once each, with the stages it shows in."""
    return _merged(((e, s) for s, r in results.items() if r.resolution is not None
                    for e in load_notes(r.resolution)), warning=True)


def replaced_with_mistakes(results: dict[str | None, StageResult]) -> list[Finding]:
    """Warnings for cluster definitions with mistakes that a later definition of the same name replaces
    (never used, so never an error; fixing or removing them avoids surprises when the order changes)."""
    seen: dict[Origin, Finding] = {}
    for r in results.values():
        if r.resolution is None:
            continue
        for ic in r.resolution.clusters.replaced:
            if ic.origin not in seen:
                first = ic.errors[0]
                e = CHECK(f"cluster {ic.name!r} is replaced by a later definition, and this one has mistakes: "
                                f"{first.message}" + (f" (and {len(ic.errors) - 1} more)" if len(ic.errors) > 1 else ""),
                                ic.origin, "fix or remove this definition")
                seen[ic.origin] = Finding(e, (), warning=True)
    return list(seen.values())


def undefined_overridden(layout: Layout, results: dict[str | None, StageResult],
                         reported: set[Origin | None]) -> list[Finding]:
    """Warnings for ``- cluster: X`` commands naming a cluster this machine does not define, where no
    plan needs it (a later command selects another, or nothing uses it): fine, worth knowing."""
    out: list[Finding] = []
    for c in cluster_commands(layout.documents):
        if c.value is None:
            continue
        stages = tuple(s for s, r in results.items()
                       if r.resolution is not None and c.value not in r.resolution.clusters)
        if not stages or len(stages) != len(results) or c.origin in reported:
            continue
        final = any(r.resolution is not None and r.resolution.selection.cluster == c.value for r in results.values())
        e = CHECK(f"cluster {c.value!r} is not defined on this machine; "
                        + ("it stays selected, but nothing here uses it" if final else "a later command selects another"),
                        c.origin, "fine where the project is shared with machines that define it")
        out.append(Finding(e, (), warning=True))
    return out


def strict_findings(layout: Layout, results: dict[str | None, StageResult]) -> list[Finding]:
    """Unused inline cluster definitions, queues that no service can use, stages that change nothing."""
    out: list[Finding] = []
    selected = {c.value for c in cluster_commands(layout.documents) if c.value is not None}
    local = {cc.local_cluster for cc in layout.home} | {cc.local_cluster for cc in inline_clusters(layout, None)}
    seen: set[tuple[str, Origin | None]] = set()
    for stage in results:
        for cc in inline_clusters(layout, stage):
            for c in cc.clusters:
                if (c.name, c.origin) in seen:
                    continue
                seen.add((c.name, c.origin))
                if c.name not in selected and c.name not in local:
                    out.append(Finding(CHECK(f"cluster {c.name!r} is defined but no stage selects it", c.origin,
                                                   f"remove it, or select it with '- cluster: {c.name}'"), strict=True))
    checked: set[str] = set()
    for r in results.values():
        if r.resolution is None:
            continue
        for name in sorted(selected - checked):
            used = r.resolution.clusters.get(name) if name is not None else None
            if used is None:
                continue
            checked.add(name)
            if used.queues and not any(fe.daskserver is not None for fe in used.frontends):
                out.append(Finding(CHECK(
                    f"cluster {name!r} defines queues, but none of its frontends has a daskserver: "
                    "no queue of it can ever be used", used.origin,
                    "add a 'daskserver:' section to a frontend, or remove 'queues:'"), strict=True))
    base = results.get(None)
    for stage, r in results.items():
        if stage is None or base is None or base.resolution is None or r.resolution is None:
            continue
        if _same(base, r):
            first = next(b for b in stage_blocks(layout.documents) if b.stage == stage)
            out.append(Finding(CHECK(
                f"stage {stage!r} changes nothing: its blocks select the same as no stage "
                f"(only the storage differs, under STAGE-{stage})", first.origin,
                "add the commands that make the stage differ, or remove its blocks"), strict=True))
    return out


def _same(a: StageResult, b: StageResult) -> bool:
    assert a.resolution is not None and b.resolution is not None
    sa = attrs.evolve(a.resolution.selection, stage=None, substage=None)
    sb = attrs.evolve(b.resolution.selection, stage=None, substage=None)
    ca, cb = a.resolution.clusters, b.resolution.clusters
    same_clusters = ca.local_cluster == cb.local_cluster and len(ca.clusters) == len(cb.clusters) and all(
        x is y for x, y in zip(ca.clusters, cb.clusters, strict=True))
    return sa == sb and same_clusters


# -- rendering -------------------------------------------------------------------------------


def fmt_value(value: Any) -> str:
    """A value as it would be written in YAML (``-`` for none).

    >>> fmt_value(None), fmt_value(True), fmt_value([1, "a"]), fmt_value({"GPU": 1})
    ('-', 'true', '[1, a]', '{GPU: 1}')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items()) + "}"
    return str(value)


# -- JSON ------------------------------------------------------------------------------------


def origin_json(origin: Origin) -> dict[str, Any] | None:
    """``null`` for a default, else ``{"file": ..., "line": ...}`` (``line`` null when unknown)."""
    if origin == DEFAULT_ORIGIN:
        return None
    return {"file": origin.file, "line": origin.line or None}


def entry_json(e: Entry) -> dict[str, Any]:
    return {"value": e.value, "origin": origin_json(e.origin), "stage_block": e.block, "note": e.note or None}


def service_json(s: ServiceReport) -> dict[str, Any]:
    return {
        "role": s.role,
        "host": s.host,
        "ssh": s.ssh,
        "workdir": s.workdir,
        "key": s.key,
        "ports": list(s.ports) if s.ports else None,
        "tunnel": s.tunnel,
        "origins": {f: origin_json(s.origin(f)) for f in SERVICE_FIELDS if f != "key"},
    }


def show_json(report: ShowReport) -> dict[str, Any]:
    return {
        "schema": "seamless-config/show/1",
        "workdir": report.workdir,
        "selection": {e.name: entry_json(e) for e in report.selection},
        "queue": None if not report.queue_fields else {
            "name": report.queue_chain[0],
            "template_chain": list(report.queue_chain[1:]),
            "fields": {e.name[len("queue."):]: entry_json(e) for e in report.queue_fields},
        },
        "services": [service_json(s) for s in report.services],
        "spawn_workers": report.spawn_workers,
    }


def diff_json(d: DiffReport) -> dict[str, Any]:
    def side(e: Entry | None) -> Any:
        return None if e is None else entry_json(e)

    return {
        "schema": "seamless-config/diff/1",
        "a": d.stage_a,
        "b": d.stage_b,
        "selection": {c.what: {"a": side(c.a), "b": side(c.b)} for c in d.selection},
        "services": {c.what: {"a": side(c.a), "b": side(c.b)} for c in d.services},
        "storage_shared": d.storage_shared,
    }


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "schema": "seamless-config/check/1",
        "ok": report.ok,
        "files": list(report.files),
        "stages": list(report.stages),
        "errors": [
            {
                "file": f.error.origin.file if f.error.origin else None,
                "line": (f.error.origin.line or None) if f.error.origin else None,
                "message": f.error.message,
                "hint": f.error.hint or None,
                "code": f.error.code or None,
                "kind": f.error.kind or None,
                "strict": f.strict,
                "warning": f.warning,
                "stages": list(f.stages) if f.stages and set(f.stages) != set(report.stages) else None,
            }
            for f in report.findings
        ],
    }
