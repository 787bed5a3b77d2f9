"""The command lines' argument parser: argparse, with a mistake's exit code 2 (:data:`._common.EXIT_USAGE`).

Apart from :mod:`._common` so that a command whose plain command line is read
without argparse (a warm ``seamless-init``, :func:`._common.quick_args`) does
not import it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ._common import EXIT_USAGE


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def add_options(parser: argparse.ArgumentParser, options: Sequence[dict[str, Any]]) -> None:
    """Add ``options`` (:func:`._common.option`) to ``parser``; the exclusive ones in one group."""
    group = None
    for o in options:
        target: Any = parser
        if o["exclusive"]:
            group = group or parser.add_mutually_exclusive_group()
            target = group
        if o["switch"]:
            target.add_argument(*o["flags"], dest=o["dest"], action="store_true", help=o["help"])
        else:
            target.add_argument(*o["flags"], dest=o["dest"], metavar=o["metavar"], choices=o["choices"],
                                required=o["required"], default=o["default"], help=o["help"])
