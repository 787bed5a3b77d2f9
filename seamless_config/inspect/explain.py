"""Where one value came from, and every earlier value it overrode (pure).

Names that ``seamless-config explain`` understands:

- a selection setting: ``project``, ``subproject``, ``stage``, ``substage``,
  ``cluster``, ``execution``, ``remote``, ``queue``, ``persistent``,
  ``record``, ``node``, ``nparallel``;
- ``queue.FIELD``: a field of the queue in effect (``queue.cores``,
  ``queue.walltime``, ...), through the queue's ``TEMPLATE`` chain;
- ``cluster.FIELD``: a field of the selected cluster's definition
  (``cluster.type``, ``cluster.workers``, ...), through the definitions it replaced;
- ``SERVICE.FIELD``: a field of a service of the plan (``hashserver.workdir``,
  ``daskserver.ports``; fields ``host``, ``ssh``, ``workdir``, ``key``,
  ``ports``, ``tunnel``).
"""

from __future__ import annotations

from typing import Any

import attrs
from returns.result import Failure, Result, Success

from ..core import schema
from ..core.clients import STORAGE
from ..core.clusters import QUEUE_ALIASES, QUEUE_FIELDS, Cluster, InvalidCluster, built
from ..core.commands import Command
from ..core.errors import (
    DEFAULT_ORIGIN,
    NOTHING_SELECTED,
    UNKNOWN_FIELD,
    ConfigError,
    Origin,
    did_you_mean,
)
from ..core.layout import COMMAND_LINE, Layout, StageResult, definitions, walk
from ..core.names import SERVICE_NAMES
from ..core.selection import Selection, apply_command
from .report import (
    SERVICE_FIELDS,
    SETTINGS,
    Entry,
    effective_cluster,
    fmt_value,
    mask,
    show_report,
)

#: the cluster fields that hold one value (frontends and queues are explained by their own names)
CLUSTER_FIELDS = tuple(f.name for f in schema.fields("cluster") if f.kind not in ("frontends", "queues"))
SERVICE_ROLES = SERVICE_NAMES


@attrs.frozen
class Step:
    """One value written somewhere, in the order they apply."""

    value: Any
    origin: Origin
    status: str  # "in effect", "overridden", "forgotten", "replaced"
    block: str | None = None
    detail: str = ""


@attrs.frozen
class Section:
    title: str
    steps: tuple[Step, ...]


@attrs.frozen
class Explanation(Entry):
    """A reported value and the steps that decided it."""

    steps: tuple[Step, ...] = ()
    sections: tuple[Section, ...] = ()


def known_names() -> tuple[str, ...]:
    return (SETTINGS + tuple(f"queue.{f}" for f in QUEUE_FIELDS) + tuple(f"cluster.{f}" for f in CLUSTER_FIELDS)
            + tuple(f"{r}.{f}" for r in SERVICE_ROLES for f in SERVICE_FIELDS))


def explain(layout: Layout, r: StageResult, name: str, show_secrets: bool = False) -> Result[Explanation, ConfigError]:
    """The explanation of ``name`` in the resolved stage ``r`` (which must have a plan)."""
    head, _, field = name.partition(".")
    if name in SETTINGS:
        return Success(explain_setting(layout, r, name))
    if head == "queue" and field:
        return explain_queue_field(layout, r, QUEUE_ALIASES.get(field, field), show_secrets)
    if head == "cluster" and field:
        return explain_cluster_field(layout, r, field)
    if head in SERVICE_ROLES and field:
        return explain_service_field(layout, r, head, field)
    return Failure(UNKNOWN_FIELD(f"unknown name {name!r}", None,
                               did_you_mean(name, known_names()) or
                               "expected a setting such as 'cluster', or queue.FIELD, cluster.FIELD, SERVICE.FIELD"))


