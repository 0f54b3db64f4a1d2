"""End to end: the Snowpipe Streaming emulator of the local stack, its REST contract, and exactly-once delivery.

The stack is the session's real local deploy (Pulumi.local.yaml, ingestion:
both) on moto + fakesnow, shared with the Snowpipe tests; the emulator runs
as the stack runs it, a process tests stop and restart. Expected values are
written out from the REST API page (docs.snowflake.com, user-guide/
snowpipe-streaming/snowpipe-streaming-high-performance-rest-api), not read
from the emulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import orjson
import pytest
import requests

from local_stack import stack
from local_stack.harness import ROOT, LocalEnv
from local_stack.services import processes
from local_stack.services.processes import wait_for
from local_stack.services.state import StreamingEndpoint, read_streaming
from local_stack.shopping import generate_events
from local_stack.streaming import protocol
from local_stack.streaming.client import PipeRef, StreamingApiError, StreamingClient, key_pair_jwt
from local_stack.streaming.emulator import FAIL_BEFORE_COMMIT_ENV, Emulator, create_app
from local_stack.streaming_producer import EXIT_AFTER_APPEND_CODE, EXIT_AFTER_APPEND_ENV

pytestmark = pytest.mark.e2e


class StreamingStack:
    def __init__(self, env: LocalEnv):
        self.env = env
        self.endpoint: StreamingEndpoint = read_streaming(env.state_dir)
        self.pipe = PipeRef.parse(self.endpoint.pipe)
        self.key = Path(self.endpoint.private_key_file).read_bytes()
        self.emulator = stack.start_streaming_emulator(env.state_dir, self.endpoint, progress=lambda _m: None)

    def restart_emulator(self, extra_env: dict[str, str] | None = None) -> None:
        processes.stop(self.env.state_dir, "streaming")
        env = {**os.environ, **(extra_env or {})}
        self.emulator = stack.start_streaming_emulator(
            self.env.state_dir, self.endpoint, progress=lambda _m: None, env=env
        )

    def client(self) -> StreamingClient:
        return StreamingClient(self.endpoint.url, self.endpoint.account, self.endpoint.user, self.key)

    def producer(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        command = [sys.executable, "-m", "local_stack.producer", "--mode", "streaming",
                   "--state-dir", str(self.env.state_dir), *args]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def event_counts(self, event_ids: set[str]) -> dict[str, int]:
        """How many rows ECOMMERCE_EVENTS holds for each of `event_ids` (through the ENRICHED_EVENTS view)."""
        with self.env.connect() as connection:
            rows = (
                connection.cursor()
                .execute(
                    "SELECT event_id, COUNT(*) FROM enriched_events WHERE source_file = 'snowpipe-streaming' GROUP BY 1"
                )
                .fetchall()
            )
        return {event_id: int(n) for event_id, n in rows if event_id in event_ids}


@pytest.fixture(scope="module")
def streaming(env: LocalEnv) -> Iterator[StreamingStack]:
    """The session's stack (tests/e2e/conftest.py `env`) with its streaming emulator; rows are told apart by
    their seeded event ids."""
    running = StreamingStack(env)
    yield running
    processes.stop(env.state_dir, "streaming")


def _raw(method: str, url: str, **kwargs) -> requests.Response:
    """One request, no retries: the contract tests look at the very first answer."""
    return requests.request(method, url, timeout=30, **kwargs)


def _error(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"code", "message"}, f"error body {body} is not the documented {{code, message}}"
    return response.status_code, body["code"]


def _ndjson(events: list[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


# ---------------------------------------------------------------- authentication: JWT, scoped token


def test_hostname_and_token_need_a_key_pair_jwt(streaming):
    url = streaming.endpoint.url
    assert _error(_raw("GET", url + protocol.HOSTNAME_PATH)) == (401, "ERR_AUTHENTICATION_FAILED")
    garbage = {"Authorization": "Bearer not-a-jwt"}
    assert _error(_raw("GET", url + protocol.HOSTNAME_PATH, headers=garbage)) == (401, "ERR_AUTHENTICATION_FAILED")
    form = {"grant_type": protocol.JWT_GRANT_TYPE, "scope": "127.0.0.1"}
    assert _error(_raw("POST", url + protocol.TOKEN_PATH, data=form))[0] == 401

    token = key_pair_jwt(streaming.endpoint.account, streaming.endpoint.user, streaming.key)
    headers = {"Authorization": f"Bearer {token}", protocol.TOKEN_TYPE_HEADER: protocol.KEYPAIR_JWT}
    hostname = _raw("GET", url + protocol.HOSTNAME_PATH, headers=headers).json()["hostname"]
    assert hostname == url.removeprefix("http://")
    wrong_grant = _raw("POST", url + protocol.TOKEN_PATH, headers=headers, data={**form, "grant_type": "password"})
    assert _error(wrong_grant) == (400, "ERR_INVALID_REQUEST")
    wrong_scope = _raw("POST", url + protocol.TOKEN_PATH, headers=headers, data={**form, "scope": "elsewhere"})
    assert _error(wrong_scope) == (400, "ERR_INVALID_REQUEST")
    scoped = _raw("POST", url + protocol.TOKEN_PATH, headers=headers, data={**form, "scope": hostname})
    assert scoped.status_code == 200 and scoped.json()["token"]


def _claims(streaming) -> dict:
    token = key_pair_jwt(streaming.endpoint.account, streaming.endpoint.user, streaming.key)
    return jwt.decode(token, options={"verify_signature": False})


def test_jwt_signed_with_another_key_is_refused(streaming):
    from cryptography.hazmat.primitives import serialization

    _public, other_private = stack.throwaway_key_pair()
    other = serialization.load_pem_private_key(other_private.encode(), password=None)
    url = streaming.endpoint.url + protocol.HOSTNAME_PATH
    # The right iss (the user's key fingerprint), the wrong signature.
    forged = jwt.encode(_claims(streaming), other, "RS256")
    assert _error(_raw("GET", url, headers={"Authorization": f"Bearer {forged}"})) == (401, "ERR_AUTHENTICATION_FAILED")
    # Another key's fingerprint in iss.
    foreign = key_pair_jwt(streaming.endpoint.account, streaming.endpoint.user, other_private.encode())
    assert _error(_raw("GET", url, headers={"Authorization": f"Bearer {foreign}"}))[0] == 401


def test_expired_jwt_is_refused(streaming):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(streaming.key, password=None)
    now = int(time.time())
    expired = jwt.encode({**_claims(streaming), "iat": now - 7200, "exp": now - 3600}, key, "RS256")
    response = _raw(
        "GET", streaming.endpoint.url + protocol.HOSTNAME_PATH, headers={"Authorization": f"Bearer {expired}"}
    )
    assert _error(response) == (401, "ERR_AUTHENTICATION_FAILED")


def test_channel_endpoints_refuse_a_missing_or_unknown_scoped_token(streaming):
    path = protocol.channel_path(streaming.pipe.database, streaming.pipe.schema, streaming.pipe.name, "c")
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        assert _error(_raw("PUT", streaming.endpoint.url + path, headers=headers, json={}))[0] == 401


# ---------------------------------------------------------------- channels, appends, status, drop


def test_unknown_pipe_and_unknown_channel(streaming):
    client = streaming.client()
    with pytest.raises(StreamingApiError) as raised:
        client.open_channel(PipeRef(streaming.pipe.database, streaming.pipe.schema, "NO_SUCH_PIPE"), "c")
    assert (raised.value.status, raised.value.code) == (404, "ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED")
    with pytest.raises(StreamingApiError) as raised:
        client.append_rows(streaming.pipe, "never-opened", "x_1_0", b'{"a": 1}\n', "0", "0")
    assert (raised.value.status, raised.value.code) == (404, "ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED")
    with pytest.raises(StreamingApiError) as raised:
        client.drop_channel(streaming.pipe, "never-opened")
    assert raised.value.status == 404


def test_open_append_status_drop(streaming):
    client = streaming.client()
    opened = client.open_channel(streaming.pipe, "contract")
    status = opened["channel_status"]
    assert status["channel_name"] == "contract" and status["last_committed_offset_token"] is None
    assert status["pipe_name"] == streaming.pipe.name and status["rows_inserted"] == 0
    events = generate_events(10, seed=1901)
    token = client.append_rows(streaming.pipe, "contract", opened["next_continuation_token"], _ndjson(events), "0", "9")
    assert token != opened["next_continuation_token"]
    writer_status = wait_for(
        lambda: (
            (s := client.channel_statuses(streaming.pipe, ["contract", "absent"]))["contract"][
                "last_committed_offset_token"
            ]
            == "9"
            and s
        ),
        30,
        "offset 9 committed",
    )
    assert "absent" not in writer_status, "an unknown channel has no entry (Bulk Get Channel Status note)"
    assert writer_status["contract"]["rows_inserted"] == 10
    assert streaming.event_counts({e["event_id"] for e in events}) == {e["event_id"]: 1 for e in events}

    # Reopening bumps the client sequencer: the old continuation token is stale.
    reopened = client.open_channel(streaming.pipe, "contract")
    assert reopened["channel_status"]["last_committed_offset_token"] == "9"
    with pytest.raises(StreamingApiError) as raised:
        client.append_rows(streaming.pipe, "contract", token, _ndjson(events[:1]), "10", "10")
    assert (raised.value.status, raised.value.code) == (400, "STALE_CONTINUATION_TOKEN_SEQUENCER")

    client.drop_channel(streaming.pipe, "contract")
    assert client.channel_statuses(streaming.pipe, ["contract"]) == {}


def test_oversized_payload_and_missing_continuation_token(streaming):
    client = streaming.client()
    opened = client.open_channel(streaming.pipe, "limits")
    url = client.ingest_url + protocol.rows_path(
        streaming.pipe.database, streaming.pipe.schema, streaming.pipe.name, "limits"
    )
    headers = {"Authorization": f"Bearer {client._scoped}", "Content-Type": protocol.NDJSON}
    line = b'{"event_id": "' + b"x" * 1000 + b'"}\n'
    too_big = line * (protocol.MAX_ROWS_BYTES // len(line) + 1)
    params = {"continuationToken": opened["next_continuation_token"], "startOffsetToken": "0", "endOffsetToken": "0"}
    assert _error(_raw("POST", url, headers=headers, params=params, data=too_big)) == (413, "ERR_PAYLOAD_TOO_LARGE")
    over_request = _raw("POST", url, headers=headers, params=params, data=b"x" * (protocol.MAX_REQUEST_BYTES + 1))
    assert _error(over_request) == (413, "ERR_PAYLOAD_TOO_LARGE")
    assert _error(_raw("POST", url, headers=headers, data=line)) == (400, "ERR_INVALID_REQUEST")
    # A refused append does not move the sequencer: the token still works.
    client.append_rows(streaming.pipe, "limits", opened["next_continuation_token"], line, "0", "0")


# ---------------------------------------------------------------- bad rows (ON_ERROR = CONTINUE)


def test_bad_rows_are_skipped_counted_and_reported(streaming):
    client = streaming.client()
    opened = client.open_channel(streaming.pipe, "bad-rows")
    good = generate_events(3, seed=1902)
    rows = (
        orjson.dumps(good[0]) + b"\n"
        + b"{not json}\n"
        + orjson.dumps({**good[1], "quantity": "lots"}) + b"\n"
        + orjson.dumps(good[2]) + b"\r\n"
    )  # fmt: skip
    client.append_rows(streaming.pipe, "bad-rows", opened["next_continuation_token"], rows, "0", "3")
    status = wait_for(
        lambda: (
            (s := client.channel_statuses(streaming.pipe, ["bad-rows"])["bad-rows"])["last_committed_offset_token"]
            == "3"
            and s
        ),
        30,
        "offset 3 committed",
    )
    assert (status["rows_parsed"], status["rows_inserted"], status["rows_error_count"]) == (4, 2, 2)
    assert status["last_error_offset_upper_bound"] == "3"
    assert "Numeric value 'lots' is not recognized" in status["last_error_message"]
    ids = {e["event_id"] for e in good}
    assert streaming.event_counts(ids) == {good[0]["event_id"]: 1, good[2]["event_id"]: 1}

    report = subprocess.run(
        [sys.executable, "-m", "local_stack.cli", "status", "--state-dir", str(streaming.env.state_dir)],
        cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    channels = {c["channel_name"]: c for c in orjson.loads(report.stdout)["streaming"]["channels"]}
    assert channels["bad-rows"]["rows_error_count"] == 2
    assert "lots" in channels["bad-rows"]["last_error_message"]


# ---------------------------------------------------------------- exactly once


def _finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output.decode(errors="replace")


def test_exactly_once_across_a_producer_restart(streaming):
    count, seed, channel = 4000, 1903, "restart-producer"
    args = ("--rate", "4000", "--count", str(count), "--seed", str(seed), "--channel", channel)
    # Dies right after the append holding offset 1500 is acknowledged, before it knows the commit.
    code, output = _finish(streaming.producer(*args, extra_env={EXIT_AFTER_APPEND_ENV: "1500"}))
    assert code == EXIT_AFTER_APPEND_CODE, output
    code, output = _finish(streaming.producer(*args))
    assert code == 0, output
    resumed_at = int(output.split("resuming at offset ")[1].split()[0])
    assert 0 < resumed_at <= count, output
    expected = {e["event_id"] for e in generate_events(count, seed=seed)}
    assert streaming.event_counts(expected) == dict.fromkeys(expected, 1)


def _through_the_injected_crash(streaming: StreamingStack, producer: subprocess.Popen) -> tuple[int, str]:
    """Waits for the emulator's injected crash before a COMMIT, restarts it, and lets the producer finish."""
    try:
        wait_for(lambda: not processes.alive(streaming.emulator.pid), 60, "the injected failure")
        assert "injected failure before COMMIT" in Path(streaming.emulator.log).read_text()
        streaming.restart_emulator()
        return _finish(producer)
    finally:
        if producer.poll() is None:
            producer.kill()


