"""A webhook receiver on a loopback port (`http.server` in a thread), for notification tests.

It reads each request whole, keeps its body, then answers as `mode` says: "ok" (200), "500",
"429" (Retry-After: 3600) or "hang" (answers 1.5 s late: a client's read timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

__all__ = ["Receiver", "receiving"]


class Receiver(BaseHTTPRequestHandler):
    mode: ClassVar[str] = "ok"
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(self.rfile.read(length))
        if self.mode == "hang":
            threading.Event().wait(1.5)  # read the request, answer too late
            return
        status = {"ok": 200, "500": 500, "429": 429}[self.mode]
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "3600")
        body = b"internal error" if status == 500 else b"ok"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def receiving() -> Iterator[tuple[int, type[Receiver]]]:
    """A receiver of its own (port, handler class whose `bodies` and `mode` the test reads)."""
    handler: type[Receiver] = type("Handler", (Receiver,), {"bodies": [], "mode": "ok"})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()
