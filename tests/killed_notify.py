"""A run the operating system kills right after a webhook took its notification:
``python -m tests.killed_notify FOLDER URL``.

It runs the passes of tests/test_timed_rules.py's world (the first records the desk, the
second notifies about a new High ticket, posting it to URL for real). Once the receiver has
answered, and before the ledger hears of it, it saves the desk and the clock to FOLDER, prints
"ready" and waits to be killed (tests/test_killed_process.py's way).
"""

from __future__ import annotations

import pickle
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from automations._notify import Outcome, Sender
from tests.test_timed_rules import World


def main(folder: Path, url: str) -> None:
    world = World(folder)
    world.hook = url
    world.run()
    world.desk.add("200020", "Urgent", "Hal", timedelta(0), priority="High")
    world.later(timedelta(minutes=5))

    class PostedThenKilled(Sender):
        def send(self, name: str, url: str, body: str, timeout: float = 10.0) -> Outcome:
            super().send(name, url, body, timeout)
            (folder / "world.pickle").write_bytes(pickle.dumps((world.desk, world.now)))
            print("ready", flush=True)
            time.sleep(600)  # killed here
            raise SystemExit("not killed")

    world.sender = PostedThenKilled()
    world.run()
    print("finished without being killed", flush=True)


def load(folder: Path) -> Any:
    """(desk, clock) as the killed run left them."""
    return pickle.loads((folder / "world.pickle").read_bytes())


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
