"""The Snowpipe Streaming REST API's server side, on the local Snowflake (fakesnow).

Each documented endpoint (docs.snowflake.com, user-guide/snowpipe-streaming/
snowpipe-streaming-high-performance-rest-api, "REST API endpoints"):

    GET    /v2/streaming/hostname                                   JWT -> {"hostname"}
    POST   /oauth/token                                             JWT -> {"token"} (scoped)
    PUT    /v2/streaming/databases/D/schemas/S/pipes/P/channels/C   open: bump sequencer, last committed offset
    POST   /v2/streaming/data/databases/.../channels/C/rows         append NDJSON, continuation + offset tokens
    POST   /v2/streaming/databases/D/schemas/S/pipes/P:bulk-channel-status
    DELETE /v2/streaming/databases/D/schemas/S/pipes/P/channels/C   drop

An append is acknowledged once its rows are checked and queued; a committer
applies every queued append with the pipe's own SELECT (its COPY parsed by
local_stack/snowpipe/copy_plan.py, rows checked by the file pipe's record
checks) and moves each channel's committed offset in the same fakesnow
transaction (channels.py). So "committed" means what it means in Snowflake:
rows and offset are durable together, and a producer that reopens its
channel resumes from there. Reopening discards what was appended but not yet
committed ("in-flight data is silently discarded", Open Channel).

Bad rows follow the architecture's implicit ON_ERROR = CONTINUE (docs,
user-guide/snowpipe-streaming/snowpipe-streaming-error-tables): good rows
load, bad ones are counted in rows_error_count with the last error's message
and offset upper bound. Error responses use the documented {"code",
"message"} body; the codes other than STALE_CONTINUATION_TOKEN_SEQUENCER and
ERR_CHANNEL_HAS_UNCOMMITTED_DATA are this emulator's names (docs/streaming.md,
Known limits).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from local_stack.services import endpoints as local_endpoints
from local_stack.services.state import read_endpoints
from local_stack.snowpipe.copy_plan import CopyPlan, TargetColumn, parse_copy, parse_copy_target
from local_stack.snowpipe.record_checks import validate_records
from local_stack.streaming import channels, protocol
from local_stack.streaming.channels import ChannelState
from local_stack.streaming.records import LocalAccount, StreamingPipe, read_account

log = logging.getLogger(__name__)

READY_LINE = "Snowpipe Streaming emulator listening on"
# Tests only: the emulator dies between a commit's rows and its COMMIT when
# the commit holds an append whose numeric offset tokens span this number.
FAIL_BEFORE_COMMIT_ENV = "LOCAL_STREAMING_FAIL_BEFORE_COMMIT"
INJECTED_FAILURE_EXIT = 3
COMMIT_INTERVAL_SECONDS = 0.05
# Appended but not yet committed rows per channel before appends get 429.
MAX_PENDING_ROWS = 500_000
SCOPED_TOKEN_SECONDS = 3600
# Key-pair JWTs live at most one hour (docs, user-guide/key-pair-auth and
# developer-guide/sql-api/authenticating: "exp ... maximum of one hour").
MAX_JWT_SECONDS = 3600


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class InjectedFailureError(RuntimeError):
    """The test hook's crash between a commit's rows and its COMMIT."""


@dataclass
class Append:
    """One acknowledged Append Rows request, waiting for its commit."""

    start_offset_token: str | None
    end_offset_token: str | None
    rows: bytes  # the good rows, NDJSON
    good: int
    parsed: int
    errors: list[str]
    appended_at: float


@dataclass
class Channel:
    pipe: StreamingPipe
    state: ChannelState  # as committed
    row_sequencer: int = 0
    pending: list[Append] = field(default_factory=list)

    @property
    def pending_rows(self) -> int:
        return sum(a.parsed for a in self.pending)


def split_rows(payload: bytes, plan: CopyPlan) -> tuple[bytes, int, int, list[str]]:
    """(good rows as NDJSON, good count, parsed count, one message per bad row), in payload order.

    The file pipe's checker stops at a file's first bad record (SKIP_FILE); a
    streaming pipe skips only that row and goes on (ON_ERROR = CONTINUE), so
    the checker runs again after each bad row. NDJSON lines may end in CRLF
    (Append Rows: "You can also insert a carriage return").
    """
    lines = [line.rstrip(b"\r") for line in payload.split(b"\n")]
    good: list[bytes] = []
    errors: list[str] = []
    start = 0
    while start < len(lines):
        verdict = validate_records(b"\n".join(lines[start:]), plan)
        end = len(lines) if verdict.error is None else start + verdict.error.line - 1
        good.extend(line for line in lines[start:end] if line.strip())
        if verdict.error is None:
            break
        errors.append(f"row {len(good) + len(errors) + 1}: {verdict.error.reason}")
        start = end + 1
    body = b"".join(line + b"\n" for line in good)
    return body, len(good), len(good) + len(errors), errors


def _fingerprint(public_key_body: str) -> str:
    """SHA256:<base64 of the DER key's SHA-256>, as Snowflake's RSA_PUBLIC_KEY_FP and the JWT's iss carry it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(public_key_body)).digest()).decode()


