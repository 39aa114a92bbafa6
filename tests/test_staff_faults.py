"""The agent session under faults a healthy desk rarely shows, stepped with canned answers."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from osticket_client import (
    ActionRejected,
    ConnectError,
    LoginFailed,
    OsTicket,
    OutcomeUnknown,
    ServerError,
    SessionExpired,
    TicketLocked,
    TicketNotFound,
    TimeoutError,
    TransportError,
    UnexpectedResponse,
)
from tests.test_pages import ticket_page

BASE = "https://desk.example/"
SCP = BASE + "scp/"
LOGIN_PAGE = '<form id="login"><input type="hidden" name="__CSRFToken__" value="tok-1"></form>'
LOGGED_IN = json.dumps({"status": 302, "redirect": "index.php"})
# Ticket #123456, internal id 7, as its page (GET tickets.php?number=123456) shows it.
TICKET_PAGE = ticket_page(number="123456", ticket_id=7)
SEARCH_STATUS = json.dumps({"html": '<option value="6">Work in Progress</option>'})


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def desk(waits: list[float]) -> OsTicket:
    return OsTicket(BASE, username="automation", password="S3cret-Passw0rd", sleep=waits.append)


def login_ok() -> None:
    responses.add(responses.GET, SCP + "login.php", body=LOGIN_PAGE)
    responses.add(responses.POST, SCP + "login.php", body=LOGGED_IN)


def ticket_known() -> None:
    responses.add(responses.GET, SCP + "tickets.php", body=TICKET_PAGE)


def calls(method: str, url: str) -> list[responses.Call]:
    return [c for c in responses.calls if c.request.method == method and c.request.url == url]


@responses.activate
def test_login_carries_the_token_and_sends_plain_field_names(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    responses.add(
        responses.GET, SCP + "ajax.php/tickets/search/field/status__id", body=SEARCH_STATUS
    )
    responses.add(
        responses.GET,
        SCP + "ajax.php/tickets/status/open",
        body='<select name="status_id"><option value="6">Work in Progress</option>',
    )
    responses.add(
        responses.GET, SCP + "ajax.php/tickets/status/close", body="Access denied", status=403
    )
    responses.add(
        responses.POST, SCP + "ajax.php/tickets/7/status", body="Successfully processed", status=201
    )
    result = desk.set_status("123456", "work in progress", comment="Automation")
    assert result.changed
    post = calls("POST", SCP + "ajax.php/tickets/7/status")[0].request
    assert post.headers["X-CSRFToken"] == "tok-1"
    assert parse_qs(str(post.body)) == {"status_id": ["6"], "comments": ["Automation"]}
    login = parse_qs(str(calls("POST", SCP + "login.php")[0].request.body))
    assert login["userid"] == ["automation"] and login["ajax"] == ["1"]


@pytest.mark.parametrize(
    ("answer", "page", "message"),
    [
        ({"status": 401, "message": "Access denied", "show_reset": True}, "", "Access denied"),
        (
            {"status": 401, "message": "Maximum failed login attempts reached"},
            "",
            "Maximum failed login attempts",
        ),
        (
            {"status": 302, "redirect": "login.php"},
            '<form id="login"><input type="hidden" name="do" value="2fa"></form>',
            "two-factor authentication",
        ),
        (
            {"status": 302, "redirect": "/scp/login.php"},
            '<form id="login"><h3 id="login-message">Valid CSRF Token Required</h3></form>',
            "Valid CSRF Token Required",
        ),
    ],
)
@responses.activate
def test_login_failures_say_why_and_are_never_retried(
    desk: OsTicket, answer: dict[str, object], page: str, message: str
) -> None:
    responses.add(responses.GET, SCP + "login.php", body=LOGIN_PAGE)
    responses.add(responses.POST, SCP + "login.php", body=json.dumps(answer))
    if page:
        responses.add(responses.GET, SCP + "login.php", body=page)
    with pytest.raises(LoginFailed, match=message) as caught:
        desk.statuses()
    assert len(calls("POST", SCP + "login.php")) == 1
    assert "S3cret-Passw0rd" not in str(caught.value)


@responses.activate
def test_a_url_without_a_staff_panel(desk: OsTicket) -> None:
    responses.add(responses.GET, SCP + "login.php", body="Not Found", status=404)
    with pytest.raises(LoginFailed, match="no staff login page at this URL"):
        desk.statuses()


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (403, "Must login: Session timed out due to inactivity", {}),
        (302, "", {"Location": "login.php"}),
    ],
    ids=["ajax-403", "page-redirect"],
)
@responses.activate
def test_expired_session_logs_in_again_once_and_repeats(
    desk: OsTicket, status: int, body: str, headers: dict[str, str]
) -> None:
    login_ok()
    responses.add(
        responses.GET,
        SCP + "tickets.php",
        body=body,
        status=status,
        headers=headers,
    )
    login_ok()
    ticket_known()
    assert desk.ticket_id("123456") == 7
    assert desk.staff.logins == 2
    assert len(calls("GET", SCP + "tickets.php?number=123456")) == 2


@responses.activate
def test_a_desk_that_keeps_asking_for_a_login(desk: OsTicket) -> None:
    for _ in range(2):
        login_ok()
        responses.add(
            responses.GET,
            SCP + "tickets.php",
            body="Must login: Authentication Required",
            status=403,
        )
    with pytest.raises(SessionExpired, match="right after one"):
        desk.ticket_id("123456")


@responses.activate
def test_expired_csrf_token_is_renewed_without_a_new_login(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    responses.add(
        responses.POST,
        SCP + "ajax.php/tickets/7/mark/answered",
        body="Valid CSRF Token Required",
        status=400,
    )
    responses.add(responses.GET, SCP + "login.php", status=302, headers={"Location": "index.php"})
    responses.add(
        responses.GET, SCP + "profile.php", body='<meta name="csrf_token" content="tok-2"/>'
    )
    responses.add(responses.POST, SCP + "ajax.php/tickets/7/mark/answered", body="7", status=201)
    assert desk.mark_answered("123456").changed
    posts = calls("POST", SCP + "ajax.php/tickets/7/mark/answered")
    assert [p.request.headers["X-CSRFToken"] for p in posts] == ["tok-1", "tok-2"]
    assert desk.staff.logins == 1


def lock_answer(body: str, status: int = 200) -> None:
    responses.add(responses.POST, SCP + "ajax.php/lock/ticket/7", body=body, status=status)


@responses.activate
def test_reply_whose_answer_is_lost_is_never_repeated(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    lock_answer(json.dumps({"id": 3, "time": 180, "code": "lock-code"}))
    responses.add(responses.POST, SCP + "tickets.php", body=requests.exceptions.ReadTimeout())
    responses.add(responses.POST, SCP + "ajax.php/lock/3/release", body="1")
    with pytest.raises(OutcomeUnknown, match="the reply may have been posted"):
        desk.reply("123456", "Any news?")
    assert len(calls("POST", SCP + "tickets.php?id=7")) == 1
    assert len(calls("POST", SCP + "ajax.php/lock/3/release")) == 1


@responses.activate
def test_reply_that_never_left_is_a_connect_error(desk: OsTicket, waits: list[float]) -> None:
    login_ok()
    ticket_known()
    lock_answer(json.dumps({"id": 3, "time": 180, "code": "lock-code"}))
    for _ in range(3):
        responses.add(
            responses.POST, SCP + "tickets.php", body=requests.exceptions.ConnectTimeout()
        )
    responses.add(responses.POST, SCP + "ajax.php/lock/3/release", body="1")
    with pytest.raises(ConnectError):
        desk.reply("123456", "Any news?")
    assert waits == [0.5, 1.0]


@responses.activate
def test_lock_asked_twice_in_one_second_is_asked_again(desk: OsTicket, waits: list[float]) -> None:
    login_ok()
    ticket_known()
    lock_answer("", status=500)
    lock_answer(json.dumps({"id": 3, "time": 180, "code": "lock-code"}))
    responses.add(
        responses.POST, SCP + "tickets.php", status=302, headers={"Location": "tickets.php?id=7"}
    )
    assert desk.add_note("123456", "Checked").changed
    assert waits == [1.0]
    note = parse_qs(str(calls("POST", SCP + "tickets.php?id=7")[0].request.body))
    assert note["lockCode"] == ["lock-code"] and note["a"] == ["postnote"]
    assert note["__CSRFToken__"] == ["tok-1"]


@responses.activate
def test_desk_without_locking_posts_without_a_code(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    lock_answer(json.dumps({"id": 0, "retry": False}), status=418)
    responses.add(
        responses.POST, SCP + "tickets.php", status=302, headers={"Location": "tickets.php"}
    )
    assert desk.add_note("123456", "Checked").changed
    note = parse_qs(
        str(calls("POST", SCP + "tickets.php?id=7")[0].request.body), keep_blank_values=True
    )
    assert note["lockCode"] == [""]


@responses.activate
def test_lock_held_by_another_agent_sends_nothing(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    lock_answer(
        json.dumps(
            {
                "id": 0,
                "retry": False,
                "msg": 'Currently locked by <img class="avatar"/> Vera Viewer',
            }
        )
    )
    with pytest.raises(TicketLocked, match="Currently locked by Vera Viewer"):
        desk.reply("123456", "Hello")
    assert not calls("POST", SCP + "tickets.php?id=7")


@responses.activate
def test_lock_taken_between_lock_and_post(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    lock_answer(json.dumps({"id": 3, "time": 180, "code": "lock-code"}))
    responses.add(
        responses.POST,
        SCP + "tickets.php",
        body='<div id="msg_error">Action Denied. Ticket is locked by someone else!</div>',
    )
    responses.add(responses.POST, SCP + "ajax.php/lock/3/release", body="0")
    with pytest.raises(TicketLocked):
        desk.reply("123456", "Hello")
    assert len(calls("POST", SCP + "ajax.php/lock/3/release")) == 1


@pytest.mark.parametrize("status", [500, 502])
@responses.activate
def test_a_server_error_after_an_action_was_sent_is_an_unknown_outcome(
    desk: OsTicket, status: int
) -> None:
    # A gateway's 502 can come after the desk acted: the change may have been made.
    login_ok()
    ticket_known()
    responses.add(responses.POST, SCP + "ajax.php/tickets/7/mark/answered", body="", status=status)
    with pytest.raises(OutcomeUnknown, match="may have been done: look at ticket 123456"):
        desk.mark_answered("123456")


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ReadTimeout("slow"), requests.exceptions.ChunkedEncodingError("cut")],
)
@responses.activate
def test_a_lost_answer_to_a_change_is_unknown_not_unreachable(
    desk: OsTicket, error: Exception
) -> None:
    login_ok()
    ticket_known()
    responses.add(responses.POST, SCP + "ajax.php/tickets/7/mark/answered", body=error)
    with pytest.raises(OutcomeUnknown) as caught:
        desk.mark_answered("123456")
    assert not isinstance(caught.value, TransportError)


@responses.activate
def test_an_action_that_never_reached_the_desk_stays_a_connect_error(desk: OsTicket) -> None:
    login_ok()
    ticket_known()
    refused = requests.exceptions.ConnectTimeout("no answer to the connect")
    responses.add(responses.POST, SCP + "ajax.php/tickets/7/mark/answered", body=refused)
    with pytest.raises(ConnectError):
        desk.mark_answered("123456")


@responses.activate
def test_export_that_never_gets_ready(desk: OsTicket, waits: list[float]) -> None:
    login_ok()
    responses.add(
        responses.POST,
        SCP + "ajax.php/tickets/export/1",
        body=json.dumps({"eid": "abc", "interval": 5}),
        status=201,
    )
    responses.add(
        responses.POST, SCP + "ajax.php/export/abc/check", body=json.dumps({"status": "notready"})
    )
    with pytest.raises(TimeoutError, match="e-mails an export"):
        list(desk.list_tickets(1))
    assert sum(waits) >= 60 and max(waits) == 1.0


@responses.activate
def test_exports_are_spaced_fifteen_seconds_apart(desk: OsTicket, waits: list[float]) -> None:
    clock = iter([100.0, 100.0, 104.0, 104.0])
    desk._monotonic = lambda: next(clock)
    login_ok()
    csv = "\ufeff" + ",".join(f'"h{i}"' for i in range(25)) + "\n"
    for _ in range(2):
        responses.add(
            responses.POST,
            SCP + "ajax.php/tickets/export/1",
            body=json.dumps({"eid": "abc"}),
            status=201,
        )
        responses.add(
            responses.POST,
            SCP + "ajax.php/export/abc/check",
            body=json.dumps({"status": "ready"}),
            status=201,
        )
        responses.add(responses.GET, SCP + "export.php", body=csv.encode("utf-8"))
    assert list(desk.list_tickets(1)) == []
    assert list(desk.list_tickets(1)) == []
    assert waits == [11.0]


@responses.activate
def test_an_unreadable_dialog_is_a_clear_error(desk: OsTicket) -> None:
    login_ok()
    responses.add(
        responses.GET, SCP + "ajax.php/tickets/search/field/status__id", body=SEARCH_STATUS
    )
    responses.add(responses.GET, SCP + "ajax.php/tickets/status/open", body="<html>oops</html>")
    with pytest.raises(UnexpectedResponse, match="unreadable status dialog"):
        desk.statuses()


def test_search_tickets_needs_a_criterion(desk: OsTicket) -> None:
    with pytest.raises(ValueError, match="at least one criterion"):
        desk.search_tickets()


@responses.activate
def test_status_code_is_the_status_of_the_answer_the_error_is_about(desk: OsTicket) -> None:
    login_ok()
    unknown_page = '<div id="msg_error">ticket: Unknown or invalid number.</div>'
    responses.add(responses.GET, SCP + "tickets.php", body=unknown_page)
    with pytest.raises(TicketNotFound) as unknown:
        desk.ticket_id("999999")
    assert unknown.value.status_code == 200  # the page answered, showing no ticket
    responses.add(responses.GET, SCP + "tickets.php", body=TICKET_PAGE)
    responses.add(responses.POST, SCP + "ajax.php/tickets/7/mark/answered", body="", status=404)
    with pytest.raises(TicketNotFound) as gone:
        desk.mark_answered("123456")
    assert gone.value.status_code == 404
    assert desk.ticket_ids() == {}  # the 404 dropped the id: the page is read again below
    responses.add(responses.POST, SCP + "ajax.php/lock/ticket/7", body=json.dumps({"id": 0}))
    with pytest.raises(ActionRejected, match="no lock") as no_lock:
        desk.add_note("123456", "Parts ordered")
    assert no_lock.value.status_code == 200
    responses.add(
        responses.GET,
        SCP + "ajax.php/tickets/lookup",
        body=requests.exceptions.ConnectionError("reset"),
    )
    with pytest.raises(TransportError) as lost:
        desk.find_tickets("printer")
    assert lost.value.status_code is None  # no answer arrived


@responses.activate
def test_a_gateway_failing_the_login_is_not_taken_for_a_refusal(desk: OsTicket) -> None:
    responses.add(responses.GET, SCP + "login.php", body=LOGIN_PAGE)
    responses.add(responses.POST, SCP + "login.php", body="Bad Gateway", status=502)
    with pytest.raises(ServerError, match="says nothing about the username or password"):
        desk.statuses()
    login_ok()
    responses.add(
        responses.GET, SCP + "ajax.php/tickets/search/field/status__id", body=SEARCH_STATUS
    )
    responses.add(responses.GET, SCP + "ajax.php/tickets/status/open", body="", status=403)
    responses.add(responses.GET, SCP + "ajax.php/tickets/status/close", body="", status=403)
    assert [c.name for c in desk.statuses()] == ["Work in Progress"]
    assert len(calls("POST", SCP + "login.php")) == 2
