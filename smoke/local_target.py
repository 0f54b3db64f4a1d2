"""The local stack as a smoke target, from its typed state (.local/endpoints.json, .local/pipes.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smoke.target import LoadRecord, SupersetAccess, Target

# The view's name is part of the contract (docs/operations.md, sql/enriched_events.sql).
VIEW = "ENRICHED_EVENTS"


def local_target(state_dir: Path, *, timeout: float = 30.0) -> Target:
    from local_stack.errors import LocalStackError
    from local_stack.services import endpoints as local_endpoints
    from local_stack.services import state
    from local_stack.snowpipe.load_history import HISTORY_SCHEMA, HISTORY_TABLE

    endpoints = state.read_endpoints(state_dir)
    pipes = state.read_pipes(state_dir)
    if len(pipes) != 1:
        raise LocalStackError(f"{state_dir}: expected one pipe, found {[p.qualified_name for p in pipes]}")
    (pipe,) = pipes
    history_table = f"{pipe.database}.{HISTORY_SCHEMA}.{HISTORY_TABLE}"

    def load_history(cursor: Any, key: str) -> list[LoadRecord]:
        import snowflake.connector.errors

        try:
            cursor.execute(
                "SELECT file_path, status, row_count, first_error_line, first_error_column, first_error_message "
                f"FROM {history_table} WHERE pipe_name = %s AND file_path = %s ORDER BY last_load_time",
                (pipe.qualified_name, f"s3://{pipe.bucket}/{key}"),
            )
        except snowflake.connector.errors.ProgrammingError as err:
            if "does not exist" not in str(err):
                raise
            return []  # no history table: the worker never started
        return [
            LoadRecord(
                file=path, status=status, rows=int(rows), error_line=None if line is None else int(line),
                error_column=column, error_message=message,
            )
            for path, status, rows, line, column, message in cursor.fetchall()
        ]  # fmt: skip

    superset = None
    if endpoints.dashboard_url and endpoints.superset_url:
        superset = SupersetAccess(
            url=endpoints.superset_url,
            username=endpoints.superset_username or "",
            password=endpoints.superset_password or "",
            dashboard_url=endpoints.dashboard_url,
        )
    return Target(
        description=f"local stack ({state_dir})",
        local=True,
        bucket=endpoints.bucket,
        events_prefix=endpoints.events_prefix,
        pipe=pipe.qualified_name,
        view=f"{endpoints.snowflake.database}.{endpoints.snowflake.schema}.{VIEW}",
        notification_channel=pipe.queue_arn,
        s3=local_endpoints.aws_client(endpoints, "s3"),
        connect=lambda: local_endpoints.connect_snowflake(endpoints, user="smoke", network_timeout=60),
        load_history=load_history,
        superset=superset,
        visibility_timeout=timeout,
        poll_seconds=0.1,
    )
