"""The rules file: one TOML file, validated whole before anything runs.

Shape (every key below; `#` marks the optional ones with their default)::

    [settings]                                # optional table
    ledger = "osticket-automations.sqlite"    # relative to the rules file
    audit_log = "osticket-automations.jsonl"  # relative to the rules file
    max_actions = 50                          # per run
    max_actions_per_ticket_per_day = 3
    stop_after_failures = 5
    comment_actions = true                    # a note naming the rule with each automated change
    queue = 1                                 # the queue the listing reads (1 = Open)

    [calendars.<name>]                        # optional, any number
    timezone = "Europe/Paris"                 # IANA name
    hours = { mon = "08:00-12:00,13:00-17:00", tue = "08:00-17:00" }   # days left out are closed
    holidays = ["2026-12-25", 2027-01-01]     # ISO strings or TOML dates

    [targets]                                 # optional: what `osticket report sla` measures
    calendar = "office"                       # optional: targets in its business hours
    pause_statuses = ["Pending"]              # optional: resolution clock paused in these
    automation_agents = ["Help Desk Automation"]   # their responses are not a first response
    [targets.first_response]                  # optional; default: the no_response level
    default = "4h"                            # each optional; sla wins over priority,
    priority = { High = "1h" }                # priority over default
    sla = { "Practice SLA 1h" = "30m" }
    [targets.resolution]                      # optional; default: the SLA plan's grace
    default = "40h"                           # period read from the desk (admin login)
    sla = { "Default SLA" = "18h" }

    [[rules]]                                 # every rule: name (unique, no "|"), type,
    type = "auto_assign"                      # enabled (default true), id (default: a slug of
                                              # the name; keep it when renaming the rule)
    topic = "Report a Problem"                # the help topic, matched exactly
    department = "Support"                    # optional
    agents = ["Ada Admin", "Lim Ited"]        # exactly one of agents / team
    team = "Level I Support"
    strategy = "round_robin"                  # fixed (default; one agent) | round_robin |
                                              # least_loaded (both: agents only)
    [[rules]]
    type = "nudge_then_pending"
    statuses = ["Open", "Work in Progress"]
    nudge_after = "48h"
    pending_after = "72h"
    pending_status = "Pending"                # default
    resolve_after = "120h"                    # optional
    resolve_status = "Resolved"               # default
    calendar = "office"                       # optional: durations in its business hours
    template = "<p>Hello {customer_name}</p>" # default: a short reminder quoting {question}

    [[rules]]
    type = "sla_escalation"
    exempt_statuses = ["Pending"]             # default none
    calendar = "office"                       # optional
    [[rules.levels]]                          # one or more; names unique within the rule
    name = "warn"
    before_due = "2h"                         # exactly one of before_due, at_due = true,
                                              # after_due, no_response
    actions = [{ note = "SLA breach in 2 hours" }]   # each: exactly one of note, priority,
                                                     # assign_agent, assign_team, transfer
    [[rules]]
    type = "lifecycle"
    from_status = "Open"                      # default
    to_status = "Work in Progress"            # default

Durations are "90m", "48h" or "3d" (calendar time); with a calendar only "m" and "h". Templates
may use {customer_name}, {number}, {subject} and {question}; write "{{" and "}}" for braces.

Errors: `RulesError` lists each problem as ``<key path>: <what is expected>``, with rule and
level indexes counted from 0 (``rules[2].levels[0].after_due``), and ``(line N)`` when known.
TOML syntax errors carry the line and column tomllib reports. For validation errors the line is
found by a light scan of the text that follows table headers and ``key =`` lines (best effort:
it falls back to the nearest enclosing key or table it found, and gives no line for keys written
as dotted keys or inside multi-line inline tables).
"""

from __future__ import annotations

