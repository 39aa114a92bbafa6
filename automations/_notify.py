"""Notifications: a rule's message to Slack, Microsoft Teams or any JSON webhook.

Planning renders the whole request body (`notification_body`): the text template with each
ticket value escaped for its target, wrapped as the target expects. Sending (`Sender.send`)
posts it and classifies what happened, so that a notification, like a reply, is never sent
twice:

- 2xx: done.
- Never reached (refused, DNS, connect timeout, TLS handshake): failed, sent next pass.
- 429, or 503: the Retry-After is waited for when it fits the pass's limit (`max_wait`) and
  the post repeated (the receiver said it did not take it); otherwise failed, sent next pass.
- Any other 4xx (and 3xx): failed with the receiver's message; planned again next pass.
- A read timeout, a connection lost after sending, any other 5xx: unknown, **never** sent
  again (the receiver may have posted it); `auto status` lists it.

Webhook URLs are secrets: read from an environment variable or a file (`resolve_url`),
registered with the client's masking, and never part of a message, the ledger, the audit log
or a cassette.

The JSON target posts the event schema below (version 1), which `osticket watch` prints too::

    {
      "schema": "osticket-client/event/v1",
      "id": "622798:customer_replied:1042",   # stable: consumers de-duplicate on it
      "kind": "customer_replied",     # created, customer_replied, agent_replied,
                                      # status_changed, assigned, reopened, overdue, closed;
                                      # "timed" for a timed rule's notification
      "time": "2026-12-02T15:51:00+00:00",   # when the pass saw it (UTC)
      "ticket": {"number": "622798", "subject": "...", "status": "Open", "state": "open",
                 "priority": "High", "department": "Support", "help_topic": "...",
                 "agent": null, "team": null, "customer_name": "...", "link": "https://..."},
      "detail": {"from": "Open", "to": "Pending"},   # per kind; {} when there is nothing more
      "rule": "Tell ops about High tickets",          # notifications only (absent in watch)
      "text": "New High ticket #622798 ..."           # notifications only: the rendered text
    }

Ticket text keeps its exact characters in JSON; fields may be added within version 1, never
renamed or removed.
"""

from __future__ import annotations

import json
import os
import re
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from osticket_client._masking import mask, register_secret
from osticket_client._pages import plain_text

from ._rules import Notifier

__all__ = [
    "SCHEMA",
    "NotifierError",
    "Outcome",
    "Sender",
    "escape_for",
    "notification_body",
    "render_template",
    "resolve_url",
]

SCHEMA = "osticket-client/event/v1"
DEFAULT_TEXT = "{event}: ticket #{number} {subject} ({status}, {priority}) {link}"
Target = Literal["slack", "teams", "json"]


class NotifierError(ValueError):
    """Raised when a notifier's webhook URL cannot be read (the message never holds the URL)."""


def resolve_url(
    name: str, notifier: Notifier, base: Path, environ: Mapping[str, str] | None = None
) -> str:
    """The notifier's webhook URL, from its environment variable or file; masked from now on.

    Raises:
        NotifierError: the variable is unset, the file unreadable, or the value not an http(s) URL.
    """
    environ = os.environ if environ is None else environ
    if notifier.url_env is not None:
        url = environ.get(notifier.url_env, "").strip()
        where = f"environment variable {notifier.url_env}"
    else:
        path = Path(notifier.url_file or "")
        path = path if path.is_absolute() else base / path
        where = f"file {path}"
        try:
            url = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise NotifierError(f"notifier {name}: cannot read {where}: {reason}") from None
    if not url:
        raise NotifierError(f"notifier {name}: {where} is empty or unset")
    register_secret(url)
    if not url.startswith(("https://", "http://")):
        raise NotifierError(f"notifier {name}: {where} does not hold an http(s) URL")
    return url


# -- escaping and rendering ----------------------------------------------------------------

_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Adaptive Card TextBlocks read a Markdown subset (emphasis, links, lists): a backslash keeps
# a sign literal; list and heading marks count only at the start of a line.
_TEAMS = str.maketrans({c: "\\" + c for c in "\\*_~`[]"})
_LINE_MARK = re.compile(r"^(\s*)(?:([-+#>])|(\d+)\.)", re.MULTILINE)
_ZWSP = "\u200b"


def escape_for(target: Target, value: str) -> str:
    """A ticket value made inert for a target: Slack's mentions and links (`<!channel>`,
    `<@U123>`, `<url|text>`) and Adaptive Card Markdown and `{{DATE()}}` functions.

    JSON keeps the value exact (the encoder escapes what JSON needs).
    """
    if target == "slack":
        return value.translate(_SLACK)
    if target == "teams":
        value = _LINE_MARK.sub(_unmark, value.translate(_TEAMS))
        return value.replace("{{", "{" + _ZWSP + "{").replace("@", "@" + _ZWSP)
    return value


