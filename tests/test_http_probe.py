"""The health-check probe against real sockets on loopback: servers that answer, fail, stay
silent, close at once, or speak something other than HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from _http import http_server as serve

from effects import http_probe
from seamless_config.core.clients import url_host


def raw_server(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    stop = threading.Event()

    def serve() -> None:
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            with conn:
                behaviour(conn)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield lsock.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        lsock.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    yield from raw_server(lambda conn: time.sleep(1.5))


@pytest.fixture
def closing_server() -> Iterator[int]:
    yield from raw_server(lambda conn: None)


@pytest.fixture
def not_http_server() -> Iterator[int]:
    yield from raw_server(lambda conn: conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_codes_and_request() -> None:
    with serve({"/healthcheck": 200, "/broken": 503, "/missing": 404}) as (port, seen):
        assert http_probe.status("127.0.0.1", port, "healthcheck", 5) == 200
        assert http_probe.status("127.0.0.1", port, "/broken", 5) == 503
        assert http_probe.answers("127.0.0.1", port, "healthcheck", 5)
        assert http_probe.answers("127.0.0.1", port, "missing", 5), "any answer below 500 means it is up"
        assert not http_probe.answers("127.0.0.1", port, "broken", 5)
        assert seen[0] == ("/healthcheck", f"127.0.0.1:{port}")


def test_nothing_listening() -> None:
    t0 = time.monotonic()
    assert http_probe.status("127.0.0.1", free_port(), "healthcheck", 5) is None
    assert time.monotonic() - t0 < 1


def test_silent_server_gives_up_at_the_timeout(silent_server: int) -> None:
    t0 = time.monotonic()
    assert http_probe.status("127.0.0.1", silent_server, "healthcheck", 0.3) is None
    assert 0.25 < time.monotonic() - t0 < 1.2


def test_connection_closed_without_answer(closing_server: int) -> None:
    assert http_probe.status("127.0.0.1", closing_server, "healthcheck", 2) is None


def test_not_http(not_http_server: int) -> None:
    assert http_probe.status("127.0.0.1", not_http_server, "healthcheck", 2) is None


def test_ipv6_loopback_host_header() -> None:
    """The probe's Host header (and every URL and SSH forward) brackets an IPv6 address once."""
    assert url_host("::1") == "[::1]"
    assert url_host("[::1]") == "[::1]"
    assert url_host("localhost") == "localhost"


def _barrier_servers(n: int) -> Iterator[list[int]]:
    """``n`` servers that each answer only once all ``n`` have a connection: a prober that asks
    them one at a time gets no answer from the first before its timeout."""
    barrier = threading.Barrier(n, timeout=5)

    def answer(conn: socket.socket) -> None:
        conn.recv(1024)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    gens = [raw_server(answer) for _ in range(n)]
    ports = [next(g) for g in gens]
    try:
        yield ports
    finally:
        barrier.abort()
        for g in gens:
            next(g, None)


def test_all_answer_asks_every_service_at_once() -> None:
    for ports in _barrier_servers(3):
        targets = [("127.0.0.1", p, "/healthcheck") for p in ports]
        assert http_probe.all_answer(targets, timeout=3)


def test_all_answer_is_false_when_one_does_not_answer(silent_server: int) -> None:
    with serve({"/": 200}) as (one, _), serve({"/": 200}) as (two, _):
        assert http_probe.all_answer([("127.0.0.1", one, "/"), ("127.0.0.1", two, "/")], timeout=2)
        targets = [("127.0.0.1", one, "/"), ("127.0.0.1", silent_server, "/"), ("127.0.0.1", two, "/")]
        assert not http_probe.all_answer(targets, timeout=0.5)


def test_all_answer_runs_meanwhile_while_the_answers_are_on_their_way() -> None:
    """The servers answer only once ``meanwhile`` has run: a prober that waited for the answers
    first would time out."""
    ran = threading.Event()

    def answer(conn: socket.socket) -> None:
        conn.recv(1024)
        if ran.wait(timeout=5):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    gens = [raw_server(answer) for _ in range(2)]
    targets = [("127.0.0.1", next(g), "/healthcheck") for g in gens]
    try:
        assert http_probe.all_answer(targets, timeout=3, meanwhile=ran.set)
        ran.clear()
        assert http_probe.all_answer(targets[:1], timeout=3, meanwhile=ran.set)  # one service: the same
    finally:
        ran.set()
        for g in gens:
            next(g, None)
