"""The once-only ledger: a SQLite file of every automated action, and of what each ticket
looked like at the last pass.

Every action is written as *intended* (and committed) before it is sent, then marked *done*,
*failed* (certainly not done: planned again later), *skipped* (e.g. locked by another agent:
planned again later) or *unknown* (the answer was lost: reconciled by reading the ticket
before anything else happens). A run killed anywhere leaves at most one action intended,
and the next run settles it first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from ._durations import utc_iso
from ._model import ActionKind, ConversationEntry, MemoryHistory, PlannedAction

__all__ = ["Ledger", "LedgerBusy", "LedgerRow", "LedgerUnusable", "TicketMemory"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    intended_at TEXT NOT NULL,
    settled_at TEXT,
    message TEXT,
    after_entry INTEGER
);
CREATE INDEX IF NOT EXISTS actions_by_ticket ON actions (number, intended_at);
CREATE TABLE IF NOT EXISTS tickets (
    number TEXT PRIMARY KEY,
    signature TEXT NOT NULL,
    conversation TEXT NOT NULL,
    customer_name TEXT
);
CREATE TABLE IF NOT EXISTS ticket_ids (
    desk TEXT NOT NULL,
    number TEXT NOT NULL,
    ticket_id INTEGER NOT NULL,
    PRIMARY KEY (desk, number)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT
);
"""
# States that count as "sent": the planner must not plan the action again.
_SENT = ("intended", "unknown", "done")


class LedgerBusy(RuntimeError):
    """Raised when another run holds the desk's run lock."""


class LedgerUnusable(RuntimeError):
    """Raised when the ledger cannot be opened or written: a folder, read-only, not SQLite."""


def _unusable(path: Path, exc: BaseException) -> str:
    """One line saying what is wrong with the ledger file and what to do."""
    reason = str(exc).lower()
    if path.is_dir():
        return (
            f"ledger {str(path)!r} is a folder: set ledger in the rules file's [settings] to a file"
        )
    if "not a database" in reason:
        return (
            f"ledger {str(path)!r} is not a SQLite database (another file at that path?):"
            " point ledger at another file name, or move that file away"
        )
    if "readonly" in reason or "read-only" in reason or isinstance(exc, PermissionError):
        return (
            f"ledger {str(path)!r} cannot be written ({exc}): every action is recorded there"
            " before it is sent; make the file and its folder writable by this user"
        )
    return f"ledger {str(path)!r} cannot be opened: {exc}"


@dataclass(frozen=True)
class LedgerRow:
    """One recorded action."""

    key: str
    run_id: str
    rule: str
    number: str
    kind: str
    value: str
    note: str | None
    reason: str
    state: str
    intended_at: datetime
    settled_at: datetime | None
    message: str | None
    after_entry: int | None = None

    def action(self) -> PlannedAction:
        """The action as it was planned."""
        return PlannedAction(
            rule=self.rule,
            number=self.number,
            kind=cast(ActionKind, self.kind),
            value=self.value,
            reason=self.reason,
            key=self.key,
            note=self.note,
        )


