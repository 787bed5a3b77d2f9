"""YAML text to a small tree of nodes that remember their line.

strictyaml does the parsing (no anchors, aliases, tags or duplicate keys); the
resulting tree is plain data that can be cached as JSON (:func:`to_json`,
:func:`from_json`), so each file is parsed once and not again while its content
stays the same.
"""

from __future__ import annotations

import attrs
from returns.result import Failure, Result, Success

from .errors import ConfigError, Origin

#: Files larger than this are refused: strictyaml needs seconds per megabyte.
MAX_FILE_BYTES = 256 * 1024

#: Bumped whenever the tree format or the parser's behaviour changes, so that
#: cached trees from another version are never used.
PARSER_VERSION = "seamless-config-tree-1"


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


def parse_yaml(path: str, text: str) -> Result[Node | None, ConfigError]:
    """Parse YAML text into a line-aware tree (``None`` for an empty document).

    >>> parse_yaml("s.yaml", "- project: p\\n").unwrap()
    Seq(items=(Map(items=((Scalar(value='project', line=1), Scalar(value='p', line=1)),), line=1),), line=1)
    >>> print(parse_yaml("s.yaml", "- a: 1\\n  a: 2\\n").failure())
    s.yaml:2: duplicate key 'a' (each key may appear once in a mapping; keep one)
    """
    # Imported here: strictyaml costs ~90 ms to import, and a warm parse cache
    # means most runs never need it.
    import strictyaml
    from strictyaml import exceptions as sx

    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return Success(None)
    try:
        doc = strictyaml.dirty_load(
            text, strictyaml.Any(), label=path, allow_flow_style=True
        )
    except sx.DuplicateKeysDisallowed as exc:
        return Failure(_marked(path, exc, _dup_message(exc), "each key may appear once in a mapping; keep one"))
    except sx.AnchorTokenDisallowed as exc:
        return Failure(
            _marked(path, exc, "YAML anchors and aliases are not allowed", "write the values out in full")
        )
    except sx.TagTokenDisallowed as exc:
        return Failure(_marked(path, exc, "YAML tags are not allowed", "remove the '!' tag"))
    except sx.YAMLValidationError as exc:  # pragma: no cover - Any() accepts everything
        return Failure(_marked(path, exc, str(exc.problem or "invalid YAML"), ""))
    except RecursionError:
        return Failure(ConfigError("the YAML is nested too deeply", Origin(path), "flatten the structure"))
    except Exception as exc:  # ruamel's MarkedYAMLError family, and its odd cousins
        problem = getattr(exc, "problem", None)
        if problem is None:
            return Failure(ConfigError(f"invalid YAML: {exc}", Origin(path), "check the YAML syntax"))
        return Failure(_marked(path, exc, f"invalid YAML: {problem}", "check the YAML syntax near this line", text))
    try:
        return Success(_convert(doc._chunk.contents, 1))
    except RecursionError:
        return Failure(ConfigError("the YAML is nested too deeply", Origin(path), "flatten the structure"))


def _dup_message(exc: Exception) -> str:
    problem = str(getattr(exc, "problem", "") or "")
    # strictyaml says "Duplicate key 'a' found"
    if problem.startswith("Duplicate key "):
        return "duplicate key " + problem[len("Duplicate key ") :].removesuffix(" found")
    return "duplicate key"


def _marked(path: str, exc: Exception, message: str, hint: str, text: str = "") -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    context = getattr(exc, "context_mark", None)
    # An error found at the end of the text (an unclosed bracket) is better shown where it began.
    if text and context is not None and line > len(text.rstrip("\n").splitlines()):
        line = context.line + 1
    return ConfigError(message, Origin(path, line), hint)


def _convert(obj: object, line: int) -> Node:
    # ruamel's CommentedMap / CommentedSeq carry 0-based positions in .lc
    if isinstance(obj, dict):
        items = []
        lc = obj.lc  # type: ignore[attr-defined]
        for key, value in obj.items():
            kline = lc.key(key)[0] + 1
            vline = lc.value(key)[0] + 1
            if value is None or value == "":
                vline = kline  # an empty value is positioned on the next token
            items.append((Scalar(str(key), kline), _convert(value, vline)))
        return Map(tuple(items), line if not items else items[0][0].line)
    if isinstance(obj, list):
        lc = obj.lc  # type: ignore[attr-defined]
        return Seq(tuple(_convert(v, lc.item(i)[0] + 1) for i, v in enumerate(obj)), line)
    return Scalar("" if obj is None else str(obj), line)


def to_json(node: Node | None) -> object:
    """A JSON-able form of a tree (compact lists), for the parse cache."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return [node.line, node.value]
    if isinstance(node, Seq):
        return [node.line, "q", [to_json(n) for n in node.items]]
    return [node.line, "m", [[k.line, k.value, to_json(v)] for k, v in node.items]]


def from_json(data: object) -> Node | None:
    """The inverse of :func:`to_json`.

    >>> t = parse_yaml("x", "- a: [1, {b: c}]\\n").unwrap()
    >>> from_json(to_json(t)) == t
    True
    """
    if data is None:
        return None
    assert isinstance(data, list)
    if len(data) == 2:
        return Scalar(data[1], data[0])
    line, kind, items = data
    if kind == "q":
        return Seq(tuple(from_json(n) for n in items), line)  # type: ignore[misc]
    return Map(tuple((Scalar(k, kl), from_json(v)) for kl, k, v in items), line)  # type: ignore[misc]
