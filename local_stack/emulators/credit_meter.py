"""The local credit meter and resource monitor: what Snowflake would bill for the statements fakesnow runs.

Every statement the local Snowflake runs is given to `CreditMeter` with its
session's user and its start and end. The meter bills it as the cloud would
(cost/rules.py, cost/billing.py), by the consumer that user stands for:

- a statement that reads or writes table rows runs on the stack's warehouse:
  resumed for it, suspended after the warehouse's own AUTO_SUSPEND, billed per
  second with the 60 s minimum per resume;
- unless the same text ran before and no statement has written since: then
  Snowflake answers from its result cache ("Using persisted query results":
  reuse needs unchanged data). Locally any write anywhere counts as a change,
  which is stricter than Snowflake's per-table check;
- the task runner's statements, when the deployed task has no warehouse, are
  serverless: one run is its statements until a 2 s pause, billed in whole
  seconds times the serverless multiplier; a run that wrote nothing was the
  WHEN check, which Snowflake evaluates in cloud services, not billed here;
- metadata statements (SHOW, DESCRIBE, DDL, INFORMATION_SCHEMA, constants) need
  no warehouse; cloud services are not metered (Snowflake publishes no figure
  per statement); Snowpipe's per-GB charge is added by the reader
  (local_stack/emulators/credit_report.py) from the loaded records.

The resource monitor: when the warehouse's credits reach the deployed
monitor's quota at its SUSPEND trigger, the warehouse suspends and every later
statement that needs it fails with Snowflake's message for a
monitor-suspended warehouse (cost/rules.py has its source). Unlike Snowflake,
the quota does not reset on the 1st: the meter starts at zero with each local
stack. Local tooling with no cloud counterpart (the demo's live view, status,
tests, bench) is not metered and is not refused.

Estimates by the cited rules, not a bill; the local task runner runs every 5 s
where the cloud task runs on its schedule, and the meter bills what ran here.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import snowflake.connector.errors
import sqlglot
from sqlglot import exp

from cost import rules
from cost.billing import WarehouseMeter, WarehouseQuery
from cost.model import DASHBOARDS, SNOWPIPE, TRANSFORMATION
from local_stack.services.sql_reading import needs_warehouse, tables_named

METER_FILE = "credit_meter.json"
LABEL = "estimate by the rules cited in cost/rules.py, not a bill"

WAREHOUSE_TYPE = "snowflake:index/warehouse:Warehouse"
MONITOR_TYPE = "snowflake:index/resourceMonitor:ResourceMonitor"
TASK_TYPE = "snowflake:index/task:Task"

# Users the local processes log in as (local_stack/, smoke/): the consumer each stands for.
CONSUMER_OF_USER = {"task-runner": TRANSFORMATION, "smoke": "smoke", "deploy": "deploy and seeds", "snowpipe": SNOWPIPE}
LOCAL_TOOLING = frozenset({"demo", "local", "test", "bench"})
# Superset logs in as the stack's dashboard user, <prefix>_DASHBOARD (infra/config.py).
DASHBOARD_USER_SUFFIX = "_DASHBOARD"
# Statements of one task run follow each other within this; the local runner runs every 5 s.
RUN_GAP_SECONDS = 2.0
WRITE_EXPRESSIONS = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Copy)


def consumer_of(user: str) -> str | None:
    """The consumer a session's user stands for; None for local tooling, which is not metered."""
    if user in LOCAL_TOOLING:
        return None
    if user.upper().endswith(DASHBOARD_USER_SUFFIX):
        return DASHBOARDS
    return CONSUMER_OF_USER.get(user, f"other ({user})")


