"""`osticket doctor`: read-only checks of the settings against the desk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ._api import parse_create
from ._client import OsTicket
from ._errors import ApiError, OsTicketError
from ._tickets import TicketSummary

__all__ = ["Check", "listing_check", "run_checks"]

Outcome = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    outcome: Outcome
    detail: str
    advice: tuple[str, ...] = ()


# What the role allows, seen by opening each action's dialog on one visible ticket: the
# dialog answers 200 where the role allows the action and 403 where it does not.
_DIALOGS = {
    "close": "status_close_dialog",
    "assign": "assign_dialog",
    "transfer": "transfer_dialog",
    "edit fields": "priority_dialog",
}


def run_checks(desk: OsTicket, *, timer: Callable[[], float] = time.monotonic) -> Iterator[Check]:
    """Check the URL, the API key, the agent login, its role, the version, how long the Open
    queue takes to list, and the database zone.

    Nothing is written: the key is checked with an empty create (refused before any ticket),
    the role by opening dialogs without posting them. `timer` (seconds, monotonic) times the
    listing; tests inject it.
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
    rows: list[TicketSummary] = []

    def listing() -> Check:
        started = timer()
        rows.extend(desk.list_tickets(1))
        return listing_check(len(rows), timer() - started)

    # The listing also gives the ticket the next checks look at: the queue's HTML page would
    # cost as much again on a large desk.
    yield _guard("listing", listing)
    if not rows:
        yield Check("agent role", "skip", "no open ticket visible to check the role on")
        yield Check("database time zone", "skip", "no open ticket to compare times on")
        return
    yield _guard("agent role", lambda: _role(desk, desk.ticket_id(rows[0].number)))
    yield _guard("database time zone", lambda: _db_zone(desk, rows[0]))


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


def _db_zone(desk: OsTicket, row: TicketSummary) -> Check:
    if row.created is None:
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


# When a listing is slow for its size. Measured on a loopback osTicket 1.18.1 desk (MariaDB
# 10.11, 2 cores), the Open queue's CSV export as a pass fetches it: MEASUREMENTS.
# A healthy desk lists at about 1-2 s per 1,000 rows whatever its size; MariaDB's default plan
# grows with the square of the queue (a block-nested-loop scan per row), so its seconds per
# 1,000 rows climb with the size. A listing is called slow above SLOW_PER_1000 s per 1,000
# rows, and only once it takes SLOW_AFTER s in all: below that, the fixed cost of an export
# (export, check, download: about 1 s) dominates the rate and a small queue costs nothing.
SLOW_PER_1000 = 2.0
SLOW_AFTER = 5.0

_ADVICE = (
    "likely cause (it cannot be told for sure from outside the database): MariaDB's optimizer"
    " joins ost_ticket__cdata last with a full scan, so a listing costs about the queue's size"
    " times all the desk's tickets (osTicket issue #6634, pull request #6034)",
    "fix the desk's admin can apply: optimizer_search_depth = 0 in the database server's"
    " settings (a line under [mysqld] in my.cnf or mariadb.conf.d/), or at once with"
    " SET GLOBAL optimizer_search_depth = 0; then run `osticket doctor` again",
    "https://github.com/osTicket/osTicket/issues/6634"
    " https://github.com/osTicket/osTicket/pull/6034",
)


def listing_check(rows: int, seconds: float) -> Check:
    """Judge one listing of the Open queue: `rows` tickets in `seconds` (a pure function)."""
    per_1000 = seconds * 1000 / rows if rows else 0.0
    detail = f"Open queue: {rows:,} rows in {seconds:.1f} s ({per_1000:.1f} s per 1,000 rows)"
    if seconds < SLOW_AFTER or per_1000 <= SLOW_PER_1000:
        return Check("listing", "ok", detail)
    return Check("listing", "warn", detail + ": slow for its size", _ADVICE)
