"""What Windows changes, imitated on Linux: drive-letter paths with spaces in config and rules
files, the %APPDATA% config folder, the run lock held by another process, the secret file's
open flags. README.md ("On Windows") says what was tested only this way.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path, PureWindowsPath
from types import SimpleNamespace
from typing import IO, Any, ClassVar

import pytest
from click.testing import CliRunner

from automations import _rules
from automations import cli as auto_cli
from osticket_client import ConfigurationError, _admin, _config, load_settings
from osticket_client.cli import cli
from tests.test_encodings import ENTRY_POINT

ROOT = Path(__file__).resolve().parent.parent
APPDATA = r"C:\Users\Ada Lovelace\AppData\Roaming"


class WindowsDisk(PureWindowsPath):
    """Windows paths over an in-memory disk: what `Path` is on Windows, for the code under test."""

    files: ClassVar[dict[PureWindowsPath, str]] = {}

    def expanduser(self) -> WindowsDisk:
        return self

    def resolve(self) -> WindowsDisk:
        return self

    def read_text(self, encoding: str) -> str:
        return self.read_bytes().decode(encoding)

    def read_bytes(self) -> bytes:
        try:
            return self.files[PureWindowsPath(self)].encode("utf-8")
        except KeyError:
            raise FileNotFoundError(2, "The system cannot find the file specified") from None

    def open(self, mode: str) -> IO[bytes]:
        return io.BytesIO(self.read_bytes())


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> dict[PureWindowsPath, str]:
    """Run the config and rules code as on Windows: os.name "nt" and Windows paths."""
    monkeypatch.setattr(_config, "os", SimpleNamespace(name="nt", environ={}))
    monkeypatch.setattr(_config, "Path", WindowsDisk)
    monkeypatch.setattr(auto_cli, "Path", WindowsDisk)
    monkeypatch.setattr(_rules, "Path", WindowsDisk)
    files: dict[PureWindowsPath, str] = {}
    monkeypatch.setattr(WindowsDisk, "files", files)
    return files


CONFIG = r"""
default = "production"

[profiles.production]
url = "https://help.example.com/support/"
api_key_file = 'C:\ProgramData\osticket\api key.txt'
username = "automation"
password_file = "C:/ProgramData/osticket/agent password.txt"
ca_bundle = 'D:\certificates\desk CA.pem'
"""


def test_config_from_appdata_with_drive_letters_and_spaces(
    windows: dict[PureWindowsPath, str],
) -> None:
    config = PureWindowsPath(APPDATA, "osticket", "config.toml")
    windows[config] = CONFIG
    windows[PureWindowsPath(r"C:\ProgramData\osticket\api key.txt")] = "KEY-FROM-FILE\r\n"
    windows[PureWindowsPath(r"C:\ProgramData\osticket\agent password.txt")] = "s3cret\n"

    settings = load_settings(environ={"APPDATA": APPDATA})

    assert settings.config_file == str(config)
    assert settings.profile == "production"
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "KEY-FROM-FILE"
    assert settings.password is not None and settings.password.get_secret_value() == "s3cret"
    assert settings.ca_bundle == r"D:\certificates\desk CA.pem"


def test_a_missing_secret_file_is_named_as_written(windows: dict[PureWindowsPath, str]) -> None:
    windows[PureWindowsPath(APPDATA, "osticket", "config.toml")] = CONFIG
    with pytest.raises(ConfigurationError, match=r"api key\.txt"):
        load_settings(environ={"APPDATA": APPDATA})


def test_backslashes_in_a_double_quoted_toml_string_are_a_config_error(
    windows: dict[PureWindowsPath, str],
) -> None:
    # "C:\Users\..." is a TOML escape (\U); the README says to write 'C:\Users\...' instead.
    windows[PureWindowsPath(APPDATA, "osticket", "config.toml")] = (
        '[profiles.p]\napi_key_file = "C:\\Users\\Ada\\key.txt"\n'
    )
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(environ={"APPDATA": APPDATA}, profile="p")


@pytest.mark.parametrize(
    ("written", "used"),
    [
        (
            "osticket-automations.sqlite",
            r"C:\Users\Ada Lovelace\Automations\osticket-automations.sqlite",
        ),
        (r"data\ledger.sqlite", r"C:\Users\Ada Lovelace\Automations\data\ledger.sqlite"),
        (r"D:\osticket data\ledger.sqlite", r"D:\osticket data\ledger.sqlite"),
        ("D:/osticket data/ledger.sqlite", r"D:\osticket data\ledger.sqlite"),
        (r"\osticket\ledger.sqlite", r"C:\osticket\ledger.sqlite"),  # the rules file's drive
        (r"\\fileserver\ops\ledger.sqlite", r"\\fileserver\ops\ledger.sqlite"),
    ],
)
def test_ledger_paths_in_a_rules_file_on_windows(
    windows: dict[PureWindowsPath, str], written: str, used: str
) -> None:
    rules_file = r"C:\Users\Ada Lovelace\Automations\rules.toml"
    # Notepad's byte order mark, and a path in TOML single quotes (backslashes kept).
    windows[PureWindowsPath(rules_file)] = f"\ufeff[settings]\nledger = '{written}'\n"
    rules = _rules.load_rules(rules_file)
    used_path = auto_cli._beside(rules_file, rules.settings.ledger)
    assert PureWindowsPath(used_path) == PureWindowsPath(used)


def test_the_secret_file_is_opened_new_and_binary_as_on_windows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened: list[tuple[int, int]] = []
    real_open = os.open
    o_binary = 0x8000  # Windows' O_BINARY: no newline translation

    def windows_open(path: Any, flags: int, mode: int = 0o777) -> int:
        opened.append((flags, mode))
        return real_open(path, flags & ~o_binary, mode)

    monkeypatch.setattr(os, "O_BINARY", o_binary, raising=False)
    monkeypatch.setattr(os, "open", windows_open)
    secret = tmp_path / "Ada Lovelace" / "osticket-lab-agent.txt"
    secret.parent.mkdir()
    _admin.write_secret_file(secret, "pa55")
    ((flags, mode),) = opened
    assert flags & os.O_EXCL and flags & os.O_CREAT and flags & o_binary
    assert mode == 0o600  # honoured on POSIX; on Windows the profile folder's ACL applies
    assert secret.read_text(encoding="utf-8") == "pa55"
    with pytest.raises(FileExistsError):
        _admin.write_secret_file(secret, "other")


HOLD_LOCK = """
import sys, time
from automations._ledger import Ledger
ledger = Ledger(sys.argv[1])
ledger.acquire()
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_scheduled_run_finds_the_lock_held_by_another_process(tmp_path: Path) -> None:
    folder = tmp_path / "Automations данные"
    folder.mkdir()
    rules = folder / "rules.toml"
    rules.write_text('[settings]\nledger = "run ledger.sqlite"\n', encoding="utf-8")
    auto_run = ["--url", "http://desk.invalid/", "auto", "run", str(rules)]
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder / "run ledger.sqlite")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
            second = subprocess.run(
                [sys.executable, "-c", ENTRY_POINT, *auto_run],
                cwd=ROOT,
                env={**os.environ, "PYTHONIOENCODING": "cp1252"},
                capture_output=True,
                text=True,
                encoding="cp1252",
                timeout=60,
                check=False,
            )
        finally:
            holder.kill()
    assert second.returncode == 10, second.stderr
    assert (
        second.stderr.startswith("Error: another run holds ") and "Traceback" not in second.stderr
    )
    assert second.stderr.count("\n") == 1


