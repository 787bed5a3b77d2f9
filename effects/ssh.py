"""Services on other machines, reached with the system ``ssh`` client.

:class:`SshHost` offers the :class:`~effects.hosts.Host` operations on a
frontend by running remote-http-launcher's ``rhl-*`` helpers there, one argv
per call (every element ``shlex``-quoted, no shell or Python source sent), with
``PATH=$HOME/miniforge3/bin:$HOME/miniconda3/bin:$PATH`` in front, a leading
assignment that ``rhl-guard`` strips, so guarded servers work too.

All calls to one destination share one SSH connection (OpenSSH multiplexing:
``ControlMaster=auto``, a socket in a private 0700 directory,
``ControlPersist=60s``); the first call opens it while the others wait, so a
bring-up opens one connection per frontend. ``BatchMode=yes`` (never a
password prompt) and ``ConnectTimeout=10``: an unreachable frontend is reported
within 15 s. ``SEAMLESS_SSH_CONFIG=<file>`` adds ``-F <file>`` to every ssh
call; ``SEAMLESS_SSH_CONTROL_DIR`` moves the control sockets.

plumbum's ``SshMachine`` is not used: it drives a remote shell over stdin,
which ``rhl-guard`` refuses; one-shot ``ssh DEST CMD`` over a shared master
works everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import subprocess
import tempfile
import threading
import time
from typing import Any

from . import procs
from .hosts import PACKAGES, state_row
from .outcomes import LaunchError
from .shell import SHELL

#: prepended to every remote command; rhl-guard drops leading VAR= assignments
REMOTE_PATH = "PATH=$HOME/miniforge3/bin:$HOME/miniconda3/bin:$PATH"
#: the server state file as the launcher passes it; rhl-launch-service expands ``~``
REMOTE_STATUS_FILE = "~/.remote-http-launcher/server/{key}.json"
CONNECT_TIMEOUT = 10  # ssh's own ConnectTimeout
FIRST_CALL_TIMEOUT = 15.0  # the first call (which opens the connection) gives up after this
CALL_TIMEOUT = 90.0
FAILURE_MEMORY = 15.0  # a connection that could not be opened is not retried by other calls for this long
INSTALL_HELPERS = (
    "install them there: pip install remote-http-launcher (into ~/miniforge3, ~/miniconda3 "
    "or an environment on the PATH of non-interactive SSH sessions)"
)


class SshError(LaunchError):
    """A frontend could not be used over SSH: unreachable, refused the key, no helpers, guard."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def remote_command(argv: list[str]) -> str:
    """The command line sent to the server: the PATH assignment, then each argv element quoted.

    >>> remote_command(["rhl-inspect", "a b", "$HOME"])
    "PATH=$HOME/miniforge3/bin:$HOME/miniconda3/bin:$PATH rhl-inspect 'a b' '$HOME'"
    """
    return " ".join([REMOTE_PATH, *(shlex.quote(str(a)) for a in argv)])


def ssh_config_file() -> str | None:
    return os.environ.get("SEAMLESS_SSH_CONFIG") or None


def control_dir() -> str:
    """A directory only this user can enter, for the control sockets."""
    configured = os.environ.get("SEAMLESS_SSH_CONTROL_DIR")
    if configured:
        os.makedirs(configured, mode=0o700, exist_ok=True)
        return configured
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = os.path.join(runtime, "seamless-ssh") if runtime else os.path.join(
        tempfile.gettempdir(), f"seamless-ssh-{os.getuid()}")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.lstat(base)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077:
            return base
    except OSError:
        pass
    # someone else's, or not private: a directory of this process only
    return tempfile.mkdtemp(prefix="seamless-ssh-")


