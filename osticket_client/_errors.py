"""The errors osticket-client raises.

Every error the desk or the network can cause derives from `OsTicketError`::

    OsTicketError
    ├── ConfigurationError        settings missing or unreadable (no URL, unreadable key file, ...)
    ├── TransportError            the desk could not be reached, or answered with garbage
    │   ├── ConnectError          the request certainly never reached the desk (safe to retry)
    │   ├── TimeoutError          the desk did not answer in time (the request may have arrived)
    │   └── UnexpectedResponse    a reply that fits no documented shape (e.g. a proxy's HTML page)
    ├── OutcomeUnknown            a reply or note may or may not have been posted: look first
    │   └── TicketOutcomeUnknown  a create may or may not have made the ticket
    ├── UnknownChoice             a status, agent, team, ... name the desk does not offer
    └── ApiError                  the desk answered and refused; carries status code and exact text
        ├── AuthenticationError   401 "Valid API key required" / key disabled
        │   ├── LoginFailed       the agent login was refused (credentials, lock-out, 2FA)
        │   └── SessionExpired    the desk still asks for a login right after a fresh one
        ├── PermissionDenied      the key lacks the create/cron right, or the agent's role
        ├── InvalidTicket         the desk rejected fields (`.fields` maps field name -> message)
        ├── TicketDenied          a ticket filter on the desk rejected the ticket
        ├── TicketNotFound        no ticket with that number, or not visible to the agent
        ├── TicketLocked          another agent holds the ticket's lock
        ├── ActionRejected        the desk refused a staff-panel action and said why
        └── ServerError           5xx from the desk where the outcome is not in doubt

Every error carries `status_code`, `text`, `endpoint` and `hint`. **`status_code` is always the
HTTP status of the desk's answer the error is about, and None exactly when there was no answer**
(nothing came back, or no request was involved). What that means for each error:

    ConfigurationError          None: raised before anything is sent
    ConnectError                None: the desk was never reached
    TimeoutError                None for a read timeout; for an export that never became ready,
                                the status of the last "is it ready" answer (200, or 404)
    TransportError              None: the connection broke before an answer
    UnexpectedResponse          the unreadable answer's status
    OutcomeUnknown              None when the answer was lost; the 5xx when the desk failed
    UnknownChoice               None: matched against a list the desk gave earlier
    AuthenticationError         401 (the API's answer)
    LoginFailed                 the login answer's status: 200 when the desk refused the password
                                (its ajax login answers 200 with the refusal inside), the login
                                page's status (404, ...) when there is no staff panel
    SessionExpired              the "Must login" answer's status (403, or 302 to login.php)
    PermissionDenied            401 (API key) or 403; 200 when a dialog came back saying so
    InvalidTicket, TicketDenied 400, 403 or 500, as the desk's version answers a create
    TicketNotFound              404 from an action; 200 when the ticket page by number says
                                "Unknown or invalid number" or that the agent may not see it
    TicketLocked, ActionRejected  the answer carrying the desk's refusal (200 for a dialog or a
                                page, the lock request's status)
    ServerError                 the 5xx (a 5xx on the login too: it says nothing of the password)

Invalid arguments (a bad e-mail address, an unknown priority) are refused before anything is sent
with pydantic's `ValidationError`, which names each field; they are programming or input mistakes,
not desk errors, and stay outside this tree.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._masking import mask

__all__ = [
    "ActionRejected",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectError",
    "InvalidTicket",
    "LoginFailed",
    "OsTicketError",
    "OutcomeUnknown",
    "PermissionDenied",
    "ServerError",
    "SessionExpired",
    "TicketDenied",
    "TicketLocked",
    "TicketNotFound",
    "TicketOutcomeUnknown",
    "TimeoutError",
    "TransportError",
    "UnexpectedResponse",
    "UnknownChoice",
]


class OsTicketError(Exception):
    """Base of every error raised for something the desk, the network or the settings did.

    Attributes:
        message: what went wrong, in one line.
        status_code: the HTTP status of the desk's answer this error is about; None when no
            answer arrived (see the module docstring for each error).
        text: the desk's own words, exactly (or the start of an unreadable answer).
        endpoint: the method and URL of the request.
        hint: what to do about it, when there is something to say.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        text: str | None = None,
        endpoint: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.text = text
        self.endpoint = endpoint
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None or self.endpoint:
            where = " ".join(
                p
                for p in (self.endpoint, f"HTTP {self.status_code}" if self.status_code else "")
                if p
            )
            parts.append(f"({where})")
        if self.text:
            parts.append(f"desk said: {self.text.strip()!r}")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return mask(" ".join(parts))


class ConfigurationError(OsTicketError):
    """Raised when the settings are missing, contradictory or unreadable."""


class TransportError(OsTicketError):
    """Raised when the desk could not be reached or gave an unreadable reply."""


class ConnectError(TransportError):
    """Raised when the request certainly never reached the desk (refused, DNS, connect timeout)."""


class TimeoutError(TransportError):
    """Raised when the desk accepted the request but did not answer in time."""


class UnexpectedResponse(TransportError):
    """Raised when a reply fits no shape the desk is known to give."""


class OutcomeUnknown(OsTicketError):
    """Raised when an action that is never repeated may have happened: look before retrying."""


class TicketOutcomeUnknown(OutcomeUnknown):
    """Raised when a create may have made the ticket: check the desk before trying again."""


class UnknownChoice(OsTicketError, ValueError):
    """Raised when a name matches nothing the desk offers; `choices` lists what it does offer."""

    def __init__(self, kind: str, value: object, choices: list[str]) -> None:
        self.kind, self.value, self.choices = kind, value, choices
        super().__init__(
            f"unknown {kind} {value!r}; the desk offers: {', '.join(choices) or '(nothing)'}"
        )


class ApiError(OsTicketError):
    """Raised when the desk answered and refused the request."""


class AuthenticationError(ApiError):
    """Raised when the desk does not accept the API key (wrong, disabled, or bound elsewhere)."""


class LoginFailed(AuthenticationError):
    """Raised when the desk refuses the agent login (credentials, lock-out, 2FA, no panel)."""


class SessionExpired(AuthenticationError):
    """Raised when the desk asks for a login again right after a fresh one."""


class PermissionDenied(ApiError):
    """Raised when the key lacks the right for the call, or the agent's role the action."""


class InvalidTicket(ApiError):
    """Raised when the desk rejects the ticket's fields; `fields` maps field name to message."""

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str],
        status_code: int | None = None,
        text: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.fields = dict(fields)
        super().__init__(message, status_code=status_code, text=text, endpoint=endpoint)


class TicketDenied(ApiError):
    """Raised when a ticket filter on the desk rejects the ticket (e.g. a blocked sender)."""


class TicketNotFound(ApiError):
    """Raised when no ticket has that number, or the agent may not see it."""


class TicketLocked(ApiError):
    """Raised when another agent holds the lock a reply or note needs."""


class ActionRejected(ApiError):
    """Raised when the desk refuses a staff-panel action and says why (`text`)."""


class ServerError(ApiError):
    """Raised on a 5xx answer where nothing can have been half done (e.g. cron)."""
