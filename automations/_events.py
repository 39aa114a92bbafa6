"""Events from listing diffs: what changed on the desk between two passes, each under a stable id.

osTicket keeps no change feed an agent can read, so a pass compares what it lists now with what
its store remembers from the last pass (state-change detection). Consequences, by design:

- The first pass on a new store records the desk and reports nothing: no event for the past.
- A ticket that comes into the listing is `created` only if it was created since the last pass
  (less 15 minutes for the desk's clock): one moved into the agent's sight is only tracked.
- A change undone between two passes (Pending -> Open -> Pending) is not seen.
- An agent's edit of a thread entry (a new entry with the edited one's time) is no new reply.
- A ticket that leaves the listing (closed, out of the agent's sight) has its page read once:
  closed gives a `closed` event, anything else is forgotten silently.

Event ids are made from what the desk shows where it can (``<number>:created``,
``<number>:customer_replied:<entry id>``, ``<number>:agent_replied:<entry id>``,
``<number>:reopened:<reopen count>``, ``<number>:closed:<reopen count>``), else from a counter
the store keeps (``<number>:status_changed:<n>``, ``:assigned:<n>``, ``:overdue:<n>``).
An event is written to the store's outbox in the same transaction that updates what the store
remembers, so a pass killed at any point neither loses an event nor makes one under a new id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from osticket_client import OsTicketError, ThreadEntry, Ticket, TicketNotFound, TicketSummary

from ._durations import utc_iso
from ._files import owner_only
from ._notify import SCHEMA

__all__ = ["Event", "EventStore", "detect", "links_of", "ticket_fields"]

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS watch_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watch_tickets (number TEXT PRIMARY KEY, seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watch_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    time TEXT NOT NULL,
    payload TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
"""
# How long events stay in the outbox: event rules whose action failed plan it again meanwhile.
RETENTION = timedelta(days=7)
# A ticket first listed is `created` only when it was created after the last pass (less this
# allowance for the desk's clock); an older one (moved into sight) is tracked from then on.
_SKEW = timedelta(minutes=15)


@dataclass(frozen=True)
class Event:
    """One change a pass saw: its stable id, kind, the ticket as seen then, and the details."""

    id: str
    kind: str
    number: str
    time: datetime
    ticket: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The event in the documented JSON schema (see `_notify`)."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "kind": self.kind,
            "time": utc_iso(self.time),
            "ticket": self.ticket,
            "detail": self.detail,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Event:
        return cls(
            id=data["id"],
            kind=data["kind"],
            number=data["ticket"]["number"],
            time=datetime.fromisoformat(data["time"]),
            ticket=data["ticket"],
            detail=data.get("detail", {}),
        )


def links_of(desk: object) -> Callable[[str], str | None]:
    """A ticket number's staff panel link on this desk (None when the desk has no URL)."""
    base = getattr(desk, "url", None)

    def link(number: str) -> str | None:
        return f"{base}scp/tickets.php?number={number}" if isinstance(base, str) else None

    return link


def ticket_fields(row: TicketSummary, state: str | None, link: str | None) -> dict[str, Any]:
    """The ticket object of the event schema, from a listing row."""
    return {
        "number": row.number,
        "subject": row.subject,
        "status": row.status,
        "state": state,
        "priority": row.priority,
        "department": row.department,
        "help_topic": row.help_topic,
        "source": row.source,
        "agent": row.agent,
        "team": row.team,
        "answered": row.answered,
        "overdue": row.overdue,
        "customer_name": row.from_name,
        "link": link,
    }


