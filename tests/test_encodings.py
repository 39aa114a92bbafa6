"""The whole CLI under the code pages Windows gives redirected output, with tickets in many scripts.

Windows writes a redirected or Task-Scheduler-captured standard output in the ANSI code page
(cp1252 and friends) or, in a console window of old, the OEM one (cp437). Imitated here with
``PYTHONIOENCODING``: each session runs the commands in a process of its own with real,
strict standard streams (tests/cli_session.py), over cassettes recorded from a real 1.18.1 desk
holding tickets in Latin, Cyrillic, CJK and emoji text, and one whose subject carries escape
sequences, a bidi override and a carriage return (the desk keeps them in its CSV export).
While recording, the same commands run in-process through CliRunner in cp1252.
"""

# ruff: noqa: RUF001 - Chinese text uses full-width punctuation, on purpose

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osticket_client import NewTicket, StrippedCharactersWarning
from osticket_client.cli import cli
from tests.cli_session import split
from tests.recording import REPLAY_URL
from tests.test_cassettes_auto import recorded_now
from tests.test_output import HOSTILE, UNSAFE

ROOT = Path(__file__).resolve().parent.parent
LEGACY = ["cp1252", "cp437"]

TICKETS = {
    "latin": ("Zoë Lefèvre", "zoe", "Imprimante bloquée à l'étage", "Le bac 2 est coincé."),
    "cyrillic": ("Иван Петров", "ivan", "Принтер не печатает", "Бумага застревает в лотке."),
    "cjk": ("王小明", "wang", "打印机卡纸 / プリンターの紙詰まり", "纸盒2卡纸。"),
    "emoji": ("Emma Emoji", "emma", "Coffee ☕ machine 😀 broken ★", "It is ☃ cold, ⚡ is out."),
    "hostile": ("Mallory", "mallory", HOSTILE, "line1\r\nline2 \u202eabc"),
}

NEW_TICKET = ["--name", "Олена Коваль", "--email", "olena@example.com"]
NEW_TICKET += ["--subject", "Ноутбук не вмикається / 电脑无法开机", "--message", "Екран чорний."]


@dataclass
class Outcome:
    """What one command printed, and its exit code."""

    stdout: str
    stderr: str
    code: int


def session(
    record: bool,
    cassette: str,
    env: dict[str, str],
    commands: list[list[str]],
    encoding: str,
    stdin: str = "",
) -> list[Outcome]:
    """Run `commands` one after the other against a recorded desk, output in `encoding`.

    Replaying: in a process of its own with real streams. Recording (inside the test's
    `recorded` cassette): in-process, through CliRunner's strict streams in `encoding`.
    """
    if record:
        runner = CliRunner(charset=encoding, env=env)
        results = [runner.invoke(cli, args, catch_exceptions=False) for args in commands]
        return [Outcome(r.stdout, r.stderr, r.exit_code) for r in results]
    child = subprocess.run(
        [sys.executable, "-m", "tests.cli_session", cassette, json.dumps(commands)],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONIOENCODING": encoding},
        input=stdin.encode(encoding),
        capture_output=True,
        timeout=120,
        check=False,
    )
    stdout, stderr = child.stdout.decode(encoding), child.stderr.decode(encoding)
    assert child.returncode == 0 and "Traceback" not in stderr, stderr
    outcomes = []
    for out, err in zip(split(stdout), split(stderr), strict=True):
        err, _, code = err.rpartition("=== exit ")
        outcomes.append(Outcome(out, err, int(code.split(" ")[0])))
    assert len(outcomes) == len(commands)
    return outcomes