import hashlib
import re
import string
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from ._durations import Calendar, Duration, parse_duration

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "Action",
    "AutoAssignRule",
    "Conditions",
    "EscalationLevel",
    "EventRule",
    "LifecycleRule",
    "Notifier",
    "NudgeRule",
    "Problem",
    "Rule",
    "RuleAction",
    "RulesError",
    "RulesFile",
    "Settings",
    "SlaRule",
    "TargetTable",
    "Targets",
    "TimedRule",
    "load_rules",
    "parse_rules",
    "slug",
]

PLACEHOLDERS = ("customer_name", "number", "subject", "question")
DEFAULT_TEMPLATE = (
    "<p>Hello {customer_name},</p><p>We are still waiting for your answer on ticket #{number}"
    " ({subject}):</p><blockquote>{question}</blockquote>"
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rules file: where (key path, line) and what is expected."""

    path: str  # "" for the file as a whole
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.line is None:
            return text
        column = f", column {self.column}" if self.column is not None else ""
        return f"{text} (line {self.line}{column})"


class RulesError(ValueError):
    """Raised when a rules file is not valid TOML or does not describe valid rules."""

    def __init__(self, problems: Sequence[Problem], source: str = "<rules>") -> None:
        self.problems = tuple(problems)
        self.source = source
        count = len(self.problems)
        lines = "".join(f"\n  {p}" for p in self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}:{lines}")


def _to_duration(value: Any) -> Duration:
    duration = value if isinstance(value, Duration) else parse_duration(value)
    if duration.seconds() <= 0:
        # "At once" has its own spelling (at_due); a zero wait is a slip of the keyboard.
        raise ValueError(f"expected a duration above zero (like 90m or 48h), got {str(duration)!r}")
    return duration


def _rule_name(value: Any) -> str:
    # Ledger keys join rule names with "|"; a name holding one would make keys ambiguous.
    if not isinstance(value, str) or not value.strip() or "|" in value:
        raise ValueError(f"expected a non-empty string without '|', got {value!r}")
    return value.strip()


_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def slug(name: str) -> str:
    """A rule's default id: its name in lower-case ASCII letters and digits joined by "-"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    # A name with no ASCII letter or digit at all still gets a stable id.
    return text or "rule-" + hashlib.sha256(name.encode()).hexdigest()[:10]


def _rule_id(value: Any) -> str:
    # Ids go into once-only keys and the plain-ASCII markers the desk keeps on notes.
    if not isinstance(value, str) or not _RULE_ID.fullmatch(value):
        raise ValueError(
            "expected 1-64 lower-case ASCII letters, digits, '-', '_' or '.', starting with a"
            f" letter or digit, got {value!r}"
        )
    return value


Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
DurationValue = Annotated[Duration, PlainValidator(_to_duration), PlainSerializer(str)]
Names = Annotated[tuple[Name, ...], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Settings(_Model):
    """How runs behave: where the ledger and audit log live, and the safety limits."""

    ledger: Name = "osticket-automations.sqlite"
    audit_log: Name = "osticket-automations.jsonl"
    max_actions: Annotated[StrictInt, Field(gt=0)] = 50
    max_actions_per_ticket_per_day: Annotated[StrictInt, Field(gt=0)] = 3
    stop_after_failures: Annotated[StrictInt, Field(gt=0)] = 5
    comment_actions: StrictBool = True
    queue: Annotated[StrictInt, Field(gt=0)] = 1


def _exactly_one(model: BaseModel, keys: Sequence[str]) -> None:
    """Refuse a model that sets none or several of `keys`."""
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise RulesError([Problem("", f"expected exactly one of {', '.join(keys)}, got {got}")])


def _unique(names: Sequence[str], what: str, path: str) -> list[Problem]:
    """Problems for names that repeat, ignoring case and runs of spaces ("A  b" = "a b")."""
    seen: dict[str, str] = {}
    problems = []
    for i, name in enumerate(names):
        key = " ".join(name.split()).casefold()
        if key in seen:
            message = f"expected unique {what}, got {name!r} twice"
            if seen[key] != name:
                message = (
                    f"expected unique {what} (compared ignoring case and spaces),"
                    f" got {seen[key]!r} and {name!r}"
                )
            problems.append(Problem(f"{path}[{i}]", message))
        seen.setdefault(key, name)
    return problems


class _Rule(_Model):
    name: Annotated[str, PlainValidator(_rule_name)]
    id: Annotated[str, PlainValidator(_rule_id)] | None = None
    enabled: StrictBool = True

    @property
    def rule_id(self) -> str:
        """What the ledger and the desk's markers know the rule by: `id`, else a slug of the
        name (so a rule renamed with its `id` set keeps what it did)."""
        return self.id or slug(self.name)

    def durations(self) -> Iterator[tuple[str, Duration]]:
        """(key path relative to the rule, duration) for every duration the rule holds."""
        return iter(())


class AutoAssignRule(_Rule):
    """Assign unassigned tickets of a help topic (and department) to agents or a team."""

    type: Literal["auto_assign"]
    topic: Name
    department: Name | None = None
    agents: Names | None = None
    team: Name | None = None
    strategy: Literal["fixed", "round_robin", "least_loaded"] = "fixed"

    @model_validator(mode="after")
    def _one_assignee(self) -> AutoAssignRule:
        _exactly_one(self, ("agents", "team"))
        problems = _unique(self.agents or (), "agents", "agents")
        if self.team is not None and self.strategy != "fixed":
            problems.append(
                Problem("strategy", f"expected 'fixed' with a team, got {self.strategy!r}")
            )
        if self.agents is not None and self.strategy == "fixed" and len(self.agents) != 1:
            problems.append(
                Problem(
                    "agents",
                    f"expected one agent with strategy 'fixed', got {len(self.agents)}",
                )
            )
        if problems:
            raise RulesError(problems)
        return self


def _check_template(value: Any, placeholders: Sequence[str] = PLACEHOLDERS) -> str:
    expected = f"expected only the placeholders {', '.join('{' + p + '}' for p in placeholders)}"
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(value)]
    except ValueError as exc:  # e.g. a lone "{"
        raise ValueError(f"{expected} (write {{{{ and }}}} for braces): {exc}") from None
    for field, spec, conversion in fields:
        if field is not None and (field not in placeholders or spec or conversion):
            raise ValueError(f"{expected}, got {{{field}}}")
    return value


class NudgeRule(_Rule):
    """Remind a customer who has not answered, then set Pending (and optionally Resolved)."""

    type: Literal["nudge_then_pending"]
    statuses: Names
    nudge_after: DurationValue
    pending_after: DurationValue
    pending_status: Name = "Pending"
    resolve_after: DurationValue | None = None
    resolve_status: Name = "Resolved"
    calendar: Name | None = None
    template: Annotated[str, PlainValidator(lambda v: _check_template(v))] = DEFAULT_TEMPLATE

    def durations(self) -> Iterator[tuple[str, Duration]]:
        """(key path relative to the rule, duration) for every duration the rule holds."""
        yield "nudge_after", self.nudge_after
        yield "pending_after", self.pending_after
        if self.resolve_after is not None:
            yield "resolve_after", self.resolve_after


class Action(_Model):
    """One escalation action: exactly one of note, priority, assign_agent, assign_team, transfer."""

    note: Name | None = None
    priority: Name | None = None
    assign_agent: Name | None = None
    assign_team: Name | None = None
    transfer: Name | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Action:
        _exactly_one(self, ACTION_KEYS)
        return self

    @property
    def key(self) -> str:
        """Which of the five keys is set."""
        return next(k for k in ACTION_KEYS if getattr(self, k) is not None)

    @property
    def value(self) -> str:
        """The note text, priority, agent, team or department."""
        value: str = getattr(self, self.key)
        return value


def _only_true(value: Any) -> bool:
    if value is not True:
        raise ValueError(f"expected true (or no at_due key), got {str(value).lower()}")
    return True


_MINUTE = timedelta(minutes=1)
ACTION_KEYS = ("note", "priority", "assign_agent", "assign_team", "transfer")
TRIGGER_KEYS = ("before_due", "at_due", "after_due", "no_response")


class EscalationLevel(_Model):
    """One SLA level: a trigger relative to the due date or to creation, and its actions."""

    name: Name
    before_due: DurationValue | None = None
    at_due: Annotated[bool, PlainValidator(_only_true)] | None = None
    after_due: DurationValue | None = None
    no_response: DurationValue | None = None
    actions: Annotated[tuple[Action, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_trigger(self) -> EscalationLevel:
        _exactly_one(self, TRIGGER_KEYS)
        return self

    @property
    def offset_minutes(self) -> int:
        """Where the level sits on its time line: minutes after the due date or creation."""
        if self.before_due is not None:
            return -(self.before_due.delta // _MINUTE)
        duration = self.after_due or self.no_response
        return duration.delta // _MINUTE if duration else 0


class SlaRule(_Rule):
    """Act as the SLA due date nears or passes, or when no agent has responded in time."""

    type: Literal["sla_escalation"]
    exempt_statuses: tuple[Name, ...] = ()
    calendar: Name | None = None
    levels: Annotated[tuple[EscalationLevel, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_levels(self) -> SlaRule:
        problems = _unique([level.name for level in self.levels], "level names", "levels")
        if problems:
            raise RulesError([Problem(f"{p.path}.name", p.message) for p in problems])
        return self

    def durations(self) -> Iterator[tuple[str, Duration]]:
        """(key path relative to the rule, duration) for every duration the rule holds."""
        for i, level in enumerate(self.levels):
            for key in ("before_due", "after_due", "no_response"):
                duration = getattr(level, key)
                if duration is not None:
                    yield f"levels[{i}].{key}", duration


class LifecycleRule(_Rule):
    """Move a ticket in one status that an agent has responded to into another status."""

    type: Literal["lifecycle"]
    from_status: Name = "Open"
    to_status: Name = "Work in Progress"

    @model_validator(mode="after")
    def _moves(self) -> LifecycleRule:
        if self.to_status.casefold() == self.from_status.casefold():
            message = f"expected a status other than from_status, got {self.to_status!r} for both"
            raise RulesError([Problem("to_status", message)])
        return self


# -- timed and event rules (planned in _timed.py), and the notifiers their actions name ----

# What a notification or a timed/event reply may say about its ticket.
TICKET_PLACEHOLDERS = (
    "number",
    "subject",
    "status",
    "priority",
    "department",
    "help_topic",
    "agent",
    "team",
    "customer_name",
    "event",
    "rule",
    "link",
)
EVENT_KINDS = (
    "created",
    "customer_replied",
    "agent_replied",
    "status_changed",
    "assigned",
    "reopened",
    "overdue",
    "closed",
)
ELAPSED_KEYS = ("age", "in_status_for", "since_customer_message", "since_our_response")
RULE_ACTION_KEYS = (*ACTION_KEYS, "status", "reply", "notify")


def _one_or_more(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


OneOrMore = Annotated[tuple[Name, ...], BeforeValidator(_one_or_more), Field(min_length=1)]
TicketTemplate = Annotated[str, PlainValidator(lambda v: _check_template(v, TICKET_PLACEHOLDERS))]


class Conditions(_Model):
    """What a timed or event rule asks of a ticket; every key given must hold (lists: any of).

    Elapsed times are each "at least", counted in the rule's calendar when it has one.
    """

    status: OneOrMore | None = None
    topic: OneOrMore | None = None
    department: OneOrMore | None = None
    priority: OneOrMore | None = None
    agent: OneOrMore | None = None
    unassigned: StrictBool | None = None  # true: no agent and no team
    team: OneOrMore | None = None
    source: OneOrMore | None = None
    answered: StrictBool | None = None
    overdue: StrictBool | None = None
    age: DurationValue | None = None  # since the ticket was created
    in_status_for: DurationValue | None = None  # since it entered its current status
    since_customer_message: DurationValue | None = None
    since_our_response: DurationValue | None = None

    def elapsed(self) -> Iterator[tuple[str, Duration]]:
        """(key, duration) for each elapsed-time condition given."""
        for key in ELAPSED_KEYS:
            duration = getattr(self, key)
            if duration is not None:
                yield key, duration


class RuleAction(Action):
    """One action of a timed or event rule.

    Exactly one of note, priority, assign_agent, assign_team, transfer, status, reply, notify;
    a reply may also carry `status` (one reply that sets it, as the reply form does), a notify
    its `text` template.
    """

    status: Name | None = None
    reply: TicketTemplate | None = None
    notify: Name | None = None
    text: TicketTemplate | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> RuleAction:
        keys = [k for k in RULE_ACTION_KEYS if getattr(self, k) is not None]
        if self.reply is not None and keys == ["status", "reply"]:
            keys = ["reply"]
        if len(keys) != 1:
            got = ", ".join(keys) if keys else "none"
            raise RulesError(
                [
                    Problem(
                        "",
                        f"expected exactly one of {', '.join(RULE_ACTION_KEYS)}"
                        f" (a reply may also set status), got {got}",
                    )
                ]
            )
        if self.text is not None and self.notify is None:
            raise RulesError([Problem("text", "expected only with notify")])
        return self

    @property
    def key(self) -> str:
        """Which action it is: note, priority, ..., reply or notify."""
        if self.reply is not None:
            return "reply"
        return next(k for k in RULE_ACTION_KEYS if getattr(self, k) is not None)


class TimedRule(_Rule):
    """Act on tickets that match conditions and have waited long enough (e.g. auto-close)."""

    type: Literal["timed"]
    when: Conditions
    calendar: Name | None = None
    # Where its tickets come from (default: the pass's listing, settings.queue): a queue of
    # its own, or the desk's search for when.status updated within this long.
    queue: Annotated[StrictInt, Field(gt=0)] | None = None
    updated_within: DurationValue | None = None
    actions: Annotated[tuple[RuleAction, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _some_elapsed_time(self) -> TimedRule:
        if next(self.when.elapsed(), None) is None:
            raise RulesError(
                [Problem("when", f"expected at least one of {', '.join(ELAPSED_KEYS)}")]
            )
        problems = []
        within = self.updated_within
        if within is not None and self.queue is not None:
            problems.append(Problem("updated_within", "expected either queue or updated_within"))
        elif within is not None and self.when.status is None:
            problems.append(
                Problem("updated_within", "expected with when.status (the search is by status)")
            )
        elif (
            within is not None
            and self.when.in_status_for is not None
            and within.delta <= self.when.in_status_for.delta
        ):
            problems.append(
                Problem(
                    "updated_within",
                    f"expected longer than when.in_status_for ({self.when.in_status_for}):"
                    " the search would never list a ticket old enough",
                )
            )
        if problems:
            raise RulesError(problems)
        return self

    def durations(self) -> Iterator[tuple[str, Duration]]:
        """(key path relative to the rule, duration) for every duration the rule holds."""
        for key, duration in self.when.elapsed():
            yield f"when.{key}", duration


class EventRule(_Rule):
    """Act once on each event a pass detects (a ticket created, replied to, closed, ...)."""

    type: Literal["event"]
    on: Annotated[
        tuple[Literal[EVENT_KINDS], ...],  # type: ignore[valid-type]
        BeforeValidator(_one_or_more),
        Field(min_length=1),
    ]
    to_status: Name | None = None  # status_changed / closed: only to this status
    when: Conditions = Conditions()
    actions: Annotated[tuple[RuleAction, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _no_elapsed_time(self) -> EventRule:
        elapsed = [key for key, _ in self.when.elapsed()]
        if elapsed:
            raise RulesError(
                [Problem(f"when.{elapsed[0]}", "expected no elapsed time in an event rule")]
            )
        return self


class Notifier(_Model):
    """Where a notify action sends: a Slack, Teams (Workflows) or plain JSON webhook.

    The URL is a secret: read from an environment variable or a file, never written in the
    rules file.
    """

    type: Literal["slack", "teams", "json"]
    url_env: Name | None = None
    url_file: Name | None = None  # relative to the rules file
    url: Any = None  # refused: only here to say why
    timeout: Annotated[float, Field(gt=0, le=60)] = 10.0

    @model_validator(mode="after")
    def _url_source(self) -> Notifier:
        if self.url is not None:
            raise RulesError(
                [Problem("url", "a webhook URL is a secret: give url_env or url_file instead")]
            )
        _exactly_one(self, ("url_env", "url_file"))
        return self


class TargetTable(_Model):
    """Targets for one measure: a default, and by priority or SLA plan name."""

    default: DurationValue | None = None
    priority: dict[Name, DurationValue] = {}
    sla: dict[Name, DurationValue] = {}

    def target(self, priority: str | None, sla: str | None) -> Duration | None:
        """The ticket's target: its SLA plan's, else its priority's, else the default."""
        if sla is not None and sla in self.sla:
            return self.sla[sla]
        if priority is not None and priority in self.priority:
            return self.priority[priority]
        return self.default

    def durations(self) -> Iterator[tuple[str, Duration]]:
        """(key path relative to the table, duration) for every duration the table holds."""
        if self.default is not None:
            yield "default", self.default
        for kind in ("priority", "sla"):
            for name, duration in getattr(self, kind).items():
                yield f"{kind}.{name}", duration


class Targets(_Model):
    """What the SLA report measures against: first response and resolution targets."""

    calendar: Name | None = None
    pause_statuses: tuple[Name, ...] = ()
    automation_agents: tuple[Name, ...] = ()
    first_response: TargetTable = TargetTable()
    resolution: TargetTable = TargetTable()


Rule = Annotated[
    AutoAssignRule | NudgeRule | SlaRule | LifecycleRule | TimedRule | EventRule,
    Field(discriminator="type"),
]
RULE_TYPES = ("auto_assign", "nudge_then_pending", "sla_escalation", "lifecycle", "timed", "event")


class RulesFile(_Model):
    """A whole rules file: settings, named calendars and the rules in file order."""

    settings: Settings = Settings()
    calendars: dict[Name, Calendar] = {}
    notifiers: dict[Name, Notifier] = {}
    rules: tuple[Rule, ...] = ()
    targets: Targets = Targets()

    @model_validator(mode="after")
    def _cross_references(self) -> RulesFile:
        problems = _unique([rule.name for rule in self.rules], "rule names", "rules")
        problems = [Problem(f"{p.path}.name", p.message) for p in problems]
        if not problems:  # two equal names would say the same twice
            ids = _unique([rule.rule_id for rule in self.rules], "rule ids", "rules")
            problems = [
                Problem(f"{p.path}.id", p.message + " (set id to tell the rules apart)")
                for p in ids
            ]
        for i, rule in enumerate(self.rules):
            for j, action in enumerate(getattr(rule, "actions", ())):
                if (
                    isinstance(action, RuleAction)
                    and action.notify is not None
                    and action.notify not in self.notifiers
                ):
                    defined = ", ".join(sorted(self.notifiers)) or "none"
                    problems.append(
                        Problem(
                            f"rules[{i}].actions[{j}].notify",
                            f"expected a notifier defined under [notifiers] ({defined}),"
                            f" got {action.notify!r}",
                        )
                    )
            calendar = getattr(rule, "calendar", None)
            if calendar is None:
                continue
            if calendar not in self.calendars:
                defined = ", ".join(sorted(self.calendars)) or "none"
                problems.append(
                    Problem(
                        f"rules[{i}].calendar",
                        f"expected a calendar defined under [calendars] ({defined}),"
                        f" got {calendar!r}",
                    )
                )
            for path, duration in rule.durations():
                if duration.unit == "d":
                    problems.append(
                        Problem(
                            f"rules[{i}].{path}",
                            f"expected minutes or hours (like 90m or 48h) with a calendar,"
                            f" got {str(duration)!r}",
                        )
                    )
        problems += self._target_problems()
        if problems:
            raise RulesError(problems)
        return self

    def _target_problems(self) -> list[Problem]:
        calendar = self.targets.calendar
        if calendar is None:
            return []
        if calendar not in self.calendars:
            defined = ", ".join(sorted(self.calendars)) or "none"
            message = f"expected a calendar defined under [calendars] ({defined}), got {calendar!r}"
            return [Problem("targets.calendar", message)]
        return [
            Problem(
                f"targets.{measure}.{path}",
                f"expected minutes or hours (like 90m or 48h) with a calendar, got {str(d)!r}",
            )
            for measure in ("first_response", "resolution")
            for path, d in getattr(self.targets, measure).durations()
            if d.unit == "d"
        ]

    def calendar_of(self, rule: Rule) -> Calendar | None:
        """The calendar a rule counts business time in, or None for calendar time."""
        name = getattr(rule, "calendar", None)
        return None if name is None else self.calendars[name]

    def names_to_resolve(self) -> dict[str, set[str]]:
        """Every desk name the file uses, by kind, for checking them against a desk.

        Kinds: status, agent, team, department, topic, priority. Disabled rules count too,
        so that enabling one later cannot bring an unknown name.
        """
        names: dict[str, set[str]] = {kind: set() for kind in _NAME_KINDS}
        for rule in self.rules:
            for kind, found in self.names_of(rule).items():
                names[kind] |= found
        names["status"].update(self.targets.pause_statuses)
        names["agent"].update(self.targets.automation_agents)
        for table in (self.targets.first_response, self.targets.resolution):
            names["priority"].update(table.priority)
        return names

    @staticmethod
    def names_of(rule: Rule) -> dict[str, set[str]]:
        """The desk names one rule uses, by kind (as `names_to_resolve`)."""
        names: dict[str, set[str]] = {kind: set() for kind in _NAME_KINDS}
        if isinstance(rule, AutoAssignRule):
            names["topic"].add(rule.topic)
            names["department"].update([rule.department] if rule.department else [])
            names["agent"].update(rule.agents or ())
            names["team"].update([rule.team] if rule.team else [])
        elif isinstance(rule, NudgeRule):
            names["status"].update(rule.statuses)
            names["status"].add(rule.pending_status)
            if rule.resolve_after is not None:
                names["status"].add(rule.resolve_status)
        elif isinstance(rule, SlaRule):
            names["status"].update(rule.exempt_statuses)
            for level in rule.levels:
                for action in level.actions:
                    kind = _ACTION_NAME_KINDS.get(action.key)
                    if kind is not None:
                        names[kind].add(action.value)
        elif isinstance(rule, LifecycleRule):
            names["status"].update((rule.from_status, rule.to_status))
        else:
            _conditions_names(rule.when, names)
            if isinstance(rule, EventRule) and rule.to_status is not None:
                names["status"].add(rule.to_status)
            for rule_action in rule.actions:
                for key in ("status", *_ACTION_NAME_KINDS):
                    value = getattr(rule_action, key)
                    if value is not None:
                        names[_ACTION_NAME_KINDS.get(key, "status")].add(value)
        return names


def _conditions_names(when: Conditions, names: dict[str, set[str]]) -> None:
    for key, kind in (
        ("status", "status"),
        ("topic", "topic"),
        ("department", "department"),
        ("priority", "priority"),
        ("agent", "agent"),
        ("team", "team"),
    ):
        names[kind].update(getattr(when, key) or ())


_NAME_KINDS = ("status", "agent", "team", "department", "topic", "priority")
_ACTION_NAME_KINDS = {
    "priority": "priority",
    "assign_agent": "agent",
    "assign_team": "team",
    "transfer": "department",
}


def load_rules(path: str | Path) -> RulesFile:
    """Read and validate a rules file.

    Raises:
        RulesError: the file cannot be read, is not TOML, or does not describe valid rules.
    """
    try:
        # utf-8-sig: Windows Notepad starts a UTF-8 file with a byte order mark.
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        problem = Problem("", f"expected a readable UTF-8 file: {reason}")
        raise RulesError([problem], str(path)) from None
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "<rules>") -> RulesFile:
    """Validate the text of a rules file; `source` names it in error messages.

    Raises:
        RulesError: the text is not TOML, or does not describe valid rules.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([_syntax_problem(exc)], source) from None
    try:
        return RulesFile.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text)
        problems = [Problem(p.path, p.message, _line_of(p.path, lines)) for p in _problems_of(exc)]
        raise RulesError(problems, source) from None


_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def _syntax_problem(exc: Exception) -> Problem:
    found = _AT.search(str(exc))
    message = f"expected valid TOML, got: {_AT.sub('', str(exc))}"
    if found is None:
        return Problem("", message)
    return Problem("", message, int(found.group(1)), int(found.group(2)))


def _problems_of(exc: ValidationError) -> list[Problem]:
    """Pydantic's errors as key paths and what is expected there."""
    problems: list[Problem] = []
    errors = exc.errors()
    paths = [_path(error["loc"]) for error in errors]
    for error, path in zip(errors, paths, strict=True):
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, RulesError):
            problems.extend(Problem(_join(path, p.path), p.message, p.line) for p in cause.problems)
            continue
        kind = error["type"]
        if kind == "union_tag_invalid":
            message = f"expected one of {_RULE_TYPES_TEXT}, got {error['ctx']['tag']!r}"
        elif kind == "union_tag_not_found":
            message = f"expected this key (one of {_RULE_TYPES_TEXT}); it is missing"
        elif kind == "missing":
            message = "expected this key; it is missing"
        elif kind == "extra_forbidden":
            message = "unknown key (check its spelling and table)"
        elif kind == "too_short":
            if any(other.startswith(f"{path}[") for other in paths):
                continue  # pydantic counts only the valid items; the others' problems say why
            message = f"expected at least {error['ctx']['min_length']} item, got none"
        elif kind == "string_too_short":
            message = "expected a non-empty string, got ''"
        elif isinstance(cause, ValueError):
            message = str(cause)
        else:
            expected = error["msg"].replace("Input should be", "expected", 1)
            message = f"{expected}, got {error['input']!r}"
        problems.append(
            Problem(_join(path, "type") if kind.startswith("union_tag") else path, message)
        )
    return problems


_RULE_TYPES_TEXT = ", ".join(repr(t) for t in RULE_TYPES)


def _path(loc: tuple[int | str, ...]) -> str:
    """("rules", 2, "nudge_then_pending", "nudge_after") -> "rules[2].nudge_after"."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            continue  # a bad dict key: the message already says the key is the problem
        elif part in RULE_TYPES and i >= 2 and loc[i - 2] == "rules":
            continue  # the discriminated union names the branch it tried
        else:
            text += f".{part}" if text else part
    return text


def _join(path: str, relative: str) -> str:
    if not relative:
        return path
    if not path or relative.startswith("["):
        return path + relative
    return f"{path}.{relative}"


_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _key_lines(text: str) -> dict[str, int]:
    """Key paths -> the line that opens them, from a light scan of table headers and keys."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}  # array-of-tables path -> how many seen so far
    table = ""
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            in_string = (line.count('"""') + line.count("'''")) % 2 == 0
            continue
        header = _HEADER.match(line)
        if header is not None:
            table = ""
            parts = header.group(2).split(".")
            for i, part in enumerate(parts):
                table = _join(table, part.strip().strip("\"'"))
                if header.group(1) == "[[" and i == len(parts) - 1:
                    counts[table] = counts.get(table, 0) + 1  # a new element of this array
                if table in counts:  # within an array of tables: its latest element
                    table += f"[{counts[table] - 1}]"
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key is not None:
            lines.setdefault(_join(table, key.group(1).strip("\"'")), number)
            in_string = (line.count('"""') + line.count("'''")) % 2 == 1
    return lines


def _line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of `path`, or of the nearest enclosing key or table the scan found."""
    while path:
        if path in lines:
            return lines[path]
        path = re.sub(r"(\[\d+\]|\.?[^.\[]+)$", "", path)
    return None
