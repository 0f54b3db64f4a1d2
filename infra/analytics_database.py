"""Where the POC's data lives and what computes on it: database, schema, warehouse."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra.sql_source import SchemaPath


@dataclass(kw_only=True)
class AnalyticsDatabaseArgs:
    path: SchemaPath
    """Database and schema names of every POC object."""
    warehouse: str
    """Warehouse name."""
    warehouse_size: str
    """Warehouse size, e.g. XSMALL."""
    resource_monitor: pulumi.Input[str] | None = None
    """Resource monitor that caps the warehouse's credits (infra/cost_guard.py)."""
    existing_warehouse: str | None = None
    """Use this warehouse (made and capped by an ACCOUNTADMIN) instead of creating one."""


class AnalyticsDatabase(pulumi.ComponentResource):
    """Objects in it take `database`/`schema` (outputs: they carry the dependency) and `path` (for SQL text)."""

    path: SchemaPath
    database: pulumi.Output[str]
    schema: pulumi.Output[str]
    warehouse: pulumi.Output[str]
    warehouse_id: pulumi.Output[str]
    """The warehouse's provider id (its name): unknown in the preview that creates it."""

    def __init__(self, name: str, args: AnalyticsDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:AnalyticsDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if args.existing_warehouse:
            # Read, not managed: `pulumi destroy` leaves it and its monitor to their owner.
            warehouse = snowflake.Warehouse.get(f"{name}-warehouse", args.existing_warehouse, opts=child)
        else:
            # A POC warehouse that costs nothing while idle: created suspended,
            # resumes on the first query and suspends after a minute.
            warehouse = snowflake.Warehouse(
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
            name=args.path.database,
            comment="Ecommerce real-time analytics POC",
            opts=child,
        )
        schema = snowflake.Schema(f"{name}-schema", database=database.name, name=args.path.schema, opts=child)

        self.path = args.path
        self.database = database.name
        self.schema = schema.name
        self.warehouse = warehouse.name
        self.warehouse_id = warehouse.id
        self.register_outputs({"database": self.database, "schema": self.schema, "warehouse": self.warehouse})
