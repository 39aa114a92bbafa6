"""`osticket lab`: a practice desk, practice tickets and the ticket lifecycle walked through."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from ._admin import PRACTICE, apply_plan, default_password_file, plan_setup, read_inventory
from ._cli_support import EXIT_CODES, CliState, fail, pass_state, reported_errors
from ._errors import OsTicketError
from ._lab import (
    STOCK_TOPICS,
    create_tickets,
    practice_tickets,
    reset_practice_tickets,
    walkthrough,
)
from ._models import NewTicket
from ._output import echo, printable, table

__all__ = ["lab"]


@click.group()
def lab() -> None:
    """A practice desk for learners: setup, practice tickets, the lifecycle, reset.

    The kit's tickets come from customers at @practice.example; `lab reset` closes those only.
    """


def _exit_code(exc: OsTicketError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


@lab.command("setup")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the practice agent's password is written (a new file only you can read;"
    " default: osticket-lab-agent.txt in your home folder).",
)
@click.option("--dry-run", is_flag=True, help="Read the desk and show the plan; change nothing.")
@pass_state
def lab_setup(state: CliState, /, password_file: Path | None, dry_run: bool) -> None:
    """Prepare a practice desk (needs an admin login); run again, it changes nothing.

    Creates what is missing: the statuses Work in Progress, Pending and On Hold (open state),
    the agent Sam Practice, the team Practice Team (you and Sam), the SLA plan Practice SLA 1h
    (24/7 schedule, 1 hour grace) and the help topic Practice Lab using it.
    """
    target = password_file or default_password_file()
    desk = state.desk
    with reported_errors():
        items = plan_setup(read_inventory(desk))
        if not dry_run:
            try:
                items = apply_plan(desk, items, password_file=target)
            except FileExistsError as exc:
                fail(str(exc), 2)
            except OSError as exc:
                fail(f"cannot write the password file {target}: {exc.strerror}", 1)
    for item in items:
        outcome = "would create" if dry_run and not item.existed else item.outcome
        ident = f" (id {item.id})" if item.id else ""
        detail = f": {item.detail}" if item.detail else ""
        echo(f"{item.kind:<7} {printable(item.name):<30} {outcome}{ident}{printable(detail)}")
    created = sum(i.created for i in items)
    existed = sum(i.existed for i in items)
    if dry_run:
        echo(f"plan: {len(items) - existed} to create, {existed} already exist")
    else:
        echo(f"created {created}, already existed {existed}")


def _table(tickets: list[tuple[str, NewTicket]], topic_names: dict[int, str]) -> None:
    table(
        ("Ticket", "Customer", "Topic", "Priority", "Body", "Files", "Subject"),
        (
            (
                number,
                t.name,
                topic_names.get(t.topic_id or 0, "(default)"),
                t.priority.name.title() if t.priority else "-",
                "html" if t.html else "text",
                str(len(t.attachments)),
                t.subject,
            )
            for number, t in tickets
        ),
        (8, 22, 31, 9, 4, 5, None),
    )


@lab.command("seed")
@click.option("--count", type=click.IntRange(1, 1000), required=True, help="How many tickets.")
@click.option("--seed", type=int, help="Fix the tickets' content (each run still adds tickets).")
@click.option(
    "--workers",
    type=click.IntRange(1, 8),
    default=4,
    show_default=True,
    help="Tickets created at the same time.",
)
@click.option("--dry-run", is_flag=True, help="Show the tickets without sending them.")
@pass_state
def lab_seed(state: CliState, /, count: int, seed: int | None, workers: int, dry_run: bool) -> None:
    """Create COUNT realistic practice tickets through the API (customers @practice.example)."""
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    echo(f"seed {seed} (--seed {seed} gives the same content again)")
    topics: dict[str, int] = dict(STOCK_TOPICS)
    desk = state.desk
    if not dry_run and desk.username:
        with reported_errors():
            topics = {c.name: c.id for c in desk.topics()}
    topic_names = {ident: name for name, ident in topics.items()}
    with reported_errors():
        tickets = practice_tickets(count, seed, topics=topics)
    if dry_run:
        _table([("-", t) for t in tickets], topic_names)
        echo(f"{len(tickets)} ticket(s) not sent (dry run)")
        return
    with (
        reported_errors(),
        click.progressbar(length=len(tickets), label="Creating tickets", file=sys.stderr) as bar,
    ):
        outcome = create_tickets(desk, tickets, workers=workers, progress=bar.update)
    _table([(number, tickets[i]) for i, number in outcome.created], topic_names)
    echo(f"{len(outcome.created)} ticket(s) created")
    if not outcome.failures:
        return
    for index, exc in outcome.failures:
        t = tickets[index]
        if index in outcome.unknown:
            echo(
                f"ticket {index + 1} may exist ({t.email}, {t.subject!r}): look in the staff"
                f" panel before creating it again: {exc}",
                err=True,
            )
        else:
            echo(f"ticket {index + 1} was not created: {exc}", err=True)
    created = ", ".join(f"#{n}" for _, n in outcome.created) or "none"
    fail(
        f"stopped after a failure; created: {created}; not sent: {len(outcome.not_sent)}",
        _exit_code(outcome.failures[0][1]),
    )


def _wait_for_enter() -> None:
    click.prompt("Press Enter for the next step", default="", show_default=False, prompt_suffix="")


@lab.command("walkthrough")
@click.option("--pause", is_flag=True, help="Wait for Enter between steps.")
@click.option("--agent", default=PRACTICE.agent_name, show_default=True, help="Assignee.")
@pass_state
def lab_walkthrough(state: CliState, /, pause: bool, agent: str) -> None:
    """Run the ticket lifecycle on one new practice ticket, step by step."""
    first = True
    with reported_errors():
        for step in walkthrough(state.desk, agent=agent):
            if pause and not first:
                _wait_for_enter()
            first = False
            echo(f"\n== {step.title} ==")
            echo(step.action)
            for change in step.changes:
                echo(f"  changed: {printable(change)}")
            echo(f"  look at: {step.look_at}")
    echo("\nDone: the ticket went from intake to closure.")


@lab.command("reset")
@click.option("--dry-run", is_flag=True, help="List the tickets it would close.")
@pass_state
def lab_reset(state: CliState, /, dry_run: bool) -> None:
    """Close the open practice tickets (customers @practice.example) and only those."""
    with reported_errors():
        numbers, failed = reset_practice_tickets(state.desk, dry_run=dry_run)
    for number in numbers:
        echo(f"{'would close' if dry_run else 'closed'} #{printable(number)}")
    for number, exc in failed:
        echo(f"could not close #{printable(number)}: {exc}", err=True)
    echo(f"{len(numbers)} practice ticket(s) {'to close' if dry_run else 'closed'}")
    if failed:
        ctx = click.get_current_context()
        ctx.exit(_exit_code(failed[0][1]))
