"""Reading the staff panel's pages, dialogs and CSV exports: pure functions over their text."""

# No I/O here: each function takes what the desk sent and returns values or `_tickets` models;
# a text without the expected shape raises ValueError saying what is missing. HTML goes through
# the standard library's parser ("html.parser") so results do not depend on what is installed.
#
# What the pages offer (osTicket v1.18.1 and v1.17.2 render them from identical templates):
# - Times: only thread entries and thread events carry a machine-readable time,
#   <time datetime="2026-11-29T14:40:56+00:00"> (always UTC). The ticket's own dates (Create
#   Date, Due Date, Close Date, Last Message, Last Response) are display text in a format the
#   admin chooses, so parse_ticket_page leaves them None; the created and closed times are in
#   parse_thread_events, last message / last response are the newest message / response entry
#   (or come from the queue's CSV export).
# - Dialogs: dynamic-form field names are hashed per session (<select name="151fce02438c1e77[]">);
#   the status dialog's status_id is not.
# - CSV exports: columns come out in FIXED_EXPORT_ORDER whatever order they were asked in,
#   headings are translated, dates are the database's naive time.

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any, NamedTuple

from bs4 import BeautifulSoup, Tag

from ._tickets import Choice, ThreadEntry, Ticket, TicketSummary

__all__ = [
    "FIXED_EXPORT_ORDER",
    "Lock",
    "TicketEvent",
    "adhoc_search_key",
    "csrf_token",
    "form_errors",
    "login_failure",
    "page_error",
    "page_notice",
    "page_warning",
    "parse_assignees",
    "parse_choices",
    "parse_lock",
    "parse_queue_csv",
    "parse_search_options",
    "parse_statuses",
    "parse_thread_events",
    "parse_ticket_html",
    "parse_ticket_page",
    "plain_text",
    "readable_text",
    "refusal",
]

# The order osTicket writes export columns in (CustomQueue::getExportableFields), whatever
# order `fields[]` was posted in; paths the list does not know (custom form fields such as
# `cdata__<name>`) follow it.
FIXED_EXPORT_ORDER: tuple[str, ...] = (
    "number",
    "created",
    "cdata__subject",
    "user__name",
    "user__emails__address",
    "cdata__priority",
    "dept_id",
    "topic_id",
    "source",
    "status__id",
    "lastupdate",
    "est_duedate",
    "sla_id",
    "duedate",
    "closed",
    "isoverdue",
    "merged",
    "linked",
    "isanswered",
    "staff_id",
    "team_id",
    "thread_count",
    "reopen_count",
    "attachment_count",
    "task_count",
)

# English headings, only to catch an export whose columns are not where we expect them
# (a queue with saved, re-ordered export columns); translated headings are not checked.
_ENGLISH_HEADINGS: dict[str, str] = {
    "Ticket Number": "number",
    "Date Created": "created",
    "Subject": "cdata__subject",
    "From": "user__name",
    "From Email": "user__emails__address",
    "Priority": "cdata__priority",
    "Department": "dept_id",
    "Help Topic": "topic_id",
    "Source": "source",
    "Current Status": "status__id",
    "Last Updated": "lastupdate",
    "SLA Due Date": "est_duedate",
    "SLA Plan": "sla_id",
    "Due Date": "duedate",
    "Closed Date": "closed",
    "Overdue": "isoverdue",
    "Merged": "merged",
    "Linked": "linked",
    "Answered": "isanswered",
    "Agent Assigned": "staff_id",
    "Team Assigned": "team_id",
    "Thread Count": "thread_count",
    "Reopen Count": "reopen_count",
    "Attachment Count": "attachment_count",
    "Task Count": "task_count",
}

