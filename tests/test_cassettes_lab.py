"""`osticket lab` on cassettes recorded from a real desk, in this file's order.

Recorded against a freshly reset reference desk (cassettes/README.md): the first test creates
the practice objects, the second finds them all. Seeding is recorded with one worker so the
requests come in a fixed order (replay matches by method, path and body anyway).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osticket_client import NewTicket
from osticket_client._lab import STOCK_TOPICS, practice_tickets
from osticket_client.cli import cli

# Paths a creating POST goes to (statuses, agent and its password, team, SLA, topic).
CREATE_PATHS = {
    "/scp/ajax.php/list/1/item/add",
    "/scp/ajax.php/staff/0/set-password",
    "/scp/staff.php",
    "/scp/teams.php",
    "/scp/slas.php",
    "/scp/helptopics.php",
}
# On the reference desk the setup's help topic is the first one added after the stock 11.
TOPICS = {**STOCK_TOPICS, "Practice Lab": 12}


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Any:
    def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(cli, list(args), input=stdin)
        assert "Traceback" not in result.output
        return result

    return invoke


def creating_posts(cassette: Any) -> list[str]:
    return [r.path for r in cassette.requests if r.method == "POST" and r.path in CREATE_PATHS]


def lines(output: str) -> dict[str, str]:
    """`lab setup` rows by kind and name: {"status On Hold": "created (id 8)", ...}."""
    found = {}
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("status", "agent", "team", "sla", "topic"):
            name, _, outcome = rest.strip().partition("  ")
            found[f"{kind} {name.strip()}"] = outcome.strip()
    return found


def test_setup_creates_what_a_fresh_desk_lacks(
    recorded: Any, desk_env: Any, run: Any, tmp_path: Path
) -> None:
    secret = tmp_path / "lab-agent.txt"
    with recorded("lab_setup") as (cassette, _):
        plan = run(desk_env(agent="admin"), "lab", "setup", "--dry-run")
        done = run(desk_env(agent="admin"), "lab", "setup", "--password-file", str(secret))
    assert plan.exit_code == 0 and done.exit_code == 0, done.output
    assert lines(plan.output) == {
        "status Work in Progress": "already exists (id 6)",
        "status Pending": "already exists (id 7)",
        "status On Hold": "would create",
        "agent Sam Practice (sam.practice)": "would create",
        "team Practice Team": "would create",
        "sla Practice SLA 1h": "would create",
        "topic Practice Lab": "would create",
    }
    assert lines(done.output) == {
        "status Work in Progress": "already exists (id 6)",
        "status Pending": "already exists (id 7)",
        "status On Hold": "created (id 8)",
        "agent Sam Practice (sam.practice)": f"created (id 4): password written to {secret}",
        "team Practice Team": "created (id 2): members: you and the practice agent",
        "sla Practice SLA 1h": "created (id 2): 1 h grace, 24/7 schedule",
        "topic Practice Lab": "created (id 12): SLA Practice SLA 1h, department Support",
    }
    assert "created 5, already existed 2" in done.output
    # The dry run only read; the setup sent one create per missing object, in order.
    assert creating_posts(cassette) == [
        "/scp/ajax.php/list/1/item/add",
        "/scp/ajax.php/staff/0/set-password",
        "/scp/staff.php",
        "/scp/teams.php",
        "/scp/slas.php",
        "/scp/helptopics.php",
    ]
    sent = [(r.body or b"").decode() for r in cassette.requests if r.method == "POST"]
    assert any("schedule_id=2" in b and "grace_period=1" in b for b in sent)
    assert any("members%5B%5D=1" in b and "members%5B%5D=4" in b for b in sent)
    assert any("topic=Practice+Lab" in b and "sla_id=2" in b for b in sent)
    assert any("name=On+Hold" in b and "state%5B%5D=open" in b for b in sent)
    # The password went to a file only its owner can read, and nowhere else.
    content = secret.read_text(encoding="utf-8")
    password = content.split("password: ")[1].strip()
    assert "username: sam.practice" in content and len(password) >= 20
    assert password not in done.output
    if os.name == "posix":
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_setup_again_changes_nothing(
    recorded: Any, desk_env: Any, run: Any, tmp_path: Path
) -> None:
    secret = tmp_path / "lab-agent.txt"
    with recorded("lab_setup_again") as (cassette, _):
        again = run(desk_env(agent="admin"), "lab", "setup", "--password-file", str(secret))
    assert again.exit_code == 0, again.output
    assert set(lines(again.output).values()) == {
        "already exists (id 6)",
        "already exists (id 7)",
        "already exists (id 8)",
        "already exists (id 4)",
        "already exists (id 2)",
        "already exists (id 12)",
    }
    assert "created 0, already existed 7" in again.output
    assert creating_posts(cassette) == []
    assert {r.method for r in cassette.requests if "/scp/" in r.path} == {"GET", "POST"}
    assert [r.path for r in cassette.requests if r.method == "POST"] == ["/scp/login.php"]
    assert not secret.exists()


def test_setup_needs_an_admin(recorded: Any, desk_env: Any, run: Any) -> None:
    with recorded("lab_setup_not_admin") as (cassette, _):
        refused = run(desk_env(agent="limited"), "lab", "setup")
    assert refused.exit_code == 4
    assert "lab setup needs an admin login" in refused.output
    assert creating_posts(cassette) == []


def test_seed_sends_the_generated_tickets(recorded: Any, desk_env: Any, run: Any) -> None:
    with recorded("lab_seed") as (cassette, _):
        seeded = run(
            desk_env(agent="admin"),
            *("lab", "seed", "--count", "3", "--seed", "42", "--workers", "1"),
        )
    assert seeded.exit_code == 0, seeded.output
    expected: list[NewTicket] = practice_tickets(3, 42, topics=TOPICS)
    sent = [json.loads(r.body) for r in cassette.requests if r.path == "/api/tickets.json"]
    assert sent == [t.to_payload() for t in expected]
    rows = [line.split()[0] for line in seeded.output.splitlines()[2:] if line[:1].isdigit()]
    numbers = [n for n in rows if len(n) == 6]
    assert len(numbers) == 3 and all(n.isdigit() for n in numbers)
    assert "seed 42" in seeded.output and "3 ticket(s) created" in seeded.output
    for ticket in expected:
        assert ticket.subject in seeded.output


STEPS = [
    "1. Intake",
    "2. Assignment",
    "3. First response, Work in Progress",
    "4. Request for details",
    "5. Pending",
    "6. The customer's answer",
    "7. Resolution",
    "8. Closure",
]


def test_walkthrough_runs_the_lifecycle(recorded: Any, desk_env: Any, run: Any) -> None:
    with recorded("lab_walkthrough") as (cassette, _):
        walked = run(desk_env(agent="admin"), "lab", "walkthrough", "--pause", stdin="\n" * 7)
    assert walked.exit_code == 0, walked.output
    # One block per step, a pause before each step after the first.
    blocks = walked.output.split("\n== ")[1:]
    assert [b.split(" ==")[0] for b in blocks] == STEPS
    assert walked.output.count("Press Enter for the next step") == 7
    changes = [[line.strip() for line in b.splitlines() if "changed:" in line] for b in blocks]
    assert "changed: status: Open" in changes[0]
    assert "changed: SLA plan: Practice SLA 1h" in changes[0]
    assert "changed: assigned to: - -> Sam Practice" in changes[1]
    assert "changed: status: Open -> Work in Progress" in changes[2]
    assert "changed: new thread entry: response by Ada Admin" in changes[2]
    assert changes[3] == ["changed: new thread entry: response by Ada Admin"]
    assert "changed: status: Work in Progress -> Pending" in changes[4]
    assert changes[5] == ["changed: new thread entry: message by Wanda Walker"]
    assert "changed: status: Pending -> Resolved" in changes[6]
    assert "changed: status: Resolved -> Closed" in changes[7]
    assert all("look at: " in b for b in blocks)
    paths = [r.path for r in cassette.requests]
    assert paths.count("/api/tickets.json") == 1 and paths.count("/api/tickets.email") == 1


def test_reset_closes_only_practice_tickets(recorded: Any, desk_env: Any, run: Any) -> None:
    with recorded("lab_reset") as (cassette, make_desk):
        desk = make_desk(agent="admin")
        practice = desk.create_ticket(practice_tickets(1, 99, topics=TOPICS)[0])
        other = desk.create_ticket(
            NewTicket(
                name="Carl Customer",
                email="carl@example.com",
                subject="Not a practice ticket",
                message="Leave me open.",
            )
        )
        desk.close()
        reset = run(desk_env(agent="admin"), "lab", "reset")
    assert reset.exit_code == 0, reset.output
    closed = [line.split("#")[1] for line in reset.output.splitlines() if line.startswith("closed")]
    assert practice in closed and other not in closed
    # The seeded tickets of the earlier test are practice tickets too.
    assert len(closed) >= 4 and f"{len(closed)} practice ticket(s) closed" in reset.output
    read = [r.query for r in cassette.requests if r.path == "/scp/tickets.php"]
    assert [("number", other)] not in read and [("number", practice)] in read
    assert all(
        "status_id=3" in (r.body or b"").decode()
        for r in cassette.requests
        if r.path.endswith("/status") and r.method == "POST"
    )
