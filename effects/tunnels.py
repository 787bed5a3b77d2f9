"""SSH tunnels to services on other machines (clusters with ``tunnel: true``).

:func:`open_tunnel` starts a detached monitor process (``python -m
effects.tunnels``) that holds one ``ssh -N -L ...`` connection forwarding a free
local port to each of a service's ports (its ``port``, and extra ``*_port``
fields such as a daskserver's ``dashboard_port``). The monitor asks the server
every few seconds, over that same connection, whether the service's process
still lives (``rhl-pid-alive``) and exits with it, closing the tunnel; it also
exits when the tunnel dies. The launcher writes the monitor's pid in the client
file (``tunnel-pid``) so that stopping a service closes its tunnel at once, and
a dead tunnel to a live service is opened anew by the next bring-up.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any, TypeGuard

import attrs

from seamless_config.core.clients import url_host

from . import procs
from .outcomes import LaunchError
from .shell import SHELL

if TYPE_CHECKING:  # imported where a tunnel is opened: closing one, or a warm init, needs neither
    import subprocess

POLL_SECONDS = 3.0
READY_TIMEOUT = 20.0
PORT_TRIES = 5
MONITOR_MODULE = "effects.tunnels"


@attrs.frozen
class Tunnel:
    """Local port per forwarded field, and the monitor's pid."""

    local: dict[str, int]
    pid: int


def free_port(exclude: set[int] | None = None) -> int:
    """A local TCP port nobody listens on now, on 127.0.0.1 (and ::1 when there is IPv6)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if exclude and port in exclude:
            continue
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                s6.bind(("::1", port))
        except OSError as exc:
            if exc.errno == 98:  # EADDRINUSE: taken on ::1
                continue
        return port
    raise LaunchError("no free local port for an SSH tunnel")


def open_tunnel(ssh_base: list[str], remote_host: str, ports: dict[str, int], remote_pid: int) -> Tunnel:
    """Forward a free local port to ``remote_host:<port>`` for each entry of ``ports``.

    ``ssh_base`` is ``ssh [options] -- DEST`` (the monitor adds its own
    connection options). A local port taken meanwhile by another program makes
    ssh fail to listen: other ports are tried.
    """
    import subprocess

    last = ""
    for _ in range(PORT_TRIES):
        chosen: set[int] = set()
        local: dict[str, int] = {}
        for name in ports:
            local[name] = free_port(chosen)
            chosen.add(local[name])
        argv = [sys.executable, "-m", MONITOR_MODULE, "--remote-pid", str(remote_pid)]
        if _has_ipv6_loopback():
            argv.append("--ipv6")
        for name, port in ports.items():
            argv += ["--forward", f"{local[name]}:{url_host(remote_host)}:{port}"]
        argv += ["--", *ssh_base]
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True, env=env)
        SHELL.adopt(proc)
        line = _read_line(proc, READY_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()
        if line == "ready":
            return Tunnel(local, proc.pid)
        _terminate(proc.pid)
        status, _, message = line.partition(" ")
        last = message or "the tunnel monitor exited without a word"
        if status != "busy":
            break
    raise LaunchError(f"cannot open an SSH tunnel to {remote_host}: {last}")



def tunneled_payload(host: Any, remote_host: str, state: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any]:
    """The client file of a service reached through a new tunnel, as remote-http-launcher writes it.

    ``plain`` is the file without a tunnel (its ``port`` and ``*_port`` fields are
    the remote ones); ``host`` must offer ``ssh_argv()`` (an SSH host).
    """
    ssh_argv = getattr(host, "ssh_argv", None)
    if ssh_argv is None:
        raise LaunchError(f"a tunnel needs an SSH frontend; {host.name} is not reached over SSH")
    extra = {k: v for k, v in plain.items() if k != "port" and (k.endswith("_port") or k.endswith("-port"))
             and isinstance(v, int)}
    tunnel = open_tunnel(ssh_argv(), remote_host, {"port": int(plain["port"]), **extra}, int(state["pid"]))
    payload: dict[str, Any] = {
        "hostname": "localhost",
        "port": tunnel.local["port"],
        "tunneled-host": host.name,
        "tunneled-port": int(plain["port"]),
        "tunneled-network-interface": state.get("network_interface"),
    }
    for name, remote in extra.items():
        payload[name] = tunnel.local[name]
        payload[f"tunneled-{name}"] = remote
    payload["tunnel-pid"] = tunnel.pid
    for k in ("parameters", "meta", "workdir"):
        if k in plain:
            payload[k] = plain[k]
    return payload

def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
            s6.bind(("::1", 0))
        return True
    except OSError:
        return False


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"error no tunnel within {timeout:g} s"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf.decode("utf-8", "replace").split("\n", 1)[0].strip()


def is_monitor(pid: object) -> TypeGuard[int]:
    """Whether ``pid`` is one of this user's tunnel monitors (its command line runs this module)."""
    if not procs.valid_pid(pid) or pid == os.getpid():
        return False
    i = procs.info(pid)
    return (i is not None and i.uid == os.getuid() and i.running
            and MONITOR_MODULE.encode() in i.argv)


