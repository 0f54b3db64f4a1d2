"""The tables of sql/table_ddl.sql."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase


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
                comment="Declared in sql/table_ddl.sql",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec in sql_source.tables().values()
        }
        self.register_outputs({"tables": {k: t.name for k, t in self.tables.items()}})
