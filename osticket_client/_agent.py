"""Ticket operations through an agent's staff-panel session, by ticket number."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone, tzinfo

import requests

from ._errors import (
    ActionRejected,
    ConfigurationError,
    ConnectError,
    OsTicketError,
    OutcomeUnknown,
    PermissionDenied,
    ServerError,
    TicketLocked,
    TicketNotFound,
    TimeoutError,
    TransportError,
    UnexpectedResponse,
    UnknownChoice,
)
from ._masking import logger
from ._models import warn_tag_like
from ._pages import (
    FIXED_EXPORT_ORDER,
    parse_lock,
    parse_queue_csv,
    parse_search_options,
    parse_statuses,
    parse_thread_events,
    parse_ticket_html,
    parse_ticket_page,
    plain_text,
    refusal,
)
from ._staff import ROUTES, Route, StaffSession
from ._tickets import (
    ActionResult,
    Choice,
    CustomerMatch,
    SearchResult,
    Ticket,
    TicketMatch,
    TicketSummary,
)
from ._transport import Transport

__all__ = ["CHOICE_KINDS", "AgentOperations", "read_action"]

# Where the desk lists each kind of choice without needing a ticket: the advanced-search field
# dialogs (JSON {"html": ...} with <option>s). A status's state comes from the status dialogs,
# which never offer deleted-state statuses (setting one hard-deletes the ticket).
CHOICE_KINDS = {
    "status": "status__id",
    "agent": "staff_id",
    "team": "team_id",
    "department": "dept_id",
    "topic": "topic_id",
    "priority": "cdata__priority",
    "sla": "sla_id",
}
STATUS_STATES = {"open": "open", "close": "closed"}
# The plain form names of the editable ticket fields (the dialogs' hashed names go stale).
FIELD_NAMES = {"priority": "priority", "sla": "sla_id", "topic": "topic_id", "duedate": "duedate"}

# Release commits as agent pages show them (<meta http-equiv="x-pjax-version">).
KNOWN_RELEASES = {"4689926": "v1.18.1", "8fbc7ee": "v1.17.2"}
# Each export keeps a desk worker asleep for 15 s afterwards: never more often than that.
EXPORT_INTERVAL = 15.0
EXPORT_TIMEOUT = 60.0
_ALREADY = re.compile(r"\balready\b|\bnot assigned\b", re.IGNORECASE)


def read_action(
    route: Route, response: requests.Response, endpoint: str, done: str
) -> ActionResult:
    """What an ajax action's answer means: 201 done, a dialog again with "already" unchanged.

    Raises:
        PermissionDenied, TicketNotFound, ActionRejected, ServerError, UnexpectedResponse.
    """
    status, body = response.status_code, response.text
    if status == 201:
        # Claim, release and transfer answer 201 with an "Unable to ..." page although they
        # worked; only the status code counts.
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        message = data.get("msg") if isinstance(data, dict) else None
        return ActionResult(changed=True, message=plain_text(str(message)) if message else done)
    if status == 200:
        text = refusal(body)
        if text:
            if _ALREADY.search(text):
                return ActionResult(changed=False, message=text)
            if "permission" in text.lower() or "denied" in text.lower():
                raise PermissionDenied(
                    "the agent's role does not allow this",
                    status_code=status,
                    text=text,
                    endpoint=endpoint,
                )
            raise ActionRejected(
                "the desk refused the action", status_code=status, text=text, endpoint=endpoint
            )
    if status == 403:
        raise PermissionDenied(
            "the agent's role does not allow this",
            status_code=status,
            text=plain_text(body),
            endpoint=endpoint,
        )
    if status == 404:
        raise TicketNotFound(
            "the desk knows no such ticket (or the agent may not see it)",
            status_code=status,
            text=plain_text(body),
            endpoint=endpoint,
        )
    if status >= 500:
        raise ServerError(
            "the desk failed", status_code=status, text=plain_text(body, 300), endpoint=endpoint
        )
    raise UnexpectedResponse(
        f"unexpected answer to {route.name}",
        status_code=status,
        text=plain_text(body, 300),
        endpoint=endpoint,
    )


def parse_lookup(rows: list[dict[str, object]], *, truncated: bool) -> SearchResult:
    """The quick search's rows: tickets (with a ticket_id) and customers ("email (count)")."""
    tickets, customers = [], []
    for row in rows:
        if row.get("ticket_id"):
            entries = row.get("entries")
            tickets.append(
                TicketMatch(
                    number=str(row["value"]),
                    ticket_id=int(str(row["ticket_id"])),
                    subject=str(row.get("subject") or "") or None,
                    user=str(row.get("user") or "") or None,
                    entries=int(str(entries)) if entries is not None else None,
                )
            )
        elif row.get("email"):
            count = re.search(r"\((\d+)\)\s*$", str(row.get("info", "")))
            customers.append(
                CustomerMatch(
                    email=str(row["email"]), tickets=int(count.group(1)) if count else None
                )
            )
    return SearchResult(tickets=tuple(tickets), customers=tuple(customers), truncated=truncated)


