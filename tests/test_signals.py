"""Signals reach only processes proven to be the service (issue: hostile state, items 1-3).

Real processes throughout. The end-to-end case runs in a private PID namespace
(``unshare --pid --fork --mount-proc``), so that a regression that signals
``-1`` or a whole group can only hurt the processes of that namespace.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import reliability

from effects import procs, services, statefiles
from effects.hosts import LocalHost

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
KEY = "hashserver-loc-rw-p"


@pytest.fixture
def rhl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "rhl"
    monkeypatch.setenv("REMOTE_HTTP_LAUNCHER_DIR", str(base))
    (base / "server").mkdir(parents=True)
    return base


@pytest.fixture
def spawn():
    started: list[subprocess.Popen] = []

    def start(*extra: str, session: bool = True) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *extra],
                             start_new_session=session)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def _state(pid, **extra) -> dict:
    return {"workdir": "/nonexistent/p", "pid": pid, "status": "running", "port": 53100, **extra}


def _write(key: str, data: dict) -> Path:
    path = statefiles.server_json(key)
    path.write_text(json.dumps(data))
    return path


def _status_args(key: str = KEY) -> tuple[str, str]:
    return ("--status-file", str(statefiles.server_json(key)))


@pytest.mark.parametrize("pid", [True, False, 1, 0, -1, -5, 2**40, "7", 7.0, None, [3]])
def test_a_pid_that_cannot_be_a_service_is_never_signalled(rhl, pid) -> None:
    host = LocalHost()
    _write(KEY, _state(pid))
    assert host.running_pid(KEY, _state(pid)) is None
    assert host.stop_key(KEY) == "not-running"
    assert json.loads(statefiles.server_json(KEY).read_text())["status"] == "stale"
    rows = [r for r in host.list_states() if r["key"] == KEY]
    assert [r["status"] for r in rows] == ["stale"]
    assert services.remove_server_state(host, KEY) == ("removed", None)


def test_a_reused_pid_is_not_the_service(rhl, spawn) -> None:
    """A state that says running, with a pid that now belongs to an unrelated process of ours."""
    bystander = spawn()
    _write(KEY, _state(bystander.pid))
    host = LocalHost()
    assert host.running_pid(KEY, _state(bystander.pid)) is None
    assert host.stop_key(KEY) == "not-ours"  # (said so: "not running (the pid its state names is another process...)")
    assert services.remove_server_state(host, KEY) == ("removed", None)
    time.sleep(0.1)
    assert bystander.poll() is None


def test_a_process_that_started_after_the_state_was_written_is_not_the_service(rhl, spawn) -> None:
    """Same command line, but it started after the state (written by another launcher) was last
    written: a pid reused by a later launch of the same command, say after a reboot."""
    path = _write(KEY, {})
    old = time.time() - 3600
    os.utime(path, (old, old))
    later = spawn(*_status_args())
    data = _state(later.pid)
    path.write_text(json.dumps(data))
    os.utime(path, (old, old))
    assert LocalHost().running_pid(KEY, data) is None
    # written after it started: that is how a launcher writes it, so it is the service
    path.write_text(json.dumps(data))
    assert LocalHost().running_pid(KEY, data) == later.pid


def test_the_recorded_start_time_must_match(rhl, spawn) -> None:
    p = spawn(*_status_args())
    ticks = procs.start_ticks(p.pid)
    assert ticks is not None
    assert LocalHost().running_pid(KEY, _state(p.pid, pid_start=ticks)) == p.pid
    assert LocalHost().running_pid(KEY, _state(p.pid, pid_start=ticks + 1)) is None


def test_a_process_caught_in_its_exec_is_read_again(rhl, spawn, monkeypatch) -> None:
    """Between the start of an exec and the new program's arguments, /proc shows an empty command
    line; a launch returns in that moment, and the bring-up asks at once whether its service is
    alive. Such a reading is taken again, so that the service is proven (it was once declared gone
    and left running)."""
    p = spawn(*_status_args())
    real_open, empty = open, {"left": 3}

    def mid_exec(path, *args, **kw):
        if str(path) == f"/proc/{p.pid}/cmdline" and empty["left"] > 0:
            empty["left"] -= 1
            return io.BytesIO(b"")
        return real_open(path, *args, **kw)

    monkeypatch.setattr(procs, "open", mid_exec, raising=False)
    assert LocalHost().running_pid(KEY, _state(p.pid, pid_start=procs.start_ticks(p.pid))) == p.pid
    assert empty["left"] == 0


def test_a_kernel_thread_or_a_zombie_is_not_waited_for(monkeypatch) -> None:
    """Their command line is empty for good: read once."""
    reads = []
    stats = {11: b"11 (kworker/0:1) I 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0",
             12: b"12 (defunct) Z 1 12 12 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0"}

    def fake_open(path, *args, **kw):
        reads.append(path)
        pid = int(str(path).split("/")[2])
        return io.BytesIO(stats[pid] if str(path).endswith("/stat") else b"")

    monkeypatch.setattr(procs, "open", fake_open, raising=False)
    monkeypatch.setattr(procs.os, "stat", lambda path: os.stat_result((0,) * 10))
    assert [procs.info(pid).state for pid in (11, 12)] == ["I", "Z"]
    assert len(reads) == 4, reads  # stat and cmdline, once each


def test_another_key_or_a_bare_mention_is_not_the_service(rhl, spawn) -> None:
    other = spawn(*_status_args("hashserver-loc-rw-p--STAGE-x"))
    mention = spawn("tail", str(statefiles.server_json(KEY)))  # names the file, not as --status-file
    for p in (other, mention):
        _write(KEY, _state(p.pid))
        assert LocalHost().running_pid(KEY, _state(p.pid)) is None


def _gone(pid: int) -> bool:
    i = procs.info(pid)
    return i is None or i.state == "Z"


@pytest.fixture
def service_with_child(rhl: Path, tmp_path: Path):
    """A stand-in service in a session of its own, with a child in its process group (as the
    service under ``conda run`` is): ``(service, child pid)``; both ended afterwards."""
    pidfile = tmp_path / "child.pid"
    code = ("import subprocess, sys, time; c = subprocess.Popen(['sleep', '120']); "
            "open(sys.argv[1], 'w').write(str(c.pid)); time.sleep(120)")
    service = subprocess.Popen([sys.executable, "-c", code, str(pidfile), *_status_args()], start_new_session=True)
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child = int(pidfile.read_text())
    yield service, child
    service.kill()
    service.wait()
    if not _gone(child):
        os.kill(child, 9)


def test_a_proven_service_is_stopped_with_its_group_and_nothing_else(rhl, spawn, service_with_child) -> None:
    host = LocalHost()
    service, child = service_with_child
    bystander = spawn()
    data = _state(service.pid, pid_start=procs.start_ticks(service.pid), pgid=service.pid)
    _write(KEY, data)
    assert host.running_pid(KEY, data) == service.pid
    assert [r["status"] for r in host.list_states()] == ["running"]
    assert host.stop_key(KEY) == "stopped"
    assert service.wait(10) is not None
    deadline = time.monotonic() + 10
    while not _gone(child):
        assert time.monotonic() < deadline, "the service's group was not signalled"
        time.sleep(0.02)
    assert bystander.poll() is None


def test_a_group_is_signalled_only_when_this_project_created_it(rhl, service_with_child) -> None:
    """A state without our ``pgid`` (written by another launcher): only the pid itself is signalled."""
    service, child = service_with_child
    _write(KEY, _state(service.pid))
    assert LocalHost().stop_key(KEY) == "stopped"
    assert service.wait(10) is not None
    time.sleep(0.1)
    assert not _gone(child)


def test_orphans_of_a_key_are_found_listed_and_stopped(rhl, spawn) -> None:
    """A launch interrupted between spawning and writing the state leaves a process no state names."""
    host = LocalHost()
    orphan = spawn(*_status_args())
    bystander = spawn(*_status_args("database-loc-rw-p"))  # another key's process: not an orphan of KEY
    _write("database-loc-rw-p", _state(bystander.pid))
    rows = {r["key"]: r for r in host.list_states()}
    assert rows[KEY]["status"] == "orphan" and rows[KEY]["pid"] == orphan.pid
    assert rows["database-loc-rw-p"]["status"] == "running"
    assert services.stop(host, KEY)["outcome"] == "stopped"
    assert orphan.wait(10) is not None
    assert bystander.poll() is None
    assert host.stop_key(KEY) == "missing"


def test_stop_finds_every_process_of_a_key(rhl, spawn) -> None:
    """The state's service and a duplicate left by an interrupted launch: stop ends both."""
    host = LocalHost()
    first = spawn(*_status_args())
    duplicate = spawn(*_status_args())
    data = _state(first.pid, pid_start=procs.start_ticks(first.pid), pgid=first.pid)
    _write(KEY, data)
    assert host.stop_key(KEY) == "stopped"
    assert first.wait(10) is not None and duplicate.wait(10) is not None


