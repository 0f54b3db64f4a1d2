"""The load history inside fakesnow: which file (path + ETag) each pipe loaded or skipped, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from local_stack.snowpipe.copy_plan import DIALECT
from local_stack.snowpipe.pipes import PipeSpec
from local_stack.snowpipe.record_checks import RecordError

HISTORY_SCHEMA = "LOCAL_SNOWPIPE"
HISTORY_TABLE = "LOAD_HISTORY"

LOADED = "LOADED"
LOAD_FAILED = "LOAD_FAILED"


def history_table(pipe: PipeSpec) -> str:
    return f"{pipe.database}.{HISTORY_SCHEMA}.{HISTORY_TABLE}"


def ensure_history(cursor: Any, pipe: PipeSpec) -> None:
    # A schema of its own keeps the load history out of ANALYTICS, which the
    # dashboards browse.
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {pipe.database}.{HISTORY_SCHEMA}")
    cursor.execute(
        f"""CREATE TABLE IF NOT EXISTS {history_table(pipe)} (
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
        )"""
    )


def history_insert(pipe: PipeSpec, outcome: FileOutcome) -> str:
    def lit(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, int):
            return str(value)
        return exp.Literal.string(str(value)).sql(DIALECT)

    error = outcome.error
    values = [
        pipe.qualified_name,
        outcome.path,
        outcome.etag,
        outcome.size,
        outcome.status,
        outcome.rows,
        error.line if error else None,
        error.column if error else None,
        error.reason if error else None,
    ]
    return (
        f"INSERT INTO {history_table(pipe)} VALUES ({', '.join(lit(v) for v in values)}, "
        f"CAST({lit(outcome.scan_time)} AS TIMESTAMP_LTZ), {lit(outcome.load_ms)})"
    )


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