# path -> (TicketSummary attribute, how to read the cell); merged/linked have no attribute.
_SUMMARY_COLUMNS: dict[str, tuple[str, str]] = {
    "number": ("number", "text"),
    "created": ("created", "date"),
    "cdata__subject": ("subject", "text"),
    "user__name": ("from_name", "text"),
    "user__emails__address": ("from_email", "text"),
    "cdata__priority": ("priority", "text"),
    "dept_id": ("department", "text"),
    "topic_id": ("help_topic", "text"),
    "source": ("source", "text"),
    "status__id": ("status", "text"),
    "lastupdate": ("last_updated", "date"),
    "est_duedate": ("sla_due", "date"),
    "sla_id": ("sla_plan", "text"),
    "duedate": ("due_date", "date"),
    "closed": ("closed", "date"),
    "isoverdue": ("overdue", "bool"),
    "isanswered": ("answered", "bool"),
    "staff_id": ("agent", "text"),
    "team_id": ("team", "text"),
    "thread_count": ("thread_count", "count"),
    "reopen_count": ("reopen_count", "count"),
    "attachment_count": ("attachment_count", "count"),
    "task_count": ("task_count", "count"),
}

# The export prints booleans with the agent's translation of "Yes"/"No"; callers of a
# translated desk add their words through `booleans=`.
_BOOLEANS: dict[str, bool] = {
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "": False,
}

_DB_DATE = "%Y-%m-%d %H:%M:%S"
_ZERO_DATE = "0000-00-00 00:00:00"
_DELIMITERS = (",", ";", "\t")

# Dialog field names are a per-session hash: 14 or 16 hex digits seen, optionally "[]".
_HASHED_NAME = re.compile(r"[0-9a-f]{12,40}(?:\[\])?")
# The routes (form actions) of the dialogs whose select has a hashed name, by plain field name.
_DIALOG_ROUTES: dict[str, re.Pattern[str]] = {
    "assignee": re.compile(r"/(assign(/agents|/teams)?|claim)$"),
    "dept": re.compile(r"/transfer$"),
    "priority": re.compile(r"/field/(priority|\d+)/edit$"),
    "sla": re.compile(r"/field/sla/edit$"),
    "topic": re.compile(r"/field/topic/edit$"),
    "source": re.compile(r"/field/source/edit$"),
}
_ENTRY_ID = re.compile(r"thread-entry-(\d+)")
_TICKET_LINK = re.compile(r"tickets\.php\?id=(\d+)")
_USER_SPAN = re.compile(r"user-\d+-(name|email)")
_ASSIGNEE_VALUE = re.compile(r"([st])(\d+)")

# Thread event kinds by the icon osTicket gives them (ThreadEvent::getIcon); a status change
# between open statuses is an "edited" event, anything unmapped is "other".
_EVENT_ICONS: dict[str, str] = {
    "magic": "created",
    "thumbs-up-alt": "closed",
    "rotate-right": "reopened",
    "hand-right": "assigned",
    "unlock": "released",
    "share-alt": "transferred",
    "time": "overdue",
    "pencil": "edited",
    "exchange": "referred",
    "group": "collab",
    "code-fork": "merged",
    "link": "linked",
    "unlink": "unlinked",
    "reply-all": "resent",
}

_ENTRY_TYPES = ("message", "response", "note")

# English labels of the row that differs between open and closed tickets.
_OPEN_LABELS = {"assigned to"}
_CLOSED_LABELS = {"closed by"}
# The English placeholder shown for an empty help topic / SLA plan in the ticket view.
_NONE_PLACEHOLDERS = {"none"}


class TicketEvent(NamedTuple):
    """One event row of a ticket's thread: what happened (kind), when (UTC) and its text; who
    acted and what it set, where the row names them (see `ThreadEvent`)."""

    kind: str
    when: datetime
    text: str
    actor: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Lock:
    """The answer to `POST /scp/ajax.php/lock/ticket/{id}`: the lock to post with, or why not."""

    id: int
    code: str
    seconds: int
    message: str | None = None
    retry: bool = False

    @property
    def acquired(self) -> bool:
        """True when the desk granted the lock (a non-zero id and a code)."""
        return self.id > 0 and bool(self.code)


# --------------------------------------------------------------------------- helpers


_ADHOC_KEY = re.compile(r"#tickets/export/(adhoc,[\w=/+]+)\"")


def _soup(html: str | BeautifulSoup) -> BeautifulSoup:
    # A page read by several functions is parsed once (parse_ticket_html) and passed as is.
    return html if isinstance(html, BeautifulSoup) else BeautifulSoup(html, "html.parser")


def parse_ticket_html(html: str) -> BeautifulSoup:
    """A ticket page parsed once, for parse_ticket_page and parse_thread_events.

    The reply and note forms after the thread (half the page, and most of the time it takes to
    parse) hold none of the ticket's data: only what comes before them is parsed.
    """
    end = html.find('id="response_options"')
    return _soup(html[:end] if end > 0 else html)


