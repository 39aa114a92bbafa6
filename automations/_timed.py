"""Planning timed and event rules: conditions on the listing, elapsed time, once per arming.

Pure, like `_planner`: snapshots (or events), `now` and the ledger's history in, Decisions out.

Anchors of the elapsed-time conditions, and what arms a rule again (the once-only key holds the
arming of each anchor the rule uses, ``<rule id>|<number>|<arming>...|<i>:<action>``):

- age (``created``): from the ticket's creation; never armed again.
- in_status_for (``status:<status>@<time>``): from the thread's latest status event (created,
  reopened, closed, "changed the status to"); armed again by entering the status again.
- since_customer_message (``M@<time>``): from the customer's latest message; armed again by a
  new one.
- since_our_response (``R@<time>``): from our latest response; armed again by a new message,
  then a first response to it.

Armings are times the desk shows, never entry ids: an agent's edit of an entry makes a new
entry with the same time, and re-arms nothing. `in_status_for` never reads the listing's Last
Updated: the desk bumps it when it flags a ticket overdue (and on other edits), which would
close tickets days late. The automation's own entries never arm a rule: its responses are not
"our response" (`ConversationEntry.automated`), and an `agent_replied` event of its own agent
fires no event rule. A status the rule sets leaves the rule's scope. Event rules act once per
event id (``<rule id>|<number>|event:<event id>|<i>:<action>``).

An action is done when the ledger says so, when the ticket's notes carry its marker
(`TicketSnapshot.marks`), or, for a timed rule's reply (which carries no marker), when the
automation's own agent responded after the rule's arming (its latest arming time).

Notifications planned by a timed rule for a moment before the ledger began are not sent (a
lost ledger must not re-announce every matching ticket): like events, a new ledger starts from
now.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from osticket_client import Ticket, TicketSummary
from osticket_client._pages import readable_text

from ._durations import Calendar, add_time, utc_iso
from ._events import Event, ticket_fields
from ._model import (
    ActionKind,
    Decision,
    History,
    PlannedAction,
    TicketSnapshot,
    automation_responded,
)
from ._notify import SCHEMA, body_text, notification_body, render_template
from ._rules import Conditions, EventRule, RuleAction, RulesFile, TimedRule

__all__ = ["needs_page", "plan_rules", "render_action", "render_for", "status_entered"]

_KINDS: dict[str, ActionKind] = {
    "note": "note",
    "priority": "set_priority",
    "assign_agent": "assign_agent",
    "assign_team": "assign_team",
    "transfer": "transfer",
    "status": "set_status",
    "reply": "reply",
    "notify": "notify",
}
# The listing field each list condition reads.
_LISTED = ("status", "topic", "department", "priority", "agent", "team", "source")
_FIELD = {"topic": "help_topic"}


def status_entered(ticket: Ticket) -> datetime | None:
    """When the ticket entered its current status, from its thread's status events.

    The latest of: created, reopened, closed ("... with status of X") and edited ("... changed
    the status to X"). None when the latest such event names another status than the current
    one (the page and its events disagree: the rule waits rather than guess).
    """
    # Newest first; events of the same second in the page's order, reversed.
    newest_first = sorted(enumerate(ticket.events), key=lambda p: (p[1].when, p[0]), reverse=True)
    for _, event in newest_first:
        if event.kind in ("created", "reopened"):
            return event.when
        if event.kind == "closed" or (event.kind == "edited" and "status" in event.text.lower()):
            return event.when if ticket.status.lower() in event.text.lower() else None
    return None


def needs_page(rules: RulesFile, summary: TicketSummary, state: str | None, now: datetime) -> bool:
    """True when a timed rule's conditions hold on the listing and it needs the ticket page.

    A ticket created less than the rule's longest wait ago needs none: every wait counts from
    a time after creation (its status, a message, a response), business time never runs
    faster than the clock, and all the conditions must hold.
    """
    for rule in rules.rules:
        if rule.enabled and isinstance(rule, TimedRule) and _mismatch(rule.when, summary) is None:
            when = rule.when
            if when.in_status_for or when.since_customer_message or when.since_our_response:
                longest = max(duration.delta for _, duration in when.elapsed())
                if summary.created is not None and now - summary.created < longest:
                    continue
                return True
    return False


def _mismatch(when: Conditions, summary: TicketSummary) -> str | None:
    """Why the listing fails the conditions, or None when it meets them."""
    for key in _LISTED:
        wanted = getattr(when, key)
        if wanted is not None:
            value = getattr(summary, _FIELD.get(key, key))
            if value not in wanted:
                return f"{key} is {value or 'none'}, not {' or '.join(wanted)}"
    if when.unassigned is not None and bool(summary.agent or summary.team) == when.unassigned:
        return "assigned" if when.unassigned else "unassigned"
    for key in ("answered", "overdue"):
        wanted_flag = getattr(when, key)
        if wanted_flag is not None and getattr(summary, key) != wanted_flag:
            return f"{key} is {str(getattr(summary, key)).lower()}"
    return None


def _values(
    rule: str, summary: TicketSummary, customer: str | None, event: str, link: str | None
) -> dict[str, str | None]:
    return {
        "number": summary.number,
        "subject": summary.subject,
        "status": summary.status,
        "priority": summary.priority,
        "department": summary.department,
        "help_topic": summary.help_topic,
        "agent": summary.agent,
        "team": summary.team,
        "customer_name": customer or summary.from_name,
        "event": event,
        "rule": rule,
        "link": link,
    }


def render_action(
    rules: RulesFile,
    rule: str,
    action: RuleAction,
    values: dict[str, str | None],
    payload: dict[str, Any],
) -> tuple[ActionKind, str, str | None, str | None]:
    """(kind, value, status of a reply, notifier) of an action for one ticket."""
    if action.reply is not None:
        escaped = {k: html.escape(v or "") for k, v in values.items()}
        return "reply", render_template(action.reply, escaped, "json"), action.status, None
    if action.notify is not None:
        target = rules.notifiers[action.notify].type
        body = notification_body(target, action.text, values, {**payload, "rule": rule})
        return "notify", body, None, action.notify
    key = action.key
    value: str = getattr(action, key)
    return _KINDS[key], html.escape(value) if key == "note" else value, None, None


def render_for(
    rules: RulesFile,
    rule: TimedRule | EventRule,
    snapshot: TicketSnapshot,
    link: str | None = None,
) -> list[tuple[str, str]]:
    """(action label, text) of each reply and notification the rule would send this ticket,
    rendered as the planner does, shown as its reader sees it (`auto render`)."""
    event = "timed" if isinstance(rule, TimedRule) else rule.on[0]
    values = _values(rule.name, snapshot.summary, snapshot.customer_name, event, link)
    payload = {
        "schema": SCHEMA,
        "id": "(example)",
        "kind": event,
        "time": "",
        "ticket": ticket_fields(snapshot.summary, snapshot.state, link),
        "detail": {},
    }
    shown = []
    for i, action in enumerate(rule.actions):
        if action.reply is not None or action.notify is not None:
            _, value, status, notifier = render_action(rules, rule.name, action, values, payload)
            if notifier is not None:
                shown.append((f"actions[{i}] notify {notifier}", body_text(value)))
            else:
                label = f"actions[{i}] reply" + (f" (sets {status})" if status else "")
                shown.append((label, readable_text(value)))
    return shown


def plan_rules(
    rules: RulesFile,
    listings: Callable[[TimedRule], Sequence[TicketSnapshot]],
    events: Sequence[Event],
    now: datetime,
    history: History,
    born: datetime,
    *,
    link: Callable[[str], str | None] = lambda number: None,
    explain: bool = True,
    automation: str | None = None,
    marks: Callable[[str], Mapping[str, datetime]] = lambda number: {},
) -> list[Decision]:
    """Decide, for every enabled timed and event rule, what is due now or why not.

    Args:
        rules: the validated rules file.
        listings: the tickets a timed rule reads (its queue's, or the pass's listing).
        events: the events of the outbox's retention window.
        now: the planning instant (aware).
        history: what earlier runs did (the ledger).
        born: when the ledger began (see the module's docstring).
        link: the staff panel link of a ticket.
        explain: keep the Decisions without an action.
        automation: the automation's agent name (its own replies fire no event rule).
        marks: the once-only keys a ticket's notes carry (for event rules; a timed rule's
            snapshot has its own).
    """
    decisions: list[Decision] = []
    for rule in rules.rules:
        if not rule.enabled:
            continue
        if isinstance(rule, TimedRule):
            calendar = rules.calendar_of(rule)
            for snapshot in listings(rule):
                decisions.extend(
                    _timed(rules, rule, snapshot, now, history, born, calendar, link, explain)
                )
        elif isinstance(rule, EventRule):
            for event in events:
                decisions.extend(
                    _on_event(rules, rule, event, history, explain, automation, marks(event.number))
                )
    return decisions


def _timed(
    rules: RulesFile,
    rule: TimedRule,
    snapshot: TicketSnapshot,
    now: datetime,
    history: History,
    born: datetime,
    calendar: Calendar | None,
    link: Callable[[str], str | None],
    explain: bool,
) -> list[Decision]:
    summary = snapshot.summary
    number = summary.number

    def why(reason: str) -> list[Decision]:
        return [Decision(rule.name, number, None, reason)] if explain else []

    mismatch = _mismatch(rule.when, summary)
    if mismatch is not None:
        return why(f"not in scope: {mismatch}")
    armings: list[str] = []
    armed: datetime | None = None  # the latest arming's time
    due: datetime | None = None
    conversation = snapshot.conversation
    longest = max(duration.delta for _, duration in rule.when.elapsed())
    if conversation is None and summary.created is not None and now - summary.created < longest:
        # The page was not read (needs_page): every wait counts from after creation.
        earliest = utc_iso(summary.created + longest)
        return why(f"not due before {earliest}: created {utc_iso(summary.created)} (listing)")
    for key, duration in rule.when.elapsed():
        anchor: datetime | None
        arming_time = None
        if key == "age":
            anchor, arming = summary.created, "created"
        elif key == "in_status_for":
            anchor = snapshot.status_since
            arming = f"status:{summary.status}@{utc_iso(anchor)}" if anchor else ""
        elif conversation is None:
            return why("ticket page not read")
        elif key == "since_customer_message":
            message = next((e for e in reversed(conversation) if e.kind == "M"), None)
            anchor = message.created if message else None
            arming = f"M@{utc_iso(anchor)}" if anchor else ""
        else:
            # Our responses since the customer's latest message, the automation's left out:
            # the latest is the anchor, the first arms the rule.
            ours = []
            for entry in reversed(conversation):
                if entry.kind == "M":
                    break
                if not entry.automated:
                    ours.append(entry)
            anchor = ours[0].created if ours else None
            arming_time = ours[-1].created if ours else None
            arming = f"R@{utc_iso(arming_time)}" if arming_time else ""
        if anchor is None:
            return why(f"{key}: no anchor ({_NO_ANCHOR[key]})")
        armings.append(arming)
        arming_time = arming_time or anchor
        armed = arming_time if armed is None or arming_time > armed else armed
        at = add_time(anchor, duration, calendar)
        due = at if due is None or at > due else due
    assert due is not None and armed is not None  # a timed rule has an elapsed-time condition
    if now < due:
        return why(f"due at {utc_iso(due)}")
    head = f"{rule.rule_id}|{number}|{'|'.join(armings)}|"
    reason = f"{', '.join(k for k, _ in rule.when.elapsed())} reached at {utc_iso(due)}"
    values = _values(rule.name, summary, snapshot.customer_name, "timed", link(number))
    payload = {
        "schema": SCHEMA,
        "id": "",  # each action's once-only key
        "kind": "timed",
        "time": utc_iso(now),
        "ticket": ticket_fields(summary, snapshot.state, link(number)),
        "detail": {"due": utc_iso(due)},
    }

    def muted(action: RuleAction) -> str | None:
        if action.notify is not None and due < born:
            return f"{reason}, before this ledger began ({utc_iso(born)}): not notified"
        return None

    replied = automation_responded(conversation, armed) if conversation is not None else None
    return _each_action(
        rules,
        rule,
        number,
        head,
        (values, payload),
        reason,
        (history, snapshot.marks, replied),
        explain,
        muted,
    )


def _each_action(
    rules: RulesFile,
    rule: TimedRule | EventRule,
    number: str,
    head: str,
    rendering: tuple[dict[str, str | None], dict[str, Any]],
    reason: str,
    done_by: tuple[History, Mapping[str, datetime], datetime | None],
    explain: bool,
    muted: Callable[[RuleAction], str | None] = lambda action: None,
) -> list[Decision]:
    """A rule's actions not yet done (keys `<head><i>:<action>`), or why not (`muted`: why an
    action is held back).

    `done_by`: the ledger's history, the ticket's marks, and when the automation's agent
    responded since the arming (a reply's trace on the desk; None: not seen).
    """
    values, payload = rendering
    history, marks, replied = done_by
    out: list[Decision] = []
    for i, action in enumerate(rule.actions):
        key = f"{head}{i}:{action.key}"
        done = history.done_at(key) or marks.get(key)
        if done is None and action.reply is not None:
            done = replied
        why = f"{reason}; done at {utc_iso(done)}" if done is not None else muted(action)
        if why is not None:
            if explain:
                out.append(Decision(rule.name, number, None, why))
            continue
        body = {**payload, "id": payload["id"] or key}
        out.append(_decision(rules, rule.name, number, action, values, body, reason, key))
    return out


_NO_ANCHOR = {
    "age": "creation time unknown",
    "in_status_for": "no status event names the current status",
    "since_customer_message": "no message from the customer",
    "since_our_response": "no response since the customer's latest message",
}


def _decision(
    rules: RulesFile,
    rule: str,
    number: str,
    action: RuleAction,
    values: dict[str, str | None],
    payload: dict[str, Any],
    reason: str,
    key: str,
) -> Decision:
    kind, value, status, notifier = render_action(rules, rule, action, values, payload)
    note = f"{reason}: by rule {rule}" if kind == "set_status" else None
    planned = PlannedAction(rule, number, kind, value, reason, key, note, status, notifier)
    return Decision(rule, number, planned, reason)


def _on_event(
    rules: RulesFile,
    rule: EventRule,
    event: Event,
    history: History,
    explain: bool,
    automation: str | None,
    marks: Mapping[str, datetime],
) -> list[Decision]:
    number = event.number
    if event.kind not in rule.on:
        why = f"event {event.id}: not {' or '.join(rule.on)}"
        return [Decision(rule.name, number, None, why)] if explain else []
    if automation is not None and event.detail.get("author") == automation:
        why = f"event {event.id}: a response of the automation's own agent"
        return [Decision(rule.name, number, None, why)] if explain else []
    if rule.to_status is not None and event.ticket.get("status") != rule.to_status:
        return (
            [Decision(rule.name, number, None, f"{event.kind} to {event.ticket.get('status')}")]
            if explain
            else []
        )
    known = TicketSummary.model_fields
    fields = {k: v for k, v in event.ticket.items() if k in known and v is not None}
    summary = TicketSummary.model_validate(
        {**fields, "from_name": event.ticket.get("customer_name")}
    )
    mismatch = _mismatch(rule.when, summary)
    if mismatch is not None:
        return (
            [Decision(rule.name, number, None, f"event {event.id}: {mismatch}")] if explain else []
        )
    reason = f"event {event.id} ({event.kind}) at {utc_iso(event.time)}"
    values = _values(rule.name, summary, None, event.kind, event.ticket.get("link"))
    head = f"{rule.rule_id}|{number}|event:{event.id}|"
    rendering = (values, event.payload())
    return _each_action(
        rules, rule, number, head, rendering, reason, (history, marks, None), explain
    )
