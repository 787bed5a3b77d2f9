"""Faults, with the real services: killed, hung, corrupted state, read-only or full state directory.

Each fault is injected between two bring-ups (``seamless-init``, which runs
what ``init()`` runs); the second must recover: relaunch what is dead or hung,
warn about and replace what it cannot trust, and fail with one clear line (and
no half-written file) when it cannot write its state at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import reliability
from _services import zombie

from ._support import E2EEnv, describe


def _init(env: E2EEnv, **kw) -> dict:
    cp = env.seamless_init("--json", **kw)
    assert cp.returncode == 0, describe(cp)
    return {r["service"]: r for r in json.loads(cp.stdout)["services"]}


def _state_of(env: E2EEnv, role: str) -> dict:
    return env.state(role)[1]


def _one_process_per_key(env: E2EEnv) -> None:
    for key, state in env.server_states().items():
        procs = env.service_processes(key)
        assert set(procs.values()) <= {state.get("pid")}, f"{key}: processes {procs}, state pid {state.get('pid')}"
        assert len(set(procs.values())) == 1, f"{key}: {procs}"


def _wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not zombie(pid):
        assert time.monotonic() < deadline, f"{pid} still alive"
        time.sleep(0.05)


def _no_partial_files(env: E2EEnv) -> list[str]:
    return [str(p) for p in env.launcher_dir.rglob("*.tmp")]


def test_sigkilled_services_are_relaunched(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    _init(env)
    killed = []
    for role in ("hashserver", "database"):
        pid = _state_of(env, role)["pid"]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    for pid in killed:
        _wait_dead(pid)
    rows = _init(env)
    states = env.server_states()
    assert rows["hashserver"]["state"] == rows["database"]["state"] == "launched", (rows, states, killed)
    assert all(s.get("status") == "running" for s in states.values()), (rows, states, killed)
    _one_process_per_key(env)
    reliability.record("Faults (real services)", "SIGKILL of both storage services between two bring-ups",
                       {"survived": True, "relaunched": 2, "duplicates": 0})


def test_hung_service_is_detected_and_replaced(e2e_env: E2EEnv) -> None:
    """SIGSTOP the hashserver: it neither answers nor dies. The next bring-up gives up on it within its
    health-check timeout, stops it and launches another."""
    env = e2e_env
    env.configure(execution="process")
    _init(env)
    old = _state_of(env, "hashserver")["pid"]
    os.kill(old, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        rows = _init(env, timeout=120)
        seconds = time.monotonic() - t0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(old, signal.SIGCONT)
    assert rows["hashserver"]["state"] == "launched", rows
    assert rows["database"]["state"] == "reused", rows
    new = _state_of(env, "hashserver")["pid"]
    assert new != old
    _wait_dead(old)
    _one_process_per_key(env)
    assert seconds < 25, f"a hung service held the bring-up for {seconds:.1f} s"
    reliability.record("Faults (real services)", "hung hashserver (SIGSTOP): detected and replaced",
                       {"survived": True, "seconds": round(seconds, 1), "old process stopped": True, "duplicates": 0})


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_state_is_recovered_with_a_warning(e2e_env: E2EEnv, damage: str) -> None:
    env = e2e_env
    env.configure(execution="process")
    _init(env)
    key, state = env.state("database")
    path = env.launcher_dir / "server" / f"{key}.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2] if damage == "truncated" else "\0\xff{{not json")
    # a client without a connection file of its own (another user of the host, a fresh HOME's client dir)
    (env.launcher_dir / "client" / f"{key}.json").unlink()
    cp = env.seamless_init("--json")
    assert cp.returncode == 0, describe(cp)
    assert "Traceback" not in cp.stderr, describe(cp)
    warnings = [ln for ln in cp.stderr.splitlines() if "corrupt" in ln]
    assert len(warnings) == 1 and key in warnings[0], describe(cp)
    rows = {r["service"]: r for r in json.loads(cp.stdout)["services"]}
    assert rows["database"]["state"] == "launched"
    _wait_dead(state["pid"])  # the old database was found and stopped: no duplicate
    new = _state_of(env, "database")
    assert new["status"] == "running" and new["pid"] != state["pid"]
    _one_process_per_key(env)
    reliability.record("Faults (real services)", f"server state JSON {damage}: warned, old process stopped, relaunched",
                       {"survived": True, "warnings": 1, "duplicates": 0})


def _mount(args: list[str]) -> str | None:
    cp = subprocess.run(["mount", *args], capture_output=True, text=True)
    return None if cp.returncode == 0 else (cp.stderr.strip() or f"mount exited {cp.returncode}")


@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_unwritable_state_directory_fails_cleanly(e2e_env: E2EEnv, fault: str) -> None:
    """The server state directory read-only (a read-only bind mount) or full (a tiny tmpfs, filled):
    exit 1 with one line saying which file could not be written, no half-written file, no service left."""
    env = e2e_env
    env.configure(execution="process")
    server = env.launcher_dir / "server"
    (server / ".locks").mkdir(parents=True)
    if fault == "read-only":
        why = _mount(["--bind", str(server), str(server)]) or _mount(["-o", "remount,bind,ro", str(server)])
    else:
        why = _mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", str(server)])
        if why is None:
            (server / ".locks").mkdir()
            with contextlib.suppress(OSError), open(server / "filler", "wb") as f:
                f.write(b"\0" * (1 << 20))
    if why is not None:
        pytest.skip(f"cannot make a {fault} directory here: {why}")
    try:
        cp = env.seamless_init(timeout=120)
        partial = _no_partial_files(env)
        states = [p for p in server.glob("*.json")]
    finally:
        while subprocess.run(["umount", str(server)], capture_output=True).returncode == 0:
            pass
    assert cp.returncode == 1, describe(cp)
    assert "Traceback" not in cp.stderr + cp.stdout, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seamless-init: "), describe(cp)
    assert str(server) in lines[0] or "state" in lines[0], describe(cp)
    assert partial == [] and states == [], (partial, states)
    for pid, _pgid, cmd in _service_cmds(env):
        raise AssertionError(f"service left running: {pid} {cmd}")
    reliability.record("Faults (real services)", f"{fault} server state directory: clear error, no partial file",
                       {"exit code": 1, "lines": 1, "partial files": 0, "services left": 0})


def _service_cmds(env: E2EEnv):
    from ._support import _processes

    home = str(env.home) + os.sep
    return [(p, g, c) for p, g, c in _processes() if home in c and "seamless-init" not in c]


def _tree(path: Path) -> list[str]:
    return sorted(str(p) for p in path.rglob("*"))


def _cold(env: E2EEnv) -> None:
    """No service running, no state or client file: the next seamless-init starts everything."""
    env.stop_all()
    for sub in ("server", "client"):
        for f in (env.launcher_dir / sub).glob("*.json"):
            f.unlink()


def _jobserver_without_state(env: E2EEnv) -> tuple[str, list[int]] | None:
    """Run seamless-init and kill -9 it once the jobserver is spawned but its state not yet written
    (the launcher writes it when the storage services' addresses are known); the key and the
    processes left behind, or None if the moment was missed."""
    from _services import processes

    from ._support import VENV_BIN

    init = subprocess.Popen([str(VENV_BIN / "seamless-init"), "--json"], cwd=env.project_dir, env=env.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marker = str(env.launcher_dir / "server") + "/jobserver-"
    key = None
    deadline = time.monotonic() + 60
    try:
        while key is None and init.poll() is None and time.monotonic() < deadline:
            for _pid, _pgid, cmd in processes():
                if "--status-file" in cmd and marker in cmd:
                    key = "jobserver-" + cmd.split(marker, 1)[1].split(".json", 1)[0]
                    break
            else:
                time.sleep(0.005)
                continue
            if not (env.launcher_dir / "server" / f"{key}.json").exists():
                os.kill(init.pid, signal.SIGKILL)
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            init.wait(60)
    if key is None or (env.launcher_dir / "server" / f"{key}.json").exists():
        return None
    left = list(env.service_processes(key))
    return (key, left) if left else None


def _interrupted_from_cold(env: E2EEnv) -> tuple[str, list[int]]:
    """From cold, a seamless-init killed at the right moment (a few tries: it is a race)."""
    for _attempt in range(3):
        _cold(env)
        found = _jobserver_without_state(env)
        if found:
            return found
    raise AssertionError("could not interrupt seamless-init between spawning the jobserver and writing its state")


def test_a_launch_killed_before_its_state_is_written_leaves_no_duplicate(e2e_env: E2EEnv) -> None:
    """kill -9 of seamless-init between spawning the jobserver and writing its state: the orphan
    shows in seamless-service-ps, the next run stops it and starts one jobserver, and
    seamless-service-stop --cluster finds such an orphan too."""
    from ._support import VENV_BIN

    env = e2e_env
    env.configure(execution="remote", remote="jobserver")
    key, orphans = _interrupted_from_cold(env)
    ps = env.run([str(VENV_BIN / "seamless-service-ps"), "--cluster", env.cluster, "--json"])
    rows = {json.loads(line)["key"]: json.loads(line) for line in ps.stdout.splitlines()}
    assert rows[key]["process"] == "orphan", describe(ps)
    cp = env.seamless_init("--json")
    assert cp.returncode == 0, describe(cp)
    assert "left by an interrupted launch" in cp.stderr, describe(cp)
    for pid in orphans:
        _wait_dead(pid)
    _one_process_per_key(env)
    # once more from cold, and this time seamless-service-stop --cluster ends it
    found = _interrupted_from_cold(env)
    cp = env.run([str(VENV_BIN / "seamless-service-stop"), "--cluster", env.cluster])
    assert cp.returncode == 0 and f"{found[0]}: stopped" in cp.stdout, describe(cp)
    for pid in found[1]:
        _wait_dead(pid)
    reliability.record("Hostile state (real services)",
                       "seamless-init killed between spawning the jobserver and writing its state",
                       {"orphans stopped": len(orphans), "duplicates": 0})


def test_a_state_naming_a_reused_pid_is_stale(e2e_env: E2EEnv) -> None:
    """The hashserver's state says running, but its pid now belongs to an unrelated process of ours
    (as after a reboot): seamless-init and seamless-service-stop leave that process alone, and a
    new hashserver is launched."""
    from ._support import VENV_BIN

    env = e2e_env
    env.configure(execution="process")
    _init(env)
    key, state = env.state("hashserver")
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        os.kill(state["pid"], signal.SIGKILL)
        _wait_dead(state["pid"])
        hostile = {k: v for k, v in state.items() if k not in ("pid_start", "pgid")}
        hostile["pid"] = bystander.pid
        (env.launcher_dir / "server" / f"{key}.json").write_text(json.dumps(hostile))
        rows = _init(env)
        assert rows["hashserver"]["state"] == "launched"
        assert bystander.poll() is None
        (env.launcher_dir / "server" / f"{key}.json").write_text(json.dumps(hostile))
        cp = env.run([str(VENV_BIN / "seamless-service-stop"), "--cluster", env.cluster])
        assert cp.returncode == 0 and "Traceback" not in cp.stderr, describe(cp)
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    reliability.record("Hostile state (real services)", "a running state whose pid was reused by another process",
                       {"bystander signalled": 0, "relaunched": 1})


def test_a_running_server_whose_storage_changed_is_restarted(e2e_env: E2EEnv) -> None:
    """bufferdir and database_dir changed while the services run: the next bring-up says so and
    starts them in the new directories instead of reusing servers that write to the old ones."""
    env = e2e_env
    env.configure(execution="process")
    first = _init(env)
    profile = env.project_dir / "seamless.profile.yaml"
    text = profile.read_text()
    moved = {}
    for kind, old in (("buffers", str(env.bufferdir)), ("db", str(env.database_dir))):
        assert old in text
        moved[kind] = f"{old}-moved"
        text = text.replace(old, moved[kind])
    profile.write_text(text)
    cp = env.seamless_init("--json")
    assert cp.returncode == 0, describe(cp)
    rows = {r["service"]: r for r in json.loads(cp.stdout)["services"]}
    assert rows["hashserver"]["state"] == rows["database"]["state"] == "launched", (first, rows)
    assert "restarting it there" in cp.stderr
    assert _state_of(env, "hashserver")["workdir"].startswith(moved["buffers"])
    assert _state_of(env, "database")["workdir"].startswith(moved["db"])
    _one_process_per_key(env)
    reliability.record("Hostile state (real services)", "bufferdir and database_dir changed under running servers",
                       {"restarted": 2, "reused with the old storage": 0})


def test_a_walltime_the_wrapper_cannot_use_is_said_in_one_line(e2e_env: E2EEnv) -> None:
    """seamless-dask-wrapper derives its workers' lifetime from the queue's walltime and reads a bare
    number as seconds: ``walltime: "5"`` (five minutes to SLURM) leaves it nothing. seamless-init ends
    with the wrapper's refusal and the fix, in one line, not the log's traceback."""
    env = e2e_env
    env.configure(execution="remote", remote="daskserver")
    profile = env.project_dir / "seamless.profile.yaml"
    profile.write_text(profile.read_text().replace('walltime: "01:00:00"', 'walltime: "5"'))
    cp = env.seamless_init()
    assert cp.returncode == 1, describe(cp)
    said = [line for line in cp.stderr.splitlines() if "seamless-dask-wrapper refused its queue" in line]
    assert len(said) == 1, describe(cp)
    assert "lifetime" in said[0] and "write a longer walltime in hours" in said[0], said[0]
    assert "Traceback" not in cp.stderr, describe(cp)
    # nothing of the daskserver is left running
    assert all(s.get("status") != "running" for k, s in env.server_states().items() if "daskserver" in k)
