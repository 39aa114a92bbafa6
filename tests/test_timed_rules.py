"""Timed and event rules, and notifications, through whole passes on the stand-in desk."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner
from urllib3.exceptions import MaxRetryError, NewConnectionError

from automations._audit import AuditLog
from automations._ledger import Ledger
from automations._notify import Sender
from automations._rules import RulesError, parse_rules
from automations._runner import Pass, RunSummary
from automations._timed import needs_page
from osticket_client import ThreadEvent, TicketSummary
from osticket_client._cli_support import CliState
from osticket_client.cli import cli
from tests.standin import AUTOMATION, STATUSES, Crash, FakeTicket, StandInDesk

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
HOOK = "https://hooks.example/services/T1/B2/VerySecretToken99"
RULES = """
[notifiers.ops]
type = "json"
url_env = "OPS_HOOK"

[[rules]]
name = "Close quiet Pending"
type = "timed"
when = { status = "Pending", in_status_for = "14d" }
actions = [{ reply = "<p>Closing #{number} ({subject}) for now.</p>", status = "Closed" }]

[[rules]]
name = "Close Resolved"
type = "timed"
queue = 42
when = { status = "Resolved", in_status_for = "7d" }
actions = [{ status = "Closed" }]

[[rules]]
name = "High tickets to ops"
type = "event"
on = "created"
when = { priority = "High" }
actions = [{ notify = "ops", text = "New High ticket #{number}: {subject}" }]

[[rules]]
name = "Customer answered"
type = "event"
on = ["customer_replied"]
actions = [{ note = "The customer answered" }]
"""


def resolved_lately(ticket: FakeTicket) -> bool:
    """The admin's queue 42: Resolved tickets (bounded, unlike the whole Closed history)."""
    return ticket.status == "Resolved"


class World:
    def __init__(self, tmp: Path, rules: str = RULES) -> None:
        self.desk = StandInDesk(NOW)
        self.desk.queues[42] = resolved_lately
        self.rules = parse_rules(rules)
        self.ledger_path = tmp / "ledger.sqlite"
        self.audit_path = tmp / "audit.jsonl"
        self.now = NOW
        self.sender = Sender(sleep=lambda seconds: None)
        self.hook = HOOK

    def run(self, **kwargs: Any) -> RunSummary:
        ledger = Ledger(self.ledger_path)
        try:
            run = Pass(
                self.desk,
                self.rules,
                ledger,
                AuditLog(self.audit_path),
                lambda: self.now,
                notifiers={"ops": self.hook},
                sender=self.sender,
            )
            return run.run(**kwargs)
        finally:
            ledger.close()

    def later(self, delta: timedelta) -> None:
        self.now += delta
        self.desk.now = self.now

    def changes(self, number: str, kind: str) -> int:
        return sum(n for (num, k, _), n in self.desk.changes.items() if (num, k) == (number, kind))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def pending(world: World, number: str, days: float) -> None:
    world.desk.add(number, f"Question {number}", "Ann", timedelta(days=days + 2))
    world.desk.entry(number, "response", "Ada Admin", "Which model?", timedelta(days=days + 1))
    world.desk.move(number, "Pending", timedelta(days=days))


def test_pending_15_days_is_closed_once_with_one_reply(world: World) -> None:
    pending(world, "200001", 15)
    pending(world, "200002", 10)  # not yet
    world.run()
    ticket = world.desk.tickets["200001"]
    assert ticket.status == "Closed"
    assert world.changes("200001", "reply") == 1
    assert world.changes("200001", "set_status") == 0  # the reply set it: one post
    assert "Closing #200001 (Question 200001)" in ticket.thread[-1].body
    assert world.desk.tickets["200002"].status == "Pending"
    world.run()
    world.later(DAY)
    world.run()
    assert world.changes("200001", "reply") == 1


def test_flagged_overdue_yesterday_is_still_closed_on_time(world: World) -> None:
    pending(world, "200003", 15)
    ticket = world.desk.tickets["200003"]
    ticket.overdue = True  # the desk bumps Last Updated when it flags it; we never read that
    ticket.events.append(ThreadEvent(kind="overdue", when=NOW - DAY, text="Flagged as overdue"))
    world.run()
    assert ticket.status == "Closed"


