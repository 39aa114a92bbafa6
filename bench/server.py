"""A fast local stand-in for an osTicket desk's HTTP surface, for the benchmarks only.

It answers like osTicket on the few routes the benchmarks drive (the API's ticket creation,
the staff-panel login, the ticket page by number, status search field and dialogs, the
status change, logout), over HTTP/1.1 keep-alive with buffered writes and Content-Length on
every answer.

Run as a process of its own (so its work does not share the benchmark's GIL):
``python bench/server.py --lifetime 600`` binds 127.0.0.1 on a free port, prints the port on
its first line, counts requests, and stops by itself after `--lifetime` seconds or as soon as
its standard input closes (the benchmark that started it ended, however it ended).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.test_pages import ticket_page  # noqa: E402

LOGIN_PAGE = (
    b'<html><body><form id="login" action="login.php" method="post">'
    b'<input type="hidden" name="__CSRFToken__" value="bench-token"/>'
    b'<input name="userid"/><input name="passwd" type="password"/></form></body></html>'
)
LOGGED_IN = json.dumps({"status": 302, "redirect": "index.php"}).encode()
# Ticket #123456 (internal id 7) as its page shows it.
TICKET_PAGE = ticket_page(number="123456", ticket_id=7).encode()
STATUS_FIELD = json.dumps(
    {
        "html": '<select name="status__id"><option value="1">Open</option>'
        '<option value="6">Work in Progress</option><option value="7">Pending</option>'
        '<option value="3">Closed</option></select>'
    }
).encode()
OPEN_DIALOG = (
    b'<form><select name="status_id"><option value="1">Open</option>'
    b'<option value="6">Work in Progress</option><option value="7">Pending</option>'
    b"</select></form>"
)
CLOSE_DIALOG = b'<form><select name="status_id"><option value="3">Closed</option></select></form>'
STATUS_DONE = json.dumps({"id": 7, "msg": "Successfully updated"}).encode()


class DeskHandler(BaseHTTPRequestHandler):
    """One connection's requests; every answer has a length, so the connection stays open."""

    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024  # buffered writes: headers and body leave in one send
    disable_nagle_algorithm = True
    server: DeskServer

    def log_message(self, format: str, *args: object) -> None:
        return  # silent: logging each request would dominate the timings

    def _answer(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/bench/requests":
            self.server.count()
        if path.endswith("/scp/login.php"):
            self._answer(200, LOGIN_PAGE)
        elif path.endswith("/scp/tickets.php") and "number=123456" in self.path:
            self._answer(200, TICKET_PAGE)
        elif path.endswith("/scp/ajax.php/tickets/search/field/status__id"):
            self._answer(200, STATUS_FIELD, "application/json")
        elif path.endswith("/scp/ajax.php/tickets/status/open"):
            self._answer(200, OPEN_DIALOG)
        elif path.endswith("/scp/ajax.php/tickets/status/close"):
            self._answer(200, CLOSE_DIALOG)
        elif path == "/bench/requests":
            self._answer(200, str(self.server.requests).encode(), "text/plain")
        elif path.endswith("/scp/logout.php"):
            self.send_response(302)
            self.send_header("Location", "login.php")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer(404, b"Not Found")

    def do_POST(self) -> None:
        self.server.count()
        self._read_body()
        path = self.path.split("?", 1)[0]
        if path.endswith("/api/tickets.json"):
            self._answer(201, b"123456", "text/plain")
        elif path.endswith("/scp/login.php"):
            self._answer(200, LOGGED_IN, "application/json")
        elif path.endswith("/scp/ajax.php/tickets/7/status"):
            self._answer(201, STATUS_DONE, "application/json")
        else:
            self._answer(404, b"Not Found")


class DeskServer(ThreadingHTTPServer):
    """The server, with a request counter."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), DeskHandler)
        self._lock = threading.Lock()
        self.requests = 0

    def count(self) -> None:
        with self._lock:
            self.requests += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetime", type=float, default=600.0, help="stop after this many s")
    args = parser.parse_args()
    server = DeskServer()
    print(server.server_address[1], flush=True)

    def stop_when_parent_goes() -> None:
        sys.stdin.read()  # returns at EOF: the benchmark closed the pipe or died
        server.shutdown()

    def stop_at_lifetime() -> None:
        time.sleep(args.lifetime)
        server.shutdown()

    threading.Thread(target=stop_when_parent_goes, daemon=True).start()
    threading.Thread(target=stop_at_lifetime, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
