"""A run killed right after the desk took its reply, then started again, on a real desk.

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
        desk = make_desk(agent="admin")
        # Two minutes on: the 1m nudge is due (a zero wait is refused as a slip of the keyboard),
        # also while recording, when the reply below is posted a few seconds after this.
        now = recorded_now(cassette) + timedelta(minutes=2)
        number = desk.create_ticket(
            NewTicket(
                name="Kim Kerr",
                email="kim@example.com",
                subject="Docking station",
                message="No video.",
            )
        )
        desk.reply(number, "Please try the new cable we sent.")

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
