"""Pipeline health: the PIPE_LOAD_HISTORY view of sql/pipe_load_history.sql, readable by the dashboard role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake
import sqlglot
from sqlglot import exp

from infra import sql_source

SQL_FILE = sql_source.SQL_DIR / "pipe_load_history.sql"


def view_statement() -> tuple[str, str]:
    """(view name, its SELECT) from sql/pipe_load_history.sql.

    COPY_HISTORY is read from the INFORMATION_SCHEMA of the view's own
    database, which is where Snowflake resolves an unqualified schema in a
    view's text.
    """
    statement = sqlglot.parse_one(SQL_FILE.read_text(encoding="utf-8"), read=sql_source.DIALECT)
    if not isinstance(statement, exp.Create) or statement.kind != "VIEW":
        raise sql_source.SqlSourceError(f"{SQL_FILE.name} must be one CREATE VIEW statement")
    return statement.this.name.upper(), statement.expression.sql(sql_source.DIALECT, pretty=True)


@dataclass(kw_only=True)
class PipeHealthArgs:
    database: pulumi.Input[str]
    """Database of the view (its INFORMATION_SCHEMA holds the copy history)."""
    schema: pulumi.Input[str]
    """Schema of the view, next to the table it reports on."""
    loads_after: list[pulumi.Resource]
    """What must exist first: the database (schema, warehouse) and the tables whose loads the view reports."""


class PipeHealth(pulumi.ComponentResource):
    """PIPE_LOAD_HISTORY: files loaded or skipped in the last 24 hours, for the dashboard's health charts.

    Give it the warehouse-session provider: Snowflake reads a view back with a warehouse.
    """

    view_name: pulumi.Output[str]
    fully_qualified_name: pulumi.Output[str]
    database: pulumi.Output[str]
    schema: pulumi.Output[str]

    def __init__(self, name: str, args: PipeHealthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:PipeHealth", name, None, opts)
        view_name, statement = view_statement()
        view = snowflake.View(
            f"{name}-view",
            database=args.database,
            schema=args.schema,
            name=view_name,
            statement=statement,
            comment="Declared in sql/pipe_load_history.sql",
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.loads_after),
        )
        self.view_name = view.name
        self.database = view.database
        self.schema = view.schema
        self.fully_qualified_name = view.fully_qualified_name
        self.register_outputs({"view_name": self.view_name})


@dataclass(kw_only=True)
class PipeHealthReaderArgs:
    view: PipeHealth
    """The PIPE_LOAD_HISTORY view."""
    role_name: pulumi.Input[str]
    """Account role of the dashboards; gets SELECT on the view."""


class PipeHealthReader(pulumi.ComponentResource):
    """SELECT on PIPE_LOAD_HISTORY for the dashboard role. Give it the admin provider (grants)."""

    def __init__(self, name: str, args: PipeHealthReaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:PipeHealthReader", name, None, opts)
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
