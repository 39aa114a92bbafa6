"""The HTML SLA report: self-contained, desk text escaped everywhere, and drawn by a real
browser (headless Chromium from the system's packages; skipped where it is not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from automations import Targets, TargetTable, parse_duration
from osticket_client import ThreadEntry, ThreadEvent, Ticket, TicketSummary
from osticket_client.report import Period, ReportRules, SlaReport, build_report, measure_ticket
from osticket_client.report._render import html_page

UTC = timezone.utc


def event(
    kind: str, when: datetime, text: str = "", actor: str | None = None, value: str | None = None
) -> ThreadEvent:
    return ThreadEvent(kind=kind, when=when, text=text, actor=actor, value=value)


START = datetime(2026, 10, 5, 9, tzinfo=UTC)  # a Monday
HOSTILE_SUBJECT = "</script><script>document.title='pwned'</script><img src=x onerror=alert(1)>"
HOSTILE_AGENT = '<b>Ada</b> "O\'Hara" & </div>'
CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)


def sample_report() -> SlaReport:
    """Four weeks of tickets, some answered late, one by an agent with a hostile name."""
    rules = ReportRules(targets=Targets(first_response=TargetTable(default=parse_duration("4h"))))
    rows = []
    for n in range(24):
        created = START + timedelta(days=n + n // 5 * 2, hours=n % 3)
        answered = created + timedelta(hours=1 + (n * 7) % 9)
        agent = HOSTILE_AGENT if n % 4 == 0 else "Lim Ited"
        closed = n % 3 != 0
        page = Ticket(
            number=f"{100000 + n}",
            ticket_id=n + 1,
            subject=HOSTILE_SUBJECT if n == 5 else f"Ticket {n}",
            status="Closed" if closed else "Open",
            state="closed" if closed else "open",
            priority="Normal",
            thread=(
                ThreadEntry(id=1, type="message", author="Customer", created=created, body=""),
                ThreadEntry(id=2, type="response", author=agent, created=answered, body=""),
            ),
            events=(
                event("created", created, "Created"),
                *(
                    [event("closed", answered + timedelta(hours=3), "Closed", agent)]
                    if closed
                    else []
                ),
            ),
        )
        row = TicketSummary(number=page.number, subject=page.subject, created=created)
        rows.append(measure_ticket(row, page, rules, START + timedelta(days=40)))
    period = Period(start=date(2026, 10, 5), end=date(2026, 11, 4))
    return build_report(rows, period=period, now=START + timedelta(days=40), by="agent")


@pytest.fixture(scope="module")
def page() -> str:
    pytest.importorskip("plotly", reason="the HTML report needs the report extra (plotly)")
    return html_page(sample_report())


def test_the_page_needs_no_network(page: str) -> None:
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert not re.search(r"<(script|img|iframe)[^>]+src=|<link[^>]+href=", page)
    assert "Plotly.newPlot" in page and page.count("<script") >= 4  # plotly.js, three charts


def test_desk_text_is_escaped_in_the_markup_and_in_the_scripts(page: str) -> None:
    assert HOSTILE_SUBJECT not in page
    assert HOSTILE_AGENT not in page
    assert "&lt;/script&gt;&lt;script&gt;document.title=&#x27;pwned&#x27;" in page
    assert "&lt;b&gt;Ada&lt;/b&gt; &quot;O&#x27;Hara&quot; &amp; &lt;/div&gt;" in page
    # In the charts' data (a script), the agent's name as an entity-escaped label (plotly
    # would draw <b> as bold), then JSON-escaped (<, > and /) by plotly.
    assert '&lt;b&gt;Ada&lt;\\u002fb&gt; \\"O\'Hara\\" &amp; &lt;\\u002fdiv&gt;' in page
    for script in re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S):
        assert "<img" not in script and "</div>" not in script


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs it)"
)
def test_a_real_browser_draws_every_chart_without_an_error(page: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # as root in CI
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--window-size=1280,2400",
    ]
    drawn = subprocess.run(
        [*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    # Every console message (errors, blocked loads, uncaught exceptions) is a failure.
    console = [line for line in drawn.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    dom = drawn.stdout
    assert "<title>SLA report 2026-10-05 to 2026-11-04</title>" in dom  # no script changed it
    assert "<img" not in dom  # the hostile subject stayed text
    for chart in ("chart-trend", "chart-first-response-times", "chart-by-group"):
        section = dom[dom.index(f'id="{chart}"') :]
        assert 'class="main-svg"' in section[:20000], f"{chart} was not drawn"
    assert dom.count('class="point"') >= 10  # bars and markers were plotted
    assert 'class="js-line"' in dom

    shot = tmp_path / "report.png"
    taken = subprocess.run(
        [*flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120
    )
    assert taken.returncode == 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
