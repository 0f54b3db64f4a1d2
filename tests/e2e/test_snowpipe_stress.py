"""More bad input: a burst of 1,000 files, a 200 MB file, missing objects, malformed queue messages."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from local_stack.services.processes import wait_for
from local_stack.snowpipe import status_report
from tests.e2e.conftest import LocalEnv, Worker, worker_log
from tests.e2e.snowpipe_fixture import (
    LOAD_TIMEOUT,
    drained,
    event,
    good,
    history,
    history_under,
    lines,
    paused,
    put,
    rows_in,
    s3_event,
    settled,
)

pytestmark = pytest.mark.e2e


def test_one_burst_of_1000_files_loads_each_exactly_once(env: LocalEnv, worker: Worker, db: Any) -> None:
    drained(env)
    count, per_file = 1000, 5
    s3 = [env.client("s3") for _ in range(8)]

    def put_one(n: int) -> None:
        body = lines(*good(per_file, f"burst-{n}"))
        s3[n % 8].put_object(Bucket=env.bucket, Key=f"{env.prefix}burst/{n:04d}.ndjson", Body=body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put_one, range(count)))
    try:
        wait_for(lambda: len(history_under(db, env, "burst")) >= count, 180, "1,000 files recorded", interval=0.5)
    except TimeoutError:
        pytest.fail(f"the burst did not load; worker log:\n{worker_log(env.state_dir)}")
    drained(env)
    entries = history_under(db, env, "burst")
    assert len(entries) == count and {(s, c) for _, s, c in entries} == {("LOADED", per_file)}, entries[:3]
    db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM ECOMMERCE_EVENTS WHERE source_file LIKE 'burst/%'")
    assert db.fetchone() == (count * per_file, count * per_file), "every event once, none twice"
    report = status_report.status(env.state_dir)["pipes"][0]
    burst = [f for f in report["files"] if "/burst/" in f["file"]]
    assert len(burst) == count and report["pending_notifications"] == 0, "local-status shows the burst done"


def test_a_200_mb_file_loads_whole(env: LocalEnv, worker: Worker, db: Any, tmp_path: Path) -> None:
    """A 200 MB file loads whole, as in Snowflake.

    Snowflake documents no maximum file size for COPY or Snowpipe: it recommends
    files of "roughly 100-250 MB (or larger) in size compressed", advises
    against very large ones (100 GB or more) and aborts a load that runs over
    24 hours (https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare,
    File sizing best practices). Only a single value over the VARIANT limit
    skips a file (the 16 MiB line case, test_snowpipe_skip_file.py).
    """
    drained(env)
    source = tmp_path / "big.ndjson"
    records = 0
    template = event(event_id="big-{n}", session_id="s-" + "x" * 40)
    with open(source, "wb") as out:  # streamed: never the whole file in the test's memory
        while out.tell() < 200 * 1024 * 1024:
            chunk = b"".join(
                orjson.dumps({**template, "event_id": f"big-{records + i}", "customer_id": (records + i) % 200 + 1})
                + b"\n"
                for i in range(10_000)
            )
            out.write(chunk)
            records += 10_000
    size = source.stat().st_size
    with open(source, "rb") as body:
        env.s3.put_object(Bucket=env.bucket, Key=f"{env.prefix}huge/big.ndjson", Body=body)
    path = f"s3://{env.bucket}/{env.prefix}huge/big.ndjson"
    try:
        entry = wait_for(lambda: history(db, path), 300, "the 200 MB file recorded", interval=1)[0]
    except TimeoutError:
        pytest.fail(f"the 200 MB file never loaded; worker log:\n{worker_log(env.state_dir)}")
    assert size >= 200 * 1024 * 1024
    assert entry["status"] == "LOADED" and entry["rows"] == records, f"{size} bytes, {records} records: {entry}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "huge") == records


def test_file_deleted_before_it_loads_is_reported_not_found(env: LocalEnv, worker: Worker, db: Any) -> None:
    drained(env)
    with paused(env, worker):
        path = put(env, "gone/deleted.ndjson", lines(*good(2, "gone")))
        env.s3.delete_object(Bucket=env.bucket, Key=f"{env.prefix}gone/deleted.ndjson")
    entry = settled(env, db, path)
    assert entry["status"] == "LOAD_FAILED" and entry["rows"] == 0, entry
    assert entry["reason"].startswith(f"Remote file '{path}' was not found"), entry["reason"]
    files = {f["file"]: f for f in status_report.status(env.state_dir)["pipes"][0]["files"]}
    assert files[path]["error"]["reason"] == entry["reason"], "make local-status shows why it did not load"


def test_notification_for_a_key_that_never_existed_is_reported_not_found(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    key = env.prefix + "ghost/never-uploaded.ndjson"
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=json.dumps(s3_event(env.bucket, key)))
    entry = settled(env, db, f"s3://{env.bucket}/{key}")
    assert entry["status"] == "LOAD_FAILED" and "was not found" in entry["reason"], entry
    drained(env)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("this is not json", "not JSON"),
        ('["a", "list"]', "a JSON list, not an object"),
        ('{"Records": "nope"}', "no 'Records' list"),
        ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}', "without s3.bucket.name and s3.object.key"),
    ],
)
def test_malformed_queue_message_is_dropped_and_reported(
    env: LocalEnv, worker: Worker, db: Any, body: str, reason: str
) -> None:
    message_id = env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=body)["MessageId"]
    drained(env)

    def reported() -> dict[str, Any] | None:
        rejected = status_report.status(env.state_dir)["pipes"][0]["rejected_notifications"]
        return next((r for r in rejected if r["message_id"] == message_id), None)

    entry = wait_for(reported, LOAD_TIMEOUT, "the rejected message in local-status")
    assert reason in entry["reason"] and entry["body"] == body[:500], entry
