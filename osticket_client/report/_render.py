"""The SLA report for people and machines: durations as text, CSV rows, and the HTML page."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from ._model import Measure, MetricSummary, SlaReport, SlaRow

__all__ = [
    "HtmlUnavailable",
    "check_html",
    "csv_rows",
    "duration_text",
    "html_page",
    "share_text",
]

_HOUR = 3600.0
METRIC_NAMES = {"first_response": "first response", "resolution": "resolution"}


def duration_text(value: timedelta | None) -> str:
    """A duration for people: "45m", "1h30m", "20h", "3d4h" (rounded to the minute)."""
    if value is None:
        return "-"
    minutes = round(value.total_seconds() / 60)
    sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{sign}{days}d{hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m" if minutes else f"{sign}{hours}h"
    return f"{sign}{minutes}m"


def share_text(summary: MetricSummary) -> str:
    """ "2/5 40%", or "-" when no target was decided."""
    if summary.share_met is None:
        return "-"
    return f"{summary.met}/{summary.decided} {summary.share_met:.0%}"


# ------------------------------------------------------------------------------------ CSV


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / _HOUR, 4)


def _measure_cells(measure: Measure) -> list[object]:
    return [
        measure.start.isoformat(),
        measure.at.isoformat() if measure.at else None,
        measure.by,
        _hours(measure.counted),
        _hours(measure.elapsed),
        _hours(measure.business),
        _hours(measure.paused),
        _hours(measure.target),
        None if measure.met is None else ("met" if measure.met else "missed"),
        _hours(measure.over),
    ]


_ROW_HEADER = [
    "number",
    "subject",
    "status",
    "closed",
    "created",
    "priority",
    "department",
    "topic",
    "sla_plan",
    "agent",
    "team",
    "reopened",
    "overdue",
]
_MEASURE_HEADER = [
    "start",
    "at",
    "by",
    "hours",
    "calendar_hours",
    "business_hours",
    "paused_hours",
    "target_hours",
    "outcome",
    "over_hours",
]
CSV_HEADER = [
    *_ROW_HEADER,
    *(f"{metric}_{column}" for metric in METRIC_NAMES for column in _MEASURE_HEADER),
]


def csv_rows(rows: Iterable[SlaRow]) -> Iterator[list[object]]:
    """One CSV row per ticket, in the order of CSV_HEADER (hours as decimal numbers, None for
    an empty cell), for the project's `write_csv`."""
    for row in rows:
        yield [
            row.number,
            row.subject,
            row.status,
            "yes" if row.closed else "no",
            row.created.isoformat(),
            row.priority,
            row.department,
            row.topic,
            row.sla,
            row.agent,
            row.team,
            row.reopened,
            "yes" if row.overdue else "no",
            *_measure_cells(row.first_response),
            *_measure_cells(row.resolution),
        ]


# ----------------------------------------------------------------------------------- HTML


class HtmlUnavailable(RuntimeError):
    """Raised when the HTML report's plotting library (the `report` extra) is missing."""


