"""Planning: which automated actions are due on which tickets now, and why the others are not.

Pure functions of (rules, ticket snapshots, now, history): no desk, no ledger writes, no wall
clock. Each action carries a once-only key, ``<rule id>|<number>|<arming>|<step>``:

- auto_assign: ``<id>|<number>|assign|assign_agent`` (or ``|assign_team``).
- nudge_then_pending: ``<id>|<number>|R@<created>|reopen:<n>|nudge``, then ``...|pending`` and
  ``...|resolve``. ``<created>`` is when the response that armed the rule (the first agent's
  R after the latest M) was posted, and ``<n>`` the ticket's reopen count, so a new message or
  a reopen arms a new cycle while the nudge (an R by the automation) does not. An agent's edit
  of that response makes a new entry with a new id but the same created time: it re-arms
  nothing.
- sla_escalation: ``<id>|<number>|due:<due date>|level:<level>|<i>:<action key>`` for levels
  on the due date, ``<id>|<number>|created:<created>|level:<level>|<i>:<action key>`` for
  no_response levels (ISO 8601 in UTC, ``<i>`` the action's index in the level), so a new due
  date arms the levels again.
- lifecycle: ``<id>|<number>|R@<created>|set_status``, the latest agent's response.
- timed and event rules are planned by `_timed.plan_rules` (keys described there).

An action is done when the history (the ledger) says so, when the ticket's thread carries its
marker (`TicketSnapshot.marks`), or, for a reply (a nudge, a timed rule's reply), when the
automation's own agent responded after the arming entry. Entries by the automation's agent
never arm a rule.

A rule considers only the tickets in its scope (auto_assign: its help topic and department;
nudge_then_pending: its statuses, plus the pending status when it resolves; lifecycle: its
from_status; sla_escalation: every ticket); of those, closed ones get the reason "closed".

What the listing settles (the queue's CSV export), and when a ticket's page must be read
(`needs_conversation`; a page is read only when one enabled rule in the ticket's scope needs it):

===================================  ================================  =========================
rule                                 decided from the listing alone    page read (conversation)
===================================  ================================  =========================
auto_assign                          always: help topic, department,   never
                                     agent, team
lifecycle                            Thread Count <= 1 (the opening    otherwise, in from_status:
                                     message alone: no response)       the latest agent's response
nudge_then_pending                   Thread Count <= 1 (nothing to     otherwise, in scope: the
                                     nudge from); created (known) less arming response, its time,
                                     than the shortest step ago (*)    the automation's after it
sla_escalation, due-date levels      always: status, due date, SLA     never
                                     due, priority, assignee, dept.
sla_escalation, no_response levels   exempt status; creation unknown;  otherwise: whether an
                                     created less than the earliest    agent's response exists
                                     level ago (*); Thread Count <= 1  (the automation's own
                                     (no response: the levels act)     responses are none)
any rule                             a closed ticket: nothing acts
===================================  ================================  =========================

(*) nothing is due: each step or level counts from a time after creation (a response, an
earlier step), and business time never runs faster than the clock.

Answered settles nothing: a reply sets it, but so does "mark answered" with no response, and
a reopen clears it while our response is still the last word. Thread Count counts messages,
responses and notes (not hidden entries): 1 is the opening message alone, so no note or
comment carries a marker either (a page also gives the markers). Where the listing
alone is declared enough, the plan equals the plan made with the full conversation (a property
test, tests/test_properties.py, checks it on generated tickets).

Of the levels on one SLA time line (the due date, or creation for no_response) only the most
advanced one reached acts, so a ticket first seen long after its breach gets the breach actions,
not a stale "breach in 2 hours" note as well. Times in reasons are ISO 8601 in UTC.
"""

from __future__ import annotations

import gc
import html
import string
from collections import Counter
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from itertools import compress
from operator import attrgetter

from osticket_client import TicketSummary

from ._durations import Calendar, Duration, add_time, subtract_time, utc_iso
from ._model import (
    ActionKind,
    ConversationEntry,
    Decision,
    History,
    PlannedAction,
    TicketSnapshot,
    automation_responded,
)
from ._rules import (
    AutoAssignRule,
    EscalationLevel,
    EventRule,
    LifecycleRule,
    NudgeRule,
    Rule,
    RulesFile,
    SlaRule,
    TimedRule,
)

