"""The audit log: one JSON object per line for every automated action, and one per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._files import owner_only, writable

__all__ = ["AuditLog"]


class AuditLog:
    """Appends JSON lines to a file (created owner-only, with its folder, on first write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def check(self) -> None:
        """Make sure the log can be written before a run sends anything.

        Raises:
            UnwritableFile: it cannot (one line, naming the file and the reason).
        """
        writable(self.path, "audit log")

    def write(self, record: dict[str, Any]) -> None:
        """Append one record, flushed at once so a killed run loses nothing written.

        Raises:
            OSError: the file cannot be written.
        """
        if not self.path.exists():  # check() tightened an existing one at the run's start
            self.path.parent.mkdir(parents=True, exist_ok=True)
            owner_only(self.path)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
