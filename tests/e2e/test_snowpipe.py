"""The local Snowpipe on real moto and fakesnow servers: what lands, what is skipped, and why.

Each test writes under its own folder of the stage prefix, so counts are per
test even though the stack is shared by the session.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from infra import sql_source
from local_stack import producer, shopping
from local_stack.harness import stop_process
from local_stack.snowpipe import load_history, status_report
from local_stack.snowpipe.worker import FAIL_BEFORE_COMMIT_ENV
from tests.e2e.conftest import ROOT, LocalEnv, Worker, wait_until, worker_log

pytestmark = pytest.mark.e2e

HISTORY = f"ECOMMERCE_POC.{load_history.HISTORY_SCHEMA}.{load_history.HISTORY_TABLE}"
LOAD_TIMEOUT = 30


@pytest.fixture(scope="module")
def db(env: LocalEnv) -> Any:
    connection = env.connect()
    yield connection.cursor()
    connection.close()


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
        entries = wait_until(lambda: history(db, path), LOAD_TIMEOUT, f"a load history entry for {path}")
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
        wait_until(empty, LOAD_TIMEOUT, "the pipe's queue draining")
    except TimeoutError:
        pytest.fail(f"notifications stayed in the queue; worker log:\n{worker_log(env.state_dir)}")


def rows_in(db: Any, relation: str, folder: str) -> int:
    db.execute(f"SELECT COUNT(*) FROM {relation} WHERE source_file LIKE %s", (folder + "/%",))
    return db.fetchone()[0]


_DROP = object()


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
    return {k: v for k, v in record.items() if v is not _DROP}


def lines(*records: dict[str, Any] | bytes) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records)


def good(count: int, tag: str) -> list[dict[str, Any]]:
    return [event(event_id=f"{tag}-{i}") for i in range(count)]


# --------------------------------------------------------------------------
# Loads


def test_events_appear_in_table_and_view_with_exact_counts(env: LocalEnv, worker: Worker, db: Any) -> None:
    batches = [shopping.generate_events(2_000, seed=seed) for seed in (11, 12, 13)]
    paths = [
        put(env, "loads/a.ndjson.gz", producer.ndjson_gz(batches[0])),
        put(env, "loads/b.ndjson", producer.ndjson(batches[1])),
        # gzip without .gz: COMPRESSION = AUTO goes by the magic bytes
        put(env, "loads/c.json", producer.ndjson_gz(batches[2])),
    ]
    for path, batch in zip(paths, batches, strict=True):
        entry = settled(env, db, path)
        assert entry["status"] == "LOADED" and entry["rows"] == len(batch), f"{path}: {entry}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "loads") == 6_000, "ECOMMERCE_EVENTS must hold every uploaded event"
    assert rows_in(db, "ENRICHED_EVENTS", "loads") == 6_000, "ENRICHED_EVENTS must show every loaded event"
    db.execute("SELECT COUNT(DISTINCT event_id) FROM ECOMMERCE_EVENTS WHERE source_file LIKE 'loads/%'")
    assert db.fetchone()[0] == 6_000, "event ids must not repeat"

    sample = batches[1][0]
    db.execute(
        "SELECT e.event_type, e.event_timestamp, e.customer_id, e.product_id, e.quantity, e.session_id, "
        "e.source_file, e.raw_event, v.product_name, v.category "
        "FROM ECOMMERCE_EVENTS AS e JOIN ENRICHED_EVENTS AS v ON v.event_id = e.event_id WHERE e.event_id = %s",
        (sample["event_id"],),
    )
    event_type, ts, customer, product, quantity, session, source, raw, product_name, category = db.fetchone()
    assert (event_type, customer, product, quantity, session) == (
        sample["event_type"],
        sample["customer_id"],
        sample["product_id"],
        sample["quantity"],
        sample["session_id"],
    ), "projected columns must carry the event's fields"
    assert ts.isoformat(timespec="milliseconds") == sample["event_timestamp"].rstrip("Z"), "timestamp cast"
    assert source == "loads/b.ndjson", "SOURCE_FILE is METADATA$FILENAME: the path relative to the stage"
    assert json.loads(raw) == sample, "RAW_EVENT keeps the whole record"
    assert product_name and category, "the view must join the product catalogue"


def _reference(name: str) -> dict[int, dict[str, str]]:
    with open(ROOT / "reference_data" / name, newline="", encoding="utf-8") as f:
        return {int(row[next(iter(row))]): row for row in csv.DictReader(f)}


def _expected_dashboards(events: list[dict[str, Any]]) -> dict[str, list[tuple]]:
    products, customers = _reference("products.csv"), _reference("customers.csv")
    revenue_by_category: dict[Any, Decimal] = defaultdict(Decimal)
    by_age: dict[Any, tuple[set, Decimal]] = defaultdict(lambda: (set(), Decimal(0)))
    units: dict[Any, int] = defaultdict(int)
    by_location: dict[Any, Decimal] = defaultdict(Decimal)
    for e in events:
        if e["event_type"] != "purchase":
            continue
        product = products.get(int(e["product_id"]))
        customer = customers.get(int(e["customer_id"]))
        price = Decimal(product["price"]) if product else None
        revenue = price * int(e["quantity"]) if price is not None else None
        category = product["category"] if product else None
        age_group = customer["age_group"] if customer else None
        location = customer["location"] if customer else None
        if revenue is not None:
            revenue_by_category[category] += revenue
            by_location[location] += revenue
        ids, total = by_age[age_group]
        ids.add(int(e["customer_id"]))
        by_age[age_group] = (ids, total + (revenue or 0))
        units[product["name"] if product else None] += int(e["quantity"])
    top = sorted(units.items(), key=lambda kv: (-kv[1], kv[0] or ""))[:10]
    return {
        "total_revenue_by_product_category": sorted(revenue_by_category.items(), key=lambda kv: -kv[1]),
        "customer_segmentation_by_age_group": sorted(
            ((age, len(ids), total) for age, (ids, total) in by_age.items()), key=lambda r: r[0] or "~"
        ),
        "top_products_by_sales_volume": top,
        "revenue_by_customer_location": sorted(by_location.items(), key=lambda kv: -kv[1]),
    }


def _normalise(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(Decimal(str(v)), 2) if isinstance(v, float | Decimal) else v for v in row) for row in rows]


def test_dashboard_queries_equal_python_over_the_uploaded_files(env: LocalEnv, worker: Worker, db: Any) -> None:
    for seed in (21, 22):
        path = put(env, f"dashboards/{seed}.ndjson.gz", producer.ndjson_gz(shopping.generate_events(3_000, seed=seed)))
        settled(env, db, path)
    drained(env)
    # Every file the pipe loaded so far, read back from S3: the view holds
    # exactly these events, whatever other tests uploaded before.
    db.execute(f"SELECT file_path FROM {HISTORY} WHERE status = 'LOADED'")
    events = []
    for (path,) in db.fetchall():
        key = path.removeprefix(f"s3://{env.bucket}/")
        body = env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read()
        text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        events += [orjson.loads(line) for line in text.splitlines() if line.strip()]
    assert any(e["event_type"] == "purchase" for e in events), "the test data must contain purchases"
    expected = _expected_dashboards(events)
    for name, query in sql_source.dashboard_queries().items():
        db.execute(query)
        actual = _normalise(db.fetchall())
        wanted = _normalise(expected[name])
        if name == "top_products_by_sales_volume":
            assert actual == wanted, f"{name}: fakesnow {actual} != python {wanted}"
        else:
            assert sorted(actual, key=str) == sorted(wanted, key=str), f"{name}: fakesnow {actual} != python {wanted}"


# --------------------------------------------------------------------------
# ON_ERROR = SKIP_FILE and other bad input


@pytest.mark.parametrize(
    ("case", "body", "line", "column", "reason"),
    [
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
            lines(*good(3, "mr"), event(event_id="mr-x", event_timestamp=_DROP)),
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
    ],
)
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
    notification = _s3_event(env.bucket, "elsewhere/outside.ndjson")
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=json.dumps(notification))
    drained(env)
    assert history(db, f"s3://{env.bucket}/elsewhere/outside.ndjson") == [], "outside the stage: never recorded"
    db.execute("SELECT COUNT(*) FROM ECOMMERCE_EVENTS WHERE event_id LIKE 'outside-%'")
    assert db.fetchone()[0] == 0, "an object outside the stage prefix must not load"


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
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


def test_duplicate_notification_loads_nothing_new(env: LocalEnv, worker: Worker, db: Any) -> None:
    path = put(env, "dupes/once.ndjson", lines(*good(4, "dupnote")))
    settled(env, db, path)
    message = json.dumps(_s3_event(env.bucket, env.prefix + "dupes/once.ndjson"))
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
    wait_until(lambda: len(history(db, path)) == 2, LOAD_TIMEOUT, "the modified file loading")
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


# --------------------------------------------------------------------------
# Batches, failures and recovery


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


def restart_and_wait(env: LocalEnv, worker: Worker, extra_env: dict[str, str] | None = None) -> None:
    baseline = worker_log(env.state_dir, whole=True).count("local Snowpipe running")
    worker.restart(extra_env)
    wait_until(
        lambda: worker_log(env.state_dir, whole=True).count("local Snowpipe running") > baseline,
        LOAD_TIMEOUT,
        "the restarted worker polling",
    )
    assert worker.process.poll() is None, f"the worker died on start:\n{worker_log(env.state_dir)}"


def stopped(env: LocalEnv, worker: Worker) -> None:
    """Stop the worker so the next puts queue up and land in one batch when it starts."""
    stop_process(worker.process)


def test_failure_between_rows_and_commit_leaves_nothing_then_every_file_loads_once(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    """A batch that fails after its INSERTs and before COMMIT leaves zero rows, zero history, messages queued.

    The worker's test hook (LOCAL_SNOWPIPE_FAIL_BEFORE_COMMIT) raises inside the
    transaction, after the rows and the history rows were inserted. Broken on
    purpose once: running the hook after COMMIT instead made this test fail on
    "zero rows" (5,000 rows were there).
    """
    drained(env)
    files, per_file = 10, 500
    marker = "inject/"
    stopped(env, worker)
    for n in range(files):
        put(env, f"inject/{n:02d}.ndjson.gz", producer.ndjson_gz(shopping.generate_events(per_file, seed=300 + n)))
    bad = put(env, "inject/bad.ndjson", lines(event(event_id="inj-bad", quantity="lots")))
    before = worker_log(env.state_dir, whole=True).count("injected before COMMIT")
    try:
        restart_and_wait(env, worker, {FAIL_BEFORE_COMMIT_ENV: marker})
        # Twice: the first attempt failed and the redelivered messages failed again.
        wait_until(
            lambda: worker_log(env.state_dir, whole=True).count("injected before COMMIT") >= before + 2,
            LOAD_TIMEOUT,
            "the injected failure, twice",
        )
        assert rows_in(db, "ECOMMERCE_EVENTS", "inject") == 0, "a failed batch must leave no rows"
        assert history_under(db, env, "inject") == [], "a failed batch must leave no load history"
        assert queued(env) == files + 1, "every message of a failed batch must stay on the queue"
    finally:
        restart_and_wait(env, worker)
    wait_until(lambda: len(history_under(db, env, "inject")) == files + 1, LOAD_TIMEOUT, "recovery")
    drained(env)
    db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM ECOMMERCE_EVENTS WHERE source_file LIKE 'inject/%'")
    total, distinct = db.fetchone()
    assert total == distinct == files * per_file, f"after recovery: {total} rows, {distinct} distinct"
    entries = {path: (state, count) for path, state, count in history_under(db, env, "inject")}
    assert entries.pop(bad) == ("LOAD_FAILED", 0), "the bad file of the batch is skipped once"
    assert set(entries.values()) == {("LOADED", per_file)}, f"each good file loads exactly once: {entries}"


def test_a_cast_only_duckdb_refuses_rolls_back_the_batch_and_spares_its_neighbours(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    """The worker's rollback path: the batch INSERT fails on a cast, the batch reloads file by file.

    `"1e400"` passes the Python NUMBER check (a finite decimal) but DuckDB
    cannot cast it to NUMBER(38,0), so the batch's INSERT raises a data error
    inside the transaction. Broken on purpose once: treating the batch's data
    error as the first file's (no reload file by file) skipped a good
    neighbour; this test failed.
    """
    drained(env)
    stopped(env, worker)
    good_paths = [put(env, f"refused/good-{n}.ndjson", lines(*good(3, f"refused-{n}"))) for n in range(4)]
    body = lines(event(event_id="ref-1"), event(event_id="ref-2", customer_id="1e400"))
    bad = put(env, "refused/huge-number.ndjson", body)
    restart_and_wait(env, worker)
    for path in good_paths:
        entry = settled(env, db, path)
        assert entry["status"] == "LOADED" and entry["rows"] == 3, f"a neighbour of a refused file must load: {entry}"
    entry = settled(env, db, bad)
    assert entry["status"] == "LOAD_FAILED" and entry["rows"] == 0, f"the refused file is skipped: {entry}"
    assert "1e400" in entry["reason"], f"the reason must name the value DuckDB refused: {entry['reason']}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "refused") == 12, "exactly the four good files' rows"
    assert "loading them one by one" in worker_log(env.state_dir), "the batch must have been rolled back first"


# --------------------------------------------------------------------------
# More bad input: bursts, a 200 MB file, missing objects, malformed messages


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
        wait_until(lambda: len(history_under(db, env, "burst")) >= count, 180, "1,000 files recorded", interval=0.5)
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
    skips a file (the 16 MiB line case above).
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
        entry = wait_until(lambda: history(db, path), 300, "the 200 MB file recorded", interval=1)[0]
    except TimeoutError:
        pytest.fail(f"the 200 MB file never loaded; worker log:\n{worker_log(env.state_dir)}")
    assert size >= 200 * 1024 * 1024
    assert entry["status"] == "LOADED" and entry["rows"] == records, f"{size} bytes, {records} records: {entry}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "huge") == records


def test_file_deleted_before_it_loads_is_reported_not_found(env: LocalEnv, worker: Worker, db: Any) -> None:
    drained(env)
    stopped(env, worker)
    path = put(env, "gone/deleted.ndjson", lines(*good(2, "gone")))
    env.s3.delete_object(Bucket=env.bucket, Key=f"{env.prefix}gone/deleted.ndjson")
    restart_and_wait(env, worker)
    entry = settled(env, db, path)
    assert entry["status"] == "LOAD_FAILED" and entry["rows"] == 0, entry
    assert entry["reason"].startswith(f"Remote file '{path}' was not found"), entry["reason"]
    files = {f["file"]: f for f in status_report.status(env.state_dir)["pipes"][0]["files"]}
    assert files[path]["error"]["reason"] == entry["reason"], "make local-status shows why it did not load"


def test_notification_for_a_key_that_never_existed_is_reported_not_found(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    key = env.prefix + "ghost/never-uploaded.ndjson"
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=json.dumps(_s3_event(env.bucket, key)))
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

    entry = wait_until(reported, LOAD_TIMEOUT, "the rejected message in local-status")
    assert reason in entry["reason"] and entry["body"] == body[:500], entry


# --------------------------------------------------------------------------
# Error notifications (the pipe's ERROR_INTEGRATION)


def test_skipped_file_publishes_snowflakes_error_notification_to_the_pipes_topic(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    """The documented INGEST_FAILED_FILE message reaches an SQS queue subscribed to the pipe's SNS topic.

    Broken on purpose once: publishing for LOADED instead of LOAD_FAILED files
    sent a notification for the good file only; this test failed.
    """
    # The topic the program's ErrorNotifications deployed into moto; the local
    # deploy hands it to the worker in pipes.json.
    topic = env.pipes[0].error_topic_arn
    assert topic, "the local deploy must record the pipe's error topic in pipes.json"
    sns, sqs = env.client("sns"), env.sqs
    inbox = sqs.create_queue(QueueName="snowpipe-errors-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    good_path = put(env, "notify/good.ndjson", lines(*good(2, "notify")))
    bad_path = put(env, "notify/bad.ndjson", lines(event(event_id="nt-1"), event(event_id="nt-2", quantity="x")))
    settled(env, db, good_path)
    settled(env, db, bad_path)
    received = wait_until(
        lambda: sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"),
        LOAD_TIMEOUT,
        "an error notification",
    )
    time.sleep(1)  # anything else published for this folder would be here by now
    received += sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    messages = [json.loads(json.loads(m["Body"])["Message"]) for m in received]
    # Earlier tests' skipped files may still be published as this one starts: only this folder counts.
    mine = [m for m in messages if m["messages"][0]["fileName"].startswith("notify/")]
    assert len(mine) == 1, f"one notification, for the skipped file only: {mine}"
    message = mine[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message.pop("timestamp")), "ISO 8601 UTC"
    assert uuid.UUID(message.pop("messageId")), "a unique message id"
    pipe = env.pipes[0]
    assert message == {
        "version": "1.0",
        "messageType": "INGEST_FAILED_FILE",
        "accountName": "LOCAL",
        "pipeName": "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS_PIPE",
        "tableName": "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS",
        "stageLocation": pipe.stage_url,
        "messages": [{"fileName": "notify/bad.ndjson", "firstError": "Numeric value 'x' is not recognized"}],
    }, message
