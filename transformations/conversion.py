"""The transformation itself: events and products in, result rows out, as Snowpark DataFrames.

Columns and types match sql/conversion_tables.sql (a test checks it). Revenue
counts purchases only, PRICE * QUANTITY with the price from PRODUCTS, as the
dashboard queries do; a purchase of a product missing from PRODUCTS adds units
but no revenue.
"""

from __future__ import annotations

from functools import reduce

from snowflake.snowpark import DataFrame, Window
from snowflake.snowpark import functions as fn
from snowflake.snowpark.types import BooleanType, DecimalType

VIEW = "view"
ADD_TO_CART = "add_to_cart"
PURCHASE = "purchase"

# The order columns are written in; the same as sql/conversion_tables.sql.
SESSION_FUNNEL_COLUMNS = (
    "SESSION_ID",
    "CUSTOMER_ID",
    "FIRST_EVENT_AT",
    "LAST_EVENT_AT",
    "EVENTS",
    "VIEWED",
    "ADDED_TO_CART",
    "PURCHASED",
    "UNITS_PURCHASED",
    "REVENUE",
)
SESSION_FUNNEL_KEY = ("SESSION_ID",)
PRODUCT_CONVERSION_COLUMNS = (
    "PRODUCT_ID",
    "EVENT_DATE",
    "CATEGORY",
    "VIEWS",
    "ADD_TO_CARTS",
    "PURCHASES",
    "UNITS_PURCHASED",
    "REVENUE",
    "VIEW_TO_PURCHASE_RATE",
)
PRODUCT_CONVERSION_KEY = ("PRODUCT_ID", "EVENT_DATE")

_COUNT = DecimalType(38, 0)
_MONEY = DecimalType(18, 2)
_RATE = DecimalType(10, 4)

# Deterministic choice among copies of one EVENT_ID: the first load wins.
_FIRST_COPY_ORDER = (
    "LOADED_AT",
    "SOURCE_FILE",
    "EVENT_TIMESTAMP",
    "EVENT_TYPE",
    "PRODUCT_ID",
    "QUANTITY",
    "CUSTOMER_ID",
    "SESSION_ID",
)


def keep_keys(rows: DataFrame, keys: DataFrame, key: tuple[str, ...] | list[str]) -> DataFrame:
    """The rows of `rows` whose `key` columns match a row of `keys` (a semi-join).

    The key columns of `keys` are renamed first: when both sides descend from
    the same table, Snowpark 1.56 rendered `on="SESSION_ID"` as
    `"SESSION_ID" = "SESSION_ID"` inside the EXISTS, which is always true.
    """
    renamed = keys.select(*[fn.col(k).alias(f"KEY_{k}") for k in key])
    condition = reduce(lambda a, b: a & b, [rows[k] == renamed[f"KEY_{k}"] for k in key])
    return rows.join(renamed, condition, how="leftsemi")


def first_copies(events: DataFrame, candidates: DataFrame) -> DataFrame:
    """The events of `candidates`, each EVENT_ID once: the copy loaded first among all of `events`.

    EVENT_ID is unique by contract, yet a producer that retries re-sends the
    same events in a new file, which Snowpipe loads as new rows. Every copy
    of each candidate id is looked at, so the winner does not depend on
    which copies a batch happens to contain.
    """
    copies = keep_keys(events, candidates.select("EVENT_ID").distinct(), ["EVENT_ID"])
    order = Window.partition_by("EVENT_ID").order_by(*[fn.col(c).asc_nulls_last() for c in _FIRST_COPY_ORDER])
    return (
        copies.with_column("COPY_RANK", fn.row_number().over(order)).filter(fn.col("COPY_RANK") == 1).drop("COPY_RANK")
    )


def _with_measures(events: DataFrame, products: DataFrame) -> DataFrame:
    """One row per event with 0/1 flags and purchase units/revenue as columns.

    The flags are columns before any aggregate: Snowpark's local testing mode
    returned NaN for max(iff(...)) inside a grouped aggregate after the first
    group, and plain columns aggregate the same everywhere.
    """
    prices = products.select(
        fn.col("PRODUCT_ID").alias("P_PRODUCT_ID"),
        fn.col("PRICE").alias("P_PRICE"),
        fn.col("CATEGORY").alias("P_CATEGORY"),
    )
    joined = events.join(prices, events["PRODUCT_ID"] == prices["P_PRODUCT_ID"], how="left")
    is_purchase = fn.col("EVENT_TYPE") == fn.lit(PURCHASE)
    return (
        joined.with_column("IS_VIEW", fn.iff(fn.col("EVENT_TYPE") == fn.lit(VIEW), fn.lit(1), fn.lit(0)))
        .with_column("IS_ADD_TO_CART", fn.iff(fn.col("EVENT_TYPE") == fn.lit(ADD_TO_CART), fn.lit(1), fn.lit(0)))
        .with_column("IS_PURCHASE", fn.iff(is_purchase, fn.lit(1), fn.lit(0)))
        .with_column("PURCHASED_UNITS", fn.iff(is_purchase, fn.col("QUANTITY"), fn.lit(0)))
        .with_column(
            "PURCHASED_REVENUE",
            fn.iff(is_purchase, fn.coalesce(fn.col("P_PRICE") * fn.col("QUANTITY"), fn.lit(0)), fn.lit(0)),
        )
    )