def test_exactly_once_across_an_emulator_restart(streaming):
    count, seed, channel = 4000, 1904, "restart-emulator"
    streaming.restart_emulator({FAIL_BEFORE_COMMIT_ENV: "2000"})
    # The emulator acknowledges the append holding offset 2000, then dies before its COMMIT.
    args = ("--rate", "4000", "--count", str(count), "--seed", str(seed), "--channel", channel)
    code, output = _through_the_injected_crash(streaming, streaming.producer(*args))
    assert code == 0, output
    assert "reopened 1x" in output or "reopening" in output, output
    expected = {e["event_id"] for e in generate_events(count, seed=seed)}
    assert streaming.event_counts(expected) == dict.fromkeys(expected, 1)


def test_rows_lost_after_the_last_append_are_resent_when_their_commit_stalls(streaming):
    """The emulator dies on the commit of the last rows: no append is left to meet a stale token."""
    count, seed, channel = 600, 1906, "restart-after-last-append"
    streaming.restart_emulator({FAIL_BEFORE_COMMIT_ENV: str(count - 1)})
    args = ("--rate", "2000", "--count", str(count), "--seed", str(seed), "--channel", channel)
    code, output = _through_the_injected_crash(streaming, streaming.producer(*args, "--stalled-commit-seconds", "2"))
    assert code == 0, output
    assert "the committed offset has stayed at" in output, output
    expected = {e["event_id"] for e in generate_events(count, seed=seed)}
    assert streaming.event_counts(expected) == dict.fromkeys(expected, 1)