def test_a_customer_message_then_pending_again_arms_the_rule_again(world: World) -> None:
    pending(world, "200004", 15)
    world.run()
    ticket = world.desk.tickets["200004"]
    assert ticket.status == "Closed"
    world.later(DAY)
    world.desk.entry("200004", "message", "Ann", "Still broken", timedelta(0))
    ticket.status, ticket.reopen_count = "Open", 1
    ticket.events.append(ThreadEvent(kind="reopened", when=world.now, text="Reopened by Ann"))
    world.desk.entry("200004", "response", "Ada Admin", "Try this", timedelta(0))
    world.desk.move("200004", "Pending", timedelta(0))
    world.run()
    assert (ticket.status, world.changes("200004", "reply")) == ("Pending", 1)  # 0 days
    world.later(15 * DAY)
    world.run()
    assert (ticket.status, world.changes("200004", "reply")) == ("Closed", 2)


def test_resolved_8_days_closed_from_its_own_queue_never_the_closed_history(world: World) -> None:
    world.desk.add("200005", "Done", "Ben", 10 * DAY)
    world.desk.move("200005", "Resolved", 8 * DAY)
    world.desk.add("200006", "Recent", "Cleo", 3 * DAY)
    world.desk.move("200006", "Resolved", 2 * DAY)
    world.run()
    assert world.desk.tickets["200005"].status == "Closed"
    assert world.desk.tickets["200006"].status == "Resolved"
    assert set(world.desk.listed) == {1, 42}


def test_resolved_closed_from_the_desks_search_bounded_by_status_and_date(
    tmp_path: Path,
) -> None:
    by_search = RULES.replace("queue = 42\n", 'updated_within = "30d"\n')
    world = World(tmp_path, by_search)
    world.desk.add("200060", "Done", "Ben", 10 * DAY)
    world.desk.move("200060", "Resolved", 8 * DAY)
    world.desk.add("200061", "Long gone", "Cleo", 90 * DAY)
    world.desk.move("200061", "Resolved", 60 * DAY)  # beyond the search: never seen
    world.run()
    assert world.desk.tickets["200060"].status == "Closed"
    assert world.desk.tickets["200061"].status == "Resolved"
    assert world.desk.listed == [1, "search Resolved 30 days, 0:00:00"]


def test_status_events_that_disagree_with_the_status_do_not_act(world: World) -> None:
    pending(world, "200007", 20)
    world.desk.tickets["200007"].status = "Work in Progress"  # no event says so
    world.rules = parse_rules(
        RULES.replace('status = "Pending", in_status_for', "in_status_for", 1)
    )
    world.run()
    assert world.changes("200007", "reply") == 0


@responses.activate
def test_a_new_high_ticket_notifies_once_and_the_first_pass_fires_nothing(world: World) -> None:
    responses.post(HOOK, body="ok")
    world.desk.add("200010", "Old High", "Dan", DAY, priority="High")
    world.run()  # first pass: records the desk
    assert len(responses.calls) == 0
    world.desk.add("200011", "Server down <!channel>", "Eve", timedelta(0), priority="High")
    world.desk.add("200012", "Low one", "Fay", timedelta(0), priority="Low")
    world.later(timedelta(minutes=5))
    world.run()
    world.run()
    assert len(responses.calls) == 1
    body = json.loads(responses.calls[0].request.body or b"")
    assert body["schema"] == "osticket-client/event/v1"
    assert (body["id"], body["kind"]) == ("200011:created", "created")
    assert body["text"] == "New High ticket #200011: Server down <!channel>"
    assert body["rule"] == "High tickets to ops"


def test_a_customer_reply_fires_its_event_once(world: World) -> None:
    world.desk.add("200013", "Login", "Gus", DAY)
    world.run()
    world.desk.entry("200013", "message", "Gus", "Any news?", timedelta(0))
    world.later(timedelta(minutes=5))
    world.run()
    world.run()
    assert world.changes("200013", "note") == 1


