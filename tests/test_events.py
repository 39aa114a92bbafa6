"""Events from listing diffs, and `osticket watch`: stable ids, nothing for the past, no loss."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from automations._events import EventStore, detect
from automations._watch import locked_store, watch_pass
from osticket_client._cli_support import CliState
from osticket_client.cli import cli
from tests.standin import StandInDesk

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def kinds_and_ids(desk: StandInDesk, store: EventStore, now: datetime) -> list[tuple[str, str]]:
    states = {c.name: c.state for c in desk.statuses()}
    rows = [(r, states.get(r.status or "")) for r in desk.list_tickets()]
    return [(e.kind, e.id) for e in detect(store, rows, desk.get_ticket, now)]


@pytest.fixture
def desk() -> StandInDesk:
    desk = StandInDesk(NOW)
    desk.add("300001", "Printer", "Ann", timedelta(days=1))
    desk.add("300002", "VPN", "Ben", timedelta(days=2))
    return desk


def test_the_first_pass_records_the_desk_and_fires_nothing(
    desk: StandInDesk, tmp_path: Path
) -> None:
    store = EventStore(tmp_path / "state.sqlite")
    assert kinds_and_ids(desk, store, NOW) == []
    assert kinds_and_ids(desk, store, NOW + MINUTE) == []


def test_each_change_is_one_event_under_a_stable_id(desk: StandInDesk, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "state.sqlite")
    kinds_and_ids(desk, store, NOW)
    desk.add("300003", "New", "Cleo", timedelta(0))
    desk.entry("300001", "message", "Ann", "More detail", timedelta(0))
    desk.entry("300001", "response", "Ada Admin", "Thanks", timedelta(0))
    desk.tickets["300002"].agent = "Ada Admin"
    desk.move("300002", "Pending", timedelta(0))
    message, response = (e.id for e in desk.tickets["300001"].thread[-2:])
    found = kinds_and_ids(desk, store, NOW + MINUTE)
    assert sorted(found) == sorted(
        [
            ("customer_replied", f"300001:customer_replied:{message}"),
            ("agent_replied", f"300001:agent_replied:{response}"),
            ("status_changed", "300002:status_changed:1"),
            ("assigned", "300002:assigned:2"),
            ("created", "300003:created"),
        ]
    )
    assert kinds_and_ids(desk, store, NOW + 2 * MINUTE) == []


def test_closed_reopened_and_overdue(desk: StandInDesk, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "state.sqlite")
    kinds_and_ids(desk, store, NOW)
    desk.move("300001", "Resolved", timedelta(0))  # leaves the Open queue: its page is read
    desk.tickets["300002"].overdue = True
    assert sorted(kinds_and_ids(desk, store, NOW + MINUTE)) == [
        ("closed", "300001:closed:0"),
        ("overdue", "300002:overdue:1"),  # the listing first, then those that left it
        ("status_changed", "300001:status_changed:2"),
    ]
    desk.tickets["300001"].status, desk.tickets["300001"].reopen_count = "Open", 1
    assert kinds_and_ids(desk, store, NOW + 2 * MINUTE) == [("reopened", "300001:reopened:1")]


def test_a_change_undone_between_passes_is_not_seen(desk: StandInDesk, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "state.sqlite")
    kinds_and_ids(desk, store, NOW)
    desk.move("300001", "Pending", timedelta(0))
    desk.move("300001", "Open", timedelta(0))
    assert kinds_and_ids(desk, store, NOW + MINUTE) == []


class Killed(BaseException):
    pass


class DiesAfterLines(io.StringIO):
    """Standard output of a process killed after writing `lines` lines."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def flush(self) -> None:
        super().flush()
        self.left -= 1
        if self.left < 0:
            raise Killed


def printed(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_watch_killed_and_restarted_loses_nothing_and_renames_nothing(
    desk: StandInDesk, tmp_path: Path
) -> None:
    path = tmp_path / "state.sqlite"
    store = EventStore(path)
    assert watch_pass(desk, store, 1, NOW, io.StringIO()) == 0
    for n in range(3):
        desk.add(f"30001{n}", f"New {n}", "Dan", timedelta(0))
    first = DiesAfterLines(0)  # prints one line, dies before marking it printed
    with pytest.raises(Killed):
        watch_pass(desk, store, 1, NOW + MINUTE, first)
    store.close()
    again = io.StringIO()
    watch_pass(desk, EventStore(path), 1, NOW + 2 * MINUTE, again)
    ids = [e["id"] for e in printed(first)] + [e["id"] for e in printed(again)]
    assert ids == ["300010:created", "300010:created", "300011:created", "300012:created"]
    assert printed(again)[0]["schema"] == "osticket-client/event/v1"


def test_watch_command_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = StandInDesk(datetime.now(timezone.utc))  # the command reads the wall clock
    monkeypatch.setattr(CliState, "desk", property(lambda self: desk))
    state = str(tmp_path / "watch.sqlite")
    runner = CliRunner()
    assert runner.invoke(cli, ["watch", "--once", "--state", state]).output == ""
    desk.add("300020", "Café ünïcode", "Eve", timedelta(0), priority="High")
    result = runner.invoke(cli, ["watch", "--once", "--state", state])
    assert result.exit_code == 0, result.output
    (event,) = [json.loads(line) for line in result.output.splitlines()]
    assert (event["id"], event["ticket"]["subject"]) == ("300020:created", "Café ünïcode")
    assert event["ticket"]["link"] == "http://desk.example/scp/tickets.php?number=300020"
    bad = runner.invoke(cli, ["watch", "--every", "soon", "--state", state])
    assert bad.exit_code == 2 and "--every" in bad.output


def test_an_old_ticket_coming_into_sight_is_not_created(desk: StandInDesk, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "state.sqlite")
    kinds_and_ids(desk, store, NOW)
    desk.add("300030", "Transferred in", "Ivy", timedelta(days=3))  # e.g. moved into Support
    assert kinds_and_ids(desk, store, NOW + MINUTE) == []
    desk.move("300030", "Pending", timedelta(0))
    assert kinds_and_ids(desk, store, NOW + 2 * MINUTE) == [
        ("status_changed", "300030:status_changed:1")
    ]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_watch_state_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    lock, store = locked_store(tmp_path / "state" / "watch.sqlite")
    try:
        assert stat.S_IMODE((tmp_path / "state" / "watch.sqlite").stat().st_mode) == 0o600
    finally:
        store.close()
        lock.close()
