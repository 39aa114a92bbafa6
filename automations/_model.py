"""Values the automations pass around: what a ticket looks like to the planner, what it plans."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, NamedTuple, Protocol
from urllib.parse import quote, unquote

from osticket_client import TicketSummary

__all__ = [
    "ActionKind",
    "ConversationEntry",
    "Decision",
    "History",
    "MemoryHistory",
    "PlannedAction",
    "TicketSnapshot",
    "automation_responded",
    "marked_keys",
    "marker",
    "rule_id_of",
]

ActionKind = Literal[
    "assign_agent",
    "assign_team",
    "reply",
    "note",
    "set_status",
    "set_priority",
    "transfer",
    "notify",
]


@dataclass(frozen=True)
class ConversationEntry:
    """A message (M, from the customer) or response (R, from an agent) of a ticket's thread.

    Internal notes and status-change notes are never part of the conversation. `automated`
    marks a response posted by the automation's own agent: it never arms a rule.
    """

    id: int
    kind: Literal["M", "R"]
    created: datetime  # aware, UTC
    author: str
    text: str  # plain text of the body
    automated: bool = False


_NO_MARKS: Mapping[str, datetime] = MappingProxyType({})


@dataclass(frozen=True)
class TicketSnapshot:
    """One open ticket as a pass sees it.

    `summary` comes from the queue listing (CSV export); `state` is its status's state
    (open/closed); `conversation` is the thread's M and R entries sorted by id, or None when the
    pass did not read the ticket page (the runner reads it when `needs_conversation` says so);
    `marks` are the once-only keys the thread's notes carry as markers (see `marker`), with the
    time of the note: what the desk itself says was done.
    """

    summary: TicketSummary
    state: str | None
    conversation: tuple[ConversationEntry, ...] | None = None
    customer_name: str | None = None
    marks: Mapping[str, datetime] = field(default_factory=lambda: _NO_MARKS)
    status_since: datetime | None = None  # when it entered its status (page read), for timed rules


class PlannedAction(NamedTuple):
    """One change to make on the desk, with the rule and the reason behind it.

    `key` makes it once-only: the rule's id, ticket, the entry or event that armed the rule,
    and the step (e.g. "nudge|123456|R@2026-11-25T10:00:00+00:00|reopen:0|nudge"). `value` is
    the agent, team, status, priority or department name, the HTML of a reply or note, or a
    notification's body (JSON).
    """

    rule: str
    number: str
    kind: ActionKind
    value: str
    reason: str
    key: str
    note: str | None = None  # an internal note to send with the action, where the route takes one
    status: str | None = None  # a reply's status: one reply that also sets it (the reply form's)
    notifier: str | None = None  # a notification's notifier name (never its URL)


class Decision(NamedTuple):
    """What a rule decided for one ticket: an action, or why none (for `auto plan --explain`).

    Like `PlannedAction`, an immutable named tuple: a plan over a large desk makes hundreds of
    thousands of them, and a tuple costs a third of a frozen dataclass to build.
    """

    rule: str
    number: str
    action: PlannedAction | None
    reason: str


class History(Protocol):
    """What the planner may know of past runs (the ledger, read-only)."""

    def done_at(self, key: str) -> datetime | None:
        """When the action with this key was sent (intended or confirmed), or None."""

    def count_done(self, rule: str) -> int:
        """How many actions this rule has sent so far (for round-robin)."""


@dataclass
class MemoryHistory:
    """A `History` held in memory: for tests, dry runs and the demo."""

    done: Mapping[str, datetime] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)

    def done_at(self, key: str) -> datetime | None:
        return self.done.get(key)

    def count_done(self, rule: str) -> int:
        return self.counts.get(rule, 0)


# Characters a marker keeps as they are; anything else (a level name's spaces, accents or "]")
# is percent-encoded, so the marker is plain ASCII that the desk's HTML cleaning leaves alone.
_SAFE = "|:@+._-"
_MARKER = re.compile(r"\[auto:([A-Za-z0-9%|:@+._~-]+)\]")


def rule_id_of(key: str) -> str:
    """The rule id a once-only key starts with."""
    return key.split("|", 1)[0]


def marker(key: str) -> str:
    """The agent-visible marker of a once-only key, ``[auto:<rule id>|<arming>|<step>]``.

    The ticket number is left out: the marker sits on that ticket's own thread.
    """
    rule_id, _number, rest = key.split("|", 2)
    return f"[auto:{quote(f'{rule_id}|{rest}', safe=_SAFE)}]"


def marked_keys(number: str, text: str) -> Iterator[str]:
    """The once-only keys of the markers in a text from ticket `number`'s thread."""
    for found in _MARKER.finditer(text):
        rule_id, _, rest = unquote(found.group(1)).partition("|")
        if rest:
            yield f"{rule_id}|{number}|{rest}"


def automation_responded(
    conversation: Sequence[ConversationEntry], since: datetime
) -> datetime | None:
    """When the automation's own agent first responded at or after `since` (an arming's time),
    or None. A reply carries no marker: this response is how the desk shows it was sent."""
    for entry in conversation:
        if entry.automated and entry.kind == "R" and entry.created >= since:
            return entry.created
    return None
