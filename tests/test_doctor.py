"""The doctor's listing check: a pure verdict on rows and seconds, timed by an injected clock."""

from __future__ import annotations

from typing import Any, cast

import pytest

from osticket_client import TimeoutError
from osticket_client._doctor import _timed_listing, listing_check, slow_for_its_size

# Seconds measured live in `osticket doctor` runs on a desk with 10,000 open tickets (README,
# "Speed"; osticket_client/_doctor.py has the ranges): the Open queue's CSV export, then one page
# of the queue. With MariaDB's default settings; with optimizer_search_depth = 0 (about the
# median export of 13 rounds); with the setting on a busy machine (the page stayed quick).
# 1,226 open tickets on a small desk (bench/live_listing.py).
DEFAULT_10000, DEFAULT_PAGE = 41.8, 28.3
TUNED_10000 = 14.9
BUSY_10000, BUSY_PAGE = 22.1, 0.9
SMALL_1226 = 1.75


class Ticks:
    """A monotonic clock for timings that last `durations` seconds, one after the other."""

    def __init__(self, *durations: float) -> None:
        readings, now = [], 0.0
        for seconds in durations:
            readings += [now, now + seconds]
            now += seconds
        self.readings = iter(readings)

    def __call__(self) -> float:
        return next(self.readings)


@pytest.mark.parametrize(
    ("rows", "seconds", "outcome", "detail"),
    [
        (10_000, TUNED_10000, "ok", "10,000 rows in 14.9 s (1.5 s per 1,000 rows)"),
        (10_000, 5.2, "ok", "10,000 rows in 5.2 s (0.5 s per 1,000 rows)"),
        (1_226, SMALL_1226, "ok", "1,226 rows in 1.8 s (1.4 s per 1,000 rows)"),
        # An export's fixed cost makes a small queue's rate high: not judged under 5 s.
        (3, 1.4, "ok", "3 rows in 1.4 s (466.7 s per 1,000 rows)"),
        (0, 0.9, "ok", "0 rows in 0.9 s (0.0 s per 1,000 rows)"),
        (10_000, DEFAULT_10000, "warn", "10,000 rows in 41.8 s (4.2 s per 1,000 rows): slow"),
        # 1,200 open among 10,000 tickets, default settings: the same slow plan.
        (1_200, 11.8, "warn", "1,200 rows in 11.8 s (9.8 s per 1,000 rows): slow"),
    ],
)
def test_listing_verdict(rows: int, seconds: float, outcome: str, detail: str) -> None:
    check = listing_check(rows, seconds)
    assert (check.name, check.outcome) == ("listing", outcome)
    assert check.detail.startswith(f"Open queue: {detail}")
    assert bool(check.advice) == (outcome == "warn")
    assert slow_for_its_size(rows, seconds) == (outcome == "warn")


def test_a_slow_listing_with_a_slow_page_names_mariadb_and_its_fix() -> None:
    check = listing_check(10_000, DEFAULT_10000, DEFAULT_PAGE)
    assert check.detail.endswith("slow for its size; one page of the queue took 28.3 s")
    advice = " ".join(check.advice)
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


def test_a_slow_listing_with_a_quick_page_points_at_the_web_server() -> None:
    check = listing_check(10_000, BUSY_10000, BUSY_PAGE)
    assert check.outcome == "warn"
    assert check.detail.endswith(
        "(2.2 s per 1,000 rows): slow for its size; one page of the queue took 0.9 s"
    )
    assert "optimizer_search_depth" not in " ".join(check.advice)
    assert "web server" in check.advice[0] and "cannot be told for sure" in check.advice[0]


def test_a_page_that_gets_no_answer_counts_as_slow() -> None:
    # Seen live with the defaults: the page outlasted the client's 30 s timeout.
    check = listing_check(10_000, 41.8, 30.0, page_answered=False)
    assert check.detail.endswith("; one page of the queue took 30.0 s and got no answer")
    assert any("optimizer_search_depth = 0" in line for line in check.advice)


class QueueDesk:
    """What the listing check asks of a desk: the export's rows, then maybe one page."""

    def __init__(self, rows: int, page: Exception | None = None) -> None:
        self.rows, self.page, self.pages = rows, page, 0

    def list_tickets(self, queue: int) -> list[Any]:
        return [object()] * self.rows

    def _send(self, route: str, params: dict[str, str]) -> None:
        assert (route, params) == ("queue_page", {"queue": "1"})
        self.pages += 1
        if self.page is not None:
            raise self.page


@pytest.mark.parametrize(
    ("page", "ends_with", "cause"),
    [
        (None, "one page of the queue took 28.3 s", True),
        (TimeoutError("no answer"), "one page of the queue took 28.3 s and got no answer", True),
    ],
)
def test_a_slow_listing_times_one_page(page: Exception | None, ends_with: str, cause: bool) -> None:
    desk = QueueDesk(10_000, page)
    rows: list[Any] = []
    check = _timed_listing(cast(Any, desk), Ticks(DEFAULT_10000, DEFAULT_PAGE), rows)
    assert (len(rows), desk.pages) == (10_000, 1)
    assert check.detail.endswith(ends_with)
    assert any("optimizer_search_depth = 0" in line for line in check.advice) == cause


def test_a_quick_listing_reads_no_page() -> None:
    desk = QueueDesk(10_000)
    rows: list[Any] = []
    check = _timed_listing(cast(Any, desk), Ticks(TUNED_10000), rows)
    assert (check.outcome, desk.pages, len(rows)) == ("ok", 0, 10_000)