class EventStore:
    """What the last pass saw of each listed ticket, and the outbox of events (a SQLite file).

    It may share the automations' ledger file (its own tables) or be a file of its own
    (`osticket watch --state`).
    """

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        owner_only(Path(path))  # it holds ticket text; SQLite's side files take its mode
        self._db = sqlite3.connect(Path(path), isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA_SQL)

    def close(self) -> None:
        self._db.close()

    def born(self, now: datetime, *, record: bool = True) -> datetime:
        """When this store (the ledger) began: `now` on the first pass that records it."""
        if record:
            self._db.execute("INSERT OR IGNORE INTO watch_meta VALUES ('born', ?)", (utc_iso(now),))
        row = self._db.execute("SELECT value FROM watch_meta WHERE key = 'born'").fetchone()
        return datetime.fromisoformat(row[0]) if row else now

    def last_pass(self) -> datetime | None:
        """When the last pass recorded the desk; None before the first."""
        row = self._db.execute("SELECT value FROM watch_meta WHERE key = 'last_pass'").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def seen(self) -> dict[str, dict[str, Any]]:
        """Every remembered ticket's fields, by number."""
        return {
            n: json.loads(s) for n, s in self._db.execute("SELECT number, seen FROM watch_tickets")
        }

    def counter(self) -> int:
        row = self._db.execute("SELECT value FROM watch_meta WHERE key = 'counter'").fetchone()
        return int(row[0]) if row else 0

    def commit(
        self,
        seen: dict[str, dict[str, Any]],
        forgotten: Iterable[str],
        events: list[Event],
        counter: int,
        now: datetime,
    ) -> None:
        """Write a pass's findings in one transaction: memory, outbox, counter, pass time."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO watch_tickets VALUES (?, ?) ON CONFLICT (number)"
                " DO UPDATE SET seen = excluded.seen",
                ((n, json.dumps(s)) for n, s in seen.items()),
            )
            db.executemany("DELETE FROM watch_tickets WHERE number = ?", ((n,) for n in forgotten))
            db.executemany(
                "INSERT OR IGNORE INTO watch_events (id, number, kind, time, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    (e.id, e.number, e.kind, utc_iso(e.time), json.dumps(e.payload()))
                    for e in events
                ),
            )
            db.execute("INSERT OR REPLACE INTO watch_meta VALUES ('counter', ?)", (str(counter),))
            db.execute("INSERT OR REPLACE INTO watch_meta VALUES ('last_pass', ?)", (utc_iso(now),))
            db.execute("INSERT OR IGNORE INTO watch_meta VALUES ('born', ?)", (utc_iso(now),))
            db.execute(
                "DELETE FROM watch_events WHERE time < ? AND delivered = 1",
                (utc_iso(now - RETENTION),),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def recent(self, now: datetime) -> list[Event]:
        """The outbox's events of the last `RETENTION`, oldest first (for event rules)."""
        cursor = self._db.execute(
            "SELECT payload FROM watch_events WHERE time >= ? ORDER BY seq",
            (utc_iso(now - RETENTION),),
        )
        return [Event.from_payload(json.loads(p)) for (p,) in cursor]

    def undelivered(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(sequence, payload) of events not yet printed, oldest first (for `watch`)."""
        cursor = self._db.execute(
            "SELECT seq, payload FROM watch_events WHERE delivered = 0 ORDER BY seq"
        )
        for seq, payload in cursor.fetchall():
            yield seq, json.loads(payload)

    def delivered(self, seq: int) -> None:
        self._db.execute("UPDATE watch_events SET delivered = 1 WHERE seq = ?", (seq,))


def _memory(row: TicketSummary, state: str | None) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "status": row.status,
        "state": state,
        "agent": row.agent,
        "team": row.team,
        "overdue": row.overdue,
        "thread_count": row.thread_count,
        "reopen_count": row.reopen_count or 0,
        "closed": utc_iso(row.closed) if row.closed else None,
    }
    return seen


def _new_entries(
    entries: Sequence[ThreadEntry], known: int, newest: list[str] | None
) -> list[ThreadEntry]:
    """The entries posted since the pass that knew entry `known`, the newest then being
    `newest` ([time, author]).

    An agent's edit makes a new entry (a higher id) with the edited entry's time: it is not
    new, and fires nothing again. An entry of the same time as the newest known one is new
    only by another author.
    """
    if newest is None:
        return [e for e in entries if e.id > known]
    at = datetime.fromisoformat(newest[0])
    return [
        e
        for e in entries
        if e.id > known and (e.created > at or (e.created == at and e.author != newest[1]))
    ]


def detect(
    store: EventStore,
    rows: Iterable[tuple[TicketSummary, str | None]],
    read_page: Callable[[str], Ticket],
    now: datetime,
    link: Callable[[str], str | None] = lambda number: None,
) -> list[Event]:
    """Compare this pass's listing with the store, record the changes, return the new events.

    Args:
        store: what the last pass saw (updated, with the events, in one transaction).
        rows: the listing's tickets with their status's state (open / closed).
        read_page: reads a ticket page (for new thread entries and tickets that left).
        now: when the pass saw it (the events' time).
        link: the staff panel link of a ticket number.
    """
    last = store.last_pass()
    first = last is None
    remembered = store.seen()
    counter = store.counter()
    events: list[Event] = []
    seen: dict[str, dict[str, Any]] = {}

    def emit(
        kind: str, number: str, ticket: dict[str, Any], tail: str | None, **detail: Any
    ) -> None:
        nonlocal counter
        if tail is None:
            counter += 1
            tail = str(counter)
        events.append(
            Event(f"{number}:{kind}{':' + tail if tail else ''}", kind, number, now, ticket, detail)
        )

    for row, state in rows:
        number = row.number
        new = _memory(row, state)
        old = remembered.pop(number, None)
        ticket = ticket_fields(row, state, link(number))
        new["last_entry"] = old.get("last_entry") if old else None
        new["newest"] = old.get("newest") if old else None
        seen[number] = new
        if first:
            continue
        if old is None:
            if new["reopen_count"]:
                emit("reopened", number, ticket, str(new["reopen_count"]))
            elif last is None or row.created is None or row.created > last - _SKEW:
                emit("created", number, ticket, "")
            continue
        if new["reopen_count"] > old["reopen_count"]:
            emit("reopened", number, ticket, str(new["reopen_count"]))
        if new["status"] != old["status"]:
            emit(
                "status_changed",
                number,
                ticket,
                None,
                **{"from": old["status"], "to": new["status"]},
            )
            if state == "closed" and old.get("state") != "closed":
                emit("closed", number, ticket, str(new["reopen_count"]), status=new["status"])
        if (new["agent"], new["team"]) != (old["agent"], old["team"]) and (
            new["agent"] or new["team"]
        ):
            emit("assigned", number, ticket, None, agent=new["agent"], team=new["team"])
        if new["overdue"] and not old["overdue"]:
            emit("overdue", number, ticket, None)
        added = (new["thread_count"] or 0) - (old["thread_count"] or 0)
        if added > 0:
            try:
                page = read_page(number)
            except OsTicketError:
                new["thread_count"] = old["thread_count"]  # try again next pass
                continue
            entries = sorted(page.thread, key=lambda e: e.id)
            known = old.get("last_entry")
            fresh = (
                _new_entries(entries, known, old.get("newest"))
                if known is not None
                else entries[-added:]
            )
            for entry in fresh:
                if entry.type == "message":
                    emit("customer_replied", number, ticket, f"{entry.id}", entry=entry.id)
                elif entry.type == "response":
                    emit(
                        "agent_replied",
                        number,
                        ticket,
                        f"{entry.id}",
                        entry=entry.id,
                        author=entry.author,
                    )
            new["last_entry"] = entries[-1].id if entries else known
            if entries:
                newest = max(entries, key=lambda e: (e.created, e.id))
                new["newest"] = [utc_iso(newest.created), newest.author]
    forgotten = []
    for number, old in remembered.items():
        if first:
            forgotten.append(number)
            continue
        try:
            page = read_page(number)
        except TicketNotFound:
            forgotten.append(number)
            continue
        except OsTicketError:
            continue  # not readable now: compared again next pass
        forgotten.append(number)
        if page.is_closed and old.get("state") != "closed":
            reopens = old["reopen_count"]
            ticket = {
                "number": number,
                "subject": page.subject,
                "status": page.status,
                "state": page.state,
                "priority": page.priority,
                "department": page.department,
                "help_topic": page.help_topic,
                "source": page.source,
                "agent": page.assigned_agent,
                "team": page.assigned_team,
                "answered": None,
                "overdue": None,
                "customer_name": page.user_name,
                "link": link(number),
            }
            emit(
                "status_changed", number, ticket, None, **{"from": old["status"], "to": page.status}
            )
            emit("closed", number, ticket, str(reopens), status=page.status)
    store.commit(seen, forgotten, events, counter, now)
    return events
