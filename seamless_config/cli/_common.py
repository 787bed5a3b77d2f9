"""What every seamless-config command line shares: error rendering and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_USAGE = 2  # a user mistake: bad arguments or bad configuration


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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
