"""CREDIT_ESTIMATE of sql/credit_estimate.sql, readable by the dashboard role: what the dashboard's cost chart reads.

The local stack's credit meter fills it; in a cloud stack it stays empty (the
real bill is in Snowsight), so the chart shows no data there rather than an
error. Give it the admin provider (DDL and a grant).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.dashboard_access import DashboardAccess

TABLE_SQL = "credit_estimate.sql"


@dataclass(kw_only=True)
class CreditEstimateArgs:
    database: AnalyticsDatabase
    """Database and schema of the table."""
    readers: DashboardAccess
    """The dashboards' role, which gets SELECT on the table."""


class CreditEstimate(pulumi.ComponentResource):
    def __init__(self, name: str, args: CreditEstimateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:cost:CreditEstimate", name, None, opts)
        (spec,) = sql_source.tables(TABLE_SQL).values()
        table = snowflake.Table(
            f"{name}-table",
            database=args.database.database,
            schema=args.database.schema,
            name=spec.name,
            columns=[snowflake.TableColumnArgs(name=c.name, type=c.type, nullable=c.nullable) for c in spec.columns],
            comment=f"Declared in sql/{TABLE_SQL}; filled by the local stack's credit meter",
            opts=pulumi.ResourceOptions(parent=self),
        )
        snowflake.GrantPrivilegesToAccountRole(
            f"{name}-select",
            account_role_name=args.readers.role_name,
            privileges=["SELECT"],
            on_schema_object={
                "object_type": "TABLE",
                "object_name": pulumi.Output.concat(args.database.database, ".", args.database.schema, ".", table.name),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"table": table.name})
