"""The `osticket` command through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from osticket_client._doctor import Check, listing_check
from osticket_client.cli import cli

URL = "https://help.example.com/support/"
CREATE = URL + "api/tickets.json"
KEY = "CLI-SECRET-KEY-42"
REQUIRED = ["--name", "Ada", "--email", "ada@example.com", "--subject", "Printer"]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("OSTICKET_URL", URL)
    monkeypatch.setenv("OSTICKET_API_KEY", KEY)
    return CliRunner()


def test_dry_run_prints_the_request_with_the_key_masked(runner: CliRunner, tmp_path: Path) -> None:
    attachment = tmp_path / "log.txt"
    attachment.write_text("E13", encoding="utf-8")
    result = runner.invoke(
        cli,
        [
            "ticket",
            "create",
            *REQUIRED,
            "--message",
            "<p>Jams</p>",
            "--html",
            "--attach",
            str(attachment),
            "--priority",
            "high",
            "--field",
            "notes=VIP",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"POST {CREATE}\n")
    assert "X-API-Key: ****" in result.output and KEY not in result.output
    body = json.loads(result.output.split("\n\n", 1)[1])
    assert body["message"] == "data:text/html;charset=utf-8,<p>Jams</p>"
    assert body["attachments"] == [{"log.txt": "data:text/plain;base64,<4 base64 characters>"}]
    assert body["priority"] == 3 and body["notes"] == "VIP"


def test_dry_run_json(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["ticket", "create", *REQUIRED, "--message", "x", "--dry-run", "--json"]
    )
    data = json.loads(result.output)
    assert data["url"] == CREATE and data["headers"]["X-API-Key"] == "****"


@responses.activate
def test_create_prints_the_number(runner: CliRunner) -> None:
    responses.add(responses.POST, CREATE, body="654321", status=201)
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "Jams"])
    assert (result.exit_code, result.output) == (0, "654321\n")
    assert responses.calls[0].request.headers["X-API-Key"] == KEY


@responses.activate
def test_create_reads_the_message_from_stdin_and_prints_json(runner: CliRunner) -> None:
    responses.add(responses.POST, CREATE, body="654321", status=201)
    result = runner.invoke(
        cli,
        ["ticket", "create", *REQUIRED, "--message-file", "-", "--json"],
        input="Line one\nLine two\n",
    )
    assert json.loads(result.output) == {"number": "654321", "warnings": []}
    sent = json.loads(responses.calls[0].request.body or b"")
    assert sent["message"] == "data:text/plain;charset=utf-8,Line one\nLine two\n"


@pytest.mark.parametrize(
    ("status", "body", "code", "fragment"),
    [
        (401, "Valid API key required", 4, "from another address"),
        (401, "API key not authorized", 4, "lacks the right"),
        (500, "Unable to create new ticket :20\nIssue Summary is a required field", 5, "subject"),
        (403, "Unable to create new ticket :Ticket denied: a@b.c\n\n", 5, "ticket filter"),
        (502, "<html>Bad Gateway</html>", 6, "look for the ticket"),
    ],
)
@responses.activate
def test_create_errors_are_one_line_and_an_exit_code(
    runner: CliRunner, status: int, body: str, code: int, fragment: str
) -> None:
    responses.add(responses.POST, CREATE, body=body, status=status)
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "Jams"])
    assert result.exit_code == code
    assert result.output.startswith("Error: ") and fragment in result.output
    assert "Traceback" not in result.output and KEY not in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--email", "nope"], "email: not an e-mail address: 'nope'"),
        (["--priority", "urgent"], "priority: unknown priority 'urgent'"),
        (["--field", "novalue"], "expected name=value"),
    ],
)
def test_bad_input_names_the_field_and_sends_nothing(
    runner: CliRunner, args: list[str], fragment: str
) -> None:
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m", *args])
    assert result.exit_code == 2
    assert fragment in result.output and "Traceback" not in result.output


def test_missing_message_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED])
    assert result.exit_code == 2 and "the message is missing" in result.output


def test_stripped_characters_are_warned(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "ticket",
            "create",
            "--name",
            "Ada",
            "--email",
            "a@b.co",
            "--subject",
            "Done ✓",
            "--message",
            "m",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0
    assert "warning: subject: osTicket will drop these characters: ✓" in result.output


def test_no_url_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["cron"])
    assert result.exit_code == 3 and "OSTICKET_URL" in result.output


@responses.activate
def test_cron(runner: CliRunner) -> None:
    responses.add(responses.POST, URL + "api/tasks/cron", body="Completed", status=200)
    result = runner.invoke(cli, ["cron"])
    assert (result.exit_code, result.output) == (0, "cron completed\n")


def test_config_shows_sources_and_masks_secrets(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--username", "agent", "config", "--json"])
    data = json.loads(result.output)
    assert data["settings"]["url"] == {"value": URL, "source": "OSTICKET_URL"}
    assert data["settings"]["api_key"] == {"value": "****", "source": "OSTICKET_API_KEY"}
    assert data["settings"]["username"] == {"value": "agent", "source": "flag"}
    table = runner.invoke(cli, ["config"]).output
    assert KEY not in table and "****" in table


def test_profile_flag_uses_the_profile_whole(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[profiles.lab]\nurl = "http://127.0.0.1:8080/"\n', encoding="utf-8")
    result = runner.invoke(cli, ["--config", str(config), "--profile", "lab", "config", "--json"])
    data = json.loads(result.output)
    assert data["profile"] == "lab"
    assert data["settings"]["url"]["value"] == "http://127.0.0.1:8080/"
    assert data["settings"]["api_key"]["value"] is None  # OSTICKET_API_KEY does not mix in


def test_doctor_prints_advice_under_its_check_and_in_json(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = listing_check(10_000, 41.8, 28.3)

    def checks(desk: object) -> Iterator[Check]:
        yield Check("desk version", "ok", "v1.18.1")
        yield slow

    monkeypatch.setattr("osticket_client.cli.run_checks", checks)
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output  # a warning is not a failure
    assert result.output.splitlines() == [
        "ok    desk version: v1.18.1",
        f"warn  listing: {slow.detail}",
        *(f"      {line}" for line in slow.advice),
    ]
    listed = json.loads(runner.invoke(cli, ["doctor", "--json"]).output)
    assert listed[1]["advice"] == list(slow.advice) and listed[0]["advice"] == []
