"""remote-http-launcher's files: server state, logs, client connection files.

Layout (``REMOTE_HTTP_LAUNCHER_DIR`` overrides ``~/.remote-http-launcher``):
``server/<key>.json`` + ``server/<key>.log`` on the host that runs a service,
``client/<key>.json`` on the machine that uses it. Every write goes to a
temporary file in the same directory and is renamed into place, so no reader
ever sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def base_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    raw = env.get("REMOTE_HTTP_LAUNCHER_DIR") or "~/.remote-http-launcher"
    return Path(os.path.expanduser(raw))


def server_dir() -> Path:
    return base_dir() / "server"


def client_dir() -> Path:
    return base_dir() / "client"


def server_json(key: str) -> Path:
    return server_dir() / f"{key}.json"


def server_log(key: str) -> Path:
    return server_dir() / f"{key}.log"


def client_json(key: str) -> Path:
    return client_dir() / f"{key}.json"


class StateError(OSError):
    """A state file could not be written (full disk, read-only directory...)."""

    def __str__(self) -> str:
        return str(self.strerror)


def write_json_atomic(path: Path, data: dict[str, Any], mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a part."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # lazily: a warm init writes nothing

        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StateError(exc.errno or errno.EIO, f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StateError(exc.errno or errno.EIO, f"cannot write {path}: {exc.strerror or exc}") from None


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when missing; ``{"status": "corrupt"}`` when unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"status": "corrupt"}
    if not isinstance(data, dict):
        return {"status": "corrupt"}
    return data


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@contextlib.contextmanager
def key_lock(key: str) -> Iterator[None]:
    """An exclusive lock per service key, across processes (``flock`` on a lock file)."""
    lock_dir = server_dir() / ".locks"
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(exc.errno or errno.EIO, f"cannot lock {lock_dir}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def log_tail(key: str, lines: int = 15) -> str:
    try:
        with open(server_log(key), "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
