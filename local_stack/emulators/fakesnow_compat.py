"""Shims that let Superset's Snowflake dialect talk to a fakesnow server.

fakesnow (0.12.1) translates Snowflake SQL to DuckDB, but a few session
functions that clients call for bookkeeping have no DuckDB counterpart, so
the query fails with "Scalar Function with name ... does not exist". Each
shim below replaces one such call with a constant before fakesnow's own
transforms run. Call `install()` in the fakesnow server process before it
serves; it only touches fakesnow's cursor, never the data.

Local emulation only: nothing here is imported by the cloud program.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import snowflake.connector.errors
from sqlglot import exp

# The fake warehouse/account names the shims report. fakesnow ignores the
# warehouse and account a client logs in with, so any stable name will do.
FAKE_WAREHOUSE = "FAKESNOW_WH"
FAKE_ACCOUNT = "FAKESNOW"
FAKE_REGION = "LOCAL"


def _literal(value: str) -> exp.Expression:
    return exp.Literal.string(value)


def _session_id(conn: Any) -> str:
    # Snowflake session ids are numbers rendered as strings; the identity of
    # fakesnow's per-session connection object is unique while it lives.
    return str(id(conn))


# Why each shim exists:
# - CURRENT_SESSION(): Superset's Snowflake engine spec runs it before every
#   SQL Lab / chart query to remember the session, so it can cancel the query
#   later (get_cancel_query_id). Without it every chart query fails.
# - CURRENT_WAREHOUSE(): the Snowflake SQLAlchemy dialect and Superset's
#   "test connection" read it; DuckDB has no warehouses.
# - CURRENT_ACCOUNT(), CURRENT_REGION(), CURRENT_ACCOUNT_NAME(),
#   CURRENT_ORGANIZATION_NAME(): asked by the connector/dialect when it
#   describes the connection; harmless constants keep those paths working.
_SESSION_FUNCTIONS: dict[type[exp.Expression], Callable[[Any], str]] = {
    exp.CurrentSession: _session_id,
    exp.CurrentWarehouse: lambda _conn: FAKE_WAREHOUSE,
    exp.CurrentAccount: lambda _conn: FAKE_ACCOUNT,
    exp.CurrentRegion: lambda _conn: FAKE_REGION,
    exp.CurrentAccountName: lambda _conn: FAKE_ACCOUNT,
    exp.CurrentOrganizationName: lambda _conn: FAKE_ACCOUNT,
}

# Functions sqlglot parses as anonymous calls (it has no node type for them).
# - SYSTEM$CANCEL_ALL_QUERIES(session): Superset sends it when a user stops a
#   running query; fakesnow runs each statement to completion anyway, so
#   answering like Snowflake does ("... terminated") is all that is needed.
_ANONYMOUS_FUNCTIONS: dict[str, Callable[[Any], str]] = {
    "SYSTEM$CANCEL_ALL_QUERIES": lambda _conn: "0 queries terminated.",
}


# SYSTEM$PIPE_STATUS('<pipe>'): answered from the local stack's real state
# (worker process, the pipe's queue, the load history), see
# local_stack/snowpipe/pipe_status.py. Needs the stack's state dir, given to install().
PIPE_STATUS = "SYSTEM$PIPE_STATUS"
_state_dir: Path | None = None


def _pipe_status(expression: exp.Anonymous, conn: Any) -> exp.Expression:
    from local_stack.snowpipe.pipe_status import pipe_status_json

    argument = expression.expressions[0] if len(expression.expressions) == 1 else None
    if not isinstance(argument, exp.Literal) or not argument.is_string:
        raise snowflake.connector.errors.ProgrammingError(
            msg=f"{PIPE_STATUS} takes one string literal, the pipe's name: {expression.sql('snowflake')}",
            errno=1044,
            sqlstate="42P13",
        )
    if _state_dir is None:
        raise snowflake.connector.errors.ProgrammingError(
            msg=f"{PIPE_STATUS} needs the local stack's state dir: start the server with --state-dir", errno=9999
        )
    with conn._duck_conn.cursor() as duck:
        answer = pipe_status_json(_state_dir, argument.this, database=conn.database, schema=conn.schema, duck=duck)
    return _literal(answer)


def replace_session_functions(expression: exp.Expression, conn: Any) -> exp.Expression:
    """Replace the session functions fakesnow lacks by constants (sqlglot transform)."""
    for node_type, value in _SESSION_FUNCTIONS.items():
        if isinstance(expression, node_type):
            return _literal(value(conn))
    if isinstance(expression, exp.Anonymous):
        name = str(expression.this).upper()
        if name == PIPE_STATUS:
            return _pipe_status(expression, conn)
        shim = _ANONYMOUS_FUNCTIONS.get(name)
        if shim:
            return _literal(shim(conn))
    return expression


def alias_merge_source(expression: exp.Expression) -> exp.Expression:
    """Name an unnamed MERGE source subquery, which fakesnow's MERGE emulation requires.

    Snowpark's Table.merge emits `MERGE INTO t USING (SELECT ...) ON ...`
    without an alias; Snowflake accepts that (MERGE docs: `USING <source>`,
    alias optional), fakesnow 0.12.1 (transforms/merge.py) asserts one.
    """
    if isinstance(expression, exp.Merge):
        source = expression.args.get("using")
        if isinstance(source, exp.Subquery) and not source.alias:
            source.set("alias", exp.TableAlias(this=exp.to_identifier("MERGE_SOURCE")))
    return expression


def drop_empty_table_comment(transformed: exp.Expression) -> exp.Expression:
    """Forget the NULL comment fakesnow would record for a CREATE TABLE that has no comment.

    fakesnow 0.12.1 (transforms.extract_comment_on_table) marks every CREATE
    TABLE with properties, e.g. its own MERGE's CREATE TEMPORARY TABLE, with a
    comment to store in its _fs_global catalog, even when the comment is
    NULL. DuckDB lets one transaction write to one database only, so a MERGE
    inside BEGIN ... COMMIT failed; Snowflake runs MERGE in transactions. No
    comment means nothing to record: information_schema reads comments with a
    LEFT JOIN, so it answers the same.
    """
    recorded = transformed.args.get("table_comment")
    if recorded is not None and recorded[1] is None:
        del transformed.args["table_comment"]
    return transformed


_INSTALLED_MARK = "_ecommerce_compat_installed"


def install(state_dir: Path | None = None) -> None:
    """Patch fakesnow's cursor so the shims run before its own transforms. Idempotent.

    `state_dir`: the local stack whose pipes SYSTEM$PIPE_STATUS describes.
    """
    global _state_dir
    from fakesnow.cursor import FakeSnowflakeCursor

    if state_dir is not None:
        _state_dir = Path(state_dir).resolve()

    if getattr(FakeSnowflakeCursor, _INSTALLED_MARK, False):
        return
    # _transform is the single place where fakesnow rewrites each parsed
    # statement, for server and in-process sessions alike.
    original = FakeSnowflakeCursor._transform

    def _transform(self: FakeSnowflakeCursor, expression: exp.Expression, params: Any) -> exp.Expression:
        conn = self._conn
        expression = expression.transform(lambda e: replace_session_functions(e, conn), copy=False)
        return drop_empty_table_comment(original(self, expression, params))

    # MERGE is split into several statements before _transform runs.
    original_explode = FakeSnowflakeCursor._transform_explode

    def _transform_explode(self: FakeSnowflakeCursor, expression: exp.Expression) -> list[exp.Expression]:
        return original_explode(self, alias_merge_source(expression))

    FakeSnowflakeCursor._transform = _transform
    FakeSnowflakeCursor._transform_explode = _transform_explode
    setattr(FakeSnowflakeCursor, _INSTALLED_MARK, True)
