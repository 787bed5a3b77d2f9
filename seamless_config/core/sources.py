"""The raw material of a resolution: files as bytes, read by the effects layer."""

from __future__ import annotations

import attrs


@attrs.frozen
class SourceBytes:
    """One file's content (``data is None`` when it could not be read)."""

    path: str
    data: bytes | None
    read_error: str = ""


@attrs.frozen
class DirFiles:
    """The two configuration files of one directory (either may be missing)."""

    directory: str
    project: SourceBytes | None
    profile: SourceBytes | None

    def files(self) -> tuple[SourceBytes, ...]:
        return tuple(f for f in (self.project, self.profile) if f is not None)


@attrs.frozen
class Snapshot:
    """Everything a resolution reads from disk and environment.

    ``chain`` runs from the work directory up to the filesystem root.
    ``cluster_files`` are ``~/.seamless/clusters.yaml`` then
    ``~/.seamless/clusters/*.yaml`` in name order.
    """

    workdir: str
    chain: tuple[DirFiles, ...]
    cluster_files: tuple[SourceBytes, ...] = ()
    seamless_cache: str | None = None
