"""Analytics: the ENRICHED_EVENTS view of sql/enriched_events.sql."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.event_tables import EventTables


@dataclass(kw_only=True)
class EnrichedEventsArgs:
    database: AnalyticsDatabase
    """Database and schema of the view; its table references are qualified with them."""
    tables: EventTables
    """The tables; the view is created after the ones it reads."""


class EnrichedEvents(pulumi.ComponentResource):
    """Needs a provider whose session has a warehouse: the provider reads a view back with one."""

    name: pulumi.Output[str]
    fully_qualified_name: pulumi.Output[str]

    def __init__(self, name: str, args: EnrichedEventsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:EnrichedEvents", name, None, opts)
        view_name, statement = sql_source.view_statement(args.database.path)
        missing = sql_source.view_source_tables() - set(args.tables.tables)
        if missing:
            raise sql_source.SqlSourceError(
                f"sql/enriched_events.sql reads {sorted(missing)}, which sql/table_ddl.sql does not declare"
            )
        view = snowflake.View(
            f"{name}-view",
            database=args.database.database,
            schema=args.database.schema,
            name=view_name,
            statement=statement,
            comment="Declared in sql/enriched_events.sql",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.tables.tables[t] for t in sorted(sql_source.view_source_tables())],
            ),
        )
        self.name = view.name
        self.fully_qualified_name = view.fully_qualified_name
        self.register_outputs({"name": self.name, "fully_qualified_name": self.fully_qualified_name})