def test_reopen_discards_appended_but_uncommitted_rows(streaming):
    """Open Channel: "in-flight data is silently discarded". An in-process emulator whose committer runs on demand."""
    emulator = Emulator(streaming.env.state_dir, streaming.endpoint.account, "in-process")
    api = create_app(emulator).test_client()
    try:
        signed = {"Authorization": "Bearer " + key_pair_jwt(streaming.endpoint.account, streaming.endpoint.user,
                                                            streaming.key)}  # fmt: skip
        form = {"grant_type": protocol.JWT_GRANT_TYPE, "scope": "in-process"}
        scoped = {"Authorization": "Bearer " + api.post(protocol.TOKEN_PATH, headers=signed, data=form).json["token"]}
        pipe = streaming.pipe
        channel = protocol.channel_path(pipe.database, pipe.schema, pipe.name, "discard")
        rows = protocol.rows_path(pipe.database, pipe.schema, pipe.name, "discard")
        events = generate_events(3, seed=1907)

        def append(token: str) -> str:
            query = {"continuationToken": token, "startOffsetToken": "0", "endOffsetToken": "2"}
            answer = api.post(rows, headers=scoped, query_string=query, data=_ndjson(events))
            assert answer.status_code == 200, answer.json
            return answer.json["next_continuation_token"]

        def commit_queued() -> None:
            emulator.stop.set()
            emulator.run_committer()  # commits what is queued, then returns
            emulator.stop.clear()

        append(api.put(channel, headers=scoped, json={}).json["next_continuation_token"])
        reopened = api.put(channel, headers=scoped, json={}).json
        assert reopened["channel_status"]["last_committed_offset_token"] is None
        commit_queued()
        ids = {e["event_id"] for e in events}
        assert streaming.event_counts(ids) == {}, "rows appended before the reopen must not load"

        append(reopened["next_continuation_token"])
        commit_queued()
        assert streaming.event_counts(ids) == dict.fromkeys(ids, 1)
    finally:
        emulator.close()
