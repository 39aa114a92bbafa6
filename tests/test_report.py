"""The SLA report's measures, summaries, cache and outputs, on tickets made here."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner

from automations import RulesError, RulesFile, parse_duration
from automations._rules import parse_rules
from osticket_client import (
    Choice,
    ConnectError,
    ThreadEntry,
    ThreadEvent,
    Ticket,
    TicketNotFound,
    TicketSummary,
)
from osticket_client._output import write_csv
from osticket_client.cli import cli
from osticket_client.report import (
    Period,
    ReportCache,
    ReportRules,
    build_report,
    last_days,
    measure_ticket,
    report_rules,
    sla_report,
    summarize,
)
from osticket_client.report._collect import read_tickets, signature
from osticket_client.report._render import (
    CSV_HEADER,
    HtmlUnavailable,
    csv_rows,
    duration_text,
    html_page,
)

UTC = timezone.utc


def event(
    kind: str, when: datetime, text: str = "", actor: str | None = None, value: str | None = None
) -> ThreadEvent:
    return ThreadEvent(kind=kind, when=when, text=text, actor=actor, value=value)


H = timedelta(hours=1)
MON = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday, 09:00 UTC
RULES = parse_rules(
    """
[calendars.office]
timezone = "UTC"
[calendars.office.hours]
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"

[targets]
calendar = "office"
pause_statuses = ["Pending"]
automation_agents = ["Help Desk Automation"]

[targets.first_response]
default = "4h"
priority = { High = "1h" }
sla = { Gold = "30m" }

[targets.resolution]
default = "8h"
priority = { Low = "40h" }
"""
)
MEASURING = replace(report_rules(RULES), statuses={"Open", "Pending", "Work in Progress"})


def entry(ident: int, kind: str, author: str, at: datetime) -> ThreadEntry:
    return ThreadEntry(id=ident, type=kind, author=author, created=at, body="")  # type: ignore[arg-type]


def ticket(
    *, events: tuple[ThreadEvent, ...] = (), thread: tuple[ThreadEntry, ...] = (), **fields: Any
) -> tuple[TicketSummary, Ticket]:
    values: dict[str, Any] = {
        "number": "100001",
        "ticket_id": 1,
        "subject": "Printer jams",
        "status": "Open",
        "state": "open",
        "priority": "Normal",
        "sla_plan": "Default SLA",
        "created": MON,
        **fields,
    }
    page = Ticket(
        **values,
        events=(event("created", MON, "Created"), *events),
        thread=(entry(1, "message", "Ada Customer", MON), *thread),
    )
    row = TicketSummary(
        number=page.number,
        subject=page.subject,
        created=MON,
        status=page.status,
        priority=page.priority,
        sla_plan=page.sla_plan,
        agent=page.assigned_agent,
        closed=page.closed,
    )
    return row, page


def measured(now: datetime = MON + 5 * 24 * H, **fields: Any) -> Any:
    row, page = ticket(**fields)
    return measure_ticket(row, page, MEASURING, now)


def test_first_response_skips_the_automation_and_counts_business_time() -> None:
    row = measured(
        thread=(
            entry(2, "response", "Help Desk Automation", MON + 5 * 60 * timedelta(seconds=1)),
            entry(3, "note", "Ada Admin", MON + H),
            entry(4, "response", "Ada Admin", MON + 25 * H),  # Tue 10:00
        )
    )
    measure = row.first_response
    assert (measure.by, measure.elapsed, measure.business, measure.counted) == (
        "Ada Admin",
        25 * H,
        9 * H,
        9 * H,
    )
    assert (measure.target, measure.met, measure.over) == (4 * H, False, 5 * H)


@pytest.mark.parametrize(
    ("fields", "target"),
    [
        ({}, 4 * H),
        ({"priority": "High"}, 1 * H),
        ({"priority": "High", "sla_plan": "Gold"}, 0.5 * H),  # the plan wins over the priority
    ],
)
def test_first_response_target_by_plan_then_priority_then_default(
    fields: dict[str, Any], target: timedelta
) -> None:
    assert measured(**fields).first_response.target == target


def test_without_first_response_targets_the_no_response_level_is_the_target() -> None:
    rules = parse_rules(
        """
