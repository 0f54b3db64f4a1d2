"""`python -m smoke` (what `make smoke` runs) on real local stacks: passing, and naming each cause when broken.

Each broken variant breaks the stack the way it breaks in the cloud (or, for the
worker and its queue, the local stand-ins for Snowflake's side) and checks that
smoke fails at the right step with the right cause. The last test downs the stack
the others broke: `make local-down` must stop a stack in whatever state it is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack import stack
from local_stack.harness import stop_worker
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes
from local_stack.services import state as local_state
from local_stack.services.processes import wait_for
from smoke import checks
from smoke.canary import Canary, make_canary
from smoke.local_target import local_target
from tests.e2e.superset_stack import SupersetStack

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _smoke(state_dir: Path, timeout: float) -> subprocess.CompletedProcess:
    """Its stdout with runs of whitespace made single (the table wraps long cells)."""
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("STACK", None)
    done = subprocess.run(
        [sys.executable, "-m", "smoke", "--state-dir", str(state_dir), "--timeout", str(timeout)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    done.stdout = " ".join(done.stdout.split())
    return done


def _up(state_dir: Path) -> local_state.Endpoints:
    return stack.up(stack.LocalStackSettings(state_dir=state_dir, superset=False), progress=lambda _m: None)


@pytest.fixture(scope="module")
def shared(user_stack: tuple[Path, local_state.Endpoints]) -> Path:
    """The session's `SUPERSET=0 make local-up` stack (tests/e2e/conftest.py); tests here leave it whole."""
    return user_stack[0]


class BreakableStacks:
    """One stack the tests below take in file order, each leaving it as the next one needs it.

    A stack costs about 15 CPU-s to start, so it is replaced only when a test needs one nobody has used.
    """

    def __init__(self, factory: pytest.TempPathFactory):
        self.factory = factory
        self.current: Path | None = None
        self.used = False

    def get(self) -> Path:
        if self.current is None:
            self.current = self.factory.mktemp("own-stack")
            self.used = False
            _up(self.current)
        self.used = True
        return self.current

    def pristine(self) -> Path:
        """A stack no test has touched: no file put, no load in its history."""
        if self.used:
            self.discard()
        return self.get()

    def release(self) -> Path:
        """The stack, for a test that downs it itself."""
        own = self.get()
        self.current = None
        return own

    def discard(self) -> None:
        if self.current is not None:
            stack.down(self.current)
            self.current = None


@pytest.fixture(scope="module")
def breakable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BreakableStacks]:
    stacks = BreakableStacks(tmp_path_factory)
    yield stacks
    stacks.discard()


def _smoke_events(state_dir: Path) -> list[tuple]:
    endpoints = local_state.read_endpoints(state_dir)
    with local_endpoints.connect_snowflake(endpoints, user="test") as connection:
        return (
            connection.cursor()
            .execute(
                "SELECT EVENT_ID, EVENT_TYPE, PRODUCT_NAME, CUSTOMER_NAME FROM ENRICHED_EVENTS "
                "WHERE EVENT_ID LIKE 'smoke-%'"
            )
            .fetchall()
        )


