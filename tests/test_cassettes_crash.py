"""A run killed right after the desk took its reply, then started again, on a real desk; and
new ledgers against a desk where a run already acted.

The kill is simulated in the client (nothing after the reply's answer runs: no ledger update),
so the recording holds what a real desk answered to a real second run: the reply is found in
the thread and never sent again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from automations._audit import AuditLog
from automations._ledger import Ledger
from automations._rules import parse_rules
from automations._runner import Pass
from osticket_client import ActionResult, NewTicket, OsTicket
from tests.standin import Crash
from tests.test_cassettes_auto import recorded_now

RULES = parse_rules("""
[[rules]]
name = "Nudge now"
type = "nudge_then_pending"
statuses = ["Open", "Work in Progress"]
nudge_after = "1m"
pending_after = "72h"
template = "<p>Hello {customer_name}, did the new cable help with #{number}?</p>"

[[rules]]
name = "Answered means in progress"
type = "lifecycle"
""")


class KilledAfterReply:
    """The desk, but the process dies as soon as a reply has been answered."""

    def __init__(self, desk: OsTicket) -> None:
        self.desk = desk
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.desk, name)

    def reply(self, number: str, text: str, *, html: bool = False) -> ActionResult:
        result = self.desk.reply(number, text, html=html)
        if self.armed:
            self.armed = False
            raise Crash
        return result


def test_killed_after_the_reply_and_started_again(recorded: Any, tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite"
    with recorded("auto_crash_restart") as (cassette, make_desk):
        admin = make_desk(agent="admin")  # the agent who asks the customer
        desk = make_desk(agent="automation")  # the automation's own agent
        # Two minutes on: the 1m nudge is due (a zero wait is refused as a slip of the keyboard),
        # also while recording, when the reply below is posted a few seconds after this.
        now = recorded_now(cassette) + timedelta(minutes=2)
        number = admin.create_ticket(
            NewTicket(
                name="Kim Kerr",
                email="kim@example.com",
                subject="Docking station",
                message="No video.",
            )
        )
        admin.reply(number, "Please try the new cable we sent.")

        def run(on: Any) -> Any:
            ledger = Ledger(ledger_path)
            try:
                return Pass(
                    on, RULES, ledger, AuditLog(tmp_path / "audit.jsonl"), lambda: now
                ).run()
            finally:
                ledger.close()

        with pytest.raises(Crash):
            run(KilledAfterReply(desk))
        again = run(desk)
        last = run(desk)
        ticket = desk.get_ticket(number)
    responses = [e for e in ticket.thread if e.type == "response"]
    assert len(responses) == 2  # the agent's question and one nudge, never two
    assert "did the new cable help" in responses[1].body
    assert again.reconciled == 1 and again.done == 1  # found the nudge; then In Progress
    assert ticket.status == "Work in Progress"
    assert (last.planned, last.done) == (0, 0)
    ledger = Ledger(ledger_path)
    try:
        assert ledger.unsettled() == []
        assert {r.state for r in ledger.recent()} == {"done"}
    finally:
        ledger.close()


NEW_LEDGER_RULES = """
[[rules]]
name = "Nudge quiet customers"
type = "nudge_then_pending"
statuses = ["Open", "Work in Progress"]
nudge_after = "30m"
pending_after = "72h"
template = "<p>Hello {customer_name}, any news on #{number}?</p>"

[[rules]]
name = "First response"
type = "sla_escalation"
[[rules.levels]]
name = "no first response"
no_response = "30m"
actions = [{ note = "No first response yet" }]

[[rules]]
name = "Answered means in progress"
type = "lifecycle"
"""


def test_a_new_ledger_and_a_renamed_rule_send_nothing_twice(recorded: Any, tmp_path: Path) -> None:
    """Three ledgers against one desk: the first acts, a fresh one and a renamed rule (its id
    kept) find everything on the tickets: the nudge by the automation's agent, the note and
    the status change by their markers."""
    with recorded("auto_new_ledger") as (cassette, make_desk):
        admin = make_desk(agent="admin")
        desk = make_desk(agent="automation")
        later = recorded_now(cassette) + timedelta(hours=1)
        quiet = admin.create_ticket(
            NewTicket(name="Noa Quiet", email="noa@example.com", subject="Badge", message="Lost")
        )
        asked = admin.create_ticket(
            NewTicket(name="Ivo Asked", email="ivo@example.com", subject="Phone", message="Dead")
        )
        admin.reply(asked, "Is it charged?")

        def run(ledger_name: str, rules: str) -> Any:
            ledger = Ledger(tmp_path / ledger_name)
            try:
                audit = AuditLog(tmp_path / "audit.jsonl")
                return Pass(desk, parse_rules(rules), ledger, audit, lambda: later).run()
            finally:
                ledger.close()

        first = run("first.sqlite", NEW_LEDGER_RULES)
        fresh = run("copied.sqlite", NEW_LEDGER_RULES)
        renamed = NEW_LEDGER_RULES.replace(
            'name = "Nudge quiet customers"',
            'name = "Remind the customer"\nid = "nudge-quiet-customers"',
        )
        again = run("first.sqlite", renamed)
        threads = {n: desk.get_ticket(n).thread for n in (quiet, asked)}
    assert (first.done, first.failed) == (3, 0)  # the note, the nudge, In Progress
    assert (fresh.planned, fresh.done, again.planned) == (0, 0, 0)
    automation = [e for e in threads[asked] if e.type == "response" and e.author != "Ada Admin"]
    assert len(automation) == 1  # one nudge
    notes = [e for e in threads[quiet] if e.type == "note" and "No first response" in e.body]
    assert len(notes) == 1 and "[auto:first-response|created:" in notes[0].body
    status_notes = [e for e in threads[asked] if e.type == "note" and "[auto:" in e.body]
    assert len(status_notes) == 1  # the move to In Progress, signed with its marker
