"""`osticket doctor`: read-only checks of the settings against the desk."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ._api import parse_create
from ._client import OsTicket
from ._errors import ApiError, OsTicketError

__all__ = ["Check", "run_checks"]

Outcome = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    outcome: Outcome
    detail: str


# What the role allows, seen by opening each action's dialog on one visible ticket: the
# dialog answers 200 where the role allows the action and 403 where it does not.
_DIALOGS = {
    "close": "status_close_dialog",
    "assign": "assign_dialog",
    "transfer": "transfer_dialog",
    "edit fields": "priority_dialog",
}


def run_checks(desk: OsTicket) -> Iterator[Check]:
    """Check the URL, the API key, the agent login, its role, the version and the database zone.

    Nothing is written: the key is checked with an empty create (refused before any ticket),
    the role by opening dialogs without posting them.
    """
    yield _guard("staff panel", lambda: _panel(desk))
    yield _guard("API key", lambda: _api_key(desk))
    if not (desk.username and desk._password):
        yield Check("agent login", "skip", "no username/password set")
        return
    login = _guard("agent login", lambda: _login(desk))
    yield login
    if login.outcome != "ok":
        return
    yield _guard("desk version", lambda: Check("desk version", "ok", desk.version() or "unknown"))
    ticket_id = _visible_ticket(desk)
    if ticket_id is None:
        yield Check("agent role", "skip", "no open ticket visible to check the role on")
        yield Check("database time zone", "skip", "no open ticket to compare times on")
        return
    yield _guard("agent role", lambda: _role(desk, ticket_id))
    yield _guard("database time zone", lambda: _db_zone(desk))


def _guard(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except OsTicketError as exc:
        return Check(name, "fail", str(exc))


def _panel(desk: OsTicket) -> Check:
    response = desk._transport.request("GET", desk.url + "scp/login.php")
    if response.status_code in (200, 422, 302):
        return Check("staff panel", "ok", f"{desk.url}scp/ answers (HTTP {response.status_code})")
    return Check(
        "staff panel",
        "fail",
        f"{desk.url}scp/login.php answered HTTP"
        f" {response.status_code}: is this the desk's base URL?",
    )


def _api_key(desk: OsTicket) -> Check:
    if not desk._api_key:
        return Check("API key", "skip", "no API key set")
    status, text, endpoint = desk._api_call("tickets.json", b"")
    if status == 400 and "malformed JSON" in text:
        return Check(
            "API key",
            "ok",
            "accepted, with the right to create tickets"
            " (the cron right cannot be checked without running cron)",
        )
    try:
        parse_create(status, text, endpoint)
    except ApiError as exc:
        return Check("API key", "fail", str(exc))
    return Check("API key", "warn", f"unexpected answer HTTP {status}: {text[:100]!r}")


def _login(desk: OsTicket) -> Check:
    desk.staff.login()
    return Check("agent login", "ok", f"logged in as {desk.username}")


def _visible_ticket(desk: OsTicket) -> int | None:
    _, response, _ = desk._send("queue_page", params={"queue": "1"})
    found = re.search(r"tickets\.php\?id=(\d+)", response.text)
    return int(found.group(1)) if found else None


def _role(desk: OsTicket, ticket_id: int) -> Check:
    allowed: list[str] = []
    refused: list[str] = []
    for action, route in _DIALOGS.items():
        _, response, _ = desk._send(route, ids={"id": ticket_id})
        (allowed if response.status_code == 200 else refused).append(action)
    _, page, _ = desk._send("ticket_page", params={"id": str(ticket_id)})
    (allowed if 'id="reply"' in page.text else refused).append("reply")
    detail = f"may {', '.join(allowed)}" if allowed else "may do none of the actions"
    if refused:
        detail += f"; may not {', '.join(refused)}"
    return Check("agent role", "warn" if refused else "ok", detail)


def _db_zone(desk: OsTicket) -> Check:
    row = next(desk.list_tickets(1), None)
    if row is None or row.created is None:
        return Check("database time zone", "skip", "no open ticket to compare times on")
    created = desk.get_ticket(row.number).created
    if created is None:
        return Check("database time zone", "skip", "the ticket page shows no creation time")
    gap = row.created - created
    if abs(gap) <= timedelta(minutes=1):
        return Check("database time zone", "ok", f"{desk.db_timezone} matches the desk")
    hours = round(-gap.total_seconds() / 3600, 2)
    return Check(
        "database time zone",
        "fail",
        f"CSV times are {hours:+g} h off with db_timezone={desk.db_timezone}:"
        " set db_timezone (OSTICKET_DB_TIMEZONE) to the database's zone",
    )