@dataclass(frozen=True)
class MeterSettings:
    """The deployed warehouse, its monitor and the task's compute, from the local deploy's records."""

    warehouse: str
    size: str
    auto_suspend: int
    monitor: str | None
    quota: float | None
    suspend_at_percent: int | None
    task_serverless: bool
    task_size: str

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> MeterSettings | None:
        """None before the deploy has recorded a warehouse."""
        warehouses = [r["inputs"] for r in records if r["type"] == WAREHOUSE_TYPE]
        if not warehouses:
            return None
        (warehouse,) = warehouses
        monitors = [r["inputs"] for r in records if r["type"] == MONITOR_TYPE]
        monitor = next((m for m in monitors if m["name"] == warehouse.get("resourceMonitor")), None)
        tasks = [r["inputs"] for r in records if r["type"] == TASK_TYPE]
        serverless = bool(tasks) and not tasks[0].get("warehouse")
        size = str(warehouse.get("warehouseSize") or "XSMALL").upper()
        return cls(
            warehouse=warehouse["name"],
            size=size,
            auto_suspend=int(warehouse.get("autoSuspend") or 600),  # CREATE WAREHOUSE's default AUTO_SUSPEND
            monitor=monitor["name"] if monitor else None,
            quota=float(monitor["creditQuota"]) if monitor and monitor.get("creditQuota") else None,
            suspend_at_percent=int(monitor["suspendTrigger"]) if monitor and monitor.get("suspendTrigger") else None,
            task_serverless=serverless,
            task_size=str(tasks[0].get("serverlessTaskMaxStatementSize") or "XXLARGE") if serverless else size,
        )


@dataclass
class MeterState:
    """`.local/credit_meter.json`: written by the local Snowflake's server, read by demo, status and smoke."""

    label: str
    started_at: float
    updated_at: float
    warehouse: str | None
    monitor: str | None
    quota: float | None
    suspended_at: float | None
    warehouse_credits: float
    credits: dict[str, float] = field(default_factory=dict)
    """Per consumer, warehouse and serverless; Snowpipe is added by the reader."""

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None


def monitor_suspended_error(warehouse: str, monitor: str) -> snowflake.connector.errors.ProgrammingError:
    return snowflake.connector.errors.ProgrammingError(
        msg=rules.MONITOR_SUSPENDED_MESSAGE.format(warehouse=warehouse, monitor=monitor),
        errno=rules.MONITOR_SUSPENDED_ERRNO,
        sqlstate=rules.MONITOR_SUSPENDED_SQLSTATE,
    )


@dataclass
class _Run:
    start: float
    last_end: float
    wrote: bool


