"""`osticket doctor`: read-only checks of the settings against the desk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ._api import parse_create
from ._client import OsTicket
from ._errors import ApiError, OsTicketError, TimeoutError
from ._tickets import TicketSummary

__all__ = ["Check", "listing_check", "run_checks", "slow_for_its_size"]

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
    listing, and one page of the queue when the listing was slow; tests inject it.
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
    # The listing also gives the ticket the next checks look at: the queue's HTML page would
    # cost as much again on a large desk.
    rows: list[TicketSummary] = []
    yield _guard("listing", lambda: _timed_listing(desk, timer, rows))
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


def _timed_listing(desk: OsTicket, timer: Callable[[], float], rows: list[TicketSummary]) -> Check:
    """Time the Open queue's export (its tickets go into `rows`), and one page if it was slow."""
    started = timer()
    rows.extend(desk.list_tickets(1))
    seconds = timer() - started
    if not slow_for_its_size(len(rows), seconds):
        return listing_check(len(rows), seconds)
    # A page shows a handful of rows: it is slow only when the database's query is.
    started = timer()
    try:
        desk._send("queue_page", params={"queue": "1"})
    except TimeoutError:
        return listing_check(len(rows), seconds, timer() - started, page_answered=False)
    return listing_check(len(rows), seconds, timer() - started)


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


# When a listing is slow, measured on a loopback osTicket 1.18.1 desk (MariaDB 10.11, 2 vCPUs
# shared with other work; README, "Speed"), the Open queue's CSV export as a pass fetches it:
# - 10,000 open tickets, MariaDB's defaults: 25.9-95.6 s (median 38.4 s of 9), 2.6 s or more
#   per 1,000 rows; 1,200 open among 10,000 tickets: 4.8-11.8 s (4-10 s per 1,000).
# - the same 10,000 with optimizer_search_depth = 0: 4.9-29.1 s (median 14.8 s of 13), 0.5-2.9 s
#   per 1,000; a small healthy desk, 1,226 open tickets: 1.75 s (1.4 s per 1,000).
# The export's time alone overlaps between the two on a busy machine: PHP writes every row, and
# with the setting no query ran longer than a second while exports still took up to 29 s.
# So a listing slower than SLOW_PER_1000 (once it takes SLOW_AFTER s in all: below that, an
# export's fixed cost of about 1 s dominates the rate, and a small queue costs nothing) is
# checked against one page of the queue, a few rendered rows, slow only when the query is:
# 22-28 s with the defaults (once no answer within 30 s), 0.6-0.9 s with the setting (a healthy
# page takes about 0.5 s whatever its size). Past SLOW_PAGE the query is the likely cause.
SLOW_PER_1000 = 2.0
SLOW_AFTER = 5.0
SLOW_PAGE = 5.0

_CAUSE = (
    "likely cause (it cannot be told for sure from outside the database): MariaDB's optimizer"
    " joins ost_ticket__cdata last with a full scan, so a listing costs about the queue's size"
    " times all the desk's tickets (osTicket issue #6634, pull request #6034)",
    "fix the desk's admin can apply: optimizer_search_depth = 0 in the database server's"
    " settings (a line under [mysqld] in my.cnf or mariadb.conf.d/), or at once with"
    " SET GLOBAL optimizer_search_depth = 0; then run `osticket doctor` again",
    "https://github.com/osTicket/osTicket/issues/6634"
    " https://github.com/osTicket/osTicket/pull/6034",
)
_BUSY = (
    "the database answers a page of the queue quickly, so its query plan is likely not the"
    " cause (it cannot be told for sure from outside): the web server writing the export"
    " (PHP) may be short of CPU; run `osticket doctor` again when the desk is quieter",
)


def slow_for_its_size(rows: int, seconds: float) -> bool:
    """Whether listing `rows` tickets in `seconds` is slower than a healthy desk lists."""
    return seconds >= SLOW_AFTER and seconds * 1000 > SLOW_PER_1000 * rows


def listing_check(
    rows: int, seconds: float, page_seconds: float | None = None, *, page_answered: bool = True
) -> Check:
    """Judge one listing of the Open queue (a pure function).

    Args:
        rows: the tickets the export held.
        seconds: how long the export took (export, check, download).
        page_seconds: how long one page of the queue took, timed when the export was slow.
        page_answered: False when the page got no answer within the client's timeout.
    """
    per_1000 = seconds * 1000 / rows if rows else 0.0
    detail = (
        f"Open queue: {rows:,} row{'' if rows == 1 else 's'} in {seconds:.1f} s"
        f" ({per_1000:.1f} s per 1,000 rows)"
    )
    if not slow_for_its_size(rows, seconds):
        return Check("listing", "ok", detail)
    detail += ": slow for its size"
    if page_seconds is None:
        return Check("listing", "warn", detail, _CAUSE)
    detail += f"; one page of the queue took {page_seconds:.1f} s" + (
        "" if page_answered else " and got no answer"
    )
    return Check("listing", "warn", detail, _CAUSE if page_seconds >= SLOW_PAGE else _BUSY)