__all__ = ["needs_conversation", "plan", "render_nudge"]

UTC = timezone.utc

# A rule's verdict on one open ticket: it appends the Decisions that act to the list and
# returns None, or returns the reason nothing is due ("" when nobody will read it).
Decide = Callable[[TicketSnapshot, list[Decision]], "str | None"]
# Which tickets a rule is about: the listing fields it reads, and the values (one, or a tuple
# for several fields) that put a ticket in its scope.
Scope = tuple[tuple[str, ...], Container[object]]


@dataclass(frozen=True)
class _Context:
    """What a rule's planning reads besides the tickets."""

    now: datetime
    history: History
    calendar: Calendar | None
    explain: bool = True


# A reason, or one whose time is formatted only when the reason is shown.
_Reason = str | tuple[str, datetime]


def needs_conversation(
    rules: RulesFile, summary: TicketSummary, state: str | None, now: datetime
) -> bool:
    """True when some enabled rule cannot decide for this ticket without its conversation.

    The decision table is in this module's docstring.
    """
    if state == "closed":
        return False
    for rule in rules.rules:
        if isinstance(rule, (TimedRule, EventRule)):
            continue  # _timed.needs_page
        scope = _scope(rule)
        if not rule.enabled or (scope is not None and _reader(*scope[0])(summary) not in scope[1]):
            continue
        if isinstance(rule, AutoAssignRule) or _only_opening(summary):
            continue
        if isinstance(rule, LifecycleRule):
            return True
        if isinstance(rule, NudgeRule):
            # the nudge counts from a response, not from creation: unknown creation settles nothing
            if summary.created is None or not _too_recent(summary, _nudge_steps(rule), now):
                return True
        elif summary.status not in rule.exempt_statuses and not _too_recent(
            summary, [lvl.no_response for lvl in rule.levels], now
        ):
            return True
    return False


def _only_opening(summary: TicketSummary) -> bool:
    """The listing's Thread Count says the thread holds the opening message alone."""
    return summary.thread_count is not None and summary.thread_count <= 1


def _too_recent(summary: TicketSummary, waits: Sequence[Duration | None], now: datetime) -> bool:
    """Created less than the shortest of these waits ago (or creation unknown, or no waits):
    nothing counted from a time after creation can be due yet."""
    shortest = min((w.delta for w in waits if w is not None), default=None)
    return shortest is None or summary.created is None or now - summary.created < shortest


def _nudge_steps(rule: NudgeRule) -> list[Duration | None]:
    return [rule.nudge_after, rule.pending_after, rule.resolve_after]


def plan(
    rules: RulesFile,
    snapshots: Sequence[TicketSnapshot],
    now: datetime,
    history: History,
    *,
    explain: bool = True,
) -> list[Decision]:
    """Decide, for every enabled rule and each ticket in its scope, what is due now or why not.

    A rule's scope is the tickets it is about: its help topic (and department) for auto_assign,
    its statuses (and the pending status when it resolves) for nudge_then_pending, from_status
    for lifecycle, every ticket for sla_escalation. Tickets outside it get no Decision.

    Args:
        rules: the validated rules file.
        snapshots: the tickets of this pass.
        now: the planning instant (aware).
        history: what earlier runs did (the ledger).
        explain: keep the Decisions without an action (why nothing is due); a run, which
            needs only the actions, saves their cost on large desks.

    Raises:
        ValueError: `now` is naive.
    """
    if now.utcoffset() is None:
        raise ValueError(f"expected an aware datetime (with a UTC offset) for now, got {now}")
    # Planning allocates an object or two per rule and ticket and never a reference cycle. The
    # cycle collector would still traverse every live snapshot each time those allocations pile
    # up: a quarter to a half of the time on 100,000 tickets. So it rests during the pass.
    collecting = gc.isenabled()
    gc.disable()
    try:
        decisions: list[Decision] = []
        columns: dict[tuple[str, ...], list[object]] = {}  # scope fields, read once per plan
        for rule in rules.rules:
            if not rule.enabled or isinstance(rule, (TimedRule, EventRule)):
                continue  # planned by _timed.plan_rules
            scope = _scope(rule)
            if scope is None:
                considered: Sequence[TicketSnapshot] = snapshots
            else:
                fields, values = scope
                column = columns.get(fields)
                if column is None:
                    read = _reader(*fields)
                    column = columns[fields] = [read(s.summary) for s in snapshots]
                considered = list(compress(snapshots, map(values.__contains__, column)))
            context = _Context(now, history, rules.calendar_of(rule), explain)
            decide = _planner(rule, context, snapshots)
            if not explain:  # only the actions: decide() appends them
                for snapshot in considered:
                    if snapshot.state != "closed":
                        decide(snapshot, decisions)
                continue
            for snapshot in considered:
                reason = "closed" if snapshot.state == "closed" else decide(snapshot, decisions)
                if reason is not None:
                    decisions.append(Decision(rule.name, snapshot.summary.number, None, reason))
        return decisions
    finally:
        if collecting:
            gc.enable()