class CreditMeter:
    def __init__(self, settings: Callable[[], MeterSettings | None], clock: Callable[[], float] = time.time):
        """`settings` is asked on every statement: the deploy records the warehouse after the emulator starts."""
        self._settings = settings
        self._clock = clock
        self.started_at = clock()
        self._warehouse: WarehouseMeter | None = None
        self._metered: MeterSettings | None = None
        self._serverless: dict[str, float] = {}
        self._run: _Run | None = None
        self._cached: dict[str, int] = {}
        self._writes = 0
        self.suspended_at: float | None = None

    def _current(self) -> MeterSettings | None:
        settings = self._settings()
        if settings is None or settings == self._metered:
            return self._metered
        before = self._metered
        if before is None or (before.warehouse, before.size, before.auto_suspend) != (
            settings.warehouse,
            settings.size,
            settings.auto_suspend,
        ):
            # A new or changed warehouse: its bill starts afresh.
            self._warehouse = WarehouseMeter(auto_suspend=settings.auto_suspend, size=settings.size)
        self._metered = settings
        # "Working with resource monitors": a suspended warehouse resumes once the quota or the
        # suspend threshold is raised above what it used (or at the next interval).
        self.suspended_at = None
        self._check_quota(settings, self._clock())
        return settings

    def before(self, user: str, statement: str) -> None:
        """Raises the monitor's refusal for a statement that needs the suspended warehouse."""
        settings = self._current()
        if self.suspended_at is None or settings is None or consumer_of(user) is None:
            return
        if self._runs_on_warehouse(user, statement, settings) and not self._cache_hit(statement):
            raise monitor_suspended_error(settings.warehouse, settings.monitor or "")

    def after(self, user: str, statement: str, start: float, end: float) -> None:
        consumer = consumer_of(user)
        settings = self._current()
        if consumer is None or settings is None or self._warehouse is None:
            return
        writes = _writes(statement)
        if consumer == TRANSFORMATION and settings.task_serverless:
            self._add_to_run(start, end, writes, settings)
        elif self._runs_on_warehouse(user, statement, settings) and not self._cache_hit(statement):
            self._warehouse.add(WarehouseQuery(consumer, start, end))
            self._cached[statement] = self._writes
        if writes:
            self._writes += 1
        self._check_quota(settings, end)

    def _runs_on_warehouse(self, user: str, statement: str, settings: MeterSettings) -> bool:
        if consumer_of(user) in (SNOWPIPE, None):
            return False  # Snowpipe is serverless, billed per GB
        if consumer_of(user) == TRANSFORMATION and settings.task_serverless:
            return False
        return _needs_warehouse(statement)

    def _cache_hit(self, statement: str) -> bool:
        return self._cached.get(statement) == self._writes and not _writes(statement)

    def _add_to_run(self, start: float, end: float, writes: bool, settings: MeterSettings) -> None:
        run = self._run
        if run is not None and start > run.last_end + RUN_GAP_SECONDS:
            self._close_run(settings)
            run = None
        if run is None:
            run = self._run = _Run(start, end, writes)
        run.last_end = max(run.last_end, end)
        run.wrote = run.wrote or writes

    def _close_run(self, settings: MeterSettings) -> None:
        if self._run is not None and self._run.wrote:
            credits = rules.serverless_task_credits(self._run.last_end - self._run.start, settings.task_size)
            self._serverless[TRANSFORMATION] = self._serverless.get(TRANSFORMATION, 0.0) + credits
        self._run = None

    def _check_quota(self, settings: MeterSettings, now: float) -> None:
        if self.suspended_at is not None or settings.quota is None or self._warehouse is None:
            return
        threshold = settings.quota * (settings.suspend_at_percent or 100) / 100
        if self._warehouse.bill(now).credits >= threshold:
            self.suspended_at = now

    def state(self) -> MeterState:
        now = self._clock()
        settings = self._metered
        credits = dict(self._serverless)
        warehouse_credits = 0.0
        if self._warehouse is not None:
            bill = self._warehouse.bill(now)
            warehouse_credits = bill.credits
            for consumer, value in bill.credits_by_consumer.items():
                credits[consumer] = credits.get(consumer, 0.0) + value
        if self._run is not None and self._run.wrote and settings is not None:
            running = rules.serverless_task_credits(self._run.last_end - self._run.start, settings.task_size)
            credits[TRANSFORMATION] = credits.get(TRANSFORMATION, 0.0) + running
        return MeterState(
            label=LABEL,
            started_at=self.started_at,
            updated_at=now,
            warehouse=settings.warehouse if settings else None,
            monitor=settings.monitor if settings else None,
            quota=settings.quota if settings else None,
            suspended_at=self.suspended_at,
            warehouse_credits=warehouse_credits,
            credits=credits,
        )


@functools.lru_cache(maxsize=4096)
def _classify(statement: str) -> tuple[bool, bool]:
    """(writes rows, needs a warehouse), parsed once per distinct text: dashboards repeat theirs."""
    try:
        parsed = sqlglot.parse_one(statement, read="snowflake")
    except sqlglot.errors.ParseError:
        return False, False  # PUT, GET and other client commands: no rows on a warehouse
    if not needs_warehouse(parsed):
        return isinstance(parsed, WRITE_EXPRESSIONS), False
    # INFORMATION_SCHEMA answers from metadata, in cloud services (third-party note quoting the docs).
    on_warehouse = any("INFORMATION_SCHEMA" not in parts for parts in tables_named(parsed))
    return isinstance(parsed, WRITE_EXPRESSIONS), on_warehouse


def _writes(statement: str) -> bool:
    return _classify(statement)[0]


def _needs_warehouse(statement: str) -> bool:
    return _classify(statement)[1]


def write_state(state_dir: Path, state: MeterState) -> None:
    path = Path(state_dir) / METER_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2))
    os.replace(temporary, path)


def read_state(state_dir: Path) -> MeterState | None:
    """None when the local Snowflake has metered nothing yet (or runs without a state dir)."""
    path = Path(state_dir) / METER_FILE
    if not path.exists():
        return None
    return MeterState(**json.loads(path.read_text()))
