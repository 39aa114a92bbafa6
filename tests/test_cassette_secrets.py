"""No cassette holds a secret: keys, passwords, session cookies, CSRF tokens, signed links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
import yaml

from tests.recording import (
    CASSETTES,
    DESK_CREDENTIALS,
    SECRET_FIELDS,
    SECRET_HEADERS,
    SECRET_NAMES,
    Scrubber,
)

CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))
PLACEHOLDER = re.compile(r"[A-Z-]+-\d+")
COOKIE = re.compile(r"OSTSESSID=([^;,\s]+)")
SIGNED = re.compile(r"[?&](?:amp;)?(?:signature|key)=([^&\"'\s]+)")
# Webhook URLs (Slack, Teams connectors and Workflows, or the tests' loopback receivers):
# notifications are never recorded.
WEBHOOK = re.compile(
    r"hooks\.slack\.com/|webhook\.office\.com/|logic\.azure\.com[^\s\"']*sig=|localhost:\d+/hook/"
)
CSRF_IN_PAGE = re.compile(r'(?:name="__CSRFToken__"\s+value|name="csrf_token" content)="([^"]*)"')


def test_there_are_cassettes() -> None:
    assert len(CASSETTE_FILES) >= 15


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    if isinstance(node, bytes):
        return [node.decode("utf-8", errors="replace")]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: p.name)
def test_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    strings = _strings(data)
    for name in SECRET_NAMES:
        value = DESK_CREDENTIALS[name]
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            assert all(form not in s for s in strings), f"{path.name} holds {name}"
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        for header, values in request["headers"].items():
            for value in values:
                if header.lower() in SECRET_HEADERS:
                    assert PLACEHOLDER.fullmatch(value), f"{path.name}: {header} not scrubbed"
                if header.lower() == "cookie":
                    for cookie in COOKIE.findall(value):
                        assert PLACEHOLDER.fullmatch(cookie), f"{path.name}: cookie not scrubbed"
        body = request.get("body") or ""
        body = body.decode() if isinstance(body, bytes) else body
        if "=" in body and not body.startswith("{"):
            for key, value in parse_qsl(body, keep_blank_values=True):
                if key in SECRET_FIELDS and value:
                    assert PLACEHOLDER.fullmatch(value), f"{path.name}: form field {key}"
        for value in response["headers"].get("Set-Cookie", []):
            for cookie in COOKIE.findall(value):
                assert PLACEHOLDER.fullmatch(cookie) or cookie == "deleted", path.name
        for s in _strings(response["body"]):
            for found in CSRF_IN_PAGE.findall(s) + SIGNED.findall(s):
                assert PLACEHOLDER.fullmatch(found), f"{path.name}: token in a page"
        assert "127.0.0.1" not in request["uri"], f"{path.name}: host not rewritten"
    assert not WEBHOOK.search(text), f"{path.name}: holds a webhook URL"


def test_scrubber_gives_one_placeholder_per_distinct_value() -> None:
    scrubber = Scrubber(hosts={"http://127.0.0.1:8080": "http://desk.test"})
    first = scrubber.learn("key-one-value", "API-KEY")
    again = scrubber.learn("key-one-value", "API-KEY")
    second = scrubber.learn("key-two-value", "API-KEY")
    assert (first, again, second) == ("API-KEY-1", "API-KEY-1", "API-KEY-2")
    scrubber.learn_form("userid=ada&passwd=S3cret%21pass&__CSRFToken__=abc123def")
    text = scrubber.apply(
        "http://127.0.0.1:8080/scp/login.php passwd=S3cret%21pass token abc123def S3cret!pass"
    )
    assert text == "http://desk.test/scp/login.php passwd=PASSWORD-1 token CSRF-1 PASSWORD-1"