def test_smoke_passes_on_the_local_stack_and_prints_latency(shared: Path) -> None:
    before = len(_smoke_events(shared))
    done = _smoke(shared, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke passed: put → visible in" in done.stdout
    for check in ("pipe status", "canary put", "canary visible"):
        assert check in done.stdout
    assert "RUNNING" in done.stdout
    rows = _smoke_events(shared)
    assert len(rows) == before + 1, "exactly one canary per run"
    # reference_data/products.csv and customers.csv, first rows.
    assert {(r[1], r[2], r[3]) for r in rows} == {("view", "Wireless Earbuds", "Hiro García")}


def test_skipped_canary_file_is_named_with_its_error(shared: Path) -> None:
    def without_quantity(prefix: str) -> Canary:
        canary = make_canary(prefix)
        return Canary(canary.event_id, canary.key, {k: v for k, v in canary.record.items() if k != "quantity"})

    run = checks.run(local_target(shared, timeout=5), make=without_quantity)
    failure = run.failure
    assert failure is not None and failure.name == checks.VISIBLE
    assert "load history: LOAD_FAILED" in failure.detail
    assert failure.finding.cause.startswith("the pipe skipped the canary file")
    assert "QUANTITY" in failure.finding.cause and "NULL result in a non-nullable column" in failure.finding.cause


def test_removed_notification_is_named(shared: Path) -> None:
    endpoints = local_state.read_endpoints(shared)
    s3 = local_endpoints.aws_client(endpoints, "s3")
    saved = s3.get_bucket_notification_configuration(Bucket=endpoints.bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=endpoints.bucket, NotificationConfiguration={})
    try:
        done = _smoke(shared, timeout=3)
    finally:
        s3.put_bucket_notification_configuration(Bucket=endpoints.bucket, NotificationConfiguration=saved)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "smoke failed at 'canary visible'" in done.stdout
    assert "load history: never seen" in done.stdout
    assert "likely cause: the pipe never saw the canary: the bucket has no queue notification" in done.stdout
    assert "fix:" in done.stdout


def test_notification_with_the_wrong_prefix_is_named(shared: Path) -> None:
    endpoints = local_state.read_endpoints(shared)
    s3 = local_endpoints.aws_client(endpoints, "s3")
    saved = s3.get_bucket_notification_configuration(Bucket=endpoints.bucket)
    saved.pop("ResponseMetadata", None)
    moved = json.loads(json.dumps(saved))
    moved["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"] = [{"Name": "prefix", "Value": "raw/"}]
    s3.put_bucket_notification_configuration(Bucket=endpoints.bucket, NotificationConfiguration=moved)
    try:
        run = checks.run(local_target(shared, timeout=3))
    finally:
        s3.put_bucket_notification_configuration(Bucket=endpoints.bucket, NotificationConfiguration=saved)
    assert run.failure is not None and run.failure.name == checks.VISIBLE
    assert "prefix 'raw/'" in run.failure.finding.cause and "does not cover events/smoke/" in run.failure.finding.cause


def test_local_pipe_status_follows_the_worker_queue_and_history(breakable: BreakableStacks) -> None:
    """SYSTEM$PIPE_STATUS on fakesnow reports what really happens: queued notifications, the worker, the last file."""
    own_stack = breakable.pristine()
    endpoints = local_state.read_endpoints(own_stack)
    stop_worker(own_stack)
    try:
        (pipe,) = local_state.read_pipes(own_stack)
        connection = local_endpoints.connect_snowflake(endpoints, user="test")
        cursor = connection.cursor()
        status = checks.pipe_status(cursor, '"ECOMMERCE_POC"."ANALYTICS"."ECOMMERCE_EVENTS_PIPE"')
        assert status["executionState"] == "PAUSED" and "no local Snowpipe worker" in status["error"]
        assert status["notificationChannelName"] == pipe.queue_arn
        assert "lastIngestedFilePath" not in status

        canary = make_canary(endpoints.events_prefix)
        local_endpoints.aws_client(endpoints, "s3").put_object(
            Bucket=endpoints.bucket, Key=canary.key, Body=canary.body
        )
        wait_for(
            lambda: checks.pipe_status(cursor, pipe.qualified_name)["numOutstandingMessagesOnChannel"] >= 1,
            10,
            "the put's notification on the pipe's channel",
        )

        stack.start_snowpipe_worker(own_stack, restart=True)

        def loaded() -> dict | None:
            found = checks.pipe_status(cursor, pipe.qualified_name)
            return found if "lastIngestedFilePath" in found else None

        status = wait_for(loaded, 30, "the worker loading the canary")
        assert status["executionState"] == "RUNNING" and "error" not in status
        assert status["lastIngestedFilePath"] == canary.key.removeprefix("events/")
        assert status["numOutstandingMessagesOnChannel"] == 0
        with pytest.raises(Exception, match="Pipe 'NO_SUCH_PIPE' does not exist or not authorized"):
            checks.pipe_status(cursor, "NO_SUCH_PIPE")
        connection.close()
    except BaseException:
        breakable.discard()  # the next test needs a running worker on a stack in a known state
        raise


def test_stopped_worker_is_named(breakable: BreakableStacks) -> None:
    own_stack = breakable.get()
    (worker,) = [p for p in processes.read_tracked(own_stack) if p.name == "snowpipe"]
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        wait_for(lambda: not processes.alive(worker.pid), 15, "the worker exiting")
        done = _smoke(own_stack, timeout=3)
    finally:  # repaired, so the next test may use the stack
        processes.stop(own_stack, stack.WORKER)
        stack.start_snowpipe_worker(own_stack, restart=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "smoke failed at 'pipe status'" in done.stdout
    assert "is PAUSED: no local Snowpipe worker is running" in done.stdout
    assert "start the local Snowpipe worker" in done.stdout


def test_deleted_pipe_queue_is_named(breakable: BreakableStacks) -> None:
    own_stack = breakable.get()
    endpoints = local_state.read_endpoints(own_stack)
    (pipe,) = local_state.read_pipes(own_stack)
    local_endpoints.aws_client(endpoints, "sqs").delete_queue(QueueUrl=pipe.queue_url)
    done = _smoke(own_stack, timeout=3)  # not repaired: the next test downs the stack
    assert done.returncode == 1, done.stdout + done.stderr
    assert "smoke failed at 'pipe status'" in done.stdout
    assert f"STALLED_INTERNAL_ERROR: notification channel {pipe.queue_arn} does not exist" in done.stdout


def test_down_stops_a_broken_stack_and_frees_its_ports(breakable: BreakableStacks) -> None:
    """`make local-down` on the stack the test above left without its pipe's queue: nothing runs, no port is held."""
    own_stack = breakable.release()
    endpoints = local_state.read_endpoints(own_stack)
    tracked = processes.read_tracked(own_stack)
    assert {"moto", "fakesnow", stack.WORKER} <= {p.name for p in tracked}, tracked
    stack.down(own_stack)
    assert not any(processes.alive(p.pid) for p in tracked), "local-down left processes running"
    for port in (int(endpoints.s3_endpoint_url.rsplit(":", 1)[1]), endpoints.snowflake.port):
        assert processes.port_is_free(port), f"port {port} still in use after local-down"
    assert processes.read_tracked(own_stack) == []


def test_smoke_sees_the_canary_in_the_superset_chart(superset_stack: SupersetStack) -> None:
    state_dir = superset_stack.state_dir
    run = checks.run(local_target(state_dir, timeout=30))
    assert run.passed, [(r.name, r.detail, r.finding) for r in run.results]
    (superset,) = [r for r in run.results if r.name == checks.SUPERSET]
    assert superset.passed is True
    assert "'Live Events and Revenue per Minute' counts 1 canary event(s)" in superset.detail


def test_refused_second_worker_leaves_the_pipe_running(shared: Path) -> None:
    """A second worker refused by the lock must not erase the running worker's PID, which PIPE_STATUS reads."""
    second = subprocess.run(
        [sys.executable, "-m", "local_stack.snowpipe", "--state-dir", str(shared)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode != 0 and "another local Snowpipe worker already holds" in second.stderr
    endpoints = local_state.read_endpoints(shared)
    (pipe,) = local_state.read_pipes(shared)
    with local_endpoints.connect_snowflake(endpoints, user="test") as connection:
        status = checks.pipe_status(connection.cursor(), pipe.qualified_name)
    assert status["executionState"] == "RUNNING", status
