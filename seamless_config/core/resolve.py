"""The one entry of the pure pipeline: files and a request to a resolution.

discover, parse, inherit (:func:`.layout.gather`) → stage filtering, clusters,
selection (:func:`.layout.select`) → plan (:func:`.plan.build_plan`, by the
caller). :func:`resolve` is pure: it receives the :class:`Snapshot` (files as
bytes) and a ``parse`` function (which the shell backs with the on-disk parse
cache), and returns a :class:`Resolution` or every mistake found.
"""

from __future__ import annotations

from returns.result import Failure, Result

from .errors import ConfigErrors
from .layout import Layout, Parser, gather, parse_bytes, select
from .selection import Resolution, Selection
from .sources import Snapshot


def resolve(snapshot: Snapshot, selection: Selection, parse: Parser = parse_bytes) -> Result[Resolution, ConfigErrors]:
    """Files to resolution; fails with the mistakes of every file the chain reaches."""
    if snapshot.seamless_cache is not None:  # no file counts: none is parsed
        snapshot = Snapshot(snapshot.workdir, (), (), snapshot.seamless_cache)
    return resolve_layout(gather(snapshot, parse), selection)


def resolve_layout(layout: Layout, selection: Selection) -> Result[Resolution, ConfigErrors]:
    """A gathered layout to resolution: the mistakes that kept its files from being read, or the
    selection from ``selection`` (which reports the definitions with mistakes that are in force)."""
    if layout.file_errors:
        return Failure(ConfigErrors(layout.file_errors))
    return select(layout, selection)


__all__ = ["resolve", "resolve_layout", "Resolution"]
