"""A fakesnow server + the real Superset, with the dashboards imported: shared by the Superset e2e tests.

The stack is built once per test session (whichever test module asks first)
and torn down at the end of the session, every process stopped by its PID:

- fakesnow with local_stack.fakesnow_compat on a free port (in-memory DB);
- ECOMMERCE_POC.ANALYTICS with sql/table_ddl.sql, sql/enriched_events.sql,
  the reference data and a fixed, seeded set of events;
- Superset (local_stack.superset_server) on a free port;
- the bundle imported through the Pulumi provider's create(), as `pulumi up`
  would, with the local-emulator connection.
"""

from __future__ import annotations

import csv
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import snowflake.connector
import sqlglot

from infra import sql_source
from infra.superset_import import SupersetImportProvider
from local_stack import superset_server

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "ECOMMERCE_POC"
SCHEMA = "ANALYTICS"
EVENT_COUNT = 600
SEED = 20261127


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SupersetStack:
    snowflake_port: int
    superset_url: str
    username: str
    password: str
    outputs: dict[str, Any]

    def connect(self) -> Any:
        """A Snowflake connector session on the fakesnow server, in ECOMMERCE_POC.ANALYTICS."""
        return snowflake.connector.connect(
            host="127.0.0.1",
            port=self.snowflake_port,
            protocol="http",
            user="test",
            password="test",
            account="local",
            database=DATABASE,
            schema=SCHEMA,
            session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        )

    def api(self) -> requests.Session:
        """A Superset API session logged in as the local admin."""
        session = requests.Session()
        response = session.post(
            f"{self.superset_url}/api/v1/security/login",
            json={"username": self.username, "password": self.password, "provider": "db"},
            timeout=30,
        )
        assert response.status_code == 200, f"Superset login failed: {response.status_code} {response.text[:200]}"
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session


