"""The cost guard in the graph: a resource monitor caps the POC warehouse (issue 12)."""

from __future__ import annotations

import pytest

from infra.wire_format import reveal
from local_stack.engine.program_runner import run_program
from tests.fake_cloud import FakeCloud
from tests.test_config import evaluate_with
from tests.test_program_graph import dev_stack

MONITOR = "snowflake:index/resourceMonitor:ResourceMonitor"
WAREHOUSE = "snowflake:index/warehouse:Warehouse"
NS = "ecommerce-analytics"


def test_monitor_notifies_then_suspends():
    monitor = reveal(dev_stack().one(MONITOR).outputs)
    assert monitor["name"] == "ECOMMERCE_DEV_WH_MONITOR"
    # docs/cost.md: the documented POC profile needs 19.2 credits on the warehouse, 64 % of 30.
    assert monitor["creditQuota"] == 30, "Pulumi.yaml's default quota is 30 credits a month"
    assert monitor["notifyTriggers"] == [75, 90]
    assert monitor["suspendTrigger"] == 100
    assert "frequency" not in monitor and "startTimestamp" not in monitor, "Snowflake's default: calendar month"


def test_warehouse_is_attached_to_the_monitor():
    run = dev_stack()
    warehouse = run.one(WAREHOUSE)
    assert reveal(warehouse.inputs)["resourceMonitor"] == "ECOMMERCE_DEV_WH_MONITOR"
    assert run.one(MONITOR).urn in warehouse.dependencies, "the monitor must exist before the warehouse names it"
    assert run.exports["resource_monitor"] == "ECOMMERCE_DEV_WH_MONITOR"


def test_quota_comes_from_config():
    run = run_program(
        FakeCloud(), "dev", overrides={f"{NS}:monthlyCreditQuota": "50", f"{NS}:iamPropagationSeconds": "0"}
    )
    assert reveal(run.one(MONITOR).outputs)["creditQuota"] == 50


@pytest.mark.parametrize("value", ["0", "lots"])
def test_bad_quota_stops_before_any_resource(value):
    message, created = evaluate_with(**{f"{NS}:monthlyCreditQuota": value})
    assert "monthlyCreditQuota: must be a whole number from 1 to 1000000" in message
    assert created == []


def test_bad_email_stops_before_any_resource():
    message, created = evaluate_with(**{f"{NS}:errorNotificationEmail": "oncall at example"})
    assert "errorNotificationEmail: 'oncall at example' is not an email address" in message
    assert created == []
