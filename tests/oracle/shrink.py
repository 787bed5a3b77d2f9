#!/usr/bin/env python
"""Shrink a layout to a minimal one that still shows the same unexplained disagreement.

    python tests/oracle/shrink.py --seed 82                  # regenerate layout 82, keep its first disagreement
    python tests/oracle/shrink.py --seed 82 --signature 'op(LOAD).error | ours_refuses | TypeError: …'
    python tests/oracle/shrink.py --from scratch/differential-mismatches.json --groups   # every group's smallest layout

A candidate is kept when the signature (``run_differential.signature``) of some
unexplained difference equals the target. Both dumpers run as persistent
``--serve`` processes. Reduction, repeated until nothing changes: drop
operations, launch calls, resolve invocations and their flags, environment
entries, whole files, then blocks of YAML lines (a line with the lines indented
below it; biggest first, halves of runs first). Prints the minimal layout (its
files as text) and writes it as JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import known_differences  # noqa: E402
import layouts as layout_gen  # noqa: E402
import run_differential as rd  # noqa: E402


class Server:
    def __init__(self, python: str, script: str) -> None:
        self.proc = subprocess.Popen([python, os.path.join(HERE, script), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=rd._clean_env(), cwd=os.path.dirname(HERE))

    def send(self, layout: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(layout) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("dumper ended")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Oracle:
    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self.ref = Server(rd.oracle_python(), "ref_dump.py")
        self.ours = Server(rd.our_python(), "our_dump.py")
        self.runs = 0

    def signatures(self, layout: dict) -> list[str]:
        self.ref.send(layout)
        self.ours.send(layout)
        r, o = self.ref.receive(), self.ours.receive()
        self.runs += 1
        diffs, _ = rd.compare(r, o)
        unexplained, _ = known_differences.classify(diffs, known_differences.Facts(layout, self.schema))
        return [rd.signature(d) for d in unexplained]

    def close(self) -> None:
        self.ref.close()
        self.ours.close()


# ----------------------------------------------------------------------------- reductions


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) of every line with the lines below it that are indented deeper (list items: past the dash)."""
    out = []
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            out.append((i, i + 1))
            continue
        ind = len(line) - len(line.lstrip())
        body = line.lstrip()
        child_ind = ind + 2 if body.startswith("- ") else ind + 1
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) >= child_ind):
            j += 1
        out.append((i, j))
    return out


def _without(lines: list[str], spans: list[tuple[int, int]]) -> list[str]:
    drop = set()
    for a, b in spans:
        drop.update(range(a, b))
    return [line for i, line in enumerate(lines) if i not in drop]


class Shrinker:
    def __init__(self, oracle: Oracle, target: str, verbose: bool = False) -> None:
        self.oracle = oracle
        self.target = target
        self.verbose = verbose

    def ok(self, layout: dict) -> bool:
        try:
            return self.target in self.oracle.signatures(layout)
        except RuntimeError:
            raise
        except Exception:  # noqa: BLE001 - a candidate the harness cannot run is not kept
            return False

    def _list_pass(self, layout: dict, key: str) -> tuple[dict, bool]:
        changed = False
        i = 0
        while i < len(layout.get(key) or []):
            cand = json.loads(json.dumps(layout))
            del cand[key][i]
            if self.ok(cand):
                layout, changed = cand, True
            else:
                i += 1
        return layout, changed

    def _files_pass(self, layout: dict) -> tuple[dict, bool]:
        changed = False
        for group in ("project_files", "home_files"):
            for path in sorted(layout.get(group) or {}):
                cand = json.loads(json.dumps(layout))
                del cand[group][path]
                if self.ok(cand):
                    layout, changed = cand, True
        return layout, changed

    def _lines_pass(self, layout: dict) -> tuple[dict, bool]:
        changed = False
        for group in ("home_files", "project_files"):
            for path in sorted(layout.get(group) or {}):
                lines = layout[group][path].splitlines()
                progress = True
                while progress:
                    progress = False
                    blocks = sorted(_blocks(lines), key=lambda ab: -(ab[1] - ab[0]))
                    for a, b in blocks:
                        if a >= len(lines):
                            continue
                        cand_lines = _without(lines, [(a, b)])
                        cand = json.loads(json.dumps(layout))
                        cand[group][path] = "\n".join(cand_lines) + "\n"
                        if self.ok(cand):
                            layout, lines, changed, progress = cand, cand_lines, True, True
                            break
        return layout, changed

    def _resolve_flags_pass(self, layout: dict) -> tuple[dict, bool]:
        changed = False
        for i in range(len(layout.get("resolve") or [])):
            j = 0
            while j < len(layout["resolve"][i]):
                argv = layout["resolve"][i]
                if argv[j] == "--service" or not argv[j].startswith("--"):
                    j += 1
                    continue
                cand = json.loads(json.dumps(layout))
                del cand["resolve"][i][j:j + 2]
                if self.ok(cand):
                    layout, changed = cand, True
                else:
                    j += 2
        return layout, changed

    def _misc_pass(self, layout: dict) -> tuple[dict, bool]:
        changed = False
        for key in ("env", "triggers"):
            if layout.get(key):
                cand = dict(layout)
                cand.pop(key)
                if key == "triggers" or self.ok(cand):
                    layout, changed = cand, True
        for i, c in enumerate(layout.get("calls") or []):
            for k in list(c.get("kwargs") or {}):
                cand = json.loads(json.dumps(layout))
                del cand["calls"][i]["kwargs"][k]
                if self.ok(cand):
                    layout, changed = cand, True
        return layout, changed

    def shrink(self, layout: dict) -> dict:
        layout = json.loads(json.dumps(layout))
        if layout.get("calls") is None:
            import dump_common  # noqa: PLC0415

            layout["calls"] = [dict(c) for c in dump_common.DEFAULT_CALLS]
        if not self.ok(layout):
            raise SystemExit(f"the layout does not show {self.target!r}")
        while True:
            changed = False
            for step in (lambda x: self._list_pass(x, "ops"), lambda x: self._list_pass(x, "calls"),
                         lambda x: self._list_pass(x, "resolve"), self._resolve_flags_pass, self._files_pass,
                         self._lines_pass, self._misc_pass):
                layout, c = step(layout)
                changed = changed or c
            if not changed:
                return layout


