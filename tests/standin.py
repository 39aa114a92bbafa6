"""Small stateful stand-ins for a desk: `StandInDesk` for the automation runner's crash and
fault tests, `StandInPanel` (the staff panel's session rules over HTTP) for one client shared
by threads.

`StandInDesk` keeps tickets as the staff panel would (status, assignee, priority, department,
thread), answers "already so" like the desk, counts every change it receives, and can be told to
die (a `Crash`, standing for SIGKILL) or to fail at a chosen call, before or after it acts.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from osticket_client import (
    ActionResult,
    Choice,
    OutcomeUnknown,
    ThreadEntry,
    ThreadEvent,
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


_MARKER = re.compile(r"<p>\[auto:[^\]]*\]</p>$")
AUTOMATION = "Automation"  # the automation agent's name, as thread entries show it


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
    overdue: bool = False
    thread: list[ThreadEntry] = field(default_factory=list)
    events: list[ThreadEvent] = field(default_factory=list)


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


def is_open(ticket: FakeTicket) -> bool:
    """The Open queue's filter (a module function: the stand-in desk is pickled)."""
    return STATUSES[ticket.status] == "open"


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
        self._note_bodies: dict[tuple[str, str], str] = {}
        # Queue id -> which tickets it holds (1: the open ones); `listed` says what was read.
        self.queues: dict[int, Callable[[FakeTicket], bool]] = {1: is_open}
        self.listed: list[int | str] = []
        self.url = "http://desk.example/"
        self.ids: dict[str, int] = {}  # number -> internal id, learned as OsTicket learns them

    # -- building a desk -------------------------------------------------------------------

    def add(self, number: str, subject: str, customer: str, age: timedelta, **kw: object) -> None:
        ticket = FakeTicket(number, subject, customer, self.now - age, **kw)  # type: ignore[arg-type]
        self.tickets[number] = ticket
        ticket.events.append(ThreadEvent(kind="created", when=ticket.created, text="Created"))
        self.entry(number, "message", customer, f"{subject}: please help", age)

    def move(self, number: str, status: str, age: timedelta) -> None:
        """Set a ticket's status as an agent did `age` ago (with its thread event)."""
        ticket = self.tickets[number]
        ticket.status = status
        closed = STATUSES[status] == "closed"
        text = (
            f"Closed by Ada with status of {status}"
            if closed
            else f"Ada changed the status to {status}"
        )
        ticket.events.append(
            ThreadEvent(kind="closed" if closed else "edited", when=self.now - age, text=text)
        )

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

    def me(self) -> Choice:
        return Choice(id=99, name=AUTOMATION)

    def statuses(self) -> list[Choice]:
        return [Choice(id=i, name=n, state=s) for i, (n, s) in enumerate(STATUSES.items(), 1)]

    def list_tickets(self, queue: int = 1) -> Iterator[TicketSummary]:
        self.listed.append(queue)
        return iter([self._row(t) for t in self.tickets.values() if self.queues[queue](t)])

    def search_tickets(
        self, *, status: list[str], updated_since: timedelta
    ) -> Iterator[TicketSummary]:
        """The desk's search: these statuses, updated (here: an event) since then."""
        self.listed.append(f"search {', '.join(status)} {updated_since}")
        since = self.now - updated_since
        return iter(
            [
                self._row(t)
                for t in self.tickets.values()
                if t.status in status and max(e.when for e in t.events) >= since
            ]
        )

    def _row(self, t: FakeTicket) -> TicketSummary:
        return TicketSummary(
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
            overdue=t.overdue,
        )

    def get_ticket(self, number: str) -> Ticket:
        # As the page by number answers: an unknown number is "Unknown or invalid number."
        if number not in self.tickets:
            self.ids.pop(number, None)
            raise TicketNotFound(f"no ticket #{number} to read: ticket: Unknown or invalid number.")
        self.pages_read += 1
        t = self.tickets[number]
        self.ids[number] = int(t.number)
        return Ticket(
            number=t.number,
            ticket_id=int(t.number),
            subject=t.subject,
            status=t.status,
            priority=t.priority,
            department=t.department,
            assigned_agent=t.agent,
            assigned_team=t.team,
            state=STATUSES[t.status],
            user_name=t.customer,
            thread=tuple(t.thread),
            events=tuple(t.events),
        )

    def ticket_ids(self) -> dict[str, int]:
        return dict(self.ids)

    def remember_ticket_ids(self, ids: Mapping[str, int]) -> None:
        self.ids.update(ids)

    # -- changing --------------------------------------------------------------------------

    def _change(
        self, number: str, kind: str, value: str, already: bool, comment: str | None = None
    ) -> ActionResult:
        if number not in self.ids:
            self.get_ticket(number)  # OsTicket reads the page of a number it never saw
        self.calls += 1
        self._fail(kind, "before")
        if already:
            result = ActionResult(changed=False, message=f"already {value}")
        else:
            self.changes[(number, kind, value)] += 1
            self._apply(number, kind, value)
            if comment:  # as the desk does: the comment becomes a note in the thread
                self.entry(number, "note", AUTOMATION, comment, timedelta(0))
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
            self.move(number, value, timedelta(0))
        elif kind == "set_priority":
            t.priority = value
        elif kind == "transfer":
            t.department = value
        elif kind == "reply":
            self.entry(number, "response", AUTOMATION, value, timedelta(0))
        else:
            body = self._note_bodies.pop((number, value), value)
            self.entry(number, "note", AUTOMATION, body, timedelta(0))

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
            return self._change(number, "assign_agent", agent, t.agent == agent, comment)
        return self._change(number, "assign_team", team or "", t.team == team, comment)

    def set_status(self, number: str, status: str, comment: str | None = None) -> ActionResult:
        already = self.tickets[number].status == status
        return self._change(number, "set_status", status, already, comment)

    def transfer(self, number: str, department: str, comment: str | None = None) -> ActionResult:
        t = self.tickets[number]
        return self._change(number, "transfer", department, t.department == department, comment)

    def set_priority(self, number: str, priority: str) -> ActionResult:
        t = self.tickets[number]
        return self._change(number, "set_priority", priority, t.priority == priority)

    def reply(
        self, number: str, text: str, *, html: bool = False, status: str | None = None
    ) -> ActionResult:
        result = self._change(number, "reply", text, False)
        if status is not None and self.tickets[number].status != status:
            self.move(number, status, timedelta(0))  # the same post: one reply that sets it
        return result

    def add_note(
        self, number: str, text: str, *, html: bool = False, title: str | None = None
    ) -> ActionResult:
        # Counted by what the note says; the thread keeps it whole, marker included.
        self._note_bodies[(number, _MARKER.sub("", text))] = text
        return self._change(number, "note", _MARKER.sub("", text), False)


