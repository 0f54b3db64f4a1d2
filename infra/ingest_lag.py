"""Ingest lag per path: the INGEST_LAG view of sql/ingest_lag.sql, readable by the dashboards' role.

One view for both ingestion paths (files, streaming), so the dashboard
compares them side by side from the rows' own timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.dashboard_access import DashboardAccess
from infra.event_tables import EventTables

SQL_FILE = "ingest_lag.sql"


@dataclass(kw_only=True)
class IngestLagArgs:
    database: AnalyticsDatabase
    """Database and schema of the view, beside ECOMMERCE_EVENTS."""
    tables: EventTables
    """The tables the view reads."""
    readers: DashboardAccess
    """The dashboards' role, which gets SELECT on the view."""
    warehouse_session: snowflake.Provider
    """The provider with the POC warehouse as its session default: Snowflake reads a view back with a warehouse."""


class IngestLag(pulumi.ComponentResource):
    """Give it the admin provider as its default (`providers=`); the view takes `warehouse_session` itself."""

    view_name: pulumi.Output[str]

    def __init__(self, name: str, args: IngestLagArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:IngestLag", name, None, opts)
        db = args.database
        view_name, statement = sql_source.view_statement(db.path, SQL_FILE)
        view = snowflake.View(
            f"{name}-view",
            database=db.database,
            schema=db.schema,
            name=view_name,
            statement=statement,
            comment=f"Declared in sql/{SQL_FILE}",
            opts=pulumi.ResourceOptions(parent=self, provider=args.warehouse_session, depends_on=[db, args.tables]),
        )
        snowflake.GrantPrivilegesToAccountRole(
            f"{name}-select",
            account_role_name=args.readers.role_name,
            privileges=["SELECT"],
            on_schema_object={
                "object_type": "VIEW",
                "object_name": pulumi.Output.concat(view.database, ".", view.schema, ".", view.name),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.view_name = view.name
        self.register_outputs({"view_name": self.view_name})
