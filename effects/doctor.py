"""The observations of ``seamless-config doctor``: each :class:`~seamless_config.inspect.doctor.Need`
looked at, on this machine or over SSH, without starting or changing anything.

:func:`observe` first opens each frontend's shared SSH connection (one per frontend, in
parallel), then makes every other observation in parallel threads over those connections.
What each kind of need observes and how:

- ``ssh``: ``true`` over the shared connection (BatchMode); an rhl-guard refusing it proves the
  connection too. ``hostkey``: ``ssh -G`` (the files and StrictHostKeyChecking in force) and
  ``ssh-keygen -F`` on this machine, no connection. ``forwarding``: ``ssh -W HOST:PORT`` through
  the shared connection's master: the server answers "administratively prohibited" when it
  forbids forwarding, else opens (or tries to connect) the channel.
- ``helpers``: each rhl-* helper the bring-up calls, with ``--help`` (they print usage and exit).
- ``binary``: this machine: :meth:`LocalHost._resolve_binary`, as a launch finds it; over SSH:
  ``sh -c 'command -v "$1"'`` with the PATH every remote call gets (a conda environment's
  ``bin`` first). ``conda``: this machine: ``conda env list``; over SSH: ``rhl-conda-info``,
  the cache rhl-launch-service activates environments from.
- ``ports``: this machine: binding each port of the range, as the services do; over SSH:
  ``rhl-verify-port`` (a port nothing answers on counts as free).
- ``storage``: this machine: the directory or its nearest existing parent, ``os.access`` and
  ``statvfs``; over SSH: ``stat``, ``test -w`` and ``df -Pk``.
- ``batch``: the batch system's listing command (``core.batch.COMMANDS``) where the service runs.
- ``services``: :meth:`Host.list_states` (``rhl-ps --json`` over SSH), as seamless-service-ps.

Through an rhl-guard only rhl-* helpers run: ``binary`` and ``storage`` are then not observed,
and say so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from seamless_config.core import batch
from seamless_config.core.clients import url_host
from seamless_config.inspect.doctor import Need, Seen

from .hosts import PACKAGES, LocalHost
from .outcomes import LaunchError
from .services import host_for, parallel
from .ssh import SshError, SshHost, _last_line, batch_options, ssh_config_file

#: the rhl-* helpers a bring-up and seamless-service-ps call on a frontend; with conda, two more
HELPERS = ("rhl-inspect", "rhl-launch-service", "rhl-pid-alive", "rhl-stop", "rhl-rm", "rhl-logs", "rhl-ps")
CONDA_HELPERS = ("rhl-conda-info", "rhl-cache-conda")
GUARDED = "the SSH guard there runs only rhl-* helpers, and none of them can tell"


class Unobservable(Exception):
    """The need cannot be observed; the message says why."""


def observe(needs: Sequence[Need]) -> list[Seen]:
    """Every need observed, in the order given; SSH connections first, one per frontend."""
    reached: dict[str, Seen] = {}
    first = [n for n in needs if n.kind == "ssh"]
    for seen in parallel(first, _observe_one):
        assert seen.need.host is not None
        reached[seen.need.host] = seen

    def one(n: Need) -> Seen:
        if n.kind == "ssh":
            return reached[n.host]  # type: ignore[index]
        gate = reached.get(n.host) if n.host is not None else None
        if gate is not None and n.kind != "hostkey" and not (gate.value or {}).get("reached"):
            return Seen(n, error=f"{n.host} cannot be reached over SSH")
        return _observe_one(n)

    return parallel(list(needs), one)


def _observe_one(n: Need) -> Seen:
    try:
        return Seen(n, _OBSERVERS[n.kind](n))
    except Unobservable as exc:
        return Seen(n, error=str(exc))
    except SshError as exc:
        return Seen(n, error=GUARDED if exc.kind == "guard" else _one_line(exc))
    except (LaunchError, OSError, subprocess.SubprocessError) as exc:
        return Seen(n, error=_one_line(exc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _ssh(n: Need) -> SshHost:
    host = host_for(n.host)
    assert isinstance(host, SshHost)
    return host


# -- SSH -------------------------------------------------------------------------------------

def _reach(n: Need) -> dict[str, Any]:
    try:
        _ssh(n).run(["true"], timeout=20)
    except SshError as exc:
        if exc.kind == "guard":
            return {"reached": True, "guarded": True}
        if exc.kind == "helpers":  # 'true' missing: still an answer
            return {"reached": True, "guarded": False}
        return {"reached": False, "kind": exc.kind, "detail": _one_line(exc)}
    return {"reached": True, "guarded": False}


def _ssh_options() -> list[str]:
    return batch_options(ssh_config_file())


def _ssh_config(dest: str) -> dict[str, str]:
    """What ``ssh -G`` says it would use for ``dest`` (first value of each keyword)."""
    cp = subprocess.run(["ssh", *_ssh_options(), "-G", "--", dest], stdin=subprocess.DEVNULL,
                        capture_output=True, text=True, timeout=20)
    if cp.returncode != 0:
        raise Unobservable(f"ssh -G failed: {_last_line(cp.stderr)}")
    conf: dict[str, str] = {}
    for line in cp.stdout.splitlines():
        k, _, v = line.partition(" ")
        conf.setdefault(k, v)
    return conf


def _hostkey(n: Need) -> dict[str, Any]:
    assert n.host is not None
    conf = _ssh_config(n.host)
    name = conf.get("hostkeyalias") or conf.get("hostname") or n.host
    if conf.get("port", "22") != "22":
        name = f"[{name}]:{conf['port']}"
    files = [os.path.expanduser(f) for key in ("userknownhostsfile", "globalknownhostsfile")
             for f in conf.get(key, "").split()]
    for f in files:
        if os.path.isfile(f) and subprocess.run(["ssh-keygen", "-F", name, "-f", f], stdin=subprocess.DEVNULL,
                                                capture_output=True, timeout=20).returncode == 0:
            return {"known": True, "name": name, "file": f, "strict": conf.get("stricthostkeychecking")}
    return {"known": False, "name": name, "strict": conf.get("stricthostkeychecking")}


def _forwarding(n: Need) -> dict[str, Any]:
    """A forwarded channel to the frontend's own SSH port (``ssh -G``'s port, where something surely
    listens), as the tunnels forward to its services: ``ssh -W`` through the master of the shared
    connection (``ControlMaster=no``: no connection of its own). Forwarding works when the channel
    carries the SSH server's greeting; a server that forbids forwarding refuses to open it."""
    assert n.host is not None
    host = _ssh(n)
    port = _ssh_config(n.host).get("port", "22")
    argv = ["ssh", *_ssh_options(), "-o", "ControlMaster=no", "-o", f"ControlPath={host.conn.control_path}",
            "-W", f"{url_host(n.subject)}:{port}", "--", n.host]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # the channel is open and the server waits for our greeting
        proc.kill()
        out, err = proc.communicate()
    greeting = out.decode("ascii", "replace").startswith("SSH-")
    said = _last_line(err.decode(errors="replace"))
    return {"allowed": greeting, "target": f"{n.subject}:{port}",
            "detail": "the channel carried the SSH greeting" if greeting else said or f"exit code {proc.returncode}"}


