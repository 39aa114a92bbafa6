"""One client shared by threads, against the stand-in staff panel over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from osticket_client import LoginFailed, OsTicket
from tests.standin import StandInPanel
from tests.test_pages import ticket_page

PASSWORD = "S3cret-Passw0rd"
NUMBERS = [str(100000 + n) for n in range(8)]


@pytest.fixture
def panel() -> Iterator[StandInPanel]:
    # Sessions move to a new id on the first GET 10 ms after a login (the desk waits 10 s):
    # the threads below keep racing each other's rotations.
    page = lambda number: ticket_page(number=number, ticket_id=int(number))  # noqa: E731
    with StandInPanel(PASSWORD, page, rotate_after=0.01) as panel:
        yield panel


def read_all(desk: OsTicket, numbers: list[str], threads: int = 8) -> list[str]:
    with ThreadPoolExecutor(threads) as pool:
        return [t.subject for t in pool.map(desk.get_ticket, numbers)]


def test_eight_threads_sharing_a_client_log_in_once(panel: StandInPanel) -> None:
    with OsTicket(panel.url, username="automation", password=PASSWORD) as desk:
        subjects = read_all(desk, NUMBERS * 25)
    assert subjects == ["Printer on fire"] * 200
    assert panel.counts["logins"] == 1
    assert panel.counts["failed_logins"] == panel.counts["csrf_refused"] == 0
    assert panel.counts["must_login"] == 0
    assert panel.counts["rotations"] > 1  # the session moved under the threads' feet
    assert panel.counts["GET /scp/tickets.php"] == 200


def test_an_expired_session_is_renewed_by_one_thread_for_all(panel: StandInPanel) -> None:
    with OsTicket(panel.url, username="automation", password=PASSWORD) as desk:
        for round in range(1, 4):
            panel.expire()  # every thread's next request is answered "Must login"
            assert len(read_all(desk, NUMBERS * 4)) == 32
            assert panel.counts["logins"] == round
        assert desk.staff.logins == 3
    assert panel.counts["failed_logins"] == panel.counts["csrf_refused"] == 0


def test_a_refused_password_is_sent_once_whatever_the_threads(panel: StandInPanel) -> None:
    desk = OsTicket(panel.url, username="automation", password="wrong")
    errors: list[BaseException] = []

    def read(number: str) -> None:
        try:
            desk.get_ticket(number)
        except LoginFailed as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(n,)) for n in NUMBERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 8
    assert all("Access denied" in str(e) for e in errors)
    assert panel.counts["failed_logins"] == 1  # five would lock the agent out
    assert panel.counts["csrf_refused"] == 0
    with pytest.raises(LoginFailed, match="not sent again"):
        desk.statuses()
    assert panel.counts["failed_logins"] == 1


def test_views_with_other_limits_share_the_login(panel: StandInPanel) -> None:
    with OsTicket(panel.url, username="automation", password=PASSWORD) as desk:
        quick = desk.with_options(timeout=5)
        assert quick.get_ticket("100001").number == "100001"
        assert desk.get_ticket("100002").number == "100002"
    assert panel.counts["logins"] == 1
