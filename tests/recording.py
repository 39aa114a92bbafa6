"""Cassettes: replay by default, record against a disposable desk on request.

Recording (see cassettes/README.md)::

    OSTICKET_RECORD_DISPOSABLE=1 OSTICKET_RECORD_URL=http://127.0.0.1:8080/ \
        pytest --record tests/test_cassettes_api.py

Optional: ``OSTICKET_RECORD_URL_V117`` (a v1.17.2 desk, for the older error shapes) and
``OSTICKET_RECORD_URL_NOREWRITE`` (the same desk served without URL rewriting).

At record time every secret is replaced, by code, with a stable placeholder (one per distinct
value, e.g. ``API-KEY-1``), and the desk's address with ``http://desk.test``. Replay never
touches the network: a request with no recorded twin fails the test.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

import vcr
from vcr.persisters.filesystem import FilesystemPersister

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
REPLAY_URL = "http://desk.test/"

# The public test values of the ready recording desk (shared/osticket/DESK.md). They exist only
# on throwaway loopback desks; each can be overridden with OSTICKET_RECORD_<NAME>.
DESK_CREDENTIALS = {
    "api_key": "4179450186167F07E7A999CA4D8F3555",
    "key_bound_elsewhere": "AAAABBBBCCCCDDDDEEEEFFFF00001111",
    "disabled_key": "AAAABBBBCCCCDDDDEEEEFFFF00002222",
    "key_without_rights": "AAAABBBBCCCCDDDDEEEEFFFF00003333",
    "admin_username": "ostadmin",
    "admin_password": "Adm1n-Passw0rd!",
    "viewer_username": "viewer",
    "viewer_password": "View-Only-Pass1!",
    "limited_username": "limited",
    "limited_password": "Limited-Pass1!",
    "automation_username": "auto.bot",
    "automation_password": "Auto-Bot-Pass1!",
}
SECRET_NAMES = tuple(k for k in DESK_CREDENTIALS if not k.endswith("_username"))

# Form fields and headers whose values are secrets, and the placeholder family of each.
SECRET_FIELDS = {
    "passwd": "PASSWORD",
    "passwd1": "PASSWORD",
    "passwd2": "PASSWORD",
    "__CSRFToken__": "CSRF",
    "lockCode": "LOCK",
}
SECRET_HEADERS = {"x-api-key": "API-KEY", "x-csrftoken": "CSRF"}
# Secrets the desk hands out inside pages: CSRF tokens and signed file links.
_LEARN_IN_BODIES = (
    (re.compile(r'name="__CSRFToken__"\s+value="([^"]+)"'), "CSRF"),
    (re.compile(r'<meta name="csrf_token" content="([^"]+)"'), "CSRF"),
    (re.compile(r"[?&](?:amp;)?signature=([A-Za-z0-9_\-%.]+)"), "SIGNATURE"),
    (re.compile(r"file\.php\?(?:amp;)?key=([A-Za-z0-9_\-%.]+)"), "FILE-KEY"),
    (re.compile(r'"code"\s*:\s*"([^"]+)"'), "LOCK"),
)


@dataclass
class RecordConfig:
    """Where and with what to record; read once from OSTICKET_RECORD_* at session start."""

    urls: dict[str, str]
    credentials: dict[str, str]


def read_record_config(environ: Mapping[str, str]) -> RecordConfig:
    """The recording settings, refusing unless the desk is declared disposable."""
    if environ.get("OSTICKET_RECORD_DISPOSABLE") != "1":
        raise SystemExit(
            "refusing to record: it creates real tickets. Point OSTICKET_RECORD_URL at a"
            " disposable desk and set OSTICKET_RECORD_DISPOSABLE=1"
        )
    url = environ.get("OSTICKET_RECORD_URL")
    if not url:
        raise SystemExit("recording needs OSTICKET_RECORD_URL (the disposable desk's base URL)")
    credentials = {
        name: environ.get(f"OSTICKET_RECORD_{name.upper()}", default)
        for name, default in DESK_CREDENTIALS.items()
    }
    urls = {"v118": url}
    for desk in ("v117", "norewrite"):
        if environ.get(f"OSTICKET_RECORD_URL_{desk.upper()}"):
            urls[desk] = environ[f"OSTICKET_RECORD_URL_{desk.upper()}"]
    return RecordConfig(urls, credentials)


@dataclass
class Scrubber:
    """Replaces secrets with stable placeholders, one per distinct value."""

    known: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)

    def learn(self, value: str, family: str) -> str:
        if not value or value in self.known:
            return self.known.get(value, value)
        if re.fullmatch(r"[A-Z-]+-\d+", value):  # already a placeholder
            return value
        self.counters[family] = self.counters.get(family, 0) + 1
        self.known[value] = f"{family}-{self.counters[family]}"
        return self.known[value]

    def learn_form(self, body: str) -> None:
        for key, value in parse_qsl(body, keep_blank_values=True):
            family = SECRET_FIELDS.get(key)
            if family:
                self.learn(value, family)

    def learn_json(self, body: str) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        for key, family in SECRET_FIELDS.items():
            if isinstance(data, dict) and isinstance(data.get(key), str):
                self.learn(data[key], family)

    def learn_cookies(self, header: str) -> None:
        for name, value in re.findall(r"(?:^|[;,]\s*)([A-Za-z0-9_]+)=([^;,\s]+)", header):
            if name.lower() not in ("path", "expires", "domain", "max-age", "samesite"):
                self.learn(value, "SESSION")

    def learn_page(self, text: str) -> None:
        for pattern, family in _LEARN_IN_BODIES:
            for value in pattern.findall(text):
                self.learn(value, family)

    def apply(self, text: str) -> str:
        for host, placeholder in self.hosts.items():
            text = text.replace(host, placeholder)
            text = text.replace(quote(host, safe=""), quote(placeholder, safe=""))
        for value in sorted(self.known, key=len, reverse=True):
            placeholder = self.known[value]
            for form in {value, quote_plus(value), quote(value, safe="")}:
                text = text.replace(form, placeholder)
        return text


def _text(body: Any) -> str | None:
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return body if isinstance(body, str) else None


def scrub_cassette(cassette: dict[str, Any], scrubber: Scrubber) -> None:
    """Learn every secret in the interactions, then replace them all, in place."""
    requests, responses = cassette["requests"], cassette["responses"]
    for request, response in zip(requests, responses, strict=True):
        for name, value in request.headers.items():
            if name.lower() in SECRET_HEADERS:
                scrubber.learn(value, SECRET_HEADERS[name.lower()])
            elif name.lower() == "cookie":
                scrubber.learn_cookies(value)
        body = _text(request.body)
        if body:
            scrubber.learn_form(body)
            scrubber.learn_json(body)
        for name, values in response["headers"].items():
            if name.lower() == "set-cookie":
                for value in values:
                    scrubber.learn_cookies(value)
        text = _text(response["body"]["string"])
        if text:
            scrubber.learn_page(text)
    for request, response in zip(requests, responses, strict=True):
        request.uri = scrubber.apply(request.uri)
        for name in list(request.headers):
            request.headers[name] = scrubber.apply(request.headers[name])
        body = _text(request.body)
        if body is not None:
            request.body = scrubber.apply(body).encode("utf-8")
        response["headers"] = {
            name: [scrubber.apply(v) for v in values]
            for name, values in response["headers"].items()
        }
        text = _text(response["body"]["string"])
        if text is not None:
            response["body"]["string"] = scrubber.apply(text)


class ScrubbingPersister:
    """Saves a cassette only after every secret in it has been replaced."""

    scrubber_factory: Any = Scrubber

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> Any:
        return FilesystemPersister.load_cassette(cassette_path, serializer)

    @classmethod
    def save_cassette(
        cls, cassette_path: str, cassette_dict: dict[str, Any], serializer: Any
    ) -> None:
        scrub_cassette(cassette_dict, cls.scrubber_factory())
        FilesystemPersister.save_cassette(cassette_path, cassette_dict, serializer)


# Secrets differ per recording, and so may the agent's username on another desk.
# `until`: the advanced search's "updated in the last N minutes" for a moment (search_tickets'
# updated_since) counts from the clock of the day it runs; the rows are then cut to the moment.
_IGNORED_FIELDS = frozenset(SECRET_FIELDS) | {"userid", "until"}


def _body_key(body: Any, content_type: str) -> Any:
    text = _text(body)
    if text is None:
        return body
    if "multipart/form-data" in content_type:
        # Boundaries are random: compare the parts' names and values without them.
        return sorted(re.findall(r'name="([^"]+)"\r?\n(?:[^\r\n]*\r?\n)*?\r?\n([^\r\n]*)', text))
    if re.match(r"From: .*\n", text) and "\nMessage-ID: " in text:
        # An e-mail for the API's e-mail endpoint: its Date and Message-ID differ every run.
        mail = email.message_from_string(text, policy=email.policy.default)
        return (mail["From"], mail["Subject"], mail.get_body().get_content())  # type: ignore[union-attr]
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if "=" in text and "\n" not in text:
        return sorted(
            (k, v) for k, v in parse_qsl(text, keep_blank_values=True) if k not in _IGNORED_FIELDS
        )
    return text


def body_matcher(r1: Any, r2: Any) -> None:
    """Bodies match as data: JSON parsed, forms without tokens and secrets, multipart unbounded."""
    ct1 = r1.headers.get("Content-Type", "") or ""
    ct2 = r2.headers.get("Content-Type", "") or ""
    assert _body_key(r1.body, ct1) == _body_key(r2.body, ct2)


def make_vcr(record: bool, record_hosts: Iterable[str] = ()) -> vcr.VCR:
    """A VCR that records (overwriting) or strictly replays."""

    hosts = {h.rstrip("/"): REPLAY_URL.rstrip("/") for h in record_hosts}

    class _Scrubber(Scrubber):
        def __init__(self) -> None:
            super().__init__(hosts=dict(hosts))

    class _Persister(ScrubbingPersister):
        scrubber_factory = _Scrubber

    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if record else "none",
        match_on=["method", "scheme", "host", "port", "path", "query", "body"],
        decode_compressed_response=True,
    )
    recorder.register_matcher("body", body_matcher)
    recorder.register_persister(_Persister)
    return recorder
