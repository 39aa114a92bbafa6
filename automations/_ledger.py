"""The once-only ledger: a SQLite file of every automated action, and of what each ticket
looked like at the last pass. It is a cache of the desk: a "done" in it is trusted, what it
lacks is looked up on the ticket before a reply or note is sent (see `_runner`).

Every action is written as *intended* (and committed) before it is sent, then marked *done*,
*failed* (certainly not done: planned again later), *skipped* (e.g. locked by another agent:
planned again later) or *unknown* (the answer was lost: reconciled by reading the ticket
before anything else happens). A run killed anywhere leaves at most one action intended,
and the next run settles it first.

The file, its SQLite side files and the run lock are readable by their owner only
(`_files.owner_only`). Ledgers written before rule ids (schema 0) have their keys moved from
rule names to rule ids, and from entry ids to the times the entries were posted, by `migrate`.
The file also holds the event rules' memory and outbox, in tables of their own (`_events`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from ._durations import utc_iso
from ._files import owner_only
from ._model import ActionKind, ConversationEntry, MemoryHistory, PlannedAction, rule_id_of
from ._rules import RulesFile

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
    customer_name TEXT,
    marks TEXT,
    status_since TEXT
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
# PRAGMA user_version: 1 = keys by rule id and response time, tickets remember marks.
_VERSION = 1
_SIDE_FILES = ("-wal", "-shm", "-journal")
_RULE_ID_OF_KEY = "substr(key, 1, instr(key, '|') - 1)"
_OLD_ARMING = re.compile(r"\|([MR]):(\d+)\|")


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
    marks: Mapping[str, datetime] = field(default_factory=dict)
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
            if not self.path.is_dir():  # a folder is refused below, never touched
                owner_only(self.path)  # before SQLite creates it; its side files take its mode
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            fresh = not self._db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            if fresh:
                self._db.execute(f"PRAGMA user_version = {_VERSION}")
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(tickets)")}
            for column in ("marks", "status_since"):  # ledgers from before rule ids, timed rules
                if column not in columns:
                    self._db.execute(f"ALTER TABLE tickets ADD COLUMN {column} TEXT")
            # Every action is recorded before it is sent: find out now, not mid-run.
            # (A no-op write: a read-only file refuses it, a writable one changes nothing.)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM runs WHERE 0")
            finally:
                self._db.execute("ROLLBACK")
            for suffix in _SIDE_FILES:  # side files an older version left readable
                owner_only(self._side(suffix), create=False)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnusable(_unusable(self.path, exc)) from None
        self._lock: sqlite3.Connection | None = None

    def _side(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    def migrate(self, rules: RulesFile) -> int:
        """Bring a ledger of schema 0 to rule ids and response times; returns the keys moved.

        A key ``<rule name>|<number>|R:<entry id>|...`` becomes ``<rule id>|<number>|R@<time
        the entry was posted>|...`` (``M:<entry id>``, a timed rule's customer message, the
        same way), the time read from the ticket memory. Keys of rules no longer in the file,
        or of entries the memory lacks, stay as they were (`auto check` lists rule ids no rule
        has); the ticket's thread then tells what was done. The ticket memory is cleared: it
        lacks the marks and the automation's entries the planner needs. The event rules'
        tables (`_events`) hold no rule names and are kept as they are; the columns added
        since (marks, status_since) are added when the file is opened.
        """
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= _VERSION:
            return 0
        ids = {rule.name: rule.rule_id for rule in rules.rules}
        times: dict[tuple[str, int], str] = {}
        for number, conversation in self._db.execute("SELECT number, conversation FROM tickets"):
            for e in json.loads(conversation):
                times[(number, e["id"])] = e["created"]
        moved = 0
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute("SELECT key, rule, number FROM actions").fetchall()
            for key, rule, number in rows:
                moves = rule in ids and key.startswith(f"{rule}|")
                new = ids[rule] + key[len(rule) :] if moves else key
                arming = _OLD_ARMING.search(new)
                if arming and (number, int(arming[2])) in times:
                    posted = utc_iso(datetime.fromisoformat(times[(number, int(arming[2]))]))
                    new = new.replace(arming[0], f"|{arming[1]}@{posted}|", 1)
                if new != key:
                    db.execute("UPDATE OR IGNORE actions SET key = ? WHERE key = ?", (new, key))
                    moved += 1
            db.execute("DELETE FROM tickets")
            db.execute(f"PRAGMA user_version = {_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return moved

    def rule_ids(self) -> set[str]:
        """Every rule id the ledger holds work under, in its actions and remembered marks."""
        found = {r[0] for r in self._db.execute(f"SELECT DISTINCT {_RULE_ID_OF_KEY} FROM actions")}
        for (marks,) in self._db.execute(
            "SELECT marks FROM tickets WHERE marks IS NOT NULL AND marks != '{}'"
        ):
            found.update(rule_id_of(key) for key in json.loads(marks))
        return found

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
        lock_path = self._side(".lock")
        owner_only(lock_path)
        lock = sqlite3.connect(lock_path, isolation_level=None, timeout=0)
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
            db.execute(
                f"SELECT {_RULE_ID_OF_KEY}, COUNT(*) FROM actions WHERE state IN {_SENT}"
                f" GROUP BY {_RULE_ID_OF_KEY}"
            )
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
                        automated=e.get("automated", False),
                    )
                    for e in json.loads(conversation)
                ),
                customer_name=customer_name,
                marks={
                    k: datetime.fromisoformat(at) for k, at in json.loads(marks or "{}").items()
                },
                status_since=_when(status_since),
            )
            for number, signature, conversation, customer_name, marks, status_since in (
                self._db.execute(
                    "SELECT number, signature, conversation, customer_name, marks, status_since"
                    " FROM tickets JOIN listed USING (number)"
                )
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
                            "automated": e.automated,
                        }
                        for e in memory.conversation
                    ]
                ),
                memory.customer_name,
                json.dumps({key: utc_iso(at) for key, at in memory.marks.items()}),
                utc_iso(memory.status_since) if memory.status_since else None,
            )
            for number, memory in memories.items()
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO tickets"
                " (number, signature, conversation, customer_name, marks, status_since)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET"
                " signature = excluded.signature, conversation = excluded.conversation,"
                " customer_name = excluded.customer_name, marks = excluded.marks,"
                " status_since = excluded.status_since",
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
