"""What every seamless-config command line shares: error rendering and exit codes."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any


EXIT_USAGE = 2  # a user mistake: bad arguments or bad configuration


def run(prog: str, body: Callable[[], int]) -> int:
    """Run a command body; configuration mistakes become one line on stderr and exit code 2."""
    from seamless_config.errors import ConfigurationError

    try:
        return body()
    except ConfigurationError as exc:
        for line in str(exc).splitlines() or [""]:
            print(f"{prog}: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        import errno

        from effects.statefiles import StateError

        if not isinstance(exc, StateError):
            raise
        # the launcher's state directory cannot be used: its variable is a mistake (2), the disk not (1)
        text = str(exc).splitlines()[0] if str(exc) else repr(exc)
        print(f"{prog}: {text}", file=sys.stderr)
        return EXIT_USAGE if exc.errno == errno.EINVAL else 1


def option(*flags: str, help: str = "", metavar: str | None = None, choices: Sequence[str] | None = None,
           required: bool = False, default: str | None = None, switch: bool = False,
           exclusive: bool = False) -> dict[str, Any]:
    """One command-line option, as data: argparse is built from it (:func:`._parser.add_options`) and
    so is the quick reading of a plain command line (:func:`quick_args`). ``exclusive``: at most one
    of a command's exclusive options may be given."""
    return {"flags": flags, "dest": flags[0].lstrip("-").replace("-", "_"), "help": help, "metavar": metavar,
            "choices": tuple(choices) if choices is not None else None, "required": required,
            "default": default, "switch": switch, "exclusive": exclusive}


class _Args:
    """The options read by :func:`quick_args`, as argparse's namespace has them (not
    ``types.SimpleNamespace``: the ``types`` module would cost a warm command its import)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def quick_args(argv: Sequence[str], options: Sequence[dict[str, Any]]) -> Any:
    """``argv`` read without argparse (which costs a warm command about 10 ms), when it is plain: only
    ``options`` (:func:`option`), each at most once, written ``--flag VALUE``, ``--flag=VALUE`` or as
    a switch, every value among its choices, every required option there. ``None`` for anything
    else, which argparse then reads and explains.

    >>> opts = (option("--stage"), option("--mode", choices=("ro", "rw"), default="rw"),
    ...         option("--json", switch=True, exclusive=True), option("--quiet", "-q", switch=True, exclusive=True))
    >>> vars(quick_args(["--stage=a:b", "-q"], opts))
    {'stage': 'a:b', 'mode': 'rw', 'json': False, 'quiet': True}
    >>> [quick_args(a, opts) for a in (["--stage"], ["-h"], ["--json", "-q"], ["x"], ["--mode", "w"])]
    [None, None, None, None, None]
    """
    by_flag = {flag: o for o in options for flag in o["flags"]}
    values: dict[str, Any] = {o["dest"]: False if o["switch"] else o["default"] for o in options}
    given: set[str] = set()
    it = iter(argv)
    for token in it:
        flag, eq, inline = token.partition("=")
        o = by_flag.get(flag)
        if o is None or (eq and not flag.startswith("--")) or o["dest"] in given:
            return None
        given.add(o["dest"])
        if o["switch"]:
            if eq:
                return None
            values[o["dest"]] = True
            continue
        value = inline if eq else next(it, None)
        if value is None or (not eq and value.startswith("-")) or (o["choices"] and value not in o["choices"]):
            return None
        values[o["dest"]] = value
    if any(o["required"] and o["dest"] not in given for o in options):
        return None
    if sum(1 for o in options if o["exclusive"] and o["dest"] in given) > 1:
        return None
    return _Args(values)


def read_args(argv: Sequence[str] | None, options: Sequence[dict[str, Any]], build_parser: Callable[[], Any]) -> Any:
    """A command's arguments: read by :func:`quick_args` when the command line is plain, else by the
    argparse parser ``build_parser()`` makes (which also explains a mistake, or prints the help)."""
    args = quick_args(sys.argv[1:] if argv is None else argv, options)
    return args if args is not None else build_parser().parse_args(argv)


def split_stage(value: str | None) -> tuple[str | None, str | None]:
    """``STAGE[:SUBSTAGE]`` into its parts.

    >>> split_stage("prod:gpu"), split_stage("prod"), split_stage(None)
    (('prod', 'gpu'), ('prod', None), (None, None))
    """
    if value is None:
        return None, None
    stage, _, substage = value.partition(":")
    if not stage:
        from seamless_config.errors import ConfigurationError

        raise ConfigurationError(f"--stage {value!r}: the stage name is empty (write STAGE or STAGE:SUBSTAGE)")
    # a stage name becomes part of storage paths and service keys: the rules of names in files apply
    # (checked with the standard library alone: a warm seamless-init --stage loads nothing more)
    from seamless_config.core.names import check_name

    for kind, name in (("stage", stage), ("substage", substage)):
        error = check_name(kind, name, None) if name else None
        if error is not None:
            from seamless_config.session import check

            check(error)
    return stage, substage or None