def _refused() -> requests.ConnectionError:
    """What requests raises when nothing listens (as the loopback test sees for real)."""
    reason = NewConnectionError(None, f"Failed to establish a new connection to {HOOK}")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, HOOK, reason))  # type: ignore[arg-type]


def _high_ticket(world: World) -> None:
    world.run()
    world.desk.add("200020", "Urgent", "Hal", timedelta(0), priority="High")
    world.later(timedelta(minutes=5))


@responses.activate
def test_never_reached_is_sent_next_pass(world: World) -> None:
    _high_ticket(world)
    responses.post(HOOK, body=_refused())
    summary = world.run()
    assert summary.failed == 1
    responses.replace(responses.POST, HOOK, body="ok")
    assert world.run().done == 1
    world.run()
    assert len(responses.calls) == 2


@responses.activate
def test_a_lost_answer_is_never_sent_again_and_shows_as_unknown(world: World) -> None:
    _high_ticket(world)
    responses.post(HOOK, body=requests.ReadTimeout("slow"))
    assert world.run().unknown == 1
    responses.replace(responses.POST, HOOK, body="ok")
    world.run()
    assert len(responses.calls) == 1
    ledger = Ledger(world.ledger_path)
    try:
        assert [(r.kind, r.state) for r in ledger.unsettled()] == [("notify", "unknown")]
    finally:
        ledger.close()


class _Dies(Sender):
    def send(self, name: str, url: str, body: str, timeout: float = 10.0) -> Any:
        raise Crash


@responses.activate
def test_killed_between_intent_and_answer_is_not_sent_again(world: World) -> None:
    _high_ticket(world)
    responses.post(HOOK, body="ok")
    world.sender = _Dies()
    with pytest.raises(Crash):
        world.run()
    world.sender = Sender()
    summary = world.run()
    assert summary.reconciled == 1 and len(responses.calls) == 0
    ledger = Ledger(world.ledger_path)
    try:
        assert [r.state for r in ledger.unsettled()] == ["unknown"]
    finally:
        ledger.close()


@responses.activate
def test_no_webhook_url_reaches_any_file_the_tool_writes(world: World, tmp_path: Path) -> None:
    _high_ticket(world)
    responses.post(HOOK, status=404, body=f"no_service for {HOOK}")
    world.run()
    responses.replace(responses.POST, HOOK, body=_refused())
    world.run()
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in written)
    for path in written:
        data = path.read_bytes()
        assert b"VerySecretToken99" not in data, path.name
        assert b"hooks.example" not in data, path.name


@responses.activate
def test_a_lost_ledger_does_not_re_announce_timed_notifications(tmp_path: Path) -> None:
    closing = '{ reply = "<p>Closing #{number} ({subject}) for now.</p>", status = "Closed" }'
    rules = RULES.replace(closing, '{ notify = "ops" }')
    world = World(tmp_path, rules)
    responses.post(HOOK, body="ok")
    pending(world, "200030", 20)  # due 6 days before the ledger begins
    pending(world, "200031", 13.9)  # due in about 2 hours
    world.run()
    assert len(responses.calls) == 0
    world.later(3 * timedelta(hours=1))
    world.run()
    world.run()
    assert [json.loads(c.request.body or b"")["ticket"]["number"] for c in responses.calls] == [
        "200031"
    ]


def test_statuses_of_the_stand_in_cover_the_rules() -> None:
    assert {"Pending", "Resolved", "Closed"} <= set(STATUSES)