def _fold(text: str) -> str:
    return " ".join(text.split())


def _text(tag: Tag | None) -> str:
    return _fold(tag.get_text()) if tag is not None else ""


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def _classes(tag: Tag) -> list[str]:
    return _attr(tag, "class").split()


def _hidden(tag: Tag) -> bool:
    # Templates park copies of the message divs in hidden containers (JS fills them later).
    node: Tag | None = tag
    while node is not None:
        style = _attr(node, "style").replace(" ", "").lower()
        if "display:none" in style or "hidden" in _classes(node):
            return True
        node = node.parent
    return False


def _utc(value: str, what: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"{what}: {value!r} has no UTC offset")
    return when.astimezone(timezone.utc)


def _message(html: str, ident: str) -> str | None:
    for tag in _soup(html).select(f"#{ident}"):
        if not _hidden(tag) and (text := _text(tag)):
            return text
    return None


# --------------------------------------------------------------------------- any page


def plain_text(html: str, limit: int | None = None) -> str:
    """The text of an HTML fragment (or plain text) on one line: tags, scripts and styles
    dropped, whitespace folded, cut with "…" past `limit` characters."""
    if "<" in html:
        soup = _soup(html)
        for tag in soup.select("script, style"):
            tag.decompose()
        html = soup.get_text(" ")
    text = _fold(html)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def readable_text(html: str) -> str:
    """A thread body as plain text for a terminal: one line per line break or paragraph."""
    soup = _soup(html)
    for br in soup.select("br"):
        br.replace_with("\n")
    for block in soup.select("p, div, li, tr, h1, h2, h3, h4"):
        block.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def refusal(html: str) -> str | None:
    """Why a page or dialog refused: its `#msg_error` then the fields' own errors, or None.

    E.g. "Unable to assign ticket: Ticket already assigned to the agent".
    """
    parts = [p for p in (page_error(html), "; ".join(form_errors(html))) if p]
    return ": ".join(parts) or None


def parse_search_options(html: str) -> list[Choice]:
    """The distinct numeric options of an advanced-search field (its JSON's `html`), in order."""
    # The fragment repeats the list in one select per method (includes / does not include);
    # special values such as "M" (me) or "T" (my teams) are not ids.
    seen: dict[int, Choice] = {}
    for option in _soup(html).select("option"):
        value = _attr(option, "value").strip()
        if value.isdigit() and int(value) not in seen:
            seen[int(value)] = Choice(id=int(value), name=_text(option))
    return list(seen.values())


def adhoc_search_key(html: str) -> str | None:
    """The ``adhoc,<key>`` an advanced search's result page exports, or None.

    The desk keeps each search in the session under a key (a hash of its criteria) that only
    this page shows, in its export link ``#tickets/export/adhoc,<key>``.
    """
    found = _ADHOC_KEY.search(html)
    return found.group(1) if found else None


def csrf_token(html: str) -> str | None:
    """The page's CSRF token: the hidden `__CSRFToken__` input, else `<meta name="csrf_token">`."""
    soup = _soup(html)
    field = soup.select_one('input[name="__CSRFToken__"]')
    if field is not None and (value := _attr(field, "value")):
        return value
    meta = soup.select_one('meta[name="csrf_token"]')
    if meta is not None and (value := _attr(meta, "content")):
        return value
    return None


def page_error(html: str) -> str | None:
    """The visible `#msg_error` text (page banner `div`, dialog `p`), whitespace folded."""
    # `#msg_warning` is left out: osTicket uses it for notes on a page that worked ("Ticket is
    # assigned to X", "Marked overdue!"); see page_warning. A ticket page may carry an error
    # on a plain GET too ("This ticket is currently locked by X").
    return _message(html, "msg_error")


def page_notice(html: str) -> str | None:
    """The visible `#msg_notice` text (success banner), whitespace folded."""
    return _message(html, "msg_notice")


def page_warning(html: str) -> str | None:
    """The visible `#msg_warning` text (informational banner), whitespace folded."""
    return _message(html, "msg_warning")


