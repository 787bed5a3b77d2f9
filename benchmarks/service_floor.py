"""The floor of a cold bring-up: each service's own start, with nothing of seamless-config around it.

Run in a project directory, with the interpreter of a venv that has seamless-config
and the services (``init_bench.py`` runs it); prints one JSON object.

The plan's launch dicts say what to start. Each service's command is started
directly, as remote-http-launcher's protocol has it (a status file saying
``starting`` with the service's parameters, then the command with
``{status_file}`` filled in), and timed from the spawn to its first health
answer. The storage services start together; the jobserver starts when they
answer, with their clients as its parameters (it needs their addresses). The
floor is the chain: the slower storage service, then the jobserver. Everything
started is stopped before this exits.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from seamless_config.core.clients import STORAGE, storage_clients
from seamless_config.session import SESSION, current_plan

TIMEOUT = 120.0


def start(sp: Any, parameters: Any, state_dir: Path, procs: list[subprocess.Popen]) -> dict[str, Any]:
    """Start one service directly; its seconds from spawn to health answer, and its state."""
    status = state_dir / f"{sp.key}.json"
    workdir = os.path.expanduser(sp.launch.get("workdir"))
    os.makedirs(workdir, exist_ok=True)
    data = {"workdir": workdir, "status": "starting", "parameters": parameters}
    if sp.launch.get("network_interface") is not None:
        data["network_interface"] = sp.launch.get("network_interface")
    status.write_text(json.dumps(data))
    argv = [a.replace("{status_file}", str(status)) for a in shlex.split(sp.launch.get("command"))]
    log = open(state_dir / f"{sp.key}.log", "wb")  # noqa: SIM115 - kept open for the process
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    procs.append(proc)
    while time.monotonic() - t0 < TIMEOUT:
        if proc.poll() is not None:
            raise RuntimeError(f"{sp.role} exited with {proc.returncode}: {(state_dir / f'{sp.key}.log').read_text()[-2000:]}")
        try:
            state = json.loads(status.read_text())
        except ValueError:
            state = {}
        port = state.get(sp.check_port_field)
        if state.get("status") == "running" and isinstance(port, int):
            host = sp.launch.get("network_interface") or "127.0.0.1"
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/{sp.check_path}", timeout=1) as r:
                    if r.status < 500:
                        return {"seconds": time.monotonic() - t0, "state": state}
            except OSError:
                pass
        time.sleep(0.01)
    raise RuntimeError(f"{sp.role} did not answer within {TIMEOUT} s")


def main() -> int:
    SESSION.workdir = os.getcwd()
    SESSION.workdir_set = True
    SESSION.load()
    plan = current_plan()
    storage = [sp for sp in plan.services if sp.role in STORAGE]
    rest = [sp for sp in plan.services if sp.role not in STORAGE]
    procs: list[subprocess.Popen] = []
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        try:
            results: dict[str, Any] = {}
            errors: list[BaseException] = []

            def run(sp: Any) -> None:
                try:
                    results[sp.key] = start(sp, sp.launch.get("file_parameters"), Path(tmp), procs)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(sp,)) for sp in storage]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            for sp in storage:
                out[sp.role] = results[sp.key]["seconds"]
            facts = []
            for sp in storage:
                state = results[sp.key]["state"]
                host = sp.launch.get("network_interface") or "localhost"
                facts.append({"role": sp.role, "readonly": sp.readonly, "launch_hostname": sp.launch.get("hostname"),
                              "workdir": sp.launch.get("workdir"), "ssh_host": None, "hostname": host,
                              "port": state["port"], "client": {"hostname": host, "port": state["port"]}})
            for sp in rest:
                params = sp.launch.get("file_parameters")
                if sp.role == "jobserver":
                    params = {**(params or {}), **storage_clients(facts)}
                out[sp.role] = start(sp, params, Path(tmp), procs)["seconds"]
        finally:
            for p in procs:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
    out["floor"] = max([out[sp.role] for sp in storage], default=0.0) + sum(out[sp.role] for sp in rest)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
