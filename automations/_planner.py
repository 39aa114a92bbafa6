"""Planning: which automated actions are due on which tickets now, and why the others are not.

Pure functions of (rules, ticket snapshots, now, history): no desk, no ledger writes, no wall
clock. Each action carries a once-only key, ``<rule>|<number>|<arming>|<step>``:

- auto_assign: ``<rule>|<number>|assign|assign_agent`` (or ``|assign_team``).
- nudge_then_pending: ``<rule>|<number>|R:<id>|reopen:<n>|nudge``, then ``...|pending`` and
  ``...|resolve``. ``<id>`` is the response that armed the rule (the first R after the latest
  M) and ``<n>`` the ticket's reopen count, so a new message or a reopen arms a new cycle while
  the nudge (itself an R, after the arming one) does not.
- sla_escalation: ``<rule>|<number>|due:<due date>|level:<level>|<i>:<action key>`` for levels
  on the due date, ``<rule>|<number>|created:<created>|level:<level>|<i>:<action key>`` for
  no_response levels (ISO 8601 in UTC, ``<i>`` the action's index in the level), so a new due
  date arms the levels again.
- lifecycle: ``<rule>|<number>|R:<id>|set_status``, ``<id>`` the latest response.

A rule considers only the tickets in its scope (auto_assign: its help topic and department;
nudge_then_pending: its statuses, plus the pending status when it resolves; lifecycle: its
from_status; sla_escalation: every ticket); of those, closed ones get the reason "closed".

Of the levels on one SLA time line (the due date, or creation for no_response) only the most
advanced one reached acts, so a ticket first seen long after its breach gets the breach actions,
not a stale "breach in 2 hours" note as well. Times in reasons are ISO 8601 in UTC.
"""

from __future__ import annotations

import gc
import html
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from osticket_client import TicketSummary

from ._durations import Calendar, Duration, add_time, subtract_time
from ._model import ActionKind, ConversationEntry, Decision, History, PlannedAction, TicketSnapshot
from ._rules import (
    AutoAssignRule,
    EscalationLevel,
    LifecycleRule,
    NudgeRule,
    Rule,
    RulesFile,
    SlaRule,
)

__all__ = ["needs_conversation", "plan", "render_nudge"]

UTC = timezone.utc

# A rule's verdict on one open ticket: the Decisions that act, or the reason nothing is due.
Decide = Callable[[TicketSnapshot], "str | list[Decision]"]


@dataclass(frozen=True)
class _Context:
    """What a rule's planning reads besides the tickets."""

    now: datetime
    history: History
    calendar: Calendar | None
    explain: bool = True


# A reason, or one whose time is formatted only when the reason is shown.
_Reason = str | tuple[str, datetime]


def needs_conversation(rules: RulesFile, summary: TicketSummary, state: str | None) -> bool:
    """True when some enabled rule cannot decide for this ticket without its conversation."""
    if state == "closed":
        return False
    for rule in rules.rules:
        in_scope = _scope(rule)
        if not rule.enabled or (in_scope is not None and not in_scope(summary)):
            continue
        if isinstance(rule, (NudgeRule, LifecycleRule)):
            return True
        if (
            isinstance(rule, SlaRule)
            and summary.status not in rule.exempt_statuses
            and any(level.no_response is not None for level in rule.levels)
        ):
            return True
    return False


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
        for rule in rules.rules:
            if not rule.enabled:
                continue
            in_scope = _scope(rule)
            considered = (
                snapshots if in_scope is None else [s for s in snapshots if in_scope(s.summary)]
            )
            context = _Context(now, history, rules.calendar_of(rule), explain)
            decide = _planner(rule, context, snapshots)
            name = rule.name
            for snapshot in considered:
                verdict = "closed" if snapshot.state == "closed" else decide(snapshot)
                if isinstance(verdict, str):
                    if explain:
                        decisions.append(Decision(name, snapshot.summary.number, None, verdict))
                else:
                    decisions.extend(verdict)
        return decisions
    finally:
        if collecting:
            gc.enable()


def _scope(rule: Rule) -> Callable[[TicketSummary], bool] | None:
    """Whether the rule is about a ticket at all, from its listing row; None: every ticket."""
    if isinstance(rule, AutoAssignRule):
        topic, department = rule.topic, rule.department
        if department is None:
            return lambda summary: summary.help_topic == topic
        return lambda summary: summary.help_topic == topic and summary.department == department
    if isinstance(rule, NudgeRule):
        statuses = set(rule.statuses)
        if rule.resolve_after is not None:
            statuses.add(rule.pending_status)  # where the resolve step waits
        return lambda summary: summary.status in statuses
    if isinstance(rule, LifecycleRule):
        status = rule.from_status
        return lambda summary: summary.status == status
    return None


