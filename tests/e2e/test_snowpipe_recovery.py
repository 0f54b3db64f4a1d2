"""Batches, failures and recovery: a batch that fails before COMMIT or on a cast leaves nothing half-loaded."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack import producer, shopping
from local_stack.services.processes import wait_for
from local_stack.snowpipe.worker import FAIL_BEFORE_COMMIT_ENV
from tests.e2e.conftest import LocalEnv, Worker, worker_log
from tests.e2e.snowpipe_fixture import (
    LOAD_TIMEOUT,
    drained,
    event,
    good,
    history_under,
    lines,
    paused,
    put,
    queued,
    rows_in,
    settled,
)

pytestmark = pytest.mark.e2e


def test_failure_between_rows_and_commit_leaves_nothing_then_every_file_loads_once(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    """A batch that fails after its INSERTs and before COMMIT leaves zero rows, zero history, messages queued.

    The worker's test hook (LOCAL_SNOWPIPE_FAIL_BEFORE_COMMIT) raises inside the
    transaction, after the rows and the history rows were inserted.
    """
    drained(env)
    files, per_file = 10, 500
    marker = "inject/"
    worker.stop()
    try:
        for n in range(files):
            body = producer.ndjson_gz(shopping.generate_events(per_file, seed=300 + n))
            put(env, f"inject/{n:02d}.ndjson.gz", body)
        bad = put(env, "inject/bad.ndjson", lines(event(event_id="inj-bad", quantity="lots")))
        before = worker_log(env.state_dir, whole=True).count("injected before COMMIT")
        worker.restart({FAIL_BEFORE_COMMIT_ENV: marker})
        # Twice: the first attempt failed and the redelivered messages failed again.
        wait_for(
            lambda: worker_log(env.state_dir, whole=True).count("injected before COMMIT") >= before + 2,
            LOAD_TIMEOUT,
            "the injected failure, twice",
        )
        assert rows_in(db, "ECOMMERCE_EVENTS", "inject") == 0, "a failed batch must leave no rows"
        assert history_under(db, env, "inject") == [], "a failed batch must leave no load history"
        assert queued(env) == files + 1, "every message of a failed batch must stay on the queue"
    finally:
        worker.restart()
    wait_for(lambda: len(history_under(db, env, "inject")) == files + 1, LOAD_TIMEOUT, "recovery")
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
    inside the transaction.
    """
    drained(env)
    with paused(env, worker):
        good_paths = [put(env, f"refused/good-{n}.ndjson", lines(*good(3, f"refused-{n}"))) for n in range(4)]
        body = lines(event(event_id="ref-1"), event(event_id="ref-2", customer_id="1e400"))
        bad = put(env, "refused/huge-number.ndjson", body)
    for path in good_paths:
        entry = settled(env, db, path)
        assert entry["status"] == "LOADED" and entry["rows"] == 3, f"a neighbour of a refused file must load: {entry}"
    entry = settled(env, db, bad)
    assert entry["status"] == "LOAD_FAILED" and entry["rows"] == 0, f"the refused file is skipped: {entry}"
    assert "1e400" in entry["reason"], f"the reason must name the value DuckDB refused: {entry['reason']}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "refused") == 12, "exactly the four good files' rows"
    assert "loading them one by one" in worker_log(env.state_dir), "the batch must have been rolled back first"
