"""One automation pass: read the desk cheaply, plan, then execute once-only under caps.

What is trusted where: a "done" in the ledger is trusted; what the ledger lacks, the desk
decides. Notes, and the comments sent with status changes, assignments and transfers, end
with an agent-visible marker of the action's once-only key (`_model.marker`); a reply (a
nudge, a timed rule's reply: it must carry nothing a customer could read) is known by being a
response of the automation's own agent after what armed the rule. Just before a reply or note
is sent the ticket is read again and its rule planned again (a timed rule on the fresh page;
an event rule's action is only looked for), so a second ledger, a copied rules file or a
second machine cannot send it twice. A notification leaves nothing on the desk: it is never
sent again once its answer was lost. A priority change leaves no trace on the ticket: with
a new ledger it may be applied again (to the value it already has, which the desk answers as
"already so"). An outcome left unknown is settled by the next run by reading the ticket,
never by sending again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from osticket_client import (
    ActionResult,
    Choice,
    ConnectError,
    OsTicketError,
    OutcomeUnknown,
    ServerError,
    ThreadEntry,
    Ticket,
    TicketLocked,
    TicketNotFound,
    TicketSummary,
    TransportError,
)
from osticket_client._pages import plain_text, readable_text

from ._audit import AuditLog
from ._events import Event, EventStore, detect, links_of
from ._ledger import Ledger, LedgerRow, TicketMemory
from ._model import (
    ConversationEntry,
    Decision,
    MemoryHistory,
    PlannedAction,
    TicketSnapshot,
    automation_responded,
    marked_keys,
    marker,
    rule_id_of,
)
from ._notify import Sender, body_text
from ._planner import needs_conversation, plan
from ._rules import EventRule, RulesFile, TimedRule
from ._timed import needs_page, plan_rules, status_entered

__all__ = [
    "REPEAT_SAFE",
    "Desk",
    "Pass",
    "RunSummary",
    "conversation_of",
    "listing_note",
    "marks_of",
    "signature_of",
    "snapshot_of",
]

# Sending these twice leaves the ticket as sending them once would.
REPEAT_SAFE = frozenset({"assign_agent", "assign_team", "set_status", "set_priority", "transfer"})
# The listing's field each repeat-safe action changes, for the audit log's before -> after.
_FIELD_OF = {
    "assign_agent": "agent",
    "assign_team": "team",
    "set_status": "status",
    "set_priority": "priority",
    "transfer": "department",
}
# Without the newest entry id the pass knew, how far before its intent a reply or note found
# on the ticket may be dated (the desk's clock may lag the runner's).
_SKEW = timedelta(minutes=15)


def signature_of(row: TicketSummary) -> str:
    """What must stay the same for a ticket's remembered conversation to still hold."""
    parts = (
        row.status,
        row.agent,
        row.team,
        row.department,
        row.priority,
        row.sla_plan,
        row.sla_due,
        row.due_date,
        row.answered,
        row.thread_count,
        row.reopen_count,
    )
    return "|".join("" if p is None else str(p) for p in parts)


_CONVERSATION: dict[str, Literal["M", "R"]] = {"message": "M", "response": "R"}


def conversation_of(ticket: Ticket, automation: str | None = None) -> tuple[ConversationEntry, ...]:
    """The ticket's messages (M) and responses (R) in thread order; notes are left out.

    Thread order is by the time an entry was posted (an agent's edit makes a new entry with a
    higher id and the same time), then by id. Responses by the agent named `automation` are
    marked `automated`.
    """
    entries = [
        ConversationEntry(
            id=e.id,
            kind=_CONVERSATION[e.type],
            created=e.created,
            author=e.author,
            text=readable_text(e.body),
            automated=e.type == "response" and automation is not None and e.author == automation,
        )
        for e in ticket.thread
        if e.type in _CONVERSATION
    ]
    entries.sort(key=lambda e: (e.created, e.id))
    return tuple(entries)


def marks_of(ticket: Ticket) -> dict[str, datetime]:
    """The once-only keys the ticket's notes carry as markers, each with its note's time."""
    marks: dict[str, datetime] = {}
    for entry in ticket.thread:
        if entry.type == "note" and "[auto:" in entry.body:
            for key in marked_keys(ticket.number, entry.body):
                marks.setdefault(key, entry.created)
    return marks


