"""Prepare the timed-rules scenario on a disposable desk, for `tests/test_cassettes_timed.py`.

    OSTICKET_URL=http://127.0.0.1:8088/ OSTICKET_API_KEY=... OSTICKET_USERNAME=ostadmin \\
    OSTICKET_PASSWORD=... python -m tests.timed_scenario > age.sql
    mysql <the desk's database> < age.sql
    OSTICKET_URL=... OSTICKET_API_KEY=... python -m tests.timed_scenario --cron

It opens the tickets through this client (API creates, agent replies and status changes), then
prints the SQL that moves their times back (as cassettes/README.md's automation scenario was
aged); `--cron` afterwards lets the desk flag the overdue one itself, and prints the SQL that
moves that flag to yesterday. Every ticket's subject starts with "Timed scenario:".
"""

from __future__ import annotations

import sys

from osticket_client import NewTicket, OsTicket, Priority

PREFIX = "Timed scenario:"
# subject -> (status to leave it in, days to move every time back)
TICKETS = {
    "A pending 15 days": ("Pending", 15),
    "B pending 15 days, flagged overdue yesterday": ("Pending", 15),
    "C pending 15 days, will answer": ("Pending", 15),
    "D resolved 8 days ago": ("Resolved", 8),
    "E resolved 2 days ago": ("Resolved", 2),
    "F open, the customer will reply": ("Open", 1),
}


def _shift(number: str, days: int) -> str:
    """SQL moving every time of one ticket `days` back."""
    ticket = f"(SELECT ticket_id FROM ost_ticket WHERE number = '{number}')"
    thread = f"(SELECT id FROM ost_thread WHERE object_type = 'T' AND object_id = {ticket})"
    back = f"INTERVAL {days} DAY"
    return "\n".join(
        [
            f"UPDATE ost_ticket SET created = created - {back}, updated = updated - {back},"
            f" lastupdate = lastupdate - {back}, est_duedate = est_duedate - {back},"
            f" closed = closed - {back} WHERE number = '{number}';",
            f"UPDATE ost_thread_entry SET created = created - {back} WHERE thread_id = {thread};",
            f"UPDATE ost_thread_event SET timestamp = timestamp - {back}"
            f" WHERE thread_id = {thread};",
            f"UPDATE ost_thread SET created = created - {back},"
            f" lastresponse = lastresponse - {back}, lastmessage = lastmessage - {back}"
            f" WHERE id = {thread};",
        ]
    )


def prepare(desk: OsTicket) -> str:
    """Open the scenario's tickets; returns the SQL that ages them."""
    statements = []
    for subject, (status, days) in TICKETS.items():
        letter = subject[0]
        number = desk.create_ticket(
            NewTicket(
                name=f"Customer {letter}",
                email=f"timed.{letter.lower()}@example.com",
                subject=f"{PREFIX} {subject}",
                message=f"Ticket {letter} of the timed scenario.",
                priority=Priority.NORMAL,
            )
        )
        if status != "Open":
            desk.reply(number, f"Could you confirm it works now, {letter}?")
            desk.set_status(number, status)
        print(f"-- {number}: {subject}", file=sys.stderr)
        statements.append(f"-- {number}: {subject}\n{_shift(number, days)}")
        if letter in "ACDF":
            # Not due for SLA: only B is to be flagged overdue by cron.
            statements.append(
                "UPDATE ost_ticket SET est_duedate = NOW() + INTERVAL 30 DAY"
                f" WHERE number = '{number}';"
            )
    return "\n".join(statements) + "\n"


def flag_overdue_yesterday(desk: OsTicket) -> str:
    """Run cron (the desk flags B overdue itself); returns SQL moving that flag to yesterday."""
    desk.run_cron()
    found = desk.find_tickets("timed.b@example.com")
    print(f"-- cron ran; B's customer has {found.customers}", file=sys.stderr)
    return (
        "UPDATE ost_thread_event SET timestamp = NOW() - INTERVAL 1 DAY"
        " WHERE event_id = (SELECT id FROM ost_event WHERE name = 'overdue')"
        " AND timestamp > NOW() - INTERVAL 1 HOUR;\n"
        # Flagging bumped `updated` (what osTicket pull request #6445 measured from).
        "UPDATE ost_ticket SET updated = NOW() - INTERVAL 1 DAY,"
        " lastupdate = NOW() - INTERVAL 1 DAY"
        " WHERE isoverdue = 1 AND updated > NOW() - INTERVAL 1 HOUR;\n"
    )


def main() -> None:
    with OsTicket.from_env() as desk:
        if "--cron" in sys.argv:
            print(flag_overdue_yesterday(desk))
        else:
            print(prepare(desk))


if __name__ == "__main__":
    main()
