"""YAML text to a small tree of nodes that remember their line.

Two parsers, one tree. A clean file (no anchors, aliases, tags, directives,
duplicate or complex keys, odd characters, more than one document) is composed
by libyaml, PyYAML's C parser, about thirty times faster than strictyaml. Any
other file goes to strictyaml, which refuses what it must and says where;
libyaml is never the one to judge a mistake. On every file libyaml accepts, the
two give the same tree (``tests/test_yamltree_parity.py`` checks it on
generated and mutated files). The tree is plain data that can be cached as JSON
(:func:`to_json`, :func:`from_json`), so each file is parsed once and not again
while its content stays the same.
"""

from __future__ import annotations

from typing import Any

import attrs
from returns.result import Failure, Result, Success

#: Files larger than this are refused: strictyaml, which reads any file that is not clean, needs
#: seconds per megabyte.
from ..limits import MAX_FILE_BYTES  # noqa: E402 (one fact, one place)
from .errors import UNREADABLE, YAML, ConfigError, Origin

#: Files with more lines and flow-list items than this are refused before parsing: strictyaml
#: needs about 0.4 ms per line, so this keeps any accepted file to a couple of seconds.
MAX_ITEMS = 5000

#: Deeper nesting is refused: configurations nest a handful of levels, and deep
#: trees cost the YAML parser (and every recursive stage after it) dearly.
MAX_DEPTH = 64

#: Bumped whenever the tree format or the parser's behaviour changes, so that
#: cached trees from another version are never used.
PARSER_VERSION = "seamless-config-tree-7"


