"""Run inside a private PID namespace (``unshare --pid --fork --mount-proc``) by test_signals.py.

Here this script is pid 1 and everything it starts lives in the namespace, so a
regression that signals ``-1``, group 1 or group 0 can only hurt these processes.
For each hostile ``pid`` in a server state it runs ``seamless-service-stop``,
``seamless-service-rm`` and ``seamless-init`` (which finds the state stale and
launches a real hashserver), then reports on standard output, as JSON, which of
its bystander processes are still alive.

argv: the scratch directory (HOME), the bin directory of the venv.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

KEY = "hashserver-ns-rw-p"


def main() -> int:
    assert os.getpid() == 1, "run me in a private PID namespace"
    HOME, BIN = Path(sys.argv[1]), Path(sys.argv[2])  # noqa: N806
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    rhl = HOME / ".remote-http-launcher"
    (HOME / ".seamless").mkdir(parents=True, exist_ok=True)
    (HOME / ".seamless" / "clusters.yaml").write_text(
        "ns:\n  type: local\n  workers: 1\n  frontends:\n  - hostname: localhost\n"
        f"    hashserver: {{bufferdir: {HOME}/buffers, network_interface: 127.0.0.1, port_start: 53700, port_end: 53719}}\n"
        f"    database: {{database_dir: {HOME}/db, network_interface: 127.0.0.1, port_start: 53720, port_end: 53739}}\n"
    )
    project = HOME / "project"
    project.mkdir(exist_ok=True)
    (project / "seamless.yaml").write_text("- project: p\n- cluster: ns\n- execution: process\n")
    env = {**os.environ, "HOME": str(HOME), "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    env.pop("REMOTE_HTTP_LAUNCHER_DIR", None)
    env.pop("SEAMLESS_CACHE", None)
    # bystanders: one in this script's process group, one in a session of its own
    same_group = subprocess.Popen(["sleep", "600"])
    own_session = subprocess.Popen(["sleep", "600"], start_new_session=True)
    bystanders = {"same_group": same_group, "own_session": own_session}
    report: dict[str, object] = {"runs": []}
    hostile = [True, 1, 0, -1, 2**40, "7", None, same_group.pid, own_session.pid]
    for pid in hostile:
        (rhl / "server").mkdir(parents=True, exist_ok=True)
        state = {"workdir": str(HOME / "buffers/p"), "pid": pid, "status": "running", "port": 53701}
        (rhl / "server" / f"{KEY}.json").write_text(json.dumps(state))
        run = {"pid": repr(pid)}
        for name, argv in (
            ("stop", [str(BIN / "seamless-service-stop"), "--service", "hashserver"]),
            ("rm", [str(BIN / "seamless-service-rm"), "--service", "hashserver"]),
        ):
            cp = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=120)
            run[name] = [cp.returncode, cp.stdout + cp.stderr]
        # seamless-init: the state says running; it must be found stale and a new hashserver launched
        (rhl / "server" / f"{KEY}.json").write_text(json.dumps(state))
        cp = subprocess.run([str(BIN / "seamless-init"), "--json"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=180)
        run["init"] = [cp.returncode, cp.stdout if cp.returncode == 0 else cp.stdout + cp.stderr]
        run["alive"] = {n: p.poll() is None for n, p in bystanders.items()}
        cp = subprocess.run([str(BIN / "seamless-service-stop"), "--service", "hashserver"], cwd=project,
                            env=env, capture_output=True, text=True, timeout=120)
        run["stop_launched"] = [cp.returncode, cp.stdout + cp.stderr]
        report["runs"].append(run)  # type: ignore[union-attr]
        time.sleep(0.05)
    report["alive"] = {n: p.poll() is None for n, p in bystanders.items()}
    for p in bystanders.values():
        if p.poll() is None:
            p.kill()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
