"""The conversion task's compute, as the cost model chose it (docs/cost.md), in the Pulumi graph (mock runtime)."""

from __future__ import annotations

import pytest

from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun, run_program
from tests.fake_cloud import FakeCloud
from tests.test_program_graph import dev_stack

TASK = "snowflake:index/task:Task"
NS = "ecommerce-analytics"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return dev_stack()


def test_the_task_is_serverless_on_xsmall_with_its_spend_capped(run):
    task = reveal(run.one(TASK).outputs)
    assert not task.get("warehouse"), "a task that names a warehouse is not serverless (CREATE TASK docs)"
    # MEDIUM is Snowflake's default first size and XXLARGE its default ceiling: 4x and 32x the credits.
    assert task["userTaskManagedInitialWarehouseSize"] == "XSMALL"
    assert task["serverlessTaskMaxStatementSize"] == "XSMALL"
    # No resource monitor governs serverless compute: the timeout and the failure stop are its cap.
    assert task["userTaskTimeoutMs"] == 60_000
    assert task["suspendTaskAfterNumFailures"] == 2
    assert task["schedule"] == {"minutes": 15}


def test_warehouse_compute_runs_the_task_on_the_poc_warehouse_under_its_monitor():
    run = run_program(
        FakeCloud(),
        "dev",
        overrides={f"{NS}:transformationCompute": "warehouse", f"{NS}:transformationScheduleMinutes": "60"},
    )
    task = reveal(run.one(TASK).outputs)
    assert task["warehouse"] == run.exports["warehouse"]
    assert task["schedule"] == {"minutes": 60}
    assert "serverlessTaskMaxStatementSize" not in task
