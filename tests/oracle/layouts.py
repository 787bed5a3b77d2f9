"""Seeded generator of project layouts for the differential harness, driven by the REFERENCE.

The input space is derived from seamless-config 0.3.2 itself, at test time:
``load_schema()`` runs ``ref_schema.py`` in the oracle venv, which introspects the
reference's cluster / frontend / service / queue dataclasses (fields, types,
required or optional, defaults), its command table, its value domains and API
signatures, and probes which required fields it fills in itself (a frontend of a
``type: local`` cluster without ``hostname``). ``generate(seed, schema)`` then
builds one layout (the JSON format of ``dump_common.py``) from that schema:

* every field of every class is emitted from the schema; optional fields are
  absent about half the time, sometimes an explicit ``null``; required fields are
  sometimes absent too (often where the probe found the reference accepts it, e.g.
  ``hostname`` of a ``local`` frontend, rarely elsewhere, so that every cluster type
  appears with and without ``hostname``); every string field is sometimes ``""``;
* commands come from the reference's command table; a ``- cluster:`` naming a
  cluster that exists nowhere is often followed by a command that selects another
  (only the finally selected cluster must exist), and rarely left in force;
* the API sequence (``ops``) interleaves ``select_*`` calls, loads, ``set_stage``,
  ``set_substage``, ``init``, ``SEAMLESS_CACHE`` switched on and off, and
  mid-sequence launch dicts;
* a few inputs on which 0.3.2 and we differ on purpose (docs/differences.md) are
  made on purpose, at low rates, so that the known-difference table
  (``known_differences.py``) is exercised: unquoted ``walltime``, wrong value types,
  duplicate keys, ``job_script_prologue``, names and paths we refuse ...

Values (paths, host names, walltimes) come from per-field pools below, chosen by
field name; a field without a pool gets a generic value of its type.

The commands are generated as one sequence in execution order (the selected
cluster simulated along the way) and then cut into the files of an
``inherit_from_parent`` chain (parent's seamless.yaml, its profile, child's ...).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from typing import Any

RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "nan", "inf", "~"}
STAGES = ("prod", "dev", "s1", "gpu-run")
SUBSTAGES = ("gpu", "big", "a1")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ORACLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv-oracle", "bin", "python")

# ----------------------------------------------------------------------------- the reference's schema

_SCHEMA: dict[str, Any] = {}


def oracle_python() -> str:
    return os.environ.get("SEAMLESS_ORACLE_PYTHON") or DEFAULT_ORACLE


def load_schema(python: str | None = None) -> dict:
    """The reference's schema, introspected by ``ref_schema.py`` in the oracle venv (once per process)."""
    python = python or oracle_python()
    if python not in _SCHEMA:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        proc = subprocess.run([python, os.path.join(HERE, "ref_schema.py")], capture_output=True, text=True,
                              cwd=os.path.dirname(HERE), env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"ref_schema.py failed with {python}:\n{proc.stderr[-3000:]}")
        _SCHEMA[python] = json.loads(proc.stdout)
    return _SCHEMA[python]


# ----------------------------------------------------------------------------- YAML text