def assert_printable(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        for text in (outcome.stdout, outcome.stderr):
            assert not set(text) & set(UNSAFE), text


def create_tickets(make_desk: Any) -> dict[str, str]:
    desk = make_desk(agent="admin")
    numbers = {}
    with pytest.warns(StrippedCharactersWarning, match="U\\+1F600"):
        for key, (name, user, subject, message) in TICKETS.items():
            ticket = NewTicket(
                name=name, email=f"{user}@example.com", subject=subject, message=message
            )
            numbers[key] = desk.create_ticket(ticket)
    return numbers


@pytest.mark.parametrize("encoding", [*LEGACY, "utf-8"])
def test_ticket_commands_in_a_legacy_code_page(
    recorded: Any, desk_env: Any, record_config: Any, encoding: str
) -> None:
    if record_config and encoding != "cp1252":
        pytest.skip("recorded once, under cp1252")
    env = desk_env(agent="admin")
    with recorded("cli_scripts") as (_, make_desk):
        n = create_tickets(make_desk)
        commands = [
            ["ticket", "create", *NEW_TICKET, "--json"],
            ["ticket", "list"],
            ["ticket", "list", "--json"],
            ["ticket", "show", n["cjk"]],
            ["ticket", "show", n["hostile"]],
            ["ticket", "show", n["cyrillic"], "--json"],
            ["ticket", "find", n["cjk"]],
            ["ticket", "find", "wang@example.com"],
            ["ticket", "note", n["emoji"], "--message", "Заметка · 备注 · ☕", "--title", "Café"],
            ["ticket", "reply", n["cjk"], "--message", "您好，请问是哪台打印机？", "--json"],
            ["ticket", "status", n["latin"], "Pending", "--comment", "En attente — Ожидание"],
            ["ticket", "status", n["cyrillic"], "Ожидание"],
            ["ticket", "show", n["emoji"]],
            ["lab", "reset", "--dry-run"],
        ]
        out = session(record_config is not None, "cli_scripts", env, commands, encoding)
    assert [o.code for o in out] == [0] * 11 + [2, 0, 0], [o.stderr for o in out]
    assert_printable(out)
    legacy = encoding != "utf-8"

    created = json.loads(out[0].stdout)["number"]
    listed = {row["number"]: row for row in json.loads(out[2].stdout)}
    # JSON is exact whatever the code page: the desk's own text, escapes and all.
    assert listed[n["hostile"]]["subject"] == HOSTILE.lstrip()
    assert listed[n["cyrillic"]]["subject"] == "Принтер не печатает"
    assert listed[n["cjk"]]["from_name"] == "王小明"
    assert listed[n["emoji"]]["subject"] == "Coffee ☕ machine  broken ★"  # 😀 dropped by the desk
    assert listed[created]["subject"] == "Ноутбук не вмикається / 电脑无法开机"
    assert out[2].stdout.isascii() == legacy
    shown = json.loads(out[5].stdout)
    assert (shown["subject"], shown["user_name"]) == ("Принтер не печатает", "Иван Петров")

    table = out[1].stdout.splitlines()
    hostile_row = next(line for line in table if line.startswith(n["hostile"]))
    assert '=HYPERLINK("http://evil.examp' in hostile_row  # cut to its column
    assert any(line.startswith(n["latin"]) and "Imprimante bloquée" in line for line in table)
    cyrillic_row = next(line for line in table if line.startswith(n["cyrillic"]))
    assert ("??????? ??" in cyrillic_row) if legacy else ("Принтер не" in cyrillic_row)

    assert out[3].stdout.startswith(
        f"Ticket #{n['cjk']}: " + ("????? / ?????????" if legacy else "打印机卡纸 / プリンター")
    )
    assert f"Ticket #{n['hostile']}: =HYPERLINK" in out[4].stdout
    assert "\\u202eevil" in out[4].stdout and "\\u202eabc" in out[4].stdout
    assert n["cjk"] in out[6].stdout
    assert "customer wang@example.com: 1 matching ticket(s)" in out[7].stdout
    assert out[8].stdout.startswith("changed: ")
    assert json.loads(out[9].stdout)["changed"] is True
    assert out[10].stdout.startswith("changed: ")
    # An unknown name on stderr: Python's backslash escapes where the code page lacks it.
    assert ("'\\u041e\\u0436" if legacy else "'Ожидание'") in out[11].stderr
    assert "Café" in out[12].stdout
    assert ("?????? · ?? · ?" if legacy else "Заметка · 备注 · ☕") in out[12].stdout
    assert "practice ticket(s) to close" in out[13].stdout


@pytest.mark.parametrize("encoding", LEGACY)
def test_doctor_and_lab_in_a_legacy_code_page(
    desk_env: Any, record_config: Any, encoding: str
) -> None:
    if record_config:
        pytest.skip("replays the cassettes of tests/test_cassettes_cli.py and _lab.py")
    env = desk_env(agent="admin")
    (doctor,) = session(False, "cli_doctor_admin", env, [["doctor"]], encoding)
    assert doctor.code == 0 and doctor.stdout.startswith("ok    staff panel"), doctor.stderr
    (plan,) = session(False, "lab_setup", env, [["lab", "setup", "--dry-run"]], encoding)
    walk = ["lab", "walkthrough", "--pause"]
    (walked,) = session(False, "lab_walkthrough", env, [walk], encoding, stdin="\n" * 7)
    assert (plan.code, walked.code) == (0, 0), walked.stderr
    assert "topic   Practice Lab" in plan.stdout
    assert walked.stdout.count("  look at: ") == 8
    assert "Done: the ticket went from intake to closure." in walked.stdout
    assert_printable([doctor, plan, walked])


RULES = """\
[settings]
ledger = "данные 数据/ledger.sqlite"
audit_log = "данные 数据/audit.jsonl"

[[rules]]
name = "Напомнить клиенту · 提醒"
type = "nudge_then_pending"
statuses = ["Open", "Work in Progress"]
nudge_after = "1m"
pending_after = "30d"
template = "<p>Здравствуйте, {customer_name}! 您好！</p><p>#{number} ({subject})</p>"

[[rules]]
name = "Réponse donnée ⇒ en cours"
type = "lifecycle"
"""


@pytest.mark.parametrize("encoding", LEGACY)
def test_automations_in_a_legacy_code_page(
    recorded: Any, desk_env: Any, record_config: Any, encoding: str, tmp_path: Path
) -> None:
    if record_config and encoding != "cp1252":
        pytest.skip("recorded once, under cp1252")
    rules = tmp_path / "règles 规则.toml"
    rules.write_text(RULES, encoding="utf-8")
    env = desk_env(agent="automation")  # the nudge answers the admin's question
    # The ticket is made in a cassette of its own: replayed in another process, the commands
    # play theirs from its start, and the reply's read of the ticket page (for its id) would
    # answer their first read of it with the page as it was before the reply.
    with recorded("auto_scripts_setup") as (setup, make_desk):
        desk = make_desk(agent="admin")
        ivan = desk.create_ticket(
            NewTicket(
                name="Иван Петров",
                email="ivan.auto@example.com",
                subject="Сканер 扫描仪 не работает",
                message="Сканер молчит.",
            )
        )
        desk.reply(ivan, "Какая модель сканера?")
        at = (recorded_now(setup) + timedelta(minutes=10)).isoformat()
    if record_config:
        time.sleep(65)  # the nudge is due a minute after our question
    with recorded("auto_scripts") as _:
        name = "Напомнить клиенту · 提醒"
        commands = [
            ["auto", "check", str(rules)],
            ["auto", "plan", str(rules), "--at", at],
            ["auto", "plan", str(rules), "--at", at, "--json"],
            ["auto", "render", str(rules), name, ivan],
            ["auto", "run", str(rules)],
            ["auto", "status", str(rules)],
            ["auto", "status", str(rules), "--json"],
        ]
        out = session(record_config is not None, "auto_scripts", env, commands, encoding)
    assert [o.code for o in out] == [0] * 7, [o.stderr for o in out]
    assert_printable(out)
    planned = [d for d in json.loads(out[2].stdout) if d["ticket"] == ivan]
    nudge = next(d for d in planned if d["action"] and d["action"]["kind"] == "reply")
    assert nudge["rule"] == name
    assert nudge["action"]["value"].startswith("<p>Здравствуйте, Иван Петров! 您好！</p>")
    assert "(Сканер 扫描仪 не работает)" in nudge["action"]["value"]
    assert any(line.startswith(ivan) and "?" in line for line in out[1].stdout.splitlines())
    assert "Здравствуйте" not in out[3].stdout and "#" + ivan in out[3].stdout
    summary = next(line for line in out[4].stdout.splitlines() if line.startswith("run "))
    assert ", failed 0," in summary
    assert (tmp_path / "данные 数据" / "audit.jsonl").read_text(encoding="utf-8").count(name) >= 1
    assert json.loads(out[6].stdout)["unsettled"] == []


ENTRY_POINT = "from osticket_client.cli import main; main()"


def osticket(*args: str, encoding: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed `osticket` console script, its output in `encoding`, no desk needed."""
    script = shutil.which("osticket", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-c", ENTRY_POINT]
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
        encoding=encoding,
    )


@pytest.mark.parametrize("encoding", LEGACY)
def test_the_console_script_offline(encoding: str, tmp_path: Path) -> None:
    rules = tmp_path / "règles.toml"
    rules.write_text(RULES, encoding="utf-8")
    url = ["--url", REPLAY_URL]
    create = ["ticket", "create", "--dry-run", "--name", "王小明", "--email", "w@example.com"]
    create += ["--subject", "打印机 Принтер ☕ é", "--message", "纸盒2卡纸\x1b[2J"]
    runs = {
        "demo": osticket("demo", encoding=encoding, cwd=tmp_path),
        "demo json": osticket("demo", "--json", encoding=encoding, cwd=tmp_path),
        "dry run": osticket(*url, *create, encoding=encoding, cwd=tmp_path),
        "dry run json": osticket(*url, *create, "--json", encoding=encoding, cwd=tmp_path),
        "check": osticket("auto", "check", str(rules), encoding=encoding, cwd=tmp_path),
        "seed": osticket(
            *url,
            "lab",
            "seed",
            "--count",
            "3",
            "--seed",
            "7",
            "--dry-run",
            encoding=encoding,
            cwd=tmp_path,
        ),
        "no config": osticket("ticket", "show", "打印", encoding=encoding, cwd=tmp_path),
    }
    for name, run in runs.items():
        assert "Traceback" not in run.stderr, (name, run.stderr)
        assert run.returncode == (3 if name == "no config" else 0), (name, run.stderr)
    assert json.loads(runs["demo json"].stdout)[0]["ticket"]
    body = json.loads(runs["dry run json"].stdout)["body"]
    assert body["subject"] == "打印机 Принтер ☕ é" and body["name"] == "王小明"
    # The request is sent as UTF-8; shown in the code page, what it lacks is a "?".
    assert '"subject": "??? ??????? ? é"' in runs["dry run"].stdout
    assert "\x1b" not in runs["dry run"].stdout
    assert runs["check"].stdout.startswith("ok: 2 rule(s)")
    assert "3 ticket(s) not sent (dry run)" in runs["seed"].stdout
