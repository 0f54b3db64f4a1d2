"""The worker: drains each pipe's queue, loading every announced file once, rows and history together."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus

import duckdb

from local_stack import endpoints as local_endpoints
from local_stack.snowpipe.copy_plan import TargetColumn, parse_copy, parse_copy_target
from local_stack.snowpipe.load_history import (
    LOAD_FAILED,
    LOADED,
    FileOutcome,
    ensure_history,
    history_insert,
    history_table,
)
from local_stack.snowpipe.pipes import PipeSpec, read_pipes
from local_stack.snowpipe.quick_check import quick_verdict
from local_stack.snowpipe.record_checks import CastError, FileVerdict, RecordError, decode_file, validate_records
from local_stack.state import Endpoints, read_endpoints

log = logging.getLogger(__name__)


@dataclass
class PreparedFile:
    """An S3 object fetched, decoded and checked, waiting for its transaction."""

    key: str
    etag: str
    size: int
    last_modified: str
    local_file: Path | None
    verdict: FileVerdict
    fetch_ms: float
    check_ms: float
    started: float


class PipeWorker:
    """Drains one pipe's queue into its target table."""

    def __init__(self, pipe: PipeSpec, endpoints: Endpoints, spool_dir: Path, wait_seconds: int, visibility: int):
        self.pipe = pipe
        self.spool_dir = spool_dir
        self.wait_seconds = wait_seconds
        self.visibility = visibility
        self.s3 = local_endpoints.aws_client(endpoints, "s3")
        self.sqs = local_endpoints.aws_client(endpoints, "sqs")
        self.connection = local_endpoints.connect_snowflake(
            endpoints,
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
        # In-process and used by the preparer thread only; its threads overlap
        # fakesnow's load of the previous file.
        self.quick_check = duckdb.connect()
        # Fetching and checking the next file overlaps the current load.
        self.preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{pipe.name}-prepare")

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
        self.preparer.shutdown(wait=True, cancel_futures=True)
        self.quick_check.close()
        try:
            self.connection.close()
        except Exception:  # the server may be gone at shutdown
            log.debug("closing the fakesnow connection failed", exc_info=True)

    def poll_once(self) -> int:
        """One long poll; returns how many files were loaded or skipped."""
        answer = self.sqs.receive_message(
            QueueUrl=self.pipe.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_seconds,
            VisibilityTimeout=self.visibility,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        planned: list[tuple[dict, list[tuple[str, str, Future[PreparedFile]]]]] = []
        for message in messages:
            files = []
            for bucket, key in self._announced_objects(message["Body"]):
                files.append((bucket, key, self.preparer.submit(self._prepare, bucket, key)))
            planned.append((message, files))
        handled = 0
        for message, files in planned:
            for _bucket, _key, future in files:
                prepared = future.result()
                if prepared is not None:
                    self._commit(prepared)
                    handled += 1
            # Only now is every file of the message durable in fakesnow.
            self.sqs.delete_message(QueueUrl=self.pipe.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return handled

    def _announced_objects(self, body: str) -> Iterator[tuple[str, str]]:
        try:
            document = json.loads(body)
        except ValueError:
            log.warning("pipe %s: ignoring a message that is not JSON: %.120s", self.pipe.name, body)
            return
        if not isinstance(document, dict) or document.get("Event") == "s3:TestEvent":
            return
        for record in document.get("Records") or []:
            if not str(record.get("eventName", "")).startswith("ObjectCreated"):
                continue
            s3 = record.get("s3") or {}
            bucket = (s3.get("bucket") or {}).get("name")
            key = unquote_plus((s3.get("object") or {}).get("key", ""))
            if bucket != self.pipe.bucket or not key.startswith(self.pipe.prefix) or key.endswith("/"):
                log.info(
                    "pipe %s: ignoring s3://%s/%s, outside stage %s", self.pipe.name, bucket, key, self.pipe.stage_url
                )
                continue
            yield bucket, key

    def _prepare(self, bucket: str, key: str) -> PreparedFile | None:
        started = time.perf_counter()
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            log.warning("pipe %s: s3://%s/%s was deleted before it could load", self.pipe.name, bucket, key)
            return None
        etag = obj["ETag"].strip('"')
        if (self._path(key), etag) in self.seen:
            # Cheap early exit; _commit decides for real.
            body = b""
        else:
            body = obj["Body"].read()
        size = int(obj.get("ContentLength", len(body)))
        last_modified = obj["LastModified"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
        fetched = time.perf_counter()
        local_file = None
        try:
            text = decode_file(body, self.pipe.compression, key)
        except CastError as err:
            verdict = FileVerdict(0, RecordError(0, str(err)))
        else:
            verdict = None
            if text:
                # Spooled before the check: the quick check reads the same file
                # the load will.
                local_file = self.spool_dir / f"{uuid.uuid4().hex}.json"
                local_file.write_bytes(text)
                verdict = quick_verdict(self.quick_check, self.plan, local_file, text)
            if verdict is None:
                verdict = validate_records(text, self.plan)
            if local_file is not None and (verdict.error is not None or not verdict.rows):
                local_file.unlink()
                local_file = None
        return PreparedFile(
            key,
            etag,
            size,
            last_modified,
            local_file,
            verdict,
            (fetched - started) * 1000,
            (time.perf_counter() - fetched) * 1000,
            started,
        )

    def _path(self, key: str) -> str:
        return f"s3://{self.pipe.bucket}/{key}"

    def _commit(self, prepared: PreparedFile) -> None:
        path = self._path(prepared.key)
        try:
            if (path, prepared.etag) in self.seen:
                log.info("pipe %s: %s (etag %s) was loaded before, skipping", self.pipe.name, path, prepared.etag)
                return
            scan_time = dt.datetime.now(dt.UTC).isoformat(sep=" ")
            outcome = FileOutcome(path, prepared.etag, prepared.size, LOADED, prepared.verdict.rows, scan_time)
            load_started = time.perf_counter()
            if prepared.verdict.error is not None:
                outcome.status, outcome.rows, outcome.error = LOAD_FAILED, 0, prepared.verdict.error
                self._record(outcome, None)
            else:
                self._record(outcome, prepared)
            self.seen.add((path, prepared.etag))
            load_ms = (time.perf_counter() - load_started) * 1000
            total_ms = (time.perf_counter() - prepared.started) * 1000
            if outcome.status == LOADED:
                log.info(
                    "pipe %s: loaded %s rows=%d ms=%.0f (fetch %.0f, check %.0f, load %.0f)",
                    self.pipe.name,
                    path,
                    outcome.rows,
                    total_ms,
                    prepared.fetch_ms,
                    prepared.check_ms,
                    load_ms,
                )
            else:
                log.warning(
                    "pipe %s: skipped %s (ON_ERROR = SKIP_FILE): line %s: %s",
                    self.pipe.name,
                    path,
                    outcome.error.line,
                    outcome.error.reason,
                )
        finally:
            if prepared.local_file is not None:
                prepared.local_file.unlink(missing_ok=True)

    def _record(self, outcome: FileOutcome, prepared: PreparedFile | None) -> None:
        """Write the rows and the history entry in one transaction."""
        started = time.perf_counter()
        cursor = self.cursor
        if prepared is None or prepared.local_file is None:
            outcome.load_ms = 0
            cursor.execute(history_insert(self.pipe, outcome))
            return
        metadata = {
            "METADATA$FILENAME": prepared.key[len(self.pipe.prefix) :],
            "METADATA$FILE_CONTENT_KEY": prepared.etag,
            "METADATA$FILE_LAST_MODIFIED": prepared.last_modified,
            "METADATA$START_SCAN_TIME": outcome.scan_time,
        }
        cursor.execute("BEGIN")
        try:
            cursor.execute(self.plan.insert_sql(prepared.local_file, metadata))
            inserted = cursor.fetchone()[0]
            if inserted != outcome.rows:
                raise RuntimeError(f"{outcome.path}: checked {outcome.rows} records but fakesnow inserted {inserted}")
            outcome.load_ms = round((time.perf_counter() - started) * 1000)
            cursor.execute(history_insert(self.pipe, outcome))
            cursor.execute("COMMIT")
        except Exception as err:
            cursor.execute("ROLLBACK")
            if not _is_data_error(err):
                raise
            # A cast the Python check let through but DuckDB refused: still a
            # bad file, not a reason to stop the pipe.
            outcome.status, outcome.rows = LOAD_FAILED, 0
            outcome.error = RecordError(0, f"load failed: {str(err).strip()[:500]}")
            cursor.execute(history_insert(self.pipe, outcome))


def _is_data_error(err: Exception) -> bool:
    sqlstate = getattr(err, "sqlstate", None) or ""
    return sqlstate.startswith("22")


@contextmanager
def _single_worker(state_dir: Path) -> Iterator[None]:
    # The in-memory history assumes it is the only writer for these pipes.
    lock_path = state_dir / "snowpipe.lock"
    # Opened without truncating: a refused second worker must not erase the PID
    # of the one holding the lock (SYSTEM$PIPE_STATUS reads it, local_stack/pipe_status.py).
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
    with _single_worker(state_dir):
        for leftover in spool_dir.glob("*.json"):
            leftover.unlink(missing_ok=True)
        workers = [PipeWorker(p, endpoints, spool_dir, wait_seconds, visibility_timeout) for p in pipes]
        log.info("local Snowpipe running for %s", ", ".join(w.pipe.qualified_name for w in workers))

        def drain(worker: PipeWorker) -> None:
            while not stop.is_set():
                try:
                    worker.poll_once()
                except Exception:  # keep the pipe alive, the message is redelivered
                    log.exception("pipe %s: poll failed, retrying", worker.pipe.name)
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
