"""What the local Snowpipe tests (test_snowpipe_*.py) share: put a file, read its load history, wait for the pipe.

Each test writes under its own folder of the stage prefix, so counts are per
test even though the stack is shared by the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest

from local_stack.services.processes import wait_for
from local_stack.snowpipe import load_history
from tests.e2e.conftest import LocalEnv, Worker, worker_log

HISTORY = f"ECOMMERCE_POC.{load_history.HISTORY_SCHEMA}.{load_history.HISTORY_TABLE}"
LOAD_TIMEOUT = 30


def put(env: LocalEnv, key: str, body: bytes) -> str:
    full_key = env.prefix + key
    env.s3.put_object(Bucket=env.bucket, Key=full_key, Body=body)
    return f"s3://{env.bucket}/{full_key}"


def history(db: Any, path: str) -> list[dict[str, Any]]:
    db.execute(
        f"SELECT status, row_count, first_error_line, first_error_column, first_error_message, etag "
        f"FROM {HISTORY} WHERE file_path = %s",
        (path,),
    )
    keys = ("status", "rows", "line", "column", "reason", "etag")
    return [dict(zip(keys, row, strict=True)) for row in db.fetchall()]


def settled(env: LocalEnv, db: Any, path: str) -> dict[str, Any]:
    """Wait for the pipe to record `path`, then return its one history entry."""
    try:
        entries = wait_for(lambda: history(db, path), LOAD_TIMEOUT, f"a load history entry for {path}")
    except TimeoutError:
        pytest.fail(f"{path} was never loaded or skipped; worker log:\n{worker_log(env.state_dir)}")
    assert len(entries) == 1, f"{path} must be recorded once, found {entries}"
    return entries[0]


def drained(env: LocalEnv) -> None:
    def empty() -> bool:
        attributes = env.sqs.get_queue_attributes(
            QueueUrl=env.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(v) == 0 for v in attributes.values())

    try:
        wait_for(empty, LOAD_TIMEOUT, "the pipe's queue draining")
    except TimeoutError:
        pytest.fail(f"notifications stayed in the queue; worker log:\n{worker_log(env.state_dir)}")


def rows_in(db: Any, relation: str, folder: str) -> int:
    db.execute(f"SELECT COUNT(*) FROM {relation} WHERE source_file LIKE %s", (folder + "/%",))
    return db.fetchone()[0]


DROP = object()


def event(**fields: Any) -> dict[str, Any]:
    record = {
        "event_id": "e-1",
        "event_type": "view",
        "event_timestamp": "2025-03-01T12:00:00Z",
        "customer_id": 1,
        "product_id": 1001,
        "quantity": 1,
        "session_id": "s-1",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not DROP}


def lines(*records: dict[str, Any] | bytes) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records)


def good(count: int, tag: str) -> list[dict[str, Any]]:
    return [event(event_id=f"{tag}-{i}") for i in range(count)]


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/")}},
            }
        ]
    }


def queued(env: LocalEnv) -> int:
    attributes = env.sqs.get_queue_attributes(
        QueueUrl=env.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def history_under(db: Any, env: LocalEnv, folder: str) -> list[tuple[str, str, int]]:
    db.execute(
        f"SELECT file_path, status, row_count FROM {HISTORY} WHERE file_path LIKE %s ORDER BY file_path",
        (f"s3://{env.bucket}/{env.prefix}{folder}/%",),
    )
    return db.fetchall()


@contextmanager
def paused(env: LocalEnv, worker: Worker) -> Iterator[None]:
    """Stop the worker so the puts inside queue up and land in one batch; it runs again on exit, whatever happens."""
    worker.stop()
    try:
        yield
    finally:
        worker.restart()
