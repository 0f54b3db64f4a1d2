"""What each pipe has done so far, from its load history and its queue: `make local-status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import snowflake.connector.errors

from local_stack.services import endpoints as local_endpoints
from local_stack.services.state import read_endpoints, read_pipes
from local_stack.snowpipe.load_history import LOAD_FAILED, LOADED, history_table, rejected_table


def status(state_dir: str | Path = ".local") -> dict[str, Any]:
    """Every file each pipe has seen: rows loaded, or the error that skipped it.

    JSON-able; `make local-status` prints it.
    """
    state_dir = Path(state_dir)
    endpoints = read_endpoints(state_dir)
    report: dict[str, Any] = {"pipes": []}
    connection = local_endpoints.connect_snowflake(endpoints)
    try:
        cursor = connection.cursor()
        sqs = local_endpoints.aws_client(endpoints, "sqs")
        for pipe in read_pipes(state_dir):
            files = []
            try:
                cursor.execute(
                    "SELECT file_path, etag, file_size, status, row_count, first_error_line, "
                    "first_error_column, first_error_message, last_load_time, load_ms "
                    f"FROM {history_table(pipe)} WHERE pipe_name = %s ORDER BY last_load_time, file_path",
                    (pipe.qualified_name,),
                )
                rows = cursor.fetchall()
            except snowflake.connector.errors.ProgrammingError as err:
                if "does not exist" not in str(err):
                    raise
                rows = []  # no history table yet: the worker never started
            for path, etag, size, state, count, line, column, message, when, load_ms in rows:
                files.append(
                    {
                        "file": path,
                        "etag": etag,
                        "size": int(size) if size is not None else None,
                        "status": state,
                        "rows_loaded": int(count),
                        "error": None
                        if state == LOADED
                        else {"line": int(line) if line is not None else None, "column": column, "reason": message},
                        "last_load_time": when.isoformat() if hasattr(when, "isoformat") else str(when),
                        "load_ms": int(load_ms) if load_ms is not None else None,
                    }
                )
            rejected = []
            try:
                cursor.execute(
                    f"SELECT message_id, reason, body_excerpt, received_at FROM {rejected_table(pipe)} "
                    "WHERE pipe_name = %s ORDER BY received_at",
                    (pipe.qualified_name,),
                )
                rejected = [
                    {"message_id": m, "reason": r, "body": b, "received_at": str(t)} for m, r, b, t in cursor.fetchall()
                ]
            except snowflake.connector.errors.ProgrammingError as err:
                if "does not exist" not in str(err):
                    raise
            attributes = sqs.get_queue_attributes(
                QueueUrl=pipe.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            report["pipes"].append(
                {
                    "name": pipe.qualified_name,
                    "stage_url": pipe.stage_url,
                    "files_loaded": sum(f["status"] == LOADED for f in files),
                    "files_skipped": sum(f["status"] == LOAD_FAILED for f in files),
                    "rows_loaded": sum(f["rows_loaded"] for f in files),
                    "pending_notifications": int(attributes.get("ApproximateNumberOfMessages", 0))
                    + int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    "files": files,
                    # Queue messages that were not S3 event notifications: ignored, as Snowflake does.
                    "rejected_notifications": rejected,
                }
            )
    finally:
        connection.close()
    return report
