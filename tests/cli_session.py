"""Commands of the `osticket` CLI replayed from a cassette in a process of their own.

``python -m tests.cli_session CASSETTE '[["ticket", "list"], ["doctor"]]'``

CliRunner gives a command an in-memory stream whose encoding it chooses; here each command
writes to this process's real standard output and error, in whatever encoding
``PYTHONIOENCODING`` gives them (cp1252, cp437: what Windows uses when output is redirected
or captured by Task Scheduler), with their strict error handler, so a character printed
without going through `osticket_client._output` fails the run. Before each command a line
``=== osticket N ===`` goes to both streams, and ``=== exit C ===`` after it to stderr.
Standard input is left to the commands (a prompt reads it).
"""

from __future__ import annotations

import json
import sys

from osticket_client.cli import cli
from tests.recording import make_vcr


def main(cassette: str, commands: list[list[str]]) -> None:
    with make_vcr(record=False).use_cassette(f"{cassette}.yaml"):
        for index, args in enumerate(commands):
            for stream in (sys.stdout, sys.stderr):
                print(f"=== osticket {index} ===", file=stream, flush=True)
            try:
                cli.main(args, prog_name="osticket")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            else:  # pragma: no cover - click always exits in standalone mode
                code = 0
            print(f"=== exit {code} ===", file=sys.stderr, flush=True)


def split(output: str) -> list[str]:
    """One text per command, from what `main` wrote to one stream."""
    parts = output.split("=== osticket ")[1:]
    return [part.split(" ===\n", 1)[1] for part in parts]


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
