"""`osticket auto ...` and `osticket demo`: the automations from the command line.

Exit codes of `auto run`: 0 every action done (or nothing to do); 1 an action failed, an
outcome is unknown, or the run stopped early (see `auto status`); 2 a bad rules file or
option; 3 the ledger cannot be used (a folder, read-only, not SQLite) or the audit log cannot be
written: nothing was sent; 10 another run holds the desk's lock. The other codes are the
`osticket` ones.

`auto run --every`: a pass that fails for a reason a later one may not meet (the desk
unreachable, a 5xx, a timeout) logs one line and the loop tries again after the interval,
doubled for each failure in a row up to eight intervals (or an hour, if longer); a login,
role or configuration error ends the loop.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from osticket_client import (
    AuthenticationError,
    OsTicketError,
    ServerError,
    SessionExpired,
    TransportError,
    UnknownChoice,
    echo,
    echo_json,
    printable,
    table,
)
from osticket_client._cli_support import CliState, fail, json_option, pass_state, reported_errors
from osticket_client._masking import mask
from osticket_client._pages import readable_text

from ._audit import AuditLog
from ._durations import parse_duration
from ._events import links_of
from ._files import UnwritableFile
from ._ledger import Ledger, LedgerBusy, LedgerRow, LedgerUnusable
from ._model import Decision, PlannedAction
from ._notify import NotifierError, body_text, resolve_url
from ._planner import render_nudge
from ._rules import EventRule, NudgeRule, RulesError, RulesFile, TimedRule, load_rules
from ._runner import Pass, RunSummary, listing_note, snapshot_of
from ._timed import render_for

__all__ = ["auto", "demo", "watch"]

EXIT_BUSY = 10
EXIT_CONFIGURATION = 3


def _rules(path: str) -> RulesFile:
    try:
        return load_rules(path)
    except RulesError as exc:
        echo(f"Error: {exc}", err=True)
        click.get_current_context().exit(2)
    raise AssertionError("unreachable")  # pragma: no cover


def _beside(rules_path: str, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else Path(rules_path).resolve().parent / path


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"expected ISO 8601 with an offset, got {value!r}", param_hint="--at"
        ) from None
    if when.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset (e.g. +00:00)", param_hint="--at")
    return when.astimezone(timezone.utc)


def _ledger(rules_path: str, rules: RulesFile) -> Ledger:
    """The rules file's ledger, or one line and exit 3 when it cannot be used."""
    try:
        return Ledger(_beside(rules_path, rules.settings.ledger))
    except LedgerUnusable as exc:
        fail(str(exc), EXIT_CONFIGURATION)


@contextmanager
def _pass(state: CliState, rules_path: str, rules: RulesFile, clock: Any) -> Iterator[Pass]:
    """A pass with the rules file's ledger and audit log; the ledger is closed after."""
    ledger = _ledger(rules_path, rules)
    try:
        yield Pass(
            state.desk,
            rules,
            ledger,
            AuditLog(_beside(rules_path, rules.settings.audit_log)),
            clock,
        )
    finally:
        ledger.close()


@click.group()
def auto() -> None:
    """Rule-based automations: check a rules file, plan, run once or on a schedule."""


rules_argument = click.argument("rules_file", metavar="FILE", type=click.Path(dir_okay=False))


