"""Installs the credit meter (local_stack/credit_meter.py) into the fakesnow server process.

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
import threading
import time
from pathlib import Path
from typing import Any

from local_stack.credit_meter import CreditMeter, MeterSettings, write_state

LOGIN_ROUTE = "/session/v1/login-request"
USER_ATTRIBUTE = "_ecommerce_login_name"
RECORDS_FILE = "snowflake_objects.json"
# The state file is rewritten at most this often, and at once when the monitor suspends.
WRITE_EVERY_SECONDS = 1.0


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


def install(state_dir: Path) -> CreditMeter:
    import fakesnow.server
    from fakesnow.cursor import FakeSnowflakeCursor
    from starlette.requests import Request
    from starlette.routing import Route

    state_dir = Path(state_dir).resolve()
    meter = CreditMeter(_DeployedSettings(state_dir))
    lock = threading.Lock()
    written = [0.0]

    def record(user: str, statement: str, start: float, end: float) -> None:
        with lock:
            was_suspended = meter.suspended_at is not None
            meter.after(user, statement, start, end)
            if end - written[0] >= WRITE_EVERY_SECONDS or (meter.suspended_at is not None) != was_suspended:
                write_state(state_dir, meter.state())
                written[0] = end

    original_execute = FakeSnowflakeCursor.execute

    def execute(self: FakeSnowflakeCursor, command: str, *args: Any, **kwargs: Any) -> Any:
        user = getattr(self._conn, USER_ATTRIBUTE, "local")
        with lock:
            meter.before(user, command)
        start = time.time()
        try:
            return original_execute(self, command, *args, **kwargs)
        finally:
            record(user, command, start, time.time())

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
    write_state(state_dir, meter.state())
    return meter
