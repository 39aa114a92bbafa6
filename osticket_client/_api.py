"""Reading the API-key endpoints' answers: plain functions over (status, text)."""

from __future__ import annotations

import re

from ._errors import (
    ApiError,
    AuthenticationError,
    InvalidTicket,
    OsTicketError,
    PermissionDenied,
    ServerError,
    TicketDenied,
    TicketOutcomeUnknown,
    UnexpectedResponse,
)
from ._pages import plain_text

__all__ = [
    "API_PREFIXES",
    "is_route_miss",
    "parse_create",
    "parse_cron",
    "parse_field_errors",
]

# With URL rewriting the API lives at api/tickets.json; without it (IIS labs, no mod_rewrite)
# only at api/http.php/tickets.json.
API_PREFIXES = ("api/", "api/http.php/")

_CREATE_FAILED = "Unable to create new ticket"
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./]{0,63}")
# What osTicket's error keys mean in the ticket's own terms.
_FIELD_NAMES = {"20": "subject", "21": "message", "user": "contact", "origin": "source"}
_IP_HINT = (
    "a correct key used from another address than the one it is bound to gets the same answer;"
    " check the key and the source address set for it (Admin > Manage > API)"
)


# Answers that prove the request was never carried out, whoever sent them: a server that does
# not implement the method (501) or the HTTP version (505) refuses before processing anything,
# and osTicket's API answers 501 only when it cannot parse XML, before creating anything.
_NOT_PROCESSED = (501, 505)


def is_route_miss(status: int, text: str) -> bool:
    """True when the desk did not route the request to the API at all (nothing was done)."""
    return status == 404 or (status == 400 and text.strip() == "URL not supported")


def summarize(text: str) -> str:
    """The server's text as a user can read it in one line (at most 300 characters)."""
    return plain_text(text, 300)


def parse_field_errors(text: str) -> dict[str, str]:
    """The failing fields of a create error, from either body shape.

    v1.17.3 and later: ``Unable to create new ticket :20\\nIssue Summary is a required field``
    (key and message on alternate lines). Before: ``Unable to create new ticket: validation
    errors:\\n20: Issue Summary is a required field`` (``key: message`` a line).
    """
    body = text.strip()
    if not body.startswith(_CREATE_FAILED):
        return {}
    rest = body[len(_CREATE_FAILED) :]
    fields: dict[str, str] = {}
    if rest.startswith(": validation errors:"):
        for line in rest.split("\n")[1:]:
            key, sep, message = line.partition(":")
            if sep and key.strip():
                fields[_FIELD_NAMES.get(key.strip(), key.strip())] = message.strip()
        return fields
    lines = rest.lstrip(" :").split("\n")
    for key, message in zip(lines[0::2], lines[1::2], strict=False):
        if key.strip():
            fields[_FIELD_NAMES.get(key.strip(), key.strip())] = message.strip()
    if len(lines) % 2 and lines[-1].strip():
        fields.setdefault("error", lines[-1].strip())
    return fields


def _key_error(status: int, text: str, endpoint: str) -> OsTicketError | None:
    body = text.strip()
    if status != 401:
        return None
    if body == "API key not authorized":
        return PermissionDenied(
            "the API key lacks the right for this call",
            status_code=status,
            text=body,
            endpoint=endpoint,
            hint="tick 'Can create tickets' / 'Can execute cron' for it (Admin > Manage > API)",
        )
    if "not found/active" in body:
        return AuthenticationError(
            "the API key is disabled, unknown, or not allowed from this address",
            status_code=status,
            text=body,
            endpoint=endpoint,
            hint=_IP_HINT,
        )
    return AuthenticationError(
        "the desk refused the API key",
        status_code=status,
        text=summarize(body),
        endpoint=endpoint,
        hint=_IP_HINT,
    )


def _route_error(status: int, text: str, endpoint: str) -> ApiError:
    return ApiError(
        "no osTicket API answers at this URL",
        status_code=status,
        text=summarize(text),
        endpoint=endpoint,
        hint="use the desk's base URL as users open it, e.g. https://host/support/",
    )


