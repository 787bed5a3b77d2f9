"""``seamless-config doctor`` against a real sshd: frontends reached over SSH, checked without
starting anything, over one SSH connection per frontend.

The frontends are the aliases of tests/sshd.py: a healthy one, one whose sessions lack the
service binaries, one behind rhl-guard, one that refuses the key, and (here) a server that
forbids TCP forwarding.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sshd as sshd_module
from _services import describe, run_in_session
from sshd import PrivateSshd

from ._support import PYTHON, SshEnv

ROOT = Path(__file__).resolve().parents[2]


def doctor(env: SshEnv, ssh_config: Path | None = None) -> tuple[int, list[dict], int]:
    """``seamless-config doctor --json``: exit code, checks, and the SSH connections it opened."""
    e = env.env()
    e["PYTHONPATH"] = str(ROOT)  # this checkout's seamless_config, whatever the venv has installed
    if ssh_config is not None:
        e["SEAMLESS_SSH_CONFIG"] = str(ssh_config)
    before = env.sshd.accepted()
    cp = run_in_session([str(PYTHON), "-m", "seamless_config.cli.config", "doctor", "--json"],
                        cwd=env.project_dir, env=e, timeout=180)
    assert cp.stderr == "" and cp.returncode in (0, 1), describe(cp)
    return cp.returncode, json.loads(cp.stdout)["checks"], env.sshd.accepted() - before


def one(checks: list[dict], kind: str, service: str | None = None) -> dict:
    found = [c for c in checks if c["check"] == kind and (service is None or c["service"] == service)]
    assert len(found) == 1, (kind, service, checks)
    return found[0]


def by_status(checks: list[dict], status: str) -> list[str]:
    return [f"{c['check']}:{c['service']}" for c in checks if c["status"] == status]


def test_a_healthy_frontend_passes_over_one_connection(ssh_env: SshEnv) -> None:
    ssh_env.configure(tunnel=True)
    code, checks, connections = doctor(ssh_env)
    assert code == 0 and by_status(checks, "fail") == [], checks
    assert connections == 1, "doctor opened more than one SSH connection to the frontend"
    assert {c["host"] for c in checks} == {"seamless-test-frontend"}
    assert one(checks, "ssh")["message"] == "answers over SSH in batch mode (no prompt)"
    assert one(checks, "forwarding")["status"] == "ok"
    assert one(checks, "helpers")["message"].startswith("remote-http-launcher's helpers answer: rhl-inspect, ")
    assert one(checks, "binary", "hashserver")["message"].endswith("/hashserver")
    start, end = ssh_env.ranges["hashserver"]
    assert one(checks, "ports", "hashserver")["message"] == (
        f"hashserver can listen on 127.0.0.1, port {start} of {start}-{end} (rhl-verify-port: nothing answers there)")
    storage = one(checks, "storage", "hashserver")
    assert storage["status"] == "ok" and storage["message"].startswith(
        f"{ssh_env.bufferdir}/{ssh_env.project} can be created, is writable, ")
    # the test client config says StrictHostKeyChecking no: a warning, not a pass
    assert one(checks, "hostkey")["status"] == "warn"
    assert one(checks, "services")["message"] == (f"hashserver-{ssh_env.cluster}-rw-{ssh_env.project}: not running; "
                                                  f"database-{ssh_env.cluster}-rw-{ssh_env.project}: not running")
    assert not ssh_env.bufferdir.exists(), "doctor created the buffer directory"


def test_an_unknown_host_key_fails_in_batch_mode_until_it_is_known(ssh_env: SshEnv) -> None:
    """With StrictHostKeyChecking yes (OpenSSH's default is ask; BatchMode refuses either way)."""
    known = ssh_env.root / "known_hosts"
    known.write_text("")
    config = ssh_env.root / "ssh_config"
    config.write_text(ssh_env.sshd.config_file.read_text()
                      .replace("StrictHostKeyChecking no", "StrictHostKeyChecking yes")
                      .replace("UserKnownHostsFile /dev/null", f"UserKnownHostsFile {known}"))
    ssh_env.configure()
    code, checks, _ = doctor(ssh_env, config)
    hostkey, ssh = one(checks, "hostkey"), one(checks, "ssh")
    port = ssh_env.sshd.port
    assert code == 1 and (hostkey["status"], ssh["status"]) == ("fail", "fail"), checks
    assert hostkey["message"] == (f"host key of [127.0.0.1]:{port} is not known: ssh in batch mode refuses "
                                  "the connection")
    assert f"ssh-keyscan -p {port} 127.0.0.1 >> ~/.ssh/known_hosts" in hostkey["fix"]
    assert "Host key verification failed" in ssh["message"]
    scan = subprocess.run(["ssh-keyscan", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, timeout=30)
    known.write_text(scan.stdout)
    code, checks, _ = doctor(ssh_env, config)
    assert code == 0 and one(checks, "hostkey")["message"] == f"host key of [127.0.0.1]:{port} is known ({known})"


def test_a_remote_path_without_hashserver_fails(ssh_env: SshEnv) -> None:
    ssh_env.configure(alias="seamless-test-nobinaries")
    code, checks, _ = doctor(ssh_env)
    binary = one(checks, "binary", "hashserver")
    assert code == 1 and binary["status"] == "fail"
    assert binary["message"] == ("'hashserver' for the hashserver is not on the PATH services get over SSH on "
                                 "seamless-test-nobinaries")
    assert binary["fix"] == "install it there: pip install hashserver"
    assert one(checks, "helpers")["status"] == "ok"  # the helpers are there


def test_behind_rhl_guard_what_cannot_be_seen_is_said(ssh_env: SshEnv) -> None:
    ssh_env.configure(alias="seamless-test-guarded")
    code, checks, connections = doctor(ssh_env)
    assert code == 0 and connections == 1, checks
    assert "rhl-guard" in one(checks, "ssh")["message"]
    assert one(checks, "helpers")["status"] == "ok"  # rhl-launch-service is allowed: the guard has a path policy
    for kind in ("binary", "storage"):
        c = one(checks, kind, "hashserver")
        assert c["status"] == "warn" and c["message"].endswith(
            "not checked: the SSH guard there runs only rhl-* helpers, and none of them can tell"), c
    assert one(checks, "ports", "hashserver")["status"] == "ok"  # rhl-verify-port is a helper


def test_a_refused_key_fails_and_nothing_else_is_tried(ssh_env: SshEnv) -> None:
    ssh_env.configure(alias="seamless-test-stranger")
    code, checks, connections = doctor(ssh_env)
    ssh = one(checks, "ssh")
    assert code == 1 and ssh["status"] == "fail" and "Permission denied" in ssh["message"], ssh
    assert connections == 0
    others = [c for c in checks if c["check"] not in ("ssh", "hostkey")]
    assert others and all(c["status"] == "warn" and c["message"].endswith(
        "not checked: seamless-test-stranger cannot be reached over SSH") for c in others), others


def test_a_full_remote_port_range_fails(ssh_env: SshEnv) -> None:
    start = _listening_range(3)
    with contextlib.ExitStack() as stack:
        for port in range(start, start + 3):
            stack.enter_context(socket.create_server(("127.0.0.1", port)))
        ssh_env.configure(hashserver_range=(start, start + 2))
        code, checks, _ = doctor(ssh_env)
    ports = one(checks, "ports", "hashserver")
    assert code == 1 and ports["status"] == "fail"
    assert ports["message"] == f"hashserver needs 1 free port on 127.0.0.1 in {start}-{start + 2}, found 0 of 3 tried"


def test_a_read_only_remote_buffer_directory_fails(ssh_env: SshEnv) -> None:
    ro = ssh_env.root / "ro"
    ro.mkdir()
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], capture_output=True, text=True)
    if cp.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {cp.stderr.strip()}")
    try:
        ssh_env.configure(bufferdir=ro)
        code, checks, _ = doctor(ssh_env)
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    storage = one(checks, "storage", "hashserver")
    assert code == 1 and storage["status"] == "fail"
    assert storage["message"] == f"{ro}/{ssh_env.project} can not be created: {ro} is not writable"
    assert one(checks, "storage", "database")["status"] == "ok"


