"""TLS failures keep OpenSSL's reason; --insecure warns once (real handshakes on loopback)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from osticket_client import ConnectError, InsecureTransportWarning, OsTicket

TLS = Path(__file__).parent / "tls"
CA = str(TLS / "ca.pem")
Serve = Callable[[str], str]


class _Cron(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"Completed")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the failed handshakes are the point


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[ThreadingHTTPServer] = []

    def start(certificate: str) -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS / certificate)
        server = _QuietServer(("127.0.0.1", 0), _Cron)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _cron_error(url: str, verify: bool | str) -> str:
    with OsTicket(url, api_key="A" * 32, verify=verify) as desk, pytest.raises(ConnectError) as e:
        desk.run_cron()
    return str(e.value)


def test_a_host_name_mismatch_is_not_called_untrusted(serve: Serve) -> None:
    message = _cron_error(serve("other-test.pem"), CA)
    assert "not valid for this host name" in message
    assert "IP address mismatch, certificate is not valid for '127.0.0.1'" in message
    assert "a CA bundle does not change this" in message and "not trusted" not in message


def test_an_untrusted_certificate_says_so_and_points_at_the_ca_bundle(serve: Serve) -> None:
    message = _cron_error(serve("other-test.pem"), True)
    assert "not trusted (" in message and "--ca-bundle" in message


def test_an_untrusted_certificate_with_a_bundle_names_the_bundle(serve: Serve) -> None:
    message = _cron_error(serve("other-test.pem"), str(TLS / "expired.pem"))
    assert "not trusted (" in message and "expired.pem' does not hold the CA" in message


def test_an_expired_certificate_says_expired(serve: Serve) -> None:
    message = _cron_error(serve("expired.pem"), CA)
    assert "out of its validity period (certificate has expired)" in message


def test_plain_http_to_a_tls_port_is_not_a_certificate_problem(serve: Serve) -> None:
    url = serve("expired.pem").replace("https://", "http://")
    with OsTicket(url, api_key="A" * 32) as desk, pytest.raises(Exception) as caught:
        desk.run_cron()
    assert "certificate" not in str(caught.value)


def test_insecure_warns_once_however_many_requests(serve: Serve) -> None:
    url = serve("expired.pem")
    # filterwarnings = error: a urllib3 InsecureRequestWarning would fail the calls below.
    with pytest.warns(InsecureTransportWarning) as caught:
        desk = OsTicket(url, api_key="A" * 32, verify=False)
    with desk:
        for _ in range(3):
            desk.run_cron()
    assert len(caught) == 1