def _planner(rule: Rule, context: _Context, snapshots: Sequence[TicketSnapshot]) -> Decide:
    if isinstance(rule, AutoAssignRule):
        return _assign_planner(rule, context, snapshots)
    if isinstance(rule, NudgeRule):
        return _nudge_planner(rule, context)
    if isinstance(rule, SlaRule):
        return _sla_planner(rule, context)
    return _lifecycle_planner(rule, context)


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).isoformat()


def _act(
    rule: Rule,
    number: str,
    kind: ActionKind,
    value: str,
    reason: str,
    key: str,
    note: str | None = None,
) -> list[Decision]:
    """A Decision with its action (the executor signs changes when comment_actions is on)."""
    action = PlannedAction(rule.name, number, kind, value, reason, key, note)
    return [Decision(rule.name, number, action, reason)]


# auto_assign


def _assign_planner(
    rule: AutoAssignRule, context: _Context, snapshots: Sequence[TicketSnapshot]
) -> Decide:
    agents = rule.agents or ()
    kind: ActionKind = "assign_agent" if rule.team is None else "assign_team"
    turn = context.history.count_done(rule.name)
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

    def decide(snapshot: TicketSnapshot) -> str | list[Decision]:
        summary = snapshot.summary
        if summary.agent or summary.team:
            return f"already assigned to {' / '.join(filter(None, (summary.agent, summary.team)))}"
        key = f"{rule.name}|{summary.number}|assign|{kind}"
        done = context.history.done_at(key)
        if done is not None:
            return f"assigned by this rule at {_iso(done)}; not again"
        value, whom = pick()
        reason = f"unassigned ticket with help topic {rule.topic}: to {whom}"
        return _act(rule, summary.number, kind, value, reason, key)

    return decide


# nudge_then_pending


def _arming_response(conversation: Sequence[ConversationEntry]) -> ConversationEntry | None:
    """The first R after the latest M when the conversation ends with an R, else None."""
    arming = None
    for entry in reversed(conversation):
        if entry.kind == "M":
            break
        arming = entry
    return arming


def render_nudge(rule: NudgeRule, snapshot: TicketSnapshot) -> str:
    """The rule's reminder for a ticket waiting on its customer, each value HTML-escaped.

    Raises:
        ValueError: the conversation was not read, or does not end with a response.
    """
    arming = _arming_response(snapshot.conversation or ())
    summary = snapshot.summary
    if arming is None:
        raise ValueError(f"ticket {summary.number} is not waiting on the customer")
    values = {
        "customer_name": snapshot.customer_name or summary.from_name or "",
        "number": summary.number,
        "subject": summary.subject,
        "question": arming.text,
    }
    return rule.template.format_map({k: html.escape(v) for k, v in values.items()})


def _nudge_planner(rule: NudgeRule, context: _Context) -> Decide:
    # Each step counts from when the previous one was done; the nudge from the arming response.
    steps = (
        ("nudge", rule.nudge_after, rule.statuses),
        ("pending", rule.pending_after, rule.statuses),
        ("resolve", rule.resolve_after, (rule.pending_status,)),
    )

    def decide(snapshot: TicketSnapshot) -> str | list[Decision]:
        summary = snapshot.summary
        number, status = summary.number, summary.status
        if snapshot.conversation is None:
            return "conversation not read"
        arming = _arming_response(snapshot.conversation)
        if arming is None:
            last = "a message" if snapshot.conversation else "none yet"
            return f"not waiting on the customer: the last conversation entry is {last}"
        waiting = f"waiting on the customer since response {arming.id}"
        base = f"{rule.name}|{number}|R:{arming.id}|reopen:{summary.reopen_count or 0}"
        anchor = arming.created
        for step, after, statuses in steps:
            if after is None:
                return f"{waiting}; set to {rule.pending_status}; no more steps"
            key = f"{base}|{step}"
            done = context.history.done_at(key)
            if done is not None:
                anchor = done
                continue
            if status not in statuses:
                return f"{waiting}; {step} waits for status {' or '.join(statuses)}"
            if not context.explain and context.now - anchor < after.delta:
                # Business time never runs faster than the clock: not due, and nobody reads
                # why, so the calendar walk and the reason are skipped.
                return ""
            at = add_time(anchor, after, context.calendar)
            if context.now < at:
                return f"{waiting}; {step} due at {_iso(at)}" if context.explain else ""
            reason = f"{waiting}; {step} due at {_iso(at)}"
            if step == "nudge":
                return _act(rule, number, "reply", render_nudge(rule, snapshot), reason, key)
            target = rule.pending_status if step == "pending" else rule.resolve_status
            since = _iso(arming.created)
            note = f"No answer from the customer since {since}: set to {target} by rule {rule.name}"
            return _act(rule, number, "set_status", target, reason, key, note)
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

    label: str  # "<index>:<action key>", the end of its once-only key
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


