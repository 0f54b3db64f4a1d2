"""Analytics: the ENRICHED_EVENTS view of sql/enriched_events.sql."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source


@dataclass
class EnrichedEventsArgs:
    namespace: sql_source.Namespace
    """Database and schema names; the view's table references are qualified with them."""
    schema: pulumi.Resource
    """The schema resource the view lives in."""
    tables: dict[str, snowflake.Table]
    """Tables by upper-case name; the view is created after the ones it reads."""
    warehouse: pulumi.Resource
    """The provider's warehouse: Snowflake needs it to read the view back."""
    snowflake_provider: snowflake.Provider
    """Provider the view is created with."""


class EnrichedEvents(pulumi.ComponentResource):
    view: snowflake.View
    name: pulumi.Output[str]
    fully_qualified_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EnrichedEventsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:analytics:EnrichedEvents", name, None, opts)
        view_name, statement = sql_source.view_statement(args.namespace)
        missing = sql_source.view_source_tables() - set(args.tables)
        if missing:
            raise sql_source.SqlSourceError(
                f"sql/enriched_events.sql reads {sorted(missing)}, which sql/table_ddl.sql does not declare"
            )
        sources = [args.tables[t] for t in sorted(sql_source.view_source_tables())]
        self.view = snowflake.View(
            f"{name}-view",
            database=args.namespace.database,
            schema=args.namespace.schema,
            name=view_name,
            statement=statement,
            comment="Declared in sql/enriched_events.sql",
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.snowflake_provider,
                depends_on=[args.schema, args.warehouse, *sources],
            ),
        )
        self.name = self.view.name
        self.fully_qualified_name = self.view.fully_qualified_name
        self.register_outputs({"name": self.name})
