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
import sys
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


def status(host: str, port: int, path: str, timeout: float) -> int | None:
    """The HTTP status code the server at ``host:port`` gives for ``GET /path``, or ``None``
    when nothing answers in ``timeout`` seconds (refused, reset, silent, not HTTP)."""
    deadline = time.monotonic() + timeout
    request = (
        f"GET /{path.lstrip('/')} HTTP/1.1\r\nHost: {url_host(host)}:{port}\r\n"
        "User-Agent: seamless-config\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "strict")
    try:
        # bytes: a str host makes the socket module load the idna codec (~3 ms) for an ASCII name
        sock = _connect(host.strip("[]").encode("ascii"), port, timeout)
        try:
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head and len(head) < 1024:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
                chunk = sock.recv(1024)
                if not chunk:
                    break
                head += chunk
        finally:
            sock.close()
    except (OSError, UnicodeError, ValueError):
        return None
    line = head.split(b"\r\n", 1)[0]
    if not line.startswith(_STATUS_PREFIX):
        return None
    code = line[9:12]
    return int(code) if code.isdigit() else None


def answers(host: str, port: int, path: str, timeout: float) -> bool:
    """Whether the server answers at all without a server error (any status below 500)."""
    code = status(host, port, path, timeout)
    return code is not None and code < 500


def all_answer(targets: list[tuple[str, int, str]], timeout: float,
               meanwhile: Callable[[], object] | None = None) -> bool:
    """Whether every ``(host, port, path)`` :func:`answers`, asked at once (one thread each): a warm
    ``init()`` waits for the slowest service, not for the sum of them. ``meanwhile`` runs in this
    thread while the answers are on their way (the imports that come next). A process that has not
    loaded :mod:`threading` (the warm ``seamless-init``) asks one by one: the import would cost it
    more than the wait."""
    if meanwhile is None and (len(targets) <= 1 or "threading" not in sys.modules):
        return all(answers(*t, timeout) for t in targets)
    import threading

    results = [False] * len(targets)

    def ask(i: int) -> None:
        results[i] = answers(*targets[i], timeout)

    threads = [threading.Thread(target=ask, args=(i,), daemon=True) for i in range(len(targets))]
    for t in threads:
        t.start()
    if meanwhile is not None:
        meanwhile()
    for t in threads:
        t.join()
    return all(results)
