"""Keeping secrets out of every log line, repr and error message."""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["MaskingFilter", "mask", "register_secret"]

MASK = "****"

_lock = threading.Lock()
_secrets: set[str] = set()

# Secrets whose value the client never holds itself: session cookies, CSRF tokens, lock codes
# and the signatures of file links the desk hands out.
_PATTERNS = re.compile(
    r"(?P<key>OSTSESSID=|__CSRFToken__=|X-API-Key: |[?&]signature=|[?&]key=)[^;&\s\"']+",
    re.IGNORECASE,
)


def register_secret(value: str | None) -> None:
    """Remember a secret so that `mask` hides it wherever it appears."""
    if value and len(value) >= 6:  # shorter values would mask ordinary words
        with _lock:
            _secrets.add(value)


def mask(text: str) -> str:
    """Return `text` with every registered secret and secret-shaped value replaced by ****."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return _PATTERNS.sub(lambda m: m.group("key") + MASK, text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message (python-gitlab's idea)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


logger = logging.getLogger("osticket_client")
logger.addFilter(MaskingFilter())
