"""Run every benchmark of seamless-config and write ``benchmarks/results/latest.{json,md}``.

    .venv/bin/python benchmarks/run_all.py [--reps 11] [--quick]

Measured (medians of repeated runs, with min and max):

1. ``seamless-service-resolve --service hashserver --workdir DIR`` on the
   typical layout, each run a new process: ours cold (a fresh, empty parse
   cache directory per run), ours warm (cache filled), and the reference
   seamless-config 0.3.2 in the same run, interleaved run by run so that load
   from other processes affects all of them alike. The reference is measured
   in ``.venv-oracle`` (0.3.2 alone) and, when given (``--oracle-rt-venv``), in
   a venv that also has seamless-transformer installed, as in a Seamless
   runtime environment: 0.3.2 imports seamless_transformer while resolving.
2. YAML parse scaling: ``seamless_config.core.yamltree.parse_yaml`` (a clean
   file: libyaml) and ``parse_strict`` (strictyaml, which reads any file that is
   not clean) on files of 36, 106, 351 and 1,050 lines, in-process.
3. The large layout (1,000 clusters of 10 queues, one per file in
   ``~/.seamless/clusters/``; a 50-directory inheritance chain): the cold
   parse (once, via the CLI with an empty cache), the pure stages alone
   (``core.resolve.resolve`` with pre-parsed trees, for 10/100/1000 clusters
   x chain depth 1/10/50), and whole resolution with a warm parse cache, in a
   new process (CLI) and in-process (``Session().resolve()``).
4. ``python -c "import seamless_config"``, ours vs reference, with the
   ``python -c pass`` start-up of each venv as baseline.

The machine may be shared (2 cores, other test runs): figures are noisy; the
load average before and after is recorded. Re-run to check.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import layouts  # noqa: E402

TARGETS = {
    "typical_cold_max_s": 0.15,
    "typical_warm_max_ratio": 3.0,  # warm seamless-service-resolve, to `python -c pass` of the same venv
    "typical_ratio_max": 0.2,
    "large_pure_max_s": 0.2,
    "large_warm_max_s": 1.0,
}


# --------------------------------------------------------------------------
# helpers


def stats(samples: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
        "samples": [round(s, 6) for s in samples],
    }


def timed_run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def timed_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


#: Bytecode cache for the measured processes (set in main). This machine sets
#: PYTHONDONTWRITEBYTECODE, and our package is installed editable, so without
#: it every run of ours would compile its modules from source while the
#: reference's wheel ships .pyc files. A private prefix gives both sides
#: cached bytecode (as users have) without writing into the source tree.
PYCACHE_PREFIX: str | None = None


def base_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS", "VIRTUAL_ENV", "PYTHON"))}
    env["HOME"] = home
    if PYCACHE_PREFIX is not None:
        env["PYTHONPYCACHEPREFIX"] = PYCACHE_PREFIX
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def loadavg() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def venv_bin(venv: Path, name: str) -> str:
    return str(venv / "bin" / name)


# --------------------------------------------------------------------------
# 1. typical layout, CLI


#: a cold seamless-service-resolve in process, split: the imports it needs, reading the files, parsing
#: them (through an empty parse cache), and the rest (the pure stages, the answer); stdout is the answer's
#: place, so the split goes to the last line
COLD_SPLIT = """
import io, json, sys, time
from contextlib import redirect_stdout
t0 = time.perf_counter()
import seamless_config.cli.resolve as cli
import seamless_config.cli._scope
from seamless_config import session as S
from seamless_config.core import clusters, launch, layout, resolve, selection  # (not plan: resolve needs none)
import effects.parse_cache, effects.snapshot, effects.warm
spent = {"imports": time.perf_counter() - t0, "read": 0.0, "parse": 0.0}
def timed(name, fn):
    def run(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[name] += time.perf_counter() - t
    return run
S.read_snapshot = timed("read", S.read_snapshot)
S.Session.gather = timed("parse", S.Session.gather)
t1 = time.perf_counter()
with redirect_stdout(io.StringIO()):
    code = cli.main(sys.argv[1:])
assert code == 0, code
spent["stages"] = time.perf_counter() - t1 - spent["read"] - spent["parse"]
print(json.dumps(spent))
"""


def bench_typical(tmp: Path, reps: int, ours: Path, oracles: dict[str, Path],
                  ours_wheel: Path | None = None) -> dict[str, Any]:
    lay = layouts.typical_layout(tmp / "typical")
    home, work = lay["home"], lay["workdir"]
    args = ["--service", "hashserver", "--workdir", work]
    env = base_env(home)
    warm_dir = tmp / "cache-typical-warm"
    samples: dict[str, list[float]] = {"ours_cold": [], "ours_warm": []}
    if ours_wheel is not None:
        samples.update({"ours_wheel_cold": [], "ours_wheel_warm": []})
    samples.update({f"reference_{k}": [] for k in oracles})
    outputs: dict[str, Any] = {}

    def run_ours(cache: Path, venv: Path = ours, name: str = "ours") -> float:
        e = dict(env, SEAMLESS_CONFIG_CACHE=str(cache))
        t, p = timed_run([venv_bin(venv, "seamless-service-resolve"), *args], e, work)
        if p.returncode != 0:
            raise SystemExit(f"ours failed: {p.stderr}")
        outputs[name] = json.loads(p.stdout)
        return t

    def run_ref(name: str, venv: Path) -> float:
        t, p = timed_run([venv_bin(venv, "seamless-service-resolve"), *args], env, work)
        if p.returncode != 0:
            raise SystemExit(f"reference ({name}) failed: {p.stderr}")
        outputs[f"reference_{name}"] = json.loads(p.stdout)
        return t

    # one untimed round first (fills the OS file cache and the warm parse cache)
    run_ours(warm_dir)
    if ours_wheel is not None:
        run_ours(warm_dir, ours_wheel, "ours_wheel")
    for name, venv in oracles.items():
        run_ref(name, venv)
    for i in range(reps):
        cold_dir = tmp / f"cache-typical-cold-{i}"
        samples["ours_cold"].append(run_ours(cold_dir))
        shutil.rmtree(cold_dir, ignore_errors=True)
        samples["ours_warm"].append(run_ours(warm_dir))
        if ours_wheel is not None:
            samples["ours_wheel_cold"].append(run_ours(cold_dir, ours_wheel, "ours_wheel"))
            shutil.rmtree(cold_dir, ignore_errors=True)
            samples["ours_wheel_warm"].append(run_ours(warm_dir, ours_wheel, "ours_wheel"))
        for name, venv in oracles.items():
            samples[f"reference_{name}"].append(run_ref(name, venv))
    same = {k: v == outputs["ours"] for k, v in outputs.items() if k != "ours"}
    splits = []
    for i in range(reps):
        cold_dir = tmp / f"cache-typical-split-{i}"
        p = subprocess.run([venv_bin(ours_wheel or ours, "python"), "-c", COLD_SPLIT, *args],
                           env=dict(env, SEAMLESS_CONFIG_CACHE=str(cold_dir)), cwd=work, capture_output=True,
                           text=True, timeout=120)
        shutil.rmtree(cold_dir, ignore_errors=True)
        if p.returncode != 0:
            raise SystemExit(f"cold split failed: {p.stderr}")
        splits.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {
        "cold_split": {k: stats([x[k] for x in splits]) for k in splits[0]},
        "layout_lines": layouts.typical_line_count(),
        "command": "seamless-service-resolve " + " ".join(args[:2]) + " --workdir <project>",
        "timings": {k: stats(v) for k, v in samples.items()},
        "output_equal_to_reference": same,
        "output": outputs["ours"],
    }


# --------------------------------------------------------------------------
# 2. YAML parse scaling


def bench_yaml_scaling(reps: int, sizes: tuple[int, ...]) -> dict[str, Any]:
    import math

    from seamless_config.core.yamltree import parse_strict, parse_yaml

    out: dict[str, Any] = {}
    for parser, parse in (("libyaml", parse_yaml), ("strictyaml", parse_strict)):
        parse("warmup.yaml", layouts.yaml_of_lines(36)).unwrap()  # imports the parser
        sizes_out: dict[str, Any] = {}
        for n in sizes:
            text = layouts.yaml_of_lines(n)
            assert text.count("\n") == n
            r = reps if n <= 400 else max(3, min(reps, 7))
            samples = []
            for _ in range(r):
                t, res = timed_call(lambda n=n, text=text, parse=parse: parse(f"lines-{n}.yaml", text))
                res.unwrap()
                samples.append(t)
            st = stats(samples)
            st["ms_per_line"] = 1000 * st["median"] / n
            sizes_out[str(n)] = st
        # growth exponent between the smallest and largest size: t ~ n^k
        a, b = sizes_out[str(sizes[0])]["median"], sizes_out[str(sizes[-1])]["median"]
        out[parser] = {"sizes": sizes_out, "growth_exponent": math.log(b / a) / math.log(sizes[-1] / sizes[0])}
    return out


# --------------------------------------------------------------------------
# 3. large layout


def bench_large(tmp: Path, reps: int, ours: Path, oracles: dict[str, Path], nclusters: int, depth: int) -> dict[str, Any]:
    import attrs
    from returns.result import Success

    from effects.parse_cache import ParseCache
    from effects.snapshot import read_snapshot
    from seamless_config.core.layout import parse_bytes
    from seamless_config.core.resolve import resolve
    from seamless_config.core.selection import Selection

    t0 = time.perf_counter()
    lay = layouts.large_layout(tmp / "large", nclusters=nclusters, depth=depth)
    gen_time = time.perf_counter() - t0
    home, work = lay["home"], lay["workdir"]
    env = base_env(home)
    cache = tmp / "cache-large"
    argv = [venv_bin(ours, "seamless-service-resolve"), "--service", "hashserver", "--workdir", work]
    result: dict[str, Any] = {"clusters": nclusters, "queues_per_cluster": 10, "depth": depth,
                              "generate_s": gen_time}

    # cold parse, once: a new process with an empty cache (this fills the cache)
    log("  large: cold parse (once)...")
    t, p = timed_run(argv, dict(env, SEAMLESS_CONFIG_CACHE=str(cache)), work)
    if p.returncode != 0:
        raise SystemExit(f"ours failed on the large layout: {p.stderr}")
    result["cold_cli_s"] = t
    result["output"] = json.loads(p.stdout)
    nfiles = sum(1 for _ in cache.rglob("*.json"))
    result["cache_entries"] = nfiles
    result["cache_bytes"] = sum(f.stat().st_size for f in cache.rglob("*.json"))

    # in-process parse cost of a sample of cluster files (per-file figure)
    snap_full = read_snapshot(work, home=home, environ={})
    sample = snap_full.cluster_files[:20]
    t, _ = timed_call(lambda: [parse_bytes(f.path, f.data).unwrap() for f in sample])
    result["parse_per_cluster_file_s"] = t / len(sample)

    # pre-parsed trees, from the (now warm) cache
    pc = ParseCache(str(cache))
    trees: dict[str, Any] = {}
    for f in snap_full.cluster_files:
        trees[f.path] = pc.parse(f.path, f.data, parse_bytes)
    for d in snap_full.chain:
        for f in d.files():
            trees[f.path] = pc.parse(f.path, f.data, parse_bytes)
    assert pc.misses == 0, "the cold run should have filled the cache"

    def parse(path: str, data: bytes) -> Any:
        return trees[path]

    # pure stages: grid of cluster counts x chain depths
    grid: dict[str, Any] = {}
    counts = [n for n in (10, 100, 1000) if n <= nclusters]
    depths = [d for d in (1, 10, 50) if d <= depth]
    for dd in depths:
        wd = Path(lay["workdir"]).parents[depth - dd]  # the directory at chain depth dd
        snap_d = read_snapshot(str(wd), home=home, environ={})
        for n in counts:
            snap = attrs.evolve(snap_d, cluster_files=snap_d.cluster_files[:n])
            res = resolve(snap, Selection(), parse)
            if not isinstance(res, Success):
                raise SystemExit(f"pure resolve failed: {res.failure()}")
            samples = []
            for _ in range(reps):
                t, _ = timed_call(lambda snap=snap: resolve(snap, Selection(), parse))
                samples.append(t)
            grid[f"{n}x{dd}"] = {"clusters": n, "depth": dd, **stats(samples)}
    result["pure"] = grid
    result["pure_full"] = grid.get(f"{max(counts)}x{max(depths)}")

    # pure stages on validated parse results: what the parse cache hands out for home cluster
    # files that validated before (Prevalidated; a cluster is built only when it is used)
    pre: dict[str, Any] = {}
    cluster_paths = {f.path for f in snap_full.cluster_files}
    first = resolve(snap_full, Selection(), parse)  # validates every file once, as a first run does
    assert isinstance(first, Success)
    for f in snap_full.cluster_files:
        pc.mark_valid(f.data)
    for path, f in ((f.path, f) for f in snap_full.cluster_files):
        pre[path] = pc.parse(path, f.data, parse_bytes, prevalidated=True)
    for d in snap_full.chain:
        for f in d.files():
            pre[f.path] = trees[f.path]

    def parse_pre(path: str, data: bytes) -> Any:
        return pre[path]

    assert all(type(pre[p].unwrap()).__name__ == "Prevalidated" for p in cluster_paths)
    samples = []
    for _ in range(reps):
        t, _ = timed_call(lambda: resolve(snap_full, Selection(), parse_pre))
        samples.append(t)
    result["pure_prevalidated"] = stats(samples)
    t, _ = timed_call(lambda: read_snapshot(work, home=home, environ={}))
    result["read_snapshot_s"] = t

    # warm: new process (CLI)
    log("  large: warm CLI...")
    samples = []
    for _ in range(reps):
        t, p = timed_run(argv, dict(env, SEAMLESS_CONFIG_CACHE=str(cache)), work)
        if p.returncode != 0:
            raise SystemExit(p.stderr)
        samples.append(t)
    result["warm_cli"] = stats(samples)

    # warm: in-process Session().resolve(), new Session each time (empty memory cache, warm disk cache)
    log("  large: warm in-process...")
    from seamless_config.session import Session

    saved = {k: os.environ.get(k) for k in ("HOME", "SEAMLESS_CONFIG_CACHE", "SEAMLESS_CACHE")}
    os.environ["HOME"] = home
    os.environ["SEAMLESS_CONFIG_CACHE"] = str(cache)
    os.environ.pop("SEAMLESS_CACHE", None)
    try:
        samples = []
        for _ in range(reps):
            t, r = timed_call(lambda: Session().resolve(workdir=work))
            samples.append(t)
        result["warm_in_process"] = stats(samples)
        # the same, with the session's in-memory cache kept (second resolve in one process)
        s = Session()
        s.resolve(workdir=work)
        samples = []
        for _ in range(reps):
            t, r = timed_call(lambda: s.resolve(workdir=work))
            samples.append(t)
        result["warm_in_process_same_session"] = stats(samples)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    # the reference on the same layout (for scale), fewer repetitions
    ref: dict[str, Any] = {}
    for name, venv in oracles.items():
        rargv = [venv_bin(venv, "seamless-service-resolve"), "--service", "hashserver", "--workdir", work]
        samples = []
        out = None
        for _ in range(max(3, reps // 2)):
            t, p = timed_run(rargv, env, work)
            if p.returncode != 0:
                out = {"error": p.stderr.strip().splitlines()[-1:] }
                break
            out = json.loads(p.stdout)
            samples.append(t)
        ref[name] = {"timings": stats(samples) if samples else None, "output_equal": out == result["output"],
                     "error": out.get("error") if isinstance(out, dict) and "error" in out else None}
    result["reference"] = ref
    return result


# --------------------------------------------------------------------------
# 4. import time


def bench_import(reps: int, ours: Path, oracles: dict[str, Path], cwd: str,
                 ours_wheel: Path | None = None) -> dict[str, Any]:
    venvs = {"ours": ours, **({"ours_wheel": ours_wheel} if ours_wheel else {}),
             **{f"reference_{k}": v for k, v in oracles.items()}}
    env = base_env(os.environ.get("HOME", "/tmp"))
    samples: dict[str, list[float]] = {}
    for name in venvs:
        samples[f"{name}_import"] = []
        samples[f"{name}_python_pass"] = []
        if name.startswith("ours"):
            for lib in LIBRARIES:
                samples[f"{name}_{lib}"] = []
    for i in range(reps + 1):  # round 0 is untimed (fills the bytecode cache)
        for name, venv in venvs.items():
            py = venv_bin(venv, "python")
            t, p = timed_run([py, "-c", "import seamless_config"], env, cwd)
            if p.returncode != 0:
                raise SystemExit(f"import failed in {name}: {p.stderr}")
            t2, _ = timed_run([py, "-c", "pass"], env, cwd)
            if i:
                samples[f"{name}_import"].append(t)
                samples[f"{name}_python_pass"].append(t2)
            if name.startswith("ours"):
                for lib, code in LIBRARIES.items():
                    t3, p = timed_run([py, "-c", code], env, cwd)
                    if p.returncode != 0:
                        raise SystemExit(f"{code} failed in {name}: {p.stderr}")
                    if i:
                        samples[f"{name}_{lib}"].append(t3)
    return {k: stats(v) for k, v in samples.items()}


#: the design's libraries alone, in a new process: the floor under any cold run that parses and
#: resolves (the pure stages need all three), and what returns adds to it
LIBRARIES = {
    "libraries": "import attrs, yaml, returns.result",
    "libraries_without_returns": "import attrs, yaml",
}


# --------------------------------------------------------------------------
# report


def fmt(s: dict[str, Any] | None, unit: str = "s") -> str:
    if not s:
        return "n/a"
    if unit == "ms":
        return f"{1000 * s['median']:.1f} ms ({1000 * s['min']:.1f}–{1000 * s['max']:.1f})"
    return f"{s['median']:.3f} s ({s['min']:.3f}–{s['max']:.3f})"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_markdown(res: dict[str, Any], path: Path) -> None:
    L: list[str] = []
    meta = res["meta"]
    L.append("# seamless-config benchmarks\n")
    L.append(f"Run {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']}, "
             f"commit {meta['commit']}. Load average before/after: {meta['loadavg_before']} / {meta['loadavg_after']}. "
             f"Medians of {meta['reps']} runs, (min–max) in brackets. "
             f"Bytecode cache for the measured processes: {'on (private PYTHONPYCACHEPREFIX)' if meta.get('bytecode_cache') else 'off'}. "
             "The machine is shared with other test runs: "
             "figures are noisy; re-run `python benchmarks/run_all.py` to check.\n")
    if "typical" in res:
        ty = res["typical"]
        tm = ty["timings"]
        L.append(f"## 1. `seamless-service-resolve --service hashserver` on a typical project ({ty['layout_lines']} lines)\n")
        L.append("Each run is a new process. Cold: empty parse cache directory; warm: cache filled.\n")
        L.append("| variant | wall time |")
        L.append("| --- | --- |")
        for k, v in tm.items():
            L.append(f"| {k} | {fmt(v)} |")
        L.append("")
        for line in res["targets"]["typical"]:
            L.append(f"- {line}")
        L.append(f"- output equal to the reference's: {ty['output_equal_to_reference']}")
        sp = ty["cold_split"]
        L.append("- a cold run, split (in process, medians): " + ", ".join(
            f"{k} {1000 * v['median']:.1f} ms" for k, v in sp.items())
            + " (plus the interpreter's start, `python -c pass`, in section 4)")
        L.append("")
    if "yaml" in res:
        y = res["yaml"]
        L.append("## 2. YAML parse scaling (in-process): a clean file (`parse_yaml`, libyaml) and one "
                 "that is not (`parse_strict`, strictyaml)\n")
        L.append("| lines | libyaml | ms per line | strictyaml | ms per line |")
        L.append("| --- | --- | --- | --- | --- |")
        for n in y["libyaml"]["sizes"]:
            a, b = y["libyaml"]["sizes"][n], y["strictyaml"]["sizes"][n]
            L.append(f"| {n} | {fmt(a, 'ms')} | {a['ms_per_line']:.3f} | {fmt(b, 'ms')} | {b['ms_per_line']:.3f} |")
        L.append(f"\nGrowth exponent (t ~ n^k, smallest to largest): k = {y['libyaml']['growth_exponent']:.2f} "
                 f"(libyaml), {y['strictyaml']['growth_exponent']:.2f} (strictyaml)\n")
    if "large" in res:
        lg = res["large"]
        L.append(f"## 3. Large layout: {lg['clusters']} clusters x {lg['queues_per_cluster']} queues "
                 f"(one file each), inheritance chain of {lg['depth']} directories\n")
        L.append("| measurement | time |")
        L.append("| --- | --- |")
        L.append(f"| cold parse, whole resolution in a new process (once) | {lg['cold_cli_s']:.2f} s |")
        L.append(f"| in-process parse of one cluster file (~{layouts.cluster_file(0).count(chr(10))} lines) "
                 f"| {1000 * lg['parse_per_cluster_file_s']:.1f} ms |")
        L.append(f"| pure stages (`core.resolve.resolve`, pre-parsed trees, every cluster validated) | {fmt(lg['pure_full'])} |")
        if "pure_prevalidated" in lg:
            L.append("| pure stages on validated parse results (the parse cache's `Prevalidated` cluster files) | "
                     f"{fmt(lg['pure_prevalidated'])} |")
        L.append(f"| warm parse cache, new process (CLI) | {fmt(lg['warm_cli'])} |")
        L.append(f"| warm parse cache, in-process `Session().resolve()` | {fmt(lg['warm_in_process'])} |")
        L.append(f"| same Session again (in-memory cache) | {fmt(lg['warm_in_process_same_session'])} |")
        L.append(f"| read_snapshot (file reads) | {1000 * lg['read_snapshot_s']:.1f} ms |")
        for name, r in lg["reference"].items():
            L.append(f"| reference ({name}), new process | "
                     f"{fmt(r['timings']) if r['timings'] else 'failed: ' + str(r['error'])} |")
        L.append(f"\nParse cache: {lg['cache_entries']} entries, {lg['cache_bytes'] / 1e6:.1f} MB.\n")
        L.append("Pure-stage time by size (median ms):\n")
        depths = sorted({v["depth"] for v in lg["pure"].values()})
        counts = sorted({v["clusters"] for v in lg["pure"].values()})
        L.append("| clusters \\ depth | " + " | ".join(str(d) for d in depths) + " |")
        L.append("| --- |" + " --- |" * len(depths))
        for n in counts:
            row = [f"{1000 * lg['pure'][f'{n}x{d}']['median']:.1f}" for d in depths]
            L.append(f"| {n} | " + " | ".join(row) + " |")
        L.append("")
        for line in res["targets"]["large"]:
            L.append(f"- {line}")
        L.append("")
    if "import" in res:
        L.append("## 4. `python -c \"import seamless_config\"` (new process)\n")
        L.append("| venv | import seamless_config | python -c pass (baseline) | import attrs, yaml, returns.result "
                 "| import attrs, yaml |")
        L.append("| --- | --- | --- | --- | --- |")
        names = sorted({k.rsplit("_import", 1)[0] for k in res["import"] if k.endswith("_import")})
        for n in names:
            libs = " | ".join(fmt(res["import"].get(f"{n}_{lib}")) if f"{n}_{lib}" in res["import"] else "—"
                              for lib in LIBRARIES)
            L.append(f"| {n} | {fmt(res['import'][n + '_import'])} | {fmt(res['import'][n + '_python_pass'])} | {libs} |")
        L.append("")
        L.append("The design's three libraries alone take most of a cold resolve's budget: a cold "
                 "`seamless-service-resolve` needs them all (PyYAML to parse, attrs and returns for the "
                 "pure stages).")
        L.append("")
    path.write_text("\n".join(L) + "\n")


def evaluate(res: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if "typical" in res:
        tm = res["typical"]["timings"]
        lines = []
        for variant in ("ours_cold", "ours_wheel_cold"):
            if variant not in tm:
                continue
            cold = tm[variant]["median"]
            lines.append(f"target {variant} ≤ {TARGETS['typical_cold_max_s']} s: {cold:.3f} s — "
                         f"{verdict(cold <= TARGETS['typical_cold_max_s'])}")
            for k, v in tm.items():
                if k.startswith("reference_"):
                    ratio = cold / v["median"]
                    lines.append(f"target {variant} ≤ 1/5 of {k}: ratio {ratio:.2f} — "
                                 f"{verdict(ratio <= TARGETS['typical_ratio_max'])}")
        for venv in ("ours", "ours_wheel"):
            warm, base = tm.get(f"{venv}_warm"), res.get("import", {}).get(f"{venv}_python_pass")
            if warm and base:
                ratio = warm["median"] / base["median"]
                lines.append(f"target {venv}_warm ≤ {TARGETS['typical_warm_max_ratio']:g}x `python -c pass`: "
                             f"{warm['median']:.3f} s / {base['median']:.3f} s = {ratio:.1f}x — "
                             f"{verdict(ratio <= TARGETS['typical_warm_max_ratio'])}")
        out["typical"] = lines
    if "large" in res:
        lg = res["large"]
        pure = lg["pure_full"]["median"]
        lines = [f"target pure stages < {TARGETS['large_pure_max_s']} s, from raw trees (every cluster validated): "
                 f"{pure:.3f} s — {verdict(pure < TARGETS['large_pure_max_s'])}"]
        if "pure_prevalidated" in lg:
            pv = lg["pure_prevalidated"]["median"]
            lines.append(f"target pure stages < {TARGETS['large_pure_max_s']} s, from validated parse results: "
                         f"{pv:.3f} s — {verdict(pv < TARGETS['large_pure_max_s'])}")
        for k in ("warm_cli", "warm_in_process"):
            m = lg[k]["median"]
            lines.append(f"target warm whole resolution < {TARGETS['large_warm_max_s']} s ({k}): {m:.3f} s — "
                         f"{verdict(m < TARGETS['large_warm_max_s'])}")
        out["large"] = lines
    return out


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=11, help="repetitions per measurement (default 11)")
    ap.add_argument("--quick", action="store_true", help="smaller large layout (100 clusters, depth 10), 3 reps")
    ap.add_argument("--ours-venv", default=str(ROOT / ".venv"))
    ap.add_argument("--oracle-venv", default=str(ROOT / ".venv-oracle"),
                    help="venv with seamless-config 0.3.2 (only)")
    ap.add_argument("--oracle-rt-venv", default=os.environ.get("SEAMLESS_BENCH_ORACLE_RT", str(ROOT / ".venv-oracle-rt")),
                    help="optional venv with seamless-config 0.3.2 plus seamless-transformer (a runtime environment)")
    ap.add_argument("--ours-wheel-venv", default=os.environ.get("SEAMLESS_BENCH_OURS_WHEEL", str(ROOT / ".venv-wheel")),
                    help="venv with this project installed as users get it, `pip install .` (rebuilt at every run; "
                         "'' to skip)")
    ap.add_argument("--only", default="typical,yaml,large,import", help="comma-separated sections")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="run the measured processes with PYTHONDONTWRITEBYTECODE=1 (ours then compiles from source)")
    args = ap.parse_args(argv)

    reps = 3 if args.quick else args.reps
    nclusters, depth = (100, 10) if args.quick else (1000, 50)
    ours = Path(args.ours_venv)
    oracles = {}
    if Path(args.oracle_venv, "bin", "seamless-service-resolve").exists():
        oracles["0.3.2"] = Path(args.oracle_venv)
    else:
        log(f"no reference in {args.oracle_venv}; create it with "
            "`python3 -m venv .venv-oracle && .venv-oracle/bin/pip install seamless-config==0.3.2`")
    if args.oracle_rt_venv and Path(args.oracle_rt_venv, "bin", "seamless-service-resolve").exists():
        oracles["0.3.2+transformer"] = Path(args.oracle_rt_venv)
    ours_wheel = Path(args.ours_wheel_venv) if args.ours_wheel_venv else None
    if ours_wheel is not None:
        from init_bench import ensure_wheel_venv

        ensure_wheel_venv(ours_wheel)
    if ours_wheel is not None and not Path(ours_wheel, "bin", "seamless-service-resolve").exists():
        log(f"no seamless-service-resolve in {ours_wheel}; ignored")
        ours_wheel = None
    sections = set(args.only.split(","))

    res: dict[str, Any] = {"meta": {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": platform.machine() + " " + platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": git_commit(),
        "reps": reps,
        "loadavg_before": loadavg(),
        "oracles": {k: str(v) for k, v in oracles.items()},
        "ours_venv": str(ours),
        "ours_wheel_venv": str(ours_wheel) if ours_wheel else None,
        "targets": TARGETS,
    }}
    tmp = Path(tempfile.mkdtemp(prefix="seamless-config-bench-"))
    global PYCACHE_PREFIX
    if not args.no_bytecode_cache:
        PYCACHE_PREFIX = str(tmp / "pycache")
    res["meta"]["bytecode_cache"] = PYCACHE_PREFIX is not None
    try:
        if "typical" in sections:
            log("typical layout (CLI)...")
            res["typical"] = bench_typical(tmp, reps, ours, oracles, ours_wheel)
        if "yaml" in sections:
            log("YAML parse scaling...")
            res["yaml"] = bench_yaml_scaling(reps, (36, 106, 351, 1050))
        if "large" in sections:
            log("large layout...")
            res["large"] = bench_large(tmp, reps, ours, oracles, nclusters, depth)
        if "import" in sections:
            log("import time...")
            res["import"] = bench_import(reps, ours, oracles, str(tmp), ours_wheel)
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    res["meta"]["loadavg_after"] = loadavg()
    res["targets"] = evaluate(res)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    write_markdown(res, out / "latest.md")
    print((out / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
