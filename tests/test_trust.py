"""Once-only that survives a lost ledger, honest outcomes, owner-only files (issue 10, 1-4, 9).

The desk (a stand-in keeping tickets as the staff panel does) is the memory of what was sent:
each test takes away or doubles what a ledger knows and checks nothing is done twice.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner

from automations._audit import AuditLog
from automations._files import UnwritableFile, _owner_only_windows, owner_only
from automations._ledger import Ledger
from automations._model import PlannedAction, marked_keys, marker
from automations._rules import RulesError, parse_rules, slug
from automations._runner import Pass, RunSummary
from automations.cli import retry_delay
from osticket_client import ConnectError, ServerError, ThreadEntry, Ticket, TimeoutError
from osticket_client._cli_support import CliState
from osticket_client.cli import cli
from tests.standin import AUTOMATION, Fault, StandInDesk, lost_answer
from tests.test_runner import EXPECTED, NOW, RULES, World

POSIX = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def run_with(world: World, ledger_path: Path, rules_text: str | None = None) -> RunSummary:
    """A run of the world's desk with another ledger file (and optionally other rules)."""
    rules = world.rules if rules_text is None else parse_rules(rules_text)
    ledger = Ledger(ledger_path)
    try:
        return Pass(world.desk, rules, ledger, AuditLog(world.audit_path), lambda: world.now).run()
    finally:
        ledger.close()


def total_changes(desk: StandInDesk) -> int:
    return sum(desk.changes.values())


# -- rule ids -----------------------------------------------------------------------------


def test_a_rule_id_defaults_to_a_slug_of_its_name_and_can_be_set() -> None:
    rules = parse_rules(
        '[[rules]]\nname = "Nudge quiet customers!"\ntype = "lifecycle"\n'
        '[[rules]]\nname = "Relance (café)"\nid = "relance"\ntype = "lifecycle"\n'
        '[[rules]]\nname = "答复"\ntype = "lifecycle"\n'
    )
    assert [r.rule_id for r in rules.rules] == [
        "nudge-quiet-customers",
        "relance",
        slug("答复"),
    ]
    assert slug("答复").startswith("rule-") and slug("Café Noir") == "cafe-noir"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = "a"\nid = "Has Spaces"', "rules[0].id: expected 1-64 lower-case ASCII"),
        ('name = "a"\nid = "x|y"', "rules[0].id: expected 1-64 lower-case ASCII"),
    ],
)
def test_a_bad_rule_id_is_refused(text: str, problem: str) -> None:
    with pytest.raises(RulesError, match=re.escape(problem)):
        parse_rules(f'[[rules]]\n{text}\ntype = "lifecycle"\n')


def test_names_that_slug_alike_need_ids() -> None:
    text = '[[rules]]\nname = "Nudge"\ntype = "lifecycle"\n[[rules]]\nname = "nudge!"\n'
    with pytest.raises(RulesError, match=r"rules\[1\]\.id: expected unique rule ids"):
        parse_rules(text + 'type = "lifecycle"\n')
    parse_rules(text + 'id = "nudge-2"\ntype = "lifecycle"\n')


# -- markers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "nudge|100003|R@2026-11-22T10:00:00+00:00|reopen:0|pending",
        "sla|100004|due:2026-11-25T08:00:00+00:00|level:brûlé ]late[|1:note",
        "assign|100001|assign|assign_agent",
    ],
)
def test_a_marker_is_plain_ascii_and_gives_its_key_back(key: str) -> None:
    mark = marker(key)
    assert mark.isascii() and mark.startswith("[auto:") and " " not in mark
    number = key.split("|")[1]
    body = f"<p>SLA breached</p><p>{mark}</p>"
    assert list(marked_keys(number, body)) == [key]


# -- a new ledger, a renamed rule, two ledgers ---------------------------------------------


