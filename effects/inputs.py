"""Which files a resolution may read, and reading them (no attrs, no pure stages: cheap to import).

:mod:`effects.snapshot` builds the pure stages' :class:`Snapshot` from these
reads; :mod:`effects.warm` hashes the very same reads to know, without
resolving, that nothing a resolution depends on has changed.
"""

from __future__ import annotations

import os
import stat

from seamless_config.limits import MAX_FILE_BYTES

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from collections.abc import Iterator

PROJECT_FILE = "seamless.yaml"
PROFILE_FILE = "seamless.profile.yaml"

#: ``(data, error)``: the bytes, or ``None`` and why not (one line: what the path is, and the fix);
#: ``None`` for a missing file
Read = tuple[bytes | None, str] | None

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def read(path: str, limit: int = MAX_FILE_BYTES) -> Read:
    """Read a configuration file: only a regular file (never blocking on a FIFO or device), and at
    most one byte more than the size ``limit`` (the parser refuses larger files)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return None, f"it is a symbolic link to {os.readlink(path)!r}, which does not exist (fix or remove the link)"
        return None
    except NotADirectoryError:
        return None
    except PermissionError:
        return None, "permission denied (check the permissions of the file and its directories)"
    except OSError as exc:
        return None, f"{exc.strerror or exc} (check the file)"
    if stat.S_ISDIR(st.st_mode):
        return None, "it is a directory, not a file (remove or rename it)"
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        return None, f"it is {kind}, not a regular file (replace it with a regular file)"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        return None, "permission denied (check the permissions of the file and its directories)"
    except OSError as exc:
        return None, f"{exc.strerror or exc} (check the file)"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the two looks
            return None, "it is not a regular file (replace it with a regular file)"
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks), ""
    except OSError as exc:
        return None, f"{exc.strerror or exc} (check the file)"
    finally:
        os.close(fd)


def chain_dirs(workdir: str) -> Iterator[str]:
    """The work directory (absolute) and each parent up to the filesystem root."""
    d = os.path.abspath(workdir)
    while True:
        yield d
        parent = os.path.dirname(d)
        if parent == d:
            return
        d = parent


def cluster_paths(home: str) -> list[str]:
    """``~/.seamless/clusters.yaml``, then ``~/.seamless/clusters/*.yaml`` in name order."""
    seamless_dir = os.path.join(home, ".seamless")
    paths = [os.path.join(seamless_dir, "clusters.yaml")]
    try:
        entries = sorted(e.name for e in os.scandir(os.path.join(seamless_dir, "clusters")) if e.name.endswith(".yaml"))
    except OSError:
        entries = []  # see listing_error
    paths.extend(os.path.join(seamless_dir, "clusters", name) for name in entries)
    return paths


def listing_error(home: str) -> tuple[str, str] | None:
    """``(path, why)`` when ``~/.seamless/clusters`` exists but cannot be listed."""
    path = os.path.join(home, ".seamless", "clusters")
    try:
        os.scandir(path).close()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return path, f"cannot list the directory: {exc.strerror or exc} (check its permissions)"
    return None


def cache_dir(environ: dict[str, str] | None = None) -> str | None:
    """The parse cache's directory (``None``: caching off); the warm lane's memos live beside it."""
    env = os.environ if environ is None else environ
    explicit = env.get("SEAMLESS_CONFIG_CACHE")
    if explicit:
        return None if explicit == "off" else explicit
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "seamless-config", "trees")


def home_dir(home: str | None = None) -> str:
    return home if home is not None else os.path.expanduser("~")
