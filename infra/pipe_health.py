"""Pipeline health: the PIPE_LOAD_HISTORY view of sql/pipe_load_history.sql, readable by the dashboards' role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake
from sqlglot import exp

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.dashboard_access import DashboardAccess
from infra.event_tables import EventTables

SQL_FILE = sql_source.SQL_DIR / "pipe_load_history.sql"


def view_statement() -> tuple[str, str]:
    """(view name, its SELECT) from sql/pipe_load_history.sql.

    COPY_HISTORY is read from the INFORMATION_SCHEMA of the view's own
    database, which is where Snowflake resolves an unqualified schema in a
    view's text.
    """
    statement = sql_source.parse_one(SQL_FILE.read_text(encoding="utf-8"))
    if not isinstance(statement, exp.Create) or statement.kind != "VIEW":
        raise sql_source.SqlSourceError(f"{SQL_FILE.name} must be one CREATE VIEW statement")
    return statement.this.name.upper(), statement.expression.sql(sql_source.DIALECT, pretty=True)


@dataclass(kw_only=True)
class PipeHealthArgs:
    database: AnalyticsDatabase
    """Database and schema of the view (the database's INFORMATION_SCHEMA holds the copy history)."""
    tables: EventTables
    """The tables whose loads the view reports; they must exist first."""
    readers: DashboardAccess
    """The dashboards' role, which gets SELECT on the view."""
    warehouse_session: snowflake.Provider
    """The provider with the POC warehouse as its session default: Snowflake reads a view back with a warehouse."""


class PipeHealth(pulumi.ComponentResource):
    """PIPE_LOAD_HISTORY: files loaded or skipped in the last 24 hours, for the dashboard's health charts.

    Give it the admin provider as its default (`providers=`); the view takes `warehouse_session` itself. The grant
    keeps the name it had in the PipeHealthReader component this one absorbed, aliased to it.
    """

    view_name: pulumi.Output[str]
    fully_qualified_name: pulumi.Output[str]

    def __init__(self, name: str, args: PipeHealthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:PipeHealth", name, None, opts)
        db = args.database
        view_name, statement = view_statement()
        view = snowflake.View(
            f"{name}-view",
            database=db.database,
            schema=db.schema,
            name=view_name,
            statement=statement,
            comment="Declared in sql/pipe_load_history.sql",
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.warehouse_session, depends_on=[args.database, args.tables]
            ),
        )
        snowflake.GrantPrivilegesToAccountRole(
            "pipe-health-reader-select",
            account_role_name=args.readers.role_name,
            privileges=["SELECT"],
            on_schema_object={
                "object_type": "VIEW",
                "object_name": pulumi.Output.concat(view.database, ".", view.schema, ".", view.name),
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=[
                    pulumi.Alias(parent=pulumi.create_urn("pipe-health-reader", "ecommerce:analytics:PipeHealthReader"))
                ],
            ),
        )
        self.view_name = view.name
        self.fully_qualified_name = view.fully_qualified_name
        self.register_outputs({"view_name": self.view_name})
