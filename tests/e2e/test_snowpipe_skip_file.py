"""ON_ERROR = SKIP_FILE and other bad input: what the local Snowpipe skips, and the line and reason it records."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from local_stack.services.processes import wait_for
from local_stack.snowpipe import status_report
from tests.e2e.conftest import LocalEnv, Worker
from tests.e2e.snowpipe_fixture import (
    DROP,
    LOAD_TIMEOUT,
    drained,
    event,
    good,
    history,
    lines,
    put,
    rows_in,
    s3_event,
    settled,
)

pytestmark = pytest.mark.e2e


# Named ids: the bodies are bytes (a gzip header carries its mtime), and xdist needs every worker to collect
# the same test ids.
BAD_FILES = [
    (
        "malformed_line",
        lines(*good(2, "malformed"), b'{"event_id": "x", "event_type": ', *good(2, "malformed2")),
        3,
        None,
        "Error parsing JSON",
    ),
    (
        "wrong_type",
        lines(event(event_id="wt-1"), event(event_id="wt-2", customer_id="abc")),
        2,
        "CUSTOMER_ID",
        "Numeric value 'abc' is not recognized",
    ),
    (
        "wrong_type_timestamp",
        lines(event(event_id="wtt-1", event_timestamp="yesterday-ish")),
        1,
        "EVENT_TIMESTAMP",
        "Timestamp 'yesterday-ish' is not recognized",
    ),
    (
        "missing_required",
        lines(*good(3, "mr"), event(event_id="mr-x", event_timestamp=DROP)),
        4,
        "EVENT_TIMESTAMP",
        "NULL result in a non-nullable column EVENT_TIMESTAMP",
    ),
    (
        "not_json_object",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary bytes",
        1,
        None,
        "Error parsing JSON",
    ),
    (
        "line_over_16_mib",
        gzip.compress(lines(event(event_id="big", padding="x" * (17 * 1024 * 1024)))),
        1,
        None,
        "Max LOB size (16777216) exceeded",
    ),
]


@pytest.mark.parametrize(("case", "body", "line", "column", "reason"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_is_skipped_whole_with_line_and_reason(
    env: LocalEnv, worker: Worker, db: Any, case: str, body: bytes, line: int, column: str | None, reason: str
) -> None:
    path = put(env, f"bad/{case}.ndjson", body)
    entry = settled(env, db, path)
    assert entry["status"] == "LOAD_FAILED", f"{case}: a bad file must be skipped, got {entry}"
    assert entry["rows"] == 0, f"{case}: a skipped file loads nothing"
    assert entry["line"] == line, f"{case}: the first bad line is {line}, recorded {entry['line']}"
    assert entry["column"] == column, f"{case}: column {column} expected, recorded {entry['column']}"
    assert entry["reason"].startswith(reason), f"{case}: reason {entry['reason']!r} should start with {reason!r}"
    db.execute("SELECT COUNT(*) FROM ECOMMERCE_EVENTS WHERE source_file = %s", (f"bad/{case}.ndjson",))
    assert db.fetchone()[0] == 0, f"{case}: ON_ERROR = SKIP_FILE must load none of the file's rows"


def test_empty_file_is_loaded_with_zero_rows(env: LocalEnv, worker: Worker, db: Any) -> None:
    for name, body in (("empty.ndjson", b""), ("blank.ndjson", b"\n \n\n"), ("empty.ndjson.gz", gzip.compress(b""))):
        entry = settled(env, db, put(env, f"empty/{name}", body))
        assert entry == {**entry, "status": "LOADED", "rows": 0, "reason": None}, f"{name}: {entry}"


def test_status_reports_loaded_and_skipped_files(env: LocalEnv, worker: Worker, db: Any) -> None:
    ok = put(env, "status/ok.ndjson", lines(*good(5, "status")))
    bad = put(env, "status/bad.ndjson", lines(event(event_id="st-bad", quantity="many")))
    settled(env, db, ok)
    settled(env, db, bad)
    files = {f["file"]: f for f in status_report.status(env.state_dir)["pipes"][0]["files"]}
    assert files[ok]["status"] == "LOADED" and files[ok]["rows_loaded"] == 5, f"status for {ok}: {files[ok]}"
    assert files[bad]["error"] == {
        "line": 1,
        "column": "QUANTITY",
        "reason": "Numeric value 'many' is not recognized",
    }, f"status for {bad}: {files[bad]}"
    # `make local-status` prints this report as JSON: it must survive the round trip unchanged.
    report = status_report.status(env.state_dir)
    assert json.loads(json.dumps(report)) == report, "the status report must be plain JSON (no dates, decimals)"


def test_object_outside_the_stage_prefix_is_ignored(env: LocalEnv, worker: Worker, db: Any) -> None:
    body = lines(*good(3, "outside"))
    env.s3.put_object(Bucket=env.bucket, Key="elsewhere/outside.ndjson", Body=body)
    # S3's prefix filter already keeps this one away; the worker must also
    # refuse a notification for it (a wider filter, a hand-made message).
    notification = s3_event(env.bucket, "elsewhere/outside.ndjson")
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=json.dumps(notification))
    drained(env)
    assert history(db, f"s3://{env.bucket}/elsewhere/outside.ndjson") == [], "outside the stage: never recorded"
    db.execute("SELECT COUNT(*) FROM ECOMMERCE_EVENTS WHERE event_id LIKE 'outside-%'")
    assert db.fetchone()[0] == 0, "an object outside the stage prefix must not load"


def test_duplicate_notification_loads_nothing_new(env: LocalEnv, worker: Worker, db: Any) -> None:
    path = put(env, "dupes/once.ndjson", lines(*good(4, "dupnote")))
    settled(env, db, path)
    message = json.dumps(s3_event(env.bucket, env.prefix + "dupes/once.ndjson"))
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=message)
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=message)
    drained(env)
    assert rows_in(db, "ECOMMERCE_EVENTS", "dupes") == 4, "a redelivered notification must not load the file again"
    assert len(history(db, path)) == 1, "the load history must keep one entry per file"


def test_same_file_uploaded_twice_loads_once_and_new_content_loads_again(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    body = lines(*good(6, "twice"))
    path = put(env, "twice/same.ndjson", body)
    put(env, "twice/same.ndjson", body)
    drained(env)
    entries = history(db, path)
    assert len(entries) == 1 and entries[0]["rows"] == 6, f"identical re-upload (same ETag) loads nothing: {entries}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "twice") == 6, "identical re-upload must not duplicate rows"

    put(env, "twice/same.ndjson", lines(*good(2, "twice-v2")))
    wait_for(lambda: len(history(db, path)) == 2, LOAD_TIMEOUT, "the modified file loading")
    assert rows_in(db, "ECOMMERCE_EVENTS", "twice") == 8, "a modified file (new ETag) is a new file"


def test_very_long_line_loads(env: LocalEnv, worker: Worker, db: Any) -> None:
    padding = "p" * (2 * 1024 * 1024)
    path = put(env, "long/line.ndjson", lines(event(event_id="long-1", padding=padding), event(event_id="long-2")))
    entry = settled(env, db, path)
    assert entry["status"] == "LOADED" and entry["rows"] == 2, f"a 2 MiB record is within Snowflake's limit: {entry}"
    db.execute("SELECT raw_event FROM ECOMMERCE_EVENTS WHERE event_id = 'long-1'")
    assert json.loads(db.fetchone()[0])["padding"] == padding, "RAW_EVENT must keep the long field whole"


def test_non_ascii_text_round_trips(env: LocalEnv, worker: Worker, db: Any) -> None:
    session = "sessão-東京-😀"
    note = "Ünïcødé ✓ «quoted» \u200b"
    body = b"\xef\xbb\xbf" + lines(event(event_id="utf-1", session_id=session, note=note))
    path = put(env, "utf8/é 東京+plus.ndjson", body)
    entry = settled(env, db, path)
    assert entry["status"] == "LOADED" and entry["rows"] == 1, f"UTF-8 with a BOM must load: {entry}"
    db.execute("SELECT session_id, raw_event, source_file FROM ECOMMERCE_EVENTS WHERE event_id = 'utf-1'")
    session_id, raw, source = db.fetchone()
    assert session_id == session, f"non-ASCII SESSION_ID changed: {session_id!r}"
    assert json.loads(raw)["note"] == note, "non-ASCII extra field changed in RAW_EVENT"
    assert source == "utf8/é 東京+plus.ndjson", f"the URL-encoded key must be decoded: {source!r}"

    broken = put(env, "utf8/invalid.ndjson", lines(event(event_id="utf-2")).replace(b"s-1", b"s-\xff"))
    assert settled(env, db, broken)["status"] == "LOAD_FAILED", "invalid UTF-8 must skip the file"


def test_unknown_event_type_loads_as_is(env: LocalEnv, worker: Worker, db: Any) -> None:
    path = put(env, "unknown/type.ndjson", lines(event(event_id="wish-1", event_type="wishlist_add")))
    entry = settled(env, db, path)
    assert entry["status"] == "LOADED", f"no CHECK on EVENT_TYPE: Snowflake would load it: {entry}"
    db.execute("SELECT event_type FROM ENRICHED_EVENTS WHERE event_id = 'wish-1'")
    assert db.fetchone()[0] == "wishlist_add", "the unknown event type must be kept as sent"
