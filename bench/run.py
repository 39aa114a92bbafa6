"""The benchmarks, in one run: ``python bench/run.py`` prints a Markdown table.

- Client overhead: `create_ticket` and `set_status` through `OsTicket` against a fast local
  desk (bench/server.py, its own process, HTTP/1.1 keep-alive, buffered writes), as a ratio
  to the same requests sent with a bare `requests.Session`; rounds alternate which goes
  first, and the median ratio of the rounds is reported.
- Bulk creation: `lab seed`'s engine (`create_tickets`, one client) at 1, 4 and 8 workers,
  against a naive loop opening a new connection per ticket (`requests.post`), both sending
  the same practice tickets.
- Planning: µs per ticket and peak memory (tracemalloc) to plan every rule of
  examples/rules.toml over 10,000 and 100,000 synthetic tickets, as a pass plans: the
  history read from a real SQLite ledger first (timed apart), empty (cold) or holding every
  action a cold plan would make as done (warm).
- Requests per automation pass over N open tickets with k due actions (bench/passes.py).

Nothing here reaches any desk but the local stand-in it starts (127.0.0.1, a free port, gone
when this script ends or after its lifetime).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations._ledger import Ledger  # noqa: E402
from automations._model import (  # noqa: E402
    ConversationEntry,
    MemoryHistory,
    TicketSnapshot,
)
from automations._planner import plan  # noqa: E402
from automations._rules import RulesFile, load_rules  # noqa: E402
from bench.passes import FIXED, pass_counts  # noqa: E402
from osticket_client import NewTicket, OsTicket, Priority, TicketSummary  # noqa: E402
from osticket_client._lab import create_tickets, practice_tickets  # noqa: E402
from osticket_client._transport import USER_AGENT  # noqa: E402

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday


# --------------------------------------------------------------------------- the local desk


@contextmanager
def local_desk(lifetime: float) -> Iterator[str]:
    """Start bench/server.py in its own process; yields its base URL; stops it on exit."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "server.py"), "--lifetime", str(lifetime)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        yield f"http://127.0.0.1:{port}/"
    finally:
        assert server.stdin is not None
        server.stdin.close()  # the server stops when its stdin closes
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def server_requests(base: str) -> int:
    return int(requests.get(base + "bench/requests", timeout=5).text)


# --------------------------------------------------------------------------- client overhead

TICKET = NewTicket(
    name="Ada Lovelace",
    email="ada@example.com",
    subject="Printer jams on tray 2",
    message="Tray 2 jams on every page since this morning.",
    topic_id=10,
    priority=Priority.HIGH,
)


