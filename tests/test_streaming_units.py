"""Fast checks of the streaming path's parts: bad-row splitting, append batching, the JWT, the producer's resend.

No emulator here (tests/e2e/test_streaming.py runs the real one). The fake
service below keeps committed rows and drops uncommitted ones on reopen, as
Open Channel documents ("in-flight data is silently discarded").
"""

from __future__ import annotations

import base64
import hashlib
import time

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization

from infra import sql_source
from local_stack.snowpipe.copy_plan import TargetColumn, parse_copy
from local_stack.stack import throwaway_key_pair
from local_stack.streaming import protocol
from local_stack.streaming.client import PipeRef, StreamingApiError, key_pair_jwt
from local_stack.streaming.emulator import split_rows
from local_stack.streaming_producer import ChannelWriter, Row

PIPE = PipeRef("DB", "SC", "P")
EVENT = {"event_id": "e1", "event_type": "view", "event_timestamp": "2026-01-01T00:00:00Z",
         "customer_id": 1, "product_id": 1001, "quantity": 1, "session_id": "s"}  # fmt: skip


def plan():
    columns = [TargetColumn(c.name, c.type, c.nullable) for c in sql_source.tables()["ECOMMERCE_EVENTS"].columns]
    return parse_copy(sql_source.streaming_pipe_copy_statement(sql_source.SchemaPath("DB", "SC")), columns)


def test_split_rows_keeps_good_rows_and_names_each_bad_one():
    payload = (
        orjson.dumps(EVENT) + b"\n"
        + b"{broken\n"
        + orjson.dumps({**EVENT, "event_id": None}) + b"\r\n"
        + orjson.dumps({**EVENT, "event_id": "e4"}) + b"\r\n"
    )  # fmt: skip
    good, good_count, parsed, errors = split_rows(payload, plan())
    assert (good_count, parsed) == (2, 4)
    assert [orjson.loads(line)["event_id"] for line in good.splitlines()] == ["e1", "e4"]
    assert errors[0].startswith("row 2: Error parsing JSON")
    assert errors[1] == "row 3: NULL result in a non-nullable column EVENT_ID"


def test_key_pair_jwt_names_the_account_user_and_key_fingerprint():
    public_pem, private_pem = throwaway_key_pair()
    token = key_pair_jwt("org-acct", "streamer", private_pem.encode())
    public = serialization.load_pem_public_key(public_pem.encode())
    claims = jwt.decode(token, public, algorithms=["RS256"])
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = base64.b64encode(hashlib.sha256(der).digest()).decode()
    assert claims["sub"] == "ORG-ACCT.STREAMER"
    assert claims["iss"] == f"ORG-ACCT.STREAMER.SHA256:{fingerprint}"
    assert 0 < claims["exp"] - claims["iat"] <= 3600


class FakeService:
    """Committed rows by offset; appends commit when `commit()` is called; reopen drops uncommitted ones."""

    def __init__(self):
        self.committed: dict[int, bytes] = {}
        self.pending: list[tuple[int, bytes]] = []
        self.sequencer = 0
        self.row_sequencer = 0
        self.stale_next = 0

    def _token(self) -> str:
        return f"{self.sequencer}_{self.row_sequencer}"

    def open_channel(self, _pipe, _channel, offset_token=None):
        self.sequencer += 1
        self.row_sequencer = 0
        self.pending = []
        last = max(self.committed) if self.committed else None
        return {"next_continuation_token": self._token(),
                "channel_status": {"last_committed_offset_token": None if last is None else str(last)}}  # fmt: skip

    def append_rows(self, _pipe, _channel, continuation, rows, start, end):
        if self.stale_next or continuation != self._token():
            self.stale_next = max(0, self.stale_next - 1)
            raise StreamingApiError(400, protocol.STALE_CONTINUATION_TOKEN, "stale", "append")
        lines = rows.splitlines(keepends=True)
        assert len(lines) == int(end) - int(start) + 1
        self.pending += list(zip(range(int(start), int(end) + 1), lines, strict=True))
        self.row_sequencer += 1
        return self._token()

    def restart(self):
        """A service restart between acknowledging appends and committing them: those rows are gone."""
        self.pending = []
        self.sequencer += 1

    def commit(self):
        for offset, line in self.pending:
            assert offset not in self.committed, f"offset {offset} committed twice"
            self.committed[offset] = line
        self.pending = []

    def channel_statuses(self, _pipe, names):
        last = max(self.committed) if self.committed else None
        return {names[0]: {"last_committed_offset_token": None if last is None else str(last)}}


