"""A real HTTP server on loopback for the tests of health checks: fixed status codes per path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def http_server(codes: dict[str, int], default: int = 404) -> Iterator[tuple[int, list[tuple[str, str | None]]]]:
    """Serve ``GET path`` with ``codes[path]`` (else ``default``) on 127.0.0.1; yields the port and
    the ``(path, Host header)`` of each request received."""
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append((self.path, self.headers.get("Host")))
            self.send_response(codes.get(self.path, default))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