def form_errors(html: str) -> list[str]:
    """The per-field error texts of a form or dialog (`.error` elements), in page order."""
    # A refused dialog says only "Unable to assign ticket" in #msg_error; the reason ("Ticket
    # already assigned to the agent") is in the field's <div class="error">.
    found: list[str] = []
    for tag in _soup(html).select("div.error, span.error, font.error"):
        # Required-field markers render as "*" (with non-breaking spaces).
        text = _text(tag).strip("*\xa0 ")
        if text and text not in found:
            found.append(text)
    return found


def login_failure(html: str) -> str | None:
    """The reason a login page gives after a failed login (`h3#login-message`); None elsewhere."""
    # Seen: "Access denied" (wrong user or password), "Maximum failed login attempts reached"
    # (the 6th try of a session, locked for the login timeout), "Valid CSRF Token Required";
    # source: "2FA Pending" (second factor expected) or another backend's reason. A login page
    # fetched without posting shows "Authentication Required" (or the staff banner's title)
    # in the same place, so only call this on the answer to a login POST.
    soup = _soup(html)
    if soup.select_one("form#login") is None:
        return None
    return _text(soup.select_one("#login-message")) or None


def parse_lock(text: str) -> Lock:
    """The ticket lock from the lock endpoint's JSON, e.g. `{"id":1,"time":180,"code":"..."}`."""
    # Refusals (source): {"id":0,"retry":false,"msg":"Currently locked by <img ...>Ada Admin"},
    # {"id":0,"retry":true} (try again), {"id":0,"retry":false,"msg":"Lock denied!"}, and with
    # locking disabled on the desk HTTP 418 {"id":0,"retry":false}: acquired is then False.
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise ValueError(f"lock answer is not JSON: {text[:200]!r}") from None
    if not isinstance(data, dict):
        raise ValueError(f"lock answer is not a JSON object: {text[:200]!r}")
    try:
        lock_id = int(data.get("id") or 0)
        seconds = int(data.get("time") or 0)
    except (TypeError, ValueError):
        raise ValueError(f"lock answer has a non-numeric id or time: {text[:200]!r}") from None
    code = data.get("code")
    msg = data.get("msg")
    message = _text(_soup(msg)) if isinstance(msg, str) else None
    return Lock(
        id=lock_id,
        code=code if isinstance(code, str) else "",
        seconds=seconds,
        message=message or None,
        retry=data.get("retry") is True,
    )


# --------------------------------------------------------------------------- dialogs


def _find_select(soup: BeautifulSoup, field: str) -> Tag | None:
    for name in (field, field + "[]"):
        select = soup.select_one(f'select[name="{name}"]')
        if select is not None:
            return select
    # Dynamic-form dialogs (assign, transfer, field edits) hash every field name per session;
    # each of them has exactly one select, so that one is the field asked for.
    hashed = [s for s in soup.select("select") if _HASHED_NAME.fullmatch(_attr(s, "name"))]
    if len(hashed) > 1:
        names = ", ".join(_attr(s, "name") for s in hashed)
        raise ValueError(f"several hashed selects ({names}): cannot tell which one is {field!r}")
    if not hashed:
        return None
    # The name no longer says which field it is, the form's route does: refuse, say, a
    # priority dialog read as a department list.
    form = hashed[0].find_parent("form")
    action = _attr(form, "action") if form is not None else ""
    expected = _DIALOG_ROUTES.get(field)
    if expected is not None and action and not expected.search(action):
        raise ValueError(f"the dialog posts to {action!r}: it is not a {field!r} dialog")
    return hashed[0]


def _options(html: str, field: str) -> list[tuple[str, str]]:
    soup = _soup(html)
    select = _find_select(soup, field)
    if select is None:
        # A state with a single status renders `<input type="hidden" name="status_id">`.
        hidden = soup.select_one(f'input[type="hidden"][name="{field}"]')
        if hidden is not None and _attr(hidden, "value"):
            return [(_attr(hidden, "value").strip(), "")]
        raise ValueError(f"no <select> for {field!r} in the dialog")
    options: list[tuple[str, str]] = []
    for option in select.select("option"):
        value = _attr(option, "value").strip()
        # Placeholders ("— Select an Agent —") have an empty or 0 value; separators are disabled.
        if value in ("", "0") or option.has_attr("disabled"):
            continue
        options.append((value, _text(option)))
    return options


