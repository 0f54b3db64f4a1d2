"""A timeline of queries on one warehouse, billed and shared out per consumer.

Used by the cost model (a simulated day) and by the local credit meter (the
queries the local Snowflake really ran), so both bill by the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from cost import rules


@dataclass(frozen=True)
class WarehouseQuery:
    consumer: str
    start: float  # seconds on any clock both ends share
    end: float


@dataclass(frozen=True)
class WarehouseBill:
    sessions: list[tuple[float, float]]  # (resumed, suspended)
    billed_seconds: float
    credits: float
    credits_by_consumer: dict[str, float]


def bill_warehouse(queries: Iterable[WarehouseQuery], *, auto_suspend: float, size: str) -> WarehouseBill:
    """Credits of a warehouse that ran `queries`, each session's share split by the consumers' query time.

    Snowflake's per-query attribution (QUERY_ATTRIBUTION_HISTORY view) leaves
    idle time out; its documented recipe spreads the warehouse's metered
    credits over users "in proportion to their usage" (quoted by a third-party
    note), as done here with each session's billed seconds.
    """
    queries = sorted(queries, key=lambda q: q.start)
    sessions = rules.warehouse_sessions(((q.start, q.end) for q in queries), auto_suspend)
    by_consumer: dict[str, float] = defaultdict(float)
    billed_total = 0.0
    index = 0
    for resumed, suspended in sessions:
        billed = rules.billed_warehouse_seconds(resumed, suspended)
        billed_total += billed
        busy: dict[str, float] = defaultdict(float)
        while index < len(queries) and queries[index].start <= suspended:
            query = queries[index]
            # A zero-length query still caused the resume: count it a little.
            busy[query.consumer] += max(query.end - query.start, 1e-6)
            index += 1
        total_busy = sum(busy.values())
        for consumer, seconds in busy.items():
            by_consumer[consumer] += rules.warehouse_credits(billed * seconds / total_busy, size)
    return WarehouseBill(sessions, billed_total, rules.warehouse_credits(billed_total, size), dict(by_consumer))
