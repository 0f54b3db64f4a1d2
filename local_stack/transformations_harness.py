"""A fakesnow server with our shims, and Snowpark on it: the transformation tests and the benchmark share it.

Tables are created from sql/ like the deploy does (column names, types,
NOT NULL), in a schema of the caller's choosing so callers do not share rows.
It lives in local_stack, like harness.py, so the benchmark imports no test code.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from snowflake.snowpark import Session

from infra import sql_source
from local_stack.services import processes
from local_stack.services.endpoints import connect_local_snowflake
from transformations.refresh import Tables

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "CONVERSION_TEST"
EVENT_COLUMNS = (
    "EVENT_ID",
    "EVENT_TYPE",
    "EVENT_TIMESTAMP",
    "CUSTOMER_ID",
    "PRODUCT_ID",
    "QUANTITY",
    "SESSION_ID",
    "RAW_EVENT",
    "SOURCE_FILE",
    "LOADED_AT",
)


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    event_timestamp: str  # 'YYYY-MM-DD HH:MM:SS', UTC
    customer_id: int
    product_id: int
    quantity: int
    session_id: str | None
    source_file: str
    loaded_at: str


@contextmanager
def fakesnow_server() -> Iterator[int]:
    """The local stack's Snowflake (fakesnow + local_stack.emulators.fakesnow_compat) on a free port, as `make local-up`
    starts it (processes.start), in a throwaway state dir."""
    port = processes.free_port()
    with tempfile.TemporaryDirectory() as state_dir:
        command = [sys.executable, "-m", "local_stack.emulators.snowflake_server", "--port", str(port)]
        server = processes.start(Path(state_dir), "fakesnow", command, port)
        try:
            processes.wait_ready(server, lambda: not processes.port_is_free(port), timeout=30)
            yield port
        finally:
            processes.stop_all(Path(state_dir))


def connect(port: int, **options: Any) -> Any:
    return connect_local_snowflake(port, user="test", network_timeout=60, **options)


def snowpark(port: int, schema: str) -> Session:
    """Snowpark in a fresh DATABASE.<schema> holding the source and result tables of sql/."""
    with connect(port) as admin:
        cursor = admin.cursor()
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {DATABASE}.{schema}")
        for filename in ("table_ddl.sql", "conversion_tables.sql"):
            for spec in sql_source.tables(filename).values():
                columns = ", ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in spec.columns)
                cursor.execute(f"CREATE OR REPLACE TABLE {DATABASE}.{schema}.{spec.name} ({columns})")
    connection = connect(port, database=DATABASE, schema=schema)
    session = Session.builder.configs({"connection": connection}).create()
    # Callers close their sessions while the server still runs. Snowpark
    # would close them again at interpreter exit, against a stopped server, and
    # the connector retries that for minutes (seen: 4 min of a 4.5 min run).
    atexit.unregister(session._close_at_exit)
    return session


def tables(schema: str) -> Tables:
    qualify = sql_source.SchemaPath(DATABASE, schema).qualify
    return Tables(
        qualify("ECOMMERCE_EVENTS"), qualify("PRODUCTS"), qualify("SESSION_FUNNEL"), qualify("PRODUCT_CONVERSION")
    )


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_products(session: Session, schema: str, products: list[tuple[int, str, str, str]]) -> None:
    values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in products)
    session.sql(f"INSERT INTO {DATABASE}.{schema}.PRODUCTS VALUES {values}").collect()


def insert_events(session: Session, schema: str, events: list[Event]) -> None:
    """As the local Snowpipe writes them: one INSERT, RAW_EVENT the record as JSON."""
    rows = []
    for e in events:
        raw = json.dumps({"event_id": e.event_id, "event_type": e.event_type})
        values = [e.event_id, e.event_type, e.event_timestamp, e.customer_id, e.product_id, e.quantity,
                  e.session_id, raw, e.source_file, e.loaded_at]  # fmt: skip
        rows.append("(" + ", ".join(_literal(v) for v in values) + ")")
    session.sql(
        f"INSERT INTO {DATABASE}.{schema}.ECOMMERCE_EVENTS "
        "SELECT column1, column2, CAST(column3 AS TIMESTAMP_NTZ), column4, column5, column6, column7, "
        "PARSE_JSON(column8), column9, CAST(column10 AS TIMESTAMP_LTZ) FROM VALUES " + ", ".join(rows)
    ).collect()


def normalise(value: Any) -> Any:
    """Compare across engines: numbers to 4 decimals, timestamps naive."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 4)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def rows_of(session: Session, table: str, key: tuple[str, ...]) -> list[tuple]:
    found = session.table(table).collect()
    return sorted(
        (tuple(normalise(v) for v in row) for row in found),
        key=lambda r: tuple(str(r[i]) for i in range(len(key))),
    )