def parse_choices(html: str, field: str) -> list[Choice]:
    """The options of the dialog's `<select name=field>` (or `field[]`), placeholders skipped."""
    # Status (status_id), transfer (dept), priority, sla and topic dialogs. Values must be
    # numeric ids: assignee selects ("s1"/"t1") go through parse_assignees. A state with one
    # status only shows a hidden input instead of a select: that choice has an empty name.
    choices: list[Choice] = []
    for value, name in _options(html, field):
        if not value.isdigit():
            hint = "; use parse_assignees" if _ASSIGNEE_VALUE.fullmatch(value) else ""
            raise ValueError(f"option {value!r} of {field!r} is not a numeric id{hint}")
        choices.append(Choice(id=int(value), name=name))
    return choices


def parse_statuses(html: str, state: str | None = None) -> list[Choice]:
    """The statuses of a status dialog (`status_id`), each marked with `state` if given."""
    # The dialog does not show states, its route does: .../tickets/{id}/status/close lists the
    # closed-state statuses, .../status/reopen (or open) the open-state ones.
    return [Choice(id=c.id, name=c.name, state=state) for c in parse_choices(html, "status_id")]


def parse_assignees(html: str) -> tuple[list[Choice], list[Choice]]:
    """The agents and the teams offered by an assign dialog (`s<staff_id>` / `t<team_id>`)."""
    agents: list[Choice] = []
    teams: list[Choice] = []
    for value, name in _options(html, "assignee"):
        match = _ASSIGNEE_VALUE.fullmatch(value)
        if match is None:
            raise ValueError(f"assignee option {value!r} is neither s<id> nor t<id>")
        kind, number = match.groups()
        (agents if kind == "s" else teams).append(Choice(id=int(number), name=name))
    return agents, teams


# --------------------------------------------------------------------------- ticket page


def _rows(info: Tag) -> list[list[tuple[str, Tag]]]:
    """The (label, value cell) rows of each inner table of a `table.ticket_info`."""
    columns: list[list[tuple[str, Tag]]] = []
    for inner in info.select("table"):
        rows: list[tuple[str, Tag]] = []
        for tr in inner.select("tr"):
            if tr.find_parent("table") is not inner:
                continue
            th = tr.find("th", recursive=False)
            td = tr.find("td", recursive=False)
            if isinstance(th, Tag) and isinstance(td, Tag):
                rows.append((_text(th).rstrip(":").strip().lower(), td))
        columns.append(rows)
    return columns


def _cell(td: Tag, span_id: str | None = None) -> str | None:
    """A value cell's text: its `span#field_*` when the agent may edit it, else the cell."""
    if span_id is not None and (span := td.select_one(f"#{span_id}")) is not None:
        td = span
    # "— Unassigned —", "— Unknown —" and "—Empty—" are faded placeholders, not values.
    if "faded" in _classes(td):
        return None
    text = _text(td)
    faded = " ".join(_text(f) for f in td.select(".faded"))
    if faded and text == faded:
        return None
    return text or None


def _optional_name(value: str | None) -> str | None:
    if value is None or value.lower() in _NONE_PLACEHOLDERS:
        return None
    return value


def _split_assignees(
    text: str, soup: BeautifulSoup, teams: Collection[str]
) -> tuple[str | None, str | None]:
    """(agent, team) from the "Assigned To" cell, which shows `agent/team`, `agent` or `team`."""
    # The cell joins the agent's and the team's names with "/" and marks neither, so use what
    # else the page says: the assign menu (agents with the assign right, open tickets) offers
    # "Claim" only while no agent is assigned.
    menu = soup.select_one("#action-dropdown-assign")
    claimable = menu is not None and menu.select_one('a[href$="/claim"]') is not None
    if claimable:
        return None, text
    for team in teams:
        if text.endswith("/" + team) and len(text) > len(team) + 1:
            return text[: -len(team) - 1], team
    if text in teams:
        return (text, None) if menu is not None else (None, text)
    if "/" in text:
        # Person names rarely hold "/", team names may: split at the first one.
        agent, team = text.split("/", 1)
        return agent, team
    if menu is not None or teams:
        # The menu without "Claim" means an agent holds the ticket; a known team list
        # without this name means it is not a team.
        return text, None
    return None, None