@attrs.frozen
class Scalar:
    value: str
    line: int
    #: written in quotes: a string whatever it looks like (``"0.6"``, ``"yes"``, ``"null"``)
    quoted: bool = attrs.field(default=False, repr=False)


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
    if len(node.value) > 80:
        return f"{node.value[:60]!r}... ({len(node.value)} characters)"
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
            UNREADABLE(
                f"the file is larger than the {MAX_FILE_BYTES} bytes allowed",
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
            UNREADABLE(
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

    A clean file is composed by libyaml (:func:`compose_clean`), any other by strictyaml's
    loader (:func:`parse_strict`), which refuses anchors, aliases and tags and names the line of
    a mistake. Either way the tree is built from the parser's nodes directly, skipping the typing
    of values that strictyaml's schema pass would do and that we do ourselves.

    >>> parse_yaml("s.yaml", "- project: p\\n").unwrap()
    Seq(items=(Map(items=((Scalar(value='project', line=1), Scalar(value='p', line=1)),), line=1),), line=1)
    >>> print(parse_yaml("s.yaml", "- a: 1\\n  a: 2\\n").failure())
    s.yaml:2: duplicate key 'a' (each key may appear once in a mapping; keep one)
    """
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return Success(None)
    items = text.count("\n") + text.count(",")
    if items > MAX_ITEMS:
        return Failure(UNREADABLE(f"the file has {items} lines and list items, more than the {MAX_ITEMS} allowed",
                                   Origin(path), "split cluster definitions over several files in ~/.seamless/clusters/"))
    too_deep = _flow_too_deep(text) or _indent_too_deep(text)
    if too_deep:
        return Failure(_too_deep(path, too_deep))
    clean = compose_clean(text)
    if clean is not None:
        return Success(clean)
    return parse_strict(path, text)


def parse_strict(path: str, text: str) -> Result[Node | None, ConfigError]:
    """:func:`parse_yaml` by strictyaml alone (after the size and depth checks): the judge of every
    file :func:`compose_clean` declines."""
    # Imported here: strictyaml costs ~90 ms to import, and clean files never need it.
    from strictyaml import exceptions as sx
    from strictyaml.parser import StrictYAMLLoader
    from strictyaml.ruamel.error import YAMLError

    try:
        # the reader refuses control characters (NUL, ESC, ...) as soon as it is made
        loader = StrictYAMLLoader(text)
    except YAMLError as exc:
        return Failure(_reader_error(path, exc, text))
    loader.label = path  # type: ignore[attr-defined]
    loader.allow_flow_style = True  # type: ignore[attr-defined]
    try:
        node = loader.get_single_node()
        if node is None:
            return Success(None)
        root = _convert_node(node, 0)
        if isinstance(root, Scalar):
            root = Scalar(root.value.rstrip("\\n"), root.line)
        return Success(root)
    except _Duplicate as dup:
        return Failure(YAML(f"duplicate key {dup.key!r}", Origin(path, dup.line),
                                   "each key may appear once in a mapping; keep one"))
    except _ComplexKey as ck:
        return Failure(YAML("a mapping key must be a plain name, not a list or mapping",
                                   Origin(path, ck.line), "write 'name: value'"))
    except sx.AnchorTokenDisallowed as exc:
        return Failure(_marked(path, exc, "YAML anchors and aliases are not allowed", "write the values out in full"))
    except sx.TagTokenDisallowed as exc:
        return Failure(_marked(path, exc, "YAML tags are not allowed", "remove the '!' tag"))
    except _TooDeep as deep:
        return Failure(_too_deep(path, deep.line))
    except RecursionError:
        return Failure(_too_deep(path, 0))
    except Exception as exc:  # ruamel's MarkedYAMLError family, and its odd cousins
        if getattr(exc, "position", None) is not None and getattr(exc, "reason", None) is not None:
            return Failure(_reader_error(path, exc, text))
        problem = getattr(exc, "problem", None)
        if problem is None:
            return Failure(YAML(f"invalid YAML: {_one_line(str(exc))}", Origin(path), "check the YAML syntax"))
        return Failure(_marked(path, exc, f"invalid YAML: {_one_line(str(problem))}",
                               "check the YAML syntax near this line", text))
    finally:
        loader.dispose()


#: what the two parsers might read differently, so libyaml leaves it to strictyaml: document end
#: markers (``...``; strictyaml reads two of them as a second document), a carriage return that
#: ends a line alone, control characters and tabs (strictyaml refuses tabs inside plain values),
#: a block scalar's header run into a comment (``|#``, which libyaml takes and strictyaml refuses),
#: and explicit keys (``? key``; libyaml takes empty ones in flow lists that strictyaml refuses)
_ODD_MARKS = r"(?m)^\.\.\.|\r(?!\n)|[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]|[|>][0-9+-]{0,2}#|\?(?=[\s,\[\]{}]|\Z)"
#: and, in a text that is not ASCII, the other characters strictyaml's reader refuses, a byte-order
#: mark and the line breaks of YAML 1.1 only (a class of its own: compiling it costs 4 ms)
_ODD_CHARS = r"[^\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"


def compose_clean(text: str) -> Map | Seq | None:
    """The tree of a clean mapping or list document, composed by libyaml; ``None`` when the text
    is not clean or libyaml is missing (then :func:`parse_strict` decides, with its messages).

    >>> compose_clean("- a: [1, 'x']\\n")
    Seq(items=(Map(items=((Scalar(value='a', line=1), Seq(items=(Scalar(value='1', line=1), Scalar(value='x', line=1)), line=1)),), line=1),), line=1)
    >>> compose_clean("a: &x 1\\n") is None, compose_clean("a: 1\\na: 2\\n") is None
    (True, True)
    """
    try:
        import yaml
        from yaml import CSafeLoader
    except ImportError:  # PyYAML without libyaml: strictyaml is as fast as its pure-Python parser
        return None
    import re

    if re.search(_ODD_MARKS, text) or (not text.isascii() and re.search(_ODD_CHARS, text)):
        return None
    # each open node: [line, items, keys seen (mappings) or None (lists), key waiting for its value]
    stack: list[list[Any]] = []
    root: Node | None = None
    documents = 0
    try:
        for ev in yaml.parse(text, Loader=CSafeLoader):
            kind = type(ev)
            if kind is yaml.ScalarEvent:
                if ev.anchor is not None or ev.tag is not None:
                    return None
                node: Node = Scalar(ev.value, ev.start_mark.line + 1, ev.style in ("'", '"'))
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if ev.anchor is not None or ev.tag is not None or len(stack) >= MAX_DEPTH:
                    return None
                stack.append([ev.start_mark.line + 1, [], set() if kind is yaml.MappingStartEvent else None, None])
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                line, items, keys, _ = stack.pop()
                node = Seq(tuple(items), line) if keys is None else Map(tuple(items), line)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1 or ev.version is not None or ev.tags:
                    return None
                continue
            elif kind is yaml.AliasEvent:
                return None
            else:  # stream start and end, document end
                continue
            if not stack:
                root = node
                continue
            top = stack[-1]
            keys = top[2]
            if keys is None:
                top[1].append(node)
            elif top[3] is None:  # a key
                if not isinstance(node, Scalar) or node.value in keys:
                    return None
                keys.add(node.value)
                top[3] = Scalar(node.value, node.line) if node.quoted else node  # (a key is never 'quoted')
            else:
                key, top[3] = top[3], None
                if isinstance(node, Scalar) and node.value == "":
                    # an empty value is placed on its key's line; '""' stays a (quoted) string
                    node = Scalar("", key.line, node.quoted)
                top[1].append((key, node))
    except (yaml.YAMLError, RecursionError):
        return None
    return root if isinstance(root, (Map, Seq)) else None


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _too_deep(path: str, line: int) -> ConfigError:
    return YAML(f"the YAML is nested more than {MAX_DEPTH} levels deep", Origin(path, line),
                       "flatten the structure")


def _one_line(text: str) -> str:
    """A message from the YAML library on one line (it may span several)."""
    return " ".join(text.split())


def _reader_error(path: str, exc: Exception, text: str) -> ConfigError:
    """The reader's complaint about a character: where it is and which one (never the raw character)."""
    pos = getattr(exc, "position", None)
    char = getattr(exc, "character", None)
    line = text.count("\n", 0, pos) + 1 if isinstance(pos, int) else 0
    what = f"character U+{char:04X}" if isinstance(char, int) else "a character"
    if isinstance(char, str) and len(char) == 1:
        what = f"character U+{ord(char):04X}"
    return YAML(f"{what} is not allowed in YAML", Origin(path, line),
                       "remove control characters; write the file as plain UTF-8 text")


def _flow_too_deep(text: str) -> int:
    """The line where ``[``/``{`` nesting passes :data:`MAX_DEPTH` (0 when it does not).

    Checked before parsing: the YAML scanner slows down badly with deep flow
    nesting (seconds for a few thousand levels). Quoted text and comments are
    skipped; an approximation that only errs for absurd files.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = 0
    line = 1
    quote = ""
    prev = "\n"
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            if quote == "#":
                quote = ""
        elif quote == "#":
            pass
        elif quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "#" and prev in " \t\n":
            quote = "#"
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
        prev = c
        i += 1
    return 0


def _indent_too_deep(text: str) -> int:
    """The first line indented by more than ``4 * MAX_DEPTH`` (0 when none is): block nesting that
    deep would be refused after a slow parse, so it is refused before."""
    import re

    m = re.search("^[ \\t]{" + str(4 * MAX_DEPTH + 1) + "}", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def _convert_node(node: object, depth: int) -> Node:
    from strictyaml.ruamel.nodes import MappingNode, ScalarNode, SequenceNode

    if depth >= MAX_DEPTH:
        raise _TooDeep(node.start_mark.line + 1)  # type: ignore[attr-defined]
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
                # an empty value is positioned on the next token; '""' stays a (quoted) string
                value: Node = Scalar("", kline, getattr(v, "style", None) in ("'", '"'))
            else:
                value = _convert_node(v, depth + 1)
            items.append((Scalar(key, kline), value))
        return Map(tuple(items), node.start_mark.line + 1)
    if isinstance(node, SequenceNode):
        return Seq(tuple(_convert_node(v, depth + 1) for v in node.value), node.start_mark.line + 1)
    style = getattr(node, "style", None)
    text = str(node.value)  # type: ignore[attr-defined]
    if style == ">":  # ruamel marks where a folded value was folded with BEL, which no text can hold
        text = text.replace("\a", "")
    return Scalar(text, node.start_mark.line + 1, style in ("'", '"'))  # type: ignore[attr-defined]


def _marked(path: str, exc: Exception, message: str, hint: str, text: str = "") -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    context = getattr(exc, "context_mark", None)
    # An error found at the end of the text (an unclosed bracket) is better shown where it began.
    if text and context is not None and line > len(text.rstrip("\n").splitlines()):
        line = context.line + 1
    return YAML(message, Origin(path, line), hint)


def to_json(node: Node | None) -> object:
    """A JSON-able form of a tree (compact lists), for the parse cache."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return [node.line, [node.value]] if node.quoted else [node.line, node.value]
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
        if isinstance(data[1], list):
            return Scalar(data[1][0], data[0], True)
        return Scalar(data[1], data[0])
    line, kind, items = data
    if kind == "q":
        return Seq(tuple(from_json(n) for n in items), line)  # type: ignore[misc]
    return Map(tuple((Scalar(k, kl), from_json(v)) for kl, k, v in items), line)  # type: ignore[misc]
