"""osticket-client: drive an osTicket help desk from Python.

The public surface is what this module exports; the underscored modules are private.
"""

from ._client import InsecureTransportWarning, OsTicket, PreparedCall, normalize_base_url
from ._config import Settings, default_config_path, load_settings
from ._errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    InvalidTicket,
    OsTicketError,
    PermissionDenied,
    ServerError,
    TicketDenied,
    TicketOutcomeUnknown,
    TimeoutError,
    TransportError,
    UnexpectedResponse,
)
from ._models import Attachment, NewTicket, Priority, StrippedCharactersWarning
from ._transport import RetryPolicy, Transport

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "Attachment",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectError",
    "InsecureTransportWarning",
    "InvalidTicket",
    "NewTicket",
    "OsTicket",
    "OsTicketError",
    "PermissionDenied",
    "PreparedCall",
    "Priority",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "StrippedCharactersWarning",
    "TicketDenied",
    "TicketOutcomeUnknown",
    "TimeoutError",
    "Transport",
    "TransportError",
    "UnexpectedResponse",
    "__version__",
    "default_config_path",
    "load_settings",
    "normalize_base_url",
]
