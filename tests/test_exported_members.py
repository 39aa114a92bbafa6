"""Every public name is exported from `osticket_client`, and only those."""

from __future__ import annotations

import osticket_client
from osticket_client import _api, _client, _config, _errors, _models, _transport


def test_every_module_export_is_re_exported() -> None:
    for module in (_client, _config, _errors, _models, _transport):
        missing = set(module.__all__) - set(osticket_client.__all__)
        assert not missing, f"{module.__name__} exports {missing} but the package does not"


def test_all_names_exist() -> None:
    for name in osticket_client.__all__:
        assert hasattr(osticket_client, name), name


def test_api_helpers_stay_private() -> None:
    assert not set(_api.__all__) & set(osticket_client.__all__)
