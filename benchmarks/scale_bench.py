"""How resolve, warm ``seamless-init`` and ``seamless-service-ps`` grow (issue: speed at the floor).

    .venv/bin/python benchmarks/scale_bench.py [--reps 7]

Each run a new process, medians (min and max) of ``--reps`` runs:

1. ``seamless-service-resolve --service hashserver --workdir DIR`` with 1, 10, 100 and 1,000
   cluster definitions in ``~/.seamless/clusters/`` (one file each, 10 queues per cluster), the
   parse cache filled, each run asking another question (``--subproject sN``) so that the answer
   memo does not answer it: the cost of reading, hashing and resolving that many files;
2. the same question again (answered from its memo);
3. warm ``seamless-init`` (hashserver and database of a local cluster up; the other clusters only
   defined) with as many cluster files;
4. ``seamless-service-ps --server --cluster lab --json`` with 10, 100 and 1,000 server state
   files (of services that have exited: each pid is checked and found stale).

Results: ``benchmarks/results/scale.{json,md,svg}`` (the SVG plots time against size on log-log
axes, one line per measurement, so that a slope above 1 would show a step worse than linear).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import layouts  # noqa: E402

LAB = """\
lab:
  type: local
  frontends:
    - hostname: localhost
      hashserver:
        bufferdir: {root}/buffers
        port_start: 42100
        port_end: 42199
      database:
        database_dir: {root}/db
        port_start: 42200
        port_end: 42299
