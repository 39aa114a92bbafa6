"""The `osticket` command: a thin layer over the library.

Exit codes: 0 done (also when the ticket already was so); 1 the desk refused or failed;
2 bad usage or input (an unknown status/agent/... name included); 3 configuration; 4 API key,
login or the agent's role refused; 5 ticket rejected (fields or a ticket filter); 6 outcome
unknown (look at the ticket before retrying); 7 desk unreachable; 8 no such ticket;
9 ticket locked by another agent.
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
import textwrap
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, NoReturn

import click

from automations.cli import auto, demo, watch

from ._cli_support import (
    CliState,
    comment_option,
    fail,
    json_option,
    pass_state,
    reported_errors,
)
from ._doctor import run_checks
from ._errors import OsTicketError
from ._lab_cli import lab
from ._masking import MASK, mask
from ._models import NewTicket
from ._output import echo, echo_json, printable, table, use_replacing_streams
from ._pages import readable_text
from ._tickets import ActionResult
from .report.cli import report

__all__ = ["cli", "main"]


class _Osticket(click.Group):
    """The root group: a reader that stops reading (``osticket ticket list | head``) is no error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            # Windows reports a closed pipe as EINVAL rather than EPIPE.
            closed = isinstance(exc, BrokenPipeError) or (
                os.name == "nt" and exc.errno == errno.EINVAL
            )
            if not closed:
                raise
            # Point stdout at devnull so that flushing it at exit cannot fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)


@click.group(cls=_Osticket, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", help="The desk's base URL, e.g. https://help.example.com/support/.")
@click.option("--username", help="Agent username for staff-panel operations.")
@click.option("--profile", help="Use this config-file profile whole (no environment mixed in).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Config file (default: OSTICKET_CONFIG or the per-user config folder).",
)
@click.option("--timeout", type=float, help="Seconds to wait for the desk.")
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    help="CA bundle to trust, e.g. for a lab desk's self-signed certificate.",
)
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Skip HTTPS certificate checks (warns; labs only).",
)
@click.version_option(package_name="osticket-client")
@click.pass_context
def cli(
    ctx: click.Context,
    url: str | None,
    username: str | None,
    profile: str | None,
    config_file: str | None,
    timeout: float | None,
    ca_bundle: str | None,
    insecure: bool | None,
) -> None:
    """Drive an osTicket help desk from the command line.

    Secrets (API key, agent password) come from the environment or the config file, never
    from flags: OSTICKET_API_KEY / OSTICKET_API_KEY_FILE, OSTICKET_PASSWORD / _FILE.
    """
    flags = {
        "url": url,
        "username": username,
        "timeout": timeout,
        "ca_bundle": ca_bundle,
        "insecure": insecure,
    }
    state = CliState(flags, profile, config_file)
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.group()
def ticket() -> None:
    """Create and work tickets."""


