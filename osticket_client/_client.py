"""`OsTicket`: one desk, reached through its API key (and, later, an agent login)."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from ._agent import AgentOperations
from ._api import API_PREFIXES, is_route_miss, parse_create, parse_cron
from ._cache import ApiFormCache, default_cache_dir
from ._config import Settings, check_api_key, load_settings, normalize_base_url
from ._errors import ConfigurationError, ConnectError, TicketOutcomeUnknown, TransportError
from ._masking import MASK, register_secret
from ._models import NewTicket
from ._pages import readable_text
from ._transport import RetryPolicy, Transport

__all__ = ["InsecureTransportWarning", "OsTicket", "PreparedCall"]


class InsecureTransportWarning(UserWarning):
    """Warned when HTTPS certificate checks are switched off."""


def _zone(value: str | tzinfo) -> tzinfo:
    if not isinstance(value, str):
        return value
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"db_timezone: unknown time zone {value!r} (expected e.g. UTC or Europe/Paris)"
        ) from None


@dataclass(frozen=True)
class PreparedCall:
    """A request as it would be sent, for dry runs; `describe()` masks the secrets."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None

    def describe(self) -> str:
        """Method, URL, headers and JSON body, with secrets masked and file data abbreviated."""
        lines = [f"{self.method} {self.url}"]
        lines += [
            f"{k}: {MASK if k.lower() == 'x-api-key' else v}" for k, v in self.headers.items()
        ]
        if self.body is not None:
            lines += ["", json.dumps(_abbreviate(self.body), indent=2, ensure_ascii=False)]
        return "\n".join(lines)


def _abbreviate(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _abbreviate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_abbreviate(v) for v in value]
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value:
        head, data = value.split(",", 1)
        return f"{head},<{len(data)} base64 characters>"
    return value


