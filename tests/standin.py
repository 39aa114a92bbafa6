"""A small stateful stand-in for a desk, for the automation runner's crash and fault tests.

It keeps tickets as the staff panel would (status, assignee, priority, department, thread),
answers "already so" like the desk, counts every change it receives, and can be told to die
(a `Crash`, standing for SIGKILL) or to fail at a chosen call, before or after it acts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from osticket_client import (
    ActionResult,
    Choice,
    OutcomeUnknown,
    ThreadEntry,
    Ticket,
    TicketLocked,
    TicketNotFound,
    TicketSummary,
)
from osticket_client._tickets import EntryType

STATUSES = {
    "Open": "open",
    "Work in Progress": "open",
    "Pending": "open",
    "Resolved": "closed",
    "Closed": "closed",
}


class Crash(BaseException):
    """The process dies here (nothing after this line of the runner runs)."""


@dataclass
class FakeTicket:
    number: str
    subject: str
    customer: str
    created: datetime
    status: str = "Open"
    agent: str | None = None
    team: str | None = None
    priority: str = "Normal"
    department: str = "Support"
    topic: str | None = None
    sla_due: datetime | None = None
    reopen_count: int = 0
    thread: list[ThreadEntry] = field(default_factory=list)


@dataclass
class Fault:
    """At the `call`-th change the desk receives (or the first of `kind`): die or raise,
    before or after acting."""

    call: int | None
    when: str  # "before" | "after"
    error: BaseException
    kind: str | None = None

    def hits(self, call: int, kind: str, when: str) -> bool:
        return self.when == when and (self.call == call or self.kind == kind)


class StandInDesk:
    """Enough of `OsTicket` for `automations.Pass`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.tickets: dict[str, FakeTicket] = {}
        self.changes: Counter[tuple[str, str, str]] = Counter()  # (number, kind, value)
        self.calls = 0
        self.faults: list[Fault] = []
        self.pages_read = 0
        self._next_id = 100

    # -- building a desk -------------------------------------------------------------------

    def add(self, number: str, subject: str, customer: str, age: timedelta, **kw: object) -> None:
        ticket = FakeTicket(number, subject, customer, self.now - age, **kw)  # type: ignore[arg-type]
        self.tickets[number] = ticket
        self.entry(number, "message", customer, f"{subject}: please help", age)

    def entry(self, number: str, kind: EntryType, author: str, body: str, age: timedelta) -> None:
        self._next_id += 1
        self.tickets[number].thread.append(
            ThreadEntry(
                id=self._next_id,
                type=kind,
                author=author,
                created=self.now - age,
                body=body,
            )
        )

    # -- reading ---------------------------------------------------------------------------

    def statuses(self) -> list[Choice]:
        return [Choice(id=i, name=n, state=s) for i, (n, s) in enumerate(STATUSES.items(), 1)]

    def list_tickets(self, queue: int = 1) -> Iterator[TicketSummary]:
        return iter(
            [
                TicketSummary(
                    number=t.number,
                    created=t.created,
                    subject=t.subject,
                    from_name=t.customer,
                    priority=t.priority,
                    department=t.department,
                    help_topic=t.topic,
                    status=t.status,
                    sla_due=t.sla_due,
                    agent=t.agent,
                    team=t.team,
                    answered=bool(t.thread) and t.thread[-1].type == "response",
                    thread_count=len(t.thread),
                    reopen_count=t.reopen_count,
                )
                for t in self.tickets.values()
                if STATUSES[t.status] == "open"
            ]
        )

    def get_ticket(self, number: str) -> Ticket:
        if number not in self.tickets:
            raise TicketNotFound(f"no ticket #{number}")
        self.pages_read += 1
        t = self.tickets[number]
        return Ticket(
            number=t.number,
            ticket_id=int(t.number),
            subject=t.subject,
            status=t.status,
            state=STATUSES[t.status],
            user_name=t.customer,
            thread=tuple(t.thread),
        )

    # -- changing --------------------------------------------------------------------------

    def _change(self, number: str, kind: str, value: str, already: bool) -> ActionResult:
        self.calls += 1
        self._fail(kind, "before")
        if already:
            result = ActionResult(changed=False, message=f"already {value}")
        else:
            self.changes[(number, kind, value)] += 1
            self._apply(number, kind, value)
            result = ActionResult(changed=True, message=f"{kind} {value}")
        self._fail(kind, "after")
        return result

    def _fail(self, kind: str, when: str) -> None:
        for fault in self.faults:
            if fault.hits(self.calls, kind, when):
                self.faults.remove(fault)  # each fault strikes once
                raise fault.error

    def _apply(self, number: str, kind: str, value: str) -> None:
        t = self.tickets[number]
        if kind == "assign_agent":
            t.agent = value
        elif kind == "assign_team":
            t.team = value
        elif kind == "set_status":
            t.status = value
        elif kind == "set_priority":
            t.priority = value
        elif kind == "transfer":
            t.department = value
        elif kind == "reply":
            self.entry(number, "response", "Automation", value, timedelta(0))
        else:
            self.entry(number, "note", "Automation", value, timedelta(0))

    def assign(
        self,
        number: str,
        *,
        agent: str | None = None,
        team: str | None = None,
        comment: str | None = None,
    ) -> ActionResult:
        t = self.tickets[number]
        if agent is not None:
            return self._change(number, "assign_agent", agent, t.agent == agent)
        return self._change(number, "assign_team", team or "", t.team == team)

    def set_status(self, number: str, status: str, comment: str | None = None) -> ActionResult:
        return self._change(number, "set_status", status, self.tickets[number].status == status)

    def transfer(self, number: str, department: str, comment: str | None = None) -> ActionResult:
        t = self.tickets[number]
        return self._change(number, "transfer", department, t.department == department)

    def set_priority(self, number: str, priority: str) -> ActionResult:
        t = self.tickets[number]
        return self._change(number, "set_priority", priority, t.priority == priority)

    def reply(self, number: str, text: str, *, html: bool = False) -> ActionResult:
        return self._change(number, "reply", text, False)

    def add_note(
        self, number: str, text: str, *, html: bool = False, title: str | None = None
    ) -> ActionResult:
        return self._change(number, "note", text, False)


def lost_answer() -> OutcomeUnknown:
    return OutcomeUnknown("the answer was lost; the reply may have been posted")


def locked() -> TicketLocked:
    return TicketLocked("Currently locked by Vera Viewer")
