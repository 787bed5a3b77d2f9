"""Launched processes are reaped safely when services start from several threads at once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from effects.shell import SHELL, Shell


def test_adopt_from_many_threads() -> None:
    procs = [subprocess.Popen(["true"]) for _ in range(24)]
    time.sleep(0.5)  # all exited, none reaped yet: the calls below reap them (waitpid) concurrently
    errors: list[BaseException] = []
    start = threading.Barrier(len(procs))

    def reap(p: subprocess.Popen) -> None:
        start.wait()
        try:
            for _ in range(50):
                SHELL.adopt(p)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=reap, args=(p,)) for p in procs]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert all(p not in SHELL.children for p in procs), "exited processes stay listed"


def test_keep_may_make_a_value_that_keeps_another() -> None:
    """An SSH host is made under the shell's lock and keeps its connection: the same lock, again."""
    shell = Shell()
    done = threading.Event()

    def make_host() -> str:
        return "host over " + shell.keep(shell.ssh_connections, "dest", lambda: "connection")

    def run() -> None:
        assert shell.keep(shell.ssh_hosts, "dest", make_host) == "host over connection"
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "keep() deadlocked on its own lock"
    assert shell.keep(shell.ssh_hosts, "dest", lambda: "another") == "host over connection"
