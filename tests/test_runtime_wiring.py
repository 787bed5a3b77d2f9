"""Wiring the Seamless runtime: what the runtime does after ``connect_clients`` must not hang.

seamless-remote initializes an extern client on first use; its synchronous
initializer, when first reached from a coroutine on the runtime's event loop
(``buffer_writer.flush()`` before a jobserver submission), waits on that same
loop for ever. That hung a jobserver workflow whenever the buffer writer had not
used the client yet (seen under load). No traffic: nothing is queued, so the
clients' (unused, loopback) URLs are never contacted.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("seamless_remote", reason="the Seamless runtime (extra 'runtime') is not installed")

from effects import runtime  # noqa: E402

CLIENTS = {
    "buffer": [{"url": "http://127.0.0.1:9", "readonly": False}],
    "database": [{"url": "http://127.0.0.1:9", "readonly": False}],
}


@pytest.fixture
def connected() -> Iterator[None]:
    runtime.connect_clients(CLIENTS, in_remote=False)
    try:
        yield
    finally:
        runtime.deactivate()


def finishes(fn: Callable[[], Any], seconds: float = 20) -> bool:
    """Run ``fn`` as a coroutine's body on a fresh event loop in a daemon thread; whether it returned."""
    async def body() -> None:
        fn()

    t = threading.Thread(target=asyncio.run, args=(body(),), daemon=True)
    t.start()
    t.join(seconds)
    return not t.is_alive()


def test_flush_from_the_runtime_loop_returns(connected: None) -> None:
    from seamless.caching import buffer_writer

    assert finishes(buffer_writer.flush), "buffer_writer.flush() deadlocked on its event loop"


def test_connecting_from_a_coroutine_returns() -> None:
    """init() from a running event loop (a notebook) connects without blocking that loop."""
    try:
        assert finishes(lambda: runtime.connect_clients(CLIENTS, in_remote=False))
        from seamless.caching import buffer_writer

        assert finishes(buffer_writer.flush)
    finally:
        runtime.deactivate()
