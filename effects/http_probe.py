"""The health check: does an HTTP server answer on ``host:port``?

One ``GET`` over a fresh TCP connection, HTTP/1.1 with ``Connection: close``,
reading only the status line. The services this project checks are plain HTTP
on loopback or through a tunnel, so no TLS, proxies, redirects or pooling are
needed. The interpreter's own socket module (``_socket``, which ``socket`` wraps
in enums and selectors that cost a warm ``seamless-init`` a few milliseconds)
does it with no import cost, where an HTTP client library costs a new
``seamless-init`` process about 150 ms (import plus its first client) for three
requests.
"""

from __future__ import annotations

import _socket
import time

from seamless_config.core.clients import url_host

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from collections.abc import Callable

_STATUS_PREFIX = (b"HTTP/1.0 ", b"HTTP/1.1 ")


def _connect(host: bytes, port: int, timeout: float) -> _socket.socket:
    """A TCP connection to the first address of ``host`` that accepts one (as ``socket.create_connection``)."""
    error: OSError | None = None
    for family, kind, proto, _name, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"no address for {host!r}")


def _ask(host: str, port: int, path: str, timeout: float) -> _socket.socket:
    """A connection to ``host:port`` with ``GET /path`` sent on it (``OSError`` when it cannot be made)."""
    request = (
        f"GET /{path.lstrip('/')} HTTP/1.1\r\nHost: {url_host(host)}:{port}\r\n"
        "User-Agent: seamless-config\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "strict")
    # bytes: a str host makes the socket module load the idna codec (~3 ms) for an ASCII name
    sock = _connect(host.strip("[]").encode("ascii"), port, timeout)
    try:
        sock.sendall(request)
    except OSError:
        sock.close()
        raise
    return sock


def _status_of(sock: _socket.socket, deadline: float) -> int | None:
    """The status code of the answer on ``sock`` (closed afterwards), or ``None`` (no answer by
    ``deadline``, or not HTTP)."""
    head = b""
    try:
        while b"\r\n" not in head and len(head) < 1024:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            chunk = sock.recv(1024)
            if not chunk:
                break
            head += chunk
    except OSError:
        return None
    finally:
        sock.close()
    line = head.split(b"\r\n", 1)[0]
    if not line.startswith(_STATUS_PREFIX):
        return None
    code = line[9:12]
    return int(code) if code.isdigit() else None


def status(host: str, port: int, path: str, timeout: float) -> int | None:
    """The HTTP status code the server at ``host:port`` gives for ``GET /path``, or ``None``
    when nothing answers in ``timeout`` seconds (refused, reset, silent, not HTTP)."""
    deadline = time.monotonic() + timeout
    try:
        sock = _ask(host, port, path, timeout)
    except (OSError, UnicodeError, ValueError):
        return None
    return _status_of(sock, deadline)


def answers(host: str, port: int, path: str, timeout: float) -> bool:
    """Whether the server answers at all without a server error (any status below 500)."""
    code = status(host, port, path, timeout)
    return code is not None and code < 500


def all_answer(targets: list[tuple[str, int, str]], timeout: float,
               meanwhile: Callable[[], object] | None = None) -> bool:
    """Whether every ``(host, port, path)`` :func:`answers`, asked at once: every request is sent
    before any answer is read, so a warm ``init()`` waits for the slowest service, not for the sum
    of them. ``meanwhile`` runs after the requests are sent, while the answers are on their way
    (the imports and connections that come next). No threads: a thread waiting for its answer
    would wait for the interpreter lock too, as long as ``meanwhile`` holds it (up to 5 ms)."""
    deadline = time.monotonic() + timeout
    asked: list[_socket.socket] = []
    try:
        for host, port, path in targets:
            asked.append(_ask(host, port, path, max(deadline - time.monotonic(), 0.001)))
    except (OSError, UnicodeError, ValueError):
        for sock in asked:
            sock.close()
        return False
    if meanwhile is not None:
        meanwhile()
    codes = [_status_of(sock, deadline) for sock in asked]
    return all(code is not None and code < 500 for code in codes)
