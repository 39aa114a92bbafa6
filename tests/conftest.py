"""Shared fixtures: an environment free of the developer's settings, and recorded desks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from osticket_client import OsTicket
from tests.recording import (
    CASSETTES,
    DESK_CREDENTIALS,
    REPLAY_URL,
    RecordConfig,
    make_vcr,
    read_record_config,
)

# Read before any test runs, so the isolation fixture below can wipe OSTICKET_* for the tests.
_ENVIRON_AT_START = dict(os.environ)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record",
        action="store_true",
        help="re-record cassettes against OSTICKET_RECORD_URL (needs OSTICKET_RECORD_DISPOSABLE=1)",
    )


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's OSTICKET_* variables, config file or cache."""
    for name in list(os.environ):
        if name.startswith("OSTICKET_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("APPDATA", str(home / "AppData"))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))


@pytest.fixture(scope="session")
def record_config(pytestconfig: pytest.Config) -> RecordConfig | None:
    if not pytestconfig.getoption("--record"):
        return None
    return read_record_config(_ENVIRON_AT_START)


RecordedDesk = Callable[..., OsTicket]


def _desk_values(
    record_config: RecordConfig | None,
    api_key: str = "api_key",
    desk: str = "v118",
    agent: str | None = None,
    password: str | None = None,
) -> dict[str, str]:
    """URL and credentials of a recorded desk: real ones when recording, stand-ins in replay."""
    if record_config is None:
        values = {"url": REPLAY_URL, "api_key": f"replay-{api_key}"}
        secret = f"replay-{agent}-password"
    else:
        if desk not in record_config.urls:
            pytest.skip(f"recording this cassette needs OSTICKET_RECORD_URL_{desk.upper()}")
        values = {"url": record_config.urls[desk], "api_key": record_config.credentials[api_key]}
        secret = record_config.credentials.get(f"{agent}_password", "")
    if agent:
        values["username"] = DESK_CREDENTIALS[f"{agent}_username"]
        values["password"] = password or secret
    return values


@pytest.fixture
def desk_env(record_config: RecordConfig | None) -> Callable[..., dict[str, str]]:
    """`desk_env(agent="admin")`: OSTICKET_* variables for the CLI against the recorded desk."""

    def make_env(**kwargs: Any) -> dict[str, str]:
        values = _desk_values(record_config, **kwargs)
        return {f"OSTICKET_{key.upper()}": value for key, value in values.items()}

    return make_env


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """Serialise every request any thread sends through requests (for recording)."""
    send = requests.adapters.HTTPAdapter.send
    lock = threading.Lock()

    def serialised(self: requests.adapters.HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return send(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.adapters.HTTPAdapter, "send", serialised)
        yield


@pytest.fixture
def recorded(record_config: RecordConfig | None) -> Callable[[str], Any]:
    """`with recorded("name") as (cassette, make_desk):` replays (or records) cassettes/name.yaml.

    Keyword options go to vcrpy's `use_cassette` (e.g. `ignore_hosts`).

    `make_desk(api_key="api_key", desk="v118", agent=None)` builds a client for the recorded
    desk, holding the real credentials when recording and stand-ins when replaying.
    """
    hosts = list(record_config.urls.values()) if record_config else []
    recorder = make_vcr(record_config is not None, hosts)

    @contextmanager
    def use(name: str, **options: Any) -> Iterator[tuple[Any, RecordedDesk]]:
        def make_desk(**kwargs: Any) -> OsTicket:
            # Replays must not wait: the lock retry sleeps a real second only when recording.
            sleep = time.sleep if record_config else (lambda _: None)
            values: dict[str, Any] = _desk_values(record_config, **kwargs)
            return OsTicket(**values, sleep=sleep)

        if record_config is None:
            with recorder.use_cassette(f"{name}.yaml", **options) as cassette:
                yield cassette, make_desk
            return
        # Re-recording starts from nothing: vcrpy would otherwise keep the old interactions.
        (CASSETTES / f"{name}.yaml").unlink(missing_ok=True)
        # vcrpy's recorder can lose one of several requests sent at once (a pass reads pages
        # 4 at a time): while recording, requests go out one at a time.
        with one_at_a_time(), recorder.use_cassette(f"{name}.yaml", **options) as cassette:
            yield cassette, make_desk

    return use
