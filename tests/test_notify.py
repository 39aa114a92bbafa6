"""Notifications: escaping per target, secrets, and how each answer of a receiver is classified.

`responses` fakes the answers; a loopback `http.server` in a thread gives the real-socket faults
(refused, a timeout after the request was read, 500, 429).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import responses

from automations._notify import (
    NotifierError,
    Sender,
    escape_for,
    notification_body,
    render_template,
    resolve_url,
)
from automations._rules import Notifier
from osticket_client._masking import mask
from tests.receiver import Receiver, receiving

URL = "https://hooks.slack.example/services/T0001/B0001/SeCrEtToKeN42"


def test_slack_escapes_mentions_and_links_in_ticket_text_only() -> None:
    text = render_template(
        "<https://desk/|open> {subject}", {"subject": "<!channel> ping <@U123> & <x|y>"}, "slack"
    )
    assert text == "<https://desk/|open> &lt;!channel&gt; ping &lt;@U123&gt; &amp; &lt;x|y&gt;"


def test_teams_escapes_markdown_date_functions_and_mentions() -> None:
    escaped = escape_for("teams", "**bold** [x](http://e) {{DATE(2026)}} @all\n- item\n 2. two")
    assert escaped == (
        "\\*\\*bold\\*\\* \\[x\\](http://e) {\u200b{DATE(2026)}} @\u200ball\n\\- item\n 2\\. two"
    )
    assert escape_for("teams", "v2.1 - ok!") == "v2.1 - ok!"  # marks count at a line's start


def test_json_body_keeps_ticket_text_exact() -> None:
    payload = {"schema": "osticket-client/event/v1", "id": "1:created", "kind": "created"}
    body = json.loads(notification_body("json", "{subject}", {"subject": "<b>&é"}, payload))
    assert body == {**payload, "text": "<b>&é"}


def test_teams_body_is_an_adaptive_card() -> None:
    body = json.loads(notification_body("teams", "#{number}", {"number": "42"}, {}))
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "#42"


def test_url_from_env_or_file_is_masked_and_never_in_errors(tmp_path: Path) -> None:
    notifier = Notifier(type="slack", url_env="HOOK")
    assert resolve_url("ops", notifier, tmp_path, {"HOOK": URL}) == URL
    assert URL not in mask(f"posting to {URL}")
    with pytest.raises(NotifierError, match="environment variable HOOK is empty or unset"):
        resolve_url("ops", notifier, tmp_path, {})
    (tmp_path / "hook.txt").write_text(URL + "\n", encoding="utf-8")
    assert resolve_url("ops", Notifier(type="json", url_file="hook.txt"), tmp_path, {}) == URL
    (tmp_path / "bad.txt").write_text("ftp://nope/" + "x" * 20, encoding="utf-8")
    with pytest.raises(NotifierError) as caught:
        resolve_url("ops", Notifier(type="json", url_file="bad.txt"), tmp_path, {})
    assert "ftp://" not in str(caught.value)


@responses.activate
def test_2xx_is_done_and_4xx_failed_with_the_receivers_message() -> None:
    responses.post(URL, body="ok")
    assert Sender().send("ops", URL, "{}").state == "done"
    responses.replace(responses.POST, URL, status=404, body="no_service")
    outcome = Sender().send("ops", URL, "{}")
    assert (outcome.state, outcome.message) == (
        "failed",
        "notifier ops: refused with 404: no_service",
    )


@responses.activate
def test_429_waits_for_retry_after_within_the_pass_limit() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "2"})
    responses.post(URL, status=200, body="ok")
    waits: list[float] = []
    outcome = Sender(max_wait=5, sleep=waits.append).send("ops", URL, "{}")
    assert (outcome.state, waits) == ("done", [2.0])


@responses.activate
def test_429_beyond_the_limit_fails_for_next_pass() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "120"})
    waits: list[float] = []
    outcome = Sender(max_wait=5, sleep=waits.append).send("ops", URL, "{}")
    assert outcome.state == "failed" and waits == []
    assert "Retry-After 120 s" in outcome.message
    assert len(responses.calls) == 1


@responses.activate
def test_retry_after_as_a_date() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    responses.post(URL, status=503, headers={"Retry-After": "Wed, 02 Dec 2026 12:00:03 GMT"})
    responses.post(URL, status=204)
    waits: list[float] = []
    outcome = Sender(max_wait=5, sleep=waits.append, clock=lambda: now).send("ops", URL, "{}")
    assert (outcome.state, waits) == ("done", [3.0])


# -- real sockets --------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    with receiving() as (port, handler):
        yield f"http://127.0.0.1:{port}/hook/SeCrEt-path-123", handler


def test_loopback_delivers_once(receiver: tuple[str, type[Receiver]]) -> None:
    url, handler = receiver
    assert Sender().send("ops", url, '{"text": "hi"}').state == "done"
    assert handler.bodies == [b'{"text": "hi"}']


def test_loopback_timeout_after_reading_is_unknown(receiver: tuple[str, type[Receiver]]) -> None:
    url, handler = receiver
    handler.mode = "hang"
    outcome = Sender().send("ops", url, "{}", timeout=0.3)
    assert outcome.state == "unknown"
    assert len(handler.bodies) == 1
    assert "SeCrEt" not in outcome.message


def test_loopback_500_is_unknown_and_429_failed(receiver: tuple[str, type[Receiver]]) -> None:
    url, handler = receiver
    handler.mode = "500"
    outcome = Sender().send("ops", url, "{}")
    assert outcome.state == "unknown" and "internal error" in outcome.message
    handler.mode = "429"
    assert Sender(max_wait=1).send("ops", url, "{}").state == "failed"


def test_refused_connection_is_failed_not_unknown() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook/SeCrEt-path-123"
    outcome = Sender().send("ops", url, "{}")
    assert outcome.state == "failed"
    assert "SeCrEt" not in outcome.message and str(port) not in outcome.message
