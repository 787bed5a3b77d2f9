"""SSH faults, and a frontend guarded by ``rhl-guard --data-roots``.

Dropped connections: the shared connection (the ControlMaster of a frontend)
killed, or its socket removed, between two commands and during a call; the
connections of the tunnels (their ``ssh -N``) killed under live services. The
next call must open a new connection and find the same services (no duplicate).
``test_ssh_workflow.test_workflow_through_tunnel`` already kills a tunnel
*monitor*; here the tunnel's own ssh dies and the monitor must notice.

The guarded remote: a key forced through a wrapper that records every
``SSH_ORIGINAL_COMMAND`` (and what the guard makes of it) before it executes
``rhl-guard --data-roots FILE``. The roots are the configured ``bufferdir`` and
``database_dir`` only: the storage services are launched with their workdir
below those. The jobserver and daskserver run from ``/tmp``
(``core.launch.SERVICE_WORKDIR``), which a storage-only root list refuses, so
only the storage services are brought up through this guard.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import reliability
from _services import zombie
from sshd import SYSTEM_PATH, PrivateSshd, _parents

from effects import tunnels

from ._support import VENV_BIN, SshEnv, describe

SECTION = "Faults (SSH)"
ROOTS_ALIAS = "seamless-test-roots"
STORAGE = ("hashserver", "database")

WRAPPER = '''#!{python}
"""Records the SSH command and rhl-guard's verdict on it, then hands over to rhl-guard."""
import json, os
GUARD, ROOTS, LOG = {guard!r}, {roots!r}, {log!r}
command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
try:
    from ssh_guard import guard
    policy, error = guard._parse_policy_args(["--data-roots", ROOTS])
    verdict = error or guard._parse_and_check(command, policy)[1]
except Exception as exc:  # the guard's internals changed: record that, let the guard decide
    verdict = "unknown: " + repr(exc)
with open(LOG, "a", encoding="utf-8") as f:
    f.write(json.dumps({{"command": command, "verdict": verdict}}) + "\\n")