def _fakesnow_command(port: int) -> list[str]:
    # The tiny runner (compat shims + fakesnow.server) keeps these tests
    # independent of the local stack's launcher, whose options still change.
    return [sys.executable, str(Path(__file__).with_name("fakesnow_runner.py")), str(port)]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_snowflake(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fakesnow exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"fakesnow did not listen on {port} within 60 s: {log.read_text()[-2000:]}")


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(ROOT / "reference_data" / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return str(value)
    return sqlglot.exp.Literal.string(str(value)).sql("snowflake")


def _values(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)


def seed_events(products: list[dict[str, str]], customers: list[dict[str, str]]) -> list[tuple[Any, ...]]:
    """A fixed, seeded mix of views, cart adds and purchases over the last 50 minutes."""
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for number in range(EVENT_COUNT):
        product = rng.choice(products)
        customer = rng.choice(customers)
        event_type = rng.choices(["view", "add_to_cart", "purchase"], weights=[6, 2, 2])[0]
        at = now - timedelta(seconds=rng.randint(60, 50 * 60))
        event = {
            "event_id": f"seed-{number:05d}",
            "event_type": event_type,
            "event_timestamp": at.isoformat(sep=" ", timespec="seconds"),
            "customer_id": int(customer["customer_id"]),
            "product_id": int(product["product_id"]),
            "quantity": rng.randint(1, 4),
            "session_id": f"session-{rng.randint(1, 120)}",
        }
        rows.append((*event.values(), json.dumps(event), "seed/events.json", event["event_timestamp"]))
    return rows


def create_schema_and_data(connection: Any) -> None:
    """Tables and view from sql/, reference data from reference_data/, seeded events."""
    cursor = connection.cursor()
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {DATABASE}.{SCHEMA}")
    cursor.execute(f"USE SCHEMA {DATABASE}.{SCHEMA}")
    for statement in sqlglot.parse((ROOT / "sql" / "table_ddl.sql").read_text(), read="snowflake"):
        cursor.execute(statement.sql("snowflake"))
    namespace = sql_source.Namespace(DATABASE, SCHEMA)
    view_name, view_select = sql_source.view_statement(namespace)
    cursor.execute(f"CREATE OR REPLACE VIEW {namespace.qualify(view_name)} AS {view_select}")
    products, customers = _csv_rows("products.csv"), _csv_rows("customers.csv")
    product_rows = [(int(p["product_id"]), p["name"], p["category"], float(p["price"])) for p in products]
    customer_rows = [(int(c["customer_id"]), c["name"], c["age_group"], c["location"]) for c in customers]
    cursor.execute(f"INSERT INTO PRODUCTS (PRODUCT_ID, NAME, CATEGORY, PRICE) VALUES {_values(product_rows)}")
    cursor.execute(f"INSERT INTO CUSTOMERS (CUSTOMER_ID, NAME, AGE_GROUP, LOCATION) VALUES {_values(customer_rows)}")
    # One multi-row INSERT: the server inserts executemany batches row by row.
    cursor.execute(
        "INSERT INTO ECOMMERCE_EVENTS SELECT column1, column2, column3::TIMESTAMP_NTZ, column4, column5, "
        "column6, column7, PARSE_JSON(column8), column9, column10::TIMESTAMP_LTZ "
        f"FROM VALUES {_values(seed_events(products, customers))}"
    )


def local_connection(port: int) -> dict[str, Any]:
    """The provider's `connection` input for a local fakesnow (account/user/role are ignored there)."""
    return {
        "account": "LOCAL-FAKESNOW",
        "user": "DASHBOARD",
        "role": "DASHBOARD_READER",
        "warehouse": "ECOMMERCE_POC_WH",
        "database": DATABASE,
        "schema": SCHEMA,
        "host": "127.0.0.1",
        "port": port,
        "protocol": "http",
    }


def import_props(stack_url: str, creds: superset_server.LocalCredentials, snowflake_port: int) -> dict[str, Any]:
    from infra.superset_import import read_asset_files

    return {
        "superset_url": stack_url,
        "superset_username": creds.username,
        "superset_password": creds.password,
        "connection": local_connection(snowflake_port),
        "database_password": "local-fakesnow-password",
        "asset_files": read_asset_files(),
    }


@dataclass
class _Built:
    stack: SupersetStack
    processes: list[subprocess.Popen]
    superset_pid: int


_BUILT: list[_Built] = []


def _build(tmp_dir: Path) -> _Built:
    snowflake_port, superset_port = free_port(), free_port()
    log = tmp_dir / "fakesnow.log"
    with log.open("wb") as handle:
        fakesnow = subprocess.Popen(
            _fakesnow_command(snowflake_port),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        _wait_for_snowflake(snowflake_port, fakesnow, log)
        with snowflake.connector.connect(
            host="127.0.0.1", port=snowflake_port, protocol="http", user="t", password="t", account="local"
        ) as connection:
            create_schema_and_data(connection)
        superset_pid = superset_server.start(superset_port)
    except BaseException:
        _stop(fakesnow)
        raise
    creds = superset_server.credentials()
    url = f"http://127.0.0.1:{superset_port}"
    try:
        started = time.monotonic()
        outputs = SupersetImportProvider(retries=3, backoff=0.2).create(import_props(url, creds, snowflake_port)).outs
        print(f"assets import via provider.create(): {time.monotonic() - started:.1f} s")
    except BaseException:
        superset_server.stop_pid(superset_pid)
        _stop(fakesnow)
        raise
    stack = SupersetStack(snowflake_port, url, creds.username, creds.password, outputs)
    return _Built(stack, [fakesnow], superset_pid)


@pytest.fixture(scope="session")
def superset_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupersetStack]:
    # Imported by several test modules: the module-level cache keeps it to one
    # stack per session even though each module registers its own fixture.
    if not _BUILT:
        built = _build(tmp_path_factory.mktemp("superset-stack"))
        _BUILT.append(built)

        def teardown() -> None:
            superset_server.stop_pid(built.superset_pid)
            for process in built.processes:
                _stop(process)
            _BUILT.clear()

        request.session.config.add_cleanup(teardown)
    yield _BUILT[0].stack
