"""Every public name is exported from `osticket_client`, and only those."""

from __future__ import annotations

import osticket_client
from osticket_client import OsTicket, _api, _client, _config, _errors, _models, _output, _transport


def test_every_module_export_is_re_exported() -> None:
    for module in (_client, _config, _errors, _models, _output, _transport):
        missing = set(module.__all__) - set(osticket_client.__all__)
        assert not missing, f"{module.__name__} exports {missing} but the package does not"


def test_all_names_exist() -> None:
    for name in osticket_client.__all__:
        assert hasattr(osticket_client, name), name


def test_api_helpers_stay_private() -> None:
    assert not set(_api.__all__) & set(osticket_client.__all__)


def test_the_client_s_public_methods_are_its_own() -> None:
    # Inherited ones were documented (help, mypy messages) under a private class's name.
    inherited = {n for n in dir(OsTicket) if not n.startswith("_") and n not in vars(OsTicket)}
    assert not inherited
