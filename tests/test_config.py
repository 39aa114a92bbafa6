"""Settings: flags > environment > config file; a chosen profile is used whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from osticket_client import ConfigurationError, OsTicket, default_config_path, load_settings

CONFIG = """
default = "lab"

[profiles.lab]
url = "http://127.0.0.1:8080/"
api_key = "lab-key-value"
username = "lab-agent"

[profiles.production]
url = "https://help.example.com/support/"
api_key_file = "{key_file}"
username = "automation"
timeout = 12
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    key_file = tmp_path / "api-key"
    key_file.write_text("prod-key-value\n", encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(key_file=key_file.as_posix()), encoding="utf-8")
    return path


def test_nothing_set_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ={}, config_file=tmp_path / "missing.toml")
    assert settings.url is None and settings.api_key is None
    assert settings.timeout == 30.0 and settings.verify is True


def test_default_profile_then_environment_then_flags(config: Path) -> None:
    env = {"OSTICKET_USERNAME": "env-agent", "OSTICKET_URL": "https://env.example/"}
    settings = load_settings(environ=env, config_file=config, flags={"url": "https://flag/"})
    assert settings.profile == "lab"
    assert settings.url == "https://flag/"
    assert settings.username == "env-agent"
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "lab-key-value"
    assert settings.sources["url"] == "flag"
    assert settings.sources["username"] == "OSTICKET_USERNAME"
    assert settings.sources["api_key"].endswith("profiles.lab.api_key")


def test_a_chosen_profile_is_used_whole(config: Path) -> None:
    env = {"OSTICKET_URL": "https://env.example/", "OSTICKET_API_KEY": "env-key"}
    settings = load_settings(environ=env, config_file=config, profile="production")
    assert settings.url == "https://help.example.com/support/"
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "prod-key-value"
    assert settings.timeout == 12.0


def test_profile_from_environment_is_used_whole_too(config: Path) -> None:
    env = {"OSTICKET_PROFILE": "production", "OSTICKET_USERNAME": "ignored"}
    settings = load_settings(environ=env, config_file=config)
    assert settings.username == "automation"


def test_secret_files_from_environment(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("file-key\n", encoding="utf-8")
    password = tmp_path / "pw"
    password.write_text("file-password", encoding="utf-8")
    env = {"OSTICKET_API_KEY_FILE": str(key), "OSTICKET_PASSWORD_FILE": str(password)}
    settings = load_settings(environ=env, config_file=tmp_path / "none.toml")
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "file-key"
    assert settings.password is not None
    assert settings.password.get_secret_value() == "file-password"
    assert "file-key" not in repr(settings) and "file-password" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "content", "profile", "message"),
    [
        ({"OSTICKET_API_KEY": "a", "OSTICKET_API_KEY_FILE": "b"}, "", None, "not both"),
        ({"OSTICKET_API_KEY_FILE": "/nonexistent/key"}, "", None, "OSTICKET_API_KEY_FILE"),
        ({}, "", "staging", "profile 'staging' is not in"),
        ({}, "[profiles.lab]\nurl='x'\n", "prod", "profiles there: lab"),
        ({}, "[profiles.lab]\nurll = 'x'\n", "lab", "unknown key(s) urll"),
        ({}, "[profiles.lab]\ntimeout = 'soon'\n", "lab", "timeout must be a number"),
        ({"OSTICKET_TIMEOUT": "-1"}, "", None, "timeout must be positive"),
        ({"OSTICKET_INSECURE": "maybe"}, "", None, "expected true or false"),
        ({}, "not = [valid", None, "is not valid TOML"),
        ({}, "[profiles.lab]\nurl = 3\n", "lab", "url must be a string"),
    ],
)
def test_bad_settings_name_what_is_wrong(
    tmp_path: Path, env: dict[str, str], content: str, profile: str | None, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(environ=env, config_file=path, profile=profile)


def test_insecure_and_ca_bundle(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    assert load_settings(environ={"OSTICKET_INSECURE": "1"}, config_file=none).verify is False
    bundle = load_settings(environ={"OSTICKET_CA_BUNDLE": "/ca.pem"}, config_file=none)
    assert bundle.verify == "/ca.pem"


def test_default_config_path_per_platform(tmp_path: Path) -> None:
    assert default_config_path({"OSTICKET_CONFIG": "/x/c.toml"}) == Path("/x/c.toml")
    expected_base = tmp_path / ("AppData" if os.name == "nt" else "xdg")
    env = {"APPDATA": str(tmp_path / "AppData"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert default_config_path(env) == expected_base / "osticket" / "config.toml"


def test_from_env_builds_a_client(config: Path) -> None:
    desk = OsTicket.from_env(config_file=config, environ={})
    assert desk.url == "http://127.0.0.1:8080/"
    assert desk.username == "lab-agent"
    assert "lab-key-value" not in repr(desk)
    desk.close()


def test_from_env_without_url_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="OSTICKET_URL"):
        OsTicket.from_env(config_file=tmp_path / "none.toml", environ={})


def test_tests_do_not_see_the_developers_environment() -> None:
    assert not [name for name in os.environ if name.startswith("OSTICKET_")]
    assert load_settings().url is None