class OnePass:
    """Stands for a pass of `auto run --every`: records itself, sends `signals` to the process."""

    passes: ClassVar[list[OnePass]] = []
    signals: ClassVar[list[int]] = []

    def __init__(
        self, desk: Any, rules: Any, ledger: Any, audit: Any, clock: Any, **options: Any
    ) -> None:
        self.desk, self.ledger, self.audit, self.clock = desk, ledger, audit, clock
        self.notifiers, self.sender = options.get("notifiers", {}), options.get("sender")
        self.should_stop: Any = lambda: False

    def shared_agent_warnings(self) -> list[str]:
        return []

    def run(self, **options: Any) -> Any:
        self.passes.append(self)
        for number in self.signals if len(self.passes) == 1 else []:
            signal.raise_signal(number)  # Ctrl+C or Ctrl+Break while the pass works
        stopped = "asked to stop" if self.should_stop() else None
        return SimpleNamespace(line=lambda: f"pass {len(self.passes)}: {stopped}", exit_code=0)


@pytest.mark.parametrize("key", ["SIGINT", "SIGBREAK"])
def test_ctrl_c_or_ctrl_break_ends_an_every_loop_after_the_pass(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str
) -> None:
    # Linux has no SIGBREAK: a signal it has stands in for it, as the handler sees only a number.
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    number = getattr(signal, key)
    before = signal.getsignal(number)
    monkeypatch.setattr(auto_cli, "Pass", OnePass)
    monkeypatch.setattr(OnePass, "passes", [])
    monkeypatch.setattr(OnePass, "signals", [number])
    rules = tmp_path / "rules.toml"
    rules.write_text("", encoding="utf-8")
    args = ["--url", "http://desk.invalid/", "auto", "run", str(rules), "--every", "1h"]
    result = CliRunner().invoke(cli, args)
    assert (result.exit_code, result.output) == (0, "pass 1: asked to stop\n")
    assert signal.getsignal(number) == before  # the process's own handler is back

    # Pressed twice, the second acts at once.
    monkeypatch.setattr(OnePass, "passes", [])
    monkeypatch.setattr(OnePass, "signals", [number, number])
    if key == "SIGINT":
        twice = CliRunner().invoke(cli, args)
        assert twice.exit_code == 1 and "Aborted!" in twice.output
    assert signal.getsignal(number) == before
