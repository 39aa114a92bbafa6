"""Bad input, generated: every input yields a value or a clear error, never a crash or a wrong
silent value (`NewTicket`, rule files, the CSV export and the staff-panel pages)."""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from automations._model import ConversationEntry, MemoryHistory, TicketSnapshot
from automations._planner import needs_conversation, plan
from automations._rules import RulesError, RulesFile, load_rules, parse_rules
from osticket_client import NewTicket, Priority, StrippedCharactersWarning, TicketSummary
from osticket_client._pages import (
    _ENGLISH_HEADINGS,
    _SUMMARY_COLUMNS,
    FIXED_EXPORT_ORDER,
    csrf_token,
    login_failure,
    parse_lock,
    parse_queue_csv,
    parse_search_options,
    parse_statuses,
    parse_thread_events,
    parse_ticket_page,
    refusal,
)
from tests.test_pages import ticket_page

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UTC = timezone.utc
# What osTicket drops (and NewTicket must warn about, never pass silently).
DROPPED = re.compile(
    "[\u00a9-\u00ae\u2310-\u231f\u2322-\u232f\u23e0-\u23ff\u2702-\u27b0\U00010000-\U0010ffff]"
)

# --------------------------------------------------------------------------- NewTicket

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "\n", "Ada", "Imprimante bloquée", "打印机卡纸", "<b>x</b>", "✓ ©", "😀"]
)
emails = (
    st.sampled_from(
        ["ada@example.com", " ada@example.com ", "nope", "a@b", "a b@c.d", "@c.d", "ü@exämple.de"]
    )
    | st.emails()
    | st.text(max_size=20)
)


def _new_ticket(values: dict[str, Any]) -> tuple[NewTicket | None, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ticket = NewTicket(**values)
        except ValidationError as error:
            assert error.errors(), "a validation error names what is wrong"
            for problem in error.errors():
                assert problem["msg"]
            ticket = None
    return ticket, list(caught)


@FAST
@given(
    name=texts,
    email=emails,
    subject=texts,
    message=texts,
    html=st.booleans(),
    priority=st.none() | st.integers(-3, 7) | st.sampled_from(["high", " Low ", "2", "9", "x"]),
)
def test_new_ticket_is_a_valid_value_or_a_named_error(
    name: str, email: str, subject: str, message: str, html: bool, priority: object
) -> None:
    ticket, caught = _new_ticket(
        {
            "name": name,
            "email": email,
            "subject": subject,
            "message": message,
            "html": html,
            "priority": priority,
        }
    )
    assert all(issubclass(w.category, StrippedCharactersWarning) for w in caught)
    if ticket is None:
        return
    payload = ticket.to_payload()
    json.dumps(payload, ensure_ascii=False)  # always serialisable
    kind = "text/html" if html else "text/plain"
    assert payload["message"] == f"data:{kind};charset=utf-8,{message}"  # sent intact
    assert (payload["name"], payload["subject"]) == (name, subject)
    assert payload["email"] == email.strip() and "@" in payload["email"]
    assert name.strip() and subject.strip() and message.strip()
    if priority is None:
        assert "priority" not in payload
    else:
        assert Priority(payload["priority"])
    # Anything the desk would drop is never dropped silently.
    for field, text in (("name", name), ("subject", subject), ("message", message)):
        if DROPPED.search(text):
            assert any(str(w.message).startswith(f"{field}:") for w in caught), field


@FAST
@given(ext=st.text(max_size=5))
@example(ext="²")
@example(ext="٣")
@example(ext="12")
def test_a_phone_extension_is_ascii_digits_or_refused(ext: str) -> None:
    ticket, _ = _new_ticket(
        {
            "name": "Ada",
            "email": "ada@example.com",
            "subject": "Printer",
            "message": "Jams",
            "phone": "+33 1 23 45 67 89",
            "phone_ext": ext,
        }
    )
    if ticket is not None:
        assert re.fullmatch(r"[0-9]+", ext)
        assert ticket.to_payload()["phone"].endswith("X" + ext)


@FAST
@given(
    fields=st.dictionaries(
        st.text(max_size=8) | st.sampled_from(["notes", "subject", "_x1", "1x"]),
        st.text(max_size=8) | st.integers() | st.booleans(),
        max_size=3,
    )
)
def test_custom_fields_never_overwrite_standard_ones(fields: dict[str, Any]) -> None:
    ticket, _ = _new_ticket(
        {
            "name": "Ada",
            "email": "ada@example.com",
            "subject": "Printer",
            "message": "Jams",
            "fields": fields,
        }
    )
    if ticket is not None:
        payload = ticket.to_payload()
        assert payload["subject"] == "Printer" and payload["name"] == "Ada"
        for key, value in fields.items():
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) and payload[key] == value


