"""The local deploy's handlers for stream, procedure and task refuse what Snowflake would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.account import snowflake_handlers
from local_stack.account.context import LocalContext
from local_stack.errors import LocalDeployError
from local_stack.tasks.spec import PROCEDURE, STREAM, WAREHOUSE

TASK_INPUTS = {
    "database": "DB",
    "schema": "S",
    "name": "T",
    "warehouse": "WH",
    "when": "SYSTEM$STREAM_HAS_DATA('DB.S.ST')",
    "sqlStatement": "CALL DB.S.P('DB.S.ST')",
    "schedule": {"minutes": 1},
    "started": True,
}


def _context(*recorded: tuple[str, str, dict]) -> LocalContext:
    """An account holding DB.S with its events table, plus the given objects (catalogued as the deploy does)."""
    context = LocalContext(s3_endpoint_url="http://unused", region="us-east-1", snowflake_port=0, state_dir=Path("."))
    account = context.account
    account.add("DATABASE", "DB")
    account.add("SCHEMA", "DB", "S")
    account.add("TABLE", "DB", "S", "E")
    kinds = {WAREHOUSE: "WAREHOUSE", STREAM: "STREAM", PROCEDURE: "PROCEDURE"}
    for type_token, name, inputs in recorded:
        context.record(type_token, name, inputs)
        account.add(kinds[type_token], *(name.split(".") if type_token != WAREHOUSE else [inputs["name"]]))
    return context


WAREHOUSE_RECORD = (WAREHOUSE, "analytics-warehouse", {"name": "WH"})
STREAM_RECORD = (STREAM, "DB.S.ST", {"database": "DB", "schema": "S", "name": "ST", "table": "DB.S.E"})
PROCEDURE_RECORD = (PROCEDURE, "DB.S.P", {"database": "DB", "schema": "S", "name": "P", "handler": "run"})


@pytest.mark.parametrize(
    ("recorded", "message"),
    [
        ((STREAM_RECORD, PROCEDURE_RECORD), r'Warehouse "WH" does not exist'),
        ((WAREHOUSE_RECORD, STREAM_RECORD), r'Procedure "DB"."S"."P" does not exist'),
        ((WAREHOUSE_RECORD, PROCEDURE_RECORD), r'Stream "DB"."S"."ST" does not exist'),
    ],
)
def test_task_needs_its_warehouse_procedure_and_stream(recorded, message):
    with pytest.raises(LocalDeployError, match=message):
        snowflake_handlers.task(_context(*recorded), "task", dict(TASK_INPUTS))


def test_task_that_is_not_a_call_is_refused():
    context = _context(WAREHOUSE_RECORD, STREAM_RECORD, PROCEDURE_RECORD)
    with pytest.raises(LocalDeployError, match="is not a CALL"):
        snowflake_handlers.task(context, "task", {**TASK_INPUTS, "sqlStatement": "DELETE FROM DB.S.E"})


def test_procedure_must_define_its_handler():
    inputs = {
        "database": "DB",
        "schema": "S",
        "name": "P",
        "handler": "run",
        "procedureDefinition": "def main(s):\n  pass\n",
    }
    context = _context(WAREHOUSE_RECORD)
    # CREATE PROCEDURE ... LANGUAGE PYTHON runs in a warehouse session (snowflake_account.py, 391531).
    context.in_session(context.account.login("snowflake-warehouse-session", {"warehouse": "WH"}))
    with pytest.raises(LocalDeployError, match="handler 'run' is not defined"):
        snowflake_handlers.procedure_python(context, "procedure", inputs)
