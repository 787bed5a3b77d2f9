"""One SSH test environment: a client side of its own and a cluster whose frontend is reached over SSH.

The client side (HOME, ``REMOTE_HTTP_LAUNCHER_DIR`` for client files and locks,
the SSH control sockets) lives in a temporary directory of the test; the
server side is the sshd's remote home (``sshd.remote_rhl``), so client and
server files are never the same files even though both run on this machine.
Workflows run in subprocesses (the Seamless runtime is process-global).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from _services import (
    base_env,
    describe,
    pgid,
    port_ranges,
    processes,
    run_in_session,
    stop_groups,
    with_services,
)
from sshd import PrivateSshd

VENV_BIN = Path(sys.executable).parent
PYTHON = VENV_BIN / "python"
#: service ports: 61000-61999 (outside Linux's ephemeral range, apart from the e2e and demo blocks)
PORT_BASE = 61000
BLOCK = 50
_blocks = itertools.count()
RESULT_TAG = "SSH-RESULT "

WORKFLOW = '''
import json, os, sys, time

def main():
    a, b = int(sys.argv[1]), int(sys.argv[2])
    t0 = time.monotonic()
    import seamless
    import seamless.config
    from seamless.transformer import delayed
    from seamless_config import select, session

    t1 = time.monotonic()
    seamless.config.init()
    t_init = time.monotonic() - t1

    @delayed
    def scaled_sum(a, b):
        import os
        return {"value": (a + b) * 10, "pid": os.getpid()}

    tf = scaled_sum(a, b)
    result = tf.run()
    out = {
        "result": result["value"],
        "ran_in": result["pid"],
        "pid": os.getpid(),
        "init_seconds": t_init,
        "import_seconds": t1 - t0,
        "execution": select.get_execution(),
        "outcomes": [[o.role, o.state, o.key, o.hostname, o.port] for o in session.SESSION.outcomes],
    }
    seamless.close()
    print("SSH-RESULT " + json.dumps(out), flush=True)

if __name__ == "__main__":
    main()
'''


class SshEnv:
    def __init__(self, root: Path, sshd: PrivateSshd, name: str) -> None:
        self.root = root
        self.sshd = sshd
        self.name = re.sub(r"[^a-z0-9]", "", name.lower())[-16:] or "ssh"
        self.cluster = f"ssh{self.name}"
        self.project = f"p{self.name}"
        self.home = root / "home"
        self.local_rhl = root / "local-rhl"
        self.control_dir = root / "ctl"
        self.project_dir = root / "proj"
        self.bufferdir = root / "buffers"
        self.database_dir = root / "database"
        for d in (self.home / ".seamless", self.project_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.control_dir.mkdir(mode=0o700)
        self.port0 = PORT_BASE + (next(_blocks) % (1000 // BLOCK)) * BLOCK
        self.ranges = port_ranges(self.port0, BLOCK)
        self._scripts = itertools.count()

    # -- configuration --------------------------------------------------------------------
    def configure(self, *, alias: str = "seamless-test-frontend", tunnel: bool = False,
                  execution: str = "process", remote: str | None = None, bufferdir: Path | None = None,
                  hashserver_range: tuple[int, int] | None = None, dask: bool = False) -> Path:
        """Write seamless.yaml and seamless.profile.yaml; returns the profile (the cluster is defined there)."""
        (self.project_dir / "seamless.yaml").write_text(f"- project: {self.project}\n")
        r = dict(self.ranges)
        if hashserver_range is not None:
            r["hashserver"] = hashserver_range
        profile = textwrap.dedent(f"""\
            - clusters:
                {self.cluster}:
                  type: local
                  tunnel: {'true' if tunnel else 'false'}
                  workers: 2
                  frontends:
                    - hostname: 127.0.0.1
                      ssh_hostname: {alias}
                      @SERVICES@
                  queues:
                    local:
                      cores: 2
                      memory: 2GB
                      walltime: "01:00:00"
                  default_queue: local
            - cluster: {self.cluster}
            - execution: {execution}
            - persistent: true
            """)
        profile = with_services(profile, r, bufferdir or self.bufferdir, self.database_dir)
        if remote is not None:
            profile += f"- remote: {remote}\n"
        path = self.project_dir / "seamless.profile.yaml"
        path.write_text(profile)
        return path

    # -- processes ------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = base_env(self.home, VENV_BIN, drop=("XDG_RUNTIME_DIR",))
        env.update({
            "REMOTE_HTTP_LAUNCHER_DIR": str(self.local_rhl),
            "SEAMLESS_SSH_CONFIG": str(self.sshd.config_file),
            "SEAMLESS_SSH_CONTROL_DIR": str(self.control_dir),
        })
        return env

    def run(self, argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
        return run_in_session(argv, cwd=self.project_dir, env=self.env(), timeout=timeout)

    def seamless_init(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return self.run([str(VENV_BIN / "seamless-init"), *args], timeout=timeout)

    def init_json(self) -> tuple[dict[str, Any], float, int]:
        """``seamless-init --json``: its output, wall time and the SSH connections it opened."""
        before = self.sshd.accepted()
        t0 = time.monotonic()
        cp = self.seamless_init("--json")
        seconds = time.monotonic() - t0
        assert cp.returncode == 0, describe(cp)
        return json.loads(cp.stdout), seconds, self.sshd.accepted() - before

    def workflow(self, a: int, b: int) -> dict[str, Any]:
        script = self.project_dir / f"workflow_{next(self._scripts)}.py"
        script.write_text(WORKFLOW)
        cp = self.run([str(PYTHON), str(script), str(a), str(b)], timeout=300)
        assert cp.returncode == 0, describe(cp)
        for line in cp.stdout.splitlines():
            if line.startswith(RESULT_TAG):
                return json.loads(line[len(RESULT_TAG):])
        raise AssertionError("the workflow printed no result\n" + describe(cp))

    # -- state ----------------------------------------------------------------------------
    def server_state(self, role: str) -> tuple[str, dict[str, Any]]:
        found = [(f.stem, json.loads(f.read_text())) for f in sorted((self.sshd.remote_rhl / "server").glob("*.json"))
                 if f.stem.startswith(f"{role}-{self.cluster}-")]
        assert len(found) == 1, f"expected one {role} state of {self.cluster}, found {[k for k, _ in found]}"
        return found[0]

    def client_file(self, key: str) -> dict[str, Any] | None:
        f = self.local_rhl / "client" / f"{key}.json"
        return json.loads(f.read_text()) if f.exists() else None

    def stop_all(self) -> None:
        """Stop this environment's services (server side), tunnels, SSH masters; remove its files."""
        pgids = set()
        server = self.sshd.remote_rhl / "server"
        for f in server.glob(f"*-{self.cluster}-*.json") if server.exists() else []:
            try:
                pid = json.loads(f.read_text()).get("pid")
            except (OSError, ValueError):
                continue
            if isinstance(pid, int) and pid > 1:
                pgids.add(pgid(pid) or pid)
        for sock in self.control_dir.iterdir() if self.control_dir.exists() else []:
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], capture_output=True, timeout=10)
        needles = (str(self.root), str(self.sshd.config_file))
        for pid, group, cmd in processes():
            if str(self.root) in cmd or (needles[1] in cmd and "effects.tunnels" in cmd and _mine(pid, self)):
                pgids.add(group)
        stop_groups(pgids)
        shutil.rmtree(self.root, ignore_errors=True)


def _mine(pid: int, env: SshEnv) -> bool:
    for key_file in (env.local_rhl / "client").glob("*.json") if (env.local_rhl / "client").exists() else []:
        try:
            if json.loads(key_file.read_text()).get("tunnel-pid") == pid:
                return True
        except (OSError, ValueError):
            pass
    return False