def lost_answer() -> OutcomeUnknown:
    return OutcomeUnknown("the answer was lost; the reply may have been posted")


def locked() -> TicketLocked:
    return TicketLocked("Currently locked by Vera Viewer")


# -- the staff panel over HTTP, for what one client shared by threads does to a desk ----------


@dataclass
class PanelSession:
    """One PHP session on the stand-in panel: its CSRF token and whether an agent is in it."""

    token: str
    agent: bool = False
    rotate_at: float = float("inf")


class StandInPanel(ThreadingHTTPServer):
    """osTicket's staff-panel session rules over real HTTP on 127.0.0.1, counted.

    As osTicket 1.18.1 does (scp/login.php, include/class.auth.php, class.usersession.php):
    the login form's CSRF token belongs to the session, and a login posted with another
    session's token is refused (logged "Invalid CSRF Token"); a wrong password is a strike;
    a login keeps the session id, and the first GET `rotate_after` seconds later moves the
    session to a new id (the old one keeps working); ajax calls without a login answer 403
    "Must login", pages redirect to login.php; every POST needs the token. `expire()` ends
    every login, as the idle timeout does. Tickets: any number of digits (its id is the
    number), each shown as `ticket_page(number)` makes it, by number (`tickets.php?number=`).
    """

    daemon_threads = True

    def __init__(
        self, password: str, ticket_page: Callable[[str], str], *, rotate_after: float = 10.0
    ) -> None:
        super().__init__(("127.0.0.1", 0), _PanelHandler)
        self.password = password
        self.ticket_page = ticket_page
        self.rotate_after = rotate_after
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        self.lock = threading.Lock()
        self.sessions: dict[str, PanelSession] = {}
        self.counts: Counter[str] = Counter()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> StandInPanel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def expire(self) -> None:
        """End every agent's login, as the desk's idle timeout does."""
        with self.lock:
            for session in self.sessions.values():
                session.agent = False

    def session(self, sid: str | None) -> tuple[str, PanelSession, bool]:
        """The request's session, a new one when its cookie names none: (id, session, new)."""
        with self.lock:
            if sid in self.sessions:
                assert sid is not None
                return sid, self.sessions[sid], False
            sid = secrets.token_hex(8)
            self.sessions[sid] = PanelSession(token=secrets.token_hex(8))
            return sid, self.sessions[sid], True

    def rotated(self, sid: str, session: PanelSession) -> str | None:
        """The session's new id when it is due to move (the old id keeps working), else None."""
        with self.lock:
            if time.monotonic() < session.rotate_at:
                return None
            session.rotate_at = time.monotonic() + self.rotate_after
            new = secrets.token_hex(8)
            self.sessions[new] = replace(session)
            self.counts["rotations"] += 1
            return new


