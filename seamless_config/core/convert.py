"""Typed reading of YAML nodes, driven by the schema table: each mistake a :class:`ConfigError`.

YAML scalars arrive as text (strictyaml does not guess types); these readers
give them the type a field needs, the way a YAML 1.1 reader would (``yes`` is
true, ``~`` is null) but without its surprises (``01:00:00`` stays a string).

Every reader returns a ``Result``: the value, or the mistakes (a tuple of
:class:`ConfigError`). :func:`read` picks the reader from a field's kind in
:mod:`.schema`; :mod:`.results` combines the reads, so that one run reports every mistake of
a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from functools import lru_cache
from typing import Any

from returns.result import Failure, Result, Success

from . import names
from .errors import (
    INVALID_CHOICE,
    INVALID_NAME,
    MISSING,
    OUT_OF_RANGE,
    UNKNOWN_FIELD,
    WRONG_TYPE,
    ConfigError,
    Diagnostic,
    Origin,
    did_you_mean,
)
from .schema import Field
from .yamltree import Map, Node, Scalar, Seq, kind_name

NULLS = frozenset({"", "~", "null", "Null", "NULL"})
TRUE = frozenset({"true", "yes", "on"})
FALSE = frozenset({"false", "no", "off"})
_INT = re.compile(r"[-+]?[0-9]+\Z")
_MAX_DIGITS = 18  # int() refuses over 4300 digits; no setting needs more than 18
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?\Z")

#: the mistakes of one value, of one section, of one file
Errors = tuple[ConfigError, ...]
Read = Result[Any, Errors]
#: the read of a null
NONE: Read = Success(None)
_TRUE: Read = Success(True)
_FALSE: Read = Success(False)
#: the reads of the strings and numbers met so far: most values recur (a port, a conda
#: environment, a walltime), and a shared Success costs a lookup instead of a new container
_OK: dict[tuple[type, Any], Read] = {}


def ok(value: str | int) -> Read:
    """``Success(value)`` for a string or a number, shared."""
    key = (type(value), value)
    r = _OK.get(key)
    if r is None:
        if len(_OK) >= 4096:
            _OK.clear()
        r = _OK[key] = Success(value)
    return r


def at(path: str, where: Node | int) -> Origin:
    """Where ``where`` (a node, or a line) was written in ``path``."""
    return _origin(path, where if type(where) is int else where.line)  # type: ignore[union-attr]


@lru_cache(maxsize=1 << 14)
def _origin(path: str, line: int) -> Origin:
    # one frozen Origin per line, shared: a cluster file asks for the same lines many times
    return Origin(path, line)


def fail(kind: Diagnostic, message: str, path: str, where: Node | int, hint: str = "") -> Failure[Errors]:
    """One mistake of ``kind`` at ``where``, as a failed read."""
    return Failure((kind(message, at(path, where), hint),))


def is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and not node.quoted and node.value in NULLS


# -- scalar readers ---------------------------------------------------------------------------

def to_str(node: Node, what: object, path: str, *, nullable: bool = False) -> Read:
    """A one-line string (``None`` for null, when ``nullable``)."""
    if isinstance(node, Scalar):
        if node.value in NULLS and not node.quoted:
            if nullable:
                return NONE
            return fail(MISSING, f"{what} needs a value", path, node, f"write '{_short(what)}: <value>'")
        return _one_line(node, what, path) or ok(node.value)
    return fail(WRONG_TYPE, f"{what} must be a string, not {kind_name(node)}", path, node)


#: line breaks, tabs and other control characters; in a value they would start a new line
#: of a batch script or a command (or rewrite the terminal of whoever reads the output)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(node: Scalar, what: object, path: str, *, multiline: bool = False) -> Failure[Errors] | None:
    """The mistake of a value that is not one line without control characters (``None``: it is)."""
    if node.value.isprintable():  # the usual case, without the pattern: no control character at all
        return None
    m = (_CONTROL_BUT_LINES if multiline else _CONTROL).search(node.value)
    if m is None:
        return None
    found = "a line break" if m.group() in "\n\r\x85\u2028\u2029" else "a control character"
    return fail(INVALID_NAME, f"{what} contains {found} (U+{ord(m.group()):04X}): {kind_name(node)}", path, node,
                "write the value on one line, without control characters")


def to_bool(node: Node, what: object, path: str) -> Read:
    if isinstance(node, Scalar):
        v = node.value.lower()
        if v in TRUE:
            return _TRUE
        if v in FALSE:
            return _FALSE
    return fail(WRONG_TYPE, f"{what} must be true or false, not {kind_name(node)}", path, node,
                f"write '{_short(what)}: true' or '{_short(what)}: false'")


def to_int(node: Node, what: object, path: str, *, minimum: int | None = None, maximum: int | None = None) -> Read:
    if not (isinstance(node, Scalar) and _INT.match(node.value)):
        return fail(WRONG_TYPE, f"{what} must be a whole number, not {kind_name(node)}", path, node)
    if len(node.value.lstrip("+-").lstrip("0")) > _MAX_DIGITS:
        return fail(OUT_OF_RANGE, f"{what} is too large, not {kind_name(node)}", path, node)
    value = int(node.value)
    if minimum is not None and value < minimum:
        return fail(OUT_OF_RANGE, f"{what} must be at least {minimum}, not {value}", path, node)
    if maximum is not None and value > maximum:
        return fail(OUT_OF_RANGE, f"{what} must be at most {maximum}, not {value}", path, node)
    return ok(value)


def to_str_list(node: Node, what: object, path: str, *, multiline: bool = False) -> Read:
    """A list of strings; a single string is accepted as a list of one.

    Items are single lines without control characters; with ``multiline``
    (shell code such as ``job_script_prologue``) line breaks and tabs are allowed.
    """
    if isinstance(node, Scalar):
        return _one_line(node, what, path, multiline=multiline) or Success([node.value])
    if not isinstance(node, Seq):
        return fail(WRONG_TYPE, f"{what} must be a list of strings, not a mapping", path, node)
    out = []
    for item in node.items:
        if not isinstance(item, Scalar):
            return fail(WRONG_TYPE, f"{what} must be a list of strings; found {kind_name(item)}", path, item)
        bad = _one_line(item, what, path, multiline=multiline)
        if bad is not None:
            return bad
        out.append(item.value)
    return Success(out)


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
    if v.lower() in TRUE:
        return True
    if v.lower() in FALSE:
        return False
    if _INT.match(v) and len(v) <= _MAX_DIGITS + 1:
        return int(v)
    if _FLOAT.match(v) and len(v) <= 64:
        return float(v)
    return v


# -- one reader per kind of the schema table --------------------------------------------------

#: reads field, node, its label in messages, file, owner (the cluster, frontend, queue it is in)
Reader = Callable[[Field, Node, object, str, str], Read]


def _checked(check: Callable[[Field, str, Origin], ConfigError | None]) -> Reader:
    """A string field whose value ``check`` also vets (a name, a host, a path, an environment)."""

    def read_checked(f: Field, node: Node, what: object, path: str, owner: str) -> Read:
        read = to_str(node, what, path, nullable=f.nullable)
        value = read.value_or(None)
        err = None if value is None else check(f, value, at(path, node))
        return read if err is None else Failure((err,))

    return read_checked


def _enum(f: Field, node: Node, what: object, path: str, owner: str) -> Read:
    def member(value: str | None) -> Read:
        if value is None or value in f.allowed:
            return Success(value)
        choices = [v for v in f.allowed if v is not None]
        return fail(INVALID_CHOICE, f.invalid.format(value=value, owner=owner), path, node,
                    did_you_mean(value, choices))

    return to_str(node, what, path, nullable=f.nullable).bind(member)


def _mapping(f: Field, node: Node, what: object, path: str, owner: str) -> Read:
    if isinstance(node, Map):
        return Success(plain(node))
    return fail(WRONG_TYPE, f"{what} must be a mapping, not {kind_name(node)}", path, node,
                f"write e.g. '{f.name}: {{GPU: 1}}'")


_STRING: Reader = lambda f, node, what, path, owner: to_str(node, what, path, nullable=f.nullable)  # noqa: E731
#: a name of the rules of :func:`.names.check_name`, for the field's own kind of name
_NAME = _checked(lambda f, v, o: names.check_name(f.name, v, o))

#: the reader of each value kind (the structural kinds, such as ``frontends``, are read by their sections)
READERS: dict[str, Reader] = {
    "name": _NAME, "subproject": _NAME, "cluster": _NAME,
    "host": _checked(lambda f, v, o: names.check_host(f.name, v, o)),
    "abspath": _checked(lambda f, v, o: names.check_abs_path(f.name, v, o)),
    "path": _checked(lambda f, v, o: names.check_job_path(f.name, v, o)),
    "conda": _checked(lambda f, v, o: names.check_conda(v, o)),
    "enum": _enum,
    "bool": lambda f, node, what, path, owner: to_bool(node, what, path),
    "int": lambda f, node, what, path, owner: to_int(node, what, path, minimum=1),
    "port": lambda f, node, what, path, owner: to_int(node, what, path, minimum=1, maximum=65535),
    "str": _STRING, "queue": _STRING, "template": _STRING,
    "list": lambda f, node, what, path, owner: to_str_list(node, what, path),
    "script": lambda f, node, what, path, owner: to_str_list(node, what, path, multiline=True),
    "mapping": _mapping,
}

#: how a message names a field of each section (``owner``: the cluster, frontend, queue it is in)
LABELS = {"command": "'{name}' command", "cluster": "field '{name}' of {owner}", "queue": "queue field '{name}' in {owner}"}


class Label(tuple[Field, str]):
    """How a message names a field (the field, its owner), written out only when a message needs it:
    most reads succeed."""

    __slots__ = ()

    def __str__(self) -> str:
        f, owner = self
        return LABELS.get(f.section, "'{name}' of {owner}").format(name=f.name, owner=owner)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def read(f: Field, node: Node, path: str, owner: str = "") -> Read:
    """The value of field ``f`` written as ``node`` (``None`` for null, when the field allows it)."""
    if f.nullable and isinstance(node, Scalar) and not node.quoted and node.value in NULLS:
        return NONE
    return READERS[f.kind](f, node, Label((f, owner)), path, owner)


def unknown_field(key: Scalar, known: Collection[str], what: str, path: str, noun: str = "field") -> ConfigError:
    """The mistake of a key that is none of ``known`` (the hint names the closest)."""
    return UNKNOWN_FIELD(f"unknown {noun} {key.value!r} in {what}", at(path, key), did_you_mean(key.value, known))


def unknown_fields(node: Map, known: Collection[str], what: str, path: str) -> Errors:
    """A mistake for every key of ``node`` not in ``known``."""
    return tuple(unknown_field(k, known, what, path) for k, _ in node.items if k.value not in known)


def _short(what: object) -> str:
    # "queue field 'cores'" -> "cores"; "'project' command" -> "project"
    m = re.search(r"'([^']+)'", str(what))
    return m.group(1) if m else str(what)
