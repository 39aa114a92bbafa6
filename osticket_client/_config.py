"""Where the client's settings come from.

Precedence, stated once: explicit arguments (CLI flags) > environment variables > the config
file's default profile. A profile chosen by name (``--profile``, ``OSTICKET_PROFILE``) is used
whole: flags still win, but no environment variable mixes into it.

Environment: ``OSTICKET_URL``, ``OSTICKET_API_KEY``, ``OSTICKET_USERNAME``, ``OSTICKET_PASSWORD``,
``OSTICKET_TIMEOUT``, ``OSTICKET_CA_BUNDLE``, ``OSTICKET_INSECURE``, ``OSTICKET_DB_TIMEZONE``
(the desk database's zone, UTC by default); secrets also as
``OSTICKET_API_KEY_FILE`` / ``OSTICKET_PASSWORD_FILE`` (systemd credentials, Docker secrets);
``OSTICKET_PROFILE`` picks a profile and ``OSTICKET_CONFIG`` the file.

The file is TOML::

    default = "lab"

    [profiles.production]
    url = "https://help.example.com/support/"
    api_key_file = "/etc/osticket/api-key"
    username = "automation"
    password_file = "/etc/osticket/agent-password"

    [profiles.lab]
    url = "http://127.0.0.1:8080/"
    api_key = "..."
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from ._errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["Settings", "default_config_path", "load_settings", "normalize_base_url"]

_PLAIN = ("url", "username", "timeout", "ca_bundle", "insecure", "db_timezone")
_SECRET = ("api_key", "password")
_KEYS = frozenset(_PLAIN + _SECRET + tuple(f"{k}_file" for k in _SECRET))
# Longer than any answer a desk should take; past it (or nan, inf) the socket layer fails.
MAX_TIMEOUT = 3600.0


_USERINFO = re.compile(r"^([A-Za-z][\w+.-]*:(?://)?)?[^/?#@]*@")


def _shown(url: str) -> str:
    """The URL as it may be printed: a user:password@ part cut out (with or without scheme)."""
    return _USERINFO.sub(lambda m: (m.group(1) or "") + "…@", url.strip())


def normalize_base_url(url: str, source: str = "url") -> str:
    """The desk's base URL, from what a user copied (a staff-panel or API link works too).

    Args:
        url: what the user gave.
        source: where it came from, to name in errors (a flag, a variable, a profile key).

    Raises:
        ConfigurationError: not an http(s) URL with a host, or credentials inside it.
    """
    try:
        parts = urlsplit(url.strip())
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:  # e.g. an unclosed "[" in the host
        raise ConfigurationError(f"{source}: not a URL: {_shown(url)!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{source}: expected the desk's http:// or https:// address, got {_shown(url)!r}"
        )
    if has_credentials:
        # A URL is printed, logged and shown by `osticket config`: no secret belongs in it.
        raise ConfigurationError(
            f"{source}: the URL holds a user name or password ({_shown(url)!r}); give the"
            " address alone, and the agent login as username + password (OSTICKET_USERNAME,"
            " OSTICKET_PASSWORD or _FILE, or a config profile), the API key as OSTICKET_API_KEY"
        )
    path = parts.path
    for marker in ("/scp/", "/api/"):
        if marker in path + "/":
            path = (path + "/")[: (path + "/").index(marker)]
    if path.endswith((".php", ".html")):
        path = path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/", "", ""))


def check_api_key(api_key: str, source: str = "api_key") -> None:
    """Refuse an API key that cannot travel in an HTTP header (never quoting it).

    Raises:
        ConfigurationError: the key holds a line break, a space, a control or non-ASCII
            character (e.g. a key file with a second line).
    """
    bad = [ch for ch in api_key if not "!" <= ch <= "~"]
    if bad:
        what = (
            "a line break" if set(bad) & {"\r", "\n"} else "a space, control or non-ASCII character"
        )
        raise ConfigurationError(
            f"{source}: the API key holds {what}; a key is one word of letters and digits"
            " (Admin > Manage > API): check that it is the key alone, on one line"
        )


class Settings(BaseModel):
    """Resolved settings; `sources` says where each value came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = None
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 30.0
    ca_bundle: str | None = None
    insecure: bool = False
    db_timezone: str = "UTC"
    profile: str | None = None
    config_file: str | None = None
    sources: dict[str, str] = {}

    @property
    def verify(self) -> bool | str:
        """What requests' `verify` takes: False when insecure, else the CA bundle or True."""
        if self.insecure:
            return False
        return self.ca_bundle or True


def default_config_path(environ: Mapping[str, str]) -> Path:
    """`OSTICKET_CONFIG`, else the platform's per-user config folder + osticket/config.toml."""
    if environ.get("OSTICKET_CONFIG"):
        return Path(environ["OSTICKET_CONFIG"])
    if os.name == "nt" and environ.get("APPDATA"):
        return Path(environ["APPDATA"]) / "osticket" / "config.toml"
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "osticket" / "config.toml"


