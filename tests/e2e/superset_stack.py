"""The local stack WITH Superset (`make local-up`), plus known events: shared by the Superset e2e tests.

The stack is built once per test session (whichever test module asks first)
and torn down at the end of the session, every process stopped by its PID:

- `local_stack.stack.up`: moto, fakesnow, the real Superset on a free port,
  the Pulumi program deployed (its own post-deploy hook imports the bundle
  into Superset with the fakesnow connection), and the Snowpipe worker;
- a fixed, seeded set of events uploaded to the bucket and loaded by the
  pipeline itself;
- the import's outputs (chart ids, dashboard id) from one more overwrite
  import through the provider, with the same inputs the deploy used.
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.superset_import import SupersetImportProvider
from local_stack import endpoints as local_endpoints
from local_stack import processes, producer, superset_server
from local_stack import stack as lifecycle
from local_stack.state import Endpoints

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "ECOMMERCE_POC"
SCHEMA = "ANALYTICS"
EVENT_COUNT = 600
SEED = 20261127


@dataclass
class SupersetStack:
    endpoints: Endpoints
    superset_url: str
    username: str
    password: str
    outputs: dict[str, Any]

    @property
    def snowflake_port(self) -> int:
        return self.endpoints.snowflake.port

    def connect(self) -> Any:
        """A Snowflake connector session on the fakesnow server, in ECOMMERCE_POC.ANALYTICS."""
        return local_endpoints.connect_snowflake(self.endpoints, user="test")

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


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(ROOT / "reference_data" / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seed_events(products: list[dict[str, str]], customers: list[dict[str, str]]) -> list[dict[str, Any]]:
    """A fixed, seeded mix of views, cart adds and purchases over the last 50 minutes (UTC)."""
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
            "event_timestamp": at.isoformat(timespec="seconds") + "Z",
            "customer_id": int(customer["customer_id"]),
            "product_id": int(product["product_id"]),
            "quantity": rng.randint(1, 4),
            "session_id": f"session-{rng.randint(1, 120)}",
        }
        rows.append(event)
    return rows


def local_connection(port: int) -> dict[str, Any]:
    """The provider's `connection` input for a local fakesnow (account/user/role are ignored there)."""
    return {
        "account": "LOCAL-FAKESNOW",
        "user": "ECOMMERCE_POC_DASHBOARD",
        "role": "ECOMMERCE_POC_DASHBOARD_READER",
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
        "database_password": "local-emulator",
        "asset_files": read_asset_files(),
    }


@dataclass
class _Built:
    stack: SupersetStack
    state_dir: Path


_BUILT: list[_Built] = []


def _build(tmp_dir: Path) -> _Built:
    settings = lifecycle.LocalStackSettings(state_dir=tmp_dir, superset=True, superset_port=processes.free_port())
    endpoints = lifecycle.up(settings, progress=lambda message: print(message))
    try:
        deployed = json.loads((tmp_dir / "deploy.json").read_text())
        assert any(r["type"] == "pulumi-python:dynamic/superset:AssetsImport" for r in deployed["resources"]), (
            "the local deploy must run the program's own Superset import"
        )
        snowflake_port = endpoints.snowflake.port
        _load_seed_events(endpoints)
        creds = superset_server.credentials()
        url = endpoints.superset_url
        outputs = SupersetImportProvider(retries=3, backoff=0.2).create(import_props(url, creds, snowflake_port)).outs
        assert outputs["dashboard_url"] == deployed["exports"]["dashboard_url"]
    except BaseException:
        lifecycle.down(tmp_dir)
        raise
    return _Built(SupersetStack(endpoints, url, creds.username, creds.password, outputs), tmp_dir)


def _load_seed_events(endpoints: Endpoints) -> None:
    """Through the pipeline itself: one NDJSON.gz file into the bucket, then wait for the worker."""
    events = seed_events(_csv_rows("products.csv"), _csv_rows("customers.csv"))
    s3 = local_endpoints.aws_client(endpoints, "s3")
    s3.put_object(Bucket=endpoints.bucket, Key=f"{endpoints.events_prefix}seed/events.ndjson.gz",
                  Body=producer.ndjson_gz(events))  # fmt: skip
    deadline = time.monotonic() + 60
    with local_endpoints.connect_snowflake(endpoints) as connection:
        while time.monotonic() < deadline:
            (count,) = (
                connection.cursor().execute(f"SELECT COUNT(*) FROM {DATABASE}.{SCHEMA}.ECOMMERCE_EVENTS").fetchone()
            )
            if count == len(events):
                return
            time.sleep(0.1)
    raise TimeoutError(f"the local Snowpipe did not load the {len(events)} seed events within 60 s")


@pytest.fixture(scope="session")
def superset_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupersetStack]:
    # Imported by several test modules: the module-level cache keeps it to one
    # stack per session even though each module registers its own fixture.
    if not _BUILT:
        built = _build(tmp_path_factory.mktemp("superset-stack"))
        _BUILT.append(built)

        def teardown() -> None:
            lifecycle.down(built.state_dir)
            _BUILT.clear()

        request.session.config.add_cleanup(teardown)
    yield _BUILT[0].stack