_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
    " img-src data:; font-src data:"
)
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.missed { color: #b00020; } .note { color: #666; font-size: .9rem; }
.chart { max-width: 960px; margin-bottom: 1rem; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _summary_cells(summary: MetricSummary) -> str:
    cells = (
        summary.tickets,
        share_text(summary),
        duration_text(summary.median),
        duration_text(summary.p90),
    )
    return "".join(f'<td class="n">{_e(c)}</td>' for c in cells)


def _summary_table(report: SlaReport) -> str:
    head = "<th>tickets</th><th>met</th><th>median</th><th>90th pct</th>"
    lines = [
        "<table><thead><tr><th></th>"
        f'<th colspan="4">first response</th><th colspan="4">resolution</th></tr>'
        f"<tr><th>{_e(report.by)}</th>{head}{head}</tr></thead><tbody>"
    ]
    for group in (report.overall, *report.groups):
        lines.append(
            f"<tr><td>{_e(group.group)}</td>{_summary_cells(group.first_response)}"
            f"{_summary_cells(group.resolution)}</tr>"
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def _breach_table(report: SlaReport) -> str:
    if not report.breaches:
        return "<p>No target was missed.</p>"
    lines = [
        "<table><thead><tr><th>ticket</th><th>subject</th><th>measure</th><th>agent</th>"
        "<th>over by</th><th></th></tr></thead><tbody>"
    ]
    for breach in report.breaches:
        lines.append(
            f"<tr><td>{_e(breach.number)}</td><td>{_e(breach.subject)}</td>"
            f"<td>{_e(METRIC_NAMES[breach.metric])}</td><td>{_e(breach.agent or '-')}</td>"
            f'<td class="n missed">{_e(duration_text(breach.over))}</td>'
            f"<td>{'' if breach.finished else 'still running'}</td></tr>"
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


_NO_PLOTLY = "the HTML report needs the plotting library: pip install 'osticket-client[report]'"


def check_html() -> None:
    """Make sure the HTML report can be drawn, before a long read of the desk.

    Raises:
        HtmlUnavailable: the plotting library (the `report` extra) is not installed.
    """
    try:
        import plotly.graph_objects  # noqa: F401
    except ImportError:
        raise HtmlUnavailable(_NO_PLOTLY) from None


def _charts(report: SlaReport) -> list[str]:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise HtmlUnavailable(_NO_PLOTLY) from None
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "height": 360,
        "margin": {"l": 50, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
    }
    weeks = [w.week.isoformat() for w in report.weeks]
    trend = go.Figure(
        [
            go.Scatter(
                x=weeks,
                y=[_percent(getattr(w, metric)) for w in report.weeks],
                name=name,
                mode="lines+markers",
                marker={"size": 9},
            )
            for metric, name in METRIC_NAMES.items()
        ],
        layout={
            **layout,
            "title": "Share of targets met, by week created",
            "yaxis": {"title": "% met", "range": [0, 105]},
            "xaxis": {
                "title": "week (Monday)",
                "type": "date",
                "tickformat": "%Y-%m-%d",
                "dtick": 7 * 24 * 3600 * 1000,  # a tick a week (milliseconds), on Mondays
                "tick0": weeks[0] if weeks else None,
            },
        },
    )
    unit = "business hours" if report.calendar else "hours"
    responded = [
        r.first_response.counted.total_seconds() / _HOUR
        for r in report.rows
        if r.first_response.finished
    ]
    distribution = go.Figure(
        [go.Histogram(x=responded, name="tickets", nbinsx=24, marker={"line": {"width": 1}})],
        layout={
            **layout,
            "title": "First response times",
            "xaxis": {"title": unit},
            "yaxis": {"title": "tickets"},
        },
    )
    # Plotly reads a few tags (<b>, <a href>, <br>) in labels as markup and decodes entities:
    # escaped, a name from the desk shows as the text it is.
    names = [html.escape(g.group, quote=False) for g in report.groups]
    breakdown = go.Figure(
        [
            go.Bar(
                x=names,
                y=[_percent(getattr(g, metric).share_met) for g in report.groups],
                name=name,
            )
            for metric, name in METRIC_NAMES.items()
        ],
        layout={
            **layout,
            "title": f"Share of targets met by {report.by}",
            "barmode": "group",
            "yaxis": {"title": "% met", "range": [0, 105]},
            "xaxis": {"type": "category"},
        },
    )
    config = {"displayModeBar": False, "responsive": True}
    figures = (("trend", trend), ("first-response-times", distribution), ("by-group", breakdown))
    # plotly.js goes in once, inline: the page opens with no network. Plotly writes the
    # figures' data into scripts with <, > and / escaped (plotly.io._json._safe).
    return [
        figure.to_html(
            full_html=False,
            include_plotlyjs=i == 0,
            div_id=f"chart-{name}",
            config=config,
        )
        for i, (name, figure) in enumerate(figures)
    ]


def html_page(report: SlaReport) -> str:
    """The report as one self-contained HTML page: summary, charts and breaches.

    Raises:
        HtmlUnavailable: the plotting library (the `report` extra) is not installed.
    """
    charts = _charts(report)
    period = report.period
    title = f"SLA report {period.start} to {period.end}"
    measured = (
        f"business hours of the {report.calendar!r} calendar"
        if report.calendar
        else "calendar time"
    )
    heading = (
        f"Tickets created {period.start} to {period.end} ({period.timezone}), {measured};"
        f" unfinished measures counted up to {report.now:%Y-%m-%d %H:%M} UTC."
    )
    body = "".join(
        [
            f"<h1>{_e(title)}</h1><p>{_e(heading)}</p>",
            f'<p class="note">{len(report.rows)} tickets; {report.pages_read} ticket pages'
            f" read, {report.cache_hits} from the cache.</p>",
            "<h2>Summary</h2>",
            _summary_table(report),
            '<h2>Charts</h2><div class="charts">',
            *(f'<div class="chart">{chart}</div>' for chart in charts),
            "<h2>Breaches</h2>",
            _breach_table(report),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
