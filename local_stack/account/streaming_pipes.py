"""The local deploy's side of a streaming pipe (snowflake_handlers.pipe hands it here).

fakesnow cannot CREATE PIPE: like the other objects it cannot hold, a
streaming pipe is catalogued and recorded in .local/snowflake_objects.json,
where the Snowpipe Streaming emulator reads it back (local_stack/streaming/records.py).
"""

from __future__ import annotations

from infra.sql_source import is_streaming_copy
from local_stack.account.context import LocalContext, Outputs
from local_stack.account.dynamic_resources import reveal
from local_stack.errors import LocalDeployError
from local_stack.snowpipe.copy_plan import parse_copy_target
from local_stack.streaming import channels
from local_stack.streaming.records import PIPE


def create_pipe(ctx: LocalContext, inputs: Outputs) -> tuple[str, Outputs]:
    """CREATE PIPE ... FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING')): checks what Snowflake checks, records it."""
    database, schema, name = inputs["database"], inputs["schema"], inputs["name"]
    what = f"pipe {name}"
    ctx.account.require("SCHEMA", database, schema, needed_by=what)
    copy = inputs["copyStatement"]
    if not is_streaming_copy(copy):
        raise LocalDeployError(f"{what}: not a streaming pipe (no FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING')))")
    ctx.account.require_qualified("TABLE", parse_copy_target(copy), needed_by=what)
    # The channels' offsets live beside the rows, so one transaction commits both.
    for statement in channels.ddl(database):
        ctx.sql(statement)
    ctx.account.add("PIPE", database, schema, name)
    qualified = f"{database}.{schema}.{name}"
    ctx.record(PIPE, qualified, reveal(inputs))
    fqn = ".".join(f'"{part}"' for part in (database, schema, name))
    return qualified, {**inputs, "fullyQualifiedName": fqn}


def drop_pipe(ctx: LocalContext, inputs: Outputs) -> None:
    """DROP PIPE drops its channels with it."""
    database, schema, name = inputs["database"], inputs["schema"], inputs["name"]
    ctx.account.drop("PIPE", database, schema, name)
    ctx.forget(PIPE, f"{database}.{schema}.{name}")
