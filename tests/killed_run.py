"""A run that the operating system kills: ``python -m tests.killed_run FOLDER CALL WHEN``.

It takes the run lock, as `osticket auto run` does, and runs a pass against the stand-in desk
of tests/test_runner.py. At the CALL-th change the desk receives (before or after acting, as
WHEN says) it saves the desk to FOLDER/desk.pickle, prints "ready" and waits to be killed:
tests/test_killed_process.py then kills it (SIGKILL, or TerminateProcess on Windows).
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

from automations._audit import AuditLog
from automations._ledger import Ledger
from automations._runner import Pass
from tests.standin import Crash, Fault, StandInDesk
from tests.test_runner import World


def main(folder: Path, call: int, when: str) -> None:
    world = World(folder)
    desk = world.desk
    desk.faults = [Fault(call, when, Crash())]
    strike = desk._fail  # the stand-in's own fault matching, which raises the Crash

    def die_here(kind: str, moment: str) -> None:
        try:
            strike(kind, moment)
        except Crash:
            del desk._fail  # the desk's own again, so that it pickles
            (folder / "desk.pickle").write_bytes(pickle.dumps(desk))
            print("ready", flush=True)
            time.sleep(600)  # killed here
            raise SystemExit("not killed") from None

    desk._fail = die_here  # type: ignore[method-assign,assignment]
    ledger = Ledger(world.ledger_path)
    ledger.acquire()
    Pass(desk, world.rules, ledger, AuditLog(world.audit_path), lambda: world.now).run()
    print("finished without being killed", flush=True)


def load_desk(folder: Path) -> StandInDesk:
    """The desk as the killed run left it."""
    desk = pickle.loads((folder / "desk.pickle").read_bytes())
    assert isinstance(desk, StandInDesk)
    return desk


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
