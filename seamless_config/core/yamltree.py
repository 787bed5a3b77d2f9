"""YAML text to a small tree of nodes that remember their line.

strictyaml does the parsing (no anchors, aliases, tags or duplicate keys); the
resulting tree is plain data that can be cached as JSON (:func:`to_json`,
:func:`from_json`), so each file is parsed once and not again while its content
stays the same.
"""

from __future__ import annotations

from typing import Any

import attrs
from returns.result import Failure, Result, Success

from .errors import ConfigError, Origin

#: Files larger than this are refused: strictyaml needs seconds per megabyte.
MAX_FILE_BYTES = 256 * 1024

#: Bumped whenever the tree format or the parser's behaviour changes, so that
#: cached trees from another version are never used.
PARSER_VERSION = "seamless-config-tree-3"


@attrs.frozen
class Scalar:
    value: str
    line: int


@attrs.frozen
class Seq:
    items: tuple[Node, ...]
    line: int


@attrs.frozen
class Map:
    items: tuple[tuple[Scalar, Node], ...]
    line: int

    def keys(self) -> list[str]:
        return [k.value for k, _ in self.items]


Node = Scalar | Seq | Map


def kind_name(node: Node) -> str:
    """How a node is described in error messages."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    return f"{node.value!r}"


def decode(path: str, data: bytes) -> Result[str, ConfigError]:
    """Bytes to text; UTF-8 only, and not over :data:`MAX_FILE_BYTES`.

    >>> decode("a.yaml", b"- project: x").unwrap()
    '- project: x'
    >>> print(decode("a.yaml", b"- project: \\xff").failure())
    a.yaml:1: the file is not valid UTF-8 (byte 0xff at column 12) (save it as UTF-8)
    """
    if len(data) > MAX_FILE_BYTES:
        return Failure(
            ConfigError(
                f"the file is {len(data)} bytes, more than the {MAX_FILE_BYTES} allowed",
                Origin(path),
                "split cluster definitions over several files in ~/.seamless/clusters/",
            )
        )
    try:
        return Success(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Failure(
            ConfigError(
                f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {col})",
                Origin(path, line),
                "save it as UTF-8",
            )
        )


class _Duplicate(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key, self.line = key, line


class _ComplexKey(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def parse_yaml(path: str, text: str) -> Result[Node | None, ConfigError]:
    """Parse YAML text into a line-aware tree (``None`` for an empty document).

    strictyaml's loader scans and parses (refusing anchors, aliases and tags);
    the tree is built from its node graph directly, skipping the typing of
    values that strictyaml's schema pass would do and that we do ourselves.

    >>> parse_yaml("s.yaml", "- project: p\\n").unwrap()
    Seq(items=(Map(items=((Scalar(value='project', line=1), Scalar(value='p', line=1)),), line=1),), line=1)
    >>> print(parse_yaml("s.yaml", "- a: 1\\n  a: 2\\n").failure())
    s.yaml:2: duplicate key 'a' (each key may appear once in a mapping; keep one)
    """
    # Imported here: strictyaml costs ~90 ms to import, and a warm parse cache
    # means most runs never need it.
    from strictyaml import exceptions as sx
    from strictyaml.parser import StrictYAMLLoader

    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return Success(None)
    loader = StrictYAMLLoader(text)
    loader.label = path  # type: ignore[attr-defined]
    loader.allow_flow_style = True  # type: ignore[attr-defined]
    try:
        node = loader.get_single_node()
        if node is None:
            return Success(None)
        root = _convert_node(node)
        if isinstance(root, Scalar):
            root = Scalar(root.value.rstrip("\\n"), root.line)
        return Success(root)
    except _Duplicate as dup:
        return Failure(ConfigError(f"duplicate key {dup.key!r}", Origin(path, dup.line),
                                   "each key may appear once in a mapping; keep one"))
    except _ComplexKey as ck:
        return Failure(ConfigError("a mapping key must be a plain name, not a list or mapping",
                                   Origin(path, ck.line), "write 'name: value'"))
    except sx.AnchorTokenDisallowed as exc:
        return Failure(_marked(path, exc, "YAML anchors and aliases are not allowed", "write the values out in full"))
    except sx.TagTokenDisallowed as exc:
        return Failure(_marked(path, exc, "YAML tags are not allowed", "remove the '!' tag"))
    except RecursionError:
        return Failure(ConfigError("the YAML is nested too deeply", Origin(path), "flatten the structure"))
    except Exception as exc:  # ruamel's MarkedYAMLError family, and its odd cousins
        problem = getattr(exc, "problem", None)
        if problem is None:
            return Failure(ConfigError(f"invalid YAML: {exc}", Origin(path), "check the YAML syntax"))
        return Failure(_marked(path, exc, f"invalid YAML: {problem}", "check the YAML syntax near this line", text))
    finally:
        loader.dispose()


def _convert_node(node: object) -> Node:
    from strictyaml.ruamel.nodes import MappingNode, ScalarNode, SequenceNode

    if isinstance(node, MappingNode):
        items = []
        seen: set[str] = set()
        for k, v in node.value:
            kline = k.start_mark.line + 1
            if not isinstance(k, ScalarNode):
                raise _ComplexKey(kline)
            key = str(k.value)
            if key in seen:
                raise _Duplicate(key, kline)
            seen.add(key)
            if isinstance(v, ScalarNode) and v.value == "":
                value: Node = Scalar("", kline)  # an empty value is positioned on the next token
            else:
                value = _convert_node(v)
            items.append((Scalar(key, kline), value))
        return Map(tuple(items), node.start_mark.line + 1)
    if isinstance(node, SequenceNode):
        return Seq(tuple(_convert_node(v) for v in node.value), node.start_mark.line + 1)
    return Scalar(str(node.value), node.start_mark.line + 1)  # type: ignore[attr-defined]


def _marked(path: str, exc: Exception, message: str, hint: str, text: str = "") -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    context = getattr(exc, "context_mark", None)
    # An error found at the end of the text (an unclosed bracket) is better shown where it began.
    if text and context is not None and line > len(text.rstrip("\n").splitlines()):
        line = context.line + 1
    return ConfigError(message, Origin(path, line), hint)


def to_json(node: Node | None) -> object:
    """A JSON-able form of a tree (compact lists), for the parse cache."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return [node.line, node.value]
    if isinstance(node, Seq):
        return [node.line, "q", [to_json(n) for n in node.items]]
    return [node.line, "m", [[k.line, k.value, to_json(v)] for k, v in node.items]]


def from_json(data: Any) -> Node | None:
    """The inverse of :func:`to_json`.

    >>> t = parse_yaml("x", "- a: [1, {b: c}]\\n").unwrap()
    >>> from_json(to_json(t)) == t
    True
    """
    if data is None:
        return None
    if not isinstance(data, list):
        data = list(data)  # a lazily decoded sequence
    if len(data) == 2:
        return Scalar(data[1], data[0])
    line, kind, items = data
    if kind == "q":
        return Seq(tuple(from_json(n) for n in items), line)  # type: ignore[misc]
    return Map(tuple((Scalar(k, kl), from_json(v)) for kl, k, v in items), line)  # type: ignore[misc]
