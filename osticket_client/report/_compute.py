"""Measuring tickets against their targets, and summing up: pure functions, no I/O.

A ticket's first response is the first response entry (an agent's reply to the customer) by
anyone but the automation agents, measured from creation. Its resolution is measured from the
start of its last cycle (creation, or the last reopen) to the first move into a closed-state
status in that cycle: a later Resolved -> Closed move (an auto-close) adds nothing. With pause
statuses, the resolution clock stops while the ticket is in one of them (from the event that
set it to the next status move). Times are calendar time and, with a calendar, opening time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from automations import Calendar, Duration, SlaRule, Targets, business_time

from .._tickets import Ticket, TicketSummary
from ._model import (
    Breach,
    Group,
    GroupSummary,
    Measure,
    Metric,
    MetricSummary,
    Period,
    SlaReport,
    SlaRow,
    WeekShare,
)

__all__ = ["ReportRules", "build_report", "measure_ticket", "no_response_target", "summarize"]

_NONE = timedelta(0)
METRICS: tuple[Metric, ...] = ("first_response", "resolution")


def no_response_target(rules: Iterable[object]) -> Duration | None:
    """The rules file's first-response target: the shortest enabled `no_response` level."""
    levels = [
        level.no_response
        for rule in rules
        if isinstance(rule, SlaRule) and rule.enabled
        for level in rule.levels
        if level.no_response is not None
    ]
    return min(levels, key=lambda d: d.delta, default=None)


@dataclass(frozen=True)
class ReportRules:
    """How tickets are measured: targets, calendar, and what the desk says of its SLA plans.

    Args:
        targets: the rules file's [targets] section (empty: no targets).
        calendar: count opening time of this calendar; None for calendar time.
        calendar_name: its name in the rules file, for the report's heading.
        first_response_fallback: the first-response target where [targets.first_response]
            gives none (the rules file's `no_response` level).
        sla_grace: the desk's SLA plans' grace periods by plan name (read with an admin login).
        statuses: the desk's status names, to tell a status move among "edited" events.
    """

    targets: Targets = field(default_factory=Targets)
    calendar: Calendar | None = None
    calendar_name: str | None = None
    first_response_fallback: Duration | None = None
    sla_grace: Mapping[str, timedelta] = field(default_factory=dict)
    statuses: Collection[str] = ()

    def first_response_target(self, priority: str | None, sla: str | None) -> timedelta | None:
        """Targets' sla, then priority, then default; else the `no_response` level."""
        found = self.targets.first_response.target(priority, sla) or self.first_response_fallback
        return None if found is None else found.delta

    def resolution_target(self, priority: str | None, sla: str | None) -> timedelta | None:
        """Targets' sla, then the desk's grace period for the plan, then priority, default."""
        table = self.targets.resolution
        if sla is not None and sla in table.sla:
            return table.sla[sla].delta
        if sla is not None and sla in self.sla_grace:
            return self.sla_grace[sla]
        found = table.target(priority, None)
        return None if found is None else found.delta


def _pauses(ticket: Ticket, rules: ReportRules) -> list[tuple[datetime, datetime | None]]:
    """The spans the ticket spent in a pause status (the last one may still be running)."""
    pause = set(rules.targets.pause_statuses)
    if not pause:
        return []
    spans: list[tuple[datetime, datetime | None]] = []
    since: datetime | None = None
    for event in ticket.events:
        moved = event.kind in ("closed", "reopened") or (
            event.kind == "edited" and event.value in rules.statuses
        )
        if not moved:
            continue
        if since is not None:
            spans.append((since, event.when))
            since = None
        if event.kind == "edited" and event.value in pause:
            since = event.when
    if since is not None:
        spans.append((since, None))
    return spans


def _measure(
    start: datetime,
    end: datetime,
    finished: bool,
    target: timedelta | None,
    rules: ReportRules,
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
    by: str | None = None,
) -> Measure:
    elapsed = max(end - start, _NONE)
    business = None if rules.calendar is None else business_time(start, end, rules.calendar)
    paused = sum(
        (
            business_time(max(p_start, start), min(p_end or end, end), rules.calendar)
            for p_start, p_end in pauses
        ),
        _NONE,
    )
    counted = (elapsed if business is None else business) - paused
    met: bool | None = None
    if target is not None:
        if finished:
            met = counted <= target
        elif counted > target:
            met = False  # still running, and already past its target
    return Measure(
        start=start,
        at=end if finished else None,
        by=by,
        elapsed=elapsed,
        business=business,
        paused=paused,
        counted=counted,
        target=target,
        met=met,
    )


