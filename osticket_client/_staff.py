"""The staff-panel seam: an agent session and one table of the routes it drives.

osTicket's staff panel has no API: its own pages post forms and call ``/scp/ajax.php/...``.
Every route the client uses is declared once in `ROUTES` (path, method, whether sending it
twice is harmless) and sent by `StaffSession.send`, which logs in, carries the CSRF token,
takes every rotated cookie, and logs in again once when the session has expired.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import requests

from ._errors import (
    LoginFailed,
    OsTicketError,
    ServerError,
    SessionExpired,
    UnexpectedResponse,
)
from ._masking import logger
from ._pages import csrf_token, login_failure, plain_text
from ._transport import Transport

__all__ = ["ROUTES", "Route", "StaffSession"]


@dataclass(frozen=True)
class Route:
    """One staff-panel endpoint: where it is and whether repeating it is harmless."""

    name: str
    method: Literal["GET", "POST"]
    path: str  # relative to {base}/scp/, with {placeholders}
    repeatable: bool  # a read, or an action whose repeat leaves the ticket as one send would
    ajax: bool = True  # answered as a dialog / JSON (not a full page)


ROUTES: dict[str, Route] = {
    r.name: r
    for r in (
        Route("lookup", "GET", "ajax.php/tickets/lookup", True),
        Route("ticket_page", "GET", "tickets.php", True, ajax=False),
        Route("queue_page", "GET", "tickets.php", True, ajax=False),
        Route("statuses_dialog", "GET", "ajax.php/tickets/status/{state}", True),
        Route("search_field", "GET", "ajax.php/tickets/search/field/{path}", True),
        Route("profile", "GET", "profile.php", True, ajax=False),
        Route("system", "GET", "system.php", True, ajax=False),
        Route("login_page", "GET", "login.php", True, ajax=False),
        Route("status_close_dialog", "GET", "ajax.php/tickets/{id}/status/close", True),
        Route("assign_dialog", "GET", "ajax.php/tickets/{id}/assign/agents", True),
        Route("transfer_dialog", "GET", "ajax.php/tickets/{id}/transfer", True),
        Route("priority_dialog", "GET", "ajax.php/tickets/{id}/field/priority/edit", True),
        Route("set_status", "POST", "ajax.php/tickets/{id}/status", True),
        Route("assign", "POST", "ajax.php/tickets/{id}/assign/{target}", True),
        Route("claim", "POST", "ajax.php/tickets/{id}/claim", True),
        Route("release", "POST", "ajax.php/tickets/{id}/release", True),
        Route("transfer", "POST", "ajax.php/tickets/{id}/transfer", True),
        Route("edit_field", "POST", "ajax.php/tickets/{id}/field/{field}/edit", True),
        Route("mark", "POST", "ajax.php/tickets/{id}/mark/{action}", True),
        Route("lock", "POST", "ajax.php/lock/ticket/{id}", True),
        Route("unlock", "POST", "ajax.php/lock/{lock}/release", True),
        # A reply or a note sent twice is posted twice: never repeated.
        Route("reply", "POST", "tickets.php", False, ajax=False),
        Route("note", "POST", "tickets.php", False, ajax=False),
        Route("queue_counts", "GET", "ajax.php/queue/counts", True),
        # Each export keeps a desk worker busy for 15 s: never started twice blindly.
        Route("export", "POST", "ajax.php/tickets/export/{queue}", False),
        # An advanced search only keeps its criteria in the session (the result page names it).
        Route("search", "POST", "ajax.php/tickets/search", True),
        Route("export_check", "POST", "ajax.php/export/{eid}/check", True),
        Route("export_download", "GET", "export.php", True, ajax=False),
    )
}


def needs_login(response: requests.Response) -> bool:
    """True when the desk answered "log in first" (so the request itself was not carried out)."""
    if response.status_code == 403 and response.text.lstrip().startswith("Must login"):
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (301, 302, 303) and "login.php" in location


def csrf_rejected(response: requests.Response) -> bool:
    """True when the desk refused the request for its CSRF token (nothing was carried out)."""
    return response.status_code == 400 and "Valid CSRF Token Required" in response.text


@dataclass(frozen=True, eq=False)
class _Login:
    """One successful login: the CSRF token it gave (compared by identity, never by value)."""

    token: str


class StaffSession:
    """An agent's logged-in session on one desk, shared safely by threads.

    One login at a time: a thread that needs a login takes the lock and, if no other thread
    logged in meanwhile, logs in; the others wait and use the session that login made. When the
    desk answers "log in first", only the first thread to see it logs in again; a thread that
    sent with the older session just sends again with the new one. Once the desk has refused
    the password, it is never sent again by this session: every later call raises the same
    `LoginFailed` (five refusals lock the agent out).

    Args:
        transport: the seam every request goes through.
        base_url: the desk's base URL (ending in /).
        username: the agent's username.
        password: the agent's password.
    """

    def __init__(self, transport: Transport, base_url: str, username: str, password: str) -> None:
        self._transport = transport
        self.scp = base_url + "scp/"
        self.username = username
        self._password = password
        self._lock = threading.Lock()
        self._current: _Login | None = None  # replaced whole under the lock, read without it
        self._refused: LoginFailed | None = None
        self.logins = 0  # how many times this session logged in (re-logins included)
        # Requests sent, by route name ("login" and "logout" for the session's own pages):
        # what a pass or a benchmark costs, counted where every request goes out.
        self.sent: Counter[str] = Counter()
        self._counting = threading.Lock()  # pages may be read from several threads

    def _request(
        self, transport: Transport, kind: str, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        with self._counting:
            self.sent[kind] += 1
        return transport.request(method, url, **kwargs)

    @property
    def logged_in(self) -> bool:
        return self._current is not None

    def login(self, transport: Transport | None = None) -> None:
        """Log in now (waiting for a login another thread is making), keeping the CSRF token.

        Never retried on failure, and never sent again after the desk refused it.

        Raises:
            LoginFailed: wrong credentials, locked out, 2FA required, or not a staff panel.
        """
        with self._lock:
            self._log_in(transport or self._transport)

    def _log_in(self, transport: Transport) -> _Login:
        """Log in; the caller holds the lock."""
        if self._refused is not None:
            refused = self._refused
            raise LoginFailed(
                refused.message,
                status_code=refused.status_code,
                text=refused.text,
                endpoint=refused.endpoint,
                hint="the desk refused this login before; it is not sent again (make a new"
                " client once the password or the agent is fixed)",
            )
        self._current = None
        page = self._request(transport, "login", "GET", self.scp + "login.php")
        _refuse_server_failure(page, f"GET {self.scp}login.php")
        if page.status_code in (301, 302, 303) and not needs_login(page):
            # Still logged in (only the CSRF token was refused): take a fresh token.
            token = csrf_token(
                self._request(transport, "login", "GET", self.scp + "profile.php").text
            )
            if token:
                self._current = _Login(token)
                return self._current
        # v1.17.0-1.17.3 answer their normal login pages with 422.
        token = csrf_token(page.text) if page.status_code in (200, 422) else None
        if token is None:
            raise LoginFailed(
                "no staff login page at this URL",
                status_code=page.status_code,
                endpoint=f"GET {self.scp}login.php",
                hint="check the desk URL; the staff panel lives at <base>/scp/",
            )
        answer = self._request(
            transport,
            "login",
            "POST",
            self.scp + "login.php",
            data={
                "__CSRFToken__": token,
                "do": "scplogin",
                "userid": self.username,
                "passwd": self._password,
                "ajax": "1",
            },
        )
        try:
            self._current = self._logged_in(transport, answer, token)
        except LoginFailed as exc:  # a 5xx is a ServerError, never remembered as a refusal
            self._refused = exc
            raise
        return self._current

    def _logged_in(self, transport: Transport, answer: requests.Response, token: str) -> _Login:
        """The login the desk's answer to the login form made, or the reason it refused."""
        endpoint = f"POST {self.scp}login.php"
        _refuse_server_failure(answer, endpoint)
        outcome = _login_outcome(answer)
        if outcome == "index":
            self.logins += 1
            logger.info("logged in to %s as %s", self.scp, self.username)
            return _Login(token)
        if outcome == "login":
            # Sent back to the login page: a second factor is pending, or the page says why.
            again = self._request(transport, "login", "GET", self.scp + "login.php").text
            if re.search(r'name="do"\s+value="2fa"', again):
                raise LoginFailed(
                    f"agent {self.username!r} must pass two-factor authentication",
                    status_code=answer.status_code,
                    endpoint=endpoint,
                    hint="use an agent exempt from 2FA for automation",
                )
            outcome = login_failure(again) or "sent back to the login page"
        raise LoginFailed(
            f"the desk refused the login of agent {self.username!r}: {outcome}",
            status_code=answer.status_code,
            endpoint=endpoint,
            hint="wrong username or password, or locked out after repeated failures"
            " (wait a few minutes)",
        )

    def _session(self, transport: Transport) -> _Login:
        """The current login, made first (by this thread or another) when there is none."""
        current = self._current
        if current is not None:
            return current
        with self._lock:
            return self._current or self._log_in(transport)

    def _renewed(self, stale: _Login, transport: Transport) -> _Login:
        """A login newer than `stale`: made here unless another thread already made one."""
        with self._lock:
            if self._current is not None and self._current is not stale:
                return self._current
            return self._log_in(transport)

    def logout(self) -> None:
        """End the session on the desk (releases this agent's ticket locks too)."""
        with self._lock:
            if self._current is None:
                return
            self._current = None
            try:
                self._request(self._transport, "logout", "GET", self.scp + "logout.php")
            except OsTicketError as exc:  # logging out is best effort at close
                logger.info("logout from %s failed: %s", self.scp, exc)

    def send(
        self,
        route: Route,
        *,
        ids: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, object] | None = None,
        transport: Transport | None = None,
    ) -> requests.Response:
        """Send one route, logging in first or again as needed.

        A request the desk refused with "log in first" or for its CSRF token was not carried
        out, so it is sent once more with a fresh login (another thread's, if one made it).

        Args:
            transport: a view of the session's transport with per-call limits.

        Raises:
            SessionExpired: the desk still asks for a login right after a fresh one.
            LoginFailed, TransportError: as `login` and the transport raise them.
        """
        transport = transport or self._transport
        url = self.scp + route.path.format(**(ids or {}))
        login = self._session(transport)
        for attempt in (1, 2):
            response = self._request(
                transport,
                route.name,
                route.method,
                url,
                headers=self._headers(route, login.token),
                params=params,
                data=self._body(route, data, login.token),
            )
            if not (needs_login(response) or csrf_rejected(response)):
                return response
            if attempt == 2:
                break
            logger.info("%s %s: session expired, logging in again", route.method, url)
            login = self._renewed(login, transport)
        raise SessionExpired(
            "the desk asks for a login again right after one",
            status_code=response.status_code,
            endpoint=f"{route.method} {url}",
            hint="another login of this agent may be ending its sessions",
        )

    def _headers(self, route: Route, token: str) -> dict[str, str]:
        headers = {"X-Requested-With": "XMLHttpRequest"} if route.ajax else {}
        if route.method == "POST":
            headers["X-CSRFToken"] = token
        return headers

    def _body(
        self, route: Route, data: Mapping[str, object] | None, token: str
    ) -> list[tuple[str, str]] | None:
        if route.method != "POST":
            return None
        pairs: list[tuple[str, str]] = []
        items = (data or {}).items()
        for key, value in items:
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs += [(key, str(v)) for v in values if v is not None]
        if not route.ajax:
            pairs.append(("__CSRFToken__", token))
        return pairs

    def json(self, response: requests.Response, endpoint: str, key: str | None = None) -> Any:
        """The JSON body of an answer (or its `key`), or an `UnexpectedResponse` quoting it."""
        try:
            data = json.loads(response.text)
            return data if key is None else data[key]
        except (ValueError, KeyError, TypeError):
            raise UnexpectedResponse(
                "expected JSON" + (f" with {key!r}" if key else "") + " from the staff panel",
                status_code=response.status_code,
                text=response.text[:200],
                endpoint=endpoint,
            ) from None


def _refuse_server_failure(response: requests.Response, endpoint: str) -> None:
    """A 5xx on the login (often a gateway's 502/503/504) says nothing about the password.

    Raises:
        ServerError: the desk, or a gateway in front of it, failed.
    """
    if response.status_code >= 500:
        raise ServerError(
            "the desk (or a gateway in front of it) failed during the login; this says"
            " nothing about the username or password",
            status_code=response.status_code,
            text=plain_text(response.text, 200),
            endpoint=endpoint,
            hint="try again later; if it lasts, look at the web server's error log",
        )


def _login_outcome(answer: requests.Response) -> str:
    """'index' when logged in, 'login' when a second step is pending, else the desk's reason."""
    try:
        data = json.loads(answer.text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        if data.get("status") == 302:
            target = str(data.get("redirect", ""))
            return "login" if "login.php" in target else "index"
        return plain_text(str(data.get("message") or "login refused"))
    if answer.status_code in (301, 302, 303):
        return "login" if "login.php" in answer.headers.get("Location", "") else "index"
    return f"unexpected answer (HTTP {answer.status_code})"
