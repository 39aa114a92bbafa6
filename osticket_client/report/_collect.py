"""Reading a period's tickets from the desk, each ticket page at most once, through a cache."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType

from automations import owner_only, signature_of

from .._admin import sla_grace_periods
from .._cache import default_cache_dir
from .._client import OsTicket
from .._errors import PermissionDenied, TicketNotFound
from .._tickets import Ticket, TicketSummary
from ._model import Period

__all__ = [
    "ReportCache",
    "default_cache_path",
    "list_period",
    "read_tickets",
    "signature",
    "sla_grace",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    desk TEXT NOT NULL,
    number TEXT NOT NULL,
    signature TEXT NOT NULL,
    ticket TEXT NOT NULL,
    PRIMARY KEY (desk, number)
)
"""


def default_cache_path() -> Path:
    """Where reports keep what they read: ``report-cache.sqlite`` in the per-user cache folder
    (`OSTICKET_CACHE_DIR`, else e.g. ``~/.cache/osticket``, ``%LOCALAPPDATA%\\osticket\\Cache``)."""
    return default_cache_dir(os.environ) / "report-cache.sqlite"


def signature(row: TicketSummary) -> str:
    """What must stay the same for a ticket read earlier to still hold: the automations'
    listing signature, plus the close time and the overdue flag (which add thread events)."""
    return f"{signature_of(row)}|{row.closed or ''}|{row.overdue}"


class ReportCache:
    """Tickets read for SLA reports, by desk and number, under the listing signature they were
    read with. The file holds ticket subjects and names, so only its owner may read it
    (automations' `owner_only`: 0600 on POSIX, its access list cut to its owner on Windows).
    Thread bodies are not kept.

    Raises:
        OSError: the file cannot be created or opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        owner_only(self.path)  # before SQLite makes it; SQLite gives its journal the file's mode
        self._db = sqlite3.connect(self.path)
        with self._db:
            self._db.execute(_SCHEMA)

    def get(self, desk: str, number: str, signature: str) -> Ticket | None:
        """The ticket read under this signature, or None (never read, or changed since)."""
        with closing(self._db.cursor()) as cursor:
            found = cursor.execute(
                "SELECT ticket FROM tickets WHERE desk = ? AND number = ? AND signature = ?",
                (desk, number, signature),
            ).fetchone()
        return None if found is None else Ticket.model_validate_json(found[0])

    def put(self, desk: str, number: str, signature: str, ticket: Ticket) -> None:
        """Keep a ticket (without its thread bodies) under its listing signature."""
        thread = tuple(entry.model_copy(update={"body": ""}) for entry in ticket.thread)
        text = ticket.model_copy(update={"thread": thread}).model_dump_json()
        with self._db:
            self._db.execute(
                "INSERT INTO tickets (desk, number, signature, ticket) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (desk, number) DO UPDATE SET signature = excluded.signature,"
                " ticket = excluded.ticket",
                (desk, number, signature, text),
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> ReportCache:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def list_period(
    desk: OsTicket, period: Period, queue: int | None = None, now: datetime | None = None
) -> list[TicketSummary]:
    """The tickets created in the period, open and closed, or of one queue.

    Without a queue, the desk's advanced search lists only the tickets updated since the
    period began (a ticket is updated when it is created, so none of the period's is left
    out), exported as CSV: the Closed queue's whole history is not sent. One queue is that
    queue's CSV export. Either way the rows are then cut to the creation dates here.
    """
    if queue is not None:
        rows: Iterable[TicketSummary] = desk.list_tickets(queue)
    elif period.first_instant > (now or datetime.now(timezone.utc)):
        return []  # a period yet to come: nothing was created in it
    else:
        rows = desk.search_tickets(updated_since=period.first_instant)
    found = {row.number: row for row in rows if row.created and period.holds(row.created)}
    return sorted(found.values(), key=lambda r: (r.created or _EPOCH, r.number))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def read_tickets(
    desk: OsTicket,
    rows: Sequence[TicketSummary],
    cache: ReportCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
) -> Iterator[tuple[TicketSummary, Ticket | None, bool]]:
    """Each listed ticket with its page, in the listing's order: from the cache when its
    signature has not changed, else read from the desk (and kept). Yields (row, ticket, read
    from the desk); the ticket is None when the desk no longer shows it (deleted, or moved out
    of the agent's reach since the listing).

    Pages are read by `workers` threads sharing the client (and its one login): the desk's
    answer is most of a page's cost. The cache is only touched from the calling thread.
    """
    keys = [signature(row) for row in rows]
    known = [
        cache.get(desk.url, row.number, key) if cache is not None else None
        for row, key in zip(rows, keys, strict=True)
    ]

    def read(number: str) -> Ticket | None:
        try:
            return desk.get_ticket(number)
        except TicketNotFound:
            return None

    missing = [row.number for row, ticket in zip(rows, known, strict=True) if ticket is None]
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        pages = pool.map(read, missing)  # in order; an error surfaces when its page is reached
        for done, (row, key, ticket) in enumerate(zip(rows, keys, known, strict=True), start=1):
            fresh = ticket is None
            if fresh:
                ticket = next(pages)
                if ticket is not None and cache is not None:
                    cache.put(desk.url, row.number, key, ticket)
            yield row, ticket, fresh
            if progress is not None:
                progress(done, len(rows))
    finally:
        # On an error or Ctrl-C, the pages not yet asked for are never asked for.
        pool.shutdown(wait=True, cancel_futures=True)


def sla_grace(desk: OsTicket) -> dict[str, timedelta]:
    """The desk's SLA plans' grace periods, or nothing when the agent is not an admin."""
    try:
        return sla_grace_periods(desk)
    except PermissionDenied:
        return {}