def _read_secret_file(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8-sig").strip()
    except OSError as exc:
        raise ConfigurationError(f"{what}: cannot read {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{what}: {path!r} is not UTF-8 text") from None


def _from_env(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    for key in _PLAIN + _SECRET:
        name = f"OSTICKET_{key.upper()}"
        if environ.get(name):
            found[key] = (environ[name], name)
    for key in _SECRET:
        name = f"OSTICKET_{key.upper()}_FILE"
        if environ.get(name):
            if key in found:
                raise ConfigurationError(f"set either OSTICKET_{key.upper()} or {name}, not both")
            found[key] = (_read_secret_file(environ[name], name), name)
    return found


def _load_file(path: Path) -> dict[str, Any] | None:
    """The file's data; None when there is no such file."""
    try:
        # utf-8-sig: Windows Notepad starts a UTF-8 file with a byte order mark.
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        return data
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"config file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"config file {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def _from_profile(data: Mapping[str, Any], name: str, path: Path) -> dict[str, tuple[Any, str]]:
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or name not in profiles:
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else ""
        raise ConfigurationError(
            f"profile {name!r} is not in {str(path)!r}"
            + (f"; profiles there: {known}" if known else "; it defines no [profiles.*]")
        )
    profile = profiles[name]
    where = f"{path}:profiles.{name}"
    unknown = sorted(set(profile) - _KEYS)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_KEYS))}"
        )
    found: dict[str, tuple[Any, str]] = {}
    for key, value in profile.items():
        if key.endswith("_file"):
            secret = key.removesuffix("_file")
            if secret in profile:
                raise ConfigurationError(f"{where}: set either {secret} or {key}, not both")
            found[secret] = (_read_secret_file(str(value), f"{where}.{key}"), f"{where}.{key}")
        else:
            found[key] = (value, f"{where}.{key}")
    return found


def _as_bool(value: object, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(f"{source}: expected true or false, got {value!r}")


def load_settings(
    *,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    profile: str | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Resolve the settings from flags, the environment and the config file.

    Args:
        flags: explicit values (None values are ignored).
        environ: the environment to read (`os.environ` when omitted).
        profile: a profile to use whole; else `OSTICKET_PROFILE`, else the file's `default`.
        config_file: the TOML file; else `OSTICKET_CONFIG`, else the platform default.

    Raises:
        ConfigurationError: a value is malformed, a profile unknown, a secret file unreadable.
    """
    env = os.environ if environ is None else environ
    path = Path(config_file) if config_file else default_config_path(env)
    loaded = _load_file(path)
    data = loaded or {}
    chosen = profile or env.get("OSTICKET_PROFILE") or None
    merged: dict[str, tuple[Any, str]] = {}
    if chosen and loaded is None:
        raise ConfigurationError(
            f"config file {str(path)!r} does not exist, so it has no profile {chosen!r};"
            " create it, or point OSTICKET_CONFIG / --config at yours"
        )
    if chosen:
        merged.update(_from_profile(data, chosen, path))
    else:
        default = data.get("default")
        if default:
            merged.update(_from_profile(data, str(default), path))
            chosen = str(default)
        merged.update(_from_env(env))
    merged.update({k: (v, "flag") for k, v in (flags or {}).items() if v is not None})

    values: dict[str, Any] = {k: v for k, (v, _) in merged.items()}
    sources = {k: s for k, (_, s) in merged.items()}
    if "timeout" in values:
        try:
            values["timeout"] = float(values["timeout"])
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{sources['timeout']}: timeout must be a number of seconds, "
                f"got {values['timeout']!r}"
            ) from None
        if not math.isfinite(values["timeout"]) or values["timeout"] <= 0:
            raise ConfigurationError(
                f"{sources['timeout']}: timeout must be positive and finite,"
                f" got {values['timeout']:g}"
            )
        if values["timeout"] > MAX_TIMEOUT:
            raise ConfigurationError(
                f"{sources['timeout']}: timeout must be at most {MAX_TIMEOUT:.0f} seconds,"
                f" got {values['timeout']:g}"
            )
    if "insecure" in values:
        values["insecure"] = _as_bool(values["insecure"], sources["insecure"])
    for key in ("url", "username", "ca_bundle", "api_key", "password", "db_timezone"):
        if key in values and not isinstance(values[key], str):
            raise ConfigurationError(f"{sources[key]}: {key} must be a string")
    if "url" in values:
        normalize_base_url(values["url"], sources["url"])  # refused here, before it is shown
    if "api_key" in values:
        check_api_key(values["api_key"], sources["api_key"])
    return Settings(**values, profile=chosen, config_file=str(path), sources=sources)