def timed(operation: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        operation()
    return time.perf_counter() - started


def overhead(base: str, rounds: int, n: int) -> dict[str, tuple[float, ...]]:
    """Per operation: (client µs, bare µs, median of the rounds' client/bare ratios, the first
    and third quartiles of those ratios (the spread the machine's noise leaves), and the ratio
    of the best rounds (the least disturbed by anything else running))."""
    client = OsTicket(base, api_key="bench-key", username="bench", password="bench-pass")
    bare = requests.Session()
    bare.headers["User-Agent"] = USER_AGENT
    api_headers = {"X-API-Key": "bench-key", "Content-Type": "application/json"}
    payload = TICKET.to_payload()
    create_url = base + "api/tickets.json"
    status_url = base + "scp/ajax.php/tickets/7/status"

    def bare_create() -> str:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        answer = bare.post(create_url, data=body, headers=api_headers, timeout=30)
        if answer.status_code != 201:
            raise RuntimeError(answer.text)
        return answer.text.strip()

    def bare_status() -> bool:
        answer = bare.post(
            status_url,
            data=[("status_id", "6")],
            headers={"X-Requested-With": "XMLHttpRequest", "X-CSRFToken": "bench-token"},
            timeout=30,
            allow_redirects=False,
        )
        if answer.status_code != 201:
            raise RuntimeError(answer.text)
        return True

    def client_create() -> str:
        return client.create_ticket(TICKET)

    def client_status() -> bool:
        return client.set_status("123456", "Work in Progress").changed

    # Warm up both: the client logs in, lists the statuses and looks the ticket id up once.
    for op in (client_create, client_status, bare_create, bare_status):
        timed(op, 20)
    results: dict[str, tuple[float, ...]] = {}
    try:
        for name, mine, theirs in (
            ("create_ticket", client_create, bare_create),
            ("set_status", client_status, bare_status),
        ):
            ratios, mine_s, theirs_s = [], [], []
            for round_ in range(rounds):
                if round_ % 2:
                    b, c = timed(theirs, n), timed(mine, n)
                else:
                    c, b = timed(mine, n), timed(theirs, n)
                ratios.append(c / b)
                mine_s.append(c)
                theirs_s.append(b)
            quartiles = statistics.quantiles(ratios, n=4)
            results[name] = (
                statistics.median(mine_s) / n * 1e6,
                statistics.median(theirs_s) / n * 1e6,
                statistics.median(ratios),
                quartiles[0],
                quartiles[2],
                min(mine_s) / min(theirs_s),
            )
    finally:
        client.close()
        bare.close()
    return results


def own_work(base: str, n: int) -> dict[str, float]:
    """µs of the client's own Python work a call: its session answers at once with what the
    local desk would say (encoding taken from the headers, as requests' adapter does)."""

    def canned(url: str) -> requests.Response:
        answer = requests.Response()
        answer.status_code = 201
        if url.endswith("/status"):
            answer._content = STATUS_BODY
            answer.headers["Content-Type"] = "application/json"
        else:
            answer._content = b"123456"
            answer.headers["Content-Type"] = "text/plain"
        answer.encoding = requests.utils.get_encoding_from_headers(answer.headers)
        return answer

    client = OsTicket(base, api_key="bench-key", username="bench", password="bench-pass")
    try:
        client.set_status("123456", "Work in Progress")  # logs in, lists, looks up: cached
        client._transport.session.request = (  # type: ignore[method-assign]
            lambda method, url, **kwargs: canned(url)
        )
        return {
            "create_ticket": timed(lambda: client.create_ticket(TICKET), n) / n * 1e6,
            "set_status": timed(lambda: client.set_status("123456", "Pending"), n) / n * 1e6,
        }
    finally:
        client._session = None  # its session is canned now: no logout to send
        client.close()


STATUS_BODY = json.dumps({"id": 7, "msg": "Successfully updated"}).encode()


def profile_overhead(base: str, n: int) -> str:
    """Where the client's time goes for `set_status` (cumulative, top entries)."""
    import cProfile
    import io
    import pstats

    client = OsTicket(base, api_key="bench-key", username="bench", password="bench-pass")
    try:
        client.set_status("123456", "Work in Progress")
        client.create_ticket(TICKET)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            client.set_status("123456", "Work in Progress")
            client.create_ticket(TICKET)
        profiler.disable()
    finally:
        client.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


# --------------------------------------------------------------------------- bulk creation


def bulk(base: str, tickets: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Per way of creating: (tickets per second, speed-up over the naive loop), medians.

    Both sides send the same `lab seed` practice tickets (a quarter with an attachment); the
    client side is `lab seed`'s own engine, `create_tickets`, at 1, 4 and 8 workers.
    """
    api_headers = {"X-API-Key": "bench-key", "Content-Type": "application/json"}
    url = base + "api/tickets.json"
    practice = practice_tickets(tickets, seed=1)
    bodies = [json.dumps(t.to_payload(), ensure_ascii=False).encode("utf-8") for t in practice]

    def naive() -> None:
        for body in bodies:
            answer = requests.post(url, data=body, headers=api_headers, timeout=30)
            if answer.status_code != 201:
                raise RuntimeError(answer.text)

    def pooled(workers: int) -> Callable[[], None]:
        def create_all() -> None:
            with OsTicket(base, api_key="bench-key") as client:
                outcome = create_tickets(client, practice, workers=workers)
            if len(outcome.created) != tickets:
                raise RuntimeError(f"lost tickets: {outcome.failures}")

        return create_all

    ways: dict[str, Callable[[], None]] = {
        "naive loop, new connection each": naive,
        "lab seed (create_tickets), 1 worker": pooled(1),
        "lab seed (create_tickets), 4 workers": pooled(4),
        "lab seed (create_tickets), 8 workers": pooled(8),
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(rounds):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for name in order:
            started = time.perf_counter()
            ways[name]()
            seconds[name].append(time.perf_counter() - started)
    naive_s = statistics.median(seconds["naive loop, new connection each"])
    return {
        name: (tickets / statistics.median(s), naive_s / statistics.median(s))
        for name, s in seconds.items()
    }


# --------------------------------------------------------------------------- planning

TOPICS = (
    "Report a Problem",
    "Report a Problem / Access Issue",
    "General Inquiry",
    "Feedback",
    None,
)
STATUSES = ("Open", "Open", "Work in Progress", "Work in Progress", "Pending")
AGENTS = (None, "Ada Admin", "Lim Ited", None)


def synthetic(n: int) -> list[TicketSnapshot]:
    """`n` open tickets of every shape the example rules look at, deterministic."""
    snapshots = []
    hour = timedelta(hours=1)
    for i in range(n):
        created = NOW - (i % 240) * hour - timedelta(minutes=i % 60)
        last_customer = created + timedelta(minutes=5)
        conversation = [
            ConversationEntry(i * 4 + 1, "M", created, "Customer", "It is broken."),
        ]
        if i % 3:
            conversation.append(
                ConversationEntry(
                    i * 4 + 2, "R", last_customer + (i % 50) * hour, "Ada Admin", "Which model?"
                )
            )
        if i % 7 == 0:
            conversation.append(
                ConversationEntry(i * 4 + 3, "M", NOW - (i % 5) * hour, "Customer", "Model X.")
            )
        summary = TicketSummary(
            number=str(100000 + i),
            created=created,
            subject=f"Ticket {i}",
            from_name="Customer",
            priority="Normal",
            department="Maintenance" if i % 2 else "Support",
            help_topic=TOPICS[i % len(TOPICS)],
            status=STATUSES[i % len(STATUSES)],
            sla_due=NOW + timedelta(hours=(i % 96) - 48),
            agent=AGENTS[i % len(AGENTS)],
            answered=bool(i % 3),
            thread_count=len(conversation),
            reopen_count=0,
        )
        snapshots.append(
            TicketSnapshot(summary, "open", tuple(conversation), customer_name="Customer")
        )
    return snapshots


@dataclass(frozen=True)
class Planned:
    """What planning one size cost (medians of the rounds unless said)."""

    tickets: int
    rounds: tuple[float, ...]  # each round's plan() alone, in order: this machine's spread
    history_seconds: float  # Ledger.history() for the listed tickets, before plan()
    ledger_rows: int
    peak_mib: float  # while planning (tracemalloc)
    decisions: int

    @property
    def seconds(self) -> float:
        return statistics.median(self.rounds)

    @property
    def per_ticket_us(self) -> float:
        return self.seconds / self.tickets * 1e6


def _done_ledger(path: Path, snapshots: list[TicketSnapshot], rules: RulesFile) -> Ledger:
    """A ledger in which every action of a cold plan over these tickets was done."""
    ledger = Ledger(path)
    actions = [d.action for d in plan(rules, snapshots, NOW, MemoryHistory(), explain=False)]
    # One transaction for the lot (a run commits each action on its own, which is what makes it
    # safe to kill, and far too slow for filling in 187,000 of them here).
    ledger._db.execute("BEGIN")
    for action in actions:
        if action is not None:
            ledger.intend(action, "earlier", NOW - timedelta(minutes=5))
            ledger.settle(action.key, "done", NOW - timedelta(minutes=5), "")
    ledger._db.execute("COMMIT")
    return ledger


def planning(
    rules: RulesFile, sizes: tuple[int, ...], rounds: int, *, explain: bool, warm: bool = False
) -> dict[int, Planned]:
    """Per size: planning a pass as `Pass.decide` does it, from a real SQLite ledger.

    Cold: an empty ledger (every due action is new). Warm: a ledger in which everything a cold
    plan would do was done five minutes earlier (a desk the rules have run on for a while), so
    the planner walks the same tickets but finds its actions done. `explain=False` is what a
    pass plans (only due actions); True is `auto plan --explain`.
    """
    results: dict[int, Planned] = {}
    inputs = {n: synthetic(n) for n in sizes}
    seconds: dict[int, list[float]] = {n: [] for n in sizes}
    reads: dict[int, list[float]] = {n: [] for n in sizes}
    decisions: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        ledgers = {
            n: _done_ledger(Path(folder, f"{n}.sqlite"), inputs[n], rules)
            if warm
            else Ledger(Path(folder, f"{n}.sqlite"))
            for n in sizes
        }
        numbers = {n: [s.summary.number for s in inputs[n]] for n in sizes}
        try:
            for round_ in range(rounds):
                for n in sizes if round_ % 2 == 0 else tuple(reversed(sizes)):
                    gc.collect()
                    started = time.perf_counter()
                    history = ledgers[n].history(numbers[n])
                    read = time.perf_counter()
                    decided = plan(rules, inputs[n], NOW, history, explain=explain)
                    seconds[n].append(time.perf_counter() - read)
                    reads[n].append(read - started)
                    decisions[n] = len(decided)
                    del decided
            for n in sizes:
                history = ledgers[n].history(numbers[n])
                gc.collect()
                tracemalloc.start()
                decided = plan(rules, inputs[n], NOW, history, explain=explain)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                del decided
                results[n] = Planned(
                    n,
                    tuple(seconds[n]),
                    statistics.median(reads[n]),
                    len(history.done),
                    peak / 2**20,
                    decisions[n],
                )
        finally:
            for ledger in ledgers.values():
                ledger.close()
    return results


# --------------------------------------------------------------------------- the table


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}, requests {requests.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="osticket-client benchmarks (one run)")
    parser.add_argument("--rounds", type=int, default=41, help="rounds per ratio (median)")
    parser.add_argument("--n", type=int, default=100, help="requests per round and side")
    parser.add_argument("--bulk", type=int, default=400, help="tickets per bulk round")
    parser.add_argument("--profile", action="store_true", help="print where client time goes")
    args = parser.parse_args()

    rules = load_rules(ROOT / "examples" / "rules.toml")
    print(f"Machine: {machine()}\n")
    with local_desk(lifetime=900) as base:
        over = overhead(base, args.rounds, args.n)
        own = own_work(base, 5000)
        bulk_rates = bulk(base, args.bulk, 5)
        if args.profile:
            print(profile_overhead(base, 1000))
        # The counts the per-request model in bench/passes.py charges, checked on the wire.
        before = server_requests(base)
        with OsTicket(base, username="bench", password="bench-pass") as client:
            client.set_status("123456", "Pending")
            client.set_status("123456", "Open")
        wire_first = server_requests(base) - before
    plans = planning(rules, (10_000, 100_000), 7, explain=False)
    warm = planning(rules, (10_000, 100_000), 3, explain=False, warm=True)
    explained = planning(rules, (10_000, 100_000), 3, explain=True)
    passes = pass_counts((100, 1_000, 10_000), due_fraction=0.1)

    print("| benchmark | measured | goal |")
    print("| --- | --- | --- |")
    for name, (mine, theirs, ratio, low, high, best) in over.items():
        verdict = "met" if ratio <= 1.10 else "missed"
        print(
            f"| client overhead, `{name}` | {ratio:.3f}x bare requests.Session (median of"
            f" {args.rounds} rounds, quartiles {low:.2f}-{high:.2f}, best rounds {best:.3f}x;"
            f" {mine:.0f} µs vs {theirs:.0f} µs a call; the client's own work"
            f" {own[name]:.0f} µs a call) | <= 1.10 ({verdict}) |"
        )
    # The goals are a pass's (what `auto run` plans); --explain keeps every decision, for a
    # person reading why, and is shown for comparison.
    for label, results, goals in (
        ("a pass, cold ledger", plans, True),
        ("a pass, warm ledger", warm, True),
        ("--explain, cold ledger", explained, False),
    ):
        for n, r in results.items():
            goal = "—"
            if goals and n == 100_000:
                goal = f"<= 2 s ({'met' if r.seconds <= 2 else 'missed'})"
            print(
                f"| planning {n:,} tickets, {label} ({r.decisions:,} decisions) |"
                f" {r.per_ticket_us:.2f} µs a ticket, {r.seconds:.2f} s (rounds {min(r.rounds):.2f}"
                f"-{max(r.rounds):.2f} s), peak {r.peak_mib:.0f} MiB;"
                f" reading the ledger's history first ({r.ledger_rows:,} rows for these tickets)"
                f" {r.history_seconds:.2f} s | {goal} |"
            )
        # Paired within each round (the sizes run back to back), so that the machine's slow
        # spells, which come and go over seconds, fall on both sides of a ratio.
        small, large = results[10_000].rounds, results[100_000].rounds
        growth = statistics.median(
            [b / 100_000 / (a / 10_000) for a, b in zip(small, large, strict=True)]
        )
        goal = f"<= 1.2x ({'met' if growth <= 1.2 else 'missed'})" if goals else "—"
        print(
            f"| planning cost growth, {label} | {growth:.2f}x per ticket at 100,000"
            f" vs 10,000 | {goal} |"
        )
    for name, (rate, speedup) in bulk_rates.items():
        print(f"| bulk creation, {name} | {rate:.0f} tickets/s, {speedup:.2f}x naive | — |")
    for row in passes:
        print(
            f"| requests a pass, N={row.n:,}, k={row.k:,} | cold {row.cold},"
            f" after acting {row.after}, unchanged {row.steady} (pages {row.steady_pages})"
            f" | formula: {row.formula_cold} / {row.formula_after} / {FIXED} |"
        )
    print(
        f"\nOn the wire (local desk): a fresh client's first two status changes took"
        f" {wire_first} requests (login 2 + status list 3 + ticket page by number 1 + 2 posts"
        " + logout 1 = 9)."
    )


if __name__ == "__main__":
    main()
