"""What every `osticket` command shares: the state built by the root group, the error
reporting and the common options. Kept apart so that `automations.cli` can use it too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from ._client import InsecureTransportWarning, OsTicket
from ._config import Settings, load_settings
from ._errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    InvalidTicket,
    OsTicketError,
    OutcomeUnknown,
    PermissionDenied,
    TicketDenied,
    TicketLocked,
    TicketNotFound,
    TransportError,
    UnknownChoice,
)
from ._masking import mask
from ._output import echo, table

__all__ = [
    "EXIT_CODES",
    "CliState",
    "comment_option",
    "describe_validation",
    "fail",
    "json_option",
    "pass_state",
    "reported_errors",
    "table",
]

EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (ConfigurationError, 3),
    (UnknownChoice, 2),
    (AuthenticationError, 4),
    (PermissionDenied, 4),
    (InvalidTicket, 5),
    (TicketDenied, 5),
    (OutcomeUnknown, 6),
    (TransportError, 7),
    (TicketNotFound, 8),
    (TicketLocked, 9),
    (ApiError, 1),
    (OsTicketError, 1),
)


def fail(message: str, exit_code: int) -> NoReturn:
    """Print one clear line on stderr and exit with a documented code."""
    echo(f"Error: {mask(message)}", err=True)
    click.get_current_context().exit(exit_code)


def describe_validation(exc: ValidationError) -> str:
    """Each failing field by name with what is wrong, on one line."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "invalid input: " + "; ".join(parts)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the library's errors into one line and an exit code."""
    try:
        yield
    except ValidationError as exc:
        fail(describe_validation(exc), 2)
    except OsTicketError as exc:
        fail(str(exc), next(c for kind, c in EXIT_CODES if isinstance(exc, kind)))


class CliState:
    """What the root group resolves once and hands to subcommands."""

    def __init__(self, flags: dict[str, Any], profile: str | None, config: str | None) -> None:
        self.flags, self.profile, self.config = flags, profile, config
        self._settings: Settings | None = None
        self._desk: OsTicket | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            with reported_errors():
                self._settings = load_settings(
                    flags=self.flags, profile=self.profile, config_file=self.config
                )
        return self._settings

    @property
    def desk(self) -> OsTicket:
        if self._desk is None:
            with reported_errors(), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", InsecureTransportWarning)
                self._desk = OsTicket.from_settings(self.settings)
            for warning in caught:  # e.g. --insecure: said once, as one line
                echo(f"warning: {warning.message}", err=True)
        return self._desk

    def close(self) -> None:
        if self._desk is not None:
            self._desk.close()


pass_state = click.make_pass_decorator(CliState)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
comment_option = click.option("--comment", help="Internal note added with the change.")
