"""The canary: one `view` event (revenue untouched) with unique ids, for a known product and customer."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference_data"
# Under the events prefix, so the stage, the IAM policy and the notification all cover it.
CANARY_FOLDER = "smoke"


@dataclass(frozen=True)
class Canary:
    event_id: str
    key: str
    record: dict

    @property
    def body(self) -> bytes:
        return (json.dumps(self.record) + "\n").encode()


def _first_id(file_name: str, column: str) -> int:
    with (REFERENCE_DIR / file_name).open(encoding="utf-8", newline="") as handle:
        return int(next(csv.DictReader(handle))[column])


def make_canary(events_prefix: str, now: dt.datetime | None = None) -> Canary:
    """A contract-valid raw event (docs/operations.md, "Raw event") in a file of its own under `events_prefix`."""
    now = now or dt.datetime.now(dt.UTC)
    token = uuid.uuid4().hex
    event_id = f"smoke-{token}"
    record = {
        "event_id": event_id,
        "event_type": "view",
        "event_timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        # Seeded by the stack from reference_data/, so the view's joins find them.
        "customer_id": _first_id("customers.csv", "customer_id"),
        "product_id": _first_id("products.csv", "product_id"),
        "quantity": 1,
        "session_id": f"smoke-{token[:12]}",
        "source": "smoke-test",
    }
    key = f"{events_prefix}{CANARY_FOLDER}/canary-{now:%Y%m%dT%H%M%S}-{token[:8]}.ndjson"
    return Canary(event_id, key, record)
