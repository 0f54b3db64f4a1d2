"""Sample products and customers shipped in reference_data/, seeded into their tables.

Each CSV's header must name exactly the columns sql/table_ddl.sql declares for
its table, so the seed cannot drift from the schema unnoticed. Values are
rendered by sqlglot (quoting, escaping) into one INSERT OVERWRITE per table:
re-running it leaves exactly the file's rows, never duplicates.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import pulumi
import pulumi_snowflake as snowflake
import sqlglot
from sqlglot import exp

from infra import sql_source
from infra.event_tables import EventTables
from infra.sql_source import DIALECT, SchemaPath, TableSpec

REFERENCE_DATA_DIR = Path(__file__).resolve().parent.parent / "reference_data"


class ReferenceDataError(ValueError):
    """A reference data file does not match its table."""


@dataclass(frozen=True)
class SeedFile:
    table: str
    path: Path


SEED_FILES = (
    SeedFile("PRODUCTS", REFERENCE_DATA_DIR / "products.csv"),
    SeedFile("CUSTOMERS", REFERENCE_DATA_DIR / "customers.csv"),
)


def read_rows(seed: SeedFile, table: TableSpec) -> list[dict[str, str]]:
    return _rows(seed.path, _text(seed.path), table)


def _text(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:  # newline="": the csv module reads line ends itself
        return handle.read()


def _rows(path: Path, text: str, table: TableSpec) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.upper() for name in reader.fieldnames or []]
    expected = [column.name for column in table.columns]
    if header != expected:
        raise ReferenceDataError(
            f"{path}: header {header} must list the columns of {table.name} in sql/table_ddl.sql order: {expected}"
        )
    rows = [{key.upper(): value for key, value in row.items()} for row in reader]
    if not rows:
        raise ReferenceDataError(f"{path}: has no rows")
    return rows


def _literal(value: str, column_type: str, where: str) -> exp.Expression:
    if value == "":
        return exp.null()
    if column_type.startswith("NUMBER"):
        try:
            Decimal(value)
        except InvalidOperation as err:
            raise ReferenceDataError(f"{where}: '{value}' is not a number") from err
        return exp.Literal.number(value)
    return exp.Literal.string(value)


def seed_statement(seed: SeedFile, table: TableSpec, qualified_table: str) -> str:
    """INSERT OVERWRITE INTO <qualified_table> (...) VALUES (...), ... for the whole file."""
    return _seed_statement(seed.path, _text(seed.path), table, qualified_table)


@cache  # keyed by the file's text: the program is evaluated several times per deploy (policy, preview, update)
def _seed_statement(path: Path, text: str, table: TableSpec, qualified_table: str) -> str:
    tuples = []
    for line, row in enumerate(_rows(path, text, table), start=2):
        where = f"{path.name} line {line}"
        tuples.append(
            exp.Tuple(expressions=[_literal(row[c.name], c.type, f"{where}, {c.name}") for c in table.columns])
        )
    target = exp.Schema(
        this=exp.to_table(qualified_table, dialect=DIALECT),
        expressions=[exp.to_identifier(c.name) for c in table.columns],
    )
    insert = exp.Insert(this=target, expression=exp.Values(expressions=tuples), overwrite=True)
    statement = insert.sql(DIALECT)
    sqlglot.parse_one(statement, read=DIALECT)  # fail here, not in Snowflake, if it does not parse
    return statement


@dataclass(kw_only=True)
class ReferenceDataArgs:
    tables: EventTables
    """The tables the seed files fill."""
    path: SchemaPath
    """Database and schema of those tables, for the seed statements."""


class ReferenceData(pulumi.ComponentResource):
    """One `Execute` per seed file. Needs a provider whose session has a warehouse (DML)."""

    def __init__(self, name: str, args: ReferenceDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:analytics:ReferenceData", name, None, opts)
        specs = sql_source.tables()
        for seed in SEED_FILES:
            qualified = args.path.qualify(seed.table)
            snowflake.Execute(
                f"{name}-{seed.table.lower()}",
                execute=seed_statement(seed, specs[seed.table], qualified),
                # INSERT OVERWRITE replaces the rows by itself, and the rows go
                # with their table on destroy. The revert needs no warehouse
                # (SHOW "does not require a running warehouse", docs: SHOW
                # TABLES), so destroy works while a resource monitor keeps the
                # warehouse suspended.
                revert=f"SHOW TABLES LIKE '{seed.table}' IN SCHEMA {args.path.database}.{args.path.schema}",
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[args.tables.tables[seed.table]], delete_before_replace=True
                ),
            )
        self.register_outputs({})
