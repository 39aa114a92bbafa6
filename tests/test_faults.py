"""What a healthy desk never shows: timeouts, resets, gateways, refused connections."""

from __future__ import annotations

import logging

import pytest
import requests
import responses
import urllib3

from osticket_client import (
    ConfigurationError,
    ConnectError,
    InsecureTransportWarning,
    NewTicket,
    OsTicket,
    OsTicketError,
    RetryPolicy,
    ServerError,
    TicketOutcomeUnknown,
    TimeoutError,
    normalize_base_url,
)

URL = "https://help.example.com/support/"
CREATE = URL + "api/tickets.json"
CRON = URL + "api/tasks/cron"
KEY = "SECRET-KEY-0123456789"
TICKET = NewTicket(name="Ada", email="ada@example.com", subject="Printer", message="Jams")


def refused() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
    failure = urllib3.exceptions.MaxRetryError(None, CREATE, reason)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(failure)


def reset_after_sending() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))
    return requests.exceptions.ConnectionError(reason)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def desk(waits: list[float]) -> OsTicket:
    return OsTicket(URL, api_key=KEY, sleep=waits.append)


@responses.activate
def test_refused_connection_is_retried_with_backoff_then_succeeds(
    desk: OsTicket, waits: list[float]
) -> None:
    responses.add(responses.POST, CREATE, body=refused())
    responses.add(responses.POST, CREATE, body=refused())
    responses.add(responses.POST, CREATE, body="123456", status=201)
    assert desk.create_ticket(TICKET) == "123456"
    assert waits == [0.5, 1.0]
    assert len(responses.calls) == 3


@responses.activate
def test_refused_connection_gives_up_with_connect_error(desk: OsTicket, waits: list[float]) -> None:
    for _ in range(3):
        responses.add(responses.POST, CREATE, body=refused())
    with pytest.raises(ConnectError, match="after 3 attempt") as caught:
        desk.create_ticket(TICKET)
    assert "nothing was sent" in str(caught.value)
    assert len(waits) == 2


@responses.activate
def test_connect_timeout_is_retried(desk: OsTicket, waits: list[float]) -> None:
    responses.add(responses.POST, CRON, body=requests.exceptions.ConnectTimeout())
    responses.add(responses.POST, CRON, body="Completed", status=200)
    desk.run_cron()
    assert waits == [0.5]


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout(),
        reset_after_sending(),
        requests.exceptions.ChunkedEncodingError(),
    ],
    ids=["read-timeout", "reset-after-send", "broken-body"],
)
@responses.activate
def test_create_that_may_have_arrived_is_outcome_unknown_and_never_retried(
    desk: OsTicket, waits: list[float], failure: Exception
) -> None:
    responses.add(responses.POST, CREATE, body=failure)
    with pytest.raises(TicketOutcomeUnknown, match="may have been") as caught:
        desk.create_ticket(TICKET)
    assert "look for the ticket" in str(caught.value)
    assert len(responses.calls) == 1 and waits == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_create_gateway_errors_are_outcome_unknown(desk: OsTicket, status: int) -> None:
    responses.add(responses.POST, CREATE, body=f"<html><h1>{status}</h1></html>", status=status)
    with pytest.raises(TicketOutcomeUnknown):
        desk.create_ticket(TICKET)
    assert len(responses.calls) == 1


@responses.activate
def test_cron_timeout_and_gateway_errors(desk: OsTicket) -> None:
    responses.add(responses.POST, CRON, body=requests.exceptions.ReadTimeout())
    with pytest.raises(TimeoutError):
        desk.run_cron()
    responses.add(responses.POST, CRON, body="<html>Bad Gateway</html>", status=502)
    with pytest.raises(ServerError, match="Bad Gateway"):
        desk.run_cron()


@responses.activate
def test_tls_failure_is_not_retried_and_hints_at_the_ca_bundle(
    desk: OsTicket, waits: list[float]
) -> None:
    responses.add(
        responses.POST, CRON, body=requests.exceptions.SSLError("certificate verify failed")
    )
    with pytest.raises(ConnectError, match="ca_bundle"):
        desk.run_cron()
    assert waits == []


@responses.activate
def test_both_api_url_forms_missing_names_the_url(desk: OsTicket) -> None:
    responses.add(responses.POST, CREATE, body="Not Found", status=404)
    responses.add(responses.POST, URL + "api/http.php/tickets.json", body="Not Found", status=404)
    with pytest.raises(Exception, match="no osTicket API answers at this URL"):
        desk.create_ticket(TICKET)


@responses.activate
def test_secrets_stay_out_of_errors_and_logs(
    desk: OsTicket, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="osticket_client")
    responses.add(responses.POST, CREATE, body=f"echo {KEY}", status=401)
    with pytest.raises(OsTicketError) as caught:
        desk.create_ticket(TICKET)
    logging.getLogger("osticket_client").info("sent key %s", KEY)
    assert KEY not in repr(desk)
    assert KEY not in caplog.text
    assert KEY not in str(caught.value)
    assert "****" in caplog.text


def test_retry_policy_delays_are_computed_not_slept() -> None:
    policy = RetryPolicy(attempts=5, backoff=1.0, max_delay=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, None]


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://host/support", "https://host/support/"),
        ("https://host/support/scp/tickets.php?id=3", "https://host/support/"),
        ("https://host/support/index.php", "https://host/support/"),
        ("https://host/api/tickets.json", "https://host/"),
        ("  http://127.0.0.1:8080  ", "http://127.0.0.1:8080/"),
    ],
)
def test_base_url_as_users_copy_it(given: str, base: str) -> None:
    assert normalize_base_url(given) == base


@pytest.mark.parametrize("bad", ["help.example.com", "ftp://host/", "https://"])
def test_unusable_url_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="url: expected"):
        OsTicket(bad)


def test_insecure_switch_warns() -> None:
    with pytest.warns(InsecureTransportWarning):
        OsTicket(URL, verify=False).close()


def test_creating_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="OSTICKET_API_KEY"):
        OsTicket(URL).create_ticket(TICKET)