# --------------------------------------------------------------------------- rule files


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(value)


def _toml(settings_: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    lines = ["[settings]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in settings_.items()]
    for rule in rules:
        lines += ["", "[[rules]]"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in rule.items()]
    return "\n".join(lines) + "\n"


durations = st.sampled_from(["90m", "48h", "3d", "0m", "1.5h", "-1h", "h", "999999d", "9999999d"])
scalars = (
    durations
    | st.text(max_size=12)
    | st.integers(-(2**63), 2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=True)
)
values = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.lists(
        st.dictionaries(st.sampled_from(["note", "priority", "assign_agent", "transfer"]), scalars),
        max_size=2,
    )
)
rule_keys = st.sampled_from(
    [
        "name",
        "type",
        "enabled",
        "topic",
        "department",
        "agents",
        "team",
        "strategy",
        "statuses",
        "nudge_after",
        "pending_after",
        "pending_status",
        "resolve_after",
        "resolve_status",
        "template",
        "calendar",
        "exempt_statuses",
        "from_status",
        "to_status",
        "levels",
        "bogus",
    ]
)
types = st.sampled_from(["auto_assign", "nudge_then_pending", "sla_escalation", "lifecycle", "x"])


@st.composite
def rule_tables(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": draw(st.text(max_size=10)), "type": draw(types)}
    rule.update(draw(st.dictionaries(rule_keys, values, max_size=5)))
    return rule


@FAST
@given(
    settings_=st.dictionaries(
        st.sampled_from(["max_actions", "queue", "stop_after_failures", "ledger", "zzz"]),
        scalars,
        max_size=3,
    ),
    rules=st.lists(rule_tables(), max_size=3),
)
def test_any_rules_file_is_rules_or_problems_with_lines(
    settings_: dict[str, Any], rules: list[dict[str, Any]]
) -> None:
    text = _toml(settings_, rules)
    try:
        parsed = parse_rules(text)
    except RulesError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.message and str(problem)
        return
    assert isinstance(parsed, RulesFile)
    assert len({r.name for r in parsed.rules}) == len(parsed.rules)


@FAST
@given(st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
@example('[[rules]]\nname = "x"\ntype = "lifecycle"\nfrom_status = "Open"\n')
@example("\ufeff[settings]\n")
def test_any_text_as_a_rules_file(text: str) -> None:
    try:
        parsed = parse_rules(text)
    except RulesError as error:
        assert error.problems and str(error)
        return
    assert isinstance(parsed, RulesFile)


# --------------------------------------------------------------------------- the CSV export

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]
local_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
cell_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\x00"), max_size=15
)


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[list[str]], list[dict[str, Any]], str]:
    """Rows of an export as the desk writes them, and what each row must read back as."""
    zone = draw(st.sampled_from(ZONES))
    rows, wanted = [], []
    for i in range(draw(st.integers(0, 4))):
        row: list[str] = []
        want: dict[str, Any] = {}
        for path in FIXED_EXPORT_ORDER:
            kind = _SUMMARY_COLUMNS[path][1] if path in _SUMMARY_COLUMNS else "text"
            if path == "number":
                cell = str(100000 + i)
            elif kind == "text":
                cell = draw(cell_texts)
            elif kind == "date":
                when = draw(st.none() | local_times)
                cell = "" if when is None else when.strftime("%Y-%m-%d %H:%M:%S")
                want_value: Any = (
                    None if when is None else when.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
                )
            elif kind == "bool":
                flag = draw(st.booleans())
                cell, want_value = ("Yes" if flag else "No"), flag
            else:
                count = draw(st.integers(0, 10**6))
                cell, want_value = ("" if count == 0 else str(count)), count
            row.append(cell)
            if path in _SUMMARY_COLUMNS:
                attribute = _SUMMARY_COLUMNS[path][0]
                if path == "number":
                    want[attribute] = cell
                elif kind == "text":
                    want[attribute] = cell.strip() or (None if attribute != "subject" else "")
                else:
                    want[attribute] = want_value
        rows.append(row)
        wanted.append(want)
    return rows, wanted, zone


