"""Read tickets in 8 threads sharing one client: the agent logs in once, whatever the threads do.

    OSTICKET_URL=https://help.example.com/support/ OSTICKET_USERNAME=automation \
    OSTICKET_PASSWORD_FILE=agent-password python examples/threads.py 622798 480142 ...
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from osticket_client import OsTicket


def main(numbers: list[str]) -> None:
    with OsTicket.from_env() as desk, ThreadPoolExecutor(max_workers=8) as pool:
        quick = desk.with_options(timeout=10)  # shares the login; only its limit differs
        for number, ticket in zip(numbers, pool.map(quick.get_ticket, numbers), strict=True):
            print(number, ticket.status, repr(ticket.subject))  # repr: desk text, made printable
        print(f"agent logins: {desk.staff.logins}")


if __name__ == "__main__":
    main(sys.argv[1:])
