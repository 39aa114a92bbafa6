"""Rule-based automations scheduled against a desk (planned, dry-run first, once-only).

The public surface is what this module exports (other packages, such as the SLA report, meet
the automations here): the rules file, its calendars and durations, and the listing signature.
"""

from ._durations import Calendar, Duration, add_time, business_time, parse_duration
from ._files import owner_only
from ._rules import RulesError, RulesFile, SlaRule, Targets, TargetTable, load_rules
from ._runner import signature_of

__all__ = [
    "Calendar",
    "Duration",
    "RulesError",
    "RulesFile",
    "SlaRule",
    "TargetTable",
    "Targets",
    "add_time",
    "business_time",
    "load_rules",
    "owner_only",
    "parse_duration",
    "signature_of",
]
