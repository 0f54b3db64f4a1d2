"""Ingest lag per path: the INGEST_LAG view of sql/ingest_lag.sql, readable by the dashboard role.

One view for both ingestion paths (files, streaming), so the dashboard
compares them side by side from the rows' own timestamps. Two components, as
for PIPE_LOAD_HISTORY (infra/pipe_health.py): the view needs the
warehouse-session provider, the grant the admin one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.event_tables import EventTables

SQL_FILE = "ingest_lag.sql"


@dataclass(kw_only=True)
class IngestLagArgs:
    database: AnalyticsDatabase
    """Database and schema of the view, beside ECOMMERCE_EVENTS."""
    tables: EventTables
    """The tables the view reads."""


class IngestLag(pulumi.ComponentResource):
    """Give it the warehouse-session provider: Snowflake reads a view back with a warehouse."""

    view_name: pulumi.Output[str]
    database: pulumi.Output[str]
    schema: pulumi.Output[str]

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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[db, args.tables]),
        )
        self.view_name = view.name
        self.database = view.database
        self.schema = view.schema
        self.register_outputs({"view_name": self.view_name})


@dataclass(kw_only=True)
class IngestLagReaderArgs:
    view: IngestLag
    """The INGEST_LAG view."""
    role_name: pulumi.Input[str]
    """Account role of the dashboards; gets SELECT on the view."""


class IngestLagReader(pulumi.ComponentResource):
    """SELECT on INGEST_LAG for the dashboard role. Give it the admin provider (grants)."""

    def __init__(self, name: str, args: IngestLagReaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:IngestLagReader", name, None, opts)
        view = args.view
        grant = snowflake.GrantPrivilegesToAccountRole(
            f"{name}-select",
            account_role_name=args.role_name,
            privileges=["SELECT"],
            on_schema_object={
                "object_type": "VIEW",
                "object_name": pulumi.Output.concat(view.database, ".", view.schema, ".", view.view_name),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"grant": grant.id})
