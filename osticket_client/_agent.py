"""What the staff panel's answers mean: action results, lookups, and the tables behind them.

`OsTicket` (in `_client.py`) drives the staff panel with these; they are plain functions and
constants, testable without a desk.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import datetime, timedelta

import requests

from ._errors import (
    ActionRejected,
    PermissionDenied,
    ServerError,
    TicketNotFound,
    UnexpectedResponse,
    UnknownChoice,
)
from ._models import warn_tag_like
from ._pages import plain_text, refusal
from ._staff import Route
from ._tickets import ActionResult, Choice, CustomerMatch, SearchResult, TicketMatch

__all__ = [
    "CHOICE_KINDS",
    "EXPORT_INTERVAL",
    "EXPORT_TIMEOUT",
    "FIELD_NAMES",
    "KNOWN_RELEASES",
    "STATUS_STATES",
    "match_choice",
    "parse_lookup",
    "plain_to_html",
    "read_action",
    "search_minutes",
]

# Where the desk lists each kind of choice without needing a ticket: the advanced-search field
# dialogs (JSON {"html": ...} with <option>s). A status's state comes from the status dialogs,
# which never offer deleted-state statuses (setting one hard-deletes the ticket).
CHOICE_KINDS = {
    "status": "status__id",
    "agent": "staff_id",
    "team": "team_id",
    "department": "dept_id",
    "topic": "topic_id",
    "priority": "cdata__priority",
    "sla": "sla_id",
}
STATUS_STATES = {"open": "open", "close": "closed"}
# The plain form names of the editable ticket fields (the dialogs' hashed names go stale).
FIELD_NAMES = {"priority": "priority", "sla": "sla_id", "topic": "topic_id", "duedate": "duedate"}

# Release commits as agent pages show them (<meta http-equiv="x-pjax-version">).
KNOWN_RELEASES = {"4689926": "v1.18.1", "8fbc7ee": "v1.17.2"}
# Each export keeps a desk worker asleep for 15 s afterwards: never more often than that.
EXPORT_INTERVAL = 15.0
EXPORT_TIMEOUT = 60.0
_ALREADY = re.compile(r"\balready\b|\bnot assigned\b", re.IGNORECASE)


def read_action(
    route: Route, response: requests.Response, endpoint: str, done: str
) -> ActionResult:
    """What an ajax action's answer means: 201 done, a dialog again with "already" unchanged.

    Raises:
        PermissionDenied, TicketNotFound, ActionRejected, ServerError, UnexpectedResponse.
    """
    status, body = response.status_code, response.text
    if status == 201:
        # Claim, release and transfer answer 201 with an "Unable to ..." page although they
        # worked; only the status code counts.
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        message = data.get("msg") if isinstance(data, dict) else None
        return ActionResult(changed=True, message=plain_text(str(message)) if message else done)
    if status == 200:
        text = refusal(body)
        if text:
            if _ALREADY.search(text):
                return ActionResult(changed=False, message=text)
            if "permission" in text.lower() or "denied" in text.lower():
                raise PermissionDenied(
                    "the agent's role does not allow this",
                    status_code=status,
                    text=text,
                    endpoint=endpoint,
                )
            raise ActionRejected(
                "the desk refused the action", status_code=status, text=text, endpoint=endpoint
            )
    if status == 403:
        raise PermissionDenied(
            "the agent's role does not allow this",
            status_code=status,
            text=plain_text(body),
            endpoint=endpoint,
        )
    if status == 404:
        raise TicketNotFound(
            "the desk knows no such ticket (or the agent may not see it)",
            status_code=status,
            text=plain_text(body),
            endpoint=endpoint,
        )
    if status >= 500:
        raise ServerError(
            "the desk failed", status_code=status, text=plain_text(body, 300), endpoint=endpoint
        )
    raise UnexpectedResponse(
        f"unexpected answer to {route.name}",
        status_code=status,
        text=plain_text(body, 300),
        endpoint=endpoint,
    )


def parse_lookup(rows: list[dict[str, object]], *, truncated: bool) -> SearchResult:
    """The quick search's rows: tickets (with a ticket_id) and customers ("email (count)")."""
    tickets, customers = [], []
    for row in rows:
        if row.get("ticket_id"):
            entries = row.get("entries")
            tickets.append(
                TicketMatch(
                    number=str(row["value"]),
                    ticket_id=int(str(row["ticket_id"])),
                    subject=str(row.get("subject") or "") or None,
                    user=str(row.get("user") or "") or None,
                    entries=int(str(entries)) if entries is not None else None,
                )
            )
        elif row.get("email"):
            count = re.search(r"\((\d+)\)\s*$", str(row.get("info", "")))
            customers.append(
                CustomerMatch(
                    email=str(row["email"]), tickets=int(count.group(1)) if count else None
                )
            )
    return SearchResult(tickets=tuple(tickets), customers=tuple(customers), truncated=truncated)


def match_choice(kind: str, value: str | int, options: list[Choice]) -> Choice:
    """The option with this id or name (case-insensitive), else `UnknownChoice` listing them."""
    wanted = str(value).strip()
    for option in options:
        if str(option.id) == wanted or option.name.casefold() == wanted.casefold():
            return option
    raise UnknownChoice(kind, value, [o.name for o in options])


def plain_to_html(field: str, text: str) -> str:
    # The staff panel treats entries as rich text: keep the line breaks and escape markup,
    # although the desk decodes entities before it strips tags (so "<now>" is lost anyway).
    warn_tag_like(field, text)
    return "<br />\n".join(html.escape(line) for line in text.split("\n"))


def search_minutes(
    updated_since: datetime | timedelta, now: datetime
) -> tuple[int, datetime | None]:
    """The advanced search's "updated in the last N minutes" for `updated_since`, and the
    moment to cut its rows to (None for a duration, which the desk's clock measures alone).

    A moment is widened by five minutes, so a desk clock a little behind the client's loses
    nothing; the caller cuts the rows to the moment itself.

    Raises:
        ValueError: a naive moment, one in the future, or a duration under a second.
    """
    if isinstance(updated_since, timedelta):
        if updated_since.total_seconds() < 1:
            raise ValueError("updated_since: expected a positive duration")
        return max(1, math.ceil(updated_since.total_seconds() / 60)), None
    if updated_since.tzinfo is None:
        raise ValueError("updated_since: must be timezone-aware (e.g. ...+00:00)")
    back = (now - updated_since).total_seconds()
    if back < 0:
        raise ValueError(f"updated_since: {updated_since.isoformat()} is in the future")
    return math.ceil(back / 60) + 5, updated_since
