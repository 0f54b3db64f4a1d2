"""Reads sql/, the single source of truth for schema and transformations.

The files are plain Snowflake SQL a user can run in a worksheet. The program
parses them with sqlglot's snowflake dialect and fills in the names only it
knows (database, schema, stage, file format), so no column list is repeated
in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import sqlglot
from sqlglot import exp

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
DIALECT = "snowflake"


class SqlSourceError(ValueError):
    """A file in sql/ does not have the shape the program relies on."""


@dataclass(frozen=True)
class SchemaPath:
    """Database and schema of the POC's objects: the names sql/ leaves out, filled in here."""

    database: str
    schema: str

    def qualify(self, name: str) -> str:
        return f"{self.database}.{self.schema}.{name}"


@dataclass(frozen=True)
class ColumnSpec:
    name: str  # upper case, as Snowflake stores unquoted identifiers
    type: str  # Snowflake type, e.g. NUMBER(38,0), VARCHAR, VARIANT
    nullable: bool


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]


def _read(filename: str) -> str:
    path = SQL_DIR / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise SqlSourceError(f"{path} is missing: the program reads its SQL from sql/") from err


@lru_cache(maxsize=32)
def parse_one(text: str) -> exp.Expression:
    """sqlglot's parse of one statement, once per text.

    The local deploy evaluates the program three times per `up` (policy check, preview, update) in one process,
    and each evaluation reads the same files. The tree is shared: transform it with copy=True, never in place.
    """
    return sqlglot.parse_one(text, read=DIALECT)


def _snowflake_type(kind: exp.DataType) -> str:
    # sqlglot normalises NUMBER to DECIMAL; Snowflake reports NUMBER, and the
    # provider diffs against what Snowflake reports.
    rendered = kind.sql(DIALECT).replace(" ", "")
    rendered = re.sub(r"^DECIMAL", "NUMBER", rendered)
    return re.sub(r"^TIMESTAMP(NTZ|LTZ|TZ)$", r"TIMESTAMP_\1", rendered)


@cache
def tables(filename: str = "table_ddl.sql") -> dict[str, TableSpec]:
    """Tables declared in sql/<filename>, keyed by upper-case name, in file order."""
    found: dict[str, TableSpec] = {}
    for statement in sqlglot.parse(_read(filename), read=DIALECT):
        if not isinstance(statement, exp.Create) or statement.kind != "TABLE":
            raise SqlSourceError(
                f"sql/{filename} must contain only CREATE TABLE statements, found: {statement.sql(DIALECT)[:80]}"
            )
        schema = statement.this
        name = schema.this.name.upper()
        columns = []
        for column in schema.expressions:
            if not isinstance(column, exp.ColumnDef):
                raise SqlSourceError(f"table {name}: only column definitions are supported")
            not_null = any(
                isinstance(c.kind, exp.NotNullColumnConstraint) and not c.kind.args.get("allow_null")
                for c in column.constraints
            )
            columns.append(
                ColumnSpec(
                    column.name.upper(),
                    _snowflake_type(column.args["kind"]),
                    not not_null,
                )
            )
        found[name] = TableSpec(name, tuple(columns))
    return found