def _time_line(rule: SlaRule, on_creation: bool) -> tuple[_Level, ...]:
    """The levels on the due date (or on creation), least advanced first."""
    levels = [lvl for lvl in rule.levels if (lvl.no_response is not None) == on_creation]
    return tuple(_Level.of(lvl) for lvl in sorted(levels, key=lambda lvl: lvl.offset_minutes))


def _sla_planner(rule: SlaRule, context: _Context) -> Decide:
    on_due = _time_line(rule, on_creation=False)
    on_creation = _time_line(rule, on_creation=True)
    now, calendar, history = context.now, context.calendar, context.history

    def walk(
        levels: tuple[_Level, ...],
        anchor_name: str,
        anchor: datetime,
        summary: TicketSummary,
        acting: list[Decision],
        reasons: list[_Reason],
    ) -> None:
        """Act on the most advanced level reached; say when the next one comes."""
        following = None  # the next level to come, and when
        for level in reversed(levels):
            at = level.at(anchor, calendar)
            if now >= at:
                break
            following = level, at
        else:
            reasons.append((f"next level {levels[0].name} at", at))
            return
        number = summary.number
        prefix = f"{rule.name}|{number}|{anchor_name}:{_iso(anchor)}|level:{level.name}|"
        done = 0
        reason = ""  # one per level, made when a first step acts
        for step in level.steps:
            key = prefix + step.label
            if history.done_at(key) is not None:
                done += 1
            elif step.shown_as is not None and getattr(summary, step.shown_as) == step.value:
                reasons.append(f"level {level.name} {step.label}: already {step.value}")
            else:
                reason = reason or f"level {level.name} reached at {_iso(at)}"
                acting += _act(rule, number, step.kind, step.value, reason, key)
        if done:
            reasons.append(f"level {level.name}: {done} of {len(level.steps)} actions done")
        if following is not None:
            reasons.append((f"next level {following[0].name} at", following[1]))

    def decide(snapshot: TicketSnapshot) -> str | list[Decision]:
        summary = snapshot.summary
        if summary.status in rule.exempt_statuses:
            return f"exempt: status {summary.status}"
        acting: list[Decision] = []
        reasons: list[_Reason] = []
        if on_due:
            due = summary.due_date or summary.sla_due
            if due is None:
                reasons.append("no SLA due date")
            else:
                walk(on_due, "due", due, summary, acting, reasons)
        if on_creation:
            conversation = snapshot.conversation
            if conversation is None:
                reasons.append("conversation not read")
            elif any(entry.kind == "R" for entry in conversation):
                reasons.append("an agent has responded")
            elif summary.created is None:
                reasons.append("creation time unknown")
            else:
                walk(on_creation, "created", summary.created, summary, acting, reasons)
        if acting or not context.explain:
            return acting or ""
        # Times are formatted only for reasons someone reads (auto plan --explain).
        return "; ".join(r if isinstance(r, str) else f"{r[0]} {_iso(r[1])}" for r in reasons)

    return decide


# lifecycle


def _lifecycle_planner(rule: LifecycleRule, context: _Context) -> Decide:
    def decide(snapshot: TicketSnapshot) -> str | list[Decision]:
        summary = snapshot.summary
        if snapshot.conversation is None:
            return "conversation not read"
        for response in reversed(snapshot.conversation):
            if response.kind == "R":
                break
        else:
            return "no response from an agent yet"
        key = f"{rule.name}|{summary.number}|R:{response.id}|set_status"
        if context.history.done_at(key) is not None:
            return f"already moved to {rule.to_status} after response {response.id}"
        reason = (
            f"{rule.from_status} ticket with a response from {response.author}"
            f" at {_iso(response.created)}"
        )
        return _act(rule, summary.number, "set_status", rule.to_status, reason, key)

    return decide
