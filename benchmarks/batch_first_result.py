"""Time from ``init()`` to the first transformation result on a single-node SLURM or OAR, ours and 0.3.2's.

    .venv/bin/python benchmarks/batch_first_result.py --system slurm [--reps 3] [--ref-venv /tmp/bench-oracle-slurm]
    .venv/bin/python benchmarks/batch_first_result.py --system oar [--reps 3] [--ref-venv /opt/seamless-config-oar/ref/venv]

Starts the single-node batch system of the tests (``tests/slurm/slurmlab.py`` or
``tests/oar/oarlab.py``; needs root and the Debian packages ``make test``
installs). Each run is a new process with a new HOME and empty storage:
``init()`` brings up hashserver, database and the daskserver
(seamless-dask-wrapper with dask-jobqueue's SLURMCluster or OARCluster), then one
transformation runs, which makes the wrapper submit a worker job. Measured
inside the workflow: ``init()`` alone, and ``init()`` to the first result. A
second process (everything running, the result in the database) is measured
too. Everything started is stopped after each run. On OAR everything runs as
the OAR test user (OAR refuses root's jobs), from venvs that user can run: ours
is the one the OAR tests build, the reference's is ``--ref-venv``.

Both implementations read the same cluster file, with ``local_cluster:``:
0.3.2 launches a frontend with a ``hostname`` over SSH, and only a
``local_cluster`` lets it launch on this machine without an SSH server. 0.3.2
requires ``conda`` for a daskserver and then activates it; stubs stand in for
conda, for an environment ``bench`` that is the implementation's venv: a
``conda`` on the PATH (``run -n bench CMD`` runs CMD; ours uses it) and, for
remote-http-launcher's login-shell activation, a ``conda.sh`` named in its
conda cache whose ``conda activate`` puts the venv on the PATH. Both set
``CONDA_PREFIX``, which seamless-dask-wrapper passes on to OAR jobs (OAR does
not pass the submitter's environment). The reference runs from ``--ref-venv``:
seamless-config 0.3.2, seamless-transformer, seamless-dask, dask-jobqueue,
hashserver, seamless-database, remote-http-launcher. Results go to
``benchmarks/results/{slurm,oar}_first_result.{json,md}``.
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
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from oar import oarlab  # noqa: E402
from slurm import slurmlab  # noqa: E402

PORT0 = 54100

CLUSTERS = """\
local_cluster: {system}lab
{system}lab:
  type: {system}{extra}
  frontends:
    - hostname: localhost
      hashserver: {{bufferdir: {root}/buffers, network_interface: 127.0.0.1, port_start: {p}, port_end: {p19}}}
      database: {{database_dir: {root}/db, network_interface: 127.0.0.1, port_start: {p20}, port_end: {p39}}}
      daskserver: {{network_interface: 127.0.0.1, port_start: {p40}, port_end: {p99}}}
  queues:
    small:
      conda: bench
      cores: 1
      memory: 500MB
      walltime: "00:10:00"
  default_queue: small
"""
# remote-http-launcher (0.3.2's launcher) activates conda in a login shell: its cache names the
# script to source; this one defines a 'conda' whose 'activate bench' puts the environment on the PATH
CONDA_SH = """\
conda() {{
  if [ "$1" = activate ]; then export PATH="{prefix}/bin:$PATH" CONDA_PREFIX="{prefix}"; fi
}}
"""
PROJECT = "- project: bench\n- cluster: {system}lab\n- execution: remote\n- remote: daskserver\n"
CONDA_STUB = """\
#!/bin/sh
# conda stand-in for an environment 'bench' that is the PATH itself:
# 'activate' does nothing, 'run -n bench [--no-capture-output] CMD...' runs CMD
case "$1" in
  env) echo '{"envs": ["/opt/conda/envs/bench"]}' ;;
  info) echo '{"envs": ["/opt/conda/envs/bench"], "root_prefix": "/opt/conda"}' ;;
  run)
    export CONDA_PREFIX="{prefix}"
    shift
    while [ $# -gt 0 ]; do
      case "$1" in
        -n|--name) shift 2 ;;
        --no-capture-output|--live-stream) shift ;;
        *) exec "$@" ;;
      esac
    done ;;
