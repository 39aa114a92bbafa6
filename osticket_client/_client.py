"""`OsTicket`: one desk, reached through its API key and an agent's staff-panel session."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, TypeAlias, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from ._agent import (
    CHOICE_KINDS,
    EXPORT_INTERVAL,
    EXPORT_TIMEOUT,
    FIELD_NAMES,
    KNOWN_RELEASES,
    STATUS_STATES,
    match_choice,
    parse_lookup,
    plain_to_html,
    read_action,
    search_minutes,
)
from ._api import API_PREFIXES, is_route_miss, parse_create, parse_cron
from ._cache import ApiFormCache, default_cache_dir
from ._config import Settings, check_api_key, load_settings, normalize_base_url
from ._errors import (
    ActionRejected,
    ConfigurationError,
    ConnectError,
    OsTicketError,
    OutcomeUnknown,
    PermissionDenied,
    ServerError,
    TicketLocked,
    TicketNotFound,
    TicketOutcomeUnknown,
    TimeoutError,
    TransportError,
    UnexpectedResponse,
    UnknownChoice,
)
from ._masking import MASK, logger, register_secret
from ._models import NewTicket
from ._pages import (
    FIXED_EXPORT_ORDER,
    adhoc_search_key,
    parse_lock,
    parse_queue_csv,
    parse_search_options,
    parse_statuses,
    parse_thread_events,
    parse_ticket_html,
    parse_ticket_page,
    plain_text,
    readable_text,
    refusal,
)
from ._staff import ROUTES, Route, StaffSession
from ._tickets import ActionResult, Choice, SearchResult, ThreadEvent, Ticket, TicketSummary
from ._transport import RetryPolicy, Transport

__all__ = ["InsecureTransportWarning", "OsTicket", "PreparedCall"]


# A status, agent, topic, ... by name (matched case-insensitively), id, or as the desk listed it.
ChoiceArg: TypeAlias = str | int | Choice


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


@dataclass
class _Shared:
    """What a client and its `with_options` views remember together."""

    api_prefix: str | None = None
    my_id: int | None = None
    last_export: float = 0.0
    export_lock: threading.Lock = field(default_factory=threading.Lock)


def _ticket_number(number: str | int) -> str:
    """A ticket number as the desk shows it (a leading "#" and blanks dropped)."""
    return str(number).strip().lstrip("#")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _per_call(
    method: Callable[Concatenate[OsTicket, _P], _R],
) -> Callable[Concatenate[OsTicket, _P], _R]:
    """Let a method take `timeout=` and `retry=` for this call alone (as httpx's and
    python-gitlab's do): the call runs on `with_options(...)`, a view sharing the login."""

    @functools.wraps(method)
    def call(self: OsTicket, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        timeout = kwargs.pop("timeout", None)
        retry = kwargs.pop("retry", None)
        if timeout is not None or retry is not None:
            self = self.with_options(timeout=timeout, retry=retry)  # type: ignore[arg-type]
        return method(self, *args, **kwargs)

    return call


class OsTicket:
    """A client for one osTicket desk: the API key's surface and an agent's staff panel.

    One client can be shared by threads: the agent logs in once, every thread uses the
    session that login made, and when the desk ends it, one thread logs in again while the
    others wait for it (see the README, "Using the library in your own code").

    Args:
        url: the desk's base URL as users open it, e.g. ``https://help.example.com/support/``.
        api_key: the API key, for creating tickets and running cron.
        username: an agent's username, for the staff-panel operations (a dedicated agent,
            exempt from 2FA, is best: see the README).
        password: that agent's password.
        timeout: seconds to wait for a connection and for each read (`with_options` changes
            it for some calls).
        ca_bundle: a CA bundle (PEM file) to check the desk's certificate against, for a desk
            whose certificate a private CA signed.
        insecure: skip certificate checks (warns: anyone on the path can read the secrets).
        verify: requests' spelling of the two above (True, False or a CA bundle path); give
            either it or `ca_bundle` / `insecure`.
        session: the `requests.Session` to send through (the transport seam for tests).
        retry: retries for requests that certainly never reached the desk.
        sleep: how to wait between those retries.
        db_timezone: the desk database's time zone (CSV exports carry its naive times).

    Raises:
        ConfigurationError: the URL or the time zone is not usable (or the URL holds
            credentials), or the API key cannot be sent (a line break, a space).
        ValueError: `verify` given with `ca_bundle` or `insecure`, or a bad timeout.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ca_bundle: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        verify: bool | str | None = None,
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
        if verify is not None and (ca_bundle is not None or insecure):
            raise ValueError("give either verify= or ca_bundle= / insecure=, not both")
        if verify is None:
            verify = False if insecure else os.fspath(ca_bundle) if ca_bundle else True
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
        # Set by `from_settings`: the command line remembers the API's URL form per desk.
        self._form_cache: ApiFormCache | None = None
        self._shared = _Shared()
        self.db_timezone = _zone(db_timezone)
        self._monotonic: Callable[[], float] = time.monotonic
        self._session = (
            StaffSession(self._transport, self.url, username, password)
            if username and password
            else None
        )
        self._ids: dict[str, int] = {}
        self._choices: dict[str, list[Choice]] = {}

    def with_options(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> OsTicket:
        """This client with other limits for the calls made through it.

        The view shares everything else with this client (login, connections, what it has
        read), so it costs nothing to make: ``desk.with_options(timeout=300).list_tickets(8)``
        for a slow export, ``desk.with_options(retry=RetryPolicy(attempts=1))`` to fail fast.
        `timeout` applies to each request a call sends. Closing either closes both.

        Raises:
            ValueError: the timeout is not a positive number of seconds.
        """
        view = copy.copy(self)
        view._transport = self._transport.with_options(timeout=timeout, retry=retry)
        return view

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
            ca_bundle=settings.ca_bundle,
            insecure=settings.insecure,
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

    @_per_call
    def create_ticket(
        self, ticket: NewTicket, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> str:
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

    @_per_call
    def check_created(
        self,
        number: str,
        ticket: NewTicket,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> list[str]:
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

    @_per_call
    def add_customer_message(
        self,
        number: str,
        *,
        email: str,
        text: str,
        name: str | None = None,
        subject: str | None = None,
        message_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
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

    @_per_call
    def run_cron(self, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> None:
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
        if self._shared.api_prefix is None and self._form_cache is not None:
            cached = self._form_cache.get(self.url)
            self._shared.api_prefix = cached if cached in API_PREFIXES else None
        return self._shared.api_prefix

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
                self._shared.api_prefix = prefix
                if self._form_cache is not None:
                    self._form_cache.put(self.url, prefix)
            return response.status_code, text, f"POST {url}"
        raise AssertionError("unreachable")  # pragma: no cover

    # -- staff-panel surface (an agent login): plumbing ------------------------------------

    @property
    def staff(self) -> StaffSession:
        """The agent session (shared by threads and views), logged in on first use.

        Raises:
            ConfigurationError: the client has no agent login.
        """
        if self._session is None:
            raise ConfigurationError(
                "no agent login: set OSTICKET_USERNAME and OSTICKET_PASSWORD (or _FILE),"
                " or username/password in a config profile"
            )
        return self._session

    def _send(
        self,
        name: str,
        *,
        ids: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, object] | None = None,
    ) -> tuple[Route, requests.Response, str]:
        route = ROUTES[name]
        response = self.staff.send(
            route, ids=ids, params=params, data=data, transport=self._transport
        )
        endpoint = f"{route.method} {self.staff.scp}{route.path.format(**(ids or {}))}"
        return route, response, endpoint

    def _act(
        self,
        name: str,
        number: str,
        done: str,
        *,
        ids: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
    ) -> ActionResult:
        with self._forgotten_if_gone(number):
            ticket_id = self.ticket_id(number)
            if not self.staff.logged_in:
                self.staff.login(self._transport)  # a login that fails has sent no change
            try:
                route, response, endpoint = self._send(
                    name, ids={"id": ticket_id, **(ids or {})}, data=data
                )
                return read_action(route, response, endpoint, done)
            except (ServerError, TransportError) as exc:
                if isinstance(exc, ConnectError):
                    raise  # never reached the desk: nothing happened
                # The change was sent and its answer lost (a timeout, a broken connection, a
                # gateway's 5xx after the desk acted): whether it happened is unknown.
                raise OutcomeUnknown(
                    f"the answer to {name} was lost ({exc.message}); it may have been done:"
                    f" look at ticket {number} before trying again",
                    status_code=exc.status_code,
                    text=exc.text,
                    endpoint=exc.endpoint,
                ) from None

    def ticket_id(self, number: str | int) -> int:
        """The internal id of the ticket with this number (exact match only).

        Remembered once seen (`get_ticket` and every action learn it; `remember_ticket_ids`
        seeds it); a number never seen is read from its ticket page, the route `get_ticket`
        takes, so no separate number lookup is ever sent.

        Raises:
            TicketNotFound: no visible ticket has exactly this number.
        """
        number = _ticket_number(number)
        if number not in self._ids:
            self.get_ticket(number)  # learns the id
        return self._ids[number]

    def remember_ticket_ids(self, ids: Mapping[str, int]) -> None:
        """Seed the number -> internal id map (e.g. from an earlier client's `ticket_ids`).

        An internal id never changes; an id the desk no longer knows is dropped on its 404.
        Only give ids learned from this same desk: another desk's ids name other tickets.
        """
        self._ids.update((_ticket_number(n), int(i)) for n, i in ids.items())

    def ticket_ids(self) -> dict[str, int]:
        """The number -> internal id map this client knows (a copy)."""
        return dict(self._ids)

    @contextmanager
    def _forgotten_if_gone(self, number: str) -> Iterator[None]:
        """Drop a remembered id when the desk answers that the ticket is gone."""
        try:
            yield
        except TicketNotFound:
            self._ids.pop(_ticket_number(number), None)
            raise

    @_per_call
    def find_tickets(
        self,
        query: str,
        *,
        limit: int = 25,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> SearchResult:
        """Tickets matching a number prefix, an e-mail address or words (3 characters or more).

        Raises:
            ValueError: the query is shorter than the desk searches (3 characters).
        """
        if len(query.strip()) < 3:
            raise ValueError("find_tickets: the desk searches 3 characters or more")
        # One more than asked, to tell a full result from a truncated one.
        _, response, endpoint = self._send(
            "lookup", params={"q": query.strip(), "limit": str(limit + 1)}
        )
        rows = [r for r in self.staff.json(response, endpoint) if isinstance(r, dict)]
        return parse_lookup(rows[:limit], truncated=len(rows) > limit)

    # -- choices -------------------------------------------------------------------------

    def _list(self, kind: str) -> list[Choice]:
        if kind not in self._choices:
            _, response, endpoint = self._send("search_field", ids={"path": CHOICE_KINDS[kind]})
            options = parse_search_options(self.staff.json(response, endpoint, "html"))
            if kind == "status":
                states = self._status_states()
                options = [o.model_copy(update={"state": states.get(o.id)}) for o in options]
            self._choices[kind] = options
        return self._choices[kind]

    def _status_states(self) -> dict[int, str]:
        """Each status's state, from the status dialogs this agent may open."""
        states: dict[int, str] = {}
        for dialog, state in STATUS_STATES.items():
            _, response, endpoint = self._send("statuses_dialog", ids={"state": dialog})
            if response.status_code != 200:  # 403 where the role may not close tickets
                continue
            try:
                states.update((c.id, state) for c in parse_statuses(response.text))
            except ValueError as exc:
                raise UnexpectedResponse(
                    f"unreadable status dialog: {exc}",
                    status_code=response.status_code,
                    endpoint=endpoint,
                ) from None
        return states

    def resolve(self, kind: str, value: str | int | Choice) -> Choice:
        """The desk's choice for a name or id, matched case-insensitively.

        Raises:
            UnknownChoice: nothing matches; the error lists what the desk offers.
        """
        if isinstance(value, Choice):
            return value
        options = self._list(kind)
        return match_choice(kind, value, options)

    @_per_call
    def statuses(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The ticket statuses agents can set, each with its state (open / closed)."""
        return list(self._list("status"))

    @_per_call
    def agents(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The desk's agents."""
        return list(self._list("agent"))

    @_per_call
    def teams(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The desk's teams."""
        return list(self._list("team"))

    @_per_call
    def departments(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The desk's departments."""
        return list(self._list("department"))

    @_per_call
    def topics(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The desk's help topics."""
        return list(self._list("topic"))

    @_per_call
    def priorities(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The desk's priority levels."""
        return list(self._list("priority"))

    @_per_call
    def sla_plans(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> list[Choice]:
        """The desk's SLA plans."""
        return list(self._list("sla"))

    # -- actions -------------------------------------------------------------------------

    @_per_call
    def set_status(
        self,
        number: str,
        status: str | int | Choice,
        comment: str | None = None,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Set the ticket's status (by name or id); `comment` becomes an internal note.

        Raises:
            UnknownChoice, PermissionDenied, TicketNotFound, ActionRejected.
        """
        choice = self.resolve("status", status)
        return self._act(
            "set_status",
            number,
            f"status set to {choice.name}",
            data={"status_id": choice.id, "comments": comment},
        )

    @_per_call
    def assign(
        self,
        number: str,
        *,
        agent: str | int | Choice | None = None,
        team: str | int | Choice | None = None,
        comment: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Assign the ticket to an agent or a team (exactly one).

        Raises:
            ValueError: neither or both given.
            UnknownChoice, PermissionDenied, TicketNotFound, ActionRejected.
        """
        if (agent is None) == (team is None):
            raise ValueError("assign: give exactly one of agent= or team=")
        if agent is not None:
            choice, target, prefix = self.resolve("agent", agent), "agents", "s"
        else:
            choice, target, prefix = self.resolve("team", team), "teams", "t"  # type: ignore[arg-type]
        return self._act(
            "assign",
            number,
            f"assigned to {choice.name}",
            ids={"target": target},
            data={"assignee[]": f"{prefix}{choice.id}", "comments": comment},
        )

    @_per_call
    def claim(
        self, number: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> ActionResult:
        """Assign an open, unassigned ticket to the logged-in agent."""
        return self._act("claim", number, "claimed", data={"assignee[]": f"s{self._me()}"})

    @_per_call
    def release(
        self,
        number: str,
        *,
        agent: bool = True,
        team: bool = True,
        comment: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Remove the ticket's agent and/or team assignment.

        The desk answers "released" even for an unassigned ticket, so the ticket is read
        first: nothing assigned is `changed=False`.
        """
        ticket = self.get_ticket(number)
        if not ticket.assigned_to:
            return ActionResult(changed=False, message="the ticket is not assigned")
        data: dict[str, object] = {"comments": comment}
        if agent:
            data["sid[]"] = "1"
        if team:
            data["tid[]"] = "1"
        return self._act("release", number, "assignment released", data=data)

    @_per_call
    def transfer(
        self,
        number: str,
        department: str | int | Choice,
        comment: str | None = None,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Move the ticket to another department (its SLA follows the department).

        Raises:
            PermissionDenied: the agent's role may not transfer tickets.
            UnknownChoice: no department the agent may transfer to has that name.
            TicketNotFound, ActionRejected.
        """
        try:
            choice = self.resolve("department", department)
        except UnknownChoice:
            # The department list shows only the agent's own departments: ask the transfer
            # dialog, which says whether the role may transfer, and to where.
            choice = self._transfer_target(number, department)
        return self._act(
            "transfer",
            number,
            f"transferred to {choice.name}",
            data={"dept": choice.id, "comments": comment},
        )

    def _transfer_target(self, number: str, department: str | int | Choice) -> Choice:
        route, response, endpoint = self._send(
            "transfer_dialog", ids={"id": self.ticket_id(number)}
        )
        if response.status_code != 200:
            read_action(route, response, endpoint, "")  # raises: 403 the role, 404, 5xx
            raise UnexpectedResponse("unexpected answer to the transfer dialog", endpoint=endpoint)
        if isinstance(department, Choice):
            department = department.id
        return match_choice(
            "department this agent may transfer to", department, parse_search_options(response.text)
        )

    def _edit(self, number: str, field: str, value: object, done: str) -> ActionResult:
        return self._act(
            "edit_field", number, done, ids={"field": field}, data={FIELD_NAMES[field]: value}
        )

    @_per_call
    def set_priority(
        self,
        number: str,
        priority: str | int | Choice,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Set the priority by name or id (resolved first: the desk stores anything sent)."""
        choice = self.resolve("priority", priority)
        return self._edit(number, "priority", choice.id, f"priority set to {choice.name}")

    @_per_call
    def set_sla(
        self,
        number: str,
        sla: str | int | Choice,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Set the SLA plan by name or id."""
        choice = self.resolve("sla", sla)
        return self._edit(number, "sla", choice.id, f"SLA plan set to {choice.name}")

    @_per_call
    def set_topic(
        self,
        number: str,
        topic: str | int | Choice,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Set the help topic by name or id."""
        choice = self.resolve("topic", topic)
        return self._edit(number, "topic", choice.id, f"help topic set to {choice.name}")

    @_per_call
    def set_due_date(
        self,
        number: str,
        due: datetime,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Set the manual due date (an aware datetime; it wins over the SLA's).

        Raises:
            ValueError: `due` has no time zone.
        """
        if due.tzinfo is None:
            raise ValueError("set_due_date: due must be timezone-aware (e.g. ...+00:00)")
        utc = due.astimezone(timezone.utc).replace(microsecond=0)
        return self._edit(number, "duedate", utc.isoformat(), f"due date set to {utc.isoformat()}")

    @_per_call
    def mark_answered(
        self,
        number: str,
        answered: bool = True,
        comment: str | None = None,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Mark the ticket answered or unanswered."""
        action = "answered" if answered else "unanswered"
        # The desk only acts on a non-empty form: the comment field is always sent.
        return self._act(
            "mark",
            number,
            f"marked {action}",
            ids={"action": action},
            data={"comments": comment or ""},
        )

    # -- reading ------------------------------------------------------------------------

    @_per_call
    def get_ticket(
        self, number: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Ticket:
        """The ticket as the staff panel shows it, with its thread sorted by entry id.

        Times are UTC, from the page's machine-readable ones: `created` and `closed` from the
        thread's events, `last_message` / `last_response` from its entries. The page shows
        the due date only as display text: `due_date` is None here (`list_tickets` has it).

        Raises:
            TicketNotFound: no such ticket, or not visible to the agent.
        """
        # The page opens by number (scp/tickets.php reads `number` as well as `id`) and
        # carries the internal id: one request, and the id is known for the actions after.
        number = _ticket_number(number)
        _, response, endpoint = self._send("ticket_page", params={"number": number})
        page = response.text
        if response.status_code != 200:
            error = ServerError if response.status_code >= 500 else UnexpectedResponse
            raise error(
                f"the desk did not show ticket #{number}",
                status_code=response.status_code,
                text=plain_text(page, 200),
                endpoint=endpoint,
            )
        try:
            teams = [t.name for t in self._choices.get("team", [])]
            soup = parse_ticket_html(page)  # both readers below share one parse
            events = parse_thread_events(soup)
            ticket = parse_ticket_page(soup, teams=teams)
        except ValueError as exc:
            # An unknown number shows "ticket: Unknown or invalid number." in the queue page.
            self._ids.pop(number, None)
            reason = refusal(page) or str(exc)
            raise TicketNotFound(
                f"no ticket #{number} to read (or not visible to agent {self.username!r}):"
                f" {reason}",
                status_code=response.status_code,
                endpoint=endpoint,
            ) from None
        if ticket.number != number:
            raise UnexpectedResponse(
                f"asked for ticket #{number}, the desk showed #{ticket.number}",
                status_code=response.status_code,
                endpoint=endpoint,
            )
        self._ids[number] = ticket.ticket_id
        created = next((e.when for e in events if e.kind == "created"), None)
        closed = [e.when for e in events if e.kind == "closed"]

        def newest(kind: str) -> datetime | None:
            return max((e.created for e in ticket.thread if e.type == kind), default=None)

        state = ticket.state
        if "status" in self._choices:
            known = {c.name: c.state for c in self._choices["status"]}
            state = known.get(ticket.status) or state
        return ticket.model_copy(
            update={
                "state": state,
                "created": created,
                "closed": closed[-1] if closed and state == "closed" else None,
                "last_message": newest("message"),
                "last_response": newest("response"),
                "events": tuple(ThreadEvent(**e._asdict()) for e in events),
            }
        )

    @_per_call
    def list_tickets(
        self, queue: int = 1, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Iterator[TicketSummary]:
        """Every ticket of a queue (stock: 1 Open, 2 Open/unanswered, 3 Answered, 4 Overdue,
        5 My Tickets, 8 Closed), from the queue's CSV export: no silent truncation.

        What it costs: the desk builds the whole export before the first row arrives, and the
        rows are read into memory before this returns (the iterator is over that list). On a
        loopback 1.18.1 desk the Open queue's export took about 1.2 s for 1,200 tickets and
        24-31 s for 9,000, and this call 43.7 s for 9,007 rows (a MariaDB join that slows far
        faster than the queue grows: see the README); `search_tickets` asks the desk for fewer
        rows instead. The desk allows one export per 15 s without starving its workers: a
        second call within that time waits, and threads sharing the client export one at a
        time. Dates are read in the desk's database time zone.

        Raises:
            ActionRejected: the desk refused the export (unknown queue, no right).
            TimeoutError: the export was not ready in time (the desk then e-mails it).
        """
        with self._shared.export_lock:
            self._pace_exports()
            return self._export(str(int(queue)), f"queue {queue}")

    @_per_call
    def search_tickets(
        self,
        *,
        status: ChoiceArg | Sequence[ChoiceArg] | None = None,
        state: Literal["open", "closed"] | None = None,
        topic: ChoiceArg | Sequence[ChoiceArg] | None = None,
        department: ChoiceArg | Sequence[ChoiceArg] | None = None,
        agent: ChoiceArg | Sequence[ChoiceArg] | None = None,
        team: ChoiceArg | Sequence[ChoiceArg] | None = None,
        updated_since: datetime | timedelta | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Iterator[TicketSummary]:
        """The tickets matching every criterion given, of any queue, as `list_tickets` reads them.

        The desk narrows the listing itself (its advanced search, exported as CSV), so a
        bounded listing costs what its rows cost, not what the whole queue does. A sequence
        matches any of its values; names are resolved as `resolve` does. `updated_since` is a
        moment (aware) or a duration back from now, in whole minutes of the desk's clock (the
        desk's absolute date filter is shifted by the agent's time zone; this one is not); a
        moment is widened by five minutes for clock skew, then the rows are cut to it exactly
        by their Last Updated. Closing, reopening, a customer message and a field edit update a
        ticket; an assignment, a transfer, a note or an agent's reply do not (FACTS: the desk's
        `lastupdate`). Two requests more than `list_tickets` (the search, and the result page
        that names it), and the same pacing of one export per 15 s.

        Raises:
            ValueError: no criterion, or `updated_since` naive or in the future.
            UnknownChoice: a name the desk does not offer.
            ActionRejected: the desk refused the search or its export.
        """
        form: dict[str, object] = {"a": "search"}
        fields: list[str] = []

        def includes(path: str, values: list[str]) -> None:
            fields.append(path)
            form.update({f"{path}+search": "1", f"{path}+method": "includes"})
            form[f"{path}+includes[]"] = values

        for kind, path, value in (
            ("status", "status__id", status),
            ("topic", "topic_id", topic),
            ("department", "dept_id", department),
            ("agent", "staff_id", agent),
            ("team", "team_id", team),
        ):
            if value is not None:
                values = [value] if isinstance(value, (str, int, Choice)) else list(value)
                includes(path, [str(self.resolve(kind, v).id) for v in values])
        if state is not None:
            includes("status__state", [state])
        since: datetime | None = None
        if updated_since is not None:
            minutes, since = search_minutes(updated_since, datetime.now(timezone.utc))
            fields.append("lastupdate")
            form.update({"lastupdate+search": "1", "lastupdate+method": "ndaysago"})
            form.update({"until": str(minutes), "int": "i"})  # the inline form's plain names
        if not fields:
            raise ValueError("search_tickets: give at least one criterion (or use list_tickets)")
        form["fields[]"] = fields
        with self._shared.export_lock:
            # The desk keeps the search in the session under a key shown on its result page, and
            # forgets it after two newer searches: no other search of this client in between.
            self._pace_exports()
            _, response, endpoint = self._send("search", data=form)
            if response.status_code != 200 or "redirect" not in response.text:
                raise ActionRejected(
                    "the desk refused the search",
                    status_code=response.status_code,
                    text=refusal(response.text) or plain_text(response.text, 200),
                    endpoint=endpoint,
                )
            _, page, endpoint = self._send("queue_page", params={"queue": "adhoc"})
            key = adhoc_search_key(page.text)
            if page.status_code != 200 or key is None:
                raise UnexpectedResponse(
                    "the desk's search result page names no search to export",
                    status_code=page.status_code,
                    text=refusal(page.text) or plain_text(page.text, 200),
                    endpoint=endpoint,
                )
            rows = self._export(key, "the search")
        return (r for r in rows if since is None or (r.last_updated or since) >= since)

    def _pace_exports(self) -> None:
        """Wait until 15 s after the last export began; the caller holds the export lock."""
        wait = self._shared.last_export + EXPORT_INTERVAL - self._monotonic()
        if self._shared.last_export and wait > 0:
            self._sleep(wait)
        self._shared.last_export = self._monotonic()

    def _export(self, queue: str, what: str) -> Iterator[TicketSummary]:
        """The CSV export of a queue id or ``adhoc,<key>`` search, read into summaries."""
        _, response, endpoint = self._send(
            "export",
            ids={"queue": queue},
            data={
                "fields[]": list(FIXED_EXPORT_ORDER),
                "filename": "osticket-client.csv",
                "csv-delimiter": ",",
            },
        )
        if response.status_code != 201:
            raise ActionRejected(
                f"the desk refused to export {what}",
                status_code=response.status_code,
                text=refusal(response.text) or plain_text(response.text, 200),
                endpoint=endpoint,
            )
        export_id = str(self.staff.json(response, endpoint, "eid"))
        self._await_export(export_id)
        _, download, endpoint = self._send("export_download", params={"id": export_id})
        if download.status_code != 200:
            raise UnexpectedResponse(
                "the export could not be downloaded",
                status_code=download.status_code,
                text=plain_text(download.text, 200),
                endpoint=endpoint,
            )
        text = download.content.decode("utf-8-sig")
        try:
            rows = parse_queue_csv(text, self.db_timezone, FIXED_EXPORT_ORDER, delimiter=",")
        except ValueError as exc:
            raise UnexpectedResponse(
                f"unreadable export of {what}: {exc}",
                status_code=download.status_code,
                endpoint=endpoint,
            ) from None
        return iter(rows)

    def _await_export(self, export_id: str) -> None:
        """Poll until the export is ready: 201 ready, 200 not yet, 404 not registered yet.

        The desk answers the export's 201 before it stores the export in the session, so a
        check sent at once can get 404 "No such export": that is polled like "not ready".
        """
        delay, waited = 0.1, 0.0
        while True:
            _, response, endpoint = self._send("export_check", ids={"eid": export_id})
            status = response.status_code
            if status == 201:
                return
            if status >= 500:
                raise ServerError(
                    f"the desk failed while preparing export {export_id}",
                    status_code=status,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                )
            if status not in (200, 404):
                raise UnexpectedResponse(
                    f"unexpected answer while waiting for export {export_id}",
                    status_code=status,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                )
            if waited >= EXPORT_TIMEOUT:
                what = "was not ready" if status == 200 else "was still unknown to the desk"
                raise TimeoutError(
                    f"export {export_id} {what} after {waited:.0f}s",
                    status_code=status,
                    text=plain_text(response.text, 200) if status == 404 else None,
                    endpoint=endpoint,
                    hint="a large queue can take minutes to export; the desk e-mails an export"
                    " nobody downloads to the agent",
                )
            self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)

    # -- thread entries (need the ticket's lock) -------------------------------------------

    @_per_call
    def reply(
        self,
        number: str,
        text: str,
        *,
        html: bool = False,
        status: str | int | Choice | None = None,
        notify: bool = True,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Post a response to the customer (e-mailed unless `notify=False`).

        Never repeated: if the answer is lost, `OutcomeUnknown` says the reply may exist.

        Raises:
            TicketLocked: another agent holds the ticket's lock.
            PermissionDenied, UnknownChoice, TicketNotFound, ActionRejected, OutcomeUnknown.
        """
        fields: dict[str, object] = {
            "a": "reply",
            "response": text if html else plain_to_html("reply", text),
            "reply-to": "all" if notify else "none",
            "signature": "none",
        }
        if status is not None:
            fields["reply_status_id"] = self.resolve("status", status).id
        return self._post_entry(number, "reply", fields, "reply posted")

    @_per_call
    def add_note(
        self,
        number: str,
        text: str,
        *,
        title: str | None = None,
        status: str | int | Choice | None = None,
        html: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActionResult:
        """Post an internal note (agents only; the customer never sees it).

        Raises:
            TicketLocked, PermissionDenied, UnknownChoice, TicketNotFound, ActionRejected,
            OutcomeUnknown.
        """
        fields: dict[str, object] = {
            "a": "postnote",
            "note": text if html else plain_to_html("note", text),
            "title": title or "",
        }
        if status is not None:
            fields["note_status_id"] = self.resolve("status", status).id
        return self._post_entry(number, "note", fields, "internal note posted")

    def _post_entry(
        self, number: str, name: str, fields: dict[str, object], done: str
    ) -> ActionResult:
        with self._forgotten_if_gone(number):
            ticket_id = self.ticket_id(number)
            lock_id, code = self._lock(ticket_id)
        posted = False
        try:
            try:
                _, response, endpoint = self._send(
                    name,
                    params={"id": str(ticket_id)},
                    data={**fields, "id": ticket_id, "lockCode": code},
                )
            except (TimeoutError, TransportError) as exc:
                if isinstance(exc, ConnectError):
                    raise
                raise OutcomeUnknown(
                    f"{exc.message}; the {name} may have been posted",
                    endpoint=exc.endpoint,
                    hint="read the ticket's thread before posting again",
                ) from None
            if response.status_code in (301, 302, 303):
                posted = True  # the desk releases the lock itself after a post
                return ActionResult(changed=True, message=done)
            if response.status_code >= 500:
                # The desk may fail after storing the entry (e.g. while e-mailing it).
                raise OutcomeUnknown(
                    f"the desk failed (HTTP {response.status_code}); the {name} may have been"
                    " posted",
                    status_code=response.status_code,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                    hint="read the ticket's thread before posting again",
                )
            reason = refusal(response.text) or f"HTTP {response.status_code}"
            if "locked by" in reason.lower():
                raise TicketLocked(
                    reason, status_code=response.status_code, text=reason, endpoint=endpoint
                )
            if "denied" in reason.lower() or "permission" in reason.lower():
                raise PermissionDenied(
                    "the agent's role does not allow this",
                    status_code=response.status_code,
                    text=reason,
                    endpoint=endpoint,
                )
            raise ActionRejected(
                f"the desk did not post the {name}",
                status_code=response.status_code,
                text=reason,
                endpoint=endpoint,
            )
        finally:
            if lock_id and not posted:
                self._unlock(lock_id)

    def _lock(self, ticket_id: int) -> tuple[int, str]:
        """Take the ticket's lock: (lock id, code), or (0, "") where the desk has locks off."""
        for attempt in (1, 2):
            _, response, endpoint = self._send("lock", ids={"id": ticket_id})
            if response.status_code == 418:
                return 0, ""
            if response.status_code == 404:  # a remembered id the desk no longer knows
                raise TicketNotFound(
                    "the desk knows no such ticket (or the agent may not see it)",
                    status_code=404,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                )
            if response.status_code == 500 and not response.text.strip() and attempt == 1:
                # osTicket answers an empty 500 when an agent asks again, within the same
                # second, for a lock it holds; a second later it works.
                self._sleep(1.0)
                continue
            try:
                lock = parse_lock(response.text)
            except ValueError:
                raise UnexpectedResponse(
                    "the desk's answer to a lock request is not JSON",
                    status_code=response.status_code,
                    text=plain_text(response.text, 200),
                    endpoint=endpoint,
                ) from None
            if lock.acquired:
                return lock.id, lock.code
            if lock.message:
                raise TicketLocked(
                    lock.message,
                    status_code=response.status_code,
                    text=lock.message,
                    endpoint=endpoint,
                    hint="try again when the other agent is done",
                )
            if lock.retry and attempt == 1:
                self._sleep(1.0)
                continue
            break
        raise ActionRejected(
            "the desk gave no lock for the ticket",
            status_code=response.status_code,
            text=plain_text(response.text, 200),
            endpoint=endpoint,
        )

    def _unlock(self, lock_id: int) -> None:
        try:
            self._send("unlock", ids={"lock": lock_id})
        except OsTicketError as exc:  # the lock expires by itself; never hide the real error
            logger.info("releasing lock %s failed: %s", lock_id, exc)

    @_per_call
    def version(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> str | None:
        """The desk's osTicket version: exact for admins, from the release commit otherwise."""
        _, response, _ = self._send("system")
        match = re.search(r"osTicket Version</td>\s*<td><span[^>]*>\s*(v[\w.\-]+)", response.text)
        if match:
            return match.group(1)
        _, response, _ = self._send("profile")
        commit = re.search(r'x-pjax-version" content="([0-9a-f]+)"', response.text)
        if not commit:
            return None
        return KNOWN_RELEASES.get(commit.group(1), f"unknown release (commit {commit.group(1)})")

    @_per_call
    def me(self, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> Choice:
        """The agent logged in, as the desk lists it (its name is the one thread entries show).

        Raises:
            UnexpectedResponse: the desk's list of agents lacks the agent's own id.
        """
        my_id = self._me()
        for agent in self.agents():
            if agent.id == my_id:
                return agent
        raise UnexpectedResponse(
            f"the desk's agent list has no agent with this login's id {my_id}",
            endpoint=f"GET {self.staff.scp}profile.php",
        )

    def _me(self) -> int:
        if self._shared.my_id is None:
            _, response, endpoint = self._send("profile")
            match = re.search(r'<input type="hidden" name="id" value="(\d+)"', response.text)
            if not match:
                raise UnexpectedResponse(
                    "cannot find the agent's own id on profile.php",
                    status_code=response.status_code,
                    endpoint=endpoint,
                )
            self._shared.my_id = int(match.group(1))
        return self._shared.my_id
