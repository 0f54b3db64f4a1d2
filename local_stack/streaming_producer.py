"""`python -m local_stack.producer --mode streaming`: events over the Snowpipe Streaming REST API, exactly once.

One producer instance writes one channel. Each event's offset token is its
position in the seeded event stream, so the stream is replayable like a
Kafka partition: on start the producer opens its channel, reads the last
committed offset token and skips what is already committed; while running it
keeps every appended row until the channel's status says it is committed,
and after a stale continuation token (its channel was reopened, or the
service restarted) it reopens and resends exactly what is not committed.
Nothing is lost and nothing is doubled ("Offset tokens and exactly-once
delivery", docs.snowflake.com, user-guide/snowpipe-streaming/
data-load-snowpipe-streaming-overview).

    python -m local_stack.producer --mode streaming --state-dir .local --rate 500
    python -m local_stack.producer --mode streaming --account-url https://ORG-ACCT.snowflakecomputing.com \\
        --account ORG-ACCT --user <stack output streaming_user> --private-key-file rsa_key.p8 \\
        --pipe <stack output streaming_pipe> --channel events-1 --seed 1
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from local_stack.streaming import protocol
from local_stack.streaming.client import PipeRef, StreamingApiError, StreamingClient

log = logging.getLogger(__name__)

# Tests only: exit abruptly once the append holding this offset is acknowledged,
# before its commit is confirmed (a producer crash between append and commit).
EXIT_AFTER_APPEND_ENV = "STREAMING_PRODUCER_EXIT_AFTER_APPEND"
EXIT_AFTER_APPEND_CODE = 75
# Rows per append: a request per ~0.1 s at demo rates, well under the 4 MB rows limit.
MAX_BATCH_ROWS = 5_000
MAX_UNCOMMITTED_ROWS = 200_000
RECOVERY_ATTEMPTS = 5
# Rows outstanding and the committed offset still for this long: the service lost them (a restart between
# acknowledging and committing) and no later append will hear of it, so reopen and resend. A reopen discards
# what the channel still holds in flight, so this never doubles a row. Three times the documented worst
# latency ("within 5 to 10 seconds", user-guide/snowpipe-streaming-high-performance-overview).
STALLED_COMMIT_SECONDS = 30.0


@dataclass(frozen=True)
class Row:
    offset: int
    line: bytes  # one NDJSON line, newline included


class ChannelWriter:
    """Appends rows to one channel and holds each until the channel's committed offset covers it."""

    def __init__(
        self,
        client: StreamingClient,
        pipe: PipeRef,
        channel: str,
        *,
        after_append: Callable[[int], None] | None = None,
        max_batch_rows: int = MAX_BATCH_ROWS,
        stalled_commit_seconds: float = STALLED_COMMIT_SECONDS,
    ):
        self.client, self.pipe, self.channel = client, pipe, channel
        self.after_append = after_append
        self.max_batch_rows = max_batch_rows
        self.stalled_commit_seconds = stalled_commit_seconds
        self.progressed_at = time.monotonic()  # when the committed offset last moved, or rows became owed
        self.unconfirmed: deque[Row] = deque()
        self.committed = -1  # last committed offset; -1: nothing yet
        self.continuation = ""
        self.status: dict = {}
        self.reopened = 0

    def open(self) -> int:
        """Opens (or reopens) the channel; returns the first offset not yet committed."""
        answer = self.client.open_channel(self.pipe, self.channel)
        self.continuation = answer["next_continuation_token"]
        self.status = answer.get("channel_status") or {}
        self._confirm(self.status.get("last_committed_offset_token"))
        return self.committed + 1

    def write(self, rows: list[Row]) -> None:
        for batch in self._batches(rows):
            try:
                self._append(batch)
            except StreamingApiError as err:
                if not self._recoverable(err):
                    raise
                log.warning("channel %s: %s; reopening and resending what is not committed", self.channel, err.code)
                self._recover(batch)

    def refresh(self) -> None:
        """Bulk Get Channel Status: moves the committed offset; a vanished or stalled channel is reopened."""
        statuses = self.client.channel_statuses(self.pipe, [self.channel])
        status = statuses.get(self.channel)
        if status is None:
            log.warning("channel %s: not in the service's status any more; reopening", self.channel)
            self._recover([])
            return
        self.status = status
        self._confirm(status.get("last_committed_offset_token"))
        stalled = time.monotonic() - self.progressed_at
        if self.unconfirmed and stalled > self.stalled_commit_seconds:
            log.warning(
                "channel %s: %d rows acknowledged but the committed offset has stayed at %d for %.0f s; "
                "reopening and resending what is not committed",
                self.channel, len(self.unconfirmed), self.committed, stalled,
            )  # fmt: skip
            self._recover([])

    def wait_committed(self, offset: int, timeout: float, interval: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while self.committed < offset:
            if time.monotonic() > deadline:
                return False
            time.sleep(interval)
            self.refresh()
        return True

    def _append(self, batch: list[Row]) -> None:
        rows = b"".join(row.line for row in batch)
        self.continuation = self.client.append_rows(
            self.pipe, self.channel, self.continuation, rows, str(batch[0].offset), str(batch[-1].offset)
        )
        if not self.unconfirmed:
            self.progressed_at = time.monotonic()
        self.unconfirmed.extend(batch)
        if self.after_append is not None:
            self.after_append(batch[-1].offset)

    @staticmethod
    def _recoverable(err: StreamingApiError) -> bool:
        # Stale: the channel was reopened or the service lost its sequencer; 404: the channel is gone.
        return err.code == protocol.STALE_CONTINUATION_TOKEN or err.status == 404

    def _recover(self, batch: list[Row]) -> None:
        """Reopen, then resend every row the committed offset does not cover, in offset order."""
        for _attempt in range(RECOVERY_ATTEMPTS):
            self.open()
            self.reopened += 1
            self.progressed_at = time.monotonic()
            resend = [row for row in [*self.unconfirmed, *batch] if row.offset > self.committed]
            self.unconfirmed.clear()
            try:
                for chunk in self._batches(resend):
                    self._append(chunk)
                return
            except StreamingApiError as err:
                if not self._recoverable(err):
                    raise
                batch = []  # already in self.unconfirmed or resent from it
        raise RuntimeError(f"channel {self.channel}: still stale after {RECOVERY_ATTEMPTS} reopenings")

    def _confirm(self, token: str | None) -> None:
        if token is None:
            return
        try:
            committed = int(token)
        except ValueError:
            raise RuntimeError(
                f"channel {self.channel} has committed offset token {token!r}, not one of this producer's "
                "(row numbers): another writer uses the channel; pick another --channel"
            ) from None
        if committed != self.committed:
            self.progressed_at = time.monotonic()
        self.committed = committed
        while self.unconfirmed and self.unconfirmed[0].offset <= self.committed:
            self.unconfirmed.popleft()

    def _batches(self, rows: list[Row]) -> Iterator[list[Row]]:
        batch: list[Row] = []
        size = 0
        for row in rows:
            if len(row.line) > protocol.MAX_ROWS_BYTES:
                raise ValueError(f"row {row.offset} is {len(row.line)} bytes, over the 4 MB rows limit of one append")
            if batch and (len(batch) >= self.max_batch_rows or size + len(row.line) > protocol.MAX_ROWS_BYTES):
                yield batch
                batch, size = [], 0
            batch.append(row)
            size += len(row.line)
        if batch:
            yield batch


def exit_after_append_hook(marker: int) -> Callable[[int], None]:
    def hook(last_offset: int) -> None:
        if last_offset >= marker:
            log.error("test hook: exiting after the append up to offset %d, before its commit is known", last_offset)
            logging.shutdown()
            os._exit(EXIT_AFTER_APPEND_CODE)

    return hook


def live_rows(events: Iterator[dict], first_offset: int) -> Iterator[Row]:
    """Rows from the seeded stream, from `first_offset` on, stamped with the wall clock when produced."""
    for offset, event in enumerate(itertools.islice(events, first_offset, None), start=first_offset):
        event["event_timestamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        yield Row(offset, orjson.dumps(event) + b"\n")


def produce(
    client: StreamingClient,
    pipe: PipeRef,
    channel: str,
    events: Iterator[dict],
    *,
    rate: float,
    count: int | None = None,
    duration: float | None = None,
    flush_seconds: float = 0.1,
    stop: threading.Event | None = None,
    report: Callable[[str], None] = print,
    stalled_commit_seconds: float = STALLED_COMMIT_SECONDS,
) -> ChannelWriter:
    """Stream events at `rate`/s until `count` rows are committed, `duration` passes or `stop` is set."""
    hook_marker = os.environ.get(EXIT_AFTER_APPEND_ENV)
    hook = exit_after_append_hook(int(hook_marker)) if hook_marker else None
    writer = ChannelWriter(client, pipe, channel, after_append=hook, stalled_commit_seconds=stalled_commit_seconds)
    first = writer.open()
    report(f"channel {channel} of {pipe.database}.{pipe.schema}.{pipe.name}: resuming at offset {first}")
    rows = live_rows(events, first)
    stop = stop or threading.Event()
    started = last_tick = last_flush = last_status = last_report = time.monotonic()
    owed = 0.0
    next_offset = first
    buffer: list[Row] = []
    while not stop.is_set():
        now = time.monotonic()
        if (duration is not None and now - started >= duration) or (count is not None and next_offset >= count):
            break
        owed += (now - last_tick) * rate
        last_tick = now
        due = int(owed)
        owed -= due
        if count is not None:
            due = min(due, count - next_offset)
        buffer.extend(itertools.islice(rows, due))
        next_offset += due
        if buffer and (len(buffer) >= MAX_BATCH_ROWS or now - last_flush >= flush_seconds):
            writer.write(buffer)
            buffer, last_flush = [], now
        if now - last_status >= 0.2 or len(writer.unconfirmed) > MAX_UNCOMMITTED_ROWS:
            writer.refresh()
            last_status = now
            while len(writer.unconfirmed) > MAX_UNCOMMITTED_ROWS and not stop.is_set():
                time.sleep(0.05)
                writer.refresh()
        if now - last_report >= 5:
            report(_summary(writer, next_offset))
            last_report = now
        time.sleep(0.005)
    if buffer:
        writer.write(buffer)
    if not writer.wait_committed(next_offset - 1, timeout=120):
        raise RuntimeError(f"channel {channel}: rows up to offset {next_offset - 1} not committed after 120 s")
    report(_summary(writer, next_offset))
    return writer


def _summary(writer: ChannelWriter, next_offset: int) -> str:
    status = writer.status
    return (
        f"channel {writer.channel}: produced up to offset {next_offset - 1}, committed {writer.committed}, "
        f"rows inserted {status.get('rows_inserted', 0):,}, errors {status.get('rows_error_count', 0)}, "
        f"reopened {writer.reopened}x"
    )


def client_for(
    account_url: str, account: str, user: str, private_key_file: Path, passphrase: str | None
) -> StreamingClient:
    return StreamingClient(
        account_url,
        account,
        user,
        Path(private_key_file).read_bytes(),
        passphrase.encode() if passphrase else None,
    )


def run_cli(
    state_dir: Path | None,
    rate: float,
    duration: float | None,
    count: int | None,
    seed: int | None,
    channel: str | None,
    account_url: str | None,
    account: str | None,
    user: str | None,
    private_key_file: Path | None,
    pipe: str | None,
    stalled_commit_seconds: float = STALLED_COMMIT_SECONDS,
) -> None:
    """`--mode streaming` of the producer CLI: the local stack's streaming.json fills what is not given."""
    import random

    import typer

    from local_stack.errors import LocalStackError
    from local_stack.services.processes import stop_on_signals
    from local_stack.services.state import read_streaming
    from local_stack.shopping import ShoppingSimulator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("urllib3", "snowflake.connector"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if state_dir is not None:
        try:
            local = read_streaming(state_dir)
        except LocalStackError as err:
            raise typer.BadParameter(str(err), param_hint="--state-dir") from None
        account_url = account_url or local.url
        account = account or local.account
        user = user or local.user
        private_key_file = private_key_file or Path(local.private_key_file)
        pipe = pipe or local.pipe
    missing = [
        flag
        for flag, value in (("--account-url", account_url), ("--account", account), ("--user", user),
                            ("--private-key-file", private_key_file), ("--pipe", pipe))
        if not value
    ]  # fmt: skip
    if missing:
        raise typer.BadParameter(
            f"{', '.join(missing)} missing: pass --state-dir .local for the local stack, or the stack's outputs "
            "(streaming_user, streaming_pipe) and your account for a real one"
        )
    try:
        pipe_ref = PipeRef.parse(pipe)
        client = client_for(account_url, account, user, private_key_file, os.environ.get("PRIVATE_KEY_PASSPHRASE"))
    except (ValueError, OSError) as err:
        raise typer.BadParameter(str(err)) from None
    seed = seed if seed is not None else random.SystemRandom().getrandbits(32)
    channel = channel or f"events-{seed}"
    stop = stop_on_signals(log, "the current append and its commit")
    produce(
        client,
        pipe_ref,
        channel,
        ShoppingSimulator(seed=seed).events(),
        rate=rate,
        count=count,
        duration=duration,
        stop=stop,
        report=lambda line: log.info("%s", line),
        stalled_commit_seconds=stalled_commit_seconds,
    )
