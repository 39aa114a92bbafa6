"""`osticket demo`: the example rules planned against a recording of a real desk, no server.

The recording (`demo/desk.json`) was captured by `capture()` from a real osTicket 1.18.1 desk
holding tickets in every situation the example rules handle; `now` is pinned to the moment of
the capture, so the plan is the one that desk would have got. Re-capture against a desk of your
own with ``python -m automations._demo capture automations/demo/desk.json`` (it reads the
OSTICKET_* settings and only reads the desk).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any

from osticket_client import OsTicket, TicketSummary

from ._model import ConversationEntry, Decision, MemoryHistory, TicketSnapshot
from ._planner import plan
from ._rules import parse_rules
from ._runner import conversation_of

__all__ = ["capture", "load_recording", "run_demo"]

DEMO = files("automations") / "demo"


def capture(desk: OsTicket, queue: int = 1) -> dict[str, Any]:
    """Record a queue's tickets with their conversations (reads every ticket page)."""
    states = {c.name: c.state for c in desk.statuses()}
    tickets = []
    for row in desk.list_tickets(queue):
        ticket = desk.get_ticket(row.number)
        tickets.append(
            {
                "summary": row.model_dump(mode="json"),
                "state": states.get(row.status or ""),
                "customer_name": ticket.user_name,
                "conversation": [
                    {**asdict(e), "created": e.created.isoformat()} for e in conversation_of(ticket)
                ],
            }
        )
    return {"captured_at": datetime.now(timezone.utc).isoformat(), "tickets": tickets}


def load_recording(data: dict[str, Any]) -> tuple[list[TicketSnapshot], datetime]:
    """The snapshots and the capture time of a recording made by `capture`."""
    snapshots = [
        TicketSnapshot(
            summary=TicketSummary.model_validate(t["summary"]),
            state=t["state"],
            customer_name=t["customer_name"],
            conversation=tuple(
                ConversationEntry(**{**e, "created": datetime.fromisoformat(e["created"])})
                for e in t["conversation"]
            ),
        )
        for t in data["tickets"]
    ]
    return snapshots, datetime.fromisoformat(data["captured_at"])


def run_demo() -> tuple[list[Decision], datetime]:
    """Plan the example rules against the shipped recording, as of its capture time."""
    rules = parse_rules((DEMO / "rules.toml").read_text(encoding="utf-8"), "demo/rules.toml")
    snapshots, now = load_recording(json.loads((DEMO / "desk.json").read_text(encoding="utf-8")))
    return plan(rules, snapshots, now, MemoryHistory()), now


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool, run against a live desk
    if sys.argv[1:2] != ["capture"] or len(sys.argv) != 3:
        sys.exit("usage: python -m automations._demo capture OUT.json")
    with OsTicket.from_env() as live:
        recording = capture(live)
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(recording, out, indent=1, ensure_ascii=False)
        out.write("\n")
