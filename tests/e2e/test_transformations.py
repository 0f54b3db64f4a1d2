"""End to end: events put in S3 -> local Snowpipe -> task runner (Snowpark) -> result tables -> Superset charts.

The expected numbers are computed here in Python from the raw rows of
ECOMMERCE_EVENTS and reference_data/products.csv, sharing no code with
transformations/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_stack import producer
from local_stack.services import endpoints as local_endpoints
from local_stack.services.processes import wait_for
from tests.e2e import expected_conversion as expected
from tests.e2e.superset_stack import SupersetStack

pytestmark = pytest.mark.e2e


def _chart_rows(stack: SupersetStack, chart_name: str) -> list[dict[str, Any]]:
    chart_id = stack.outputs["chart_ids"][chart_name]
    response = stack.api().get(f"{stack.superset_url}/api/v1/chart/{chart_id}/data/?force=true", timeout=60)
    assert response.status_code == 200, f"{chart_name} data: {response.status_code} {response.text[:500]}"
    (result,) = response.json()["result"]
    assert not result.get("error"), f"{chart_name} query failed: {result['error']}"
    return result["data"]


def _charted_funnel(stack: SupersetStack) -> dict[str, int]:
    return {row["STAGE"]: int(row["sessions"]) for row in _chart_rows(stack, "Conversion Funnel")}


def _charted_rates(stack: SupersetStack) -> dict[str | None, float | None]:
    return {
        row["CATEGORY"]: None if row["view_to_purchase_rate"] is None else round(float(row["view_to_purchase_rate"]), 4)
        for row in _chart_rows(stack, "Conversion Rate by Category")
    }


def _converges(stack: SupersetStack, timeout: float = 90) -> tuple[dict, dict]:
    """Wait until both charts show what the raw events say (the runner runs every few seconds)."""
    last: dict[str, Any] = {}

    def matches() -> bool:
        events = expected.counted_events(stack)
        last.update(
            funnel=(_charted_funnel(stack), expected.expected_funnel(events)),
            rates=(_charted_rates(stack), expected.expected_rates(events)),
        )
        return last["funnel"][0] == last["funnel"][1] and last["rates"][0] == last["rates"][1]

    try:
        wait_for(matches, timeout, "the conversion charts matching the loaded events", interval=1)
    except TimeoutError as err:
        raise AssertionError(f"charts vs events (charted, expected): {last}") from err
    return last["funnel"][0], last["rates"][0]


def test_conversion_charts_show_the_streamed_events(superset_stack: SupersetStack) -> None:
    funnel, rates = _converges(superset_stack)
    assert funnel["Viewed"] > 0 and funnel["Purchased"] > 0, f"seed events make a non-empty funnel: {funnel}"
    assert len(rates) >= 5, f"the seed events cover most categories: {rates}"


def test_late_and_duplicate_events_update_the_charts_exactly(superset_stack: SupersetStack) -> None:
    """A new session's funnel, a late view into an old session, and an event sent twice, through S3."""
    funnel_before, _ = _converges(superset_stack)
    endpoints = superset_stack.endpoints
    now = datetime.now(UTC)
    stamp = lambda minutes: (now - timedelta(minutes=minutes)).isoformat(timespec="seconds").replace("+00:00", "Z")  # noqa: E731
    new_session = [
        {"event_id": f"e2e-funnel-{n}", "event_type": kind, "event_timestamp": stamp(1), "customer_id": 7,
         "product_id": 1001, "quantity": 1, "session_id": "e2e-new-session"}
        for n, kind in enumerate(("view", "add_to_cart", "purchase"))
    ]  # fmt: skip
    late = {"event_id": "e2e-late-view", "event_type": "view", "event_timestamp": stamp(600), "customer_id": 7,
            "product_id": 1002, "quantity": 1, "session_id": "e2e-new-session"}  # fmt: skip
    s3 = local_endpoints.aws_client(endpoints, "s3")
    prefix = endpoints.events_prefix
    s3.put_object(Bucket=endpoints.bucket, Key=f"{prefix}e2e/new-session.ndjson", Body=producer.ndjson(new_session))
    # The late view and a second copy of the purchase (a producer's retry), in another file.
    s3.put_object(Bucket=endpoints.bucket, Key=f"{prefix}e2e/late-and-retry.ndjson",
                  Body=producer.ndjson([late, new_session[2]]))  # fmt: skip

    def loaded() -> bool:
        with superset_stack.connect() as connection:
            sql = "SELECT COUNT(*) FROM ECOMMERCE_EVENTS WHERE EVENT_ID LIKE 'e2e-%'"
            return connection.cursor().execute(sql).fetchone()[0] == 5

    wait_for(loaded, 60, "the local Snowpipe loading both files", interval=0.5)
    funnel_after, _ = _converges(superset_stack)
    assert funnel_after["Purchased"] >= funnel_before["Purchased"] + 1
    with superset_stack.connect() as connection:
        row = (
            connection.cursor()
            .execute(
                "SELECT EVENTS, UNITS_PURCHASED, VIEWED, PURCHASED FROM SESSION_FUNNEL"
                " WHERE SESSION_ID = 'e2e-new-session'"
            )
            .fetchone()
        )
    assert row is not None and tuple(row) == (4, 1, True, True), f"e2e-new-session funnel row: {row}"
