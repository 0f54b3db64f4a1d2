"""What a stack deploys that costs credits, read from the program itself.

The program runs once in the SDK's mock runtime (no cloud, no emulator) with
the stack's config, Pulumi.yaml defaults first, as `pulumi preview` would
evaluate it: the warehouse, its monitor and the task are read from the graph,
so the model prices what `pulumi up` would create, and a bad config value
stops here with infra/config.py's own message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.superset_bundle import ASSETS_DIR

WAREHOUSE = "snowflake:index/warehouse:Warehouse"
MONITOR = "snowflake:index/resourceMonitor:ResourceMonitor"
TASK = "snowflake:index/task:Task"
NAMESPACE = "ecommerce-analytics"


class StackCostError(ValueError):
    """The stack cannot be priced from its program; the message says why and what to do."""


@dataclass(frozen=True)
class StackCost:
    stack: str
    warehouse: str
    warehouse_size: str
    auto_suspend_seconds: int
    monitor: str
    monthly_quota: float
    task_serverless: bool
    task_size: str
    task_schedule_minutes: int
    task_timeout_seconds: float
    refresh_seconds: int
    """The live dashboard's refresh interval (config dashboardRefreshSeconds)."""
    dashboard_charts: int
    """Charts on it: statements per refresh."""


def dashboard_charts(assets_dir: Path = ASSETS_DIR) -> int:
    """Charts on the live dashboard asset: the statements of one refresh."""
    (path,) = sorted((assets_dir / "dashboards").glob("*.yaml"))
    return sum(1 for key in yaml.safe_load(path.read_text())["position"] if key.startswith("CHART-"))


def read_stack(stack: str) -> StackCost:
    """Evaluates the program for `stack`; raises infra.config.ConfigError or StackConfigError on bad config."""
    from local_stack.account.dynamic_resources import reveal
    from local_stack.engine.planned_cloud import PlannedCloud
    from local_stack.engine.program_runner import run_program

    # Waiting for IAM changes nothing that costs credits.
    run = run_program(PlannedCloud(), stack, overrides={f"{NAMESPACE}:iamPropagationSeconds": "0"})
    existing = run.config.get(f"{NAMESPACE}:existingWarehouse")
    if existing:
        raise StackCostError(
            f"stack {stack!r} uses existingWarehouse {existing}: its size, auto-suspend and monitor belong to the "
            "administrator who made it, not to the program. Price a stack without it (its defaults match the SQL in "
            "docs/real-deployment.md), or unset existingWarehouse in a copy of the stack file"
        )
    warehouse = reveal(run.one(WAREHOUSE).outputs)
    monitor = reveal(run.one(MONITOR).outputs)
    task = reveal(run.one(TASK).outputs)
    serverless = not task.get("warehouse")
    return StackCost(
        stack=stack,
        warehouse=warehouse["name"],
        warehouse_size=warehouse["warehouseSize"],
        auto_suspend_seconds=int(warehouse["autoSuspend"]),
        monitor=monitor["name"],
        monthly_quota=float(monitor["creditQuota"]),
        task_serverless=serverless,
        task_size=task.get("serverlessTaskMaxStatementSize", "XXLARGE") if serverless else warehouse["warehouseSize"],
        task_schedule_minutes=int(task["schedule"]["minutes"]),
        task_timeout_seconds=int(task.get("userTaskTimeoutMs", 3_600_000)) / 1000,
        refresh_seconds=int(run.config[f"{NAMESPACE}:dashboardRefreshSeconds"]),
        dashboard_charts=dashboard_charts(),
    )