local_cluster: lab
"""
PROJECT = "- project: scale\n- cluster: lab\n- execution: process\n"
SIZES = (1, 10, 100, 1000)
STATES = (10, 100, 1000)


def med(ts: list[float]) -> dict[str, float]:
    return {"median": statistics.median(ts), "min": min(ts), "max": max(ts)}


def run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{argv} failed: {p.stderr}")
    return t


def setup(root: Path, n: int) -> tuple[dict[str, str], str]:
    home, work = root / "home", root / "project"
    (home / ".seamless" / "clusters").mkdir(parents=True)
    work.mkdir()
    (home / ".seamless" / "clusters.yaml").write_text(LAB.format(root=root))
    for i in range(n - 1):  # lab is one of the n
        (home / ".seamless" / "clusters" / f"c{i:04d}.yaml").write_text(layouts.cluster_file(i))
    (work / "seamless.yaml").write_text(PROJECT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS", "VIRTUAL_ENV", "PYTHON"))}
    env.update(HOME=str(home), SEAMLESS_CONFIG_CACHE=str(root / "cache"),
               REMOTE_HTTP_LAUNCHER_DIR=str(root / "rhl"))
    return env, str(work)


def stop_services(rhl: Path) -> None:
    for state in (rhl / "server").glob("*.json"):
        try:
            data = json.loads(state.read_text())
            os.killpg(int(data["pgid"]), signal.SIGTERM)
        except (OSError, ValueError, KeyError):
            pass


def bench_clusters(tmp: Path, reps: int, venv: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"resolve": {}, "resolve_memo": {}, "warm_init": {}}
    resolve, init = str(venv / "bin" / "seamless-service-resolve"), str(venv / "bin" / "seamless-init")
    for n in SIZES:
        root = tmp / f"clusters-{n}"
        env, work = setup(root, n)
        args = [resolve, "--service", "hashserver", "--workdir", work]
        run([*args, "--subproject", "warmup"], env, work)  # fills the parse cache
        out["resolve"][n] = med([run([*args, "--subproject", f"s{i}"], env, work) for i in range(reps)])
        out["resolve_memo"][n] = med([run([*args, "--subproject", "s0"], env, work) for _ in range(reps)])
        try:
            run([init], env, work)  # cold: brings hashserver and database up
            out["warm_init"][n] = med([run([init], env, work) for _ in range(reps)])
        finally:
            stop_services(root / "rhl")
        print(f"  {n} clusters: resolve {out['resolve'][n]['median']:.3f} s, memo "
              f"{out['resolve_memo'][n]['median']:.3f} s, warm init {out['warm_init'][n]['median']:.3f} s",
              flush=True)
    return out


def bench_ps(tmp: Path, reps: int, venv: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dead = subprocess.Popen(["true"])
    dead.wait()
    for k in STATES:
        root = tmp / f"ps-{k}"
        env, work = setup(root, 1)
        server = root / "rhl" / "server"
        server.mkdir(parents=True)
        for i in range(k):
            key = f"hashserver-lab-rw-p{i:04d}"
            (server / f"{key}.json").write_text(json.dumps({
                "workdir": f"{root}/buffers/p{i:04d}", "log": str(server / f"{key}.log"), "pid": dead.pid,
                "status": "running", "port": 42100 + i % 100, "meta": {"service": "hashserver", "cluster": "lab",
                                                                        "mode": "rw", "project": f"p{i:04d}"}}))
        argv = [str(venv / "bin" / "seamless-service-ps"), "--server", "--cluster", "lab", "--json"]
        listed = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True, check=True).stdout
        rows = [json.loads(line) for line in listed.splitlines() if line.strip()]  # (one JSON object a line)
        assert len(rows) == k and all(r["process"] == "stale" for r in rows), rows[:2]
        out[k] = med([run(argv, env, work) for _ in range(reps)])
        print(f"  {k} state files: ps {out[k]['median']:.3f} s", flush=True)
    return out


def baseline(venv: Path, reps: int) -> dict[str, float]:
    py = str(venv / "bin" / "python")
    return med([run([py, "-c", "pass"], dict(os.environ), str(ROOT)) for _ in range(reps)])


def slope(points: dict[Any, dict[str, float]]) -> float:
    """The growth exponent k of t ~ n^k between the two largest sizes (1.0: linear)."""
    (n1, a), (n2, b) = sorted((int(n), v["median"]) for n, v in points.items())[-2:]
    return math.log(b / a) / math.log(n2 / n1)


def svg(series: dict[str, dict[Any, dict[str, float]]], path: Path) -> None:
    """A log-log plot, one polyline per series (no plotting library needed)."""
    w, h, m = 640, 400, 60
    xs = [int(n) for s in series.values() for n in s]
    ys = [v["median"] for s in series.values() for v in s.values()]
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.log10(min(ys)) - 0.1, math.log10(max(ys)) + 0.1

    def px(n: float, t: float) -> tuple[float, float]:
        return (m + (math.log10(n) - lx0) / (lx1 - lx0) * (w - 2 * m),
                h - m - (math.log10(t) - ly0) / (ly1 - ly0) * (h - 2 * m))

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             'font-size="12">', f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
             f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
             f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">size (clusters, or state files for ps), log</text>',
             f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">seconds, log</text>']
    for n in sorted(set(xs)):
        x, _ = px(n, 10 ** ly0)
        parts.append(f'<text x="{x:.0f}" y="{h - m + 16}" text-anchor="middle">{n}</text>')
    for e in range(math.floor(ly0), math.ceil(ly1) + 1):
        for mult in (1, 2, 5):
            t = mult * 10.0 ** e
            if 10 ** ly0 <= t <= 10 ** ly1:
                _, y = px(10 ** lx0, t)
                parts.append(f'<text x="{m - 6}" y="{y + 4:.0f}" text-anchor="end">{t:g}</text>')
    for i, (name, s) in enumerate(series.items()):
        pts = [px(int(n), v["median"]) for n, v in sorted(s.items(), key=lambda kv: int(kv[0]))]
        c = colours[i % len(colours)]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        parts.append(f'<text x="{w - m - 150}" y="{m + 16 * i}" fill="{c}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--venv", default=str(ROOT / ".venv"))
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    venv, out = Path(args.venv), Path(args.out)
    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        print("python -c pass...", flush=True)
        base = baseline(venv, args.reps)
        print("clusters...", flush=True)
        clusters = bench_clusters(tmp, args.reps, venv)
        print("state files...", flush=True)
        ps = bench_ps(tmp, args.reps, venv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = {"reps": args.reps, "python_c_pass": base, **clusters, "ps": ps,
           "slopes": {**{k: slope(clusters[k]) for k in clusters}, "ps": slope(ps)}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    series = {"resolve (new question)": clusters["resolve"], "resolve (memo)": clusters["resolve_memo"],
              "warm seamless-init": clusters["warm_init"], "seamless-service-ps": ps}
    svg(series, out / "scale.svg")

    def cell(v: dict[str, float]) -> str:
        return f"{v['median']:.3f} s ({v['min']:.3f}–{v['max']:.3f})"

    lines = ["# Scale", "", f"Medians of {args.reps} runs, each a new process (min–max). `python -c pass` in the "
             f"same venv: {cell(base)}. Plot: [scale.svg](scale.svg) (log-log).", "",
             "| clusters | resolve, new question | resolve, same question (memo) | warm seamless-init |",
             "| --- | --- | --- | --- |"]
    for n in SIZES:
        lines.append(f"| {n} | {cell(clusters['resolve'][n])} | {cell(clusters['resolve_memo'][n])} | "
                     f"{cell(clusters['warm_init'][n])} |")
    lines += ["", "| state files | seamless-service-ps --server --json |", "| --- | --- |"]
    lines += [f"| {k} | {cell(ps[k])} |" for k in STATES]
    lines += ["", "Growth exponent between the two largest sizes (t ~ n^k; 1 is linear): "
              + ", ".join(f"{k} {v:.2f}" for k, v in res["slopes"].items()) + "."]
    (out / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
