"""Pipeline figures on the real local stack: S3 put -> local Snowpipe -> ENRICHED_EVENTS.

    .venv/bin/python bench/bench_pipeline.py                 # full: 3 runs (~10 min on 2 cores)
    .venv/bin/python bench/bench_pipeline.py --runs 1 --events 200000 --seconds 10 --skip-startup  # quick look

Each run starts a fresh stack and measures, with 20-event gzip files. The
stack is the one users get (`--stack user`, the default: `make local-up
SUPERSET=0`, Snowpipe worker and task runner running); `--stack worker-only`
leaves the task runner out, to see what the transformation's queries on the
shared fakesnow server cost the loads.
* freshness at 10, 50 and 200 files/s: per file, put returned -> its rows
  visible in ENRICHED_EVENTS (polled every 50 ms on its own connection), p50
  and p95 (targets: p95 <= 1 s at 10 and 50/s, <= 2 s at 200/s);
* sustained small files: 300 files/s offered for 30 s, the backlog (put but
  not yet visible) sampled every second; its slope over the second half says
  whether the pipe keeps up (target: >= 300 files/s, no growing backlog);
* throughput: 1M events in 10 gzip files, first put -> all queryable, beside
  DuckDB reading the same files in the same run (target ratio 0.5).
Start-up (once): `make local-up SUPERSET=0` -> first row queryable (target 20 s).
The summary gives the median and the min/max over the runs: the machine is
shared, single runs mislead.

It prints figures; nothing here asserts. The worker-only stack is built with
the function the e2e tests use (local_stack/harness.py: local_env).
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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack import producer, shopping  # noqa: E402
from local_stack import stack as local_stack  # noqa: E402
from local_stack.harness import (  # noqa: E402
    LocalEnv,
    local_env,
    start_worker,
    stop_worker,
    worker_log,
)
from local_stack.services import endpoints as local_endpoints  # noqa: E402
from local_stack.services import state as local_state  # noqa: E402
from local_stack.services.processes import wait_for  # noqa: E402

THROUGHPUT_TARGET_RATIO = 0.5
# Issue 9: p95 put -> visible by offered rate (files/s of 20 events).
FRESHNESS_P95_TARGET_MS = {10: 1000, 50: 1000, 200: 2000}
SUSTAINED_TARGET_FILES_PER_S = 300
STARTUP_TARGET_S = 20
PUT_THREADS = 8


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
        body = producer.ndjson_gz(shopping.generate_events(per_file, seed=1000 + n))
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
        wait_for(lambda: queryable() >= total, 600, f"{total:,} rows in ENRICHED_EVENTS", interval=0.1)
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


class _Watcher:
    """Polls ENRICHED_EVENTS on its own connection (what a dashboard sees): when each file's rows became visible."""

    def __init__(self, env, run: str, interval: float = 0.05):
        self.env, self.run, self.interval = env, run, interval
        self.seen_at: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        with self.env.connect() as connection:
            cursor = connection.cursor()
            while not self.stop.is_set():
                cursor.execute(
                    "SELECT DISTINCT source_file FROM ENRICHED_EVENTS WHERE source_file LIKE %s", (f"{self.run}/%",)
                )
                now = time.perf_counter()
                for (name,) in cursor.fetchall():
                    self.seen_at.setdefault(name, now)
                time.sleep(self.interval)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _offer(env, run: str, files_per_second: float, seconds: float, events_per_file: int) -> dict[str, float]:
    """Put small files on a timetable (PUT_THREADS client threads); when each put returned, by name."""
    return _offer_into(env, run, files_per_second, seconds, events_per_file, {})


def freshness(env, seconds: float, files_per_second: float, events_per_file: int) -> dict:
    run = f"fresh-{uuid.uuid4().hex[:6]}"
    print(f"freshness: {files_per_second:g} files/s of {events_per_file} events for {seconds:g} s ...", flush=True)
    watcher = _Watcher(env, run)
    started = time.perf_counter()
    put_at = _offer(env, run, files_per_second, seconds, events_per_file)
    offered_seconds = time.perf_counter() - started
    try:
        wait_for(lambda: len(watcher.seen_at) >= len(put_at), 120, "every freshness file visible", interval=0.2)
    except TimeoutError:
        pass  # reported as visible < files
    watcher.close()
    latencies = sorted((watcher.seen_at[k] - put_at[k]) * 1000 for k in put_at if k in watcher.seen_at)
    result = {
        "files_per_second": files_per_second,
        "files": len(put_at),
        "achieved_put_rate": round(len(put_at) / offered_seconds, 1),
        "visible": len(latencies),
    }
    if latencies:
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        result |= {
            "p50_ms": round(statistics.median(latencies)),
            "p95_ms": round(quantiles[94]),
            "max_ms": round(latencies[-1]),
            "target_p95_ms": FRESHNESS_P95_TARGET_MS[files_per_second] if files_per_second in FRESHNESS_P95_TARGET_MS
            else None,
        }  # fmt: skip
    return result