def test_explain_says_why_a_timed_rule_did_or_did_not_act(world: World) -> None:
    pending(world, "200040", 15)
    pending(world, "200041", 10)
    world.desk.add("200042", "Open one", "Ivy", DAY)
    ledger = Ledger(world.ledger_path)
    try:
        run = Pass(world.desk, world.rules, ledger, AuditLog(world.audit_path), lambda: NOW)
        decisions = run.decide(NOW, RunSummary(run.run_id))
    finally:
        ledger.close()
    why = {(d.number, d.reason) for d in decisions if d.rule == "Close quiet Pending"}
    # Younger than the rule's wait: its page is not read, the listing says when it may be due.
    created = world.desk.tickets["200041"].created
    due = (created + timedelta(days=14)).isoformat()
    assert ("200041", f"not due before {due}: created {created.isoformat()} (listing)") in why
    assert ("200042", "not in scope: status is Open, not Pending") in why
    (acting,) = [d for d in decisions if d.number == "200040" and d.action is not None]
    assert acting.action is not None and acting.action.status == "Closed"
    reached = (NOW - timedelta(days=15) + timedelta(days=14)).isoformat()
    assert acting.reason == f"in_status_for reached at {reached}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[rules]]\nname = "x"\ntype = "timed"\nwhen = { status = "Pending" }\n'
            'actions = [{ status = "Closed" }]',
            "rules[0].when: expected at least one of age, in_status_for,"
            " since_customer_message, since_our_response",
        ),
        (
            '[notifiers.ops]\ntype = "slack"\nurl = "https://hooks.slack.com/services/X"\n',
            "notifiers.ops.url: a webhook URL is a secret: give url_env or url_file instead",
        ),
        (
            '[[rules]]\nname = "x"\ntype = "event"\non = "created"\n'
            'actions = [{ notify = "nobody" }]',
            "rules[0].actions[0].notify: expected a notifier defined under [notifiers] (none),"
            " got 'nobody'",
        ),
        (
            '[[rules]]\nname = "x"\ntype = "event"\non = "created"\n'
            'when = { age = "1h" }\nactions = [{ note = "n" }]',
            "rules[0].when.age: expected no elapsed time in an event rule",
        ),
        (
            '[[rules]]\nname = "x"\ntype = "event"\non = "created"\n'
            'actions = [{ note = "n", status = "Closed" }]',
            "rules[0].actions[0]: expected exactly one of note, priority, assign_agent,"
            " assign_team, transfer, status, reply, notify (a reply may also set status),"
            " got note, status",
        ),
        (
            '[[rules]]\nname = "x"\ntype = "timed"\nupdated_within = "7d"\n'
            'when = { status = "Resolved", in_status_for = "7d" }\n'
            'actions = [{ status = "Closed" }]',
            "rules[0].updated_within: expected longer than when.in_status_for (7d):"
            " the search would never list a ticket old enough",
        ),
        (
            '[[rules]]\nname = "x"\ntype = "timed"\nupdated_within = "30d"\n'
            'when = { in_status_for = "7d" }\nactions = [{ status = "Closed" }]',
            "rules[0].updated_within: expected with when.status (the search is by status)",
        ),
    ],
)
def test_rule_file_mistakes_are_named(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert [str(p).split(" (line")[0] for p in caught.value.problems] == [expected]


@responses.activate
def test_auto_status_lists_a_lost_notification_as_not_sent_again(
    world: World, tmp_path: Path
) -> None:
    _high_ticket(world)
    responses.post(HOOK, body=requests.ReadTimeout("slow"))
    world.run()
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('[settings]\nledger = "ledger.sqlite"\n' + RULES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["auto", "status", str(rules_file)])
    assert result.exit_code == 0, result.output
    assert (
        "outcome unknown: ticket 200020 notify (rule High tickets to ops, since"
        " 2026-11-25T10:05:00+00:00): notifier ops: no answer in time after sending:"
        " not sent again; look at the receiver"
    ) in result.output


def test_auto_render_shows_a_timed_reply_and_an_event_notification(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CliState, "desk", property(lambda self: world.desk))
    pending(world, "200050", 15)
    world.desk.tickets["200050"].subject = "Printer <b>jams</b>"
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES, encoding="utf-8")
    runner = CliRunner()
    reply = runner.invoke(cli, ["auto", "render", str(rules_file), "Close quiet Pending", "200050"])
    assert reply.output == (
        "actions[0] reply (sets Closed):\nClosing #200050 (Printer <b>jams</b>) for now.\n"
    )
    note = runner.invoke(cli, ["auto", "render", str(rules_file), "High tickets to ops", "200050"])
    assert note.output == "actions[0] notify ops:\nNew High ticket #200050: Printer <b>jams</b>\n"
    wrong = runner.invoke(cli, ["auto", "render", str(rules_file), "Customer answered", "200050"])
    assert wrong.exit_code == 1 and "sends no reply or notification" in wrong.output


