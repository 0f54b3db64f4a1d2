"""What the local deploy recorded about the conversion task, as the task runner needs it.

The deploy's handlers (snowflake_handlers.py) record streams, procedures and
tasks in .local/snowflake_objects.json, since fakesnow cannot hold them; this
module reads a task back: its schedule, the procedure its CALL names with the
arguments, and the stream its WHEN condition waits for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from local_stack.errors import LocalStackError
from local_stack.services.state import SNOWFLAKE_OBJECTS_FILE, read_document

# The local stack runs tasks every few seconds instead of their cloud
# schedule (a minute) so the demo's dashboard moves; the WHEN condition still
# skips runs without new events, as in Snowflake.
LOCAL_INTERVAL_SECONDS = 5
READY_LINE = "local task runner running"

STREAM = "snowflake:index/streamOnTable:StreamOnTable"
PROCEDURE = "snowflake:index/procedurePython:ProcedurePython"
TASK = "snowflake:index/task:Task"
WAREHOUSE = "snowflake:index/warehouse:Warehouse"


class TaskSpecError(ValueError):
    """A task's statement or condition has a shape the local runner does not run."""


def unquote(name: str) -> str:
    return name.replace('"', "").upper()


def parse_call(statement: str) -> tuple[str, list[str]]:
    """`CALL db.schema.proc('a', 'b')` -> ("DB.SCHEMA.PROC", ["a", "b"])."""
    match = re.fullmatch(r"\s*CALL\s+(.+?)\s*;?\s*", statement, flags=re.I | re.S)
    if not match:
        raise TaskSpecError(f"task statement {statement!r} is not a CALL; the local runner only runs procedure calls")
    call = sqlglot.parse_one(match.group(1), read="snowflake")
    # db.schema.proc(...) parses as Dot(db.schema, proc(...)).
    prefix = call.this.sql("snowflake") if isinstance(call, exp.Dot) else ""
    node = call.expression if isinstance(call, exp.Dot) else call
    if not isinstance(node, exp.Anonymous):
        raise TaskSpecError(f"task statement {statement!r}: expected CALL <procedure>(<arguments>)")
    arguments = []
    for argument in node.expressions:
        if not (isinstance(argument, exp.Literal) and argument.is_string):
            raise TaskSpecError(f"task statement {statement!r}: the local runner takes string literal arguments only")
        arguments.append(argument.this)
    name = f"{prefix}.{node.name}" if prefix else node.name
    return unquote(name), arguments


def stream_of_condition(when: str | None) -> str:
    """The stream in `SYSTEM$STREAM_HAS_DATA('<stream>')`, the only WHEN the local runner evaluates."""
    match = re.fullmatch(r"\s*SYSTEM\$STREAM_HAS_DATA\(\s*'([^']+)'\s*\)\s*", when or "", flags=re.I)
    if not match:
        raise TaskSpecError(
            f"task condition {when!r}: the local runner evaluates SYSTEM$STREAM_HAS_DATA('<stream>') only"
        )
    return unquote(match.group(1))


@dataclass(frozen=True)
class TaskSpec:
    name: str
    interval_seconds: int
    procedure: str
    arguments: tuple[str, ...]
    stream: str
    stream_table: str
    handler: str
    started: bool


def _schedule_seconds(schedule: dict[str, Any] | None) -> int:
    schedule = schedule or {}
    for unit, seconds in (("seconds", 1), ("minutes", 60), ("hours", 3600)):
        if schedule.get(unit):
            return int(schedule[unit]) * seconds
    raise TaskSpecError(f"task schedule {schedule!r}: the local runner needs an interval (seconds, minutes or hours)")


def read_tasks(state_dir: Path) -> list[TaskSpec]:
    recorded = read_document(state_dir, SNOWFLAKE_OBJECTS_FILE)
    if recorded is None:
        raise LocalStackError(
            f"{Path(state_dir) / SNOWFLAKE_OBJECTS_FILE} is missing: deploy the local stack first (`make local-up`)"
        )

    def fqn(inputs: dict[str, Any]) -> str:
        return unquote(f"{inputs['database']}.{inputs['schema']}.{inputs['name']}")

    streams = {fqn(e["inputs"]): e["inputs"] for e in recorded if e["type"] == STREAM}
    procedures = {fqn(e["inputs"]): e["inputs"] for e in recorded if e["type"] == PROCEDURE}
    tasks = []
    for entry in recorded:
        if entry["type"] != TASK:
            continue
        task = entry["inputs"]
        procedure, arguments = parse_call(task["sqlStatement"])
        stream = stream_of_condition(task.get("when"))
        tasks.append(
            TaskSpec(
                name=fqn(task),
                interval_seconds=_schedule_seconds(task.get("schedule")),
                procedure=procedure,
                arguments=tuple(arguments),
                stream=stream,
                stream_table=unquote(streams[stream]["table"]),
                handler=procedures[procedure]["handler"],
                started=bool(task.get("started")),
            )
        )
    return tasks