@dataclass(frozen=True)
class TicketMemory:
    """What the last pass saw of a ticket: its listing signature and its conversation."""

    signature: str
    conversation: tuple[ConversationEntry, ...]
    customer_name: str | None
    status_since: datetime | None = None  # when it entered its status (thread's status events)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Ledger:
    """The ledger file, opened for one process; `history()` is the planner's `History`."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the ledger and check that it can be written.

        Raises:
            LedgerUnusable: the path is a folder, the file read-only or not a SQLite database.
        """
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(tickets)")}
            if "status_since" not in columns:  # ledgers from before timed rules
                self._db.execute("ALTER TABLE tickets ADD COLUMN status_since TEXT")
            # Every action is recorded before it is sent: find out now, not mid-run.
            # (A no-op write: a read-only file refuses it, a writable one changes nothing.)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM runs WHERE 0")
            finally:
                self._db.execute("ROLLBACK")
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnusable(_unusable(self.path, exc)) from None
        self._lock: sqlite3.Connection | None = None

    def close(self) -> None:
        """Release the run lock (if held) and close the file."""
        self.release()
        self._db.close()

    # -- one run at a time ---------------------------------------------------------------

    def acquire(self) -> None:
        """Take the run lock, or raise `LedgerBusy` at once.

        The lock is an exclusive transaction on a small SQLite file beside the ledger: the
        operating system releases it when the process dies, on Windows as on POSIX.
        """
        lock = sqlite3.connect(
            self.path.with_suffix(self.path.suffix + ".lock"), isolation_level=None, timeout=0
        )
        try:
            lock.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            lock.close()
            raise LedgerBusy(f"another run holds {self.path}.lock") from None
        self._lock = lock

    def release(self) -> None:
        """Give the run lock back."""
        if self._lock is not None:
            self._lock.rollback()
            self._lock.close()
            self._lock = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run lock for a block."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    # -- actions -------------------------------------------------------------------------

    def intend(
        self, action: PlannedAction, run_id: str, now: datetime, after_entry: int | None = None
    ) -> None:
        """Record an action as about to be sent (committed before it is sent).

        `after_entry` is the newest thread entry id the pass knew of the ticket: a reply or
        note found later with a higher id is this one, whatever the desk's clock says.
        """
        self._db.execute(
            "INSERT INTO actions (key, run_id, rule, number, kind, value, note, reason, state,"
            " intended_at, after_entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'intended', ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET run_id = excluded.run_id, state = 'intended',"
            " intended_at = excluded.intended_at, settled_at = NULL, message = NULL,"
            " after_entry = excluded.after_entry",
            (
                action.key,
                run_id,
                action.rule,
                action.number,
                action.kind,
                action.value,
                action.note,
                action.reason,
                utc_iso(now),
                after_entry,
            ),
        )

    def settle(self, key: str, state: str, now: datetime, message: str) -> None:
        """Record how an intended action ended: done, failed, skipped or unknown."""
        self._db.execute(
            "UPDATE actions SET state = ?, settled_at = ?, message = ? WHERE key = ?",
            (state, utc_iso(now), message, key),
        )

    def unsettled(self) -> list[LedgerRow]:
        """Actions intended but never settled, or whose outcome is unknown."""
        return self._rows("WHERE state IN ('intended', 'unknown') ORDER BY intended_at")

    def recent(self, limit: int = 20) -> list[LedgerRow]:
        """The latest actions, newest first."""
        return self._rows("ORDER BY intended_at DESC LIMIT ?", (limit,))

    def failed(self, run_ids: Sequence[str]) -> list[LedgerRow]:
        """The actions these runs left failed, with the desk's reason in `message`."""
        marks = ", ".join("?" * len(run_ids))
        return self._rows(
            f"WHERE state = 'failed' AND run_id IN ({marks}) ORDER BY intended_at", tuple(run_ids)
        )

    def _rows(self, where: str, args: tuple[object, ...] = ()) -> list[LedgerRow]:
        cursor = self._db.execute(
            "SELECT key, run_id, rule, number, kind, value, note, reason, state, intended_at,"
            f" settled_at, message, after_entry FROM actions {where}",
            args,
        )
        return [
            LedgerRow(
                key=r[0],
                run_id=r[1],
                rule=r[2],
                number=r[3],
                kind=r[4],
                value=r[5],
                note=r[6],
                reason=r[7],
                state=r[8],
                intended_at=datetime.fromisoformat(r[9]),
                settled_at=_when(r[10]),
                message=r[11],
                after_entry=r[12],
            )
            for r in cursor
        ]

    def history(self, numbers: Iterable[str]) -> MemoryHistory:
        """What was sent to these tickets (and how much each rule sent), read in two queries.

        The planner's `History` for one pass: planning asks for hundreds of thousands of keys
        on a large desk, and a query each would cost more than the planning itself. Actions
        that certainly failed or were skipped are not "sent": the planner plans them again.
        """
        db = self._db
        self._list(numbers)
        done = {
            key: datetime.fromisoformat(at)
            for key, at in db.execute(
                "SELECT key, intended_at FROM actions JOIN listed USING (number)"
                f" WHERE state IN {_SENT}"
            )
        }
        counts = dict(
            db.execute(f"SELECT rule, COUNT(*) FROM actions WHERE state IN {_SENT} GROUP BY rule")
        )
        return MemoryHistory(done, counts)

    def _list(self, numbers: Iterable[str]) -> None:
        """Fill the temporary table `listed` with these numbers, for a query to join."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS listed (number TEXT PRIMARY KEY)")
        with self._transaction():  # one transaction for the whole listing, not one per row
            db.execute("DELETE FROM listed")
            db.executemany("INSERT OR IGNORE INTO listed VALUES (?)", ((n,) for n in numbers))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def sent_today(self, number: str, now: datetime) -> int:
        """How many actions were sent to a ticket in the 24 hours before `now` (daily cap)."""
        row = self._db.execute(
            f"SELECT COUNT(*) FROM actions WHERE number = ? AND intended_at >= ?"
            f" AND state IN {_SENT}",
            (number, utc_iso(now - timedelta(days=1))),
        ).fetchone()
        return int(row[0])

    # -- ticket memory -------------------------------------------------------------------

    def tickets(self, numbers: Iterable[str]) -> dict[str, TicketMemory]:
        """What the last pass saw of these tickets (those it saw), read in one query."""
        self._list(numbers)
        return {
            number: TicketMemory(
                signature=signature,
                conversation=tuple(
                    ConversationEntry(
                        id=e["id"],
                        kind=e["kind"],
                        created=datetime.fromisoformat(e["created"]),
                        author=e["author"],
                        text=e["text"],
                    )
                    for e in json.loads(conversation)
                ),
                customer_name=customer_name,
                status_since=_when(status_since),
            )
            for number, signature, conversation, customer_name, status_since in self._db.execute(
                "SELECT number, signature, conversation, customer_name, status_since FROM tickets"
                " JOIN listed USING (number)"
            )
        }

    def remember(self, memories: Mapping[str, TicketMemory]) -> None:
        """Keep what this pass saw of these tickets (one transaction)."""
        rows = [
            (
                number,
                memory.signature,
                json.dumps(
                    [
                        {
                            "id": e.id,
                            "kind": e.kind,
                            "created": utc_iso(e.created),
                            "author": e.author,
                            "text": e.text,
                        }
                        for e in memory.conversation
                    ]
                ),
                memory.customer_name,
                utc_iso(memory.status_since) if memory.status_since else None,
            )
            for number, memory in memories.items()
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO tickets (number, signature, conversation, customer_name,"
                " status_since) VALUES (?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET"
                " signature = excluded.signature, conversation = excluded.conversation,"
                " customer_name = excluded.customer_name, status_since = excluded.status_since",
                rows,
            )

    # -- ticket ids ----------------------------------------------------------------------

    def ticket_ids(self, desk: str) -> dict[str, int]:
        """The number -> internal id map kept for a desk (by its URL): no lookup needed."""
        return dict(
            self._db.execute("SELECT number, ticket_id FROM ticket_ids WHERE desk = ?", (desk,))
        )

    def keep_ticket_ids(self, desk: str, ids: Mapping[str, int]) -> None:
        """Make `ids` the desk's map: entries not in it (gone, or answered 404) are dropped."""
        with self._transaction():
            self._db.execute("DELETE FROM ticket_ids WHERE desk = ?", (desk,))
            self._db.executemany(
                "INSERT INTO ticket_ids (desk, number, ticket_id) VALUES (?, ?, ?)",
                ((desk, number, ticket_id) for number, ticket_id in ids.items()),
            )

    # -- runs ----------------------------------------------------------------------------

    def start_run(self, run_id: str, now: datetime) -> None:
        """Record that a run began."""
        self._db.execute(
            "INSERT INTO runs (run_id, started_at) VALUES (?, ?)", (run_id, utc_iso(now))
        )

    def finish_run(self, run_id: str, now: datetime, summary: dict[str, object]) -> None:
        """Record how a run ended."""
        self._db.execute(
            "UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?",
            (utc_iso(now), json.dumps(summary), run_id),
        )

    def runs(self, limit: int = 10) -> list[dict[str, object]]:
        """The latest runs, newest first."""
        cursor = self._db.execute(
            "SELECT run_id, started_at, finished_at, summary FROM runs"
            " ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [
            {
                "run_id": r[0],
                "started_at": r[1],
                "finished_at": r[2],
                "summary": json.loads(r[3]) if r[3] else None,
            }
            for r in cursor
        ]
