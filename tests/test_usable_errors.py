"""Errors a user can act on (issue 10): one line, the documented exit code, no traceback."""

from __future__ import annotations

import codecs
import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner

from automations._ledger import Ledger
from osticket_client import (
    ActionRejected,
    ConfigurationError,
    ConnectError,
    OsTicket,
    load_settings,
)
from osticket_client._cache import ApiFormCache, default_cache_dir
from osticket_client._cli_support import CliState
from osticket_client.cli import cli
from tests.standin import Fault
from tests.test_cli import REQUIRED, URL, runner
from tests.test_runner import NOW, RULES, World

__all__ = ["runner"]  # the command line with a desk URL and API key set, shared with test_cli


def _one_line_error(output: str) -> str:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, output
    return errors[0]


# -- credentials in the URL ------------------------------------------------------------------


SECRET_URL = "https://agent:S3cret-Pass@help.example.com/support/"


@pytest.mark.parametrize(
    "args",
    [
        ["config"],
        ["config", "--json"],
        ["ticket", "create", *REQUIRED, "--message", "m", "--dry-run"],
        ["ticket", "create", *REQUIRED, "--message", "m", "--dry-run", "--json"],
        ["cron"],
    ],
)
def test_credentials_in_the_url_are_refused_and_never_printed(
    runner: CliRunner, args: list[str]
) -> None:
    result = runner.invoke(cli, ["--url", SECRET_URL, *args])
    assert result.exit_code == 3
    line = _one_line_error(result.output)
    assert "S3cret-Pass" not in result.output and "agent:" not in result.output
    assert "flag: the URL holds a user name or password" in line
    assert "OSTICKET_PASSWORD" in line and "OSTICKET_API_KEY" in line


def test_credentials_in_the_url_from_the_environment_name_the_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSTICKET_URL", "http://ada@127.0.0.1:8080/")
    result = runner.invoke(cli, ["config"])
    assert result.exit_code == 3
    assert "OSTICKET_URL: the URL holds a user name" in result.output
    assert "ada@" not in result.output


def test_the_library_refuses_credentials_in_the_url_without_quoting_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        OsTicket(SECRET_URL, api_key="k" * 32)
    assert "S3cret-Pass" not in str(caught.value) and "…@help.example.com" in str(caught.value)


def test_config_refuses_a_url_without_a_scheme_like_every_command(runner: CliRunner) -> None:
    for args in (["config"], ["cron"]):
        result = runner.invoke(cli, ["--url", "help.example.com/support", *args])
        assert result.exit_code == 3
        assert "expected the desk's http:// or https:// address" in _one_line_error(result.output)


