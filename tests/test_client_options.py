"""Client options: limits per call, TLS settings, the User-Agent on every request."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest
import requests
import responses
from pydantic import SecretStr

from osticket_client import (
    ConnectError,
    InsecureTransportWarning,
    NewTicket,
    OsTicket,
    RetryPolicy,
    Settings,
)
from tests.test_staff_faults import SCP, TICKET_PAGE, login_ok

BASE = "https://desk.example/"
CRON = BASE + "api/tasks/cron"


def sent(index: int = -1) -> Any:
    return responses.calls[index].request


@responses.activate
def test_a_timeout_for_some_calls_leaves_the_client_s_own() -> None:
    responses.add(responses.POST, CRON, body="Completed")
    desk = OsTicket(BASE, api_key="key", timeout=30)
    desk.with_options(timeout=5).run_cron()
    desk.run_cron()
    assert [sent(i).req_kwargs["timeout"] for i in (0, 1)] == [5.0, 30.0]


@responses.activate
def test_a_retry_policy_for_some_calls() -> None:
    responses.add(responses.POST, CRON, body=requests.exceptions.ConnectTimeout())
    waits: list[float] = []
    desk = OsTicket(BASE, api_key="key", sleep=waits.append)
    with pytest.raises(ConnectError, match="after 1 attempt"):
        desk.with_options(retry=RetryPolicy(attempts=1)).run_cron()
    assert (len(responses.calls), waits) == (1, [])
    with pytest.raises(ConnectError, match="after 3 attempt"):
        desk.run_cron()
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), 1e308, "5"])
def test_unusable_timeouts_are_refused(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        OsTicket(BASE).with_options(timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        OsTicket(BASE, timeout=timeout)


@responses.activate
def test_a_session_passed_in_still_sends_the_client_s_user_agent() -> None:
    responses.add(responses.POST, CRON, body="Completed")
    OsTicket(BASE, api_key="key", session=requests.Session()).run_cron()
    assert sent().headers["User-Agent"].startswith("osticket-client/")
    own = requests.Session()
    own.headers["User-Agent"] = "helpdesk-sync/2.0"
    OsTicket(BASE, api_key="key", session=own).run_cron()
    assert sent().headers["User-Agent"] == "helpdesk-sync/2.0"  # the caller's choice stands


@responses.activate
def test_ca_bundle_and_insecure_as_the_readme_names_them() -> None:
    responses.add(responses.POST, CRON, body="Completed")
    OsTicket(BASE, api_key="key", ca_bundle="/etc/ssl/lab-ca.pem").run_cron()
    assert sent().req_kwargs["verify"] == "/etc/ssl/lab-ca.pem"
    with pytest.warns(InsecureTransportWarning):
        OsTicket(BASE, api_key="key", insecure=True).run_cron()
    assert sent().req_kwargs["verify"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OsTicket(BASE, api_key="key").run_cron()  # checked, against the system's CAs
    assert sent().req_kwargs["verify"] not in (False, "/etc/ssl/lab-ca.pem")
    with pytest.raises(ValueError, match="not both"):
        OsTicket(BASE, verify=True, ca_bundle="/etc/ssl/lab-ca.pem")


@responses.activate
def test_settings_carry_the_ca_bundle_to_the_client() -> None:
    responses.add(responses.POST, CRON, body="Completed")
    settings = Settings(url=BASE, api_key=SecretStr("key"), ca_bundle="/etc/ssl/lab-ca.pem")
    OsTicket.from_settings(settings).run_cron()
    assert sent().req_kwargs["verify"] == "/etc/ssl/lab-ca.pem"


# Every method that sends a request takes the per-call options, as httpx's and python-gitlab's do.
DESK_CALLS = [
    "create_ticket", "check_created", "add_customer_message", "run_cron", "find_tickets",
    "statuses", "agents", "teams", "departments", "topics", "priorities", "sla_plans",
    "set_status", "assign", "claim", "release", "transfer", "set_priority", "set_sla",
    "set_topic", "set_due_date", "mark_answered", "get_ticket", "list_tickets",
    "search_tickets", "reply", "add_note", "version", "me",
]  # fmt: skip


@pytest.mark.parametrize("name", DESK_CALLS)
def test_each_desk_call_takes_a_timeout_and_a_retry_policy(name: str) -> None:
    parameters = inspect.signature(getattr(OsTicket, name)).parameters
    for option in ("timeout", "retry"):
        assert parameters[option].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[option].default is None


@responses.activate
def test_a_timeout_for_one_call() -> None:
    responses.add(responses.POST, CRON, body="Completed")
    responses.add(responses.POST, BASE + "api/tickets.json", body="622798", status=201)
    desk = OsTicket(BASE, api_key="key", timeout=30)
    desk.run_cron(timeout=5)
    desk.create_ticket(
        NewTicket(name="Ada", email="ada@example.com", subject="Printer", message="Jams"),
        timeout=7.5,
    )
    desk.run_cron()
    assert [sent(i).req_kwargs["timeout"] for i in range(3)] == [5.0, 7.5, 30.0]
    with pytest.raises(ValueError, match="timeout"):
        desk.run_cron(timeout=float("nan"))
    with pytest.raises(TypeError):
        desk.run_cron(timeuot=5)  # type: ignore[call-arg]  # a typo is not swallowed


@responses.activate
def test_a_timeout_for_one_agent_call_covers_every_request_it_sends() -> None:
    login_ok()
    responses.add(responses.GET, SCP + "tickets.php", body=TICKET_PAGE)
    desk = OsTicket(BASE, username="automation", password="S3cret-Passw0rd", timeout=30)
    ticket = desk.get_ticket("123456", timeout=4)
    assert ticket.number == "123456"
    assert {sent(i).req_kwargs["timeout"] for i in range(len(responses.calls))} == {4.0}
    desk.get_ticket("123456")
    assert sent().req_kwargs["timeout"] == 30.0


@responses.activate
def test_a_retry_policy_for_one_call() -> None:
    responses.add(responses.POST, CRON, body=requests.exceptions.ConnectTimeout())
    waits: list[float] = []
    desk = OsTicket(BASE, api_key="key", sleep=waits.append)
    with pytest.raises(ConnectError, match="after 1 attempt"):
        desk.run_cron(retry=RetryPolicy(attempts=1))
    assert (len(responses.calls), waits) == (1, [])
