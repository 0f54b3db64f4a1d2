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
class SnowparkTransformationsArgs:
    namespace: sql_source.Namespace
    """Database and schema of the source and result tables."""
    database: pulumi.Input[str]
    """Database the objects are created in."""
    schema: pulumi.Input[str]
    """Schema the objects are created in."""
    events_table: snowflake.Table
    """ECOMMERCE_EVENTS: the stream's table and the base the refresh recomputes from."""
    products_table: snowflake.Table
    """PRODUCTS: prices and categories."""
    warehouse: pulumi.Input[str]
    """Warehouse the task runs on (the POC's warehouse)."""
    reader_role: pulumi.Input[str]
    """Account role granted SELECT on the result tables and the funnel view (the dashboards' role)."""


class SnowparkTransformations(pulumi.ComponentResource):
    tables: dict[str, snowflake.Table]
    """SESSION_FUNNEL and PRODUCT_CONVERSION, by upper-case name."""
    funnel_view: snowflake.View
    stream: snowflake.StreamOnTable
    procedure: snowflake.ProcedurePython
    task: snowflake.Task
    grants: list[snowflake.GrantPrivilegesToAccountRole]
    task_name: pulumi.Output[str]

    def __init__(self, name: str, args: SnowparkTransformationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:transformations:SnowparkTransformations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace

        self.tables = {
            spec.name: snowflake.Table(
                f"{name}-{spec.name.lower().replace('_', '-')}",
                database=args.database,
                schema=args.schema,
                name=spec.name,
                columns=[
                    snowflake.TableColumnArgs(name=c.name, type=c.type, nullable=c.nullable) for c in spec.columns
                ],
                comment=f"Declared in sql/{TABLES_SQL}; maintained by {TASK_NAME}",
                opts=child,
            )
            for spec in sql_source.tables(TABLES_SQL).values()
        }
        view_name, view_select = sql_source.view_statement(ns, FUNNEL_VIEW_SQL)
        self.funnel_view = snowflake.View(
            f"{name}-funnel-view",
            database=args.database,
            schema=args.schema,
            name=view_name,
            statement=view_select,
            comment=f"Declared in sql/{FUNNEL_VIEW_SQL}",
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.tables.values())),
        )
        # Snowpipe only inserts: an append-only stream is cheaper and is all
        # the refresh reads (METADATA$ACTION = 'INSERT').
        self.stream = snowflake.StreamOnTable(
            f"{name}-stream",
            database=args.database,
            schema=args.schema,
            name=STREAM_NAME,
            table=args.events_table.fully_qualified_name,
            append_only="true",
            comment="New ECOMMERCE_EVENTS rows for the conversion refresh",
            opts=child,
        )
        self.procedure = snowflake.ProcedurePython(
            f"{name}-procedure",
            database=args.database,
            schema=args.schema,
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
            opts=child,
        )
        stream_fqn = ns.qualify(STREAM_NAME)
        call_arguments = (
            stream_fqn,
            ns.qualify(sql_source.pipe_target_table()),
            ns.qualify("PRODUCTS"),
            *(ns.qualify(t) for t in self.tables),
        )
        self.task = snowflake.Task(
            f"{name}-task",
            database=args.database,
            schema=args.schema,
            name=TASK_NAME,
            warehouse=args.warehouse,
            schedule=snowflake.TaskScheduleArgs(minutes=1),
            when=f"SYSTEM$STREAM_HAS_DATA('{stream_fqn}')",
            sql_statement=f"CALL {ns.qualify(PROCEDURE_NAME)}({', '.join(repr(a) for a in call_arguments)})",
            allow_overlapping_execution="false",
            # The deploy resumes the task (ALTER TASK ... RESUME); a created task starts suspended.
            started=True,
            comment="Runs CONVERSION_REFRESH when the stream has new events",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.stream, self.procedure, args.products_table, *self.tables.values()],
            ),
        )
        readable = {**{n: ("TABLE", t) for n, t in self.tables.items()}, view_name: ("VIEW", self.funnel_view)}
        self.grants = [
            snowflake.GrantPrivilegesToAccountRole(
                f"{name}-select-{object_name.lower().replace('_', '-')}",
                account_role_name=args.reader_role,
                privileges=["SELECT"],
                on_schema_object={"object_type": object_type, "object_name": ns.qualify(object_name)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[resource]),
            )
            for object_name, (object_type, resource) in readable.items()
        ]
        self.task_name = self.task.name
        self.register_outputs(
            {"tables": {k: t.name for k, t in self.tables.items()}, "stream": self.stream.name, "task": self.task.name}
        )
