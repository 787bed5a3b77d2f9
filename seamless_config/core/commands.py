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
from .convert import Problems, is_null, to_bool, to_int, to_str
from .errors import (
    INVALID_CHOICE,
    MISSING,
    UNKNOWN_COMMAND,
    WRONG_TYPE,
    ConfigError,
    ConfigErrors,
    Origin,
    did_you_mean,
)
from .yamltree import Map, Node, Scalar, Seq, kind_name

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
    p = Problems(path)
    if not isinstance(tree, Seq):
        where = 1 if tree is None else tree.line
        found = "an empty file" if tree is None else kind_name(tree)
        p.add(
            WRONG_TYPE,
            f"expected a YAML list of commands, found {found}",
            where,
            f"write one command per line, starting with '- ', e.g. '{EXAMPLE}'",
        )
        return Failure(ConfigErrors(tuple(p.errors)))
    items, inherits = _parse_items(tree, p, top=True)
    if p.errors:
        return Failure(ConfigErrors(tuple(p.errors)))
    return Success(Document(path, items, inherits))


def _parse_items(seq: Seq, p: Problems, *, top: bool) -> tuple[tuple[Item, ...], bool]:
    items: list[Item] = []
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
            p.add(
                WRONG_TYPE,
                f"each command must be a name or a mapping with one key, found {what}",
                node,
                f"write one command per list item, e.g. '{EXAMPLE}'",
            )
            continue
        if name.startswith("stage ") or name == "stage":
            block = _parse_stage_block(name, key_node, value, p)
            if block is not None:
                items.append(block)
            continue
        if name == INHERIT:
            # Like the reference: any value is accepted, and the flag only counts at top level.
            if top:
                inherits = True
            continue
        if name not in COMMANDS:
            p.add(UNKNOWN_COMMAND, f"unknown command {name!r}", key_node, did_you_mean(name, COMMANDS + ("stage NAME",)))
            continue
        if name == "clusters":
            if value is None or is_null(value):
                p.add(MISSING, "'clusters' command needs a mapping of cluster names to definitions", key_node,
                      "write 'clusters:' followed by indented cluster definitions")
                continue
            # in stage blocks every definition is checked (docs/differences.md: inactive stage blocks)
            cc = parse_clusters_mapping(value, p, origin=p.origin(key_node), defer=top)
            if cc is not None:
                items.append(cc)
            continue
        parsed = _command_value(name, key_node, value, p)
        if parsed is not _BAD:
            items.append(Command(name, parsed, p.origin(key_node)))
    return tuple(items), inherits


_BAD = object()


def _parse_stage_block(name: str, key_node: Node, value: Node | None, p: Problems) -> StageBlock | None:
    stage = name[len("stage ") :].strip() if name.startswith("stage ") else ""
    if not stage:
        p.add(MISSING, "a stage block needs a stage name", key_node, "write '- stage prod:' followed by an indented list")
        return None
    err = names.check_name("stage", stage, p.origin(key_node))
    if err is not None:
        p.errors.append(err)
        return None
    if value is None:
        p.add(UNKNOWN_COMMAND, f"unknown command {name!r}", key_node,
              f"a stage block is a mapping: write '- {name}:' followed by an indented list of commands")
        return None
    if is_null(value):
        return StageBlock(stage, (), p.origin(key_node))
    if not isinstance(value, Seq):
        p.add(WRONG_TYPE, f"'{name}' must hold a list of commands, not {kind_name(value)}", value,
              f"indent the commands under '- {name}:', each starting with '- '")
        return None
    items, _ = _parse_items(value, p, top=False)
    return StageBlock(stage, items, p.origin(key_node))


def _command_value(name: str, key_node: Node, value: Node | None, p: Problems) -> Any:
    what = f"'{name}' command"
    if value is None:  # bare command name
        if name in ("cluster", "remote", "node"):
            return None
        p.add(MISSING, f"{what} needs a value", key_node, f"write '- {name}: <value>'")
        return _BAD
    n_before = len(p.errors)
    result: Any
    if name in ("project", "subproject", "queue"):
        result = to_str(value, what, p)
        if result is not None:
            err = names.check_name(name if name != "queue" else "queue", result, p.origin(value))
            if err is not None:
                p.errors.append(err)
    elif name in ("cluster", "node"):
        result = to_str(value, what, p, nullable=True)
        if result is not None:
            err = names.check_name(name, result, p.origin(value))
            if err is not None:
                p.errors.append(err)
    elif name == "execution":
        result = to_str(value, what, p)
        if result is not None and result not in EXECUTION_MODES:
            p.add(INVALID_CHOICE, f"invalid execution mode {result!r}", value, did_you_mean(result, EXECUTION_MODES))
    elif name == "remote":
        result = to_str(value, what, p, nullable=True)
        if result is not None and result not in REMOTE_TARGETS:
            p.add(INVALID_CHOICE, f"invalid remote {result!r}", value, "expected one of 'jobserver', 'daskserver' or null")
    elif name in ("persistent", "record"):
        result = to_bool(value, what, p)
    elif name == "nparallel":
        result = to_int(value, what, p, minimum=1)
    else:  # pragma: no cover - COMMANDS and this function move together
        raise AssertionError(name)
    return _BAD if len(p.errors) > n_before else result


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
