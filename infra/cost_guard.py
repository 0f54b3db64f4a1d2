"""The cost guard: a resource monitor that caps the POC warehouse's monthly credits.

A dashboard refreshing every 10 s while data keeps arriving defeats the
result cache, so the warehouse never auto-suspends while the dashboard is
open (about 720 credits a month on XSMALL). The monitor warns at 75 % and
90 % of the quota and suspends the warehouse at 100 %.

pulumi-snowflake 2.22's ResourceMonitor is stable (not in the provider's
preview feature list) and has no `warehouses` field: a warehouse is attached
through its own `resource_monitor`, so this component only creates the
monitor and the warehouse names it.

Only account administrators may create a resource monitor ("This command can
only be executed by account administrators", docs: CREATE RESOURCE MONITOR),
and, per terraform-provider-snowflake issue #3019 (no Snowflake doc found),
only ACCOUNTADMIN may assign one to a warehouse. A stack deployed by a
least-privileged role therefore uses a warehouse an ACCOUNTADMIN created and
capped (`existingWarehouse`), and this component creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

NOTIFY_AT_PERCENT = (75, 90)
SUSPEND_AT_PERCENT = 100


@dataclass(kw_only=True)
class CostGuardArgs:
    monitor_name: str
    """Account-level name of the resource monitor."""
    monthly_credit_quota: int
    """Credits the attached warehouses may use per calendar month."""
    existing_warehouse: str | None = None
    """Set: the warehouse is capped by its owner's monitor; no monitor is created."""


class CostGuard(pulumi.ComponentResource):
    monitor_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:cost:CostGuard", name, None, opts)
        if args.existing_warehouse:
            self.monitor_name = None
            self.register_outputs({})
            return
        # No FREQUENCY / START_TIMESTAMP: Snowflake's default then resets the
        # quota at the start of each calendar month (CREATE RESOURCE MONITOR).
        monitor = snowflake.ResourceMonitor(
            f"{name}-monitor",
            name=args.monitor_name,
            credit_quota=args.monthly_credit_quota,
            notify_triggers=list(NOTIFY_AT_PERCENT),
            suspend_trigger=SUSPEND_AT_PERCENT,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.monitor_name = monitor.name
        self.register_outputs({"monitor_name": monitor.name})