def _history(layout: Layout, r: StageResult, name: str) -> list[Step]:
    """Fold the stage's commands one by one, noting each change of ``name``."""
    assert r.resolution is not None
    clusters = r.resolution.clusters
    sel = Selection()
    steps: list[Step] = []
    for item, block in walk(layout.documents, r.stage):
        if not isinstance(item, Command):
            continue
        new = apply_command(sel, item, clusters).value_or(None)
        if new is None:
            continue
        if new.origin(name) != sel.origin(name) or getattr(new, name) != getattr(sel, name):
            if new.origin(name) == DEFAULT_ORIGIN and item.name != name:
                steps.append(Step(getattr(new, name), item.origin, "forgotten", block,
                                  f"'{item.name}: {fmt_value(item.value)}' selects another cluster"))
            else:
                steps.append(Step(getattr(new, name), item.origin, "overridden", block))
        sel = new
    return steps


def _finish(steps: list[Step], winner: Origin) -> tuple[Step, ...]:
    out = []
    for s in steps:
        if s.origin == winner and s.status == "overridden":
            s = attrs.evolve(s, status="in effect")
        out.append(s)
    return tuple(out)


def explain_setting(layout: Layout, r: StageResult, name: str) -> Explanation:
    report = show_report(layout, r)
    e = report.entry(name)
    steps: list[Step] = [] if name in ("stage", "substage") else _history(layout, r, name)
    if name in ("stage", "substage") and e.value is not None:
        steps = [Step(e.value, COMMAND_LINE, "overridden")]
    sections: list[Section] = []
    if name == "cluster" and e.value is not None:
        sections.append(_definition_section(layout, r, e.value))
    return Explanation(name, e.value, e.origin, e.block, e.note, _finish(steps, e.origin), tuple(sections))


def _definition_section(layout: Layout, r: StageResult, cluster: str) -> Section:
    defs = definitions(layout, r.stage, cluster)
    steps = tuple(Step(None, o, "in effect" if i == len(defs) - 1 else "replaced", None, kind)
                  for i, (o, kind) in enumerate(defs))
    return Section(f"definition of cluster {cluster!r}", steps)


def _need_cluster(r: StageResult, name: str) -> Result[Cluster, ConfigError]:
    c = effective_cluster(r)
    if c is None:
        return Failure(NOTHING_SELECTED(f"{name}: no cluster is selected", None, "add '- cluster: NAME' to seamless.profile.yaml"))
    return Success(c)


def explain_queue_field(layout: Layout, r: StageResult, field: str, show_secrets: bool) -> Result[Explanation, ConfigError]:
    name = f"queue.{field}"
    if field not in QUEUE_FIELDS:
        return Failure(UNKNOWN_FIELD(f"unknown queue field {field!r}", None, did_you_mean(field, QUEUE_FIELDS)))
    return _need_cluster(r, name).bind(lambda cluster: _queue_field(layout, r, field, cluster, show_secrets))


def _queue_field(layout: Layout, r: StageResult, field: str, cluster: Cluster,
                 show_secrets: bool) -> Result[Explanation, ConfigError]:
    name = f"queue.{field}"
    qe = show_report(layout, r).entry("queue")
    if qe.value is None:
        return Failure(NOTHING_SELECTED(f"{name}: no queue is in effect for cluster {cluster.name!r}", None,
                                   "select one with '- queue: NAME', or set 'default_queue' of the cluster"))
    q = cluster.queue(qe.value)
    assert q is not None
    steps: list[Step] = []
    last: Origin | None = None
    for qname in tuple(reversed(q.chain)) + (q.name,):
        qd = cluster.queue(qname)
        assert qd is not None
        o = qd.origin_of(field)
        if o is None:
            if last is not None:  # a template gave it; this queue unset it with an explicit null
                steps.append(Step(None, qd.origin or DEFAULT_ORIGIN, "overridden", None, f"queue {qname!r} unsets it"))
                last = None
            continue
        if o != last:
            steps.append(Step(mask(qd.get(field), field, show_secrets), o, "overridden", None, f"queue {qname!r}"))
            last = o
    winner = q.origin_of(field) or DEFAULT_ORIGIN
    chain = " <- ".join((q.name,) + q.chain)
    note = f"queue {q.name!r} of cluster {cluster.name!r}" + (f", TEMPLATE chain {chain}" if q.chain else "")
    sections = (Section("queue selection", (Step(q.name, qe.origin, "in effect", qe.block, qe.note),)),)
    return Success(Explanation(name, mask(q.get(field), field, show_secrets), winner, None, note,
                               _finish(steps, winner), sections))