# -- timeouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "0"])
def test_a_timeout_that_is_not_a_usable_number_of_seconds(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    flag = runner.invoke(cli, ["--timeout", value, "config"])
    assert flag.exit_code == 3, flag.output
    assert "flag: timeout must be" in _one_line_error(flag.output)
    monkeypatch.setenv("OSTICKET_TIMEOUT", value)
    env = runner.invoke(cli, ["cron"])
    assert env.exit_code == 3
    assert "OSTICKET_TIMEOUT: timeout must be" in _one_line_error(env.output)
    monkeypatch.delenv("OSTICKET_TIMEOUT")
    config = tmp_path / "c.toml"
    number = {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(value, value)
    config.write_text(f'[profiles.p]\nurl = "{URL}"\ntimeout = {number}\n', encoding="utf-8")
    profile = runner.invoke(cli, ["--config", str(config), "--profile", "p", "cron"])
    assert profile.exit_code == 3
    assert "profiles.p.timeout: timeout must be" in _one_line_error(profile.output)


def test_a_long_but_sane_timeout_is_kept(tmp_path: Path) -> None:
    settings = load_settings(environ={"OSTICKET_TIMEOUT": "3600"}, config_file=tmp_path / "x")
    assert settings.timeout == 3600.0


# -- config files -----------------------------------------------------------------------------


def test_a_missing_config_file_is_not_reported_as_a_missing_profile(
    runner: CliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "config.toml"
    result = runner.invoke(cli, ["--config", str(missing), "--profile", "prod", "config"])
    assert result.exit_code == 3
    line = _one_line_error(result.output)
    assert "does not exist, so it has no profile 'prod'" in line
    assert "is not in" not in line


def test_config_and_key_files_written_by_notepad(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_bytes(codecs.BOM_UTF8 + b"4179450186167F07E7A999CA4D8F3555\r\n")
    config = tmp_path / "c.toml"
    text = f'[profiles.lab]\nurl = "{URL}"\napi_key_file = "{key.as_posix()}"\n'
    config.write_bytes(codecs.BOM_UTF8 + text.encode())
    settings = load_settings(environ={}, config_file=config, profile="lab")
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "4179450186167F07E7A999CA4D8F3555"
    config.write_bytes(text.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigurationError, match="is not UTF-8 text"):
        load_settings(environ={}, config_file=config, profile="lab")


# -- API keys that cannot travel in a header -------------------------------------------------


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("4179450186167F07\n7A999CA4D8F3555", "a line break"),
        ("4179450186167F07 E7A999CA4D8F3555", "a space, control or non-ASCII character"),
        ("4179450186167F07É7A999CA4D8F3555", "a space, control or non-ASCII character"),
    ],
)
def test_an_api_key_with_a_line_break_is_a_configuration_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, key: str, what: str
) -> None:
    monkeypatch.setenv("OSTICKET_API_KEY", key)
    with responses.RequestsMock():  # nothing may be sent
        result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m"])
    assert result.exit_code == 3
    line = _one_line_error(result.output)
    assert f"OSTICKET_API_KEY: the API key holds {what}" in line
    assert "4179450186167F07" not in result.output
    with pytest.raises(ConfigurationError, match=f"api_key: the API key holds {what}"):
        OsTicket(URL, api_key=key)


# -- message files ----------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    "data",
    [
        "Tray 2 jams — café\n".encode(),
        codecs.BOM_UTF8 + "Tray 2 jams — café\n".encode(),
        "Tray 2 jams — café\n".encode("utf-16"),  # with its BOM, as PowerShell 5 writes
        codecs.BOM_UTF16_BE + "Tray 2 jams — café\n".encode("utf-16-be"),
    ],
)
def test_message_files_in_utf8_with_or_without_bom_or_utf16(
    runner: CliRunner, tmp_path: Path, data: bytes
) -> None:
    responses.add(responses.POST, URL + "api/tickets.json", body="654321", status=201)
    message = tmp_path / "message.txt"
    message.write_bytes(data)
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message-file", str(message)])
    assert (result.exit_code, result.output) == (0, "654321\n")
    sent = responses.calls[0].request.body
    assert isinstance(sent, bytes)
    assert "data:text/plain;charset=utf-8,Tray 2 jams — café\\n".encode() in sent