def snapshot_of(ticket: Ticket, automation: str | None = None) -> TicketSnapshot:
    """A snapshot from a ticket page alone (for rendering a nudge for one ticket)."""
    summary = TicketSummary(
        number=ticket.number,
        created=ticket.created,
        subject=ticket.subject,
        from_name=ticket.user_name,
        from_email=ticket.user_email,
        status=ticket.status,
        priority=ticket.priority,
        department=ticket.department,
        help_topic=ticket.help_topic,
        source=ticket.source,
        agent=ticket.assigned_agent,
        team=ticket.assigned_team,
    )
    return TicketSnapshot(
        summary=summary,
        state=ticket.state,
        conversation=conversation_of(ticket, automation),
        customer_name=ticket.user_name,
        marks=marks_of(ticket),
        status_since=status_entered(ticket),
    )


def _listing_key(rule: object) -> tuple[object, ...] | None:
    """Which bounded listing a timed rule reads (None: the pass's own)."""
    if not isinstance(rule, TimedRule):
        return None
    if rule.queue is not None:
        return ("queue", rule.queue)
    if rule.updated_within is not None and rule.when.status is not None:
        return ("search", tuple(sorted(rule.when.status)), rule.updated_within.delta)
    return None


class Desk(Protocol):
    """What a pass needs of a desk: `OsTicket` (and the tests' stand-in)."""

    url: str

    def me(self) -> Choice: ...
    def ticket_ids(self) -> dict[str, int]: ...
    def remember_ticket_ids(self, ids: Mapping[str, int]) -> None: ...
    def statuses(self) -> list[Choice]: ...
    def list_tickets(self, queue: int = 1) -> Iterator[TicketSummary]: ...
    def search_tickets(
        self, *, status: list[str], updated_since: timedelta
    ) -> Iterator[TicketSummary]: ...
    def get_ticket(self, number: str) -> Ticket: ...
    def assign(
        self,
        number: str,
        *,
        agent: str | None = None,
        team: str | None = None,
        comment: str | None = None,
    ) -> ActionResult: ...
    def set_status(self, number: str, status: str, comment: str | None = None) -> ActionResult: ...
    def transfer(
        self, number: str, department: str, comment: str | None = None
    ) -> ActionResult: ...
    def set_priority(self, number: str, priority: str) -> ActionResult: ...
    def reply(
        self, number: str, text: str, *, html: bool = False, status: str | None = None
    ) -> ActionResult: ...
    def add_note(
        self, number: str, text: str, *, html: bool = False, title: str | None = None
    ) -> ActionResult: ...


@dataclass
class RunSummary:
    """What one pass did; `exit_code` is 0 when nothing failed and no outcome is unknown.

    `found`: actions the ledger lacked but the ticket showed as done (recorded, not sent).
    `listing_seconds` is how long the queue's listing took; `every_seconds` the `--every`
    interval the pass ran under (None when run once, e.g. from cron).
    """

    run_id: str
    tickets: int = 0
    pages_read: int = 0
    planned: int = 0
    done: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    found: int = 0
    reconciled: int = 0
    capped: int = 0
    stopped: str | None = None
    listing_seconds: float | None = None
    every_seconds: float | None = None

    @property
    def exit_code(self) -> int:
        return 0 if not (self.failed or self.unknown or self.stopped) else 1

    def line(self) -> str:
        """The one summary line a run prints."""
        counts = ", ".join(f"{k} {v}" for k, v in asdict(self).items() if k not in _NOT_COUNTS)
        note = listing_note(self.listing_seconds, self.every_seconds)
        return (
            f"run {self.run_id}: {counts}"
            + (f"; {note}" if note else "")
            + (f"; stopped: {self.stopped}" if self.stopped else "")
        )


_NOT_COUNTS = ("run_id", "stopped", "listing_seconds", "every_seconds")


def listing_note(seconds: float | None, every: float | None) -> str:
    """How long a pass's listing took, and whether it alone outlasted the `--every` interval."""
    if seconds is None:
        return ""
    note = f"listing took {seconds:.1f} s"
    if every is not None and seconds > every:
        # --every takes whole minutes, hours or days.
        note += f", longer than --every {every / 60:g}m: `osticket doctor` looks into it"
    return note