def test_auto_run_without_a_webhook_url_exits_3_naming_where_it_looked(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CliState, "desk", property(lambda self: world.desk))
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["auto", "run", str(rules_file)])
    assert result.exit_code == 3
    assert "notifier ops: environment variable OPS_HOOK is empty or unset" in result.output
    assert world.desk.changes == {}  # nothing was sent
    monkeypatch.setenv("OPS_HOOK", HOOK)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(HOOK, body="ok")
        result = CliRunner().invoke(cli, ["auto", "run", str(rules_file)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (NOW - 2 * DAY, False),  # younger than the rule's wait: nothing can be due, no page
        (NOW - 15 * DAY, True),
        (None, True),  # creation unknown: the page says
    ],
)
def test_a_timed_rule_reads_no_page_for_a_ticket_younger_than_its_wait(
    created: datetime | None, expected: bool
) -> None:
    rules = parse_rules(
        '[[rules]]\nname = "Quiet"\ntype = "timed"\n'
        'when = { status = "Pending", in_status_for = "14d" }\nactions = [{ status = "Closed" }]\n'
    )
    row = TicketSummary(number="100001", subject="x", status="Pending", created=created)
    assert needs_page(rules, row, "open", NOW) is expected


# -- the desk is the memory: timed and event rules keep trust's once-only rules -----------

ASK_AGAIN = """
[[rules]]
name = "Ask again when Pending"
type = "timed"
when = { status = "Pending", in_status_for = "3d" }
actions = [{ reply = "<p>Still there?</p>" }, { note = "Asked the customer again" }]
"""


def _ask_again(tmp_path: Path, ledger: str = "ledger.sqlite") -> World:
    world = World(tmp_path, ASK_AGAIN)
    world.ledger_path = tmp_path / ledger
    pending(world, "200070", 4)
    return world


def _keys(path: Path) -> list[str]:
    ledger = Ledger(path)
    try:
        return [row.key for row in ledger.recent()]
    finally:
        ledger.close()


def test_a_timed_rules_keys_start_with_its_id_and_its_note_carries_the_marker(
    tmp_path: Path,
) -> None:
    world = _ask_again(tmp_path)
    world.run()
    keys = _keys(world.ledger_path)
    assert keys and all(k.startswith("ask-again-when-pending|200070|status:Pending@") for k in keys)
    note = next(e for e in world.desk.tickets["200070"].thread if e.type == "note")
    assert "[auto:ask-again-when-pending|status:Pending@" in note.body
    assert note.body.rstrip("</p>").endswith("|1:note]")


def test_a_new_ledger_sends_a_timed_rules_reply_and_note_once(tmp_path: Path) -> None:
    world = _ask_again(tmp_path)
    world.run()
    world.ledger_path = tmp_path / "moved" / "ledger.sqlite"  # a copied rules file, a new ledger
    again = world.run()
    assert (world.changes("200070", "reply"), world.changes("200070", "note")) == (1, 1)
    assert again.planned == 0  # the reply: the automation's response; the note: its marker


def test_two_ledgers_at_once_send_a_timed_rules_reply_once(tmp_path: Path) -> None:
    world = _ask_again(tmp_path)
    ledger_a = Ledger(tmp_path / "a.sqlite")
    first = Pass(world.desk, world.rules, ledger_a, AuditLog(world.audit_path), lambda: NOW)
    summary = RunSummary(first.run_id)
    planned = [d.action for d in first.decide(NOW, summary, confirm=False) if d.action]
    assert [a.kind for a in planned] == ["reply", "note"]
    world.ledger_path = tmp_path / "b.sqlite"
    world.run()  # the other machine runs in between
    first._execute(planned, summary, None)  # re-reads the ticket just before each
    ledger_a.close()
    assert (world.changes("200070", "reply"), world.changes("200070", "note")) == (1, 1)
    assert summary.found == 2


