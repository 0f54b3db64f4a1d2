"""A timeline of queries on one warehouse, billed and shared out per consumer.

Used by the cost model (a simulated day) and by the local credit meter (the
queries the local Snowflake really ran), so both bill by the same rules.
Snowflake's per-query attribution (QUERY_ATTRIBUTION_HISTORY view) leaves
idle time out; its documented recipe spreads the warehouse's metered credits
over users "in proportion to their usage" (quoted by a third-party note), as
done here with each session's billed seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

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


@dataclass
class _Session:
    resumed: float
    last_end: float
    busy: dict[str, float] = field(default_factory=lambda: defaultdict(float))


class WarehouseMeter:
    """Adds queries as they finish (in order of start, give or take concurrent ones) and bills so far."""

    def __init__(self, *, auto_suspend: float, size: str):
        rules.credits_per_hour(size)  # an unknown size fails here, not at the first bill
        self.auto_suspend = auto_suspend
        self.size = size
        self._closed: list[tuple[float, float]] = []
        self._closed_by_consumer: dict[str, float] = defaultdict(float)
        self._open: _Session | None = None

    def add(self, query: WarehouseQuery) -> None:
        # A warehouse suspends `auto_suspend` seconds after its last query ("Overview of warehouses",
        # AUTO_SUSPEND); a query arriving before that finds it running and keeps it up.
        session = self._open
        if session is None or query.start > session.last_end + self.auto_suspend:
            if session is not None:
                self._close(session)
            session = self._open = _Session(query.start, query.end)
        session.last_end = max(session.last_end, query.end)
        # A zero-length query still caused the resume: count it a little.
        session.busy[query.consumer] += max(query.end - query.start, 1e-6)

    def _close(self, session: _Session) -> None:
        suspended = session.last_end + self.auto_suspend
        self._closed.append((session.resumed, suspended))
        self._share(session, rules.billed_warehouse_seconds(session.resumed, suspended), self._closed_by_consumer)

    def _share(self, session: _Session, billed: float, into: dict[str, float]) -> None:
        total = sum(session.busy.values())
        for consumer, seconds in session.busy.items():
            into[consumer] += rules.warehouse_credits(billed * seconds / total, self.size)

    def running(self, now: float) -> bool:
        return self._open is not None and now < self._open.last_end + self.auto_suspend

    def bill(self, now: float | None = None) -> WarehouseBill:
        """Billed so far at `now` (None: after the last session suspended)."""
        sessions = list(self._closed)
        by_consumer = defaultdict(float, self._closed_by_consumer)
        if self._open is not None:
            suspended = self._open.last_end + self.auto_suspend
            if now is not None:
                suspended = max(min(suspended, now), self._open.resumed)
            sessions.append((self._open.resumed, suspended))
            # The 60 s minimum is billed at the resume, so it counts at once.
            self._share(self._open, rules.billed_warehouse_seconds(self._open.resumed, suspended), by_consumer)
        billed = sum(rules.billed_warehouse_seconds(r, s) for r, s in sessions)
        return WarehouseBill(sessions, billed, rules.warehouse_credits(billed, self.size), dict(by_consumer))


def bill_warehouse(queries: Iterable[WarehouseQuery], *, auto_suspend: float, size: str) -> WarehouseBill:
    """Credits of a warehouse that ran `queries`, each session's share split by the consumers' query time."""
    meter = WarehouseMeter(auto_suspend=auto_suspend, size=size)
    for query in sorted(queries, key=lambda q: q.start):
        meter.add(query)
    return meter.bill()
