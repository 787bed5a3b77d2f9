"""What the end-to-end (``e2e``) and SSH test environments share: processes and their groups.

Commands run in a session of their own so that whatever they leave behind can be
killed as a group; an environment's services are stopped by process group
(SIGTERM, a grace period, then SIGKILL). Environment variables that would leak
the caller's Seamless, launcher, conda or pytest settings into a subprocess are
dropped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

#: the variables (by prefix, and by name) a test subprocess must not inherit
LEAKY_PREFIXES = ("SEAMLESS_", "REMOTE_HTTP_LAUNCHER", "CONDA", "PYTEST_", "VIRTUAL_ENV")
LEAKY_NAMES = ("XDG_CACHE_HOME", "PYTHONPATH")


def base_env(home: Path, venv_bin: Path, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without the leaky variables (nor ``drop``), with HOME, a PATH
    that starts with ``venv_bin`` and unbuffered Python output."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(LEAKY_PREFIXES) and k not in (*LEAKY_NAMES, *drop)}
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(venv_bin), "/usr/local/bin", "/usr/bin", "/bin"])
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"  # a hung Python process dumps its threads on SIGABRT (see run_in_session)
    return env


def port_ranges(port0: int, block: int) -> dict[str, tuple[int, int]]:
    """A block of ports split between the services: a fifth each for hashserver, database and
    jobserver, the rest for the daskserver (the scheduler, its dashboard and the workers)."""
    step = block // 5
    return {
        "hashserver": (port0, port0 + step - 1),
        "database": (port0 + step, port0 + 2 * step - 1),
        "jobserver": (port0 + 2 * step, port0 + 3 * step - 1),
        "daskserver": (port0 + 3 * step, port0 + block - 1),
    }


def run_in_session(argv: list[str], *, cwd: Path, env: dict[str, str],
                   timeout: float, user: str | None = None) -> subprocess.CompletedProcess:
    """Run a command in its own process group; whatever it leaves in that group is killed.
    With ``user`` (needs root), the command runs as that user, with PWD set to ``cwd``."""
    as_user: dict = {}
    if user is not None:
        import pwd

        pw = pwd.getpwnam(user)
        as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        env = {**env, "USER": user, "LOGNAME": user, "PWD": str(cwd)}
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **as_user)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # SIGABRT first: with PYTHONFAULTHANDLER every Python process of the group prints its stacks
        killpg(proc.pid, signal.SIGABRT)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        raise AssertionError(f"{argv} timed out after {timeout} s\nstdout:\n{out}\nstderr:\n{err}"
                             + service_logs(Path(env["HOME"]))) from None
    finally:
        killpg(proc.pid, signal.SIGKILL)  # stragglers (e.g. spawned workers); services have their own session
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def service_logs(home: Path, lines: int = 60) -> str:
    """The tails of the server logs under ``home`` (what a hung or failed test needs to be understood)."""
    parts = []
    for log in sorted((home / ".remote-http-launcher" / "server").glob("*.log")):
        try:
            tail = log.read_text(errors="replace").splitlines()[-lines:]
        except OSError as exc:
            tail = [f"(unreadable: {exc})"]
        parts.append(f"\n--- {log.name} (last {lines} lines)\n" + "\n".join(tail))
    return "".join(parts)


def describe(cp: subprocess.CompletedProcess) -> str:
    return f"{cp.args} exited {cp.returncode}\n--- stdout\n{cp.stdout}\n--- stderr\n{cp.stderr}"


def pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def killpg(pgid: int, sig: int) -> None:
    if pgid <= 1 or pgid == os.getpgrp():
        return
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(g == pgid and not zombie(p) for p, g, _ in processes())


def zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def home_of(pid: int) -> str | None:
    """The ``HOME`` in a process's environment (``None`` when unreadable or unset)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return None
    return next((e[5:].decode("utf-8", "replace") for e in env if e.startswith(b"HOME=")), None)


def processes() -> Iterator[tuple[int, int, str]]:
    """(pid, pgid, command line) of every live, non-zombie process."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{d}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        yield pid, int(fields[2]), cmd


def stop_groups(pgids: Iterable[int], grace: float = 8) -> None:
    """SIGTERM to each process group (never this process's own), SIGKILL to what is left after ``grace`` s."""
    groups = set(pgids) - {os.getpgrp(), 0}
    for g in groups:
        killpg(g, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_alive(g) for g in groups):
        time.sleep(0.1)
    for g in groups:
        killpg(g, signal.SIGKILL)


def stop_started(procs: list[subprocess.Popen]) -> None:
    """Stop daemons this process started, each in its own session (:func:`stop_groups`: everything
    left in their groups is killed too), reap them, and forget them."""
    stop_groups([p.pid for p in procs], grace=15)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    procs.clear()


SERVICES_MARK = "@SERVICES@"


def frontend_services(ranges: dict[str, tuple[int, int]], bufferdir: object, database_dir: object) -> str:
    """The hashserver, database, jobserver and daskserver sections of a test frontend, on 127.0.0.1,
    as YAML lines indented for a frontend list item (10 columns)."""
    lines = []
    for service in ("hashserver", "database", "jobserver", "daskserver"):
        lines.append(f"{service}:")
        if service == "hashserver":
            lines.append(f"  bufferdir: {bufferdir}")
        elif service == "database":
            lines.append(f"  database_dir: {database_dir}")
        lines += ["  network_interface: 127.0.0.1",
                  f"  port_start: {ranges[service][0]}", f"  port_end: {ranges[service][1]}"]
    return "".join(" " * 10 + line + "\n" for line in lines)


def with_services(profile: str, ranges: dict[str, tuple[int, int]], bufferdir: object, database_dir: object) -> str:
    """``profile`` with its ``@SERVICES@`` line replaced by :func:`frontend_services`."""
    marker = " " * 10 + SERVICES_MARK + "\n"
    assert marker in profile
    return profile.replace(marker, frontend_services(ranges, bufferdir, database_dir))
