"""SYSTEM$PIPE_STATUS for the local Snowpipe, from the stack's real state.

Snowflake documents the answer as a JSON object whose name/value pairs appear
"if applicable to the current pipe status"
(https://docs.snowflake.com/en/sql-reference/functions/system_pipe_status):
executionState, pendingFileCount, oldestPendingFilePath, lastIngestedTimestamp,
lastIngestedFilePath, notificationChannelName, numOutstandingMessagesOnChannel,
lastPipeErrorTimestamp, error, ... The local answer keeps that shape and derives
every value from what the local stack really is:

* executionState RUNNING only while a local Snowpipe worker process holds the
  state dir's lock and the pipe's queue exists. A stopped worker leaves
  notifications queued until it starts again, which is what Snowflake's PAUSED
  means ("files queued ... are processed" once resumed), so it reports PAUSED
  with the reason in `error`. A deleted queue (the notification channel) is
  STALLED_INTERNAL_ERROR: in Snowflake the channel is Snowflake's own and the
  user can only recreate the pipe.
* pendingFileCount: notifications the worker has received and not finished
  (SQS in-flight messages); numOutstandingMessagesOnChannel: notifications not
  yet received (SQS visible messages). Approximate, like SQS's own counters.
* lastIngestedTimestamp / lastIngestedFilePath: the newest LOADED row of the
  worker's load history (local_stack/snowpipe/load_history.py).

Local emulation only; the fakesnow server calls `pipe_status` through
local_stack/emulators/fakesnow_compat.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import snowflake.connector.errors

from local_stack.errors import LocalStackError
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes, state

RUNNING = "RUNNING"
PAUSED = "PAUSED"
STALLED_INTERNAL_ERROR = "STALLED_INTERNAL_ERROR"
# The lock the worker holds while it runs (local_stack/snowpipe/worker.py), with its PID inside.
WORKER_LOCK = "snowpipe.lock"
# The load history the worker writes (local_stack/snowpipe/load_history.py).
HISTORY = "{database}.LOCAL_SNOWPIPE.LOAD_HISTORY"


def _not_found(name: str) -> snowflake.connector.errors.ProgrammingError:
    # Snowflake's answer for an unknown or unauthorised object (error 2003).
    return snowflake.connector.errors.ProgrammingError(
        msg=f"SQL compilation error:\nPipe '{name}' does not exist or not authorized.", errno=2003, sqlstate="02000"
    )


def find_pipe(state_dir: Path, name: str, database: str | None, schema: str | None) -> state.Pipe:
    """The pipe named like Snowflake resolves names: unquoted parts upper-cased, the session's db/schema filled in."""
    parts = [p[1:-1] if p.startswith('"') and p.endswith('"') else p.upper() for p in name.split(".")]
    if len(parts) > 3 or not all(parts):
        raise _not_found(name)
    qualified = [database or "", schema or ""][: 3 - len(parts)] + parts
    try:
        pipes = state.read_pipes(state_dir)
    except LocalStackError:
        raise _not_found(name) from None
    for pipe in pipes:
        if [pipe.database, pipe.schema, pipe.name] == qualified:
            return pipe
    raise _not_found(name)


def worker_pid(state_dir: Path) -> int | None:
    """PID of the live local Snowpipe worker of this state dir, or None."""
    try:
        text = (state_dir / WORKER_LOCK).read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or not processes.alive(int(text)):
        return None
    try:
        command = Path(f"/proc/{text}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return None
    # A recycled PID belongs to some other program.
    return int(text) if b"local_stack.snowpipe" in command else None


def _queue_counts(endpoints: state.Endpoints, pipe: state.Pipe) -> tuple[int, int] | None:
    """(not yet received, received and unfinished) notifications, or None when the queue is gone."""
    sqs = local_endpoints.aws_client(endpoints, "sqs")
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=pipe.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _last_ingested(duck: Any, pipe: state.Pipe) -> tuple[Any, str] | None:
    table = HISTORY.format(database=pipe.database)
    try:
        row = duck.execute(
            f"SELECT last_load_time, file_path FROM {table} WHERE pipe_name = ? AND status = 'LOADED' "
            "ORDER BY last_load_time DESC LIMIT 1",
            [pipe.qualified_name],
        ).fetchone()
    except Exception as err:  # duckdb.CatalogException: no history yet (the worker never started)
        if "does not exist" not in str(err):
            raise
        return None
    return row


def _timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def pipe_status(state_dir: Path, name: str, *, database: str | None, schema: str | None, duck: Any) -> dict[str, Any]:
    """The JSON object SYSTEM$PIPE_STATUS(name) answers. `duck` is a DuckDB cursor on fakesnow's database."""
    pipe = find_pipe(state_dir, name, database, schema)
    endpoints = state.read_endpoints(state_dir)
    status: dict[str, Any] = {"executionState": None, "notificationChannelName": pipe.queue_arn}
    counts = _queue_counts(endpoints, pipe)
    pid = worker_pid(state_dir)
    now = _timestamp(dt.datetime.now(dt.UTC))
    if counts is None:
        status["executionState"] = STALLED_INTERNAL_ERROR
        status["error"] = f"notification channel {pipe.queue_arn} does not exist (its SQS queue was deleted)"
        status["lastPipeErrorTimestamp"] = now
    else:
        outstanding, in_flight = counts
        status["pendingFileCount"] = in_flight
        status["numOutstandingMessagesOnChannel"] = outstanding
        if pid is None:
            status["executionState"] = PAUSED
            status["error"] = (
                f"no local Snowpipe worker is running for {state_dir} (no live process holds {WORKER_LOCK}); "
                f"{outstanding} notification(s) wait on the channel"
            )
            status["lastPipeErrorTimestamp"] = now
        else:
            status["executionState"] = RUNNING
    last = _last_ingested(duck, pipe)
    if last is not None:
        status["lastIngestedTimestamp"] = _timestamp(last[0])
        status["lastIngestedFilePath"] = last[1].removeprefix(f"s3://{pipe.bucket}/{pipe.prefix}")
    return status


def pipe_status_json(state_dir: Path, name: str, *, database: str | None, schema: str | None, duck: Any) -> str:
    return json.dumps(pipe_status(state_dir, name, database=database, schema=schema, duck=duck))
