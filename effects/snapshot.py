"""Read the files a resolution may need into a :class:`Snapshot` (one effect).

The pure stages decide which of these files matter (inheritance stops at the
first directory without ``inherit_from_parent``); reading every candidate up
to the root costs a few ``stat`` calls and keeps that decision out of here.
"""

from __future__ import annotations

import os
from pathlib import Path

from seamless_config.core.sources import DirFiles, Snapshot, SourceBytes

PROJECT_FILE = "seamless.yaml"
PROFILE_FILE = "seamless.profile.yaml"


def _read(path: Path) -> SourceBytes | None:
    try:
        with open(path, "rb") as f:
            return SourceBytes(str(path), f.read())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except PermissionError:
        return SourceBytes(str(path), None, "permission denied")
    except OSError as exc:
        return SourceBytes(str(path), None, exc.strerror or str(exc))


def read_snapshot(workdir: str | os.PathLike[str], home: str | None = None, environ: dict[str, str] | None = None) -> Snapshot:
    """The configuration files for ``workdir``, its parents and the home cluster files."""
    env = os.environ if environ is None else environ
    wd = Path(os.path.abspath(workdir))
    chain = []
    d = wd
    while True:
        chain.append(DirFiles(str(d), _read(d / PROJECT_FILE), _read(d / PROFILE_FILE)))
        if d.parent == d:
            break
        d = d.parent
    home_dir = Path(home if home is not None else os.path.expanduser("~"))
    seamless_dir = home_dir / ".seamless"
    cluster_files = []
    main = _read(seamless_dir / "clusters.yaml")
    if main is not None:
        cluster_files.append(main)
    try:
        entries = sorted(e.name for e in os.scandir(seamless_dir / "clusters") if e.name.endswith(".yaml"))
    except OSError:
        entries = []
    for name in entries:
        f = _read(seamless_dir / "clusters" / name)
        if f is not None:
            cluster_files.append(f)
    return Snapshot(
        workdir=str(wd),
        chain=tuple(chain),
        cluster_files=tuple(cluster_files),
        seamless_cache=env.get("SEAMLESS_CACHE") or None,
    )
