#!/usr/bin/env python
"""Differential check: our implementation against the reference seamless-config 0.3.2.

    python tests/oracle/run_differential.py [--count 300] [--seed 0] [--out mismatches.json] [--jobs N]

Generates ``--count`` layouts (``layouts.py``, whose input space is introspected
from the reference by ``ref_schema.py``), dumps each with the reference
(``ref_dump.py``, run by ``$SEAMLESS_ORACLE_PYTHON``, default
``.venv-oracle/bin/python`` of the repository) and with ours (``our_dump.py``, run by
``$SEAMLESS_OUR_PYTHON``, default: this interpreter if it imports our package,
else the repository's ``.venv/bin/python``), and compares them:

* after every operation of the layout's API sequence (``select_*``, loads,
  ``set_stage``/``set_substage``/``init``, ``SEAMLESS_CACHE`` changes): whether it
  was refused (and, for ``select_*``, whether the refusal is a ``ValueError`` on
  both sides), the selection getters, and what ``init``/``set_stage`` would
  activate (services, spawned workers) whenever 0.3.2 activates;
* ``get_cluster()`` of the selected cluster at the end;
* every launch dict field by field, ``key`` and ``command`` after evaluation by
  remote-http-launcher (raw ``key``/``command`` differ on purpose: ours hold no
  code), plus the key order; on our side only: no template code in
  ``key``/``command``, and the ``meta`` block;
* ``seamless-service-resolve`` output for the resolve invocations of a layout.

Errors are compared by presence only (our messages differ on purpose). Each
difference is then either explained by an entry of the known-difference table
(``known_differences.py``, the rows of docs/differences.md) or left unexplained.
A layout *agrees* when there is no difference at all; differences explained by
the table are reported per entry, never as agreement. Unexplained differences
are grouped by the signature of each layout's first unexplained difference
(where, which side refused, the error), with the smallest layout of each group.

Exit code 0 when no difference is unexplained, 1 otherwise, 2 when the oracle is missing.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import known_differences  # noqa: E402
import layouts as layout_gen  # noqa: E402

oracle_python = layout_gen.oracle_python


def our_python() -> str:
    explicit = os.environ.get("SEAMLESS_OUR_PYTHON")
    if explicit:
        return explicit
    import importlib.util

    spec = importlib.util.find_spec("seamless_config")
    if spec is not None and spec.origin and os.path.abspath(spec.origin).startswith(REPO + os.sep):
        return sys.executable
    venv = os.path.join(REPO, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def oracle_available(python: str | None = None) -> tuple[bool, str]:
    python = python or oracle_python()
    if not os.path.exists(python):
        return False, f"oracle python {python} does not exist (set SEAMLESS_ORACLE_PYTHON, or create it: " \
                      f"python3 -m venv .venv-oracle && .venv-oracle/bin/pip install seamless-config==0.3.2)"
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m, remote_http_launcher; print(m.version('seamless-config'))"],
        capture_output=True, text=True, cwd=tempfile.gettempdir(), env=_clean_env(),
    )
    if probe.returncode != 0 or probe.stdout.strip() != "0.3.2":
        return False, f"{python} has no seamless-config 0.3.2 + remote-http-launcher: {probe.stdout.strip()} {probe.stderr.strip()[-300:]}"
    return True, ""


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "SEAMLESS_CACHE", "VIRTUAL_ENV"):
        env.pop(k, None)
    return env


# ----------------------------------------------------------------------------- running


def _run_side(python: str, script: str, layouts: list[dict], jobs: int, workdir: str, tag: str) -> list[dict]:
    """Run a dumper over ``layouts`` in ``jobs`` parallel processes; results in layout order."""
    chunks = [layouts[i::jobs] for i in range(jobs)]
    procs = []
    for i, chunk in enumerate(chunks):
        if not chunk:
            continue
        src = os.path.join(workdir, f"{tag}-in-{i}.jsonl")
        dst = os.path.join(workdir, f"{tag}-out-{i}.jsonl")
        with open(src, "w") as f:
            for lay in chunk:
                f.write(json.dumps(lay) + "\n")
        p = subprocess.Popen([python, os.path.join(HERE, script), src, dst], cwd=workdir, env=_clean_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append((i, p, dst, len(chunk)))
    return procs  # type: ignore[return-value]


def _collect(procs, count: int, jobs: int, tag: str) -> list[dict]:
    results: list[Any] = [None] * count
    for i, p, dst, n in procs:
        out, errtext = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"{tag} dumper failed (rc {p.returncode}):\n{errtext[-3000:]}")
        with open(dst) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if len(lines) != n:
            raise RuntimeError(f"{tag} dumper wrote {len(lines)} results for {n} layouts:\n{errtext[-3000:]}")
        for j, res in enumerate(lines):
            results[i + j * jobs] = res
    return results


def run_both(layouts: list[dict], jobs: int | None = None) -> tuple[list[dict], list[dict]]:
    jobs = jobs or max(1, (os.cpu_count() or 2) // 2)
    with tempfile.TemporaryDirectory(prefix="sc-differential-") as workdir:
        ref_procs = _run_side(oracle_python(), "ref_dump.py", layouts, jobs, workdir, "ref")
        our_procs = _run_side(our_python(), "our_dump.py", layouts, jobs, workdir, "ours")
        ref = _collect(ref_procs, len(layouts), jobs, "reference")
        ours = _collect(our_procs, len(layouts), jobs, "ours")
    return ref, ours


# ----------------------------------------------------------------------------- comparing

LOAD_OPS = known_differences.LOAD_OPS


def deep_diff(a: Any, b: Any, path: str, out: list[dict], **extra: Any) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a:
                out.append({"where": f"{path}.{k}", "ref": "<absent>", "ours": b[k], "shape": "value", **extra})
            elif k not in b:
                out.append({"where": f"{path}.{k}", "ref": a[k], "ours": "<absent>", "shape": "value", **extra})
            else:
                deep_diff(a[k], b[k], f"{path}.{k}", out, **extra)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            deep_diff(x, y, f"{path}[{i}]", out, **extra)
        return
    if a != b or type(a) is not type(b):
        out.append({"where": path, "ref": a, "ours": b, "shape": "value", **extra})


def _is_err(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"error"}


def _cmp_value(r: Any, o: Any, path: str, diffs: list[dict], **extra: Any) -> None:
    if _is_err(r) and _is_err(o):
        return
    if _is_err(r) or _is_err(o):
        diffs.append({"where": path, "ref": r, "ours": o, "shape": "ours_refuses" if _is_err(o) else "ref_refuses", **extra})
        return
    deep_diff(r, o, path, diffs, **extra)


def kind_of(call_name: str) -> str:
    call_name = re.sub(r"\[.*\]$", "[*]", call_name)
    return re.sub(r"^extra\d+:", "extra:", call_name)


def _cmp_launch(rl: dict, ol: dict, prefix: str, diffs: list[dict], kinds: dict[str, str] | None, **extra: Any) -> None:
    for name in list(rl) + [n for n in ol if n not in rl]:
        r, o = rl.get(name), ol.get(name)
        before = len(diffs)
        where = f"{prefix}.{name}"
        if r is None or o is None:
            diffs.append({"where": where, "ref": r if r is not None else "<not called>",
                          "ours": o if o is not None else "<not called>", "shape": "value", **extra})
        elif _is_err(r) and _is_err(o):
            if kinds is not None:
                kinds[name] = "both_error"
            continue
        elif _is_err(r) or _is_err(o):
            diffs.append({"where": where, "ref": r if _is_err(r) else "<ok>", "ours": o if _is_err(o) else "<ok>",
                          "shape": "ours_refuses" if _is_err(o) else "ref_refuses", **extra})
        else:
            rdict = dict(r["dict"])
            odict = dict(o["dict"])
            for k in ("key", "command"):
                rdict.pop(k, None)
                odict.pop(k, None)
            deep_diff(rdict, odict, f"{where}.dict", diffs, **extra)
            for k in ("evaluated_key", "evaluated_command", "evaluation_error"):
                if r.get(k) != o.get(k):
                    diffs.append({"where": f"{where}.{k}", "ref": r.get(k), "ours": o.get(k), "shape": "value",
                                  "ours_raw": o["dict"].get(k.replace("evaluated_", "")), **extra})
            if r.get("key_order") != o.get("key_order") and not any(d["where"].startswith(f"{where}.dict") for d in diffs[before:]):
                diffs.append({"where": f"{where}.key_order", "ref": r.get("key_order"), "ours": o.get("key_order"),
                              "shape": "value", **extra})
            for k in ("template_problems", "meta_problems"):
                if o.get(k):
                    diffs.append({"where": f"{where}.{k}", "ref": None, "ours": o[k], "shape": "value", **extra})
        if kinds is not None:
            kinds[name] = "ok" if len(diffs) == before else "mismatch"


def compare(ref: dict, ours: dict) -> tuple[list[dict], dict[str, str]]:
    """(differences in execution order, per-launch-dict outcome: 'ok' | 'both_error' | 'mismatch')

    Each difference: ``where``, ``ref``, ``ours``, ``shape`` (``ours_refuses``, ``ref_refuses``,
    ``value``, ``error_type``), ``seq`` (index of the operation, or the number of operations
    for the final dump), ``op`` (its label), ``resolve`` (a resolve invocation), and for
    differences after a load both sides refused, ``after_both_refused``.
    """
    diffs: list[dict] = []
    kinds: dict[str, str] = {}
    for side, rec in (("ref", ref), ("ours", ours)):
        if "crash" in rec.get("dump", {}):
            diffs.append({"where": f"{side}.crash", "ref": rec["dump"] if side == "ref" else None,
                          "ours": rec["dump"] if side == "ours" else None, "shape": "crash", "seq": -1, "op": None})
    if diffs:
        return diffs, kinds
    rd, od = ref["dump"], ours["dump"]
    if (rd.get("set_workdir") is None) != (od.get("set_workdir") is None):
        diffs.append({"where": "set_workdir", "ref": rd.get("set_workdir"), "ours": od.get("set_workdir"),
                      "shape": "ours_refuses" if od.get("set_workdir") else "ref_refuses", "seq": -1, "op": None})
    both_refused = False
    rops, oops = rd.get("ops", []), od.get("ops", [])
    for i, (ro, oo) in enumerate(zip(rops, oops, strict=False)):
        label = ro["op"]
        prefix = f"op[{i}:{label}]"
        re_, oe_ = ro["error"], oo["error"]
        rphase = "read" if label == "load" else ro.get("error_phase")
        ophase = "read" if label == "load" else oo.get("error_phase")
        if re_ is not None and oe_ is not None and label in LOAD_OPS and rphase == "read":
            both_refused = True
        extra = {"seq": i, "op": label, "ref_sel": ro["selection"], "after_both_refused": both_refused}
        if (re_ is None) != (oe_ is None):
            diffs.append({"where": f"{prefix}.error", "ref": re_ or "<ok>", "ours": oe_ or "<ok>",
                          "shape": "ours_refuses" if oe_ else "ref_refuses", **extra})
        elif re_ and oe_ and label.startswith("select_") and re_.get("value_error") != oe_.get("value_error"):
            diffs.append({"where": f"{prefix}.error_type", "ref": re_, "ours": oe_, "shape": "error_type", **extra})
        elif re_ and oe_ and rphase != ophase:
            # both refused, but one while reading the files and the other while activating
            diffs.append({"where": f"{prefix}.error_phase", "ref": {**re_, "phase": rphase}, "ours": {**oe_, "phase": ophase},
                          "shape": "ours_refuses" if ophase == "read" else "ref_refuses", **extra})
        ra, oa = ro.get("activation"), oo.get("activation")
        if ra is not None and re_ is None and oe_ is None and ra != oa:
            diffs.append({"where": f"{prefix}.activation", "ref": ra, "ours": oa, "shape": "value", **extra})
        for k, rv in ro["selection"].items():
            if k == "cluster_defined":
                continue
            _cmp_value(rv, oo["selection"].get(k), f"{prefix}.selection.{k}", diffs, **extra)
        if "launch" in ro or "launch" in oo:
            _cmp_launch(ro.get("launch", {}), oo.get("launch", {}), f"{prefix}.launch", diffs, None, **extra)
    n = len(rops)
    extra = {"seq": n, "op": "final", "ref_sel": rd["selection"], "after_both_refused": both_refused}
    if not rops:
        for k, rv in rd["selection"].items():
            if k != "cluster_defined":
                _cmp_value(rv, od["selection"].get(k), f"selection.{k}", diffs, **extra)
    _cmp_value(rd["cluster"], od["cluster"], "cluster", diffs, **extra)
    _cmp_launch(rd["launch"], od["launch"], "launch", diffs, kinds, **extra)
    rres, ores = ref.get("resolve") or [], ours.get("resolve") or []
    for i, (r, o) in enumerate(zip(rres, ores, strict=False)):
        where = f"resolve[{i}]"
        extra = {"seq": n + 1, "op": "resolve", "resolve": True, "argv": r.get("argv", [])}
        before = len(diffs)
        if "crash" in r or "crash" in o:
            diffs.append({"where": where, "ref": r, "ours": o, "shape": "crash", **extra})
        else:
            rok, ook = r["rc"] == 0, o["rc"] == 0
            if rok != ook:
                diffs.append({"where": where, "ref": r.get("json") if rok else {"error": r.get("stderr_last")},
                              "ours": o.get("json") if ook else {"error": o.get("stderr_last")},
                              "shape": "ours_refuses" if rok else "ref_refuses", **extra})
            elif rok:
                deep_diff(r["json"], o["json"], where, diffs, **extra)
        kinds[f"resolve[{i}]"] = ("ok" if r.get("rc") == 0 else "both_error") if len(diffs) == before else "mismatch"
    return diffs, kinds


# ----------------------------------------------------------------------------- classifying


def _norm_message(text: str) -> str:
    text = text.split("\n")[0]
    text = re.sub(r"<T>[^\s'\":,)]*", "<path>", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    text = re.sub(r"^\S*:N: ", "", text)
    text = re.sub(r"\b(hashserver|database|jobserver|daskserver)\b", "SERVICE", text)
    return text[:90]


def _err_of(v: Any) -> dict | None:
    if isinstance(v, dict) and isinstance(v.get("error"), dict) and "phase" in v:
        return {"type": f"{v['error'].get('type')}{'' if v['phase'] == 'read' else ' while activating'}",
                "message": v["error"].get("message", "")}
    if isinstance(v, dict) and isinstance(v.get("error"), dict):
        return v["error"]
    if isinstance(v, dict) and isinstance(v.get("error"), str):
        return {"type": "", "message": v["error"]}
    return None


def _kind_of_value(v: Any) -> str:
    if isinstance(v, str) and v in ("<absent>", "<not called>", "<ok>"):
        return v
    if v is None:
        return "None"
    if isinstance(v, str):
        return "''" if v == "" else "str"
    return type(v).__name__


def signature(d: dict) -> str:
    """What a difference looks like, without the names of one layout: groups differences by cause."""
    where = d["where"]
    where = re.sub(r"^op\[\d+:(load|set_stage|set_substage|init)\]", "op(LOAD)", where)
    where = re.sub(r"\.error_phase$", ".error", where)
    where = re.sub(r"^op\[\d+:([^\]]+)\]", r"op(\1)", where)
    where = re.sub(r"launch\.([^.]+)", lambda m: "launch." + kind_of(m.group(1)), where)
    where = re.sub(r"^resolve\[\d+\]", "resolve", where)
    where = re.sub(r"\[\d+\]", "[i]", where)
    where = re.sub(r"\.queues\.[^.]+", ".queues.Q", where)
    where = re.sub(r"(pure_daskserver)\[[^\]]*\]", r"\1[*]", where)
    shape = d["shape"]
    if shape in ("ours_refuses", "ref_refuses"):
        e = _err_of(d["ours"] if shape == "ours_refuses" else d["ref"]) or {}
        msg = d.get("unexplained_line") or str(e.get("message", ""))
        detail = f"{e.get('type', '')}: {_norm_message(msg)}"
    elif shape == "error_type":
        detail = f"ref {d['ref'].get('type')} (ValueError={d['ref'].get('value_error')}) / ours {d['ours'].get('type')} (ValueError={d['ours'].get('value_error')})"
    else:
        detail = f"{_kind_of_value(d['ref'])} -> {_kind_of_value(d['ours'])}"
    return f"{where} | {shape} | {detail}"


def features(facts: known_differences.Facts, ref: dict) -> list[str]:
    """Situations of a layout worth counting (those the older generator never made, among them)."""
    out = []
    fes = facts.frontends()
    for ctype in ("local", "slurm", "oar", None):
        for has in (True, False):
            if any(t == ctype and ("hostname" in fe) == has for _, t, fe in fes):
                out.append(f"type {ctype} frontend {'with' if has else 'without'} hostname")
    if any(isinstance(svc.get("conda"), str) and svc["conda"] == "" for _, svc in facts.services()) \
            or any(q.get("conda") == "" for _, _, q in facts.queues()):
        out.append('conda: ""')
    dump = ref.get("dump", {})
    ops = facts.layout.get("ops") or []
    rops = dump.get("ops") or []
    if facts.ghost_clusters() and (dump.get("selection") or {}).get("cluster_defined"):
        out.append("unknown cluster overridden by a later selection")
    loaded = False
    for op, rop in zip(ops, rops, strict=False):
        sel = rop.get("selection") or {}
        if op["op"] in ("load", "set_stage", "set_substage", "init"):
            if op["op"] != "load" and sel.get("persistent") is True and sel.get("selected_cluster") is None:
                out.append("persistent with no cluster at init/set_stage")
            if op["op"] != "load" and sel.get("execution") == "spawn" and sel.get("selected_cluster") is None:
                out.append("execution spawn with no cluster at init/set_stage")
            if op["op"] != "load" and rop.get("activation") and rop["activation"].get("spawn"):
                out.append("spawn activated")
            loaded = True
        if op["op"] == "env" and op.get("value") and loaded:
            out.append("SEAMLESS_CACHE switched on after a load")
        if op["op"] == "env" and not op.get("value") and loaded:
            out.append("SEAMLESS_CACHE switched off after a load")
        if op["op"] == "select" and loaded:
            out.append(f"{op['fn']} after a load")
        if op["op"] == "select" and not loaded:
            out.append(f"{op['fn']} before any load")
        if op["op"] == "launch" and not loaded:
            out.append("configure_* before any load")
    if (facts.layout.get("env") or {}).get("SEAMLESS_CACHE"):
        out.append("SEAMLESS_CACHE set from the start")
    return sorted(set(out))


def field_coverage(facts: known_differences.Facts, cov: dict) -> None:
    """Count, per reference field, how often it is written, left out, empty, null."""
    classes = facts.schema["classes"]

    def count(cname: str, mapping: dict) -> None:
        for f in classes[cname]["fields"]:
            if f["name"] == "name":
                continue
            keys = {f["name"], f["name"].replace("_", "-")}
            c = cov.setdefault(f"{cname}.{f['name']}", collections.Counter())
            present = [k for k in keys if k in mapping]
            if not present:
                c["absent"] += 1
                continue
            v = mapping[present[0]]
            c["null" if v is None else ("empty" if v == "" else "present")] += 1

    for _, c in facts.clusters:
        count("Cluster", c)
    for _, _, fe in facts.frontends():
        count("ClusterFrontend", fe)
        for s, cls in (("hashserver", "ClusterFrontendHashserver"), ("database", "ClusterFrontendDatabase"),
                       ("jobserver", "ClusterFrontendJobserver"), ("daskserver", "ClusterFrontendDaskserver")):
            if isinstance(fe.get(s), dict):
                count(cls, fe[s])
    for _, _, q in facts.queues():
        count("ClusterQueueWithTemplate", q)


def summarize(layouts: list[dict], ref: list[dict], ours: list[dict], schema: dict | None = None) -> dict:
    schema = schema or layout_gen.load_schema()
    per_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    mismatches = []
    status = collections.Counter()
    known_layouts: collections.Counter = collections.Counter()
    known_diffs: collections.Counter = collections.Counter()
    known_present: collections.Counter = collections.Counter()
    groups: dict[str, dict] = {}
    feats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    fields: dict[str, collections.Counter] = {}
    for lay, r, o in zip(layouts, ref, ours, strict=True):
        diffs, kinds = compare(r, o)
        for name, outcome in kinds.items():
            k = "resolve" if name.startswith("resolve[") else kind_of(name)
            per_kind[k][outcome] += 1
        facts = known_differences.Facts(lay, schema)
        for kd in known_differences.KNOWN:
            try:
                if kd.id != "failed_read_atomic" and kd.applies(facts):
                    known_present[kd.id] += 1
            except Exception:
                pass
        unexplained, counts = known_differences.classify(diffs, facts)
        for kid, n in counts.items():
            known_layouts[kid] += 1
            known_diffs[kid] += n
        state = "agree" if not diffs else ("known" if not unexplained else "disagree")
        try:
            for feat in features(facts, r):
                feats[feat][state] += 1
            field_coverage(facts, fields)
        except Exception:  # noqa: BLE001 - coverage is informative only
            pass
        if not diffs:
            status["agree"] += 1
            continue
        if not unexplained:
            status["known"] += 1
        else:
            status["disagree"] += 1
            sig = signature(unexplained[0])
            size = len(json.dumps(lay))
            g = groups.setdefault(sig, {"signature": sig, "count": 0, "seeds": [], "example": None, "size": None})
            g["count"] += 1
            g["seeds"].append(lay.get("seed"))
            if g["size"] is None or size < g["size"]:
                g["size"] = size
                g["example"] = {"seed": lay.get("seed"), "first": _brief(unexplained[0]), "layout": lay}
        mismatches.append({"seed": lay.get("seed"), "status": "known" if not unexplained else "disagree",
                           "known": counts, "signature": signature(unexplained[0]) if unexplained else None,
                           "diffs": [_brief(d, full=True) for d in diffs], "layout": lay})
    return {"total": len(layouts), "equal": status["agree"], "known": status["known"], "disagree": status["disagree"],
            "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
            "known_layouts": dict(known_layouts), "known_diffs": dict(known_diffs), "known_present": dict(known_present),
            "groups": sorted(groups.values(), key=lambda g: -g["count"]), "mismatches": mismatches,
            "features": {k: dict(v) for k, v in sorted(feats.items())},
            "fields": {k: dict(v) for k, v in sorted(fields.items())}}


def _brief(d: dict, full: bool = False) -> dict:
    keep = ("where", "shape", "ref", "ours", "explained_by", "ours_raw") if full else ("where", "shape", "ref", "ours")
    out = {k: d[k] for k in keep if k in d}
    if not full:
        for k in ("ref", "ours"):
            text = json.dumps(out.get(k))
            if len(text) > 400:
                out[k] = text[:400] + "…"
    return out


def report(summary: dict, out=sys.stdout, examples: bool = False) -> None:
    t = summary["total"]

    def pct(n: int) -> str:
        return f"{100.0 * n / t:.1f}%" if t else "-"

    print(f"layouts: {t}; agree: {summary['equal']} ({pct(summary['equal'])}); only known differences: "
          f"{summary['known']} ({pct(summary['known'])}); disagree: {summary['disagree']} ({pct(summary['disagree'])})", file=out)
    print(f"{'launch dict kind':<26}{'total':>7}{'equal':>7}{'(ok':>6}{' both-error)':>13}{'mismatch':>10}", file=out)
    for k, c in summary["per_kind"].items():
        tot = sum(c.values())
        print(f"{k:<26}{tot:>7}{c.get('ok', 0) + c.get('both_error', 0):>7}{c.get('ok', 0):>6}{c.get('both_error', 0):>13}"
              f"{c.get('mismatch', 0):>10}", file=out)
    print("known differences (docs/differences.md): layouts with the input / layouts where it explained differences (differences)",
          file=out)
    for kd in known_differences.KNOWN:
        print(f"  {kd.id:<26}{summary['known_present'].get(kd.id, '-')!s:>6} /{summary['known_layouts'].get(kd.id, 0):>5}"
              f" ({summary['known_diffs'].get(kd.id, 0)})   {kd.topic}", file=out)
    print(f"  (rows without a matcher: {'; '.join(known_differences.UNMATCHED_ROWS)})", file=out)
    print("situations (layouts: agree / only known differences / disagree):", file=out)
    for feat, c in summary.get("features", {}).items():
        print(f"  {feat:<52}{c.get('agree', 0):>6}{c.get('known', 0):>6}{c.get('disagree', 0):>6}", file=out)
    fields = summary.get("fields", {})
    if fields:
        lacking = {k: [s for s in ("present", "absent", "empty") if not c.get(s)] for k, c in fields.items()}
        strings = {f"{cn}.{f['name']}" for cn, cls in layout_gen.load_schema(oracle_python())["classes"].items()
                   for f in cls["fields"] if f["type"]["kind"] == "str"}
        gaps = [f"{k} never {'/'.join(s for s in v if s != 'empty' or k in strings)}" for k, v in lacking.items()
                if [s for s in v if s != "empty" or k in strings]]
        print(f"reference fields written: {len(fields)}; every one present and absent"
              f"{', every string field empty' if not gaps else ''} at least once" if not gaps else
              f"reference fields not covered: {'; '.join(gaps)}", file=out)
    if summary["groups"]:
        print("unexplained disagreements, by the signature of each layout's first unexplained difference:", file=out)
        for g in summary["groups"]:
            print(f"  {g['count']:5d}  {g['signature']}", file=out)
            print(f"         smallest: seed {g['example']['seed']}; others: {g['seeds'][:8]}", file=out)
            if examples:
                print("         " + json.dumps(g["example"]["first"])[:600], file=out)


def run(count: int, seed: int = 0, jobs: int | None = None, dumps: str | None = None) -> dict:
    schema = layout_gen.load_schema(oracle_python())
    layouts = layout_gen.generate_many(count, seed, schema)
    ref, ours = run_both(layouts, jobs)
    if dumps:
        with open(dumps, "w") as f:
            for lay, r, o in zip(layouts, ref, ours, strict=True):
                f.write(json.dumps({"layout": lay, "ref": r, "ours": o}) + "\n")
    return summarize(layouts, ref, ours, schema)


def run_examples(jobs: int | None = 1) -> dict:
    """The fixed example layouts (``layouts.examples()``)."""
    schema = layout_gen.load_schema(oracle_python())
    layouts = layout_gen.examples()
    ref, ours = run_both(layouts, jobs)
    return summarize(layouts, ref, ours, schema)


def rerun_from_dumps(path: str) -> dict:
    """Compare and classify saved dumps again (after a change to the comparison or the table)."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return summarize([r["layout"] for r in rows], [r["ref"] for r in rows], [r["ours"] for r in rows],
                     layout_gen.load_schema(oracle_python()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300, help="number of layouts (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first layout (layout i uses seed+i)")
    ap.add_argument("--jobs", type=int, default=None, help="processes per side (default: cpu_count // 2)")
    ap.add_argument("--examples", action="store_true", help="print the first difference of each group")
    ap.add_argument("--dumps", help="also save every layout with both dumps here (JSON lines)")
    ap.add_argument("--from-dumps", help="compare the dumps saved by --dumps instead of running anything")
    ap.add_argument("--examples-only", action="store_true", help="run only the fixed example layouts (layouts.examples())")
    ap.add_argument("--out", default=os.path.join(REPO, "scratch", "differential-mismatches.json"),
                    help="where to write the mismatches and groups (JSON; default scratch/differential-mismatches.json, git-ignored)")
    args = ap.parse_args(argv)
    ok, why = oracle_available()
    if not ok:
        print(f"run_differential: {why}", file=sys.stderr)
        return 2
    t0 = time.time()
    if args.from_dumps:
        summary = rerun_from_dumps(args.from_dumps)
    elif args.examples_only:
        summary = run_examples(args.jobs)
    else:
        summary = run(args.count, args.seed, args.jobs, args.dumps)
    report(summary, examples=args.examples)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"groups": summary["groups"], "mismatches": summary["mismatches"]}, f, indent=1)
    print(f"{len(summary['mismatches'])} differing layouts written to {args.out} ({time.time() - t0:.1f} s)")
    return 0 if summary["disagree"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
