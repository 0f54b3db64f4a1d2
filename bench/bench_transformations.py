"""Snowpark transformation figures: events/s per run on each engine, and lag from event load to funnel row.

    .venv/bin/python bench/bench_transformations.py                     # fakesnow engine + lag (~2 min)
    .venv/bin/python bench/bench_transformations.py --local-testing-path DIR   # also Snowpark local testing

Engines, on the same generated events (local_stack.producer, seeded):
- Snowpark on the fakesnow server (what the local task runner uses): a full
  refresh of N events, then an incremental run of M new events through the
  runner's own run_task_once (emulated stream, one transaction);
- Snowpark's local testing mode, when pandas is importable from DIR
  (`pip install --target DIR "pandas<3"`; not in requirements.txt, because
  the product does not use it): the same refresh() on in-memory tables, its
  rows compared with the fakesnow engine's.
Lag: the real local stack (same builder as the e2e tests), its Snowpipe
worker and the task runner every 5 s; per new session put in S3, the time
from its rows being loaded in ECOMMERCE_EVENTS to its SESSION_FUNNEL row.

It prints figures; nothing here asserts.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "--local-testing-path" in sys.argv:
    # Snowpark looks for pandas when it is first imported; after the venv, so
    # the venv's own packages keep precedence.
    sys.path.append(sys.argv[sys.argv.index("--local-testing-path") + 1])

from local_stack import producer, shopping  # noqa: E402
from local_stack import stack as local_stack  # noqa: E402
from local_stack.harness import local_env, start_worker  # noqa: E402
from local_stack.services.processes import wait_for  # noqa: E402
from local_stack.tasks.runner import run_task_once  # noqa: E402
from local_stack.tasks.spec import LOCAL_INTERVAL_SECONDS, TaskSpec  # noqa: E402
from local_stack.transformations_harness import (  # noqa: E402
    DATABASE,
    Event,
    fakesnow_server,
    insert_events,
    insert_products,
    normalise,
    rows_of,
    snowpark,
    tables,
)
from transformations.procedure import refresh_in_transaction  # noqa: E402
from transformations.refresh import refresh  # noqa: E402


def _products() -> list[tuple[int, str, str, str]]:
    with open(ROOT / "reference_data" / "products.csv", newline="", encoding="utf-8") as handle:
        return [(int(r["product_id"]), r["name"], r["category"], r["price"]) for r in csv.DictReader(handle)]


def _events(count: int, seed: int, file: str, loaded_at: str) -> list[Event]:
    return [
        Event(
            e["event_id"], e["event_type"], e["event_timestamp"].replace("T", " ").rstrip("Z")[:19],
            e["customer_id"], e["product_id"], e["quantity"], e.get("session_id"), file, loaded_at,
        )
        for e in shopping.generate_events(count, seed=seed)
    ]  # fmt: skip


def _insert(session, schema: str, events: list[Event], chunk: int = 2000) -> None:
    for start in range(0, len(events), chunk):
        insert_events(session, schema, events[start : start + chunk])


def fakesnow_engine(port: int, full: int, incremental: int, run: int = 1) -> dict:
    # A schema per run: the emulated stream's offsets outlive the tables, and a
    # reused stream name would see the next run's loads as already consumed.
    schema = f"BENCH_{full}_{run}"
    session = snowpark(port, schema)
    insert_products(session, schema, _products())
    _insert(session, schema, _events(full, 1, "bench-1.json", "2026-11-30 10:00:00"))
    t = tables(schema)
    started = time.perf_counter()
    refresh_in_transaction(session, session.table(t.events), t)
    full_s = time.perf_counter() - started
    stream = f"{DATABASE}.{schema}.BENCH_STREAM"
    spec = TaskSpec(f"{DATABASE}.{schema}.T", 60, "P", (stream, t.events, t.products, t.session_funnel,
                    t.product_conversion), stream, t.events, "run", True)  # fmt: skip
    run_task_once(session, spec)  # consumes everything loaded so far
    _insert(session, schema, _events(incremental, 2, "bench-2.json", "2026-11-30 10:01:00"))
    started = time.perf_counter()
    run_task_once(session, spec)
    incremental_s = time.perf_counter() - started
    funnel = rows_of(session, t.session_funnel, ("SESSION_ID",))
    conversion = rows_of(session, t.product_conversion, ("PRODUCT_ID", "EVENT_DATE"))
    session.close()
    return {"full_s": full_s, "incremental_s": incremental_s, "funnel": funnel, "conversion": conversion}


def local_testing_engine(full: int, incremental: int) -> dict:
    import datetime as dt
    from decimal import Decimal

    from snowflake.snowpark import Session
    from snowflake.snowpark import functions as fn
    from snowflake.snowpark import types as T  # noqa: N812

    from infra import sql_source

    session = Session.builder.config("local_testing", True).create()
    types = {"VARCHAR": T.StringType(), "TIMESTAMP_NTZ": T.TimestampType(), "TIMESTAMP_LTZ": T.TimestampType(),
             "NUMBER(38,0)": T.LongType(), "NUMBER(10,2)": T.DecimalType(10, 2), "VARIANT": T.VariantType(),
             "BOOLEAN": T.BooleanType(), "DATE": T.DateType(), "NUMBER(18,2)": T.DecimalType(18, 2),
             "NUMBER(10,4)": T.DecimalType(10, 4)}  # fmt: skip

    def table_schema(spec) -> T.StructType:
        return T.StructType([T.StructField(c.name, types[c.type], c.nullable) for c in spec.columns])

    specs = {**sql_source.tables(), **sql_source.tables("conversion_tables.sql")}
    t = tables("LOCAL")
    names = {"ECOMMERCE_EVENTS": t.events, "PRODUCTS": t.products, "SESSION_FUNNEL": t.session_funnel,
             "PRODUCT_CONVERSION": t.product_conversion}  # fmt: skip
    products = [(p, n, c, Decimal(price)) for p, n, c, price in _products()]
    session.create_dataframe(products, schema=table_schema(specs["PRODUCTS"])).write.save_as_table(names["PRODUCTS"])

    def event_rows(events: list[Event]) -> list[tuple]:
        parse = dt.datetime.fromisoformat
        return [(e.event_id, e.event_type, parse(e.event_timestamp), e.customer_id, e.product_id, e.quantity,
                 e.session_id, "{}", e.source_file, parse(e.loaded_at)) for e in events]  # fmt: skip

    events_schema = table_schema(specs["ECOMMERCE_EVENTS"])
    first = _events(full, 1, "bench-1.json", "2026-11-30 10:00:00")
    session.create_dataframe(event_rows(first), schema=events_schema).write.save_as_table(names["ECOMMERCE_EVENTS"])
    for name in ("SESSION_FUNNEL", "PRODUCT_CONVERSION"):
        session.create_dataframe([], schema=table_schema(specs[name])).write.save_as_table(names[name])
    started = time.perf_counter()
    refresh(session, session.table(t.events), t)
    full_s = time.perf_counter() - started
    second = _events(incremental, 2, "bench-2.json", "2026-11-30 10:01:00")
    new = session.create_dataframe(event_rows(second), schema=events_schema)
    new.write.mode("append").save_as_table(names["ECOMMERCE_EVENTS"])
    started = time.perf_counter()
    refresh(session, session.table(t.events).filter(fn.col("SOURCE_FILE") == fn.lit("bench-2.json")), t)
    incremental_s = time.perf_counter() - started
    funnel = sorted((tuple(normalise(v) for v in r) for r in session.table(t.session_funnel).collect()),
                    key=lambda r: str(r[0]))  # fmt: skip
    conversion = sorted((tuple(normalise(v) for v in r) for r in session.table(t.product_conversion).collect()),
                        key=lambda r: (str(r[0]), str(r[1])))  # fmt: skip
    return {"full_s": full_s, "incremental_s": incremental_s, "funnel": funnel, "conversion": conversion}


def lag(samples: int) -> list[tuple[float, float]]:
    """(put -> loaded, loaded -> funnel row) seconds per new session, on the real local stack."""
    import tempfile

    results = []
    with tempfile.TemporaryDirectory() as tmp, local_env(Path(tmp)) as env:
        # The worker and the task runner as `make local-up` starts them; local_env's exit stops both.
        start_worker(env.state_dir)
        local_stack.start_task_runner(env.state_dir, progress=lambda _message: None)
        with env.connect() as connection:
            cursor = connection.cursor()
            for n in range(samples):
                session_id = f"lag-{uuid.uuid4().hex[:8]}"
                events = [dict(e, session_id=session_id, event_id=f"{session_id}-{i}")
                          for i, e in enumerate(shopping.generate_events(3, seed=n))]  # fmt: skip
                put = time.perf_counter()
                env.s3.put_object(Bucket=env.bucket, Key=f"{env.prefix}lag/{session_id}.ndjson",
                                  Body=producer.ndjson(events))  # fmt: skip

                def count(sql: str, sid: str = session_id) -> int:
                    return cursor.execute(sql, (sid,)).fetchone()[0]

                wait_for(lambda: count("SELECT COUNT(*) FROM ECOMMERCE_EVENTS WHERE SESSION_ID = %s") == 3,
                           60, "load", interval=0.02)  # fmt: skip
                loaded = time.perf_counter()
                wait_for(lambda: count("SELECT COUNT(*) FROM SESSION_FUNNEL WHERE SESSION_ID = %s") == 1,
                           120, "funnel row", interval=0.05)  # fmt: skip
                results.append((loaded - put, time.perf_counter() - loaded))
                threading.Event().wait(1.3 * (n % 3))  # land at different points of the schedule
    return results


def _spread(values: list[float], form: str = "{:.2f}") -> str:
    """median (min-max) of the runs, as docs/benchmarks.md quotes them."""
    median, low, high = (form.format(v) for v in (statistics.median(values), min(values), max(values)))
    return f"{median} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[2000, 10000], help="events per full run")
    parser.add_argument("--incremental", type=int, default=500, help="new events for the incremental run")
    parser.add_argument("--local-testing-path", help="a directory with pandas for Snowpark local testing mode")
    parser.add_argument("--lag-samples", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each engine figure (default 3)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1 (got {args.runs}): a figure needs a run")

    print("Snowpark transformation, per run (events/s = events in the run / wall time of the run):", flush=True)
    with fakesnow_server() as port:
        for count in args.events:
            runs = [fakesnow_engine(port, count, args.incremental, run) for run in range(1, args.runs + 1)]
            fake = runs[-1]
            full = _spread([r["full_s"] for r in runs])
            rate = _spread([count / r["full_s"] for r in runs], "{:.0f}")
            incremental = _spread([r["incremental_s"] for r in runs])
            print(f"  fakesnow server    full {count:>6} events, {args.runs} runs, median (min-max): {full} s = "
                  f"{rate} events/s; incremental {args.incremental} new events "
                  f"(runner, stream + transaction): {incremental} s")  # fmt: skip
            if args.local_testing_path:
                local = local_testing_engine(count, args.incremental)
                same = local["funnel"] == fake["funnel"] and local["conversion"] == fake["conversion"]
                wrong = sum(a != b for a, b in zip(local["funnel"], fake["funnel"], strict=False))
                print(f"  local testing mode full {count:>6} events: {local['full_s']:6.2f} s = "
                      f"{count / local['full_s']:8.0f} events/s; incremental: {local['incremental_s']:5.2f} s; "
                      f"results {'identical' if same else f'DIFFER ({wrong} funnel rows)'} "
                      "to the fakesnow engine's")  # fmt: skip
    if args.lag_samples:
        samples = lag(args.lag_samples)
        to_funnel = [s[1] for s in samples]
        print(f"Lag, event loaded -> SESSION_FUNNEL row (runner every {LOCAL_INTERVAL_SECONDS} s), "
              f"{len(samples)} sessions: median {statistics.median(to_funnel):.1f} s, max {max(to_funnel):.1f} s; "
              f"put -> loaded median {statistics.median(s[0] for s in samples) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
