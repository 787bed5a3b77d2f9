"""Bring-up benchmarks (issue: the effects shell): ours and seamless-config 0.3.2 side by side.

    .venv/bin/python benchmarks/init_bench.py [--reps 5] [--oracle-rt-venv .venv-oracle-rt]

Measured, each run a new process, medians with min and max:

1. cold ``seamless-init``: the services of a local cluster, none of them
   running (state removed between runs), in two set-ups:
   ``storage`` (hashserver + database; both implementations) and ``jobserver``
   (hashserver + database + jobserver; ours only: 0.3.2 requires ``conda`` for
   a jobserver, and its launcher then requires conda on the machine, which
   this one does not have);
2. warm ``seamless-init``: all of them running;
3. ``import seamless_config`` plus ``init()`` for a project without a cluster;
4. ``init()`` alone, in a process that imported the runtime, with every service
   up and unchanged (warm); the runs use byte-code caches, as users' do.

"ours" runs from the development venv (an editable install, whose import hook
costs every interpreter start ~40 ms); "ours_wheel" from a venv where this
project is installed as users get it, ``pip install .`` (created when missing,
``--ours-wheel-venv``; the services' binaries come from the development venv,
as for "ours").

Both implementations use a ``local_cluster:`` cluster: 0.3.2 launches a
frontend with a ``hostname`` over SSH (``ssh localhost``), and only a
``local_cluster`` lets it launch on this machine without an SSH server. The
reference needs the Seamless runtime next to it: ``--oracle-rt-venv`` names a
venv with ``seamless-config==0.3.2 seamless-transformer hashserver
seamless-database seamless-jobserver`` (created when missing).
Results go to ``benchmarks/results/init.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REF_PACKAGES = ["seamless-config==0.3.2", "seamless-transformer", "hashserver", "seamless-database",
                "seamless-jobserver", "remote-http-launcher"]

CLUSTERS = """\
local_cluster: lab
lab:
  type: local
  workers: 1
  frontends:
    - hostname: localhost
      hashserver:
        bufferdir: {root}/buffers
        network_interface: 127.0.0.1
        port_start: {p0}
        port_end: {p1}
      database:
        database_dir: {root}/db
        network_interface: 127.0.0.1
        port_start: {p2}
        port_end: {p3}
{jobserver}"""
JOBSERVER = """\
      jobserver:
        network_interface: 127.0.0.1
        port_start: {p4}
        port_end: {p5}
