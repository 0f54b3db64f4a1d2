"""Where the conversion task runs and what caps its spend: the Task arguments of that choice.

Chosen by the cost model (`make cost`, docs/cost.md): a serverless task on
XSMALL every 15 minutes costs about 0.24 credits a day for a producer running
around the clock, where the same schedule on a warehouse pays the 60 s
minimum per resume plus its auto-suspend for a 10 s run (about 1.9 a day),
and every minute on the POC warehouse keeps it awake (24 a day on XSMALL).

Resource monitors do not govern serverless compute ("Working with resource
monitors", docs.snowflake.com/en/user-guide/resource-monitors), so its cap is
built into the task: at most XSMALL (SERVERLESS_TASK_MAX_STATEMENT_SIZE), a
run is cancelled after USER_TASK_TIMEOUT_MS, and after a few failures in a
row (a timeout is one) Snowflake suspends the task
(SUSPEND_TASK_AFTER_NUM_FAILURES; parameters docs, sql-reference/parameters).
The worst month is then schedule x timeout on XSMALL, which `make cost`
prints. It also isolates the dashboards: the warehouse's monitor suspending
does not stop the task, and a runaway task cannot spend the dashboards' quota.

pulumi-snowflake 2.22's Task is stable (not in the provider's preview list)
and declares all of these; a task without `warehouse` is serverless (CREATE
TASK: "omit the WAREHOUSE parameter"). Budgets, Snowflake's tool to watch
serverless spend, have no resource in that provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_snowflake as snowflake

from infra.config import PocConfig

SERVERLESS_SIZE = "XSMALL"
# Two timeouts in a row are a pattern, not a blip: stop paying for them.
SUSPEND_AFTER_FAILURES = 2


@dataclass(frozen=True)
class TransformationCompute:
    serverless: bool
    """True: Snowflake-managed compute; False: the POC warehouse."""
    schedule_minutes: int
    timeout_seconds: int

    @classmethod
    def of(cls, config: PocConfig) -> TransformationCompute:
        return cls(
            serverless=config.transformation_compute == "serverless",
            schedule_minutes=config.transformation_schedule_minutes,
            timeout_seconds=config.transformation_timeout_seconds,
        )

    def task_arguments(self, warehouse: pulumi.Input[str]) -> dict[str, Any]:
        """The snowflake.Task keyword arguments for this choice."""
        arguments: dict[str, Any] = {
            "schedule": snowflake.TaskScheduleArgs(minutes=self.schedule_minutes),
            "user_task_timeout_ms": self.timeout_seconds * 1000,
            "suspend_task_after_num_failures": SUSPEND_AFTER_FAILURES,
        }
        if not self.serverless:
            return {**arguments, "warehouse": warehouse}
        # Without these a first run starts on MEDIUM (USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE's
        # default) and later runs may grow up to XXLARGE (SERVERLESS_TASK_MAX_STATEMENT_SIZE's).
        return {
            **arguments,
            "user_task_managed_initial_warehouse_size": SERVERLESS_SIZE,
            "serverless_task_min_statement_size": SERVERLESS_SIZE,
            "serverless_task_max_statement_size": SERVERLESS_SIZE,
        }
