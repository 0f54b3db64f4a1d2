"""The local deploy target and stack lifecycle, on the real emulators."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import boto3
import pulumi
import pytest
import requests
import snowflake.connector

from infra.reference_data import SEED_FILES
from local_stack import stack
from local_stack.account.context import LocalContext
from local_stack.emulators import snowflake_server
from local_stack.engine.program_runner import run_program
from local_stack.engine.target import LocalCloud
from local_stack.errors import LocalDeployError, LocalStackError
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes
from local_stack.services import state as local_state
from tests.fake_cloud import FakeCloud

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(user_stack):
    """The session's `SUPERSET=0 make local-up` stack (tests/e2e/conftest.py): these tests only read it."""
    return user_stack


def _aws(endpoints, service):
    return local_endpoints.aws_client(endpoints, service)


def _snowflake(endpoints):
    return local_endpoints.connect_snowflake(endpoints)


def test_local_deploy_creates_every_resource_the_program_declares(running):
    state, _ = running
    created = {(r["type"], r["name"]) for r in json.loads((state / "deploy.json").read_text())["resources"]}
    declared = {
        (r.type, r.name)
        for r in run_program(FakeCloud(), "local").registrations.values()
        if r.custom and not r.type.startswith("pulumi:providers:")
    }
    assert declared - created == set(), f"declared but not created locally: {sorted(declared - created)}"


def test_endpoints_file_tells_where_the_running_stack_listens(running):
    """The file's values are checked against Pulumi.local.yaml's literals and against the running
    emulators, with plain clients (not the helpers that read the file)."""
    state, _ = running
    path = state / "endpoints.json"
    on_disk = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "endpoints.json may hold the local Superset login"
    assert (on_disk["region"], on_disk["bucket"], on_disk["events_prefix"]) == (
        "us-east-1",
        "ecommerce-raw-events-local",
        "events/",
    ), "region, bucketName and eventsPrefix of Pulumi.local.yaml"
    s3 = boto3.client(
        "s3",
        endpoint_url=on_disk["s3_endpoint_url"],
        region_name=on_disk["region"],
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )
    assert s3.head_bucket(Bucket=on_disk["bucket"])["ResponseMetadata"]["HTTPStatusCode"] == 200
    sf = on_disk["snowflake"]
    expected = ("127.0.0.1", "http", "ECOMMERCE_POC", "ANALYTICS")
    assert (sf["host"], sf["protocol"], sf["database"], sf["schema"]) == expected
    with snowflake.connector.connect(
        host=sf["host"], port=sf["port"], protocol=sf["protocol"], user="any", password="any", account="any"
    ) as connection:
        query = f"SELECT COUNT(*) FROM {sf['database']}.{sf['schema']}.PRODUCTS"
        (products,) = connection.cursor().execute(query).fetchone()
    assert products == 43, "reference_data/products.csv has 43 products"


def test_the_stack_s_snowflake_cannot_be_emptied_by_a_request(running):
    """The reset the strict-target tests use is off on a stack `make local-up` starts."""
    _, endpoints = running
    reset = f"http://127.0.0.1:{endpoints.snowflake.port}{snowflake_server.RESET_PATH}"
    assert requests.post(reset, json={"state_dir": "/tmp/elsewhere"}, timeout=30).status_code == 404


def test_bucket_settings_and_notification_are_real_in_moto(running):
    _, endpoints = running
    s3 = _aws(endpoints, "s3")
    bucket = endpoints.bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()), f"public access block not fully on: {block}"
    (queue,) = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    (pipe,) = local_state.read_pipes(running[0])
    assert queue["QueueArn"] == pipe.queue_arn, "the program's notification must route to the pipe's queue"
    rules = queue["Filter"]["Key"]["FilterRules"]
    assert {"Name": "Prefix", "Value": endpoints.events_prefix} in rules or {
        "Name": "prefix",
        "Value": endpoints.events_prefix,
    } in rules


def test_role_trusts_the_integration_user_in_moto(running):
    state, endpoints = running
    recorded = json.loads((state / "snowflake_objects.json").read_text())
    integration = next(r["inputs"] for r in recorded if r["type"].endswith("StorageIntegrationAws"))
    role = _aws(endpoints, "iam").get_role(RoleName=integration["roleArn"].rsplit("/", 1)[-1])["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    statement = trust["Statement"][0]
    assert statement["Principal"]["AWS"] == integration["iamUserArn"]
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == integration["externalId"]


def test_tables_view_and_reference_data_exist_in_fakesnow(running):
    _, endpoints = running
    with _snowflake(endpoints) as connection:
        cursor = connection.cursor()
        for seed in SEED_FILES:
            expected = sum(1 for _ in seed.path.open(encoding="utf-8")) - 1
            (count,) = cursor.execute(f"SELECT COUNT(*) FROM {seed.table}").fetchone()
            assert count == expected, f"{seed.table} has {count} rows, {seed.path.name} has {expected}"
        cursor.execute("SELECT * FROM ENRICHED_EVENTS LIMIT 0")
        columns = {d[0] for d in cursor.description}
        contract = {
            "EVENT_ID", "EVENT_TYPE", "EVENT_TIMESTAMP", "CUSTOMER_ID", "CUSTOMER_NAME", "AGE_GROUP", "LOCATION",
            "PRODUCT_ID", "PRODUCT_NAME", "CATEGORY", "PRICE", "QUANTITY",
        }  # fmt: skip
        assert contract <= columns, f"ENRICHED_EVENTS lacks {sorted(contract - columns)}"


def test_taken_port_gives_a_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = stack.LocalStackSettings(state_dir=tmp_path, moto_port=port, superset=False)
        with pytest.raises(LocalStackError, match=rf"port {port} .* already in use.*MOTO_PORT"):
            stack.up(settings, progress=lambda _m: None)
    assert not processes.read_tracked(tmp_path), "a failed start must not leave processes behind"


def test_missing_emulator_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python-here"))
    with pytest.raises(LocalStackError, match=r"cannot start moto: .* not found\. Run `make setup`"):
        stack.up(stack.LocalStackSettings(state_dir=tmp_path, superset=False), progress=lambda _m: None)


def test_second_up_refuses_while_a_stack_runs(running):
    state, _ = running
    with pytest.raises(LocalStackError, match="already running"):
        stack.up(stack.LocalStackSettings(state_dir=state, superset=False), progress=lambda _m: None)


def test_unknown_resource_type_fails_naming_it(tmp_path):
    cloud = LocalCloud(LocalContext("http://127.0.0.1:1", "us-east-1", 1, Path(tmp_path)))
    args = pulumi.runtime.MockResourceArgs(
        typ="aws:ec2/instance:Instance", name="bastion", inputs={}, provider=None, resource_id=None, custom=True
    )
    with pytest.raises(LocalDeployError, match=r"aws:ec2/instance:Instance 'bastion': the local deploy has no handler"):
        cloud.new_resource(args)
