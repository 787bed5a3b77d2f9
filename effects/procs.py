"""Which local processes belong to a service, proven before any signal is sent.

A server state file is data from disk: it may be damaged, hand-edited, left over
from before a reboot, or written by something else. Its ``pid`` is trusted only
after the process behind it is shown to be the service:

- the pid is an ``int`` (not a ``bool``) greater than 1, and not this process;
- the process exists, is not a zombie, and belongs to this user;
- its command line gives the key's status file as ``--status-file`` (every
  service command has it, launched by this project or by remote-http-launcher);
- it is the process the state was written for: its start time equals the one
  this project recorded at the launch (``pid_start``), or, for a state written by
  another launcher, it started before the state file was last written (a pid
  reused after the service died started later).

A process group is signalled only when this project created it (``pgid`` in the
state is the pid, and the process still leads that group). Processes of a key
that no state names (a launch interrupted between spawning and writing the
state) are found by the same command-line test: :func:`key_processes`.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, TypeGuard

import attrs

#: seconds a service may have started after its state file was last written (clock granularity)
START_SLACK = 2.0


@attrs.frozen
class ProcInfo:
    pid: int
    uid: int
    state: str  # the one-letter state of /proc/<pid>/stat (Z: zombie)
    start_ticks: int  # start time, clock ticks after boot
    pgid: int
    sid: int
    argv: tuple[bytes, ...]

    @property
    def running(self) -> bool:
        """Not a zombie (ended, not yet reaped by its parent)."""
        return self.state != "Z"


def valid_pid(value: object) -> TypeGuard[int]:
    """Whether a state's ``pid`` may name a service at all.

    >>> [valid_pid(v) for v in (True, 1, 0, -1, 2.0, "5", 4242)]
    [False, False, False, False, False, False, True]
    """
    return isinstance(value, int) and not isinstance(value, bool) and value > 1


#: a process in the middle of ``execve`` shows an empty command line (the new program's arguments
#: are not in place yet; a launch returns as soon as the exec has begun): such a reading is taken
#: again, EXEC_PAUSE seconds apart, for up to EXEC_WAIT seconds
EXEC_WAIT = 0.5
EXEC_PAUSE = 0.001
#: the ``flags`` bit of a kernel thread, whose command line is always empty
PF_KTHREAD = 0x00200000


def info(pid: int) -> ProcInfo | None:
    """What ``/proc`` says of ``pid``; ``None`` when there is no such process (or it cannot be read).

    A process caught in the middle of an exec is read again until its new command line is there."""
    deadline = None
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            uid = os.stat(f"/proc/{pid}").st_uid
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            return None
        # the command name (field 2) is in parentheses and may contain anything: split after the last ")"
        fields = stat.rsplit(b")", 1)[-1].split()
        try:
            state = fields[0].decode("ascii", "replace")
            pgid, sid, flags, start = int(fields[2]), int(fields[3]), int(fields[6]), int(fields[19])
        except (IndexError, ValueError):
            return None
        if cmdline or state == "Z" or flags & PF_KTHREAD:
            break
        now = time.monotonic()
        deadline = now + EXEC_WAIT if deadline is None else deadline
        if now > deadline:
            break
        time.sleep(EXEC_PAUSE)
    argv = tuple(cmdline.split(b"\0")[:-1] if cmdline.endswith(b"\0") else cmdline.split(b"\0"))
    return ProcInfo(pid, uid, state, start, pgid, sid, argv)


def start_ticks(pid: int) -> int | None:
    i = info(pid)
    return None if i is None else i.start_ticks


def _boot_time() -> float:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def start_epoch(ticks: int) -> float:
    """A ``start_ticks`` value as seconds since the epoch."""
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


def names_status_file(argv: tuple[bytes, ...], status_file: str) -> bool:
    """Whether a command line passes ``status_file`` as ``--status-file``.

    >>> names_status_file((b"hashserver", b"--status-file", b"/s/k.json"), "/s/k.json")
    True
    >>> names_status_file((b"x", b"--status-file=/s/k.json"), "/s/k.json")
    True
    >>> names_status_file((b"tail", b"-f", b"/s/k.json"), "/s/k.json"), names_status_file((b"x",), "/s/k.json")
    (False, False)
    """
    want = os.fsencode(status_file)
    for i, a in enumerate(argv):
        if a == b"--status-file" and i + 1 < len(argv) and argv[i + 1] == want:
            return True
        if a == b"--status-file=" + want:
            return True
    return False


def _ours(i: ProcInfo | None, status_file: str) -> bool:
    return (i is not None and i.running and i.uid == os.getuid()
            and names_status_file(i.argv, status_file))


def proven(state: dict[str, Any] | None, status_file: Path) -> ProcInfo | None:
    """The process a server state names, when it is proven to be that service (module docstring)."""
    if not state:
        return None
    pid = state.get("pid")
    if not valid_pid(pid) or pid == os.getpid():
        return None
    i = info(pid)
    if not _ours(i, str(status_file)):
        return None
    assert i is not None
    recorded = state.get("pid_start")
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        return i if recorded == i.start_ticks else None
    try:
        written = os.stat(status_file).st_mtime
    except OSError:
        return None
    return i if start_epoch(i.start_ticks) <= written + START_SLACK else None


def scan() -> list[ProcInfo]:
    """This user's live processes (not this one, not init), by pid."""
    me, uid = os.getpid(), os.getuid()
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) in (me, 1):
            continue
        i = info(int(entry))
        if i is not None and i.uid == uid and i.running:
            out.append(i)
    return sorted(out, key=lambda p: p.pid)


def key_processes(status_file: Path) -> list[ProcInfo]:
    """This user's live processes whose command line names ``status_file`` (one service key)."""
    return [i for i in scan() if names_status_file(i.argv, str(status_file))]


def same_process(i: ProcInfo) -> bool:
    """Whether ``i.pid`` is still the process ``i`` describes (not exited, not reused)."""
    now = info(i.pid)
    return now is not None and now.running and now.start_ticks == i.start_ticks


def owns_group(state: dict[str, Any] | None, i: ProcInfo) -> bool:
    """Whether this project created the process group that ``i`` leads (see module docstring)."""
    return bool(state) and state.get("pgid") == i.pid and i.pgid == i.pid  # type: ignore[union-attr]


def terminate(i: ProcInfo, *, group: bool, timeout: float = 10.0) -> bool:
    """SIGINT, then SIGTERM, then SIGKILL to a proven process (its group when ``group``), checking
    before each signal that the pid is still that process. ``True`` when it is gone."""
    for sig, wait in ((signal.SIGINT, timeout / 2), (signal.SIGTERM, timeout / 2), (signal.SIGKILL, 2.0)):
        if not same_process(i):
            return True
        try:
            if group:
                os.killpg(i.pid, sig)
                if sig != signal.SIGKILL:
                    os.killpg(i.pid, signal.SIGCONT)  # a stopped (hung) process acts on it only when continued
            else:
                os.kill(i.pid, sig)
                if sig != signal.SIGKILL:
                    os.kill(i.pid, signal.SIGCONT)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not same_process(i):
                return True
            time.sleep(0.02)
    return not same_process(i)
