"""The SLA report on a real desk holding a scenario whose answers were worked out by hand.

The desk was prepared as cassettes/README.md describes ("SLA report scenario"): five tickets
created in the week of Monday 2026-11-02 (times moved back in the desk's database), one the
week after, measured in a 09:00-17:00 UTC working week (tests/data/report_rules.toml) with the
running clocks stopped at Friday 2026-11-06 17:00 UTC.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from automations import load_rules
from osticket_client.cli import cli
from osticket_client.report import Period, ReportCache, SlaReport, sla_report

RULES = Path(__file__).resolve().parent / "data" / "report_rules.toml"
WEEK = Period(start=date(2026, 11, 2), end=date(2026, 11, 8))
FRIDAY_EVENING = datetime(2026, 11, 6, 17, tzinfo=timezone.utc)
H = timedelta(hours=1)


def by_subject(report: SlaReport) -> dict[str, Any]:
    return {row.subject.removeprefix("SLA scenario "): row for row in report.rows}


def played_since(cassette: Any, before: set[int] | int) -> list[Any]:
    """The requests sent since `before` (what was recorded, or what was replayed)."""
    if isinstance(before, int):  # recording: the interactions appended since
        return list(cassette.requests[before:])
    return [cassette.requests[i] for i in set(cassette.play_counts) - before]


def mark(cassette: Any, recording: bool) -> set[int] | int:
    return len(cassette.requests) if recording else set(cassette.play_counts)


def test_figures_equal_the_hand_computed_ones_and_a_second_run_reads_no_page(
    recorded: Any, record_config: Any, tmp_path: Path
) -> None:
    rules = load_rules(RULES)
    with recorded("report_sla") as (cassette, make_desk), ReportCache(tmp_path / "c.db") as cache:
        desk = make_desk(agent="admin")
        first = sla_report(desk, WEEK, rules=rules, cache=cache, now=FRIDAY_EVENING)
        before = mark(cassette, record_config is not None)
        second = sla_report(desk, WEEK, rules=rules, cache=cache, now=FRIDAY_EVENING)
        sent = played_since(cassette, before)

    rows = by_subject(first)
    assert sorted(rows) == ["A", "B", "C", "D", "E"]  # F was created the week after
    a, b, c, d, e = (rows[k] for k in "ABCDE")
    # A: answered after 1h30, resolved after 6 h; the Resolved -> Closed move adds nothing.
    assert (a.first_response.counted, a.first_response.met, a.first_response.by) == (
        1.5 * H,
        True,
        "Ada Admin",
    )
    assert (a.resolution.counted, a.resolution.target, a.resolution.met) == (6 * H, 18 * H, True)
    # B (High): created Mon 16:00, answered Tue 10:00: 18 h of calendar time, 2 business
    # hours, over its 1 h target by 1 h; closed Wed 16:00: 48 h, 16 business hours, by Lim.
    assert (b.first_response.elapsed, b.first_response.counted) == (18 * H, 2 * H)
    assert (b.first_response.met, b.first_response.over) == (False, 1 * H)
    assert (b.resolution.elapsed, b.resolution.counted, b.resolution.met) == (48 * H, 16 * H, True)
    assert b.agent == "Lim Ited"
    # C: reopened by the customer Wed 09:00 and resolved again at 11:00: 2 h, not 26.
    assert (c.reopened, c.resolution.start.hour, c.resolution.counted) == (1, 9, 2 * H)
    assert c.first_response.counted == 0.5 * H
    # D: the automation's acknowledgement does not count; Ada answered a working day later.
    # Pending from Tue 12:00: 8 + 3 business hours counted, 29 paused; still running, under
    # its 18 h. The desk flagged it overdue.
    assert (d.first_response.by, d.first_response.counted, d.first_response.over) == (
        "Ada Admin",
        8 * H,
        4 * H,
    )
    assert (d.resolution.counted, d.resolution.paused, d.resolution.met) == (11 * H, 29 * H, None)
    assert d.overdue and not any(r.overdue for r in (a, b, c, e))
    # E: never answered: Wed, Thu and Fri (24 business hours) against 4 h and 18 h.
    assert (e.first_response.finished, e.first_response.over, e.resolution.over) == (
        False,
        20 * H,
        6 * H,
    )

    overall = first.overall
    assert (overall.first_response.met, overall.first_response.decided) == (2, 5)
    assert overall.first_response.median == 1.75 * H  # of 0.5, 1.5, 2 and 8 h
    assert overall.first_response.p90 == 6.2 * H  # 2 + 0.7 x (8 - 2)
    assert (overall.resolution.met, overall.resolution.decided, overall.resolution.running) == (
        3,
        4,
        1,
    )
    assert (overall.resolution.median, overall.resolution.p90) == (6 * H, 14 * H)
    groups = {g.group: g for g in first.groups}
    assert (groups["Ada Admin"].first_response.met, groups["Ada Admin"].first_response.decided) == (
        2,
        4,
    )
    assert (groups["Lim Ited"].resolution.met, groups["Lim Ited"].first_response.tickets) == (2, 0)
    assert [(x.subject[-1], x.metric, x.over) for x in first.breaches] == [
        ("E", "first_response", 20 * H),
        ("E", "resolution", 6 * H),
        ("D", "first_response", 4 * H),
        ("B", "first_response", 1 * H),
    ]
    assert (first.pages_read, first.cache_hits) == (5, 0)

    assert second == first.model_copy(update={"pages_read": 0, "cache_hits": 5})
    pages = [r.uri for r in sent if "tickets.php?id=" in r.uri or "number-lookup" in r.uri]
    assert sent and not pages, pages  # the listing again, and not one ticket page


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch, record_config: Any) -> None:
    # The CLI builds its own client, which waits between two exports: not in a replay.
    if record_config is None:
        monkeypatch.setattr(time, "sleep", lambda _: None)


@pytest.mark.usefixtures("no_waiting")
def test_the_command_reports_then_reads_the_period_from_its_cache(
    recorded: Any, desk_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in desk_env(agent="admin").items():
        monkeypatch.setenv(name, value)
    args = [
        "report",
        "sla",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-08",
        "--rules",
        str(RULES),
        "--at",
        "2026-11-06T17:00:00+00:00",
        "--cache",
        str(tmp_path / "cache.sqlite"),
    ]
    page = tmp_path / "report.html"
    with recorded("report_sla_cli"):
        table = CliRunner().invoke(cli, [*args, "--html", str(page)])
        again = CliRunner().invoke(cli, [*args, "--json"])
        as_csv = CliRunner().invoke(cli, [*args, "--csv", "--by", "priority"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert "5 tickets: 5 pages read, 0 from the cache" in lines
    overall = next(line.split() for line in lines if line.startswith("(all)"))
    assert overall == ["(all)", "5", "2/5", "40%", "1h45m", "6h12m", "5", "3/4", "75%", "6h", "14h"]
    assert any(line.split()[1:5] == ["first", "response", "-", "20h"] for line in lines)
    assert "SLA scenario E" in page.read_text(encoding="utf-8")
    if os.name == "posix":
        assert stat.S_IMODE(page.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "cache.sqlite").stat().st_mode) == 0o600

    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert (report["pages_read"], report["cache_hits"]) == (0, 5)
    assert report["overall"]["first_response"]["share_met"] == 0.4
    assert report["overall"]["resolution"]["p90"] == 14 * 3600.0
    assert [g["group"] for g in report["groups"]] == ["(none)", "Ada Admin", "Lim Ited"]

    assert as_csv.exit_code == 0, as_csv.output
    header, *rows = csv.reader(io.StringIO(as_csv.output))
    assert len(rows) == 5
    assert header[:6] == ["number", "subject", "status", "closed", "created", "priority"]
    high = [dict(zip(header, row, strict=True)) for row in rows if row[5] == "High"]
    assert [
        (r["subject"], r["first_response_outcome"], r["first_response_over_hours"]) for r in high
    ] == [("SLA scenario B", "missed", "1.0")]
