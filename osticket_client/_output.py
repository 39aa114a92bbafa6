"""Everything the tool writes for people and programs: the one place that knows the streams.

Text that came from a desk is someone else's input. Before it reaches a terminal `printable()`
shows its control characters as escapes (C0 and C1 controls, DEL, bidirectional overrides and
isolates, line and paragraph separators, lone surrogates), so a subject cannot move the
cursor, clear the screen, set the window title, overwrite its own row with ``\\r`` or reverse
what follows it. `echo()` writes a line in whatever encoding the stream has (a Windows code
page when output is redirected or captured by Task Scheduler): a character the stream cannot
hold becomes ``?`` on standard output and ``\\uXXXX`` on standard error, never a
UnicodeEncodeError. `echo_json()` keeps desk text exact (control characters as JSON escapes,
all of it ASCII on a stream that is not UTF-8), and `write_csv()` neutralises spreadsheet
formulas.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import IO, Any

import click

__all__ = ["echo", "echo_json", "printable", "table", "write_csv"]

# C0 controls but tab and newline, DEL, C1 controls, the Arabic letter mark, LRM/RLM, the
# bidi embeddings/overrides and isolates, line/paragraph separators, lone surrogates.
_UNSAFE_IN_LINES = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_LINES += "\u2028\u2029\ud800-\udfff"
_UNSAFE_MULTILINE = re.compile(f"[{_UNSAFE_IN_LINES}]")
_UNSAFE = re.compile(f"[\t\n{_UNSAFE_IN_LINES}]")

# What a character the stream cannot hold becomes: Python's own choice for each stream.
_REPLACEMENT = {False: "replace", True: "backslashreplace"}

# Spreadsheets read a cell starting with one of these (after any blanks) as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def printable(text: str, *, multiline: bool = False) -> str:
    """Desk text made safe for a terminal: each control character shown as an escape.

    ``"\\x1b]0;owned\\x07Hi\\r"`` becomes ``"\\\\x1b]0;owned\\\\x07Hi\\\\r"``; letters of
    every script, emoji and joiners are left alone.

    Args:
        text: the text to show.
        multiline: keep newlines and tabs (a thread entry's body); otherwise they are
            escaped too, so a value stays on its own line and in its own column.
    """
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).sub(_escape, text)


def _stream(err: bool) -> IO[str] | None:
    """The stream a line goes to; None under pythonw (no console). On a Windows console its
    encoding is UTF-8 (Python's console I/O); redirected or captured, the ANSI code page."""
    return sys.stderr if err else sys.stdout


def _fit(text: str, stream: IO[str] | None, err: bool = False) -> str:
    """`text` as `stream` can encode it: what it cannot hold replaced visibly."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, _REPLACEMENT[err]).decode(encoding)
    except LookupError:  # an encoding Python does not know: leave it to the stream
        return text
    return text


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Write a line (or several) to standard output, or standard error with `err`.

    Control characters are escaped (newlines and tabs kept) and characters the stream's
    encoding lacks are replaced: nothing a desk sends can break the terminal or the encoding.
    With `nl` false no newline is added (a line finished later).
    """
    stream = _stream(err)
    if stream is not None:
        click.echo(_fit(printable(text, multiline=True), stream, err), err=err, nl=nl)


def echo_json(data: Any, *, indent: int | None = None) -> None:
    """Write `data` as JSON to standard output: exact, and valid whatever the code page.

    On a UTF-8 stream the text is as it is, control characters aside: those are JSON escapes
    (``\\u001b``, ``\\u202e``: the same text to any JSON reader). On any other stream (a
    Windows code page) all of it is ASCII, which every code page and UTF-8 read alike.
    """
    stream = _stream(False)
    if stream is None:
        return
    if _is_utf8(stream):
        text = _UNSAFE_MULTILINE.sub(
            lambda m: f"\\u{ord(m.group()):04x}",
            json.dumps(data, ensure_ascii=False, indent=indent),
        )
    else:
        text = json.dumps(data, indent=indent)
    click.echo(text)


def _is_utf8(stream: IO[str]) -> bool:
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith("utf-8")
    except LookupError:
        return False


def _width(text: str) -> int:
    """Columns a terminal gives `text`: East Asian wide letters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _cut(text: str, width: int | None, ellipsis: str) -> str:
    if width is None or _width(text) <= width:
        return text
    kept, used = [], len(ellipsis)
    for char in text:
        used += _width(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept) + ellipsis


def table(
    headings: Sequence[str], rows: Iterable[Sequence[str | None]], widths: Sequence[int | None]
) -> None:
    """Print a table for people: each cell printable, cut to its column's width ("…").

    Widths count terminal columns (a Chinese character takes two); None is a last, free
    column. An empty cell shows as "-".
    """
    stream = _stream(False)
    ellipsis = "…" if _fit("…", stream) == "…" else "~"

    def line(cells: Iterable[str | None]) -> str:
        out = []
        for cell, width in zip(cells, widths, strict=True):
            text = _cut(_fit(printable(cell or "-"), stream), width, ellipsis)
            out.append(text if width is None else text + " " * (width - _width(text)))
        return "  ".join(out).rstrip()

    echo(line(headings))
    for row in rows:
        echo(line(row))


class _Fitted:
    """What csv.writer writes to: each row fitted to the stream (and printable on a terminal)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream, self._on_terminal = stream, stream.isatty()

    def write(self, row: str) -> int:
        if self._on_terminal:
            row = printable(row, multiline=True)
        return self._stream.write(_fit(row, self._stream))


def _neutral(cell: object) -> object:
    if isinstance(cell, str) and cell.lstrip().startswith(_FORMULA_STARTS):
        return "'" + cell  # OWASP's advice: the cell is shown as text, not computed
    return cell


def write_csv(stream: IO[str], headings: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV table a spreadsheet can open without running anything in it.

    A text cell that starts with ``= + - @``, also after blanks, tabs or line breaks (which
    spreadsheets skip), gets a leading ``'`` so it is shown as text; other cells are written
    exactly. Text is always quoted (a lone carriage return stays inside its cell), numbers
    are not, None is an empty cell. Rows end with ``\\n``: open a file with
    ``newline=""`` (and ``encoding="utf-8-sig"`` for Excel to detect UTF-8). Characters the
    stream's encoding lacks are replaced; on a terminal, control characters are escaped.

    Args:
        stream: a text stream: a file, or ``sys.stdout``.
        headings: the first row.
        rows: the data rows, cells of any type `csv` writes.
    """
    writer = csv.writer(_Fitted(stream), lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([_neutral(h) for h in headings])
    writer.writerows([_neutral(c) for c in row] for row in rows)


def use_replacing_streams() -> None:
    """Make the process's standard streams replace what they cannot encode, never raise.

    For the console script: output that does not go through `echo` (click's own messages,
    a progress bar) cannot crash on a legacy code page either.
    """
    for stream, err in ((sys.stdout, False), (sys.stderr, True)):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors=_REPLACEMENT[err])
