"""The dashboards step in the graph: ordering, and secrets that stay secret."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local_stack.dynamic_resources import reveal
from local_stack.program_runner import ProgramRun, run_program
from tests.fake_cloud import SUPERSET_IMPORT, FakeCloud

NS = "ecommerce-analytics"
SUPERSET_PASSWORD = "superset-admin-pw-8c1f"
PASSPHRASE = "key-passphrase-77d2"


@pytest.fixture(scope="module")
def key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def run(key_pair) -> ProgramRun:
    private, public = key_pair
    overrides = {
        f"{NS}:iamPropagationSeconds": "0",
        f"{NS}:supersetUrl": "https://superset.example.com",
        f"{NS}:supersetPassword": SUPERSET_PASSWORD,
        f"{NS}:snowflakeAccount": "MYORG-MYACCOUNT",
        f"{NS}:dashboardUserPublicKey": public,
        f"{NS}:dashboardUserPrivateKey": private,
        f"{NS}:dashboardUserPrivateKeyPassphrase": PASSPHRASE,
    }
    secrets = (f"{NS}:supersetPassword", f"{NS}:dashboardUserPrivateKey", f"{NS}:dashboardUserPrivateKeyPassphrase")
    return run_program(FakeCloud(), "dev", overrides=overrides, secret_keys=secrets)


def test_import_waits_for_the_view_and_the_dashboard_user(run):
    hook = run.one(SUPERSET_IMPORT)
    views = run.of_type("snowflake:index/view:View")  # ENRICHED_EVENTS and PIPE_LOAD_HISTORY
    for dependency in (*views, run.one("snowflake:index/serviceUser:ServiceUser")):
        assert dependency.urn in hook.dependencies, f"the Superset import must wait for {dependency.name}"
    grant_urns = {
        r.urn for r in run.of_type("snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole")
    }
    assert grant_urns <= hook.dependencies, "the import must wait until the dashboard role may read the view"


def test_connection_is_this_stacks_dashboard_user(run):
    connection = reveal(run.one(SUPERSET_IMPORT).inputs)["connection"]
    assert connection["user"] == run.exports["dashboard_user"]
    assert connection["role"] == run.exports["dashboard_role"]
    assert (connection["database"], connection["schema"]) == (run.exports["database"], run.exports["schema"])
    assert connection["account"] == "MYORG-MYACCOUNT"
    assert "host" not in connection, "a cloud stack connects to the account's own host"


def test_secrets_are_secret_inputs_and_never_plain_outputs(run, key_pair):
    private, _ = key_pair
    inputs = run.one(SUPERSET_IMPORT).inputs
    for key in ("superset_password", "private_key", "private_key_passphrase"):
        assert reveal(inputs[key]) is not None, f"{key} did not reach the import"
        assert inputs[key] != reveal(inputs[key]), f"{key} reached the import as plain text, not a secret"
    body = private.strip().splitlines()[1]
    exported = json.dumps(reveal(run.exports), default=str)
    for secret in (SUPERSET_PASSWORD, PASSPHRASE, body):
        assert secret not in exported, "a secret appears in the stack's exports"
    for registration in run.registrations.values():
        for name, value in registration.outputs.items():
            if value == reveal(value) and name not in ("superset_password", "private_key", "private_key_passphrase"):
                text = json.dumps(value, default=str)
                for secret in (SUPERSET_PASSWORD, PASSPHRASE, body):
                    assert secret not in text, f"{registration.name}.{name} holds a secret in plain text"


def test_dashboard_url_is_exported(run):
    assert run.exports["dashboard_url"].startswith("https://superset.example.com/superset/dashboard/")


def test_stack_without_superset_leaves_the_step_out_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        plain = run_program(FakeCloud(), "dev", overrides={f"{NS}:iamPropagationSeconds": "0"})
    assert not plain.of_type(SUPERSET_IMPORT), "without supersetUrl there must be no import step"
    assert "dashboard_url" not in plain.exports
    assert any("supersetUrl is not set" in r.getMessage() for r in caplog.records), (
        "leaving the dashboards out must be visible as a warning"
    )
