"""The deployed program on the strict local target (emulators with a real account's rules): first up, second up,
a failed up, destroy.

These run the real program on moto + fakesnow with the rules of a real
account on (local_stack/account/snowflake_account.py). The first two tests deploy
the provider wiring this project had before (one provider whose default
warehouse is the POC warehouse) and show the local target refusing it the way
a real account does.
"""

from __future__ import annotations

import gzip
import json

import pulumi.runtime
import pulumi_snowflake as snowflake
import pytest
import requests
from snowflake.connector import errors as connector_errors

import infra.snowflake_provider
from local_stack import stack
from local_stack.emulators import snowflake_server
from local_stack.emulators.credit_meter import read_state
from local_stack.engine import drift, target
from local_stack.engine.destroy import LocalDestroyError
from local_stack.errors import LocalDeployError, LocalStackError
from local_stack.harness import start_worker, stop_worker
from local_stack.services import endpoints as local_endpoints
from local_stack.services import state as local_state
from local_stack.services.checkpoint import DeployState
from local_stack.services.processes import wait_for
from tests.e2e.strict_target import Emulators, edit_account, snowflake_resources

pytestmark = pytest.mark.e2e


def _old_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider as infra/snowflake_provider.py declared it before: one provider, the POC warehouse as default."""
    # One provider per evaluation of the program (the deploy evaluates it twice: the policy dry run, then for real).
    providers: list[tuple[object, snowflake.Provider]] = []

    def single_provider(role: str, warehouse_id=None) -> snowflake.Provider:
        run = pulumi.runtime.get_root_resource()
        for root, provider in providers:
            if root is run:
                return provider
        provider = snowflake.Provider(
            "snowflake",
            role=role,
            warehouse="ECOMMERCE_POC_WH",
            preview_features_enabled=list(infra.snowflake_provider.PREVIEW_FEATURES),
        )
        providers.append((run, provider))
        return provider

    monkeypatch.setattr(infra.snowflake_provider, "admin_provider", single_provider)
    monkeypatch.setattr(infra.snowflake_provider, "warehouse_session_provider", single_provider)


def test_old_provider_wiring_fails_the_first_up_as_a_real_account_does(emulators, monkeypatch):
    _old_wiring(monkeypatch)
    with pytest.raises(LocalDeployError, match=r"The requested warehouse does not exist or not authorized"):
        emulators.deploy()
    assert snowflake_resources(emulators.state_dir) == [], "a refused login creates nothing in Snowflake"


def test_old_provider_wiring_strands_destroy_once_the_warehouse_is_gone(emulators, monkeypatch):
    """The only way the old wiring ever deployed: the warehouse existed before the first `up` (made by hand)."""
    _old_wiring(monkeypatch)
    edit_account(emulators.state_dir, lambda account: account.add("WAREHOUSE", "ECOMMERCE_POC_WH"))
    emulators.write_endpoints(emulators.deploy())
    with pytest.raises(LocalDestroyError, match=r"The requested warehouse does not exist or not authorized") as err:
        stack.destroy(emulators.state_dir, progress=lambda _m: None)
    left = snowflake_resources(emulators.state_dir)
    assert "snowflake:index/database:Database analytics-database" in left, (
        f"destroy must strand with objects left that no provider can reach any more: {err.value}"
    )
    assert "snowflake:index/warehouse:Warehouse analytics-warehouse" not in left


def test_seeds_without_a_warehouse_session_are_refused(emulators, monkeypatch):
    """Two layers: the policy gate refuses the views and the procedure before anything exists; past the gate, the
    strict target refuses the first statement that needs a warehouse (the seeds' INSERT, 000606)."""

    def without_warehouse(role: str, warehouse_id=None) -> snowflake.Provider:
        return snowflake.Provider("snowflake-warehouse-session", role=role)

    monkeypatch.setattr(infra.snowflake_provider, "warehouse_session_provider", without_warehouse)
    with pytest.raises(LocalStackError, match=r"required-warehouse-in-session.*ProcedurePython"):
        emulators.deploy()
    assert snowflake_resources(emulators.state_dir) == [], "the policy gate refuses before anything is created"
    monkeypatch.setattr(stack, "check_policies", lambda *_args: [])
    with pytest.raises(LocalDeployError, match=r"000606 .*No active warehouse selected"):
        emulators.deploy()


def test_an_unquoted_reference_to_a_lower_case_name_does_not_resolve(emulators, monkeypatch):
    """The provider creates "events_stage" exactly; the COPY's unquoted @...events_stage folds to EVENTS_STAGE."""
    monkeypatch.setattr("infra.events_ingestion.STAGE_NAME", "events_stage")
    with pytest.raises(LocalDeployError, match=r'Stage "ECOMMERCE_POC"."ANALYTICS"."EVENTS_STAGE" does not exist'):
        emulators.deploy()


def test_a_second_up_changes_nothing_and_reads_back_as_declared(emulators):
    first = emulators.deploy()
    emulators.write_endpoints(first)
    second = emulators.deploy()  # the same stack config, as `pulumi up` of the same stack
    assert second.created == [], f"a second up of an unchanged program must create nothing: {second.created}"
    changed = {
        urn: (first.declared[urn], second.declared.get(urn))
        for urn in first.declared
        if target.canonical(first.declared[urn]) != target.canonical(second.declared.get(urn))
    }
    assert changed == {}, f"declared inputs differ between two runs (timestamps, random values, ordering?): {changed}"
    assert len(second.unchanged) == len([u for u in first.declared if "pulumi:providers" not in u])

    differences, gaps = drift.stack_differences(emulators.state_dir)
    assert differences == [], f"objects read back differ from their declaration: {differences}"
    assert any("ENRICHED_EVENTS" in g or "enriched-events-view" in g for g in gaps), gaps


def test_an_up_after_a_failed_up_creates_only_what_is_missing(emulators, monkeypatch):
    create_pipe = target.HANDLERS["snowflake:index/pipe:Pipe"]

    def fail(ctx, name, inputs):
        # Only the file pipe: with ingestion `both` the streaming pipe is a Pipe too.
        if name == "ingestion-pipe":
            raise RuntimeError("injected: the pipe's create failed")
        return create_pipe(ctx, name, inputs)

    monkeypatch.setitem(target.HANDLERS, "snowflake:index/pipe:Pipe", fail)
    with pytest.raises(LocalDeployError, match=r"injected"):
        emulators.deploy()
    made_before = set(DeployState.load(emulators.state_dir).resources)
    assert any("Table" in urn for urn in made_before), "the failed up had created the tables"

    monkeypatch.undo()
    again = emulators.deploy()
    created = {urn.rsplit("::", 1)[-1] for urn in again.created}
    assert "ingestion-pipe" in created and "ingestion-notification" in created
    assert not created & {urn.rsplit("::", 1)[-1] for urn in made_before}, "nothing is created twice"
    assert [p.name for p in local_state.read_pipes(emulators.state_dir)] == ["ECOMMERCE_EVENTS_PIPE"]


def _load_one_file(emulators: Emulators, found: local_state.Endpoints) -> int:
    s3 = local_endpoints.aws_client(found, "s3")
    lines = [
        json.dumps(
            {
                "event_id": f"e{i}",
                "event_type": "view",
                "event_timestamp": "2026-11-30T10:00:00Z",
                "customer_id": 1,
                "product_id": 1,
                "quantity": 1,
            }
        )
        for i in range(5)
    ]
    s3.put_object(
        Bucket=found.bucket,
        Key=f"{found.events_prefix}a.ndjson.gz",
        Body=gzip.compress("\n".join(lines).encode()),
    )
    start_worker(emulators.state_dir)
    try:
        connection = local_endpoints.connect_snowflake(found)

        def loaded() -> int:
            return connection.cursor().execute("SELECT COUNT(*) FROM ECOMMERCE_EVENTS").fetchone()[0]

        return wait_for(lambda: loaded() == 5 and 5, timeout=60, what="5 events loaded")
    finally:
        stop_worker(emulators.state_dir)


def test_destroy_deletes_everything_and_a_second_destroy_does_nothing(emulators):
    found = emulators.write_endpoints(emulators.deploy())
    assert _load_one_file(emulators, found) == 5
    deleted = stack.destroy(emulators.state_dir, progress=lambda _m: None)
    assert len(deleted) > 25
    assert DeployState.load(emulators.state_dir).resources == {}
    s3, iam, sqs = (local_endpoints.aws_client(found, s) for s in ("s3", "iam", "sqs"))
    assert s3.list_buckets()["Buckets"] == [], "forceDestroy true (Pulumi.local.yaml): the bucket goes too"
    assert iam.list_roles()["Roles"] == [] and iam.list_users()["Users"] == []
    assert sqs.list_queues().get("QueueUrls", []) == [], "the pipe's queue is dropped with the pipe"
    connection = local_endpoints.connect_snowflake(found, database="ECOMMERCE_POC", schema="INFORMATION_SCHEMA")
    cursor = connection.cursor()
    assert cursor.execute("SHOW STAGES IN DATABASE ECOMMERCE_POC").fetchall() == []
    schemas = {row[0] for row in cursor.execute("SELECT schema_name FROM ECOMMERCE_POC.INFORMATION_SCHEMA.SCHEMATA")}
    assert "ANALYTICS" not in schemas, "the schema with its tables, view and data is gone"
    assert stack.destroy(emulators.state_dir, progress=lambda _m: None) == [], "a second destroy finds nothing"


def test_destroy_keeps_a_non_empty_bucket_when_force_destroy_is_false(emulators):
    found = emulators.write_endpoints(emulators.deploy({"ecommerce-analytics:forceDestroy": "false"}))
    _load_one_file(emulators, found)
    with pytest.raises(LocalDestroyError, match=r"BucketNotEmpty"):
        stack.destroy(emulators.state_dir, progress=lambda _m: None)
    left = [r for r in DeployState.load(emulators.state_dir).resources.values() if r.custom]
    assert [r.type for r in left] == ["aws:s3/bucket:Bucket"], [f"{r.type} {r.name}" for r in left]
    s3 = local_endpoints.aws_client(found, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=found.bucket)["Contents"]]
    assert keys == ["events/a.ndjson.gz"], "the raw event file survives"


