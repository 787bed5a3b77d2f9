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
        name = printable(self.file)
        return f"{name}:{self.line}" if self.line else name


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
#: what a terminal obeys: C0, DEL and C1
_TERMINAL = _CONTROL | {c: f"\\x{c:02x}" for c in range(0x80, 0xA0)}


def printable(text: str, keep: str = "") -> str:
    r"""``text`` as printed: control characters (a newline, ESC...) escaped, so that one message
    stays one line and nothing read from a file (a name, a state, a log) can rewrite the terminal;
    the characters of ``keep`` (a log's ``"\n\t"``) are left as they are.

    >>> print(printable("/home/a/x\ny\x1b[31m.yaml"))
    /home/a/x\ny\x1b[31m.yaml
    >>> print(printable("a\tb\x1b]0;title\x07", keep="\t"))
    a	b\x1b]0;title\x07
    """
    if text.isprintable():
        return text
    if keep:  # (a log, maybe megabytes: the characters a terminal obeys, escaped at C speed)
        return text.translate({c: e for c, e in _TERMINAL.items() if chr(c) not in keep})
    return "".join(_CONTROL.get(ord(ch), ch if ch.isprintable() else f"\\u{ord(ch):04x}") for ch in text)


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
    #: what kind of mistake (a :class:`Diagnostic`'s ``kind``): code tells kinds apart by this,
    #: never by the message text
    kind: str = attrs.field(default="", eq=False, kw_only=True)

    @property
    def code(self) -> str:
        """The stable code of its kind (``SC103``), documented in docs/errors.md; ``""`` when unknown."""
        d = BY_KIND.get(self.kind)
        return d.code if d is not None else ""

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
    return attrs.evolve(e, origin=Origin(short_path(e.origin.file, cwd, home), e.origin.line))


# -- the kinds of mistake ------------------------------------------------------------------------

@attrs.frozen
class Diagnostic:
    """One kind of mistake: a stable code, a title and the general fix (docs/errors.md is made from
    these). Calling it makes a :class:`ConfigError` of its kind: the one constructor per kind."""

    kind: str
    code: str
    title: str
    fix: str

    def __call__(self, message: str, origin: Origin | None = None, hint: str = "") -> ConfigError:
        return ConfigError(message, origin, hint, kind=self.kind)


#: code, kind and title; below each, indented, the general fix
_TABLE = """\
SC001 unreadable: A configuration file cannot be used
    make it a readable UTF-8 text file within the size limits, or remove it
SC002 yaml: Not YAML that seamless-config reads
    correct the YAML at the line shown: each key once, no anchors, aliases or tags, plain names as keys
SC101 unknown-command: Unknown command
    use one of the commands of docs/configuration.md (the message suggests the closest)
SC102 unknown-field: Unknown field
    use one of the fields of docs/clusters.md for that section (the message suggests the closest)
SC103 wrong-type: A value of the wrong type
    write the value as the field's type: a string, a whole number, true/false, a list or a mapping, as the
    tables of docs/ say
SC104 out-of-range: A number out of range
    give a number within the range the message names
SC105 missing: A required value is missing
    add the field or command the message names (the hint shows an example)
SC106 invalid-name: A name, host, path or environment the rules refuse
    use letters, digits, '_', '.' and '-' (names), a hostname or IP address (hosts), an absolute path
    (directories), on one line
SC107 invalid-choice: A value that is not one of the allowed ones
    use one of the values the message lists
SC108 conflict: Settings that do not go together
    change one of the settings the message names, as its hint says
SC201 unknown-cluster: Unknown cluster
    define the cluster in ~/.seamless/clusters.yaml or with a 'clusters' command, or fix the name (the message
    suggests the closest)
SC202 unknown-queue: Unknown queue
    name one of the cluster's queues, or define it under 'queues:'
SC203 no-frontend: No frontend offers the service
    add the service's section to a frontend of the cluster, or name a frontend that has it
SC204 nothing-selected: Nothing selected to act on
    select what the message names first (a cluster, a queue), in the files or on the command line
SC205 batch-offer: A queue asks for what its batch system does not offer
    name a partition (SLURM) or property (OAR) the batch system lists, and ask for no more walltime, cores or
    memory than its nodes allow (the message says what it offers)
SC301 check: A warning of seamless-config check
    nothing stops a load; the hint says how to make the warning go
SC302 purged-storage: Storage where OAR deletes files when a job ends
    move 'bufferdir' and 'database_dir' out of /tmp, /dev/shm and /var/tmp
"""


def _diagnostics(table: str) -> tuple[Diagnostic, ...]:
    rows: list[tuple[str, str, str, list[str]]] = []
    for line in table.splitlines():
        if line.startswith(" "):
            rows[-1][3].append(line.strip())
        else:
            code, kind_title = line.split(" ", 1)
            kind, title = kind_title.split(": ", 1)
            rows.append((kind, code, title, []))
    return tuple(Diagnostic(kind, code, title, " ".join(fix)) for kind, code, title, fix in rows)


#: every kind, in code order (each also a name of this module: its kind in capitals)
DIAGNOSTICS = _diagnostics(_TABLE)
(UNREADABLE, YAML, UNKNOWN_COMMAND, UNKNOWN_FIELD, WRONG_TYPE, OUT_OF_RANGE, MISSING, INVALID_NAME, INVALID_CHOICE,
 CONFLICT, UNKNOWN_CLUSTER, UNKNOWN_QUEUE, NO_FRONTEND, NOTHING_SELECTED, BATCH_OFFER, CHECK, PURGED_STORAGE) = DIAGNOSTICS
BY_KIND = {d.kind: d for d in DIAGNOSTICS}
KINDS = tuple(BY_KIND)


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
    return UNKNOWN_CLUSTER(f"unknown cluster {name!r}", origin, hint)


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
