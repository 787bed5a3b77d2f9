"""The command lines' argument parser: argparse, with a mistake's exit code 2 (:data:`._common.EXIT_USAGE`).

Apart from :mod:`._common` so that a command whose plain command line is read
without argparse (a warm ``seamless-init``, :func:`._common.quick_args`) does
not import it.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ._common import EXIT_USAGE


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")