def _write(header: list[str], rows: list[list[str]], delimiter: str, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()


ENGLISH = {path: heading for heading, path in _ENGLISH_HEADINGS.items()}
FRENCH = [f"Colonne {i} é" for i in range(len(FIXED_EXPORT_ORDER))]
JAPANESE = [f"列{i}" for i in range(len(FIXED_EXPORT_ORDER))]


@FAST
@given(
    export=exports(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    headings=st.sampled_from(["english", "french", "japanese"]),
    bom=st.booleans(),
)
def test_an_export_reads_back_exactly(
    export: tuple[list[list[str]], list[dict[str, Any]], str],
    delimiter: str,
    headings: str,
    bom: bool,
) -> None:
    rows, wanted, zone = export
    header = {
        "english": [ENGLISH[p] for p in FIXED_EXPORT_ORDER],
        "french": FRENCH,
        "japanese": JAPANESE,
    }[headings]
    text = _write(header, rows, delimiter, bom)
    parsed = parse_queue_csv(text, ZoneInfo(zone))
    assert len(parsed) == len(wanted)
    for summary, want in zip(parsed, wanted, strict=True):
        for attribute, value in want.items():
            assert getattr(summary, attribute) == value, attribute
        for attribute in ("created", "last_updated", "sla_due", "due_date", "closed"):
            moment = getattr(summary, attribute)
            assert moment is None or moment.utcoffset() == timedelta(0)


@FAST
@given(export=exports(), cut=st.integers(0, 10_000))
def test_a_truncated_export_is_a_prefix_or_an_error(
    export: tuple[list[list[str]], list[dict[str, Any]], str], cut: int
) -> None:
    rows, wanted, zone = export
    text = _write([ENGLISH[p] for p in FIXED_EXPORT_ORDER], rows, ",")
    text = text[: cut % (len(text) + 1)]
    try:
        parsed = parse_queue_csv(text, ZoneInfo(zone))
    except ValueError as error:
        assert str(error)
        return
    assert len(parsed) <= len(wanted)
    # Whole rows read back exactly; only the last cell of the last row can be cut unseen
    # (a count "12" cut to "1": nothing in a CSV file tells them apart).
    last = _SUMMARY_COLUMNS[FIXED_EXPORT_ORDER[-1]][0]
    for i, (summary, want) in enumerate(zip(parsed, wanted, strict=False)):
        for attribute, value in want.items():
            if i == len(parsed) - 1 and attribute == last:
                continue
            assert getattr(summary, attribute) == value, (i, attribute)


@FAST
@given(
    export=exports().filter(lambda e: bool(e[0])),
    order=st.permutations(range(len(FIXED_EXPORT_ORDER))),
)
def test_reordered_english_columns_are_refused(
    export: tuple[list[list[str]], list[dict[str, Any]], str], order: list[int]
) -> None:
    rows, wanted, zone = export
    header = [ENGLISH[FIXED_EXPORT_ORDER[i]] for i in order]
    text = _write(header, [[row[i] for i in order] for row in rows], ",")
    if order == sorted(order):
        assert len(parse_queue_csv(text, ZoneInfo(zone))) == len(wanted)
        return
    with pytest.raises(ValueError, match="not in the standard order"):
        parse_queue_csv(text, ZoneInfo(zone))


@FAST
@given(
    export=exports(),
    extra=st.integers(1, 3),
    delimiter=st.sampled_from([",", ";", "\t", "|", " "]),
)
def test_extra_columns_or_an_unknown_delimiter_are_refused(
    export: tuple[list[list[str]], list[dict[str, Any]], str], extra: int, delimiter: str
) -> None:
    rows, _, zone = export
    header = [ENGLISH[p] for p in FIXED_EXPORT_ORDER] + [f"Extra {i}" for i in range(extra)]
    text = _write(header, [row + ["x"] * extra for row in rows], delimiter)
    with pytest.raises(ValueError, match=r"columns|cells"):
        parse_queue_csv(text, ZoneInfo(zone))


@FAST
@given(export=exports().filter(lambda e: bool(e[0])))
def test_translated_yes_no_words_are_refused_unless_given(
    export: tuple[list[list[str]], list[dict[str, Any]], str],
) -> None:
    rows, wanted, zone = export
    french = [["Oui" if c == "Yes" else "Non" if c == "No" else c for c in row] for row in rows]
    text = _write(FRENCH, french, ";")
    with pytest.raises(ValueError, match="yes/no word"):
        parse_queue_csv(text, ZoneInfo(zone))
    parsed = parse_queue_csv(text, ZoneInfo(zone), booleans={"Oui": True, "Non": False})
    assert [(s.answered, s.overdue) for s in parsed] == [
        (w["answered"], w["overdue"]) for w in wanted
    ]


@FAST
@given(st.text(max_size=300))
@example("\ufeff")
@example('"unterminated')
def test_any_text_as_an_export_is_rows_or_an_error(text: str) -> None:
    try:
        rows = parse_queue_csv(text, UTC)
    except ValueError as error:
        assert str(error)
        return
    assert all(row.number for row in rows)


# --------------------------------------------------------------------------- pages and dialogs

html_bits = st.sampled_from(
    [
        "<html>",
        "</div>",
        '<div id="thread-items" data-thread-id="9">',
        '<input type="hidden" name="__CSRFToken__" value="t">',
        '<meta name="csrf_token" content="m"/>',
        '<select name="status_id"><option value="3">Closed</option></select>',
        '<option value="x">Bad</option>',
        '<time datetime="2026-11-29T14:40:56+00:00">',
        '<time datetime="yesterday">',
        '<div id="msg_error">Access denied</div>',
        '<h3 id="login-message">Access denied</h3>',
        '<table class="ticket_info"><tr><th>Status:</th><td>Open</td></tr></table>',
        "&amp;",
        "Ticket #123",
    ]
)
pages = st.lists(html_bits | st.text(max_size=20), max_size=12).map("".join)


@FAST
@given(page=pages)
def test_page_readers_return_values_or_value_errors(page: str) -> None:
    assert csrf_token(page) is None or isinstance(csrf_token(page), str)
    for reader in (login_failure, refusal):
        text = reader(page)
        assert text is None or isinstance(text, str)
    for parse in (parse_search_options, parse_statuses, parse_thread_events, parse_lock):
        try:
            value: object = parse(page)
        except ValueError as error:
            assert str(error)
        else:
            assert value is not None
    try:
        ticket = parse_ticket_page(page)
    except ValueError as error:
        assert str(error)
    else:
        assert ticket.number


@FAST
@given(cut=st.integers(0, 20_000), status=st.sampled_from(["Open", "Résolu", "処理中", ""]))
def test_a_truncated_ticket_page_is_read_or_refused(cut: int, status: str) -> None:
    whole = ticket_page(status=status)
    page = whole[: cut % (len(whole) + 1)]
    try:
        ticket = parse_ticket_page(page)
    except ValueError as error:
        assert str(error)
        return
    full = parse_ticket_page(whole)
    assert ticket.number == full.number
    # A page cut inside the thread loses entries, it never invents or alters one.
    by_id = {e.id: e for e in full.thread}
    for entry in ticket.thread:
        assert entry.id in by_id and entry.type == by_id[entry.id].type
        assert entry.created == by_id[entry.id].created


@FAST
@given(
    body=st.dictionaries(
        st.sampled_from(["id", "code", "time", "retry", "msg"]),
        st.none() | st.integers() | st.text(max_size=8) | st.booleans(),
        max_size=5,
    )
    | st.lists(st.integers(), max_size=2)
    | st.integers()
)
def test_any_json_as_a_lock_answer(body: object) -> None:
    try:
        lock = parse_lock(json.dumps(body))
    except ValueError as error:
        assert str(error)
        return
    if lock.acquired:
        assert lock.id and lock.code


# --------------------------------------------------------------------------- the listing settles


EXAMPLE_RULES = load_rules(Path(__file__).resolve().parent.parent / "examples" / "rules.toml")
PLAN_NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday, inside office hours


@st.composite
def listed_tickets(draw: st.DrawFn) -> TicketSnapshot:
    """An open (or closed) ticket whose listing agrees with its thread, as osTicket's does.

    Thread Count counts every entry (messages, responses, notes); the first is the opening
    message; entries follow creation, in id order, up to now. "A" is a response by the
    automation's own agent (it never arms a rule).
    """
    created = PLAN_NOW - timedelta(minutes=draw(st.integers(0, 200 * 60)))
    later = draw(st.lists(st.sampled_from("MRRAN"), max_size=4))
    gaps = draw(st.lists(st.integers(0, 80 * 60), min_size=len(later), max_size=len(later)))
    entries = [("M", created)]
    at = created
    for kind, gap in zip(later, gaps, strict=True):
        at = min(at + timedelta(minutes=gap), PLAN_NOW)
        entries.append((kind, at))
    conversation = tuple(
        ConversationEntry(
            id=i,
            kind="R" if kind == "A" else kind,  # type: ignore[arg-type]
            created=when,
            author="Help Desk Automation" if kind == "A" else "x",
            text="Which model?",
            automated=kind == "A",
        )
        for i, (kind, when) in enumerate(entries, 1)
        if kind != "N"
    )
    due = draw(st.none() | st.integers(-200, 200).map(lambda h: PLAN_NOW + timedelta(hours=h)))
    summary = TicketSummary(
        number="100001",
        created=draw(st.sampled_from([created, created, None])),
        subject="Printer",
        from_name="Carla",
        status=draw(st.sampled_from(["Open", "Open", "Work in Progress", "Pending", "On Hold"])),
        help_topic=draw(st.sampled_from(["Report a Problem", "General Inquiry"])),
        department=draw(st.sampled_from(["Maintenance", "Support"])),
        priority="Normal",
        sla_due=due,
        agent=draw(st.sampled_from([None, "Ada Admin"])),
        answered=draw(st.booleans()),  # a reply sets it, a reopen or "mark" changes it
        thread_count=draw(st.sampled_from([len(entries), len(entries), None])),
        reopen_count=draw(st.integers(0, 2)),
    )
    state = draw(st.sampled_from(["open", "open", "open", "closed"]))
    return TicketSnapshot(summary, state, conversation, customer_name="Carla")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot=listed_tickets(), data=st.data())
def test_where_the_listing_is_declared_enough_the_plan_is_the_same(
    snapshot: TicketSnapshot, data: st.DataObject
) -> None:
    rules = EXAMPLE_RULES
    summary = snapshot.summary
    # A history of this ticket as earlier passes left it: some of what was due, done at some
    # time between the ticket's creation and now (never before the ticket existed), kept in
    # the ledger or, where the thread holds more than its opening message (a note or comment
    # carries it), only as the action's marker on the ticket (a lost ledger). Markers are
    # drawn for the rules that read conversations: auto_assign and the SLA's due-date levels
    # never read a page (a field change shows in the listing; a note's marker is looked for
    # on the ticket read again just before the note is sent, `Pass._check`).
    done: dict[str, datetime] = {}
    marks: dict[str, datetime] = {}
    earliest = summary.created or PLAN_NOW - timedelta(days=20)
    can_mark = summary.thread_count is not None and summary.thread_count > 1
    for _ in range(3):
        seen = replace(snapshot, marks=marks)
        for decision in plan(rules, [seen], PLAN_NOW, MemoryHistory(done)):
            if decision.action is not None and data.draw(st.booleans()):
                span = int((PLAN_NOW - earliest).total_seconds() // 60)
                at = earliest + timedelta(minutes=data.draw(st.integers(0, max(span, 0))))
                key = decision.action.key
                markable = can_mark and "|due:" not in key and "|assign|" not in key
                kept = marks if markable and data.draw(st.booleans()) else done
                kept[key] = at
    snapshot = replace(snapshot, marks=marks)
    history = MemoryHistory(done)
    assume(not needs_conversation(rules, summary, snapshot.state, PLAN_NOW))
    unread = TicketSnapshot(summary, snapshot.state, None, snapshot.customer_name)
    for explain in (False, True):
        with_thread = plan(rules, [snapshot], PLAN_NOW, history, explain=explain)
        listing_only = plan(rules, [unread], PLAN_NOW, history, explain=explain)
        assert [d.action for d in listing_only] == [d.action for d in with_thread]
