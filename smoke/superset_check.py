"""Check 4: the dashboard's event-count chart, queried through Superset's chart-data API, sees the canary.

The chart's own saved query (GET /api/v1/chart/<id>: `query_context`) is posted
to POST /api/v1/chart/data with one extra filter, EVENT_ID = the canary's id,
and `force` to bypass Superset's cache: Superset itself runs the chart's query
against Snowflake, and the canary must count exactly once.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import requests

from smoke.target import SupersetAccess

# The dataset metric that counts every event (superset_assets/datasets/).
EVENTS_METRIC = "events"


class SupersetCheckError(RuntimeError):
    pass


def _session(access: SupersetAccess) -> requests.Session:
    session = requests.Session()
    response = session.post(
        f"{access.url}/api/v1/security/login",
        json={"username": access.username, "password": access.password, "provider": "db", "refresh": False},
        timeout=30,
    )
    if response.status_code != 200:
        raise SupersetCheckError(
            f"Superset login as {access.username!r} failed ({response.status_code}): check supersetUsername/"
            "supersetPassword"
        )
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def _get(session: requests.Session, url: str) -> Any:
    response = session.get(url, timeout=60)
    if response.status_code != 200:
        raise SupersetCheckError(f"GET {url}: {response.status_code} {response.text[:300]}")
    return response.json()["result"]


def events_chart(session: requests.Session, access: SupersetAccess) -> dict[str, Any]:
    """The dashboard's chart whose queries count EVENTS_METRIC."""
    slug = urlparse(access.dashboard_url).path.rstrip("/").rsplit("/", 1)[-1]
    for chart in _get(session, f"{access.url}/api/v1/dashboard/{slug}/charts"):
        form = chart.get("form_data") or {}
        if EVENTS_METRIC in (form.get("metrics") or []):
            return chart
    raise SupersetCheckError(f"no chart on dashboard {slug!r} counts the {EVENTS_METRIC!r} metric")


def canary_count(access: SupersetAccess, event_id: str) -> tuple[str, float]:
    """(chart name, how many events the chart's query counts for `event_id`)."""
    session = _session(access)
    chart = events_chart(session, access)
    chart_id = chart["id"]
    saved = _get(session, f"{access.url}/api/v1/chart/{chart_id}")
    if not saved.get("query_context"):
        raise SupersetCheckError(f"chart {chart['slice_name']!r} has no saved query_context")
    context = json.loads(saved["query_context"])
    datasource = str(chart["form_data"]["datasource"])  # "<id>__table"
    dataset_id, dataset_type = datasource.split("__", 1)
    context["datasource"] = {"id": int(dataset_id), "type": dataset_type}
    context["force"] = True
    context["queries"] = [q for q in context["queries"] if EVENTS_METRIC in (q.get("metrics") or [])]
    for query in context["queries"]:
        query["filters"] = [*query.get("filters", []), {"col": "EVENT_ID", "op": "==", "val": event_id}]
    response = session.post(f"{access.url}/api/v1/chart/data", json=context, timeout=120)
    if response.status_code != 200:
        raise SupersetCheckError(f"chart {chart['slice_name']!r} data: {response.status_code} {response.text[:300]}")
    total = 0.0
    for result in response.json()["result"]:
        if result.get("error"):
            raise SupersetCheckError(f"chart {chart['slice_name']!r} query failed: {result['error']}")
        total += sum(float(row.get(EVENTS_METRIC) or 0) for row in result["data"])
    return chart["slice_name"], total