def _helpers(n: Need) -> dict[str, Any]:
    names = HELPERS + (CONDA_HELPERS if n.conda else ())
    host = _ssh(n)

    def one(name: str) -> tuple[str, str | None]:
        try:
            cp = host.run([name, "--help"], timeout=30)
        except SshError as exc:
            if exc.kind == "helpers":
                return name, "missing"
            if exc.kind == "guard":
                return name, str(exc).rsplit(": ", 1)[-1]
            raise
        return name, None if cp.returncode == 0 else (_last_line(cp.stderr) or f"exit code {cp.returncode}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, names))
    return {"checked": list(names), "missing": [k for k, why in results if why == "missing"],
            "refused": {k: why for k, why in results if why not in (None, "missing")}}


# -- programs and environments ------------------------------------------------------------------

def _binary(n: Need) -> dict[str, Any]:
    package = PACKAGES.get(n.subject, n.subject)
    if n.host is None:
        try:
            argv = LocalHost()._resolve_binary([n.subject], n.conda)
        except LaunchError as exc:
            return {"path": None, "package": package, "detail": str(exc)}
        in_conda = argv[0] != n.subject and len(argv) > 1 and argv[1] == "run"
        return {"path": argv[-1] if in_conda else argv[0], "package": package, "in_conda": in_conda}
    host = _ssh(n)
    prefix = _remote_env_prefix(host, n.conda) if n.conda else None
    # (dash's 'command -v' exits 127 when it finds nothing, which reads as a missing program)
    script = ('PATH="$2/bin:$PATH"; ' if prefix else "") + 'command -v "$1" || exit 1'
    cp = host.run(["sh", "-c", script, "sh", n.subject, *([prefix] if prefix else [])], timeout=30)
    path = cp.stdout.strip().splitlines()[-1] if cp.returncode == 0 and cp.stdout.strip() else None
    return {"path": path, "package": package, "in_conda": prefix is not None}


def _remote_env_prefix(host: SshHost, env: str) -> str | None:
    data = _conda_info(host.run(["rhl-conda-info"], timeout=30))
    if not data:
        return None
    for prefix in data.get("envs") or ():
        if os.path.basename(str(prefix)) == env or (env == "base" and prefix == data.get("conda_base")):
            return str(prefix)
    return None


def _conda_info(cp: subprocess.CompletedProcess) -> dict[str, Any] | None:
    """What ``rhl-conda-info`` printed, or ``None``."""
    import json

    if cp.returncode != 0:
        return None
    try:
        data = json.loads(cp.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _conda(n: Need) -> dict[str, Any]:
    if n.host is None:
        from .hosts import conda_envs, find_conda

        conda_exe = find_conda()
        if not conda_exe:
            return {"conda": False}
        return {"conda": True, "envs": sorted(conda_envs(conda_exe))}
    cp = _ssh(n).run(["rhl-conda-info"], timeout=30)
    if cp.returncode != 0:
        return {"cache": False, "detail": _last_line(cp.stderr)}
    data = _conda_info(cp) or {}
    # as 'conda activate NAME' finds them: the base by its name, the others by their directory's
    envs = {os.path.basename(str(p)) for p in data.get("envs") or () if p != data.get("conda_base")} | {"base"}
    return {"envs": sorted(envs)}


# -- ports and storage -----------------------------------------------------------------------------

def _ports(n: Need) -> dict[str, Any]:
    assert n.ports is not None
    start, end = n.ports
    free: list[int] = []
    tried = 0
    host = None if n.host is None else _ssh(n)
    address = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(n.subject, n.subject)
    for port in range(start, end + 1):
        tried += 1
        if host is None:
            ok = _can_bind(n.subject, port)
        else:
            cp = host.run(["rhl-verify-port", address, str(port)], timeout=30)
            if cp.returncode not in (0, 1):
                raise Unobservable(f"rhl-verify-port failed: {_last_line(cp.stderr)}")
            ok = cp.returncode == 1 and "invalid" not in cp.stderr
        if ok:
            free.append(port)
            if len(free) >= n.count:
                break
    return {"free": free, "tried": tried, "how": "bind" if host is None else "connect"}


def _can_bind(address: str, port: int) -> bool:
    """As the services take a port (socket.create_server, as seamless-dask-wrapper does)."""
    try:
        with socket.create_server((address, port), reuse_port=False):
            return True
    except OSError:
        return False


def _storage(n: Need) -> dict[str, Any]:
    if n.host is None:
        existing = os.path.expanduser(n.subject)
        while not os.path.lexists(existing) and existing not in ("/", ""):
            existing = os.path.dirname(existing)
        is_dir = os.path.isdir(existing)
        writable = is_dir and os.access(existing, os.W_OK | os.X_OK)
        free = shutil.disk_usage(existing).free if is_dir else None
        return {"existing": _tilde(existing, n.subject), "is_dir": is_dir, "writable": writable, "free": free}
    host = _ssh(n)
    # the remote shell starts in the home directory: '~/x' is asked as 'x' (arguments are quoted)
    remote = n.subject[2:] if n.subject.startswith("~/") else n.subject
    chain = [remote]
    while chain[-1] not in ("/", "", ".") and "/" in chain[-1].rstrip("/"):
        chain.append(os.path.dirname(chain[-1].rstrip("/")) or "/")
    cp = host.run(["stat", "-L", "-c", "%F|%n", *chain], timeout=30)
    kinds = {}
    for line in cp.stdout.splitlines():
        kind, sep, path = line.partition("|")
        if sep:
            kinds[path] = kind
    existing = next((p for p in chain if p in kinds), ".")
    is_dir = kinds.get(existing, "directory") == "directory"
    writable = is_dir and host.run(["test", "-w", existing], timeout=30).returncode == 0
    free = None
    if is_dir:
        df = host.run(["df", "-Pk", existing], timeout=30)
        cells = df.stdout.strip().splitlines()[-1].split() if df.returncode == 0 and df.stdout.strip() else []
        free = int(cells[3]) * 1024 if len(cells) >= 4 and cells[3].isdigit() else None
    shown = existing if not n.subject.startswith("~/") else ("~" if existing == "." else "~/" + existing)
    return {"existing": shown, "is_dir": is_dir, "writable": writable, "free": free}


def _tilde(existing: str, configured: str) -> str:
    """The existing path written as configured (``~/...`` stays so), to compare with the need's."""
    home = os.path.expanduser("~")
    if configured.startswith("~") and (existing == home or existing.startswith(home + "/")):
        return "~" + existing[len(home):]
    return existing


# -- batch system and services -------------------------------------------------------------------

def _batch(n: Need) -> tuple[int, str, str] | None:
    assert n.batch is not None
    return host_for(n.host).listing(list(batch.COMMANDS[n.batch.system]))


def _services(n: Need) -> list[dict[str, Any]]:
    rows = host_for(n.host).list_states()
    return [{k: r.get(k) for k in ("key", "status", "pid", "port")} for r in rows if r.get("key") in n.keys]


_OBSERVERS: dict[str, Callable[[Need], Any]] = {
    "ssh": _reach, "hostkey": _hostkey, "forwarding": _forwarding, "helpers": _helpers, "binary": _binary,
    "conda": _conda, "ports": _ports, "storage": _storage, "batch": _batch, "services": _services,
}
