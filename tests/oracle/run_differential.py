#!/usr/bin/env python
"""Differential check: our implementation against the reference seamless-config 0.3.2.

    python tests/oracle/run_differential.py [--count 300] [--seed 0] [--out mismatches.json]

Generates ``--count`` layouts (``layouts.py``), dumps each with the reference
(``ref_dump.py``, run by ``$SEAMLESS_ORACLE_PYTHON``, default
``/work/main/.venv-oracle/bin/python``) and with ours (``our_dump.py``, run by
``$SEAMLESS_OUR_PYTHON``, default: this interpreter if it imports our package,
else the repository's ``.venv/bin/python``), and compares them:

* selection getters, ``get_cluster()`` of the selected cluster, load success;
* every launch dict field by field, ``key`` and ``command`` after evaluation by
  remote-http-launcher (raw ``key``/``command`` differ on purpose: ours hold no
  code), plus the key order;
* on our side only: no template code in ``key``/``command``, and the ``meta`` block;
* ``seamless-service-resolve`` output for the resolve invocations of a layout.

Errors are compared by presence only (our messages differ on purpose).
Prints the agreement figure and writes the mismatches to ``--out``.
Exit code 0 when everything agrees, 1 otherwise, 2 when the oracle is missing.
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

import layouts as layout_gen  # noqa: E402

DEFAULT_ORACLE = "/work/main/.venv-oracle/bin/python"


def oracle_python() -> str:
    return os.environ.get("SEAMLESS_ORACLE_PYTHON") or DEFAULT_ORACLE


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


def deep_diff(a: Any, b: Any, path: str, out: list[dict]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a:
                out.append({"where": f"{path}.{k}", "ref": "<absent>", "ours": b[k]})
            elif k not in b:
                out.append({"where": f"{path}.{k}", "ref": a[k], "ours": "<absent>"})
            else:
                deep_diff(a[k], b[k], f"{path}.{k}", out)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            deep_diff(x, y, f"{path}[{i}]", out)
        return
    if a != b or type(a) is not type(b):
        out.append({"where": path, "ref": a, "ours": b})


def _is_err(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"error"}


def _cmp_value(r: Any, o: Any, path: str, diffs: list[dict]) -> None:
    if _is_err(r) and _is_err(o):
        return
    if _is_err(r) or _is_err(o):
        diffs.append({"where": path, "ref": r, "ours": o})
        return
    deep_diff(r, o, path, diffs)


def kind_of(call_name: str) -> str:
    call_name = re.sub(r"\[.*\]$", "[*]", call_name)
    return re.sub(r"^extra\d+:", "extra:", call_name)


def compare(ref: dict, ours: dict) -> tuple[list[dict], dict[str, str]]:
    """(differences, per-launch-dict-kind outcome: 'ok' | 'both_error' | 'mismatch')"""
    diffs: list[dict] = []
    kinds: dict[str, str] = {}
    for side, rec in (("ref", ref), ("ours", ours)):
        if "crash" in rec.get("dump", {}):
            diffs.append({"where": f"{side}.crash", side: rec["dump"]})
    if diffs:
        return diffs, kinds
    rd, od = ref["dump"], ours["dump"]
    for k in ("set_workdir", "select", "load"):
        if (rd.get(k) is None) != (od.get(k) is None):
            diffs.append({"where": k, "ref": rd.get(k), "ours": od.get(k)})
    for k in rd["selection"]:
        _cmp_value(rd["selection"][k], od["selection"].get(k), f"selection.{k}", diffs)
    _cmp_value(rd["cluster"], od["cluster"], "cluster", diffs)
    for name, r in rd["launch"].items():
        o = od["launch"].get(name)
        before = len(diffs)
        if o is None:
            diffs.append({"where": f"launch.{name}", "ref": r, "ours": "<not called>"})
        elif _is_err(r) and _is_err(o):
            kinds[name] = "both_error"
            continue
        elif _is_err(r) or _is_err(o):
            diffs.append({"where": f"launch.{name}", "ref": r.get("error", "<ok>"), "ours": o.get("error", "<ok>")})
        else:
            rdict = dict(r["dict"])
            odict = dict(o["dict"])
            for k in ("key", "command"):
                rdict.pop(k, None)
                odict.pop(k, None)
            deep_diff(rdict, odict, f"launch.{name}.dict", diffs)
            for k in ("evaluated_key", "evaluated_command", "evaluation_error"):
                if r.get(k) != o.get(k):
                    diffs.append({"where": f"launch.{name}.{k}", "ref": r.get(k), "ours": o.get(k),
                                  "ours_raw": o["dict"].get(k.replace("evaluated_", ""))})
            if r.get("key_order") != o.get("key_order"):
                diffs.append({"where": f"launch.{name}.key_order", "ref": r.get("key_order"), "ours": o.get("key_order")})
            for k in ("template_problems", "meta_problems"):
                if o.get(k):
                    diffs.append({"where": f"launch.{name}.{k}", "ref": None, "ours": o[k]})
        kinds[name] = "ok" if len(diffs) == before else "mismatch"
    rres, ores = ref.get("resolve") or [], ours.get("resolve") or []
    for i, (r, o) in enumerate(zip(rres, ores, strict=False)):
        where = f"resolve[{i}] {' '.join(r.get('argv', []))}"
        if "crash" in r or "crash" in o:
            diffs.append({"where": where, "ref": r, "ours": o})
            continue
        rok, ook = r["rc"] == 0, o["rc"] == 0
        if rok != ook:
            diffs.append({"where": where, "ref": r.get("json") or r.get("stderr_last"), "ours": o.get("json") or o.get("stderr_last")})
        elif rok:
            deep_diff(r["json"], o["json"], where, diffs)
        kinds[f"resolve[{i}]"] = ("ok" if rok else "both_error") if not any(d["where"].startswith(where) for d in diffs) else "mismatch"
    return diffs, kinds


def summarize(layouts: list[dict], ref: list[dict], ours: list[dict]) -> dict:
    per_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    mismatches = []
    equal = 0
    for lay, r, o in zip(layouts, ref, ours, strict=True):
        diffs, kinds = compare(r, o)
        for name, outcome in kinds.items():
            k = "resolve" if name.startswith("resolve[") else kind_of(name)
            per_kind[k][outcome] += 1
        if diffs:
            mismatches.append({"seed": lay.get("seed"), "diffs": diffs, "layout": lay})
        else:
            equal += 1
    return {"total": len(layouts), "equal": equal, "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
            "mismatches": mismatches}


def report(summary: dict, out=sys.stdout) -> None:
    t, e = summary["total"], summary["equal"]
    pct = 100.0 * e / t if t else 100.0
    print(f"layouts fully equal: {e}/{t} ({pct:.1f}%)", file=out)
    print(f"{'launch dict kind':<26}{'total':>7}{'equal':>7}{'(ok':>6}{' both-error)':>13}{'mismatch':>10}", file=out)
    for k, c in summary["per_kind"].items():
        tot = sum(c.values())
        print(f"{k:<26}{tot:>7}{c.get('ok', 0) + c.get('both_error', 0):>7}{c.get('ok', 0):>6}{c.get('both_error', 0):>13}"
              f"{c.get('mismatch', 0):>10}", file=out)
    where = collections.Counter()
    for m in summary["mismatches"]:
        for d in m["diffs"]:
            where[re.sub(r"\[\d+\] .*", "[i]", re.sub(r"launch\.([^.]+)", lambda mm: "launch." + kind_of(mm.group(1)), d["where"]))] += 1
    if where:
        print("most frequent differences:", file=out)
        for w, n in where.most_common(15):
            print(f"  {n:5d}  {w}", file=out)


def run(count: int, seed: int = 0, jobs: int | None = None) -> dict:
    layouts = layout_gen.generate_many(count, seed)
    ref, ours = run_both(layouts, jobs)
    return summarize(layouts, ref, ours)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300, help="number of layouts (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first layout (layout i uses seed+i)")
    ap.add_argument("--jobs", type=int, default=None, help="processes per side (default: cpu_count // 2)")
    ap.add_argument("--out", default=os.path.join(REPO, "scratch", "differential-mismatches.json"),
                    help="where to write the mismatches (JSON; default scratch/differential-mismatches.json, git-ignored)")
    args = ap.parse_args(argv)
    ok, why = oracle_available()
    if not ok:
        print(f"run_differential: {why}", file=sys.stderr)
        return 2
    t0 = time.time()
    summary = run(args.count, args.seed, args.jobs)
    report(summary)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(summary["mismatches"], f, indent=1)
    print(f"{len(summary['mismatches'])} mismatching layouts written to {args.out} ({time.time() - t0:.1f} s)")
    return 0 if summary["equal"] == summary["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