def sustained(env, seconds: float, files_per_second: float, events_per_file: int) -> dict:
    """Offer small files at a fixed rate; sample the backlog (put but not yet visible) every second.

    The backlog's trend over the second half (least-squares slope, files/s)
    says whether the pipe keeps up: near 0 it does, positive it falls behind.
    """
    run = f"sustain-{uuid.uuid4().hex[:6]}"
    print(f"sustained: offering {files_per_second:g} files/s for {seconds:g} s ...", flush=True)
    watcher = _Watcher(env, run, interval=0.2)
    samples: list[tuple[float, int, int]] = []
    done = threading.Event()
    put_at: dict[str, float] = {}

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), len(put_at_live), len(watcher.seen_at)))
            done.wait(1.0)

    put_at_live = put_at  # filled by _offer_into's threads while the sampler reads it
    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    _offer_into(env, run, files_per_second, seconds, events_per_file, put_at)
    offered = time.perf_counter() - started
    done.set()
    sampler.join()
    try:
        wait_for(lambda: len(watcher.seen_at) >= len(put_at), 180, "the sustained backlog draining", interval=0.5)
    except TimeoutError:
        pass
    drained_at = time.perf_counter()
    watcher.close()
    half = [(t - started, put - seen) for t, put, seen in samples if t - started >= seconds / 2]
    slope = _slope(half) if len(half) >= 3 else None
    return {
        "offered_files_per_second": files_per_second,
        "achieved_put_rate": round(len(put_at) / offered, 1),
        "files": len(put_at),
        "visible": len(watcher.seen_at),
        "loaded_files_per_second": round(len(watcher.seen_at) / (drained_at - started), 1),
        "backlog_at_end_of_offer": samples[-1][1] - samples[-1][2] if samples else None,
        "backlog_slope_files_per_s": round(slope, 1) if slope is not None else None,
        "drain_seconds_after_offer": round(drained_at - started - offered, 1),
    }