def show(layout: dict, out=sys.stdout) -> None:
    for group, base in (("home_files", "~"), ("project_files", "$PROJ")):
        for path, text in sorted((layout.get(group) or {}).items()):
            print(f"--- {base}/{path}", file=out)
            print(text.rstrip("\n"), file=out)
    if layout.get("workdir", ".") != ".":
        print(f"workdir: $PROJ/{layout['workdir']}", file=out)
    if layout.get("env"):
        print(f"env: {json.dumps(layout['env'])}", file=out)
    print(f"ops: {json.dumps(layout.get('ops'))}", file=out)
    if layout.get("calls"):
        print(f"calls: {json.dumps(layout.get('calls'))}", file=out)
    if layout.get("resolve"):
        print(f"resolve: {json.dumps(layout.get('resolve'))}", file=out)


def _first_signature(oracle: Oracle, layout: dict) -> str:
    sigs = oracle.signatures(layout)
    if not sigs:
        raise SystemExit("no unexplained difference in this layout")
    return sigs[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, help="generate this layout (layouts.generate)")
    ap.add_argument("--layout", help="a layout JSON file")
    ap.add_argument("--signature", help="the difference to keep (default: the layout's first unexplained)")
    ap.add_argument("--from", dest="from_", help="a run_differential --out file")
    ap.add_argument("--groups", action="store_true", help="shrink the smallest layout of every group of --from")
    ap.add_argument("--out", help="write the minimal layout(s) here (JSON)")
    args = ap.parse_args(argv)
    schema = layout_gen.load_schema(rd.oracle_python())
    oracle = Oracle(schema)
    results = []
    try:
        jobs: list[tuple[dict, str | None]] = []
        if args.groups:
            data = json.load(open(args.from_))
            jobs = [(g["example"]["layout"], g["signature"]) for g in data["groups"]]
        elif args.layout:
            jobs = [(json.load(open(args.layout)), args.signature)]
        elif args.seed is not None:
            if args.from_:
                data = json.load(open(args.from_))
                lay = next(m["layout"] for m in data["mismatches"] if m["seed"] == args.seed)
            else:
                lay = layout_gen.generate(args.seed, schema)
            jobs = [(lay, args.signature)]
        else:
            ap.error("give --seed, --layout or --from with --groups")
        for lay, sig in jobs:
            sig = sig or _first_signature(oracle, lay)
            before = oracle.runs
            small = Shrinker(oracle, sig).shrink(lay)
            print(f"=== {sig}\n(seed {lay.get('seed')}, {oracle.runs - before} runs)")
            show(small)
            results.append({"signature": sig, "seed": lay.get("seed"), "layout": small})
            sys.stdout.flush()
    finally:
        oracle.close()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
