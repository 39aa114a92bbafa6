"""SLA reports: were the first-response and resolution targets met over a period?

`sla_report(desk, period, rules=...)` lists the period's tickets, reads each ticket page once
(through a `ReportCache`, so a second report over the same period reads none), measures each
ticket against its targets and sums up by group. Everything after reading is pure
(`measure_ticket`, `build_report`), so tests and tools can feed it tickets of their own.
Targets come from the rules file's [targets] section (and its `no_response` level); see the
README's "SLA report" for the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from automations import RulesFile

from .._client import OsTicket
from ._collect import ReportCache, default_cache_path, list_period, read_tickets, sla_grace
from ._compute import ReportRules, build_report, measure_ticket, no_response_target, summarize
from ._model import (
    GROUPS,
    Breach,
    Group,
    GroupSummary,
    Measure,
    MetricSummary,
    Period,
    SlaReport,
    SlaRow,
    WeekShare,
)

__all__ = [
    "GROUPS",
    "Breach",
    "Group",
    "GroupSummary",
    "Measure",
    "MetricSummary",
    "Period",
    "ReportCache",
    "ReportRules",
    "SlaReport",
    "SlaRow",
    "WeekShare",
    "build_report",
    "default_cache_path",
    "last_days",
    "measure_ticket",
    "report_rules",
    "sla_report",
    "summarize",
]


def last_days(days: int, zone: str = "UTC", now: datetime | None = None) -> Period:
    """The `days` days up to and including today (in `zone`): the report's default period."""
    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).date()
    return Period(start=today - timedelta(days=days - 1), end=today, timezone=zone)


def report_rules(rules: RulesFile | None = None, calendar: str | None = None) -> ReportRules:
    """How to measure, from a rules file: its [targets], the calendar named by `calendar` (else
    the targets' own), and its `no_response` level as the first-response fallback.

    Raises:
        ValueError: `calendar` is not one of the file's calendars.
    """
    if rules is None:
        rules = RulesFile()
    name = calendar or rules.targets.calendar
    if name is not None and name not in rules.calendars:
        defined = ", ".join(sorted(rules.calendars)) or "none"
        raise ValueError(
            f"calendar: expected one defined under [calendars] ({defined}), got {name!r}"
        )
    return ReportRules(
        targets=rules.targets,
        calendar=rules.calendars[name] if name is not None else None,
        calendar_name=name,
        first_response_fallback=no_response_target(rules.rules),
    )


def sla_report(
    desk: OsTicket,
    period: Period | None = None,
    *,
    rules: RulesFile | ReportRules | None = None,
    by: Group = "agent",
    queue: int | None = None,
    cache: ReportCache | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
) -> SlaReport:
    """First response and resolution of the tickets created in a period, against targets.

    Args:
        desk: a client with an agent login (an admin login also reads the SLA plans' grace
            periods, the resolution target of a plan the rules file does not name).
        period: creation dates, both included; default the last 30 days in the calendar's
            zone (else UTC).
        rules: a rules file (its [targets], calendar and `no_response` level), or
            `ReportRules` built by `report_rules`; None measures without targets.
        by: how the summary groups tickets: agent, team, department, topic, priority, sla.
        queue: one queue's tickets; default the open and the closed ones.
        cache: keep and reuse what was read (see `ReportCache`); None reads every page.
        now: when unfinished measures stop counting (default: the current time).
        progress: called with (tickets done, tickets in all) after each ticket.
        workers: ticket pages read at once (threads sharing the client's one login).

    Raises:
        ValueError: `by` is not one of GROUPS.
        OsTicketError: the desk could not be read (see the error tree).
    """
    if by not in GROUPS:
        raise ValueError(f"by: expected one of {', '.join(GROUPS)}, got {by!r}")
    measuring = rules if isinstance(rules, ReportRules) else report_rules(rules)
    moment = now or datetime.now(timezone.utc)
    if period is None:
        zone = measuring.calendar.timezone if measuring.calendar is not None else "UTC"
        period = last_days(30, zone, moment)
    listed = list_period(desk, period, queue)
    plans = {row.sla_plan for row in listed if row.sla_plan}
    if not measuring.sla_grace and plans - set(measuring.targets.resolution.sla):
        measuring = replace(measuring, sla_grace=sla_grace(desk))
    if measuring.targets.pause_statuses:
        measuring = replace(measuring, statuses=frozenset(s.name for s in desk.statuses()))
    rows, pages, gone = [], 0, []
    for row, ticket, read in read_tickets(desk, listed, cache, progress, workers):
        pages += read
        if ticket is None:
            gone.append(row.number)
        else:
            rows.append(measure_ticket(row, ticket, measuring, moment))
    return build_report(
        rows,
        period=period,
        now=moment,
        by=by,
        calendar_name=measuring.calendar_name,
        pages_read=pages,
        cache_hits=len(listed) - pages,
        unreadable=tuple(gone),
    )
