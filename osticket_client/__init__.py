"""osticket-client: drive an osTicket help desk from Python.

The public surface is what this module exports; the underscored modules are private.
"""

from ._client import InsecureTransportWarning, OsTicket, PreparedCall
from ._config import Settings, default_config_path, load_settings, normalize_base_url
from ._errors import (
    ActionRejected,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    InvalidTicket,
    LoginFailed,
    OsTicketError,
    OutcomeUnknown,
    PermissionDenied,
    ServerError,
    SessionExpired,
    TicketDenied,
    TicketLocked,
    TicketNotFound,
    TicketOutcomeUnknown,
    TimeoutError,
    TransportError,
    UnexpectedResponse,
    UnknownChoice,
)
from ._models import Attachment, NewTicket, Priority, StrippedCharactersWarning
from ._output import echo, echo_json, printable, table, write_csv
from ._tickets import (
    ActionResult,
    Choice,
    CustomerMatch,
    SearchResult,
    ThreadEntry,
    ThreadEvent,
    Ticket,
    TicketMatch,
    TicketSummary,
)
from ._transport import RetryPolicy, Transport

__version__ = "0.1.0"

__all__ = [
    "ActionRejected",
    "ActionResult",
    "ApiError",
    "Attachment",
    "AuthenticationError",
    "Choice",
    "ConfigurationError",
    "ConnectError",
    "CustomerMatch",
    "InsecureTransportWarning",
    "InvalidTicket",
    "LoginFailed",
    "NewTicket",
    "OsTicket",
    "OsTicketError",
    "OutcomeUnknown",
    "PermissionDenied",
    "PreparedCall",
    "Priority",
    "RetryPolicy",
    "SearchResult",
    "ServerError",
    "SessionExpired",
    "Settings",
    "StrippedCharactersWarning",
    "ThreadEntry",
    "ThreadEvent",
    "Ticket",
    "TicketDenied",
    "TicketLocked",
    "TicketMatch",
    "TicketNotFound",
    "TicketOutcomeUnknown",
    "TicketSummary",
    "TimeoutError",
    "Transport",
    "TransportError",
    "UnexpectedResponse",
    "UnknownChoice",
    "__version__",
    "default_config_path",
    "echo",
    "echo_json",
    "load_settings",
    "normalize_base_url",
    "printable",
    "table",
    "write_csv",
]
