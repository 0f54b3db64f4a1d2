"""The load history inside fakesnow: which file (path + ETag) each pipe loaded or skipped, and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot import exp

from local_stack.snowpipe.copy_plan import DIALECT
from local_stack.snowpipe.pipes import PipeSpec
from local_stack.snowpipe.record_checks import RecordError

HISTORY_SCHEMA = "LOCAL_SNOWPIPE"
HISTORY_TABLE = "LOAD_HISTORY"
REJECTED_TABLE = "REJECTED_NOTIFICATIONS"

LOADED = "LOADED"
LOAD_FAILED = "LOAD_FAILED"


def history_table(pipe: PipeSpec) -> str:
    return f"{pipe.database}.{HISTORY_SCHEMA}.{HISTORY_TABLE}"


def rejected_table(pipe: PipeSpec) -> str:
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
            load_ms NUMBER(38, 0)
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


def ensure_history(cursor: Any, pipe: PipeSpec) -> None:
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
)


def history_record(pipe: PipeSpec, outcome: FileOutcome) -> dict[str, Any]:
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
    }
    return {k: v for k, v in values.items() if v is not None}


def history_insert(pipe: PipeSpec, history_file: Path) -> str:
    """One INSERT of every line of `history_file`: the batch's whole history in one short statement.

    A VALUES list would grow with the batch, and fakesnow's SQL translation
    with it (see CopyPlan.insert_sql).
    """
    items = ", ".join(f"CAST(GET_PATH(H, '{name}') AS {kind})" for name, kind in _HISTORY_COLUMNS)
    source = exp.Literal.string(str(history_file)).sql(DIALECT)
    return f"INSERT INTO {history_table(pipe)} SELECT {items} FROM read_ndjson_objects({source}) AS h(H)"


def rejected_insert(pipe: PipeSpec, rejected: list[RejectedNotification]) -> str:
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
