"""Where services run: this machine (:class:`LocalHost`), or one reached over SSH.

A host offers the few operations the launcher needs on the machine that runs
a service: read its state, start it, check its process, stop it, read its log.
:class:`LocalHost` does them directly; the SSH host does them through
remote-http-launcher's ``rhl-*`` helpers. Commands are argv lists, never shell
strings.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Protocol

from . import procs, statefiles
from .outcomes import LaunchError
from .shell import SHELL

#: which package provides each service binary (for "not found" messages)
PACKAGES = {
    "hashserver": "hashserver",
    "seamless-database": "seamless-database",
    "seamless-jobserver": "seamless-jobserver",
    "seamless-dask-wrapper": "seamless-dask",
}


class Host(Protocol):
    name: str

    def read_state(self, key: str) -> dict[str, Any] | None: ...

    def launch(self, key: str, workdir: str, argv: list[str], *, conda: str | None,
               network_interface: str | None, parameters: Any,
               meta: dict[str, Any] | None) -> int: ...

    def running_pid(self, key: str, state: dict[str, Any] | None) -> int | None:
        """The pid of the process ``state`` names when it is proven to be the service of ``key``
        (see :mod:`effects.procs`); ``None``: no such process, or not proven (the state is stale)."""
        ...

    def stop_running(self, key: str, state: dict[str, Any] | None, timeout: float = 10.0) -> bool:
        """Stop the proven process of ``state`` and every other process of ``key``; ``True`` when
        none is left. Nothing else is ever signalled."""
        ...

    def stop_orphans(self, key: str) -> list[int]:
        """Stop the processes of ``key`` that no state names (an interrupted launch); their pids."""
        ...

    def listing(self, argv: list[str], timeout: float = 20.0) -> tuple[int, str, str] | None:
        """A read-only listing command (``sinfo``, ``oarnodes``) run on this host: its exit code, stdout
        and stderr; ``None`` when it is not there, is refused or hangs."""
        ...

    def remove_state(self, key: str) -> None: ...

    def log_tail(self, key: str, lines: int = 15) -> str: ...

    # -- management (the seamless-service-* commands) --------------------------------------
    def list_states(self) -> list[dict[str, Any]]:
        """One row per server state file: the state's fields plus ``key``, and ``status``
        corrected for liveness (``running`` with a dead process is ``stale``)."""
        ...

    def stop_key(self, key: str) -> str:
        """Stop a service by key and mark its state ``stale``: ``stopped``, ``not-running``, ``not-ours`` (its
        pid is another process, left alone) or ``missing``."""
        ...

    def read_log(self, key: str, tail: int | None = None) -> str | None: ...

    def clear_dir(self, path: str) -> None:
        """Remove everything below ``path`` (not ``path`` itself)."""
        ...

    def disk_usage(self, paths: list[str], file: str | None = None,
                   marker: str | None = None) -> list[dict[str, Any]]:
        """``{"path", "state": absent|empty|populated, "size"}`` per path.

        With ``file`` (a plain file name, as ``rhl-ps-persistent --file``): a directory is
        ``populated`` when ``<path>/<file>`` exists (``size`` that file's size), else ``empty``.
        With ``marker``: a file of that name directly in ``path`` is not content (a
        directory holding only it is ``empty``; its size is not counted).
        """
        ...


class LocalHost:
    """This machine, without SSH."""

    name = "localhost"

    def read_state(self, key: str) -> dict[str, Any] | None:
        return statefiles.read_json(statefiles.server_json(key))

    def _resolve_binary(self, argv: list[str], conda: str | None) -> list[str]:
        binary = argv[0]
        if conda:
            conda_exe = find_conda()
            if conda_exe:
                envs = conda_envs(conda_exe)
                if conda not in envs:
                    raise LaunchError(
                        f"conda environment {conda!r} does not exist on this machine "
                        f"(create it with 'conda create -n {conda}' and install {PACKAGES.get(binary, binary)} in it, "
                        "or remove 'conda:' from the cluster definition)"
                    )
                return [conda_exe, "run", "--no-capture-output", "-n", conda, *argv]
            # no conda here at all: the service must be on PATH
        # The services usually sit beside this Python (same venv), activated or not.
        search = os.pathsep.join([os.environ.get("PATH", ""), os.path.dirname(sys.executable)])
        found = shutil.which(binary, path=search)
        if found is None:
            pkg = PACKAGES.get(binary, binary)
            raise LaunchError(
                f"'{binary}' was not found on the PATH of this machine (install it: pip install {pkg})"
            )
        return [found, *argv[1:]]

    def launch(self, key: str, workdir: str, argv: list[str], *, conda: str | None,
               network_interface: str | None, parameters: Any,
               meta: dict[str, Any] | None) -> int:
        """Start the service and write its state; ``parameters`` may be a function that waits for them."""
        full = self._resolve_binary(argv, conda)
        wd = Path(os.path.expanduser(workdir))
        try:
            wd.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LaunchError(f"cannot create the service directory {wd}: {exc.strerror or exc}") from None
        log = statefiles.server_log(key)
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            out = open(log, "ab", buffering=0)  # noqa: SIM115 - closed right after the start
        except OSError as exc:
            raise statefiles.StateError(exc.errno or 5, f"cannot write {log}: {exc.strerror or exc}") from None
        import subprocess

        # PWD names the directory the service runs in, as a shell would set it: OAR's oarsub (run by
        # a daskserver) takes the job's directory from PWD and refuses to submit without one
        env = {**os.environ, "PWD": str(wd)}
        with out:
            proc = subprocess.Popen(
                full, cwd=wd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )
        SHELL.adopt(proc)
        spawned = procs.info(proc.pid)

        def undo() -> None:
            if spawned is not None:
                procs.terminate(spawned, group=True, timeout=2)

        if callable(parameters):
            try:
                parameters = parameters()
            except BaseException:
                undo()
                raise
        data: dict[str, Any] = {
            "workdir": workdir,
            "log": str(log),
            "command": shlex.join(argv),
            "uid": os.getuid(),
            "pid": proc.pid,
            "status": "starting",
        }
        if spawned is not None:
            # the identity that proves this process later (effects.procs): its start, its own group
            data["pid_start"] = spawned.start_ticks
            data["pgid"] = proc.pid
        if network_interface is not None:
            data["network_interface"] = network_interface
        if parameters is not None:
            data["parameters"] = parameters
        if meta is not None:
            data["meta"] = dict(meta)
        try:
            statefiles.write_json_atomic(statefiles.server_json(key), data)
        except statefiles.StateError:
            undo()
            raise
        return proc.pid

    def running_pid(self, key: str, state: dict[str, Any] | None) -> int | None:
        i = procs.proven(state, statefiles.server_json(key))
        return None if i is None else i.pid

    def listing(self, argv: list[str], timeout: float = 20.0) -> tuple[int, str, str] | None:
        import subprocess

        if shutil.which(argv[0]) is None:
            return None
        try:
            cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout, errors="replace")
        except (OSError, subprocess.TimeoutExpired):
            return None
        return cp.returncode, cp.stdout, cp.stderr

    def stop_running(self, key: str, state: dict[str, Any] | None, timeout: float = 10.0) -> bool:
        sf = statefiles.server_json(key)
        main = procs.proven(state, sf)
        gone = True
        if main is not None:
            gone = procs.terminate(main, group=procs.owns_group(state, main), timeout=timeout)
        for other in procs.key_processes(sf):
            if main is None or other.sid != main.sid:  # the service's own children went with it
                gone = procs.terminate(other, group=False, timeout=timeout) and gone
        return gone

    def stop_orphans(self, key: str) -> list[int]:
        found = procs.key_processes(statefiles.server_json(key))
        for p in found:
            procs.terminate(p, group=False, timeout=4.0)
        return [p.pid for p in found]

    def remove_state(self, key: str) -> None:
        statefiles.remove(statefiles.server_json(key))

    def orphan_keys(self) -> dict[str, list[int]]:
        """Keys whose processes run without a server state (interrupted launches): their pids."""
        directory = statefiles.server_dir()
        prefix = os.fsencode(str(directory)) + b"/"
        out: dict[str, list[int]] = {}
        for i in procs.scan():
            for j, a in enumerate(i.argv):
                path = i.argv[j + 1] if a == b"--status-file" and j + 1 < len(i.argv) else (
                    a[len(b"--status-file="):] if a.startswith(b"--status-file=") else None)
                if path and path.startswith(prefix) and path.endswith(b".json") and b"/" not in path[len(prefix):]:
                    key = os.fsdecode(path[len(prefix):-len(b".json")])
                    if not (directory / f"{key}.json").exists():
                        out.setdefault(key, []).append(i.pid)
                    break
        return out

    def log_tail(self, key: str, lines: int = 15) -> str:
        return statefiles.log_tail(key, lines)

    def list_states(self) -> list[dict[str, Any]]:
        rows = []
        directory = statefiles.server_dir()
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
        except OSError:
            names = []
        for name in names:
            key = name[: -len(".json")]
            data = statefiles.read_json(directory / name) or {}
            rows.append(state_row(key, data, self.running_pid(key, data) is not None))
        for key, pids in sorted(self.orphan_keys().items()):
            rows.append(state_row(key, {"status": "orphan", "pid": pids[0]}, True))
        return rows

    def stop_key(self, key: str) -> str:
        state = self.read_state(key)
        orphans = state is None and bool(procs.key_processes(statefiles.server_json(key)))
        if state is None and not orphans:
            return "missing"
        outcome = "not-running"
        if self.running_pid(key, state) is not None or procs.key_processes(statefiles.server_json(key)):
            self.stop_running(key, state)
            outcome = "stopped"
        elif state is not None and procs.valid_pid(state.get("pid")) and getattr(procs.info(state["pid"]), "running", False):
            outcome = "not-ours"  # (its pid came round again, or the state was written by hand: never signalled)
        if state is not None and state.get("status") not in ("stale", "corrupt"):
            statefiles.write_json_atomic(statefiles.server_json(key), {**state, "status": "stale"})
        return outcome

    def read_log(self, key: str, tail: int | None = None) -> str | None:
        path = statefiles.server_log(key)
        state = self.read_state(key)
        if state is not None and isinstance(state.get("log"), str):
            path = Path(state["log"])
        return statefiles.read_log(path, tail)

    def clear_dir(self, path: str) -> None:
        root = Path(os.path.expanduser(path))
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def disk_usage(self, paths: list[str], file: str | None = None,
                   marker: str | None = None) -> list[dict[str, Any]]:
        rows = []
        for path in paths:
            p = Path(os.path.expanduser(path))
            if not p.exists():
                rows.append({"path": path, "state": "absent", "size": 0})
                continue
            if file is not None:
                try:
                    st = os.lstat(p / file)
                except OSError:
                    rows.append({"path": path, "state": "empty", "size": None})
                else:
                    rows.append({"path": path, "state": "populated", "size": st.st_size})
                continue
            size = 0
            entries = 0
            for dirpath, _dirs, files in os.walk(p):
                for f in files:
                    if marker is not None and f == marker and dirpath == str(p):
                        continue
                    entries += 1
                    try:
                        size += os.lstat(os.path.join(dirpath, f)).st_size
                    except OSError:
                        pass
            rows.append({"path": path, "state": "populated" if entries else "empty", "size": size})
        return rows


def state_row(key: str, data: dict[str, Any], live: bool) -> dict[str, Any]:
    """A server state as a ``ps`` row, its status corrected by ``live`` (whether its process is
    proven to run, :meth:`Host.running_pid`): ``running``/``starting`` without it is ``stale``."""
    row = dict(data)
    row["key"] = key
    status = data.get("status") if isinstance(data.get("status"), str) else "failed"
    proven: bool | None = None
    if status in ("running", "starting", "orphan"):
        proven = bool(live)
        if not proven:
            status = "stale"
    row["status"] = status
    row["live"] = proven
    row.setdefault("meta", {})
    return row


def find_conda() -> str | None:
    """This machine's conda (or mamba) executable, as remote-http-launcher finds it."""
    return os.environ.get("CONDA_EXE") or shutil.which("conda") or shutil.which("mamba")


def conda_envs(conda_exe: str) -> set[str]:
    import subprocess

    try:
        out = subprocess.run([conda_exe, "env", "list", "--json"], capture_output=True, text=True, timeout=60, check=True)
        prefixes = json.loads(out.stdout).get("envs", [])
    except (OSError, subprocess.SubprocessError, ValueError):
        return set()
    return {os.path.basename(p) for p in prefixes} | {"base"}