class Emulator:
    def __init__(
        self,
        state_dir: Path,
        account_name: str,
        host: str,
        *,
        before_commit: Callable[[list[Append]], None] | None = None,
    ):
        self.state_dir = Path(state_dir)
        self.account_name = account_name.upper()
        self.host = host
        self.before_commit = before_commit
        self.account: LocalAccount = read_account(self.state_dir)
        if not self.account.pipes:
            raise SystemExit(f"no streaming pipe in {self.state_dir / 'snowflake_objects.json'}: nothing to serve")
        endpoints = read_endpoints(self.state_dir)
        self.connection = local_endpoints.connect_snowflake(endpoints, network_timeout=120, login_timeout=30)
        self.cursor = self.connection.cursor()
        self.plans = {key: self._plan(pipe) for key, pipe in self.account.pipes.items()}
        # A restarted emulator is a new server: continuation tokens it did not
        # issue are stale and their producers reopen their channels.
        self.epoch = secrets.token_hex(4)
        self.tokens: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()  # channels, pending appends, tokens
        self.commit_lock = threading.Lock()  # one commit at a time; open/drop wait for it
        self.channels: dict[tuple[str, str], Channel] = {}
        for database in {pipe.database for pipe in self.account.pipes.values()}:
            for statement in channels.ddl(database):
                self.cursor.execute(statement)
            for state in channels.load(self.cursor, database):
                pipe = self.account.pipes.get(state.pipe_name)
                if pipe is not None:
                    self.channels[(state.pipe_name, state.channel_name.upper())] = Channel(pipe, state)
        self.spool = self.state_dir / "streaming" / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.stop = threading.Event()
        self.wake = threading.Event()

    def _plan(self, pipe: StreamingPipe) -> CopyPlan:
        self.cursor.execute(f"DESCRIBE TABLE {parse_copy_target(pipe.copy_statement)}")
        columns = [TargetColumn(row[0].upper(), row[1], row[3] == "Y") for row in self.cursor.fetchall()]
        return parse_copy(pipe.copy_statement, columns)

    # ------------------------------------------------------------------ authentication

    def _bearer(self) -> str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", "missing 'Authorization: Bearer <token>' header")
        return header[7:].strip()

    def _user_from_jwt(self) -> str:
        """Key-pair JWT: iss ACCOUNT.USER.SHA256:<fingerprint>, sub ACCOUNT.USER, RS256, at most one hour.

        docs.snowflake.com, developer-guide/sql-api/authenticating ("Using key-pair authentication").
        """
        token = self._bearer()
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", f"not a JWT: {err}") from None
        sub = str(claims.get("sub", ""))
        account, _, user = sub.partition(".")
        if account.upper() != self.account_name or not user:
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", f"JWT sub must be {self.account_name}.<USER>, got {sub!r}")
        public_key = self.account.public_keys.get(user.upper())
        if public_key is None:
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", f"user {user.upper()} does not exist or has no RSA key")
        expected_iss = f"{self.account_name}.{user.upper()}.{_fingerprint(public_key)}"
        if str(claims.get("iss", "")).upper() != expected_iss.upper():
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", "JWT iss does not carry the fingerprint of the user's key")
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        try:
            checked = jwt.decode(token, key, algorithms=["RS256"], options={"require": ["exp", "iat"]})
        except jwt.PyJWTError as err:
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", f"JWT refused: {err}") from None
        if checked["exp"] - checked["iat"] > MAX_JWT_SECONDS:
            raise ApiError(401, "ERR_AUTHENTICATION_FAILED", "JWT lifetime exceeds one hour")
        return user.upper()

    def _user_from_scoped_token(self) -> str:
        token = self._bearer()
        with self.lock:
            found = self.tokens.get(token)
        if found is None or found[1] < time.time():
            raise ApiError(
                401, "ERR_AUTHENTICATION_FAILED", "scoped token unknown or expired: exchange a new one at /oauth/token"
            )
        return found[0]

    def _pipe(self, user: str, database: str, schema: str, pipe_name: str) -> StreamingPipe:
        # Names in the URI are case-insensitive (each endpoint's request table).
        key = f"{database}.{schema}.{pipe_name}".upper()
        pipe = self.account.pipes.get(key)
        # Calling the API needs OPERATE on the pipe and INSERT on its table (docs,
        # snowpipe-streaming/snowpipe-streaming-access-control); like Snowflake,
        # an unauthorised pipe looks like a missing one.
        if (
            pipe is None
            or not self.account.may(user, "OPERATE", "PIPE", key)
            or not self.account.may(user, "INSERT", "TABLE", self.plans[key].table)
        ):
            raise ApiError(
                404,
                "ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED",
                f"pipe {key} does not exist or the user's role lacks OPERATE on it or INSERT on its table",
            )
        return pipe

    def _channel(self, pipe: StreamingPipe, name: str) -> Channel:
        channel = self.channels.get((pipe.qualified.upper(), name.upper()))
        if channel is None:
            raise ApiError(
                404,
                "ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED",
                f"channel {name} of pipe {pipe.qualified} does not exist: open it first",
            )
        return channel

    # ------------------------------------------------------------------ endpoints

    def hostname(self) -> dict[str, Any]:
        self._user_from_jwt()
        return {"hostname": self.host}

    def scoped_token(self) -> dict[str, Any]:
        user = self._user_from_jwt()
        grant_type, scope = request.form.get("grant_type"), request.form.get("scope")
        if grant_type != protocol.JWT_GRANT_TYPE:
            raise ApiError(400, "ERR_INVALID_REQUEST", f"grant_type must be {protocol.JWT_GRANT_TYPE}")
        if scope != self.host:
            raise ApiError(
                400, "ERR_INVALID_REQUEST", f"scope must be the hostname {self.host} (GET /v2/streaming/hostname)"
            )
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (user, time.time() + SCOPED_TOKEN_SECONDS)
        return {"token": token}

    def open_channel(self, database: str, schema: str, pipe_name: str, name: str) -> dict[str, Any]:
        user = self._user_from_scoped_token()
        pipe = self._pipe(user, database, schema, pipe_name)
        body = request.get_json(silent=True) or {}
        key = (pipe.qualified.upper(), name.upper())
        with self.commit_lock, self.lock:
            channel = self.channels.get(key)
            if channel is not None and channel.pending and body.get("fail_on_uncommitted_rows"):
                raise ApiError(
                    409, protocol.CHANNEL_HAS_UNCOMMITTED_DATA, f"channel {name} has uncommitted rows in flight"
                )
            if channel is None:
                state = ChannelState(pipe.qualified.upper(), name, client_sequencer=0, created_on_ms=_now_ms())
                channel = Channel(pipe, state)
            state = replace(channel.state, client_sequencer=channel.state.client_sequencer + 1)
            if body.get("offset_token") is not None:
                state.last_committed_offset_token = str(body["offset_token"])
            self.cursor.execute("BEGIN")
            try:
                if key in self.channels:
                    channels.update(self.cursor, pipe.database, state)
                else:
                    channels.insert(self.cursor, pipe.database, state)
                self.cursor.execute("COMMIT")
            except BaseException:
                self.cursor.execute("ROLLBACK")
                raise
            channel.state, channel.row_sequencer, channel.pending = state, 0, []
            self.channels[key] = channel
            return {"next_continuation_token": self._continuation(channel), "channel_status": self._status(channel)}

    def append_rows(self, database: str, schema: str, pipe_name: str, name: str) -> dict[str, Any]:
        user = self._user_from_scoped_token()
        pipe = self._pipe(user, database, schema, pipe_name)
        payload = request.get_data()
        encoding = request.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            payload = gzip.decompress(payload)
        elif encoding:
            raise ApiError(400, "ERR_INVALID_REQUEST", f"Content-Encoding {encoding} is not supported by the emulator")
        if len(payload) > protocol.MAX_ROWS_BYTES:
            raise ApiError(
                413,
                "ERR_PAYLOAD_TOO_LARGE",
                f"rows payload is {len(payload)} bytes; Append Rows takes at most {protocol.MAX_ROWS_BYTES}: split it",
            )
        continuation = request.args.get("continuationToken")
        if not continuation:
            raise ApiError(
                400, "ERR_INVALID_REQUEST", "continuationToken is required (from Open Channel or the last append)"
            )
        rows, good, parsed, errors = split_rows(payload, self.plans[pipe.qualified.upper()])
        with self.lock:
            channel = self._channel(pipe, name)
            if continuation != self._continuation(channel):
                raise ApiError(
                    400,
                    protocol.STALE_CONTINUATION_TOKEN,
                    "Channel sequencer in the continuation token is stale. Please reopen the channel",
                )
            if channel.pending_rows + parsed > MAX_PENDING_ROWS:
                raise ApiError(429, "ERR_TOO_MANY_REQUESTS", "too many uncommitted rows on this channel: retry later")
            channel.pending.append(
                Append(
                    request.args.get("startOffsetToken"),
                    request.args.get("endOffsetToken"),
                    rows,
                    good,
                    parsed,
                    errors,
                    time.time(),
                )
            )
            channel.row_sequencer += 1
            token = self._continuation(channel)
        self.wake.set()
        return {"next_continuation_token": token}

    def bulk_status(self, database: str, schema: str, pipe_name: str) -> dict[str, Any]:
        user = self._user_from_scoped_token()
        pipe = self._pipe(user, database, schema, pipe_name)
        names = (request.get_json(silent=True) or {}).get("channel_names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ApiError(400, "ERR_INVALID_REQUEST", 'body must be {"channel_names": ["<channel>", ...]}')
        with self.lock:
            # "If no requested channel is found ... the response payload doesn't have an entry for that channel".
            found = {n: self.channels.get((pipe.qualified.upper(), n.upper())) for n in names}
            return {"channel_statuses": {n: self._status(c) for n, c in found.items() if c is not None}}

    def drop_channel(self, database: str, schema: str, pipe_name: str, name: str) -> dict[str, Any]:
        user = self._user_from_scoped_token()
        pipe = self._pipe(user, database, schema, pipe_name)
        body = request.get_json(silent=True) or {}
        with self.commit_lock, self.lock:
            channel = self._channel(pipe, name)
            if channel.pending and body.get("fail_on_uncommitted_rows"):
                raise ApiError(
                    409, protocol.CHANNEL_HAS_UNCOMMITTED_DATA, f"channel {name} has uncommitted rows in flight"
                )
            channels.delete(self.cursor, pipe.database, channel.state.pipe_name, channel.state.channel_name)
            del self.channels[(pipe.qualified.upper(), name.upper())]
        return {}

    def _continuation(self, channel: Channel) -> str:
        return f"{self.epoch}_{channel.state.client_sequencer}_{channel.row_sequencer}"

    @staticmethod
    def _status(channel: Channel) -> dict[str, Any]:
        state = channel.state
        database, schema, pipe = channel.pipe.database, channel.pipe.schema, channel.pipe.name
        return {
            "database_name": database,
            "schema_name": schema,
            "pipe_name": pipe,
            "channel_name": state.channel_name,
            "channel_status_code": "ACTIVE",
            "last_committed_offset_token": state.last_committed_offset_token,
            "created_on_ms": state.created_on_ms,
            "rows_inserted": state.rows_inserted,
            "rows_parsed": state.rows_parsed,
            # Open Channel documents rows_error_count, Bulk Get Channel Status rows_errors: both are sent.
            "rows_error_count": state.rows_error_count,
            "rows_errors": state.rows_error_count,
            "last_error_offset_upper_bound": state.last_error_offset_upper_bound,
            "last_error_message": state.last_error_message,
            "last_error_timestamp": state.last_error_timestamp_ms,
            "snowflake_avg_processing_latency_ms": state.avg_processing_latency_ms,
        }

    # ------------------------------------------------------------------ committer

    def run_committer(self) -> None:
        """Commit what is queued every COMMIT_INTERVAL_SECONDS (sooner after an append) until stopped, then drain."""
        while True:
            stopping = self.stop.is_set()
            if not stopping:
                self.wake.wait(COMMIT_INTERVAL_SECONDS)
                self.wake.clear()
            with self.commit_lock:
                with self.lock:
                    work = [(c, c.pending) for c in self.channels.values() if c.pending]
                    for channel, _ in work:
                        channel.pending = []
                if not work:
                    if stopping:
                        return
                    continue
                try:
                    self._commit(work)
                except InjectedFailureError:
                    log.error("injected failure before COMMIT: exiting as a crashed server would (rolled back)")
                    logging.shutdown()
                    os._exit(INJECTED_FAILURE_EXIT)
                except Exception:
                    # The rows were acknowledged, not committed: put them back for the next round.
                    log.exception("commit failed and was rolled back; retrying")
                    with self.lock:
                        for channel, appends in work:
                            channel.pending = appends + channel.pending
                    self.stop.wait(1)

    def _commit(self, work: list[tuple[Channel, list[Append]]]) -> None:
        started = time.time()
        updated: list[tuple[Channel, ChannelState]] = []
        by_table: dict[str, list[bytes]] = {}
        for channel, appends in work:
            state = replace(channel.state)
            for append in appends:
                state.rows_parsed += append.parsed
                state.rows_inserted += append.good
                if append.end_offset_token is not None:
                    state.last_committed_offset_token = append.end_offset_token
                if append.errors:
                    state.rows_error_count += len(append.errors)
                    state.last_error_message = append.errors[-1]
                    state.last_error_offset_upper_bound = append.end_offset_token
                    state.last_error_timestamp_ms = _now_ms()
                    log.warning("channel %s: skipped %d bad rows (ON_ERROR = CONTINUE): %s",
                                state.channel_name, len(append.errors), append.errors[-1])  # fmt: skip
                state.committed_batches += 1
                if append.rows:
                    by_table.setdefault(channel.pipe.qualified.upper(), []).append(append.rows)
            updated.append((channel, state))
        spooled = []
        self.cursor.execute("BEGIN")
        try:
            for pipe_key, chunks in by_table.items():
                path = self.spool / f"{uuid.uuid4().hex}.ndjson"
                path.write_bytes(b"".join(chunks))
                spooled.append(path)
                plan = self.plans[pipe_key]
                self.cursor.execute(plan.insert_records_sql(path))
                inserted = self.cursor.fetchone()[0]
                expected = sum(chunk.count(b"\n") for chunk in chunks)
                if inserted != expected:
                    raise RuntimeError(f"checked {expected} rows but fakesnow inserted {inserted} into {plan.table}")
            # Processing latency: acknowledged append to rows applied (the COMMIT follows at once).
            applied = time.time()
            for (channel, state), (_, appends) in zip(updated, work, strict=True):
                state.latency_ms_total += sum(round((applied - a.appended_at) * 1000) for a in appends)
                channels.update(self.cursor, channel.pipe.database, state)
            if self.before_commit is not None:
                self.before_commit([a for _, appends in work for a in appends])
            self.cursor.execute("COMMIT")
        except BaseException:
            self.cursor.execute("ROLLBACK")
            raise
        finally:
            for path in spooled:
                path.unlink(missing_ok=True)
        for channel, state in updated:
            channel.state = state
        log.debug(
            "committed %d rows of %d appends in %.0f ms",
            sum(a.good for _, appends in work for a in appends),
            sum(len(appends) for _, appends in work),
            (time.time() - started) * 1000,
        )

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # the server may be gone at shutdown
            log.debug("closing the fakesnow connection failed", exc_info=True)


def _now_ms() -> int:
    return int(time.time() * 1000)


def fail_before_commit_hook(marker: int) -> Callable[[list[Append]], None]:
    def spans(append: Append) -> bool:
        try:
            return int(append.start_offset_token or "") <= marker <= int(append.end_offset_token or "")
        except ValueError:
            return False

    def hook(appends: list[Append]) -> None:
        if any(spans(a) for a in appends):
            raise InjectedFailureError(f"injected before COMMIT ({FAIL_BEFORE_COMMIT_ENV}={marker})")

    return hook


def create_app(emulator: Emulator) -> Flask:
    app = Flask("snowpipe-streaming-emulator")
    app.config["MAX_CONTENT_LENGTH"] = protocol.MAX_REQUEST_BYTES
    channel = "/v2/streaming/databases/<database>/schemas/<schema>/pipes/<pipe_name>/channels/<name>"

    def answer(handler: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
        def view(**kwargs: str) -> Response:
            return Response(orjson.dumps(handler(**kwargs)), status=200, mimetype="application/json")

        view.__name__ = handler.__name__
        return view

    app.add_url_rule(protocol.HOSTNAME_PATH, view_func=answer(emulator.hostname), methods=["GET"])
    app.add_url_rule(protocol.TOKEN_PATH, view_func=answer(emulator.scoped_token), methods=["POST"])
    app.add_url_rule(channel, view_func=answer(emulator.open_channel), methods=["PUT"])
    app.add_url_rule(channel, view_func=answer(emulator.drop_channel), methods=["DELETE"], endpoint="drop_channel")
    app.add_url_rule(
        "/v2/streaming/data/databases/<database>/schemas/<schema>/pipes/<pipe_name>/channels/<name>/rows",
        view_func=answer(emulator.append_rows),
        methods=["POST"],
    )

    def bulk_status(database: str, schema: str, pipe_action: str) -> dict[str, Any]:
        pipe_name, _, action = pipe_action.partition(":")
        if action != "bulk-channel-status":
            raise ApiError(404, "ERR_NOT_FOUND", f"unknown pipe action {action!r}")
        return emulator.bulk_status(database, schema, pipe_name)

    app.add_url_rule(
        "/v2/streaming/databases/<database>/schemas/<schema>/pipes/<pipe_action>",
        view_func=answer(bulk_status),
        methods=["POST"],
    )

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Response:
        body = orjson.dumps(protocol.error_body(err.code, err.message))
        return Response(body, err.status, mimetype="application/json")

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        code = "ERR_PAYLOAD_TOO_LARGE" if err.code == 413 else f"ERR_HTTP_{err.code}"
        message = (
            f"request exceeds {protocol.MAX_REQUEST_BYTES} bytes: split it" if err.code == 413 else str(err.description)
        )
        return Response(orjson.dumps(protocol.error_body(code, message)), err.code or 500, mimetype="application/json")

    return app


def serve(state_dir: Path, port: int, account_name: str, stop: threading.Event) -> None:
    """Serve until `stop` is set; the committer drains what is queued before the process ends."""
    marker = os.environ.get(FAIL_BEFORE_COMMIT_ENV)
    hook = fail_before_commit_hook(int(marker)) if marker else None
    if hook is not None:
        log.warning("test hook on: the commit holding offset %s fails before COMMIT", marker)
    emulator = Emulator(state_dir, account_name, f"127.0.0.1:{port}", before_commit=hook)
    server = make_server("127.0.0.1", port, create_app(emulator), threaded=True)
    committer = threading.Thread(target=emulator.run_committer, name="committer", daemon=True)
    committer.start()
    serving = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    serving.start()
    log.info("%s http://127.0.0.1:%d (pipes %s)", READY_LINE, port, ", ".join(emulator.account.pipes))
    stop.wait()
    server.shutdown()
    emulator.stop.set()
    emulator.wake.set()
    committer.join(timeout=30)
    emulator.close()
