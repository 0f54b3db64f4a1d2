"""The Snowpark transformation in the graph: result tables, stream, procedure, task, read grants.

    ECOMMERCE_EVENTS ──stream──► task (every minute, only when the stream has rows)
                                   └─ CALL CONVERSION_REFRESH(...) ─► MERGE into SESSION_FUNNEL, PRODUCT_CONVERSION

Table columns come from sql/conversion_tables.sql and the funnel view from
sql/conversion_funnel.sql; the procedure's code is the transformations/
package itself, read from the repository when the program runs
(transformations/bundle.py), never pasted by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.event_tables import EventTables
from infra.transformation_compute import TransformationCompute
from transformations import bundle

TABLES_SQL = "conversion_tables.sql"
FUNNEL_VIEW_SQL = "conversion_funnel.sql"
STREAM_NAME = "ECOMMERCE_EVENTS_CONVERSION_STREAM"
PROCEDURE_NAME = "CONVERSION_REFRESH"
TASK_NAME = "CONVERSION_REFRESH_TASK"
PROCEDURE_ARGUMENTS = (
    "STREAM_NAME",
    "EVENTS_TABLE",
    "PRODUCTS_TABLE",
    "SESSION_FUNNEL_TABLE",
    "PRODUCT_CONVERSION_TABLE",
)
# Snowflake resolves this from its Anaconda channel, not PyPI. The handler
# uses only long-standing DataFrame API (joins, windows, Table.merge); the
# local runner and tests run the same code on 1.56.0 (requirements.txt).
# 1.45.0 is the newest release listed on anaconda.org/anaconda/snowflake-snowpark-python.
PROCEDURE_SNOWPARK_VERSION = "1.45.0"
# ProcedurePython: "The supported versions are: 3.9, 3.10, and 3.11" (provider docstring).
PROCEDURE_RUNTIME = "3.11"


@dataclass(kw_only=True)
class ConversionProcedureArgs:
    database: AnalyticsDatabase
    """Database and schema of the procedure."""


class ConversionProcedure(pulumi.ComponentResource):
    """CONVERSION_REFRESH: the transformations/ package as a Python stored procedure.

    Give it the warehouse-session provider. Snowflake compiles a Python
    procedure and resolves its PACKAGES on a warehouse, and refuses the CREATE
    without one: "391531 (42601): SQL compilation error: An active warehouse is
    required for creating Python stored procedures" (terraform-provider-snowflake
    issues #1695 and #2856). pulumi-snowflake 2.22.0's ProcedurePython docstring
    says it too: "**Required warehouse** This resource may require active
    warehouse."
    """

    qualified_name: str
    procedure: snowflake.ProcedurePython

    def __init__(self, name: str, args: ConversionProcedureArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:transformations:ConversionProcedure", name, None, opts)
        self.procedure = snowflake.ProcedurePython(
            f"{name}-procedure",
            database=args.database.database,
            schema=args.database.schema,
            name=PROCEDURE_NAME,
            arguments=[
                snowflake.ProcedurePythonArgumentArgs(arg_name=a, arg_data_type="VARCHAR") for a in PROCEDURE_ARGUMENTS
            ],
            return_type="VARCHAR",
            runtime_version=PROCEDURE_RUNTIME,
            snowpark_package=PROCEDURE_SNOWPARK_VERSION,
            handler=bundle.HANDLER,
            procedure_definition=bundle.procedure_definition(),
            execute_as="OWNER",
            comment="transformations/ package: refresh SESSION_FUNNEL and PRODUCT_CONVERSION from a stream",
            # Every change to transformations/ changes procedure_definition, which
            # the provider can only apply by replacing the procedure (ForceNew in
            # terraform-provider-snowflake pkg/resources/procedure_commons.go), and
            # its Create is a plain CREATE PROCEDURE, so old and new cannot exist
            # side by side. The bridge already drops first for a ForceNew change of
            # a resource whose name is set; saying it here covers the replacements
            # the engine forces too (`pulumi up --replace`). A task run in between
            # (at most one, a minute apart) fails; the next run catches up.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.qualified_name = args.database.path.qualify(PROCEDURE_NAME)
        self.register_outputs({"name": self.procedure.name})


@dataclass(kw_only=True)
class SnowparkTransformationsArgs:
    database: AnalyticsDatabase
    """Database, schema and warehouse (a task on warehouse compute runs on the POC warehouse)."""
    tables: EventTables
    """The pipe's target table (the stream's source and the base the refresh recomputes from) and PRODUCTS."""
    procedure: ConversionProcedure
    """What the task calls."""
    compute: TransformationCompute
    """Serverless or the POC warehouse, schedule and timeout (infra/transformation_compute.py)."""


class SnowparkTransformations(pulumi.ComponentResource):
    """Result tables, stream and task. Give it the admin provider: nothing here needs a session warehouse (the task
    names its own warehouse; CREATE TABLE / STREAM / TASK and ALTER TASK RESUME are DDL)."""

    tables: dict[str, snowflake.Table]
    """SESSION_FUNNEL and PRODUCT_CONVERSION, by upper-case name."""
    task_name: pulumi.Output[str]

    def __init__(self, name: str, args: SnowparkTransformationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:transformations:SnowparkTransformations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.database
        path = db.path
        events_table = args.tables.tables[sql_source.pipe_target_table()]

        self.tables = {
            spec.name: snowflake.Table(
                f"{name}-{spec.name.lower().replace('_', '-')}",
                database=db.database,
                schema=db.schema,
                name=spec.name,
                columns=[
                    snowflake.TableColumnArgs(name=c.name, type=c.type, nullable=c.nullable) for c in spec.columns
                ],
                comment=f"Declared in sql/{TABLES_SQL}; maintained by {TASK_NAME}",
                opts=child,
            )
            for spec in sql_source.tables(TABLES_SQL).values()
        }
        # Snowpipe only inserts: an append-only stream is cheaper and is all
        # the refresh reads (METADATA$ACTION = 'INSERT').
        stream = snowflake.StreamOnTable(
            f"{name}-stream",
            database=db.database,
            schema=db.schema,
            name=STREAM_NAME,
            table=events_table.fully_qualified_name,
            append_only="true",
            comment="New ECOMMERCE_EVENTS rows for the conversion refresh",
            opts=child,
        )
        stream_fqn = path.qualify(STREAM_NAME)
        call_arguments = (
            stream_fqn,
            path.qualify(sql_source.pipe_target_table()),
            path.qualify("PRODUCTS"),
            *(path.qualify(t) for t in self.tables),
        )
        task = snowflake.Task(
            f"{name}-task",
            database=db.database,
            schema=db.schema,
            name=TASK_NAME,
            **args.compute.task_arguments(db.warehouse),
            when=f"SYSTEM$STREAM_HAS_DATA('{stream_fqn}')",
            sql_statement=f"CALL {args.procedure.qualified_name}({', '.join(repr(a) for a in call_arguments)})",
            allow_overlapping_execution="false",
            # The deploy resumes the task (ALTER TASK ... RESUME); a created task starts suspended.
            started=True,
            comment="Runs CONVERSION_REFRESH when the stream has new events",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[stream, args.procedure.procedure, args.tables.tables["PRODUCTS"], *self.tables.values()],
            ),
        )
        self.task_name = task.name
        self.register_outputs(
            {"tables": {k: t.name for k, t in self.tables.items()}, "stream": stream.name, "task": task.name}
        )


@dataclass(kw_only=True)
class ConversionFunnelArgs:
    database: AnalyticsDatabase
    """Database and schema of the view."""
    transformations: SnowparkTransformations
    """The result tables the view reads."""


class ConversionFunnel(pulumi.ComponentResource):
    """CONVERSION_FUNNEL of sql/conversion_funnel.sql. Give it the warehouse-session provider (views are read back
    with a warehouse)."""

    name: pulumi.Output[str]

    def __init__(self, name: str, args: ConversionFunnelArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:transformations:ConversionFunnel", name, None, opts)
        view_name, view_select = sql_source.view_statement(args.database.path, FUNNEL_VIEW_SQL)
        view = snowflake.View(
            f"{name}-view",
            database=args.database.database,
            schema=args.database.schema,
            name=view_name,
            statement=view_select,
            comment=f"Declared in sql/{FUNNEL_VIEW_SQL}",
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.transformations.tables.values())),
        )
        self.name = view.name
        self.register_outputs({"name": self.name})


@dataclass(kw_only=True)
class ConversionReaderArgs:
    transformations: SnowparkTransformations
    """The result tables."""
    funnel: ConversionFunnel
    """The funnel view."""
    database: AnalyticsDatabase
    """Where they live."""
    role_name: pulumi.Input[str]
    """Account role of the dashboards; gets SELECT on the tables and the view."""


class ConversionReader(pulumi.ComponentResource):
    """SELECT on the conversion results for the dashboard role. Give it the admin provider (grants)."""

    def __init__(self, name: str, args: ConversionReaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:transformations:ConversionReader", name, None, opts)
        readable = [
            *((table_name, "TABLE", table.name) for table_name, table in args.transformations.tables.items()),
            ("conversion-funnel", "VIEW", args.funnel.name),
        ]
        for label, object_type, object_name in readable:
            snowflake.GrantPrivilegesToAccountRole(
                f"{name}-select-{label.lower().replace('_', '-')}",
                account_role_name=args.role_name,
                privileges=["SELECT"],
                on_schema_object={
                    "object_type": object_type,
                    "object_name": pulumi.Output.concat(
                        args.database.database, ".", args.database.schema, ".", object_name
                    ),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
