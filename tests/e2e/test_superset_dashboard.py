"""The deployed dashboard's charts, served by the real Superset over fakesnow, equal sql/dashboard_queries.sql.

The chart and dashboard ids are those of the deploy's own import (see
tests/e2e/superset_stack.py); the re-import tests run last.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from infra import sql_source
from infra.superset_import import SupersetImportProvider
from local_stack import producer
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes
from tests.e2e.superset_stack import SupersetStack, import_props

pytestmark = pytest.mark.e2e

# chart name -> (query in sql/dashboard_queries.sql, chart column -> query column)
SEED_CHARTS = {
    "Total Revenue by Product Category": (
        "total_revenue_by_product_category",
        {"CATEGORY": "CATEGORY", "revenue": "REVENUE"},
    ),
    "Customer Segmentation by Age Group": (
        "customer_segmentation_by_age_group",
        {"AGE_GROUP": "AGE_GROUP", "purchasing_customers": "PURCHASING_CUSTOMERS", "revenue": "REVENUE"},
    ),
    "Top Products by Sales Volume": (
        "top_products_by_sales_volume",
        {"PRODUCT_NAME": "PRODUCT_NAME", "units_sold": "UNITS_SOLD"},
    ),
    "Revenue by Customer Location": (
        "revenue_by_customer_location",
        {"LOCATION": "LOCATION", "revenue": "REVENUE"},
    ),
}


def _normalise(value: Any) -> Any:
    # fakesnow returns SUM over NUMBER as float, Snowflake as Decimal: compare
    # money to the cent.
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        return round(float(value), 2)
    return value


def _query_rows(stack: SupersetStack, query_name: str) -> list[dict[str, Any]]:
    with stack.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(sql_source.dashboard_queries()[query_name])
        names = [d[0].upper() for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _chart_results(stack: SupersetStack, chart_id: int) -> list[dict[str, Any]]:
    response = stack.api().get(f"{stack.superset_url}/api/v1/chart/{chart_id}/data/", timeout=60)
    assert response.status_code == 200, f"chart {chart_id} data: {response.status_code} {response.text[:500]}"
    results = response.json()["result"]
    for result in results:
        assert not result.get("error"), f"chart {chart_id} query failed: {result['error']}"
    return results


def _chart_rows(stack: SupersetStack, chart_id: int) -> list[dict[str, Any]]:
    return _chart_results(stack, chart_id)[0]["data"]


@pytest.mark.parametrize("chart_name", list(SEED_CHARTS))
def test_chart_matches_dashboard_query(superset_stack: SupersetStack, chart_name: str) -> None:
    query_name, columns = SEED_CHARTS[chart_name]
    chart_id = superset_stack.outputs["chart_ids"].get(chart_name)
    assert chart_id, f"chart {chart_name!r} is not on the imported dashboard: {superset_stack.outputs['chart_ids']}"

    expected = [{c: _normalise(row[q]) for c, q in columns.items()} for row in _query_rows(superset_stack, query_name)]
    actual = [{c: _normalise(row.get(c)) for c in columns} for row in _chart_rows(superset_stack, chart_id)]

    assert expected, f"sql query {query_name} returned no rows: the seed data has no purchases?"
    assert actual == expected, (
        f"chart {chart_name!r} (id {chart_id}) differs from sql/dashboard_queries.sql {query_name}:\n"
        f"chart: {actual}\nsql:   {expected}"
    )


def test_live_chart_counts_every_recent_event(superset_stack: SupersetStack) -> None:
    chart_id = superset_stack.outputs["chart_ids"]["Live Events and Revenue per Minute"]
    events_per_minute, revenue_per_minute = (r["data"] for r in _chart_results(superset_stack, chart_id))
    with superset_stack.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT COUNT(*), SUM(CASE WHEN EVENT_TYPE = 'purchase' THEN PRICE * QUANTITY END) FROM ENRICHED_EVENTS"
        )
        events, revenue = cursor.fetchone()
    # All seeded events are 1-50 minutes old: inside the chart's 60-minute window.
    charted_events = sum(r["events"] for r in events_per_minute)
    assert charted_events == events, f"live chart counts {charted_events} events, the view holds {events}"
    charted_revenue = sum(r["revenue"] for r in revenue_per_minute if r["revenue"] is not None)
    assert math.isclose(charted_revenue, float(revenue), abs_tol=0.01), f"{charted_revenue} != {revenue}"
    assert len(events_per_minute) > 10, f"expected a point per minute over ~50 minutes, got {len(events_per_minute)}"


def test_dashboard_refreshes_itself(superset_stack: SupersetStack) -> None:
    response = superset_stack.api().get(
        f"{superset_stack.superset_url}/api/v1/dashboard/{superset_stack.outputs['dashboard_id']}", timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    metadata = json.loads(response.json()["result"]["json_metadata"])
    assert 0 < metadata.get("refresh_frequency", 0) <= 30, f"dashboard refresh_frequency: {metadata}"
    assert superset_stack.outputs["dashboard_url"].endswith("/superset/dashboard/ecommerce-live/")


def test_dashboard_moves_as_events_stream_in(superset_stack: SupersetStack) -> None:
    """New purchases put in S3 show up in the dashboard's numbers, through the whole pipeline."""
    chart_id = superset_stack.outputs["chart_ids"]["Total Revenue"]
    before = float(_chart_rows(superset_stack, chart_id)[0]["revenue"])
    with superset_stack.connect() as connection:
        (price,) = connection.cursor().execute("SELECT PRICE FROM PRODUCTS WHERE PRODUCT_ID = 1001").fetchone()
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    purchases = [
        {"event_id": f"moving-{n}", "event_type": "purchase", "event_timestamp": now, "customer_id": 7,
         "product_id": 1001, "quantity": 2}
        for n in range(3)
    ]  # fmt: skip
    endpoints = superset_stack.endpoints
    local_endpoints.aws_client(endpoints, "s3").put_object(
        Bucket=endpoints.bucket,
        Key=f"{endpoints.events_prefix}moving/purchases.ndjson",
        Body=producer.ndjson(purchases),
    )
    expected = before + 3 * 2 * float(price)
    readings: list[float] = []

    def moved() -> bool:
        readings.append(float(_chart_rows(superset_stack, chart_id)[0]["revenue"]))
        return math.isclose(readings[-1], expected, abs_tol=0.01)

    processes.poll_until(moved, timeout=30, interval=0.5)
    after = readings[-1]
    assert math.isclose(after, expected, abs_tol=0.01), (
        f"Total Revenue went from {before} to {after}; three purchases of 2 x {price} should make it {expected}"
    )


