"""End-to-end support: real services, a private HOME, workflows in subprocesses.

Every environment (:class:`E2EEnv`) has its own HOME (so its own
``~/.remote-http-launcher``), its own inline local cluster on a block of ports
of its own, and its storage directories under a temporary directory. Workflows
run in subprocesses with the dev venv's Python, because the Seamless runtime
is process-global. The finalizer of every environment stops every service the
environment's HOME knows of (and any process whose command line names that
HOME), so nothing outlives a test, even a failing one.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from _services import (
    base_env,
    describe,
    port_ranges,
    run_in_session,
    service_logs,
    stop_groups,
    with_services,
)
from _services import group_alive as _group_alive  # noqa: F401 (the names this module always had)
from _services import killpg as _killpg  # noqa: F401
from _services import pgid as _pgid
from _services import processes as _processes
from _services import zombie as _zombie  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
SERVICE_BINARIES = ("hashserver", "seamless-database", "seamless-jobserver", "seamless-dask-wrapper")

#: ports: each environment gets a block of BLOCK ports, from PORT_BASE upward
#: (60100-60399 belong to the quickstart demo; 51000-51299 are used by others here)
PORT_BASE = 52000
BLOCK = 100
PORT_LIMIT = 60000
_blocks = itertools.count()

#: the line a workflow script prints its findings on
RESULT_TAG = "E2E-RESULT "


def missing_runtime() -> str | None:
    if not PYTHON.exists():
        return f"{PYTHON} does not exist (run `make venv`)"
    missing = [b for b in SERVICE_BINARIES if not (VENV_BIN / b).exists()]
    if missing:
        return f"service binaries missing from {VENV_BIN}: {', '.join(missing)} (pip install -e '.[runtime,dask]')"
    return None


def _port_block() -> int:
    """The first port of a block no other environment of this run uses (xdist workers too)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    m = re.search(r"(\d+)$", worker)
    worker_index = int(m.group(1)) if m else 0
    start = PORT_BASE + worker_index * 16 * BLOCK + next(_blocks) * BLOCK
    if start + BLOCK > PORT_LIMIT:
        raise RuntimeError("e2e port blocks exhausted")
    return start


