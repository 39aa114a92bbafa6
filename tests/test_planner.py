"""The planner on frozen clocks: every rule, its edges, and once-only through the history."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automations._model import ConversationEntry, Decision, MemoryHistory, TicketSnapshot
from automations._planner import needs_conversation, plan, render_nudge
from automations._rules import NudgeRule, RulesFile, parse_rules
from osticket_client import TicketSummary

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
H = timedelta(hours=1)

SETTINGS = """
[calendars.office]
timezone = "Europe/Paris"
hours = { mon = "08:00-12:00,13:00-17:00", tue = "08:00-17:00", wed = "08:00-17:00", \
thu = "08:00-17:00", fri = "08:00-16:00" }
holidays = ["2026-12-25", "2027-01-01"]
"""


def rules_of(text: str) -> RulesFile:
    return parse_rules(SETTINGS + text)


def summary(**fields: Any) -> TicketSummary:
    values: dict[str, Any] = {
        "number": "100001",
        "subject": "Printer jam",
        "status": "Open",
        "created": T0 - 24 * H,
        "from_name": "Carla Customer",
        "help_topic": "Report a Problem",
        "department": "Support",
        "priority": "Normal",
        "reopen_count": 0,
    }
    values.update(fields)
    return TicketSummary(**values)


def entry(kind: Literal["M", "R"], id: int, at: datetime, text: str = "") -> ConversationEntry:
    author = "Carla Customer" if kind == "M" else "Ada Admin"
    return ConversationEntry(id=id, kind=kind, created=at, author=author, text=text)


def ticket(
    conversation: Sequence[ConversationEntry] | None = (),
    state: str = "open",
    customer_name: str | None = None,
    **fields: Any,
) -> TicketSnapshot:
    return TicketSnapshot(
        summary=summary(**fields),
        state=state,
        conversation=None if conversation is None else tuple(conversation),
        customer_name=customer_name,
    )


def run(
    rules: RulesFile,
    tickets: Sequence[TicketSnapshot],
    now: datetime,
    done: dict[str, datetime] | None = None,
    counts: dict[str, int] | None = None,
) -> list[Decision]:
    decisions = plan(rules, tickets, now, MemoryHistory(done or {}, counts or {}))
    for decision in decisions:
        assert decision.reason
        if decision.action is not None:
            assert (decision.action.rule, decision.action.number) == (
                decision.rule,
                decision.number,
            )
            assert decision.action.reason == decision.reason
    return decisions


def actions(decisions: Sequence[Decision]) -> list[tuple[str, str, str]]:
    """(ticket number, action kind, value) of the decisions that act."""
    return [(d.number, d.action.kind, d.action.value) for d in decisions if d.action is not None]


def only(decisions: Sequence[Decision]) -> Decision:
    assert len(decisions) == 1, decisions
    return decisions[0]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# auto_assign

ASSIGN = """
[[rules]]
name = "Problems"
type = "auto_assign"
topic = "Report a Problem"
department = "Support"
agents = ["Ada Admin", "Lim Ited"]
strategy = "{strategy}"
"""


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, ["Ada Admin", "Lim Ited", "Ada Admin"]),
        ({"problems": 1}, ["Lim Ited", "Ada Admin", "Lim Ited"]),
        ({"problems": 4}, ["Ada Admin", "Lim Ited", "Ada Admin"]),
    ],
)
def test_round_robin_continues_from_the_count_done(
    counts: dict[str, int], expected: list[str]
) -> None:
    rules = rules_of(ASSIGN.format(strategy="round_robin"))
    tickets = [ticket(number=n) for n in ("1", "2", "3")]
    decisions = run(rules, tickets, T0, counts=counts)
    assert actions(decisions) == [
        (n, "assign_agent", agent) for n, agent in zip(("1", "2", "3"), expected, strict=True)
    ]


def test_least_loaded_counts_open_tickets_and_breaks_ties_by_listed_order() -> None:
    rules = rules_of(ASSIGN.format(strategy="least_loaded"))
    tickets = [
        ticket(number="1", agent="Ada Admin", help_topic="General Inquiry"),
        ticket(number="2", agent="Ada Admin"),
        ticket(number="3", agent="Lim Ited"),
        ticket(number="4", agent="Lim Ited", state="closed"),  # closed: no load
        ticket(number="5"),  # Lim has 1, Ada 2
        ticket(number="6"),  # 2 each: Ada is listed first
        ticket(number="7"),  # Ada 3, Lim 2
    ]
    decisions = run(rules, tickets, T0)
    assert actions(decisions) == [
        ("5", "assign_agent", "Lim Ited"),
        ("6", "assign_agent", "Ada Admin"),
        ("7", "assign_agent", "Lim Ited"),
    ]


def test_fixed_agent_and_team() -> None:
    rules = rules_of(
        ASSIGN.format(strategy="fixed").replace('"Ada Admin", "Lim Ited"', '"Lim Ited"')
        + """
