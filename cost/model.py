"""Credits per consumer for a stack and a usage profile: a simulated day of queries, billed by cost/rules.py.

Each kind of day (producer on or off, dashboard open or not) is simulated
second by second as a timeline of queries and billed like the local credit
meter bills real ones (cost/billing.py); a month is the sum of its days, and
the quota runs out on the first day the monitor's count reaches it.

Assumptions, besides the profile's numbers: the dashboard opens at 09:00
(UTC) and a producer that runs less than 24 h starts then too; every refresh
while new events arrive misses Snowflake's result cache (the charts read
ENRICHED_EVENTS, which each load changes: "Using persisted query results",
user-guide/querying-persisted-results, reuse needs unchanged data), and every
refresh without new data hits it and needs no warehouse; the task runs when
its stream got rows since the previous run (WHEN SYSTEM$STREAM_HAS_DATA).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from cost import rules
from cost.billing import WarehouseQuery, bill_warehouse
from cost.profile import UsageProfile
from cost.stack import StackCost

DAY = 86_400
OPENS_AT = 9 * 3600

DASHBOARDS = "dashboards"
TRANSFORMATION = "transformation"
SNOWPIPE = "Snowpipe"
CLOUD_SERVICES = "cloud services"
CONSUMERS = (DASHBOARDS, TRANSFORMATION, SNOWPIPE, CLOUD_SERVICES)


@dataclass(frozen=True)
class DayCost:
    credits: dict[str, float]
    """Billed credits per consumer."""
    monitored: float
    """What the warehouse's resource monitor counts: its credits and their cloud services, unadjusted."""


@dataclass(frozen=True)
class MonthCost:
    month: dt.date  # first day
    days: list[DayCost]
    quota: float
    credits: dict[str, float] = field(init=False)
    monitored: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", {c: sum(d.credits[c] for d in self.days) for c in CONSUMERS})
        object.__setattr__(self, "monitored", sum(d.monitored for d in self.days))

    @property
    def total(self) -> float:
        return sum(self.credits.values())

    @property
    def quota_runs_out(self) -> dt.date | None:
        """The day the monitor reaches the quota and suspends the warehouse, or None if it lasts the month."""
        used = 0.0
        for number, day in enumerate(self.days, start=1):
            used += day.monitored
            if used >= self.quota:
                return self.month.replace(day=number)
        return None


def _window(start: float, hours: float) -> tuple[float, float]:
    # Around the clock also means it ran just before midnight: the day's first run sees new data.
    return (-float(DAY), 2.0 * DAY) if hours >= 24 else (start, start + hours * 3600)


def simulate_day(profile: UsageProfile, stack: StackCost, *, producer: bool, dashboard: bool) -> DayCost:
    """One UTC day's bill for this stack and profile."""
    refresh = profile.refresh_seconds or stack.refresh_seconds
    schedule = (profile.task_schedule_minutes or stack.task_schedule_minutes) * 60
    loads_from, loads_to = _window(OPENS_AT, profile.producer_hours_per_day) if producer else (0.0, 0.0)

    def new_data(after: float, until: float) -> bool:
        return loads_from < until and after < loads_to

    queries: list[WarehouseQuery] = []
    statements = {DASHBOARDS: 0, TRANSFORMATION: 0}
    if dashboard and profile.dashboard_hours_per_day > 0:
        opened, closed = (
            (0.0, DAY) if profile.dashboard_hours_per_day >= 24 else _window(OPENS_AT, profile.dashboard_hours_per_day)
        )
        previous = opened - refresh
        at = opened
        while at < closed:
            statements[DASHBOARDS] += stack.dashboard_charts
            if new_data(previous, at):
                queries.append(WarehouseQuery(DASHBOARDS, at, at + profile.dashboard_query_seconds))
            previous, at = at, at + refresh

    cloud_services_per_statement = (
        rules.CLOUD_SERVICES_CREDITS_PER_HOUR / 3600 * profile.cloud_services_seconds_per_query
    )
    task_credits = 0.0
    for at in range(0, DAY, schedule):
        if not new_data(at - schedule, at):
            continue
        if stack.task_serverless:
            # A serverless feature's cloud services are billed in full with it, outside the 10 % rule.
            task_credits += rules.serverless_task_credits(profile.task_run_seconds, stack.task_size)
            task_credits += cloud_services_per_statement * rules.SERVERLESS_TASK_CLOUD_SERVICES_MULTIPLIER
        else:
            statements[TRANSFORMATION] += 1
            queries.append(WarehouseQuery(TRANSFORMATION, at, at + profile.task_run_seconds))

    bill = bill_warehouse(queries, auto_suspend=stack.auto_suspend_seconds, size=stack.warehouse_size)
    loading_seconds = max(0.0, min(loads_to, DAY) - max(loads_from, 0.0))
    loaded_bytes = profile.events_per_second * loading_seconds * profile.bytes_per_event
    used_cloud_services = cloud_services_per_statement * sum(statements.values())
    return DayCost(
        credits={
            DASHBOARDS: bill.credits_by_consumer.get(DASHBOARDS, 0.0),
            TRANSFORMATION: task_credits + bill.credits_by_consumer.get(TRANSFORMATION, 0.0),
            SNOWPIPE: rules.snowpipe_credits(loaded_bytes),
            CLOUD_SERVICES: rules.billed_cloud_services(used_cloud_services, bill.credits),
        },
        monitored=bill.credits + used_cloud_services,
    )


def simulate_month(profile: UsageProfile, stack: StackCost, month: dt.date) -> MonthCost:
    """Every day of `month`; producer and dashboard days are the first N weekdays (Monday first)."""
    first = month.replace(day=1)
    cache: dict[tuple[bool, bool], DayCost] = {}
    days = []
    for number in range(1, calendar.monthrange(first.year, first.month)[1] + 1):
        weekday = first.replace(day=number).weekday()
        kind = (weekday < profile.producer_days_per_week, weekday < profile.dashboard_days_per_week)
        if kind not in cache:
            cache[kind] = simulate_day(profile, stack, producer=kind[0], dashboard=kind[1])
        days.append(cache[kind])
    return MonthCost(first, days, stack.monthly_quota)


def stored_gigabytes(profile: UsageProfile, days: int) -> float:
    """Compressed table storage after `days` of this profile (billed per TB-month in currency, not credits)."""
    events = profile.events_per_second * profile.producer_hours_per_day * 3600 * days
    events *= profile.producer_days_per_week / 7
    return events * profile.stored_bytes_per_event / rules.BYTES_PER_GB


def serverless_ceiling(profile: UsageProfile, stack: StackCost, days: int) -> float:
    """The most a serverless task can cost in `days`: every scheduled run just under its timeout."""
    runs = days * DAY / ((profile.task_schedule_minutes or stack.task_schedule_minutes) * 60)
    return runs * rules.serverless_task_credits(stack.task_timeout_seconds, stack.task_size)
