"""Files a run writes (the ledger, its side files, the audit log): readable by their owner only.

They hold reply bodies, customer names and subjects. On POSIX a new file is created 0600 and an
existing one loses its group's and others' rights (a read-only file stays read-only). On Windows
permission bits mean nothing: the file's access list is cut to its owner with ``icacls``
(shipped with Windows), which removes the entries it inherited from its folder; when icacls
fails the file keeps its folder's access list (a user's own profile folder is private by
default) and a warning says so.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from pathlib import Path

__all__ = ["UnwritableFile", "owner_only", "writable"]

logger = logging.getLogger("automations")

_OWNER_ONLY = stat.S_IRUSR | stat.S_IWUSR


class UnwritableFile(Exception):
    """Raised before anything is sent when a file the run must write cannot be written."""


def owner_only(path: Path, *, create: bool = True) -> None:
    """Create `path` (unless `create` is False) readable by its owner only, or tighten it.

    Raises:
        OSError: the file cannot be created or its permissions changed.
    """
    if create and not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _OWNER_ONLY)
        os.close(fd)
    elif not path.exists():
        return
    if os.name == "nt":
        _owner_only_windows(path)
    else:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:  # group and others lose every right; the owner keeps its own
            os.chmod(path, mode & 0o700)


def _owner_only_windows(path: Path) -> None:
    user = os.environ.get("USERNAME", "")
    domain = os.environ.get("USERDOMAIN", "")
    who = f"{domain}\\{user}" if domain else user
    command = ["icacls", str(path), "/inheritance:r", "/grant:r", f"{who}:(F)"]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("could not restrict %s to its owner (icacls: %s)", path, exc)


def writable(path: Path, what: str) -> None:
    """Check that `path` can be appended to (creating it owner-only), without writing a byte.

    Raises:
        UnwritableFile: it cannot, with the reason on one line.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        owner_only(path)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UnwritableFile(f"cannot write the {what} {path}: {reason}") from None