def _decode_text(data: bytes, name: str) -> str:
    """A text file's content: UTF-8 (with or without a BOM), or UTF-16 with its BOM.

    UTF-16 is what Windows PowerShell 5's ``>`` and Notepad's "Unicode" write; anything else
    (e.g. a legacy Windows-1252 file) is refused rather than guessed, naming the file.

    Raises:
        ValueError: the bytes are neither; the message names the file and how to convert it.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "UTF-16", data
    else:
        encoding, body = "UTF-8", data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        offset = exc.start + len(data) - len(body)
        raise ValueError(
            f"{name} is not {encoding} text (byte 0x{data[offset]:02x} at offset {offset});"
            " save it as UTF-8 (Notepad: Save as > Encoding UTF-8; or iconv -f windows-1252"
            " -t utf-8)"
        ) from None
    if "\x00" in text:
        raise ValueError(
            f"{name} holds NUL characters (UTF-16 without a byte order mark?); save it as UTF-8"
        )
    return text


def _read_message(message: str | None, message_file: IO[bytes] | None) -> str:
    if message is not None and message_file is not None:
        raise click.UsageError("give the message with --message or --message-file, not both")
    if message is not None:
        return message
    if message_file is not None:
        given = getattr(message_file, "name", "<stdin>")
        name = "standard input" if given in ("<stdin>", "-") else repr(given)
        try:
            return _decode_text(message_file.read(), name)
        except ValueError as exc:
            fail(f"--message-file: {exc}", 2)
    raise click.UsageError(
        "the message is missing: use --message TEXT or --message-file FILE"
        " ('-' reads standard input)"
    )


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected name=value, got {pair!r}", param_hint="--field")
        fields[name.strip()] = value
    return fields


@ticket.command("create")
@click.option("--name", required=True, help="The customer's name.")
@click.option("--email", required=True, help="The customer's e-mail address.")
@click.option("--subject", required=True, help="Issue summary.")
@click.option("--message", help="Issue details.")
@click.option(
    "--message-file",
    type=click.File("rb"),
    help="Read the details from a file ('-' for standard input): UTF-8 or UTF-16 with a BOM.",
)
@click.option("--html", is_flag=True, help="The message is HTML.")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Attach a file (repeatable).",
)
@click.option("--topic", "topic_id", type=int, help="Help topic id.")
@click.option("--priority", help="low, normal, high, emergency or 1-4.")
@click.option("--phone", help="Phone number.")
@click.option("--phone-ext", help="Phone extension.")
@click.option("--source", help="API, Web, Email or Staff.")
@click.option("--alert/--no-alert", default=None, help="Alert the agents.")
@click.option("--autorespond/--no-autorespond", default=None, help="Auto-reply to the customer.")
@click.option(
    "--field",
    "field_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A custom form field by variable name (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Print the request instead of sending it.")
@json_option
@pass_state
def ticket_create(
    state: CliState,
    /,
    message: str | None,
    message_file: IO[bytes] | None,
    field_pairs: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    **values: Any,
) -> None:
    """Open a ticket through the API and print its number."""
    values["message"] = _read_message(message, message_file)
    values["fields"] = _parse_fields(field_pairs)
    values = {k: v for k, v in values.items() if v is not None}
    with reported_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = NewTicket(**values)
    for warning in caught:
        echo(f"warning: {warning.message}", err=True)
    desk = state.desk
    with reported_errors():
        if dry_run:
            call = desk.prepare_create(new)
            if as_json:
                echo_json(
                    {
                        "method": call.method,
                        "url": call.url,
                        "headers": {**call.headers, "X-API-Key": MASK},
                        "body": call.body,
                    }
                )
            else:
                echo(call.describe())
            return
        number = desk.create_ticket(new)
    if not as_json:
        echo(printable(number))
    problems = _check_created(state, number, new)
    for problem in problems:
        echo(f"warning: ticket {number} was created, but {problem}", err=True)
    if as_json:
        echo_json({"number": number, "warnings": problems})


def _check_created(state: CliState, number: str, new: NewTicket) -> list[str]:
    """What the desk silently dropped from the new ticket, read back with the agent login.

    The ticket exists whatever is found, so this only warns (exit 0): failing would invite
    a retry, and a duplicate ticket.
    """
    if not new.attachments and new.topic_id is None:
        return []
    if not (state.settings.username and state.settings.password):
        echo(
            "note: the desk drops attachments over its size limit and ignores an unknown help"
            " topic without a word; with an agent login (OSTICKET_USERNAME, OSTICKET_PASSWORD)"
            " this command reads the new ticket back to check",
            err=True,
        )
        return []
    try:
        return state.desk.check_created(number, new)
    except OsTicketError as exc:
        return [f"it could not be read back to check attachments and help topic: {exc}"]


@cli.command()
@pass_state
def cron(state: CliState, /) -> None:
    """Run the desk's scheduled tasks once (needs the key's cron right)."""
    with reported_errors():
        state.desk.run_cron()
    echo("cron completed")


@cli.command("config")
@json_option
@pass_state
def show_config(state: CliState, /, as_json: bool) -> None:
    """Show the resolved settings and where each came from (secrets masked)."""
    settings = state.settings
    rows: dict[str, Any] = {}
    keys = (
        "url",
        "api_key",
        "username",
        "password",
        "timeout",
        "ca_bundle",
        "insecure",
        "db_timezone",
    )
    for key in keys:
        value = getattr(settings, key)
        if key in ("api_key", "password"):
            value = MASK if value is not None else None
        rows[key] = {"value": value, "source": settings.sources.get(key, "default")}
    meta = {"profile": settings.profile, "config_file": settings.config_file}
    if as_json:
        echo_json({**meta, "settings": rows})
        return
    echo(f"config file: {settings.config_file}")
    echo(f"profile:     {settings.profile or '(none)'}")
    for key, row in rows.items():
        shown = "(not set)" if row["value"] is None else str(row["value"])
        echo(f"{key:<10} {shown:<45} {row['source']}")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@ticket.command("show")
@click.argument("number")
@json_option
@pass_state
def ticket_show(state: CliState, /, number: str, as_json: bool) -> None:
    """Show a ticket and its thread (times in UTC)."""
    with reported_errors():
        found = state.desk.get_ticket(number)
    if as_json:
        echo_json(found.model_dump(mode="json"), indent=2)
        return
    echo(f"Ticket #{printable(found.number)}: {printable(found.subject)}")
    facts = [
        ("Status", f"{found.status} ({found.state or '?'})"),
        ("Priority", found.priority),
        ("Department", found.department),
        ("Help topic", found.help_topic),
        ("SLA plan", found.sla_plan),
        ("Assigned to", found.assigned_to),
        ("Closed by", found.closed_by),
        ("User", f"{found.user_name} <{found.user_email}>"),
        ("Source", found.source),
        ("Created", _when(found.created)),
        ("Last message", _when(found.last_message)),
        ("Last response", _when(found.last_response)),
    ]
    for label, value in facts:
        if value:
            echo(f"  {label + ':':<15}{printable(value)}")
    for entry in found.thread:
        title = f" — {printable(entry.title)}" if entry.title else ""
        author = printable(entry.author or "")
        echo(f"\n[{entry.type}] {author}, {_when(entry.created)} UTC{title}")
        echo(textwrap.indent(readable_text(entry.body), "  "))
        for name in entry.attachments:
            echo(f"  attachment: {printable(name)}")


QUEUE_HELP = "Queue id (stock: 1 Open, 2 unanswered, 3 answered, 4 overdue, 5 mine, 8 closed)."


@ticket.command("list")
@click.option("--queue", type=int, default=1, show_default=True, help=QUEUE_HELP)
@json_option
@pass_state
def ticket_list(state: CliState, /, queue: int, as_json: bool) -> None:
    """List every ticket of a queue (from its CSV export; times in UTC)."""
    with reported_errors():
        rows = list(state.desk.list_tickets(queue))
    if as_json:
        echo_json([r.model_dump(mode="json") for r in rows])
        return
    table(
        ("Ticket", "Last update", "Subject", "From", "Priority", "Assignee", "Status", "SLA due"),
        (
            (
                r.number,
                _when(r.last_updated),
                r.subject,
                r.from_name or "",
                r.priority or "",
                r.agent or r.team or "",
                r.status or "",
                _when(r.due_date or r.sla_due) + (" overdue" if r.overdue else ""),
            )
            for r in rows
        ),
        (8, 16, 30, 18, 9, 16, 16, 24),
    )
    echo(f"{len(rows)} ticket(s)")


@ticket.command("find")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 500), default=25, show_default=True)
@json_option
@pass_state
def ticket_find(state: CliState, /, query: str, limit: int, as_json: bool) -> None:
    """Find tickets by number prefix, or customers by e-mail address or words."""
    with reported_errors():
        try:
            result = state.desk.find_tickets(query, limit=limit)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="QUERY") from None
    if as_json:
        echo_json(result.model_dump(mode="json"))
        return
    if result.tickets:
        table(
            ("Ticket", "Subject", "User"),
            ((t.number, t.subject or "", t.user or "") for t in result.tickets),
            (8, 40, 24),
        )
    for customer in result.customers:
        echo(f"customer {printable(customer.email)}: {customer.tickets} matching ticket(s)")
    if not (result.tickets or result.customers):
        echo("nothing found")
    if result.truncated:
        echo(f"(the desk stopped at {limit}: narrow the query or raise --limit)")


@cli.command()
@json_option
@pass_state
def doctor(state: CliState, /, as_json: bool) -> None:
    """Check the settings against the desk without changing anything (exit 1 on a failure).

    It also times one listing of the Open queue, as every automation pass starts with one.
    """
    checks = []
    for check in run_checks(state.desk):
        checks.append(check)
        if not as_json:
            echo(f"{check.outcome:<5} {check.name}: {printable(mask(check.detail))}")
            for line in check.advice:
                echo(f"      {line}")
    if as_json:
        echo_json([vars(c) for c in checks])
    if any(c.outcome == "fail" for c in checks):
        click.get_current_context().exit(1)


def _report(result: ActionResult, as_json: bool) -> None:
    if as_json:
        echo_json(result.model_dump(mode="json"))
    else:
        echo(f"{'changed' if result.changed else 'unchanged'}: {printable(result.message)}")


@ticket.command("status")
@click.argument("number")
@click.argument("status")
@comment_option
@json_option
@pass_state
def ticket_status(
    state: CliState, /, number: str, status: str, comment: str | None, as_json: bool
) -> None:
    """Set a ticket's STATUS by name or id ("Work in Progress", 6)."""
    with reported_errors():
        _report(state.desk.set_status(number, status, comment=comment), as_json)