def _terminate(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def close_tunnel(client: dict[str, Any] | None) -> bool:
    """Stop the tunnel monitor named in a client file (``tunnel-pid``); whether one was running."""
    pid = (client or {}).get("tunnel-pid")
    if not is_monitor(pid):
        return False
    _terminate(pid)
    return True


# -- the monitor process ------------------------------------------------------------------

def _say(text: str) -> None:
    os.write(1, (text + "\n").encode())
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def monitor(forwards: list[str], remote_pid: int, ssh_base: list[str], ipv6: bool = False) -> int:
    import shutil
    import subprocess
    import tempfile

    from .ssh import remote_command

    # beside the shared connection's sockets when that directory is configured (else in TMPDIR)
    workdir = tempfile.mkdtemp(prefix="seamless-tunnel-", dir=os.environ.get("SEAMLESS_SSH_CONTROL_DIR") or None)
    control = os.path.join(workdir, "c")
    log_path = os.path.join(workdir, "ssh.log")
    dest = ssh_base[-1]
    # ssh_base is "ssh [opts] -- DEST"; this connection is the monitor's own, not the shared one
    opts = _without_control(ssh_base[1:-2])
    tunnel_cmd = ["ssh", *opts, "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15",
                  "-o", "ServerAliveCountMax=3", "-o", "ControlMaster=yes", "-o", f"ControlPath={control}",
                  "-o", "ControlPersist=no", "-N"]
    # "localhost" in the client file: listen on both loopbacks, each or fail (ExitOnForwardFailure),
    # so that no other program can answer on one of them
    for f in forwards:
        tunnel_cmd += ["-L", f"127.0.0.1:{f}"] + (["-L", f"[::1]:{f}"] if ipv6 else [])
    tunnel_cmd += ["--", dest]
    poll_cmd = ["ssh", *opts, "-o", "ControlMaster=no", "-o", f"ControlPath={control}", "--", dest,
                remote_command(["rhl-pid-alive", str(remote_pid)])]
    ports = [int(f.split(":", 1)[0]) for f in forwards]
    stop = []

    def request_stop(_signum: int, _frame: Any) -> None:
        stop.append(True)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with open(log_path, "wb") as log:
        tunnel = subprocess.Popen(tunnel_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                  preexec_fn=_die_with_parent)  # noqa: PLW1509 - only prctl
    try:
        deadline = time.monotonic() + READY_TIMEOUT - 2
        while not (os.path.exists(control) and all(_listening(p) for p in ports)):
            if tunnel.poll() is not None or time.monotonic() > deadline or stop:
                with open(log_path, encoding="utf-8", errors="replace") as logf:
                    err = " ".join(ln.strip() for ln in logf if ln.strip() and "Permanently added" not in ln)
                busy = "Address already in use" in err or "cannot listen" in err
                _say(("busy " if busy else "error ") + (err or "ssh exited before the tunnel was up"))
                return 1
            time.sleep(0.05)
        _say("ready")
        failures = 0
        while not stop:
            for _ in range(int(POLL_SECONDS / 0.1)):
                if stop or tunnel.poll() is not None:
                    break
                time.sleep(0.1)
            if stop or tunnel.poll() is not None:
                break
            try:
                rc = subprocess.run(poll_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=30).returncode
            except subprocess.TimeoutExpired:
                rc = 255
            if rc == 1:
                break  # the service is gone
            failures = 0 if rc == 0 else failures + 1
            if failures >= 3:
                break
        return 0
    finally:
        if tunnel.poll() is None:
            tunnel.terminate()
            try:
                tunnel.wait(timeout=5)
            except subprocess.TimeoutExpired:
                tunnel.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _die_with_parent() -> None:
    """In the ssh child: end with the monitor, even when it is killed without notice (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _without_control(opts: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for i, a in enumerate(opts):
        if skip:
            skip = False
            continue
        if a == "-o" and i + 1 < len(opts) and opts[i + 1].split("=", 1)[0] in (
                "ControlMaster", "ControlPath", "ControlPersist"):
            skip = True
            continue
        out.append(a)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse  # (only the tunnel keeper parses a command line; a launch imports this module too)

    args = sys.argv[1:] if argv is None else argv
    # own options, then "--", then "ssh [options] -- DEST" (which has a "--" of its own)
    split = args.index("--") if "--" in args else len(args)
    parser = argparse.ArgumentParser(prog="python -m effects.tunnels",
                                     description="Hold SSH port forwards while a remote service lives.")
    parser.add_argument("--remote-pid", type=int, required=True)
    parser.add_argument("--forward", action="append", required=True, help="LOCALPORT:HOST:REMOTEPORT")
    parser.add_argument("--ipv6", action="store_true", help="listen on ::1 too")
    ns = parser.parse_args(args[:split])
    return monitor(ns.forward, ns.remote_pid, args[split + 1:], ns.ipv6)

if __name__ == "__main__":
    sys.exit(main())
