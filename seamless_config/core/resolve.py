"""The pipeline from raw files to a resolution, with the world behind an interface.

:func:`resolve` is pure: it receives the :class:`Snapshot` (files as bytes) and
a ``parse`` function (which the boundary backs with the on-disk parse cache),
and returns a :class:`Resolution` or every mistake found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from .clusters import ClustersCommand, parse_clusters_mapping, prevalidated_clusters
from .commands import Document, parse_document
from .convert import Problems
from .discover import discover_sources
from .errors import ConfigError, ConfigErrors, Origin
from .selection import Resolution, Selection, load
from .sources import Snapshot, SourceBytes
from .yamltree import Map, Node, decode, from_json, parse_yaml


@attrs.frozen
class Prevalidated:
    """A cluster file's tree (in its JSON form) that passed validation before.

    The parse cache hands these out for files whose exact bytes validated with
    this exact validator, so that their clusters are built only when used.
    """

    raw: Any


Parser = Callable[[str, bytes], Result["Node | Prevalidated | None", ConfigError]]


def parse_bytes(path: str, data: bytes) -> Result[Node | None, ConfigError]:
    """Decode and parse one file (the uncached parser)."""
    return decode(path, data).bind(lambda text: parse_yaml(path, text))


def _read_failure(f: SourceBytes) -> ConfigErrors:
    # the reader's text says what the path is and how to fix it
    return ConfigErrors((ConfigError(f"cannot use the file: {f.read_error}", Origin(f.path)),))


def load_document(f: SourceBytes, parse: Parser = parse_bytes) -> Result[Document, ConfigErrors]:
    if f.data is None:
        return Failure(_read_failure(f))
    tree = parse(f.path, f.data)
    if isinstance(tree, Failure):
        return Failure(ConfigErrors((tree.failure(),)))
    node = tree.unwrap()
    if isinstance(node, Prevalidated):
        node = from_json(node.raw)
    return parse_document(f.path, node)


def load_cluster_file(f: SourceBytes, parse: Parser = parse_bytes) -> Result[ClustersCommand, ConfigErrors]:
    if f.data is None:
        return Failure(_read_failure(f))
    tree = parse(f.path, f.data)
    if isinstance(tree, Failure):
        return Failure(ConfigErrors((tree.failure(),)))
    node = tree.unwrap()
    origin = Origin(f.path, 1)
    if isinstance(node, Prevalidated):
        return Success(prevalidated_clusters(f.path, node.raw))
    if node is None:
        return Success(ClustersCommand((), origin))
    p = Problems(f.path)
    if not isinstance(node, Map):
        p.add("a cluster file must be a mapping of cluster names to definitions", node,
              "write 'NAME:' at the start of a line, the definition indented below it")
        return Failure(ConfigErrors(tuple(p.errors)))
    cc = parse_clusters_mapping(node, p, origin=origin)
    if p.errors or cc is None:
        return Failure(ConfigErrors(tuple(p.errors)))
    return Success(cc)


def home_cluster_order(files: Sequence[SourceBytes]) -> list[SourceBytes]:
    """The order in which home cluster files apply (later wins).

    ``clusters.yaml`` first, then ``clusters/*.yaml`` from the last name to the
    first, so that the alphabetically first file wins, as in seamless-config 0.3.2.
    """
    main = [f for f in files if f.path.endswith("/clusters.yaml") and "/clusters/" not in f.path]
    rest = sorted((f for f in files if f not in main), key=lambda f: f.path, reverse=True)
    return main + rest


def resolve(snapshot: Snapshot, selection: Selection, parse: Parser = parse_bytes) -> Result[Resolution, ConfigErrors]:
    """Files to resolution: discovery, parsing, stage filtering, clusters, selection."""
    if snapshot.seamless_cache is not None:
        return load(selection, (), (), seamless_cache=snapshot.seamless_cache)
    errors: list[ConfigError] = []
    home: list[ClustersCommand] = []
    for f in home_cluster_order(snapshot.cluster_files):
        r = load_cluster_file(f, parse)
        if isinstance(r, Failure):
            errors.extend(r.failure().errors)
        else:
            home.append(r.unwrap())
    docs = discover_sources(snapshot, lambda f: load_document(f, parse))
    if isinstance(docs, Failure):
        errors.extend(docs.failure().errors)
    if errors:
        return Failure(ConfigErrors(tuple(errors)))
    return load(selection, docs.unwrap(), home)


__all__ = ["resolve", "Resolution", "Prevalidated", "Success", "Failure"]