def session_funnel(events: DataFrame, products: DataFrame) -> DataFrame:
    """SESSION_FUNNEL rows for every session that has events in `events`."""
    measured = _with_measures(events.filter(fn.col("SESSION_ID").is_not_null()), products)
    grouped = measured.group_by("SESSION_ID").agg(
        fn.min("CUSTOMER_ID").alias("CUSTOMER_ID"),
        fn.min("EVENT_TIMESTAMP").alias("FIRST_EVENT_AT"),
        fn.max("EVENT_TIMESTAMP").alias("LAST_EVENT_AT"),
        fn.count(fn.lit(1)).alias("EVENTS"),
        fn.max("IS_VIEW").alias("ANY_VIEW"),
        fn.max("IS_ADD_TO_CART").alias("ANY_ADD_TO_CART"),
        fn.max("IS_PURCHASE").alias("ANY_PURCHASE"),
        fn.sum("PURCHASED_UNITS").alias("SUM_UNITS"),
        fn.sum("PURCHASED_REVENUE").alias("SUM_REVENUE"),
    )
    return grouped.select(
        fn.col("SESSION_ID"),
        fn.col("CUSTOMER_ID").cast(_COUNT).alias("CUSTOMER_ID"),
        fn.col("FIRST_EVENT_AT"),
        fn.col("LAST_EVENT_AT"),
        fn.col("EVENTS").cast(_COUNT).alias("EVENTS"),
        (fn.col("ANY_VIEW") == fn.lit(1)).cast(BooleanType()).alias("VIEWED"),
        (fn.col("ANY_ADD_TO_CART") == fn.lit(1)).cast(BooleanType()).alias("ADDED_TO_CART"),
        (fn.col("ANY_PURCHASE") == fn.lit(1)).cast(BooleanType()).alias("PURCHASED"),
        fn.col("SUM_UNITS").cast(_COUNT).alias("UNITS_PURCHASED"),
        fn.col("SUM_REVENUE").cast(_MONEY).alias("REVENUE"),
    )


def product_conversion(events: DataFrame, products: DataFrame) -> DataFrame:
    """PRODUCT_CONVERSION rows for every (product, day) that has events in `events`."""
    measured = _with_measures(events, products).with_column("EVENT_DATE", fn.to_date(fn.col("EVENT_TIMESTAMP")))
    grouped = measured.group_by("PRODUCT_ID", "EVENT_DATE").agg(
        fn.max("P_CATEGORY").alias("CATEGORY"),
        fn.sum("IS_VIEW").alias("SUM_VIEWS"),
        fn.sum("IS_ADD_TO_CART").alias("SUM_ADD_TO_CARTS"),
        fn.sum("IS_PURCHASE").alias("SUM_PURCHASES"),
        fn.sum("PURCHASED_UNITS").alias("SUM_UNITS"),
        fn.sum("PURCHASED_REVENUE").alias("SUM_REVENUE"),
    )
    views = fn.col("SUM_VIEWS").cast(_COUNT)
    purchases = fn.col("SUM_PURCHASES").cast(_COUNT)
    return grouped.select(
        fn.col("PRODUCT_ID").cast(_COUNT).alias("PRODUCT_ID"),
        fn.col("EVENT_DATE"),
        fn.col("CATEGORY"),
        views.alias("VIEWS"),
        fn.col("SUM_ADD_TO_CARTS").cast(_COUNT).alias("ADD_TO_CARTS"),
        purchases.alias("PURCHASES"),
        fn.col("SUM_UNITS").cast(_COUNT).alias("UNITS_PURCHASED"),
        fn.col("SUM_REVENUE").cast(_MONEY).alias("REVENUE"),
        fn.iff(views == fn.lit(0), fn.lit(None), purchases / views).cast(_RATE).alias("VIEW_TO_PURCHASE_RATE"),
    )