class OsTicket(AgentOperations):
    """A client for one osTicket desk.

    Args:
        url: the desk's base URL as users open it, e.g. ``https://help.example.com/support/``.
        api_key: the API key, for creating tickets and running cron.
        username: an agent's username, for the staff-panel operations (a dedicated agent,
            exempt from 2FA, is best: see the README).
        password: that agent's password.
        timeout: seconds to wait for a connection and for each read.
        verify: True (default), False to skip certificate checks (warns), or a CA bundle path.
        session: the `requests.Session` to send through (the transport seam for tests).
        retry: retries for requests that certainly never reached the desk.
        sleep: how to wait between those retries.
        db_timezone: the desk database's time zone (CSV exports carry its naive times).

    Raises:
        ConfigurationError: the URL is not usable (or holds credentials), or the API key
            cannot be sent (a line break, a space).
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        verify: bool | str = True,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        db_timezone: str | tzinfo = "UTC",
    ) -> None:
        self.url = normalize_base_url(url)
        if api_key is not None:
            check_api_key(api_key)
        self.username = username
        self._api_key = api_key
        self._password = password
        register_secret(api_key)
        register_secret(password)
        if verify is False:
            warnings.warn(
                "HTTPS certificate checks are off: anyone on the path can read the API key",
                InsecureTransportWarning,
                stacklevel=2,
            )
        self._sleep = sleep or time.sleep
        self._transport = Transport(
            session, timeout=timeout, verify=verify, retry=retry, sleep=self._sleep
        )
        self._api_prefix: str | None = None
        # Set by `from_settings`: the command line remembers the API's URL form per desk.
        self._form_cache: ApiFormCache | None = None
        self._init_agent(_zone(db_timezone))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, session: requests.Session | None = None
    ) -> OsTicket:
        """Build a client from resolved `Settings`.

        Raises:
            ConfigurationError: no URL is set.
        """
        if not settings.url:
            raise ConfigurationError(
                "no desk URL: set OSTICKET_URL, pass --url, or add url to a config profile"
            )
        client = cls(
            settings.url,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            timeout=settings.timeout,
            verify=settings.verify,
            session=session,
            db_timezone=settings.db_timezone,
        )
        client._form_cache = ApiFormCache(default_cache_dir(os.environ))
        return client

    @classmethod
    def from_env(
        cls,
        *,
        profile: str | None = None,
        config_file: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> OsTicket:
        """Build a client from the environment and the config file (see `load_settings`).

        Raises:
            ConfigurationError: settings are missing or malformed.
        """
        return cls.from_settings(
            load_settings(environ=environ, profile=profile, config_file=config_file)
        )

    def __repr__(self) -> str:
        return f"OsTicket(url={self.url!r}, username={self.username!r})"

    def __enter__(self) -> OsTicket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Log the agent out (if logged in) and release the connections."""
        if self._session is not None:
            self._session.logout()
        self._transport.close()

    # -- API-key surface -------------------------------------------------------------------

    def prepare_create(self, ticket: NewTicket) -> PreparedCall:
        """The request `create_ticket` would send first, for a dry run."""
        return PreparedCall(
            "POST",
            self.url + (self._known_prefix() or API_PREFIXES[0]) + "tickets.json",
            self._api_headers(require_key=False),
            ticket.to_payload(),
        )

    def create_ticket(self, ticket: NewTicket) -> str:
        """Open a ticket through the API and return its **number** (not the internal id).

        Never retried once the request may have reached the desk.

        Raises:
            InvalidTicket: the desk rejected fields (see `.fields`).
            TicketDenied: a ticket filter rejected it.
            AuthenticationError, PermissionDenied: the API key was refused.
            TicketOutcomeUnknown: the ticket may or may not exist; look before creating again.
            ConnectError: the desk could not be reached; nothing was sent.
        """
        body = json.dumps(ticket.to_payload(), ensure_ascii=False).encode("utf-8")
        status, text, endpoint = self._api_send("tickets.json", body)
        return parse_create(status, text, endpoint)

    def check_created(self, number: str, ticket: NewTicket) -> list[str]:
        """What the desk silently left out of a ticket it created from `ticket`, read back
        with the agent login: attachments it dropped (over its size limit, a type it refuses)
        and a help topic it did not set (no such topic). Empty when all arrived.

        Raises:
            ConfigurationError: no agent login is configured.
            OsTicketError: the ticket could not be read back.
        """
        created = self.get_ticket(number)
        problems = []
        first = next((e for e in created.thread if e.type == "message"), None)
        kept = set(first.attachments) if first else set()
        # The desk leaves a "File Import Error" note by SYSTEM: "name: reason" a line.
        reasons = {}
        for entry in created.thread:
            if entry.type == "note" and (entry.title or "").strip() == "File Import Error":
                for line in readable_text(entry.body).splitlines():
                    name, sep, reason = line.partition(": ")
                    if sep:
                        reasons[name.strip()] = reason.strip()
        for attachment in ticket.attachments:
            if attachment.name not in kept:
                why = reasons.get(attachment.name, "over its size limit or of a refused type?")
                problems.append(f"the desk dropped attachment {attachment.name!r} ({why})")
        if ticket.topic_id is not None:
            topics = {c.id: c.name for c in self.topics()}
            wanted = topics.get(ticket.topic_id)
            has = repr(created.help_topic) if created.help_topic else "no help topic"
            if wanted is None:
                problems.append(
                    f"help topic {ticket.topic_id} does not exist; the ticket has {has}"
                )
            elif created.help_topic != wanted:
                problems.append(f"the desk did not set help topic {wanted!r}; the ticket has {has}")
        return problems

    def _api_send(self, path: str, body: bytes) -> tuple[int, str, str]:
        """`_api_call` for a request never repeated: a lost answer means the outcome is unknown."""
        try:
            return self._api_call(path, body)
        except ConnectError:
            raise
        except TransportError as exc:
            raise TicketOutcomeUnknown(
                f"{exc.message}; the ticket may have been created or changed",
                endpoint=exc.endpoint,
                hint="look for the ticket in the staff panel before sending again",
            ) from None

    def add_customer_message(
        self,
        number: str,
        *,
        email: str,
        text: str,
        name: str | None = None,
        subject: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Append a message from the customer to a ticket, as if they had answered by e-mail.

        Sent through the API's e-mail endpoint: the desk threads a mail from the ticket's owner
        whose subject carries ``[#number]``; a mail from anyone else opens a new ticket. The
        desk ignores a Message-ID it has seen, so sending the same `message_id` again is
        harmless. Returns the number of the ticket the message went to.

        Raises:
            AuthenticationError, PermissionDenied, InvalidTicket, TicketOutcomeUnknown.
        """
        mail = EmailMessage()
        mail["From"] = formataddr((name or "", email))
        mail["To"] = "support@desk.invalid"
        mail["Subject"] = f"Re: [#{number}] {subject or ''}".rstrip()
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id or make_msgid(domain="osticket-client.invalid")
        mail.set_content(text)
        status, body, endpoint = self._api_send("tickets.email", mail.as_bytes())
        return parse_create(status, body, endpoint)

    def run_cron(self) -> None:
        """Run the desk's scheduled tasks (overdue marking, mail fetch, housekeeping).

        Raises:
            AuthenticationError, PermissionDenied: the key was refused or lacks the cron right.
            ServerError, TransportError: the desk failed or could not be reached.
        """
        status, text, endpoint = self._api_call("tasks/cron", b"")
        parse_cron(status, text, endpoint)

    def _api_headers(self, *, require_key: bool = True) -> dict[str, str]:
        if not self._api_key and not require_key:
            return {"X-API-Key": "(not set)", "Content-Type": "application/json"}
        if not self._api_key:
            raise ConfigurationError(
                "no API key: set OSTICKET_API_KEY (or OSTICKET_API_KEY_FILE), or api_key in a"
                " config profile"
            )
        return {"X-API-Key": self._api_key, "Content-Type": "application/json"}

    def _known_prefix(self) -> str | None:
        if self._api_prefix is None and self._form_cache is not None:
            cached = self._form_cache.get(self.url)
            self._api_prefix = cached if cached in API_PREFIXES else None
        return self._api_prefix

    def _api_call(self, path: str, body: bytes) -> tuple[int, str, str]:
        """POST to an API path, finding (once) whether the desk rewrites URLs."""
        headers = self._api_headers()
        # The form that worked last (in this process or, cached, in an earlier one) first.
        known = self._known_prefix()
        prefixes = sorted(API_PREFIXES, key=lambda p: p != known)
        for i, prefix in enumerate(prefixes):
            url = self.url + prefix + path
            response = self._transport.request("POST", url, headers=headers, data=body)
            text = response.content.decode("utf-8", errors="replace")
            # A route miss means the request never reached osTicket's API: nothing was done,
            # so trying the other URL form cannot create anything twice.
            if is_route_miss(response.status_code, text) and i + 1 < len(prefixes):
                continue
            if not is_route_miss(response.status_code, text):
                self._api_prefix = prefix
                if self._form_cache is not None:
                    self._form_cache.put(self.url, prefix)
            return response.status_code, text, f"POST {url}"
        raise AssertionError("unreachable")  # pragma: no cover