def ssh_base(destination: str, control_path: str | None, config_file: str | None) -> list[str]:
    """``ssh`` with this project's options, up to and including the destination.

    >>> ssh_base("fe", "/c/x", "/t/cfg")  # doctest: +NORMALIZE_WHITESPACE
    ['ssh', '-F', '/t/cfg', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
     '-o', 'ControlMaster=auto', '-o', 'ControlPath=/c/x', '-o', 'ControlPersist=60s', '--', 'fe']
    """
    argv = ["ssh", *batch_options(config_file), "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
    if control_path:
        argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control_path}", "-o", "ControlPersist=60s"]
    return [*argv, "--", destination]


def batch_options(config_file: str | None) -> list[str]:
    """The options of every ``ssh`` this project runs: the SSH configuration file in use, and no prompts."""
    return (["-F", config_file] if config_file else []) + ["-o", "BatchMode=yes"]


def hand_command(destination: str, config_file: str | None) -> str:
    """The command a user can paste to try the connection by hand."""
    return shlex.join(["ssh", *batch_options(config_file), destination, "rhl-ps"])


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Warning: Permanently added")]
    return lines[-1] if lines else ""


def classify_ssh_failure(stderr: str) -> str:
    """``auth`` or ``unreachable``, from what ssh printed when it exited 255.

    >>> classify_ssh_failure("root@h: Permission denied (publickey).")
    'auth'
    >>> classify_ssh_failure("ssh: connect to host h port 22: Connection refused")
    'unreachable'
    """
    if "Permission denied" in stderr or "Too many authentication failures" in stderr:
        return "auth"
    if "Host key verification failed" in stderr or "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
        return "hostkey"
    return "unreachable"


def helpers_missing(returncode: int, stderr: str) -> bool:
    """Whether a helper call failed because ``rhl-*`` is not installed on the server.

    >>> helpers_missing(127, "bash: line 1: rhl-inspect: command not found")
    True
    >>> helpers_missing(1, "rhl-inspect: no state file for 'k'")
    False
    """
    if returncode == 127:
        return True
    return "rhl-guard: exec failed" in stderr or ("FileNotFoundError" in stderr and "exec" in stderr)