def parse_create(status: int, text: str, endpoint: str) -> str:
    """The ticket number from a create's answer, or the error it means.

    Raises:
        InvalidTicket, TicketDenied, AuthenticationError, PermissionDenied, ApiError: the desk
            certainly did not create the ticket.
        TicketOutcomeUnknown: it may have.
    """
    body = text.strip()
    if status == 201:
        if _NUMBER.fullmatch(body):
            return body
        raise TicketOutcomeUnknown(
            "the desk answered 201 Created but the body is not a ticket number",
            status_code=status,
            text=summarize(body),
            endpoint=endpoint,
            hint="look for the ticket in the staff panel before creating it again",
        )
    key_error = _key_error(status, body, endpoint)
    if key_error is not None:
        raise key_error
    if is_route_miss(status, body):
        raise _route_error(status, body, endpoint)
    if body.startswith(_CREATE_FAILED) and 400 <= status < 600:
        fields = parse_field_errors(body)
        if status == 403 or any(
            "denied" in m.lower() or "denied" in k.lower() for k, m in fields.items()
        ):
            raise TicketDenied(
                "a ticket filter on the desk rejected the ticket",
                status_code=status,
                text=body,
                endpoint=endpoint,
            )
        shown = ", ".join(f"{k}: {m}" for k, m in fields.items()) or summarize(body)
        raise InvalidTicket(
            f"the desk rejected the ticket ({shown})",
            fields=fields,
            status_code=status,
            text=body,
            endpoint=endpoint,
        )
    if status == 403 and "denied" in body.lower():
        raise TicketDenied(
            "a ticket filter on the desk rejected the ticket",
            status_code=status,
            text=body,
            endpoint=endpoint,
        )
    if 300 <= status < 400:
        # osTicket's API never redirects: a front server (e.g. http -> https) did, unprocessed.
        raise ApiError(
            "the server redirected the request; no ticket was created",
            status_code=status,
            text=summarize(body),
            endpoint=endpoint,
            hint="use the address it redirects to (often https://) as the desk URL",
        )
    if 400 <= status < 500 or status in _NOT_PROCESSED:
        # osTicket answers 4xx only before creating; 501/505 mean nothing was processed.
        raise ApiError(
            "the desk refused the request; no ticket was created"
            if status < 500
            else "the server does not implement this request; no ticket was created",
            status_code=status,
            text=summarize(body),
            endpoint=endpoint,
            hint=_https_hint(body) or (None if status < 500 else _NOT_OSTICKET_HINT),
        )
    raise TicketOutcomeUnknown(
        "the desk's answer does not say whether the ticket was created",
        status_code=status,
        text=summarize(body),
        endpoint=endpoint,
        hint="look for the ticket in the staff panel before creating it again",
    )


def parse_cron(status: int, text: str, endpoint: str) -> None:
    """Check a cron call's answer.

    Raises:
        AuthenticationError, PermissionDenied, ServerError, ApiError, UnexpectedResponse.
    """
    body = text.strip()
    if status == 200 and body == "Completed":
        return
    key_error = _key_error(status, body, endpoint)
    if key_error is not None:
        raise key_error
    if is_route_miss(status, body):
        raise _route_error(status, body, endpoint)
    if status >= 500:
        raise ServerError(
            "the desk failed while running cron",
            status_code=status,
            text=summarize(body),
            endpoint=endpoint,
        )
    if status >= 400:
        raise ApiError(
            "the desk refused to run cron",
            status_code=status,
            text=summarize(body),
            endpoint=endpoint,
            hint=_https_hint(body),
        )
    raise UnexpectedResponse(
        "the desk's answer to cron is not 'Completed'",
        status_code=status,
        text=summarize(body),
        endpoint=endpoint,
    )


_NOT_OSTICKET_HINT = "is this an osTicket desk? use its base URL as users open it"


def _https_hint(body: str) -> str | None:
    if "HTTPS Protocol Required" in body:
        return "the desk requires HTTPS: use an https:// URL"
    return None
