"""What the desk refuses or drops without a word, recorded from a real desk (cassettes/README.md).

A ticket with an attachment over the desk's size limit (1 MiB on the reference desk) and an
unknown help topic is still created: the command exits 0 and warns. A view-only agent's
transfer is refused for the role, not for the department.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osticket_client import Attachment, NewTicket, PermissionDenied
from osticket_client.cli import cli

# One byte over the reference desk's "Maximum File Size" (1 MiB); the same bytes every run.
OVERSIZE = (b"0123456789abcdef" * 65536) + b"!"


def test_create_warns_about_what_the_desk_dropped(
    recorded: Any, desk_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in desk_env(agent="admin").items():
        monkeypatch.setenv(name, value)
    big, small = tmp_path / "oversize.log", tmp_path / "small.txt"
    big.write_bytes(OVERSIZE)
    small.write_text("E13 on tray 2\n", encoding="utf-8")
    args = ["ticket", "create", "--name", "Dana Doe", "--email", "dana@example.com"]
    args += ["--subject", "Scanner log attached", "--message", "See the logs."]
    args += ["--attach", str(big), "--attach", str(small), "--topic", "99999", "--json"]
    with recorded("cli_create_dropped") as _:
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output  # the ticket exists: no retry, no duplicate
    lines = result.output.splitlines()
    created = json.loads(lines[-1])
    number = created["number"]
    assert created["warnings"] == [
        "the desk dropped attachment 'oversize.log' (File size is too large)",
        "help topic 99999 does not exist; the ticket has no help topic",
    ]
    for warning in created["warnings"]:
        assert f"warning: ticket {number} was created, but {warning}" in lines


def test_create_checks_nothing_it_need_not(recorded: Any) -> None:
    with recorded("api_create_checked") as (_, make_desk):
        desk = make_desk(agent="admin")
        ticket = NewTicket(
            name="Dana Doe",
            email="dana@example.com",
            subject="Printer on the topic it asked for",
            message="Tray 2.",
            topic_id=10,
            attachments=[Attachment(name="small.txt", data=b"E13 on tray 2\n")],
        )
        number = desk.create_ticket(ticket)
        problems = desk.check_created(number, ticket)
        desk.close()
    assert problems == []


def test_a_view_only_agents_transfer_is_refused_for_the_role(recorded: Any) -> None:
    with recorded("agent_view_only_transfer") as (_, make_desk):
        desk = make_desk()
        number = desk.create_ticket(
            NewTicket(name="Carl", email="carl@example.com", subject="Move me", message="x")
        )
        viewer = make_desk(agent="viewer")
        with pytest.raises(PermissionDenied) as caught:
            viewer.transfer(number, "Sales")
        viewer.close()
    assert caught.value.status_code == 403 and "unknown department" not in str(caught.value)
    assert "/transfer" in str(caught.value)
