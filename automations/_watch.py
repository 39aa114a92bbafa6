"""`osticket watch`: the change feed osTicket lacks, as JSON lines on standard output.

Each pass lists the queue, finds what changed since the last pass (`_events.detect`), writes the
events to the state file's outbox in the same transaction as what it now remembers, then prints
every event not yet printed and marks it printed. So:

- A restart loses no event: what was found is in the outbox before anything is printed.
- Delivery is at least once: a process killed after printing a line but before marking it
  prints it again on restart, under the same id; consumers de-duplicate on `id`.
- The first pass on a new state file prints nothing (no events for the past).

One watcher per state file (the same lock as `auto run`'s ledger).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from osticket_client import Choice, Ticket, TicketSummary

from ._events import EventStore, detect
from ._ledger import Ledger

__all__ = ["WatchDesk", "locked_store", "watch_pass"]


class WatchDesk(Protocol):
    """What a watch needs of a desk."""

    def statuses(self) -> list[Choice]: ...
    def list_tickets(self, queue: int = 1) -> Iterator[TicketSummary]: ...
    def get_ticket(self, number: str) -> Ticket: ...


def watch_pass(
    desk: WatchDesk,
    store: EventStore,
    queue: int,
    now: datetime,
    out: IO[str],
    link: Callable[[str], str | None] = lambda number: None,
) -> int:
    """One pass: detect, record, then print (and mark) every unprinted event. Returns how many."""
    states = {c.name: c.state for c in desk.statuses()}
    rows = [(row, states.get(row.status or "")) for row in desk.list_tickets(queue)]
    detect(store, rows, desk.get_ticket, now, link)
    printed = 0
    for seq, payload in store.undelivered():
        out.write(json.dumps(payload) + "\n")  # ASCII: any console encoding takes it
        out.flush()
        store.delivered(seq)
        printed += 1
    return printed


def locked_store(path: Path) -> tuple[Ledger, EventStore]:
    """The state file with its run lock held (raises `LedgerBusy`), and its event store."""
    lock = Ledger(path)  # created readable by its owner only
    lock.acquire()
    return lock, EventStore(path)