def _unmark(match: re.Match[str]) -> str:
    """A line's list or heading mark made literal: "\\- item", "1\\. item"."""
    indent, sign, digits = match.groups()
    return f"{indent}\\{sign}" if sign else f"{indent}{digits}\\."


def render_template(template: str, values: Mapping[str, str | None], target: Target) -> str:
    """The template with each placeholder replaced by its value escaped for `target`.

    The template's own text is the admin's and kept as written (Slack links, Markdown).
    """
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append(escape_for(target, values.get(name) or ""))
    return "".join(parts)


def notification_body(
    target: Target, template: str | None, values: Mapping[str, str | None], payload: dict[str, Any]
) -> str:
    """The request body to post (JSON text), rendered at planning time.

    Args:
        target: the notifier's type.
        template: the action's text template (None: a default line).
        values: the placeholders' values (unescaped).
        payload: the event as the JSON schema has it (`rule` included).
    """
    text = render_template(template or DEFAULT_TEXT, values, target)
    if target == "slack":
        body: dict[str, Any] = {"text": text}
    elif target == "teams":
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": text, "wrap": True}],
        }
        body = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    else:
        body = {**payload, "text": text}
    return json.dumps(body, ensure_ascii=False)


def body_text(body: str) -> str:
    """The text a rendered body shows (for `auto render` and the audit log)."""
    data = json.loads(body)
    if "attachments" in data:
        return str(data["attachments"][0]["content"]["body"][0]["text"])
    return str(data.get("text", ""))


# -- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a post ended: done, failed (certainly not delivered) or unknown (may be delivered)."""

    state: Literal["done", "failed", "unknown"]
    message: str


_RETRIED = (429, 503)


@dataclass
class Sender:
    """Posts rendered bodies to webhooks; one per pass.

    Args:
        max_wait: the longest a Retry-After is honoured within the pass (seconds, in all).
        sleep: how to wait (injected for tests).
    """

    max_wait: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    session: requests.Session = field(default_factory=requests.Session)
    _waited: float = 0.0

    def __post_init__(self) -> None:
        # No retries below us: a retry of a sent POST could post twice.
        self.session.mount("http://", HTTPAdapter(max_retries=0))
        self.session.mount("https://", HTTPAdapter(max_retries=0))

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def send(self, name: str, url: str, body: str, timeout: float = 10.0) -> Outcome:
        """Post `body` to the notifier's URL once (again only after a 429/503 it was asked to)."""
        register_secret(url)
        while True:
            try:
                response = self.session.post(
                    url,
                    data=body.encode("utf-8"),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                return _transport_outcome(name, exc)
            status = response.status_code
            if 200 <= status < 300:
                return Outcome("done", f"notifier {name}: {status} {_said(response)}".rstrip())
            if status in _RETRIED:
                wait = _retry_after(response, self.clock())
                budget = self.max_wait - self._waited
                if wait is not None and wait <= budget:
                    self._waited += wait
                    self.sleep(wait)
                    continue
                after = "" if wait is None else f" (Retry-After {wait:g} s"
                after += ", beyond this pass's limit)" if after else ""
                return Outcome(
                    "failed", f"notifier {name}: {status} rate limited{after}: sent next pass"
                )
            if status >= 500:
                return Outcome(
                    "unknown",
                    f"notifier {name}: {status} {_said(response)}: it may have been posted;"
                    " not sent again".replace("  ", " "),
                )
            return Outcome("failed", f"notifier {name}: refused with {status}: {_said(response)}")


def _said(response: requests.Response) -> str:
    """The receiver's message, short, printable and masked."""
    text = response.text
    if "html" in response.headers.get("Content-Type", ""):
        text = plain_text(text)
    text = " ".join(text.split())[:200]
    return mask("".join(c if c.isprintable() else "?" for c in text))


def _transport_outcome(name: str, exc: requests.RequestException) -> Outcome:
    # Never str(exc): requests puts the URL (the secret) in its messages.
    if isinstance(exc, requests.ConnectTimeout):
        return Outcome(
            "failed", f"notifier {name}: connect timeout (never reached): sent next pass"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return Outcome("failed", f"notifier {name}: TLS handshake failed (never reached)")
    if isinstance(exc, requests.ReadTimeout):
        return Outcome(
            "unknown", f"notifier {name}: no answer in time after sending: not sent again"
        )
    if isinstance(exc, requests.ConnectionError) and _never_connected(exc):
        return Outcome(
            "failed", f"notifier {name}: connection refused or host unknown: sent next pass"
        )
    return Outcome(
        "unknown", f"notifier {name}: connection lost after sending ({type(exc).__name__})"
    )


def _never_connected(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (NewConnectionError, NameResolutionError, ConnectionRefusedError)):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException) and reason is not seen:
            seen = reason
            continue
        arg = next((a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)), None)
        seen = arg if arg is not None else seen.__cause__ or seen.__context__
    return False


def _retry_after(response: requests.Response, now: datetime) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())
