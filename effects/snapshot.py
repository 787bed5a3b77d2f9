"""Read the files a resolution may need into a :class:`Snapshot` (one effect).

The pure stages decide which of these files matter (inheritance stops at the
first directory without ``inherit_from_parent``); reading every candidate up
to the root costs a few ``stat`` calls and keeps that decision out of here.
"""

from __future__ import annotations

import os

from seamless_config.core.sources import DirFiles, Snapshot, SourceBytes

from .inputs import (
    PROFILE_FILE,
    PROJECT_FILE,
    chain_dirs,
    cluster_paths,
    home_dir,
    listing_error,
    read,
)


def _read(path: str) -> SourceBytes | None:
    r = read(path)
    if r is None:
        return None
    data, error = r
    return SourceBytes(path, data) if data is not None else SourceBytes(path, None, error)


def read_snapshot(workdir: str | os.PathLike[str], home: str | None = None, environ: dict[str, str] | None = None,
                  *, project_files: bool = True) -> Snapshot:
    """The configuration files for ``workdir``, its parents and the home cluster files.

    Without ``project_files`` no ``seamless.yaml``/``seamless.profile.yaml`` is read
    (``seamless-service-resolve`` without ``--workdir``: flags and environment only).
    """
    env = os.environ if environ is None else environ
    if project_files:
        chain = tuple(DirFiles(d, _read(os.path.join(d, PROJECT_FILE)), _read(os.path.join(d, PROFILE_FILE)))
                      for d in chain_dirs(os.fspath(workdir)))
    else:
        chain = (DirFiles(os.path.abspath(os.fspath(workdir)), None, None),)
    cluster_files = tuple(f for f in map(_read, cluster_paths(home_dir(home))) if f is not None)
    unlisted = listing_error(home_dir(home))
    if unlisted is not None:
        cluster_files += (SourceBytes(unlisted[0], None, unlisted[1]),)
    return Snapshot(
        workdir=chain[0].directory,
        chain=chain,
        cluster_files=cluster_files,
        seamless_cache=env.get("SEAMLESS_CACHE") or None,
    )