def _scope(rule: Rule) -> Scope | None:
    """The listing fields a rule is about and the values they take; None: every ticket."""
    if isinstance(rule, AutoAssignRule):
        if rule.department is None:
            return ("help_topic",), {rule.topic}
        return ("help_topic", "department"), {(rule.topic, rule.department)}
    if isinstance(rule, NudgeRule):
        statuses = set(rule.statuses)
        if rule.resolve_after is not None:
            statuses.add(rule.pending_status)  # where the resolve step waits
        return ("status",), statuses
    if isinstance(rule, LifecycleRule):
        return ("status",), {rule.from_status}
    return None


# The reader of a scope's fields (one value, or a tuple of them), made once per field list.
_reader = lru_cache(maxsize=None)(attrgetter)


def _planner(rule: Rule, context: _Context, snapshots: Sequence[TicketSnapshot]) -> Decide:
    if isinstance(rule, AutoAssignRule):
        return _assign_planner(rule, context, snapshots)
    if isinstance(rule, NudgeRule):
        return _nudge_planner(rule, context)
    if isinstance(rule, SlaRule):
        return _sla_planner(rule, context)
    if isinstance(rule, LifecycleRule):
        return _lifecycle_planner(rule, context)
    raise TypeError(f"{rule.type} rules are planned by _timed.plan_rules")


_new = tuple.__new__


def _done(context: _Context, key: str, snapshot: TicketSnapshot) -> datetime | None:
    """When an action was done, by the ledger or by its marker on the ticket; None: not done."""
    return context.history.done_at(key) or snapshot.marks.get(key)


def _act(
    rule: str,
    number: str,
    kind: ActionKind,
    value: str,
    reason: str,
    key: str,
    note: str | None = None,
) -> Decision:
    """A Decision with its action (the executor signs changes when comment_actions is on)."""
    # tuple.__new__ builds the named tuples without a Python-level __new__ call each: a plan
    # makes two per action, hundreds of thousands on a large desk.
    action = _new(PlannedAction, (rule, number, kind, value, reason, key, note, None, None))
    return _new(Decision, (rule, number, action, reason))


# auto_assign


def _assign_planner(
    rule: AutoAssignRule, context: _Context, snapshots: Sequence[TicketSnapshot]
) -> Decide:
    agents = rule.agents or ()
    kind: ActionKind = "assign_agent" if rule.team is None else "assign_team"
    turn = context.history.count_done(rule.rule_id)
    load: Counter[str] = Counter()
    if rule.strategy == "least_loaded":
        load.update(s.summary.agent for s in snapshots if s.state != "closed" and s.summary.agent)

    def pick() -> tuple[str, str]:
        """The assignee and why, advancing the round-robin turn or the load."""
        nonlocal turn
        if rule.team is not None:
            return rule.team, f"team {rule.team}"
        if rule.strategy == "fixed":
            return agents[0], agents[0]
        if rule.strategy == "round_robin":
            agent = agents[turn % len(agents)]
            turn += 1
            return agent, f"{agent} (round-robin turn {turn})"
        agent = min(agents, key=load.__getitem__)  # min keeps the first: ties go by listed order
        load[agent] += 1
        return agent, f"{agent} (least loaded, with {load[agent] - 1} open tickets)"

    def decide(snapshot: TicketSnapshot, out: list[Decision]) -> str | None:
        summary = snapshot.summary
        if summary.agent or summary.team:
            return f"already assigned to {' / '.join(filter(None, (summary.agent, summary.team)))}"
        key = f"{rule.rule_id}|{summary.number}|assign|{kind}"
        done = _done(context, key, snapshot)
        if done is not None:
            return f"assigned by this rule at {utc_iso(done)}; not again"
        value, whom = pick()
        reason = f"unassigned ticket with help topic {rule.topic}: to {whom}"
        out.append(_act(rule.name, summary.number, kind, value, reason, key))
        return None

    return decide


