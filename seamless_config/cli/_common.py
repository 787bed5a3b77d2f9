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
        print(f"{prog}: {str(exc).splitlines()[0] if str(exc) else exc!r}", file=sys.stderr)
        return EXIT_USAGE if exc.errno == errno.EINVAL else 1


def quick_args(argv: Sequence[str], options: Sequence[tuple[tuple[str, ...], str, str | None, str]],
               exclusive: Sequence[str] = ()) -> Any:
    """``argv`` read without argparse (which costs a warm command about 10 ms), when it holds only
    ``options`` (flags, destination, metavar or ``None`` for a switch, help), each at most once and
    written ``--flag VALUE``, ``--flag=VALUE`` or as a switch; ``None`` for anything else, which
    argparse then reads and explains.

    >>> opts = ((("--stage",), "stage", "S", ""), (("--json",), "json", None, ""), (("-q",), "quiet", None, ""))
    >>> vars(quick_args(["--stage=a:b", "-q"], opts))
    {'stage': 'a:b', 'json': False, 'quiet': True}
    >>> [quick_args(a, opts, ("json", "quiet")) for a in (["--stage"], ["-h"], ["--json", "-q"], ["x"])]
    [None, None, None, None]
    """
    import types

    by_flag = {flag: (dest, metavar) for flags, dest, metavar, _ in options for flag in flags}
    values: dict[str, Any] = {dest: None if metavar is not None else False for _, dest, metavar, _ in options}
    given: set[str] = set()
    it = iter(argv)
    for token in it:
        flag, eq, inline = token.partition("=")
        if flag not in by_flag or (eq and not flag.startswith("--")):
            return None
        dest, metavar = by_flag[flag]
        if dest in given:
            return None
        given.add(dest)
        if metavar is None:
            if eq:
                return None
            values[dest] = True
            continue
        value = inline if eq else next(it, None)
        if value is None or (not eq and value.startswith("-")):
            return None
        values[dest] = value
    if sum(1 for d in exclusive if d in given) > 1:
        return None
    return types.SimpleNamespace(**values)


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