class _Connection:
    """The shared SSH connection to one destination (one ControlMaster)."""

    def __init__(self, destination: str, config_file: str | None) -> None:
        self.destination = destination
        self.config_file = config_file
        # the alias, not only host/port/user: two aliases of one server may use other keys (a guarded one)
        digest = hashlib.sha256(f"{destination}\0{config_file or ''}".encode()).hexdigest()[:12]
        self.control_path = os.path.join(control_dir(), f"{digest}-%C")
        self._lock = threading.Lock()
        self._open = False
        self._failure: tuple[float, str, str] | None = None  # when, kind, detail

    def base(self) -> list[str]:
        return ssh_base(self.destination, self.control_path, self.config_file)

    def run(self, argv: list[str], where: str, timeout: float = CALL_TIMEOUT) -> subprocess.CompletedProcess:
        if not self._open:
            with self._lock:
                if not self._open:
                    failed = self._failure
                    if failed and time.monotonic() - failed[0] < FAILURE_MEMORY:
                        raise self._error(failed[1], failed[2], where)
                    cp = self._exec(argv, where, min(timeout, FIRST_CALL_TIMEOUT), opening=True)
                    self._open = True
                    return cp
        return self._exec(argv, where, timeout)

    def _exec(self, argv: list[str], where: str, timeout: float,
              opening: bool = False) -> subprocess.CompletedProcess:
        cmd = [*self.base(), remote_command(argv)]
        try:
            cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            return self._fail("unreachable", f"no answer within {timeout:g} s", where, opening)
        except FileNotFoundError:
            raise SshError(f"{where} is reached over SSH, but there is no 'ssh' client on this machine "
                           "(install OpenSSH's client)", "no-client") from None
        if cp.returncode == 255:
            lost = "ssh exited with 255" if opening else "the connection was lost during the call"
            return self._fail(classify_ssh_failure(cp.stderr), _last_line(cp.stderr) or lost, where, opening)
        self._failure = None
        if helpers_missing(cp.returncode, cp.stderr):
            raise SshError(f"remote-http-launcher's helper {argv[0]} is not on the PATH of SSH sessions on "
                           f"{where} ({_last_line(cp.stderr)}); {INSTALL_HELPERS}", "helpers")
        if "rhl-guard: rejected:" in cp.stderr or "rhl-guard: configuration error" in cp.stderr:
            raise SshError(f"the SSH guard on {where} refused '{argv[0]}': "
                           f"{_last_line(cp.stderr).removeprefix('rhl-guard: ')}", "guard")
        return cp

    def _fail(self, kind: str, detail: str, where: str, opening: bool) -> Any:
        """Raise the failure; the next call opens a new connection. Only a connection that could
        not be opened is remembered (for FAILURE_MEMORY, so that the other calls of a bring-up do
        not each wait for it): one that dropped while in use is tried again by the next call."""
        self._open = False
        if opening:
            self._failure = (time.monotonic(), kind, detail)
        raise self._error(kind, detail, where)

    def _error(self, kind: str, detail: str, where: str) -> SshError:
        try_it = f"try by hand: {hand_command(self.destination, self.config_file)}"
        if kind == "auth":
            return SshError(f"SSH to {where} was refused: {detail} (BatchMode: no password prompts; "
                            f"load a key the server accepts, e.g. ssh-add, or set IdentityFile in ~/.ssh/config); "
                            f"{try_it}", kind)
        if kind == "hostkey":
            return SshError(f"SSH to {where}: the server's host key is not the known one ({detail}); "
                            f"check it and update ~/.ssh/known_hosts; {try_it}", kind)
        return SshError(f"cannot reach {where} over SSH: {detail}; {try_it}", kind)

    def close(self) -> None:
        """Tell the master connection to exit (it would otherwise linger for ControlPersist)."""
        if self._open:
            subprocess.run([*self.base()[:-2], "-O", "exit", "--", self.destination],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            self._open = False


def close_all() -> None:
    """Close every SSH master connection this process opened."""
    SHELL.close_ssh()


class SshHost:
    """A frontend reached over SSH; ``where`` names it in messages (frontend, cluster, file:line)."""

    def __init__(self, destination: str, where: str | None = None) -> None:
        self.name = destination
        self.where = where or f"frontend {destination!r}"
        key = (destination, ssh_config_file())
        self.conn = SHELL.keep(SHELL.ssh_connections, key, lambda: _Connection(*key))

    # -- plumbing -------------------------------------------------------------------------
    def run(self, argv: list[str], timeout: float = CALL_TIMEOUT) -> subprocess.CompletedProcess:
        """Run one rhl-* helper on the server: its exit code, stdout and stderr."""
        return self.conn.run(argv, self.where, timeout)

    def _check(self, argv: list[str], timeout: float = CALL_TIMEOUT) -> str:
        cp = self.run(argv, timeout)
        if cp.returncode != 0:
            raise LaunchError(f"{argv[0]} failed on {self.where}: {_last_line(cp.stderr) or f'exit code {cp.returncode}'}")
        return cp.stdout

    def ssh_argv(self) -> list[str]:
        """``ssh ... DEST`` (without a command), over the shared connection."""
        return self.conn.base()

    # -- the Host protocol ----------------------------------------------------------------
    def read_state(self, key: str) -> dict[str, Any] | None:
        cp = self.run(["rhl-inspect", key])
        if cp.returncode == 0:
            try:
                data = json.loads(cp.stdout)
            except ValueError:
                return {"status": "corrupt"}
            return data if isinstance(data, dict) else {"status": "corrupt"}
        if "no state file" in cp.stderr:
            return None
        if "malformed JSON" in cp.stderr or "must contain a JSON object" in cp.stderr:
            return {"status": "corrupt"}
        raise LaunchError(f"rhl-inspect failed on {self.where}: {_last_line(cp.stderr)}")

    def launch(self, key: str, workdir: str, argv: list[str], *, conda: str | None,
               network_interface: str | None, parameters: Any,
               meta: dict[str, Any] | None) -> int:
        # LocalHost starts the service first and hands it its parameters when known (the
        # jobserver waits for the storage clients); over SSH the state is written by
        # rhl-launch-service at start, so wait for the parameters first.
        if callable(parameters):
            parameters = parameters()
        cmd = ["rhl-launch-service", "--key", key, "--workdir", workdir]
        if conda:
            cmd += ["--conda-env", conda]
        if network_interface is not None:
            cmd += ["--network-interface", network_interface]
        if parameters is not None:
            cmd += ["--parameters", json.dumps(parameters)]
        if meta is not None:
            cmd += ["--meta", json.dumps(dict(meta))]
        cmd += ["--", *remote_status_file(argv, key)]
        cp = self.run(cmd)
        if cp.returncode != 0 and conda and "conda cache not found" in cp.stderr:
            # rhl-launch-service activates conda environments from the cache rhl-cache-conda writes
            cache = self.run(["rhl-cache-conda"])
            if cache.returncode != 0:
                raise LaunchError(f"conda was not found on {self.where} for environment {conda!r} "
                                  f"(rhl-cache-conda: {_last_line(cache.stderr)}); install Miniforge there "
                                  "or remove 'conda:' from the cluster definition")
            cp = self.run(cmd)
        if cp.returncode != 0:
            raise LaunchError(self._launch_failure(argv[0], cp.stderr))
        state = self.read_state(key) or {}
        pid = state.get("pid")
        return pid if isinstance(pid, int) else -1

    def _launch_failure(self, binary: str, stderr: str) -> str:
        line = _last_line(stderr)
        if "No such file or directory" in line and binary in line:
            return (f"'{binary}' was not found on the PATH of SSH sessions on {self.where} "
                    f"(install it there: pip install {PACKAGES.get(binary, binary)})")
        if "not whitelisted" in line:
            return f"rhl-launch-service on {self.where} does not allow '{binary}' ({line}); update remote-http-launcher there"
        if "must live under the launcher server directory" in line:
            return (f"rhl-launch-service on {self.where} keeps its state elsewhere ({line}): "
                    "REMOTE_HTTP_LAUNCHER_DIR is set there; unset it for SSH sessions")
        return f"rhl-launch-service failed on {self.where}: {line or 'no message'}"

    def listing(self, argv: list[str], timeout: float = 20.0) -> tuple[int, str, str] | None:
        try:
            cp = self.run(argv, timeout)
        except SshError:
            return None
        if cp.returncode == 127:  # not on the PATH of SSH sessions there
            return None
        return cp.returncode, cp.stdout, cp.stderr

    def pid_alive(self, pid: int) -> bool:
        cp = self.run(["rhl-pid-alive", str(pid)])
        if cp.returncode in (0, 1):
            return cp.returncode == 0
        raise LaunchError(f"rhl-pid-alive failed on {self.where}: {_last_line(cp.stderr)}")

    def running_pid(self, key: str, state: dict[str, Any] | None) -> int | None:
        """As far as the remote helpers let us check: a valid pid that is alive there. The
        process is signalled only by remote-http-launcher's own ``rhl-stop``."""
        pid = (state or {}).get("pid")
        return pid if procs.valid_pid(pid) and self.pid_alive(pid) else None

    def stop_running(self, key: str, state: dict[str, Any] | None, timeout: float = 10.0) -> bool:
        pid = (state or {}).get("pid")
        if not procs.valid_pid(pid):
            return True  # nothing a signal could be proven to reach
        self.stop_key(key)
        return not self.pid_alive(pid)

    def stop_orphans(self, key: str) -> list[int]:
        return []  # remote-http-launcher's helpers offer no process search

    def remove_state(self, key: str) -> None:
        self._check(["rhl-rm", key, "--server"])

    def log_tail(self, key: str, lines: int = 15) -> str:
        return (self.read_log(key, lines) or "").rstrip("\n")

    def list_states(self) -> list[dict[str, Any]]:
        rows = []
        for line in self._check(["rhl-ps", "--json"]).splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if not isinstance(data, dict) or not isinstance(data.get("key"), str):
                continue
            key = data.pop("key")
            live = data.pop("live", None)
            data.pop("status", None)
            status = data.pop("json_status", None)
            if status is not None:
                data["status"] = status
            rows.append(state_row(key, data, bool(live)))
        return rows

    def stop_key(self, key: str) -> str:
        state = self.read_state(key)
        if state is None:
            return "missing"
        if not procs.valid_pid(state.get("pid")):
            # rhl-stop would signal it as it is (pid 0, -1 or 1 reach whole groups or init): never
            return "not-running"
        out = self._check(["rhl-stop", key], timeout=CALL_TIMEOUT)
        said = out.strip().rsplit(": ", 1)[-1] if out.strip() else ""
        return {"stopped": "stopped", "kill required": "stopped", "missing state": "missing"}.get(said, "not-running")

    def read_log(self, key: str, tail: int | None = None) -> str | None:
        cmd = ["rhl-logs", key] + (["--tail", str(tail)] if tail is not None else [])
        cp = self.run(cmd)
        if cp.returncode != 0:
            if "no log file" in cp.stderr:
                return None
            raise LaunchError(f"rhl-logs failed on {self.where}: {_last_line(cp.stderr)}")
        return cp.stdout

    def clear_dir(self, path: str) -> None:
        self._check(["rhl-clear", path])

    def disk_usage(self, paths: list[str], file: str | None = None,
                   marker: str | None = None) -> list[dict[str, Any]]:
        """rhl-ps-persistent: absent/empty/populated; sizes only with ``file`` (else ``None``).
        It has no way to leave a ``marker`` out: over SSH a marker file counts as content."""
        if not paths:
            return []
        flags = ["--file", file] if file is not None else []
        cp = self.run(["rhl-ps-persistent", *paths, *flags, "--json"])
        if cp.returncode == 0:
            return [_usage_row(json.loads(ln)) for ln in cp.stdout.splitlines() if ln.strip()]
        rows = []  # one path was refused (a guard's marker policy, not a directory): ask one by one
        for path in paths:
            one = self.run(["rhl-ps-persistent", path, *flags, "--json"])
            if one.returncode == 0 and one.stdout.strip():
                rows.append(_usage_row(json.loads(one.stdout.splitlines()[0])))
            else:
                rows.append({"path": path, "state": "unknown", "size": None, "error": _last_line(one.stderr)})
        return rows

def _usage_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"path": row.get("path"), "state": row.get("state"), "size": row.get("size")}


def remote_status_file(argv: list[str], key: str) -> list[str]:
    """The service argv with the status file the server's helper expects.

    The launcher fills ``{status_file}`` with this machine's path; rhl-launch-service
    wants one under its own server directory (it expands ``~``).

    >>> remote_status_file(["hashserver", "--status-file", "/l/k.json", "/b"], "k")
    ['hashserver', '--status-file', '~/.remote-http-launcher/server/k.json', '/b']
    """
    remote = REMOTE_STATUS_FILE.format(key=key)
    out = list(argv)
    for i, a in enumerate(out):
        if a == "--status-file" and i + 1 < len(out):
            out[i + 1] = remote
        elif a.startswith("--status-file="):
            out[i] = f"--status-file={remote}"
    return out


def host_for_ssh(destination: str, where: str | None = None) -> SshHost:
    """The host for ``destination`` (kept); hosts of one destination share one connection."""
    return SHELL.keep(SHELL.ssh_hosts, (destination, where, ssh_config_file()),
                      lambda: SshHost(destination, where))

