"""The local Snowpipe on real moto and fakesnow servers: what lands, and what the dashboards read of it."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import orjson
import pytest

from infra import sql_source
from local_stack import producer, shopping
from tests.e2e.conftest import ROOT, LocalEnv, Worker
from tests.e2e.snowpipe_fixture import (
    HISTORY,
    drained,
    put,
    rows_in,
    settled,
)

pytestmark = pytest.mark.e2e


def test_events_appear_in_table_and_view_with_exact_counts(env: LocalEnv, worker: Worker, db: Any) -> None:
    batches = [shopping.generate_events(2_000, seed=seed) for seed in (11, 12, 13)]
    paths = [
        put(env, "loads/a.ndjson.gz", producer.ndjson_gz(batches[0])),
        put(env, "loads/b.ndjson", producer.ndjson(batches[1])),
        # gzip without .gz: COMPRESSION = AUTO goes by the magic bytes
        put(env, "loads/c.json", producer.ndjson_gz(batches[2])),
    ]
    for path, batch in zip(paths, batches, strict=True):
        entry = settled(env, db, path)
        assert entry["status"] == "LOADED" and entry["rows"] == len(batch), f"{path}: {entry}"
    assert rows_in(db, "ECOMMERCE_EVENTS", "loads") == 6_000, "ECOMMERCE_EVENTS must hold every uploaded event"
    assert rows_in(db, "ENRICHED_EVENTS", "loads") == 6_000, "ENRICHED_EVENTS must show every loaded event"
    db.execute("SELECT COUNT(DISTINCT event_id) FROM ECOMMERCE_EVENTS WHERE source_file LIKE 'loads/%'")
    assert db.fetchone()[0] == 6_000, "event ids must not repeat"

    sample = batches[1][0]
    db.execute(
        "SELECT e.event_type, e.event_timestamp, e.customer_id, e.product_id, e.quantity, e.session_id, "
        "e.source_file, e.raw_event, v.product_name, v.category "
        "FROM ECOMMERCE_EVENTS AS e JOIN ENRICHED_EVENTS AS v ON v.event_id = e.event_id WHERE e.event_id = %s",
        (sample["event_id"],),
    )
    event_type, ts, customer, product, quantity, session, source, raw, product_name, category = db.fetchone()
    assert (event_type, customer, product, quantity, session) == (
        sample["event_type"],
        sample["customer_id"],
        sample["product_id"],
        sample["quantity"],
        sample["session_id"],
    ), "projected columns must carry the event's fields"
    assert ts.isoformat(timespec="milliseconds") == sample["event_timestamp"].rstrip("Z"), "timestamp cast"
    assert source == "loads/b.ndjson", "SOURCE_FILE is METADATA$FILENAME: the path relative to the stage"
    assert json.loads(raw) == sample, "RAW_EVENT keeps the whole record"
    assert product_name and category, "the view must join the product catalogue"


def _reference(name: str) -> dict[int, dict[str, str]]:
    with open(ROOT / "reference_data" / name, newline="", encoding="utf-8") as f:
        return {int(row[next(iter(row))]): row for row in csv.DictReader(f)}


def _expected_dashboards(events: list[dict[str, Any]]) -> dict[str, list[tuple]]:
    products, customers = _reference("products.csv"), _reference("customers.csv")
    revenue_by_category: dict[Any, Decimal] = defaultdict(Decimal)
    by_age: dict[Any, tuple[set, Decimal]] = defaultdict(lambda: (set(), Decimal(0)))
    units: dict[Any, int] = defaultdict(int)
    by_location: dict[Any, Decimal] = defaultdict(Decimal)
    for e in events:
        if e["event_type"] != "purchase":
            continue
        product = products.get(int(e["product_id"]))
        customer = customers.get(int(e["customer_id"]))
        price = Decimal(product["price"]) if product else None
        revenue = price * int(e["quantity"]) if price is not None else None
        category = product["category"] if product else None
        age_group = customer["age_group"] if customer else None
        location = customer["location"] if customer else None
        if revenue is not None:
            revenue_by_category[category] += revenue
            by_location[location] += revenue
        ids, total = by_age[age_group]
        ids.add(int(e["customer_id"]))
        by_age[age_group] = (ids, total + (revenue or 0))
        units[product["name"] if product else None] += int(e["quantity"])
    top = sorted(units.items(), key=lambda kv: (-kv[1], kv[0] or ""))[:10]
    return {
        "total_revenue_by_product_category": sorted(revenue_by_category.items(), key=lambda kv: -kv[1]),
        "customer_segmentation_by_age_group": sorted(
            ((age, len(ids), total) for age, (ids, total) in by_age.items()), key=lambda r: r[0] or "~"
        ),
        "top_products_by_sales_volume": top,
        "revenue_by_customer_location": sorted(by_location.items(), key=lambda kv: -kv[1]),
    }


def _normalise(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(Decimal(str(v)), 2) if isinstance(v, float | Decimal) else v for v in row) for row in rows]


def test_dashboard_queries_equal_python_over_the_uploaded_files(env: LocalEnv, worker: Worker, db: Any) -> None:
    for seed in (21, 22):
        path = put(env, f"dashboards/{seed}.ndjson.gz", producer.ndjson_gz(shopping.generate_events(3_000, seed=seed)))
        settled(env, db, path)
    drained(env)
    # Every file the pipe loaded so far, read back from S3: the view holds
    # exactly these events, whatever other tests uploaded before.
    db.execute(f"SELECT file_path FROM {HISTORY} WHERE status = 'LOADED'")
    events = []
    for (path,) in db.fetchall():
        key = path.removeprefix(f"s3://{env.bucket}/")
        body = env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read()
        raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        # utf-8-sig: a file written with a byte order mark loads too (test_snowpipe_skip_file), orjson refuses one.
        events += [orjson.loads(line) for line in raw.decode("utf-8-sig").splitlines() if line.strip()]
    assert any(e["event_type"] == "purchase" for e in events), "the test data must contain purchases"
    expected = _expected_dashboards(events)
    for name, query in sql_source.dashboard_queries().items():
        db.execute(query)
        actual = _normalise(db.fetchall())
        wanted = _normalise(expected[name])
        if name == "top_products_by_sales_volume":
            assert actual == wanted, f"{name}: fakesnow {actual} != python {wanted}"
        else:
            assert sorted(actual, key=str) == sorted(wanted, key=str), f"{name}: fakesnow {actual} != python {wanted}"
