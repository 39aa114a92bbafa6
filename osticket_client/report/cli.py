"""`osticket report sla`: the SLA report on a terminal, as CSV, JSON or an HTML page."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from automations import RulesFile, load_rules, owner_only

from .._cli_support import CliState, fail, pass_state, reported_errors
from .._output import echo, echo_json, table, write_csv
from . import GROUPS, Group, Period, ReportCache, default_cache_path, report_rules, sla_report
from ._model import SlaReport
from ._render import (
    CSV_HEADER,
    METRIC_NAMES,
    HtmlUnavailable,
    check_html,
    csv_rows,
    duration_text,
    html_page,
    share_text,
)

__all__ = ["report"]


@click.group()
def report() -> None:
    """Reports over a period of tickets."""


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _period(start: date | None, end: date | None, zone: str, now: datetime) -> Period:
    today = now.astimezone(ZoneInfo(zone)).date()
    end = end or (today if start is None or start <= today else start)
    start = start or end - timedelta(days=29)
    if end < start:
        message = f"expected --to on or after --from, got {start} to {end}"
        raise click.BadParameter(message, param_hint="--to")
    return Period(start=start, end=end, timezone=zone)


class _Progress:
    """A progress bar on stderr while ticket pages are read, only on a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(
                length=total, label="Reading tickets", file=sys.stderr, show_pos=True
            )
            self._bar.__enter__()
        self._bar.update(1)
        if done == total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds ticket subjects and names)."""
    owner_only(path)  # created 0600 or tightened (icacls on Windows) before a byte is written
    path.write_text(text, encoding="utf-8", newline="\n")


def _open_cache(path: Path) -> ReportCache:
    try:
        return ReportCache(path)
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail(f"cannot use the cache {path}: {reason} (--no-cache reads every page)", 1)


def _print_table(result: SlaReport) -> None:
    period = result.period
    measured = f"business hours of {result.calendar!r}" if result.calendar else "calendar time"
    echo(
        f"SLA report: tickets created {period.start} to {period.end} ({period.timezone}),"
        f" {measured}; running clocks counted to {result.now:%Y-%m-%d %H:%M} UTC"
    )
    echo(
        f"{len(result.rows)} tickets: {result.pages_read} pages read,"
        f" {result.cache_hits} from the cache"
    )
    if result.unreadable:
        echo(f"Left out, no longer shown by the desk: {', '.join(result.unreadable)}")
    echo()
    rows = []
    for group in (result.overall, *result.groups):
        cells = [group.group]
        for summary in (group.first_response, group.resolution):
            cells += [
                str(summary.tickets),
                share_text(summary),
                duration_text(summary.median),
                duration_text(summary.p90),
            ]
        rows.append(cells)
    heads = ["tickets", "met", "median", "p90"]
    echo(f"{'':24}  {'first response':<38}  resolution")
    table([result.by, *heads, *heads], rows, [24, 7, 13, 7, 7, 7, 13, 7, None])
    echo()
    if not result.breaches:
        echo("No target was missed.")
        return
    echo(f"Breaches ({len(result.breaches)}):")
    table(
        ["number", "measure", "agent", "over by", "clock", "subject"],
        (
            [
                b.number,
                METRIC_NAMES[b.metric],
                b.agent,
                duration_text(b.over),
                "stopped" if b.finished else "running",
                b.subject,
            ]
            for b in result.breaches
        ),
        [10, 14, 20, 8, 7, None],
    )


@report.command("sla")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First creation date.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last creation date.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False),
    help="Rules file with [targets] (and calendars, the no_response level).",
)
@click.option("--calendar", help="Business hours: a calendar of the rules file.")
@click.option("--by", type=click.Choice(GROUPS), default="agent", show_default=True)
@click.option("--queue", type=click.IntRange(min=1), help="One queue (default: open + closed).")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per ticket.")
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Write an HTML page.")
@click.option("--cache", "cache_file", type=click.Path(dir_okay=False), help="Cache file.")
@click.option("--no-cache", is_flag=True, help="Read every ticket page; keep nothing.")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=4,
    show_default=True,
    help="Ticket pages read at once.",
)
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    help="Count running clocks up to this time (default: now), e.g. 2026-12-01T09:00:00+00:00.",
)
@pass_state
def sla(
    state: CliState,
    start: datetime | None,
    end: datetime | None,
    rules_file: str | None,
    calendar: str | None,
    by: Group,
    queue: int | None,
    as_csv: bool,
    as_json: bool,
    html_file: str | None,
    cache_file: str | None,
    no_cache: bool,
    workers: int,
    at: datetime | None,
) -> None:
    """Were the first-response and resolution targets met?

    Tickets created from --from to --to (dates in the calendar's time zone, else UTC; default
    the last 30 days), each measured against the targets of the rules file's [targets]
    section. Ticket pages are read once and kept in a local cache: a second report over the
    same period reads none that did not change.
    """
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    if no_cache and cache_file:
        raise click.UsageError("choose one of --cache and --no-cache")
    try:
        rules = load_rules(rules_file) if rules_file else RulesFile()
        measuring = report_rules(rules, calendar)
    except ValueError as exc:  # RulesError too: each problem with its key path and line
        fail(str(exc), 2)
    if html_file:
        try:
            check_html()
        except HtmlUnavailable as exc:
            fail(str(exc), 3)
    now = at.astimezone(timezone.utc) if at is not None else datetime.now(timezone.utc)
    zone = measuring.calendar.timezone if measuring.calendar is not None else "UTC"
    period = _period(_day(start), _day(end), zone, now)
    cache = None if no_cache else _open_cache(Path(cache_file or default_cache_path()))
    progress: Callable[[int, int], None] | None = None
    bar = _Progress()
    if sys.stderr.isatty():
        progress = bar
        echo(f"Listing tickets created {period.start} to {period.end}...", err=True)
    try:
        with reported_errors():
            result = sla_report(
                state.desk,
                period,
                rules=measuring,
                by=by,
                queue=queue,
                cache=cache,
                now=now,
                progress=progress,
                workers=workers,
            )
    finally:
        bar.close()
        if cache is not None:
            cache.close()
    if html_file:
        try:
            _write_private(Path(html_file), html_page(result))
        except HtmlUnavailable as exc:
            fail(str(exc), 3)
        except OSError as exc:
            fail(f"cannot write {html_file}: {exc.strerror}", 1)
    if as_json:
        echo_json(result.model_dump(mode="json"), indent=2)
    elif as_csv:
        write_csv(sys.stdout, CSV_HEADER, csv_rows(result.rows))
    else:
        _print_table(result)
        if html_file:
            echo(f"\nWrote {html_file}")