def rows(first: int, count: int) -> list[Row]:
    return [Row(n, orjson.dumps({**EVENT, "event_id": f"e{n}"}) + b"\n") for n in range(first, first + count)]


def test_writer_resends_exactly_what_a_reopen_discarded():
    service = FakeService()
    writer = ChannelWriter(service, PIPE, "c", max_batch_rows=10)
    assert writer.open() == 0
    writer.write(rows(0, 25))
    service.commit()
    writer.refresh()
    writer.write(rows(25, 15))  # acknowledged, not committed
    service.stale_next = 1  # the next append finds the channel reopened
    writer.write(rows(40, 10))
    service.commit()
    writer.refresh()
    assert sorted(service.committed) == list(range(50)), "every offset once, none lost"
    assert writer.committed == 49 and not writer.unconfirmed
    assert writer.reopened == 1


def test_restarted_writer_resumes_after_the_committed_offset():
    service = FakeService()
    first = ChannelWriter(service, PIPE, "c")
    first.open()
    first.write(rows(0, 30))
    service.commit()
    first.write(rows(30, 30))  # the producer dies before this commits
    second = ChannelWriter(service, PIPE, "c")
    assert second.open() == 30, "a new instance starts after the committed offset"
    second.write(rows(30, 30))
    service.commit()
    assert sorted(service.committed) == list(range(60))


def test_rows_lost_with_nothing_left_to_append_are_resent_once_the_commit_stalls():
    """Seen in `make test`: the emulator died after acknowledging the producer's last appends; no later
    append met the stale token, and the producer waited 120 s on a committed offset that never moved."""
    service = FakeService()
    writer = ChannelWriter(service, PIPE, "c", stalled_commit_seconds=0.2)
    writer.open()
    writer.write(rows(0, 20))
    service.commit()
    writer.refresh()
    writer.write(rows(20, 20))  # the last rows: acknowledged, then lost
    service.restart()
    writer.refresh()
    assert writer.reopened == 0, "a commit that is merely late is waited for"
    time.sleep(0.25)
    writer.refresh()
    service.commit()
    writer.refresh()
    assert sorted(service.committed) == list(range(40)), "every offset once, none lost"
    assert writer.reopened == 1 and not writer.unconfirmed


def test_batches_stay_under_the_rows_limit():
    writer = ChannelWriter(FakeService(), PIPE, "c", max_batch_rows=1_000_000)
    big = [Row(n, b"x" * 1_000_000 + b"\n") for n in range(9)]
    batches = list(writer._batches(big))
    assert all(sum(len(r.line) for r in b) <= protocol.MAX_ROWS_BYTES for b in batches)
    assert [r.offset for b in batches for r in b] == list(range(9))
    with pytest.raises(ValueError, match="over the 4 MB rows limit"):
        list(writer._batches([Row(0, b"x" * (protocol.MAX_ROWS_BYTES + 1))]))


def test_a_response_cut_off_mid_body_is_sent_again():
    """A server that dies while answering leaves a short body, past urllib3's retries; the call is made again.

    Seen in `make test`: the emulator, killed by its injected failure, cut another append's answer short
    (IncompleteRead) and the producer exited instead of resending.
    """
    import socket
    import threading

    from local_stack.streaming.client import StreamingClient

    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n",  # then the socket closes
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok": "1"}',
    ]
    requests_seen = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for answer in answers:
            connection, _ = server.accept()
            with connection:
                requests_seen.append(connection.recv(65536).split(b"\r\n", 1)[0])
                connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    _public, private_pem = throwaway_key_pair()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    client = StreamingClient(url, "LOCAL", "U", private_pem.encode())
    try:
        assert client._call("GET", url + "/status", "status") == {"ok": "1"}
    finally:
        server.close()
    assert requests_seen == [b"GET /status HTTP/1.1"] * 2