def _slope(points: list[tuple[float, int]]) -> float:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _offer_into(env, run: str, files_per_second: float, seconds: float, events_per_file: int, put_at: dict) -> dict:
    simulator = shopping.ShoppingSimulator(seed=8)
    stream = simulator.events()
    count = int(files_per_second * seconds)
    bodies = [producer.ndjson_gz([next(stream) for _ in range(events_per_file)]) for _ in range(count)]
    s3 = [env.client("s3") for _ in range(PUT_THREADS)]
    started = time.perf_counter()

    def put(n: int) -> None:
        time.sleep(max(0.0, started + n / files_per_second - time.perf_counter()))
        name = f"{run}/{n:06d}.ndjson.gz"
        s3[n % PUT_THREADS].put_object(Bucket=env.bucket, Key=env.prefix + name, Body=bodies[n])
        put_at[name] = time.perf_counter()

    with ThreadPoolExecutor(PUT_THREADS) as pool:
        list(pool.map(put, range(count)))
    return put_at


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
        endpoints = local_state.read_endpoints(state_dir)
        s3 = local_endpoints.aws_client(endpoints, "s3")
        key = f"{endpoints.events_prefix}startup/first.ndjson.gz"
        s3.put_object(Bucket=endpoints.bucket, Key=key, Body=producer.ndjson_gz(shopping.generate_events(1, seed=3)))
        with local_endpoints.connect_snowflake(endpoints, user="bench") as connection:
            cursor = connection.cursor()
            wait_for(
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


def _spread(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:g}"
    return f"median {statistics.median(values):g} (min {min(values):g}, max {max(values):g}, n={len(values)})"


@contextmanager
def user_stack(state_dir: Path) -> Iterator[LocalEnv]:
    """The stack exactly as `make local-up SUPERSET=0` starts it: Snowpipe worker and task runner running."""
    settings = local_stack.LocalStackSettings(state_dir=state_dir, superset=False)
    endpoints = local_stack.up(settings, progress=lambda _message: None)
    try:
        yield LocalEnv(
            state_dir,
            endpoints,
            local_state.read_pipes(state_dir),
            local_endpoints.aws_client(endpoints, "s3"),
            local_endpoints.aws_client(endpoints, "sqs"),
        )
    finally:
        local_stack.down(state_dir)


@contextmanager
def worker_only_stack(state_dir: Path) -> Iterator[LocalEnv]:
    """The same stack without the task runner: only the Snowpipe worker queries fakesnow."""
    with local_env(state_dir) as env:
        try:
            start_worker(state_dir)
            yield env
        except Exception:
            print(worker_log(state_dir), file=sys.stderr)
            raise
        finally:
            stop_worker(state_dir)


STACKS = {"user": user_stack, "worker-only": worker_only_stack}


def _one_run(args: argparse.Namespace, state_dir: Path, scratch: Path) -> dict:
    """One fresh stack: freshness at each rate, sustained small files, then the 1M-event batch."""
    run: dict = {"stack": args.stack, "freshness": [], "sustained": None, "throughput": None}
    with STACKS[args.stack](state_dir) as env:
        if not args.skip_freshness:
            for rate in args.rates:
                f = freshness(env, args.seconds, rate, args.events_per_file)
                run["freshness"].append(f)
                print(
                    f"  freshness {rate:g} files/s: {f['visible']}/{f['files']} visible (puts at "
                    f"{f['achieved_put_rate']}/s); p50 {f.get('p50_ms')} ms, p95 {f.get('p95_ms')} ms, "
                    f"max {f.get('max_ms')} ms (target p95 <= {f.get('target_p95_ms')} ms)",
                    flush=True,
                )
        if not args.skip_sustained:
            u = run["sustained"] = sustained(env, args.sustained_seconds, args.sustained_rate, args.events_per_file)
            print(
                f"  sustained: offered {u['offered_files_per_second']:g}/s, "
                f"puts reached {u['achieved_put_rate']}/s; "
                f"loaded {u['loaded_files_per_second']} files/s; backlog slope {u['backlog_slope_files_per_s']} "
                f"files/s, {u['backlog_at_end_of_offer']} behind when offering stopped, drained "
                f"{u['drain_seconds_after_offer']} s later (target >= {SUSTAINED_TARGET_FILES_PER_S}/s, slope ~0)",
                flush=True,
            )
        if not args.skip_throughput:
            t = run["throughput"] = throughput(env, args.events, args.files, scratch)
            print(
                f"  throughput: {t['events']:,} events / {t['files']} files in {t['seconds']} s -> "
                f"{t['pipeline_rows_per_s']:,} rows/s; DuckDB {t['duckdb_rows_per_s']:,} rows/s; "
                f"ratio {t['ratio']} (target >= {THROUGHPUT_TARGET_RATIO})",
                flush=True,
            )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions, each on a fresh stack (default 3)")
    parser.add_argument("--events", type=int, default=1_000_000, help="throughput: events in total")
    parser.add_argument("--files", type=int, default=10, help="throughput: files they are split into")
    parser.add_argument("--seconds", type=float, default=20, help="freshness: seconds of files at each rate")
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 50, 200], help="freshness: files/s")
    parser.add_argument("--sustained-rate", type=float, default=SUSTAINED_TARGET_FILES_PER_S)
    parser.add_argument("--sustained-seconds", type=float, default=30)
    parser.add_argument("--events-per-file", type=int, default=20, help="events in each small file")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-freshness", action="store_true")
    parser.add_argument("--skip-sustained", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument(
        "--stack", choices=sorted(STACKS), default="user", help="user (as make local-up, default) or worker-only"
    )
    args = parser.parse_args()

    results: dict = {"runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch:
        if not args.skip_startup:
            results["startup"] = startup(Path(scratch))
            s = results["startup"]
            print(
                f"start-up: local-up returned after {s['local_up_seconds']} s, first row queryable after "
                f"{s['first_row_seconds']} s (target <= {STARTUP_TARGET_S} s)",
                flush=True,
            )
        for n in range(args.runs):
            print(f"run {n + 1}/{args.runs} (fresh stack)", flush=True)
            results["runs"].append(_one_run(args, Path(scratch) / f"state-{n}", Path(scratch)))

    runs = results["runs"]
    print(f"\nsummary over {len(runs)} run(s) of the {args.stack} stack on {os.cpu_count()} cores:")
    for index, rate in enumerate(args.rates if not args.skip_freshness else []):
        rows = [r["freshness"][index] for r in runs]
        target = FRESHNESS_P95_TARGET_MS.get(rate)
        print(
            f"  freshness {rate:g} files/s: p95 {_spread([r.get('p95_ms') for r in rows])} ms, "
            f"p50 {_spread([r.get('p50_ms') for r in rows])} ms (target p95 <= {target} ms)"
        )
    if not args.skip_sustained:
        rows = [r["sustained"] for r in runs]
        print(
            f"  sustained (offered {args.sustained_rate:g}/s): "
            f"loaded {_spread([r['loaded_files_per_second'] for r in rows])} "
            f"files/s, puts reached {_spread([r['achieved_put_rate'] for r in rows])}/s, backlog slope "
            f"{_spread([r['backlog_slope_files_per_s'] for r in rows])} files/s "
            f"(target >= {SUSTAINED_TARGET_FILES_PER_S}/s, no growing backlog)"
        )
    if not args.skip_throughput:
        rows = [r["throughput"] for r in runs]
        print(
            f"  1M batch: ratio {_spread([r['ratio'] for r in rows])} x DuckDB, "
            f"{_spread([r['pipeline_rows_per_s'] for r in rows])} rows/s (target >= {THROUGHPUT_TARGET_RATIO})"
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
