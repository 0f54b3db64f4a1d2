"""Pipeline figures on the real local stack: S3 put -> local Snowpipe -> ENRICHED_EVENTS.

    .venv/bin/python bench/bench_pipeline.py                    # full run (~2 min)
    .venv/bin/python bench/bench_pipeline.py --events 200000 --seconds 10   # quick look

Throughput: N events in F gzip NDJSON files, from the first put until every
row is queryable in ENRICHED_EVENTS, beside DuckDB reading the same files
directly in the same run (the ratio target is 0.5).
Freshness: a steady trickle of small files; per file, put -> visible in
ENRICHED_EVENTS, p50 and p95 (targets 200 ms and 1 s).
Start-up: `make local-up SUPERSET=0` (dependencies installed) -> first row
loaded, as a user sees it: the CLI in a fresh process (target 20 s).

It prints figures; nothing here asserts. It builds the stack with the same
function the e2e tests use (local_stack/harness.py: local_env).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack import endpoints as local_endpoints  # noqa: E402
from local_stack import producer  # noqa: E402
from local_stack.harness import local_env, start_worker, stop_process, wait_until, worker_log  # noqa: E402

THROUGHPUT_TARGET_RATIO = 0.5
FRESHNESS_P50_TARGET_MS = 200
FRESHNESS_P95_TARGET_MS = 1000
STARTUP_TARGET_S = 20


def _duckdb_rate(files: list[Path]) -> float:
    """Rows/s of DuckDB's own typed read_json over the same files, materialised."""
    columns = {
        "event_id": "VARCHAR",
        "event_type": "VARCHAR",
        "event_timestamp": "TIMESTAMP",
        "customer_id": "BIGINT",
        "product_id": "BIGINT",
        "quantity": "BIGINT",
        "session_id": "VARCHAR",
    }
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(
        "CREATE TABLE events AS SELECT * FROM read_json(?, format = 'newline_delimited', columns = ?)",
        [[str(f) for f in files], columns],
    )
    elapsed = time.perf_counter() - started
    rows = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    connection.close()
    return rows / elapsed


def throughput(env, events: int, file_count: int, scratch: Path) -> dict:
    per_file = events // file_count
    run = f"bench-{uuid.uuid4().hex[:6]}"
    print(f"throughput: generating {per_file * file_count:,} events in {file_count} files ...", flush=True)
    bodies = []
    local_files = []
    for n in range(file_count):
        body = producer.ndjson_gz(producer.generate_events(per_file, seed=1000 + n))
        local = scratch / f"{run}-{n:03d}.ndjson.gz"
        local.write_bytes(body)
        local_files.append(local)
        bodies.append(body)
    total = per_file * file_count

    with env.connect() as connection:
        cursor = connection.cursor()

        def queryable() -> int:
            cursor.execute("SELECT COUNT(*) FROM ENRICHED_EVENTS WHERE source_file LIKE %s", (f"{run}/%",))
            return cursor.fetchone()[0]

        started = time.perf_counter()
        for n, body in enumerate(bodies):
            env.s3.put_object(Bucket=env.bucket, Key=f"{env.prefix}{run}/{n:03d}.ndjson.gz", Body=body)
        put_done = time.perf_counter()
        wait_until(lambda: queryable() >= total, 600, f"{total:,} rows in ENRICHED_EVENTS", interval=0.1)
        elapsed = time.perf_counter() - started

    pipeline_rate = total / elapsed
    duckdb_rate = _duckdb_rate(local_files)
    return {
        "events": total,
        "files": file_count,
        "seconds": round(elapsed, 2),
        "put_seconds": round(put_done - started, 2),
        "pipeline_rows_per_s": round(pipeline_rate),
        "duckdb_rows_per_s": round(duckdb_rate),
        "ratio": round(pipeline_rate / duckdb_rate, 3),
        "target_ratio": THROUGHPUT_TARGET_RATIO,
    }


def freshness(env, seconds: float, files_per_second: float, events_per_file: int) -> dict:
    run = f"fresh-{uuid.uuid4().hex[:6]}"
    put_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        # Its own connection: what a dashboard sees, not what the worker knows.
        with env.connect() as connection:
            cursor = connection.cursor()
            while not done.is_set() or len(seen_at) < len(put_at):
                cursor.execute(
                    "SELECT DISTINCT source_file FROM ENRICHED_EVENTS WHERE source_file LIKE %s", (f"{run}/%",)
                )
                now = time.perf_counter()
                for (name,) in cursor.fetchall():
                    seen_at.setdefault(name, now)
                if done.is_set() and now - last_put[0] > 30:
                    break
                time.sleep(0.01)

    last_put = [time.perf_counter()]
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    interval = 1.0 / files_per_second
    print(f"freshness: {files_per_second:g} files/s of {events_per_file} events for {seconds:g} s ...", flush=True)
    simulator = producer.ShoppingSimulator(seed=7)
    stream = simulator.events()
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < seconds:
        batch = [next(stream) for _ in range(events_per_file)]
        name = f"{run}/{n:05d}.ndjson.gz"
        env.s3.put_object(Bucket=env.bucket, Key=env.prefix + name, Body=producer.ndjson_gz(batch))
        put_at[name] = last_put[0] = time.perf_counter()
        n += 1
        next_at = started + n * interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    done.set()
    watcher.join(timeout=60)

    latencies = sorted((seen_at[k] - put_at[k]) * 1000 for k in put_at if k in seen_at)
    if not latencies:
        return {"files": len(put_at), "visible": 0}
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "files": len(put_at),
        "visible": len(latencies),
        "p50_ms": round(statistics.median(latencies)),
        "p95_ms": round(quantiles[94]),
        "max_ms": round(latencies[-1]),
        "target_p50_ms": FRESHNESS_P50_TARGET_MS,
        "target_p95_ms": FRESHNESS_P95_TARGET_MS,
    }