def _ticket_id(soup: BeautifulSoup) -> int:
    for link in soup.select('a[href^="tickets.php?id="]'):
        match = _TICKET_LINK.fullmatch(_attr(link, "href"))
        if match:
            return int(match.group(1))
    for field in soup.select('form#note input[name="id"], form#reply input[name="id"]'):
        if _attr(field, "value").isdigit():
            return int(_attr(field, "value"))
    raise ValueError("no ticket id on the page (no tickets.php?id=N link, no form id)")


def _number(soup: BeautifulSoup) -> str:
    # <title>Ticket #394782</title>; the words are translated, the "#" stays.
    for text in (_text(soup.title), _text(soup.select_one("div.sticky.bar h2"))):
        match = re.search(r"#\s*(\S+)\s*$", text)
        if match:
            return match.group(1)
    raise ValueError("no ticket number in the page title")


def _entry(wrapper: Tag, entry_id: int) -> ThreadEntry:
    inner = wrapper.select_one("div.thread-entry")
    if inner is None:
        raise ValueError(f"thread entry {entry_id}: no div.thread-entry")
    classes = _classes(inner)
    kind = next((c for c in classes if c in _ENTRY_TYPES), None)
    if kind is None:
        # System entries ("system" class) are notes the desk posted itself.
        kind = "note"
    header = inner.select_one("div.header")
    if header is None:
        raise ValueError(f"thread entry {entry_id}: no header")
    author_tag = header.find("b", recursive=False) or header.find("b")
    time_tag = header.select_one("time[datetime]")
    if time_tag is None:
        raise ValueError(f"thread entry {entry_id}: no <time datetime>")
    title = _text(header.select_one("span.title"))
    body_parent = inner.select_one("div.thread-body")
    body_div = body_parent.find("div", recursive=False) if body_parent is not None else None
    attachments: list[str] = []
    if body_parent is not None:
        for link in body_parent.select(".attachments a.filename"):
            name = _text(link) or _attr(link, "download")
            if name:
                attachments.append(name)
    return ThreadEntry(
        id=entry_id,
        type=kind,  # type: ignore[arg-type]  # one of _ENTRY_TYPES, checked above
        author=_text(author_tag) if isinstance(author_tag, Tag) else "",
        created=_utc(_attr(time_tag, "datetime"), f"thread entry {entry_id}"),
        title=title or None,
        body=body_div.decode_contents() if isinstance(body_div, Tag) else "",
        attachments=tuple(attachments),
    )


def _thread(soup: BeautifulSoup) -> tuple[ThreadEntry, ...]:
    container = soup.select_one("#thread-items") or soup
    entries: dict[int, ThreadEntry] = {}
    for wrapper in container.select('div[id^="thread-entry-"]'):
        match = _ENTRY_ID.fullmatch(_attr(wrapper, "id"))
        if match:
            entry_id = int(match.group(1))
            entries[entry_id] = _entry(wrapper, entry_id)
    # The display order is the agent's preference (oldest or newest first): sort by id.
    return tuple(entries[i] for i in sorted(entries))


