"""Incremental refresh: recompute from the base table every key the new events touch, then MERGE-replace those keys.

Recomputing whole keys (a session, a product-day) from ECOMMERCE_EVENTS
instead of adding the new rows' counts is what makes a refresh idempotent:
running it twice over the same new rows, or over rows that arrive late or out
of order, leaves the same result as one run over everything. The caller owns
the transaction: the merges and the consumption of the new rows commit
together (procedure.py in Snowflake, local_stack/tasks/runner.py locally).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import reduce

from snowflake.snowpark import DataFrame, Session
from snowflake.snowpark import functions as fn

from transformations.conversion import (
    PRODUCT_CONVERSION_COLUMNS,
    PRODUCT_CONVERSION_KEY,
    SESSION_FUNNEL_COLUMNS,
    SESSION_FUNNEL_KEY,
    first_copies,
    keep_keys,
    product_conversion,
    session_funnel,
)

_PRESENT = "RECOMPUTED_PRESENT"


@dataclass(frozen=True)
class Tables:
    """Fully qualified names of the tables a refresh reads and writes."""

    events: str
    products: str
    session_funnel: str
    product_conversion: str


@dataclass(frozen=True)
class RefreshResult:
    """Rows each MERGE inserted, updated and deleted."""

    sessions_inserted: int
    sessions_updated: int
    sessions_deleted: int
    product_days_inserted: int
    product_days_updated: int
    product_days_deleted: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _with_date(events: DataFrame) -> DataFrame:
    return events.with_column("EVENT_DATE", fn.to_date(fn.col("EVENT_TIMESTAMP")))


def refresh(session: Session, changes: DataFrame, tables: Tables) -> RefreshResult:
    """Bring both result tables up to date for every key `changes` (new ECOMMERCE_EVENTS rows) touches."""
    events = session.table(tables.events)
    products = session.table(tables.products)
    # Every copy of a changed EVENT_ID: a new copy can change which copy
    # counts, so the keys of the older copies are touched too.
    touched = keep_keys(events, changes.select("EVENT_ID").distinct(), ["EVENT_ID"])

    touched_sessions = touched.filter(fn.col("SESSION_ID").is_not_null()).select("SESSION_ID").distinct()
    in_sessions = keep_keys(events, touched_sessions, SESSION_FUNNEL_KEY)
    counted = keep_keys(first_copies(events, in_sessions), touched_sessions, SESSION_FUNNEL_KEY)
    sessions = _merge_replace(
        session,
        tables.session_funnel,
        touched_sessions,
        session_funnel(counted, products),
        SESSION_FUNNEL_KEY,
        SESSION_FUNNEL_COLUMNS,
    )

    touched_days = _with_date(touched).select(*PRODUCT_CONVERSION_KEY).distinct()
    in_days = keep_keys(_with_date(events), touched_days, PRODUCT_CONVERSION_KEY)
    counted_days = keep_keys(
        _with_date(first_copies(events, in_days.drop("EVENT_DATE"))), touched_days, PRODUCT_CONVERSION_KEY
    )
    days = _merge_replace(
        session,
        tables.product_conversion,
        touched_days,
        product_conversion(counted_days.drop("EVENT_DATE"), products),
        PRODUCT_CONVERSION_KEY,
        PRODUCT_CONVERSION_COLUMNS,
    )
    return RefreshResult(
        sessions.rows_inserted,
        sessions.rows_updated,
        sessions.rows_deleted,
        days.rows_inserted,
        days.rows_updated,
        days.rows_deleted,
    )


def _merge_replace(
    session: Session,
    target_name: str,
    keys: DataFrame,
    recomputed: DataFrame,
    key: tuple[str, ...],
    columns: tuple[str, ...],
):
    """Replace the rows of `keys` in the target by `recomputed`; a key with no recomputed row is deleted."""
    rows = recomputed.select(
        *[fn.col(c).alias(f"NEW_{c}") for c in columns],
        fn.lit(1).alias(_PRESENT),
    )
    keyed = keys.select(*[fn.col(k).alias(f"KEY_{k}") for k in key])
    joined = keyed.join(
        rows, reduce(lambda a, b: a & b, [keyed[f"KEY_{k}"] == rows[f"NEW_{k}"] for k in key]), how="left"
    )
    # Key columns from the touched keys (never NULL), the rest from the recomputed row.
    source = joined.select(
        *[fn.col(f"KEY_{c}").alias(c) if c in key else fn.col(f"NEW_{c}").alias(c) for c in columns],
        fn.col(_PRESENT),
    )
    target = session.table(target_name)
    on = reduce(lambda a, b: a & b, [target[k] == source[k] for k in key])
    present = source[_PRESENT].is_not_null()
    return target.merge(
        source,
        on,
        [
            fn.when_matched(~present).delete(),
            fn.when_matched().update({c: source[c] for c in columns if c not in key}),
            fn.when_not_matched(present).insert({c: source[c] for c in columns}),
        ],
    )
