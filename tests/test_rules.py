"""The rules file: the example loads; each mistake is named by key path, line and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from automations._durations import parse_duration
from automations._rules import (
    AutoAssignRule,
    LifecycleRule,
    NudgeRule,
    Problem,
    RulesError,
    RulesFile,
    SlaRule,
    load_rules,
    parse_rules,
)

EXAMPLE = Path(__file__).parent.parent / "examples" / "rules.toml"

# A valid file; each case below breaks one line of it.
VALID = '''\
[settings]
max_actions = 20

[calendars.office]
timezone = "Europe/Paris"
hours = { mon = "08:00-17:00", fri = "08:00-16:00" }
holidays = ["2026-12-25"]

[[rules]]
name = "Problems"
type = "auto_assign"
topic = "Report a Problem"
agents = ["Ada Admin", "Lim Ited"]
strategy = "round_robin"

[[rules]]
name = "Nudge"
type = "nudge_then_pending"
statuses = ["Open"]
nudge_after = "16h"
pending_after = "24h"
calendar = "office"
template = """<p>Hello {customer_name}</p>
<blockquote>{question}</blockquote>"""

[[rules]]
name = "SLA"
type = "sla_escalation"

[[rules.levels]]
name = "warn"
before_due = "2h"
actions = [{ note = "Breach in 2 hours" }]

[[rules.levels]]
name = "breached"
at_due = true
actions = [{ priority = "High" }, { assign_team = "Level I Support" }]

[[rules]]
name = "Answered"
type = "lifecycle"
'''


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.toml")
    return list(caught.value.problems)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line holding `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_valid_text_is_valid() -> None:
    rules = parse_rules(VALID)
    assert [type(rule) for rule in rules.rules] == [
        AutoAssignRule,
        NudgeRule,
        SlaRule,
        LifecycleRule,
    ]
    nudge = rules.rules[1]
    assert isinstance(nudge, NudgeRule)
    assert nudge.nudge_after == parse_duration("16h")
    assert nudge.enabled is True
    assert rules.calendar_of(nudge) is rules.calendars["office"]
    assert rules.calendar_of(rules.rules[0]) is None
    assert rules.settings.max_actions == 20
    assert rules.settings.comment_actions is True


def test_the_example_file_loads_with_every_rule_type() -> None:
    rules = load_rules(EXAMPLE)
    assert {rule.type for rule in rules.rules} == {
        "auto_assign",
        "nudge_then_pending",
        "sla_escalation",
        "lifecycle",
        "timed",
        "event",
    }
    sla = next(rule for rule in rules.rules if isinstance(rule, SlaRule))
    triggers = {
        key
        for level in sla.levels
        for key in ("before_due", "at_due", "after_due", "no_response")
        if getattr(level, key) is not None
    }
    assert triggers == {"before_due", "at_due", "after_due", "no_response"}


def test_the_example_uses_the_stock_desk_names() -> None:
    assert load_rules(EXAMPLE).names_to_resolve() == {
        "status": {"Open", "Work in Progress", "Pending", "Resolved", "Closed"},
        "agent": {"Ada Admin", "Lim Ited"},
        "team": {"Level I Support"},
        "department": {"Sales", "Maintenance"},
        "topic": {"Report a Problem", "Report a Problem / Access Issue", "General Inquiry"},
        "priority": {"High", "Emergency"},
    }


def test_names_to_resolve_of_the_valid_text() -> None:
    assert parse_rules(VALID).names_to_resolve() == {
        "status": {"Open", "Pending", "Work in Progress"},
        "agent": {"Ada Admin", "Lim Ited"},
        "team": {"Level I Support"},
        "department": set(),
        "topic": {"Report a Problem"},
        "priority": {"High"},
    }


# (the line to change, its replacement, the key path, what is expected)
CASES = [
    (
        'nudge_after = "16h"',
        'nudge_after = "2 days"',
        "rules[1].nudge_after",
        "expected a duration like 90m, 48h or 3d, got '2 days'",
    ),
    (
        'nudge_after = "16h"',
        "nudge_after = 16",
        "rules[1].nudge_after",
        "expected a duration like 90m, 48h or 3d, got 16",
    ),
    (
        'pending_after = "24h"',
        'pending_after = "3d"',
        "rules[1].pending_after",
        "expected minutes or hours (like 90m or 48h) with a calendar, got '3d'",
    ),
    (
        'calendar = "office"',
        'calendar = "ofice"',
        "rules[1].calendar",
        "expected a calendar defined under [calendars] (office), got 'ofice'",
    ),
    (
        "<p>Hello {customer_name}</p>",
        "<p>Hello {name}</p>",
        "rules[1].template",
        "expected only the placeholders {customer_name}, {number}, {subject}, {question},"
        " got {name}",
    ),
    (
        "<p>Hello {customer_name}</p>",
        "<p>Hello {customer_name!r}</p>",
        "rules[1].template",
        "expected only the placeholders {customer_name}, {number}, {subject}, {question},"
        " got {customer_name}",
    ),
    (
        'statuses = ["Open"]',
        "statuses = []",
        "rules[1].statuses",
        "expected at least 1 item, got none",
    ),
    (
        'strategy = "round_robin"',
        'strategy = "random"',
        "rules[0].strategy",
        "expected 'fixed', 'round_robin' or 'least_loaded', got 'random'",
    ),
    (
        'strategy = "round_robin"',
        'strategy = "fixed"',
        "rules[0].agents",
        "expected one agent with strategy 'fixed', got 2",
    ),
    (
        'agents = ["Ada Admin", "Lim Ited"]',
        'agents = ["Ada Admin", "Ada Admin"]',
        "rules[0].agents[1]",
        "expected unique agents, got 'Ada Admin' twice",
    ),
    (
        'agents = ["Ada Admin", "Lim Ited"]',
        'agents = ["Ada Admin", "Lim Ited"]\nteam = "Level I Support"',
        "rules[0]",
        "expected exactly one of agents, team, got agents, team",
    ),
    (
        'agents = ["Ada Admin", "Lim Ited"]',
        "",
        "rules[0]",
        "expected exactly one of agents, team, got none",
    ),
    (
        'agents = ["Ada Admin", "Lim Ited"]\nstrategy = "round_robin"',
        'team = "Level I Support"\nstrategy = "round_robin"',
        "rules[0].strategy",
        "expected 'fixed' with a team, got 'round_robin'",
    ),
    (
        'topic = "Report a Problem"',
        'topic = ""',
        "rules[0].topic",
        "expected a non-empty string, got ''",
    ),
    (
        'topic = "Report a Problem"',
        'topic = "Report a Problem"\ncolour = "red"',
        "rules[0].colour",
        "unknown key (check its spelling and table)",
    ),
    (
        'name = "Problems"',
        'name = "Nudge"',
        "rules[1].name",
        "expected unique rule names, got 'Nudge' twice",
    ),
    (
        'name = "Problems"',
        'name = "A|B"',
        "rules[0].name",
        "expected a non-empty string without '|', got 'A|B'",
    ),
    (
        'name = "Problems"',
        "",
        "rules[0].name",
        "expected this key; it is missing",
    ),
    (
        'type = "lifecycle"',
        'type = "lifecycles"',
        "rules[3].type",
        "expected one of 'auto_assign', 'nudge_then_pending', 'sla_escalation', 'lifecycle',"
        " 'timed', 'event', got 'lifecycles'",
    ),
    (
        'type = "lifecycle"',
        "",
        "rules[3].type",
        "expected this key (one of 'auto_assign', 'nudge_then_pending', 'sla_escalation',"
        " 'lifecycle', 'timed', 'event'); it is missing",
    ),
    (
        'before_due = "2h"',
        'before_due = "2h"\nafter_due = "1h"',
        "rules[2].levels[0]",
        "expected exactly one of before_due, at_due, after_due, no_response,"
        " got before_due, after_due",
    ),
    (
        'before_due = "2h"',
        "",
        "rules[2].levels[0]",
        "expected exactly one of before_due, at_due, after_due, no_response, got none",
    ),
    (
        "at_due = true",
        "at_due = false",
        "rules[2].levels[1].at_due",
        "expected true (or no at_due key), got false",
    ),
    (
        'actions = [{ note = "Breach in 2 hours" }]',
        "actions = []",
        "rules[2].levels[0].actions",
        "expected at least 1 item, got none",
    ),
    (
        'actions = [{ note = "Breach in 2 hours" }]',
        'actions = [{ note = "Breach in 2 hours", priority = "High" }]',
        "rules[2].levels[0].actions[0]",
        "expected exactly one of note, priority, assign_agent, assign_team, transfer,"
        " got note, priority",
    ),
    (
        'actions = [{ note = "Breach in 2 hours" }]',
        'actions = [{ notify = "Ada" }]',
        "rules[2].levels[0].actions[0].notify",
        "unknown key (check its spelling and table)",
    ),
    (
        'name = "breached"',
        'name = "warn"',
        "rules[2].levels[1].name",
        "expected unique level names, got 'warn' twice",
    ),
    (
        "max_actions = 20",
        "max_actions = 0",
        "settings.max_actions",
        "expected greater than 0, got 0",
    ),
    (
        "max_actions = 20",
        'max_actions = "20"',
        "settings.max_actions",
        "expected a valid integer, got '20'",
    ),
    (
        "max_actions = 20",
        'comment_actions = "yes"',
        "settings.comment_actions",
        "expected a valid boolean, got 'yes'",
    ),
    (
        'timezone = "Europe/Paris"',
        'timezone = "Europe/Pariss"',
        "calendars.office.timezone",
        "expected an IANA time zone like Europe/Paris, got 'Europe/Pariss'",
    ),
    (
        'hours = { mon = "08:00-17:00", fri = "08:00-16:00" }',
        'hours = { mon = "8h-17h", fri = "08:00-16:00" }',
        "calendars.office.hours.mon",
        "expected ranges like \"08:00-12:00,13:00-17:00\" (24:00 may end a day), got '8h-17h'",
    ),
    (
        'hours = { mon = "08:00-17:00", fri = "08:00-16:00" }',
        'hours = { monday = "08:00-17:00" }',
        "calendars.office.hours.monday",
        "expected 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun', got 'monday'",
    ),
    (
        'holidays = ["2026-12-25"]',
        'holidays = ["Christmas"]',
        "calendars.office.holidays[0]",
        "expected a date like 2026-12-25, got 'Christmas'",
    ),
]


@pytest.mark.parametrize(("old", "new", "path", "expected"), CASES)
def test_each_mistake_is_named_by_key_path_line_and_expectation(
    old: str, new: str, path: str, expected: str
) -> None:
    assert old in VALID
    text = VALID.replace(old, new, 1)
    problems = problems_of(text)
    assert [(p.path, p.message) for p in problems] == [(path, expected)]
    # The line is the key's own, or else that of the key or table that holds it.
    held = text.splitlines()[(problems[0].line or 0) - 1].strip()
    keys = [part.split("[")[0] for part in path.split(".")]
    assert held.startswith("[") or any(held.startswith(f"{key} =") for key in keys)


def test_the_line_is_that_of_the_offending_key() -> None:
    text = VALID.replace('name = "breached"', 'name = "warn"')
    [problem] = problems_of(text)
    second = [i for i, line in enumerate(text.splitlines(), 1) if line == 'name = "warn"'][1]
    assert (problem.path, problem.line) == ("rules[2].levels[1].name", second)


def test_the_message_lists_every_problem_with_its_line() -> None:
    text = VALID.replace('nudge_after = "16h"', 'nudge_after = "2 days"').replace(
        'strategy = "round_robin"', 'strategy = "random"'
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.toml")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == (
        "rules.toml: 2 problems:\n"
        f"  rules[0].strategy: expected 'fixed', 'round_robin' or 'least_loaded', got 'random'"
        f" (line {line_of(text, 'strategy =')})\n"
        f"  rules[1].nudge_after: expected a duration like 90m, 48h or 3d, got '2 days'"
        f" (line {line_of(text, 'nudge_after =')})"
    )


def test_lines_of_keys_in_later_array_tables() -> None:
    text = VALID.replace('after_due = "1h"', "").replace("at_due = true", "at_due = 1")
    [problem] = problems_of(text)
    assert (problem.path, problem.line) == ("rules[2].levels[1].at_due", line_of(text, "at_due"))


def test_a_toml_syntax_error_gives_line_and_column() -> None:
    text = VALID.replace("max_actions = 20", "max_actions = = 20")
    [problem] = problems_of(text)
    assert (problem.path, problem.line, problem.column) == ("", 2, 15)
    assert problem.message.startswith("expected valid TOML, got: Invalid value")
    assert str(problem).endswith("(line 2, column 15)")


def test_a_duplicate_table_is_a_syntax_error() -> None:
    text = VALID + "\n[settings]\nqueue = 2\n"
    [problem] = problems_of(text)
    assert problem.line == line_of(text, "queue = 2") - 1
    assert "expected valid TOML" in problem.message


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path / "missing.toml")
    [problem] = caught.value.problems
    assert problem.message == "expected a readable UTF-8 file: No such file or directory"
    assert caught.value.source == str(tmp_path / "missing.toml")


def test_an_empty_file_has_no_rules() -> None:
    assert parse_rules("").rules == ()


def test_rules_are_frozen() -> None:
    rules = parse_rules(VALID)
    with pytest.raises(ValueError, match="frozen"):
        rules.rules[0].enabled = False


def test_model_validate_reports_cross_checks_too() -> None:
    data = {"rules": [{"name": "L", "type": "lifecycle"}, {"name": "L", "type": "lifecycle"}]}
    with pytest.raises(ValueError, match=r"rules\[1\]\.name: expected unique rule names"):
        RulesFile.model_validate(data)