def test_a_new_ledger_sends_nothing_the_desk_shows_done(world: World, tmp_path: Path) -> None:
    world.run()
    world.assert_each_done_once()
    again = run_with(world, tmp_path / "copied" / "new.sqlite")
    # The note carries its marker, the nudge is the automation's response, the changes
    # show in the listing: nothing is sent again. (The priority leaves no trace; the
    # listing shows it already High, so the SLA level does not plan it either.)
    assert again.failed == 0
    world.assert_each_done_once()
    assert again.found == 0 or again.done == again.found


def test_a_renamed_rule_that_keeps_its_id_is_not_a_new_rule(world: World) -> None:
    world.run()
    renamed = RULES.replace('name = "Nudge"', 'name = "Remind the customer"\nid = "nudge"')
    renamed = renamed.replace('name = "SLA"', 'name = "Escalate"\nid = "sla"')
    run_with(world, world.ledger_path, renamed.format(max_actions=50, per_ticket=3))
    world.assert_each_done_once()


@pytest.mark.parametrize("ledger", ["same", "new"])
def test_a_renamed_rule_without_its_id_adopts_the_old_ids_work(
    world: World, tmp_path: Path, ledger: str
) -> None:
    world.run()
    renamed = RULES.replace('name = "Nudge"', 'name = "Remind the customer"')
    renamed = renamed.replace('name = "SLA"', 'name = "Escalate"')
    path = world.ledger_path if ledger == "same" else tmp_path / "new.sqlite"
    again = run_with(world, path, renamed.format(max_actions=50, per_ticket=3))
    # New ids: the ledger's work (or the note's marker) under the old ones, which no rule
    # has any more, counts for them; the nudge is the automation's response anyway.
    assert (again.planned, again.failed) == (0, 0)
    world.assert_each_done_once()


def test_two_ledgers_running_at_once_send_a_reply_once(world: World, tmp_path: Path) -> None:
    ledger_a = Ledger(tmp_path / "a.sqlite")
    first = Pass(world.desk, world.rules, ledger_a, AuditLog(world.audit_path), lambda: world.now)
    summary = RunSummary(first.run_id)
    planned = [d.action for d in first.decide(NOW, summary, confirm=False) if d.action]
    assert any(a.kind == "reply" for a in planned)
    run_with(world, tmp_path / "b.sqlite")  # the other machine runs in between
    first._execute(planned, summary, None)
    ledger_a.close()
    world.assert_each_done_once()
    assert summary.found == 2  # the nudge and the note, recorded as done, not sent


def test_plan_agrees_with_run_on_a_new_ledger(world: World, tmp_path: Path) -> None:
    world.run()
    ledger = Ledger(tmp_path / "fresh.sqlite")
    try:
        run = Pass(world.desk, world.rules, ledger, AuditLog(world.audit_path), lambda: NOW)
        decisions = run.decide(NOW, RunSummary(run.run_id))
    finally:
        ledger.close()
    assert [d.action for d in decisions if d.action is not None] == []
    reasons = {(d.number, d.rule): d.reason for d in decisions}
    assert "1 of 2 actions done" in reasons[("100004", "SLA")]  # the note's marker
    assert "pending due" in reasons[("100003", "Nudge")]  # the automation's response


def test_plan_reads_the_ticket_for_a_note_the_ledger_lacks(world: World, tmp_path: Path) -> None:
    # Only an SLA rule: no rule reads conversations, so the plan's listing alone would
    # plan the note again; auto plan checks the ticket as auto run would before sending.
    world.run()
    sla_only = RULES.split("[[rules]]")
    text = sla_only[0] + "[[rules]]" + next(r for r in sla_only if 'name = "SLA"' in r)
    ledger = Ledger(tmp_path / "fresh.sqlite")
    try:
        rules = parse_rules(text.format(max_actions=50, per_ticket=3))
        run = Pass(world.desk, rules, ledger, AuditLog(world.audit_path), lambda: NOW)
        decisions = run.decide(NOW, RunSummary(run.run_id))
    finally:
        ledger.close()
    assert [d.action for d in decisions if d.action is not None] == []
    assert any("already on the ticket" in d.reason for d in decisions)


