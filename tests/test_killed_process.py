"""A run killed by the operating system at each step, then started again in a new process.

tests/test_runner.py stops a run in-process (a BaseException); here the process itself dies
(SIGKILL, or TerminateProcess on Windows) while holding the run lock, with nothing flushed or
closed after the desk's answer: what survives is what the ledger had committed to its file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from automations._ledger import Ledger
from tests.killed_notify import load as load_world
from tests.killed_run import load_desk
from tests.receiver import receiving
from tests.test_runner import World
from tests.test_timed_rules import World as TimedWorld

ROOT = Path(__file__).resolve().parent.parent


def kill_when_ready(module: str, *args: str) -> None:
    """Run `python -m module args...` and kill it once it prints "ready"."""
    with subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
        finally:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode != 0  # killed, not finished


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("call", [1, 2, 3, 4, 5])
def test_a_run_killed_by_the_os_at_any_step(tmp_path: Path, call: int, when: str) -> None:
    kill_when_ready("tests.killed_run", str(tmp_path), str(call), when)

    world = World(tmp_path)
    world.desk = load_desk(tmp_path)
    done_before = sum(world.desk.changes.values())
    assert done_before == call - (when == "before")

    ledger = Ledger(world.ledger_path)
    try:
        ledger.acquire()  # the dead process's lock went with it
        (unsettled,) = ledger.unsettled()  # the action it was sending, recorded as intended
        assert unsettled.state == "intended"
    finally:
        ledger.close()
    again = world.run()
    assert again.reconciled == 1
    world.assert_each_done_once()
    assert world.run().planned == 0


def test_a_run_killed_after_a_webhook_took_its_notification(tmp_path: Path) -> None:
    with receiving() as (port, handler):
        url = f"http://127.0.0.1:{port}/hook/Secret-Path-1"
        kill_when_ready("tests.killed_notify", str(tmp_path), url)
        assert len(handler.bodies) == 1
        world = TimedWorld(tmp_path)
        world.desk, world.now = load_world(tmp_path)
        world.hook = url
        again = world.run()
        world.run()
    assert again.reconciled == 1
    assert len(handler.bodies) == 1  # never posted again
    ledger = Ledger(world.ledger_path)
    try:
        assert [(r.kind, r.state) for r in ledger.unsettled()] == [("notify", "unknown")]
    finally:
        ledger.close()