def parse_ticket_page(html: str | BeautifulSoup, *, teams: Collection[str] = ()) -> Ticket:
    """The ticket shown by `GET /scp/tickets.php?id=N`, its thread sorted by entry id."""
    # Fields are read by their place in the two table.ticket_info (labels are translated):
    #   status, priority, department, create date | user, email, (organization,) source
    #   assigned to / closed by, SLA plan, due / close date | help topic, last msg, last resp
    # The dates are display text only: created, due_date, closed, last_message and
    # last_response stay None (see the module comment).
    # `teams` (the desk's team names, e.g. from parse_assignees) helps split "Assigned To"
    # when the page alone cannot (an agent without the assign right).
    soup = _soup(html)
    infos = [t for t in soup.select("table.ticket_info") if "custom-data" not in _classes(t)]
    if len(infos) < 2:
        raise ValueError("not a ticket page: fewer than two table.ticket_info")
    first, second = _rows(infos[0]), _rows(infos[1])
    if len(first) < 2 or len(second) < 2 or len(first[0]) < 3 or len(first[1]) < 2:
        raise ValueError("not a ticket page: unexpected table.ticket_info layout")
    (status_row, priority_row, dept_row, *_), people = first[0], first[1]
    left, right = second[0], second[1]

    status = _cell(status_row[1])
    if not status:
        raise ValueError("ticket page shows no status")
    subject = _text(soup.select_one("div.tixTitle h3"))

    user_name = email = None
    for span in people[0][1].select("span[id]"):
        match = _USER_SPAN.fullmatch(_attr(span, "id"))
        if match and match.group(1) == "name":
            user_name = _text(span) or None
    email_span = next(
        (s for s in people[1][1].select("span[id]") if _attr(s, "id").endswith("-email")), None
    )
    email = _text(email_span) if email_span is not None else _text(people[1][1])
    source_td = people[-1][1]
    source_span = source_td.select_one("#field_source")
    if source_span is not None:
        source = _text(source_span)
    else:
        # Web tickets add the client's address as `<span class="faded">(1.2.3.4)</span>`.
        for faded in source_td.select("span.faded"):
            faded.extract()
        source = _text(source_td)

    # Open tickets show "Assigned To" / "Due Date", others "Closed By" / "Close Date" (an
    # archived ticket too, read as closed). Labels are translated: beyond English, only the
    # assign / due-date editors (agents with those rights) tell an open ticket.
    state: str | None = None
    role_label = left[0][0] if left else ""
    if role_label in _OPEN_LABELS or soup.select_one("#field_assign, #field_duedate"):
        state = "open"
    elif role_label in _CLOSED_LABELS:
        state = "closed"

    assigned_to = agent = team = closed_by = None
    if left and state == "open":
        assigned_to = _cell(left[0][1], "field_assign")
        if assigned_to:
            agent, team = _split_assignees(assigned_to, soup, teams)
    elif left and state == "closed":
        closed_by = _cell(left[0][1])

    sla = _optional_name(_cell(left[1][1], "field_sla")) if len(left) > 1 else None
    topic = _optional_name(_cell(right[0][1], "field_topic")) if right else None

    return Ticket(
        number=_number(soup),
        ticket_id=_ticket_id(soup),
        subject=subject,
        status=status,
        state=state,
        priority=_cell(priority_row[1]),
        department=_cell(dept_row[1]),
        help_topic=topic,
        sla_plan=sla,
        assigned_agent=agent,
        assigned_team=team,
        assigned_to=assigned_to,
        user_name=user_name,
        user_email=email or None,
        source=source or None,
        closed_by=closed_by,
        thread=_thread(soup),
    )


def parse_thread_events(html: str | BeautifulSoup) -> list[TicketEvent]:
    """The thread's event rows (created, closed, assigned, ...) with their UTC times, in order."""
    # Besides the entries, the only machine-readable times of a ticket page: the "created"
    # event is the creation time, the last "closed" one the close time.
    events: list[TicketEvent] = []
    for row in _soup(html).select("div.thread-event"):
        time_tag = row.select_one("time[datetime]")
        if time_tag is None:
            continue
        icon = row.select_one("span.type-icon i")
        kind = "other"
        if icon is not None:
            for cls in _classes(icon):
                if cls.startswith("icon-") and cls[5:] in _EVENT_ICONS:
                    kind = _EVENT_ICONS[cls[5:]]
                    break
        description = row.select_one("span.description") or row
        # The one who acted is in <b> (an avatar, then the name); what the event set (the new
        # status of an "edited" status change, the assignee of "assigned") in <strong>.
        actor, value = description.find("b"), description.find("strong")
        events.append(
            TicketEvent(
                kind,
                _utc(_attr(time_tag, "datetime"), "thread event"),
                _text(description),
                _text(actor) or None if isinstance(actor, Tag) else None,
                _text(value) or None if isinstance(value, Tag) else None,
            )
        )
    return events


# --------------------------------------------------------------------------- CSV export


def _columns(fields: Sequence[str]) -> list[str]:
    if len(set(fields)) != len(fields):
        raise ValueError(f"export fields repeat a path: {list(fields)}")
    if "number" not in fields:
        raise ValueError("export fields must include 'number'")
    known = {path: rank for rank, path in enumerate(FIXED_EXPORT_ORDER)}
    extra = len(FIXED_EXPORT_ORDER)
    return sorted(fields, key=lambda p: (known.get(p, extra), fields.index(p)))


