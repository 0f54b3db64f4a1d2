"""The tables of sql/table_ddl.sql, and the reference data seeded into them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import reference_data, sql_source


@dataclass
class EventTablesArgs:
    database: pulumi.Input[str]
    """Database the tables are created in."""
    schema: pulumi.Input[str]
    """Schema the tables are created in."""
    namespace: sql_source.Namespace
    """Database and schema names, for the statements that load reference data."""
    snowflake_provider: snowflake.Provider
    """Provider the resources are created with."""


class EventTables(pulumi.ComponentResource):
    tables: dict[str, snowflake.Table]
    """Every table of sql/table_ddl.sql, by upper-case name."""
    seeds: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        args: EventTablesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:analytics:EventTables", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.snowflake_provider)
        specs = sql_source.tables()

        self.tables = {
            spec.name: snowflake.Table(
                f"{name}-{spec.name.lower()}",
                database=args.database,
                schema=args.schema,
                name=spec.name,
                columns=[
                    snowflake.TableColumnArgs(name=c.name, type=c.type, nullable=c.nullable) for c in spec.columns
                ],
                comment="Declared in sql/table_ddl.sql",
                opts=child,
            )
            for spec in specs.values()
        }

        self.seeds = []
        for seed in reference_data.SEED_FILES:
            table = self.tables[seed.table]
            statement = reference_data.seed_statement(seed, specs[seed.table], args.namespace.qualify(seed.table))
            self.seeds.append(
                snowflake.Execute(
                    f"{name}-seed-{seed.table.lower()}",
                    execute=statement,
                    # Deleting the seed empties the table; a changed file is
                    # re-seeded by INSERT OVERWRITE, so revert must run first.
                    revert=f"DELETE FROM {args.namespace.qualify(seed.table)}",
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        provider=args.snowflake_provider,
                        depends_on=[table],
                        delete_before_replace=True,
                    ),
                )
            )
        self.register_outputs({"tables": {k: t.name for k, t in self.tables.items()}})
