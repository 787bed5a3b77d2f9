"""The deliberate differences from seamless-config 0.3.2 (docs/differences.md), as matchers.

The differential run must never count a known difference as agreement: each
difference of a layout is either *explained* by one entry of :data:`KNOWN`
(reported per entry) or left *unexplained* (a disagreement). An entry explains
a difference only when

* the layout holds the input that causes it (``applies``: read from the layout's
  own files and operations, parsed as 0.3.2 parses them, with PyYAML), and
* the difference has the shape the entry predicts (``onset``): e.g. "our load
  refuses, 0.3.2's accepts" at a loading operation, with our message naming the
  cause; or a single value (``value``) such as 3600 against ``"01:00:00"``.

A refusal of ours (or of 0.3.2) at a loading operation changes everything after
it, so an entry of kind ``cascade`` explains its onset and every later
difference of the same run (and those ``seamless-service-resolve`` differences
where the same side refuses). Entries of kind ``value`` explain single
differences. The ``topic`` of each entry is the row of docs/differences.md it
stands for; ``source`` says where else it is decided (COMPAT.md).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from typing import Any

import yaml

LOAD_OPS = ("load", "set_stage", "set_substage", "init")
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
SUBPROJECT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\Z")
PATH_RE = re.compile(r"/[A-Za-z0-9_.\-@/~]*\Z")
SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\Z")


# ----------------------------------------------------------------------------- facts about a layout


_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


class _DupLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader that also records duplicate mapping keys."""

    duplicates: list[Any]


