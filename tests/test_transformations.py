"""The Snowpark transformation on fixed data, checked against an independent DuckDB computation.

The oracle below is plain DuckDB SQL written from the spec
(docs/transformations.md): it shares no code with transformations/ and
runs on DuckDB directly, not through fakesnow or Snowpark. Literal checks on
a few rows can be verified by hand from the events listed here.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from snowflake.snowpark import Session
from snowflake.snowpark import functions as fn

from infra import sql_source
from local_stack.tasks.runner import run_task_once
from local_stack.tasks.spec import TaskSpec
from local_stack.tasks.stream import EmulatedStream
from local_stack.transformations_harness import (
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
from transformations.conversion import (
    PRODUCT_CONVERSION_COLUMNS,
    PRODUCT_CONVERSION_KEY,
    SESSION_FUNNEL_COLUMNS,
    SESSION_FUNNEL_KEY,
)
from transformations.procedure import refresh_in_transaction
from transformations.refresh import refresh

PRODUCTS = [(1, "Earbuds", "Electronics", "79.99"), (2, "Mug", "Home", "12.50"), (3, "Novel", "Books", "9.00")]


def _load(file: str, loaded_at: str, *rows: tuple) -> list[Event]:
    return [Event(*row, source_file=file, loaded_at=loaded_at) for row in rows]


# Three Snowpipe loads. B arrives with next-day events and a copy of e03 (a
# producer retry); C brings a late event that happened before s1's first one
# and a purchase of another product in s1.
LOAD_A = _load(
    "a.json", "2026-11-01 10:05:00",
    ("e01", "view", "2026-11-01 09:00:00", 10, 1, 1, "s1"),
    ("e02", "add_to_cart", "2026-11-01 09:01:00", 10, 1, 2, "s1"),
    ("e03", "purchase", "2026-11-01 09:02:00", 10, 1, 2, "s1"),
    ("e04", "view", "2026-11-01 09:05:00", 11, 2, 1, "s2"),
    ("e05", "view", "2026-11-01 09:06:00", 11, 3, 1, "s2"),
    ("e06", "purchase", "2026-11-01 09:07:00", 12, 99, 3, "s3"),  # product missing from PRODUCTS
    ("e07", "view", "2026-11-01 09:08:00", 13, 1, 1, None),  # no session
)  # fmt: skip
LOAD_B = _load(
    "b.json", "2026-11-01 10:10:00",
    ("e08", "add_to_cart", "2026-11-02 23:59:59", 11, 2, 1, "s2"),
    ("e09", "purchase", "2026-11-02 23:59:59", 11, 2, 4, "s2"),
    ("e10", "remove_from_cart", "2026-11-02 23:59:59", 11, 3, 1, "s2"),
    ("e03", "purchase", "2026-11-01 09:02:00", 10, 1, 2, "s1"),  # the same event again
)  # fmt: skip
LOAD_C = _load(
    "c.json", "2026-11-01 10:15:00",
    ("e11", "view", "2026-11-01 08:59:00", 10, 1, 1, "s1"),
    ("e12", "purchase", "2026-11-01 09:30:00", 10, 3, 1, "s1"),
)  # fmt: skip
ALL_EVENTS = LOAD_A + LOAD_B + LOAD_C

# The spec, in DuckDB's own SQL. Each EVENT_ID counts once: the copy loaded
# first. Revenue: purchases only, PRICE * QUANTITY from PRODUCTS.
ORACLE_FIRST_COPIES = """
CREATE TABLE counted AS
SELECT * FROM events
QUALIFY row_number() OVER (
    PARTITION BY event_id
    ORDER BY loaded_at, source_file, event_timestamp, event_type, product_id, quantity, customer_id, session_id
) = 1
"""
ORACLE_SESSION_FUNNEL = """
SELECT e.session_id, min(e.customer_id), min(e.event_timestamp), max(e.event_timestamp), count(*),
       bool_or(e.event_type = 'view'), bool_or(e.event_type = 'add_to_cart'), bool_or(e.event_type = 'purchase'),
       coalesce(sum(e.quantity) FILTER (WHERE e.event_type = 'purchase'), 0),
       coalesce(sum(e.quantity * p.price) FILTER (WHERE e.event_type = 'purchase'), 0)
