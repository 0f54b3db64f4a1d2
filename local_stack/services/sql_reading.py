"""What a SQL statement touches, as Snowflake resolves it: read by the strict account and the credit meter."""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def parse(statement: str | exp.Expression) -> exp.Expression:
    """Parsed once, for callers that ask several questions of one long statement."""
    return statement if isinstance(statement, exp.Expression) else sqlglot.parse_one(statement, read="snowflake")


def needs_warehouse(statement: str | exp.Expression) -> bool:
    """Whether a statement (its text, or as parsed) reads or writes rows (and so needs a running warehouse)."""
    parsed = parse(statement)
    if isinstance(parsed, exp.Insert | exp.Delete | exp.Update | exp.Merge | exp.Copy):
        return True
    return isinstance(parsed, exp.Query) and parsed.find(exp.Table) is not None


def table_parts(table: exp.Table) -> tuple[str, ...]:
    """A table reference's name parts as Snowflake resolves them (unquoted ones folded)."""
    parts = [table.args.get(key) for key in ("catalog", "db", "this")]
    return tuple(
        part.name if isinstance(part, exp.Identifier) and part.quoted else part.name.upper()
        for part in parts
        if part is not None and part.name
    )


def tables_named(statement: str | exp.Expression) -> list[tuple[str, ...]]:
    """Every table a statement reads or writes (common table expressions left out)."""
    parsed = parse(statement)
    ctes = {cte.alias_or_name.upper() for cte in parsed.find_all(exp.CTE)}
    return [table_parts(t) for t in parsed.find_all(exp.Table) if t.name and t.name.upper() not in ctes]
