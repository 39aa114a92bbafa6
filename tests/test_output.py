"""The output module: desk text made printable, streams in any encoding, JSON exact, CSV safe."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automations._model import Decision, PlannedAction
from automations.cli import _print_decisions
from osticket_client import echo, echo_json, printable, table, write_csv

# What a hostile subject held on a live 1.18.1 desk's CSV export (the desk keeps them).
HOSTILE = ' =HYPERLINK("http://evil.example","x") \x1b]0;owned\x07\x1b[2J\u202eevil\rX'
SCRIPTS = "Zoë café · Принтер · 打印机卡纸 · ☕ 😀 · 👨\u200d👩\u200d👧 · نص‌عربي"
UNSAFE = (
    [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029", "\ud800"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)


class Stream(io.TextIOWrapper):
    """A standard stream in a legacy code page, strict like a redirected Windows stdout."""

    def __init__(self, encoding: str, tty: bool = False) -> None:
        super().__init__(io.BytesIO(), encoding=encoding, newline="")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    def text(self) -> str:
        self.flush()
        data = self.buffer.getvalue()  # type: ignore[attr-defined]
        return data.decode(self.encoding)  # type: ignore[no-any-return]


ENCODINGS = pytest.mark.parametrize("encoding", ["cp1252", "cp437", "utf-8"])


@contextmanager
def standard_streams(encoding: str) -> Iterator[tuple[Stream, Stream]]:
    """sys.stdout and sys.stderr in `encoding` (set in the test: pytest resets them per phase)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err = Stream(encoding), Stream(encoding)
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved


def test_every_control_character_is_shown_as_an_escape() -> None:
    for char in UNSAFE:
        shown = printable(f"a{char}b")
        assert shown.isascii() and shown.startswith("a\\") and shown.endswith("b"), repr(char)
    assert printable(HOSTILE) == (
        ' =HYPERLINK("http://evil.example","x") \\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\rX'
    )


def test_newlines_and_tabs_stay_only_in_multiline_text() -> None:
    assert printable("a\tb\nc") == "a\\tb\\nc"
    assert printable("a\tb\nc\r\n", multiline=True) == "a\tb\nc\\r\n"


def test_letters_of_every_script_and_emoji_are_left_alone() -> None:
    assert printable(SCRIPTS) == SCRIPTS


@given(st.text())
def test_printable_text_holds_no_control_character(text: str) -> None:
    shown = printable(text)
    assert not set(shown) & (set(UNSAFE) | {"\t", "\n"})
    assert not set(printable(text, multiline=True)) & set(UNSAFE)


@ENCODINGS
def test_echo_replaces_what_the_code_page_lacks(encoding: str) -> None:
    with standard_streams(encoding) as (out, err):
        echo(f"Ticket #123456: {SCRIPTS} {HOSTILE}")
        echo("Ошибка ", err=True, nl=False)
        echo("打印", err=True)
    shown = out.text()
    assert "\x1b" not in shown and "\r" not in shown.replace("\r\n", "")
    if encoding == "utf-8":
        assert SCRIPTS in shown
    else:
        assert "?" in shown and "Принтер" not in shown
    assert "\\x1b]0;owned" in shown
    assert "café" in shown  # cp1252 and cp437 both hold é
    assert err.text().startswith("Ошибка" if encoding == "utf-8" else "\\u041e")


@ENCODINGS
@pytest.mark.parametrize("value", [SCRIPTS, HOSTILE, {"subject": HOSTILE, "n": [1, None]}])
def test_json_is_exact_and_valid_in_any_code_page(encoding: str, value: object) -> None:
    with standard_streams(encoding) as (out, _):
        echo_json(value)
        echo_json(value, indent=2)
    first, second = out.text().split("\n", 1)
    assert json.loads(first) == value and json.loads(second) == value
    assert not set(first) & set(UNSAFE)  # JSON escapes, not raw characters
    assert first.isascii() == (encoding != "utf-8" or value != SCRIPTS)


@given(st.text())
def test_json_round_trips_any_text_through_cp437(text: str) -> None:
    with standard_streams("cp437") as (out, _):
        echo_json({"subject": text})
    assert json.loads(out.text()) == {"subject": text}


@ENCODINGS
def test_table_cuts_by_terminal_columns(encoding: str) -> None:
    with standard_streams(encoding) as (out, _):
        table(
            ("Ticket", "Subject", "From"),
            [("1", "打印机卡纸打印机卡纸", "王小明"), ("2", HOSTILE, None)],
            (6, 9, None),
        )
    lines = out.text().splitlines()
    if encoding == "utf-8":
        # A Chinese character is two columns: four of them and the ellipsis fill nine.
        assert lines[1] == "1       打印机卡…  王小明"
    else:
        # "?" for each character the code page lacks, one column each, then the ellipsis.
        assert lines[1][:16] == "1       ????????" and lines[1].endswith("  ???")
    assert lines[2].startswith("2       ") and "\x1b" not in lines[2]
    assert lines[2].endswith("  -")  # an empty cell
    assert len(lines[2].split("  ")[-2].strip()) <= 9


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+1", "-1", "@SUM(A1)", " =1", "\t=1", "\r=1", "\n=1", '  =HYPERLINK("x")'],
)
def test_csv_neutralises_formula_starts(cell: str) -> None:
    out = io.StringIO()
    write_csv(out, ["subject"], [[cell]])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["subject"], ["'" + cell]]


def test_csv_keeps_other_cells_exact() -> None:
    out = io.StringIO()
    rows: list[list[object]] = [[SCRIPTS, 3, -1.5, None, 'a,b\n"c"', "x=1"]]
    write_csv(out, ["=heading", "n", "x", "none", "quoted", "plain"], rows)
    assert out.getvalue().endswith("\n") and "\r\n" not in out.getvalue().replace('"c"', "")
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=heading", "n", "x", "none", "quoted", "plain"],
        [SCRIPTS, "3", "-1.5", "", 'a,b\n"c"', "x=1"],
    ]


def test_csv_on_a_legacy_code_page_terminal() -> None:
    terminal = Stream("cp437", tty=True)
    write_csv(terminal, ["subject"], [[HOSTILE], ["Принтер é"]])
    shown = terminal.text()
    assert "\x1b" not in shown and "\\x1b]0;owned" in shown
    assert shown.splitlines()[2] == '"??????? é"'
    assert shown.splitlines()[1].startswith("\"' =HYPERLINK")


@ENCODINGS
def test_a_plan_shows_hostile_ticket_text_escaped_and_keeps_it_exact_in_json(
    encoding: str,
) -> None:
    nudge = f"<p>Hello Mallory,</p><p>#123456 ({HOSTILE})</p>"
    action = PlannedAction("Nudge", "123456", "reply", nudge, "waiting", "Nudge|123456|R:1")
    decisions = [Decision("Nudge \u202eevil", "123456", action, f"subject {HOSTILE}")]
    with standard_streams(encoding) as (out, _):
        _print_decisions(decisions, as_json=False, explain=False)
        _print_decisions(decisions, as_json=True, explain=False)
    table_text, json_text = out.text().rsplit("\n", 2)[:2]
    assert not set(table_text) & set(UNSAFE)
    row = table_text.splitlines()[1]
    assert row.startswith("123456    Nudge \\u202eevil")
    assert row.endswith(
        'subject  =HYPERLINK("http://evil.example","x") \\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\rX'
    )
    (planned,) = json.loads(json_text)
    assert planned["action"]["value"] == nudge and planned["rule"] == "Nudge \u202eevil"