class E2EEnv:
    """One isolated HOME + project + inline local cluster."""

    #: the venv whose interpreter and commands workflows run with, and the user they run as
    #: (None: this process's)
    venv_bin: Path = VENV_BIN
    run_as: str | None = None

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = re.sub(r"[^a-z0-9]", "", name.lower())[:20] or "e2e"
        self.home = root / "home"
        self.project_dir = root / "proj"
        self.bufferdir = root / "buffers"
        self.database_dir = root / "database"
        self.sidefile = root / "side-effects.txt"
        self.cluster = f"e2e{self.name}"
        self.project = f"p{self.name}"
        self.port0 = _port_block()
        # hashserver, database, jobserver, daskserver (the scheduler, its dashboard and the workers)
        self.ranges = port_ranges(self.port0, BLOCK)
        (self.home / ".seamless").mkdir(parents=True, exist_ok=True)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        self._scripts = itertools.count()

    # -- configuration -------------------------------------------------

    def configure(self, *, execution: str, remote: str | None = None, persistent: bool | None = None,
                  subproject: str | None = None, workers: int = 2) -> None:
        """Write seamless.yaml and seamless.profile.yaml."""
        lines = [f"- project: {self.project}"]
        if subproject:
            lines.append(f"- subproject: {subproject}")
        (self.project_dir / "seamless.yaml").write_text("\n".join(lines) + "\n")
        r = self.ranges
        profile = textwrap.dedent(f"""\
            - clusters:
                {self.cluster}:
                  type: local
                  tunnel: false
                  workers: {workers}
                  frontends:
                    - hostname: localhost
                      @SERVICES@
                  queues:
                    local:
                      # any name: the runtime refuses a daskserver without conda; without
                      # conda on this machine the launcher runs the wrapper from the PATH
                      conda: seamless-e2e-no-such-env
                      cores: 2
                      memory: 2GB
                      walltime: "01:00:00"
                  default_queue: local
            - cluster: {self.cluster}
            - execution: {execution}
            """)
        profile = with_services(profile, r, self.bufferdir, self.database_dir)
        if remote is not None:
            profile += f"- remote: {remote}\n"
        if persistent is not None:
            profile += f"- persistent: {'true' if persistent else 'false'}\n"
        (self.project_dir / "seamless.profile.yaml").write_text(profile)

    def storage_dir(self, kind: str, subproject: str | None = None, stage: str | None = None) -> Path:
        """``<bufferdir|database_dir>/<project>[/<subproject>][/STAGE-<stage>]``."""
        base = self.bufferdir if kind == "buffer" else self.database_dir
        p = base / self.project
        if subproject:
            p = p / subproject
        if stage:
            p = p / f"STAGE-{stage}"
        return p

    # -- processes -----------------------------------------------------

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = base_env(self.home, self.venv_bin, drop=("MAMBA_EXE",))
        for k, v in overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def run(self, argv: list[str], *, timeout: float = 180, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run a command in its own process group; whatever it leaves in that group is killed."""
        return run_in_session(argv, cwd=cwd or self.project_dir, env=env or self.env(), timeout=timeout,
                              user=self.run_as)

    def python(self, code: str, *args: str, timeout: float = 240, env: dict[str, str] | None = None,
               check: bool = True) -> subprocess.CompletedProcess:
        """Write ``code`` as a script into the project directory and run it with the venv's Python."""
        script = self.project_dir / f"e2e_script_{next(self._scripts)}.py"
        script.write_text(textwrap.dedent(code))
        cp = self.run([str(self.venv_bin / "python"), str(script), *args], timeout=timeout, env=env)
        if check:
            assert cp.returncode == 0, describe(cp) + service_logs(self.home)
        return cp

    def seamless_init(self, *args: str, env: dict[str, str] | None = None, timeout: float = 180,
                      ) -> subprocess.CompletedProcess:
        return self.run([str(self.venv_bin / "seamless-init"), *args], env=env, timeout=timeout)

    # -- state ---------------------------------------------------------

    @property
    def launcher_dir(self) -> Path:
        return self.home / ".remote-http-launcher"

    def server_states(self) -> dict[str, dict[str, Any]]:
        out = {}
        for f in sorted((self.launcher_dir / "server").glob("*.json")):
            try:
                out[f.stem] = json.loads(f.read_text())
            except (OSError, ValueError):
                out[f.stem] = {"status": "unreadable"}
        return out

    def client_file(self, key: str) -> dict[str, Any] | None:
        f = self.launcher_dir / "client" / f"{key}.json"
        return json.loads(f.read_text()) if f.exists() else None

    def state(self, role: str) -> tuple[str, dict[str, Any]]:
        """The one server state of a role (hashserver, database, ...)."""
        found = [(k, s) for k, s in self.server_states().items() if k.startswith(role + "-")]
        assert len(found) == 1, f"expected one {role} state, found {[k for k, _ in found]}"
        return found[0]

    def service_processes(self, key: str) -> dict[int, int]:
        """pid -> pgid of every live process whose command line names this key's status file."""
        needle = str(self.launcher_dir / "server" / f"{key}.json")
        return {pid: pgid for pid, pgid, cmd in _processes() if needle in cmd}

    def side_effects(self) -> list[dict[str, Any]]:
        """One entry per execution of a transformation: what it recorded of the process that ran it
        (``pid``, ``pgid``, ``ppid`` at least), one JSON object per line."""
        if not self.sidefile.exists():
            return []
        return [json.loads(line) for line in self.sidefile.read_text().splitlines()]

    def stop_all(self) -> None:
        """Stop every service this HOME knows of: SIGTERM to each process group, then SIGKILL."""
        pgids: set[int] = set()
        for state in self.server_states().values():
            pid = state.get("pid")
            if isinstance(pid, int) and pid > 1:
                pgids.add(_pgid(pid) or pid)
        home = str(self.home) + os.sep
        for _pid, pgid, cmd in _processes():
            if home in cmd:
                pgids.add(pgid)
        stop_groups(pgids)


def script_result(cp: subprocess.CompletedProcess) -> dict[str, Any]:
    """The JSON a workflow script printed after RESULT_TAG."""
    for line in cp.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise AssertionError("the script printed no result\n" + describe(cp))


def job_script_lines(script: str) -> list[str]:
    """A batch job script's non-empty lines, with what only a running scheduler decides (its address,
    the worker's name) blanked: what `seamless-config job-script` prints, compared with what ran."""
    out = []
    for line in script.splitlines():
        line = re.sub(r"tcp://\S+", "tcp://SCHEDULER", line)
        out.append(re.sub(r"--name \S+", "--name WORKER", line))
    return [line for line in out if line]


def new_env(root: Path, name: str) -> E2EEnv:
    return E2EEnv(root, name)


#: a workflow: init(), one transformation that records where it ran (pid, process group, parent,
#: uid, and the environment variables ``{keys}`` names: a batch job's), the findings as JSON
_WORKFLOW = '''
import json, os, sys, time

def main():
    a, b, sidefile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    t0 = time.monotonic()
    import seamless
    import seamless.config
    from seamless.transformer import delayed
    from seamless_config import select, session

    seamless.config.init()
    t_init = time.monotonic() - t0

    @delayed
    def scaled_sum(a, b, sidefile):
        import json, os
        keys = {keys!r}
        ran = {{"pid": os.getpid(), "pgid": os.getpgid(0), "ppid": os.getppid(), "uid": os.getuid(),
               **{{k: os.environ.get(k) for k in keys}}}}
        with open(sidefile, "a") as f:
            f.write(json.dumps(ran) + "\\n")
        return (a + b) * 10

    t1 = time.monotonic()
    tf = scaled_sum(a, b, sidefile)
    result = tf.run()
    out = {{
        "result": result,
        "pid": os.getpid(),
        "init_seconds": t_init,
        "run_seconds": time.monotonic() - t1,
        "first_result_seconds": time.monotonic() - t0,
        "tf_checksum": tf.transformation_checksum.hex(),
        "result_checksum": tf.result_checksum.hex(),
        "execution": select.get_execution(),
        "outcomes": [[o.role, o.state, o.key, o.port] for o in session.SESSION.outcomes],
    }}
    seamless.close()
    print("E2E-RESULT " + json.dumps(out), flush=True)

if __name__ == "__main__":
    main()
'''


def workflow(*keys: str) -> str:
    """The workflow script, recording the environment variables ``keys`` where the transformation ran."""
    return _WORKFLOW.format(keys=keys)


WORKFLOW = workflow()


def run_workflow(env: E2EEnv, a: int, b: int, **kw: Any) -> dict[str, Any]:
    return script_result(env.python(WORKFLOW, str(a), str(b), str(env.sidefile), **kw))


def fake_venv(root: Path, binaries: tuple[str, ...]) -> Path:
    """A venv-like directory whose ``bin`` holds a Python that uses the dev venv's packages, and
    only ``binaries`` of the services. Returns its Python."""
    venv = root / "venv-without-services"
    (venv / "bin").mkdir(parents=True)
    lib = REPO / ".venv" / "lib"
    for pydir in lib.iterdir():
        (venv / "lib" / pydir.name).mkdir(parents=True)
        (venv / "lib" / pydir.name / "site-packages").symlink_to(pydir / "site-packages")
    shutil.copy(REPO / ".venv" / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "bin" / "python").symlink_to(os.path.realpath(PYTHON))
    for b in binaries:
        (venv / "bin" / b).symlink_to(VENV_BIN / b)
    return venv / "bin" / "python"


