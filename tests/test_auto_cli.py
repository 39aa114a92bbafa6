"""`osticket demo` and `osticket auto ...` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from automations._ledger import Ledger
from automations._runner import RunSummary
from osticket_client._cli_support import CliState
from osticket_client.cli import cli
from tests.standin import StandInDesk
from tests.test_runner import NOW, RULES, build_desk

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "rules.toml"
DEMO_RULES = ROOT / "automations" / "demo" / "rules.toml"


def test_demo_plans_every_kind_of_rule_with_no_server() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "recording of a real osTicket desk, as of 2026-11-29T15:24:22+00:00" in result.output
    for rule in (
        "Problems to agents",
        "Nudge quiet customers",
        "SLA",
        "Answered means in progress",
    ):
        assert f"  {rule}" in result.output
    data = json.loads(CliRunner().invoke(cli, ["demo", "--json"]).output)
    kinds = {d["action"]["kind"] for d in data if d["action"]}
    assert {"assign_agent", "reply", "set_priority", "note", "set_status"} <= kinds


def test_the_demo_uses_the_example_rules() -> None:
    assert DEMO_RULES.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")


def test_check_accepts_the_example() -> None:
    result = CliRunner().invoke(cli, ["auto", "check", str(EXAMPLE)])
    assert result.exit_code == 0
    assert result.stdout == "ok: 11 rule(s), 9 enabled\n"
    # The webhook URLs are not set here: a warning, since they may exist only where runs happen.
    assert "warning: notifier ops-slack: environment variable OPS_SLACK_WEBHOOK" in result.stderr


def test_check_refuses_a_bad_file_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text(
        '[[rules]]\nname = "x"\ntype = "lifecycle"\nfrom_status = "Open"\n'
        'to_status = "Work in Progress"\nenabled = "yes"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["auto", "check", str(bad)])
    assert result.exit_code == 2
    assert "rules[0].enabled" in result.output and "Traceback" not in result.output


def test_check_against_the_desk(
    recorded: Any, desk_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in desk_env(agent="admin").items():
        monkeypatch.setenv(name, value)
    rules = tmp_path / "rules.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace('"Lim Ited"', '"Lim Itedd"')
    rules.write_text(text, encoding="utf-8")
    with recorded("cli_auto_check_desk"):
        result = CliRunner().invoke(cli, ["auto", "check", "--desk", str(rules)])
    assert result.exit_code == 2, result.output
    assert "unknown agent 'Lim Itedd'; the desk offers: Ada Admin, Lim Ited, Vera Viewer" in (
        result.output
    )


def test_a_second_run_waits_for_none_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSTICKET_URL", "http://desk.invalid/")
    rules = tmp_path / "rules.toml"
    shutil.copy(EXAMPLE, rules)
    holder = Ledger(tmp_path / "osticket-automations.sqlite")
    holder.acquire()
    try:
        result = CliRunner().invoke(cli, ["auto", "run", str(rules)])
    finally:
        holder.close()
    assert result.exit_code == 10
    assert "another run holds" in result.output


def test_status_of_a_fresh_ledger(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    shutil.copy(EXAMPLE, rules)
    result = CliRunner().invoke(cli, ["auto", "status", str(rules)])
    assert (result.exit_code, result.output) == (0, "no runs yet\n")


def test_status_shows_how_long_each_pass_listing_took(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    shutil.copy(EXAMPLE, rules)
    ledger = Ledger(tmp_path / "osticket-automations.sqlite")
    start = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
    passes = [("a", 2.25, None), ("b", 31.5, 60.0), ("c", 75.0, 60.0)]
    for minutes, (run_id, seconds, every) in enumerate(passes):
        ledger.start_run(run_id, start + timedelta(minutes=minutes))
        summary = RunSummary(run_id, tickets=9000, listing_seconds=seconds, every_seconds=every)
        ledger.finish_run(run_id, start + timedelta(minutes=minutes), asdict(summary))
    ledger.close()
    result = CliRunner().invoke(cli, ["auto", "status", str(rules)])
    assert result.exit_code == 0, result.output
    assert [line.split("  ", 1)[1] for line in result.output.splitlines()] == [
        "run c: tickets 9000; listing took 75.0 s, longer than --every 1m:"
        " `osticket doctor` looks into it",
        "run b: tickets 9000; listing took 31.5 s",
        "run a: tickets 9000; listing took 2.2 s",
    ]
    as_json = json.loads(CliRunner().invoke(cli, ["auto", "status", "--json", str(rules)]).output)
    assert [r["summary"]["listing_seconds"] for r in as_json["runs"]] == [75.0, 31.5, 2.25]


@pytest.mark.parametrize("at", ["tomorrow", "2026-12-01T09:00:00"])
def test_plan_refuses_times_without_an_offset(at: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTICKET_URL", "http://desk.invalid/")
    result = CliRunner().invoke(cli, ["auto", "plan", str(EXAMPLE), "--at", at])
    assert result.exit_code == 2 and "--at" in result.output


def run_on_standin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool, *options: str
) -> tuple[Any, StandInDesk]:
    """`osticket auto run` against the runner tests' stand-in desk, on a terminal or not."""
    desk = build_desk()
    monkeypatch.setattr(CliState, "desk", property(lambda self: desk))
    monkeypatch.setattr("automations.cli._utc_now", lambda: NOW)
    monkeypatch.setattr("automations.cli._on_terminal", lambda: terminal)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(max_actions=50, per_ticket=3), encoding="utf-8")
    return CliRunner().invoke(cli, ["auto", "run", *options, str(rules)]), desk


@pytest.mark.parametrize("terminal", [False, True], ids=["cron", "terminal"])
def test_run_prints_each_action_as_done_then_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    result, _ = run_on_standin(tmp_path, monkeypatch, terminal)
    assert result.exit_code == 0, result.output
    *actions, summary = result.stdout.splitlines()
    assert sorted(actions) == [
        "100001  Assign  assign_agent  done",
        "100002  WIP  set_status  done",
        "100003  Nudge  reply  done",
        "100004  SLA  note  done",
        "100004  SLA  set_priority  done",
    ]
    assert summary.startswith("run ") and "done 5" in summary
    # Two pages to read (the tickets with more than their opening message); drawn on a
    # terminal only, on stderr; subjects and bodies are never printed.
    assert ("reading ticket pages: 2/2" in result.stderr) is terminal
    assert "Printer jams" not in result.output and "Which client" not in result.output


def test_run_quiet_prints_nothing_but_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, desk = run_on_standin(tmp_path, monkeypatch, True, "--quiet")
    assert (result.exit_code, result.output) == (0, "")
    assert sum(desk.changes.values()) == 5  # the run itself did its work
