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


@pytest.fixture
def no_extern_clients() -> Iterator[None]:
    """seamless-remote's extern client registries, empty for the test and restored after it."""
    from seamless_remote import buffer_remote, database_remote

    saved = [(m, dict(m._extern_clients)) for m in (buffer_remote, database_remote)]
    for m, _ in saved:
        m._extern_clients.clear()
    try:
        yield
    finally:
        runtime.deactivate()
        for m, registry in saved:
            m._extern_clients.clear()
            m._extern_clients.update(registry)


LAUNCHED = {
    "buffer": [{"readonly": False, "url": "http://127.0.0.1:9", "remote_url": "http://fe:9",
                "directory": None, "remote_directory": "/cluster/buffers/p"}],
    "database": [{"readonly": False, "url": "http://127.0.0.1:8", "remote_url": "http://fe:8",
                  "directory": None, "remote_directory": None}],
}


def test_collect_reports_extern_clients_of_any_origin_and_launched_ones_of_the_cluster(
        no_extern_clients: None, tmp_path) -> None:
    from seamless_remote import buffer_remote

    import seamless_config

    assert seamless_config.collect_remote_clients("c") == {"database": [], "buffer": []}
    # a buffer folder the user's own code defined: a worker must get it too
    buffer_remote.define_extern_client("mine", "bufferfolder", directory=str(tmp_path))
    assert seamless_config.collect_remote_clients("c") == {
        "database": [], "buffer": [{"readonly": True, "directory": str(tmp_path)}]}
    runtime.connect_clients(LAUNCHED, in_remote=False, launched_for="c")
    got = seamless_config.collect_remote_clients("c")
    assert got["buffer"] == [
        {"readonly": True, "directory": str(tmp_path)},
        {"readonly": False, "url": "http://127.0.0.1:9", "remote_url": "http://fe:9",
         "remote_directory": "/cluster/buffers/p"},
    ]
    assert got["database"] == [{"readonly": False, "url": "http://127.0.0.1:8", "remote_url": "http://fe:8"}]
    # another cluster's workers get the extern clients only
    assert seamless_config.collect_remote_clients("other") == {
        "database": [], "buffer": [{"readonly": True, "directory": str(tmp_path)}]}
    # after deactivation the launched clients are gone, the user's stay
    runtime.deactivate()
    assert seamless_config.collect_remote_clients("c")["buffer"] == [{"readonly": True, "directory": str(tmp_path)}]


def test_forwarded_clients_are_defined_as_the_reference_defines_them(no_extern_clients: None, monkeypatch) -> None:
    """A worker handed its parent's clients: database first, a read-only folder client and a
    writable server client per buffer entry, named as 0.3.2 names them."""
    from seamless_remote import buffer_remote, database_remote

    calls: list[tuple] = []
    monkeypatch.setattr(database_remote, "define_extern_client", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(buffer_remote, "define_extern_client", lambda *a, **k: calls.append((a, k)))
    for m in (buffer_remote, database_remote):
        monkeypatch.setattr(m, "DISABLED", True)  # activate() would look the recorded names up
    monkeypatch.setenv("HOME", "/home/w")
    runtime.connect_clients(LAUNCHED, in_remote=True)
    assert calls == [
        (("extern-db-0", "database"), {"url": "http://fe:8", "readonly": False}),
        (("extern-buffer-0-folder", "bufferfolder"), {"directory": "/cluster/buffers/p", "readonly": True}),
        (("extern-buffer-0-server", "hashserver"), {"url": "http://fe:9", "readonly": False}),
    ]