[[rules]]
name = "SLA"
type = "sla_escalation"
[[rules.levels]]
name = "late"
no_response = "6h"
actions = [{ note = "no answer yet" }]
[[rules.levels]]
name = "very late"
no_response = "2h"
actions = [{ note = "no answer yet" }]
"""
    )
    row, page = ticket()
    result = measure_ticket(row, page, report_rules(rules), MON + H)
    assert result.first_response.target == 2 * H  # the earliest level
    assert result.first_response.met is None  # running, not yet past its target


def test_an_unanswered_ticket_misses_once_its_target_has_passed() -> None:
    assert measured(now=MON + 3 * H).first_response.met is None
    late = measured(now=MON + 5 * H).first_response
    assert (late.finished, late.met, late.over) == (False, False, 1 * H)


def test_resolution_is_the_last_cycle_to_its_first_close() -> None:
    closes = (
        event("closed", MON + 2 * H, "Closed", "Ada Admin"),
        event("reopened", MON + 24 * H, "Reopened", "Ada Customer"),  # Tue 09:00
        event("assigned", MON + 24 * H + 60 * timedelta(seconds=1), "", "Ada Admin", "Lim Ited"),
        event("closed", MON + 27 * H, "Closed with status of Resolved", "Help Desk Automation"),
        event("closed", MON + 50 * H, "Closed with status of Closed", "Help Desk Automation"),
    )
    row = measured(events=closes, status="Closed", state="closed", closed=MON + 50 * H)
    assert (row.reopened, row.resolution.start, row.resolution.at) == (
        1,
        MON + 24 * H,
        MON + 27 * H,
    )
    assert (row.resolution.counted, row.resolution.met) == (3 * H, True)
    assert row.agent == "Lim Ited"  # the assignee when resolved, not the automation that closed


def test_a_ticket_closed_by_its_unassigned_closer_is_theirs() -> None:
    closes = (event("closed", MON + H, "Closed", "Ada Admin"),)
    row = measured(events=closes, status="Closed", state="closed")
    assert row.agent == "Ada Admin"


def test_pending_pauses_the_resolution_clock() -> None:
    events = (
        event("edited", MON + 2 * H, "to Pending", "Ada Admin", "Pending"),
        event("edited", MON + 24 * H, "Ada Admin updated priority", "Ada Admin", "High"),
        event("edited", MON + 26 * H, "to Open", "Ada Admin", "Open"),  # Tue 11:00
        event("closed", MON + 28 * H, "Closed", "Ada Admin"),
    )
    row = measured(events=events, status="Resolved", state="closed")
    assert (row.resolution.business, row.resolution.paused, row.resolution.counted) == (
        12 * H,
        8 * H,  # Mon 11:00-17:00 and Tue 09:00-11:00; a priority edit is no status move
        4 * H,
    )


def test_a_ticket_still_pending_stays_paused_until_now() -> None:
    events = (event("edited", MON + H, "to Pending", "Ada Admin", "Pending"),)
    row = measured(events=events, status="Pending", now=MON + 3 * 24 * H)
    assert (row.resolution.counted, row.resolution.met, row.resolution.finished) == (H, None, False)


def test_resolution_target_plan_from_the_file_then_the_desk_then_priority() -> None:
    graced = replace(MEASURING, sla_grace={"Default SLA": 18 * H})
    row, page = ticket(priority="Low")
    assert measure_ticket(row, page, graced, MON).resolution.target == 18 * H
    assert measure_ticket(row, page, MEASURING, MON).resolution.target == 40 * H
    row, page = ticket()
    assert measure_ticket(row, page, MEASURING, MON).resolution.target == 8 * H


def test_no_target_means_neither_met_nor_missed() -> None:
    row, page = ticket()
    result = measure_ticket(row, page, ReportRules(), MON + 100 * H)
    assert (result.first_response.met, result.resolution.met) == (None, None)
    assert result.first_response.business is None  # no calendar: calendar time only
    summary = summarize([result.first_response])
    assert (summary.no_target, summary.running, summary.share_met) == (1, 0, None)


def test_summary_median_and_90th_percentile_interpolate() -> None:
    rows = [
        measured(number=str(n), thread=(entry(2, "response", "Ada Admin", MON + hours * H),))
        for n, hours in enumerate((1, 2, 3, 4, 8))
    ]
    summary = summarize([r.first_response for r in rows])
    assert (summary.met, summary.missed, summary.share_met) == (4, 1, 0.8)
    assert (summary.median, summary.p90) == (3 * H, 6.4 * H)  # 4 + 0.6 x (8 - 4)


def test_report_groups_weeks_and_breaches() -> None:
    quick = measured(number="1", thread=(entry(2, "response", "Ada Admin", MON + H),))
    slow = measured(number="2", thread=(entry(2, "response", "Lim Ited", MON + 6 * H),))
    report = build_report(
        [quick, slow], period=Period(start=MON.date(), end=MON.date()), now=MON, by="agent"
    )
    # First responses by who answered; resolutions (none yet) by the assignee: nobody.
    assert [g.group for g in report.groups] == ["(none)", "Ada Admin", "Lim Ited"]
    assert [(w.week, w.first_response) for w in report.weeks] == [(date(2026, 11, 2), 0.5)]
    late = [(b.number, b.agent, b.over) for b in report.breaches if b.metric == "first_response"]
    assert late == [("2", "Lim Ited", 2 * H)]
    by_priority = build_report([quick, slow], period=report.period, now=MON, by="priority")
    assert [g.group for g in by_priority.groups] == ["Normal"]


def test_period_is_whole_days_in_its_zone() -> None:
    period = Period(start=date(2026, 11, 1), end=date(2026, 11, 30), timezone="Europe/Paris")
    assert period.holds(datetime(2026, 10, 31, 23, 30, tzinfo=UTC))  # 00:30 in Paris
    assert not period.holds(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="--to on or after --from"):
        Period(start=date(2026, 11, 2), end=date(2026, 11, 1))
    assert last_days(30, now=MON) == Period(start=date(2026, 10, 4), end=date(2026, 11, 2))


def test_targets_are_checked_with_the_rules_file() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules('[targets]\ncalendar = "nowhere"\n[targets.first_response]\ndefault = "soon"\n')
    text = str(caught.value)
    assert "targets.first_response.default: expected a duration like 90m" in text
    with pytest.raises(RulesError, match=r"targets.calendar: expected a calendar defined"):
        parse_rules('[targets]\ncalendar = "nowhere"\n')
    with pytest.raises(RulesError, match=r"targets.resolution.default: expected minutes or hours"):
        parse_rules(
            '[calendars.c]\ntimezone = "UTC"\nhours = { mon = "09:00-17:00" }\n'
            '[targets]\ncalendar = "c"\n[targets.resolution]\ndefault = "2d"\n'
        )
    assert RULES.names_to_resolve()["status"] == {"Pending"}
    with pytest.raises(ValueError, match="calendar: expected one defined"):
        report_rules(RulesFile(), "office")


def test_the_cache_is_owners_only_and_keyed_on_the_signature(tmp_path: Path) -> None:
    row, page = ticket(thread=(entry(2, "response", "Ada Admin", MON + H),))
    page = page.model_copy(
        update={
            "thread": tuple(e.model_copy(update={"body": "<p>secret</p>"}) for e in page.thread)
        }
    )
    path = tmp_path / "deep" / "cache.sqlite"
    with ReportCache(path) as cache:
        cache.put("http://desk/", row.number, signature(row), page)
        kept = cache.get("http://desk/", row.number, signature(row))
        assert kept is not None and kept.events == page.events
        assert [e.body for e in kept.thread] == ["", ""]  # no ticket text beyond what is needed
        changed = row.model_copy(update={"thread_count": 3})
        assert cache.get("http://desk/", row.number, signature(changed)) is None
        assert cache.get("http://other/", row.number, signature(row)) is None
        assert signature(row) != signature(row.model_copy(update={"overdue": True}))
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_csv_neutralises_formulas_and_keeps_numbers() -> None:
    row = measured(
        subject='=HYPERLINK("http://x")', thread=(entry(2, "response", "@Ada", MON + H),)
    )
    out = io.StringIO()
    write_csv(out, CSV_HEADER, csv_rows([row]))
    header, line = csv.reader(io.StringIO(out.getvalue()))
    assert header[:3] == ["number", "subject", "status"]
    cells = dict(zip(header, line, strict=True))
    assert cells["subject"] == '\'=HYPERLINK("http://x")'  # shown as text, not run
    assert (cells["first_response_by"], cells["first_response_hours"]) == ("'@Ada", "1.0")
    assert (cells["first_response_outcome"], cells["first_response_over_hours"]) == ("met", "")
    assert ',1.0,1.0,1.0,0.0,4.0,"met",' in out.getvalue()  # numbers stay numbers


def test_durations_for_people() -> None:
    assert [
        duration_text(d) for d in (None, 45 * timedelta(minutes=1), 1.5 * H, 20 * H, 76 * H)
    ] == [
        "-",
        "45m",
        "1h30m",
        "20h",
        "3d4h",
    ]
    assert parse_duration("4h").delta == 4 * H


def test_html_without_the_report_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)  # import fails
    report = build_report(
        [measured()], period=Period(start=MON.date(), end=MON.date()), now=MON, by="agent"
    )
    with pytest.raises(HtmlUnavailable, match=r"pip install 'osticket-client\[report\]'"):
        html_page(report)
    # The command says so before reading the desk (no desk URL is even needed).
    result = CliRunner().invoke(cli, ["report", "sla", "--no-cache", "--html", "r.html"])
    assert result.exit_code == 3
    assert "Error: the HTML report needs the plotting library" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--csv", "--json"], "choose one of --csv and --json"),
        (["--from", "2026-11-02", "--to", "2026-11-01"], "expected --to on or after --from"),
        (["--from", "2026-13-01"], "'2026-13-01' does not match the format '%Y-%m-%d'"),
        (["--by", "colour"], "'colour' is not one of"),
        (["--calendar", "office"], "calendar: expected one defined under [calendars] (none)"),
    ],
)
def test_the_command_refuses_bad_input_before_reading_the_desk(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["--url", "http://127.0.0.1:9/", "report", "sla", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_command_names_the_problem_in_a_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[targets.first_response]\ndefault = "soon"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", "sla", "--rules", str(rules)])
    assert result.exit_code == 2
    assert "targets.first_response.default: expected a duration like 90m" in result.output


class _FakeDesk:
    """Lists two tickets; the second was deleted before its page was read."""

    url = "http://desk.test/"

    def __init__(self) -> None:
        self.row, self.page = ticket(sla_plan=None)
        self.read: list[str] = []

    def search_tickets(self, *, updated_since: datetime) -> list[TicketSummary]:
        self.since = updated_since
        gone = self.row.model_copy(update={"number": "100002"})
        return [self.row, gone]

    def statuses(self) -> list[Choice]:
        return [Choice(id=1, name="Open", state="open"), Choice(id=7, name="Pending")]

    def get_ticket(self, number: str) -> Ticket:
        self.read.append(number)
        if number != self.page.number:
            raise TicketNotFound(f"cannot read ticket #{number}: Unknown ticket")
        return self.page


def test_a_ticket_gone_since_the_listing_is_left_out_and_named() -> None:
    desk = _FakeDesk()
    period = Period(start=MON.date(), end=MON.date())
    report = sla_report(cast(Any, desk), period, rules=MEASURING, now=MON + H)
    assert [r.number for r in report.rows] == ["100001"]
    assert desk.since == period.first_instant  # listed: tickets updated since the period began
    with pytest.raises(ValueError, match="by: expected one of agent, team"):
        sla_report(cast(Any, desk), period, by=cast(Any, "colour"))
    assert (report.unreadable, report.pages_read, desk.read) == (
        ("100002",),
        2,
        ["100001", "100002"],
    )


def test_a_cache_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "cache.sqlite"
    broken.write_bytes(b"not a database, just bytes" * 100)
    result = CliRunner().invoke(cli, ["report", "sla", "--cache", str(broken)])
    assert result.exit_code == 1
    assert f"Error: cannot use the cache {broken}: file is not a database" in result.output
    assert "--no-cache" in result.output


class _ManyTickets:
    """30 listed tickets read by several threads: a few gone, one failing when asked."""

    url = "http://desk.test/"

    def __init__(self, failing: str | None = None) -> None:
        self.rows = [
            TicketSummary(number=f"{100 + n}", subject=f"T{n}", created=MON) for n in range(30)
        ]
        self.failing = failing
        self.asked: list[str] = []

    def get_ticket(self, number: str) -> Ticket:
        self.asked.append(number)
        time.sleep(0.01)
        if number == self.failing:
            raise ConnectError("the desk went away")
        if number.endswith("7"):
            raise TicketNotFound(f"cannot read ticket #{number}")
        return ticket(number=number)[1]


def test_pages_read_by_several_threads_come_back_in_the_listing_order() -> None:
    desk = _ManyTickets()
    read = list(read_tickets(cast(Any, desk), desk.rows, workers=4))
    assert [row.number for row, _, _ in read] == [row.number for row in desk.rows]
    assert [row.number for row, page, _ in read if page is None] == ["107", "117", "127"]
    assert all(page.number == row.number for row, page, _ in read if page is not None)
    assert sorted(desk.asked) == sorted(row.number for row in desk.rows)


def test_a_failed_page_stops_the_reading_without_asking_for_the_rest() -> None:
    desk = _ManyTickets(failing="102")
    with pytest.raises(ConnectError):
        list(read_tickets(cast(Any, desk), desk.rows, workers=2))
    assert len(desk.asked) < 30