@auto.command("check")
@rules_argument
@click.option(
    "--desk",
    "against_desk",
    is_flag=True,
    help="Also resolve every name the rules use against the desk.",
)
@pass_state
def auto_check(state: CliState, /, rules_file: str, against_desk: bool) -> None:
    """Validate a rules file (offline unless --desk)."""
    rules = _rules(rules_file)
    problems = []
    if against_desk:
        with reported_errors():
            for kind, names in sorted(rules.names_to_resolve().items()):
                for name in sorted(names):
                    try:
                        state.desk.resolve(kind, name)
                    except UnknownChoice as exc:
                        problems.append(str(exc))
    for problem in problems:
        echo(f"Error: {problem}", err=True)
    if problems:
        click.get_current_context().exit(2)
    for warning in _unknown_rule_ids(rules_file, rules):
        echo(f"Warning: {warning}", err=True)
    base = Path(rules_file).resolve().parent
    for name, notifier in sorted(rules.notifiers.items()):
        try:
            resolve_url(name, notifier, base)
        except NotifierError as exc:  # may be set only where the runs happen
            echo(f"warning: {exc}", err=True)
    enabled = sum(1 for r in rules.rules if r.enabled)
    where = " and every name resolves on the desk" if against_desk else ""
    echo(f"ok: {len(rules.rules)} rule(s), {enabled} enabled{where}")


def _unknown_rule_ids(rules_path: str, rules: RulesFile) -> list[str]:
    """Work the ledger, if there is one, holds under ids no rule has (no ledger is created)."""
    path = _beside(rules_path, rules.settings.ledger)
    if not path.is_file():
        return []
    ledger = _ledger(rules_path, rules)
    try:
        ledger.migrate(rules)
        return _orphans(ledger, rules)
    finally:
        ledger.close()


def _orphans(ledger: Ledger, rules: RulesFile) -> list[str]:
    """Work the ledger (or the tickets it remembers) holds under ids no rule has: a rule
    renamed without keeping its `id`, or removed."""
    known = {rule.rule_id for rule in rules.rules}
    return [
        f"the ledger {ledger.path} holds work under rule id {rule_id!r}, which no rule has"
        " (renamed without keeping its id?): that work counts for every rule whose once-only"
        " keys it matches; set `id` to say which rule it belongs to"
        for rule_id in sorted(ledger.rule_ids() - known)
    ]


def _print_decisions(decisions: list[Decision], as_json: bool, explain: bool) -> None:
    if as_json:
        echo_json(
            [
                {
                    "ticket": d.number,
                    "rule": d.rule,
                    "reason": d.reason,
                    "action": None
                    if d.action is None
                    else {"kind": d.action.kind, "value": d.action.value, "key": d.action.key},
                }
                for d in decisions
            ]
        )
        return
    shown = decisions if explain else [d for d in decisions if d.action is not None]
    if not shown:
        echo("nothing to do")
        return
    table(
        ("ticket", "rule", "action", "reason"),
        (
            (
                d.number,
                d.rule,
                "-" if d.action is None else f"{d.action.kind} {' '.join(_shown(d).split())}",
                d.reason,
            )
            for d in shown
        ),
        (8, 28, 32, None),
    )


def _shown(decision: Decision) -> str:
    """What an action sends, as a person reads it: a notification's text, a reply's words."""
    action = decision.action
    assert action is not None
    if action.kind == "notify":
        return f"{action.notifier}: {body_text(action.value)}"
    if action.kind in ("reply", "note"):
        text = readable_text(action.value)
        return f"{text} (status {action.status})" if action.status else text
    return action.value


def _say(line: str) -> None:
    """One line for people and logs (stdout): an action as it is done, a summary."""
    echo(line)


def _action_line(action: PlannedAction, outcome: str) -> None:
    """Ticket number, rule, action kind and outcome: never a subject or a body (cron logs
    are often readable by others)."""
    _say(f"{printable(action.number)}  {printable(action.rule)}  {action.kind}  {outcome}")