def test_a_reply_or_note_reads_its_ticket_fresh_once_and_no_page_ahead(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    read = world.desk.get_ticket

    def get_ticket(number: str) -> Ticket:
        reads.append(number)
        return read(number)

    monkeypatch.setattr(world.desk, "get_ticket", get_ticket)
    ledger = Ledger(world.ledger_path)
    try:
        run = Pass(world.desk, world.rules, ledger, AuditLog(world.audit_path), lambda: NOW)
        summary = RunSummary(run.run_id)
        decisions = run.decide(NOW, summary, remember=True, confirm=False)
        actions = [d.action for d in decisions if d.action is not None]
        posts = [a for a in actions if a.kind in ("reply", "note")]
        assert posts and any(a.number in run._pages for a in posts)  # read while planning
        others = {a.number for a in actions if a.kind not in ("reply", "note")}
        for number in {a.number for a in posts} - others:
            world.desk.ids.pop(number, None)  # as for an SLA note on a ticket no rule read
            run._pages.pop(number, None)
        reads.clear()
        run._learn_ids(actions)  # the ids of the other actions' tickets, not these
        assert set(reads) <= others
        reads.clear()
        run._execute(actions, summary, None)
    finally:
        ledger.close()
    # Each reply or note read its ticket once more, from the desk (not the pass's cache).
    for number in {a.number for a in posts}:
        assert reads.count(number) == sum(a.number == number for a in posts)
    world.assert_each_done_once()


# -- arming --------------------------------------------------------------------------------


def test_an_agent_editing_the_arming_response_does_not_nudge_again(world: World) -> None:
    world.run()
    assert world.nudges() == 1
    thread = world.desk.tickets["100003"].thread
    arming = next(e for e in thread if e.type == "response" and e.author == "Ada Admin")
    # osTicket's edit: a new entry (higher id, same created time), the old one hidden.
    thread.remove(arming)
    thread.append(arming.model_copy(update={"id": 999, "body": "Could you forward it, please?"}))
    world.now += timedelta(hours=1)
    again = world.run()
    assert world.nudges() == 1 and again.failed == 0


def test_the_automations_own_response_never_arms_a_rule(tmp_path: Path) -> None:
    desk = StandInDesk(NOW)
    desk.add("100009", "Quiet", "Eve", timedelta(days=5))
    desk.entry("100009", "response", AUTOMATION, "Automated reminder", timedelta(days=4))
    world = World(tmp_path)
    world.desk = desk
    summary = world.run()
    assert summary.planned == 0 and not desk.changes  # no nudge, no move to WIP


# -- comment_actions = false ----------------------------------------------------------------


def test_without_comments_a_new_ledger_still_sends_nothing_twice(
    world: World, tmp_path: Path
) -> None:
    quiet = RULES.replace(
        "stop_after_failures = 2", "stop_after_failures = 2\ncomment_actions = false"
    )
    world.rules = parse_rules(quiet.format(max_actions=50, per_ticket=3))
    world.run()
    world.assert_each_done_once()
    run_with(world, tmp_path / "new.sqlite")
    world.assert_each_done_once()


# -- lost answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [ServerError("Bad Gateway", status_code=502), TimeoutError("slow"), lost_answer()],
)
@pytest.mark.parametrize("kind", ["assign_agent", "set_status", "set_priority", "note", "reply"])
def test_a_lost_answer_after_the_desk_acted_is_settled_by_reading(
    world: World, kind: str, error: Exception
) -> None:
    world.desk.faults = [Fault(None, "after", error, kind=kind)]
    first = world.run()
    assert (first.unknown, first.failed) == (1, 0)
    world.desk.faults = []
    second = world.run()
    assert second.reconciled == 1
    world.assert_each_done_once()  # never sent again: the ticket showed it
    records = [json.loads(line) for line in world.audit_path.read_text().splitlines()]
    settled = [r for r in records if r.get("settles_run") == first.run_id]
    assert [(r["action"], r["outcome"]) for r in settled] == [(kind, "done")]


