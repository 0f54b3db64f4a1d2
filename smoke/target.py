"""What the checks need from a stack, whichever kind it is (local_target.py, cloud_target.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class LoadRecord:
    """One file's entry in the pipe's load history (COPY_HISTORY, or the local Snowpipe's history)."""

    file: str
    status: str
    """LOADED, LOAD_FAILED, PARTIALLY_LOADED, LOAD_SKIPPED or LOAD_IN_PROGRESS (COPY_HISTORY's words, upper-cased)."""
    rows: int = 0
    error_line: int | None = None
    error_column: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, kw_only=True)
class SupersetAccess:
    url: str
    username: str
    password: str
    dashboard_url: str


@dataclass(frozen=True, kw_only=True)
class Target:
    """One deployed stack, as the smoke test sees it."""

    description: str
    local: bool
    bucket: str
    events_prefix: str
    pipe: str
    """Fully qualified pipe name, as SYSTEM$PIPE_STATUS takes it."""
    view: str
    """Fully qualified ENRICHED_EVENTS."""
    notification_channel: str
    """The pipe's SQS queue ARN: where the bucket must send ObjectCreated events."""
    s3: Any
    connect: Callable[[], Any]
    """A DB-API connection to the stack's Snowflake, with a warehouse for queries."""
    load_history: Callable[[Any, str], list[LoadRecord]]
    """(cursor, object key) -> the pipe's load records for that file."""
    superset: SupersetAccess | None
    visibility_timeout: float
    """How long to wait for the canary before diagnosing."""
    poll_seconds: float
    storage_integration: str | None = None
    """The stage's storage integration (real stacks), for SYSTEM$VALIDATE_STORAGE_INTEGRATION in a fix."""
