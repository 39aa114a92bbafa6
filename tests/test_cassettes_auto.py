"""A full automation pass recorded against a real desk holding tickets in every situation.

The desk was prepared with the aged scenario described in cassettes/README.md ("Automation
scenario"). The clock is pinned to the recording: in replay, the time the desk answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from automations._audit import AuditLog
from automations._ledger import Ledger
from automations._rules import load_rules
from automations._runner import Pass

RULES = Path(__file__).resolve().parent.parent / "automations" / "demo" / "rules.toml"


def recorded_now(cassette: Any) -> datetime:
    """When the recording was made (its first answer's Date), or now while recording."""
    if cassette.responses:
        date = cassette.responses[0]["headers"]["Date"][0]
        return parsedate_to_datetime(date).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def test_full_pass_then_nothing_then_pending_days_later(recorded: Any, tmp_path: Path) -> None:
    # The recording holds the four lifecycle rule types' pass (timed and event rules have
    # cassettes of their own): the example's other rules would read pages it lacks.
    example = load_rules(RULES)
    kept = tuple(rule for rule in example.rules if rule.type not in ("timed", "event"))
    rules = example.model_copy(update={"rules": kept})
    ledger = Ledger(tmp_path / "ledger.sqlite")
    audit = AuditLog(tmp_path / "audit.jsonl")
    with recorded("auto_full_pass") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        clock = {"now": recorded_now(cassette)}

        def run() -> Any:
            return Pass(desk, rules, ledger, audit, lambda: clock["now"]).run()

        first = run()
        done = [(r.kind, r.rule) for r in ledger.recent(50)]
        nudged = next(r.number for r in ledger.recent(50) if r.kind == "reply")
        second = run()
        third = run()
        clock["now"] += timedelta(days=5)
        later = run()
        later_done = {(r.number, r.kind, r.value) for r in ledger.recent(100)}
    ledger.close()
    # One ticket has more due than its daily cap (3): the rest waits for tomorrow.
    assert (first.failed, first.unknown, first.capped) == (0, 0, 1)
    assert first.done == first.planned - 1 >= 8
    kinds = {kind for kind, _ in done}
    assert {"assign_agent", "reply", "set_status", "set_priority", "note", "transfer"} <= kinds
    rules_hit = {rule for _, rule in done}
    assert rules_hit == {
        "Problems to agents",
        "Nudge quiet customers",
        "SLA",
        "Answered means in progress",
    }
    assert (second.done, second.capped) == (0, 1)  # only the capped action is due
    assert (third.done, third.pages_read) == (0, 0)  # nothing changed: no page read
    assert (nudged, "set_status", "Pending") in later_done
    assert later.failed == 0