# nudge_then_pending


def _arming_response(conversation: Sequence[ConversationEntry]) -> ConversationEntry | None:
    """The first agent's R after the latest M (the automation's own R never arm), else None."""
    arming = None
    for entry in reversed(conversation):
        if entry.kind == "M":
            break
        if not entry.automated:
            arming = entry
    return arming


def render_nudge(rule: NudgeRule, snapshot: TicketSnapshot) -> str:
    """The rule's reminder for a ticket waiting on its customer, each value HTML-escaped.

    Raises:
        ValueError: the conversation was not read, or does not end with a response.
    """
    arming = _arming_response(snapshot.conversation or ())
    if arming is None:
        raise ValueError(f"ticket {snapshot.summary.number} is not waiting on the customer")
    return _render(rule, snapshot, arming)


@lru_cache(maxsize=64)
def _pieces(template: str) -> tuple[tuple[str, str | None], ...]:
    """A template's literal texts, each with the placeholder after it (None at the end).

    Parsed once: str.format parses its template on every call, which made it most of the cost
    of a nudge. Templates hold only bare placeholders (the rules file is checked for that).
    """
    return tuple((literal, field) for literal, field, _, _ in string.Formatter().parse(template))


def _render(rule: NudgeRule, snapshot: TicketSnapshot, arming: ConversationEntry) -> str:
    summary, escape = snapshot.summary, html.escape
    values = {
        "customer_name": escape(snapshot.customer_name or summary.from_name or ""),
        "number": escape(summary.number),
        "subject": escape(summary.subject),
        "question": escape(arming.text),
    }
    return "".join(
        [literal + values[field] if field else literal for literal, field in _pieces(rule.template)]
    )


def _nudge_planner(rule: NudgeRule, context: _Context) -> Decide:
    # Each step counts from when the previous one was done; the nudge from the arming response.
    steps = (
        ("nudge", rule.nudge_after, rule.statuses),
        ("pending", rule.pending_after, rule.statuses),
        ("resolve", rule.resolve_after, (rule.pending_status,)),
    )
    waits = _nudge_steps(rule)
    now, calendar, explain = context.now, context.calendar, context.explain

    def decide(snapshot: TicketSnapshot, out: list[Decision]) -> str | None:
        conversation = snapshot.conversation
        if conversation is None:
            if _only_opening(snapshot.summary):
                return "not waiting on the customer: only the opening message (listing)"
            if _too_recent(snapshot.summary, waits, now):
                return "no step can be due yet: created too recently (listing)"
            return "conversation not read"
        arming = _arming_response(conversation)
        if arming is None:
            last = (
                "none yet"
                if not conversation
                else "a message"
                if conversation[-1].kind == "M"
                else "the automation's own response"
            )
            return f"not waiting on the customer: the last conversation entry is {last}"
        summary = snapshot.summary
        number, status = summary.number, summary.status
        waiting = f"waiting on the customer since response {arming.id}"
        armed = f"R@{utc_iso(arming.created)}|reopen:{summary.reopen_count or 0}"
        base = f"{rule.rule_id}|{number}|{armed}|"
        anchor = arming.created
        for step, after, statuses in steps:
            if after is None:
                return f"{waiting}; set to {rule.pending_status}; no more steps"
            key = base + step
            done = _done(context, key, snapshot)
            if done is None and step == "nudge":
                done = automation_responded(conversation, arming.created)
            if done is not None:
                anchor = done
                continue
            if status not in statuses:
                return f"{waiting}; {step} waits for status {' or '.join(statuses)}"
            if not explain and now - anchor < after.delta:
                # Business time never runs faster than the clock: not due, and nobody reads
                # why, so the calendar walk and the reason are skipped.
                return ""
            at = add_time(anchor, after, calendar)
            if now < at:
                return f"{waiting}; {step} due at {utc_iso(at)}" if explain else ""
            reason = f"{waiting}; {step} due at {utc_iso(at)}"
            if step == "nudge":
                nudge = _render(rule, snapshot, arming)
                out.append(_act(rule.name, number, "reply", nudge, reason, key))
                return None
            target = rule.pending_status if step == "pending" else rule.resolve_status
            since = utc_iso(arming.created)
            note = f"No answer from the customer since {since}: set to {target} by rule {rule.name}"
            out.append(_act(rule.name, number, "set_status", target, reason, key, note))
            return None
        return f"{waiting}; set to {rule.resolve_status}; no more steps"

    return decide


