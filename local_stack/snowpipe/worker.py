"""The worker: drains each pipe's queue in batches, loading every announced file once, rows and history together."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import duckdb
import orjson

from local_stack.services import endpoints as local_endpoints
from local_stack.services.state import Endpoints, Pipe, read_endpoints, read_pipes
from local_stack.snowpipe import error_notifications
from local_stack.snowpipe.copy_plan import TargetColumn, metadata_record, parse_copy, parse_copy_target
from local_stack.snowpipe.load_history import (
    LOAD_FAILED,
    LOADED,
    FileOutcome,
    RejectedNotification,
    ensure_history,
    history_insert,
    history_record,
    history_table,
    rejected_insert,
)
from local_stack.snowpipe.quick_check import quick_verdict, quick_verdicts
from local_stack.snowpipe.record_checks import CastError, FileVerdict, RecordError, decode_file, validate_records

log = logging.getLogger(__name__)

# Tests only: when set, a batch holding a file whose key contains this text
# fails between its INSERTs and its COMMIT (see InjectedFailureError).
READY_LINE = "local Snowpipe running"  # logged once every pipe polls; `make local-up` waits for it
FAIL_BEFORE_COMMIT_ENV = "LOCAL_SNOWPIPE_FAIL_BEFORE_COMMIT"

# One batch: at most this many files and (as far as notifications tell) bytes.
# SQS hands out 10 messages per receive; the worker keeps receiving without
# waiting until the queue is empty or a bound is reached.
MAX_BATCH_FILES = 1000
MAX_BATCH_BYTES = 256 * 1024 * 1024
FETCH_THREADS = 4

# Snowflake's message for a staged file that is gone when the load runs.
FILE_NOT_FOUND = (
    "Remote file '{path}' was not found. If you are running a copy command, please make sure files are not "
    "deleted when they are being loaded or files are not being loaded into two different tables concurrently "
    "with auto purge option."
)


class InjectedFailureError(RuntimeError):
    """Raised by the test hook between a batch's rows and its commit."""


@dataclass
class Notice:
    """One object an S3 notification announced."""

    key: str
    etag: str | None  # the notification's eTag, when it has one
    size: int | None


@dataclass
class Received:
    """What one receive cycle took off the queue."""

    receipts: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    rejected: list[RejectedNotification] = field(default_factory=list)
    started: float = 0.0


@dataclass
class PreparedFile:
    """An S3 object fetched, decoded and checked, waiting for its transaction."""

    key: str
    etag: str
    size: int
    last_modified: str | None
    local_file: Path | None
    verdict: FileVerdict | None  # None until checked
    fetch_ms: float = 0.0
    check_ms: float = 0.0
    text: bytes = field(default=b"", repr=False)  # the decoded file, until checked


