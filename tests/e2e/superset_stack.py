"""The local stack WITH Superset (`make local-up`), plus known events: shared by the Superset e2e tests.

Built once per test session by the `superset_stack` fixture (tests/e2e/conftest.py)
and torn down at its end, every process stopped by its PID:

- `local_stack.stack.up`: moto, fakesnow, the real Superset on a free port,
  the Pulumi program deployed (its own post-deploy hook imports the bundle
  into Superset with the fakesnow connection), and the Snowpipe worker;
- a fixed, seeded set of events uploaded to the bucket and loaded by the
  pipeline itself;
- what the DEPLOY imported, read back from Superset's API: the dashboard
  behind the exported dashboard_url and its charts. Nothing is re-imported
  here: the tests see the deploy's own import.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from local_stack import producer
from local_stack import stack as lifecycle
from local_stack.emulators import superset_server
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes
from local_stack.services.state import Endpoints

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
    state_dir: Path
    _api: requests.Session | None = field(default=None, repr=False)

    @property
    def snowflake_port(self) -> int:
        return self.endpoints.snowflake.port

    def connect(self) -> Any:
        """A Snowflake connector session on the fakesnow server, in ECOMMERCE_POC.ANALYTICS."""
        return local_endpoints.connect_snowflake(self.endpoints, user="test")

    def api(self) -> requests.Session:
        """A Superset API session logged in as the local admin, once per stack (a login hashes the password)."""
        if self._api is not None:
            return self._api
        session = requests.Session()
        response = session.post(
            f"{self.superset_url}/api/v1/security/login",
            json={"username": self.username, "password": self.password, "provider": "db"},
            timeout=30,
        )
        assert response.status_code == 200, f"Superset login failed: {response.status_code} {response.text[:200]}"
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self._api = session
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


def import_props(stack: SupersetStack) -> dict[str, Any]:
    """The import's props as the local deploy gave them: its throwaway key, the emulator's endpoint."""
    from infra.superset_bundle import read_asset_files

    deployed_config = json.loads((stack.state_dir / "deploy-config.json").read_text())
    creds = superset_server.credentials()
    return {
        "superset_url": stack.superset_url,
        "superset_username": creds.username,
        "superset_password": creds.password,
        "connection": local_connection(stack.snowflake_port),
        "private_key": deployed_config["ecommerce-analytics:dashboardUserPrivateKey"],
        "asset_files": read_asset_files(),
    }


def build(state_dir: Path) -> SupersetStack:
    """Brings the stack up in state_dir and loads the seed events; on failure stops what it started."""
    settings = lifecycle.LocalStackSettings(state_dir=state_dir, superset=True, superset_port=processes.free_port())
    endpoints = lifecycle.up(settings, progress=lambda message: print(message))
    try:
        deployed = json.loads((state_dir / "deploy.json").read_text())
        assert any(r["type"] == "pulumi-python:dynamic/superset:AssetsImport" for r in deployed["resources"]), (
            "the local deploy must run the program's own Superset import"
        )
        _load_seed_events(endpoints)
        creds = superset_server.credentials()
        url = endpoints.superset_url
        stack = SupersetStack(endpoints, url, creds.username, creds.password, {}, state_dir)
        stack.outputs.update(_deployed_dashboard(stack, deployed["exports"]["dashboard_url"]))
    except BaseException:
        lifecycle.down(state_dir)
        raise
    return stack


def _deployed_dashboard(stack: SupersetStack, dashboard_url: str) -> dict[str, Any]:
    """The dashboard the deploy imported, as Superset serves it: found by the slug in the exported URL."""
    path = urlparse(dashboard_url).path
    assert path.startswith("/superset/dashboard/") and path.endswith("/"), f"unexpected dashboard_url {dashboard_url}"
    slug = path.removeprefix("/superset/dashboard/").strip("/")
    api = stack.api()
    response = api.get(f"{stack.superset_url}/api/v1/dashboard/{slug}", timeout=30)
    assert response.status_code == 200, f"the deploy's dashboard {slug!r} is not in Superset: {response.text[:300]}"
    dashboard_id = response.json()["result"]["id"]
    charts = api.get(f"{stack.superset_url}/api/v1/dashboard/{dashboard_id}/charts", timeout=30)
    assert charts.status_code == 200, charts.text[:300]
    return {
        "dashboard_url": dashboard_url,
        "dashboard_id": dashboard_id,
        "chart_ids": {chart["slice_name"]: chart["id"] for chart in charts.json()["result"]},
    }


def _load_seed_events(endpoints: Endpoints) -> None:
    """Through the pipeline itself: one NDJSON.gz file into the bucket, then wait for the worker and the task."""
    events = seed_events(_csv_rows("products.csv"), _csv_rows("customers.csv"))
    s3 = local_endpoints.aws_client(endpoints, "s3")
    s3.put_object(Bucket=endpoints.bucket, Key=f"{endpoints.events_prefix}seed/events.ndjson.gz",
                  Body=producer.ndjson_gz(events))  # fmt: skip
    loaded = f"SELECT COUNT(*) FROM {DATABASE}.{SCHEMA}.ECOMMERCE_EVENTS"
    # One file is one load, which one task run consumes in one transaction
    # (local_stack/tasks/stream.py): the first SESSION_FUNNEL row means
    # the transformation has taken in every seed event. Without this wait the
    # dashboard can be opened between the pipe's load and the task's run.
    transformed = f"SELECT COUNT(*) FROM {DATABASE}.{SCHEMA}.SESSION_FUNNEL"
    with local_endpoints.connect_snowflake(endpoints) as connection:
        count = lambda sql: connection.cursor().execute(sql).fetchone()[0]  # noqa: E731
        if not processes.poll_until(lambda: count(loaded) == len(events), timeout=60):
            raise TimeoutError(f"the local Snowpipe did not load the {len(events)} seed events within 60 s")
        if not processes.poll_until(lambda: count(transformed) > 0, timeout=60):
            raise TimeoutError("the local task runner did not fill SESSION_FUNNEL from the seed events within 60 s")