def _qualify(statement: exp.Expression, path: SchemaPath) -> exp.Expression:
    """Prefix every unqualified table reference with database and schema."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name:
            node = node.copy()
            node.set("db", exp.to_identifier(path.schema))
            node.set("catalog", exp.to_identifier(path.database))
        return node

    return statement.transform(rewrite)


FILE_PIPE_SQL = "snowflake_pipe.sql"
STREAMING_PIPE_SQL = "snowflake_streaming_pipe.sql"


def _pipe_copy_text(filename: str = FILE_PIPE_SQL) -> str:
    text = _read(filename)
    # sqlglot has no grammar for CREATE PIPE: take the COPY after "AS".
    match = re.search(r"\bAS\s+(COPY\s+INTO\b.*?);?\s*$", text, flags=re.S | re.I)
    if not match:
        raise SqlSourceError(f"sql/{filename} must be CREATE PIPE ... AS COPY INTO ...")
    return match.group(1)


def pipe_name(filename: str = FILE_PIPE_SQL) -> str:
    match = re.search(
        r"CREATE\s+PIPE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)",
        _read(filename),
        re.I,
    )
    if not match:
        raise SqlSourceError(f"sql/{filename} must name its pipe: CREATE PIPE <name>")
    return match.group(1).upper()


def fold(identifier: str) -> str:
    """How Snowflake stores and resolves an identifier: unquoted folds to upper case, quoted is kept.

    https://docs.snowflake.com/en/sql-reference/identifiers-syntax ("unquoted
    object identifiers ... are stored and resolved as uppercase characters").
    """
    if len(identifier) >= 2 and identifier.startswith('"') and identifier.endswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.upper()


_COPY_TARGET = re.compile(r"^(COPY\s+INTO\s+)([\w$]+)", re.I)
_COPY_STAGE = re.compile(r"@([\w$]+)")
_COPY_FORMAT = re.compile(r"(FORMAT_NAME\s*=\s*)'([^']*)'", re.I)


def pipe_copy_statement(path: SchemaPath, stage: str, file_format: str) -> str:
    """The COPY INTO of sql/snowflake_pipe.sql, verbatim except for three qualified names.

    The provider replaces a pipe whenever `copy_statement` changes beyond
    trailing semicolons and surrounding whitespace (terraform-provider-snowflake,
    pipeCopyStatementDiffSuppress), and a new pipe starts with an empty load
    history. So the deployed text is the file's own text, never re-rendered by
    sqlglot (whose formatting may change between versions); sqlglot only checks
    its shape. `stage` and `file_format` are the names of objects in `path`;
    the file must name the same objects, as Snowflake resolves identifiers.
    """
    text = _pipe_copy_text().strip()
    copy = parse_one(text)
    if not isinstance(copy, exp.Copy):
        raise SqlSourceError("sql/snowflake_pipe.sql: the pipe body must be a COPY INTO statement")
    for pattern, expected, what in (
        (_COPY_STAGE, stage, "stage"),
        (_COPY_FORMAT, file_format, "file format"),
    ):
        match = pattern.search(text)
        written = match.group(match.lastindex) if match else None
        if written is None or fold(written) != fold(expected):
            raise SqlSourceError(
                f"sql/snowflake_pipe.sql reads {what} {written!r}, but the program creates {what} {expected}: "
                "make them name the same object"
            )
    text = _COPY_TARGET.sub(lambda m: m.group(1) + path.qualify(fold(m.group(2))), text, count=1)
    text = _COPY_STAGE.sub(lambda _m: "@" + path.qualify(fold(stage)), text, count=1)
    return _COPY_FORMAT.sub(lambda m: f"{m.group(1)}'{path.qualify(fold(file_format))}'", text, count=1)


def pipe_target_table(filename: str = FILE_PIPE_SQL) -> str:
    copy = parse_one(_pipe_copy_text(filename))
    return copy.this.name.upper()


_STREAMING_SOURCE = re.compile(r"\bFROM\s+TABLE\s*\(\s*DATA_SOURCE\s*\(\s*TYPE\s*=>\s*'STREAMING'\s*\)\s*\)", re.I)


def is_streaming_copy(copy_statement: str) -> bool:
    """A Snowpipe Streaming pipe's COPY reads TABLE(DATA_SOURCE(TYPE => 'STREAMING')), not a stage.

    docs.snowflake.com, user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-overview ("The PIPE object").
    """
    return bool(_STREAMING_SOURCE.search(copy_statement))


def streaming_pipe_copy_statement(path: SchemaPath) -> str:
    """The COPY INTO of sql/snowflake_streaming_pipe.sql, verbatim but for its qualified target table.

    Verbatim for the reason `pipe_copy_statement` gives: the provider replaces
    a pipe whose copy_statement text changes.
    """
    text = _pipe_copy_text(STREAMING_PIPE_SQL).strip()
    copy = parse_one(text)
    if not isinstance(copy, exp.Copy) or not is_streaming_copy(text):
        raise SqlSourceError(
            f"sql/{STREAMING_PIPE_SQL}: the pipe body must be COPY INTO <table> FROM (SELECT ... "
            "FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING')))"
        )
    return _COPY_TARGET.sub(lambda m: m.group(1) + path.qualify(fold(m.group(2))), text, count=1)


def pipe_projection(filename: str) -> list[str]:
    """The SELECT items of a pipe's COPY, as sqlglot renders them (aliases dropped): to compare two pipes."""
    copy = parse_one(_pipe_copy_text(filename))
    select = copy.args["files"][0].this
    return [(item.this if isinstance(item, exp.Alias) else item).sql(DIALECT) for item in select.expressions]


def view_statement(path: SchemaPath, filename: str = "enriched_events.sql") -> tuple[str, str]:
    """(view name, its SELECT statement) from sql/<filename>, tables qualified."""
    return _view_statement(_read(filename), path, filename)


@lru_cache(maxsize=32)
def _view_statement(text: str, path: SchemaPath, filename: str) -> tuple[str, str]:
    statement = parse_one(text)
    if not isinstance(statement, exp.Create) or statement.kind != "VIEW":
        raise SqlSourceError(f"sql/{filename} must be one CREATE VIEW statement")
    select = _qualify(statement.expression, path)
    return statement.this.name.upper(), select.sql(DIALECT, pretty=True)


def view_source_tables() -> set[str]:
    statement = parse_one(_read("enriched_events.sql"))
    return {t.name.upper() for t in statement.expression.find_all(exp.Table)}


@cache
def dashboard_queries(filename: str = "dashboard_queries.sql") -> dict[str, str]:
    """The named queries of sql/<filename> ("-- name: x" before each)."""
    text = _read(filename)
    parts = re.split(r"^--\s*name:\s*(\w+)\s*$", text, flags=re.M)
    queries = {name: body.strip().rstrip(";").strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}
    if not queries:
        raise SqlSourceError(f"sql/{filename} has no '-- name:' queries")
    return queries