FROM counted e LEFT JOIN products p ON p.product_id = e.product_id
WHERE e.session_id IS NOT NULL
GROUP BY e.session_id
"""
ORACLE_PRODUCT_CONVERSION = """
SELECT product_id, event_date, category, views, carts, purchases, units, revenue,
       CASE WHEN views = 0 THEN NULL ELSE round(purchases / views, 4) END
FROM (
    SELECT e.product_id, CAST(e.event_timestamp AS DATE) AS event_date, any_value(p.category) AS category,
           count(*) FILTER (WHERE e.event_type = 'view') AS views,
           count(*) FILTER (WHERE e.event_type = 'add_to_cart') AS carts,
           count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
           coalesce(sum(e.quantity) FILTER (WHERE e.event_type = 'purchase'), 0) AS units,
           coalesce(sum(e.quantity * p.price) FILTER (WHERE e.event_type = 'purchase'), 0) AS revenue
    FROM counted e LEFT JOIN products p ON p.product_id = e.product_id
    GROUP BY e.product_id, CAST(e.event_timestamp AS DATE)
)
"""


def oracle(events: list[Event]) -> tuple[list[tuple], list[tuple]]:
    db = duckdb.connect()
    db.execute("CREATE TABLE products (product_id BIGINT, name VARCHAR, category VARCHAR, price DECIMAL(10, 2))")
    db.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
    db.execute(
        "CREATE TABLE events (event_id VARCHAR, event_type VARCHAR, event_timestamp TIMESTAMP, customer_id BIGINT,"
        " product_id BIGINT, quantity BIGINT, session_id VARCHAR, source_file VARCHAR, loaded_at TIMESTAMP)"
    )
    db.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                e.event_id,
                e.event_type,
                e.event_timestamp,
                e.customer_id,
                e.product_id,
                e.quantity,
                e.session_id,
                e.source_file,
                e.loaded_at,
            )
            for e in events
        ],
    )
    db.execute(ORACLE_FIRST_COPIES)

    def rows(query: str, key_width: int) -> list[tuple]:
        found = [tuple(normalise(v) for v in row) for row in db.execute(query).fetchall()]
        return sorted(found, key=lambda r: tuple(str(r[i]) for i in range(key_width)))

    return rows(ORACLE_SESSION_FUNNEL, 1), rows(ORACLE_PRODUCT_CONVERSION, 2)


_SESSIONS: list[Session] = []


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with fakesnow_server() as serving:
        yield serving
        while _SESSIONS:
            _SESSIONS.pop().close()


def _fresh(port: int, schema: str) -> Session:
    session = snowpark(port, schema)
    _SESSIONS.append(session)
    insert_products(session, schema, PRODUCTS)
    return session


def _results(session: Session, schema: str) -> tuple[list[tuple], list[tuple]]:
    t = tables(schema)
    return rows_of(session, t.session_funnel, SESSION_FUNNEL_KEY), rows_of(
        session, t.product_conversion, PRODUCT_CONVERSION_KEY
    )


def test_output_columns_are_the_tables_of_sql():
    """The DataFrames write exactly the columns sql/conversion_tables.sql declares, in its order."""
    specs = sql_source.tables("conversion_tables.sql")
    assert tuple(c.name for c in specs["SESSION_FUNNEL"].columns) == SESSION_FUNNEL_COLUMNS
    assert tuple(c.name for c in specs["PRODUCT_CONVERSION"].columns) == PRODUCT_CONVERSION_COLUMNS


@pytest.mark.emulator
def test_full_run_equals_the_duckdb_oracle_and_the_hand_computed_rows(port):
    session = _fresh(port, "FULL_RUN")
    insert_events(session, "FULL_RUN", ALL_EVENTS)
    t = tables("FULL_RUN")
    refresh_in_transaction(session, session.table(t.events), t)

    funnel, conversion = _results(session, "FULL_RUN")
    expected_funnel, expected_conversion = oracle(ALL_EVENTS)
    assert funnel == expected_funnel
    assert conversion == expected_conversion

    by_session = {row[0]: dict(zip(SESSION_FUNNEL_COLUMNS, row, strict=True)) for row in funnel}
    assert set(by_session) == {"s1", "s2", "s3"}, "e07 has no session: no funnel row for it"
    s1 = by_session["s1"]
    # e01 e02 e03 e11 e12; e03's second copy does not count; 2 x 79.99 + 1 x 9.00
    assert (s1["EVENTS"], s1["UNITS_PURCHASED"], s1["REVENUE"]) == (5, 3, 168.98)
    assert str(s1["FIRST_EVENT_AT"]) == "2026-11-01 08:59:00", "the late event e11 is the session's first"
    s2 = by_session["s2"]
    assert (s2["VIEWED"], s2["ADDED_TO_CART"], s2["PURCHASED"], s2["REVENUE"]) == (True, True, True, 50.0)
    s3 = by_session["s3"]
    assert (s3["VIEWED"], s3["PURCHASED"], s3["UNITS_PURCHASED"], s3["REVENUE"]) == (False, True, 3, 0.0)

    by_day = {(row[0], str(row[1])): dict(zip(PRODUCT_CONVERSION_COLUMNS, row, strict=True)) for row in conversion}
    earbuds = by_day[(1, "2026-11-01")]  # views e01 e07 e11, one purchase e03
    assert (earbuds["VIEWS"], earbuds["PURCHASES"], earbuds["VIEW_TO_PURCHASE_RATE"]) == (3, 1, 0.3333)
    assert by_day[(99, "2026-11-01")]["CATEGORY"] is None
    assert by_day[(99, "2026-11-01")]["VIEW_TO_PURCHASE_RATE"] is None, "no views: no rate"


@pytest.mark.emulator
def test_incremental_batches_with_late_duplicate_and_retried_runs_equal_a_full_recompute(port):
    """Refresh per load (B twice, as a retried run; B's copy of e03 and C's late event), then compare."""
    schema = "INCREMENTAL"
    session = _fresh(port, schema)
    t = tables(schema)
    for load in (LOAD_A, LOAD_B, LOAD_C):
        insert_events(session, schema, load)
    loads = session.table(t.events)
    for file in ("c.json", "a.json", "b.json", "b.json"):  # out of order, and b twice
        refresh_in_transaction(session, loads.filter(fn.col("SOURCE_FILE") == fn.lit(file)), t)
    incremental = _results(session, schema)

    full_schema = "RECOMPUTE"
    full = _fresh(port, full_schema)
    insert_events(full, full_schema, ALL_EVENTS)
    refresh(full, full.table(tables(full_schema).events), tables(full_schema))
    assert incremental == _results(full, full_schema)
    assert incremental == oracle(ALL_EVENTS)


def _spec(schema: str) -> TaskSpec:
    t = tables(schema)
    stream = f"{DATABASE}.{schema}.ECOMMERCE_EVENTS_CONVERSION_STREAM"
    return TaskSpec(
        name=f"{DATABASE}.{schema}.CONVERSION_REFRESH_TASK",
        interval_seconds=60,
        procedure=f"{DATABASE}.{schema}.CONVERSION_REFRESH",
        arguments=(stream, t.events, t.products, t.session_funnel, t.product_conversion),
        stream=stream,
        stream_table=t.events,
        handler="run",
        started=True,
    )


class InjectedFailureError(RuntimeError):
    pass


@pytest.mark.emulator
def test_runner_failing_between_writing_results_and_commit_loses_and_duplicates_nothing(port):
    """A hook raises after the MERGEs and the offset were written, before COMMIT."""
    schema = "RUNNER"
    session = _fresh(port, schema)
    spec = _spec(schema)
    insert_events(session, schema, LOAD_A)
    first = run_task_once(session, spec)
    assert first.result is not None and first.result.sessions_inserted == 3
    after_a = _results(session, schema)
    assert after_a == oracle(LOAD_A)

    insert_events(session, schema, LOAD_B + LOAD_C)

    def fail() -> None:
        # Inside the transaction, the results are already merged.
        written = session.table(spec.arguments[3]).filter(fn.col("SESSION_ID") == fn.lit("s1")).collect()
        assert written[0]["EVENTS"] == 5, "the hook must run after the results were written"
        raise InjectedFailureError("between writing results and commit")

    with pytest.raises(InjectedFailureError):
        run_task_once(session, spec, before_commit=fail)
    assert _results(session, schema) == after_a, "a failed run must leave no partial results"
    stream = EmulatedStream(session, spec.stream, spec.stream_table, DATABASE)
    assert stream.has_data(), "the failed run's rows must still be in the stream"

    retried = run_task_once(session, spec)
    assert retried.result is not None
    assert _results(session, schema) == oracle(ALL_EVENTS)
    assert run_task_once(session, spec).result is None, "nothing left: the next run is skipped (WHEN)"
    assert _results(session, schema) == oracle(ALL_EVENTS)
