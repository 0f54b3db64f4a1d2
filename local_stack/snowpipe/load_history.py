"""The load history inside fakesnow: which file (path + ETag) each pipe loaded or skipped, and why."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from local_stack.services.state import Pipe
from local_stack.snowpipe.copy_plan import DIALECT, parse_copy_target
from local_stack.snowpipe.record_checks import RecordError

HISTORY_SCHEMA = "LOCAL_SNOWPIPE"
HISTORY_TABLE = "LOAD_HISTORY"
REJECTED_TABLE = "REJECTED_NOTIFICATIONS"

LOADED = "LOADED"
LOAD_FAILED = "LOAD_FAILED"


def history_table(pipe: Pipe) -> str:
    return f"{pipe.database}.{HISTORY_SCHEMA}.{HISTORY_TABLE}"


def rejected_table(pipe: Pipe) -> str:
    return f"{pipe.database}.{HISTORY_SCHEMA}.{REJECTED_TABLE}"


def history_ddl(database: str) -> list[str]:
    """The statements that create the history tables (idempotent); the local deploy runs them too."""
    return [
        # A schema of its own keeps the load history out of ANALYTICS, which
        # the dashboards browse.
        f"CREATE SCHEMA IF NOT EXISTS {database}.{HISTORY_SCHEMA}",
        f"""CREATE TABLE IF NOT EXISTS {database}.{HISTORY_SCHEMA}.{HISTORY_TABLE} (
            pipe_name VARCHAR NOT NULL,
            file_path VARCHAR NOT NULL,
            etag VARCHAR NOT NULL,
            file_size NUMBER(38, 0),
            status VARCHAR NOT NULL,
            row_count NUMBER(38, 0) NOT NULL,
            first_error_line NUMBER(38, 0),
            first_error_column VARCHAR,
            first_error_message VARCHAR,
            last_load_time TIMESTAMP_LTZ NOT NULL,
            load_ms NUMBER(38, 0),
            stage_location VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL
        )""",
        # Messages on a pipe's queue that are not S3 event notifications.
        # Snowflake ignores them; recording them makes `make local-status`
        # say why nothing loaded.
        f"""CREATE TABLE IF NOT EXISTS {database}.{HISTORY_SCHEMA}.{REJECTED_TABLE} (
            pipe_name VARCHAR NOT NULL,
            message_id VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            body_excerpt VARCHAR,
            received_at TIMESTAMP_LTZ NOT NULL
        )""",
    ]


def ensure_history(cursor: Any, pipe: Pipe) -> None:
    for statement in history_ddl(pipe.database):
        cursor.execute(statement)


def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return exp.Literal.string(str(value)).sql(DIALECT)


# (column, Snowflake type) of the history table, in table order.
_HISTORY_COLUMNS = (
    ("pipe_name", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("etag", "VARCHAR"),
    ("file_size", "NUMBER(38, 0)"),
    ("status", "VARCHAR"),
    ("row_count", "NUMBER(38, 0)"),
    ("first_error_line", "NUMBER(38, 0)"),
    ("first_error_column", "VARCHAR"),
    ("first_error_message", "VARCHAR"),
    ("last_load_time", "TIMESTAMP_LTZ"),
    ("load_ms", "NUMBER(38, 0)"),
    ("stage_location", "VARCHAR"),
    ("table_name", "VARCHAR"),
)


@functools.cache
def _target_table(copy_statement: str) -> str:
    return parse_copy_target(copy_statement).replace('"', "").upper()


def history_record(pipe: Pipe, outcome: FileOutcome) -> dict[str, Any]:
    """One line of the batch's history file for `history_insert` (NULLs left out)."""
    error = outcome.error
    values = {
        "pipe_name": pipe.qualified_name,
        "file_path": outcome.path,
        "etag": outcome.etag,
        "file_size": outcome.size,
        "status": outcome.status,
        "row_count": outcome.rows,
        "first_error_line": error.line if error else None,
        "first_error_column": error.column if error else None,
        "first_error_message": error.reason if error else None,
        "last_load_time": outcome.scan_time,
        "load_ms": outcome.load_ms,
        "stage_location": pipe.stage_url,
        "table_name": _target_table(pipe.copy_statement),
    }
    return {k: v for k, v in values.items() if v is not None}


