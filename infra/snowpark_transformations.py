"""The Snowpark transformation in the graph: result tables, stream, procedure, task, funnel view, read grants.

    ECOMMERCE_EVENTS ──stream──► task (every minute, only when the stream has rows)
                                   └─ CALL CONVERSION_REFRESH(...) ─► MERGE into SESSION_FUNNEL, PRODUCT_CONVERSION
                                                                      └─► CONVERSION_FUNNEL view ─► dashboard role

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
from infra.dashboard_access import DashboardAccess
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
class SnowparkTransformationsArgs:
    database: AnalyticsDatabase
    """Database, schema and warehouse (a task on warehouse compute runs on the POC warehouse)."""
    tables: EventTables
    """The pipe's target table (the stream's source and the base the refresh recomputes from) and PRODUCTS."""
    readers: DashboardAccess
    """The dashboards' role, which gets SELECT on the result tables and the funnel view."""
    warehouse_session: snowflake.Provider
    """The provider with the POC warehouse as its session default, for the procedure and the view."""
    compute: TransformationCompute
    """Serverless or the POC warehouse, schedule and timeout (infra/transformation_compute.py)."""


class SnowparkTransformations(pulumi.ComponentResource):
    """The transformation, end to end. Give it the admin provider as its default (`providers=`).

    Two children need a warehouse in their session and get `warehouse_session`
    explicitly: the Python procedure (Snowflake compiles it and resolves its
    PACKAGES on a warehouse: "391531 ... An active warehouse is required for
    creating Python stored procedures", terraform-provider-snowflake issues
    #1695 and #2856; pulumi-snowflake 2.22.0's ProcedurePython docstring:
    "**Required warehouse**") and the view (read back with a table function
    that needs one, issue #3067). Tables, stream, task and grants are DDL.

    Only the result tables, the stream and the task take the component's
    `protect`: the procedure is replaced whenever transformations/ changes.
    Child names are those of the components this one replaced; their aliases
    keep an existing stack's resources in place.
    """

    tables: dict[str, snowflake.Table]
    """SESSION_FUNNEL and PRODUCT_CONVERSION, by upper-case name."""
    task_name: pulumi.Output[str]
    funnel_name: pulumi.Output[str]

    def __init__(self, name: str, args: SnowparkTransformationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:transformations:SnowparkTransformations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.database
        path = db.path
        events_table = args.tables.tables[sql_source.pipe_target_table()]
        procedure = self._procedure(args)

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
            sql_statement=f"CALL {path.qualify(PROCEDURE_NAME)}({', '.join(repr(a) for a in call_arguments)})",
            allow_overlapping_execution="false",
            # The deploy resumes the task (ALTER TASK ... RESUME); a created task starts suspended.
            started=True,
            comment="Runs CONVERSION_REFRESH when the stream has new events",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[stream, procedure, args.tables.tables["PRODUCTS"], *self.tables.values()],
            ),
        )
        funnel = self._funnel_view(args)
        self._grant_reads(args, funnel)
        self.task_name = task.name
        self.funnel_name = funnel.name
        self.register_outputs(
            {
                "tables": {k: t.name for k, t in self.tables.items()},
                "stream": stream.name,
                "procedure": procedure.name,
                "task": task.name,
                "funnel": funnel.name,
            }
        )

    def _moved(self, old_parent: str, old_type: str, **extra) -> pulumi.ResourceOptions:
        """Options of a child that a component of its own used to hold: same name, aliased to the old parent."""
        was = pulumi.Alias(parent=pulumi.create_urn(old_parent, f"ecommerce:transformations:{old_type}"))
        return pulumi.ResourceOptions(parent=self, protect=False, aliases=[was], **extra)

    def _procedure(self, args: SnowparkTransformationsArgs) -> snowflake.ProcedurePython:
        """CONVERSION_REFRESH: the transformations/ package as a Python stored procedure."""
        return snowflake.ProcedurePython(
            "conversion-procedure-procedure",
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
            opts=self._moved(
                "conversion-procedure",
                "ConversionProcedure",
                provider=args.warehouse_session,
                delete_before_replace=True,
            ),
        )

    def _funnel_view(self, args: SnowparkTransformationsArgs) -> snowflake.View:
        """CONVERSION_FUNNEL of sql/conversion_funnel.sql, over the result tables."""
        view_name, view_select = sql_source.view_statement(args.database.path, FUNNEL_VIEW_SQL)
        return snowflake.View(
            "conversion-funnel-view",
            database=args.database.database,
            schema=args.database.schema,
            name=view_name,
            statement=view_select,
            comment=f"Declared in sql/{FUNNEL_VIEW_SQL}",
            opts=self._moved(
                "conversion-funnel",
                "ConversionFunnel",
                provider=args.warehouse_session,
                depends_on=list(self.tables.values()),
            ),
        )

    def _grant_reads(self, args: SnowparkTransformationsArgs, funnel: snowflake.View) -> None:
        """SELECT on the result tables and the funnel view for the dashboards' role."""
        readable = [
            *((table_name, "TABLE", table.name) for table_name, table in self.tables.items()),
            ("conversion-funnel", "VIEW", funnel.name),
        ]
        for label, object_type, object_name in readable:
            snowflake.GrantPrivilegesToAccountRole(
                f"conversion-reader-select-{label.lower().replace('_', '-')}",
                account_role_name=args.readers.role_name,
                privileges=["SELECT"],
                on_schema_object={
                    "object_type": object_type,
                    "object_name": pulumi.Output.concat(
                        args.database.database, ".", args.database.schema, ".", object_name
                    ),
                },
                opts=self._moved("conversion-reader", "ConversionReader"),
            )
