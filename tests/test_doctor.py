"""The doctor's listing check: a pure verdict on rows and seconds, timed by an injected clock."""

from __future__ import annotations

import pytest

from osticket_client._doctor import listing_check

# Seconds the Open queue's CSV export took, measured live (README, "Speed"): 10,000 open tickets
# with MariaDB's default settings (the doctor's own run) and with optimizer_search_depth = 0
# (the median of three rounds); 1,226 open tickets on a small desk (bench/live_listing.py).
DEFAULT_10000 = 25.9
TUNED_10000 = 5.2
SMALL_1226 = 1.75


class Ticks:
    """A monotonic clock for one timing: 0 at the start, `seconds` at the end."""

    def __init__(self, seconds: float) -> None:
        self.readings = iter([0.0, seconds])

    def __call__(self) -> float:
        return next(self.readings)


@pytest.mark.parametrize(
    ("rows", "seconds", "outcome", "detail"),
    [
        (10_000, DEFAULT_10000, "warn", "10,000 rows in 25.9 s (2.6 s per 1,000 rows): slow"),
        (10_000, TUNED_10000, "ok", "10,000 rows in 5.2 s (0.5 s per 1,000 rows)"),
        (1_226, SMALL_1226, "ok", "1,226 rows in 1.8 s (1.4 s per 1,000 rows)"),
        # An export's fixed cost makes a small queue's rate high: not judged under 5 s.
        (3, 1.4, "ok", "3 rows in 1.4 s (466.7 s per 1,000 rows)"),
        (0, 0.9, "ok", "0 rows in 0.9 s (0.0 s per 1,000 rows)"),
        # 1,200 open among 10,000 tickets, default settings: the same slow plan.
        (1_200, 11.8, "warn", "1,200 rows in 11.8 s (9.8 s per 1,000 rows): slow"),
    ],
)
def test_listing_verdict(rows: int, seconds: float, outcome: str, detail: str) -> None:
    check = listing_check(rows, seconds)
    assert (check.name, check.outcome) == ("listing", outcome)
    assert check.detail.startswith(f"Open queue: {detail}")
    assert bool(check.advice) == (outcome == "warn")


def test_the_advice_names_cause_fix_references_and_doubt() -> None:
    advice = " ".join(listing_check(10_000, DEFAULT_10000).advice)
    for words in (
        "cannot be told for sure from outside the database",
        "ost_ticket__cdata",
        "optimizer_search_depth = 0",
        "my.cnf",
        "SET GLOBAL optimizer_search_depth = 0",
        "osTicket issue #6634",
        "pull request #6034",
    ):
        assert words in advice
