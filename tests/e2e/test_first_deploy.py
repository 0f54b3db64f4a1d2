"""What a user meets on a real account, on the strict local target: a fresh stack's preview, refresh, the
least-privileged role, and destroy after the resource monitor suspended the warehouse."""

from __future__ import annotations

import pytest

from infra import event_tables
from infra.analytics_database import AnalyticsDatabase
from local_stack import stack
from local_stack.account.snowflake_account import ACCOUNTADMIN
from local_stack.errors import LocalDeployError
from local_stack.services import state as local_state
from local_stack.services.checkpoint import DeployState
from tests.e2e.strict_target import edit_account, snowflake_resources

pytestmark = pytest.mark.e2e

NS = "ecommerce-analytics"
DEPLOYER = "POC_DEPLOYER"
ADMIN_WAREHOUSE = "POC_ADMIN_WH"
ADMIN_MONITOR = "POC_ADMIN_MONITOR"
# The README's least-privileged role, exactly (Real deployment, prerequisites, step 3).
README_PRIVILEGES = (
    "CREATE INTEGRATION",
    "CREATE DATABASE",
    "CREATE ROLE",
    "CREATE USER",
    "MANAGE GRANTS",
    "EXECUTE TASK",
    "EXECUTE MANAGED TASK",
)


def test_a_fresh_stack_previews_without_logging_in_to_what_it_creates(emulators):
    plan = emulators.preview()
    assert plan.configured == ["snowflake"], "only the admin provider, whose role exists already, logs in"
    assert plan.not_configured == ["snowflake-warehouse-session"], (
        "its warehouse is the warehouse's id, unknown until the warehouse exists"
    )
    assert {s.op for s in plan.steps} == {"create"} and len(plan.steps) > 40
    assert snowflake_resources(emulators.state_dir) == [], "a preview creates nothing"


def test_the_warehouse_name_as_the_session_default_fails_a_fresh_preview(emulators, monkeypatch):
    """The wiring before: a to-be-created warehouse's name is known in the preview, so the engine logs in."""
    built = AnalyticsDatabase.__init__

    def name_wiring(self, *args, **kwargs):
        built(self, *args, **kwargs)
        self.warehouse_id = self.warehouse

    monkeypatch.setattr(AnalyticsDatabase, "__init__", name_wiring)
    with pytest.raises(LocalDeployError, match=r"preview failed.*The requested warehouse does not exist"):
        emulators.deploy()
    assert snowflake_resources(emulators.state_dir) == []


def test_preview_after_up_shows_no_changes_then_the_change_made(emulators):
    emulators.deploy()
    assert emulators.preview().changes == []
    changed = emulators.preview({f"{NS}:monthlyCreditQuota": "20"}).changes
    assert [(s.op, s.name, s.changed) for s in changed] == [("update", "cost-guard-monitor", ("creditQuota",))]
    moved = emulators.preview({f"{NS}:snowflakeSchema": "OTHER"})
    replaced = {s.name for s in moved.of("replace")}
    assert {"tables-ecommerce_events", "ingestion-pipe"} <= replaced, "schema is ForceNew for tables and pipes"


def test_refresh_then_preview_is_a_no_op(emulators):
    emulators.write_endpoints(emulators.deploy())
    assert stack.refresh(emulators.state_dir) == []
    assert emulators.preview().changes == []


def test_without_the_declaration_refresh_reads_the_stream_s_change_tracking_and_up_would_alter_it(
    emulators, monkeypatch
):
    monkeypatch.setattr(event_tables, "STREAM_SOURCES", frozenset())
    emulators.write_endpoints(emulators.deploy())
    assert stack.refresh(emulators.state_dir) == ["tables-ecommerce_events: changeTracking False -> True"]
    steps = emulators.preview().changes
    assert [(s.op, s.name, s.changed) for s in steps] == [("update", "tables-ecommerce_events", ("changeTracking",))]


def _least_privileged_account(emulators, privileges=README_PRIVILEGES) -> None:
    def prepare(account):
        account.add("ROLE", DEPLOYER)
        account.grant(DEPLOYER, *privileges)
        # What an ACCOUNTADMIN runs once (README): the warehouse, its monitor, and the grants to the deployer.
        account.add("RESOURCE MONITOR", ADMIN_MONITOR)
        account.add("WAREHOUSE", ADMIN_WAREHOUSE)
        account.grant(ACCOUNTADMIN, f"OWNERSHIP ON WAREHOUSE {ADMIN_WAREHOUSE}")
        account.grant(DEPLOYER, f"USAGE ON WAREHOUSE {ADMIN_WAREHOUSE}", f"OPERATE ON WAREHOUSE {ADMIN_WAREHOUSE}")

    edit_account(emulators.state_dir, prepare)


LEAST_PRIVILEGED = {f"{NS}:snowflakeAdminRole": DEPLOYER, f"{NS}:existingWarehouse": ADMIN_WAREHOUSE}


def test_the_least_privileged_role_deploys_and_destroys(emulators):
    _least_privileged_account(emulators)
    found = emulators.write_endpoints(emulators.deploy(LEAST_PRIVILEGED))
    assert found.snowflake.database == "ECOMMERCE_POC"
    state = DeployState.load(emulators.state_dir)
    kinds = {r.type.rsplit(":", 1)[-1] for r in state.resources.values()}
    assert "ResourceMonitor" not in kinds, "the stack creates no monitor: the ACCOUNTADMIN's caps its warehouse"
    assert [r.name for r in state.resources.values() if r.external] == ["analytics-warehouse"]
    assert emulators.preview(LEAST_PRIVILEGED).changes == []

    stack.destroy(emulators.state_dir, progress=lambda _m: None)
    assert DeployState.load(emulators.state_dir).resources == {}
    account = stack_account(emulators)
    assert account.exists("WAREHOUSE", ADMIN_WAREHOUSE) and account.exists("RESOURCE MONITOR", ADMIN_MONITOR), (
        "destroy leaves the administrator's warehouse and monitor"
    )


def stack_account(emulators):
    from local_stack.engine.target import restore_context

    context = stack._deploy_context(emulators.state_dir, emulators.s3_endpoint, emulators.snowflake_port)
    restore_context(context)
    return context.account


def test_the_least_privileged_role_cannot_create_the_monitor(emulators):
    _least_privileged_account(emulators)
    with pytest.raises(LocalDeployError, match=r"Only account administrators create resource monitors"):
        emulators.deploy({f"{NS}:snowflakeAdminRole": DEPLOYER})


@pytest.mark.parametrize("privilege", ["EXECUTE TASK", "EXECUTE MANAGED TASK"])
def test_a_role_without_a_task_privilege_is_refused_at_the_task(emulators, privilege):
    _least_privileged_account(emulators, tuple(p for p in README_PRIVILEGES if p != privilege))
    with pytest.raises(LocalDeployError, match=rf"task CONVERSION_REFRESH_TASK.*Role POC_DEPLOYER lacks {privilege}:"):
        emulators.deploy(LEAST_PRIVILEGED)


def test_destroy_works_after_the_monitor_suspended_the_warehouse(emulators):
    emulators.write_endpoints(emulators.deploy())
    edit_account(
        emulators.state_dir, lambda a: a.suspended_by_monitor.update({"ECOMMERCE_POC_WH": "ECOMMERCE_POC_WH_MONITOR"})
    )
    stack.destroy(emulators.state_dir, progress=lambda _m: None)
    assert DeployState.load(emulators.state_dir).resources == {}
    assert local_state.read_pipes(emulators.state_dir) == []
