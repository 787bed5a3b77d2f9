"""The seamless-service-* commands against a real hashserver and database, brought up by
``seamless-init`` in a private HOME (ports 53000-53099); every process is killed afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not all((BIN / b).exists() for b in ("hashserver", "seamless-database", "seamless-init", "seamless-service-ps")),
    reason="hashserver / seamless-database / the console scripts are not installed in this venv",
)


@pytest.fixture
def services(tmp_path):
    home, proj, store = tmp_path / "home", tmp_path / "home" / "proj", tmp_path / "store"
    proj.mkdir(parents=True)
    (home / ".seamless").mkdir()
    (proj / "seamless.yaml").write_text("- project: e2e\n")
    (proj / "seamless.profile.yaml").write_text(textwrap.dedent(f"""\
        - clusters:
            svc:
              type: local
              tunnel: false
              workers: 1
              frontends:
                - hostname: localhost
                  hashserver: {{bufferdir: {store}/buffers, network_interface: 127.0.0.1, port_start: 53000, port_end: 53049}}
                  database: {{database_dir: {store}/db, network_interface: 127.0.0.1, port_start: 53050, port_end: 53099}}
        - cluster: svc
        - persistent: true
        - execution: process
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS_", "REMOTE_HTTP_LAUNCHER"))}
    env.update(HOME=str(home), PATH=f"{BIN}:{env.get('PATH', '')}", SEAMLESS_CONFIG_CACHE=str(tmp_path / "cache"))

    def run(*argv: str, check: int | None = 0) -> subprocess.CompletedProcess:
        cp = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=proj, env=env, capture_output=True, text=True,
                            timeout=180, stdin=subprocess.DEVNULL)
        if check is not None:
            assert cp.returncode == check, (argv, cp.stdout, cp.stderr)
        return cp

    run.home, run.store = home, store
    try:
        yield run
    finally:
        for f in (home / ".remote-http-launcher" / "server").glob("*.json"):
            pid = json.loads(f.read_text()).get("pid")
            if isinstance(pid, int) and pid > 1:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[-1].split()[0] != "Z"


def test_ps_logs_inspect_stop_rm_clear_on_real_services(services):
    run = services
    run("seamless-init")
    rows = [json.loads(line) for line in run("seamless-service-ps", "--json").stdout.splitlines()]
    assert sorted((r["service"], r["process"], r["project"]) for r in rows) == [
        ("database", "running", "e2e"), ("hashserver", "running", "e2e")]
    table = run("seamless-service-ps", "--cluster", "svc", "--persistent").stdout.splitlines()
    assert table[0].split() == ["SERVICE", "PROJECT", "STAGE", "PROCESS", "PORT", "PERSISTENT", "SIZE"]
    assert [line.split()[:4] for line in table[1:]] == [["database", "e2e", "-", "running"], ["hashserver", "e2e", "-", "running"]]
    assert "Uvicorn running" in run("seamless-service-logs", "--service", "hashserver").stdout
    assert len(run("seamless-service-logs", "--service", "hashserver", "--tail", "1").stdout.splitlines()) == 1
    state = json.loads(run("seamless-service-inspect", "--service", "database").stdout)
    assert state["meta"]["project"] == "e2e" and state["status"] == "running"
    pids = {r["service"]: r["pid"] for r in rows}

    # a buffer and the database exist; clear refuses while they run
    buffers, db = run.store / "buffers" / "e2e", run.store / "db" / "e2e"
    (buffers / "zz").mkdir()
    (buffers / "zz" / "zz00").write_text("a buffer")
    assert (db / "seamless.db").exists()
    cp = run("seamless-service-clear", "--service", "database", "--yes", check=1)
    assert "is running" in cp.stderr and (db / "seamless.db").exists()

    # stop one, then the rest of the cluster; state and data stay
    assert run("seamless-service-stop", "--service", "hashserver").stdout == "hashserver-svc-rw-e2e: stopped\n"
    assert not _alive(pids["hashserver"]) and _alive(pids["database"])
    assert run("seamless-service-stop", "--cluster", "svc").stdout.splitlines() == [
        "database-svc-rw-e2e: stopped", "hashserver-svc-rw-e2e: already gone"]
    assert not _alive(pids["database"])
    stale = [json.loads(line) for line in run("seamless-service-ps", "--cluster", "svc", "--json", "--status", "stale").stdout.splitlines()]
    assert len(stale) == 2
    assert (buffers / "zz" / "zz00").exists() and (db / "seamless.db").exists()

    # rm: state gone, logs and data stay
    run("seamless-service-rm", "--cluster", "svc")
    server = run.home / ".remote-http-launcher" / "server"
    assert not list(server.glob("*.json")) and len(list(server.glob("*.log"))) == 2
    assert not list((run.home / ".remote-http-launcher" / "client").glob("*.json"))
    assert (buffers / "zz" / "zz00").exists() and (db / "seamless.db").exists()
    assert run("seamless-service-ps").stdout == "SERVICE PROJECT STAGE PROCESS PORT PERSISTENT SIZE\n"

    # clear: without --yes (not a terminal) refused; with it, the directories are emptied
    assert "pass --yes" in run("seamless-service-clear", "--service", "hashserver", check=2).stderr
    assert run("seamless-service-clear", "--service", "hashserver", "--yes").stdout == f"cleared {buffers}\n"
    assert run("seamless-service-clear", "--service", "database", "--yes").stdout == f"cleared {db}\n"
    assert list(buffers.iterdir()) == [] and list(db.iterdir()) == []

    # and the services come back on the cleared directories
    t0 = time.monotonic()
    run("seamless-init")
    assert time.monotonic() - t0 < 60
    assert (db / "seamless.db").exists()
    run("seamless-service-stop", "--cluster", "svc")
