"""Validated values sent to the desk: a new ticket and its attachments."""

from __future__ import annotations

import base64
import ipaddress
import mimetypes
import re
import warnings
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = ["Attachment", "NewTicket", "Priority", "StrippedCharactersWarning"]


class StrippedCharactersWarning(UserWarning):
    """Warned when a field holds characters that osTicket will silently drop."""


class Priority(IntEnum):
    """A stock desk's priority levels, by id."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    EMERGENCY = 4


def _priority(value: object) -> object:
    if isinstance(value, str) and not value.strip().isdigit():
        try:
            return Priority[value.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown priority {value!r}; expected one of low, normal, high, emergency or 1-4"
            ) from None
    if isinstance(value, str):
        return int(value)
    return value


_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PHONE = re.compile(r"^\+?[0-9 ().\-/]{3,}$")
# What osTicket's Format::strip_emoticons removes inside the Basic Multilingual Plane; anything
# beyond it (most emoji) is lost anyway by the desk's 3-byte utf8 database connection.
_STRIPPED = re.compile(
    "[\u00a9-\u00ae\u2310-\u231f\u2322-\u232f\u23e0-\u23ff\u2702-\u27b0\U00010000-\U0010ffff]"
)
_TAG = re.compile(r"<[A-Za-z/!][^>]*>")
_STANDARD_KEYS = frozenset(
    {
        "name",
        "email",
        "subject",
        "message",
        "phone",
        "ip",
        "topicId",
        "priority",
        "source",
        "alert",
        "autorespond",
        "attachments",
    }
)


def warn_tag_like(field: str, text: str) -> None:
    """Warn that the desk drops `<word>` text from an entry, even when it arrives escaped."""
    found = sorted(set(_TAG.findall(text)))
    if found:
        warnings.warn(
            f"{field}: osTicket drops text that looks like an HTML tag, even escaped:"
            f" {' '.join(found)}",
            StrippedCharactersWarning,
            stacklevel=4,
        )


def _warn_stripped(field: str, text: str, *, tags: bool = False) -> None:
    found = sorted(set(_STRIPPED.findall(text)))
    if found:
        shown = " ".join(f"{c} (U+{ord(c):04X})" for c in found)
        warnings.warn(
            f"{field}: osTicket will drop these characters: {shown}",
            StrippedCharactersWarning,
            stacklevel=4,
        )
    if tags and _TAG.search(text):
        warnings.warn(
            f"{field}: osTicket strips HTML tags from this field",
            StrippedCharactersWarning,
            stacklevel=4,
        )


class Attachment(BaseModel):
    """A file sent with a new ticket."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    data: bytes
    content_type: str = "application/octet-stream"

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if "/" in value or "\\" in value:
            raise ValueError("must be a file name without a folder")
        return value

    @field_validator("content_type")
    @classmethod
    def _mime(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", value):
            raise ValueError(f"not a MIME type: {value!r}")
        return value

    @classmethod
    def from_path(cls, path: str | Path, content_type: str | None = None) -> Attachment:
        """Read a file from disk, guessing its MIME type from its name.

        Raises:
            ValueError: the file cannot be read.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read attachment {str(path)!r}: {exc.strerror}") from None
        guessed = (
            content_type
            or _COMMON_TYPES.get(path.suffix.lower())
            or mimetypes.guess_type(path.name)[0]
            or "application/octet-stream"
        )
        return cls(name=path.name, data=data, content_type=guessed)

    def data_url(self) -> str:
        """The RFC 2397 form the API takes (no charset: osTicket mishandles charset + base64)."""
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"


# The same answer on every platform for the files people attach most (mimetypes alone reads the
# Windows registry or /etc/mime.types, which differ from machine to machine).
_COMMON_TYPES = {
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".xml": "application/xml",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".zip": "application/zip",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".eml": "message/rfc822",
}


def _attachment(value: object) -> object:
    if isinstance(value, (str, Path)):
        return Attachment.from_path(value)
    return value


class NewTicket(BaseModel):
    """A ticket to open through the API, validated before anything is sent.

    Characters osTicket would silently drop give a `StrippedCharactersWarning` naming the field.
    An unknown keyword (a typo) is refused, not ignored. Frozen and hashable; `attachments`
    (paths or `Attachment` values, in a list or a tuple) are kept as a tuple.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    email: str
    subject: str = Field(min_length=1, max_length=255)
    message: str = Field(min_length=1)
    html: bool = False
    phone: str | None = None
    phone_ext: str | None = None
    ip: str | None = None
    topic_id: int | None = Field(default=None, gt=0)
    priority: Annotated[Priority | None, BeforeValidator(_priority)] = None
    source: Literal["API", "Web", "Email", "Staff"] | None = None
    alert: bool | None = None
    autorespond: bool | None = None
    attachments: Annotated[
        Sequence[Annotated[Attachment, BeforeValidator(_attachment)]], AfterValidator(tuple)
    ] = ()
    fields: dict[str, str | int | bool] = Field(default_factory=dict)

    def __hash__(self) -> int:
        # Frozen, so hashable as a value: `fields` (a dict) hashes as its sorted items.
        values = {**self.__dict__, "fields": tuple(sorted(self.fields.items()))}
        return hash((type(self), tuple(values.items())))

    @field_validator("name", "subject", "message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if not _EMAIL.match(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError(f"not a phone number: {value!r}")
        return value

    @field_validator("phone_ext")
    @classmethod
    def _ext(cls, value: str | None) -> str | None:
        if value is not None and not (value.isascii() and value.isdigit()):
            raise ValueError(f"an extension is digits only, got {value!r}")
        return value

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"not an IP address: {value!r}") from None
        return value

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: object) -> object:
        if isinstance(value, str):
            return {"api": "API", "web": "Web", "email": "Email", "staff": "Staff"}.get(
                value.strip().lower(), value
            )
        return value

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, str | int | bool]) -> dict[str, str | int | bool]:
        for key in value:
            if not _VARIABLE.match(key):
                raise ValueError(f"{key!r} is not a form variable name (letters, digits, _)")
            if key in _STANDARD_KEYS:
                raise ValueError(f"{key!r} is a standard field; set it directly, not in fields")
        return value

    @model_validator(mode="after")
    def _warn_about_stripping(self) -> NewTicket:
        if self.phone_ext and not self.phone:
            raise ValueError("phone_ext needs a phone number")
        _warn_stripped("name", self.name)
        _warn_stripped("subject", self.subject, tags=True)
        _warn_stripped("message", self.message)
        for key, field_value in self.fields.items():
            if isinstance(field_value, str):
                _warn_stripped(f"fields.{key}", field_value)
        return self

    def to_payload(self) -> dict[str, Any]:
        """The JSON body for `POST /api/tickets.json`."""
        kind = "text/html" if self.html else "text/plain"
        payload: dict[str, Any] = {
            "name": self.name,
            "email": self.email,
            "subject": self.subject,
            # Always a data URL with its charset: without one osTicket reads ISO-8859-1, and a
            # plain message that itself starts with "data:" would be parsed as one.
            "message": f"data:{kind};charset=utf-8,{self.message}",
        }
        if self.phone:
            payload["phone"] = self.phone + (f"X{self.phone_ext}" if self.phone_ext else "")
        optional: dict[str, Any] = {
            "ip": self.ip,
            "topicId": self.topic_id,
            "priority": int(self.priority) if self.priority is not None else None,
            "source": self.source,
            "alert": self.alert,
            "autorespond": self.autorespond,
        }
        payload.update({k: v for k, v in optional.items() if v is not None})
        if self.attachments:
            payload["attachments"] = [{a.name: a.data_url()} for a in self.attachments]
        payload.update(self.fields)
        return payload
