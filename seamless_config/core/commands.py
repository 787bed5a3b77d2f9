"""A parsed file's tree to a :class:`Document` of typed commands.

Each file is a YAML list. An item is a bare command (``- inherit_from_parent``)
or a mapping with one key (``- project: myproject``); a key ``stage NAME``
holds a list of commands that apply only in that stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from . import names, schema
from .clusters import ClustersCommand, parse_clusters_mapping
from .convert import Errors, at, fail, is_null, read
from .errors import (
    MISSING,
    UNKNOWN_COMMAND,
    WRONG_TYPE,
    ConfigError,
    ConfigErrors,
    Origin,
    did_you_mean,
)
from .results import split
from .yamltree import Map, Node, Scalar, Seq, kind_name

BARE_COMMANDS = tuple(c for c in schema.BARE_COMMANDS if c != "inherit_from_parent")
EXECUTION_MODES = schema.choices("command", "execution")
REMOTE_TARGETS = schema.allowed("command", "remote")
INHERIT = "inherit_from_parent"

#: The command names (``clusters`` is handled apart), from the schema table.
COMMANDS = schema.names("command")


@attrs.frozen
class Command:
    """One selection command: ``name: value`` written at ``origin``."""

    name: str
    value: Any
    origin: Origin


@attrs.frozen
class StageBlock:
    """``stage NAME:`` and the commands that apply only in that stage."""

    stage: str
    items: tuple[Item, ...]
    origin: Origin


Item = Command | StageBlock | ClustersCommand


@attrs.frozen
class Document:
    """The commands of one file, in order."""

    path: str
    items: tuple[Item, ...]
    inherits: bool


# -- stage filtering -------------------------------------------------------------------------

def walk(documents: Iterable[Document], stage: str | None) -> Iterator[tuple[Command | ClustersCommand, str | None]]:
    """The items that apply in ``stage``, in order, each with the stage block it sits in (or ``None``).

    >>> from .yamltree import parse_yaml
    >>> d = parse_document("s", parse_yaml("s", "- project: a\\n- stage prod:\\n    - project: b\\n").unwrap()).unwrap()
    >>> [(c.value, block) for c, block in walk([d], "prod")], [c.value for c, _ in walk([d], None)]
    ([('a', None), ('b', 'prod')], ['a'])
    """

    def items(seq: Iterable[Any], block: str | None) -> Iterator[tuple[Any, str | None]]:
        for item in seq:
            if isinstance(item, StageBlock):
                if item.stage == stage:
                    yield from items(item.items, item.stage)
            else:
                yield item, block

    for doc in documents:
        yield from items(doc.items, None)


def stage_blocks(documents: Iterable[Document]) -> Iterator[StageBlock]:
    """Every stage block, nested ones included, in file order."""

    def blocks(seq: Iterable[Any]) -> Iterator[StageBlock]:
        for item in seq:
            if isinstance(item, StageBlock):
                yield item
                yield from blocks(item.items)

    for doc in documents:
        yield from blocks(doc.items)


EXAMPLE = "- project: myproject"


def parse_document(path: str, tree: Node | None) -> Result[Document, ConfigErrors]:
    """Typed commands of one file, or every mistake found in it.

    >>> from .yamltree import parse_yaml
    >>> doc = parse_document("seamless.yaml", parse_yaml("seamless.yaml", "- project: p\\n- inherit_from_parent\\n").unwrap()).unwrap()
    >>> doc.items[0], doc.inherits
    (Command(name='project', value='p', origin=Origin(file='seamless.yaml', line=1)), True)
    >>> print(parse_document("seamless.yaml", parse_yaml("seamless.yaml", "- projct: p\\n").unwrap()).failure())
    seamless.yaml:1: unknown command 'projct' (did you mean 'project'?)
    """
    if not isinstance(tree, Seq):
        found = "an empty file" if tree is None else kind_name(tree)
        return fail(WRONG_TYPE, f"expected a YAML list of commands, found {found}", path,
                    1 if tree is None else tree, f"write one command per line, starting with '- ', e.g. '{EXAMPLE}'"
                    ).alt(ConfigErrors)
    items, inherits, errors = _parse_items(tree, path, top=True)
    return Failure(ConfigErrors(errors)) if errors else Success(Document(path, items, inherits))


def _parse_items(seq: Seq, path: str, *, top: bool) -> tuple[tuple[Item, ...], bool, Errors]:
    """The items of a list of commands, whether it says ``inherit_from_parent``, and its mistakes."""
    items: list[Item] = []
    errors: list[ConfigError] = []
    inherits = False
    for node in seq.items:
        if isinstance(node, Scalar):
            name, value = node.value, None
            key_node: Node = node
        elif isinstance(node, Map) and len(node.items) == 1:
            key_node, value = node.items[0]
            name = key_node.value  # type: ignore[union-attr]
        else:
            what = "a mapping with several keys" if isinstance(node, Map) and node.items else kind_name(node)
            errors.extend(fail(WRONG_TYPE, f"each command must be a name or a mapping with one key, found {what}",
                               path, node, f"write one command per list item, e.g. '{EXAMPLE}'").failure())
            continue
        if name == INHERIT:
            # Like the reference: any value is accepted, and the flag only counts at top level.
            inherits = inherits or top
            continue
        item, mistakes = split(_parse_item(name, key_node, value, path, top))
        if item is not None:
            items.append(item)
        errors += mistakes
    return tuple(items), inherits, tuple(errors)


def _parse_item(name: str, key_node: Node, value: Node | None, path: str, top: bool) -> Result[Item | None, Errors]:
    """One item other than ``inherit_from_parent``: a stage block, a ``clusters`` command or a command."""
    if name.startswith("stage ") or name == "stage":
        return _parse_stage_block(name, key_node, value, path)
    if name not in COMMANDS:
        return fail(UNKNOWN_COMMAND, f"unknown command {name!r}", path, key_node,
                    did_you_mean(name, COMMANDS + ("stage NAME",)))
    where = at(path, key_node)
    if name == "clusters":
        if value is None or is_null(value):
            return fail(MISSING, "'clusters' command needs a mapping of cluster names to definitions", path, key_node,
                        "write 'clusters:' followed by indented cluster definitions")
        # in stage blocks every definition is checked (docs/differences.md: inactive stage blocks)
        return parse_clusters_mapping(value, path, origin=where, defer=top)
    if value is None:  # a bare command name
        if name in BARE_COMMANDS:
            return Success(Command(name, None, where))
        return fail(MISSING, f"'{name}' command needs a value", path, key_node, f"write '- {name}: <value>'")
    return read(schema.field("command", name), value, path).map(lambda v: Command(name, v, where))


def _parse_stage_block(name: str, key_node: Node, value: Node | None, path: str) -> Result[Item | None, Errors]:
    stage = name[len("stage ") :].strip() if name.startswith("stage ") else ""
    if not stage:
        return fail(MISSING, "a stage block needs a stage name", path, key_node,
                    "write '- stage prod:' followed by an indented list")
    where = at(path, key_node)
    err = names.check_name("stage", stage, where)
    if err is not None:
        return Failure((err,))
    if value is None:
        return fail(UNKNOWN_COMMAND, f"unknown command {name!r}", path, key_node,
                    f"a stage block is a mapping: write '- {name}:' followed by an indented list of commands")
    if is_null(value):
        return Success(StageBlock(stage, (), where))
    if not isinstance(value, Seq):
        return fail(WRONG_TYPE, f"'{name}' must hold a list of commands, not {kind_name(value)}", path, value,
                    f"indent the commands under '- {name}:', each starting with '- '")
    items, _, errors = _parse_items(value, path, top=False)
    return Failure(errors) if errors else Success(StageBlock(stage, items, where))


__all__ = [
    "Command",
    "StageBlock",
    "Document",
    "ClustersCommand",
    "parse_document",
    "EXECUTION_MODES",
    "REMOTE_TARGETS",
    "COMMANDS",
    "ConfigError",
]
