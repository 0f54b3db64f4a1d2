"""Believable shopping sessions: the events both producers send (files to S3, rows to Snowpipe Streaming).

Each session is one customer walking a funnel: a few product views, some
add-to-carts, an occasional remove, and sometimes a purchase of what is left
in the cart. Product popularity and customer activity are Zipf-like, so the
dashboards show a long tail instead of a flat line. Customers and products come
from reference_data/*.csv, the same files the reference tables are seeded from,
so every event joins in ENRICHED_EVENTS.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference_data"

# Funnel shape: per viewed product, the chance it goes to the cart; per cart
# item, the chance it is taken out again; per session with a cart, the chance
# it ends in a purchase. Roughly what ecommerce benchmarks report (a few % of
# views convert).
VIEWS_PER_SESSION = (1, 8)
ADD_TO_CART_RATE = 0.25
REMOVE_FROM_CART_RATE = 0.15
CHECKOUT_RATE = 0.45
ZIPF_EXPONENT = 1.1


@dataclass(frozen=True)
class Product:
    product_id: int
    category: str
    price: float


@dataclass(frozen=True)
class Catalog:
    customer_ids: tuple[int, ...]
    products: tuple[Product, ...]


def load_catalog(reference_dir: Path = REFERENCE_DIR) -> Catalog:
    with open(reference_dir / "customers.csv", newline="", encoding="utf-8") as f:
        customers = tuple(int(row["customer_id"]) for row in csv.DictReader(f))
    with open(reference_dir / "products.csv", newline="", encoding="utf-8") as f:
        products = tuple(
            Product(int(row["product_id"]), row["category"], float(row["price"])) for row in csv.DictReader(f)
        )
    return Catalog(customers, products)


def _zipf_weights(count: int) -> list[float]:
    weights = [1.0 / (rank**ZIPF_EXPONENT) for rank in range(1, count + 1)]
    return list(itertools.accumulate(weights))


class ShoppingSimulator:
    """Deterministic for a given seed: the same seed gives the same events."""

    def __init__(self, catalog: Catalog | None = None, seed: int = 0):
        self.catalog = catalog or load_catalog()
        self.rng = random.Random(seed)
        # Which products and customers are popular is itself seeded.
        self.products = list(self.catalog.products)
        self.rng.shuffle(self.products)
        self.customers = list(self.catalog.customer_ids)
        self.rng.shuffle(self.customers)
        self.product_weights = _zipf_weights(len(self.products))
        self.customer_weights = _zipf_weights(len(self.customers))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def session(self, start: dt.datetime) -> list[dict[str, Any]]:
        """One customer's visit, in time order, starting at `start` (UTC)."""
        rng = self.rng
        customer_id = rng.choices(self.customers, cum_weights=self.customer_weights)[0]
        session_id = self._uuid()
        clock = start
        events: list[dict[str, Any]] = []

        def emit(event_type: str, product: Product, quantity: int = 1) -> None:
            nonlocal clock
            clock += dt.timedelta(milliseconds=rng.randint(500, 45_000))
            events.append(
                {
                    "event_id": self._uuid(),
                    "event_type": event_type,
                    "event_timestamp": clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{clock.microsecond // 1000:03d}Z",
                    "customer_id": customer_id,
                    "product_id": product.product_id,
                    "quantity": quantity,
                    "session_id": session_id,
                }
            )

        cart: dict[int, tuple[Product, int]] = {}
        views = rng.randint(*VIEWS_PER_SESSION)
        for product in rng.choices(self.products, cum_weights=self.product_weights, k=views):
            emit("view", product)
            if rng.random() < ADD_TO_CART_RATE:
                quantity = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                emit("add_to_cart", product, quantity)
                _, held = cart.get(product.product_id, (product, 0))
                cart[product.product_id] = (product, held + quantity)
        for product_id, (product, quantity) in list(cart.items()):
            if rng.random() < REMOVE_FROM_CART_RATE:
                emit("remove_from_cart", product, quantity)
                del cart[product_id]
        if cart and rng.random() < CHECKOUT_RATE:
            for product, quantity in cart.values():
                emit("purchase", product, quantity)
        return events

    def events(self, start: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
        """An endless stream of events from overlapping sessions, roughly in time order."""
        clock = start or dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        while True:
            yield from self.session(clock)
            clock += dt.timedelta(milliseconds=self.rng.randint(50, 2_000))


def generate_events(count: int, seed: int = 0, start: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Exactly `count` events (the last session may be cut short)."""
    return list(itertools.islice(ShoppingSimulator(seed=seed).events(start), count))
