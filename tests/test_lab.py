"""The lab kit without a desk: the generator, parallel creation, the plan, the password file."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osticket_client import NewTicket, OsTicket, TicketOutcomeUnknown
from osticket_client._admin import (
    AdminRow,
    DeskInventory,
    parse_admin_rows,
    plan_setup,
    write_secret_file,
)
from osticket_client._lab import (
    PRACTICE_DOMAIN,
    STOCK_TOPICS,
    create_tickets,
    is_practice_email,
    practice_tickets,
)
from osticket_client.cli import cli

TOPICS = {**STOCK_TOPICS, "Practice Lab": 12}


def payloads(tickets: list[NewTicket]) -> list[dict[str, object]]:
    return [t.to_payload() for t in tickets]


def test_the_same_seed_gives_the_same_tickets() -> None:
    assert payloads(practice_tickets(20, 7)) == payloads(practice_tickets(20, 7))
    # A longer run starts with the shorter one's tickets.
    assert payloads(practice_tickets(5, 7)) == payloads(practice_tickets(20, 7))[:5]


def test_other_seeds_give_other_tickets() -> None:
    runs = [payloads(practice_tickets(10, seed)) for seed in range(5)]
    assert all(a != b for i, a in enumerate(runs) for b in runs[i + 1 :])


def test_tickets_vary_like_a_real_queue() -> None:
    tickets = practice_tickets(60, 2026, topics=TOPICS)
    assert len({t.email for t in tickets}) >= 10
    assert len({t.subject for t in tickets}) >= 20
    assert {t.topic_id for t in tickets} == set(TOPICS.values())
    assert len({t.priority for t in tickets}) == 4
    assert {t.html for t in tickets} == {True, False}
    with_files = [t for t in tickets if t.attachments]
    assert 5 <= len(with_files) <= 30
    assert {a.content_type for t in with_files for a in t.attachments} <= {"text/plain", "text/csv"}
    assert all(t.email.endswith("@" + PRACTICE_DOMAIN) for t in tickets)
    assert all(t.autorespond is False and t.source is None for t in tickets)
    assert any(ord(c) > 127 for t in tickets for c in t.name)  # accented and CJK names


def test_a_topic_the_desk_lacks_is_left_to_the_desk() -> None:
    tickets = practice_tickets(40, 3)  # stock topics only: "Practice Lab" is unknown
    assert None in {t.topic_id for t in tickets}
    assert {t.topic_id for t in tickets} - {None} <= set(STOCK_TOPICS.values())


def test_count_bounds() -> None:
    assert practice_tickets(0, 1) == []
    with pytest.raises(ValueError, match="count"):
        practice_tickets(-1, 1)


def test_practice_addresses() -> None:
    assert is_practice_email("Ada.Fernandez@PRACTICE.example")
    assert not is_practice_email("carl@example.com")
    assert not is_practice_email("x@practice.example.org")
    assert not is_practice_email(None)


class FakeDesk(OsTicket):
    """Creates tickets without a network; the `fail_at`-th create fails as given."""

    def __init__(self, fail_at: int | None = None, error: Exception | None = None) -> None:
        super().__init__("http://desk.test/", api_key="k")
        self.fail_at, self.error = fail_at, error
        self.sent: list[str] = []
        self.active = self.peak = 0
        self._guard = threading.Lock()

    def create_ticket(self, ticket: NewTicket, **options: Any) -> str:
        with self._guard:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.sent.append(ticket.subject)
            position = len(self.sent)
        time.sleep(0.01)
        with self._guard:
            self.active -= 1
        if position == self.fail_at and self.error is not None:
            raise self.error
        return f"{100000 + position}"


def test_creation_is_parallel_but_bounded() -> None:
    desk = FakeDesk()
    ticks: list[int] = []
    outcome = create_tickets(desk, practice_tickets(12, 1), workers=3, progress=ticks.append)
    assert len(outcome.created) == 12 and not outcome.failures and not outcome.not_sent
    assert [i for i, _ in outcome.created] == list(range(12))
    assert len({n for _, n in outcome.created}) == 12
    assert 1 < desk.peak <= 3
    assert sum(ticks) == 12


def test_an_unknown_outcome_stops_the_run_and_is_never_retried() -> None:
    lost = TicketOutcomeUnknown("the connection broke after the request was sent")
    desk = FakeDesk(fail_at=3, error=lost)
    tickets = practice_tickets(10, 1)
    outcome = create_tickets(desk, tickets, workers=1)
    assert [n for _, n in outcome.created] == ["100001", "100002"]
    assert outcome.failures == [(2, lost)] and outcome.unknown == [2]
    assert outcome.not_sent == list(range(3, 10))
    assert desk.sent == [t.subject for t in tickets[:3]]  # sent once, nothing after


def test_a_failed_seed_says_which_tickets_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    lost = TicketOutcomeUnknown("the connection broke after the request was sent")
    desk = FakeDesk(fail_at=2, error=lost)
    monkeypatch.setattr("osticket_client._cli_support.OsTicket.from_settings", lambda s: desk)
    monkeypatch.setenv("OSTICKET_URL", "http://desk.test/")
    result = CliRunner().invoke(
        cli, ["lab", "seed", "--count", "4", "--seed", "5", "--workers", "1"]
    )
    assert result.exit_code == 6
    assert "100001" in result.output and "1 ticket(s) created" in result.output
    assert "ticket 2 may exist" in result.output
    assert "created: #100001; not sent: 2" in result.output


def test_seed_dry_run_sends_nothing_and_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTICKET_URL", "http://desk.test/")
    args = ["lab", "seed", "--count", "6", "--seed", "11", "--dry-run"]
    first, again = CliRunner().invoke(cli, args), CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert first.output == again.output
    assert "seed 11" in first.output and "6 ticket(s) not sent (dry run)" in first.output
    for ticket in practice_tickets(6, 11):
        assert ticket.subject in first.output


def test_a_seed_is_chosen_and_shown_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTICKET_URL", "http://desk.test/")
    args = ["lab", "seed", "--count", "3", "--dry-run"]
    outputs = {CliRunner().invoke(cli, args).output for _ in range(3)}
    assert len(outputs) > 1
    assert all(o.startswith("seed ") for o in outputs)


PAGE = """
<table><tr id="list-item-8"><td><input type="checkbox"></td><td>
<a class="field-config" href="#list/1/item/8/update"><i class="icon-edit"></i> On Hold </a></td>
<td><span>open</span></td></tr>
<tr id="4"><td><input type="checkbox" name="ids[]" value="4"><td>
<a href="staff.php?id=4">Sam Practice</a></td><td>sam.practice</td><td>Active</td></tr>
<tr id="header"><td>no link</td></tr></table>
"""


def test_admin_rows_are_read_from_list_pages() -> None:
    rows = parse_admin_rows(PAGE)
    assert [(r.id, r.name) for r in rows] == [(8, "On Hold"), (4, "Sam Practice")]
    assert rows[1].cells[2] == "sam.practice"


def test_the_plan_compares_names_case_insensitively() -> None:
    inventory = DeskInventory(
        statuses={"pending": AdminRow(7, "Pending"), "work in progress": AdminRow(6, "WIP")},
        agents={"sam.practice": AdminRow(4, "Sam Practice")},
        slas={"practice sla 1h": AdminRow(2, "PRACTICE SLA 1H")},
    )
    plan = {(i.kind, i.name): (i.existed, i.id) for i in plan_setup(inventory)}
    assert plan == {
        ("status", "Work in Progress"): (True, 6),
        ("status", "Pending"): (True, 7),
        ("status", "On Hold"): (False, None),
        ("agent", "Sam Practice (sam.practice)"): (True, 4),
        ("team", "Practice Team"): (False, None),
        ("sla", "Practice SLA 1h"): (True, 2),
        ("topic", "Practice Lab"): (False, None),
    }


def test_the_password_file_is_new_and_private(tmp_path: Path) -> None:
    path = tmp_path / "agent.txt"
    write_secret_file(path, "password: s3cret\n")
    assert path.read_text(encoding="utf-8") == "password: s3cret\n"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_secret_file(path, "another")
    assert path.read_text(encoding="utf-8") == "password: s3cret\n"
