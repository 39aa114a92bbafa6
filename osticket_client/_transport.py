"""The one seam through which the client talks to the desk."""

from __future__ import annotations

import copy
import math
import re
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.utils
import urllib3.exceptions

from ._config import MAX_TIMEOUT
from ._errors import ConnectError, TimeoutError, TransportError
from ._masking import logger

__all__ = ["RetryPolicy", "Transport"]

USER_AGENT = "osticket-client/0.1"
# Connections kept per host by a session the client makes: enough for a thread pool sharing one
# client (requests keeps 10, and drops the others with a warning in the log).
POOL_SIZE = 32


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a request that never reached the desk is sent again.

    Only failures that certainly happened before the desk saw anything (connection refused,
    DNS failure, connect timeout) are retried; the policy only computes delays, it never sleeps.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when no attempt is left."""
        if attempt >= self.attempts:
            return None
        return float(min(self.max_delay, self.backoff * 2 ** (attempt - 1)))


def _never_reached(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason: object = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        return isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))
    return False


class Transport:
    """Sends requests through one `requests.Session`, classifying every network failure.

    Safe to share between threads (requests' cookie jar and connection pool are); every request
    carries the client's User-Agent, also through a session passed in, unless that session sets
    a User-Agent of its own.

    Args:
        session: the session to send through; one is made when omitted (tests pass their own).
        timeout: seconds to wait for the connection and then for each read.
        verify: True, False (insecure) or the path of a CA bundle.
        retry: which failures are retried and after how long.
        sleep: how to wait between attempts (injected so tests need not wait).
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float = 30.0,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.timeout = checked_timeout(timeout)
        self.verify = verify
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    def with_options(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Transport:
        """A view of this transport (same session, cookies and connections) with other limits.

        Raises:
            ValueError: the timeout is not a positive number of seconds.
        """
        view = copy.copy(self)
        if timeout is not None:
            view.timeout = checked_timeout(timeout)
        if retry is not None:
            view.retry = retry
        return view

    def _headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        own = self.session.headers.get("User-Agent")
        if own in (None, requests.utils.default_user_agent()):
            return {"User-Agent": USER_AGENT, **(headers or {})}
        return dict(headers or {})

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        params: Mapping[str, str] | None = None,
        allow_redirects: bool = False,
    ) -> requests.Response:
        """Send one request; retry it only while it certainly has not reached the desk.

        Raises:
            ConnectError: the desk could not be reached, after the retries.
            TimeoutError: the desk took the request but did not answer in time.
            TransportError: the connection broke after the request was sent.
        """
        if self.verify is False:
            _silence_insecure_warning(url)
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=self._headers(headers),
                    data=data,
                    params=params,
                    timeout=self.timeout,
                    verify=self.verify,
                    allow_redirects=allow_redirects,
                )
            except requests.RequestException as exc:
                if _never_reached(exc):
                    wait = self.retry.delay(attempt)
                    if wait is not None:
                        logger.info(
                            "%s %s: not reached (%s); retrying in %.1fs",
                            method,
                            url,
                            type(exc).__name__,
                            wait,
                        )
                        self._sleep(wait)
                        attempt += 1
                        continue
                raise _wrap(exc, method, url, attempt, self.verify) from None
            logger.debug(
                "%s %s -> %s in %.0f ms",
                method,
                url,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            return response

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()


def checked_timeout(timeout: float) -> float:
    """`timeout` if it is a usable number of seconds.

    Raises:
        ValueError: zero, negative, not finite, over an hour, or not a number.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValueError(f"timeout: expected seconds as a number, got {timeout!r}")
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise ValueError(
            f"timeout: must be positive, finite and at most {MAX_TIMEOUT:.0f} seconds,"
            f" got {timeout!r}"
        )
    return float(timeout)


def _wrap(
    exc: requests.RequestException, method: str, url: str, attempts: int, verify: bool | str
) -> TransportError:
    endpoint = f"{method} {url}"
    if _never_reached(exc):
        return ConnectError(
            f"could not connect to the desk after {attempts} attempt(s): {type(exc).__name__}",
            endpoint=endpoint,
            hint="check the URL and that the desk is up; nothing was sent",
        )
    if isinstance(exc, requests.exceptions.SSLError):
        message, hint = _tls_failure(exc, verify)
        return ConnectError(message, endpoint=endpoint, hint=hint)
    if isinstance(exc, requests.exceptions.Timeout):
        return TimeoutError(
            "the desk did not answer in time; the request may have been processed",
            endpoint=endpoint,
        )
    return TransportError(
        f"the connection broke after the request was sent ({type(exc).__name__})",
        endpoint=endpoint,
    )


def _silence_insecure_warning(url: str) -> None:
    """Hide urllib3's per-request warning for this host: the client warned once already.

    Only for the host the user chose to reach without certificate checks; any other
    unverified request in the process still warns.
    """
    host = urlsplit(url).hostname or ""
    warnings.filterwarnings(
        "ignore",
        message=f"Unverified HTTPS request is being made to host '{re.escape(host)}'",
        category=urllib3.exceptions.InsecureRequestWarning,
    )


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The `ssl` module's error under requests' and urllib3's wrappers, if any."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLError):
            return item
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
    return None


# OpenSSL's verification codes (X509_V_ERR_*) that a CA bundle can fix.
_UNTRUSTED = {18, 19, 20, 21, 27}
_EXPIRED, _NOT_YET_VALID = 10, 9
_NAME_MISMATCH = {62, 64}  # host name, IP address


def _tls_failure(exc: requests.exceptions.SSLError, verify: bool | str) -> tuple[str, str | None]:
    """What went wrong in a TLS handshake, in OpenSSL's own words, and what fixes it."""
    error = _ssl_error(exc)
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = str(error.verify_message or error.reason or error)
        code = error.verify_code
        if code in _NAME_MISMATCH:
            return (
                f"the desk's certificate is not valid for this host name ({reason})",
                "use the host name the certificate was issued for in the URL;"
                " a CA bundle does not change this",
            )
        if code in (_EXPIRED, _NOT_YET_VALID):
            return (
                f"the desk's certificate is out of its validity period ({reason})",
                "renew the certificate on the desk (or check this machine's clock);"
                " a CA bundle does not change this",
            )
        if code in _UNTRUSTED:
            return f"the desk's certificate is not trusted ({reason})", _ca_hint(verify)
        return f"the desk's certificate was refused ({reason})", None
    reason = str(getattr(error, "reason", None) or error or exc)
    if "WRONG_VERSION_NUMBER" in reason:
        return (
            f"the TLS handshake failed ({reason})",
            "the server does not speak TLS on this port: is the desk served over http://?",
        )
    return f"the TLS handshake failed ({reason})", (
        _ca_hint(verify) if "certificate" in reason else None
    )


def _ca_hint(verify: bool | str) -> str:
    if isinstance(verify, str):
        return f"the CA bundle {verify!r} does not hold the CA that signed the certificate"
    return (
        "for a lab desk with a private CA or a self-signed certificate, point"
        " ca_bundle / --ca-bundle / OSTICKET_CA_BUNDLE at that CA's certificate"
    )