def history_insert(pipe: Pipe, history_file: Path) -> str:
    """One INSERT of every line of `history_file`: the batch's whole history in one short statement.

    A VALUES list would grow with the batch, and fakesnow's SQL translation
    with it (see CopyPlan.insert_sql).
    """
    items = ", ".join(f"CAST(GET_PATH(H, '{name}') AS {kind})" for name, kind in _HISTORY_COLUMNS)
    source = exp.Literal.string(str(history_file)).sql(DIALECT)
    return f"INSERT INTO {history_table(pipe)} SELECT {items} FROM read_ndjson_objects({source}) AS h(H)"


def rejected_insert(pipe: Pipe, rejected: list[RejectedNotification]) -> str:
    rows = [
        f"({_lit(pipe.qualified_name)}, {_lit(r.message_id)}, {_lit(r.reason)}, {_lit(r.body_excerpt)}, "
        "CURRENT_TIMESTAMP())"
        for r in rejected
    ]
    return f"INSERT INTO {rejected_table(pipe)} VALUES {', '.join(rows)}"


@dataclass
class FileOutcome:
    path: str  # s3://bucket/key
    etag: str
    size: int
    status: str
    rows: int
    scan_time: str
    error: RecordError | None = None
    load_ms: int | None = None


@dataclass(frozen=True)
class RejectedNotification:
    message_id: str
    reason: str
    body_excerpt: str


# --------------------------------------------------------------------------
# PIPE_LOAD_HISTORY, the local stand-in
#
# In Snowflake the view reads INFORMATION_SCHEMA.COPY_HISTORY
# (sql/pipe_load_history.sql). fakesnow has no COPY_HISTORY and this worker,
# not Snowflake, keeps the load metadata, so locally the view of the same name
# reads LOCAL_SNOWPIPE.LOAD_HISTORY instead. Its columns and types are taken
# from the cloud view's own SELECT (each column is cast there), so the
# dashboard's dataset fits both. Values follow COPY_HISTORY's documentation
# (https://docs.snowflake.com/en/sql-reference/functions/copy_history):
# FILE_NAME relative to STAGE_LOCATION, STATUS 'Loaded' / 'Load failed',
# PIPE_NAME without database and schema.
_LOCAL_SOURCES = {
    "FILE_NAME": "SUBSTR(file_path, LENGTH(stage_location) + 1)",
    "STAGE_LOCATION": "stage_location",
    "LAST_LOAD_TIME": "last_load_time",
    "ROW_COUNT": "row_count",
    "FILE_SIZE": "file_size",
    "STATUS": f"CASE status WHEN '{LOADED}' THEN 'Loaded' ELSE 'Load failed' END",
    "FIRST_ERROR_MESSAGE": "first_error_message",
    "FIRST_ERROR_LINE_NUMBER": "first_error_line",
    "FIRST_ERROR_COLUMN_NAME": "first_error_column",
    "PIPE_NAME": "SPLIT_PART(pipe_name, '.', 3)",
}


def cloud_view_columns(statement: str) -> list[tuple[str, str]]:
    """(name, Snowflake type) of each column of the cloud PIPE_LOAD_HISTORY's SELECT."""
    select = sqlglot.parse_one(statement, read=DIALECT)
    select = select.expression if isinstance(select, exp.Create) else select
    columns = []
    for item in select.expressions:
        cast = item.this if isinstance(item, exp.Alias) else item
        if not isinstance(cast, exp.Cast):
            raise ValueError(f"PIPE_LOAD_HISTORY column {item.sql(DIALECT)} must be cast to its type")
        columns.append((item.alias_or_name.upper(), cast.to.sql(DIALECT)))
    return columns


def local_pipe_load_history_sql(cloud_statement: str, view: str, history_database: str, table: str) -> str:
    """CREATE VIEW `view` over this worker's load history of `table`, with the cloud view's columns and types."""
    items = []
    for name, kind in cloud_view_columns(cloud_statement):
        if name not in _LOCAL_SOURCES:
            raise ValueError(f"PIPE_LOAD_HISTORY column {name} has no local source in the load history")
        items.append(f"CAST({_LOCAL_SOURCES[name]} AS {kind}) AS {name}")
    return (
        f"CREATE OR REPLACE VIEW {view} AS SELECT {', '.join(items)} "
        f"FROM {history_database}.{HISTORY_SCHEMA}.{HISTORY_TABLE} "
        f"WHERE table_name = {_lit(table.upper())} "
        "AND last_load_time >= DATEADD(HOUR, -24, CURRENT_TIMESTAMP())"
    )
