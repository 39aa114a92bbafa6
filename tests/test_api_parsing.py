"""Reading the API's answers, as plain functions (bodies as FACTS.md and the desks show them)."""

from __future__ import annotations

import pytest

from osticket_client import (
    ApiError,
    AuthenticationError,
    InvalidTicket,
    PermissionDenied,
    ServerError,
    TicketDenied,
    TicketOutcomeUnknown,
    UnexpectedResponse,
)
from osticket_client._api import is_route_miss, parse_create, parse_cron, parse_field_errors

EP = "POST http://desk.test/api/tickets.json"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            "Unable to create new ticket :20\nIssue Summary is a required field",
            {"subject": "Issue Summary is a required field"},
        ),
        (
            "Unable to create new ticket :origin\nInvalid ticket origin given\n"
            "err\nNo fields set up",
            {"source": "Invalid ticket origin given", "err": "No fields set up"},
        ),
        (
            "Unable to create new ticket: validation errors:\n"
            "20: Issue Summary is a required field\n"
            "21: Issue Details is a required field",
            {
                "subject": "Issue Summary is a required field",
                "message": "Issue Details is a required field",
            },
        ),
        (
            "Unable to create new ticket :user\nIncomplete client information",
            {"contact": "Incomplete client information"},
        ),
        ("Something else", {}),
    ],
)
def test_field_errors_from_both_body_shapes(body: str, fields: dict[str, str]) -> None:
    assert parse_field_errors(body) == fields


def test_number_is_returned() -> None:
    assert parse_create(201, "622798\n", EP) == "622798"
    assert parse_create(201, "TKT-2026-0042", EP) == "TKT-2026-0042"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, "Valid API key required", AuthenticationError),
        (401, "API key not found/active or source IP not authorized", AuthenticationError),
        (401, "API key not authorized", PermissionDenied),
        (500, "Unable to create new ticket :21\nIssue Details is a required field", InvalidTicket),
        (
            400,
            "Unable to create new ticket: validation errors:\n20: Issue Summary is a required"
            " field",
            InvalidTicket,
        ),
        (403, "Unable to create new ticket :Ticket denied: b@example.com\n\nNo", TicketDenied),
        (403, "Ticket denied", TicketDenied),
        (400, "URL not supported", ApiError),
        (404, "<html>Not Found</html>", ApiError),
        (400, "HTTPS Protocol Required", ApiError),
        (500, "", TicketOutcomeUnknown),
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", TicketOutcomeUnknown),
        (504, "Gateway Time-out", TicketOutcomeUnknown),
        (201, "<html><body>Welcome</body></html>", TicketOutcomeUnknown),
        (200, "<!DOCTYPE html><title>Login</title>", TicketOutcomeUnknown),
    ],
)
def test_create_errors(status: int, body: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse_create(status, body, EP)
    assert type(caught.value) is error
    assert caught.value.status_code == status  # type: ignore[attr-defined]


def test_a_definite_failure_is_never_outcome_unknown() -> None:
    with pytest.raises(InvalidTicket) as caught:
        parse_create(
            500,
            "Unable to create new ticket :\nYou've reached the maximum open tickets allowed.",
            EP,
        )
    assert "maximum open tickets" in str(caught.value)


def test_html_error_pages_are_summarized_not_dumped() -> None:
    page = "<html><head><style>b{}</style></head><body><h1>502 Bad Gateway</h1>" + "x" * 900
    with pytest.raises(TicketOutcomeUnknown) as caught:
        parse_create(502, page, EP)
    text = caught.value.text or ""
    assert text.startswith("502 Bad Gateway") and len(text) <= 300 and "<" not in text
    assert "look for the ticket" in str(caught.value)


def test_https_hint() -> None:
    with pytest.raises(ApiError, match="use an https:// URL"):
        parse_create(400, "HTTPS Protocol Required", EP)


def test_cron_answers() -> None:
    parse_cron(200, "Completed", EP)
    with pytest.raises(PermissionDenied):
        parse_cron(401, "API key not authorized", EP)
    with pytest.raises(ServerError):
        parse_cron(500, "", EP)
    with pytest.raises(UnexpectedResponse):
        parse_cron(200, "<html>login</html>", EP)


def test_route_miss() -> None:
    assert is_route_miss(404, "")
    assert is_route_miss(400, "URL not supported")
    assert not is_route_miss(400, "Syntax error, malformed JSON")