class Raw:
    """A scalar written exactly as given (``walltime: 01:00:00`` unquoted, ``persistent: yes``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


class Bare:
    """A bare list item (``- inherit_from_parent``, ``- cluster`` meaning null)."""

    def __init__(self, text: str) -> None:
        self.text = text


class Dup:
    """A mapping key written twice: first ``first``, then the real value (YAML keeps the last)."""

    def __init__(self, first: Any, value: Any) -> None:
        self.first = first
        self.value = value


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*\Z")


def scalar(v: Any, rng: random.Random | None = None) -> str:
    if isinstance(v, Raw):
        return v.text
    if v is None:
        return "null" if rng is None or rng.random() < 0.8 else "~"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    plain_ok = bool(_PLAIN.match(s)) and s.lower() not in RESERVED
    if plain_ok and (rng is None or rng.random() < 0.7):
        return s
    if rng is not None and "'" not in s and rng.random() < 0.5:
        return "'" + s + "'"
    return json.dumps(s)


def _key(k: Any, rng: random.Random | None) -> str:
    if isinstance(k, str) and k.startswith("stage"):
        return k
    if isinstance(k, str) and rng is not None and rng.random() < 0.9 and _PLAIN.match(k) and k.lower() not in RESERVED:
        return k  # keys are mostly written plain
    return scalar(k, rng)


def emit(value: Any, indent: int = 0, rng: random.Random | None = None) -> list[str]:
    """Block-style YAML lines for dicts / lists / scalars (no flow style except ``{}``/``[]``)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            key = _key(k, rng)
            if isinstance(v, Dup):
                lines.extend(emit({k: v.first}, indent, rng))
                v = v.value
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:")
                lines.extend(emit(v, indent + 2, rng))
            elif isinstance(v, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(v, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {scalar(v, rng)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = emit(item, indent + 2, rng)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            elif isinstance(item, Bare):
                lines.append(f"{pad}- {item.text}")
            else:
                lines.append(f"{pad}- {scalar(item, rng)}")
    else:
        lines.append(pad + scalar(value, rng))
    return lines


def yaml_text(value: Any, rng: random.Random) -> str:
    text = "\n".join(emit(value, 0, rng)) + "\n"
    if rng.random() < 0.2:
        text = "# generated\n" + text
    return text


# ----------------------------------------------------------------------------- names


def name(rng: random.Random, prefix: str = "", length: int | None = None) -> str:
    first = "abcdefghijklmnopqrstuvwxyz"
    rest = "abcdefghijklmnopqrstuvwxyz0123456789_-"
    while True:
        n = length if length is not None else rng.randint(1, 7)
        s = prefix + rng.choice(first) + "".join(rng.choice(rest) for _ in range(n - 1))
        if "--" in s or s.lower() in RESERVED or "STAGE-" in s or s.endswith("-"):
            continue
        return s


def host(rng: random.Random, prefix: str = "") -> str:
    s = name(rng, prefix).replace("_", "-").strip("-")
    return s or "h"


def subproject(rng: random.Random) -> str:
    return "/".join(name(rng) for _ in range(rng.choice((1, 1, 2, 3))))


# ----------------------------------------------------------------------------- value pools (by field name)


def _pool(g: Gen, field: str, kind: str, ctx: dict) -> Any:
    rng = g.rng
    c = ctx.get("cluster", "c")
    if field == "bufferdir":
        return rng.choice((f"/data/{c}/buffers", f"/srv/{c}/buf/", f"/scratch/{c}-b", "~/seamless/buffers",
                           "$HOME/buffers"))
    if field == "database_dir":
        return rng.choice((f"/data/{c}/db", f"/srv/{c}/database", f"/scratch/{c}-d/", "~/seamless/db",
                           "$HOME/db"))
    if field == "conda":
        return rng.choice((name(rng, "env-"), "seamless1", "base", "hashserver"))
    if field == "network_interface":
        return rng.choice(("0.0.0.0", "10.0.0.1", "localhost", "127.0.0.1", "ib0"))
    if field == "hostname":
        return rng.choice(("localhost", host(rng, "fe"), host(rng, "node"), f"{host(rng, c)}-login.example.org",
                           "127.0.0.1"))
    if field == "ssh_hostname":
        return rng.choice((host(rng, "ssh-"), host(rng) + ".example.org", "localhost"))
    if field == "walltime":
        return rng.choice(("01:00:00", "00:30:00", "12:00:00", "2-00:00:00", "1:00:00", "24:00:00"))
    if field == "memory":
        return rng.choice(("10GB", "4GB", "500MB", "64GiB"))
    if field in ("lifetime", "lifetime_stagger", "unknown_task_duration", "target_duration"):
        return rng.choice(("1m", "10m", "3m", "40m", "2h", "30s"))
    if field == "tmpdir":
        return rng.choice(("/scratch", "/tmp/dask", "/local/scr"))
    if field == "project":
        return name(rng, "acct")
    if field == "partition":
        return rng.choice(("normal", "gpu", "short", name(rng, "p")))
    if field == "memory_per_core_property_name":
        return rng.choice(("mem_per_core", "memcore"))
    if field in ("job_extra_directives", "job_script_prologue"):
        items = ("--qos=normal", "--account=abc", "-C haswell", "--gres=gpu:1", "source ~/.bashrc", "module load x")
        return [rng.choice(items) for _ in range(rng.randint(1, 2))]
    if field == "extra_dask_config":
        return {rng.choice(("distributed.worker.memory.target", "x", "scheduler.work-stealing")):
                rng.choice((0.8, 1, "abc", True))}
    if field == "dask_resources":
        return {rng.choice(("GPU", "MEM", "R")): rng.randint(1, 4)}
    if field in ("workers", "cores", "maximum_jobs", "worker_threads", "processes"):
        return rng.randint(1, 16 if field in ("workers", "cores") else 8)
    if field == "job_cores":
        return rng.randint(1, 32)
    # generic, by kind
    if kind == "str":
        return name(rng)
    if kind == "int":
        return rng.randint(1, 8)
    if kind == "bool":
        return rng.choice((True, False))
    if kind == "float":
        return rng.choice((0.5, 1.0))
    if kind == "list":
        return [name(rng)]
    if kind == "dict":
        return {name(rng): name(rng)}
    return name(rng)


def _wrong_type(g: Gen, kind: str, value: Any) -> Any:
    """The same value, written with another YAML type (``cores: "4"``, ``tunnel: 1``, ``conda: 3``)."""
    if kind == "int":
        return str(value)
    if kind == "bool":
        return 1 if value else 0
    if kind == "str":
        return g.rng.choice((3, 1.5, True))
    return "x"


# ----------------------------------------------------------------------------- the generator


class Gen:
    # rates (per field, per command, per layout)
    P_OPTIONAL = 0.5  # an optional field is written
    P_SERVICE = 0.65  # an optional nested section (hashserver ...) is written
    P_NULL = 0.04  # an optional field written as an explicit null
    P_EMPTY = 0.06  # a string field written as "" (in the layouts that have empty strings at all)
    P_EMPTY_LAYOUT = 0.35  # the share of layouts with empty strings
    P_REQ_ABSENT_ACCEPTED = 0.3  # a required field left out where the probe found 0.3.2 fills it in
    P_REQ_ABSENT_OTHER_TYPES = 0.025  # ... the same field, for the cluster types where it does not
    P_REQ_ABSENT = 0.003  # any other required field left out
    P_NULL_SECTION = 0.002  # an optional nested section written as null (``hashserver: null``)

    def __init__(self, rng: random.Random, schema: dict) -> None:
        self.rng = rng
        self.s = schema
        self.triggers: list[str] = []  # informational: which deliberate-difference inputs were made
        # empty strings are concentrated in some layouts, so that the others show the rest
        self.p_empty = self.P_EMPTY if rng.random() < self.P_EMPTY_LAYOUT else 0.0
        # so are values of another type than the reference declares (``cores: "4"``)
        self.p_wrong_type = 0.03 if rng.random() < 0.08 else 0.0
        injected = {schema["top_class"]}
        for st in schema["structure"].values():
            injected.update(x for x in (st.get("named_mapping_of"), st.get("written_as")) if x)
        self.injected = injected  # classes whose ``name`` is the key they are written under

    def fields(self, cname: str) -> list[dict]:
        return [f for f in self.s["classes"][cname]["fields"] if not (f["name"] == "name" and cname in self.injected)]

    def trigger(self, t: str) -> None:
        if t not in self.triggers:
            self.triggers.append(t)

    # ---- values

    def value(self, cname: str, f: dict, ctx: dict) -> Any:
        t = f["type"]
        kind = t["kind"]
        rng = self.rng
        if kind == "literal":
            return rng.choice([v for v in t["values"] if v is not None])
        if kind == "union":
            kind = t["options"][0]["kind"]
        v = _pool(self, f["name"], kind, ctx)
        if kind == "str" and rng.random() < self.p_empty:
            return ""
        if f["name"] == "walltime" and isinstance(v, str) and re.fullmatch(r"\d+:\d\d:\d\d", v) and rng.random() < 0.25:
            self.trigger("yaml11_sexagesimal")
            return Raw(v)  # unquoted: YAML 1.1 reads a number
        return v

    def obj(self, cname: str, ctx: dict, skip: tuple[str, ...] = ()) -> dict:
        """A mapping for class ``cname``, every field decided from the schema."""
        rng = self.rng
        out: dict[str, Any] = {}
        flds = {f["name"]: f for f in self.fields(cname)}
        ports = "port_start" in flds and "port_end" in flds
        port_pair = None
        if ports:
            req = flds["port_start"]["required"]
            r = rng.random()
            if req:
                port_pair = "both" if r > 2 * self.P_REQ_ABSENT else rng.choice(("start", "end"))
            else:
                port_pair = "both" if r < self.P_OPTIONAL else ("none" if r < 0.99 else rng.choice(("start", "end")))
            base = rng.choice((5000, 6000, 7000, 8000, 9000, 60000))
            span = rng.choice((10, 100, 999)) if rng.random() > 0.003 else -5  # rarely: start above end
            ctx = {**ctx, "ports": (base, base + span)}
        for fname, f in flds.items():
            if fname in skip:
                continue
            key = f"{cname}.{fname}"
            t = f["type"]
            if ports and fname in ("port_start", "port_end"):
                if port_pair == "both" or port_pair == fname[5:]:
                    out[fname] = ctx["ports"][0 if fname == "port_start" else 1]
                continue
            if f["required"]:
                probe = self.s["probes"].get(key, {})
                if any(p.get("accepted") for p in probe.values()):
                    p_absent = self.P_REQ_ABSENT_ACCEPTED if probe.get(str(ctx.get("type")), {}).get("accepted") \
                        else self.P_REQ_ABSENT_OTHER_TYPES
                else:
                    p_absent = self.P_REQ_ABSENT
                if rng.random() < p_absent:
                    continue
            else:
                p_present = self.P_SERVICE if t["kind"] == "class" else self.P_OPTIONAL
                if rng.random() >= p_present:
                    continue
                if t.get("optional") and rng.random() < (self.P_NULL_SECTION if t["kind"] == "class" else self.P_NULL):
                    out[fname] = None
                    continue
            if t["kind"] == "class":
                out[fname] = self.obj(t["name"], ctx)
            else:
                out[fname] = self.value(cname, f, ctx)
                if t["kind"] in ("int", "bool", "str") and not isinstance(out[fname], Raw) \
                        and rng.random() < self.p_wrong_type:
                    out[fname] = _wrong_type(self, t["kind"], out[fname])
                    self.trigger("wrong_type")
        return out

    # ---- clusters

    def cluster(self, cname: str) -> tuple[dict, dict]:
        """(definition as written, summary {type, queues, hostnames})"""
        rng = self.rng
        top = self.s["top_class"]
        st = self.s["structure"]
        flds = {f["name"]: f for f in self.fields(top)}
        ctype = None
        ctx: dict[str, Any] = {"cluster": cname}
        d: dict[str, Any] = {}
        summary: dict[str, Any] = {"type": None, "queues": [], "hostnames": [], "services": set()}
        # the cluster type first: what a frontend may leave out depends on it (see the probes)
        order = sorted(flds, key=lambda n: 0 if flds[n]["type"]["kind"] == "literal" else 1)
        for fname in order:
            f = flds[fname]
            key = f"{top}.{fname}"
            t = f["type"]
            if fname == "type":
                if rng.random() < 0.88:
                    ctype = rng.choice([v for v in t["values"] if v is not None])
                    d["type"] = ctype
                elif rng.random() < 0.1:
                    d["type"] = None
                ctx["type"] = ctype
                summary["type"] = ctype
            elif key in st and "list_of" in st[key]:
                if f["required"] and rng.random() < self.P_REQ_ABSENT:
                    continue
                items = []
                for _ in range(rng.choice((1, 1, 1, 2, 3))):
                    fe = self.obj(st[key]["list_of"], ctx)
                    if not any(isinstance(v, dict) for v in fe.values()):  # at least one service, mostly
                        if rng.random() < 0.9:
                            svc = [ff for ff in self.fields(st[key]["list_of"]) if ff["type"]["kind"] == "class"]
                            if svc:
                                sf = rng.choice(svc)
                                fe[sf["name"]] = self.obj(sf["type"]["name"], ctx)
                    if items and "hostname" in fe and rng.random() < 0.15:
                        fe["hostname"] = rng.choice([i.get("hostname") for i in items if i.get("hostname")] or [fe["hostname"]])
                    items.append(fe)
                    summary["hostnames"].append(fe.get("hostname", "localhost"))
                    summary["services"].update(k for k, v in fe.items() if isinstance(v, dict))
                d[fname] = items
            elif key in st and "named_mapping_of" in st[key]:
                if rng.random() < 0.85:
                    d[fname] = self.queues(st[key], ctx)
                    summary["queues"] = list(d[fname])
            elif fname == "default_queue":
                pass  # after queues
            else:
                if f["required"] and rng.random() >= self.P_REQ_ABSENT:
                    d[fname] = self.value(top, f, ctx)
                elif not f["required"] and rng.random() < (0.8 if fname == "workers" else self.P_OPTIONAL):
                    d[fname] = None if (t.get("optional") and rng.random() < self.P_NULL) else self.value(top, f, ctx)
                if d.get(fname) is not None and t["kind"] in ("int", "bool", "str") and rng.random() < self.p_wrong_type:
                    d[fname] = _wrong_type(self, t["kind"], d[fname])
                    self.trigger("wrong_type")
        if "default_queue" in flds:
            qs = summary["queues"]
            r = rng.random()
            if qs and r < 0.75:
                d["default_queue"] = rng.choice(qs)
            elif r < (0.8 if qs else 0.03):
                d["default_queue"] = "" if rng.random() < 0.5 else name(rng, "nq")
                self.trigger("default_queue_unknown")
        # the YAML order: the schema's order (shuffled sometimes)
        items = sorted(d.items(), key=lambda kv: list(flds).index(kv[0]) if kv[0] in flds else 99)
        if rng.random() < 0.3:
            rng.shuffle(items)
        return dict(items), summary

    def queues(self, st: dict, ctx: dict) -> dict:
        rng = self.rng
        written_cls = st["written_as"]
        resolved_cls = st["named_mapping_of"]
        w_fields = {f["name"]: f for f in self.fields(written_cls)}
        only_resolved = [f for f in self.fields(resolved_cls) if f["name"] not in w_fields]
        written: dict[str, dict] = {}
        resolved: dict[str, dict] = {}
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            qn = name(rng, "q")
            if qn in written:
                continue
            own: dict[str, Any] = {}
            for fname, f in w_fields.items():
                if fname == "TEMPLATE":
                    if written and rng.random() < 0.4:
                        r = rng.random()
                        own["TEMPLATE"] = rng.choice(list(written)) if r < 0.97 else (name(rng, "nq") if r < 0.99 else "")
                    continue
                p = 0.25 if "TEMPLATE" in own else 0.4
                if fname == "cores":
                    p = 0.6
                if rng.random() < p:
                    own[fname] = None if rng.random() < self.P_NULL else self.value(written_cls, f, ctx)
            for f in only_resolved:  # written but not read by 0.3.2's queue parser
                if rng.random() < 0.006:
                    own[f["name"]] = self.value(resolved_cls, f, ctx)
                    self.trigger("job_script_prologue")
            if "TEMPLATE" in own and own["TEMPLATE"] in resolved:
                for f in list(resolved[own["TEMPLATE"]]):
                    if f not in own and f not in ("cores", "exclusive") and rng.random() < 0.15:
                        own[f] = None  # an explicit null unsets the template's value
            q = _resolve_queue(own, resolved)
            if not _queue_ok(q, ctx.get("type")) and rng.random() < 0.92:
                if q.get("exclusive") and q.get("job_cores") is not None:
                    own["job_cores"] = None
                q = _resolve_queue(own, resolved)
                if not _queue_ok(q, ctx.get("type")):
                    own["cores"] = rng.randint(1, 16)
                q = _resolve_queue(own, resolved)
            if rng.random() < 0.3:  # hyphenated spellings (0.3.2 reads k.replace("-", "_"))
                own = {(k.replace("_", "-") if k in ("unknown_task_duration", "target_duration", "lifetime_stagger")
                        else k): v for k, v in own.items()}
            written[qn] = own
            resolved[qn] = q
        return written


def _resolve_queue(own: dict, queues: dict[str, dict]) -> dict:
    base = dict(queues.get(own.get("TEMPLATE"), {})) if own.get("TEMPLATE") else {}
    for k, v in own.items():
        if k != "TEMPLATE":
            base[k.replace("-", "_")] = v
    return {k: v for k, v in base.items() if v is not None}


def _queue_ok(q: dict, ctype: str | None) -> bool:
    excl = bool(q.get("exclusive"))
    if excl and q.get("job_cores") is not None:
        return False
    if not excl and q.get("cores") is None and ctype != "local":
        return False
    if ctype == "local" and excl and q.get("cores") is None:
        return False
    return True


# ----------------------------------------------------------------------------- commands


class Sim:
    """The selection while the command sequence is generated (execution order)."""

    def __init__(self, clusters: dict[str, dict]) -> None:
        self.clusters = clusters
        self.cluster: str | None = None


def command_value(g: Gen, cmd: str, sim: Sim | None) -> Any:
    """A value for one command of the reference's command table (mostly valid, sometimes not)."""
    rng = g.rng
    sel = g.s["select"]
    if cmd == "cluster":
        if sim is None or not sim.clusters or rng.random() < 0.05:
            return None
        return rng.choice(sorted(sim.clusters))
    if cmd == "execution":
        return rng.choice(sel["execution_modes"]) if rng.random() > 0.02 else "local"
    if cmd == "remote":
        return rng.choice(sel["remote_targets"]) if rng.random() > 0.02 else "dask"
    if cmd in ("persistent", "record"):
        if rng.random() < 0.03:
            g.trigger("yaml11_bool")
            return Raw(rng.choice(("yes", "no", "on", "off", "True")))
        return rng.choice((True, False))
    if cmd == "project":
        r = rng.random()
        return "" if r < 0.04 else name(rng)
    if cmd == "subproject":
        return "" if rng.random() < 0.04 else subproject(rng)
    if cmd == "nparallel":
        return rng.randint(1, 64) if rng.random() > 0.02 else 0
    if cmd == "node":
        r = rng.random()
        return None if r < 0.3 else ("" if r < 0.34 else name(rng, "n"))
    if cmd == "queue":
        if sim is not None and sim.cluster in sim.clusters and sim.clusters[sim.cluster]["queues"] \
                and rng.random() < 0.95:
            return rng.choice(sim.clusters[sim.cluster]["queues"])
        return name(rng, "q")
    return name(rng)


def simple_command(g: Gen) -> dict:
    """A command valid anywhere (also in inactive stage blocks)."""
    kinds = [k for k, v in g.s["commands"]["specs"].items() if not v["priority"] and k not in ("cluster", "queue")]
    k = g.rng.choice(kinds)
    return {k: command_value(g, k, None)}


def command(g: Gen, sim: Sim) -> Any:
    rng = g.rng
    r = rng.random()
    if r < 0.2 and sim.clusters:
        c = rng.choice(sorted(sim.clusters))
        sim.cluster = c
        return {"cluster": c}
    if r < 0.22 and sim.cluster is not None:
        sim.cluster = None
        return Bare("cluster") if rng.random() < 0.5 else {"cluster": None}
    if r < 0.36 and sim.cluster in sim.clusters and sim.clusters[sim.cluster]["queues"]:
        return {"queue": command_value(g, "queue", sim)}
    return simple_command(g)


# ----------------------------------------------------------------------------- layouts


DIRS = ("", "l1", "l1/l2", "l1/l2/l3")


def ghost_name(rng: random.Random) -> str:
    return name(rng, "ghost", rng.randint(2, 4))


def generate(seed: int, schema: dict | None = None) -> dict:
    schema = schema or load_schema()
    rng = random.Random(seed)
    g = Gen(rng, schema)
    layout: dict[str, Any] = {"seed": seed, "home_files": {}, "project_files": {}}

    # --- home cluster files ---------------------------------------------------------
    names_pool = sorted({name(rng, "c", rng.randint(2, 6)) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))})
    if rng.random() < 0.02:
        names_pool.append(rng.choice(("my cluster", "c@lab", "c;x")))
        g.trigger("exotic_name")
    summaries: dict[str, dict] = {}
    main_map: dict[str, Any] = {}
    dir_maps: dict[str, dict] = {}
    for cn in names_pool:
        where = rng.random()
        if where < 0.55:
            main_map[cn] = None
        else:
            dir_maps.setdefault(rng.choice(("a.yaml", "b.yaml", "site.yaml")), {})[cn] = None
        if rng.random() < 0.12 and where < 0.55:  # the same cluster again in a directory file (overrides)
            dir_maps.setdefault(rng.choice(("a.yaml", "z.yaml")), {})[cn] = None
    ordered_files = [("clusters.yaml", main_map)] + [(f, dir_maps[f]) for f in sorted(dir_maps)]
    for _fname, mapping in ordered_files:
        for cn in mapping:
            d, summary = g.cluster(cn)
            mapping[cn] = d
            summaries[cn] = summary
    local_cluster = None
    if rng.random() < 0.25:
        _, mapping = rng.choice([fm for fm in ordered_files if fm[1]])
        local_cluster = rng.choice(list(mapping))
        mapping["local_cluster"] = local_cluster
    for fname, mapping in ordered_files:
        if not mapping:
            continue
        rel = ".seamless/clusters.yaml" if fname == "clusters.yaml" else f".seamless/clusters/{fname}"
        if rng.random() < 0.02 and len(mapping) >= 1:  # a duplicate key (YAML keeps the last)
            cn = next(iter(mapping))
            if isinstance(mapping[cn], dict):
                mapping[cn] = Dup({"frontends": [{"hostname": "old"}]}, mapping[cn])
                g.trigger("duplicate_key")
        layout["home_files"][rel] = yaml_text(mapping, rng)

    # --- stages --------------------------------------------------------------------------
    stage = rng.choice((None, None, "prod", "dev", "s1"))
    substage = rng.choice(SUBSTAGES) if stage is not None and rng.random() < 0.4 else None
    if stage is None and rng.random() < 0.05:
        substage = "orphan"

    # --- inline clusters (executed first, wherever they are) ---------------------------
    inline: list[dict] = []
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        cn = rng.choice(names_pool) if rng.random() < 0.3 else name(rng, "i", rng.randint(2, 5))
        if any(cn in m for m in inline):
            continue
        d, summary = g.cluster(cn)
        inline.append({cn: d})
        summaries[cn] = summary
    if inline and rng.random() < 0.15:
        m = rng.choice(inline)
        m["local_cluster"] = next(iter(m))

    # --- the command sequence, in execution order ---------------------------------------
    sim = Sim(summaries)
    units: list[Any] = []  # a command, or ("block", [commands]) for a block of the layout's stage
    if rng.random() < 0.9 and summaries:
        sim.cluster = rng.choice(sorted(summaries))
        units.append({"cluster": sim.cluster})
    if rng.random() < 0.9:
        units.insert(rng.randint(0, len(units)), {"project": command_value(g, "project", sim)})
    for _ in range(rng.randint(2, 9)):
        if stage is not None and rng.random() < 0.15:
            units.append(("block", [command(g, sim) for _ in range(rng.randint(1, 3))]))
        else:
            units.append(command(g, sim))
    # a cluster this machine lacks, overridden by a later `- cluster:` (only the final one must exist)
    last_cluster = max((i for i, u in enumerate(units) if isinstance(u, dict) and "cluster" in u), default=None)
    if last_cluster is not None and rng.random() < 0.3:
        pos = rng.randint(0, last_cluster)
        ghost = {"cluster": ghost_name(rng)}
        units.insert(pos, ("block", [ghost]) if stage is not None and rng.random() < 0.3 else ghost)
    elif rng.random() < 0.03:
        units.append({"cluster": ghost_name(rng)})  # finally selected: 0.3.2 fails later, we at the load
        g.trigger("unknown_final_cluster")
    if rng.random() < 0.015:  # a command 0.3.2 does not know (both refuse the load)
        units.insert(rng.randint(0, len(units)), {name(rng, "cmd"): name(rng)})
    for m in inline:
        pos = rng.randint(0, len(units))
        units.insert(pos, ("block", [{"clusters": m}]) if stage is not None and rng.random() < 0.2 else {"clusters": m})

    # --- cut into the files of the inheritance chain ------------------------------------
    depth = rng.choice((0, 0, 1, 1, 2, 3))
    top = rng.randint(0, depth)
    chain = list(range(top, depth + 1))
    slots = [(DIRS[d], f) for d in chain for f in schema["commands"]["config_filenames"]]
    cuts = sorted(rng.randint(0, len(units)) for _ in range(len(slots) - 1))
    bounds = [0, *cuts, len(units)]
    files: dict[str, list] = {}
    for i, (d, f) in enumerate(slots):
        chunk = units[bounds[i]:bounds[i + 1]]
        if chunk:
            files[(d + "/" if d else "") + f] = list(chunk)
    inherit = schema["commands"]["inherit"]
    for d in chain[1:]:
        prefix = DIRS[d] + "/"
        cands = [p for p in files if p.startswith(prefix) and p.count("/") == prefix.count("/")]
        target = rng.choice(cands) if cands and rng.random() < 0.8 else prefix + rng.choice(schema["commands"]["config_filenames"])
        lst = files.setdefault(target, [])
        flag: Any = Bare(inherit) if rng.random() < 0.8 else {inherit: True}
        lst.insert(rng.randint(0, len(lst)), flag)
    if top > 0 and rng.random() < 0.7:  # a decoy above the top: not read
        files[(DIRS[top - 1] + "/" if DIRS[top - 1] else "") + "seamless.yaml"] = [{"project": "decoy"}, {"record": True}]
    # blocks of other stages (maybe activated by a later set_stage)
    prefix = schema["commands"]["stage_prefix"]
    for _ in range(rng.choice((0, 0, 1, 2))):
        other = rng.choice([s for s in STAGES if s != stage])
        target = rng.choice(sorted(files)) if files else "seamless.yaml"
        lst = files.setdefault(target, [])
        block = [simple_command(g) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.1 and summaries:
            block.append({"cluster": rng.choice(sorted(summaries)) if rng.random() < 0.7 else ghost_name(rng)})
        if rng.random() < 0.04:
            block.append({"execution": 12} if rng.random() < 0.5 else {name(rng, "typo"): 1})
            g.trigger("inactive_block_invalid")
        key = f"{prefix} {other}"
        if rng.random() < 0.01:
            key = f"{prefix}{other}"
            g.trigger("stage_key_without_space")
        lst.insert(rng.randint(0, len(lst)), {key: block})
    for path, lst in files.items():
        out = []
        for u in lst:
            out.append({f"{prefix} {stage}": u[1]} if isinstance(u, tuple) else u)
        layout["project_files"][path] = yaml_text(out, rng)
    layout["workdir"] = DIRS[depth] or "."

    # --- the API sequence --------------------------------------------------------------
    known = sorted(summaries)
    cache_at_start = rng.random() < 0.08
    if cache_at_start:
        layout["env"] = {"SEAMLESS_CACHE": rng.choice(("$HOME/cache", "relcache", "$PROJ/cache/", "~/c2"))}
    layout["ops"] = gen_ops(g, stage, substage, known, summaries)
    layout["calls"] = gen_calls(g, summaries)
    layout["resolve"] = gen_resolve(g, summaries, sim.cluster, cache_at_start)
    layout["triggers"] = list(g.triggers)
    return layout


def _select_op(g: Gen, known: list[str], summaries: dict, stage: str | None, substage: str | None) -> dict:
    rng = g.rng
    sel = g.s["select"]
    fns = sorted(f for f in sel["functions"] if f.startswith("select_"))
    fn = rng.choice(fns)
    what = fn[len("select_"):]
    r = rng.random()
    if what == "cluster":
        arg: Any = rng.choice(known) if known and r < 0.75 else (None if r < 0.9 else ghost_name(rng))
    elif what == "project":
        arg = name(rng) if r < 0.9 else ("" if r < 0.95 else "bad--name")
    elif what == "subproject":
        arg = subproject(rng) if r < 0.7 else (None if r < 0.9 else "")
    elif what == "stage":
        arg = stage if r < 0.5 else (rng.choice(STAGES) if r < 0.85 else None)
    elif what == "substage":
        arg = substage if r < 0.4 else (rng.choice(SUBSTAGES) if r < 0.8 else None)
    elif what == "execution":
        arg = rng.choice(sel["execution_modes"]) if r < 0.95 else "local"
    elif what in ("persistent", "record"):
        arg = rng.choice((True, False)) if r < 0.95 else "yes"
    elif what == "queue":
        qs = [q for c in known for q in summaries[c]["queues"]]
        arg = rng.choice(qs) if qs and r < 0.85 else name(rng, "q")
    elif what == "remote":
        arg = rng.choice(sel["remote_targets"]) if r < 0.95 else "dask"
    elif what == "node":
        arg = name(rng, "n") if r < 0.6 else (None if r < 0.85 else rng.choice(("", "  ")))
    elif what == "nparallel":
        arg = rng.randint(1, 32) if r < 0.9 else rng.choice((0, -1, True))
    else:
        arg = name(rng)
    return {"op": "select", "fn": fn, "args": [arg]}


def gen_ops(g: Gen, stage: str | None, substage: str | None, known: list[str], summaries: dict) -> list[dict]:
    rng = g.rng
    ops: list[dict] = []
    r = rng.random()
    if r < 0.3:  # what the runtime's loader does: select the stage, read the files
        if stage is not None:
            ops.append({"op": "select", "fn": "select_stage", "args": [stage]})
        if substage is not None:
            ops.append({"op": "select", "fn": "select_substage", "args": [substage]})
        ops.append({"op": "load"})
    elif r < 0.5:  # what a script does
        if stage is None and substage is None and rng.random() < 0.5:
            ops.append({"op": "init"})
        else:
            ops.append({"op": "set_stage", "args": [stage, substage]})
        if rng.random() < 0.3:
            ops.append({"op": "set_substage", "args": [rng.choice((None, *SUBSTAGES))]})
    else:  # interleaved
        kinds = ["select"] * 8 + ["load"] * 5 + ["set_stage"] * 3 + ["init"] + ["set_substage"] + ["env"] + ["launch"]
        for _ in range(rng.randint(2, 7)):
            k = rng.choice(kinds)
            if k == "select":
                ops.append(_select_op(g, known, summaries, stage, substage))
            elif k == "set_stage":
                st = stage if rng.random() < 0.6 else rng.choice((None, *STAGES))
                ops.append({"op": "set_stage", "args": [st, substage if rng.random() < 0.5 else None]})
            elif k == "set_substage":
                ops.append({"op": "set_substage", "args": [rng.choice((None, *SUBSTAGES))]})
            elif k == "env":
                ops.append({"op": "env", "name": "SEAMLESS_CACHE",
                            "value": rng.choice(("$HOME/cache", "$PROJ/cache", "relcache", "", None))})
            elif k == "launch":
                ops.append({"op": "launch"})
            else:
                ops.append({"op": k})
        if not any(o["op"] in ("load", "set_stage", "init", "set_substage") for o in ops):
            ops.insert(rng.randint(0, len(ops)), {"op": "load"})
    if rng.random() < 0.06:  # SEAMLESS_CACHE switched on after a load, then read again
        pos = rng.randint(0, len(ops))
        ops[pos:pos] = [{"op": "env", "name": "SEAMLESS_CACHE", "value": rng.choice(("$HOME/cache", "~/c3"))},
                        {"op": rng.choice(("load", "set_stage")), **({"args": [stage, None]} if rng.random() < 0.5 else {})}]
        for o in ops[pos:pos + 2]:
            if o["op"] == "set_stage":
                o.setdefault("args", [stage, None])
    return ops


def gen_calls(g: Gen, summaries: dict) -> list[dict]:
    from dump_common import DEFAULT_CALLS  # noqa: PLC0415

    rng = g.rng
    calls = [dict(c) for c in DEFAULT_CALLS]
    calls.append({"name": "pure_daskserver", "fn": "pure_daskserver", "each_queue": True})
    tools = sorted(f[len("configure_"):] for f in g.s["tools"]["functions"])
    for i in range(rng.choice((0, 1, 2, 3))):
        fn = rng.choice(tools)
        params = {p["name"]: p for p in g.s["tools"]["functions"]["configure_" + fn]["params"]}
        kw: dict[str, Any] = {}
        args: list[Any] = []
        cl = None
        if "cluster" in params and rng.random() < 0.5 and summaries:
            cl = rng.choice(sorted(summaries)) if rng.random() < 0.9 else ghost_name(rng)
            kw["cluster"] = cl
        target = summaries.get(cl) if cl else None
        for pname in ("project", "subproject", "stage", "substage"):
            if pname in params and rng.random() < 0.4:
                v = {"project": lambda: name(rng), "subproject": lambda: subproject(rng),
                     "stage": lambda: rng.choice(STAGES), "substage": lambda: rng.choice(("x", "gpu"))}[pname]()
                kw[pname] = "" if rng.random() < 0.1 else v
        if "queue" in params and rng.random() < 0.7:
            qs = target["queues"] if target else [q for s in summaries.values() for q in s["queues"]]
            kw["queue"] = rng.choice(qs) if qs and rng.random() < 0.9 else name(rng, "q")
        if "frontend_name" in params and rng.random() < 0.3:
            hosts = target["hostnames"] if target else [h for s in summaries.values() for h in s["hostnames"]]
            kw["frontend_name"] = rng.choice(hosts + ["nosuchhost"])
        if "mode" in params:
            args.append(rng.choice(("rw", "ro")) if rng.random() < 0.97 else "rx")
        calls.append({"name": f"extra{i}:{fn}", "fn": fn, "args": args, "kwargs": kw})
    return calls


def gen_resolve(g: Gen, summaries: dict, selected: str | None, cache: bool) -> list[list[str]]:
    rng = g.rng
    if cache:
        return [["--service", s, "--workdir", "$WORKDIR"] for s in ("hashserver", "database") if rng.random() < 0.7]
    out = []
    services = ("hashserver", "database", "jobserver", "daskserver", "pure-daskserver")
    for _ in range(rng.choice((0, 1, 1, 2))):
        service = rng.choice(services)
        argv = ["--service", service]
        if rng.random() < 0.85:
            argv += ["--workdir", rng.choice(("$WORKDIR", "."))]
        if rng.random() < 0.3 and summaries:
            argv += ["--cluster", rng.choice(sorted(summaries))]
        if rng.random() < 0.3:
            argv += ["--project", name(rng)]
        if rng.random() < 0.3:
            argv += ["--subproject", subproject(rng)]
        if rng.random() < 0.4:
            argv += ["--stage", rng.choice(STAGES)]
            if rng.random() < 0.4:
                argv += ["--substage", rng.choice(("gpu", "b"))]
        if service in ("hashserver", "database") and rng.random() < 0.4:
            argv += ["--mode", rng.choice(("ro", "rw"))]
        target = argv[argv.index("--cluster") + 1] if "--cluster" in argv else selected
        if service in ("daskserver", "pure-daskserver") and target in summaries and summaries[target]["queues"] \
                and rng.random() < 0.4:
            argv += ["--queue", rng.choice(summaries[target]["queues"])]
        if target in summaries and summaries[target]["hostnames"] and rng.random() < 0.2:
            argv += ["--frontend-name", rng.choice(summaries[target]["hostnames"])]
        out.append(argv)
    return out


# ----------------------------------------------------------------------------- fixed examples

_LOCAL = """loc:
  type: local
  workers: 3
  frontends:
    - hashserver:
        bufferdir: /data/loc/buffers
        conda: ""
      database:
        database_dir: /data/loc/db
      jobserver:
        conda: ""
        network_interface: 127.0.0.1
        port_start: 5100
        port_end: 5199
  queues:
    q1:
      cores: 2
  default_queue: q1
local_cluster: loc
"""


def examples() -> list[dict]:
    """Hand-written layouts of what real configurations do and the older, schema-driven
    generator never made (COMPAT.md): each must agree with 0.3.2 (``tests/test_differential.py``)."""
    def lay(name: str, project: str, ops: list[dict], env: dict | None = None) -> dict:
        out: dict[str, Any] = {"seed": f"example:{name}", "home_files": {".seamless/clusters.yaml": _LOCAL},
                               "project_files": {"seamless.yaml": project}, "workdir": ".", "ops": ops,
                               "calls": None, "resolve": [["--service", "hashserver", "--workdir", "$WORKDIR"]]}
        if env:
            out["env"] = env
        return out

    return [
        lay("local frontend without hostname", "- project: p\n- cluster: loc\n", [{"op": "load"}]),
        lay('conda: "" kept', "- project: p\n- cluster: loc\n- execution: remote\n", [{"op": "load"}]),
        lay("unknown cluster overridden by a later command", "- project: p\n- cluster: elsewhere\n- cluster: loc\n",
            [{"op": "load"}]),
        lay("persistent: true without a cluster (init refuses)", "- project: p\n- persistent: true\n- execution: process\n",
            [{"op": "init"}]),
        lay("SEAMLESS_CACHE switched on after a load", "- project: p\n- cluster: loc\n",
            [{"op": "load"}, {"op": "env", "name": "SEAMLESS_CACHE", "value": "$HOME/cache"}, {"op": "load"},
             {"op": "launch"}]),
        lay("execution: spawn with cluster: null", "- project: p\n- cluster: loc\n- cluster\n- execution: spawn\n",
            [{"op": "init"}]),
    ]


def generate_many(count: int, seed0: int = 0, schema: dict | None = None) -> list[dict]:
    schema = schema or load_schema()
    return [generate(seed0 + i, schema) for i in range(count)]


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    s0 = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for lay in generate_many(n, s0):
        print(json.dumps(lay))
