"""Requests an automation pass sends, counted over N open tickets with k due actions.

The pass runs for real (`automations.Pass`, a SQLite `Ledger` in a temporary directory)
against the tests' stateful stand-in desk, seen through `WireCounter`: it charges each desk
call the HTTP requests `OsTicket` sends for it, with the client's own caches (one client per
pass, as `osticket auto run` from cron builds it):

| call | requests |
| --- | --- |
| first staff request of a client | + 2 (GET and POST login.php) |
| `me()` (first per client) | 2 (the profile page: the agent's id; the agent list: its name) |
| `statuses()` (first per client) | 3 (status search field, open and close dialogs) |
| `list_tickets()` | 3 (export, export check, download; the check repeats while not ready) |
| `get_ticket(n)` | 1 (the ticket page, by number: it carries the internal id) |
| `set_status`, `assign`, `transfer`, `set_priority` | 1 POST + 1 list (*) + 1 page (**) |
| `reply`, `add_note` | 2 (lock, POST; the desk releases the lock) + 1 page just before (***) |
| `close()` | + 1 (logout) |

(*) the choice list, the first time a client uses a kind (statuses are already listed).
(**) only for a number whose id the client has never seen: neither read in this pass nor
kept in the ledger from an earlier one (the pass seeds the client with those).
(***) a fresh `get_ticket` (never this pass's page cache), which also gives the id.

bench/run.py checks the login, status list, lookup and POST costs on the wire against the
local desk.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from automations._audit import AuditLog  # noqa: E402
from automations._ledger import Ledger  # noqa: E402
from automations._rules import parse_rules  # noqa: E402
from automations._runner import Pass, RunSummary  # noqa: E402
from osticket_client import ActionResult, Choice, Ticket, TicketSummary  # noqa: E402
from tests.standin import StandInDesk  # noqa: E402

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
RULES = """
[settings]
max_actions = 100000  # the pass must do all k: the cap is not what is measured

[[rules]]
name = "Assign problems"
type = "auto_assign"
topic = "Report a Problem"
agents = ["Ada Admin"]

[[rules]]
name = "Nudge"
type = "nudge_then_pending"
statuses = ["Open", "Work in Progress"]
nudge_after = "48h"
pending_after = "72h"
template = "<p>Any news on #{number}?</p>"

