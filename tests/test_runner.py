"""The automation runner against a stateful stand-in desk: once-only through crashes and faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from automations._audit import AuditLog
from automations._ledger import Ledger, LedgerBusy
from automations._model import PlannedAction
from automations._rules import parse_rules
from automations._runner import Pass, RunSummary
from osticket_client import ActionRejected
from tests.standin import Crash, Fault, StandInDesk, locked, lost_answer

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday
RULES = """
[settings]
max_actions = {max_actions}
max_actions_per_ticket_per_day = {per_ticket}
stop_after_failures = 2

[[rules]]
name = "Assign"
type = "auto_assign"
topic = "Report a Problem"
agents = ["Ada Admin"]

[[rules]]
name = "Nudge"
type = "nudge_then_pending"
statuses = ["Open", "Work in Progress"]
nudge_after = "48h"
pending_after = "72h"
template = "<p>Hello {{customer_name}}, any news on #{{number}}? We asked: {{question}}</p>"

[[rules]]
name = "SLA"
type = "sla_escalation"
exempt_statuses = ["Pending"]
[[rules.levels]]
name = "breached"
at_due = true
actions = [{{ priority = "High" }}, {{ note = "SLA breached" }}]

[[rules]]
name = "WIP"
type = "lifecycle"
from_status = "Open"
to_status = "Work in Progress"
"""
EXPECTED = {
    ("100001", "assign_agent", "Ada Admin"),
    ("100002", "set_status", "Work in Progress"),
    ("100004", "set_priority", "High"),
    ("100004", "note", "SLA breached"),
}


def build_desk() -> StandInDesk:
    desk = StandInDesk(NOW)
    day = timedelta(days=1)
    desk.add(
        "100001",
        "Printer jams",
        "Ann",
        timedelta(hours=1),
        topic="Report a Problem",
        sla_due=NOW + 3 * day,
    )
    desk.add("100002", "VPN drops", "Ben", 2 * day, sla_due=NOW + day)
    desk.entry("100002", "response", "Ada Admin", "Which client version?", day)
    desk.add(
        "100003",
        "Mail bounces",
        "Cleo",
        5 * day,
        status="Work in Progress",
        agent="Ada Admin",
        sla_due=NOW + day,
    )
    desk.entry("100003", "response", "Ada Admin", "Could you forward one bounce?", 3 * day)
    desk.entry("100003", "note", "Ada Admin", "Internal: asked twice on the phone", 2 * day)
    desk.add("100004", "Server down", "Dan", 20 * timedelta(hours=1), sla_due=NOW - day / 12)
    return desk


class World:
    """A desk, a ledger file and an audit log that outlive any one run (as on disk)."""

    def __init__(self, tmp: Path, max_actions: int = 50, per_ticket: int = 3) -> None:
        self.desk = build_desk()
        self.rules = parse_rules(RULES.format(max_actions=max_actions, per_ticket=per_ticket))
        self.ledger_path = tmp / "ledger.sqlite"
        self.audit_path = tmp / "audit.jsonl"
        self.now = NOW

    def run(
        self,
        *,
        every: float | None = None,
        timer: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> RunSummary:
        ledger = Ledger(self.ledger_path)  # a fresh process: nothing kept in memory
        try:
            run = Pass(
                self.desk,
                self.rules,
                ledger,
                AuditLog(self.audit_path),
                lambda: self.now,
                every=every,
                timer=timer or time.monotonic,
            )
            return run.run(**kwargs)
        finally:
            ledger.close()

    def nudges(self) -> int:
        return sum(
            n
            for (number, kind, _), n in self.desk.changes.items()
            if (number, kind) == ("100003", "reply")
        )

    def assert_each_done_once(self) -> None:
        for change in EXPECTED:
            assert self.desk.changes[change] == 1, change
        assert self.nudges() == 1
        assert sum(self.desk.changes.values()) == len(EXPECTED) + 1
        ledger = Ledger(self.ledger_path)
        try:
            assert ledger.unsettled() == []
        finally:
            ledger.close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_a_pass_does_each_due_action_once_and_a_second_does_none(world: World) -> None:
    first = world.run()
    assert (first.planned, first.done, first.failed) == (5, 5, 0)
    world.assert_each_done_once()
    nudge = next(e for e in world.desk.tickets["100003"].thread if e.author == "Automation")
    assert nudge.body == (
        "<p>Hello Cleo, any news on #100003? We asked: Could you forward one bounce?</p>"
    )
    second = world.run()
    assert (second.planned, second.done) == (0, 0)
    world.assert_each_done_once()


def test_a_pass_where_nothing_changed_reads_no_ticket_page(world: World) -> None:
    world.run()
    world.run()  # reads the pages the first run's own changes touched
    before = world.desk.pages_read
    third = world.run()
    assert third.pages_read == 0 and world.desk.pages_read == before
    assert third.tickets == 4  # the whole queue is listed; no page is read


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("call", [1, 2, 3, 4, 5])
def test_killed_at_any_step_and_started_again(world: World, call: int, when: str) -> None:
    world.desk.faults = [Fault(call, when, Crash())]
    with pytest.raises(Crash):
        world.run()
    world.desk.faults = []
    again = world.run()
    assert again.reconciled == 1
    world.assert_each_done_once()
    assert world.run().planned == 0


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_lost_answer_to_the_nudge_is_reconciled_from_the_thread(world: World, when: str) -> None:
    world.desk.faults = [Fault(None, when, lost_answer(), kind="reply")]
    first = world.run()
    assert first.unknown == 1 and first.exit_code == 1
    world.desk.faults = []
    second = world.run()
    assert second.reconciled == 1 and second.exit_code == 0
    world.assert_each_done_once()


def test_a_locked_ticket_is_skipped_then_done(world: World) -> None:
    world.desk.faults = [Fault(None, "before", locked(), kind="reply")]
    first = world.run()
    assert (first.skipped, first.failed, first.exit_code) == (1, 0, 0)
    assert world.nudges() == 0
    world.run()
    world.assert_each_done_once()


def test_caps_per_run_and_per_ticket(tmp_path: Path) -> None:
    world = World(tmp_path, max_actions=2, per_ticket=1)
    first = world.run()
    assert (first.done, first.capped) == (2, 3)
    second = world.run()
    assert (second.done, second.capped) == (2, 1)  # one SLA action waits for the daily cap
    note = ("100004", "note", "SLA breached")
    assert world.desk.changes[note] == 0
    world.now += timedelta(days=1, minutes=1)
    world.run(max_actions=50)
    assert world.desk.changes[note] == 1


def test_stops_after_failures_in_a_row(world: World) -> None:
    world.desk.faults = [Fault(n, "before", ActionRejected("refused")) for n in range(1, 6)]
    summary = world.run()
    assert summary.failed == 2 and summary.stopped == "2 failures in a row"
    assert summary.exit_code == 1
    world.desk.faults = []
    world.run()
    world.assert_each_done_once()


def test_one_run_at_a_time(world: World) -> None:
    holder, other = Ledger(world.ledger_path), Ledger(world.ledger_path)
    try:
        holder.acquire()
        with pytest.raises(LedgerBusy):
            other.acquire()
        holder.release()
        other.acquire()
    finally:
        holder.close()
        other.close()


def test_dry_run_sends_nothing(world: World) -> None:
    summary = world.run(dry_run=True)
    assert summary.planned == 5 and summary.done == 0
    assert not world.desk.changes


def test_audit_log_has_every_action_and_one_line_per_run(world: World) -> None:
    world.run()
    records = [json.loads(line) for line in world.audit_path.read_text().splitlines()]
    actions = [r for r in records if r.get("event") != "run"]
    runs = [r for r in records if r.get("event") == "run"]
    assert len(actions) == 5 and len(runs) == 1
    assert {r["run_id"] for r in records} == {runs[0]["run_id"]}
    assign = next(r for r in actions if r["action"] == "assign_agent")
    assert (assign["rule"], assign["ticket"], assign["after"], assign["outcome"]) == (
        "Assign",
        "100001",
        "Ada Admin",
        "done",
    )


def test_the_ledger_history_holds_what_was_sent_to_the_listed_tickets(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        for number, state in (("1", "done"), ("2", "unknown"), ("3", "failed"), ("4", "done")):
            key = f"R|{number}|step"
            ledger.intend(PlannedAction("R", number, "note", "x", "why", key), "run", NOW)
            ledger.settle(key, state, NOW, "")
        ledger.intend(PlannedAction("R", "5", "note", "x", "why", "R|5|step"), "run", NOW)  # open

        history = ledger.history(["1", "2", "3", "5", "1"])
        assert history.done == {"R|1|step": NOW, "R|2|step": NOW, "R|5|step": NOW}
        assert history.done_at("R|4|step") is None  # sent, but not listed in this pass
        assert history.count_done("R") == 4  # round-robin turns count every ticket
        assert ledger.history(["4"]).done == {"R|4|step": NOW}  # a pass reads its own tickets
    finally:
        ledger.close()


def test_each_pass_records_how_long_its_listing_took(world: World) -> None:
    # The timer is read once before and once after the listing: 31.5 s, then 75 s.
    quick = world.run(every=60.0, timer=iter([100.0, 131.5]).__next__)
    slow = world.run(every=60.0, timer=iter([200.0, 275.0]).__next__)
    once = world.run(timer=iter([300.0, 375.0]).__next__)
    assert (quick.listing_seconds, slow.listing_seconds, once.listing_seconds) == (31.5, 75, 75)
    assert quick.line().endswith(
        "skipped 0, unknown 0, found 0, reconciled 0, capped 0; listing took 31.5 s"
    )
    assert slow.line().endswith(
        "; listing took 75.0 s, longer than --every 1m: `osticket doctor` looks into it"
    )
    assert once.line().endswith("; listing took 75.0 s")  # run once (cron): no interval to miss
    records = [json.loads(line) for line in world.audit_path.read_text().splitlines()]
    runs = [(r["listing_seconds"], r["every_seconds"]) for r in records if r.get("event") == "run"]
    assert runs == [(31.5, 60.0), (75.0, 60.0), (75.0, None)]
