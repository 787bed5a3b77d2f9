"""A private OpenSSH server for the SSH tests.

:class:`PrivateSshd` runs ``/usr/sbin/sshd -D -e -f <cfg>`` on 127.0.0.1 on a free
port, with a generated host key and one generated user key per alias, and writes
an ssh client config (``SEAMLESS_SSH_CONFIG``) with these aliases:

``seamless-test-frontend``
    a plain frontend: sessions have the test venv's ``bin`` on their PATH
``seamless-test-guarded``
    the same, through ``command="rhl-guard --clear-policy seamless"``
``seamless-test-nohelpers``
    sessions whose PATH lacks the venv (no ``rhl-*`` helpers)
``seamless-test-nobinaries``
    sessions with the ``rhl-*`` helpers but none of the service binaries
``seamless-test-stranger``
    a key the server does not know (authentication fails)
``seamless-test-closed``
    a port nobody listens on (connection refused)
``seamless-test-silent``
    a port that accepts connections and never says a word (like a firewall that drops)

Logins are as the current user (root in CI containers, where sshd can only run
as root): ``AuthorizedKeysFile`` points at a file in the temporary directory,
and each key's ``environment=`` options (``PermitUserEnvironment yes``) set
PATH, a separate server-side HOME and ``REMOTE_HTTP_LAUNCHER_DIR`` under it, so
the state the server keeps never mixes with the client's or with the real
home. Nothing is installed here: the Makefile's ``sshd-deps`` installs
openssh-server; without it the tests skip (and fail in CI, ``CI=true``).
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
VENV_BIN = Path(sys.executable).parent
ALIASES = ("seamless-test-frontend", "seamless-test-guarded", "seamless-test-nohelpers", "seamless-test-nobinaries",
           "seamless-test-stranger")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def launch_sshd(config: Path, port: int, log_file: Path) -> subprocess.Popen:
    """Start ``sshd -D -e -f config`` in its own session; return once it listens on 127.0.0.1:port."""
    with open(log_file, "wb") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {log_file.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not listen on {port}: {log_file.read_text()}") from None
            time.sleep(0.05)


def missing_sshd() -> str | None:
    """Why the SSH tests cannot run here, or None."""
    if not os.path.exists(SSHD):
        return f"{SSHD} is missing (make sshd-deps, or apt-get install openssh-server)"
    for tool in ("ssh", "ssh-keygen"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep)):
            return f"the OpenSSH client tool {tool!r} is missing (apt-get install openssh-client)"
    if not (VENV_BIN / "rhl-ps").exists():
        return f"remote-http-launcher's helpers are not in {VENV_BIN} (pip install remote-http-launcher)"
    if os.getuid() != 0 and not os.path.isdir("/run/sshd"):
        return "sshd needs /run/sshd, which only root can create"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> Path:
    """A new ed25519 key pair without passphrase at ``path`` (and ``path.pub``)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    return path


def write_sshd_config(root: Path, port: int, host_key: Path) -> Path:
    """``root/sshd_config``: 127.0.0.1:``port``, keys from ``root/authorized_keys`` with their
    ``environment=`` options, TCP forwarding on, many sessions, no passwords."""
    config = root / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {root / 'sshd.pid'}",
        f"AuthorizedKeysFile {root / 'authorized_keys'}", "StrictModes no", "UsePAM no",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password", "PermitUserEnvironment yes", "AllowTcpForwarding yes",
        "MaxSessions 64", "MaxStartups 64", "LogLevel INFO", "",
    ]))
    return config


def client_host(alias: str, port: int, user: str, key: Path, *, only_this_key: bool = True) -> list[str]:
    """The ssh client configuration lines of one alias of 127.0.0.1:``port``."""
    return [f"Host {alias}", "  HostName 127.0.0.1", f"  Port {port}", f"  User {user}", f"  IdentityFile {key}",
            *(["  IdentitiesOnly yes"] if only_this_key else [])]


#: the client configuration's last lines: no host key questions, no agent, quiet
CLIENT_DEFAULTS = ["Host *", "  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null", "  LogLevel ERROR",
                   "  IdentityAgent none", ""]


