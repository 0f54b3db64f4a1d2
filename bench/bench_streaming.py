"""Snowpipe Streaming figures on the real local stack: REST append -> emulator -> ENRICHED_EVENTS.

    .venv/bin/python bench/bench_streaming.py                    # 3 runs, each on a fresh stack
    .venv/bin/python bench/bench_streaming.py --runs 1 --seconds 5 --rows 50000   # quick look

Each run starts a fresh stack (ingestion both, no Superset, no Snowpipe
worker) with the streaming emulator, and measures through the REST client
the producer uses (local_stack/streaming/client.py), on one channel:
* freshness at 100, 1,000 and 5,000 rows/s: per append (one every 0.1 s),
  request sent -> its rows counted in ENRICHED_EVENTS (polled on its own
  connection every 25 ms: fakesnow is one process, and polling it harder
  slows the commits being measured), p50 and p95 (target: p95 <= 500 ms at
  1,000/s);
* sustained: N rows appended as fast as the API takes them (10,000-row
  appends, ~2.3 MB, under the 4 MB limit), first append -> all visible,
  beside DuckDB reading the same rows from one NDJSON file with the same
  casts, in the same run (target >= 20,000 rows/s; the ratio is stated).
The summary gives the median and min/max over the runs. It prints figures;
nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack import stack  # noqa: E402
from local_stack.harness import local_env  # noqa: E402
from local_stack.services.processes import wait_for  # noqa: E402
from local_stack.services.state import read_streaming  # noqa: E402
from local_stack.shopping import generate_events  # noqa: E402
from local_stack.streaming.client import PipeRef, StreamingClient  # noqa: E402
from local_stack.streaming_producer import ChannelWriter, Row  # noqa: E402

RATES = (100, 1_000, 5_000)
FRESHNESS_P95_TARGET_MS = {1_000: 500}
SUSTAINED_TARGET_ROWS_PER_S = 20_000
APPEND_INTERVAL_S = 0.1
SUSTAINED_BATCH_ROWS = 10_000
VISIBLE = "SELECT COUNT(*) FROM enriched_events WHERE source_file = 'snowpipe-streaming'"


class VisibleCounter:
    """Polls the number of streamed rows in ENRICHED_EVENTS on its own connection; records when each count is seen."""

    def __init__(self, env, interval: float = 0.025):
        self.connection = env.connect()
        self.cursor = self.connection.cursor()
        self.interval = interval
        self.seen: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stop.is_set():
            count = self.cursor.execute(VISIBLE).fetchone()[0]
            self.seen.append((time.perf_counter(), count))
            self.stop.wait(self.interval)

    def when(self, count: int) -> float | None:
        return next((t for t, seen in self.seen if seen >= count), None)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.connection.close()


def _rows(events: list[dict], first_offset: int) -> list[Row]:
    return [Row(first_offset + n, orjson.dumps(e) + b"\n") for n, e in enumerate(events)]


def freshness(env, writer: ChannelWriter, rate: int, seconds: float, first_offset: int, base: int) -> dict:
    per_append = max(1, round(rate * APPEND_INTERVAL_S))
    appends = int(seconds / APPEND_INTERVAL_S)
    print(f"freshness: {rate:,} rows/s, {per_append} rows every {APPEND_INTERVAL_S} s, for {seconds:g} s", flush=True)
    events = generate_events(per_append * appends, seed=rate)
    counter = VisibleCounter(env)
    sent: list[tuple[float, int]] = []  # (request sent, rows visible once it is)
    try:
        started = time.perf_counter()
        for n in range(appends):
            time.sleep(max(0.0, started + n * APPEND_INTERVAL_S - time.perf_counter()))
            chunk = events[n * per_append : (n + 1) * per_append]
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
            for event in chunk:
                event["event_timestamp"] = stamp
            sent.append((time.perf_counter(), base + (n + 1) * per_append))
            writer.write(_rows(chunk, first_offset + n * per_append))
        wait_for(lambda: counter.seen and counter.seen[-1][1] >= sent[-1][1], 60, "every append visible")
    finally:
        counter.close()
    latencies = [(counter.when(count) - at) * 1000 for at, count in sent]
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rows_per_s": rate,
        "appends": len(sent),
        "p50_ms": round(statistics.median(latencies)),
        "p95_ms": round(quantiles[94]),
        "target_p95_ms": FRESHNESS_P95_TARGET_MS.get(rate),
        "rows": len(events),
    }


def _duckdb_rate(path: Path) -> float:
    """Rows/s of DuckDB reading the same NDJSON with the streaming pipe's casts, materialised."""
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(
        "CREATE TABLE events AS SELECT "
        "CAST(json_extract_string(j, '$.event_id') AS VARCHAR) AS event_id, "
        "CAST(json_extract_string(j, '$.event_type') AS VARCHAR) AS event_type, "
        "CAST(json_extract_string(j, '$.event_timestamp') AS TIMESTAMP) AS event_timestamp, "
        "CAST(json_extract(j, '$.customer_id') AS DECIMAL(38, 0)) AS customer_id, "
        "CAST(json_extract(j, '$.product_id') AS DECIMAL(38, 0)) AS product_id, "
        "CAST(json_extract(j, '$.quantity') AS DECIMAL(38, 0)) AS quantity, "
        "CAST(json_extract_string(j, '$.session_id') AS VARCHAR) AS session_id, j AS raw_event "
        "FROM read_ndjson_objects(?) AS t(j)",
        [str(path)],
    )
    elapsed = time.perf_counter() - started
    rows = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    connection.close()
    return rows / elapsed