class _Progress:
    """Pages read / to read and the time since the pass began, redrawn in place on stderr.

    Drawn only on a terminal: under cron (no terminal) it prints nothing.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.drawn = 0.0

    def __call__(self, read: int, to_read: int) -> None:
        now = time.monotonic()
        if not self.enabled or not to_read or (now - self.drawn < 0.1 and read < to_read):
            return
        self.drawn = now
        click.echo("\r", err=True, nl=False)  # back to the line's start: drawn in place
        line = f"reading ticket pages: {read}/{to_read}, {now - self.started:.0f} s"
        echo(line, err=True, nl=read == to_read)


def _on_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()  # None under pythonw


@auto.command("plan")
@rules_argument
@click.option("--at", "at", help="Plan as of this time (ISO 8601 with an offset).")
@click.option("--only", help="Only this ticket number.")
@click.option("--explain", help="Say, rule by rule, why this ticket gets what it gets.")
@json_option
@pass_state
def auto_plan(
    state: CliState,
    /,
    rules_file: str,
    at: str | None,
    only: str | None,
    explain: str | None,
    as_json: bool,
) -> None:
    """Show what a run would do now (or --at a time), changing nothing."""
    rules = _rules(rules_file)
    now = _parse_at(at)
    with reported_errors(), _pass(state, rules_file, rules, lambda: now) as run:
        run.progress = _Progress(_on_terminal())
        decisions = run.decide(now, RunSummary(run.run_id))
        listed = run.listed
    wanted = (explain or only or "").strip().lstrip("#")
    if wanted:
        decisions = [d for d in decisions if d.number == wanted]
        if not decisions and not as_json:
            echo(
                f"ticket {wanted} is in no enabled rule's scope (help topic, status)"
                if wanted in listed
                else f"ticket {wanted} is not among the {len(listed)} ticket(s) the rules look"
                " at (closed, unknown, or not visible to this agent): no rule considers it"
            )
            return
    _print_decisions(decisions, as_json, explain is not None)


@auto.command("run")
@rules_argument
@click.option("--every", help="Run again after this long (e.g. 5m) until stopped.")
@click.option("--max-actions", type=click.IntRange(0), help="Cap for this run.")
@click.option("--dry-run", is_flag=True, help="Plan and log the run, send nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
@pass_state
def auto_run(
    state: CliState,
    /,
    rules_file: str,
    every: str | None,
    max_actions: int | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run the rules once (or --every N), once-only and within the caps.

    On a terminal, progress is drawn on stderr while ticket pages are read. Each action
    prints one line as it is done (ticket, rule, action, outcome), then the run's summary;
    --quiet prints only errors.
    """
    rules = _rules(rules_file)
    interval = _every(every) if every else None
    code = 0
    failures = 0
    warned = False
    with (
        _stop_on_signals() as stop,
        reported_errors(),
        _pass(state, rules_file, rules, _utc_now) as run,
    ):
        try:
            run.ledger.acquire()
        except LedgerBusy as exc:
            echo(f"Error: {exc}", err=True)
            click.get_current_context().exit(EXIT_BUSY)
        run.notifiers = _notifier_urls(rules, rules_file)
        run.every = interval
        while True:
            run.should_stop = stop.is_set
            run.progress = _Progress(_on_terminal() and not quiet)
            if not quiet:
                run.report = _action_line
            try:
                if not warned:
                    for warning in [*_orphans(run.ledger, rules), *run.shared_agent_warnings()]:
                        echo(f"Warning: {warning}", err=True)
                    warned = True
                summary = run.run(max_actions=max_actions, dry_run=dry_run)
            except UnwritableFile as exc:
                echo(f"Error: {exc}; nothing was sent", err=True)
                click.get_current_context().exit(EXIT_CONFIGURATION)
            except OsTicketError as exc:
                if interval is None or not _transient(exc):
                    raise
                failures += 1
                wait = retry_delay(interval, failures)
                echo(f"run failed: {exc}; trying again in {wait:.0f}s", err=True)
                code = 1
            else:
                failures, wait = 0, interval or 0
                if not quiet:
                    _say(summary.line())
                code = summary.exit_code
            if interval is None or _wait(stop, wait):
                break
            run = Pass(
                run.desk,
                rules,
                run.ledger,
                run.audit,
                run.clock,
                notifiers=run.notifiers,
                sender=run.sender,
                every=interval,
            )
        if run.sender is not None:
            run.sender.close()
    click.get_current_context().exit(code)