def test_a_reset_leaves_nothing_of_the_stack_before(snowflake_port, tmp_path):
    """The module's fakesnow, reset between tests: no session, database, describe answer or meter carries over."""
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    reset_url = f"http://127.0.0.1:{snowflake_port}{snowflake_server.RESET_PATH}"
    requests.post(reset_url, json={"state_dir": str(before)}, timeout=30).raise_for_status()
    old = local_endpoints.connect_local_snowflake(snowflake_port, network_timeout=15)
    cursor = old.cursor()
    cursor.execute("CREATE DATABASE LEFT_BEHIND")
    cursor.execute("CREATE SCHEMA LEFT_BEHIND.S")
    cursor.execute("CREATE TABLE LEFT_BEHIND.S.T (A INT)")
    cursor.execute("SELECT * FROM LEFT_BEHIND.S.T")  # its describe answer is cached now
    assert read_state(before) is not None

    requests.post(reset_url, json={"state_dir": str(after)}, timeout=30).raise_for_status()
    with pytest.raises(connector_errors.HttpError, match="401 Unauthorized"):
        cursor.execute("SELECT 1")  # the session is gone, as after a restart
    old.close()
    new = local_endpoints.connect_local_snowflake(snowflake_port).cursor()
    assert new.execute("SHOW DATABASES LIKE 'LEFT_BEHIND'").fetchall() == []
    with pytest.raises(connector_errors.ProgrammingError, match="LEFT_BEHIND"):
        new.execute("SELECT * FROM LEFT_BEHIND.S.T")
    assert read_state(after) is not None, "the meter serves the new stack's state dir"
