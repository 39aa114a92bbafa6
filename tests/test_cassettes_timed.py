"""Timed and event rules on a real desk, with times moved back in its database.

The desk holds the scenario `python -m tests.timed_scenario` prepares (cassettes/README.md,
"Timed-rules scenario"): A, B, C Pending for 15 days (B flagged overdue by the desk's cron
yesterday, which bumped its update time), D Resolved 8 days ago and E 2 days ago (both in a
queue an admin made, "Resolved (automation)", id 20), F Open. The clock is pinned to the
recording. Notifications go to a real loopback receiver (never recorded: its URL is a secret).
The runs act as the automation agent (`auto.bot`), the scenario's agent steps as the admin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from automations._audit import AuditLog
from automations._ledger import Ledger
from automations._rules import parse_rules
from automations._runner import Pass, RunSummary
from osticket_client import NewTicket, Priority
from tests.receiver import receiving
from tests.test_cassettes_auto import recorded_now

QUEUE = 20  # the admin's "Resolved (automation)" queue on the recording desk
RULES = parse_rules(f"""
[notifiers.ops]
type = "json"
url_env = "UNUSED_IN_TESTS"

[[rules]]
name = "Close quiet Pending"
type = "timed"
when = {{ status = "Pending", in_status_for = "14d" }}
actions = [{{ reply = "<p>No news for two weeks: closing #{{number}}.</p>", status = "Closed" }}]

[[rules]]
name = "Close Resolved after a week"
type = "timed"
queue = {QUEUE}
when = {{ status = "Resolved", in_status_for = "7d" }}
actions = [{{ status = "Closed" }}]

[[rules]]
name = "High tickets to ops"
type = "event"
on = "created"
when = {{ priority = "High" }}
actions = [{{ notify = "ops", text = "New High ticket #{{number}}: {{subject}}" }}]

[[rules]]
name = "Customer answered"
type = "event"
on = "customer_replied"
when = {{ status = "Open" }}
actions = [{{ note = "The customer answered: see above." }}]
""")


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    with receiving() as (port, handler):
        # "localhost": vcrpy leaves that host alone, so the receiver is real in replay too.
        yield f"http://localhost:{port}/hook/Secret-Path-77", handler.bodies


def test_timed_and_event_rules_on_an_aged_desk(
    recorded: Any, receiver: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, bodies = receiver
    ledger_path = tmp_path / "ledger.sqlite"
    with recorded("auto_timed_rules", ignore_hosts=["localhost"]) as (cassette, make_desk):
        admin = make_desk(agent="admin")  # the agents and customers of the scenario
        desk = make_desk(agent="automation")  # the automation's own agent
        clock = {"now": recorded_now(cassette)}

        def run() -> RunSummary:
            ledger = Ledger(ledger_path)
            try:
                audit = AuditLog(tmp_path / "audit.jsonl")
                run = Pass(desk, RULES, ledger, audit, lambda: clock["now"], notifiers={"ops": url})
                return run.run()
            finally:
                ledger.close()

        rows = [*desk.list_tickets(1), *desk.list_tickets(QUEUE)]
        numbers = {
            letter: next(
                r.number for r in rows if r.subject.startswith(f"Timed scenario: {letter.upper()} ")
            )
            for letter in "abcdef"
        }
        first = run()  # also records the desk for event rules: no event fires for the past
        after_first = {k: desk.get_ticket(n) for k, n in numbers.items()}
        # Then: a new High ticket, F's customer answers, C's customer answers and C goes
        # Pending again (a new arming).
        new = admin.create_ticket(
            NewTicket(
                name="Hal",
                email="timed.h@example.com",
                subject="Timed scenario: H server down & all @here",
                message="Everything is down.",
                priority=Priority.HIGH,
            )
        )
        admin.add_customer_message(numbers["f"], email="timed.f@example.com", text="Any news?")
        admin.add_customer_message(numbers["c"], email="timed.c@example.com", text="Still broken")
        admin.set_status(numbers["c"], "Pending")
        second = run()
        third = run()
        clock["now"] += timedelta(days=15)
        later = run()
        final = {k: desk.get_ticket(n) for k, n in numbers.items()}
    closing = "No news for two weeks"

    def replies(ticket: Any) -> int:
        return sum(1 for e in ticket.thread if e.type == "response" and closing in e.body)

    # The closing replies are the automation agent's own responses (how the desk shows them
    # sent); the status change's comment and the event rule's note end with their markers.
    authors = {e.author for t in final.values() for e in t.thread if closing in e.body}
    assert authors == {"Help Desk Automation"}
    comments = [e.body for e in final["d"].thread if e.type == "note"]
    assert any("[auto:close-resolved-after-a-week|status:Resolved@" in c for c in comments)

    # A, and B (flagged overdue yesterday, its update time bumped), closed on time, one reply
    # each that closed them.
    for letter in "ab":
        assert after_first[letter].status == "Closed", letter
        assert replies(final[letter]) == 1, letter
    # C: closed, then its customer wrote and it went Pending again: armed again, closed again.
    assert after_first["c"].status == "Closed"
    assert (final["c"].status, replies(final["c"])) == ("Closed", 2)
    # D (Resolved 8 days) closed from the admin's queue; E (2 days) only 15 days later.
    assert (after_first["d"].status, after_first["e"].status) == ("Closed", "Resolved")
    assert final["e"].status == "Closed"
    exports = {r.path.rsplit("/", 1)[1] for r in cassette.requests if "/tickets/export/" in r.path}
    assert exports == {"1", str(QUEUE)}  # never the Closed queue (8)
    received = [json.loads(body) for body in bodies]
    # Events: nothing for the past; the new High ticket notified once; F's reply noted once.
    assert [(b["kind"], b["ticket"]["number"]) for b in received] == [("created", new)]
    assert (
        received[0]["text"]
        == "New High ticket #" + new + ": Timed scenario: H server down & all @here"
    )
    notes = [e for e in final["f"].thread if e.type == "note" and "customer answered" in e.body]
    assert len(notes) == 1
    assert f"[auto:customer-answered|event:{numbers['f']}:customer_replied:" in notes[0].body
    assert (first.failed, second.failed, third.failed, later.failed) == (0, 0, 0, 0)
    assert (third.done, third.planned) == (0, 0)