@pytest.mark.parametrize("kind", ["assign_agent", "set_status", "note", "reply"])
def test_a_lost_request_is_settled_failed_then_sent_once(world: World, kind: str) -> None:
    world.desk.faults = [Fault(None, "before", TimeoutError("no answer"), kind=kind)]
    first = world.run()
    assert first.unknown == 1
    world.desk.faults = []
    second = world.run()
    assert second.reconciled == 1
    world.assert_each_done_once()  # not on the ticket: failed, planned again, sent once


def test_a_request_that_never_reached_the_desk_is_failed(world: World) -> None:
    world.desk.faults = [Fault(None, "before", ConnectError("refused"), kind="set_status")]
    assert world.run().failed == 1
    world.desk.faults = []
    world.run()
    world.assert_each_done_once()


def test_an_agent_undoing_a_change_after_an_unknown_answer_is_not_overwritten(
    world: World,
) -> None:
    world.desk.faults = [Fault(None, "after", TimeoutError("slow"), kind="set_status")]
    world.run()
    world.desk.faults = []
    world.desk.tickets["100002"].status = "Open"  # an agent moved it back
    world.run()
    # The status-change note carries the marker: it was done; it is not done again.
    assert world.desk.changes[("100002", "set_status", "Work in Progress")] == 1
    assert world.desk.tickets["100002"].status == "Open"


# -- files -------------------------------------------------------------------------------------


def test_an_unwritable_audit_log_stops_the_run_before_anything_is_sent(
    world: World, tmp_path: Path
) -> None:
    world.audit_path = tmp_path / "audit-is-a-folder"
    world.audit_path.mkdir()
    with pytest.raises(UnwritableFile, match=r"cannot write the audit log .*audit-is-a-folder"):
        world.run()
    assert world.desk.calls == 0


def test_the_cli_says_so_in_one_line_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        RULES.format(max_actions=50, per_ticket=3).replace(
            "[settings]", '[settings]\naudit_log = "folder"'
        ),
        encoding="utf-8",
    )
    (tmp_path / "folder").mkdir()
    desk = StandInDesk(NOW)
    monkeypatch.setattr(CliState, "desk", property(lambda self: desk))
    result = CliRunner().invoke(cli, ["auto", "run", str(rules)])
    assert result.exit_code == 3, result.output
    assert result.output.count("\n") == 1 and "nothing was sent" in result.output
    assert desk.calls == 0


def test_an_audit_log_failing_mid_run_stops_the_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = AuditLog.write
    writes = {"n": 0}

    def failing(self: AuditLog, record: dict[str, Any]) -> None:
        writes["n"] += 1
        if writes["n"] >= 2:
            raise PermissionError(13, "Permission denied")
        real(self, record)

    monkeypatch.setattr(AuditLog, "write", failing)
    summary = world.run()
    assert summary.stopped == "audit log unwritable: Permission denied"
    assert total_changes(world.desk) == 2  # the one being logged when it failed, and no more
    ledger = Ledger(world.ledger_path)
    try:
        assert {r.state for r in ledger.recent()} == {"done"}  # the ledger has the truth
    finally:
        ledger.close()


@POSIX
def test_the_ledger_its_side_files_and_the_audit_log_are_owner_only(world: World) -> None:
    world.run()
    ledger = Ledger(world.ledger_path)
    ledger.acquire()
    try:
        files = [world.ledger_path, world.audit_path]
        files += [
            world.ledger_path.with_name(world.ledger_path.name + s)
            for s in ("-wal", "-shm", ".lock")
        ]
        for path in files:
            assert path.exists(), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        ledger.close()