def test_the_automations_own_response_never_arms_since_our_response(tmp_path: Path) -> None:
    world = World(
        tmp_path,
        """
[[rules]]
name = "Quiet after our answer"
type = "timed"
when = { since_our_response = "3d" }
actions = [{ note = "No answer for 3 days" }]
""",
    )
    world.desk.add("200071", "Quiet", "Ann", timedelta(days=6))
    world.desk.entry("200071", "response", AUTOMATION, "Automated reminder", timedelta(days=5))
    world.run()
    assert world.changes("200071", "note") == 0
    world.desk.entry("200071", "response", "Ada Admin", "Try this", timedelta(days=4))
    world.run()
    assert world.changes("200071", "note") == 1
    keys = _keys(world.ledger_path)
    assert keys[0].startswith("quiet-after-our-answer|200071|R@")


EVENTS = """
[[rules]]
name = "Replies to the team"
type = "event"
on = ["agent_replied", "customer_replied"]
actions = [{ note = "Someone wrote" }]
"""


def test_the_automations_own_reply_fires_no_event_rule(tmp_path: Path) -> None:
    world = World(tmp_path, EVENTS)
    world.desk.add("200072", "Login", "Gus", DAY)
    world.run()  # records the desk
    world.desk.entry("200072", "response", AUTOMATION, "Automated reminder", timedelta(0))
    world.later(timedelta(minutes=5))
    world.run()
    assert world.changes("200072", "note") == 0
    world.desk.entry("200072", "response", "Ada Admin", "Try this", timedelta(0))
    world.later(timedelta(minutes=5))
    world.run()
    assert world.changes("200072", "note") == 1
    assert _keys(world.ledger_path)[0].startswith("replies-to-the-team|200072|event:200072:")


def test_an_agent_editing_a_customer_message_is_no_new_reply(tmp_path: Path) -> None:
    world = World(tmp_path, EVENTS)
    world.desk.add("200073", "Login", "Gus", DAY)
    world.run()  # records the desk
    world.desk.entry("200073", "message", "Gus", "Any news?", timedelta(minutes=1))
    world.later(timedelta(minutes=5))
    world.run()
    assert world.changes("200073", "note") == 1
    # osTicket's edit: a new entry (higher id, same time), the old one hidden; and a response.
    thread = world.desk.tickets["200073"].thread
    message = next(e for e in thread if e.body == "Any news?")
    thread.remove(message)
    thread.append(message.model_copy(update={"id": 9999, "body": "Any news? (typo fixed)"}))
    world.desk.entry("200073", "response", "Ada Admin", "Yes: fixed", timedelta(0))
    world.later(timedelta(minutes=5))
    world.run()
    assert world.changes("200073", "note") == 2  # the response only


def test_an_old_ledgers_timed_keys_move_to_rule_ids_and_times(tmp_path: Path) -> None:
    world = World(
        tmp_path,
        """
[[rules]]
name = "Customer waits"
type = "timed"
when = { since_customer_message = "1d" }
actions = [{ note = "Waiting for a day" }]
""",
    )
    world.desk.add("200074", "Login", "Gus", 2 * DAY)
    world.run()
    message = next(e for e in world.desk.tickets["200074"].thread if e.type == "message")
    (key,) = _keys(world.ledger_path)
    assert key == f"customer-waits|200074|M@{message.created.isoformat()}|0:note"
    # The key an older version wrote: the rule's name, the message's id.
    db = sqlite3.connect(world.ledger_path)
    with db:
        db.execute(
            "UPDATE actions SET key = ?",
            (f"Customer waits|200074|M:{message.id}|0:note",),
        )
        db.execute("PRAGMA user_version = 0")
    db.close()
    world.desk.tickets["200074"].thread.pop()  # the note: only the ledger remembers it
    summary = world.run()
    assert (summary.planned, world.changes("200074", "note")) == (0, 1)
    assert _keys(world.ledger_path) == [key]
