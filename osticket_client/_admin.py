"""A practice desk through the admin panel: read what exists, create only what is missing.

Admin pages are plain forms posted with their plain field names (osTicket v1.18.1, seen):
a page form answers 200 either way (`#msg_notice` success, `#msg_error` plus one
`span.error` per field on failure); the ticket-status list takes an ajax post answered 201
with the new row's JSON, or an empty 500 when the name already exists (a stock bug: nothing
was created). Names are compared case-insensitively, as the desk compares them.

Every route is sent through the same seam as the agent operations (`StaffSession.send`).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Literal

import requests
from bs4 import BeautifulSoup, Tag

from ._client import OsTicket
from ._errors import ActionRejected, PermissionDenied, ServerError, UnexpectedResponse
from ._pages import form_errors, page_error, page_notice, plain_text, refusal
from ._staff import Route

__all__ = [
    "ADMIN_ROUTES",
    "PRACTICE",
    "AdminRow",
    "DeskInventory",
    "PlanItem",
    "PracticeSpec",
    "apply_plan",
    "default_password_file",
    "plan_setup",
    "read_inventory",
    "sla_grace_periods",
    "write_secret_file",
]

ADMIN_ROUTES: dict[str, Route] = {
    r.name: r
    for r in (
        Route("status_list", "GET", "lists.php", True, ajax=False),
        # Creating something twice is refused by name, but is never sent twice blindly.
        Route("status_add", "POST", "ajax.php/list/{list}/item/add", False),
        Route("sla_list", "GET", "slas.php", True, ajax=False),
        Route("sla_add", "POST", "slas.php", False, ajax=False),
        Route("staff_list", "GET", "staff.php", True, ajax=False),
        Route("staff_password", "POST", "ajax.php/staff/0/set-password", True),
        Route("staff_add", "POST", "staff.php", False, ajax=False),
        Route("team_list", "GET", "teams.php", True, ajax=False),
        Route("team_add", "POST", "teams.php", False, ajax=False),
        Route("topic_list", "GET", "helptopics.php", True, ajax=False),
        Route("topic_add", "POST", "helptopics.php", False, ajax=False),
    )
}

STATUS_LIST_ID = 1  # Admin > Manage > Lists > Ticket Statuses
SCHEDULE_24_7 = 2  # stock schedules: 1 Mon-Fri 8-5 + US holidays, 2 24/7, 3 24/5
ROLE_EXPANDED_ACCESS = 2
DEPT_SUPPORT = 1
PRIORITY_NORMAL = 2
TICKET_DETAILS_FORM = 2  # with fields 20 subject, 21 message, 22 priority
_EXISTS = re.compile(r"already (exists|in use)", re.IGNORECASE)

Kind = Literal["status", "agent", "team", "sla", "topic"]


@dataclass(frozen=True)
class PracticeSpec:
    """What a practice desk has: its names are compared case-insensitively with the desk's."""

    statuses: tuple[str, ...] = ("Work in Progress", "Pending", "On Hold")
    agent_first: str = "Sam"
    agent_last: str = "Practice"
    agent_username: str = "sam.practice"
    agent_email: str = "sam.practice@agents.practice.example"
    team: str = "Practice Team"
    sla: str = "Practice SLA 1h"
    sla_grace_hours: int = 1
    topic: str = "Practice Lab"

    @property
    def agent_name(self) -> str:
        return f"{self.agent_first} {self.agent_last}"


PRACTICE = PracticeSpec()


@dataclass(frozen=True)
class AdminRow:
    """One row of an admin list page: the object's id, name and the row's cell texts."""

    id: int
    name: str
    cells: tuple[str, ...] = ()


@dataclass
class DeskInventory:
    """What the desk already has, by kind, keyed by the case-folded name (agents: username)."""

    statuses: dict[str, AdminRow] = field(default_factory=dict)
    agents: dict[str, AdminRow] = field(default_factory=dict)
    teams: dict[str, AdminRow] = field(default_factory=dict)
    slas: dict[str, AdminRow] = field(default_factory=dict)
    topics: dict[str, AdminRow] = field(default_factory=dict)

    def of(self, kind: Kind) -> dict[str, AdminRow]:
        return {
            "status": self.statuses,
            "agent": self.agents,
            "team": self.teams,
            "sla": self.slas,
            "topic": self.topics,
        }[kind]