class PipeWorker:
    """Drains one pipe's queue into its target table, one transaction per batch."""

    def __init__(
        self,
        pipe: Pipe,
        endpoints: Endpoints,
        spool_dir: Path,
        wait_seconds: int,
        visibility: int,
        *,
        before_commit: Callable[[list[PreparedFile]], None] | None = None,
        max_batch_files: int = MAX_BATCH_FILES,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ):
        self.pipe = pipe
        self.spool_dir = spool_dir
        self.wait_seconds = wait_seconds
        self.visibility = visibility
        self.before_commit = before_commit
        self.max_batch_files = max_batch_files
        self.max_batch_bytes = max_batch_bytes
        self.s3 = local_endpoints.aws_client(endpoints, "s3")
        self.sqs = local_endpoints.aws_client(endpoints, "sqs")
        self.notifier = (
            error_notifications.ErrorNotifier(local_endpoints.aws_client(endpoints, "sns"), pipe)
            if pipe.error_topic_arn
            else None
        )
        self.connection = local_endpoints.connect_snowflake(
            endpoints,
            "snowpipe",  # the credit meter bills its loads per GB, not on the warehouse
            database=pipe.database,
            schema=pipe.schema,
            # fakesnow answers locally; the connector's default retries would
            # turn a bad statement into minutes of waiting.
            network_timeout=120,
            login_timeout=30,
        )
        self.cursor = self.connection.cursor()
        ensure_history(self.cursor, pipe)
        self.plan = parse_copy(pipe.copy_statement, self._target_columns())
        self.seen = self._history_keys()
        # In-process checks; one DuckDB cursor per fetch thread.
        self.quick_check = duckdb.connect()
        self._local = threading.local()
        self.fetcher = ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix=f"{pipe.name}-fetch")

    def _target_columns(self) -> list[TargetColumn]:
        table = parse_copy_target(self.pipe.copy_statement)
        self.cursor.execute(f"DESCRIBE TABLE {table}")
        # DESCRIBE TABLE: name, type, kind, null?, ...
        return [TargetColumn(row[0].upper(), row[1], row[3] == "Y") for row in self.cursor.fetchall()]

    def _history_keys(self) -> set[tuple[str, str]]:
        # One worker per state dir (see run's lock), so history read once at
        # start stays true: every later row is written by this worker.
        self.cursor.execute(
            f"SELECT file_path, etag FROM {history_table(self.pipe)} WHERE pipe_name = %s",
            (self.pipe.qualified_name,),
        )
        return {(path, etag) for path, etag in self.cursor.fetchall()}

    def close(self) -> None:
        self.fetcher.shutdown(wait=True, cancel_futures=True)
        self.quick_check.close()
        try:
            self.connection.close()
        except Exception:  # the server may be gone at shutdown
            log.debug("closing the fakesnow connection failed", exc_info=True)

    # ------------------------------------------------------------------
    # one cycle

    def poll_once(self) -> int:
        """Receive what is ready, load it as one batch; returns how many files were loaded or skipped."""
        received = self._receive()
        if not received.receipts:
            return 0
        timings = {"receive": (time.perf_counter() - received.started) * 1000}
        batch_dir = self.spool_dir / uuid.uuid4().hex
        batch_dir.mkdir()
        try:
            mark = time.perf_counter()
            prepared = self._prepare_all(received.notices, batch_dir)
            timings["fetch+check"] = (time.perf_counter() - mark) * 1000
            timings["(fetch sum"] = sum(p.fetch_ms for p in prepared)
            timings["check sum)"] = sum(p.check_ms for p in prepared)
            mark = time.perf_counter()
            outcomes = self._load(prepared, received.rejected, batch_dir)
            timings["load"] = (time.perf_counter() - mark) * 1000
        finally:
            shutil.rmtree(batch_dir, ignore_errors=True)
        # Committed: remembered before the messages go, so a redelivery after a
        # failed delete finds every file already loaded.
        for outcome in outcomes:
            self.seen.add((outcome.path, outcome.etag))
        mark = time.perf_counter()
        # Only now is every file of every message durable in fakesnow.
        self._delete(received.receipts)
        timings["delete"] = (time.perf_counter() - mark) * 1000
        self._report(outcomes, received.started, timings)
        if self.notifier is not None:
            self.notifier.publish([o for o in outcomes if o.status == LOAD_FAILED])
        return len(outcomes)

    def _receive(self) -> Received:
        received = Received()
        wait = self.wait_seconds
        expected_bytes = 0
        while len(received.notices) < self.max_batch_files and expected_bytes < self.max_batch_bytes:
            answer = self.sqs.receive_message(
                QueueUrl=self.pipe.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                VisibilityTimeout=self.visibility,
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            if not received.started:
                received.started = time.perf_counter()
            wait = 0  # the first answer waits; the rest take only what is already there
            for message in messages:
                received.receipts.append(message["ReceiptHandle"])
                notices, rejection = self._announced_objects(message["Body"])
                if rejection is not None:
                    received.rejected.append(
                        RejectedNotification(message.get("MessageId", ""), rejection, message["Body"][:500])
                    )
                received.notices.extend(notices)
                expected_bytes += sum(n.size or 0 for n in notices)
        return received

    def _announced_objects(self, body: str) -> tuple[list[Notice], str | None]:
        """The stage's objects a message announces, or why the message is not an S3 notification."""
        try:
            document = json.loads(body)
        except ValueError as err:
            return [], f"not JSON ({err}); expected an S3 event notification"
        if not isinstance(document, dict):
            return [], f"a JSON {type(document).__name__}, not an object; expected an S3 event notification"
        if document.get("Event") == "s3:TestEvent":
            return [], None
        records = document.get("Records")
        if not isinstance(records, list):
            return [], "no 'Records' list: not an S3 event notification"
        notices = []
        for record in records:
            if not isinstance(record, dict):
                return [], "a record that is not an object"
            if not str(record.get("eventName", "")).startswith("ObjectCreated"):
                continue
            s3 = record.get("s3")
            bucket = s3.get("bucket") if isinstance(s3, dict) else None
            obj = s3.get("object") if isinstance(s3, dict) else None
            if not (isinstance(bucket, dict) and isinstance(obj, dict) and bucket.get("name") and obj.get("key")):
                return [], "an ObjectCreated record without s3.bucket.name and s3.object.key"
            key = unquote_plus(str(obj["key"]))
            if bucket["name"] != self.pipe.bucket or not key.startswith(self.pipe.prefix) or key.endswith("/"):
                log.info(
                    "pipe %s: ignoring s3://%s/%s, outside stage %s",
                    self.pipe.name,
                    bucket["name"],
                    key,
                    self.pipe.stage_url,
                )
                continue
            etag = str(obj["eTag"]).strip('"') if obj.get("eTag") else None
            size = obj.get("size") if isinstance(obj.get("size"), int) else None
            notices.append(Notice(key, etag, size))
        return notices, None

    # ------------------------------------------------------------------
    # fetch and check

    def _prepare_all(self, notices: list[Notice], batch_dir: Path) -> list[PreparedFile]:
        """Fetch and spool every announced file, then check them: one DuckDB pass vouches for the clean ones."""
        unique: dict[str, Notice] = {}
        for notice in notices:
            if notice.etag is not None and (self._path(notice.key), notice.etag) in self.seen:
                continue  # a redelivered notification of a file already recorded
            unique.setdefault(notice.key, notice)
        fetched = list(self.fetcher.map(self._fetch, unique.values(), [batch_dir] * len(unique)))
        # Two notices can resolve to the same object version: load it once.
        by_version: dict[tuple[str, str], PreparedFile] = {}
        for item in fetched:
            if (self._path(item.key), item.etag) in self.seen or (item.key, item.etag) in by_version:
                if item.local_file is not None:
                    item.local_file.unlink(missing_ok=True)
                continue
            by_version[(item.key, item.etag)] = item
        prepared = list(by_version.values())
        unchecked = [item for item in prepared if item.verdict is None]
        started = time.perf_counter()
        vouched = quick_verdicts(
            self.quick_check,
            self.plan,
            str(batch_dir / "*.json"),
            {str(i.local_file): (len(i.text), i.text.count(b"\n")) for i in unchecked if i.local_file is not None},
        ) if any(i.local_file is not None for i in unchecked) else {}  # fmt: skip
        batch_ms = (time.perf_counter() - started) * 1000
        for item in unchecked:
            item.verdict = vouched.get(str(item.local_file))
            item.check_ms = batch_ms / max(1, len(unchecked))
        list(self.fetcher.map(self._check, [i for i in unchecked if i.verdict is None]))
        for item in prepared:
            item.text = b""
            if item.local_file is not None and (item.verdict.error is not None or not item.verdict.rows):
                item.local_file.unlink(missing_ok=True)
                item.local_file = None
        return prepared

    def _duck(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.quick_check.cursor()
        return cursor

    def _check(self, item: PreparedFile) -> None:
        """A file the batch pass did not vouch for: its own quick check, then the Python check decides."""
        started = time.perf_counter()
        verdict = None
        if item.local_file is not None:
            verdict = quick_verdict(self._duck(), self.plan, item.local_file, item.text)
        item.verdict = verdict or validate_records(item.text, self.plan)
        item.check_ms += (time.perf_counter() - started) * 1000

    def _fetch(self, notice: Notice, batch_dir: Path) -> PreparedFile:
        started = time.perf_counter()
        key = notice.key
        try:
            obj = self.s3.get_object(Bucket=self.pipe.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            path = self._path(key)
            log.warning("pipe %s: %s was deleted (or never existed) before it could load", self.pipe.name, path)
            return PreparedFile(
                key, notice.etag or "", notice.size or 0, None, None,
                FileVerdict(0, RecordError(0, FILE_NOT_FOUND.format(path=path))),
            )  # fmt: skip
        etag = obj["ETag"].strip('"')
        if (self._path(key), etag) in self.seen:
            obj["Body"].close()
            return PreparedFile(key, etag, int(obj.get("ContentLength", 0)), None, None, FileVerdict(0))
        body = obj["Body"].read()
        size = int(obj.get("ContentLength", len(body)))
        last_modified = obj["LastModified"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
        try:
            text = decode_file(body, self.pipe.compression, key)
        except CastError as err:
            return PreparedFile(key, etag, size, last_modified, None, FileVerdict(0, RecordError(0, str(err))))
        del body
        local_file = None
        if text:
            # Spooled before the check: the quick check reads the same file the load will.
            local_file = batch_dir / f"{uuid.uuid4().hex}.json"
            local_file.write_bytes(text)
        item = PreparedFile(key, etag, size, last_modified, local_file, None, text=text)
        item.fetch_ms = (time.perf_counter() - started) * 1000
        return item

    def _path(self, key: str) -> str:
        return f"s3://{self.pipe.bucket}/{key}"

    # ------------------------------------------------------------------
    # load: one transaction

    def _load(
        self, prepared: list[PreparedFile], rejected: list[RejectedNotification], batch_dir: Path
    ) -> list[FileOutcome]:
        """Rows of every good file, the history of every file, in one transaction.

        A cast DuckDB refuses although the checks passed it rolls the batch
        back; the batch is then loaded file by file, so the one bad file is
        skipped and its neighbours still load (ON_ERROR = SKIP_FILE).
        """
        try:
            try:
                return self._load_batch(prepared, rejected, batch_dir)
            except Exception as err:
                if not _is_data_error(err) or len(prepared) <= 1:
                    if _is_data_error(err) and prepared:
                        return self._skip_after_refusal(prepared[0], rejected, err, batch_dir)
                    raise
                log.warning(
                    "pipe %s: a cast failed in a batch of %d files; loading them one by one: %s",
                    self.pipe.name,
                    len(prepared),
                    str(err).strip()[:300],
                )
            outcomes = []
            for index, item in enumerate(prepared):
                # Rejected notifications go with the first file's transaction.
                batch_rejected = rejected if index == 0 else []
                try:
                    outcomes += self._load_batch([item], batch_rejected, batch_dir)
                except Exception as err:
                    if not _is_data_error(err):
                        raise
                    outcomes += self._skip_after_refusal(item, batch_rejected, err, batch_dir)
            return outcomes
        finally:
            for item in prepared:
                if item.local_file is not None:
                    item.local_file.unlink(missing_ok=True)

    def _skip_after_refusal(
        self, item: PreparedFile, rejected: list[RejectedNotification], err: Exception, batch_dir: Path
    ) -> list[FileOutcome]:
        # A cast the Python check let through but DuckDB refused: still a bad
        # file, not a reason to stop the pipe.
        if item.local_file is not None:
            item.local_file.unlink(missing_ok=True)
            item.local_file = None
        item.verdict = FileVerdict(0, RecordError(0, f"load failed: {str(err).strip()[:500]}"))
        return self._load_batch([item], rejected, batch_dir)

    def _load_batch(
        self, batch: list[PreparedFile], rejected: list[RejectedNotification], batch_dir: Path
    ) -> list[FileOutcome]:
        started = time.perf_counter()
        scan_time = dt.datetime.now(dt.UTC).isoformat(sep=" ")
        outcomes = []
        loading = []
        for item in batch:
            outcome = FileOutcome(self._path(item.key), item.etag, item.size, LOADED, item.verdict.rows, scan_time)
            if item.verdict.error is not None:
                outcome.status, outcome.rows, outcome.error = LOAD_FAILED, 0, item.verdict.error
            elif item.local_file is not None:
                loading.append(item)
            outcomes.append(outcome)
        step = uuid.uuid4().hex
        cursor = self.cursor
        cursor.execute("BEGIN")
        try:
            if loading:
                metadata_file = batch_dir / f"metadata-{step}.ndjson"
                _write_ndjson(
                    metadata_file,
                    (
                        metadata_record(
                            item.local_file,
                            {
                                "METADATA$FILENAME": item.key[len(self.pipe.prefix) :],
                                "METADATA$FILE_CONTENT_KEY": item.etag,
                                "METADATA$FILE_LAST_MODIFIED": item.last_modified,
                                "METADATA$START_SCAN_TIME": scan_time,
                            },
                        )
                        for item in loading
                    ),
                )
                spooled = [item.local_file for item in loading]
                # Every spooled file of the batch: a glob keeps the statement short.
                everything = sorted(batch_dir.glob("*.json")) == sorted(spooled)
                cursor.execute(
                    self.plan.insert_sql(str(batch_dir / "*.json") if everything else spooled, metadata_file)
                )
                inserted = cursor.fetchone()[0]
                expected = sum(item.verdict.rows for item in loading)
                if inserted != expected:
                    raise RuntimeError(
                        f"checked {expected} records in {len(loading)} files but fakesnow inserted {inserted}"
                    )
            load_ms = round((time.perf_counter() - started) * 1000)
            for outcome in outcomes:
                outcome.load_ms = load_ms if outcome.status == LOADED else 0
            if outcomes:
                history_file = batch_dir / f"history-{step}.ndjson"
                _write_ndjson(history_file, (history_record(self.pipe, o) for o in outcomes))
                cursor.execute(history_insert(self.pipe, history_file))
            if rejected:
                cursor.execute(rejected_insert(self.pipe, rejected))
            if self.before_commit is not None:
                self.before_commit(batch)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return outcomes

    def _delete(self, receipts: list[str]) -> None:
        for start in range(0, len(receipts), 10):
            chunk = receipts[start : start + 10]
            answer = self.sqs.delete_message_batch(
                QueueUrl=self.pipe.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": r} for n, r in enumerate(chunk)],
            )
            for failure in answer.get("Failed", []):
                # The rows are committed; a redelivery finds them in the history.
                log.warning("pipe %s: could not delete a message: %s", self.pipe.name, failure)

    def _report(self, outcomes: list[FileOutcome], started: float, timings: dict[str, float]) -> None:
        loaded = [o for o in outcomes if o.status == LOADED]
        if loaded:
            log.info(
                "pipe %s: loaded %d files, %d rows in one transaction, %.0f ms after receipt (%s)",
                self.pipe.name,
                len(loaded),
                sum(o.rows for o in loaded),
                (time.perf_counter() - started) * 1000,
                ", ".join(f"{step} {ms:.0f}" for step, ms in timings.items()),
            )
        for outcome in outcomes:
            if outcome.status == LOAD_FAILED:
                log.warning(
                    "pipe %s: skipped %s (ON_ERROR = SKIP_FILE): line %s: %s",
                    self.pipe.name,
                    outcome.path,
                    outcome.error.line,
                    outcome.error.reason,
                )


def _write_ndjson(path: Path, records: Iterator[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))


def _is_data_error(err: BaseException) -> bool:
    sqlstate = getattr(err, "sqlstate", None) or ""
    return sqlstate.startswith("22")


def fail_before_commit_hook(marker: str) -> Callable[[list[PreparedFile]], None]:
    """The test hook: raise InjectedFailureError when a batch holds a file whose key contains `marker`."""

    def hook(batch: list[PreparedFile]) -> None:
        hit = [item.key for item in batch if marker in item.key]
        if hit:
            raise InjectedFailureError(f"injected before COMMIT ({FAIL_BEFORE_COMMIT_ENV}={marker!r}): {hit[0]}")

    return hook


@contextmanager
def _single_worker(state_dir: Path) -> Iterator[None]:
    # The in-memory history assumes it is the only writer for these pipes.
    lock_path = state_dir / "snowpipe.lock"
    # Opened without truncating: a refused second worker must not erase the PID
    # of the one holding the lock (SYSTEM$PIPE_STATUS reads it, local_stack/snowpipe/pipe_status.py).
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another local Snowpipe worker already holds {lock_path}") from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def run(
    state_dir: str | Path = ".local",
    *,
    stop: threading.Event | None = None,
    wait_seconds: int = 1,
    visibility_timeout: int = 30,
) -> None:
    """Run the local Snowpipe for every pipe in `<state_dir>/pipes.json` until `stop` is set.

    `wait_seconds` is the SQS long-poll wait: moto answers as soon as a message
    arrives, so it only bounds how long a stop request waits. A message whose
    load did not commit becomes visible again after `visibility_timeout` s.
    """
    state_dir = Path(state_dir).resolve()
    stop = stop or threading.Event()
    endpoints = read_endpoints(state_dir)
    pipes = read_pipes(state_dir)
    spool_dir = state_dir / "snowpipe" / "spool"
    spool_dir.mkdir(parents=True, exist_ok=True)
    marker = os.environ.get(FAIL_BEFORE_COMMIT_ENV)
    hook = fail_before_commit_hook(marker) if marker else None
    if hook is not None:
        log.warning("test hook on: batches with a key containing %r fail before COMMIT", marker)
    with _single_worker(state_dir):
        for leftover in spool_dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        workers = [
            PipeWorker(p, endpoints, spool_dir, wait_seconds, visibility_timeout, before_commit=hook) for p in pipes
        ]
        log.info(f"{READY_LINE} for %s", ", ".join(w.pipe.qualified_name for w in workers))

        def drain(worker: PipeWorker) -> None:
            while not stop.is_set():
                try:
                    worker.poll_once()
                except Exception:  # keep the pipe alive, the messages are redelivered
                    log.exception("pipe %s: batch failed and was rolled back; its messages return", worker.pipe.name)
                    stop.wait(1)

        threads = [threading.Thread(target=drain, args=(w,), name=w.pipe.name, daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=0.2)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            for worker in workers:
                worker.close()
        log.info("local Snowpipe stopped")
