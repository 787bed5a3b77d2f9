"""``import httpx`` without its command-line tool.

httpx's package imports its CLI module, which pulls in click, rich and pygments
when they are installed: about 80 ms, a third of a warm ``seamless-init``.
This process never runs httpx's CLI, so that module is replaced by a stub
before httpx is imported (only when httpx is not imported yet).
"""

from __future__ import annotations

import sys
import types

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _stub = types.ModuleType("httpx._main")

    def _no_cli(*args: object, **kwargs: object) -> None:
        raise RuntimeError("httpx's command line is not available in this process")

    _stub.main = _no_cli  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _stub

import httpx  # noqa: E402

__all__ = ["httpx"]