def explain_cluster_field(layout: Layout, r: StageResult, field: str) -> Result[Explanation, ConfigError]:
    name = f"cluster.{field}"
    if field not in CLUSTER_FIELDS:
        return Failure(UNKNOWN_FIELD(f"unknown cluster field {field!r}", None,
                                   did_you_mean(field, CLUSTER_FIELDS) or "frontends and queues have their own names: "
                                   "SERVICE.FIELD, queue.FIELD"))
    return _need_cluster(r, name).map(lambda cluster: _cluster_field(layout, r, field, cluster))


def _cluster_field(layout: Layout, r: StageResult, field: str, cluster: Cluster) -> Explanation:
    name = f"cluster.{field}"
    steps: list[Step] = []
    defs = definitions(layout, r.stage, cluster.name)
    for cc_origin, kind in defs[:-1]:
        earlier = _built_definition(layout, r.stage, cluster.name, cc_origin)
        if earlier is None:
            continue
        o = earlier.origin_of(field)
        steps.append(Step(getattr(earlier, field), o or cc_origin, "replaced", None,
                          kind + ("" if o else f" ({field} not written: default)")))
    winner = cluster.origin_of(field) or DEFAULT_ORIGIN
    if winner != DEFAULT_ORIGIN:
        steps.append(Step(getattr(cluster, field), winner, "in effect", None, defs[-1][1] if defs else ""))
    return Explanation(name, getattr(cluster, field), winner, None, f"cluster {cluster.name!r}", tuple(steps))


def _built_definition(layout: Layout, stage: str | None, cluster: str, origin: Origin) -> Cluster | None:
    from ..core.layout import inline_clusters

    for cc in tuple(layout.home) + tuple(inline_clusters(layout, stage)):
        for c in cc.clusters:
            if c.name == cluster and c.origin == origin and not isinstance(c, InvalidCluster):
                return built(c)  # definitions may be built lazily
    return None


def explain_service_field(layout: Layout, r: StageResult, role: str, field: str) -> Result[Explanation, ConfigError]:
    name = f"{role}.{field}"
    if field not in SERVICE_FIELDS:
        return Failure(UNKNOWN_FIELD(f"unknown service field {field!r}", None, did_you_mean(field, SERVICE_FIELDS)))
    report = show_report(layout, r)
    s = report.service(role)
    if s is None:
        roles = ", ".join(sv.role for sv in report.services) or "none"
        return Failure(NOTHING_SELECTED(f"{name}: the plan has no {role} (its services: {roles})", None, ""))
    value = s.plain(field)
    notes = {
        "key": "from the cluster, the project, the subproject and the stage",
        "workdir": "the storage directory plus /PROJECT[/SUBPROJECT][/STAGE-STAGE]"
        if role in STORAGE else "",
    }
    origin = s.origin(field)
    steps = (Step(value, origin, "in effect"),) if origin not in (DEFAULT_ORIGIN,) else ()
    return Success(Explanation(name, value, origin, None, notes.get(field, ""), steps))


# -- JSON forms ---------------------------------------------------------------------------------


def explanation_json(x: Explanation) -> dict[str, Any]:
    from .report import origin_json

    def step(s: Step) -> dict[str, Any]:
        return {"value": s.value, "origin": origin_json(s.origin), "stage_block": s.block, "status": s.status,
                "detail": s.detail or None}

    return {
        "schema": "seamless-config/explain/1",
        "name": x.name,
        "value": x.value,
        "origin": origin_json(x.origin),
        "stage_block": x.block,
        "note": x.note or None,
        "history": [step(s) for s in x.steps],
        "sections": [{"title": s.title, "steps": [step(t) for t in s.steps]} for s in x.sections],
    }