@dataclass
class PlanItem:
    """One object of the practice desk: whether it existed, and its id once known."""

    kind: Kind
    name: str
    existed: bool
    id: int | None = None
    created: bool = False
    detail: str = ""

    @property
    def outcome(self) -> str:
        if self.created:
            return "created"
        return "already exists" if self.existed else "to create"


# --------------------------------------------------------------------------- reading


def _id(value: str) -> int | None:
    match = re.search(r"(\d+)$", value)
    return int(match.group(1)) if match else None


def parse_admin_rows(html: str) -> list[AdminRow]:
    """The `tr[id]` rows of an admin list page: id from the row's id, name from its first link
    (the status list's rows are `tr#list-item-<id>`, the others `tr#<id>`)."""
    rows: list[AdminRow] = []
    for tr in BeautifulSoup(html, "html.parser").select("tr[id]"):
        ident = _id(str(tr.get("id", "")))
        link = tr.find("a")
        if ident is None or not isinstance(link, Tag):
            continue
        cells = tuple(" ".join(td.get_text(" ").split()) for td in tr.find_all("td"))
        rows.append(AdminRow(ident, " ".join(link.get_text(" ").split()), cells))
    return rows


def _check_admin(response: requests.Response, endpoint: str) -> None:
    if response.status_code in (301, 302, 303):
        raise PermissionDenied(
            "lab setup needs an admin login",
            status_code=response.status_code,
            text=f"the admin panel sent this agent to {response.headers.get('Location', '?')}",
            endpoint=endpoint,
            hint="log in as an agent with admin rights (e.g. the account made at install)",
        )
    if response.status_code != 200:
        raise UnexpectedResponse(
            "unexpected answer from the admin panel",
            status_code=response.status_code,
            text=plain_text(response.text)[:200],
            endpoint=endpoint,
        )


def _send(
    desk: OsTicket,
    name: str,
    *,
    ids: Mapping[str, object] | None = None,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, object] | None = None,
) -> tuple[requests.Response, str]:
    route = ADMIN_ROUTES[name]
    response = desk.staff.send(route, ids=ids, params=params, data=data)
    return response, f"{route.method} {desk.staff.scp}{route.path.format(**(ids or {}))}"


def _read(desk: OsTicket, name: str, params: Mapping[str, str] | None = None) -> list[AdminRow]:
    response, endpoint = _send(desk, name, params=params)
    _check_admin(response, endpoint)
    return parse_admin_rows(response.text)


def _by_name(rows: list[AdminRow]) -> dict[str, AdminRow]:
    return {row.name.casefold(): row for row in rows}


def read_inventory(desk: OsTicket) -> DeskInventory:
    """Read every list the practice desk touches (GETs only).

    Raises:
        PermissionDenied: the agent is not an admin ("lab setup needs an admin login").
    """
    statuses = _read(desk, "status_list", {"id": str(STATUS_LIST_ID)})
    staff = _read(desk, "staff_list")
    return DeskInventory(
        statuses=_by_name(statuses),
        # staff.php rows: checkbox, name, username, status, department, created, last login
        agents={row.cells[2].casefold(): row for row in staff if len(row.cells) > 2},
        teams=_by_name(_read(desk, "team_list")),
        slas=_by_name(_read(desk, "sla_list")),
        topics=_by_name(_read(desk, "topic_list")),
    )


def sla_grace_periods(desk: OsTicket) -> dict[str, timedelta]:
    """Each SLA plan's grace period by name, from Admin > Manage > SLA (one GET).

    Raises:
        PermissionDenied: the agent is not an admin.
    """
    # slas.php rows: checkbox, name ("Default SLA (Default)" for the default), status,
    # grace period in whole hours, created, updated.
    return {
        row.name: timedelta(hours=int(row.cells[3]))
        for row in _read(desk, "sla_list")
        if len(row.cells) > 3 and row.cells[3].isdigit()
    }


def plan_setup(inventory: DeskInventory, spec: PracticeSpec = PRACTICE) -> list[PlanItem]:
    """What `apply_plan` would create (`existed=False`) and what the desk already has."""
    wanted: list[tuple[Kind, str, str]] = [("status", s, s) for s in spec.statuses]
    wanted += [
        ("agent", f"{spec.agent_name} ({spec.agent_username})", spec.agent_username),
        ("team", spec.team, spec.team),
        ("sla", spec.sla, spec.sla),
        ("topic", spec.topic, spec.topic),
    ]
    items = []
    for kind, label, key in wanted:
        row = inventory.of(kind).get(key.casefold())
        items.append(PlanItem(kind, label, existed=row is not None, id=row.id if row else None))
    return items