# sla_escalation


# The TicketSummary field that shows what an action sets; notes always add something.
_SHOWN_AS = {"priority": "priority", "assign_agent": "agent", "assign_team": "team"}
_SHOWN_AS["transfer"] = "department"
_ACTION_KINDS: dict[str, ActionKind] = {
    "note": "note",
    "priority": "set_priority",
    "assign_agent": "assign_agent",
    "assign_team": "assign_team",
    "transfer": "transfer",
}


@dataclass(frozen=True)
class _Step:
    """One escalation action, prepared once per rule rather than once per ticket."""

    label: str  # "<index>:<action key>"
    key_end: str  # "|level:<level>|<label>": what follows the anchor in its once-only key
    kind: ActionKind
    value: str  # HTML for a note
    shown_as: str | None


@dataclass(frozen=True)
class _Level:
    """An escalation level: where it sits relative to its anchor, and its steps."""

    name: str
    offset: Duration | None  # None: at the anchor itself
    before: bool  # True: `offset` before the anchor
    steps: tuple[_Step, ...]
    shift: timedelta  # the signed offset in calendar time

    @classmethod
    def of(cls, level: EscalationLevel) -> _Level:
        steps = tuple(
            _Step(
                f"{i}:{action.key}",
                f"|level:{level.name}|{i}:{action.key}",
                _ACTION_KINDS[action.key],
                html.escape(action.value) if action.key == "note" else action.value,
                _SHOWN_AS.get(action.key),
            )
            for i, action in enumerate(level.actions)
        )
        offset = level.before_due or level.after_due or level.no_response
        shift = timedelta(minutes=level.offset_minutes)
        return cls(level.name, offset, level.before_due is not None, steps, shift)

    def at(self, anchor: datetime, calendar: Calendar | None) -> datetime:
        """When the level is reached."""
        if calendar is None:
            # add_time's answer, without its checks: this runs for every ticket and level.
            return anchor.astimezone(UTC) + self.shift
        if self.offset is None:
            return anchor
        if self.before:
            return subtract_time(anchor, self.offset, calendar)
        return add_time(anchor, self.offset, calendar)


class _TimeLine:
    """The levels on the due date (or on creation), least advanced first, as of `now`."""

    def __init__(self, levels: Sequence[EscalationLevel], now: datetime, calendar: Calendar | None):
        ordered = sorted(levels, key=lambda level: level.offset_minutes)
        self.levels = tuple(_Level.of(level) for level in ordered)
        self.now, self.calendar = now, calendar
        # In calendar time a level is reached when its anchor is at most `now` minus its
        # offset: one comparison a level, and no datetime built for tickets that wait.
        now = now.astimezone(UTC)  # exact arithmetic, whatever the zone of `now`
        self.latest_anchors = tuple(now - level.shift for level in self.levels)

    def reached(self, anchor: datetime) -> int:
        """How many levels are reached at `now` (the last of them is the most advanced)."""
        count = len(self.levels)
        if self.calendar is None:
            while count and anchor > self.latest_anchors[count - 1]:
                count -= 1
        else:
            while count and self.now < self.levels[count - 1].at(anchor, self.calendar):
                count -= 1
        return count


_KIND = attrgetter("kind")


