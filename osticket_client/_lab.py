"""The lab kit: practice tickets, creating them in parallel, the lifecycle walkthrough, reset.

The kit marks its tickets by their customers' e-mail domain, `@practice.example` (a reserved,
never-delivered domain): `reset` closes the open tickets from that domain and nothing else, so
nothing is stored outside the desk.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ._admin import PRACTICE
from ._client import OsTicket
from ._errors import OsTicketError, TicketOutcomeUnknown
from ._models import Attachment, NewTicket, Priority
from ._tickets import Ticket

__all__ = [
    "PRACTICE_DOMAIN",
    "STOCK_TOPICS",
    "SeedOutcome",
    "WalkStep",
    "create_tickets",
    "is_practice_email",
    "practice_tickets",
    "reset_practice_tickets",
    "walkthrough",
]

PRACTICE_DOMAIN = "practice.example"
# A stock desk's help topics (FACTS: "The ticket model"); the practice topic's id is the desk's.
STOCK_TOPICS: Mapping[str, int] = {
    "General Inquiry": 1,
    "Feedback": 2,
    "Report a Problem": 10,
    "Report a Problem / Access Issue": 11,
}

# (name, e-mail local part): accented and CJK names arrive intact; no emoji (the desk drops them).
CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("Ada Fernández", "ada.fernandez"),
    ("Björn Lindqvist", "bjorn.lindqvist"),
    ("Chloé Dubois", "chloe.dubois"),
    ("Dmitri Volkov", "dmitri.volkov"),
    ("Emeka Obi", "emeka.obi"),
    ("Fatima Haddad", "fatima.haddad"),
    ("Grace Kim", "grace.kim"),
    ("Hiro Tanaka", "hiro.tanaka"),
    ("Inés García", "ines.garcia"),
    ("Jonas Müller", "jonas.mueller"),
    ("Kavya Reddy", "kavya.reddy"),
    ("Li Wei 李伟", "li.wei"),
    ("Mateo Rossi", "mateo.rossi"),
    ("Nora O'Brien", "nora.obrien"),
    ("Olu Adeyemi", "olu.adeyemi"),
    ("Priya Nair", "priya.nair"),
)
DEVICES = ("laptop", "desktop", "printer", "monitor", "docking station", "phone", "scanner")
APPS = ("e-mail", "VPN", "payroll portal", "CRM", "shared drive", "calendar", "timesheet app")
ROOMS = ("2.14", "3.07", "reception", "the warehouse office", "meeting room B", "4.21")


@dataclass(frozen=True)
class _Template:
    topic: str
    subject: str
    body: str
    priorities: tuple[Priority, ...]


TEMPLATES: tuple[_Template, ...] = (
    _Template(
        "Report a Problem",
        "My {device} will not start",
        "Since this morning my {device} in room {room} shows nothing when I press the power"
        " button. I tried another socket.",
        (Priority.NORMAL, Priority.HIGH),
    ),
    _Template(
        "Report a Problem / Access Issue",
        "Locked out of the {app}",
        "The {app} says my account is locked after I changed my password yesterday."
        " I need it for today's deadline.",
        (Priority.HIGH, Priority.EMERGENCY),
    ),
    _Template(
        "Practice Lab",
        "{app} is very slow",
        "Opening anything in the {app} takes more than a minute. Colleagues in room {room}"
        " see the same.",
        (Priority.NORMAL, Priority.HIGH),
    ),
    _Template(
        "Practice Lab",
        "New starter needs a {device}",
        "A new colleague joins on Monday in room {room}. Could you prepare a {device} and an"
        " account for the {app}?",
        (Priority.LOW, Priority.NORMAL),
    ),
    _Template(
        "General Inquiry",
        "How do I share a folder on the {app}?",
        "I would like to give my team read access to a folder. Is there a guide?",
        (Priority.LOW, Priority.NORMAL),
    ),
    _Template(
        "Feedback",
        "Thanks for the quick fix",
        "The {device} you repaired last week works perfectly. Thank you!",
        (Priority.LOW,),
    ),
    _Template(
        "Practice Lab",
        "The {device} in {room} makes a noise",
        "The {device} in {room} started making a grinding noise. It still works, for now.",
        (Priority.NORMAL,),
    ),
    _Template(
        "Report a Problem",
        "Error when saving in the {app}",
        "Every time I save in the {app} I get an error and my changes are lost."
        " The log is attached when I could get it.",
        (Priority.HIGH, Priority.NORMAL),
    ),
    _Template(
        "Practice Lab",
        "Cannot connect to the {app} from home",
        "Working from home today: the {app} will not connect, although my internet works.",
        (Priority.HIGH, Priority.NORMAL, Priority.EMERGENCY),
    ),
    _Template(
        "Report a Problem / Access Issue",
        "Need access to the {app}",
        "My manager approved access to the {app} for me. Could you set it up?",
        (Priority.NORMAL, Priority.LOW),
    ),
)


def is_practice_email(email: str | None) -> bool:
    """True for the addresses the kit gives its customers (case-insensitive)."""
    return bool(email) and str(email).strip().lower().endswith("@" + PRACTICE_DOMAIN)


def _attachment(rng: random.Random, fill: Mapping[str, str]) -> Attachment:
    kind = rng.choice(("log", "csv", "txt"))
    if kind == "log":
        lines = [
            f"2026-11-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
            f" ERROR {fill['app']}: code {rng.randint(100, 999)}"
            for _ in range(rng.randint(2, 6))
        ]
        return Attachment(
            name="error.log", data="\n".join(lines).encode(), content_type="text/plain"
        )
    if kind == "csv":
        rows = ["date,room,device"] + [
            f"2026-11-{d:02d},{fill['room']},{fill['device']}" for d in range(1, rng.randint(3, 6))
        ]
        return Attachment(
            name="incidents.csv", data="\n".join(rows).encode(), content_type="text/csv"
        )
    note = f"Steps I tried on the {fill['device']}:\n1. Restarted\n2. Checked the cables\n"
    return Attachment(name="what-i-tried.txt", data=note.encode(), content_type="text/plain")


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _html(body: str, name: str) -> str:
    return f"<p>Hello,</p><p>{body}</p><p>Regards,<br><b>{name}</b></p>"


def practice_tickets(
    count: int, seed: int, *, topics: Mapping[str, int] | None = None
) -> list[NewTicket]:
    """`count` realistic practice tickets, the same for the same `seed` (a pure function).

    Customers, topics, priorities, plain or HTML bodies and attachments (about one ticket in
    four) vary; every customer's address is at `@practice.example`. `topics` maps help-topic
    names to the desk's ids (default: the stock ones); a name it lacks (e.g. the practice topic
    on a desk without it) leaves the topic to the desk's default.

    Raises:
        ValueError: `count` is negative.
    """
    if count < 0:
        raise ValueError("count must be 0 or more")
    ids = STOCK_TOPICS if topics is None else topics
    folded = {name.casefold(): ident for name, ident in ids.items()}
    rng = random.Random(seed)
    tickets = []
    for _ in range(count):
        name, local = rng.choice(CUSTOMERS)
        template = rng.choice(TEMPLATES)
        fill = {"device": rng.choice(DEVICES), "app": rng.choice(APPS), "room": rng.choice(ROOMS)}
        body = template.body.format(**fill)
        html = rng.random() < 0.4
        attachments = [_attachment(rng, fill)] if rng.random() < 0.25 else []
        tickets.append(
            NewTicket(
                name=name,
                email=f"{local}@{PRACTICE_DOMAIN}",
                subject=_capitalized(template.subject.format(**fill)),
                message=_html(body, name) if html else f"Hello,\n\n{body}\n\nRegards,\n{name}",
                html=html,
                topic_id=folded.get(template.topic.casefold()),
                priority=rng.choice(template.priorities),
                attachments=attachments,
                # The desk's auto-responder would mail a customer who does not exist.
                autorespond=False,
            )
        )
    return tickets


# --------------------------------------------------------------------------- seeding


@dataclass
class SeedOutcome:
    """What a seed run did: the tickets created (index, number), the creates that failed, and
    the tickets never sent because the run stopped."""

    created: list[tuple[int, str]] = field(default_factory=list)
    failures: list[tuple[int, OsTicketError]] = field(default_factory=list)
    not_sent: list[int] = field(default_factory=list)

    @property
    def unknown(self) -> list[int]:
        """The failed creates that may have made their ticket (`TicketOutcomeUnknown`)."""
        return [i for i, exc in self.failures if isinstance(exc, TicketOutcomeUnknown)]


def create_tickets(
    desk: OsTicket,
    tickets: list[NewTicket],
    *,
    workers: int = 4,
    progress: Callable[[int], None] = lambda _: None,
) -> SeedOutcome:
    """Create `tickets` with at most `workers` requests at a time; never retried.

    The first failure stops the run: nothing more is sent, creates already under way finish,
    and the outcome lists what exists, which create failed (and whether it may have created
    its ticket) and which were never sent. `progress(1)` is called per finished create.
    """
    outcome = SeedOutcome()
    pending = iter(enumerate(tickets))
    stop = False
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        running: dict[Future[str], int] = {}

        def submit_next() -> None:
            for index, ticket in pending:
                running[pool.submit(desk.create_ticket, ticket)] = index
                return

        for _ in range(max(1, workers)):
            submit_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                try:
                    number = future.result()
                except OsTicketError as exc:
                    outcome.failures.append((index, exc))
                    stop = True
                else:
                    outcome.created.append((index, number))
                progress(1)
                if not stop:
                    submit_next()
    outcome.not_sent = [index for index, _ in pending]
    outcome.created.sort()
    outcome.failures.sort(key=lambda f: f[0])
    return outcome


# --------------------------------------------------------------------------- walkthrough


@dataclass(frozen=True)
class WalkStep:
    """One lifecycle step: what was done, what changed on the ticket, where to look."""

    title: str
    action: str
    changes: tuple[str, ...]
    look_at: str
    ticket: Ticket


def _changes(before: Ticket | None, after: Ticket) -> tuple[str, ...]:
    found = []
    for label, attr in (
        ("status", "status"),
        ("assigned to", "assigned_to"),
        ("priority", "priority"),
        ("help topic", "help_topic"),
        ("SLA plan", "sla_plan"),
        ("closed by", "closed_by"),
    ):
        old, new = (getattr(before, attr) if before else None), getattr(after, attr)
        if old != new and new:
            found.append(f"{label}: {old or '-'} -> {new}" if before else f"{label}: {new}")
    seen = {e.id for e in before.thread} if before else set()
    for entry in after.thread:
        if entry.id not in seen:
            title = f" ({entry.title})" if entry.title else ""
            found.append(f"new thread entry: {entry.type} by {entry.author}{title}")
    return tuple(found) or ("nothing visible changed",)


def walkthrough(
    desk: OsTicket,
    *,
    agent: str = PRACTICE.agent_name,
    topic: str = PRACTICE.topic,
    customer: tuple[str, str] = ("Wanda Walker", f"wanda.walker@{PRACTICE_DOMAIN}"),
) -> Iterable[WalkStep]:
    """Run the ticket lifecycle on one new practice ticket, yielding each step after it ran.

    Steps: intake (the customer opens it), assignment, first response and Work in Progress,
    request for details, Pending, the customer's answer, resolution, closure. Each step reads
    the ticket back to say what changed.

    Raises:
        UnknownChoice: the desk lacks the agent, a status or the topic (run `lab setup`).
        OsTicketError: as the operations raise them.
    """
    name, email = customer
    topic_id = desk.resolve("topic", topic).id
    assignee = desk.resolve("agent", agent)
    for status in ("Work in Progress", "Pending", "Resolved", "Closed"):
        desk.resolve("status", status)  # fail before anything is created
    number = desk.create_ticket(
        NewTicket(
            name=name,
            email=email,
            subject="Printer on floor 3 prints blank pages",
            message="Hello,\n\nThe printer next to room 3.07 prints blank pages since this"
            f" morning.\n\nThanks,\n{name}",
            topic_id=topic_id,
            priority=Priority.NORMAL,
            autorespond=False,
        )
    )
    ticket = desk.get_ticket(number)
    yield WalkStep(
        "1. Intake",
        f"{name} opened ticket #{number} in the support center (help topic {topic}).",
        _changes(None, ticket),
        f"Tickets > Open: #{number} is unassigned and unanswered; open it to see the"
        f" customer's message and the SLA plan its help topic gave it.",
        ticket,
    )
    steps: list[tuple[str, str, Callable[[], object], str]] = [
        (
            "2. Assignment",
            f"Assigned #{number} to {assignee.name}.",
            lambda: desk.assign(number, agent=assignee, comment="Yours: printer issue"),
            f"Tickets > Open > #{number}: 'Assigned To' shows {assignee.name}; the thread has"
            " an assignment event and the internal note.",
        ),
        (
            "3. First response, Work in Progress",
            "Replied to the customer and set the status to Work in Progress.",
            lambda: desk.reply(
                number,
                f"Hello {name.split()[0]},\n\nThanks for reporting this: we are on it.",
                status="Work in Progress",
            ),
            f"#{number}: the response (R) is in the thread, the status is Work in Progress,"
            " and the ticket moved to Open > Answered.",
        ),
        (
            "4. Request for details",
            "Asked the customer for the details needed.",
            lambda: desk.reply(
                number,
                "Could you tell us the printer's asset number and send a photo of a test page?",
            ),
            f"#{number}: a second response asks for details; the ticket stays answered.",
        ),
        (
            "5. Pending",
            "Set the status to Pending while waiting for the customer.",
            lambda: desk.set_status(number, "Pending", comment="Waiting for the asset number"),
            f"#{number}: status Pending (still an open state: the SLA clock keeps running);"
            " the comment became an internal note.",
        ),
        (
            "6. The customer's answer",
            f"{name} answered by e-mail.",
            lambda: desk.add_customer_message(
                number,
                email=email,
                name=name,
                text="The asset number is PR-3107. The test page is blank too.",
            ),
            f"#{number}: the customer's message (M) is in the thread and the ticket is"
            " unanswered again (Open > Open).",
        ),
        (
            "7. Resolution",
            "Replaced the toner cartridge and set the status to Resolved.",
            lambda: desk.set_status(
                number, "Resolved", comment="Toner cartridge was empty: replaced it"
            ),
            f"Tickets > Closed: #{number} is Resolved (a closed state) and no longer in the"
            " Open queue.",
        ),
        (
            "8. Closure",
            "Closed the ticket.",
            lambda: desk.set_status(number, "Closed", comment="Customer confirmed the fix"),
            f"Tickets > Closed > #{number}: status Closed; 'Closed By' shows who closed it.",
        ),
    ]
    for title, action, run, look_at in steps:
        before = ticket
        run()
        ticket = desk.get_ticket(number)
        yield WalkStep(title, action, _changes(before, ticket), look_at, ticket)


# --------------------------------------------------------------------------- reset


def reset_practice_tickets(
    desk: OsTicket, *, dry_run: bool = False
) -> tuple[list[str], list[tuple[str, OsTicketError]]]:
    """Close every open ticket whose customer is at `@practice.example` (and only those).

    Returns the numbers closed (or, with `dry_run`, to close) and the failures.
    """
    numbers = [t.number for t in desk.list_tickets(queue=1) if is_practice_email(t.from_email)]
    if dry_run:
        return numbers, []
    closed, failed = [], []
    for number in numbers:
        try:
            desk.set_status(number, "Closed", comment="Closed by osticket lab reset")
        except OsTicketError as exc:
            failed.append((number, exc))
        else:
            closed.append(number)
    return closed, failed