esac
exit 0
"""
WORKFLOW = '''
import json, sys, time
t0 = time.monotonic()
import seamless.config
from seamless.transformer import delayed
seamless.config.init()
t_init = time.monotonic() - t0

@delayed
def add(a, b):
    import os
    return [a + b, os.environ.get("SLURM_JOB_ID") or os.environ.get("OAR_JOB_ID")]

result = add(2, 3).run()
t_first = time.monotonic() - t0
print("BENCH " + json.dumps({"init": t_init, "first_result": t_first, "result": result}), flush=True)
import os
os._exit(0)  # the runtime's shutdown is not what is measured
'''


def stats(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def _processes_naming(text: str) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd and int(d) != os.getpid():
                pids.append(int(d))
    return pids


def stop_services(home: Path) -> None:
    """Stop every service whose state lives under ``home`` (by the pids in the state files and
    by the processes whose command line names ``home``)."""
    pids = set(_processes_naming(str(home) + os.sep))
    for f in (home / ".remote-http-launcher" / "server").glob("*.json"):
        try:
            pid = json.loads(f.read_text()).get("pid")
        except (OSError, ValueError):
            continue
        if isinstance(pid, int) and pid > 1:
            pids.add(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)


class Lab:
    """The single-node batch system of the tests, and how a benchmark run uses it."""

    def __init__(self, system: str, root: Path) -> None:
        self.system = system
        if system == "slurm":
            self.batch = slurmlab.SingleNodeSlurm(root / "slurm")
            self.user = None
        else:
            self.batch = oarlab.SingleNodeOar(root / "oar")
            self.user = oarlab.USER

    def missing(self) -> list[str]:
        return (slurmlab if self.system == "slurm" else oarlab).missing_binaries()

    def workspace(self, name: str, tmp: Path) -> Path:
        """Where one run keeps its HOME, project and storage (on OAR: the user's, not under /tmp)."""
        if self.user is None:
            return tmp / name
        return self.batch.workspace(name)

    def env(self, env: dict[str, str], cwd: Path) -> dict[str, str]:
        if self.system == "slurm":
            return self.batch.env(env)
        return {**env, "USER": self.user, "LOGNAME": self.user, "PWD": str(cwd)}

    def as_user(self) -> dict:
        if self.user is None:
            return {}
        import pwd

        pw = pwd.getpwnam(self.user)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def cluster_extra(self) -> str:
        return f"\n  memory_per_core_property_name: {oarlab.MEMCORE}" if self.system == "oar" else ""

    def cancel_all(self) -> None:
        if self.system == "slurm":
            self.batch.cancel_all()
        else:
            self.batch.delete_all_jobs()


def one_run(impl: str, venv: Path, lab: Lab, root: Path) -> dict:
    home, project, stub = root / "home", root / "project", root / "stub"
    for d in (home / ".seamless", project, stub):
        d.mkdir(parents=True)
    p = PORT0
    (home / ".seamless" / "clusters.yaml").write_text(CLUSTERS.format(
        system=lab.system, extra=lab.cluster_extra(),
        root=root, p=p, p19=p + 19, p20=p + 20, p39=p + 39, p40=p + 40, p99=p + 99))
    (project / "seamless.yaml").write_text(PROJECT.format(system=lab.system))
    (stub / "conda").write_text(CONDA_STUB.replace("{prefix}", str(venv)))
    (stub / "conda").chmod(0o755)
    (stub / "conda.sh").write_text(CONDA_SH.format(prefix=venv))
    rhl = home / ".remote-http-launcher"
    rhl.mkdir()
    (rhl / "conda-setup.json").write_text(json.dumps({"conda_source": str(stub / "conda.sh"), "conda_base": "/opt/conda", "envs": ["/opt/conda/envs/bench"]}))
    (project / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    if lab.user is not None:
        oarlab.SingleNodeOar.give(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS_", "REMOTE_HTTP", "CONDA", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=os.pathsep.join([str(venv / "bin"), str(stub), "/usr/local/bin", "/usr/bin", "/bin"]),
               PYTHONUNBUFFERED="1")
    env = lab.env(env, project)
    out = {}
    try:
        for phase in ("cold", "warm"):
            t0 = time.monotonic()
            cp = subprocess.run([str(venv / "bin" / "python"), "workflow.py"], cwd=project, env=env,
                                capture_output=True, text=True, timeout=400, **lab.as_user())
            wall = time.monotonic() - t0
            line = next((x for x in cp.stdout.splitlines() if x.startswith("BENCH ")), None)
            if cp.returncode != 0 or line is None:
                raise RuntimeError(f"{impl} {phase}: exit {cp.returncode}\n{cp.stdout[-2000:]}\n{cp.stderr[-4000:]}")
            r = json.loads(line[len("BENCH "):])
            if phase == "cold":
                assert r["result"][0] == 5 and r["result"][1], f"{impl}: the result did not come from a batch job: {r}"
            out[phase] = {"init": r["init"], "first_result": r["first_result"], "process": wall,
                          "job": r["result"][1]}
    finally:
        stop_services(home)
        lab.cancel_all()
    return out


REF_VENVS = {"slurm": Path("/tmp/bench-oracle-slurm"), "oar": Path("/opt/seamless-config-oar/ref/venv")}
TITLES = {"slurm": "SLURM", "oar": "OAR"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", choices=sorted(REF_VENVS), default="slurm")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ref-venv", type=Path, default=None)
    args = ap.parse_args()
    ref_venv = args.ref_venv or REF_VENVS[args.system]
    with tempfile.TemporaryDirectory(prefix=f"{args.system}-bench-") as tmp:
        lab = Lab(args.system, Path(tmp))
        if lab.missing():
            print(f"{TITLES[args.system]} binaries missing: {lab.missing()}", file=sys.stderr)
            return 1
        ours = ROOT / ".venv" if args.system == "slurm" else oarlab.SingleNodeOar.venv().parent
        impls = {"ours": ours}
        ref_note = None
        if (ref_venv / "bin" / "seamless-dask-wrapper").exists():
            impls["0.3.2"] = ref_venv
        else:
            ref_note = f"reference not run: {ref_venv} has no seamless-dask-wrapper"
        results: dict = {"system": args.system, "reps": args.reps, "runs": {k: [] for k in impls}, "errors": {}}
        lab.batch.start()
        try:
            for rep in range(args.reps):
                for impl, venv in impls.items():
                    if impl in results["errors"]:
                        continue
                    try:
                        r = one_run(impl, venv, lab, lab.workspace(f"bench-{impl.replace('.', '')}-{rep}", Path(tmp)))
                    except (RuntimeError, AssertionError, subprocess.TimeoutExpired) as exc:
                        results["errors"][impl] = str(exc)
                        print(f"{impl}: failed: {exc}", file=sys.stderr)
                        continue
                    results["runs"][impl].append(r)
                    print(f"{impl} rep {rep}: init {r['cold']['init']:.2f} s, first result "
                          f"{r['cold']['first_result']:.2f} s; warm {r['warm']['first_result']:.2f} s", flush=True)
        finally:
            lab.batch.stop()
    summary = {}
    for impl, runs in results["runs"].items():
        if runs:
            summary[impl] = {f"{phase}_{what}": stats([r[phase][what] for r in runs])
                             for phase in ("cold", "warm") for what in ("init", "first_result")}
    results["summary"] = summary
    if ref_note:
        results["errors"].setdefault("0.3.2", ref_note)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{args.system}_first_result.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# init() to first result on a single-node {TITLES[args.system]} (seconds, median [min-max])", "",
             f"{args.reps} runs each; cold: nothing running, empty storage; warm: a second process, "
             "services running, the result in the database.", "",
             "| measure | " + " | ".join(summary) + " |", "| --- |" + " --- |" * len(summary)]
    for key in ("cold_init", "cold_first_result", "warm_init", "warm_first_result"):
        cells = [f"{s[key]['median']:.2f} [{s[key]['min']:.2f}-{s[key]['max']:.2f}]" for s in summary.values()]
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(cells) + " |")
    for impl, err in results["errors"].items():
        lines += ["", f"{impl}: {err.splitlines()[0] if err else err}"]
    (out_dir / f"{args.system}_first_result.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
