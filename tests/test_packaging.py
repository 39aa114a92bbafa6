"""Every package of the project is in the wheel (setuptools' package list is explicit)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("osticket_client", "automations")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"not in [tool.setuptools] packages: {sorted(found - listed)}"
