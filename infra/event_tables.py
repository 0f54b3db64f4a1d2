"""The tables of sql/table_ddl.sql."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase

# Tables a stream reads. CREATE STREAM turns change tracking on, and the Table
# resource reads `change_tracking` back and ALTERs it to the declared value
# (terraform-provider-snowflake pkg/resources/table.go, Read and Update;
# default false): undeclared, the first `up` after a refresh would turn it off
# under the live stream.
STREAM_SOURCES = frozenset({sql_source.pipe_target_table()})


@dataclass(kw_only=True)
class EventTablesArgs:
    database: AnalyticsDatabase
    """Database and schema the tables are created in."""


class EventTables(pulumi.ComponentResource):
    tables: dict[str, snowflake.Table]
    """Every table of sql/table_ddl.sql, by upper-case name."""

    def __init__(self, name: str, args: EventTablesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:EventTables", name, None, opts)
        self.tables = {
            spec.name: snowflake.Table(
                f"{name}-{spec.name.lower()}",
                database=args.database.database,
                schema=args.database.schema,
                name=spec.name,
                columns=[
                    snowflake.TableColumnArgs(name=c.name, type=c.type, nullable=c.nullable) for c in spec.columns
                ],
                change_tracking=spec.name in STREAM_SOURCES,
                comment="Declared in sql/table_ddl.sql",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec in sql_source.tables().values()
        }
        self.register_outputs({"tables": {k: t.name for k, t in self.tables.items()}})
