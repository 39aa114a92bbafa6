"""The listing step of an automation pass on a live desk, as a ratio to bare requests.

Usage (a desk of your own, with an agent login in OSTICKET_URL / OSTICKET_USERNAME /
OSTICKET_PASSWORD; it only reads)::

    python bench/live_listing.py [--rounds 3] [--queue 1]

Both sides fetch the same columns the same way (the queue's CSV export: export, check,
download; the cheapest listing osTicket offers); the client also parses every row into
`TicketSummary` values. Each export keeps a desk worker asleep for 15 s, so the rounds are
spaced 16 s apart (not timed) and alternate which side goes first.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import time

import requests

from osticket_client import OsTicket
from osticket_client._pages import FIXED_EXPORT_ORDER, csrf_token

SPACING = 16.0


def bare_listing(session: requests.Session, scp: str, token: str, queue: int) -> int:
    """Export, wait until ready, download and split the CSV: what any script must do."""
    headers = {"X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest"}
    data = [("fields[]", f) for f in FIXED_EXPORT_ORDER]
    data += [("filename", "bare.csv"), ("csv-delimiter", ",")]
    export = session.post(f"{scp}ajax.php/tickets/export/{queue}", data=data, headers=headers)
    eid = export.json()["eid"]
    while session.post(f"{scp}ajax.php/export/{eid}/check", headers=headers).status_code != 201:
        time.sleep(0.1)
    text = session.get(f"{scp}export.php", params={"id": eid}).content.decode("utf-8-sig")
    return len(list(csv.reader(io.StringIO(text)))) - 1


def bare_session(desk: OsTicket) -> tuple[requests.Session, str]:
    """A plain logged-in session (not timed)."""
    session = requests.Session()
    scp = desk.url + "scp/"
    token = csrf_token(session.get(scp + "login.php").text) or ""
    session.post(
        scp + "login.php",
        data={
            "__CSRFToken__": token,
            "do": "scplogin",
            "userid": desk.username or "",
            "passwd": desk._password or "",
            "ajax": "1",
        },
    )
    return session, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queue", type=int, default=1)
    args = parser.parse_args()
    desk = OsTicket.from_env()
    desk._monotonic = lambda: 0.0  # the spacing below replaces the client's own 15 s wait
    desk.statuses()  # log in (not timed)
    session, token = bare_session(desk)
    client_s: list[float] = []
    bare_s: list[float] = []
    rows = 0
    for round_ in range(args.rounds):
        order = ("client", "bare") if round_ % 2 == 0 else ("bare", "client")
        for side in order:
            time.sleep(SPACING)
            started = time.perf_counter()
            if side == "client":
                rows = len(list(desk.list_tickets(args.queue)))
                client_s.append(time.perf_counter() - started)
            else:
                bare_rows = bare_listing(session, desk.url + "scp/", token, args.queue)
                bare_s.append(time.perf_counter() - started)
                assert bare_rows == rows or not rows, (bare_rows, rows)
    client, bare = statistics.median(client_s), statistics.median(bare_s)
    print(
        f"queue {args.queue}: {rows} tickets; listing with the client {client:.2f} s,"
        f" bare requests {bare:.2f} s: ratio {client / bare:.2f} (median of {args.rounds})"
    )
    desk.close()


if __name__ == "__main__":
    main()
