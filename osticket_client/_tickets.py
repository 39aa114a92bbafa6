"""Values read back from the desk: tickets, thread entries, listings, choices, action results."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, computed_field

__all__ = [
    "ActionResult",
    "Choice",
    "CustomerMatch",
    "SearchResult",
    "ThreadEntry",
    "ThreadEvent",
    "Ticket",
    "TicketMatch",
    "TicketSummary",
]

EntryType = Literal["message", "response", "note"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class Choice(_Value):
    """One option the desk offers: a status, agent, team, department, topic, priority or SLA."""

    id: int
    name: str
    state: str | None = None  # for statuses: open / closed / archived / deleted


class ActionResult(_Value):
    """What an action did: `changed` is False when the ticket already was so."""

    changed: bool
    message: str


class ThreadEntry(_Value):
    """One entry of a ticket's thread: a message (customer), response (agent) or note."""

    id: int
    type: EntryType
    author: str
    created: AwareDatetime
    title: str | None = None
    body: str  # HTML as the staff panel shows it
    attachments: tuple[str, ...] = ()


class ThreadEvent(_Value):
    """One event row of a ticket's thread: what happened, when (UTC), and its text as shown.

    Kinds: created, closed, reopened, assigned, released, transferred, overdue, edited (a field
    or an open-to-open status change), referred, collab, merged, linked, unlinked, resent, other.
    The text is in the agent's language (e.g. "... changed the status to Pending"). `actor` is
    who acted; `value` what the event set, where the row names it: the status of a status
    change, the agent or team of an assignment (whatever the language).
    """

    kind: str
    when: AwareDatetime
    text: str
    actor: str | None = None
    value: str | None = None


class Ticket(_Value):
    """A ticket as the staff panel shows it, with its thread sorted by entry id."""

    number: str
    ticket_id: int
    subject: str
    status: str
    state: str | None = None
    priority: str | None = None
    department: str | None = None
    help_topic: str | None = None
    sla_plan: str | None = None
    due_date: AwareDatetime | None = None
    assigned_agent: str | None = None
    assigned_team: str | None = None
    assigned_to: str | None = None  # the "Assigned To" cell as shown: agent, team or agent/team
    user_name: str | None = None
    user_email: str | None = None
    source: str | None = None
    created: AwareDatetime | None = None
    last_message: AwareDatetime | None = None
    last_response: AwareDatetime | None = None
    closed: AwareDatetime | None = None
    closed_by: str | None = None
    thread: tuple[ThreadEntry, ...] = ()
    events: tuple[ThreadEvent, ...] = ()  # the thread's event rows, in the page's order

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_closed(self) -> bool:
        """True when the status is in a closed state (Resolved, Closed, ...)."""
        return self.state == "closed"


class TicketSummary(_Value):
    """One row of a queue listing (the queue's CSV export)."""

    number: str
    created: AwareDatetime | None = None
    subject: str
    from_name: str | None = None
    from_email: str | None = None
    priority: str | None = None
    department: str | None = None
    help_topic: str | None = None
    source: str | None = None
    status: str | None = None
    last_updated: AwareDatetime | None = None
    sla_due: AwareDatetime | None = None
    sla_plan: str | None = None
    due_date: AwareDatetime | None = None
    closed: AwareDatetime | None = None
    overdue: bool = False
    answered: bool = False
    agent: str | None = None
    team: str | None = None
    thread_count: int | None = None
    reopen_count: int | None = None
    attachment_count: int | None = None
    task_count: int | None = None


class TicketMatch(_Value):
    """A ticket found by `find_tickets`."""

    number: str
    ticket_id: int
    subject: str | None = None
    user: str | None = None
    entries: int | None = None


class CustomerMatch(_Value):
    """A customer whose tickets match a text or e-mail search, with how many match."""

    email: str
    tickets: int | None = None


class SearchResult(_Value):
    """What `find_tickets` found; `truncated` is True when the desk cut the list at `limit`.

    The desk's quick search answers number prefixes with tickets, and text or e-mail queries
    with the customers whose tickets match.
    """

    tickets: tuple[TicketMatch, ...]
    customers: tuple[CustomerMatch, ...]
    truncated: bool