def _sla_planner(rule: SlaRule, context: _Context) -> Decide:
    now, calendar, explain = context.now, context.calendar, context.explain
    on_due = _TimeLine([lvl for lvl in rule.levels if lvl.no_response is None], now, calendar)
    on_creation = _TimeLine(
        [lvl for lvl in rule.levels if lvl.no_response is not None], now, calendar
    )
    first_responses = [lvl.no_response for lvl in rule.levels]

    def walk(
        line: _TimeLine,
        anchor_name: str,
        anchor: datetime,
        snapshot: TicketSnapshot,
        out: list[Decision],
        reasons: list[_Reason] | None,
    ) -> int:
        """Act on the most advanced level reached; say when the next one comes (`reasons`).

        Returns how many actions it added to `out`.
        """
        levels = line.levels
        count = line.reached(anchor)
        if not count:
            if reasons is not None:
                reasons.append((f"next level {levels[0].name} at", levels[0].at(anchor, calendar)))
            return 0
        level = levels[count - 1]
        summary = snapshot.summary
        number = summary.number
        head = f"{rule.rule_id}|{number}|{anchor_name}:{utc_iso(anchor)}"
        done = acted = 0
        reason = ""  # one per level, made when a first step acts
        for step in level.steps:
            key = head + step.key_end
            if _done(context, key, snapshot) is not None:
                done += 1
            elif step.shown_as is not None and getattr(summary, step.shown_as) == step.value:
                if reasons is not None:
                    reasons.append(f"level {level.name} {step.label}: already {step.value}")
            else:
                reason = (
                    reason or f"level {level.name} reached at {utc_iso(level.at(anchor, calendar))}"
                )
                out.append(_act(rule.name, number, step.kind, step.value, reason, key))
                acted += 1
        if reasons is not None:
            if done:
                reasons.append(f"level {level.name}: {done} of {len(level.steps)} actions done")
            if count < len(levels):
                following = levels[count]
                reasons.append((f"next level {following.name} at", following.at(anchor, calendar)))
        return acted

    def decide(snapshot: TicketSnapshot, out: list[Decision]) -> str | None:
        summary = snapshot.summary
        if summary.status in rule.exempt_statuses:
            return f"exempt: status {summary.status}"
        reasons: list[_Reason] | None = [] if explain else None
        acted = 0
        if on_due.levels:
            due = summary.due_date or summary.sla_due
            if due is None:
                if reasons is not None:
                    reasons.append("no SLA due date")
            else:
                acted += walk(on_due, "due", due, snapshot, out, reasons)
        if on_creation.levels:
            conversation = snapshot.conversation
            why = None
            if conversation is None:
                # The listing settles it when no level can be reached yet (walked: nothing
                # acts), or the thread holds the opening message alone (no response).
                if not (_only_opening(summary) or _too_recent(summary, first_responses, now)):
                    why = "conversation not read"
            # `in map(...)` first: half the cost of any() over a generator, for the usual case.
            elif "R" in map(_KIND, conversation) and any(
                e.kind == "R" and not e.automated for e in conversation
            ):
                why = "an agent has responded"
            if why is not None:
                pass
            elif summary.created is None:
                why = "creation time unknown"
            else:
                acted += walk(on_creation, "created", summary.created, snapshot, out, reasons)
            if why is not None and reasons is not None:
                reasons.append(why)
        if acted or reasons is None:
            return None if acted else ""
        # Times are formatted only for reasons someone reads (auto plan --explain).
        return "; ".join(r if isinstance(r, str) else f"{r[0]} {utc_iso(r[1])}" for r in reasons)

    return decide


# lifecycle


def _lifecycle_planner(rule: LifecycleRule, context: _Context) -> Decide:
    def decide(snapshot: TicketSnapshot, out: list[Decision]) -> str | None:
        conversation = snapshot.conversation
        if conversation is None:
            if _only_opening(snapshot.summary):
                return "no response from an agent yet: only the opening message (listing)"
            return "conversation not read"
        for response in reversed(conversation):
            if response.kind == "R" and not response.automated:
                break
        else:
            return "no response from an agent yet"
        number = snapshot.summary.number
        key = f"{rule.rule_id}|{number}|R@{utc_iso(response.created)}|set_status"
        if _done(context, key, snapshot) is not None:
            return f"already moved to {rule.to_status} after response {response.id}"
        reason = (
            f"{rule.from_status} ticket with a response from {response.author}"
            f" at {utc_iso(response.created)}"
        )
        out.append(_act(rule.name, number, "set_status", rule.to_status, reason, key))
        return None

    return decide