"""
PROJECTS = {
    "storage": "- project: bench\n- cluster: lab\n- execution: process\n",
    "jobserver": "- project: bench\n- cluster: lab\n- execution: remote\n- remote: jobserver\n",
}


def stats(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples),
            "samples": samples}


def ensure_ref_venv(path: Path) -> Path:
    if not (path / "bin" / "seamless-init").exists() or not (path / "bin" / "seamless-jobserver").exists():
        print(f"creating {path} (the reference with the Seamless runtime)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *REF_PACKAGES], check=True)
    return path


def ensure_wheel_venv(path: Path) -> Path:
    """A venv with this project installed from a wheel (rebuilt at every run: it must be this commit)."""
    path = path.absolute()  # pip runs in a build directory
    if not (path / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    with tempfile.TemporaryDirectory(prefix="wheel-build-") as build:
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", "--force-reinstall", "--no-cache-dir",
                        str(ROOT)], check=True, cwd=build)
    return path


def setup(root: Path, base_port: int, scenario: str) -> dict[str, str]:
    home = root / "home"
    proj = root / "project"
    (home / ".seamless").mkdir(parents=True, exist_ok=True)
    proj.mkdir(parents=True, exist_ok=True)
    ports = {f"p{i}": base_port + 100 * (i // 2) + (99 if i % 2 else 0) for i in range(6)}
    jobserver = JOBSERVER.format(**ports) if scenario == "jobserver" else ""
    (home / ".seamless" / "clusters.yaml").write_text(CLUSTERS.format(root=root, jobserver=jobserver, **ports))
    (proj / "seamless.yaml").write_text(PROJECTS[scenario])
    return {"home": str(home), "project": str(proj)}


def stop_all(home: str) -> None:
    server = Path(home) / ".remote-http-launcher" / "server"
    for f in server.glob("*.json"):
        try:
            pid = json.loads(f.read_text()).get("pid")
        except (OSError, ValueError):
            pid = None
        if isinstance(pid, int):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(pid, sig)
                except OSError:
                    pass
                time.sleep(0.3)
    for d in ("server", "client"):
        for f in (Path(home) / ".remote-http-launcher" / d).glob("*"):
            if f.is_file():
                f.unlink()


def run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return dt


IN_PROCESS = """
import time
import seamless, seamless.config
from seamless.transformer import delayed
t = time.perf_counter()
seamless.config.init()
print("INIT", time.perf_counter() - t)
import os
os._exit(0)
"""


def service_floor(venv: Path, env: dict[str, str], cwd: str) -> dict[str, float]:
    """Each service's own start, launched directly from its launch dict, along the dependency chain
    (``service_floor.py``): the least a cold bring-up can take."""
    proc = subprocess.run([str(venv / "bin" / "python"), str(HERE / "service_floor.py")], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"service_floor.py failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def in_process_init(venv: Path, env: dict[str, str], cwd: str) -> float:
    """Seconds ``seamless.config.init()`` takes after the runtime's imports (byte-code cached, as
    users run it: PYTHONDONTWRITEBYTECODE is dropped)."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([str(venv / "bin" / "python"), "-W", "ignore", "-c", IN_PROCESS], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("INIT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"in-process init() failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return float(line.split()[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ours-venv", default=str(ROOT / ".venv"))
    ap.add_argument("--oracle-rt-venv", default=str(ROOT / ".venv-oracle-rt"))
    ap.add_argument("--ours-wheel-venv", default=str(ROOT / ".venv-wheel"))
    args = ap.parse_args(argv)
    ours = Path(args.ours_venv)
    ref = ensure_ref_venv(Path(args.oracle_rt_venv))
    wheel = ensure_wheel_venv(Path(args.ours_wheel_venv))
    impls = {
        "ours": (ours, [str(ours / "bin" / "seamless-init")]),
        "ours_wheel": (wheel, [str(wheel / "bin" / "seamless-init")]),
        "reference_0.3.2": (ref, [str(ref / "bin" / "seamless-init")]),
    }

    results: dict[str, dict] = {}
    runs = [("storage", "ours"), ("storage", "ours_wheel"), ("storage", "reference_0.3.2"),
            ("jobserver", "ours"), ("jobserver", "ours_wheel")]
    with tempfile.TemporaryDirectory(prefix="init-bench-") as tmp:
        for n, (scenario, name) in enumerate(runs):
            venv, cmd = impls[name]
            r = setup(Path(tmp) / f"{scenario}-{name}", 56000 + 1000 * n, scenario)
            env = {k: v for k, v in os.environ.items() if k not in ("SEAMLESS_CACHE", "REMOTE_HTTP_LAUNCHER_DIR")}
            env.update(HOME=r["home"], PATH=f"{venv / 'bin'}:{ours / 'bin'}:{env.get('PATH', '')}",
                       SEAMLESS_CONFIG_CACHE=str(Path(tmp) / f"{scenario}-{name}" / "cache"))
            cold, warm, floors = [], [], []
            try:
                for _ in range(args.reps):
                    if name != "reference_0.3.2":
                        stop_all(r["home"])
                        floors.append(service_floor(venv, env, r["project"]))
                    stop_all(r["home"])
                    cold.append(run(cmd, env, r["project"]))
                    warm.append(run(cmd, env, r["project"]))
                    print(f"{scenario} {name}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s", flush=True)
                if floors:
                    results.setdefault(name, {})[f"floor_{scenario}"] = stats([f["floor"] for f in floors])
                    results[name][f"over_floor_{scenario}"] = stats([c - f["floor"] for c, f in zip(cold, floors, strict=True)])
                    results[name][f"floor_services_{scenario}"] = {
                        k: statistics.median(f[k] for f in floors) for k in floors[0] if k != "floor"}
                # the interpreter's own start, for the warm figure's ratio
                results.setdefault(name, {})[f"python_pass_{scenario}"] = stats(
                    [run([str(venv / "bin" / "python"), "-c", "pass"], env, r["project"]) for _ in range(args.reps)])
                # init() alone in a process that imported the runtime, every service up and unchanged
                # (not in the wheel venv: it has seamless-config alone, without the runtime)
                if name != "ours_wheel":
                    inproc = [in_process_init(venv, env, r["project"]) for _ in range(args.reps)]
                    results.setdefault(name, {})[f"warm_init_in_process_{scenario}"] = stats(inproc)
                    print(f"{scenario} {name}: warm init() in process {statistics.median(inproc) * 1000:.1f} ms",
                          flush=True)
            finally:
                stop_all(r["home"])
            results.setdefault(name, {})[f"cold_init_{scenario}"] = stats(cold)
            results[name][f"warm_init_{scenario}"] = stats(warm)
            if scenario == "storage":
                plain = Path(tmp) / f"plain-{name}"
                plain.mkdir()
                (plain / "seamless.yaml").write_text("- project: plain\n")
                script = "import seamless_config; seamless_config.init()"
                imp = [run([str(venv / "bin" / "python"), "-W", "ignore", "-c", script], env, str(plain))
                       for _ in range(args.reps * 2)]
                results[name]["import_init_no_cluster"] = stats(imp)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "init.json").write_text(json.dumps(results, indent=1))
    lines = ["# Bring-up benchmarks", "",
             f"Medians of {args.reps} runs (import+init: {args.reps * 2}), min–max in brackets; each run a new process.", "",
             "ours: the development venv (editable install); ours (wheel): `pip install .`, as users get it.", "",
             "| measurement | ours | ours (wheel) | reference 0.3.2 | ratio (ours / wheel to reference) |",
             "| --- | --- | --- | --- | --- |"]

    def cell(r: dict | None, why: str = "cannot run here (needs conda)") -> str:
        return f"{r['median']:.3f} s ({r['min']:.3f}–{r['max']:.3f})" if r else why

    for m in ("cold_init_storage", "warm_init_storage", "warm_init_in_process_storage", "cold_init_jobserver",
              "warm_init_jobserver", "warm_init_in_process_jobserver", "import_init_no_cluster"):
        o, w, rr = results["ours"][m], results["ours_wheel"].get(m), results["reference_0.3.2"].get(m)
        ratio = (f"{o['median'] / rr['median']:.2f} / " + (f"{w['median'] / rr['median']:.2f}" if w else "—")) if rr else "—"
        lines.append(f"| {m} | {cell(o)} | {cell(w, 'no runtime in this venv')} | {cell(rr)} | {ratio} |")
    ref = results["reference_0.3.2"]
    lines.append("")
    for m, frac, label in (("cold_init_storage", 0.5, "cold init at most half the reference's"),
                           ("warm_init_storage", 0.25, "warm init at most a quarter of the reference's")):
        for variant in ("ours", "ours_wheel"):
            ratio = results[variant][m]["median"] / ref[m]["median"]
            lines.append(f"- target {label} ({variant}): ratio {ratio:.2f} — {'met' if ratio <= frac else '**missed**'}")
    lines += ["", "The floor of a cold `seamless-init`: each service's command launched directly from its launch "
              "dict and timed to its first health answer, storage together, then the jobserver (which needs their "
              "addresses); measured before each cold run. Ours starts the jobserver's interpreter while storage "
              "comes up and gives it its parameters when they are known, so it can come in under that chain.", "",
              "| set-up | floor (ours_wheel) | per service | cold seamless-init (ours_wheel) | cold − floor, median |",
              "| --- | --- | --- | --- | --- |"]
    for scenario in ("storage", "jobserver"):
        rw = results["ours_wheel"]
        per = ", ".join(f"{k} {v:.2f} s" for k, v in rw[f"floor_services_{scenario}"].items())
        lines.append(f"| {scenario} | {cell(rw[f'floor_{scenario}'])} | {per} | {cell(rw[f'cold_init_{scenario}'])} "
                     f"| {rw[f'over_floor_{scenario}']['median']:+.3f} s |")
    lines.append("")
    for variant in ("ours", "ours_wheel"):
        over = results[variant]["over_floor_jobserver"]["median"]
        lines.append(f"- target cold init with jobserver at most 0.25 s over the floor ({variant}): "
                     f"{over:+.3f} s — {'met' if over <= 0.25 else '**missed**'}")
    for variant in ("ours", "ours_wheel"):
        rv = results[variant]
        ratio = rv["warm_init_storage"]["median"] / rv["python_pass_storage"]["median"]
        lines.append(f"- target warm seamless-init at most 2.5x `python -c pass` ({variant}): "
                     f"{rv['warm_init_storage']['median']:.3f} s / {rv['python_pass_storage']['median']:.3f} s = "
                     f"{ratio:.1f}x — {'met' if ratio <= 2.5 else '**missed**'}")
    w = results["ours"]["warm_init_in_process_storage"]["median"]
    lines.append(f"- target warm init() in process under 10 ms (ours): {w * 1000:.1f} ms — "
                 f"{'met' if w < 0.010 else '**missed**'}")
    (out / "init.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