def stop_sshd(proc: subprocess.Popen) -> None:
    """Stop sshd and the sessions it started (they run in sessions of their own): SIGTERM, then SIGKILL."""
    children = [pid for pid, ppid in _parents().items() if ppid == proc.pid]
    _signal_all([proc.pid, *children], signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _signal_all(children, signal.SIGKILL)


class PrivateSshd:
    """One sshd, its keys, aliases and the server-side home; :meth:`stop` ends it and its sessions."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.closed_port = free_port()
        self._silent = socket.socket()
        self._silent.bind(("127.0.0.1", 0))
        self._silent.listen(16)
        self.silent_port = int(self._silent.getsockname()[1])
        self.remote_home = root / "remote-home"
        self.remote_rhl = self.remote_home / ".remote-http-launcher"
        self.config_file = root / "ssh_config"
        self.log_file = root / "sshd.log"
        self.proc: subprocess.Popen | None = None
        self.user = pwd.getpwuid(os.getuid()).pw_name

    # -- setup ----------------------------------------------------------------------------
    def _env_options(self, path: str) -> str:
        env = {"PATH": path, "HOME": str(self.remote_home), "REMOTE_HTTP_LAUNCHER_DIR": str(self.remote_rhl)}
        return ",".join(f'environment="{k}={v}"' for k, v in env.items())

    def start(self) -> PrivateSshd:
        self.remote_home.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        host_key = keygen(self.root / "host_ed25519")
        keys = {alias: keygen(self.root / f"key-{alias.removeprefix('seamless-test-')}") for alias in ALIASES}
        venv_path = f"{VENV_BIN}:{SYSTEM_PATH}"
        helpers_only = self.root / "helpers-bin"
        helpers_only.mkdir()
        for helper in VENV_BIN.glob("rhl-*"):
            (helpers_only / helper.name).symlink_to(helper)
        lines = [
            f"{self._env_options(venv_path)} {keys['seamless-test-frontend'].with_suffix('.pub').read_text().strip()}",
            f'command="rhl-guard --clear-policy seamless",{self._env_options(venv_path)} '
            f"{keys['seamless-test-guarded'].with_suffix('.pub').read_text().strip()}",
            f"{self._env_options(SYSTEM_PATH)} {keys['seamless-test-nohelpers'].with_suffix('.pub').read_text().strip()}",
            f"{self._env_options(f'{helpers_only}:{SYSTEM_PATH}')} "
            f"{keys['seamless-test-nobinaries'].with_suffix('.pub').read_text().strip()}",
        ]
        (self.root / "authorized_keys").write_text("\n".join(lines) + "\n")
        config = write_sshd_config(self.root, self.port, host_key)
        client = []
        for alias, key in keys.items():
            client += client_host(alias, self.port, self.user, key)
        for alias, port in (("seamless-test-closed", self.closed_port), ("seamless-test-silent", self.silent_port)):
            client += client_host(alias, port, self.user, keys["seamless-test-frontend"], only_this_key=False)
        self.config_file.write_text("\n".join(client + CLIENT_DEFAULTS))
        self.proc = launch_sshd(config, self.port, self.log_file)
        return self

    # -- observation ----------------------------------------------------------------------
    def accepted(self) -> int:
        """How many SSH connections the server has authenticated so far."""
        try:
            return self.log_file.read_text(errors="replace").count("Accepted publickey")
        except OSError:
            return 0

    def ssh(self, alias: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a command over SSH (a connection of its own), as a test would by hand."""
        return subprocess.run(["ssh", "-F", str(self.config_file), "-o", "BatchMode=yes", alias, *argv],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    # -- teardown -------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop sshd and every session it started (they run in sessions of their own)."""
        self._silent.close()
        if self.proc is not None:
            stop_sshd(self.proc)
            self.proc = None


def _parents() -> dict[int, int]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", encoding="ascii", errors="replace") as f:
                    out[int(d)] = int(f.read().rsplit(")", 1)[-1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return out


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
