"""The local Superset's per-stack home (emulators/superset_server.py): a fresh copy of the template."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from local_stack.emulators import superset_server


@pytest.fixture
def template(tmp_path, monkeypatch) -> Path:
    home = tmp_path / ".local" / "superset-home"
    (home / "logs").mkdir(parents=True)
    (home / "credentials.json").write_text('{"username": "admin"}')
    (home / "superset_config.py").write_text("# config\n")
    (home / "superset.db").write_bytes(b"bootstrapped metadata")
    (home / "logs" / "bootstrap.log").write_text("long log")
    monkeypatch.setattr(superset_server, "HOME_DIR", home)
    return home


def test_each_start_gets_a_fresh_copy_of_the_template(template, tmp_path):
    state = tmp_path / "stack-state"
    home = superset_server._stack_home(state)
    assert home.parent == state, "the stack's Superset metadata must live in its state dir"
    assert {p.name for p in home.iterdir()} == {"credentials.json", "superset_config.py", "superset.db"}
    (home / "superset.db").write_bytes(b"dashboards imported by this stack")
    again = superset_server._stack_home(state)
    assert (again / "superset.db").read_bytes() == b"bootstrapped metadata", "a new stack starts from the template"
    assert (template / "superset.db").read_bytes() == b"bootstrapped metadata", "the template is never written"


def test_the_default_state_dir_does_not_overwrite_the_template(template):
    """The default state dir is .local, the template's own parent."""
    home = superset_server._stack_home(template.parent)
    assert home != template
    assert (template / "superset.db").read_bytes() == b"bootstrapped metadata"
    assert (home / "credentials.json").read_text() == '{"username": "admin"}'


def test_the_generated_config_loads_the_dashboard_key_once_and_the_connector_signs_with_it(tmp_path):
    """Superset's key parse runs once per key; the connector gets the loaded key, and its JWT verifies."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from snowflake.connector.auth import AuthByKeyPair

    from local_stack.stack import throwaway_key_pair

    (tmp_path / "credentials.json").write_text('{"secret_key": "local"}')
    (tmp_path / "superset_config.py").write_text(superset_server._CONFIG_TEMPLATE)
    config = runpy.run_path(str(tmp_path / "superset_config.py"))
    public, private = throwaway_key_pair()
    parses = []

    def superset_parse(database, params):  # what SnowflakeEngineSpec does: the PEM key, as DER bytes
        parses.append(database.encrypted_extra)
        key = serialization.load_pem_private_key(private.encode(), password=None)
        params.setdefault("connect_args", {})["private_key"] = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    update = config["_key_loaded_once"](superset_parse)
    database = SimpleNamespace(encrypted_extra='{"auth_method": "keypair"}')
    first, second = {}, {"connect_args": {"application": "Superset"}}
    update(database, first)
    update(database, second)
    assert parses == [database.encrypted_extra], "one parse per key text"
    key = first["connect_args"]["private_key"]
    assert isinstance(key, RSAPrivateKey), f"the connector must get the loaded key, not {type(key).__name__}"
    assert second["connect_args"] == {"application": "Superset", "private_key": key}

    token = AuthByKeyPair(private_key=key).prepare(account="LOCAL", user="ECOMMERCE_POC_DASHBOARD")
    claims = jwt.decode(token, public, algorithms=["RS256"])
    assert claims["sub"] == "LOCAL.ECOMMERCE_POC_DASHBOARD"
