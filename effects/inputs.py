"""Which files a resolution may read, and reading them (no attrs, no pure stages: cheap to import).

:mod:`effects.snapshot` builds the pure stages' :class:`Snapshot` from these
reads; :mod:`effects.warm` hashes the very same reads to know, without
resolving, that nothing a resolution depends on has changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

PROJECT_FILE = "seamless.yaml"
PROFILE_FILE = "seamless.profile.yaml"

#: ``(data, error)``: the bytes, or ``None`` and why not; ``None`` for a missing file
Read = tuple[bytes | None, str] | None


def read(path: str) -> Read:
    try:
        with open(path, "rb") as f:
            return f.read(), ""
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except PermissionError:
        return None, "permission denied"
    except OSError as exc:
        return None, exc.strerror or str(exc)


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
        entries = []
    paths.extend(os.path.join(seamless_dir, "clusters", name) for name in entries)
    return paths


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
