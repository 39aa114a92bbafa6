"""The API-key surface against cassettes recorded from real osTicket desks (cassettes/README.md).

Assertions are on what was sent and how the answer was read, never on a recorded number.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from osticket_client import (
    ApiError,
    Attachment,
    AuthenticationError,
    InvalidTicket,
    NewTicket,
    OsTicket,
    PermissionDenied,
    Priority,
    StrippedCharactersWarning,
    TicketDenied,
)
from osticket_client._api import parse_create

NUMBER = re.compile(r"\d{6}")  # the stock desk's random six-digit format


def ticket(**changes: Any) -> NewTicket:
    values: dict[str, Any] = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "subject": "Printer on floor 2 jams",
        "message": "Tray 2 jams on every second page.",
    }
    values.update(changes)
    return NewTicket(**values)


def sent_json(cassette: Any, index: int = 0) -> dict[str, Any]:
    body = cassette.requests[index].body
    data: dict[str, Any] = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    return data


def post_raw(desk: OsTicket, payload: dict[str, Any]) -> str:
    """Send a payload NewTicket would refuse, to record how the desk itself answers it."""
    status, text, endpoint = desk._api_call("tickets.json", json.dumps(payload).encode())
    return parse_create(status, text, endpoint)


def test_create_plain_text(recorded: Any) -> None:
    with recorded("api_create_plain") as (cassette, make_desk):
        number = make_desk().create_ticket(
            ticket(phone="555-0100", phone_ext="12", alert=False, autorespond=False, source="api")
        )
    assert NUMBER.fullmatch(number)
    assert len(cassette.requests) == 1
    assert cassette.requests[0].path == "/api/tickets.json"
    sent = sent_json(cassette)
    assert sent["message"] == "data:text/plain;charset=utf-8,Tray 2 jams on every second page."
    assert sent["phone"] == "555-0100X12"
    assert sent["alert"] is False and sent["autorespond"] is False
    assert sent["source"] == "API"


def test_create_html_with_accented_and_cjk_text(recorded: Any) -> None:
    body = "<p>L'imprimante du 2ᵉ étage bloque — 打印机卡纸了。</p><ul><li>Bac 2</li></ul>"
    with recorded("api_create_html_unicode") as (cassette, make_desk):
        number = make_desk().create_ticket(
            ticket(subject="Imprimante bloquée / 打印机卡纸", message=body, html=True)
        )
    assert NUMBER.fullmatch(number)
    sent = sent_json(cassette)
    assert sent["subject"] == "Imprimante bloquée / 打印机卡纸"
    assert sent["message"] == "data:text/html;charset=utf-8," + body
    # Sent as UTF-8 on the wire, not as \\u escapes.
    raw = cassette.requests[0].body
    assert "打印机".encode() in (raw if isinstance(raw, bytes) else raw.encode())


def test_create_with_attachments(recorded: Any, tmp_path: Any) -> None:
    log = tmp_path / "printer.log"
    log.write_text("E13 paper jam\n", encoding="utf-8")
    png = Attachment(
        name="tray.png", data=b"\x89PNG\r\n\x1a\n" + bytes(16), content_type="image/png"
    )
    with recorded("api_create_attachments") as (cassette, make_desk):
        number = make_desk().create_ticket(ticket(attachments=[log, png]))
    assert NUMBER.fullmatch(number)
    sent = sent_json(cassette)
    assert sent["attachments"] == [
        {"printer.log": "data:text/plain;base64,RTEzIHBhcGVyIGphbQo="},
        {"tray.png": png.data_url()},
    ]


def test_create_with_topic_priority_and_custom_field(recorded: Any) -> None:
    with recorded("api_create_topic_priority_field") as (cassette, make_desk):
        number = make_desk().create_ticket(
            ticket(topic_id=10, priority="high", fields={"notes": "VIP customer"})
        )
    assert NUMBER.fullmatch(number)
    sent = sent_json(cassette)
    assert sent["topicId"] == 10
    assert sent["priority"] == int(Priority.HIGH) == 3
    assert sent["notes"] == "VIP customer"


def test_run_cron(recorded: Any) -> None:
    with recorded("api_cron") as (cassette, make_desk):
        make_desk().run_cron()
    assert cassette.requests[0].path == "/api/tasks/cron"
    assert cassette.responses[0]["body"]["string"] in ("Completed", b"Completed")


def test_url_without_rewriting_falls_back_to_http_php(recorded: Any) -> None:
    with recorded("api_create_no_rewrite") as (cassette, make_desk):
        desk = make_desk(desk="norewrite")
        first = desk.create_ticket(ticket())
        second = desk.create_ticket(ticket(subject="Second ticket"))
    assert NUMBER.fullmatch(first) and NUMBER.fullmatch(second)
    paths = [r.path for r in cassette.requests]
    # The 404 created nothing; the working form is remembered for the next call.
    assert paths == [
        "/api/tickets.json",
        "/api/http.php/tickets.json",
        "/api/http.php/tickets.json",
    ]
    assert cassette.responses[0]["status"]["code"] == 404


@pytest.mark.parametrize(
    ("key", "cassette_name", "error", "text"),
    [
        (
            "key_bound_elsewhere",
            "api_key_bound_elsewhere",
            AuthenticationError,
            "Valid API key required",
        ),
        (
            "disabled_key",
            "api_key_disabled",
            AuthenticationError,
            "API key not found/active or source IP not authorized",
        ),
        (
            "key_without_rights",
            "api_key_without_rights",
            PermissionDenied,
            "API key not authorized",
        ),
    ],
)
def test_create_with_a_refused_key(
    recorded: Any, key: str, cassette_name: str, error: type[Exception], text: str
) -> None:
    with recorded(cassette_name) as (_, make_desk), pytest.raises(error) as caught:
        make_desk(api_key=key).create_ticket(ticket())
    assert caught.value.status_code == 401  # type: ignore[attr-defined]
    assert caught.value.text == text  # type: ignore[attr-defined]


def test_wrong_key_error_explains_the_address_binding(recorded: Any) -> None:
    with (
        recorded("api_key_bound_elsewhere") as (_, make_desk),
        pytest.raises(AuthenticationError) as caught,
    ):
        make_desk(api_key="key_bound_elsewhere").create_ticket(ticket())
    assert "from another address" in str(caught.value)


def test_cron_with_a_key_without_the_cron_right(recorded: Any) -> None:
    with (
        recorded("api_cron_without_rights") as (_, make_desk),
        pytest.raises(PermissionDenied) as caught,
    ):
        make_desk(api_key="key_without_rights").run_cron()
    assert caught.value.text == "API key not authorized"


def test_subject_of_only_html_tags_is_rejected_by_the_desk(recorded: Any) -> None:
    with pytest.warns(StrippedCharactersWarning, match="subject"):
        new = ticket(subject="<br>")
    with (
        recorded("api_create_subject_stripped_empty") as (_, make_desk),
        pytest.raises(InvalidTicket) as caught,
    ):
        make_desk().create_ticket(new)
    assert caught.value.status_code == 500
    assert caught.value.fields == {"subject": "Issue Summary is a required field"}


@pytest.mark.parametrize(
    ("cassette_name", "desk", "drop", "changes", "status", "fields"),
    [
        (
            "api_missing_subject",
            "v118",
            "subject",
            {},
            500,
            {"subject": "Issue Summary is a required field"},
        ),
        (
            "api_missing_message",
            "v118",
            "message",
            {},
            500,
            {"message": "Issue Details is a required field"},
        ),
        (
            "api_bad_email",
            "v118",
            None,
            {"email": "not-an-email"},
            500,
            {"contact": "Incomplete client information"},
        ),
        (
            "api_v117_missing_subject",
            "v117",
            "subject",
            {},
            400,
            {"subject": "Issue Summary is a required field"},
        ),
    ],
)
def test_fields_the_desk_rejects(
    recorded: Any,
    cassette_name: str,
    desk: str,
    drop: str | None,
    changes: dict[str, str],
    status: int,
    fields: dict[str, str],
) -> None:
    payload = {**ticket().to_payload(), **changes}
    if drop:
        del payload[drop]
    with recorded(cassette_name) as (_, make_desk), pytest.raises(InvalidTicket) as caught:
        post_raw(make_desk(desk=desk), payload)
    assert caught.value.status_code == status
    assert caught.value.fields == fields


@pytest.mark.parametrize(
    ("cassette_name", "desk"), [("api_filter_denied", "v118"), ("api_v117_filter_denied", "v117")]
)
def test_ticket_filter_denial(recorded: Any, cassette_name: str, desk: str) -> None:
    with recorded(cassette_name) as (_, make_desk), pytest.raises(TicketDenied) as caught:
        make_desk(desk=desk).create_ticket(ticket(email="blocked@example.com"))
    assert caught.value.status_code == 403
    assert "denied" in (caught.value.text or "").lower()


def test_empty_body_checks_the_key_without_creating(recorded: Any) -> None:
    with recorded("api_empty_body") as (cassette, make_desk):
        desk = make_desk()
        status, text, _ = desk._api_call("tickets.json", b"")
    assert (status, text) == (400, "Syntax error, malformed JSON")
    with pytest.raises(ApiError):
        parse_create(status, text, "POST /api/tickets.json")
    assert cassette.requests[0].body in (b"", "", None)