os.execv(GUARD, [GUARD, "--data-roots", ROOTS])
'''


# -- helpers ----------------------------------------------------------------------------------

def _wait(cond, timeout: float = 15.0, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _masters(env: SshEnv) -> dict[Path, int]:
    """The shared connections' control sockets in the environment's control directory, and their
    master's pid (``ssh -O check``); the tunnels' private sockets live in subdirectories."""
    out = {}
    for p in env.control_dir.iterdir():
        try:
            if not stat.S_ISSOCK(p.lstat().st_mode):
                continue
        except OSError:
            continue
        cp = subprocess.run(["ssh", "-o", f"ControlPath={p}", "-O", "check", "x"], capture_output=True,
                            text=True, timeout=10, stdin=subprocess.DEVNULL)
        m = re.search(r"pid=(\d+)", cp.stderr)
        if m:
            out[p] = int(m[1])
    return out


def _service_pids(env: SshEnv) -> dict[str, int]:
    out = {}
    for role in STORAGE:
        _, state = env.server_state(role)
        assert state["status"] == "running", state
        out[role] = state["pid"]
    return out


def _cli(env: SshEnv, name: str, *args: str) -> subprocess.CompletedProcess:
    cp = env.run([str(VENV_BIN / name), *args], timeout=120)
    assert "Traceback" not in cp.stderr + cp.stdout, describe(cp)
    return cp


# -- the shared connection --------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["killed", "socket removed"])
def test_dropped_shared_connection_is_reopened(ssh_env: SshEnv, fault: str) -> None:
    """After a cold seamless-init, the frontend's master connection (ControlPersist) is killed or its
    socket removed; the next seamless-init, then seamless-service-ps --cluster, open a new one and
    find the same services."""
    env = ssh_env
    env.configure()
    cold, _, conns = env.init_json()
    assert {r["state"] for r in cold["services"]} == {"launched"} and conns == 1
    pids = _service_pids(env)
    keys = [env.server_state(role)[0] for role in STORAGE]
    orphans = []
    try:
        for step in ("seamless-init", "seamless-service-ps"):
            masters = _masters(env)
            assert len(masters) == 1, masters
            [(sock, old)] = masters.items()
            if fault == "killed":
                os.kill(old, signal.SIGKILL)
                _wait(lambda old=old: zombie(old), what=f"master {old} to die")
                assert sock.exists(), "a killed master leaves its socket behind"
            else:
                sock.unlink()
                orphans.append(old)
            before = env.sshd.accepted()
            if step == "seamless-init":
                for key in keys:  # else a warm init talks to the services only, not to the frontend
                    os.unlink(env.local_rhl / "client" / f"{key}.json")
                out, _, conns = env.init_json()
                assert {r["state"] for r in out["services"]} == {"reused"}, out
            else:
                cp = _cli(env, "seamless-service-ps", "--cluster", env.cluster, "--json")
                assert cp.returncode == 0, describe(cp)
                rows = {r["key"]: r for r in map(json.loads, cp.stdout.splitlines())}
                assert set(keys) <= set(rows), rows
                conns = env.sshd.accepted() - before
            assert conns == 1, f"{step} opened {conns} connections"
            new = _masters(env)
            assert len(new) == 1 and old not in new.values(), (old, new)
            assert _service_pids(env) == pids, "the same services, no duplicate"
    finally:
        for pid in orphans:  # a master without a socket lingers until ControlPersist runs out
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    reliability.record(SECTION, f"shared SSH connection {fault} after a cold init: next seamless-init and "
                                "seamless-service-ps reopen it",
                       {"survived": True, "faults": 2, "connections per call": 1, "duplicates": 0})


def test_shared_connection_killed_during_a_call(ssh_env: SshEnv, monkeypatch) -> None:
    """In one process: the master dies while a call runs; that call fails with one line, and the very
    next call (not 15 s later) opens a new connection."""
    env = ssh_env
    env.configure()
    env.init_json()
    keys = {env.server_state(role)[0] for role in STORAGE}
    for k, v in env.env().items():
        monkeypatch.setenv(k, v)
    from effects import ssh

    host = ssh.SshHost("seamless-test-frontend")
    try:
        assert keys <= {r["key"] for r in host.list_states()}
        [old] = _masters(env).values()
        result: list[object] = []

        def long_call() -> None:
            try:
                result.append(host.run(["sleep", "20"]))
            except ssh.SshError as exc:
                result.append(exc)

        t = threading.Thread(target=long_call)
        t0 = time.monotonic()
        t.start()
        time.sleep(1.0)
        os.kill(old, signal.SIGKILL)
        t.join(30)
        assert not t.is_alive()
        assert time.monotonic() - t0 < 15, "the call in flight ended with its connection"
        [failed] = result
        if isinstance(failed, subprocess.CompletedProcess):
            assert failed.returncode != 0, failed
        else:
            assert "\n" not in str(failed) and "cannot reach" in str(failed), failed
        # the next call reconnects at once
        assert keys <= {r["key"] for r in host.list_states()}
        new = _masters(env)
        assert len(new) == 1 and old not in new.values()
        assert host.pid_alive(_service_pids(env)["hashserver"])
    finally:
        ssh.close_all()
    reliability.record(SECTION, "shared SSH connection killed during a call (in one process): the next call "
                                "reopens it", {"survived": True, "failed calls": 1, "duplicates": 0})


# -- tunnels ----------------------------------------------------------------------------------

def _tunnel_ssh(monitor: int) -> int:
    kids = [pid for pid, ppid in _parents().items() if ppid == monitor]
    found = []
    for pid in kids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"ssh" and b"-N" in argv:
            found.append(pid)
    assert len(found) == 1, (monitor, kids, found)
    return found[0]


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://localhost:{port}/healthcheck", timeout=5).status_code < 500
    except httpx.HTTPError:
        return False


def test_dropped_tunnel_connections_are_reopened(ssh_env: SshEnv) -> None:
    """The tunnels' own ssh connections die under live services: the monitors notice and exit, the
    local ports stop answering; the next seamless-init opens new tunnels to the same services, and a
    workflow runs through them."""
    env = ssh_env
    env.configure(tunnel=True)
    cold, _, _ = env.init_json()
    assert {r["state"] for r in cold["services"]} == {"launched"}
    pids = _service_pids(env)
    keys = {role: env.server_state(role)[0] for role in STORAGE}
    old = {role: env.client_file(key) for role, key in keys.items()}
    assert all(_answers(c["port"]) for c in old.values())
    for c in old.values():
        os.kill(_tunnel_ssh(c["tunnel-pid"]), signal.SIGKILL)
    for c in old.values():
        _wait(lambda c=c: not tunnels.is_monitor(c["tunnel-pid"]), what="the tunnel monitor to exit")
        _wait(lambda c=c: not _answers(c["port"]), what="the dead tunnel's port to close")

    again, _, conns = env.init_json()
    assert {r["state"] for r in again["services"]} == {"reused"}, again
    assert conns == len(STORAGE), "one new connection per tunnel (the shared one is still open)"
    for role, key in keys.items():
        client = env.client_file(key)
        assert client["tunnel-pid"] != old[role]["tunnel-pid"] and tunnels.is_monitor(client["tunnel-pid"])
        assert client["tunneled-port"] == env.server_state(role)[1]["port"]
        assert _answers(client["port"])
    assert _service_pids(env) == pids, "the same services, no duplicate"
    out = env.workflow(2, 3)
    assert out["result"] == 50 and {r[1] for r in out["outcomes"]} == {"reused"}
    assert {r[3] for r in out["outcomes"]} == {"localhost"}
    reliability.record(SECTION, "tunnel connections (ssh -N) killed under live services: monitors exit, the "
                                "next init reopens them, a workflow runs through them",
                       {"survived": True, "tunnels reopened": len(STORAGE), "duplicates": 0})


# -- the guarded remote: rhl-guard --data-roots -----------------------------------------------

@pytest.fixture(scope="module")
def roots_guard(sshd: PrivateSshd) -> dict[str, Path]:
    """A key of the private sshd forced through the recording wrapper around ``rhl-guard --data-roots``;
    each test writes the roots file and empties the log."""
    root = sshd.root
    key = root / "key-roots"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "roots", "-f", str(key)],
                   check=True, stdin=subprocess.DEVNULL)
    roots, log, wrapper = root / "data-roots", root / "guard-commands.jsonl", root / "guard-wrapper"
    roots.write_text(f"{root / 'nothing-yet'}\n")
    wrapper.write_text(WRAPPER.format(python=str(VENV_BIN / "python"), guard=str(VENV_BIN / "rhl-guard"),
                                      roots=str(roots), log=str(log)))
    wrapper.chmod(0o755)
    options = sshd._env_options(f"{VENV_BIN}:{SYSTEM_PATH}")
    with open(root / "authorized_keys", "a") as f:  # sshd reads it at every login
        f.write(f'command="{wrapper}",{options} {key.with_suffix(".pub").read_text().strip()}\n')
    text = sshd.config_file.read_text()
    sshd.config_file.write_text(
        f"Host {ROOTS_ALIAS}\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {key}\n  IdentitiesOnly yes\n" + text)
    return {"roots": roots, "log": log}


def _logged(guard: dict[str, Path]) -> list[tuple[list[str], str]]:
    """(argv without the leading VAR= assignments, the guard's verdict) of every command received."""
    out = []
    for line in guard["log"].read_text().splitlines():
        entry = json.loads(line)
        parts = shlex.split(entry["command"])
        while parts and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", parts[0]):
            parts = parts[1:]
        out.append((parts, entry["verdict"]))
    return out


def _guarded_paths(parts: list[str]) -> list[str]:
    """The path arguments the guard checks against its roots (read from the argv, not by the guard)."""
    helper, args = parts[0], parts[1:]
    if helper == "rhl-clear":
        return args[:1]
    if helper == "rhl-launch-service":
        own = args[: args.index("--")] if "--" in args else args
        return [own[i + 1] for i, a in enumerate(own[:-1]) if a == "--workdir"] + [
            a.split("=", 1)[1] for a in own if a.startswith("--workdir=")]
    if helper == "rhl-ps-persistent":
        paths, skip = [], False
        for a in args:
            if skip:
                skip = False
            elif a in ("--level", "--file", "--marker"):
                skip = True
            elif not a.startswith("-"):
                paths.append(a)
        return paths
    return []


def _inside(path: str, roots: list[Path]) -> bool:
    resolved = Path(os.path.realpath(path))
    return Path(path).is_absolute() and any(
        resolved == r or resolved.is_relative_to(r) for r in (Path(os.path.realpath(x)) for x in roots))


def _other_paths(parts: list[str]) -> list[str]:
    """Every other argument that names a file (absolute or ``~``), but the JSON of --parameters/--meta."""
    out, skip = [], False
    for a in parts[1:]:
        if skip:
            skip = False
        elif a in ("--parameters", "--meta"):
            skip = True
        elif a.startswith(("/", "~")):
            out.append(a)
    return out


def test_data_roots_guard_sees_only_paths_inside_the_roots(ssh_env: SshEnv, roots_guard) -> None:
    """seamless-init, seamless-service-ps (--cluster, --persistent), -stop and -clear through
    ``rhl-guard --data-roots``; every path the project sent lies inside the roots."""
    env = ssh_env
    roots = [env.bufferdir, env.database_dir]
    roots_guard["roots"].write_text("".join(f"{r}\n" for r in roots))
    roots_guard["log"].write_text("")
    env.configure(alias=ROOTS_ALIAS)
    cold, _, conns = env.init_json()
    assert {r["service"]: r["state"] for r in cold["services"]} == {"hashserver": "launched", "database": "launched"}
    assert conns == 1
    keys = {role: env.server_state(role)[0] for role in STORAGE}

    cp = _cli(env, "seamless-service-ps", "--cluster", env.cluster, "--json")
    assert cp.returncode == 0, describe(cp)
    rows = {r["key"]: r for r in map(json.loads, cp.stdout.splitlines())}
    assert set(keys.values()) <= set(rows), rows
    cp = _cli(env, "seamless-service-ps", "--persistent", "--json")
    assert cp.returncode == 0, describe(cp)
    persistent = {r["service"]: r["persistent"] for r in map(json.loads, cp.stdout.splitlines())}
    assert persistent == {"hashserver": "populated", "database": "populated"}, cp.stdout
    cp = _cli(env, "seamless-service-stop", "--cluster", env.cluster)
    assert cp.returncode == 0, describe(cp)
    assert {env.server_state(role)[1]["status"] for role in STORAGE} == {"stale"}
    for role in STORAGE:
        cp = _cli(env, "seamless-service-clear", "--service", role, "--yes")
        assert cp.returncode == 0 and cp.stdout.startswith("cleared "), describe(cp)
    again, _, _ = env.init_json()  # relaunched into the cleared directories
    assert {r["state"] for r in again["services"]} == {"launched"}

    logged = _logged(roots_guard)
    helpers = collections.Counter(parts[0] for parts, _ in logged)
    assert helpers["rhl-launch-service"] == 4 and helpers["rhl-clear"] == 2 and helpers["rhl-ps-persistent"] >= 1, helpers
    refused = [(parts, verdict) for parts, verdict in logged if verdict != "rhl helper"]
    assert refused == [], refused
    checked = [(parts[0], p) for parts, _ in logged for p in _guarded_paths(parts)]
    outside = [(h, p) for h, p in checked if not _inside(p, roots)]
    assert outside == [], outside
    assert {h for h, _ in checked} == {"rhl-launch-service", "rhl-clear", "rhl-ps-persistent"}
    # nor anywhere else on the command lines: storage paths, and the launcher's own state files
    stray = [(parts[0], p) for parts, _ in logged for p in _other_paths(parts)
             if not (_inside(p, roots) or p.startswith("~/.remote-http-launcher/"))]
    assert stray == [], stray
    reliability.record(SECTION, "guarded remote (rhl-guard --data-roots = bufferdir, database_dir): init, ps, "
                                "stop, clear", {"commands": len(logged), "path arguments checked": len(checked),
                                                "outside the roots": 0, "refused by the guard": 0},
                       note="the jobserver and daskserver run from /tmp, outside storage-only roots: storage only")


def test_bufferdir_outside_the_roots_is_refused_in_one_line(ssh_env: SshEnv, roots_guard) -> None:
    env = ssh_env
    roots = [env.bufferdir, env.database_dir]
    roots_guard["roots"].write_text("".join(f"{r}\n" for r in roots))
    roots_guard["log"].write_text("")
    outside = env.root / "elsewhere" / "buffers"
    env.configure(alias=ROOTS_ALIAS, bufferdir=outside)
    cp = env.seamless_init()
    assert cp.returncode == 1 and "Traceback" not in cp.stderr, describe(cp)
    lines = [ln for ln in cp.stderr.splitlines() if ln.startswith("seamless-init:")]
    assert len(lines) == 1, describe(cp)
    assert f"the SSH guard on frontend '127.0.0.1' (ssh {ROOTS_ALIAS})" in lines[0], lines[0]
    assert "refused 'rhl-launch-service'" in lines[0] and "outside configured --data-roots" in lines[0], lines[0]
    assert str(outside / env.project) in lines[0], lines[0]
    assert not outside.exists(), "nothing was created outside the roots"
    refused = [(parts[0], v) for parts, v in _logged(roots_guard) if v != "rhl helper"]
    assert refused and all(h == "rhl-launch-service" and "outside configured --data-roots" in v for h, v in refused)

    cp = _cli(env, "seamless-service-ps", "--persistent")
    assert cp.returncode == 1, describe(cp)
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("seamless-service-ps: "), describe(cp)
    assert "refused 'rhl-ps-persistent'" in lines[0] and "outside configured --data-roots" in lines[0], lines[0]
    reliability.record(SECTION, "guarded remote: a bufferdir outside the roots",
                       {"exit code": 1, "lines": 1, "tracebacks": 0, "created outside the roots": 0})
