"""Typed reading of YAML nodes, each mistake a :class:`ConfigError`.

YAML scalars arrive as text (strictyaml does not guess types); these helpers
give them the type a field needs, the way a YAML 1.1 reader would (``yes`` is
true, ``~`` is null) but without its surprises (``01:00:00`` stays a string).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import (
    INVALID_NAME,
    MISSING,
    OUT_OF_RANGE,
    UNKNOWN_FIELD,
    WRONG_TYPE,
    ConfigError,
    Diagnostic,
    Origin,
)
from .yamltree import Map, Node, Scalar, Seq, kind_name

NULLS = frozenset({"", "~", "null", "Null", "NULL"})
TRUE = frozenset({"true", "yes", "on"})
FALSE = frozenset({"false", "no", "off"})
_INT = re.compile(r"[-+]?[0-9]+\Z")
_MAX_DIGITS = 18  # int() refuses over 4300 digits; no setting needs more than 18
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?\Z")


class Problems:
    """Collects the mistakes of one file, so that one run reports them all."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[ConfigError] = []
        # one Origin per line (they are frozen): a cluster file asks for the same lines many times
        self._origins: dict[int, Origin] = {}

    def origin(self, node: Node | int) -> Origin:
        line = node if isinstance(node, int) else node.line
        o = self._origins.get(line)
        if o is None:
            o = self._origins[line] = Origin(self.path, line)
        return o

    def add(self, kind: Diagnostic, message: str, where: Node | int, hint: str = "") -> None:
        self.errors.append(kind(message, self.origin(where), hint))

    def extend(self, errors: list[ConfigError] | tuple[ConfigError, ...]) -> None:
        self.errors.extend(errors)


def is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and not node.quoted and node.value in NULLS


def to_str(node: Node, what: str, p: Problems, *, nullable: bool = False) -> str | None:
    """A string value; ``None`` (and a recorded error) when it is not one."""
    if isinstance(node, Scalar):
        if node.value in NULLS and not node.quoted:
            if nullable:
                return None
            p.add(MISSING, f"{what} needs a value", node, f"write '{_short(what)}: <value>'")
            return None
        if not _one_line(node, what, p):
            return None
        return node.value
    p.add(WRONG_TYPE, f"{what} must be a string, not {kind_name(node)}", node)
    return None


#: line breaks, tabs and other control characters; in a value they would start a new line
#: of a batch script or a command (or rewrite the terminal of whoever reads the output)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(node: Scalar, what: str, p: Problems, *, multiline: bool = False) -> bool:
    m = (_CONTROL_BUT_LINES if multiline else _CONTROL).search(node.value)
    if m is None:
        return True
    found = "a line break" if m.group() in "\n\r\x85\u2028\u2029" else "a control character"
    p.add(INVALID_NAME, f"{what} contains {found} (U+{ord(m.group()):04X}): {kind_name(node)}", node,
          "write the value on one line, without control characters")
    return False


def to_bool(node: Node, what: str, p: Problems) -> bool | None:
    if isinstance(node, Scalar):
        v = node.value.lower()
        if v in TRUE:
            return True
        if v in FALSE:
            return False
    p.add(WRONG_TYPE, f"{what} must be true or false, not {kind_name(node)}", node, f"write '{_short(what)}: true' or '{_short(what)}: false'")
    return None


def to_int(node: Node, what: str, p: Problems, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    if isinstance(node, Scalar) and _INT.match(node.value):
        if len(node.value.lstrip("+-").lstrip("0")) > _MAX_DIGITS:
            p.add(OUT_OF_RANGE, f"{what} is too large, not {kind_name(node)}", node)
            return None
        value = int(node.value)
        if minimum is not None and value < minimum:
            p.add(OUT_OF_RANGE, f"{what} must be at least {minimum}, not {value}", node)
            return None
        if maximum is not None and value > maximum:
            p.add(OUT_OF_RANGE, f"{what} must be at most {maximum}, not {value}", node)
            return None
        return value
    p.add(WRONG_TYPE, f"{what} must be a whole number, not {kind_name(node)}", node)
    return None


def to_str_list(node: Node, what: str, p: Problems, *, multiline: bool = False) -> tuple[str, ...] | None:
    """A list of strings; a single string is accepted as a list of one.

    Items are single lines without control characters; with ``multiline``
    (shell code such as ``job_script_prologue``) line breaks and tabs are allowed.
    """
    if isinstance(node, Scalar):
        return (node.value,) if _one_line(node, what, p, multiline=multiline) else None
    if isinstance(node, Seq):
        out = []
        for item in node.items:
            if not isinstance(item, Scalar):
                p.add(WRONG_TYPE, f"{what} must be a list of strings; found {kind_name(item)}", item)
                return None
            if not _one_line(item, what, p, multiline=multiline):
                return None
            out.append(item.value)
        return tuple(out)
    p.add(WRONG_TYPE, f"{what} must be a list of strings, not a mapping", node)
    return None


def plain(node: Node) -> Any:
    """A JSON-like value for free-form fields (``extra_dask_config``, ``dask_resources``).

    Scalars get YAML 1.1's everyday types (int, float, bool, null); everything
    else stays a string.

    >>> from .yamltree import parse_yaml
    >>> plain(parse_yaml("x", "{GPU: 1, a: [yes, 1.5, ~, 'x']}").unwrap())
    {'GPU': 1, 'a': [True, 1.5, None, 'x']}
    """
    if isinstance(node, Map):
        return {k.value: plain(v) for k, v in node.items}
    if isinstance(node, Seq):
        return [plain(v) for v in node.items]
    v = node.value
    if node.quoted:
        return v
    if v in NULLS:
        return None
    if v.lower() in ("true", "yes", "on"):
        return True
    if v.lower() in ("false", "no", "off"):
        return False
    if _INT.match(v) and len(v) <= _MAX_DIGITS + 1:
        return int(v)
    if _FLOAT.match(v) and len(v) <= 64:
        return float(v)
    return v


def check_fields(
    node: Map,
    allowed: dict[str, Callable[..., Any]] | frozenset[str] | set[str],
    what: str,
    p: Problems,
) -> bool:
    """Records an error for every key of ``node`` not in ``allowed``."""
    from .errors import did_you_mean

    ok = True
    for key, _ in node.items:
        if key.value not in allowed:
            p.add(UNKNOWN_FIELD, f"unknown field {key.value!r} in {what}", key, did_you_mean(key.value, allowed))
            ok = False
    return ok


def _short(what: str) -> str:
    # "queue field 'cores'" -> "cores"; "'project' command" -> "project"
    m = re.search(r"'([^']+)'", what)
    return m.group(1) if m else what
