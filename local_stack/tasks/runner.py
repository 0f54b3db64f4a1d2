"""`python -m local_stack.tasks --state-dir .local`: the local stack's Snowflake tasks, on their schedule.

For every started task the deploy recorded (snowflake_handlers.task), each
interval: evaluate its WHEN (SYSTEM$STREAM_HAS_DATA on the emulated stream)
and, when there is data, run the procedure its CALL names: the same
transformations/ handler code the cloud procedure runs, with Snowpark on the
fakesnow server. The results and the stream's new offset commit in one
transaction (transformations.procedure.refresh_in_transaction), so a runner
killed mid-run neither loses nor duplicates anything.

Engine: Snowpark against the fakesnow server rather than Snowpark's local
testing mode; docs/transformations.md has the measurements.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from snowflake.snowpark import Session

from local_stack.errors import LocalStackError
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes
from local_stack.services import state as local_state
from local_stack.services.state import Endpoints
from local_stack.tasks.spec import READY_LINE, TaskSpec, TaskSpecError, read_tasks
from local_stack.tasks.stream import EmulatedStream
from transformations import bundle
from transformations.procedure import refresh_in_transaction
from transformations.refresh import RefreshResult, Tables

log = logging.getLogger("local_stack.tasks")


def snowpark_session(endpoints: Endpoints) -> Session:
    """Snowpark on the local Snowflake, in the POC's database and schema."""
    # fakesnow answers at once; the connector's default retries would turn a
    # statement fakesnow rejects (HTTP 500) into minutes of waiting.
    connection = local_endpoints.connect_snowflake(endpoints, "task-runner", network_timeout=60, login_timeout=30)
    return Session.builder.configs({"connection": connection}).create()


@dataclass
class TaskRun:
    task: str
    result: RefreshResult | None  # None: the WHEN condition was false, the run was skipped
    seconds: float


def run_task_once(session: Session, spec: TaskSpec, before_commit: Callable[[], None] = lambda: None) -> TaskRun:
    """One scheduled run of `spec`: skipped without stream data, else the procedure with the emulated stream."""
    if spec.handler != bundle.HANDLER:
        raise TaskSpecError(
            f"task {spec.name} calls {spec.procedure}, whose handler {spec.handler!r} is not the "
            f"transformations/ handler {bundle.HANDLER!r}: the local runner runs that package only"
        )
    stream_name, *table_names = spec.arguments
    if stream_name.upper() != spec.stream or len(table_names) != 4:
        raise TaskSpecError(
            f"task {spec.name}: expected CALL {spec.procedure}('<stream>', '<events>', '<products>', "
            f"'<session funnel>', '<product conversion>') on the stream its WHEN names ({spec.stream})"
        )
    started = time.perf_counter()
    stream = EmulatedStream(session, spec.stream, spec.stream_table, spec.stream.split(".")[0])
    stream.ensure_offsets()
    if not stream.has_data():
        return TaskRun(spec.name, None, time.perf_counter() - started)
    changes = stream.new_rows()

    def consume_then(hook: Callable[[], None]) -> Callable[[], None]:
        def inside_transaction() -> None:
            stream.advance(changes)
            hook()

        return inside_transaction

    result = refresh_in_transaction(session, changes, Tables(*table_names), consume_then(before_commit))
    return TaskRun(spec.name, result, time.perf_counter() - started)


def run(state_dir: str | Path, *, stop: threading.Event, interval_seconds: float | None = None) -> None:
    """Run every started task until `stop` is set; `interval_seconds` replaces the tasks' own schedule."""
    state_dir = Path(state_dir).resolve()
    endpoints = local_state.read_endpoints(state_dir)
    tasks = [t for t in read_tasks(state_dir) if t.started]
    if not tasks:
        raise LocalStackError(f"no started task in {state_dir / local_state.SNOWFLAKE_OBJECTS_FILE}: nothing to run")
    session = snowpark_session(endpoints)
    next_run = {t.name: 0.0 for t in tasks}
    log.info("%s for %s", READY_LINE, ", ".join(t.name for t in tasks))
    try:
        while not stop.is_set():
            for spec in tasks:
                if time.monotonic() < next_run[spec.name]:
                    continue
                next_run[spec.name] = time.monotonic() + (interval_seconds or spec.interval_seconds)
                try:
                    outcome = run_task_once(session, spec)
                except TaskSpecError:
                    raise
                except Exception:  # the next run retries; refresh is idempotent
                    log.exception("task %s failed; the stream keeps its rows for the next run", spec.name)
                    continue
                if outcome.result is not None:
                    log.info("task %s: %s in %.2f s", spec.name, outcome.result.as_dict(), outcome.seconds)
            stop.wait(0.2)
    finally:
        session.close()
        log.info("local task runner stopped")


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def task_runner(
    state_dir: Annotated[Path, typer.Option(help="directory with endpoints.json and snowflake_objects.json")] = Path(
        ".local"
    ),
    interval_seconds: Annotated[
        float | None, typer.Option(help="run every N s instead of each task's own schedule")
    ] = None,
) -> None:
    """Run the deployed, started tasks on their schedule until SIGTERM/SIGINT (the current run finishes first)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("snowflake.connector", "snowflake.snowpark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop = processes.stop_on_signals(log, "the current run")
    try:
        run(state_dir, stop=stop, interval_seconds=interval_seconds)
    except (LocalStackError, TaskSpecError) as err:
        raise SystemExit(str(err)) from None


if __name__ == "__main__":
    app()
