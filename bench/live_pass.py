"""Whole automation passes against a live desk: a cold pass (empty ledger), then a warm one.

Never runs by default: the desk comes from the environment, and acting on it needs saying so.

    OSTICKET_BENCH_URL=http://127.0.0.1:8085/ OSTICKET_BENCH_USERNAME=ostadmin \\
    OSTICKET_BENCH_PASSWORD=... python bench/live_pass.py [--max-actions 50] [--dry-run]

`--dry-run` plans and reads only (for a desk you may not change). `--fill N` first opens
tickets through the API (OSTICKET_BENCH_API_KEY) until the Open queue holds N, one in ten
with help topic 10 ("Report a Problem"); it and any pass that acts need
OSTICKET_BENCH_DISPOSABLE=1. Each pass is one client and one `Pass` as `osticket auto run`
from cron builds them; the figures come from the client's own request counters
(`StaffSession.sent`), the run summary and tracemalloc (peak of Python allocations).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from automations._audit import AuditLog  # noqa: E402
from automations._ledger import Ledger  # noqa: E402
from automations._rules import load_rules  # noqa: E402
from automations._runner import Pass, RunSummary  # noqa: E402
from osticket_client import NewTicket, OsTicket, TicketSummary  # noqa: E402
from osticket_client._lab import create_tickets  # noqa: E402


def _desk(with_key: bool = False) -> OsTicket:
    env = os.environ
    if not env.get("OSTICKET_BENCH_URL"):
        raise SystemExit("set OSTICKET_BENCH_URL (and _USERNAME, _PASSWORD): the desk to measure")
    return OsTicket(
        env["OSTICKET_BENCH_URL"],
        api_key=env.get("OSTICKET_BENCH_API_KEY") if with_key else None,
        username=env.get("OSTICKET_BENCH_USERNAME"),
        password=env.get("OSTICKET_BENCH_PASSWORD"),
        timeout=120,
    )


def _disposable(what: str) -> None:
    if os.environ.get("OSTICKET_BENCH_DISPOSABLE") != "1":
        raise SystemExit(f"{what} changes the desk: set OSTICKET_BENCH_DISPOSABLE=1 (test desk)")


def fill(target: int) -> None:
    """Open tickets through the API until the Open queue holds `target`."""
    _disposable("--fill")
    with _desk(with_key=True) as desk:
        have = sum(1 for _ in desk.list_tickets(1))
        tickets = [
            NewTicket(
                name=f"Bench Customer {i}",
                email=f"bench{i}@example.com",
                subject=f"Bench ticket {i}",
                message="Opened by bench/live_pass.py.",
                topic_id=10 if i % 10 == 0 else None,
            )
            for i in range(have, target)
        ]
        started = time.perf_counter()
        outcome = create_tickets(desk, tickets, workers=8)
        print(
            f"filled: {len(outcome.created)} tickets created in"
            f" {time.perf_counter() - started:.0f} s ({have} were open)"
        )
        if outcome.failures:
            raise SystemExit(f"creation failed: {outcome.failures[0][1]}")


def one_pass(ledger_path: Path, max_actions: int, dry_run: bool) -> dict[str, object]:
    """One pass with a fresh client; what it cost."""
    rules = load_rules(ROOT / "examples" / "rules.toml")
    desk = _desk()
    listing: list[float] = []
    listed = desk.list_tickets

    def timed_listing(queue: int = 1) -> Iterator[TicketSummary]:
        started = time.perf_counter()
        rows = list(listed(queue))
        listing.append(time.perf_counter() - started)
        return iter(rows)

    desk.list_tickets = timed_listing  # type: ignore[method-assign]
    ledger = Ledger(ledger_path)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        summary: RunSummary = Pass(
            desk,
            rules,
            ledger,
            AuditLog(ledger_path.with_suffix(".jsonl")),
            lambda: datetime.now(timezone.utc),
        ).run(max_actions=max_actions, dry_run=dry_run)
    finally:
        desk.close()
        ledger.close()
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sent: Counter[str] = desk.staff.sent
    return {
        "open tickets": summary.tickets,
        "wall s": round(wall, 1),
        "export s": round(sum(listing), 1),
        "requests": sum(sent.values()),
        "by kind": dict(sorted(sent.items())),
        "pages read (planning)": summary.pages_read,
        "actions done": summary.done,
        "planned": summary.planned,
        "peak MiB": round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fill", type=int, help="first open tickets until the queue holds N")
    parser.add_argument("--max-actions", type=int, default=50)
    parser.add_argument("--dry-run", action="store_true", help="plan only: change nothing")
    args = parser.parse_args()
    if not args.dry_run:
        _disposable("a pass that acts")
    if args.fill:
        fill(args.fill)
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}")
    print(f"Desk: {os.environ['OSTICKET_BENCH_URL']}\n")
    with tempfile.TemporaryDirectory(prefix="osticket-live-pass-") as tmp:
        ledger_path = Path(tmp) / "ledger.sqlite"
        for name in ("cold", "warm"):
            if name == "warm":
                time.sleep(16)  # the desk's export workers rest 15 s after an export
            print(name, one_pass(ledger_path, args.max_actions, args.dry_run), flush=True)


if __name__ == "__main__":
    main()
