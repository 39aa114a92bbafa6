"""Durations, calendars and business time: opening ranges, nights, weekends, holidays, DST."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from automations._durations import (
    Calendar,
    Duration,
    add_time,
    business_time,
    parse_duration,
    subtract_time,
    utc_iso,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")

# Monday has a lunch break; Friday closes early; Christmas and New Year are holidays.
OFFICE = Calendar.model_validate(
    {
        "timezone": "Europe/Paris",
        "hours": {
            "mon": "08:00-12:00,13:00-17:00",
            "tue": "08:00-17:00",
            "wed": "08:00-17:00",
            "thu": "08:00-17:00",
            "fri": "08:00-16:00",
        },
        "holidays": ["2026-12-25", date(2027, 1, 1)],
    }
)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "amount", "unit", "minutes"),
    [
        ("90m", 90, "m", 90),
        ("48h", 48, "h", 48 * 60),
        ("3d", 3, "d", 3 * 24 * 60),
        ("0m", 0, "m", 0),
    ],
)
def test_parse_duration(text: str, amount: int, unit: str, minutes: int) -> None:
    duration = parse_duration(text)
    assert (duration.amount, duration.unit, str(duration)) == (amount, unit, text)
    assert duration.delta == timedelta(minutes=minutes)
    assert duration.seconds() == minutes * 60


@pytest.mark.parametrize(
    "text", ["2 days", "1.5h", "-1h", "90", "h", "10s", " 5m", "5m ", "1w", "", "1234567m", "5M"]
)
def test_parse_duration_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f"expected a duration like 90m, 48h or 3d, got {text!r}"


def test_parse_duration_refuses_a_number() -> None:
    with pytest.raises(ValueError, match="expected a duration like 90m, 48h or 3d, got 90"):
        parse_duration(90)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # Elapsed time: across the spring-forward night 24h is 24 real hours, 25 on the clock.
        (paris(2026, 3, 28, 12), "24h", paris(2026, 3, 29, 13)),
        (paris(2026, 10, 24, 12), "1d", paris(2026, 10, 25, 11)),
        (datetime(2026, 12, 1, 9, tzinfo=UTC), "3d", datetime(2026, 12, 4, 9, tzinfo=UTC)),
        (datetime(2026, 12, 1, 9, tzinfo=UTC), "90m", datetime(2026, 12, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_calendar_time_is_elapsed_time(start: datetime, duration: str, expected: datetime) -> None:
    result = add_time(start, parse_duration(duration))
    assert result == expected
    assert result.tzinfo is start.tzinfo


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        pytest.param(paris(2026, 12, 1, 9), "2h", paris(2026, 12, 1, 11), id="within a day"),
        pytest.param(paris(2026, 12, 1, 15), "2h", paris(2026, 12, 1, 17), id="ends at closing"),
        pytest.param(paris(2026, 12, 1, 16), "2h", paris(2026, 12, 2, 9), id="overnight"),
        pytest.param(paris(2026, 11, 30, 11), "2h", paris(2026, 11, 30, 14), id="lunch break"),
        pytest.param(
            paris(2026, 11, 30, 12, 30), "30m", paris(2026, 11, 30, 13, 30), id="in lunch"
        ),
        pytest.param(paris(2026, 12, 1, 6), "30m", paris(2026, 12, 1, 8, 30), id="before opening"),
        pytest.param(paris(2026, 12, 1, 20), "1h", paris(2026, 12, 2, 9), id="after closing"),
        pytest.param(paris(2026, 12, 4, 15), "2h", paris(2026, 12, 7, 9), id="weekend"),
        pytest.param(paris(2026, 12, 5, 10), "1h", paris(2026, 12, 7, 9), id="starts on Saturday"),
        pytest.param(paris(2026, 12, 24, 16), "2h", paris(2026, 12, 28, 9), id="Christmas"),
        pytest.param(paris(2026, 12, 31, 16), "2h", paris(2027, 1, 4, 9), id="New Year"),
        # Tue 9 + Wed 9 + Thu 9 + Fri 8 + Mon 8 = 43 hours, then 5 more on Tuesday.
        pytest.param(paris(2026, 12, 1, 8), "48h", paris(2026, 12, 8, 13), id="over a week"),
        pytest.param(paris(2026, 12, 5, 10), "0m", paris(2026, 12, 5, 10), id="nothing to add"),
    ],
)
def test_business_time(start: datetime, duration: str, expected: datetime) -> None:
    assert add_time(start, parse_duration(duration), OFFICE) == expected


def test_business_time_keeps_the_start_time_zone() -> None:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 16:00 in Paris
    result = add_time(start, parse_duration("2h"), OFFICE)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 12, 2, 8, tzinfo=UTC)  # Wednesday 09:00 in Paris


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # Friday 15:00 CET + 1 hour, then Monday 08:00-09:00 CEST: the offset changed on Sunday.
        (paris(2026, 3, 27, 15), datetime(2026, 3, 30, 7, tzinfo=UTC)),
        # Friday 15:00 CEST + 1 hour, then Monday 08:00-09:00 CET.
        (paris(2026, 10, 23, 15), datetime(2026, 10, 26, 8, tzinfo=UTC)),
    ],
)
def test_business_hours_follow_the_local_clock_across_dst(
    start: datetime, expected_utc: datetime
) -> None:
    assert add_time(start, parse_duration("2h"), OFFICE) == expected_utc


def test_an_opening_range_over_a_dst_change_counts_real_time() -> None:
    sundays = Calendar.model_validate({"timezone": "Europe/Paris", "hours": {"sun": "00:00-24:00"}})
    start = paris(2026, 3, 29, 0)  # the spring-forward Sunday has 23 hours
    assert add_time(start, parse_duration("23h"), sundays) == paris(2026, 3, 30, 0)
    assert add_time(start, parse_duration("24h"), sundays) == paris(2026, 4, 5, 1)
    autumn = paris(2026, 10, 25, 0)  # the fall-back Sunday has 25 hours
    assert add_time(autumn, parse_duration("25h"), sundays) == paris(2026, 10, 26, 0)


@pytest.mark.parametrize(
    ("end", "duration", "expected"),
    [
        (paris(2026, 12, 1, 11), "2h", paris(2026, 12, 1, 9)),
        (paris(2026, 12, 7, 9), "2h", paris(2026, 12, 4, 15)),
        (paris(2026, 11, 30, 14), "2h", paris(2026, 11, 30, 11)),
        (paris(2026, 12, 28, 9), "2h", paris(2026, 12, 24, 16)),
        (paris(2026, 12, 6, 12), "1h", paris(2026, 12, 4, 15)),
        (paris(2026, 12, 1, 10), "2h", paris(2026, 12, 1, 8)),
    ],
)
def test_subtracting_business_time(end: datetime, duration: str, expected: datetime) -> None:
    assert subtract_time(end, parse_duration(duration), OFFICE) == expected


def test_subtracting_calendar_time() -> None:
    end = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert subtract_time(end, parse_duration("2h")) == datetime(2026, 12, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize("shift", [add_time, subtract_time])
def test_naive_datetimes_are_refused(shift: Any) -> None:
    with pytest.raises(ValueError, match="expected an aware datetime"):
        shift(datetime(2026, 12, 1, 9), parse_duration("1h"))


@pytest.mark.parametrize("shift", [add_time, subtract_time])
def test_days_are_refused_in_business_time(shift: Any) -> None:
    with pytest.raises(ValueError, match="expected minutes or hours in business time, got 3d"):
        shift(paris(2026, 12, 1, 9), parse_duration("3d"), OFFICE)


def test_a_duration_is_a_frozen_value() -> None:
    assert parse_duration("90m") == Duration(90, "m")
    assert parse_duration("60m") != parse_duration("1h")


def errors_of(**fields: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Calendar.model_validate(
            {"timezone": "Europe/Paris", "hours": {"mon": "08:00-17:00"}, **fields}
        )
    return {
        ".".join(str(part) for part in e["loc"]): str(e.get("ctx", {}).get("error", e["msg"]))
        for e in caught.value.errors()
    }


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        (
            {"timezone": "Mars/Olympus"},
            "timezone",
            "expected an IANA time zone like Europe/Paris, got 'Mars/Olympus'",
        ),
        (
            {"hours": {"mon": "8-17"}},
            "hours.mon",
            "expected ranges like \"08:00-12:00,13:00-17:00\" (24:00 may end a day), got '8-17'",
        ),
        (
            {"hours": {"mon": "17:00-08:00"}},
            "hours.mon",
            'expected ranges like "08:00-12:00,13:00-17:00" (24:00 may end a day), each starting'
            " before it ends, got '17:00-08:00'",
        ),
        (
            {"hours": {"mon": "08:00-12:00,11:00-13:00"}},
            "hours.mon",
            "expected ranges that do not overlap, got '08:00-12:00,11:00-13:00'",
        ),
        ({"hours": {}}, "hours", "expected opening hours on at least one day of the week"),
        (
            {"holidays": ["25/12/2026"]},
            "holidays.0",
            "expected a date like 2026-12-25, got '25/12/2026'",
        ),
    ],
)
def test_calendar_validation(fields: dict[str, Any], path: str, message: str) -> None:
    assert errors_of(**fields) == {path: message}


ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11)), PARIS]
    + [ZoneInfo(name) for name in ("America/New_York", "Asia/Tokyo", "UTC", "Pacific/Chatham")]
)


# A day inside datetime's range at both ends: year 1 at +05:30 (or 9999 at -11:00) has no UTC
# moment, and astimezone itself overflows there.
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES))
def test_utc_iso_writes_what_isoformat_writes_in_utc(moment: datetime) -> None:
    assert utc_iso(moment) == moment.astimezone(UTC).isoformat()


def _opening_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Opening time between two instants, summed range by range over every day they touch."""
    opening = calendar._opening
    total = timedelta(0)
    day = start.astimezone(PARIS).date() - timedelta(days=1)
    while day <= end.astimezone(PARIS).date() + timedelta(days=1):
        for begin, finish in opening.day(day)[0]:
            total += max(timedelta(0), min(finish, end) - max(begin, start))
        day += timedelta(days=1)
    return total


