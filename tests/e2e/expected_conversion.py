"""What the conversion charts must show, computed from raw ECOMMERCE_EVENTS rows.

Shared by the API test (test_transformations.py) and the browser test
(test_dashboard_browser.py). It shares no code with transformations/: the
expected numbers come from the table the pipe fills and
reference_data/products.csv, in plain Python.
"""

from __future__ import annotations

import csv
from typing import Any

from tests.e2e.superset_stack import ROOT, SupersetStack

STAGES = {"view": "Viewed", "add_to_cart": "Added to cart", "purchase": "Purchased"}


def product_categories() -> dict[int, str]:
    with open(ROOT / "reference_data" / "products.csv", newline="", encoding="utf-8") as handle:
        return {int(row["product_id"]): row["category"] for row in csv.DictReader(handle)}


def counted_events(stack: SupersetStack) -> list[dict[str, Any]]:
    """Every event id once (its first load), straight from the table the pipe fills."""
    with stack.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT EVENT_ID, EVENT_TYPE, PRODUCT_ID, SESSION_ID, LOADED_AT, SOURCE_FILE FROM ECOMMERCE_EVENTS"
        )
        rows = cursor.fetchall()
    first: dict[str, tuple] = {}
    for row in sorted(rows, key=lambda r: (r[4], r[5])):
        first.setdefault(row[0], row)
    return [{"type": r[1], "product": int(r[2]), "session": r[3]} for r in first.values()]


def expected_funnel(events: list[dict[str, Any]]) -> dict[str, int]:
    """Sessions through each stage and every stage before it (viewed; viewed and carted; all three)."""
    kinds: dict[str, set[str]] = {}
    for event in events:
        if event["session"] is not None:
            kinds.setdefault(event["session"], set()).add(event["type"])
    funnel, so_far = {}, set()
    for kind, stage in STAGES.items():
        so_far.add(kind)
        funnel[stage] = sum(so_far <= seen for seen in kinds.values())
    return funnel


def expected_rates(events: list[dict[str, Any]]) -> dict[str | None, float | None]:
    categories = product_categories()
    views: dict[str | None, int] = {}
    purchases: dict[str | None, int] = {}
    for event in events:
        category = categories.get(event["product"])
        views.setdefault(category, 0)
        purchases.setdefault(category, 0)
        views[category] += event["type"] == "view"
        purchases[category] += event["type"] == "purchase"
    return {c: (round(purchases[c] / views[c], 4) if views[c] else None) for c in views}
