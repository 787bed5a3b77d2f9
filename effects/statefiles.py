"""remote-http-launcher's files: server state, logs, client connection files.

Layout (``REMOTE_HTTP_LAUNCHER_DIR`` overrides ``~/.remote-http-launcher``):
``server/<key>.json`` + ``server/<key>.log`` on the host that runs a service,
``client/<key>.json`` on the machine that uses it. Every write goes to a
temporary file in the same directory and is renamed into place, so no reader
ever sees half a file.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import stat

# no typing, pathlib or collections.abc at run time: a warm seamless-init reads client files through
# this module, and those imports would be most of its cost
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    PathLike = str | os.PathLike[str]


class StateError(OSError):
    """A state file could not be written (full disk, read-only directory...)."""

    def __str__(self) -> str:
        return str(self.strerror)


def base_path(environ: dict[str, str] | None = None) -> str:
    """The launcher's directory, absolute (:class:`StateError` when the variable names a relative one)."""
    env = os.environ if environ is None else environ
    raw = env.get("REMOTE_HTTP_LAUNCHER_DIR") or "~/.remote-http-launcher"
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):
        # the services resolve it from their own working directory: it would name another place
        raise StateError(errno.EINVAL, f"REMOTE_HTTP_LAUNCHER_DIR must be an absolute path, not {raw!r} "
                                       "(export it as an absolute path, or unset it)")
    return path


def _in_base(*parts: str) -> str:
    return os.path.join(base_path(), *parts)


def _as_path(path: str) -> Path:
    from pathlib import Path

    return Path(path)


def server_dir() -> Path:
    return _as_path(_in_base("server"))


def client_dir() -> Path:
    return _as_path(_in_base("client"))


def server_json(key: str) -> Path:
    return _as_path(_in_base("server", f"{key}.json"))


def server_log(key: str) -> Path:
    return _as_path(_in_base("server", f"{key}.log"))


def client_json(key: str) -> Path:
    return _as_path(_client_json(key))


def _client_json(key: str) -> str:
    return _in_base("client", f"{key}.json")


_SERIAL = itertools.count()


def write_json_atomic(path: PathLike, data: dict[str, Any], mode: int = 0o600, *, durable: bool = True,
                      compact: bool = False) -> None:
    """Write ``data`` as JSON to ``path``, as :func:`write_atomic` writes."""
    import json  # (not at the top: reading, all a warm run does, needs no json package, see loads)

    write_atomic(path, json.dumps(data, separators=(",", ":") if compact else None), mode, durable=durable)


def write_atomic(path: PathLike, text: str, mode: int = 0o600, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part: a
    temporary file of this process's own beside it (``tempfile``, with its random names, would cost
    a short command ~5 ms), renamed into place. ``durable``: synced to disk before the rename (a
    cache need not be)."""
    path = os.fspath(path)
    parent = os.path.dirname(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        os.makedirs(parent, exist_ok=True)
        for _ in range(100):  # (a name left by a process that died, whose pid came round again)
            tmp = os.path.join(parent, f".{stem}.{os.getpid()}-{next(_SERIAL)}.tmp")
            try:
                fd = os.open(tmp, flags, mode)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name")
    except OSError as exc:
        raise StateError(exc.errno or errno.EIO, f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise StateError(exc.errno or errno.EIO, f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def write_sealed(path: PathLike, text: str) -> None:
    """Write a cache's entry: ``text`` under a first line that hashes it, so that :func:`read_sealed`
    never hands out an entry cut short, damaged or edited (not synced: a lost entry costs speed)."""
    write_atomic(path, f"{_seal(text.encode())}\n{text}", durable=False)


def read_sealed(path: PathLike, limit: int) -> str | None:
    """The text :func:`write_sealed` wrote to ``path``; ``None`` when it is missing, larger than
    ``limit``, not a regular file, or does not match its seal."""
    from .inputs import read

    r = read(os.fspath(path), limit)
    if r is None or r[0] is None or len(r[0]) > limit:
        return None
    seal, _, data = r[0].partition(b"\n")
    if seal != _seal(data).encode():
        return None
    return data.decode("utf-8", "replace")  # (a sealed text is UTF-8: this process wrote it)


def _seal(data: bytes) -> str:
    from .digest import hasher

    return hasher(data).hexdigest()


class _Plain:
    """What the C scanner asks of a decoder: plain JSON, as ``json.loads`` reads it."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, Any] = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.replace("Infinity", "inf"))  # NaN, Infinity, -Infinity


_SCAN: list[Any] = []
_WHITESPACE = " \t\n\r"


def loads(text: str) -> Any:
    """``json.loads(text)``, by the interpreter's own C scanner (``_json``): the ``json`` package
    imports ``re``, and with it ``enum``, which would be a sixth of a warm ``seamless-init``. Where
    ``_json`` is missing, ``json.loads``. A mistake is a ``ValueError``, as with ``json.loads``.

    >>> loads('{"a": [1, "b"]}')
    {'a': [1, 'b']}
    >>> for cut in ('{"a": "b', '{"a": 1', '[1,', '', '{"a": 1} x'):
    ...     try:
    ...         loads(cut)
    ...     except ValueError as exc:
    ...         print("ValueError")
    ValueError
    ValueError
    ValueError
    ValueError
    ValueError
    """
    if not _SCAN:
        try:
            import _json

            _SCAN.append(_json.make_scanner(_Plain))  # type: ignore[arg-type]
        except (ImportError, AttributeError):
            import json

            _SCAN.append(None)
            return json.loads(text)
    scan = _SCAN[0]
    if scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = scan(text, start)
    except (StopIteration, SystemError):
        # (SystemError: the scanner reports a cut-short string or object through json.decoder's
        # error class, and fails without an exception when that module was never imported)
        raise ValueError("not JSON") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError("extra data after the JSON value")
    return value


