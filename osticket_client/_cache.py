"""A small per-user cache of what the client learned about each desk (the API's URL form).

A desk without URL rewriting (IIS in many labs) answers the API only at ``api/http.php/...``:
finding that out costs a request, and with attachments an upload, in every process. The form
that worked is kept per desk in ``api-forms.json`` in the user's cache folder, readable by its
owner only. The cache is only a hint: a form that stops working is found again, and a cache
that cannot be read or written is ignored.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ._masking import logger

__all__ = ["ApiFormCache", "default_cache_dir"]


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """`OSTICKET_CACHE_DIR`, else the platform's per-user cache folder + osticket."""
    if environ.get("OSTICKET_CACHE_DIR"):
        return Path(environ["OSTICKET_CACHE_DIR"])
    if os.name == "nt" and environ.get("LOCALAPPDATA"):
        return Path(environ["LOCALAPPDATA"]) / "osticket" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "osticket"
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "osticket"


class ApiFormCache:
    """The API URL form (e.g. ``api/http.php/``) that last worked, per desk base URL."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "api-forms.json"

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.debug("ignoring the cache %s: %s", self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def get(self, url: str) -> str | None:
        """The form that last worked for the desk at `url`, if known."""
        return self._read().get(url)

    def put(self, url: str, form: str) -> None:
        """Remember `form` for `url` (only writes when it changed)."""
        data = self._read()
        if data.get(url) == form:
            return
        data[url] = form
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file readable by its owner only; replace() is atomic.
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".api-forms-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.replace(temp, self.path)
        except OSError as exc:
            logger.debug("cannot write the cache %s: %s", self.path, exc)