[[rules]]
name = "Access"
type = "auto_assign"
topic = "Report a Problem / Access Issue"
team = "Level I Support"
"""
    )
    tickets = [
        ticket(number="1"),
        ticket(number="2", help_topic="Report a Problem / Access Issue"),
    ]
    decisions = run(rules, tickets, T0)
    assert actions(decisions) == [
        ("1", "assign_agent", "Lim Ited"),
        ("2", "assign_team", "Level I Support"),
    ]
    keys = [d.action.key for d in decisions if d.action is not None]
    assert keys == ["problems|1|assign|assign_agent", "access|2|assign|assign_team"]


@pytest.mark.parametrize(
    ("fields", "state", "reason"),
    [
        ({"agent": "Ada Admin"}, "open", "already assigned to Ada Admin"),
        ({"team": "Level I Support"}, "open", "already assigned to Level I Support"),
        (
            {"agent": "Lim Ited", "team": "Level I Support"},
            "open",
            "already assigned to Lim Ited / Level I Support",
        ),
        ({}, "closed", "closed"),
    ],
)
def test_assigned_and_closed_tickets_are_not_touched(
    fields: dict[str, Any], state: str, reason: str
) -> None:
    rules = rules_of(ASSIGN.format(strategy="round_robin"))
    decision = only(run(rules, [ticket(state=state, **fields)], T0))
    assert (decision.action, decision.reason) == (None, reason)


@pytest.mark.parametrize(
    "fields", [{"help_topic": "General Inquiry"}, {"help_topic": None}, {"department": "Sales"}]
)
def test_tickets_outside_the_topic_and_department_are_not_considered(
    fields: dict[str, Any],
) -> None:
    rules = rules_of(ASSIGN.format(strategy="round_robin"))
    assert run(rules, [ticket(**fields)], T0) == []


def test_an_assignment_is_made_once() -> None:
    rules = rules_of(ASSIGN.format(strategy="round_robin"))
    done = {"problems|100001|assign|assign_agent": T0 - H}
    decision = only(run(rules, [ticket()], T0, done))
    assert decision.action is None
    assert decision.reason == f"assigned by this rule at {iso(T0 - H)}; not again"


# nudge_then_pending

NUDGE = """
[[rules]]
name = "Nudge"
type = "nudge_then_pending"
statuses = ["Open", "Work in Progress"]
nudge_after = "48h"
pending_after = "72h"
resolve_after = "7d"
template = "<p>Hello {customer_name},</p><p>#{number} ({subject}):</p><q>{question}</q>"
"""
R_AT = T0 + H
ASKED = [entry("M", 1, T0, "It jams"), entry("R", 2, R_AT, "Which model?")]
BASE = f"nudge|100001|R@{iso(R_AT)}|reopen:0"
NUDGED = R_AT + 48 * H + timedelta(minutes=5)  # when the nudge was sent
PENDED = NUDGED + 72 * H + timedelta(minutes=5)  # when Pending was set


@pytest.mark.parametrize(
    ("now", "done", "status", "expected"),
    [
        pytest.param(
            R_AT + 48 * H - timedelta(minutes=1),
            {},
            "Open",
            f"nudge due at {iso(R_AT + 48 * H)}",
            id="nudge not yet",
        ),
        pytest.param(R_AT + 48 * H, {}, "Work in Progress", "reply", id="nudge due"),
        pytest.param(
            NUDGED + 72 * H - timedelta(minutes=1),
            {f"{BASE}|nudge": NUDGED},
            "Open",
            f"pending due at {iso(NUDGED + 72 * H)}",
            id="pending not yet: counted from the nudge",
        ),
        pytest.param(NUDGED + 72 * H, {f"{BASE}|nudge": NUDGED}, "Open", "Pending", id="pending"),
        pytest.param(
            PENDED + 7 * 24 * H - timedelta(minutes=1),
            {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED},
            "Pending",
            f"resolve due at {iso(PENDED + 7 * 24 * H)}",
            id="resolve not yet: counted from Pending",
        ),
        pytest.param(
            PENDED + 7 * 24 * H,
            {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED},
            "Pending",
            "Resolved",
            id="resolve",
        ),
        pytest.param(
            R_AT + 100 * H,
            {},
            "Pending",
            "nudge waits for status Open or Work in Progress",
            id="set Pending by an agent: no nudge",
        ),
        pytest.param(
            PENDED + 8 * 24 * H,
            {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED},
            "Open",
            "resolve waits for status Pending",
            id="moved back to Open by an agent: not resolved",
        ),
        pytest.param(
            PENDED + 30 * 24 * H,
            {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED, f"{BASE}|resolve": PENDED},
            "Pending",
            "set to Resolved; no more steps",
            id="all done",
        ),
    ],
)
def test_nudge_then_pending_then_resolved(
    now: datetime, done: dict[str, datetime], status: str, expected: str
) -> None:
    nudge_reply = entry("R", 3, NUDGED, "Hello Carla...")  # the nudge, once sent
    conversation = [*ASKED, nudge_reply] if done else ASKED
    decision = only(run(rules_of(NUDGE), [ticket(conversation, status=status)], now, done))
    if decision.action is None:
        assert decision.reason.endswith(expected), decision.reason
        assert decision.reason.startswith("waiting on the customer since response 2")
    elif expected == "reply":
        assert (decision.action.kind, decision.action.key) == ("reply", f"{BASE}|nudge")
    else:
        step = "pending" if expected == "Pending" else "resolve"
        assert (decision.action.kind, decision.action.value) == ("set_status", expected)
        assert decision.action.key == f"{BASE}|{step}"
        assert decision.action.note == (
            f"No answer from the customer since {iso(R_AT)}: set to {expected} by rule Nudge"
        )


def test_the_nudge_reply_renders_the_template_with_escaped_values() -> None:
    snapshot = ticket(
        [entry("M", 1, T0), entry("R", 2, R_AT, "Is it the <HP> one? Reply & see")],
        customer_name="Zoë <zoe@example.com>",
        subject="Printer <b>jam</b>",
    )
    decision = only(run(rules_of(NUDGE), [snapshot], R_AT + 48 * H))
    assert decision.action is not None
    assert decision.action.value == (
        "<p>Hello Zoë &lt;zoe@example.com&gt;,</p><p>#100001 (Printer &lt;b&gt;jam&lt;/b&gt;):</p>"
        "<q>Is it the &lt;HP&gt; one? Reply &amp; see</q>"
    )


def test_the_customer_name_falls_back_to_the_listing() -> None:
    rule = rules_of(NUDGE).rules[0]
    assert isinstance(rule, NudgeRule)
    assert render_nudge(rule, ticket(ASKED)).startswith("<p>Hello Carla Customer,</p>")
    with pytest.raises(ValueError, match="ticket 100001 is not waiting on the customer"):
        render_nudge(rule, ticket([*ASKED, entry("M", 3, R_AT + H)]))


def test_the_nudge_does_not_rearm_the_rule() -> None:
    # After the nudge (R3) the last entry is still an R, but the arming R is still R2.
    conversation = [*ASKED, entry("R", 3, NUDGED, "Hello Carla...")]
    done = {f"{BASE}|nudge": NUDGED}
    decision = only(run(rules_of(NUDGE), [ticket(conversation)], NUDGED + 48 * H, done))
    assert decision.action is None
    assert "response 2" in decision.reason and "pending due" in decision.reason


def test_a_new_message_rearms_the_rule() -> None:
    again = R_AT + 200 * H
    conversation = [
        *ASKED,
        entry("R", 3, NUDGED),
        entry("M", 4, again - H, "Model X"),
        entry("R", 5, again, "Thanks, and the serial?"),
    ]
    done = {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED}
    decision = only(run(rules_of(NUDGE), [ticket(conversation)], again + 48 * H, done))
    assert decision.action is not None
    assert decision.action.key == f"nudge|100001|R@{iso(again)}|reopen:0|nudge"
    assert "Thanks, and the serial?" in decision.action.value


def test_a_reopen_rearms_the_rule() -> None:
    done = {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED, f"{BASE}|resolve": PENDED}
    snapshot = ticket(ASKED, reopen_count=1)
    decision = only(run(rules_of(NUDGE), [snapshot], PENDED + 30 * 24 * H, done))
    assert decision.action is not None
    assert decision.action.key == f"nudge|100001|R@{iso(R_AT)}|reopen:1|nudge"


@pytest.mark.parametrize(
    ("conversation", "reason"),
    [
        ([*ASKED, entry("M", 3, R_AT + H)], "the last conversation entry is a message"),
        ([entry("M", 1, T0)], "the last conversation entry is a message"),
        ([], "the last conversation entry is none yet"),
    ],
)
def test_not_waiting_on_the_customer(conversation: list[ConversationEntry], reason: str) -> None:
    decision = only(run(rules_of(NUDGE), [ticket(conversation)], R_AT + 1000 * H))
    assert (decision.action, decision.reason) == (None, f"not waiting on the customer: {reason}")


def test_notes_after_the_response_do_not_stop_the_wait() -> None:
    # Notes are not conversation entries; they only move "last updated", which is never used.
    snapshot = ticket(ASKED, last_updated=R_AT + 47 * H)
    decision = only(run(rules_of(NUDGE), [snapshot], R_AT + 48 * H))
    assert decision.action is not None and decision.action.kind == "reply"


def test_a_response_without_any_message_arms_the_rule() -> None:
    snapshot = ticket([entry("R", 7, R_AT, "Did you restart it?")])
    decision = only(run(rules_of(NUDGE), [snapshot], R_AT + 48 * H))
    assert decision.action is not None
    assert decision.action.key == f"nudge|100001|R@{iso(R_AT)}|reopen:0|nudge"


def test_nudge_scope_closed_and_unread() -> None:
    rules = rules_of(NUDGE)
    tickets = [
        ticket(ASKED, number="1", status="On Hold"),  # not considered
        ticket(ASKED, number="2", state="closed"),
        ticket(None, number="3"),
    ]
    decisions = run(rules, tickets, R_AT + 100 * H)
    assert [(d.number, d.action, d.reason) for d in decisions] == [
        ("2", None, "closed"),
        ("3", None, "conversation not read"),
    ]


def test_without_resolve_pending_tickets_are_not_considered() -> None:
    rules = rules_of(NUDGE.replace('resolve_after = "7d"\n', ""))
    assert run(rules, [ticket(ASKED, status="Pending")], R_AT + 1000 * H) == []
    done = {f"{BASE}|nudge": NUDGED, f"{BASE}|pending": PENDED}
    decision = only(run(rules, [ticket(ASKED)], PENDED + 1000 * H, done))
    assert decision.action is None and decision.reason.endswith("no more steps")


BUSINESS = (
    NUDGE.replace('"48h"', '"16h"')
    .replace('"72h"', '"2h"')
    .replace('resolve_after = "7d"', 'calendar = "office"')
)


@pytest.mark.parametrize(
    ("asked", "step_due"),
    [
        # Friday 15:00: 1 hour on Friday, 8 on Monday (with lunch), 7 on Tuesday.
        (datetime(2026, 12, 4, 15, tzinfo=PARIS), datetime(2026, 12, 8, 15, tzinfo=PARIS)),
        # Christmas Eve 16:00: 1 hour, Christmas (a holiday), the weekend, 8 on Monday, 7 more.
        (datetime(2026, 12, 24, 16, tzinfo=PARIS), datetime(2026, 12, 29, 15, tzinfo=PARIS)),
        # Sunday evening: the count starts on Monday morning; 8 hours on Monday, 8 on Tuesday.
        (datetime(2026, 12, 6, 20, tzinfo=PARIS), datetime(2026, 12, 8, 16, tzinfo=PARIS)),
    ],
)
def test_nudge_in_business_hours(asked: datetime, step_due: datetime) -> None:
    snapshot = ticket([entry("M", 1, asked - H), entry("R", 2, asked.astimezone(UTC))])
    rules = rules_of(BUSINESS)
    before = only(run(rules, [snapshot], step_due - timedelta(minutes=1)))
    assert before.action is None
    assert before.reason.endswith(f"nudge due at {iso(step_due)}")
    at = only(run(rules, [snapshot], step_due))
    assert at.action is not None and at.action.kind == "reply"


def test_pending_in_business_hours_counts_from_the_nudge() -> None:
    nudged = datetime(2026, 12, 4, 15, 30, tzinfo=PARIS)  # Friday; 30 minutes left
    snapshot = ticket([entry("M", 1, T0), entry("R", 2, R_AT), entry("R", 3, nudged)])
    done = {f"{BASE}|nudge": nudged.astimezone(UTC)}
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=PARIS)  # 30 minutes Friday + 90 on Monday
    decision = only(run(rules_of(BUSINESS), [snapshot], monday - timedelta(minutes=1), done))
    assert decision.reason.endswith(f"pending due at {iso(monday)}")
    decision = only(run(rules_of(BUSINESS), [snapshot], monday, done))
    assert decision.action is not None and decision.action.value == "Pending"


# sla_escalation

SLA = """
[[rules]]
name = "SLA"
type = "sla_escalation"
exempt_statuses = ["Pending"]