@pytest.mark.parametrize(
    "command",
    [
        ["ticket", "create", *REQUIRED],
        ["ticket", "reply", "123456"],
        ["ticket", "note", "123456"],
    ],
)
def test_a_message_file_that_is_not_utf8_names_the_file_and_says_how_to_convert(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    message = tmp_path / "message.txt"
    message.write_bytes("Tray 2 jams, café\n".encode("cp1252"))
    with responses.RequestsMock():  # nothing may be sent
        result = runner.invoke(cli, [*command, "--message-file", str(message)])
        piped = runner.invoke(cli, [*command, "--message-file", "-"], input=b"caf\xe9")
        nul = runner.invoke(
            cli, [*command, "--message-file", "-"], input="cafe".encode("utf-16-le")
        )
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert str(message) in line and "is not UTF-8 text (byte 0xe9 at offset 16)" in line
    assert "save it as UTF-8" in line
    assert piped.exit_code == 2
    assert "standard input is not UTF-8 text" in _one_line_error(piped.output)
    assert nul.exit_code == 2 and "NUL characters" in _one_line_error(nul.output)


def test_a_rules_file_saved_by_notepad_with_a_bom_is_read(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    example = Path(__file__).parent.parent / "examples" / "rules.toml"
    rules.write_bytes(codecs.BOM_UTF8 + example.read_bytes())
    result = CliRunner().invoke(cli, ["auto", "check", str(rules)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")  # stderr: warnings about unset webhook URLs


# -- answers that say nothing about what they are blamed on ------------------------------------

SCP = URL + "scp/"
LOGIN_PAGE = '<form id="login"><input type="hidden" name="__CSRFToken__" value="tok-1"></form>'
GATEWAY = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@pytest.fixture
def agent(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("OSTICKET_USERNAME", "automation")
    monkeypatch.setenv("OSTICKET_PASSWORD", "S3cret-Passw0rd")
    return runner


@pytest.mark.parametrize("step", ["page", "post"])
@responses.activate
def test_a_gateway_failing_the_login_is_not_a_wrong_password(agent: CliRunner, step: str) -> None:
    if step == "page":
        responses.add(responses.GET, SCP + "login.php", body=GATEWAY, status=502)
    else:
        responses.add(responses.GET, SCP + "login.php", body=LOGIN_PAGE)
        responses.add(responses.POST, SCP + "login.php", body=GATEWAY, status=502)
    result = agent.invoke(cli, ["ticket", "show", "123456"])
    assert result.exit_code == 1
    line = _one_line_error(result.output)
    assert "failed during the login; this says nothing about the username or password" in line
    assert "HTTP 502" in line and "wrong username" not in line
    assert len([c for c in responses.calls if c.request.method == "POST"]) <= 1


def _export_started() -> None:
    responses.add(responses.GET, SCP + "login.php", body=LOGIN_PAGE)
    responses.add(responses.POST, SCP + "login.php", body='{"status":302,"redirect":"index.php"}')
    responses.add(
        responses.POST, SCP + "ajax.php/tickets/export/1", body='{"eid":"abc"}', status=201
    )


@responses.activate
def test_an_export_not_yet_registered_is_waited_for() -> None:
    _export_started()
    check = SCP + "ajax.php/export/abc/check"
    responses.add(responses.POST, check, body="No such export", status=404)
    responses.add(responses.POST, check, body='{"status":"notready"}', status=200)
    responses.add(responses.POST, check, body='{"status":"ready"}', status=201)
    header = ",".join(f'"h{i}"' for i in range(25))
    responses.add(responses.GET, SCP + "export.php", body=("\ufeff" + header + "\n").encode())
    waits: list[float] = []
    desk = OsTicket(URL, username="a", password="S3cret-Passw0rd", sleep=waits.append)
    assert list(desk.list_tickets(1)) == []
    assert len(waits) == 2


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, "No such export", "export abc was still unknown to the desk after 60s"),
        (200, '{"status":"notready"}', "export abc was not ready after 60s"),
    ],
)
@responses.activate
def test_a_slow_export_says_how_long_it_was_waited_for(
    status: int, body: str, message: str
) -> None:
    _export_started()
    responses.add(responses.POST, SCP + "ajax.php/export/abc/check", body=body, status=status)
    waits: list[float] = []
    desk = OsTicket(URL, username="a", password="S3cret-Passw0rd", sleep=waits.append)
    with pytest.raises(Exception, match=message) as caught:
        list(desk.list_tickets(1))
    assert "0.0s" not in str(caught.value) and sum(waits) >= 60


@pytest.mark.parametrize(
    ("status", "body", "fragment"),
    [
        (501, "<h1>Not Implemented</h1>", "does not implement this request; no ticket was created"),
        (505, "HTTP Version Not Supported", "no ticket was created"),
        (301, "Moved Permanently", "redirected the request; no ticket was created"),
        (405, "Method Not Allowed", "refused the request; no ticket was created"),
    ],
)
@responses.activate
def test_answers_that_prove_nothing_was_created_are_not_unknown(
    runner: CliRunner, status: int, body: str, fragment: str
) -> None:
    for prefix in ("api/", "api/http.php/"):
        responses.add(responses.POST, URL + prefix + "tickets.json", body=body, status=status)
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m"])
    assert result.exit_code == 1
    line = _one_line_error(result.output)
    assert fragment in line and "may" not in line
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 200])
@responses.activate
def test_answers_that_do_not_prove_it_stay_unknown(runner: CliRunner, status: int) -> None:
    responses.add(responses.POST, URL + "api/tickets.json", body="<html>oops</html>", status=status)
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m"])
    assert result.exit_code == 6 and "look for the ticket" in result.output