def test_a_missing_remote_conda_environment(ssh_env: SshEnv) -> None:
    """The environment is looked up where rhl-launch-service activates it from: the conda cache
    (rhl-conda-info). Without one, doctor says it cannot tell, and how to make one."""
    profile = ssh_env.configure()
    line = f"bufferdir: {ssh_env.bufferdir}\n"
    profile.write_text(profile.read_text().replace(line, line + " " * 12 + "conda: seamless-doctor-env\n"))
    code, checks, _ = doctor(ssh_env)
    conda = one(checks, "conda")
    assert code == 0 and conda["status"] == "warn", checks
    assert "has no conda cache" in conda["message"] and "rhl-cache-conda" in conda["fix"]
    cache = ssh_env.sshd.remote_rhl / "conda-setup.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"conda_source": None, "conda_base": "/opt/conda",
                                 "envs": ["/opt/conda", "/opt/conda/envs/other"]}))
    try:
        code, checks, _ = doctor(ssh_env)
    finally:
        cache.unlink()
    conda = one(checks, "conda")
    assert code == 1 and conda["status"] == "fail"
    assert conda["message"] == ("conda environment 'seamless-doctor-env' of the hashserver does not exist "
                                "(there are: base, other)")


class NoForwardingSshd(PrivateSshd):
    """The private sshd with ``AllowTcpForwarding no``."""

    def start(self) -> PrivateSshd:
        original = sshd_module.launch_sshd

        def launch(config: Path, port: int, log_file: Path) -> subprocess.Popen:
            config.write_text(config.read_text().replace("AllowTcpForwarding yes", "AllowTcpForwarding no"))
            return original(config, port, log_file)

        sshd_module.launch_sshd = launch
        try:
            return super().start()
        finally:
            sshd_module.launch_sshd = original


@pytest.fixture
def no_forwarding_env(sshd: PrivateSshd, request) -> Iterator[SshEnv]:
    root = Path(tempfile.mkdtemp(prefix="seamless-sshd-nofw-"))
    server = NoForwardingSshd(root).start()
    env = SshEnv(Path(tempfile.mkdtemp(prefix="seamless-ssh-test-")), server, request.node.name)
    try:
        yield env
    finally:
        env.stop_all()
        server.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def test_a_server_that_forbids_forwarding_fails_when_tunnels_are_used(no_forwarding_env: SshEnv) -> None:
    env = no_forwarding_env
    env.configure(tunnel=True)
    code, checks, connections = doctor(env)
    forwarding = one(checks, "forwarding")
    assert code == 1 and forwarding["status"] == "fail", checks
    assert forwarding["message"].startswith(f"the server refused a forwarded channel to 127.0.0.1:{env.sshd.port} ")
    assert "AllowTcpForwarding yes" in forwarding["fix"] and connections == 1
    env.configure(tunnel=False)  # no tunnel, no forwarding needed
    code, checks, _ = doctor(env)
    assert code == 0 and not [c for c in checks if c["check"] == "forwarding"]


def _listening_range(n: int) -> int:
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            start = s.getsockname()[1]
        try:
            with contextlib.ExitStack() as stack:
                for p in range(start, start + n):
                    stack.enter_context(socket.create_server(("127.0.0.1", p)))
            return start
        except OSError:
            continue
    raise RuntimeError("no free port range")