[[rules.levels]]
name = "warn"
before_due = "2h"
actions = [{ note = "Breach in 2 hours & counting" }]

[[rules.levels]]
name = "breached"
at_due = true
actions = [{ priority = "High" }, { assign_team = "Level I Support" }]

[[rules.levels]]
name = "late"
after_due = "1d"
actions = [{ transfer = "Maintenance" }]

[[rules.levels]]
name = "unanswered"
no_response = "4h"
actions = [{ assign_agent = "Ada Admin" }]
"""
DUE = T0 + 10 * H
CREATED = DUE - 20 * H
ANSWERED = [entry("M", 1, CREATED), entry("R", 2, CREATED + H)]
LIFECYCLE_KEY = f"answered|100001|R@{iso(CREATED + H)}|set_status"


def due_key(level: str, step: str, due: datetime = DUE) -> str:
    return f"sla|100001|due:{iso(due)}|level:{level}|{step}"


@pytest.mark.parametrize(
    ("now", "expected", "reason"),
    [
        (DUE - 3 * H, [], f"next level warn at {iso(DUE - 2 * H)}"),
        (
            DUE - 2 * H,
            [("note", "Breach in 2 hours &amp; counting", due_key("warn", "0:note"))],
            f"level warn reached at {iso(DUE - 2 * H)}",
        ),
        (
            DUE,
            [
                ("set_priority", "High", due_key("breached", "0:priority")),
                ("assign_team", "Level I Support", due_key("breached", "1:assign_team")),
            ],
            f"level breached reached at {iso(DUE)}",
        ),
        # Only the most advanced level acts: first seen a day late, no "breach in 2 hours".
        (
            DUE + 24 * H,
            [("transfer", "Maintenance", due_key("late", "0:transfer"))],
            f"level late reached at {iso(DUE + 24 * H)}",
        ),
    ],
)
def test_sla_levels_before_at_and_after_the_due_date(
    now: datetime, expected: list[tuple[str, str, str]], reason: str
) -> None:
    decisions = run(rules_of(SLA), [ticket(ANSWERED, sla_due=DUE, created=CREATED)], now)
    if expected:
        assert [(d.action.kind, d.action.value, d.action.key) for d in decisions if d.action] == (
            expected
        )
        assert {d.reason for d in decisions} == {reason}
    else:
        assert only(decisions).reason == f"{reason}; an agent has responded"


def test_sla_levels_act_once() -> None:
    done = {due_key("breached", "0:priority"): DUE, due_key("breached", "1:assign_team"): DUE}
    snapshot = ticket(ANSWERED, sla_due=DUE)
    decision = only(run(rules_of(SLA), [snapshot], DUE + H, done))
    assert decision.action is None
    assert decision.reason == (
        f"level breached: 2 of 2 actions done; next level late at {iso(DUE + 24 * H)};"
        " an agent has responded"
    )


def test_an_action_the_ticket_already_shows_is_not_repeated() -> None:
    snapshot = ticket(ANSWERED, sla_due=DUE, priority="High")
    assert actions(run(rules_of(SLA), [snapshot], DUE)) == [
        ("100001", "assign_team", "Level I Support")
    ]


def test_a_manual_due_date_wins_and_a_new_due_date_rearms() -> None:
    manual = DUE + 5 * H
    snapshot = ticket(ANSWERED, sla_due=DUE, due_date=manual)
    done = {due_key("breached", "0:priority"): DUE, due_key("breached", "1:assign_team"): DUE}
    decisions = run(rules_of(SLA), [snapshot], manual, done)
    assert [d.action.key for d in decisions if d.action] == [
        due_key("breached", "0:priority", manual),
        due_key("breached", "1:assign_team", manual),
    ]


@pytest.mark.parametrize(
    ("fields", "state", "reason"),
    [
        ({"status": "Pending", "sla_due": DUE}, "open", "exempt: status Pending"),
        ({"sla_due": DUE}, "closed", "closed"),
        ({}, "open", "no SLA due date; an agent has responded"),
    ],
)
def test_sla_exempt_closed_and_without_due_date(
    fields: dict[str, Any], state: str, reason: str
) -> None:
    decision = only(run(rules_of(SLA), [ticket(ANSWERED, state=state, **fields)], DUE + 48 * H))
    assert (decision.action, decision.reason) == (None, reason)


@pytest.mark.parametrize(
    ("conversation", "now", "expected"),
    [
        ([entry("M", 1, CREATED)], CREATED + 4 * H - timedelta(minutes=1), None),
        ([entry("M", 1, CREATED)], CREATED + 4 * H, "Ada Admin"),
        ([], CREATED + 5 * H, "Ada Admin"),
        ([entry("M", 1, CREATED), entry("R", 2, CREATED + 5 * H)], CREATED + 6 * H, None),
    ],
)
def test_first_response_target(
    conversation: list[ConversationEntry], now: datetime, expected: str | None
) -> None:
    snapshot = ticket(conversation, created=CREATED)  # no due date: only the creation time line
    decision = only(run(rules_of(SLA), [snapshot], now))
    if expected is None:
        assert decision.action is None
    else:
        assert decision.action is not None
        assert (decision.action.kind, decision.action.value) == ("assign_agent", expected)
        assert (
            decision.action.key
            == f"sla|100001|created:{iso(CREATED)}|level:unanswered|0:assign_agent"
        )


def test_first_response_needs_the_conversation() -> None:
    decision = only(run(rules_of(SLA), [ticket(None, sla_due=DUE)], DUE - 3 * H))
    assert decision.reason == f"next level warn at {iso(DUE - 2 * H)}; conversation not read"


def test_sla_levels_in_business_hours() -> None:
    rules = rules_of(
        SLA.replace('exempt_statuses = ["Pending"]', 'calendar = "office"').replace('"1d"', '"9h"')
    )
    due = datetime(2026, 12, 7, 9, tzinfo=PARIS)  # Monday 09:00
    warn = datetime(2026, 12, 4, 15, tzinfo=PARIS)  # 2 office hours before: Friday 15:00
    snapshot = ticket(ANSWERED, sla_due=due.astimezone(UTC))
    before = only(run(rules, [snapshot], warn - timedelta(minutes=1)))
    assert before.reason.startswith(f"next level warn at {iso(warn)}")
    assert actions(run(rules, [snapshot], warn)) == [
        ("100001", "note", "Breach in 2 hours &amp; counting")
    ]
    # "late" is 9 office hours after Monday 09:00: 7 on Monday (lunch), 2 on Tuesday.
    late = datetime(2026, 12, 8, 10, tzinfo=PARIS)
    assert actions(run(rules, [snapshot], late - timedelta(minutes=1)))[0][1] == "set_priority"
    assert actions(run(rules, [snapshot], late)) == [("100001", "transfer", "Maintenance")]


# lifecycle

LIFECYCLE = """
[[rules]]
name = "Answered"
type = "lifecycle"
"""


@pytest.mark.parametrize(
    ("conversation", "status", "done", "expected"),
    [
        (ANSWERED, "Open", {}, LIFECYCLE_KEY),
        ([*ANSWERED, entry("M", 3, CREATED + 2 * H)], "Open", {}, LIFECYCLE_KEY),
        ([entry("M", 1, CREATED)], "Open", {}, "no response from an agent yet"),
        (ANSWERED, "Open", {LIFECYCLE_KEY: CREATED}, "already moved"),
        (
            [*ANSWERED, entry("R", 4, CREATED + 3 * H)],
            "Open",
            {LIFECYCLE_KEY: CREATED},
            f"answered|100001|R@{iso(CREATED + 3 * H)}|set_status",
        ),
        (None, "Open", {}, "conversation not read"),
    ],
)
def test_lifecycle_moves_answered_open_tickets(
    conversation: list[ConversationEntry] | None,
    status: str,
    done: dict[str, datetime],
    expected: str,
) -> None:
    decision = only(run(rules_of(LIFECYCLE), [ticket(conversation, status=status)], T0, done))
    if decision.action is None:
        assert decision.reason.startswith(expected)
    else:
        assert (decision.action.kind, decision.action.value) == ("set_status", "Work in Progress")
        assert decision.action.key == expected


def test_lifecycle_only_considers_open_tickets() -> None:
    tickets = [ticket(ANSWERED, status="Work in Progress"), ticket(ANSWERED, status="Pending")]
    assert run(rules_of(LIFECYCLE), tickets, T0) == []
    closed = only(run(rules_of(LIFECYCLE), [ticket(ANSWERED, state="closed")], T0))
    assert (closed.action, closed.reason) == (None, "closed")


# the whole pass


def test_once_only_across_passes() -> None:
    rules = rules_of(ASSIGN.format(strategy="round_robin") + NUDGE + SLA + LIFECYCLE)
    tickets = [
        ticket(ASKED, number="1", sla_due=DUE),
        ticket(ANSWERED, number="2", created=CREATED),
        ticket([entry("M", 1, CREATED)], number="3", created=CREATED, status="Work in Progress"),
    ]
    now = R_AT + 50 * H
    first = run(rules, tickets, now)
    keys = [d.action.key for d in first if d.action is not None]
    assert len(keys) == len(set(keys)) > 0
    assert {d.rule for d in first if d.action} == {"Problems", "Nudge", "SLA", "Answered"}
    again = run(rules, tickets, now + H, {key: now for key in keys}, {"problems": 3})
    assert actions(again) == []


def test_disabled_rules_are_skipped() -> None:
    rules = rules_of(LIFECYCLE.replace('type = "lifecycle"', 'type = "lifecycle"\nenabled = false'))
    assert run(rules, [ticket(ANSWERED)], T0) == []


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="expected an aware datetime"):
        plan(rules_of(LIFECYCLE), [], datetime(2026, 12, 1, 9), MemoryHistory())


@pytest.mark.parametrize(
    ("text", "fields", "state", "expected"),
    [
        (NUDGE, {"status": "Open", "created": T0 - 72 * H}, "open", True),
        (NUDGE, {"status": "Pending", "created": T0 - 72 * H}, "open", True),  # resolve step
        (NUDGE.replace('resolve_after = "7d"\n', ""), {"status": "Pending"}, "open", False),
        (NUDGE, {"status": "On Hold"}, "open", False),
        (NUDGE, {"status": "Open"}, "closed", False),
        (LIFECYCLE, {"status": "Open"}, "open", True),
        (LIFECYCLE, {"status": "Work in Progress"}, "open", False),
        (SLA, {"status": "Open"}, "open", True),  # no_response needs to know of any R
        (SLA, {"status": "Pending"}, "open", False),  # exempt
        (SLA.split('[[rules.levels]]\nname = "unanswered"')[0], {}, "open", False),
        (ASSIGN.format(strategy="fixed").replace(', "Lim Ited"', ""), {}, "open", False),
        (LIFECYCLE.replace('lifecycle"', 'lifecycle"\nenabled = false'), {}, "open", False),
        # The listing settles it: the opening message alone (Thread Count 1) ...
        (NUDGE, {"status": "Open", "thread_count": 1}, "open", False),
        (NUDGE, {"status": "Open", "thread_count": 2, "created": T0 - 72 * H}, "open", True),
        (LIFECYCLE, {"status": "Open", "thread_count": 1}, "open", False),
        (LIFECYCLE, {"status": "Open", "thread_count": 3}, "open", True),
        (SLA, {"status": "Open", "thread_count": 1}, "open", False),
        (SLA, {"status": "Open", "thread_count": 2}, "open", True),
        # ... or the ticket is younger than any step or level could be due (48h, 4h) ...
        (NUDGE, {"status": "Open", "created": T0 - 47 * H}, "open", False),
        (NUDGE, {"status": "Open", "created": T0 - 48 * H}, "open", True),
        (SLA, {"status": "Open", "created": T0 - 3 * H}, "open", False),
        (SLA, {"status": "Open", "created": None}, "open", False),
        # ... but Answered does not: a reopen clears it while our response is the last word.
        (NUDGE, {"status": "Open", "thread_count": 4, "created": T0 - 72 * H}, "open", True),
    ],
)
def test_needs_conversation(text: str, fields: dict[str, Any], state: str, expected: bool) -> None:
    assert needs_conversation(rules_of(text), summary(**fields), state, T0) is expected


PLACEHOLDER = st.sampled_from(["{customer_name}", "{number}", "{subject}", "{question}"])
LITERAL = st.text(max_size=12).map(lambda text: text.replace("{", "{{").replace("}", "}}"))


@given(
    template=st.lists(LITERAL | PLACEHOLDER, max_size=8).map("".join),
    name=st.text(max_size=10),
    subject=st.text(max_size=10),
    question=st.text(max_size=10),
)
def test_a_nudge_reads_as_str_format_would_write_it(
    template: str, name: str, subject: str, question: str
) -> None:
    rule = NudgeRule.model_validate(
        {
            "name": "Nudge",
            "type": "nudge_then_pending",
            "statuses": ["Open"],
            "nudge_after": "1h",
            "pending_after": "1h",
            "template": template,
        }
    )
    snapshot = ticket([entry("R", 2, R_AT, question)], customer_name=name or None, subject=subject)
    values = {
        "customer_name": name or "Carla Customer",
        "number": "100001",
        "subject": subject,
        "question": question,
    }
    expected = template.format_map({k: html.escape(v) for k, v in values.items()})
    assert render_nudge(rule, snapshot) == expected