def test_tunnel_pids_are_proven_too(rhl, spawn) -> None:
    from effects import tunnels

    bystander = spawn()
    for pid in (True, 1, 0, -1, bystander.pid, os.getpid()):
        assert tunnels.close_tunnel({"tunnel-pid": pid}) is False
    assert bystander.poll() is None
    monitor = spawn(tunnels.MONITOR_MODULE)
    assert tunnels.close_tunnel({"tunnel-pid": monitor.pid}) is True
    assert monitor.wait(10) is not None


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_hostile_pids_in_a_private_pid_namespace(tmp_path: Path) -> None:
    """seamless-service-stop, -rm and seamless-init against states whose pid is True, 1, 0, -1, huge,
    a string, null, or a bystander of the same or another group: no bystander is signalled, and
    seamless-init launches a real hashserver in place of the stale state."""
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"unshare --pid does not work here: {probe.stderr.strip()}")
        pytest.skip(f"unshare --pid does not work here (needs root or user namespaces): {probe.stderr.strip()}")
    cp = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, str(HERE / "hostile_pid_ns.py"),
         str(tmp_path), str(BIN)],
        capture_output=True, text=True, timeout=900,
    )
    assert cp.returncode == 0, cp.stderr[-3000:]
    report = json.loads(cp.stdout.strip().splitlines()[-1])
    assert report["alive"] == {"same_group": True, "own_session": True}, report
    for run in report["runs"]:
        assert run["alive"] == {"same_group": True, "own_session": True}, run
        for name in ("stop", "rm", "init", "stop_launched"):
            code, text = run[name]
            assert "Traceback" not in text, (run["pid"], name, text)
        assert run["stop"][0] == 0, run
        assert run["init"][0] == 0, run
        services_ = json.loads(run["init"][1])["services"]
        assert {"key": "hashserver-ns-rw-p", "state": "launched"}.items() <= services_[0].items(), run
        assert "stopped" in run["stop_launched"][1], run
    reliability.record("Hostile state (real services)",
                       "server states with pid true, 1, 0, -1, huge, a string, null or a bystander's "
                       "(stop, rm, init, in a private PID namespace)",
                       {"states": len(report["runs"]), "bystanders signalled": 0, "tracebacks": 0})



def test_a_local_service_runs_in_its_directory_with_a_pwd_that_says_so(rhl, tmp_path, monkeypatch) -> None:
    """OAR's oarsub (run by a daskserver) takes the job's directory from PWD and refuses to submit without
    one: a launched service gets the PWD of the directory it runs in, not the launcher's."""
    bin_dir, workdir, out = tmp_path / "bin", tmp_path / "work" / "p", tmp_path / "seen.json"
    bin_dir.mkdir()
    fake = bin_dir / "hashserver"
    fake.write_text(f"#!{sys.executable}\nimport json, os\n"
                    f"json.dump({{'PWD': os.environ.get('PWD'), 'cwd': os.getcwd()}}, open({str(out)!r}, 'w'))\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PWD", "/somewhere/else")
    pid = LocalHost().launch(KEY, str(workdir), ["hashserver"], conda=None, network_interface=None,
                             parameters=None, meta=None)
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(out.read_text()) == {"PWD": str(workdir), "cwd": str(workdir)}
    assert json.loads(statefiles.server_json(KEY).read_text())["pid"] == pid