class _PanelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInPanel

    def log_message(self, format: str, *args: object) -> None:
        return

    def _answer(
        self, status: int, body: str, *, cookie: str | None = None, location: str = ""
    ) -> None:
        data = body.encode()
        self.send_response(status)
        if cookie:
            self.send_header("Set-Cookie", f"OSTSESSID={cookie}; path=/")
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _request(self) -> tuple[str, dict[str, list[str]], str, PanelSession, bool]:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        jar = SimpleCookie(self.headers.get("Cookie", ""))
        sid = jar["OSTSESSID"].value if "OSTSESSID" in jar else None
        sid, session, new = self.server.session(sid)
        return path + "?" + query, form, sid, session, new

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url, form, sid, session, new = self._request()
        cookie = sid if new else None
        panel = self.server
        if url.startswith("/scp/login.php"):
            if method == "GET":
                page = f'<form><input type="hidden" name="__CSRFToken__" value="{session.token}">'
                return self._answer(200, page, cookie=cookie)
            time.sleep(0.02)  # the desk takes its time checking a password
            if form.get("__CSRFToken__") != [session.token]:
                panel.counts["csrf_refused"] += 1
                return self._answer(200, '{"status": 302, "redirect": "/scp/login.php"}')
            if form.get("passwd") != [panel.password]:
                panel.counts["failed_logins"] += 1
                return self._answer(200, '{"status": 401, "message": "Access denied"}')
            with panel.lock:
                session.agent = True
                session.rotate_at = time.monotonic() + panel.rotate_after
                panel.counts["logins"] += 1
            return self._answer(200, '{"status": 302, "redirect": "index.php"}', cookie=cookie)
        ajax = "/ajax.php/" in url
        if not session.agent:
            panel.counts["must_login"] += 1
            if ajax:
                return self._answer(403, "Must login: Authentication Required", cookie=cookie)
            return self._answer(302, "", cookie=cookie, location="login.php")
        if method == "POST":
            sent = self.headers.get("X-CSRFToken") or form.get("__CSRFToken__", [""])[0]
            if sent != session.token:
                panel.counts["csrf_refused"] += 1
                return self._answer(400, "Valid CSRF Token Required")
        else:
            cookie = panel.rotated(sid, session)
        panel.counts[f"{method} {url.split('?')[0]}"] += 1
        if url.startswith("/scp/logout.php"):
            session.agent = False
            return self._answer(302, "", location="login.php")
        if url.startswith("/scp/tickets.php?number="):
            # The page by number, as scp/tickets.php answers it: the ticket, or the queue
            # with "ticket: Unknown or invalid number." for a number no ticket has.
            number = parse_qs(url.partition("?")[2])["number"][0]
            if not number.isdigit():
                unknown = '<div id="msg_error">ticket: Unknown or invalid number.</div>'
                return self._answer(200, unknown, cookie=cookie)
            return self._answer(200, panel.ticket_page(number), cookie=cookie)
        return self._answer(404, "Not Found", cookie=cookie)
