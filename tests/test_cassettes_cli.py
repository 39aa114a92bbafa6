"""The seed's lifecycle and the doctor from the command line alone, on recorded desks."""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

import pytest
from click.testing import CliRunner

from osticket_client import NewTicket
from osticket_client._doctor import listing_check, run_checks
from osticket_client.cli import cli
from tests.test_doctor import DEFAULT_10000, DEFAULT_PAGE, TUNED_10000, Ticks


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Any:
    def invoke(env: dict[str, str], *args: str) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(cli, list(args))
        assert "Traceback" not in result.output
        return result

    return invoke


def test_lifecycle_from_the_cli(recorded: Any, desk_env: Any, run: Any) -> None:
    env = desk_env(agent="admin")
    with recorded("cli_lifecycle") as (_, make_desk):
        created = run(
            env,
            "ticket",
            "create",
            "--name",
            "Dana Doe",
            "--email",
            "dana@example.com",
            "--subject",
            "VPN drops every hour",
            "--message",
            "Since Monday.",
            "--json",
        )
        number = json.loads(created.output)["number"]
        steps = [
            run(env, "ticket", "assign", number, "--agent", "Ada Admin"),
            run(
                env,
                "ticket",
                "reply",
                number,
                "--message",
                "Which VPN client version?",
                "--status",
                "Work in Progress",
            ),
            run(env, "ticket", "status", number, "Pending", "--comment", "Asked for version"),
        ]
        make_desk().add_customer_message(number, email="dana@example.com", text="Version 5.2")
        steps += [
            run(env, "ticket", "status", number, "Resolved", "--comment", "Updated client"),
            run(env, "ticket", "status", number, "Closed"),
            run(env, "ticket", "status", number, "Open"),
            run(env, "ticket", "status", number, "open"),
        ]
        shown = run(env, "ticket", "show", number)
        listed = run(env, "ticket", "list", "--json")
    assert [s.exit_code for s in steps] == [0] * 7
    assert [s.output.split(":")[0] for s in steps] == ["changed"] * 6 + ["unchanged"]
    assert f"Ticket #{number}: VPN drops every hour" in shown.output
    assert "Status:        Open (open)" in shown.output
    for text in (
        "[message] Dana Doe",
        "Since Monday.",
        "[response] Ada Admin",
        "Which VPN client version?",
        "Version 5.2",
        "Asked for version",
    ):
        assert text in shown.output
    row = next(r for r in json.loads(listed.output) if r["number"] == number)
    assert row["status"] == "Open" and row["agent"] == "Ada Admin"


def test_cli_errors_on_a_real_desk(recorded: Any, desk_env: Any, run: Any) -> None:
    env = desk_env(agent="admin")
    with recorded("cli_errors") as _:
        unknown_status = run(env, "ticket", "status", "999999", "Bogus")
        unknown_ticket = run(env, "ticket", "status", "999999", "Open")
    assert unknown_status.exit_code == 2
    assert "unknown status 'Bogus'; the desk offers: Open" in unknown_status.output
    assert unknown_ticket.exit_code == 8 and "no ticket #999999" in unknown_ticket.output


@pytest.mark.parametrize(
    ("agent", "code", "role"),
    [
        ("admin", 0, "ok    agent role: may close, assign, transfer, edit fields, reply"),
        ("viewer", 0, "warn  agent role: may do none of the actions; may not close, assign"),
    ],
)
def test_doctor(
    recorded: Any,
    desk_env: Any,
    run: Any,
    monkeypatch: pytest.MonkeyPatch,
    agent: str,
    code: int,
    role: str,
) -> None:
    env = desk_env(agent=agent)
    monkeypatch.setattr("osticket_client.cli.run_checks", partial(run_checks, timer=Ticks(1.2)))
    with recorded(f"cli_doctor_{agent}") as (_, make_desk):
        # The role and time-zone checks need an open ticket to look at.
        make_desk().create_ticket(
            NewTicket(name="Doc", email="doc@example.com", subject="Doctor's ticket", message="x")
        )
        result = run(env, "doctor")
    lines = result.output.splitlines()
    assert result.exit_code == code, result.output
    assert lines[0].startswith("ok    staff panel")
    assert lines[1].startswith("ok    API key: accepted")
    assert lines[2] == f"ok    agent login: logged in as {env['OSTICKET_USERNAME']}"
    assert lines[3] == "ok    desk version: v1.18.1"
    assert re.fullmatch(
        r"ok    listing: Open queue: \d+ rows? in 1\.2 s \(\d+\.\d s per 1,000 rows\)", lines[4]
    )
    assert lines[5].startswith(role)
    assert lines[6] == "ok    database time zone: UTC matches the desk"


def test_doctor_with_a_wrong_password(recorded: Any, desk_env: Any, run: Any) -> None:
    env = desk_env(agent="admin", password="Not-The-Password-9")
    with recorded("cli_doctor_wrong_password") as _:
        result = run(env, "doctor")
    assert result.exit_code == 1
    assert "fail  agent login: the desk refused the login of agent 'ostadmin': Access denied" in (
        result.output
    )


def test_doctor_advises_on_a_desk_with_10000_open_tickets(recorded: Any) -> None:
    # Recorded on a desk with 10,000 open tickets and MariaDB's default settings. A replay is
    # fast whatever the desk's settings were: the listing's time is injected, as measured live
    # on that desk both ways (tests/test_doctor.py).
    with recorded("cli_doctor_large_desk") as (_, make_desk):
        checks = {
            c.name: c
            for c in run_checks(make_desk(agent="admin"), timer=Ticks(DEFAULT_10000, DEFAULT_PAGE))
        }
    listing = checks["listing"]
    assert (listing.outcome, listing.detail) == (
        "warn",
        "Open queue: 10,000 rows in 41.8 s (4.2 s per 1,000 rows): slow for its size;"
        " one page of the queue took 28.3 s",
    )
    assert any("optimizer_search_depth = 0" in line for line in listing.advice)
    assert listing_check(10_000, TUNED_10000).outcome == "ok"  # the same rows, the setting made
    assert [(c.name, c.outcome) for c in checks.values()] == [
        ("staff panel", "ok"),
        ("API key", "ok"),
        ("agent login", "ok"),
        ("desk version", "ok"),
        ("listing", "warn"),
        ("agent role", "ok"),
        ("database time zone", "ok"),
    ]
