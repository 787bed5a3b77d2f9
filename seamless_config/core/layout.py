"""Every configuration file of a work directory, gathered once, resolved per stage.

The ``seamless-config`` inspection commands (``show``, ``explain``, ``diff``,
``check``) need more than one resolution: the documents and cluster files
separately (to tell where a value came from and what it replaced), and the
resolution of several stages. :func:`gather` reads a :class:`Snapshot` into a
:class:`Layout` (collecting the mistakes of *every* file, not only of the
first), and :func:`resolve_stage` runs the selection and plan stages on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from .clusters import ClustersCommand, InvalidCluster, parse_clusters_mapping, prevalidated_clusters
from .commands import Command, Document, StageBlock, parse_document, stage_blocks, walk
from .convert import fail
from .errors import DEFAULT_ORIGIN, UNREADABLE, WRONG_TYPE, ConfigError, ConfigErrors, Origin
from .results import split
from .selection import Resolution, Selection, load, with_stage
from .sources import Snapshot, SourceBytes
from .yamltree import Map, Node, decode, from_json, parse_yaml

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .plan import Plan

_INHERIT_LINE = re.compile(rb"^-[ \t]*inherit_from_parent[ \t]*(#.*)?$", re.M)

#: Where values given on the command line (``--stage``) come from.
COMMAND_LINE = Origin("(command line)")


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
    return ConfigErrors((UNREADABLE(f"cannot use the file: {f.read_error}", Origin(f.path)),))


def _tree(f: SourceBytes, parse: Parser) -> Result[Node | Prevalidated | None, ConfigErrors]:
    """One file read and parsed: its tree, or the mistake that stops it."""
    if f.data is None:
        return Failure(_read_failure(f))
    return parse(f.path, f.data).alt(lambda e: ConfigErrors((e,)))


def load_document(f: SourceBytes, parse: Parser = parse_bytes) -> Result[Document, ConfigErrors]:
    """A project file (``seamless.yaml``, ``seamless.profile.yaml``) as a :class:`Document`."""
    return _tree(f, parse).bind(
        lambda node: parse_document(f.path, from_json(node.raw) if isinstance(node, Prevalidated) else node))


def load_cluster_file(f: SourceBytes, parse: Parser = parse_bytes) -> Result[ClustersCommand, ConfigErrors]:
    """A home cluster file as a :class:`ClustersCommand` (one that validated before: built lazily)."""
    return _tree(f, parse).bind(lambda node: _cluster_file(f.path, node))


def _cluster_file(path: str, node: Node | Prevalidated | None) -> Result[ClustersCommand, ConfigErrors]:
    origin = Origin(path, 1)
    if isinstance(node, Prevalidated):
        return Success(prevalidated_clusters(path, node.raw))
    if node is None:
        return Success(ClustersCommand((), origin))
    if not isinstance(node, Map):
        return fail(WRONG_TYPE, "a cluster file must be a mapping of cluster names to definitions", path, node,
                    "write 'NAME:' at the start of a line, the definition indented below it").alt(ConfigErrors)
    return parse_clusters_mapping(node, path, origin=origin).alt(ConfigErrors)


def home_cluster_order(files: Sequence[SourceBytes]) -> list[SourceBytes]:
    """The order in which home cluster files apply (later wins).

    ``clusters.yaml`` first, then ``clusters/*.yaml`` from the last name to the
    first, so that the alphabetically first file wins, as in seamless-config 0.3.2.
    """
    main = [f for f in files if f.path.endswith("/clusters.yaml") and "/clusters/" not in f.path]
    rest = sorted((f for f in files if f not in main), key=lambda f: f.path, reverse=True)
    return main + rest


@attrs.frozen
class Layout:
    """The configuration of one work directory, before any stage is chosen.

    ``documents`` run parents first (the inheritance chain); ``home`` holds
    the cluster files of ``~/.seamless`` in the order they apply (later wins);
    :attr:`errors` every mistake found in any file.
    """

    workdir: str
    documents: tuple[Document, ...] = ()
    home: tuple[ClustersCommand, ...] = ()
    #: the mistakes that stop a file from being read: of the home cluster files, of the project files
    file_errors: tuple[ConfigError, ...] = ()
    files: tuple[str, ...] = ()
    seamless_cache: str | None = None
    #: project files that could not be read into commands
    broken_documents: tuple[str, ...] = ()
    #: the home cluster files without a definition that has mistakes (the parse cache may mark them valid)
    flawless_home: tuple[str, ...] = ()
    #: the mistakes of home cluster definitions that nothing replaces in any stage
    unreplaced: tuple[ConfigError, ...] = ()
    #: how many of ``file_errors`` are the home cluster files'
    n_home_errors: int = 0

    @property
    def errors(self) -> tuple[ConfigError, ...]:
        """Every mistake of every file, in file order: the home cluster files (their definitions
        that nothing replaces included), then the project files."""
        n = self.n_home_errors
        return self.file_errors[:n] + self.unreplaced + self.file_errors[n:]


def gather(snapshot: Snapshot, parse: Parser = parse_bytes) -> Layout:
    """Discover, parse and order every file of ``snapshot``: the home cluster files in the order
    they apply, then the inheritance chain, parents first. Keeps going past mistakes.

    In each directory ``seamless.yaml`` comes before ``seamless.profile.yaml``.
    When either holds ``inherit_from_parent`` the parent directory's files come
    first, and so on upwards until a directory without the flag (or without
    files) or the filesystem root. A file with a mistake does not end the
    chain when it asks to inherit (it counts when it has a
    ``- inherit_from_parent`` line), so its parents' mistakes are found in the
    same run. ``parse`` turns one file into a tree (the shell backs it with the
    parse cache); only the files the chain reaches are parsed.

    >>> from .sources import DirFiles
    >>> snap = Snapshot("/p/c", (
    ...     DirFiles("/p/c", SourceBytes("/p/c/seamless.yaml", b"- inherit_from_parent\\n"),
    ...              SourceBytes("/p/c/seamless.profile.yaml", b"- projct: c\\n")),
    ...     DirFiles("/p", SourceBytes("/p/seamless.yaml", b"- clustr: x\\n"), None)))
    >>> for e in gather(snap).errors: print(e)
    /p/c/seamless.profile.yaml:1: unknown command 'projct' (did you mean 'project'?)
    /p/seamless.yaml:1: unknown command 'clustr' (did you mean 'cluster'?)
    """
    errors: list[ConfigError] = []
    files: list[str] = []
    home: list[ClustersCommand] = []
    flawless: list[str] = []
    for f in home_cluster_order(snapshot.cluster_files):
        files.append(f.path)
        cc, mistakes = split(load_cluster_file(f, parse).alt(lambda e: e.errors))
        errors += mistakes
        if cc is not None:
            home.append(cc)
            if cc.flawless:
                flawless.append(f.path)
    n_home = len(errors)
    broken: list[str] = []
    levels: list[list[Document]] = []
    for directory in snapshot.chain:
        docs: list[Document] = []
        inherits = False
        for f in directory.files():
            files.append(f.path)
            doc, mistakes = split(load_document(f, parse).alt(lambda e: e.errors))
            errors += mistakes
            if doc is not None:
                docs.append(doc)
                inherits |= doc.inherits
            else:
                broken.append(f.path)
                # a broken file that asks to inherit: its parents' mistakes are reported too
                inherits |= f.data is not None and _INHERIT_LINE.search(f.data) is not None
        levels.append(docs)
        if not inherits:
            break
    documents = tuple(d for level in reversed(levels) for d in level)
    return Layout(snapshot.workdir, documents, tuple(home), tuple(errors), tuple(files), snapshot.seamless_cache,
                  tuple(broken), tuple(flawless), tuple(_never_replaced(home, documents)), n_home)


def _never_replaced(home: Sequence[ClustersCommand], documents: Sequence[Document]) -> list[ConfigError]:
    """The mistakes of home cluster definitions that no later definition replaces in any stage
    (in force everywhere; those that some stage replaces show up in the other stages' resolutions)."""
    anywhere = [item for item, _ in walk(documents, None)] + [i for b in stage_blocks(documents) for i in b.items]
    later = {c.name for item in anywhere if isinstance(item, ClustersCommand) for c in item.clusters}
    out: list[ConfigError] = []
    for cc in reversed(home):
        for c in cc.clusters:
            if isinstance(c, InvalidCluster) and c.name not in later:
                out.extend(c.errors)
        later.update(c.name for c in cc.clusters)
    return out


def stages_named(documents: Iterable[Document]) -> tuple[str, ...]:
    """The stage names of all stage blocks, in order of first appearance."""
    seen: dict[str, None] = {}
    for block in stage_blocks(documents):
        seen.setdefault(block.stage, None)
    return tuple(seen)


def cluster_commands(documents: Iterable[Document]) -> Iterator[Command]:
    """Every ``cluster`` command, whatever stage block it is in."""

    def cmds(seq: Iterable[Any]) -> Iterator[Command]:
        for item in seq:
            if isinstance(item, StageBlock):
                yield from cmds(item.items)
            elif isinstance(item, Command) and item.name == "cluster":
                yield item

    for doc in documents:
        yield from cmds(doc.items)


@attrs.frozen
class StageResult:
    """One stage resolved: the resolution and the plan (or the mistakes of either)."""

    stage: str | None
    substage: str | None
    resolution: Resolution | None
    plan: Plan | None
    errors: tuple[ConfigError, ...] = ()


def select(layout: Layout, start: Selection) -> Result[Resolution, ConfigErrors]:
    """Stage filtering, clusters and selection: the resolution of ``layout`` from ``start`` (the
    API's selections and overrides). Under ``SEAMLESS_CACHE`` no file counts."""
    if layout.seamless_cache is not None:
        return load(start, (), (), seamless_cache=layout.seamless_cache)
    return load(start, layout.documents, layout.home)


def resolve_stage(layout: Layout, stage: str | None, substage: str | None = None) -> StageResult:
    """Selection and plan of ``layout`` in ``stage`` (the files' mistakes not included)."""
    start = with_stage(Selection(), stage, substage, COMMAND_LINE) if stage is not None else Selection()
    resolution, mistakes = split(select(layout, start).alt(lambda e: e.errors))
    if resolution is None:
        return StageResult(stage, substage, None, None, mistakes)
    # (imported here: a bare resolve needs no plan, and the plan's records cost ~4 ms to create)
    from .plan import build_plan

    # a default is no place to point at
    plan, mistakes = split(build_plan(resolution).alt(
        lambda e: (attrs.evolve(e, origin=None) if e.origin == DEFAULT_ORIGIN else e,)))
    return StageResult(stage, substage, resolution, plan, mistakes)


def resolve_checked(layout: Layout, stage: str | None, substage: str | None = None) -> Result[StageResult, ConfigErrors]:
    """Like :func:`resolve_stage`, failing with the files' mistakes and the stage's."""
    if layout.errors:
        return Failure(ConfigErrors(layout.errors))
    r = resolve_stage(layout, stage, substage)
    if r.errors:
        return Failure(ConfigErrors(r.errors))
    return Success(r)


def inline_clusters(layout: Layout, stage: str | None) -> list[ClustersCommand]:
    return [item for item, _ in walk(layout.documents, stage) if isinstance(item, ClustersCommand)]


def definitions(layout: Layout, stage: str | None, name: str) -> list[tuple[Origin, str]]:
    """Where cluster ``name`` was defined, in the order the definitions apply (the last wins).

    Each entry is the definition's origin and where it sits: ``"cluster file"``
    or ``"clusters command"``.
    """
    out: list[tuple[Origin, str]] = []
    for kind, commands in (("cluster file", layout.home), ("clusters command", inline_clusters(layout, stage))):
        for cc in commands:
            for c in cc.clusters:
                if c.name == name:
                    out.append((c.origin or cc.origin, kind))
    return out


__all__ = [
    "COMMAND_LINE",
    "Layout",
    "StageResult",
    "Prevalidated",
    "parse_bytes",
    "load_document",
    "load_cluster_file",
    "home_cluster_order",
    "gather",
    "select",
    "walk",
    "stage_blocks",
    "stages_named",
    "cluster_commands",
    "resolve_stage",
    "resolve_checked",
    "inline_clusters",
    "definitions",
]