def _transient(exc: OsTicketError) -> bool:
    """Whether a later pass may not meet this error (unreachable, 5xx, timeout, session)."""
    if isinstance(exc, SessionExpired):
        return True
    return isinstance(exc, (TransportError, ServerError)) and not isinstance(
        exc, AuthenticationError
    )


def retry_delay(interval: float, failures: int) -> float:
    """How long `--every` waits after `failures` transient failures in a row (1 or more).

    The interval, doubled for each failure after the first, up to eight intervals or an
    hour, whichever is longer.
    """
    backoff: float = interval * 2 ** min(failures - 1, 16)
    return min(backoff, max(8 * interval, 3600.0))


def _notifier_urls(rules: RulesFile, rules_path: str) -> dict[str, str]:
    """The webhook URLs of the notifiers enabled rules use (exit 3 when one is missing)."""
    used = {
        action.notify
        for rule in rules.rules
        if rule.enabled and isinstance(rule, (TimedRule, EventRule))
        for action in rule.actions
        if action.notify is not None
    }
    base = Path(rules_path).resolve().parent
    try:
        return {name: resolve_url(name, rules.notifiers[name], base) for name in sorted(used)}
    except NotifierError as exc:
        echo(f"Error: {exc}", err=True)
        click.get_current_context().exit(EXIT_CONFIGURATION)
    raise AssertionError("unreachable")  # pragma: no cover


def _every(value: str) -> float:
    """--every's seconds (a duration such as 5m)."""
    try:
        seconds = parse_duration(value).seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None
    if seconds <= 0:  # a loop without a pause
        raise click.BadParameter(
            f"expected a positive interval (like 5m), got {value!r}", param_hint="--every"
        )
    return seconds


# Ctrl+C, the service manager's stop (POSIX) and Ctrl+Break (a Windows console; Task
# Scheduler's "End" is TerminateProcess, which no process sees: the ledger covers that).
_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first stop signal: the run finishes the action in flight, then
    ends. A second signal of the same kind acts at once, as if no handler were installed.
    The handlers the process had are put back after the block."""
    stop = threading.Event()

    def handle(signum: int, frame: Any) -> None:
        stop.set()
        again = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, again)

    numbers = [getattr(signal, name) for name in _STOP_SIGNALS if hasattr(signal, name)]
    before = {number: signal.signal(number, handle) for number in numbers}
    try:
        yield stop
    finally:
        for number, handler in before.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def _wait(stop: threading.Event, seconds: float) -> bool:
    """Wait `seconds` or until `stop` is set, waking every second: a Python signal handler
    runs only between waits, and on Windows a long wait is not cut short by Ctrl+C."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        stop.wait(min(left, 1.0))
    return stop.is_set()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@auto.command("status")
@rules_argument
@json_option
def auto_status(rules_file: str, as_json: bool) -> None:
    """The last runs, and actions whose outcome is still unknown."""
    rules = _rules(rules_file)
    ledger = _ledger(rules_file, rules)
    try:
        runs, open_actions = ledger.runs(), ledger.unsettled()
        failed = ledger.failed([str(r["run_id"]) for r in runs])
    finally:
        ledger.close()
    if as_json:
        echo_json(
            {
                "runs": [
                    {**r, "failed": [_row(f) for f in failed if f.run_id == r["run_id"]]}
                    for r in runs
                ],
                "unsettled": [
                    {**_row(r), "state": r.state, "since": r.intended_at.isoformat()}
                    for r in open_actions
                ],
            }
        )
        return
    for entry in runs:
        summary: dict[str, Any] = entry["summary"] or {}  # type: ignore[assignment]
        seconds, every = summary.pop("listing_seconds", None), summary.pop("every_seconds", None)
        note = listing_note(seconds, every)
        echo(
            f"{entry['started_at']}  run {entry['run_id']}: "
            + ", ".join(f"{k} {v}" for k, v in summary.items() if k != "run_id" and v)
            + (f"; {note}" if note else "")
        )
        for row in failed:
            if row.run_id == entry["run_id"]:
                echo(
                    f"  failed: ticket {printable(row.number)} {row.kind}"
                    f" (rule {printable(row.rule)}): {row.message or 'no reason recorded'}"
                )
    if not runs:
        echo("no runs yet")
    for row in open_actions:
        then = (
            f"{row.message}; look at the receiver"
            if row.kind == "notify" and row.state == "unknown"
            else "settled by the next run"
        )
        echo(
            f"outcome {row.state}: ticket {printable(row.number)} {row.kind}"
            f" (rule {printable(row.rule)},"
            f" since {row.intended_at.isoformat()}): {then}"
        )


