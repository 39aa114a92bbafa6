"""Values the automations pass around: what a ticket looks like to the planner, what it plans."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple, Protocol

from osticket_client import TicketSummary

__all__ = [
    "ActionKind",
    "ConversationEntry",
    "Decision",
    "History",
    "MemoryHistory",
    "PlannedAction",
    "TicketSnapshot",
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

    Internal notes and status-change notes are never part of the conversation.
    """

    id: int
    kind: Literal["M", "R"]
    created: datetime  # aware, UTC
    author: str
    text: str  # plain text of the body


@dataclass(frozen=True)
class TicketSnapshot:
    """One open ticket as a pass sees it.

    `summary` comes from the queue listing (CSV export); `state` is its status's state
    (open/closed); `conversation` is the thread's M and R entries sorted by id, or None when the
    pass did not read the ticket page (the runner reads it when `needs_conversation` says so).
    """

    summary: TicketSummary
    state: str | None
    conversation: tuple[ConversationEntry, ...] | None = None
    customer_name: str | None = None
    status_since: datetime | None = None  # when it entered its status (page read), for timed rules


class PlannedAction(NamedTuple):
    """One change to make on the desk, with the rule and the reason behind it.

    `key` makes it once-only: rule, ticket, the entry or event that armed the rule, and the
    step (e.g. "Nudge|123456|R:42|reopen:0|nudge"). `value` is the agent, team, status,
    priority or department name, the HTML of a reply or note, or a notification's body (JSON).
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
