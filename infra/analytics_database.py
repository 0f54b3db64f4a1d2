"""Where the POC's data lives and what computes on it: database, schema, warehouse."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake


@dataclass
class AnalyticsDatabaseArgs:
    database: str
    """Database name."""
    schema: str
    """Schema name for every POC object."""
    warehouse: str
    """Warehouse name."""
    warehouse_size: str
    """Warehouse size, e.g. XSMALL."""
    snowflake_provider: snowflake.Provider
    """Provider the resources are created with."""
    resource_monitor: pulumi.Input[str] | None = None
    """Resource monitor that caps the warehouse's credits (infra/cost_guard.py)."""


class AnalyticsDatabase(pulumi.ComponentResource):
    database: pulumi.Output[str]
    schema: pulumi.Output[str]
    warehouse: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: AnalyticsDatabaseArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:analytics:AnalyticsDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.snowflake_provider)

        # A POC warehouse that costs nothing while idle: created suspended,
        # resumes on the first query and suspends after a minute.
        self.warehouse_resource = snowflake.Warehouse(
            f"{name}-warehouse",
            name=args.warehouse,
            warehouse_size=args.warehouse_size,
            auto_suspend=60,
            auto_resume="true",
            initially_suspended=True,
            resource_monitor=args.resource_monitor,
            comment="Ecommerce POC: dashboards and reference data loads",
            opts=child,
        )
        database = snowflake.Database(
            f"{name}-database",
            name=args.database,
            comment="Ecommerce real-time analytics POC",
            opts=child,
        )
        self.schema_resource = snowflake.Schema(f"{name}-schema", database=database.name, name=args.schema, opts=child)

        self.database_resource = database
        self.database = database.name
        self.schema = self.schema_resource.name
        self.warehouse = self.warehouse_resource.name
        self.register_outputs(
            {
                "database": self.database,
                "schema": self.schema,
                "warehouse": self.warehouse,
            }
        )
