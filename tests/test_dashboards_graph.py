"""The dashboards step in the graph: ordering, the URL it exports, and secrets that stay secret.

The program's own Superset import runs for real, against the stand-in of
tests/fake_superset.py: what the stack exports is what the provider computed.
"""

from __future__ import annotations

import json
import logging

import pytest
import yaml

from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun, run_program
from local_stack.stack import throwaway_key_pair
from tests.fake_cloud import SUPERSET_IMPORT, FakeCloud
from tests.fake_superset import FakeSuperset, serving

NS = "ecommerce-analytics"
SUPERSET_PASSWORD = "superset-admin-pw-8c1f"
# Pulumi's marker of a secret value on the wire (pulumi.runtime.rpc._special_secret_sig).
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
PASSPHRASE = "key-passphrase-77d2"


@pytest.fixture(scope="module")
def key_pair():
    public, private = throwaway_key_pair()
    return private, public


@pytest.fixture(scope="module")
def superset():
    # supersetUsername is left at its Pulumi.yaml default, admin.
    state = FakeSuperset(username="admin", password=SUPERSET_PASSWORD)
    with serving(state) as url:
        yield url, state


@pytest.fixture(scope="module")
def run(key_pair, superset) -> ProgramRun:
    private, public = key_pair
    url, _state = superset
    overrides = {
        f"{NS}:iamPropagationSeconds": "0",
        # With a trailing slash, as people paste it: the program must not double it.
        f"{NS}:supersetUrl": f"{url}/",
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
    for dependency in (*run.of_type("snowflake:index/view:View"), run.one("snowflake:index/serviceUser:ServiceUser")):
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


def test_the_deployed_dashboard_refreshes_at_the_stacks_interval(run):
    # Pulumi.yaml's dashboardRefreshSeconds (600), not the asset's 10 s: the cost model's choice (docs/cost.md).
    files = reveal(run.one(SUPERSET_IMPORT).inputs)["asset_files"]
    (dashboard,) = [yaml.safe_load(text) for path, text in files.items() if path.startswith("dashboards/")]
    assert dashboard["metadata"]["refresh_frequency"] == 600


def _is_secret(value) -> bool:
    return isinstance(value, dict) and value.get("4dabf18193072939515e22adb298388d") == SECRET_SIGNATURE


def _plain_parts(value):
    """The value with only its secret-wrapped parts blanked out: what state shows in plain text."""
    if _is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _plain_parts(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_parts(v) for v in value]
    return value


def test_secrets_are_secret_inputs_and_never_plain_outputs(run, key_pair):
    """Every input and output of every resource is scanned, the import's own fields included."""
    private, _ = key_pair
    inputs = run.one(SUPERSET_IMPORT).inputs
    for key in ("superset_password", "private_key", "private_key_passphrase"):
        assert _is_secret(inputs[key]), f"{key} reached the import as plain text, not a secret"
        assert reveal(inputs[key]), f"{key} did not reach the import"
    body = private.strip().splitlines()[1]
    exported = json.dumps(reveal(run.exports), default=str)
    for secret in (SUPERSET_PASSWORD, PASSPHRASE, body):
        assert secret not in exported, "a secret appears in the stack's exports"
    for registration in run.registrations.values():
        for kind, values in (("input", registration.inputs), ("output", registration.outputs)):
            for name, value in values.items():
                text = json.dumps(_plain_parts(value), default=str)
                for secret in (SUPERSET_PASSWORD, PASSPHRASE, body):
                    assert secret not in text, f"{registration.name} {kind} {name} holds a secret in plain text"


def test_dashboard_url_is_the_imported_dashboards_page(run, superset):
    """Computed by the program's import against the stand-in: supersetUrl (its trailing slash
    dropped) + the slug of superset_assets/dashboards/ecommerce_live.yaml."""
    url, state = superset
    assert len(state.imports) == 1, f"the deploy must import once, Superset received {len(state.imports)}"
    assert state.dashboard_slugs == {"ecommerce-live"}
    assert run.exports["dashboard_url"] == f"{url}/superset/dashboard/ecommerce-live/"


def test_stack_without_superset_leaves_the_step_out_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        plain = run_program(FakeCloud(), "dev", overrides={f"{NS}:iamPropagationSeconds": "0"})
    assert not plain.of_type(SUPERSET_IMPORT), "without supersetUrl there must be no import step"
    assert "dashboard_url" not in plain.exports
    assert any("supersetUrl is not set" in r.getMessage() for r in caplog.records), (
        "leaving the dashboards out must be visible as a warning"
    )
