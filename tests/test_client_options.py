"""Client options: limits per call, TLS settings, the User-Agent on every request."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import requests
import responses
from pydantic import SecretStr

from osticket_client import (
    ConnectError,
    InsecureTransportWarning,
    OsTicket,
    RetryPolicy,
    Settings,
)

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
