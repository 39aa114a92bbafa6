"""The SLA report's values: a period, per-ticket rows, and the summary by group."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

__all__ = [
    "GROUPS",
    "Breach",
    "Group",
    "GroupSummary",
    "Measure",
    "MetricSummary",
    "Period",
    "SlaReport",
    "SlaRow",
    "WeekShare",
]

Group = Literal["agent", "team", "department", "topic", "priority", "sla"]
GROUPS: tuple[Group, ...] = ("agent", "team", "department", "topic", "priority", "sla")
Metric = Literal["first_response", "resolution"]


class _Value(BaseModel):
    # Durations go to JSON as seconds: what a spreadsheet or a script adds up.
    model_config = ConfigDict(frozen=True, ser_json_timedelta="float")


class Period(_Value):
    """Creation dates from `start` to `end`, both included, as days in an IANA time zone."""

    start: date
    end: date
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"expected --to on or after --from, got {self.start} to {self.end}")
        return self

    @property
    def first_instant(self) -> datetime:
        """The period's first instant (midnight of `start` in its zone)."""
        return datetime.combine(self.start, time(), ZoneInfo(self.timezone))

    @property
    def end_instant(self) -> datetime:
        """The instant just after the period (midnight after `end` in its zone)."""
        return datetime.combine(self.end + timedelta(days=1), time(), ZoneInfo(self.timezone))

    def holds(self, moment: datetime) -> bool:
        """Whether `moment` falls within the period."""
        return self.first_instant <= moment < self.end_instant


class Measure(_Value):
    """One measure of a ticket (first response or resolution) against its target.

    `elapsed` is calendar time, `business` opening time of the report's calendar (None
    without one); `counted` is the one held against the target, less any paused time. An
    unfinished measure (no response yet, not resolved yet) counts up to the report's `now`
    (or the close, for a ticket closed unanswered) and has no `at`. `met` is None when there
    is no target, or when the clock is still running and the target has not passed yet.
    """

    start: AwareDatetime
    at: AwareDatetime | None = None
    by: str | None = None  # who responded first / the assignee when it was resolved
    elapsed: timedelta
    business: timedelta | None = None
    paused: timedelta = timedelta(0)
    counted: timedelta
    target: timedelta | None = None
    met: bool | None = None

    @property
    def finished(self) -> bool:
        """True once responded / resolved."""
        return self.at is not None

    @property
    def over(self) -> timedelta | None:
        """By how much the target was missed (None unless missed)."""
        if self.met is not False or self.target is None:
            return None
        return self.counted - self.target


class SlaRow(_Value):
    """One ticket of the period: its fields as the report groups them, and both measures."""

    number: str
    subject: str
    status: str
    closed: bool
    created: AwareDatetime
    priority: str | None = None
    department: str | None = None
    topic: str | None = None
    sla: str | None = None
    agent: str | None = None  # assigned agent now, or when it was resolved
    team: str | None = None
    reopened: int = 0
    overdue: bool = False  # the desk flagged it overdue (a thread event, or the listing)
    first_response: Measure
    resolution: Measure

    def group(self, by: Group, metric: Metric) -> str:
        """The row's group: first response by who responded first, resolution by assignee."""
        if by == "agent":
            value = self.first_response.by if metric == "first_response" else self.agent
        else:
            value = getattr(self, by)
        return value or "(none)"


class MetricSummary(_Value):
    """How one measure went over some tickets: targets met, and the times it took.

    `decided` counts tickets whose target was met or missed (a running clock whose target
    has not passed yet is `running`); `share_met` is met / decided. `median` and `p90` are
    over the finished measures' counted times (linear interpolation between ranks).
    """

    tickets: int
    decided: int
    met: int
    missed: int
    running: int
    no_target: int
    share_met: float | None = None
    median: timedelta | None = None
    p90: timedelta | None = None


class GroupSummary(_Value):
    """Both measures for one group (an agent, a team, ...)."""

    group: str
    first_response: MetricSummary
    resolution: MetricSummary


class WeekShare(_Value):
    """The share of targets met among the tickets created in one ISO week (Monday's date)."""

    week: date
    first_response: float | None = None
    resolution: float | None = None


class Breach(_Value):
    """A missed target: which ticket, which measure, whose, and by how much."""

    number: str
    subject: str
    metric: Metric
    agent: str | None = None
    over: timedelta
    finished: bool


class SlaReport(_Value):
    """An SLA report: the rows, overall and grouped summaries, weekly shares and breaches."""

    period: Period
    now: AwareDatetime
    by: Group
    calendar: str | None = None  # the calendar's name when times are business times
    rows: tuple[SlaRow, ...]
    overall: GroupSummary
    groups: tuple[GroupSummary, ...]
    weeks: tuple[WeekShare, ...]
    breaches: tuple[Breach, ...]
    pages_read: int = 0
    cache_hits: int = 0
    unreadable: tuple[str, ...] = ()  # listed, but the desk no longer showed their page