[[rules]]
name = "WIP"
type = "lifecycle"
from_status = "Open"
to_status = "Work in Progress"
"""
LOGIN, ME, STATUS_LIST, LISTING, LOGOUT = 2, 2, 3, 3, 1
FIXED = LOGIN + ME + STATUS_LIST + LISTING + LOGOUT  # 11 requests every pass sends


class WireCounter:
    """A `Desk` that forwards to the stand-in and counts the requests `OsTicket` would send."""

    def __init__(self, desk: StandInDesk) -> None:
        self.desk = desk
        self.requests = 0
        self.new_client()

    def new_client(self) -> None:
        self._logged_in = False
        self._ids: dict[str, int] = {}
        self._lists: set[str] = set()

    @property
    def url(self) -> str:
        return self.desk.url

    def ticket_ids(self) -> dict[str, int]:
        return dict(self._ids)

    def remember_ticket_ids(self, ids: Mapping[str, int]) -> None:
        self._ids.update(ids)

    def close(self) -> None:
        if self._logged_in:
            self.requests += LOGOUT
            self._logged_in = False

    def _send(self, n: int = 1) -> None:
        if not self._logged_in:
            self.requests += LOGIN
            self._logged_in = True
        self.requests += n

    def _lookup(self, number: str) -> None:
        """The page read that gives the id of a number never seen."""
        if number not in self._ids:
            self._ids[number] = int(number)
            self._send()

    def _list(self, kind: str, cost: int = 1) -> None:
        if kind not in self._lists:
            self._lists.add(kind)
            self._send(cost)

    def me(self) -> Choice:
        self._list("profile")  # the profile page: the agent's own id
        self._list("agent")  # the agent list: its name
        return self.desk.me()

    def statuses(self) -> list[Choice]:
        self._list("status", STATUS_LIST)
        return self.desk.statuses()

    def list_tickets(self, queue: int = 1) -> Iterator[TicketSummary]:
        self._send(LISTING)
        return self.desk.list_tickets(queue)

    def get_ticket(self, number: str) -> Ticket:
        self._send()
        self._ids[number] = int(number)
        return self.desk.get_ticket(number)

    def assign(
        self,
        number: str,
        *,
        agent: str | None = None,
        team: str | None = None,
        comment: str | None = None,
    ) -> ActionResult:
        self._list("agent" if agent is not None else "team")
        self._lookup(number)
        self._send()
        return self.desk.assign(number, agent=agent, team=team, comment=comment)

    def set_status(self, number: str, status: str, comment: str | None = None) -> ActionResult:
        self._list("status", STATUS_LIST)
        self._lookup(number)
        self._send()
        return self.desk.set_status(number, status, comment)

    def transfer(self, number: str, department: str, comment: str | None = None) -> ActionResult:
        self._list("department")
        self._lookup(number)
        self._send()
        return self.desk.transfer(number, department, comment)

    def set_priority(self, number: str, priority: str) -> ActionResult:
        self._list("priority")
        self._lookup(number)
        self._send()
        return self.desk.set_priority(number, priority)

    def reply(self, number: str, text: str, *, html: bool = False) -> ActionResult:
        self._lookup(number)
        self._send(2)
        return self.desk.reply(number, text, html=html)

    def add_note(
        self, number: str, text: str, *, html: bool = False, title: str | None = None
    ) -> ActionResult:
        self._lookup(number)
        self._send(2)
        return self.desk.add_note(number, text, html=html, title=title)


def build_desk(n: int, k: int) -> StandInDesk:
    """N open tickets, 3 days old; the first k are Open with our answer of an hour ago (the
    lifecycle rule moves them; their pages must be read), the others in Work in Progress with
    only their opening message (the listing settles them: no page)."""
    desk = StandInDesk(NOW)
    hour = timedelta(hours=1)
    for i in range(n):
        number = str(100000 + i)
        if i < k:
            desk.add(number, f"Ticket {i}", "Customer", 72 * hour)
            desk.entry(number, "response", "Ada Admin", "Which model?", hour)
        else:
            desk.add(number, f"Ticket {i}", "Customer", 72 * hour, status="Work in Progress")
    return desk


@dataclass(frozen=True)
class PassCounts:
    """Requests of three passes in a row: cold ledger, after acting, nothing changed."""

    n: int
    k: int
    cold: int
    after: int
    steady: int
    steady_pages: int
    formula_cold: str
    formula_after: str


def _one_pass(counter: WireCounter, ledger_path: Path, audit: AuditLog) -> tuple[int, RunSummary]:
    counter.new_client()
    before = counter.requests
    ledger = Ledger(ledger_path)
    try:
        summary = Pass(counter, parse_rules(RULES), ledger, audit, lambda: NOW).run()
    finally:
        ledger.close()
        counter.close()
    return counter.requests - before, summary


def pass_counts(sizes: tuple[int, ...], due_fraction: float) -> list[PassCounts]:
    """Run three passes for each N (k = due_fraction * N) and check the formula holds."""
    rows = []
    for n in sizes:
        k = max(1, int(n * due_fraction))
        counter = WireCounter(build_desk(n, k))
        with tempfile.TemporaryDirectory(prefix="osticket-bench-") as tmp:
            ledger_path = Path(tmp) / "ledger.sqlite"
            audit = AuditLog(Path(tmp) / "audit.jsonl")
            cold, first = _one_pass(counter, ledger_path, audit)
            after, second = _one_pass(counter, ledger_path, audit)
            steady, third = _one_pass(counter, ledger_path, audit)
        if (first.done, second.planned, third.planned) != (k, 0, 0):
            raise RuntimeError(f"unexpected passes: {first.line()} / {second.line()}")
        # Cold: the k candidates' pages (c = k) and k status changes (their ids known from
        # the pages). After: the k changed tickets are read again (now in the nudge's scope,
        # which needs their conversation) and nothing is due. Then nothing changed.
        if (cold, after, steady) != (FIXED + 2 * k, FIXED + k, FIXED):
            raise RuntimeError(f"formula broken at N={n}: {cold}, {after}, {steady}")
        rows.append(
            PassCounts(
                n=n,
                k=k,
                cold=cold,
                after=after,
                steady=steady,
                steady_pages=third.pages_read,
                formula_cold="11+c+k (c=k)",
                formula_after="11+k (the k changed tickets read again)",
            )
        )
    return rows


if __name__ == "__main__":
    for row in pass_counts((100, 1_000, 10_000), due_fraction=0.1):
        print(row)