@POSIX
def test_existing_files_are_tightened(world: World) -> None:
    world.ledger_path.touch(mode=0o644)
    world.audit_path.touch(mode=0o644)
    os.chmod(world.ledger_path, 0o644)
    os.chmod(world.audit_path, 0o644)
    world.run()
    for path in (world.ledger_path, world.audit_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_on_windows_the_access_list_is_cut_to_the_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setenv("USERNAME", "ada")
    monkeypatch.setenv("USERDOMAIN", "DESK")
    _owner_only_windows(tmp_path / "ledger.sqlite")
    assert commands == [
        ["icacls", str(tmp_path / "ledger.sqlite"), "/inheritance:r", "/grant:r", "DESK\\ada:(F)"]
    ]


def test_owner_only_leaves_a_missing_side_file_missing(tmp_path: Path) -> None:
    owner_only(tmp_path / "ledger.sqlite-wal", create=False)
    assert not (tmp_path / "ledger.sqlite-wal").exists()


# -- migration ------------------------------------------------------------------------------


def test_an_old_ledger_is_migrated_and_nothing_is_sent_again(world: World) -> None:
    world.run()
    # Turn the ledger back into one an older version wrote: keys by rule name, response ids.
    arming = next(e for e in world.desk.tickets["100003"].thread if e.author == "Ada Admin")
    db = sqlite3.connect(world.ledger_path)
    with db:
        for key, rule in db.execute("SELECT key, rule FROM actions").fetchall():
            _, rest = key.split("|", 1)
            old = f"{rule}|{rest}".replace(f"R@{arming.created.isoformat()}", f"R:{arming.id}")
            db.execute("UPDATE actions SET key = ? WHERE key = ?", (old, key))
        conversation = json.dumps(
            [
                {
                    "id": arming.id,
                    "kind": "R",
                    "created": arming.created.isoformat(),
                    "author": "Ada Admin",
                    "text": "x",
                }
            ]
        )
        db.execute("DELETE FROM tickets")
        db.execute(
            "INSERT INTO tickets (number, signature, conversation, customer_name)"
            " VALUES ('100003', 'old', ?, 'Cleo')",
            (conversation,),
        )
        db.execute("PRAGMA user_version = 0")
    db.close()
    ledger = Ledger(world.ledger_path)
    try:
        rules = world.rules
        assert ledger.migrate(rules) == len(EXPECTED) + 1
        keys = {r.key for r in ledger.recent(50)}
        assert f"nudge|100003|R@{arming.created.isoformat()}|reopen:0|nudge" in keys
        assert ledger.migrate(rules) == 0  # once
    finally:
        ledger.close()
    again = world.run()
    assert (again.planned, again.found) == (0, 0)
    world.assert_each_done_once()


def test_check_warns_about_work_under_an_id_no_rule_has(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "WIP"\ntype = "lifecycle"\n', encoding="utf-8")
    ledger = Ledger(tmp_path / "osticket-automations.sqlite")
    ledger.intend(PlannedAction("Old", "1", "note", "x", "why", "old-rule|1|a|b"), "r", NOW)
    ledger.close()
    result = CliRunner().invoke(cli, ["auto", "check", str(rules)])
    assert result.exit_code == 0
    assert (
        "Warning: the ledger" in result.output and "'old-rule', which no rule has" in result.output
    )


def test_check_creates_no_ledger(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "WIP"\ntype = "lifecycle"\n', encoding="utf-8")
    assert CliRunner().invoke(cli, ["auto", "check", str(rules)]).exit_code == 0
    assert not (tmp_path / "osticket-automations.sqlite").exists()


# -- the dedicated agent ---------------------------------------------------------------------


def test_a_run_warns_when_its_agent_is_also_assigned_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\nname = "Assign"\ntype = "auto_assign"\ntopic = "Report a Problem"\n'
        f'agents = ["{AUTOMATION}"]\n',
        encoding="utf-8",
    )
    desk = StandInDesk(NOW)
    monkeypatch.setattr(CliState, "desk", property(lambda self: desk))
    result = CliRunner().invoke(cli, ["auto", "run", str(rules)])
    assert result.exit_code == 0, result.output
    assert "Warning: agent 'Automation' is also an assignee of rule 'Assign'" in result.output


# -- auto run --every ------------------------------------------------------------------------


@pytest.mark.parametrize("every", ["0m", "0h"])
def test_every_refuses_a_zero_interval(every: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "WIP"\ntype = "lifecycle"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["auto", "run", str(rules), "--every", every])
    assert result.exit_code == 2 and "expected a positive interval" in result.output


def test_retry_delays_double_up_to_a_cap() -> None:
    assert [retry_delay(300, n) for n in range(1, 7)] == [300, 600, 1200, 2400, 3600, 3600]
    assert retry_delay(7200, 5) == 8 * 7200
    assert retry_delay(60, 10_000) == 3600


class FlakyDesk(StandInDesk):
    """Unreachable for the first `failures` listings, then a desk."""

    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__(NOW)
        self.failures, self.error, self.listings = failures, error, 0

    def list_tickets(self, queue: int = 1) -> Any:
        self.listings += 1
        if self.listings <= self.failures:
            raise self.error
        return super().list_tickets(queue)


@pytest.mark.parametrize(
    "error",
    [ConnectError("refused"), ServerError("Bad Gateway", status_code=502), TimeoutError("slow")],
)
def test_every_retries_transient_errors_with_backoff(
    error: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "WIP"\ntype = "lifecycle"\n', encoding="utf-8")
    desk = FlakyDesk(2, error)
    monkeypatch.setattr(CliState, "desk", property(lambda self: desk))
    waits: list[float] = []

    def wait(stop: Any, seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) >= 3  # stopped (SIGTERM) after the third wait

    monkeypatch.setattr("automations.cli._wait", wait)
    result = CliRunner().invoke(cli, ["auto", "run", str(rules), "--every", "5m"])
    assert waits == [300, 600, 300]
    assert result.output.count("run failed:") == 2 and "trying again in 600s" in result.output
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_every_stops_on_an_error_a_retry_cannot_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from osticket_client import LoginFailed

    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "WIP"\ntype = "lifecycle"\n', encoding="utf-8")
    desk = FlakyDesk(5, LoginFailed("wrong username or password"))
    monkeypatch.setattr(CliState, "desk", property(lambda self: desk))
    result = CliRunner().invoke(cli, ["auto", "run", str(rules), "--every", "5m"])
    assert result.exit_code == 4 and desk.listings == 1
    assert "wrong username or password" in result.output


# -- single-action commands: a lost answer is unknown (exit 6) -------------------------------


@pytest.mark.parametrize(
    ("command", "route"),
    [
        (["status", "123456", "Pending"], "status"),
        (["assign", "123456", "--agent", "Ada Admin"], "assign/agents"),
        (["transfer", "123456", "Sales"], "transfer"),
        (["priority", "123456", "High"], "field/priority/edit"),
    ],
)
@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"body": "Bad Gateway", "status": 502},
    ],
)
@responses.activate
def test_a_single_change_whose_answer_is_lost_exits_6(
    command: list[str],
    route: str,
    answer: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from osticket_client import Choice, OsTicket
    from tests.test_staff_faults import LOGGED_IN, LOGIN_PAGE, SCP, TICKET_PAGE

    monkeypatch.setattr(
        OsTicket, "resolve", lambda self, kind, value: Choice(id=3, name=str(value))
    )
    monkeypatch.setenv("OSTICKET_URL", "https://desk.example/")
    monkeypatch.setenv("OSTICKET_USERNAME", "automation")
    monkeypatch.setenv("OSTICKET_PASSWORD", "S3cret-Passw0rd")
    responses.add(responses.GET, SCP + "login.php", body=LOGIN_PAGE)
    responses.add(responses.POST, SCP + "login.php", body=LOGGED_IN)
    responses.add(responses.GET, SCP + "tickets.php", body=TICKET_PAGE)
    responses.add(responses.POST, re.compile(re.escape(SCP + "ajax.php/tickets/7/")), **answer)
    result = CliRunner().invoke(cli, ["ticket", *command])
    assert result.exit_code == 6, result.output
    assert "look at ticket 123456 before trying again" in result.output
    assert result.output.count("\n") == 1


def test_a_thread_entry_edit_keeps_created_time_only() -> None:
    # The shape of osTicket's edit the arming relies on (class.thread_actions.php, v1.18.1).
    original = ThreadEntry(id=5, type="response", author="Ada", created=NOW, body="a")
    edited = original.model_copy(update={"id": 9, "body": "b"})
    assert (edited.created, edited.author) == (original.created, original.author)