def _in_opening(calendar: Calendar, moment: datetime, *, at_end: bool) -> bool:
    """Whether `moment` is in an opening range, its end counting (add) or its start (subtract)."""
    day = moment.astimezone(PARIS).date()
    return any(
        (begin < moment <= finish) if at_end else (begin <= moment < finish)
        for offset in (-1, 0, 1)
        for begin, finish in calendar._opening.day(day + timedelta(days=offset))[0]
    )


MOMENTS = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=ZONES)


@pytest.mark.parametrize("forward", [True, False])
@given(moment=MOMENTS, minutes=st.integers(0, 120 * 60))
def test_business_time_is_exactly_that_much_opening_and_the_nearest_such_instant(
    forward: bool, moment: datetime, minutes: int
) -> None:
    shift = add_time if forward else subtract_time
    result = shift(moment, Duration(minutes, "m"), OFFICE)
    assert result.tzinfo is moment.tzinfo
    start, end = (moment, result) if forward else (result, moment)
    assert _opening_between(OFFICE, start, end) == timedelta(minutes=minutes)
    # The earliest instant when adding (an opening's end counts), the latest when subtracting.
    assert result == moment if minutes == 0 else _in_opening(OFFICE, result, at_end=forward)


@given(start=MOMENTS, end=MOMENTS)
def test_business_time_between_two_instants_is_the_opening_between_them(
    start: datetime, end: datetime
) -> None:
    expected = _opening_between(OFFICE, start, end) if start < end else timedelta(0)
    assert business_time(start, end, OFFICE) == expected
    assert business_time(start, end) == max(end - start, timedelta(0))


@given(moment=MOMENTS, minutes=st.integers(1, 120 * 60))
def test_business_time_undoes_add_time(moment: datetime, minutes: int) -> None:
    end = add_time(moment, Duration(minutes, "m"), OFFICE)
    assert business_time(moment, end, OFFICE) == timedelta(minutes=minutes)


def test_business_time_over_a_week_with_a_holiday() -> None:
    # Mon 21 Dec 2026 10:00 to Mon 28 Dec 10:00 (Paris): Mon 6 h, Tue-Thu 3 x 9 h, Fri 25 is
    # Christmas, Mon 28 2 h.
    start, end = paris(2026, 12, 21, 10), paris(2026, 12, 28, 10)
    assert business_time(start, end, OFFICE) == timedelta(hours=6 + 27 + 2)


def test_business_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        business_time(datetime(2026, 1, 1), paris(2026, 1, 2), OFFICE)
