"""The event producer (local_stack/producer.py): believable shopping funnels, the same stream for the same seed."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from local_stack.producer import ndjson_gz, object_key
from local_stack.shopping import generate_events

ROOT = Path(__file__).resolve().parent.parent
START = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
EVENT_TYPES = {"view", "add_to_cart", "remove_from_cart", "purchase"}


def _ids(name: str, column: str) -> set[int]:
    with open(ROOT / "reference_data" / name, newline="", encoding="utf-8") as handle:
        return {int(row[column]) for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return generate_events(20_000, seed=42, start=START)


def test_the_same_seed_gives_the_same_events_and_another_seed_others():
    first = generate_events(300, seed=7, start=START)
    assert first == generate_events(300, seed=7, start=START), "seed 7 must give the same stream every time"
    assert first != generate_events(300, seed=8, start=START), "another seed must give another stream"
    assert len({e["event_id"] for e in first}) == 300, "event ids are unique"


def test_every_event_follows_the_raw_event_contract(events):
    customers, products = _ids("customers.csv", "customer_id"), _ids("products.csv", "product_id")
    for event in events:
        assert set(event) == {
            "event_id", "event_type", "event_timestamp", "customer_id", "product_id", "quantity", "session_id",
        }, event  # fmt: skip
        assert event["event_type"] in EVENT_TYPES
        assert event["customer_id"] in customers and event["product_id"] in products, "every event must join"
        assert isinstance(event["quantity"], int) and event["quantity"] >= 1
        stamp = dt.datetime.strptime(event["event_timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        assert stamp > START


def test_each_session_walks_the_funnel_view_cart_purchase(events):
    """Checked per session against an independent replay of the cart."""
    sessions: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        sessions[event["session_id"]].append(event)
    for session_id, walk in sessions.items():
        assert len({e["customer_id"] for e in walk}) == 1, f"session {session_id} mixes customers"
        assert [e["event_timestamp"] for e in walk] == sorted(e["event_timestamp"] for e in walk)
        viewed: set[int] = set()
        cart: Counter[int] = Counter()
        purchased = False
        for event in walk:
            product, kind = event["product_id"], event["event_type"]
            assert not purchased or kind == "purchase", f"session {session_id}: {kind} after the checkout"
            if kind == "view":
                viewed.add(product)
            elif kind == "add_to_cart":
                assert product in viewed, f"session {session_id}: product {product} added without a view"
                cart[product] += event["quantity"]
            elif kind == "remove_from_cart":
                assert cart[product] == event["quantity"], f"session {session_id}: removes what is not in the cart"
                del cart[product]
            else:
                purchased = True
                assert cart.pop(product, None) == event["quantity"], (
                    f"session {session_id}: purchase of product {product} that is not in the cart in that quantity"
                )


def test_the_funnel_narrows(events):
    counts = Counter(e["event_type"] for e in events)
    assert counts["view"] > counts["add_to_cart"] > counts["purchase"] > 0, counts
    assert 0 < counts["remove_from_cart"] < counts["add_to_cart"], counts
    assert counts["purchase"] / counts["view"] < 0.25, f"purchases per view should be a few %: {counts}"


def test_files_are_gzipped_ndjson_under_a_date_partitioned_key():
    sample = generate_events(3, seed=1, start=START)
    assert [json.loads(line) for line in gzip.decompress(ndjson_gz(sample)).splitlines()] == sample
    key = object_key("events/", dt.datetime(2026, 11, 30, 9, 5, 7, tzinfo=dt.UTC), 12)
    assert key.startswith("events/dt=2026-11-30/hour=09/events-20261130T090507-000012-")
    assert key.endswith(".ndjson.gz")