def startup(scratch: Path) -> dict:
    """`python -m local_stack.cli up` (what `make local-up SUPERSET=0` runs) -> one file's row queryable."""
    state_dir = scratch / "startup-state"
    env = {**os.environ, "SUPERSET": "0"}
    command = [sys.executable, "-m", "local_stack.cli"]
    print("start-up: local-up without Superset, then one file ...", flush=True)
    started = time.perf_counter()
    subprocess.run([*command, "up", "--state-dir", str(state_dir)], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    up_done = time.perf_counter()
    try:
        endpoints = local_endpoints.read(state_dir)
        s3 = local_endpoints.aws_client(endpoints, "s3")
        key = f"{endpoints['events_prefix']}startup/first.ndjson.gz"
        s3.put_object(Bucket=endpoints["bucket"], Key=key, Body=producer.ndjson_gz(producer.generate_events(1, seed=3)))
        with local_endpoints.connect_snowflake(endpoints, user="bench") as connection:
            cursor = connection.cursor()
            wait_until(
                lambda: cursor.execute("SELECT COUNT(*) FROM ENRICHED_EVENTS").fetchone()[0] >= 1,
                60,
                "the first row in ENRICHED_EVENTS",
            )
        first_row = time.perf_counter()
    finally:
        subprocess.run([*command, "down", "--state-dir", str(state_dir)], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
    return {
        "local_up_seconds": round(up_done - started, 1),
        "first_row_seconds": round(first_row - started, 1),
        "target_seconds": STARTUP_TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="throughput: events in total")
    parser.add_argument("--files", type=int, default=10, help="throughput: files they are split into")
    parser.add_argument("--seconds", type=float, default=60, help="freshness: how long to trickle files")
    parser.add_argument("--files-per-second", type=float, default=10, help="freshness: file rate")
    parser.add_argument("--events-per-file", type=int, default=20, help="freshness: events in each small file")
    parser.add_argument("--state-dir", type=Path, help="keep the stack's state and logs here (default: a temp dir)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-freshness", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch:
        if not args.skip_startup:
            results["startup"] = startup(Path(scratch))
            s = results["startup"]
            print(
                f"start-up: local-up returned after {s['local_up_seconds']} s, first row queryable after "
                f"{s['first_row_seconds']} s (target <= {STARTUP_TARGET_S} s)",
                flush=True,
            )
        state_dir = args.state_dir or Path(scratch) / "state"
        if args.skip_throughput and args.skip_freshness:
            print(json.dumps(results, indent=2))
            return
        with local_env(state_dir) as env:
            worker = start_worker(state_dir)
            try:
                time.sleep(2)  # the worker's first long poll
                if not args.skip_throughput:
                    results["throughput"] = throughput(env, args.events, args.files, Path(scratch))
                    t = results["throughput"]
                    print(
                        f"throughput: {t['events']:,} events / {t['files']} files in {t['seconds']} s "
                        f"(puts {t['put_seconds']} s) -> {t['pipeline_rows_per_s']:,} rows/s queryable; "
                        f"DuckDB read_json same files {t['duckdb_rows_per_s']:,} rows/s; "
                        f"ratio {t['ratio']} (target >= {THROUGHPUT_TARGET_RATIO})",
                        flush=True,
                    )
                if not args.skip_freshness:
                    results["freshness"] = freshness(env, args.seconds, args.files_per_second, args.events_per_file)
                    f = results["freshness"]
                    print(
                        f"freshness: {f['visible']}/{f['files']} files visible; put -> ENRICHED_EVENTS "
                        f"p50 {f.get('p50_ms')} ms, p95 {f.get('p95_ms')} ms, max {f.get('max_ms')} ms "
                        f"(targets p50 <= {FRESHNESS_P50_TARGET_MS}, p95 <= {FRESHNESS_P95_TARGET_MS})",
                        flush=True,
                    )
            except Exception:
                print(worker_log(state_dir), file=sys.stderr)
                raise
            finally:
                stop_process(worker)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