def test_a_reader_that_stops_reading_is_no_error() -> None:
    # As `osticket ... | head`: the pipe is closed before the command writes.
    command = [sys.executable, "-c", "from osticket_client.cli import main; main()", "demo"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    errors = child.stderr.read()
    child.stderr.close()
    assert child.wait(timeout=60) == 0
    assert errors == b""


# -- the API's URL form, remembered per desk across processes ---------------------------------


@responses.activate
def test_the_working_api_url_form_is_remembered_across_processes(
    runner: CliRunner, tmp_path: Path
) -> None:
    rewritten, plain = URL + "api/tickets.json", URL + "api/http.php/tickets.json"
    responses.add(responses.POST, rewritten, body="Not Found", status=404)
    responses.add(responses.POST, plain, body="654321", status=201)
    attachment = tmp_path / "log.txt"
    attachment.write_text("E13", encoding="utf-8")
    args = ["ticket", "create", *REQUIRED, "--message", "m", "--attach", str(attachment)]
    for _ in range(2):  # each invocation builds its own client, as a new process does
        result = runner.invoke(cli, args)
        assert (result.exit_code, result.stdout) == (0, "654321\n")
        assert "note: the desk drops attachments over its size limit" in result.stderr
    # The attachment was uploaded three times, not four: once to learn, once each after.
    assert [c.request.url for c in responses.calls] == [rewritten, plain, plain]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "osticket" / "api-forms.json"
    if os.name == "nt":
        cache = Path(os.environ["LOCALAPPDATA"]) / "osticket" / "Cache" / "api-forms.json"
    assert json.loads(cache.read_text(encoding="utf-8")) == {URL: "api/http.php/"}
    if os.name != "nt":
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    dry = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m", "--dry-run"])
    assert dry.output.startswith(f"POST {plain}\n")


@responses.activate
def test_a_remembered_form_that_stops_working_is_found_again(runner: CliRunner) -> None:
    rewritten, plain = URL + "api/tickets.json", URL + "api/http.php/tickets.json"
    cache = ApiFormCache(default_cache_dir(os.environ))
    cache.put(URL, "api/http.php/")
    responses.add(responses.POST, plain, body="URL not supported", status=400)
    responses.add(responses.POST, rewritten, body="654321", status=201)
    result = runner.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m"])
    assert (result.exit_code, result.output) == (0, "654321\n")
    assert [c.request.url for c in responses.calls] == [plain, rewritten]
    assert cache.get(URL) == "api/"


def test_an_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "api-forms.json").write_text("{not json", encoding="utf-8")
    assert ApiFormCache(tmp_path).get(URL) is None
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    ApiFormCache(blocked).put(URL, "api/")  # a folder that cannot exist: ignored


# -- a ledger path that cannot be used ---------------------------------------------------------


def _rules_beside(tmp_path: Path) -> Path:
    example = Path(__file__).parent.parent / "examples" / "rules.toml"
    rules = tmp_path / "rules.toml"
    rules.write_bytes(example.read_bytes())
    return rules


LEDGER = "osticket-automations.sqlite"  # what examples/rules.toml names


@pytest.mark.parametrize("command", ["plan", "run", "status"])
@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.mkdir(), "is a folder: set ledger in the rules file's [settings] to a file"),
        (
            lambda p: p.write_text("a spreadsheet, not a ledger", encoding="utf-8"),
            "is not a SQLite database (another file at that path?)",
        ),
    ],
)
def test_a_ledger_path_that_cannot_be_used_is_one_line_and_exit_3(
    runner: CliRunner, tmp_path: Path, command: str, make: Any, fragment: str
) -> None:
    rules = _rules_beside(tmp_path)
    make(tmp_path / LEDGER)
    with responses.RequestsMock():  # nothing may be sent
        result = runner.invoke(cli, ["auto", command, str(rules)])
    assert result.exit_code == 3, result.output
    assert fragment in _one_line_error(result.output)


