"""Build the automation scenario (cassettes/README.md) on a disposable desk, for re-recording.

    OSTICKET_RECORD_DISPOSABLE=1 OSTICKET_RECORD_URL=http://127.0.0.1:8082/ \
    OSTICKET_RECORD_MYSQL="mysql osticket_mydesk" python -m tests.auto_scenario

It creates tickets A to I with this client (API creates, the admin agent's replies and status
changes, customer messages through the e-mail endpoint), then ages them by moving their times
back in the desk's database: the SQL goes to the command in OSTICKET_RECORD_MYSQL, or is
printed when that is not set. Times are UTC (a default desk's database time).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from osticket_client import NewTicket, OsTicket
from tests.recording import read_record_config

HOUR = 60  # minutes


def _create(api: OsTicket, letter: str, subject: str, **fields: object) -> str:
    ticket = NewTicket(
        name=f"Customer {letter}",
        email=f"customer.{letter.lower()}@example.com",
        subject=subject,
        message=f"{subject}: please help",
        **fields,  # type: ignore[arg-type]
    )
    return api.create_ticket(ticket)


def build(api: OsTicket, admin: OsTicket) -> list[str]:
    """Create the nine tickets; returns the SQL that ages them."""
    sql: list[str] = []

    def age(number: str, created: int, entries: list[int], due: int | None) -> None:
        """Created `created` minutes ago; thread entries (in id order) at those ages; SLA
        due `due` minutes from now (negative: past)."""
        ticket = admin.get_ticket(number)
        tid = ticket.ticket_id
        at = f"UTC_TIMESTAMP() - INTERVAL {created} MINUTE"
        sql.append(
            f"UPDATE ost_ticket SET created = {at}, updated = {at}, lastupdate = {at}"
            f" WHERE ticket_id = {tid};"
        )
        sql.append(
            f"UPDATE ost_thread SET created = {at} WHERE object_type = 'T' AND object_id = {tid};"
        )
        sql.append(
            f"UPDATE ost_thread_event SET timestamp = {at} WHERE thread_id ="
            f" (SELECT id FROM ost_thread WHERE object_type = 'T' AND object_id = {tid});"
        )
        for entry, minutes in zip(ticket.thread, entries, strict=True):
            sql.append(
                f"UPDATE ost_thread_entry SET created = UTC_TIMESTAMP() - INTERVAL {minutes}"
                f" MINUTE WHERE id = {entry.id};"
            )
        if due is not None:
            sql.append(
                f"UPDATE ost_ticket SET est_duedate = UTC_TIMESTAMP() + INTERVAL {due} MINUTE"
                f" WHERE ticket_id = {tid};"
            )

    a = _create(api, "A", "Printer on fire", topic_id=10)
    age(a, HOUR, [HOUR], 3 * 24 * HOUR)

    b = _create(api, "B", "VPN drops every hour")
    admin.reply(b, "Which VPN client version do you use?", status="Work in Progress")
    age(b, 7 * 24 * HOUR, [7 * 24 * HOUR, 5 * 24 * HOUR], -3 * 24 * HOUR)

    c = _create(api, "C", "Mail quota")
    admin.reply(c, "I raised your quota to 5 GB.")
    age(c, 3 * HOUR, [3 * HOUR, HOUR], 3 * 24 * HOUR)

    d = _create(api, "D", "Server down")
    age(d, 20 * HOUR, [20 * HOUR], -HOUR)

    e = _create(api, "E", "Slow laptop")
    age(e, 17 * HOUR, [17 * HOUR], HOUR)

    f = _create(api, "F", "Scanner jams", topic_id=10)
    admin.assign(f, agent="Lim Ited")
    age(f, 2 * HOUR, [2 * HOUR], 3 * 24 * HOUR)

    g = _create(api, "G", "Licence renewal")
    admin.set_status(g, "Pending")
    age(g, 4 * 24 * HOUR, [4 * 24 * HOUR], -24 * HOUR)

    h = _create(api, "H", "Shared drive")
    admin.reply(h, "Which drive letter?", status="Work in Progress")
    admin.add_customer_message(h, email="customer.h@example.com", text="It is drive S:")
    age(h, 7 * 24 * HOUR, [7 * 24 * HOUR, 5 * 24 * HOUR, 4 * 24 * HOUR], 3 * 24 * HOUR)

    i = _create(api, "I", "Old request")
    admin.set_status(i, "Closed")
    age(i, 10 * 24 * HOUR, [10 * 24 * HOUR], None)

    for letter, number in zip("ABCDEFGHI", (a, b, c, d, e, f, g, h, i), strict=True):
        print(f"ticket {letter}: {number}", file=sys.stderr)
    return sql


def main() -> None:
    config = read_record_config(os.environ)
    url, credentials = config.urls["v118"], config.credentials
    with (
        OsTicket(url, api_key=credentials["api_key"]) as api,
        OsTicket(
            url,
            api_key=credentials["api_key"],
            username=credentials["admin_username"],
            password=credentials["admin_password"],
        ) as admin,
    ):
        sql = "\n".join(build(api, admin)) + "\n"
    command = os.environ.get("OSTICKET_RECORD_MYSQL")
    if command:
        subprocess.run(shlex.split(command), input=sql, text=True, check=True)
    else:
        print(sql)


if __name__ == "__main__":
    main()