def _read_rows(text: str, width: int, delimiter: str | None) -> list[list[str]]:
    # fputcsv quotes a cell holding the delimiter or a blank, not one holding another
    # candidate: so the right delimiter is the one that gives every row `width` cells.
    header = text.split("\n", 1)[0]
    if delimiter is not None:
        candidates: Sequence[str] = (delimiter,)
    else:
        candidates = sorted(_DELIMITERS, key=lambda d: -header.count(d))
    for candidate in candidates:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=candidate) if r]
        if rows and all(len(r) == width for r in rows):
            return rows
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=candidates[0]) if r]
    if not rows:
        raise ValueError("empty export: no header row")
    if len(rows[0]) != width:
        raise ValueError(
            f"export header has {len(rows[0])} columns, expected {width} (one per field)"
        )
    bad = next(i for i, r in enumerate(rows) if len(r) != width)
    raise ValueError(f"CSV row {bad} has {len(rows[bad])} cells, expected {width}")


def _read_cell(raw: str, kind: str, db_timezone: tzinfo, words: Mapping[str, bool]) -> Any:
    """One export cell as the value its column holds (text, UTC time, boolean or count)."""
    if kind == "text":
        return raw or None
    if kind == "date":
        if not raw or raw == _ZERO_DATE:
            return None
        try:
            naive = datetime.strptime(raw, _DB_DATE)
        except ValueError:
            raise ValueError(f"{raw!r} is not a database time (YYYY-MM-DD HH:MM:SS)") from None
        return naive.replace(tzinfo=db_timezone).astimezone(timezone.utc)
    if kind == "bool":
        if raw.lower() not in words:
            raise ValueError(f"{raw!r} is not a known yes/no word (pass booleans=)")
        return words[raw.lower()]
    if raw and not raw.isdigit():
        raise ValueError(f"{raw!r} is not a count")
    return int(raw or 0)


def parse_queue_csv(
    text: str,
    db_timezone: tzinfo,
    fields: Sequence[str] = FIXED_EXPORT_ORDER,
    *,
    delimiter: str | None = None,
    booleans: Mapping[str, bool] | None = None,
) -> list[TicketSummary]:
    """The rows of a queue's CSV export (`fields` as posted), columns matched by position."""
    # The desk writes the columns in FIXED_EXPORT_ORDER (unknown paths after, assumed in the
    # given order) under translated headings, after a UTF-8 BOM, with the delimiter asked for
    # (detected among , ; and tab unless given). Dates are the database's naive time: attach
    # db_timezone, return UTC. Counts of 0 come out empty (the exporter drops falsy values).
    # Booleans are "Yes"/"No" in the agent's language: other words come through `booleans`.
    columns = _columns(fields)
    words = dict(_BOOLEANS)
    words.update({k.strip().lower(): v for k, v in (booleans or {}).items()})
    rows = _read_rows(text.removeprefix("\ufeff"), len(columns), delimiter)
    headings = [h.strip() for h in rows[0]]
    for position, (path, heading) in enumerate(zip(columns, headings, strict=True)):
        other = _ENGLISH_HEADINGS.get(heading)
        if other is not None and other != path:
            raise ValueError(
                f"export column {position + 1} is headed {heading!r} ({other}) where {path}"
                " was expected: the queue's export columns are not in the standard order"
            )

    summaries: list[TicketSummary] = []
    for row_number, row in enumerate(rows[1:], start=1):
        cells = dict(zip(columns, row, strict=True))
        number = cells["number"].strip()
        if not number:
            raise ValueError(f"CSV row {row_number}: empty ticket number")
        values: dict[str, Any] = {"number": number, "subject": ""}
        for position, path in enumerate(columns):
            if path in _SUMMARY_COLUMNS:
                attribute, kind = _SUMMARY_COLUMNS[path]
                try:
                    values[attribute] = _read_cell(cells[path].strip(), kind, db_timezone, words)
                except ValueError as error:
                    raise ValueError(
                        f"CSV row {row_number} (ticket {number}), column {path!r}"
                        f" ({headings[position]!r}): {error}"
                    ) from None
        # The model's subject is a string; an empty cell stays empty.
        values["subject"] = values["subject"] or ""
        summaries.append(TicketSummary(**values))
    return summaries