@ticket.command("assign")
@click.argument("number")
@click.option("--agent", help="Agent name or id.")
@click.option("--team", help="Team name or id.")
@comment_option
@json_option
@pass_state
def ticket_assign(
    state: CliState,
    /,
    number: str,
    agent: str | None,
    team: str | None,
    comment: str | None,
    as_json: bool,
) -> None:
    """Assign a ticket to an agent or a team."""
    if (agent is None) == (team is None):
        raise click.UsageError("give exactly one of --agent or --team")
    with reported_errors():
        _report(state.desk.assign(number, agent=agent, team=team, comment=comment), as_json)


@ticket.command("claim")
@click.argument("number")
@json_option
@pass_state
def ticket_claim(state: CliState, /, number: str, as_json: bool) -> None:
    """Assign an open, unassigned ticket to yourself."""
    with reported_errors():
        _report(state.desk.claim(number), as_json)


@ticket.command("release")
@click.argument("number")
@click.option("--only", type=click.Choice(["agent", "team"]), help="Release only this one.")
@comment_option
@json_option
@pass_state
def ticket_release(
    state: CliState, /, number: str, only: str | None, comment: str | None, as_json: bool
) -> None:
    """Remove a ticket's assignment."""
    with reported_errors():
        result = state.desk.release(
            number, agent=only != "team", team=only != "agent", comment=comment
        )
        _report(result, as_json)


