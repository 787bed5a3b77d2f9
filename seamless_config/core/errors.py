"""User mistakes as values.

A :class:`ConfigError` says where (file and line), what was wrong and how to fix
it. Pure stages return them inside ``returns.result.Failure``; the boundary
renders them (:func:`render`) and raises or exits.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class Origin:
    """Where a value was written: a file and a 1-based line (0 when unknown)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        name = escape_path(self.file)
        return f"{name}:{self.line}" if self.line else name


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def escape_path(path: str) -> str:
    r"""A path as printed: control characters (a newline, ESC...) escaped, so that one message stays
    one line and no file name can rewrite the terminal.

    >>> print(escape_path("/home/a/x\ny\x1b[31m.yaml"))
    /home/a/x\ny\x1b[31m.yaml
    """
    if path.isprintable():
        return path
    return "".join(_CONTROL.get(ord(ch), ch if ch.isprintable() else f"\\u{ord(ch):04x}") for ch in path)


DEFAULT_ORIGIN = Origin("(default)")


@attrs.frozen
class ConfigError:
    """One user mistake.

    >>> str(ConfigError("unknown command 'projct'", Origin("seamless.yaml", 3), "did you mean 'project'?"))
    "seamless.yaml:3: unknown command 'projct' (did you mean 'project'?)"
    """

    message: str
    origin: Origin | None = None
    hint: str = ""
    #: what kind of mistake, for code that must tell kinds apart (never the message text): see KINDS
    kind: str = attrs.field(default="", eq=False, kw_only=True)

    def __str__(self) -> str:
        where = f"{self.origin}: " if self.origin is not None else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


@attrs.frozen
class ConfigErrors:
    """Several user mistakes, reported together (the first one leads)."""

    errors: tuple[ConfigError, ...]

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def render(error: ConfigError | ConfigErrors, cwd: str | None = None, home: str | None = None) -> str:
    """The one place that turns mistakes into text: one line per mistake.

    Files under ``cwd`` are named relative to it, files under ``home`` as ``~/...``.

    >>> e = ConfigError("unknown command 'x'", Origin("/home/a/p/seamless.yaml", 2))
    >>> render(e, cwd="/home/a/p", home="/home/a")
    "seamless.yaml:2: unknown command 'x'"
    >>> render(ConfigError("bad", Origin("/home/a/.seamless/clusters.yaml", 4)), cwd="/tmp", home="/home/a")
    '~/.seamless/clusters.yaml:4: bad'
    """
    errors = error.errors if isinstance(error, ConfigErrors) else (error,)
    return "\n".join(str(_shorten(e, cwd, home)) for e in errors)


def short_path(path: str, cwd: str | None = None, home: str | None = None) -> str:
    """``path`` relative to ``cwd`` when inside it, else with ``~`` for ``home``."""
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    if home and home != "/" and path.startswith(home.rstrip("/") + "/"):
        return "~/" + path[len(home.rstrip("/")) + 1 :]
    return path


def _shorten(e: ConfigError, cwd: str | None, home: str | None) -> ConfigError:
    if e.origin is None:
        return e
    return ConfigError(e.message, Origin(short_path(e.origin.file, cwd, home), e.origin.line), e.hint)


#: a ``- cluster:`` (or ``--cluster``, ``select_cluster()``) naming no defined cluster
UNKNOWN_CLUSTER = "unknown-cluster"
KINDS = (UNKNOWN_CLUSTER,)


def unknown_cluster(name: object, known: Iterable[str], origin: Origin | None = None, extra: str = "") -> ConfigError:
    """The one "unknown cluster" mistake: the closest defined name, else where to define one.

    >>> print(unknown_cluster("hcp", ["hpc", "lab"]))
    unknown cluster 'hcp' (did you mean 'hpc'?)
    >>> unknown_cluster("x", []).hint
    "define it in ~/.seamless/clusters.yaml or with a 'clusters' command"
    """
    hint = did_you_mean(str(name), known)
    if extra:
        hint = f"{hint}; {extra}" if hint else extra
    elif not hint:
        hint = "define it in ~/.seamless/clusters.yaml or with a 'clusters' command"
    return ConfigError(f"unknown cluster {name!r}", origin, hint, kind=UNKNOWN_CLUSTER)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest of ``choices``, or the list of choices.

    >>> did_you_mean("walltme", ["walltime", "cores"])
    "did you mean 'walltime'?"
    """
    choices = sorted(set(choices))
    if not choices:
        return ""
    import difflib  # only when there is a mistake to explain

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if len(choices) <= 12:
        return "expected one of " + ", ".join(repr(c) for c in choices)
    return ""