def _row(row: LedgerRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "ticket": row.number,
        "rule": row.rule,
        "action": row.kind,
        "message": row.message,
    }


@auto.command("render")
@rules_argument
@click.argument("rule")
@click.argument("number")
@pass_state
def auto_render(state: CliState, /, rules_file: str, rule: str, number: str) -> None:
    """Print RULE's nudge, reply or notification for ticket NUMBER as its reader sees it."""
    rules = _rules(rules_file)
    kinds = (NudgeRule, TimedRule, EventRule)
    chosen = next((r for r in rules.rules if r.name == rule and isinstance(r, kinds)), None)
    if chosen is None:
        names = [r.name for r in rules.rules if isinstance(r, kinds)]
        raise click.BadParameter(
            f"no nudge, timed or event rule named {rule!r}; the file has: {names}",
            param_hint="RULE",
        )
    with reported_errors():
        snapshot = snapshot_of(state.desk.get_ticket(number), state.desk.me().name)
    if not isinstance(chosen, NudgeRule):
        shown = render_for(rules, chosen, snapshot, links_of(state.desk)(number))
        if not shown:
            raise click.ClickException(f"rule {rule!r} sends no reply or notification")
        for label, text in shown:
            echo(f"{label}:\n{printable(text, multiline=True)}")
        return
    try:
        html = render_nudge(chosen, snapshot)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    echo(readable_text(html))


@click.command()
@click.option("--queue", type=click.IntRange(1), default=1, show_default=True, help="Queue id.")
@click.option("--every", default="1m", show_default=True, help="Time between passes.")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option(
    "--state",
    "state_file",
    default="osticket-watch.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where the watch remembers the desk and its unprinted events.",
)
@pass_state
def watch(state: CliState, /, queue: int, every: str, once: bool, state_file: str) -> None:
    """Print each change on the desk as one JSON line (at least once, stable ids)."""
    from ._watch import locked_store, watch_pass

    interval = _every(every)
    try:
        lock, store = locked_store(Path(state_file))
    except LedgerBusy as exc:
        echo(f"Error: {exc}", err=True)
        click.get_current_context().exit(EXIT_BUSY)
    out = sys.stdout
    try:
        with reported_errors(), _stop_on_signals() as stop:
            while True:
                try:
                    watch_pass(state.desk, store, queue, _utc_now(), out, links_of(state.desk))
                except OsTicketError as exc:
                    if once or not _transient(exc):
                        raise
                    echo(f"Error: {mask(str(exc))}", err=True)  # it may be back next pass
                if once or _wait(stop, interval):
                    break
    except KeyboardInterrupt:  # a second Ctrl+C during a pass
        pass
    finally:
        store.close()
        lock.close()


@click.command()
@json_option
def demo(as_json: bool) -> None:
    """See the automations plan, with no server: the example rules against a recorded desk."""
    from ._demo import run_demo

    decisions, now = run_demo()
    if not as_json:
        echo(
            f"Example rules planned against a recording of a real osTicket desk,"
            f" as of {now.replace(microsecond=0).isoformat()}:\n"
        )
    _print_decisions(decisions, as_json, explain=False)