@ticket.command("transfer")
@click.argument("number")
@click.argument("department")
@comment_option
@json_option
@pass_state
def ticket_transfer(
    state: CliState, /, number: str, department: str, comment: str | None, as_json: bool
) -> None:
    """Move a ticket to another DEPARTMENT."""
    with reported_errors():
        _report(state.desk.transfer(number, department, comment=comment), as_json)


@ticket.command("priority")
@click.argument("number")
@click.argument("priority")
@json_option
@pass_state
def ticket_priority(state: CliState, /, number: str, priority: str, as_json: bool) -> None:
    """Set a ticket's PRIORITY (name or id)."""
    with reported_errors():
        _report(state.desk.set_priority(number, priority), as_json)


def _entry_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        (
            click.argument("number"),
            click.option("--message", help="The text."),
            click.option(
                "--message-file",
                type=click.File("rb"),
                help="Read the text from a file ('-' for standard input): UTF-8 or UTF-16 with"
                " a BOM.",
            ),
            click.option("--html", is_flag=True, help="The text is HTML."),
            click.option("--status", help="Also set this status."),
            json_option,
        )
    ):
        command = option(command)
    return command


@ticket.command("reply")
@_entry_options
@click.option("--no-notify", is_flag=True, help="Do not e-mail the customer.")
@pass_state
def ticket_reply(
    state: CliState,
    /,
    number: str,
    message: str | None,
    message_file: IO[bytes] | None,
    html: bool,
    status: str | None,
    as_json: bool,
    no_notify: bool,
) -> None:
    """Reply to the customer (never sent twice: a lost answer exits 6)."""
    text = _read_message(message, message_file)
    with reported_errors():
        result = state.desk.reply(number, text, html=html, status=status, notify=not no_notify)
        _report(result, as_json)


@ticket.command("note")
@_entry_options
@click.option("--title", help="The note's title.")
@pass_state
def ticket_note(
    state: CliState,
    /,
    number: str,
    message: str | None,
    message_file: IO[bytes] | None,
    html: bool,
    status: str | None,
    as_json: bool,
    title: str | None,
) -> None:
    """Add an internal note (agents only)."""
    text = _read_message(message, message_file)
    with reported_errors():
        result = state.desk.add_note(number, text, title=title, status=status, html=html)
        _report(result, as_json)


def main() -> NoReturn:
    """Console-script entry point."""
    use_replacing_streams()
    try:
        cli.main(prog_name="osticket")
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(0)  # pragma: no cover - cli.main exits itself


cli.add_command(auto)
cli.add_command(demo)
cli.add_command(lab)
cli.add_command(watch)
cli.add_command(report)