@dataclass
class Pass:
    """A pass against one desk with one rules file and its ledger and audit log.

    Args:
        desk: the client (with an agent login: the automation's own, dedicated agent).
        rules: the validated rules file.
        ledger: the once-only ledger (migrated to this rules file's ids on creation).
        audit: where every action is logged.
        clock: the current time (aware); injected so tests and `--at` can pin it.
        should_stop: checked between actions (a graceful SIGTERM).
        every: the `--every` interval in seconds, if any (recorded with the run).
        timer: seconds from a monotonic clock, to time the listing; injected by tests.
        progress: told (pages read, pages to read) while the pass reads ticket pages.
        report: told each action's outcome (done, failed, skipped, unknown) as it is settled.
        readers: how many ticket pages are read at a time (one agent session).
    """

    desk: Desk
    rules: RulesFile
    ledger: Ledger
    audit: AuditLog
    clock: Callable[[], datetime]
    should_stop: Callable[[], bool] = lambda: False
    every: float | None = None
    timer: Callable[[], float] = time.monotonic
    progress: Callable[[int, int], None] = lambda read, to_read: None
    report: Callable[[PlannedAction, str], None] = lambda action, outcome: None
    readers: int = 4
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    notifiers: Mapping[str, str] = field(default_factory=dict, repr=False)  # name -> URL
    sender: Sender | None = None
    _listed: dict[str, TicketSnapshot] = field(default_factory=dict, init=False, repr=False)
    _pages: dict[str, Ticket] = field(default_factory=dict, init=False, repr=False)  # this pass's
    _born: datetime | None = field(default=None, init=False, repr=False)  # the ledger's start
    _agent: Choice | None = field(default=None, init=False, repr=False)
    _audit_error: str | None = field(default=None, init=False, repr=False)
    _orphans: set[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.ledger.migrate(self.rules)

    # -- the automation's agent ----------------------------------------------------------

    def agent(self) -> Choice:
        """The agent this pass acts as (read once): its responses are the automation's."""
        if self._agent is None:
            self._agent = self.desk.me()
        return self._agent

    def shared_agent_warnings(self) -> list[str]:
        """Why the agent looks shared with people (work is assigned to it), if it does."""
        name = self.agent().name.casefold()
        return [
            f"agent {self.agent().name!r} is also an assignee of rule {rule.name!r}: use a"
            " dedicated agent for automations (its responses count as the automation's nudges)"
            for rule in self.rules.rules
            if name in (n.casefold() for n in self.rules.names_of(rule)["agent"])
        ]

    def _adopt(
        self, done: Mapping[str, datetime], *, ledger: bool = False
    ) -> Mapping[str, datetime]:
        """`done` plus, for work under a rule id no rule has (a rule renamed without keeping
        its `id`), the same key under each rule's id: a renamed rule does not act again.

        `ledger`: `done` is the ledger's history, scanned only when the ledger holds such ids
        (asked once a pass: most have none, and a large history is then left as it is).
        """
        known = {rule.rule_id for rule in self.rules.rules}
        if ledger:
            if self._orphans is None:
                self._orphans = self.ledger.rule_ids() - known
            if not self._orphans:
                return done
        orphans = [(key, at) for key, at in done.items() if rule_id_of(key) not in known]
        if not orphans:
            return done
        adopted = dict(done)
        for key, at in orphans:
            rest = key.split("|", 1)[1]
            for rule_id in known:
                adopted.setdefault(f"{rule_id}|{rest}", at)
        return adopted

    # -- reading -------------------------------------------------------------------------

    def snapshots(
        self,
        now: datetime,
        summary: RunSummary,
        *,
        remember: bool,
        rows: Iterable[TicketSummary] | None = None,
    ) -> list[TicketSnapshot]:
        """The queue's tickets, each with its conversation where a rule needs it.

        A ticket page is read only when the ticket's listing signature changed since the
        last pass and a rule cannot decide from the listing alone (`needs_conversation`, or
        a timed rule's status time): a pass where nothing changed reads none. Pages are
        read by number, `readers` at a time; the ledger's memory is read in one query.
        """
        states = self._states()
        automation = self.agent().name
        if rows is None:
            started = self.timer()
            rows = list(self.desk.list_tickets(self.rules.settings.queue))
            summary.listing_seconds = round(self.timer() - started, 2)
        rows = list(rows)
        memories = self.ledger.tickets(row.number for row in rows)
        # Who the automation is decides which entries are its own: part of what must hold.
        signatures = {row.number: f"{automation}|{signature_of(row)}" for row in rows}
        to_read: list[str] = []
        for row in rows:
            state = states.get(row.status or "")
            memory = memories.get(row.number)
            timed = needs_page(self.rules, row, state, now)
            if memory is not None and (
                memory.signature != signatures[row.number]
                # remembered by a ledger from before timed rules: no status time kept
                or (timed and memory.status_since is None)
            ):
                del memories[row.number]
                memory = None
            if memory is None and (timed or needs_conversation(self.rules, row, state, now)):
                to_read.append(row.number)
        read = {
            number: TicketMemory(
                signature=signatures[number],
                conversation=conversation_of(ticket, automation),
                customer_name=ticket.user_name,
                marks=marks_of(ticket),
                status_since=status_entered(ticket),
            )
            for number, ticket in self._read_pages(to_read)
            if ticket is not None
        }
        unread = set(to_read).difference(read)
        summary.pages_read += len(read)
        if remember:
            self.ledger.remember(read)
        memories.update(read)
        snapshots = []
        for row in rows:
            if row.number in unread:
                continue  # closed or moved out of the agent's sight since the listing
            memory = memories.get(row.number)
            snapshots.append(
                TicketSnapshot(
                    summary=row,
                    state=states.get(row.status or ""),
                    conversation=memory.conversation if memory else None,
                    customer_name=memory.customer_name if memory else row.from_name,
                    marks=self._adopt(memory.marks) if memory else {},
                    status_since=memory.status_since if memory else None,
                )
            )
        summary.tickets += len(snapshots)
        return snapshots

    def _read_pages(self, numbers: Sequence[str]) -> Iterator[tuple[str, Ticket | None]]:
        """Each ticket's page (None: gone), read `readers` at a time, in order, with progress."""

        def read(number: str) -> Ticket | None:
            try:
                return self._page(number)
            except TicketNotFound:
                return None

        self.progress(0, len(numbers))
        if not numbers:
            return
        # One agent session reads pages concurrently: osTicket keeps its sessions in its
        # database, without PHP's per-session file lock (measured in the README's Speed).
        with ThreadPoolExecutor(max_workers=max(1, self.readers)) as pool:
            answers = zip(numbers, pool.map(read, numbers), strict=True)
            for done, answer in enumerate(answers, 1):
                self.progress(done, len(numbers))
                yield answer

    def _learn_ids(self, actions: Sequence[PlannedAction]) -> None:
        """Read, `readers` at a time, the pages of tickets these actions go to whose internal
        id the client does not know (not read this pass, not kept from an earlier one): the
        actions would read them one by one. Replies and notes are left out: their ticket is
        read again just before sending (`_check`), which teaches the id; a notification goes
        to no ticket."""
        known = self.desk.ticket_ids()
        unknown = list(
            dict.fromkeys(
                a.number
                for a in actions
                if a.kind not in ("reply", "note", "notify") and a.number not in known
            )
        )
        for _ in self._read_pages(unknown):
            pass

    @property
    def listed(self) -> frozenset[str]:
        """The numbers of the tickets the last `decide` listed."""
        return frozenset(self._listed)

    def _page(self, number: str) -> Ticket:
        """A ticket page, read at most once a pass (planning and event detection share it)."""
        page = self._pages.get(number)
        if page is None:
            page = self._pages[number] = self.desk.get_ticket(number)
        return page

    def _states(self) -> dict[str, str | None]:
        return {c.name: c.state for c in self.desk.statuses()}

    def _listing(self, rule: TimedRule) -> Iterator[TicketSummary]:
        """The tickets of a timed rule that names where they come from (bounded listings).

        A rule about closed-state statuses (their tickets are not in the Open queue) names a
        queue of its own (e.g. an admin's "Resolved, closed in the last 30 days") or has the
        desk search for its statuses updated within a while: never the whole Closed queue.
        """
        if rule.queue is not None:
            return self.desk.list_tickets(rule.queue)
        assert rule.updated_within is not None and rule.when.status is not None
        return self.desk.search_tickets(
            status=list(rule.when.status), updated_since=rule.updated_within.delta
        )

    def decide(
        self,
        now: datetime,
        summary: RunSummary,
        *,
        remember: bool = False,
        explain: bool = True,
        confirm: bool = True,
    ) -> list[Decision]:
        """Plan against the desk as it is now (writes nothing but remembered conversations).

        With `confirm`, each reply or note the ledger does not know is checked on its ticket
        (read again) as a run would just before sending it: what the ticket shows as done, or
        no longer due, is not planned (`auto plan` agrees with `auto run`).
        """
        self.desk.remember_ticket_ids(self.ledger.ticket_ids(self.desk.url))
        snapshots = self.snapshots(now, summary, remember=remember)
        self._listed = {s.summary.number: s for s in snapshots}
        extra = self._rule_listings(now, summary, remember=remember)
        store = EventStore(self.ledger.path)
        try:
            events = self._events(store, snapshots, now, detecting=remember)
            self._born = store.born(now, record=remember)
        finally:
            store.close()
        sent = self.ledger.history(set(self._listed).union(e.number for e in events))
        history = MemoryHistory(self._adopt(sent.done, ledger=True), sent.counts)
        decisions = plan(self.rules, snapshots, now, history, explain=explain)
        decisions += self._plan_rules(
            self.rules,
            lambda rule: extra.get(_listing_key(rule) or (), snapshots),
            events,
            now,
            history,
            explain=explain,
        )
        if not confirm:
            return decisions
        confirmed = []
        for decision in decisions:
            action = decision.action
            if action is not None and action.kind in ("reply", "note"):
                verdict, _ = self._check(action, now)
                if verdict != "due":
                    decision = decision._replace(action=None, reason=_VERDICTS[verdict])
            confirmed.append(decision)
        return confirmed

    def _plan_rules(
        self,
        rules: RulesFile,
        listings: Callable[[TimedRule], Sequence[TicketSnapshot]],
        events: Sequence[Event],
        now: datetime,
        history: MemoryHistory,
        *,
        explain: bool,
    ) -> list[Decision]:
        """The timed and event rules' decisions (`_timed.plan_rules`) as this pass sees them."""
        listed = self._listed
        return plan_rules(
            rules,
            listings,
            events,
            now,
            history,
            self._born or now,
            link=links_of(self.desk),
            explain=explain,
            automation=self.agent().name,
            marks=lambda number: listed[number].marks if number in listed else {},
        )

    def _rule_listings(
        self, now: datetime, summary: RunSummary, *, remember: bool
    ) -> dict[tuple[object, ...], list[TicketSnapshot]]:
        """The bounded listings timed rules name for themselves, each read once a pass."""
        listings: dict[tuple[object, ...], list[TicketSnapshot]] = {}
        for rule in self.rules.rules:
            key = _listing_key(rule)
            if key is None or key in listings or not rule.enabled:
                continue
            assert isinstance(rule, TimedRule)
            rows = self._listing(rule)
            listings[key] = self.snapshots(now, summary, remember=remember, rows=rows)
            for snapshot in listings[key]:
                self._listed.setdefault(snapshot.summary.number, snapshot)
        return listings

    def _events(
        self,
        store: EventStore,
        snapshots: Sequence[TicketSnapshot],
        now: datetime,
        *,
        detecting: bool,
    ) -> list[Event]:
        """The events of the outbox's window; a run first adds what changed since the last one.

        Only when an enabled event rule exists: detection keeps its memory in the ledger file
        (tables of its own). `auto plan` shows the events the last run found.
        """
        if not any(isinstance(r, EventRule) and r.enabled for r in self.rules.rules):
            return []
        if detecting:
            rows = [(s.summary, s.state) for s in snapshots]
            detect(store, rows, self._page, now, links_of(self.desk))
        return store.recent(now)

    def _check(self, action: PlannedAction, now: datetime) -> tuple[str, datetime | None]:
        """Read the ticket again and plan its rule again: "due", "found" (with when) or "gone".

        An event rule's action is not planned again (its event happened): only looked for.

        Raises:
            OsTicketError: the ticket could not be read.
        """
        try:
            ticket = self.desk.get_ticket(action.number)
        except TicketNotFound:
            return "gone", None
        found = self._found(action, ticket)
        if found is not None:
            return "found", found
        listed = self._listed.get(action.number)
        rule = next(r for r in self.rules.rules if r.rule_id == rule_id_of(action.key))
        if listed is None or isinstance(rule, EventRule):
            return "due", None
        fresh = replace(
            listed,
            conversation=conversation_of(ticket, self.agent().name),
            marks=self._adopt(marks_of(ticket)),
            status_since=status_entered(ticket),
        )
        history = MemoryHistory(self._adopt(self.ledger.history([action.number]).done, ledger=True))
        one = self.rules.model_copy(update={"rules": (rule,)})
        if isinstance(rule, TimedRule):
            again = self._plan_rules(one, lambda r: [fresh], (), now, history, explain=False)
        else:
            again = plan(one, [fresh], now, history, explain=False)
        if any(d.action is not None and d.action.key == action.key for d in again):
            return "due", None
        return "gone", None

    def _found(self, action: PlannedAction | LedgerRow, ticket: Ticket) -> datetime | None:
        """When the ticket shows this action done: its marker, or for a reply (which carries
        none) the automation's response after what armed the rule."""
        marks = self._adopt(marks_of(ticket))
        if action.key in marks:
            return marks[action.key]
        since = _armed_at(action.key, ticket) if action.kind == "reply" else None
        if since is None:
            return None
        return automation_responded(conversation_of(ticket, self.agent().name), since)

    # -- running -------------------------------------------------------------------------

    def run(self, *, max_actions: int | None = None, dry_run: bool = False) -> RunSummary:
        """Settle what the last run left open, then plan and execute under the caps.

        Raises:
            UnwritableFile: the audit log cannot be written (checked before anything is sent).
        """
        self.audit.check()
        summary = RunSummary(self.run_id, every_seconds=self.every)
        started = self.clock()
        self.ledger.start_run(self.run_id, started)
        try:
            if not dry_run:
                self.reconcile(summary)
            decisions = self.decide(
                self.clock(), summary, remember=not dry_run, explain=False, confirm=dry_run
            )
            actions = [d.action for d in decisions if d.action is not None]
            summary.planned = len(actions)
            if not dry_run:
                try:
                    cap = self.rules.settings.max_actions if max_actions is None else max_actions
                    self._learn_ids(actions[:cap])
                    self._execute(actions, summary, max_actions)
                finally:
                    # The listed tickets' ids, so the next pass acts with no lookup.
                    ids = self.desk.ticket_ids()
                    self.ledger.keep_ticket_ids(
                        self.desk.url, {n: ids[n] for n in self._listed if n in ids}
                    )
        except OsTicketError as exc:
            summary.stopped = f"error: {exc}"  # for `auto status`: why this run ended
            raise
        finally:
            if self._audit_error is not None and summary.stopped is None:
                summary.stopped = self._audit_error
            self.ledger.finish_run(self.run_id, self.clock(), asdict(summary))
            agent = self._agent.name if self._agent is not None else None
            self._log(
                {
                    "time": self.clock(),
                    "run_id": self.run_id,
                    "event": "run",
                    "agent": agent,
                    **asdict(summary),
                }
            )
        return summary

    def _log(self, record: dict[str, object]) -> None:
        """Append to the audit log; a failure stops the run (the ledger keeps the truth)."""
        try:
            self.audit.write(record)
        except OSError as exc:
            self._audit_error = f"audit log unwritable: {exc.strerror or exc}"

    def _execute(
        self, actions: Sequence[PlannedAction], summary: RunSummary, max_actions: int | None
    ) -> None:
        settings = self.rules.settings
        cap = settings.max_actions if max_actions is None else max_actions
        failures_in_a_row = 0
        sent = 0
        for action in actions:
            if self.should_stop():
                summary.stopped = "asked to stop"
                return
            if self._audit_error is not None:
                summary.stopped = self._audit_error
                return
            now = self.clock()
            if sent >= cap or (
                self.ledger.sent_today(action.number, now)
                >= settings.max_actions_per_ticket_per_day
            ):
                summary.capped += 1
                continue
            state = self._send(action, summary)
            sent += state not in ("found", "gone")  # only what was sent counts against the cap
            failures_in_a_row = failures_in_a_row + 1 if state in ("failed", "unknown") else 0
            if failures_in_a_row >= settings.stop_after_failures:
                summary.stopped = f"{failures_in_a_row} failures in a row"
                return

    def _send(self, action: PlannedAction, summary: RunSummary) -> str:
        """Record the intent, send, record the outcome; returns the state it ended in ("found"
        and "gone": not sent).

        A reply or note is first checked on its ticket, read again just now: one the ticket
        already shows is recorded as done and not sent; one no longer due is left alone.
        """
        seen = self._listed.get(action.number)
        known = seen.conversation if seen is not None else None
        after = max((e.id for e in known), default=None) if known else None
        if action.kind in ("reply", "note"):
            try:
                verdict, when = self._check(action, self.clock())
            except OsTicketError as exc:
                self.ledger.intend(action, self.run_id, self.clock(), after)
                return self._settle(action, "failed", f"could not read the ticket: {exc}", summary)
            if verdict == "gone":
                return "gone"
            if verdict == "found":
                self.ledger.intend(action, self.run_id, when or self.clock(), after)
                summary.found += 1
                self._settle(action, "done", _VERDICTS["found"], None, reported="found")
                return "found"
        self.ledger.intend(action, self.run_id, self.clock(), after)
        if action.kind == "notify":
            return self._notify(action, summary)
        try:
            result = self._perform(action)
        except TicketLocked as exc:
            return self._settle(action, "skipped", str(exc), summary)
        except ConnectError as exc:  # never reached the desk
            return self._settle(action, "failed", str(exc), summary)
        except (OutcomeUnknown, TransportError, ServerError) as exc:
            # Sent, and the answer lost (a timeout, a broken connection, a gateway's 5xx):
            # the next run reads the ticket to settle it.
            return self._settle(action, "unknown", str(exc), summary)
        except OsTicketError as exc:
            return self._settle(action, "failed", str(exc), summary)
        if not result.changed:
            summary.unchanged += 1
        return self._settle(action, "done", result.message, summary)

    def _notify(self, action: PlannedAction, summary: RunSummary) -> str:
        """Post a notification (already recorded as intended) and record how it ended."""
        url = self.notifiers.get(action.notifier or "")
        if url is None:
            message = f"notifier {action.notifier}: no webhook URL for this run"
            return self._settle(action, "failed", message, summary)
        if self.sender is None:
            self.sender = Sender()
        notifier = self.rules.notifiers[action.notifier or ""]
        outcome = self.sender.send(action.notifier or "", url, action.value, notifier.timeout)
        return self._settle(action, outcome.state, outcome.message, summary)

    def _settle(
        self,
        action: PlannedAction,
        state: str,
        message: str,
        summary: RunSummary | None,
        settles: str | None = None,
        reported: str | None = None,
    ) -> str:
        """Record an outcome (counted in `summary` when this run sent the action).

        `settles` is the run whose unknown outcome this settles, for the audit log;
        `reported` what `report` is told instead of the state (an action found done).
        """
        self.ledger.settle(action.key, state, self.clock(), message)
        self.report(action, reported or state)
        if summary is not None:
            setattr(summary, state, getattr(summary, state) + 1)
        record: dict[str, object] = {
            "time": self.clock(),
            "run_id": self.run_id,
            "rule": action.rule,
            "key": action.key,
            "ticket": action.number,
            "action": action.kind,
            "before": self._before(action),
            "after": action.value if action.kind in _FIELD_OF else None,
            "text": body_text(action.value) if action.kind == "notify" else None,
            "reason": action.reason,
            "outcome": state,
            "message": message,
        }
        if settles is not None:
            record["settles_run"] = settles
        self._log(record)
        return state

    def _before(self, action: PlannedAction) -> str | None:
        """What the listing showed of the field an action changes (None for replies, notes)."""
        seen = self._listed.get(action.number)
        field = _FIELD_OF.get(action.kind)
        return getattr(seen.summary, field) if seen is not None and field else None

    def _perform(self, action: PlannedAction) -> ActionResult:
        # The marker ends every note and every comment: agents see it, customers never do.
        mark = marker(action.key)
        comment = action.note
        if self.rules.settings.comment_actions:
            signed = f"Automated by rule '{action.rule}'."
            comment = f"{comment}\n{signed}" if comment else signed
        if comment:
            comment = f"{comment}\n{mark}"
        desk, number, value = self.desk, action.number, action.value
        if action.kind == "assign_agent":
            return desk.assign(number, agent=value, comment=comment)
        if action.kind == "assign_team":
            return desk.assign(number, team=value, comment=comment)
        if action.kind == "set_status":
            return desk.set_status(number, value, comment=comment)
        if action.kind == "transfer":
            return desk.transfer(number, value, comment=comment)
        if action.kind == "set_priority":
            return desk.set_priority(number, value)  # the field editor takes no comment
        if action.kind == "reply":
            if action.status is not None:
                return desk.reply(number, value, html=True, status=action.status)
            return desk.reply(number, value, html=True)
        note = f"{value}<p>{mark}</p>"
        return desk.add_note(number, note, html=True, title=f"Automation: {action.rule}")

    # -- reconciling ---------------------------------------------------------------------

    def reconcile(self, summary: RunSummary) -> None:
        """Settle every action a previous run left intended or unknown, before anything else.

        Nothing is sent again here: the ticket is read. An action it shows (its marker, the
        field already so, the automation's nudge, the note's text) is done; one it does not
        show is failed, and planned again like any due action if it still is.
        """
        for row in self.ledger.unsettled():
            if row.kind == "notify":
                # A notification leaves nothing on the desk to look for: one whose answer
                # never came is never sent again (`auto status` lists it).
                if row.state == "intended":
                    summary.reconciled += 1
                    message = "the run ended before the receiver answered: not sent again"
                    self._settle(row.action(), "unknown", message, None, settles=row.run_id)
                continue
            summary.reconciled += 1
            try:
                ticket = self.desk.get_ticket(row.number)
            except TicketNotFound:
                ticket = None
            except OsTicketError:
                summary.unknown += 1  # the desk could not be read: try again next run
                continue
            shown = self._shown(row, ticket) if ticket is not None else None
            # Settled from an earlier run's send: counted as reconciled only.
            self._settle(
                row.action(),
                "done" if shown else "failed",
                f"found on the ticket ({shown})"
                if shown
                else "not on the ticket: planned again if still due",
                None,
                settles=row.run_id,
            )

    def _shown(self, row: LedgerRow, ticket: Ticket) -> str | None:
        """How the ticket shows an action whose outcome is unknown, or None."""
        if self._found(row, ticket) is not None:
            return "its marker" if row.kind != "reply" else "the automation's response"
        field = _TICKET_FIELD.get(row.kind)
        if field is not None:
            return f"{field} is {row.value}" if getattr(ticket, field) == row.value else None
        return "its text" if self._posted(row, ticket) else None

    def _posted(self, row: LedgerRow, ticket: Ticket) -> bool:
        """A reply or note of the same text, posted after the intent (for marker-less ones)."""
        wanted = plain_text(row.value)[:80]
        kind = "response" if row.kind == "reply" else "note"

        def later(entry: ThreadEntry) -> bool:
            # Entry ids only grow: newer than what the pass knew is posted after the intent.
            # Without that id, the entry's time (allowing for the desk's clock) must do.
            if row.after_entry is not None:
                return entry.id > row.after_entry
            return entry.created >= row.intended_at - _SKEW

        return any(
            e.type == kind and later(e) and plain_text(e.body).startswith(wanted)
            for e in ticket.thread
        )


def _armed_at(key: str, ticket: Ticket) -> datetime | None:
    """The latest moment a once-only key names as its arming, on the desk's clock, or None:
    ``R@<time>``, ``M@<time>``, ``status:<status>@<time>``; ``created`` is the ticket's
    creation. (A key of an old ledger, ``R:<id>``, names none.)"""
    times = []
    for part in key.split("|")[2:]:
        if part == "created":
            times.extend([ticket.created] if ticket.created else [])
        elif "@" in part:
            try:
                times.append(datetime.fromisoformat(part.rpartition("@")[2]))
            except ValueError:
                continue
    return max(times, default=None)


# Why a reply or note the plan had is not sent after all.
_VERDICTS = {
    "found": "already on the ticket: recorded, not sent again",
    "gone": "no longer due on the ticket as it is now",
}
# The Ticket field that shows what a repeat-safe action set.
_TICKET_FIELD = {
    "assign_agent": "assigned_agent",
    "assign_team": "assigned_team",
    "set_status": "status",
    "set_priority": "priority",
    "transfer": "department",
}
