"""Rule-based automations scheduled against a desk (planned, dry-run first, once-only).

Nothing is here yet: the rules, the planner and the ledger arrive with the automations issue.
"""

__all__: list[str] = []