def sustained(env, writer: ChannelWriter, rows: int, first_offset: int, base: int, scratch: Path) -> dict:
    print(f"sustained: {rows:,} rows in {SUSTAINED_BATCH_ROWS:,}-row appends, as fast as taken", flush=True)
    payload = _rows(generate_events(rows, seed=20_000), first_offset)
    ndjson = scratch / "sustained.ndjson"
    ndjson.write_bytes(b"".join(r.line for r in payload))
    writer.max_batch_rows = SUSTAINED_BATCH_ROWS
    counter = VisibleCounter(env, interval=0.05)
    try:
        started = time.perf_counter()
        writer.write(payload)
        appended = time.perf_counter()
        wait_for(lambda: counter.seen and counter.seen[-1][1] >= base + rows, 300, "all rows visible", interval=0.02)
        visible = counter.when(base + rows)
    finally:
        counter.close()
    rate = rows / (visible - started)
    duck = _duckdb_rate(ndjson)
    return {
        "rows": rows,
        "append_seconds": round(appended - started, 2),
        "visible_seconds": round(visible - started, 2),
        "rows_per_s": round(rate),
        "duckdb_rows_per_s": round(duck),
        "ratio_to_duckdb": round(rate / duck, 3),
        "target_rows_per_s": SUSTAINED_TARGET_ROWS_PER_S,
    }


def one_run(args: argparse.Namespace, state_dir: Path, scratch: Path) -> dict:
    with local_env(state_dir) as env:
        endpoint = read_streaming(state_dir)
        stack.start_streaming_emulator(state_dir, endpoint, progress=lambda _m: None)
        client = StreamingClient(
            endpoint.url, endpoint.account, endpoint.user, Path(endpoint.private_key_file).read_bytes()
        )
        writer = ChannelWriter(client, PipeRef.parse(endpoint.pipe), "bench")
        offset = writer.open()
        visible = 0
        result: dict = {"freshness": []}
        for rate in RATES:
            figures = freshness(env, writer, rate, args.seconds, offset, visible)
            offset += figures["rows"]
            visible += figures["rows"]
            print(f"  p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms over {figures['appends']} appends")
            result["freshness"].append(figures)
        figures = sustained(env, writer, args.rows, offset, visible, scratch)
        print(
            f"  {figures['rows_per_s']:,} rows/s (appends took {figures['append_seconds']} s, all visible after "
            f"{figures['visible_seconds']} s); DuckDB {figures['duckdb_rows_per_s']:,} rows/s; "
            f"ratio {figures['ratio_to_duckdb']}"
        )
        result["sustained"] = figures
        return result


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:g}"
    return f"median {statistics.median(values):g} (min {min(values):g}, max {max(values):g}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="fresh stacks to measure (default 3)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per freshness rate (default 8)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the sustained run (default 200,000)")
    args = parser.parse_args()
    if args.runs < 1 or args.seconds <= 0 or args.rows < SUSTAINED_BATCH_ROWS:
        parser.error(f"--runs >= 1, --seconds > 0 and --rows >= {SUSTAINED_BATCH_ROWS} please")
    runs = []
    for n in range(args.runs):
        print(f"run {n + 1}/{args.runs} (fresh stack)", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-streaming-") as scratch:
            runs.append(one_run(args, Path(scratch) / "state", Path(scratch)))
    print(f"\nsummary over {len(runs)} run(s) on {os.cpu_count()} cores:")
    for index, rate in enumerate(RATES):
        p50 = [r["freshness"][index]["p50_ms"] for r in runs]
        p95 = [r["freshness"][index]["p95_ms"] for r in runs]
        target = FRESHNESS_P95_TARGET_MS.get(rate)
        print(
            f"  freshness at {rate:,} rows/s: p50 {_spread(p50)} ms, p95 {_spread(p95)} ms"
            + (f" (target p95 <= {target} ms)" if target else "")
        )
    rates = [r["sustained"]["rows_per_s"] for r in runs]
    ratios = [r["sustained"]["ratio_to_duckdb"] for r in runs]
    print(
        f"  sustained: {_spread(rates)} rows/s (target >= {SUSTAINED_TARGET_ROWS_PER_S:,}); "
        f"ratio to DuckDB {_spread(ratios)}"
    )
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