# Re-imports last: every test above sees the deploy's own import.


def test_reimport_is_idempotent(superset_stack: SupersetStack) -> None:
    """An overwrite import with the deploy's inputs keeps the deploy's dashboard and chart ids, then diffs clean.

    Runs after the tests above: they read what the deploy itself imported.
    """
    provider = SupersetImportProvider(retries=2, backoff=0.1)
    props = import_props(superset_stack)
    again = provider.create(props).outs
    assert again["dashboard_url"] == superset_stack.outputs["dashboard_url"]
    assert again["dashboard_id"] == superset_stack.outputs["dashboard_id"], "overwrite import must keep the dashboard"
    assert again["chart_ids"] == superset_stack.outputs["chart_ids"], "overwrite import must keep the chart ids"
    assert not provider.diff("id", again, props).changes, "unchanged inputs must not re-import"


def test_keypair_connection_is_accepted_by_superset(superset_stack: SupersetStack) -> None:
    """An encrypted key with its passphrase: both travel in encrypted_extra_secrets and Superset's driver uses them.

    fakesnow ignores authentication, so this proves the import and Superset's
    key handling (PEM -> DER connect_arg), not Snowflake's key check.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    passphrase = "e2e-passphrase"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    ).decode()
    provider = SupersetImportProvider(retries=2, backoff=0.1)
    deployed_props = import_props(superset_stack)
    keypair_props = {**deployed_props, "private_key": pem, "private_key_passphrase": passphrase}
    try:
        outs = provider.update("id", superset_stack.outputs, keypair_props).outs
        assert pem not in json.dumps(outs) and passphrase not in json.dumps(outs), "key material in the outputs"
        rows = _chart_rows(superset_stack, outs["chart_ids"]["Total Revenue"])
        assert rows and rows[0]["revenue"], f"Total Revenue over the key-pair connection returned {rows}"
    finally:
        # Back to the deploy's own connection, which the other tests were written against.
        provider.update("id", superset_stack.outputs, deployed_props)