def measure_ticket(row: TicketSummary, ticket: Ticket, rules: ReportRules, now: datetime) -> SlaRow:
    """One ticket's row: its first response and resolution against their targets at `now`.

    Raises:
        ValueError: the ticket has no creation time (neither its page nor its listing row).
    """
    created = ticket.created or row.created
    if created is None:
        raise ValueError(f"ticket #{row.number} has no creation time")
    automation = set(rules.targets.automation_agents)
    priority, sla = ticket.priority or row.priority, ticket.sla_plan or row.sla_plan

    # The last cycle: from creation or the last reopen to the first close after it.
    cycle_start, resolved, reopened = created, None, 0
    closer: str | None = None
    for event in ticket.events:
        if event.kind == "reopened":
            cycle_start, resolved, closer, reopened = event.when, None, None, reopened + 1
        elif event.kind == "closed" and resolved is None and event.when >= cycle_start:
            resolved, closer = event.when, event.actor
    closed = ticket.is_closed if ticket.state is not None else row.closed is not None
    if not closed:
        resolved = None  # the page says open: a close the events show was undone

    first = next(
        (
            e
            for e in ticket.thread
            if e.type == "response" and e.author not in automation and e.created >= created
        ),
        None,
    )
    if first is not None:
        response_end = first.created
    else:  # unanswered: the clock runs until now, or stopped when the ticket was closed
        response_end = (resolved or ticket.closed or now) if closed else now
    first_response = _measure(
        created,
        response_end,
        first is not None,
        rules.first_response_target(priority, sla),
        rules,
        by=first.author if first is not None else None,
    )

    agent = _assignee_when_resolved(ticket, row, resolved, closer, automation)
    resolution = _measure(
        cycle_start,
        resolved or now,
        resolved is not None,
        rules.resolution_target(priority, sla),
        rules,
        _pauses(ticket, rules),
        by=agent,
    )
    return SlaRow(
        number=row.number,
        subject=ticket.subject or row.subject,
        status=ticket.status,
        closed=closed,
        created=created,
        priority=priority,
        department=ticket.department or row.department,
        topic=ticket.help_topic or row.help_topic,
        sla=sla,
        agent=agent,
        team=row.team or ticket.assigned_team,
        reopened=max(reopened, row.reopen_count or 0),
        overdue=row.overdue or any(e.kind == "overdue" for e in ticket.events),
        first_response=first_response,
        resolution=resolution,
    )


def _assignee_when_resolved(
    ticket: Ticket,
    row: TicketSummary,
    resolved: datetime | None,
    closer: str | None,
    automation: Collection[str],
) -> str | None:
    """The agent assigned when the ticket was resolved (never an automation agent); the
    assigned agent now while it is open."""
    if resolved is None:
        now = row.agent or ticket.assigned_agent
        return None if now in automation else now
    agent: str | None = None
    team = row.team or ticket.assigned_team
    for event in ticket.events:
        if event.when > resolved:
            break
        if event.kind == "assigned" and event.value not in automation and event.value != team:
            agent = event.value
        elif event.kind == "released":
            agent = None
    if agent is None and closer is not None and closer not in automation:
        agent = closer  # closing an unassigned ticket assigns it to the one who closed it
    return agent


def _quantile(values: Sequence[timedelta], q: float) -> timedelta:
    """Linear interpolation between closest ranks (numpy's default, Excel's PERCENTILE.INC)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(measures: Sequence[Measure]) -> MetricSummary:
    """Counts, share met, median and 90th percentile of some tickets' measures."""
    met = sum(m.met is True for m in measures)
    missed = sum(m.met is False for m in measures)
    no_target = sum(m.target is None for m in measures)
    times = [m.counted for m in measures if m.finished]
    decided = met + missed
    return MetricSummary(
        tickets=len(measures),
        decided=decided,
        met=met,
        missed=missed,
        running=len(measures) - decided - no_target,
        no_target=no_target,
        share_met=met / decided if decided else None,
        median=_quantile(times, 0.5) if times else None,
        p90=_quantile(times, 0.9) if times else None,
    )


def _share(measures: Sequence[Measure]) -> float | None:
    return summarize(measures).share_met


def build_report(
    rows: Sequence[SlaRow],
    *,
    period: Period,
    now: datetime,
    by: Group,
    calendar_name: str | None = None,
    pages_read: int = 0,
    cache_hits: int = 0,
    unreadable: tuple[str, ...] = (),
) -> SlaReport:
    """The report over measured rows: overall, by group, by week, and the breaches."""
    overall = GroupSummary(
        group="(all)",
        first_response=summarize([r.first_response for r in rows]),
        resolution=summarize([r.resolution for r in rows]),
    )
    grouped: dict[Metric, dict[str, list[Measure]]] = {m: defaultdict(list) for m in METRICS}
    for row in rows:
        for metric in METRICS:
            grouped[metric][row.group(by, metric)].append(getattr(row, metric))
    names = sorted(set(grouped["first_response"]) | set(grouped["resolution"]))
    groups = tuple(
        GroupSummary(
            group=name,
            first_response=summarize(grouped["first_response"].get(name, [])),
            resolution=summarize(grouped["resolution"].get(name, [])),
        )
        for name in names
    )
    zone = ZoneInfo(period.timezone)
    weekly: dict[date, list[SlaRow]] = defaultdict(list)
    for row in rows:
        day = row.created.astimezone(zone).date()
        weekly[day - timedelta(days=day.weekday())].append(row)
    weeks = tuple(
        WeekShare(
            week=week,
            first_response=_share([r.first_response for r in weekly[week]]),
            resolution=_share([r.resolution for r in weekly[week]]),
        )
        for week in sorted(weekly)
    )
    breaches = [
        Breach(
            number=row.number,
            subject=row.subject,
            metric=metric,
            agent=getattr(row, metric).by or row.agent,
            over=over,
            finished=getattr(row, metric).finished,
        )
        for row in rows
        for metric in METRICS
        if (over := getattr(row, metric).over) is not None
    ]
    breaches.sort(key=lambda b: (-b.over, b.number, b.metric))
    return SlaReport(
        period=period,
        now=now,
        by=by,
        calendar=calendar_name,
        rows=tuple(rows),
        overall=overall,
        groups=groups,
        weeks=weeks,
        breaches=tuple(breaches),
        pages_read=pages_read,
        cache_hits=cache_hits,
        unreadable=unreadable,
    )
