"""The dashboard's pipeline-health charts, served by the real Superset over the deployed PIPE_LOAD_HISTORY.

Each chart is checked against what is really in the tables, not against the
view it reads: rows per minute against ECOMMERCE_EVENTS, files against the
files whose rows landed, freshness against the newest EVENT_TIMESTAMP. The
load charts count the file pipe only: rows the streaming pipe wrote
(SOURCE_FILE 'snowpipe-streaming', sql/snowflake_streaming_pipe.sql) are no file.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack.services import endpoints as local_endpoints
from local_stack.services.processes import wait_for
from tests.e2e.superset_stack import SupersetStack

pytestmark = pytest.mark.e2e
STREAMED = "snowpipe-streaming"


def _results(stack: SupersetStack, chart_name: str) -> list[dict[str, Any]]:
    chart_id = stack.outputs["chart_ids"].get(chart_name)
    assert chart_id, f"chart {chart_name!r} is not on the imported dashboard: {stack.outputs['chart_ids']}"
    response = stack.api().get(f"{stack.superset_url}/api/v1/chart/{chart_id}/data/", timeout=60)
    assert response.status_code == 200, f"{chart_name}: {response.status_code} {response.text[:500]}"
    result = response.json()["result"][0]
    assert not result.get("error"), f"{chart_name} query failed: {result['error']}"
    return result["data"]


def test_health_charts_show_the_loads(superset_stack: SupersetStack) -> None:
    endpoints = superset_stack.endpoints
    s3 = local_endpoints.aws_client(endpoints, "s3")
    key = f"{endpoints.events_prefix}health/bad.ndjson"
    s3.put_object(Bucket=endpoints.bucket, Key=key, Body=b'{"event_id": "h-1", "quantity": "x"}\n')
    with superset_stack.connect() as connection:
        cursor = connection.cursor()
        history = "SELECT COUNT(*) FROM PIPE_LOAD_HISTORY WHERE FILE_NAME = 'health/bad.ndjson'"
        wait_for(lambda: cursor.execute(history).fetchone()[0], 30, "the bad file in the load history", interval=0.2)
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT SOURCE_FILE) FROM ECOMMERCE_EVENTS WHERE SOURCE_FILE <> %s",
            (STREAMED,),
        )
        rows, files_with_rows = cursor.fetchone()
        (newest,) = cursor.execute("SELECT MAX(EVENT_TIMESTAMP) FROM ECOMMERCE_EVENTS").fetchone()
    # The charts' "last 60 minutes" ends at Superset's "now" truncated to the
    # second (seen in the chart's query): a file loaded within this second
    # would fall outside it.
    time.sleep(1.5)

    per_minute = _results(superset_stack, "Files Loaded vs Skipped per Minute")
    assert sum(r["files_loaded"] for r in per_minute) == files_with_rows, f"files loaded: {per_minute}"
    assert sum(r["files_skipped"] for r in per_minute) == 1, f"exactly the one bad file is skipped: {per_minute}"

    rows_per_minute = _results(superset_stack, "Rows Loaded per Minute")
    assert sum(r["rows_loaded"] for r in rows_per_minute) == rows, f"rows per minute must add up to {rows}"

    (freshness,) = _results(superset_stack, "Data Freshness (seconds since newest event)")
    expected = (datetime.now(UTC).replace(tzinfo=None) - newest).total_seconds()
    assert abs(freshness["seconds_since_newest_event"] - expected) <= 5, f"{freshness} vs {expected:.0f} s"