def _match(kind: str, value: str | int, options: list[Choice]) -> Choice:
    """The option with this id or name (case-insensitive), else `UnknownChoice` listing them."""
    wanted = str(value).strip()
    for option in options:
        if str(option.id) == wanted or option.name.casefold() == wanted.casefold():
            return option
    raise UnknownChoice(kind, value, [o.name for o in options])


def _plain_to_html(field: str, text: str) -> str:
    # The staff panel treats entries as rich text: keep the line breaks and escape markup,
    # although the desk decodes entities before it strips tags (so "<now>" is lost anyway).
    warn_tag_like(field, text)
    return "<br />\n".join(html.escape(line) for line in text.split("\n"))


class AgentOperations:
    """The staff-panel half of `OsTicket`: every method takes a ticket **number**."""

    url: str
    username: str | None
    _password: str | None
    _transport: Transport
    _sleep: Callable[[float], None]

    def _init_agent(self, db_timezone: tzinfo) -> None:
        self.db_timezone = db_timezone
        self._last_export = 0.0
        self._monotonic: Callable[[], float] = time.monotonic
        self._session: StaffSession | None = None
        self._ids: dict[str, int] = {}
        self._choices: dict[str, list[Choice]] = {}
        self._my_id: int | None = None

    # -- plumbing ------------------------------------------------------------------------

    @property
    def staff(self) -> StaffSession:
        """The agent session, logged in on first use."""
        if self._session is None:
            if not self.username or not self._password:
                raise ConfigurationError(
                    "no agent login: set OSTICKET_USERNAME and OSTICKET_PASSWORD (or _FILE),"
                    " or username/password in a config profile"
                )
            self._session = StaffSession(self._transport, self.url, self.username, self._password)
        return self._session

    def _send(
        self,
        name: str,
        *,
        ids: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, object] | None = None,
    ) -> tuple[Route, requests.Response, str]:
        route = ROUTES[name]
        response = self.staff.send(route, ids=ids, params=params, data=data)
        endpoint = f"{route.method} {self.staff.scp}{route.path.format(**(ids or {}))}"
        return route, response, endpoint

    def _act(
        self,
        name: str,
        number: str,
        done: str,
        *,
        ids: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
    ) -> ActionResult:
        route, response, endpoint = self._send(
            name, ids={"id": self.ticket_id(number), **(ids or {})}, data=data
        )
        return read_action(route, response, endpoint, done)

    def ticket_id(self, number: str | int) -> int:
        """The internal id of the ticket with this number (exact match only; cached).

        Raises:
            TicketNotFound: no visible ticket has exactly this number.
        """
        number = str(number).strip().lstrip("#")
        if number not in self._ids:
            _, response, endpoint = self._send("number_lookup", params={"q": number})
            rows = self.staff.json(response, endpoint)
            matches = [r for r in rows if isinstance(r, dict) and str(r.get("value")) == number]
            if not matches:
                raise TicketNotFound(
                    f"no ticket #{number} on the desk (or not visible to agent {self.username!r})",
                    endpoint=endpoint,
                )
            self._ids[number] = int(matches[0]["ticket_id"])
        return self._ids[number]

    def find_tickets(self, query: str, *, limit: int = 25) -> SearchResult:
        """Tickets matching a number prefix, an e-mail address or words (3 characters or more).

        Raises:
            ValueError: the query is shorter than the desk searches (3 characters).
        """
        if len(query.strip()) < 3:
            raise ValueError("find_tickets: the desk searches 3 characters or more")
        # One more than asked, to tell a full result from a truncated one.
        _, response, endpoint = self._send(
            "lookup", params={"q": query.strip(), "limit": str(limit + 1)}
        )
        rows = [r for r in self.staff.json(response, endpoint) if isinstance(r, dict)]
        return parse_lookup(rows[:limit], truncated=len(rows) > limit)

    # -- choices -------------------------------------------------------------------------

    def _list(self, kind: str) -> list[Choice]:
        if kind not in self._choices:
            _, response, endpoint = self._send("search_field", ids={"path": CHOICE_KINDS[kind]})
            options = parse_search_options(self.staff.json(response, endpoint, "html"))
            if kind == "status":
                states = self._status_states()
                options = [o.model_copy(update={"state": states.get(o.id)}) for o in options]
            self._choices[kind] = options
        return self._choices[kind]

    def _status_states(self) -> dict[int, str]:
        """Each status's state, from the status dialogs this agent may open."""
        states: dict[int, str] = {}
        for dialog, state in STATUS_STATES.items():
            _, response, endpoint = self._send("statuses_dialog", ids={"state": dialog})
            if response.status_code != 200:  # 403 where the role may not close tickets
                continue
            try:
                states.update((c.id, state) for c in parse_statuses(response.text))
            except ValueError as exc:
                raise UnexpectedResponse(
                    f"unreadable status dialog: {exc}",
                    status_code=response.status_code,
                    endpoint=endpoint,
                ) from None
        return states

    def resolve(self, kind: str, value: str | int | Choice) -> Choice:
        """The desk's choice for a name or id, matched case-insensitively.

        Raises:
            UnknownChoice: nothing matches; the error lists what the desk offers.
        """
        if isinstance(value, Choice):
            return value
        options = self._list(kind)
        return _match(kind, value, options)

    def statuses(self) -> list[Choice]:
        """The ticket statuses agents can set, each with its state (open / closed)."""
        return list(self._list("status"))

    def agents(self) -> list[Choice]:
        """The desk's agents."""
        return list(self._list("agent"))

    def teams(self) -> list[Choice]:
        """The desk's teams."""
        return list(self._list("team"))

    def departments(self) -> list[Choice]:
        """The desk's departments."""
        return list(self._list("department"))

    def topics(self) -> list[Choice]:
        """The desk's help topics."""
        return list(self._list("topic"))

    def priorities(self) -> list[Choice]:
        """The desk's priority levels."""
        return list(self._list("priority"))

    def sla_plans(self) -> list[Choice]:
        """The desk's SLA plans."""
        return list(self._list("sla"))

    # -- actions -------------------------------------------------------------------------

    def set_status(
        self, number: str, status: str | int | Choice, comment: str | None = None
    ) -> ActionResult:
        """Set the ticket's status (by name or id); `comment` becomes an internal note.

        Raises:
            UnknownChoice, PermissionDenied, TicketNotFound, ActionRejected.
        """
        choice = self.resolve("status", status)
        return self._act(
            "set_status",
            number,
            f"status set to {choice.name}",
            data={"status_id": choice.id, "comments": comment},
        )

    def assign(
        self,
        number: str,
        *,
        agent: str | int | Choice | None = None,
        team: str | int | Choice | None = None,
        comment: str | None = None,
    ) -> ActionResult:
        """Assign the ticket to an agent or a team (exactly one).

        Raises:
            ValueError: neither or both given.
            UnknownChoice, PermissionDenied, TicketNotFound, ActionRejected.
        """
        if (agent is None) == (team is None):
            raise ValueError("assign: give exactly one of agent= or team=")
        if agent is not None:
            choice, target, prefix = self.resolve("agent", agent), "agents", "s"
        else:
            choice, target, prefix = self.resolve("team", team), "teams", "t"  # type: ignore[arg-type]
        return self._act(
            "assign",
            number,
            f"assigned to {choice.name}",
            ids={"target": target},
            data={"assignee[]": f"{prefix}{choice.id}", "comments": comment},
        )

    def claim(self, number: str) -> ActionResult:
        """Assign an open, unassigned ticket to the logged-in agent."""
        return self._act("claim", number, "claimed", data={"assignee[]": f"s{self._me()}"})

    def release(
        self, number: str, *, agent: bool = True, team: bool = True, comment: str | None = None
    ) -> ActionResult:
        """Remove the ticket's agent and/or team assignment.

        The desk answers "released" even for an unassigned ticket, so the ticket is read
        first: nothing assigned is `changed=False`.
        """
        ticket = self.get_ticket(number)
        if not ticket.assigned_to:
            return ActionResult(changed=False, message="the ticket is not assigned")
        data: dict[str, object] = {"comments": comment}
        if agent:
            data["sid[]"] = "1"
        if team:
            data["tid[]"] = "1"
        return self._act("release", number, "assignment released", data=data)

    def transfer(
        self, number: str, department: str | int | Choice, comment: str | None = None
    ) -> ActionResult:
        """Move the ticket to another department (its SLA follows the department).

        Raises:
            PermissionDenied: the agent's role may not transfer tickets.
            UnknownChoice: no department the agent may transfer to has that name.
            TicketNotFound, ActionRejected.
        """
        try:
            choice = self.resolve("department", department)
        except UnknownChoice:
            # The department list shows only the agent's own departments: ask the transfer
            # dialog, which says whether the role may transfer, and to where.
            choice = self._transfer_target(number, department)
        return self._act(
            "transfer",
            number,
            f"transferred to {choice.name}",
            data={"dept": choice.id, "comments": comment},
        )

    def _transfer_target(self, number: str, department: str | int | Choice) -> Choice:
        route, response, endpoint = self._send(
            "transfer_dialog", ids={"id": self.ticket_id(number)}
        )
        if response.status_code != 200:
            read_action(route, response, endpoint, "")  # raises: 403 the role, 404, 5xx
            raise UnexpectedResponse("unexpected answer to the transfer dialog", endpoint=endpoint)
        if isinstance(department, Choice):
            department = department.id
        return _match(
            "department this agent may transfer to", department, parse_search_options(response.text)
        )

    def _edit(self, number: str, field: str, value: object, done: str) -> ActionResult:
        return self._act(
            "edit_field", number, done, ids={"field": field}, data={FIELD_NAMES[field]: value}
        )

    def set_priority(self, number: str, priority: str | int | Choice) -> ActionResult:
        """Set the priority by name or id (resolved first: the desk stores anything sent)."""
        choice = self.resolve("priority", priority)
        return self._edit(number, "priority", choice.id, f"priority set to {choice.name}")

    def set_sla(self, number: str, sla: str | int | Choice) -> ActionResult:
        """Set the SLA plan by name or id."""
        choice = self.resolve("sla", sla)
        return self._edit(number, "sla", choice.id, f"SLA plan set to {choice.name}")

    def set_topic(self, number: str, topic: str | int | Choice) -> ActionResult:
        """Set the help topic by name or id."""
        choice = self.resolve("topic", topic)
        return self._edit(number, "topic", choice.id, f"help topic set to {choice.name}")

    def set_due_date(self, number: str, due: datetime) -> ActionResult:
        """Set the manual due date (an aware datetime; it wins over the SLA's).

        Raises:
            ValueError: `due` has no time zone.
        """
        if due.tzinfo is None:
            raise ValueError("set_due_date: due must be timezone-aware (e.g. ...+00:00)")
        utc = due.astimezone(timezone.utc).replace(microsecond=0)
        return self._edit(number, "duedate", utc.isoformat(), f"due date set to {utc.isoformat()}")

    def mark_answered(
        self, number: str, answered: bool = True, comment: str | None = None
    ) -> ActionResult:
        """Mark the ticket answered or unanswered."""
        action = "answered" if answered else "unanswered"
        # The desk only acts on a non-empty form: the comment field is always sent.
        return self._act(
            "mark",
            number,
            f"marked {action}",
            ids={"action": action},
            data={"comments": comment or ""},
        )

    # -- reading ------------------------------------------------------------------------

    def get_ticket(self, number: str) -> Ticket:
        """The ticket as the staff panel shows it, with its thread sorted by entry id.

        Times are UTC, from the page's machine-readable ones: `created` and `closed` from the
        thread's events, `last_message` / `last_response` from its entries. The page shows
        the due date only as display text: `due_date` is None here (`list_tickets` has it).

        Raises:
            TicketNotFound: no such ticket, or not visible to the agent.
        """
        ticket_id = self.ticket_id(number)
        _, response, endpoint = self._send("ticket_page", params={"id": str(ticket_id)})
        page = response.text
        try:
            teams = [t.name for t in self._choices.get("team", [])]
            soup = parse_ticket_html(page)  # both readers below share one parse
            events = parse_thread_events(soup)
            ticket = parse_ticket_page(soup, teams=teams)
        except ValueError as exc:
            reason = refusal(page) or str(exc)
            raise TicketNotFound(
                f"cannot read ticket #{number}: {reason}",
                status_code=response.status_code,
                endpoint=endpoint,
            ) from None
        created = next((e.when for e in events if e.kind == "created"), None)
        closed = [e.when for e in events if e.kind == "closed"]

        def newest(kind: str) -> datetime | None:
            return max((e.created for e in ticket.thread if e.type == kind), default=None)

        state = ticket.state
        if "status" in self._choices:
            known = {c.name: c.state for c in self._choices["status"]}
            state = known.get(ticket.status) or state
        return ticket.model_copy(
            update={
                "state": state,
                "created": created,
                "closed": closed[-1] if closed and state == "closed" else None,
                "last_message": newest("message"),
                "last_response": newest("response"),
            }
        )

    def list_tickets(self, queue: int = 1) -> Iterator[TicketSummary]:
        """Every ticket of a queue (stock: 1 Open, 2 Open/unanswered, 3 Answered, 4 Overdue,
        5 My Tickets, 8 Closed), from the queue's CSV export: no silent truncation.

        The desk allows one export per 15 s without starving its workers: a second call
        within that time waits. Dates are read in the desk's database time zone.

        Raises:
            ActionRejected: the desk refused the export (unknown queue, no right).
            TimeoutError: the export was not ready in time (the desk then e-mails it).
        """
        wait = self._last_export + EXPORT_INTERVAL - self._monotonic()
        if self._last_export and wait > 0:
            self._sleep(wait)
        self._last_export = self._monotonic()
        _, response, endpoint = self._send(
            "export",
            ids={"queue": int(queue)},
            data={
                "fields[]": list(FIXED_EXPORT_ORDER),
                "filename": "osticket-client.csv",
                "csv-delimiter": ",",
            },
        )
        if response.status_code != 201:
            raise ActionRejected(
                f"the desk refused to export queue {queue}",
                status_code=response.status_code,
                text=refusal(response.text) or plain_text(response.text, 200),
                endpoint=endpoint,
            )
        export_id = str(self.staff.json(response, endpoint, "eid"))
        self._await_export(export_id)
        _, download, endpoint = self._send("export_download", params={"id": export_id})
        if download.status_code != 200:
            raise UnexpectedResponse(
                "the export could not be downloaded",
                status_code=download.status_code,
                text=plain_text(download.text, 200),
                endpoint=endpoint,
            )
        text = download.content.decode("utf-8-sig")
        try:
            rows = parse_queue_csv(text, self.db_timezone, FIXED_EXPORT_ORDER, delimiter=",")
        except ValueError as exc:
            raise UnexpectedResponse(
                f"unreadable export of queue {queue}: {exc}", endpoint=endpoint
            ) from None
        return iter(rows)

    def _await_export(self, export_id: str) -> None:
        """Poll until the export is ready: 201 ready, 200 not yet, 404 not registered yet.

        The desk answers the export's 201 before it stores the export in the session, so a
        check sent at once can get 404 "No such export": that is polled like "not ready".
        """
        delay, waited = 0.1, 0.0
        while True:
            _, response, endpoint = self._send("export_check", ids={"eid": export_id})
            status = response.status_code
            if status == 201:
                return
            if status >= 500:
                raise ServerError(
                    f"the desk failed while preparing export {export_id}",
                    status_code=status,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                )
            if status not in (200, 404):
                raise UnexpectedResponse(
                    f"unexpected answer while waiting for export {export_id}",
                    status_code=status,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                )
            if waited >= EXPORT_TIMEOUT:
                what = "was not ready" if status == 200 else "was still unknown to the desk"
                raise TimeoutError(
                    f"export {export_id} {what} after {waited:.0f}s",
                    status_code=status,
                    text=plain_text(response.text, 200) if status == 404 else None,
                    endpoint=endpoint,
                    hint="a large queue can take minutes to export; the desk e-mails an export"
                    " nobody downloads to the agent",
                )
            self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)

    # -- thread entries (need the ticket's lock) -------------------------------------------

    def reply(
        self,
        number: str,
        text: str,
        *,
        html: bool = False,
        status: str | int | Choice | None = None,
        notify: bool = True,
    ) -> ActionResult:
        """Post a response to the customer (e-mailed unless `notify=False`).

        Never repeated: if the answer is lost, `OutcomeUnknown` says the reply may exist.

        Raises:
            TicketLocked: another agent holds the ticket's lock.
            PermissionDenied, UnknownChoice, TicketNotFound, ActionRejected, OutcomeUnknown.
        """
        fields: dict[str, object] = {
            "a": "reply",
            "response": text if html else _plain_to_html("reply", text),
            "reply-to": "all" if notify else "none",
            "signature": "none",
        }
        if status is not None:
            fields["reply_status_id"] = self.resolve("status", status).id
        return self._post_entry(number, "reply", fields, "reply posted")

    def add_note(
        self,
        number: str,
        text: str,
        *,
        title: str | None = None,
        status: str | int | Choice | None = None,
        html: bool = False,
    ) -> ActionResult:
        """Post an internal note (agents only; the customer never sees it).

        Raises:
            TicketLocked, PermissionDenied, UnknownChoice, TicketNotFound, ActionRejected,
            OutcomeUnknown.
        """
        fields: dict[str, object] = {
            "a": "postnote",
            "note": text if html else _plain_to_html("note", text),
            "title": title or "",
        }
        if status is not None:
            fields["note_status_id"] = self.resolve("status", status).id
        return self._post_entry(number, "note", fields, "internal note posted")

    def _post_entry(
        self, number: str, name: str, fields: dict[str, object], done: str
    ) -> ActionResult:
        ticket_id = self.ticket_id(number)
        lock_id, code = self._lock(ticket_id)
        posted = False
        try:
            try:
                _, response, endpoint = self._send(
                    name,
                    params={"id": str(ticket_id)},
                    data={**fields, "id": ticket_id, "lockCode": code},
                )
            except (TimeoutError, TransportError) as exc:
                if isinstance(exc, ConnectError):
                    raise
                raise OutcomeUnknown(
                    f"{exc.message}; the {name} may have been posted",
                    endpoint=exc.endpoint,
                    hint="read the ticket's thread before posting again",
                ) from None
            if response.status_code in (301, 302, 303):
                posted = True  # the desk releases the lock itself after a post
                return ActionResult(changed=True, message=done)
            if response.status_code >= 500:
                # The desk may fail after storing the entry (e.g. while e-mailing it).
                raise OutcomeUnknown(
                    f"the desk failed (HTTP {response.status_code}); the {name} may have been"
                    " posted",
                    status_code=response.status_code,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                    hint="read the ticket's thread before posting again",
                )
            reason = refusal(response.text) or f"HTTP {response.status_code}"
            if "locked by" in reason.lower():
                raise TicketLocked(
                    reason, status_code=response.status_code, text=reason, endpoint=endpoint
                )
            if "denied" in reason.lower() or "permission" in reason.lower():
                raise PermissionDenied(
                    "the agent's role does not allow this",
                    status_code=response.status_code,
                    text=reason,
                    endpoint=endpoint,
                )
            raise ActionRejected(
                f"the desk did not post the {name}",
                status_code=response.status_code,
                text=reason,
                endpoint=endpoint,
            )
        finally:
            if lock_id and not posted:
                self._unlock(lock_id)

    def _lock(self, ticket_id: int) -> tuple[int, str]:
        """Take the ticket's lock: (lock id, code), or (0, "") where the desk has locks off."""
        for attempt in (1, 2):
            _, response, endpoint = self._send("lock", ids={"id": ticket_id})
            if response.status_code == 418:
                return 0, ""
            if response.status_code == 500 and not response.text.strip() and attempt == 1:
                # osTicket answers an empty 500 when an agent asks again, within the same
                # second, for a lock it holds; a second later it works.
                self._sleep(1.0)
                continue
            try:
                lock = parse_lock(response.text)
            except ValueError:
                raise UnexpectedResponse(
                    "the desk's answer to a lock request is not JSON",
                    status_code=response.status_code,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                ) from None
            if lock.acquired:
                return lock.id, lock.code
            if lock.message:
                raise TicketLocked(
                    lock.message,
                    status_code=response.status_code,
                    text=lock.message,
                    endpoint=endpoint,
                    hint="try again when the other agent is done",
                )
            if lock.retry and attempt == 1:
                self._sleep(1.0)
                continue
            break
        raise ActionRejected("the desk gave no lock for the ticket")

    def _unlock(self, lock_id: int) -> None:
        try:
            self._send("unlock", ids={"lock": lock_id})
        except OsTicketError as exc:  # the lock expires by itself; never hide the real error
            logger.info("releasing lock %s failed: %s", lock_id, exc)

    def version(self) -> str | None:
        """The desk's osTicket version: exact for admins, from the release commit otherwise."""
        _, response, _ = self._send("system")
        match = re.search(r"osTicket Version</td>\s*<td><span[^>]*>\s*(v[\w.\-]+)", response.text)
        if match:
            return match.group(1)
        _, response, _ = self._send("profile")
        commit = re.search(r'x-pjax-version" content="([0-9a-f]+)"', response.text)
        if not commit:
            return None
        return KNOWN_RELEASES.get(commit.group(1), f"unknown release (commit {commit.group(1)})")

    def _me(self) -> int:
        if self._my_id is None:
            _, response, endpoint = self._send("profile")
            match = re.search(r'<input type="hidden" name="id" value="(\d+)"', response.text)
            if not match:
                raise UnexpectedResponse(
                    "cannot find the agent's own id on profile.php",
                    status_code=response.status_code,
                    endpoint=endpoint,
                )
            self._my_id = int(match.group(1))
        return self._my_id
