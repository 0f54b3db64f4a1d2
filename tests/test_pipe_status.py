"""The local SYSTEM$PIPE_STATUS's name resolution and worker detection (snowpipe/pipe_status.py), no servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import snowflake.connector.errors

from local_stack.snowpipe import pipe_status

PIPE = {
    "name": "ECOMMERCE_EVENTS_PIPE", "database": "ECOMMERCE_POC", "schema": "ANALYTICS",
    "copy_statement": "COPY INTO T FROM (SELECT $1 FROM @S)", "auto_ingest": True, "queue_url": "q",
    "queue_arn": "arn:aws:sqs:us-east-1:123456789012:q", "stage_name": "S", "stage_url": "s3://b/events/",
}  # fmt: skip


@pytest.fixture
def state_dir(tmp_path):
    (tmp_path / "pipes.json").write_text(json.dumps({"pipes": [PIPE]}))
    return tmp_path


@pytest.mark.parametrize(
    ("name", "database", "schema"),
    [
        ('"ECOMMERCE_POC"."ANALYTICS"."ECOMMERCE_EVENTS_PIPE"', None, None),  # the provider's fully_qualified_name
        ("ecommerce_poc.analytics.ecommerce_events_pipe", None, None),  # unquoted: upper-cased
        ("ecommerce_events_pipe", "ECOMMERCE_POC", "ANALYTICS"),  # the session's database and schema
        ("analytics.ecommerce_events_pipe", "ECOMMERCE_POC", None),
    ],
)
def test_pipe_names_resolve_like_snowflake(state_dir, name, database, schema):
    assert pipe_status.find_pipe(state_dir, name, database, schema).queue_arn == PIPE["queue_arn"]


@pytest.mark.parametrize("name", ['"ecommerce_poc"."analytics"."ecommerce_events_pipe"', "OTHER_PIPE", "a.b.c.d"])
def test_unknown_pipe_is_snowflakes_error_2003(state_dir, name):
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="does not exist or not authorized") as err:
        pipe_status.find_pipe(state_dir, name, "ECOMMERCE_POC", "ANALYTICS")
    assert err.value.errno == 2003


def test_no_lock_or_an_empty_one_is_no_worker(state_dir):
    assert pipe_status.worker_pid(state_dir) is None
    (state_dir / "snowpipe.lock").write_text("")
    assert pipe_status.worker_pid(state_dir) is None


def test_a_recycled_pid_is_not_a_worker(state_dir):
    (state_dir / "snowpipe.lock").write_text(str(os.getpid()))  # alive, but pytest, not the worker
    assert pipe_status.worker_pid(state_dir) is None


def test_a_dead_pid_is_not_a_worker(state_dir):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (state_dir / "snowpipe.lock").write_text(done.stdout.strip())
    assert pipe_status.worker_pid(state_dir) is None


def test_a_live_worker_process_is_found(state_dir):
    # A process whose command line is the worker's, as `make local-up` starts it.
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "-m", "local_stack.snowpipe"],
    )
    try:
        (state_dir / "snowpipe.lock").write_text(str(sleeper.pid))
        assert pipe_status.worker_pid(state_dir) == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
