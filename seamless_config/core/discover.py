"""Which files take part, in which order (pure, over a :class:`Snapshot`).

In each directory ``seamless.yaml`` comes before ``seamless.profile.yaml``.
When either holds ``inherit_from_parent`` the parent directory's files come
first, and so on upwards until a directory without the flag (or without files)
or the filesystem root.
"""

from __future__ import annotations

from collections.abc import Callable

from returns.result import Failure, Result, Success

from .commands import Document
from .errors import ConfigErrors
from .sources import Snapshot, SourceBytes

Loader = Callable[[SourceBytes], Result[Document, ConfigErrors]]


def discover_sources(snapshot: Snapshot, load: Loader) -> Result[tuple[Document, ...], ConfigErrors]:
    """The documents of the inheritance chain, parents first.

    ``load`` turns one file into a :class:`Document` (parsing, maybe cached);
    only the files the chain reaches are loaded.

    >>> from .sources import DirFiles
    >>> from .commands import parse_document
    >>> from .yamltree import parse_yaml
    >>> def load(f):
    ...     return parse_document(f.path, parse_yaml(f.path, f.data.decode()).unwrap())
    >>> snap = Snapshot("/p/c", (
    ...     DirFiles("/p/c", SourceBytes("/p/c/seamless.yaml", b"- inherit_from_parent\\n- project: c\\n"), None),
    ...     DirFiles("/p", SourceBytes("/p/seamless.yaml", b"- project: p\\n"), None),
    ...     DirFiles("/", SourceBytes("/seamless.yaml", b"- project: root\\n"), None)))
    >>> [d.path for d in discover_sources(snap, load).unwrap()]
    ['/p/seamless.yaml', '/p/c/seamless.yaml']
    """
    levels: list[tuple[Document, ...]] = []
    errors: list = []
    for directory in snapshot.chain:
        docs: list[Document] = []
        for f in directory.files():
            loaded = load(f)
            if isinstance(loaded, Failure):
                errors.extend(loaded.failure().errors)
            else:
                docs.append(loaded.unwrap())
        if errors:
            return Failure(ConfigErrors(tuple(errors)))
        levels.append(tuple(docs))
        if not any(d.inherits for d in docs):
            break
    ordered: list[Document] = []
    for level in reversed(levels):
        ordered.extend(level)
    return Success(tuple(ordered))