def test_a_read_only_ledger_is_refused_before_anything_is_sent(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = _rules_beside(tmp_path)
    Ledger(tmp_path / LEDGER).close()
    connect = sqlite3.connect

    def read_only(path: Any, **kwargs: Any) -> sqlite3.Connection:
        # What a read-only file gives a user who may not write it (root may write anything).
        db: sqlite3.Connection = connect(
            f"file:{Path(path).as_posix()}?mode=ro", uri=True, **kwargs
        )
        return db

    monkeypatch.setattr("automations._ledger.sqlite3.connect", read_only)
    with responses.RequestsMock():  # nothing may be sent
        result = runner.invoke(cli, ["auto", "run", str(rules)])
    assert result.exit_code == 3, result.output
    line = _one_line_error(result.output)
    assert "cannot be written (attempt to write a readonly database)" in line
    assert "every action is recorded there before it is sent" in line


# -- auto status says why runs failed ----------------------------------------------------------


def test_auto_status_shows_why_runs_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(tmp_path)
    refusal = ActionRejected("the desk refused the action", text="Ticket is locked for edits")
    world.desk.faults = [Fault(1, "before", refusal)]
    world.run()

    def unreachable(queue: int = 1) -> Any:
        raise ConnectError("could not connect to the desk after 3 attempt(s)")

    monkeypatch.setattr(world.desk, "list_tickets", unreachable)
    world.now += timedelta(minutes=5)
    with pytest.raises(ConnectError):
        world.run()
    rules = _world_rules(tmp_path)
    result = CliRunner().invoke(cli, ["auto", "status", str(rules)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "stopped error: could not connect to the desk after 3 attempt(s)" in lines[0]
    assert "failed 1" in lines[1]
    assert lines[2].startswith("  failed: ticket ")
    assert lines[2].endswith("desk said: 'Ticket is locked for edits'")
    data = json.loads(CliRunner().invoke(cli, ["auto", "status", str(rules), "--json"]).output)
    assert "Ticket is locked for edits" in data["runs"][1]["failed"][0]["message"]


def _world_rules(tmp_path: Path) -> Path:
    """The stand-in world's rules as a file, with its ledger and audit log beside it."""
    rules = tmp_path / "rules.toml"
    text = RULES.format(max_actions=50, per_ticket=3)
    settings = '[settings]\nledger = "ledger.sqlite"\naudit_log = "audit.jsonl"'
    rules.write_text(text.replace("[settings]", settings, 1), encoding="utf-8")
    return rules


@pytest.mark.parametrize("option", ["--explain", "--only"])
def test_plan_explain_of_a_ticket_the_rules_do_not_see_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    world = World(tmp_path)
    monkeypatch.setattr(CliState, "desk", property(lambda _: world.desk))
    rules = _world_rules(tmp_path)
    at = ["--at", NOW.isoformat()]
    result = CliRunner().invoke(cli, ["auto", "plan", str(rules), option, "999999", *at])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "ticket 999999 is not among the 4 ticket(s) the rules look at (closed, unknown, or not"
        " visible to this agent): no rule considers it\n"
    )
    known = CliRunner().invoke(cli, ["auto", "plan", str(rules), option, "100004", *at])
    assert "100004" in known.output and "not among" not in known.output


# -- rules that pass a syntax check but cannot mean what they say ------------------------------

NUDGE = """
[[rules]]
name = "{name}"
type = "nudge_then_pending"
statuses = ["Work in Progress"]
nudge_after = "{nudge}"
pending_after = "72h"
"""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            NUDGE.format(name="Nudge quiet", nudge="48h")
            + NUDGE.format(name="nudge  QUIET", nudge="48h"),
            "rules[1].name: expected unique rule names (compared ignoring case and spaces),"
            " got 'Nudge quiet' and 'nudge  QUIET'",
        ),
        (
            NUDGE.format(name="Nudge", nudge="0m"),
            "rules[0].nudge_after: expected a duration above zero (like 90m or 48h), got '0m'",
        ),
        (
            '[[rules]]\nname = "SLA"\ntype = "sla_escalation"\n[[rules.levels]]\nname = "warn"\n'
            'before_due = "0h"\nactions = [{ note = "Due soon" }]\n',
            "rules[0].levels[0].before_due: expected a duration above zero",
        ),
        (
            '[[rules]]\nname = "Stay"\ntype = "lifecycle"\nfrom_status = "Open"\n'
            'to_status = "open"\n',
            "rules[0].to_status: expected a status other than from_status, got 'open' for both",
        ),
    ],
)
def test_auto_check_refuses_rules_that_cannot_mean_what_they_say(
    tmp_path: Path, text: str, fragment: str
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["auto", "check", str(rules)])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


@responses.activate
def test_a_created_ticket_that_cannot_be_read_back_still_exits_0(
    agent: CliRunner, tmp_path: Path
) -> None:
    responses.add(responses.POST, URL + "api/tickets.json", body="654321", status=201)
    responses.add(responses.GET, SCP + "login.php", body=GATEWAY, status=502)
    result = agent.invoke(cli, ["ticket", "create", *REQUIRED, "--message", "m", "--topic", "10"])
    assert result.exit_code == 0
    assert result.stdout == "654321\n"
    assert result.stderr.startswith(
        "warning: ticket 654321 was created, but it could not be read back to check"
    )