# --------------------------------------------------------------------------- the password file


def default_password_file() -> Path:
    """Where the practice agent's password goes by default: the user's home folder (on Windows
    the profile folder, readable only by its owner; on POSIX the file itself is 0600)."""
    return Path.home() / "osticket-lab-agent.txt"


def write_secret_file(path: Path, text: str) -> None:
    """Write `text` to a new file only its owner can read (0600 on POSIX).

    Raises:
        FileExistsError: the file exists (never overwritten: it may hold a password in use).
        OSError: it cannot be written.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)  # the mode is honoured on POSIX, ignored on Windows
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# --------------------------------------------------------------------------- creating


def _page_outcome(response: requests.Response, endpoint: str, what: str) -> bool:
    """True when a page form created the object, False when the desk says it already exists.

    Raises:
        ActionRejected: the desk refused for another reason.
    """
    _check_admin(response, endpoint)
    if page_notice(response.text) and not page_error(response.text):
        return True
    reasons = form_errors(response.text)
    if any(_EXISTS.search(r) for r in reasons):
        return False
    raise ActionRejected(
        f"the desk did not create {what}",
        status_code=response.status_code,
        text=refusal(response.text) or plain_text(response.text)[:200],
        endpoint=endpoint,
    )


def _create_status(desk: OsTicket, name: str) -> bool:
    response, endpoint = _send(
        desk,
        "status_add",
        ids={"list": STATUS_LIST_ID},
        data={"name": name, "state[]": "open", "description": "Practice lifecycle status"},
    )
    if response.status_code == 201:
        return True
    if response.status_code == 500 and not response.text.strip():
        return False  # the stock answer to an existing name; read back to be sure
    raise ActionRejected(
        f"the desk did not create status {name!r}",
        status_code=response.status_code,
        text=refusal(response.text) or plain_text(response.text)[:200],
        endpoint=endpoint,
    )


def _create_agent(
    desk: OsTicket, spec: PracticeSpec, password_file: Path, password: Callable[[], str]
) -> bool:
    secret = password()
    # Set the password first (stashed in the session) so the desk sends no welcome e-mail.
    response, endpoint = _send(
        desk,
        "staff_password",
        data={"passwd1": secret, "passwd2": secret, "_field-checkboxes[]": ""},
    )
    if response.status_code != 201:
        raise ActionRejected(
            "the desk refused the practice agent's password",
            status_code=response.status_code,
            text=refusal(response.text) or plain_text(response.text)[:200],
            endpoint=endpoint,
        )
    write_secret_file(
        password_file,
        f"osTicket practice agent\nusername: {spec.agent_username}\npassword: {secret}\n",
    )
    try:
        response, endpoint = _send(
            desk,
            "staff_add",
            data={
                "do": "create",
                "a": "add",
                "id": "",
                "firstname": spec.agent_first,
                "lastname": spec.agent_last,
                "email": spec.agent_email,
                "username": spec.agent_username,
                "dept_id": DEPT_SUPPORT,
                "role_id": ROLE_EXPANDED_ACCESS,
            },
        )
        created = _page_outcome(response, endpoint, f"agent {spec.agent_username!r}")
    except ActionRejected:
        password_file.unlink(missing_ok=True)  # no agent has this password
        raise
    if not created:
        password_file.unlink(missing_ok=True)
    return created


def apply_plan(
    desk: OsTicket,
    items: list[PlanItem],
    *,
    password_file: Path,
    spec: PracticeSpec = PRACTICE,
    password: Callable[[], str] = lambda: secrets.token_urlsafe(18),
) -> list[PlanItem]:
    """Create every missing object in order (statuses, agent, team, SLA, topic), reading
    each list back afterwards for its id. Objects that exist are left untouched.

    The practice agent's password is generated, written to `password_file` (a new file only
    its owner can read) and never returned or printed.

    Raises:
        FileExistsError: the password file exists and the agent must be created.
        PermissionDenied: not an admin.
        ActionRejected, ServerError: the desk refused or failed; what was created before stays.
    """
    by_kind: dict[Kind, list[PlanItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    if any(not i.existed for i in by_kind.get("agent", [])) and password_file.exists():
        raise FileExistsError(
            f"{password_file} exists: move it away (it may hold a password in use) or choose"
            " another --password-file"
        )

    def settle(
        item: PlanItem,
        create: Callable[[], bool],
        name: str,
        read: Callable[[], list[AdminRow]],
    ) -> None:
        """Create, then read the list back: the list, not the answer, says what exists."""
        refused: ActionRejected | None = None
        try:
            created = create()
        except ActionRejected as exc:
            # Seen: a help topic whose name exists answers "Internal error occurred".
            created, refused = False, exc
        row = _by_name(read()).get(name.casefold())
        if row is None:
            if refused is not None:
                raise refused
            raise ServerError(
                f"the desk refused {item.kind} {name!r} and does not list it",
                hint="create it by hand in the admin panel",
            )
        item.created, item.existed, item.id = created, not created, row.id

    def team_rows() -> list[AdminRow]:
        return _read(desk, "team_list")

    def sla_rows() -> list[AdminRow]:
        return _read(desk, "sla_list")

    def topic_rows() -> list[AdminRow]:
        return _read(desk, "topic_list")

    def staff_rows() -> list[AdminRow]:
        # Agents are keyed by username (the third cell of a staff.php row).
        staff = _read(desk, "staff_list")
        return [AdminRow(r.id, r.cells[2], r.cells) for r in staff if len(r.cells) > 2]

    for item in by_kind.get("status", []):
        if not item.existed:
            settle(
                item,
                partial(_create_status, desk, item.name),
                item.name,
                lambda: _read(desk, "status_list", {"id": str(STATUS_LIST_ID)}),
            )
    for item in by_kind.get("agent", []):
        if not item.existed:
            settle(
                item,
                lambda: _create_agent(desk, spec, password_file, password),
                spec.agent_username,
                staff_rows,
            )
            item.detail = f"password written to {password_file}" if item.created else ""
    for item in by_kind.get("team", []):
        if not item.existed:
            settle(item, lambda: _create_team(desk, spec, staff_rows()), spec.team, team_rows)
            item.detail = "members: you and the practice agent" if item.created else ""
    sla_id = next((i.id for i in by_kind.get("sla", []) if i.existed), None)
    for item in by_kind.get("sla", []):
        if not item.existed:
            settle(item, lambda: _create_sla(desk, spec), spec.sla, sla_rows)
            sla_id = item.id
            item.detail = f"{spec.sla_grace_hours} h grace, 24/7 schedule" if item.created else ""
    for item in by_kind.get("topic", []):
        if not item.existed:
            settle(item, lambda: _create_topic(desk, spec, sla_id), spec.topic, topic_rows)
            item.detail = f"SLA {spec.sla}, department Support" if item.created else ""
    return items


def _create_team(desk: OsTicket, spec: PracticeSpec, staff: list[AdminRow]) -> bool:
    me = (desk.username or "").casefold()
    ids = {row.name.casefold(): row.id for row in staff}
    members = sorted({ids[u] for u in (me, spec.agent_username.casefold()) if u in ids})
    response, endpoint = _send(
        desk,
        "team_add",
        data={
            "do": "create",
            "a": "add",
            "id": "",
            "name": spec.team,
            "isenabled": 1,
            "lead_id": ids.get(me, 0),
            "members[]": members,
            "notes": "Practice team made by osticket lab setup",
        },
    )
    return _page_outcome(response, endpoint, f"team {spec.team!r}")


def _create_sla(desk: OsTicket, spec: PracticeSpec) -> bool:
    response, endpoint = _send(
        desk,
        "sla_add",
        data={
            "do": "add",
            "a": "add",
            "id": "",
            "name": spec.sla,
            "grace_period": spec.sla_grace_hours,
            "schedule_id": SCHEDULE_24_7,
            "isactive": 1,
            "notes": "Practice SLA made by osticket lab setup",
        },
    )
    return _page_outcome(response, endpoint, f"SLA plan {spec.sla!r}")


def _create_topic(desk: OsTicket, spec: PracticeSpec, sla_id: int | None) -> bool:
    response, endpoint = _send(
        desk,
        "topic_add",
        data={
            "do": "create",
            "a": "add",
            "id": "",
            "topic": spec.topic,
            "status": "active",
            "ispublic": 1,
            "dept_id": DEPT_SUPPORT,
            "sla_id": sla_id or 0,
            "priority_id": PRIORITY_NORMAL,
            "forms[]": [TICKET_DETAILS_FORM],
            "fields[]": [20, 21, 22],
            "notes": "Practice help topic made by osticket lab setup",
        },
    )
    return _page_outcome(response, endpoint, f"help topic {spec.topic!r}")
