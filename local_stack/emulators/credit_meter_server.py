"""Installs the credit meter (local_stack/emulators/credit_meter.py) into the fakesnow server process.

Two patches, both fakesnow 0.12.1 internals (check them on an upgrade):
- the login route (/session/v1/login-request) also remembers the session's
  LOGIN_NAME, which fakesnow itself ignores: the meter bills by user;
- FakeSnowflakeCursor.execute, which the server calls once per statement
  (server.py query_request, `cur.execute(sql_text, ...)`), asks the meter
  first (the local monitor may refuse) and tells it the statement's start and
  end afterwards, failed statements too: Snowflake bills their time as well.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from infra.sql_source import pipe_target_table, tables
from local_stack.emulators import credit_report
from local_stack.emulators.credit_meter import CreditMeter, MeterSettings, write_state
from local_stack.errors import LocalStackError
from local_stack.services import state as local_state

log = logging.getLogger("local_stack.emulators.credit_meter")
LOGIN_ROUTE = "/session/v1/login-request"
USER_ATTRIBUTE = "_ecommerce_login_name"
RECORDS_FILE = "snowflake_objects.json"
# The state file is rewritten at most this often, and at once when the monitor suspends.
WRITE_EVERY_SECONDS = 1.0
# The dashboard's CREDIT_ESTIMATE table (sql/credit_estimate.sql) is rewritten at most this often.
ESTIMATE_EVERY_SECONDS = 5.0
(ESTIMATE_TABLE,) = tables("credit_estimate.sql")


class _DeployedSettings:
    """The meter's settings from the deploy's records, re-read when the file changes."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / RECORDS_FILE
        self._seen: float | None = None
        self._settings: MeterSettings | None = None

    def __call__(self) -> MeterSettings | None:
        try:
            changed = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if changed != self._seen:
            self._settings = MeterSettings.from_records(json.loads(self.path.read_text()))
            self._seen = changed
        return self._settings


class Metering:
    """The meter of the stack the server serves, and the lock every statement takes to ask and tell it."""

    def __init__(self, state_dir: Path):
        self.lock = threading.Lock()
        self.serve(state_dir)

    def serve(self, state_dir: Path) -> None:
        """A new meter, for the stack in `state_dir`: at start, and when the server is reset for another stack."""
        with self.lock:
            self.state_dir = Path(state_dir).resolve()
            self.meter = CreditMeter(_DeployedSettings(self.state_dir))
            self.written = [0.0, 0.0]  # when the state file and the estimate table were last written
            write_state(self.state_dir, self.meter.state())

    def record(self, duck: Any, user: str, statement: str, start: float, end: float) -> None:
        with self.lock:
            meter, written = self.meter, self.written
            was_suspended = meter.suspended_at is not None
            meter.after(user, statement, start, end)
            if end - written[0] >= WRITE_EVERY_SECONDS or (meter.suspended_at is not None) != was_suspended:
                write_state(self.state_dir, meter.state())
                written[0] = end
            if end - written[1] >= ESTIMATE_EVERY_SECONDS:
                written[1] = end
                try:
                    _write_estimate(duck, self.state_dir, end)
                except Exception:  # logged: the chart goes stale, the client's own statement must not fail
                    log.exception("could not write the credit estimate table")


def install(state_dir: Path) -> Metering:
    import fakesnow.server
    from fakesnow.cursor import FakeSnowflakeCursor
    from starlette.requests import Request
    from starlette.routing import Route

    metering = Metering(state_dir)
    original_execute = FakeSnowflakeCursor.execute

    def execute(self: FakeSnowflakeCursor, command: str, *args: Any, **kwargs: Any) -> Any:
        user = getattr(self._conn, USER_ATTRIBUTE, "local")
        with metering.lock:
            metering.meter.before(user, command)
        start = time.time()
        try:
            return original_execute(self, command, *args, **kwargs)
        finally:
            metering.record(self._conn._duck_conn, user, command, start, time.time())

    login = next(r for r in fakesnow.server.app.router.routes if getattr(r, "path", None) == LOGIN_ROUTE)
    original_login = login.endpoint

    async def login_remembering_user(request: Request) -> Any:
        body = await request.body()  # starlette keeps it for the original endpoint
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        user = json.loads(body)["data"].get("LOGIN_NAME") or "local"
        response = await original_login(request)
        token = json.loads(response.body).get("data", {}).get("token")
        if token in fakesnow.server.sessions:
            setattr(fakesnow.server.sessions[token], USER_ATTRIBUTE, user)
        return response

    routes = fakesnow.server.app.router.routes
    routes[routes.index(login)] = Route(LOGIN_ROUTE, login_remembering_user, methods=["POST"])
    FakeSnowflakeCursor.execute = execute
    return metering


def _write_estimate(duck: Any, state_dir: Path, now: float) -> None:
    """Replaces CREDIT_ESTIMATE's rows with the report now, once the deploy has created the table."""
    try:
        endpoints = local_state.read_endpoints(state_dir)
    except LocalStackError:
        return  # not deployed yet: endpoints.json is written after the deploy
    sf = endpoints.snowflake
    with duck.cursor() as cursor:
        found = cursor.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE upper(table_catalog) = ? AND upper(table_schema) = ? AND upper(table_name) = ?",
            (sf.database.upper(), sf.schema.upper(), ESTIMATE_TABLE),
        ).fetchone()[0]
        if not found:
            return  # destroyed, or not created yet
        loaded = credit_report.loaded_json_bytes(cursor, f"{sf.database}.{sf.schema}.{pipe_target_table()}")
        report = credit_report.credit_report(state_dir, now, loaded)
        if report is None:
            return
        table = f"{sf.database}.{sf.schema}.{ESTIMATE_TABLE}"
        cursor.execute("BEGIN TRANSACTION")
        cursor.execute(f"DELETE FROM {table}")
        for row in report.consumers:
            cursor.execute(
                f"INSERT INTO {table} VALUES (?, ?, ?, to_timestamp(?)::TIMESTAMP)",
                (row.consumer, row.credits, row.per_month, now),
            )
        cursor.execute("COMMIT")