def read_json(path: PathLike) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when missing; ``{"status": "corrupt"}`` when it cannot
    be used (not a regular file: a FIFO is never opened for reading, which would block)."""
    from .inputs import read

    r = read(os.fspath(path))
    if r is None:
        return None
    raw, _why = r
    if raw is None:
        return {"status": "corrupt"}
    try:
        data = loads(raw.decode("utf-8"))
    except ValueError:
        return {"status": "corrupt"}
    if not isinstance(data, dict):
        return {"status": "corrupt"}
    return data


def read_client(key: str) -> dict[str, Any] | None:
    """The client connection file of ``key`` on this machine (see :func:`read_json`)."""
    return read_json(_client_json(key))


def remove(path: PathLike) -> None:
    path = os.fspath(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        raise StateError(errno.EISDIR, f"{path} is a directory, not a state file (remove it)") from None
    except NotADirectoryError:
        raise StateError(errno.ENOTDIR, f"{os.path.dirname(path)} is a file, not a directory (remove or rename it)") from None
    except OSError as exc:
        raise StateError(exc.errno or errno.EIO, f"cannot remove {path}: {exc.strerror or exc}") from None


class LockTimeout(StateError):
    """Another process held a service's lock for longer than we may wait."""


#: seconds to wait for a service's lock when no start timeout is given (a holder takes at most its
#: service's start timeout: :func:`seamless_config.core.bringup.start_timeout`)
LOCK_TIMEOUT = 120.0
#: a holder stopped (Ctrl-Z) this long will not let go by itself
STOPPED_GRACE = 5.0


class key_lock:  # noqa: N801 - a context manager used as a function, ``with key_lock(key):``
    """An exclusive lock per service key, across processes (``flock`` on a lock file that names its
    holder). Waits at most ``timeout`` seconds (less when the holder is stopped), then raises
    :class:`LockTimeout` saying who holds it and what to do. Without ``create``, a launcher directory
    that has no server directory is left as it is (nothing there to lock: stop and rm find nothing).
    (A class, not ``contextlib.contextmanager``: contextlib, with the collections and functools it
    imports, would be a fifth of a warm ``seamless-init``'s own time.)"""

    __slots__ = ("key", "timeout", "create", "fd")

    def __init__(self, key: str, timeout: float = LOCK_TIMEOUT, *, create: bool = True) -> None:
        self.key, self.timeout, self.create = key, timeout, create
        self.fd: int | None = None

    def __enter__(self) -> None:
        lock_dir = _in_base("server", ".locks")
        path = os.path.join(lock_dir, f"{self.key}.lock")
        if not self.create and not os.path.isdir(os.path.dirname(lock_dir)):
            return
        try:
            os.makedirs(lock_dir, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise StateError(exc.errno or errno.EIO, f"cannot lock {lock_dir}: {exc.strerror or exc}") from None
        try:
            _acquire(fd, self.key, path, self.timeout)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the holder's name is a courtesy

    def __exit__(self, *exc_info: object) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            pass
        os.close(fd)


def _acquire(fd: int, key: str, path: str, timeout: float) -> None:
    import time

    start = time.monotonic()
    stopped_since: float | None = None
    delay = 0.0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        time.sleep(delay)
        delay = min(max(delay, 0.01) * 1.5, 0.25)
        now = time.monotonic()
        holder, state = _holder(path)
        if state == "stopped":
            stopped_since = stopped_since if stopped_since is not None else now
        else:
            stopped_since = None
        if now - start >= timeout or (stopped_since is not None and now - stopped_since >= STOPPED_GRACE):
            waited = now - start
            who = f"process {holder}" if holder else "another process"
            fix = (f"resume it (kill -CONT {holder}) or end it" if state == "stopped"
                   else "wait for it to finish, or stop it" if holder else "find the process that holds it")
            raise LockTimeout(errno.EWOULDBLOCK,
                              f"service {key} is locked by {who}{f' ({state})' if state else ''} "
                              f"after waiting {waited:.0f} s ({fix}; lock file {path})")


def _holder(path: str) -> tuple[int | None, str]:
    """The pid a lock file names and that process's state (``running``, ``stopped``, ``gone``)."""
    try:
        with open(path, encoding="utf-8") as f:
            pid = int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None, ""
    if pid is None:
        return None, ""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            code = f.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return pid, "gone"
    return pid, {b"T": "stopped", b"t": "stopped", b"Z": "gone"}.get(code, "running")


def log_tail(key: str, lines: int = 15) -> str:
    """The last ``lines`` lines of the server log of ``key`` (``""`` when there is none)."""
    return (read_log(server_log(key), lines) or "").rstrip("\n")


def read_log(path: PathLike, tail: int | None = None) -> str | None:
    """A log's text, or its last ``tail`` lines; ``None`` when missing or not a regular file (a FIFO
    or a device is never read: ``/dev/zero`` would not end). The last lines are read from the end, a
    block at a time, so a large log costs what is printed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        end = pos = st.st_size
        if tail is None:
            pos = 0
        else:
            block, newlines = 1 << 16, 0
            while pos > 0 and newlines <= tail:
                step = min(block, pos)
                pos -= step
                newlines += os.pread(fd, step, pos).count(b"\n")
        data = os.pread(fd, end - pos, pos)
    except OSError:
        return None
    finally:
        os.close(fd)
    text = data.decode("utf-8", "replace")
    if tail is None:
        return text
    if tail == 0:
        return ""
    ends = text.endswith("\n")  # (lines end at "\n" only, as the blocks above count them)
    return "\n".join((text[:-1] if ends else text).split("\n")[-tail:]) + ("\n" if ends else "")