def _construct_mapping(loader: _DupLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        try:
            key = loader.construct_object(key_node, deep=deep)
        except Exception:  # noqa: BLE001
            continue
        try:
            if key in seen:
                loader.duplicates.append(key)
            seen.add(key)
        except TypeError:
            pass
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_DupLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_RESOLVER = yaml.resolver.Resolver()
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _parse(text: str) -> tuple[Any, list, bool, list[str]]:
    """(data as 0.3.2 reads it, duplicate keys, anchors/aliases used, plain sexagesimal scalars)"""
    loader = _DupLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError:
        data = None
    finally:
        loader.dispose()
    anchors = False
    sexagesimal = []
    try:
        for ev in yaml.parse(text, Loader=_BASE_LOADER):
            if getattr(ev, "anchor", None) or isinstance(ev, yaml.AliasEvent):
                anchors = True
            if isinstance(ev, yaml.ScalarEvent) and not ev.style and ":" in ev.value \
                    and _RESOLVER.resolve(yaml.ScalarNode, ev.value, (True, False)) in _NUMBER_TAGS:
                sexagesimal.append(ev.value)  # YAML 1.1 reads this unquoted value as a number
    except yaml.YAMLError:
        pass
    return data, list(loader.duplicates), anchors, sexagesimal


def sexagesimal_value(text: str) -> int | None:
    """What YAML 1.1 (PyYAML) makes of an unquoted ``01:00:00``."""
    if not SEXAGESIMAL.match(text):
        return None
    sign = -1 if text.startswith("-") else 1
    total = 0
    for part in text.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + int(part)
    return sign * total


def is_host(value: Any) -> bool:
    """remote-http-launcher's own rule for hostnames, asked of the installed launcher itself, so that
    the oracle does not restate the rule the code under test implements."""
    from remote_http_launcher import _is_valid_hostname_or_ip

    return isinstance(value, str) and bool(_is_valid_hostname_or_ip(value))


def is_path(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    v = value[1:] if value.startswith("~/") else value
    v = v.replace("$HOME", "/home").replace("$PROJ", "/proj")
    return bool(PATH_RE.match(v)) and ".." not in v.split("/")


class Facts:
    """A layout's files as 0.3.2 reads them, and what they contain."""

    def __init__(self, layout: dict, schema: dict) -> None:
        self.layout = layout
        self.schema = schema
        self.duplicates: list[Any] = []
        self.anchors = False
        self.sexagesimal: list[str] = []
        self.home: dict[str, Any] = {}
        self.project: dict[str, Any] = {}
        for target, files in ((self.home, layout.get("home_files", {})), (self.project, layout.get("project_files", {}))):
            for path, text in files.items():
                data, dups, anchors, sexa = _parse(text)
                target[path] = data
                self.duplicates += dups
                self.anchors = self.anchors or anchors
                self.sexagesimal += sexa
        self.commands: list[tuple[str, Any, str | None]] = []  # (name, value, stage of its block)
        self.stage_keys: list[str] = []
        for data in self.project.values():
            if isinstance(data, list):
                self._commands(data, None)
        self.clusters: list[tuple[str, dict]] = []
        for data in self.home.values():
            if isinstance(data, dict):
                self.clusters += [(k, v) for k, v in data.items() if k != "local_cluster" and isinstance(v, dict)]
        for name, value, _ in self.commands:
            if name == "clusters" and isinstance(value, dict):
                self.clusters += [(k, v) for k, v in value.items() if k != "local_cluster" and isinstance(v, dict)]
        self.cluster_names = {str(k) for k, _ in self.clusters}

    def _commands(self, entries: list, stage: str | None) -> None:
        for e in entries:
            if isinstance(e, str):
                self.commands.append((e, None, stage))
            elif isinstance(e, dict) and len(e) == 1:
                k, v = next(iter(e.items()))
                if isinstance(k, str) and k.startswith("stage") and k[5:].strip():
                    self.stage_keys.append(k)
                    if isinstance(v, list):
                        self._commands(v, k[5:].strip())
                else:
                    self.commands.append((k, v, stage))
            else:
                self.commands.append(("<malformed>", e, stage))

    def frontends(self) -> list[tuple[str, Any, dict]]:
        out = []
        for cname, c in self.clusters:
            for fe in c.get("frontends") or []:
                if isinstance(fe, dict):
                    out.append((cname, c.get("type"), fe))
        return out

    def services(self) -> list[tuple[str, dict]]:
        out = []
        for _, _, fe in self.frontends():
            for s in ("hashserver", "database", "jobserver", "daskserver"):
                if isinstance(fe.get(s), dict):
                    out.append((s, fe[s]))
        return out

    def queues(self) -> list[tuple[str, str, dict]]:
        out = []
        for cname, c in self.clusters:
            qs = c.get("queues")
            if isinstance(qs, dict):
                out += [(cname, qn, q) for qn, q in qs.items() if isinstance(q, dict)]
        return out

    def type_mismatches(self) -> list[str]:
        """Fields whose value does not have the type 0.3.2's dataclasses declare (0.3.2 does not check)."""
        classes = self.schema["classes"]
        out: list[str] = []

        def check(cname: str, mapping: dict) -> None:
            fields = {f["name"]: f for f in classes[cname]["fields"]}
            for k, v in mapping.items():
                f = fields.get(str(k).replace("-", "_"))
                if f is None or v is None:
                    continue
                kind = f["type"]["kind"]
                ok = {"str": isinstance(v, str), "int": isinstance(v, int) and not isinstance(v, bool),
                      "bool": isinstance(v, bool), "list": isinstance(v, list), "dict": isinstance(v, dict),
                      "literal": v in f["type"].get("values", [v])}.get(kind, True)
                if kind == "str" and isinstance(v, int) and not isinstance(v, bool) and str(k) == "walltime":
                    ok = True  # an unquoted walltime: the YAML 1.1 entry
                if not ok:
                    out.append(f"{cname}.{k}={v!r}")

        for _, c in self.clusters:
            check("Cluster", {k: v for k, v in c.items() if k not in ("frontends", "queues")})
        for _, _, fe in self.frontends():
            check("ClusterFrontend", {k: v for k, v in fe.items() if not isinstance(v, dict)})
            for s, cls in (("hashserver", "ClusterFrontendHashserver"), ("database", "ClusterFrontendDatabase"),
                           ("jobserver", "ClusterFrontendJobserver"), ("daskserver", "ClusterFrontendDaskserver")):
                if isinstance(fe.get(s), dict) and cls in classes:
                    check(cls, fe[s])
        for _, _, q in self.queues():
            check("ClusterQueueWithTemplate", q)
        return out

    def names(self) -> list[str]:
        """Names (clusters, queues, projects, stages ...) outside our alphabet (0.3.2 accepts them)."""
        bad = [n for n in self.cluster_names if not NAME_RE.match(n)]
        bad += [qn for _, qn, _ in self.queues() if not NAME_RE.match(str(qn))]
        for name, value, _ in self.commands:
            if name in ("project", "cluster", "queue", "node") and isinstance(value, str) and value and not NAME_RE.match(value):
                bad.append(value)
            if name == "subproject" and isinstance(value, str) and value and not SUBPROJECT_RE.match(value):
                bad.append(value)
        for op in self.layout.get("ops") or []:
            if op.get("op") == "select" and op["fn"] in ("select_cluster", "select_project", "select_stage", "select_substage", "select_queue"):
                v = (op.get("args") or [None])[0]
                if isinstance(v, str) and v and not NAME_RE.match(v):
                    bad.append(v)
        return bad

    def empty_projects(self) -> list[str]:
        """``- project: ""`` or ``select_project("")`` (0.3.2 stores at the storage root; refused here)."""
        out = [f"{n}: ''" for n, v, _ in self.commands if n == "project" and v == ""]
        for op in self.layout.get("ops") or []:
            if op.get("op") == "select" and op["fn"] == "select_project" and (op.get("args") or [None])[0] == "":
                out.append("select_project('')")
        return out

    def spawn_without_local_cluster(self) -> bool:
        """``execution: spawn`` somewhere, and no home file names a ``local_cluster`` (0.3.2: ``KeyError: None``)."""
        spawn = any(n == "execution" and v == "spawn" for n, v, _ in self.commands) or any(
            op.get("op") == "select" and op["fn"] == "select_execution" and (op.get("args") or [None])[0] == "spawn"
            for op in self.layout.get("ops") or [])
        local = any(isinstance(d, dict) and d.get("local_cluster") is not None for d in self.home.values())
        return spawn and not local

    def bad_hosts(self) -> list[str]:
        out = []
        for _, _, fe in self.frontends():
            for k in ("hostname", "ssh_hostname"):
                if k in fe and fe[k] is not None and not is_host(fe[k]):
                    out.append(f"{k}={fe[k]!r}")
        for s, svc in self.services():
            v = svc.get("network_interface")
            if v is not None and not is_host(v):
                out.append(f"{s}.network_interface={v!r}")
        return out

    def bad_paths(self) -> list[str]:
        out = []
        for s, svc in self.services():
            for k in ("bufferdir", "database_dir"):
                if k in svc and svc[k] is not None and not is_path(svc[k]):
                    out.append(f"{s}.{k}={svc[k]!r}")
        return out

    def bad_tmpdirs(self) -> list[str]:
        """Queue ``tmpdir`` values that are not paths; the job's own variables (``$TMPDIR/dask``,
        ``/scratch/${USER}``) stand for a path."""
        out = []
        for c, qn, q in self.queues():
            v = q.get("tmpdir")
            if v is None:
                continue
            if isinstance(v, str):  # a variable stands for a directory; one at the start, for an absolute one
                v = ("/" if v.startswith("$") else "") + re.sub(r"\$(\{\w+\}|\w+)", "v", v)
            if not is_path(v):
                out.append(f"{c}.queues.{qn}.tmpdir={q.get('tmpdir')!r}")
        return out

    def null_sections(self) -> list[str]:
        """Frontend service sections written as ``null`` (0.3.2 crashes on them)."""
        return [f"{cname}.{s}=null" for cname, _t, fe in self.frontends()
                for s in ("hashserver", "database", "jobserver", "daskserver") if s in fe and fe[s] is None]

    def reversed_ports(self) -> list[str]:
        out = []
        for s, svc in self.services():
            lo, hi = svc.get("port_start"), svc.get("port_end")
            if isinstance(lo, int) and isinstance(hi, int) and not isinstance(lo, bool) and lo > hi:
                out.append(f"{s}.port_start={lo}>{hi}")
        return out

    def default_queue_unknown(self) -> list[str]:
        out = []
        for cname, c in self.clusters:
            dq = c.get("default_queue")
            if dq is not None and dq not in (c.get("queues") or {}):
                out.append(f"{cname}.default_queue={dq!r}")
        return out

    def invalid_in_blocks(self) -> list[str]:
        """Entries of stage blocks that 0.3.2 would refuse if the block were active."""
        specs = self.schema["commands"]["specs"]
        modes = self.schema["select"]["execution_modes"]
        targets = self.schema["select"]["remote_targets"]
        out = []
        for name, value, stage in self.commands:
            if stage is None:
                continue
            ok = True
            if name not in specs and name != self.schema["commands"]["inherit"]:
                ok = False
            elif name == "execution":
                ok = isinstance(value, str) and value in modes
            elif name == "remote":
                ok = value in targets
            elif name in ("persistent", "record"):
                ok = isinstance(value, bool)
            elif name == "nparallel":
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            elif name in ("project", "subproject", "queue"):
                ok = isinstance(value, str)
            elif name == "cluster":
                ok = value is None or isinstance(value, str)
            elif name == "node":
                ok = value is None or (isinstance(value, str) and bool(value.strip()))
            if not ok:
                out.append(f"stage {stage}: {name}: {value!r}")
        return out

    def ghost_clusters(self) -> list[str]:
        """Clusters named by a ``- cluster:`` command or ``select_cluster()`` that no file defines."""
        out = [v for n, v, _ in self.commands if n == "cluster" and isinstance(v, str) and v not in self.cluster_names]
        for op in self.layout.get("ops") or []:
            if op.get("op") == "select" and op["fn"] == "select_cluster":
                v = (op.get("args") or [None])[0]
                if isinstance(v, str) and v not in self.cluster_names:
                    out.append(v)
        return out

    def block_cluster_problems(self) -> list[str]:
        """Clusters defined by a ``clusters:`` command inside a stage block that 0.3.2 would refuse."""
        classes = self.schema["classes"]
        required = {c: [f["name"] for f in v["fields"] if f["required"] and f["name"] != "name"] for c, v in classes.items()}
        services = {"hashserver": "ClusterFrontendHashserver", "database": "ClusterFrontendDatabase",
                    "jobserver": "ClusterFrontendJobserver", "daskserver": "ClusterFrontendDaskserver"}
        out = []
        for name, value, stage in self.commands:
            if name != "clusters" or stage is None or not isinstance(value, dict):
                continue
            for cname, c in value.items():
                if cname == "local_cluster":
                    continue
                bad = not isinstance(c, dict) or not isinstance(c.get("frontends"), list)
                for fe in (c.get("frontends") or []) if isinstance(c, dict) else []:
                    if not isinstance(fe, dict) or ("hostname" not in fe and c.get("type") != "local"):
                        bad = True
                        continue
                    for s, cls in services.items():
                        if s in fe:
                            svc = fe[s]
                            if not isinstance(svc, dict) or any(r not in svc for r in required.get(cls, [])) \
                                    or (("port_start" in svc) != ("port_end" in svc)):
                                bad = True
                if bad:
                    out.append(str(cname))
        return out

    def block_clusters(self) -> list[str]:
        """Stage blocks with a ``clusters`` command (0.3.2 reads them only while their stage is active)."""
        return [str(st) for n, _v, st in self.commands if n == "clusters" and st is not None]

    def jobservers_without_conda(self) -> list[str]:
        return [repr(svc) for s, svc in self.services() if s == "jobserver" and "conda" not in svc]

    def prologues(self) -> list[str]:
        return [f"{c}.{qn}" for c, qn, q in self.queues()
                if "job_script_prologue" in q or "job-script-prologue" in q]

    def stage_keys_without_space(self) -> list[str]:
        return [k for k in self.stage_keys if not k.startswith("stage ")]


# ----------------------------------------------------------------------------- the table


@dataclasses.dataclass
class Known:
    """One deliberate difference.

    ``kind``: ``cascade`` (a refusal at a loading operation, and all that follows), ``value``
    (single values), ``resolve`` (single ``seamless-service-resolve`` results). For a cascade,
    ``refuses`` says which side refuses ("ours" or "ref"); each mistake (line) of that side's
    message must match ``message``, and when our message points at ``file:line``, that YAML
    line must match ``line`` (a regex, or a function of the facts giving one) and, with
    ``in_block``, lie inside a ``stage ...:`` block.
    """

    id: str
    topic: str  # the row of docs/differences.md
    kind: str
    applies: Callable[[Facts], Any]
    refuses: str = "ours"
    message: str | None = None
    line: str | Callable[[Facts], str] | None = None
    in_block: bool = False
    value: Callable[[dict, Facts], bool] | None = None
    #: cascade: an extra condition on the onset difference
    onset: Callable[[dict, Facts], bool] | None = None
    source: str = "docs/differences.md"


def _sexagesimal_diff(d: dict, facts: Facts) -> bool:
    r, o = d.get("ref"), d.get("ours")
    if isinstance(r, int) and not isinstance(r, bool) and isinstance(o, str):
        return sexagesimal_value(o) == r and o in facts.sexagesimal
    return False


_STICKY = ("cluster", "project", "subproject", "nparallel")  # what 0.3.2 keeps after leaving a stage


def _stage_leftover(d: dict, facts: Facts) -> bool:
    """0.3.2 still shows a value that a stage block set, in a later load that no longer selects that stage."""
    if not isinstance(d.get("seq"), int) or d["seq"] < 1 or ".selection." not in d["where"]:
        return False
    r, o = d.get("ref"), d.get("ours")
    if r == o or isinstance(r, (dict, list)):
        return False
    ops = facts.layout.get("ops") or []
    entered = {str((op.get("args") or [None])[0]) for op in ops[: d["seq"]]
               if op.get("op") in ("set_stage", "init") or (op.get("op") == "select" and op.get("fn") == "select_stage")}
    return any(n in _STICKY and v == r and st in entered for n, v, st in facts.commands if st is not None)


def _pure_dask_resolve_cluster(d: dict, facts: Facts) -> bool:
    """0.3.2's resolver prints ``cluster`` and ``queue`` as null for the pure-daskserver; the contract's fields
    name them."""
    argv = d.get("argv") or []
    return bool(d.get("resolve")) and d["where"].endswith(("].cluster", "].queue")) and d.get("ref") is None \
        and isinstance(d.get("ours"), str) and "pure-daskserver" in argv


def _number_as_name(d: dict, facts: Facts) -> bool:
    """A number or unquoted YAML 1.1 boolean written where a name is expected (``conda: 3``,
    ``hostname: true``): 0.3.2 passes the int or bool on, we the string."""
    r, o = d.get("ref"), d.get("ours")
    if not isinstance(o, str) or not any(m.endswith(f"={r!r}") for m in facts.type_mismatches()):
        return False
    if isinstance(r, bool):
        return o.lower() in (("true", "yes", "on") if r else ("false", "no", "off"))
    return isinstance(r, (int, float)) and o == str(r)


def _stage_before(ops: list, seq: int) -> tuple[Any, bool]:
    """(the selected stage, whether init/set_stage ran) before operation ``seq``, as 0.3.2 tracks them."""
    stage, initialized = None, False
    for op in ops[:seq]:
        kind, args = op.get("op"), op.get("args") or [None]
        if kind == "set_stage":
            stage, initialized = args[0], True
        elif kind == "init" and not initialized:
            stage, initialized = None, True
        elif kind == "select" and op.get("fn") == "select_stage":
            stage = args[0]
    return stage, initialized


def _block_inactive(d: dict, facts: Facts) -> bool:
    """At this operation, no stage block with a ``clusters`` command is active."""
    seq = d.get("seq")
    ops = facts.layout.get("ops") or []
    if not isinstance(seq, int) or not 0 <= seq < len(ops):
        return True
    stage, _ = _stage_before(ops, seq + 1)
    return stage is None or str(stage) not in {str(st) for n, _v, st in facts.commands if n == "clusters" and st}


def _same_stage_again(d: dict, facts: Facts) -> bool:
    """``set_stage``/``set_substage`` after ``init``, the stage unchanged: 0.3.2 reloads but activates nothing."""
    seq = d.get("seq")
    ops = facts.layout.get("ops") or []
    if not isinstance(seq, int) or not 0 <= seq < len(ops) or d.get("resolve"):
        return False
    stage, initialized = _stage_before(ops, seq)
    op = ops[seq]
    same = op.get("op") == "set_substage" or (op.get("op") == "set_stage" and (op.get("args") or [None])[0] == stage)
    return initialized and same


def _scalar_as_typed(d: dict, facts: Facts) -> bool:
    """A quoted number where a number is expected (``workers: "7"``: 0.3.2 keeps the string)."""
    r, o = d.get("ref"), d.get("ours")
    if isinstance(r, str) and isinstance(o, int) and not isinstance(o, bool):
        return r.strip() == str(o) and any(m.endswith(f"={r!r}") for m in facts.type_mismatches())
    return False


def _launcher_type_refusal(d: dict, facts: Facts) -> bool:
    """0.3.2's resolver hands remote-http-launcher a number or boolean where a string belongs; it refuses."""
    return bool(d.get("resolve")) and d.get("shape") == "ref_refuses" and bool(facts.type_mismatches()) \
        and "must be a string" in _message(d.get("ref"))


def _resolve_unknown_queue(d: dict, facts: Facts) -> bool:
    """``seamless-service-resolve --queue Q`` naming no queue of the cluster: refused here."""
    argv = d.get("argv") or []
    return bool(d.get("resolve")) and d.get("shape") == "ours_refuses" and "--queue" in argv \
        and "has no queue" in _message(d.get("ours"))


def _key_line(keys: Any) -> str:
    """A YAML line that sets one of ``keys`` (plain or quoted, maybe a list item)."""
    alts = "|".join(re.escape(str(k)) for k in sorted(set(keys))) or "(?!)"
    return rf"^\s*(-\s+)?['\"]?({alts})['\"]?\s*:"


def _value_line(values: Any) -> str:
    alts = "|".join(re.escape(str(v)) for v in sorted(set(values), key=str) if str(v)) or "(?!)"
    return rf"({alts})"


KNOWN: list[Known] = [
    Known("duplicate_keys", "duplicate YAML keys, anchors, aliases", "cascade",
          lambda f: f.duplicates or f.anchors, message=r"(?i)duplicate|anchor|alias"),
    Known("yaml11_sexagesimal", "`walltime: 01:00:00` unquoted", "value",
          lambda f: f.sexagesimal, value=_sexagesimal_diff),
    Known("value_types", "value types", "cascade", lambda f: f.type_mismatches(),
          line=lambda f: _key_line(m.split("=", 1)[0].split(".", 1)[1] for m in f.type_mismatches())),
    # (0.3.2's launch dicts then fail in remote-http-launcher: what follows differs too)
    Known("number_as_name", "value types", "cascade", lambda f: f.type_mismatches(), refuses="neither",
          onset=_number_as_name),
    Known("scalar_as_typed", "value types", "value", lambda f: f.type_mismatches(), value=_scalar_as_typed),
    Known("launcher_type_refusal", "value types", "value", lambda f: f.type_mismatches(), value=_launcher_type_refusal),
    Known("names", "names", "cascade", lambda f: f.names(), message=r"(?i)name",
          line=lambda f: _value_line(f.names())),
    Known("empty_project", "an empty project name", "cascade", lambda f: f.empty_projects(),
          message=r"invalid project name ''"),
    Known("hostnames", "`hostname`, `ssh_hostname`, `network_interface`", "cascade", lambda f: f.bad_hosts(),
          message=r"(?i)hostname|network_interface", line=_key_line(("hostname", "ssh_hostname", "network_interface"))),
    Known("paths", "paths (`bufferdir`, ...)", "cascade", lambda f: f.bad_paths(),
          message=r"(?i)bufferdir|database_dir|path", line=_key_line(("bufferdir", "database_dir"))),
    Known("tmpdir_paths", "paths (`bufferdir`, ...)", "cascade", lambda f: f.bad_tmpdirs(),
          message=r"(?i)tmpdir", line=_key_line(("tmpdir",))),
    Known("unknown_final_cluster", "unknown cluster in `- cluster:`", "cascade",
          lambda f: f.ghost_clusters(), message=r"(?i)cluster",
          # 0.3.2 accepted the load and the cluster it selected does not exist: only then may we refuse
          onset=lambda d, f: (d.get("ref_sel") or {}).get("cluster_defined") is False,
          source="docs/differences.md; COMPAT.md: only the finally selected cluster must exist"),
    Known("default_queue_unknown", "`default_queue` naming no queue", "cascade", lambda f: f.default_queue_unknown(),
          message=r"(?i)default_queue", line=_key_line(("default_queue",))),
    Known("null_service_section", "a service section written as `null`", "cascade", lambda f: f.null_sections(),
          refuses="ref", message=r"(?i)argument after \*\* must be a mapping|mapping"),
    Known("port_range_reversed", "`port_start` above `port_end`", "cascade", lambda f: f.reversed_ports(),
          message=r"above port_end", line=_key_line(("port_start",))),
    Known("inactive_blocks_checked", "inactive stage blocks", "cascade",
          lambda f: f.invalid_in_blocks() or f.block_cluster_problems(), in_block=True),
    Known("inactive_block_clusters", "inactive stage blocks", "cascade", lambda f: f.block_clusters(),
          in_block=True, onset=_block_inactive),
    Known("stage_key_prefix", "stage block keys", "cascade", lambda f: f.stage_keys_without_space(),
          line=r"^\s*(-\s+)?stage\S"),
    Known("job_script_prologue", "`job_script_prologue` queue field", "cascade", lambda f: f.prologues(),
          refuses="ref", message=r"job_script_prologue", source="docs/differences.md; COMPAT.md known defects"),
    Known("spawn_without_local_cluster", "`execution: spawn` without a `local_cluster`", "cascade",
          lambda f: f.spawn_without_local_cluster(), refuses="ref", message=r"^None$"),
    Known("jobserver_conda_optional", "`jobserver:` section", "cascade", lambda f: f.jobservers_without_conda(),
          refuses="ref", message=r"ClusterFrontendJobserver.*'conda'"),
    Known("stage_leftovers", "leaving a stage", "cascade", lambda f: any(st for _n, _v, st in f.commands),
          refuses="neither", onset=_stage_leftover),
    Known("same_stage_activates", "`set_stage()` / `set_substage()` after `init()`, the stage unchanged", "cascade",
          lambda f: True, onset=_same_stage_again),
    Known("resolve_unknown_queue", "`seamless-service-resolve --queue Q`, Q not a queue of the cluster", "value",
          lambda f: True, value=_resolve_unknown_queue),
    Known("failed_read_atomic", "a failed read", "cascade", lambda f: True, refuses="both"),
    Known("resolve_pure_dask_cluster", "`seamless-service-resolve --service pure-daskserver`", "value",
          lambda f: True, value=_pure_dask_resolve_cluster,
          source="docs/differences.md; the Seamless resolver contract (service-management.md): `cluster` names the cluster"),
    Known("resolve_stage_blocks", "`seamless-service-resolve --stage X`", "resolve",
          lambda f: f.stage_keys),
]

BY_ID = {k.id: k for k in KNOWN}

#: rows of docs/differences.md without a matcher, and why
UNMATCHED_ROWS = {
    "mistakes": "messages are not compared (only whether each side refuses)",
    "launch dicts": "compared after remote-http-launcher evaluates `key` and `command`; `meta` checked on our side",
    "`seamless-service-resolve` without `--workdir`": "stale: COMPAT.md requires that no project file be read, as 0.3.2 does;"
                                                      " a difference there is a disagreement",
    "`init(workdir=X)`, `set_stage(..., workdir=X)`": "not exercised (the harness calls set_workdir first)",
    "`set_substage()` before `set_workdir()`": "not exercised (the harness calls set_workdir first)",
    "frontend `hostname: localhost` without `ssh_hostname`": "not visible in launch dicts (how the launcher runs them)",
    "many processes starting one project at once": "concurrency: not exercised",
    "services of a plan": "concurrency: not exercised",
    "`No 'execution' command found` warnings": "warnings are not compared",
}


def _message(v: Any) -> str:
    """The error message of one side of a difference ("" when that side did not refuse)."""
    if isinstance(v, dict) and isinstance(v.get("error"), dict):
        return str(v["error"].get("message", ""))
    if isinstance(v, dict) and isinstance(v.get("error"), str):
        return v["error"]
    return ""


_POINTER = re.compile(r"^(?:seamless-service-resolve: )?(?P<path>[^\s:]+):(?P<line>\d+): (?P<rest>.*)")


def _pointed(line: str, facts: Facts) -> tuple[str | None, list[str] | None, int]:
    """(message without its ``file:line:`` prefix, the lines of that file, the 0-based line index)."""
    m = _POINTER.match(line)
    if not m:
        return line, None, -1
    path, idx = m.group("path"), int(m.group("line")) - 1
    lay = facts.layout
    if path.startswith("~/"):
        text = (lay.get("home_files") or {}).get(path[2:])
    elif path.startswith("<T>/home/"):
        text = (lay.get("home_files") or {}).get(path[len("<T>/home/"):])
    elif path.startswith("<T>/proj/"):
        text = (lay.get("project_files") or {}).get(path[len("<T>/proj/"):])
    else:
        wd = lay.get("workdir") or "."
        rel = os.path.normpath(os.path.join(wd, path))
        text = (lay.get("project_files") or {}).get(rel)
    if text is None:
        return m.group("rest"), None, -1
    return m.group("rest"), text.splitlines(), idx


def _in_stage_block(lines: list[str], idx: int) -> bool:
    if not 0 <= idx < len(lines):
        return False
    ind = len(lines[idx]) - len(lines[idx].lstrip(" -"))
    for j in range(idx - 1, -1, -1):
        text = lines[j]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        j_ind = len(text) - len(text.lstrip(" -"))
        if j_ind < ind:
            if re.match(r"^\s*(-\s+)?['\"]?stage", text):
                return True
            ind = j_ind
    return False


def line_explained(kd: Known, line: str, facts: Facts, api: bool = False) -> bool:
    """Whether one mistake of a refusal (one line of the message) is this known difference
    (``api``: the refusal of a ``select_*`` call, whose message points at no file)."""
    rest, lines, idx = _pointed(line, facts)
    if kd.message is not None and not re.search(kd.message, rest or ""):
        return False
    if api and _POINTER.match(line) is None:
        return True
    if kd.line is not None or kd.in_block:
        if lines is None or not 0 <= idx < len(lines):
            return False  # our message must point at the line that holds the input
        if kd.line is not None:
            pattern = kd.line(facts) if callable(kd.line) else kd.line
            if not re.search(pattern, lines[idx]):
                return False
        if kd.in_block and not _in_stage_block(lines, idx):
            return False
    return True


def _at_load(d: dict) -> bool:
    return not d.get("resolve") and d.get("op") in LOAD_OPS and d["where"].endswith((".error", ".error_phase"))


def _at_select(d: dict) -> bool:
    """A refusal of a ``select_*`` call (a name the API refuses changes what every later step sees)."""
    return not d.get("resolve") and str(d.get("op") or "").startswith("select") and d["where"].endswith(".error")


def classify(diffs: list[dict], facts: Facts) -> tuple[list[dict], dict[str, int]]:
    """Mark each diff ``explained_by`` a known difference (or None); returns (unexplained, counts).

    Our refusals list one mistake per line: a refusal of ours is explained only when every
    line is explained by an entry whose input the layout holds (``line_explained``); otherwise
    the first line nobody explains is kept as ``unexplained_line`` (the disagreement's cause).
    """
    counts: dict[str, int] = {}
    for d in diffs:
        d.setdefault("explained_by", None)
    applicable = []
    for kd in KNOWN:
        try:
            if kd.applies(facts):
                applicable.append(kd)
        except Exception:  # noqa: BLE001 - a layout the fact reader cannot follow: explains nothing
            pass

    def mark(d: dict, kid: str) -> None:
        d["explained_by"] = kid
        counts[kid] = counts.get(kid, 0) + 1

    def owners_of(message: str, kds: list[Known], d: dict) -> list[Known] | None:
        lines = [line for line in message.split("\n") if line.strip()] or [""]
        owners = []
        for line in lines:
            owner = next((k for k in kds if (k.onset is None or k.onset(d, facts))
                          and line_explained(k, line, facts, api=_at_select(d))), None)
            if owner is None:
                d["unexplained_line"] = line
                return None
            owners.append(owner)
        return owners

    def cascade_from(onset: int, kid: str) -> None:
        for d in diffs:
            if d["explained_by"] is None and not d.get("resolve") and d["seq"] >= onset:
                mark(d, kid)

    for kd in applicable:  # single values
        if kd.kind == "value" and kd.value is not None:
            for d in diffs:
                if d["explained_by"] is None and kd.value(d, facts):
                    mark(d, kd.id)
        elif kd.kind == "resolve":
            for d in diffs:
                if d["explained_by"] is None and d.get("resolve") and "--stage" in d.get("argv", []) \
                        and "--workdir" in d.get("argv", []):
                    st = d["argv"][d["argv"].index("--stage") + 1]
                    if any(k[5:].strip() == st for k in facts.stage_keys):
                        mark(d, kd.id)

    for kd in applicable:  # a value both sides accept, after which everything may differ
        if kd.kind == "cascade" and kd.refuses == "neither" and kd.onset is not None:
            d = next((d for d in diffs if d["explained_by"] is None and not d.get("resolve") and kd.onset(d, facts)), None)
            if d is not None:
                cascade_from(d["seq"], kd.id)

    ours_kds = [k for k in applicable if k.kind == "cascade" and k.refuses == "ours"]
    ref_kds = [k for k in applicable if k.kind == "cascade" and k.refuses == "ref"]
    # a refusal of ours while reading, where 0.3.2 read the files
    first = next((d for d in diffs if d["explained_by"] is None and (_at_load(d) or _at_select(d))
                  and d["shape"] == "ours_refuses"), None)
    if first is not None:
        owners = owners_of(_message(first["ours"]), ours_kds, first)
        if owners:
            cascade_from(first["seq"], owners[0].id)
    # a refusal of 0.3.2 while reading, where we read the files
    first = next((d for d in diffs if d["explained_by"] is None and _at_load(d) and d["shape"] == "ref_refuses"), None)
    if first is not None:
        kd = next((k for k in ref_kds if k.message is None or re.search(k.message, _message(first["ref"]))), None)
        if kd is not None:
            cascade_from(first["seq"], kd.id)
    # seamless-service-resolve reads the files itself: the same refusals, one by one
    for d in diffs:
        if d["explained_by"] is None and d.get("resolve") and d["shape"] in ("ours_refuses", "ref_refuses"):
            if d["shape"] == "ours_refuses":
                owners = owners_of(_message(d["ours"]), ours_kds, d)
                if owners:
                    mark(d, owners[0].id)
            else:
                kd = next((k for k in ref_kds if k.message is None or re.search(k.message, _message(d["ref"]))), None)
                if kd is not None:
                    mark(d, kd.id)
    # both refused a read: what 0.3.2 had applied before its mistake stays
    d = next((d for d in diffs if d["explained_by"] is None and not d.get("resolve") and d.get("after_both_refused")), None)
    if d is not None:
        cascade_from(d["seq"], "failed_read_atomic")
    return [d for d in diffs if d["explained_by"] is None], counts
