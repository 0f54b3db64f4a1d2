"""What the local stack would have cost so far, per consumer, and per month at this rate: demo, status, smoke.

Reads the meter's state (local_stack/emulators/credit_meter.py) and adds Snowpipe's
per-GB charge for the records loaded so far, on their uncompressed JSON size
as Snowflake bills text formats ("Snowpipe costs"); locally that size is the
loaded records re-serialized, which matches the producer's NDJSON lines to
within whitespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cost import rules
from infra.sql_source import pipe_target_table
from local_stack.emulators.credit_meter import SNOWPIPE, read_state

MONTH_SECONDS = 30 * 86_400


@dataclass(frozen=True)
class ConsumerCredits:
    consumer: str
    credits: float
    per_month: float
    """At the rate seen since the local Snowflake started."""


@dataclass(frozen=True)
class CreditReport:
    label: str
    consumers: list[ConsumerCredits]
    warehouse: str | None
    monitor: str | None
    quota: float | None
    warehouse_credits: float
    suspended: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "warehouse": self.warehouse,
            "monitor": self.monitor,
            "quota": self.quota,
            "warehouse_credits": round(self.warehouse_credits, 6),
            "suspended_by_resource_monitor": self.suspended,
            "seconds_metered": round(self.seconds, 1),
            "consumers": {
                c.consumer: {"credits": round(c.credits, 6), "per_month_at_this_rate": round(c.per_month, 3)}
                for c in self.consumers
            },
        }


def loaded_json_bytes(connection: Any, events_table: str) -> int:
    """Uncompressed JSON bytes of every record the pipe loaded into `events_table` (one newline each)."""
    row = connection.cursor().execute(f"SELECT COALESCE(SUM(LENGTH(RAW_EVENT::VARCHAR) + 1), 0) FROM {events_table}")
    return int(row.fetchone()[0])


def credit_report(state_dir: Path, now: float, loaded_bytes: int) -> CreditReport | None:
    """None until the local Snowflake has written its meter."""
    state = read_state(state_dir)
    if state is None:
        return None
    seconds = max(now - state.started_at, 1.0)
    credits = {**state.credits, SNOWPIPE: rules.snowpipe_credits(loaded_bytes)}
    return CreditReport(
        label=state.label,
        consumers=[
            ConsumerCredits(name, value, value * MONTH_SECONDS / seconds) for name, value in sorted(credits.items())
        ],
        warehouse=state.warehouse,
        monitor=state.monitor,
        quota=state.quota,
        warehouse_credits=state.warehouse_credits,
        suspended=state.suspended,
        seconds=seconds,
    )


def current_report(state_dir: Path, endpoints: Any, connection: Any | None = None) -> CreditReport | None:
    """The report now, with a session of the local tooling (not metered) unless `connection` is given."""
    import time

    from local_stack.services import endpoints as local_endpoints

    own = connection is None
    connection = connection or local_endpoints.connect_snowflake(endpoints)
    try:
        sf = endpoints.snowflake
        loaded = loaded_json_bytes(connection, f"{sf.database}.{sf.schema}.{pipe_target_table()}")
    finally:
        if own:
            connection.close()
    return credit_report(state_dir, time.time(), loaded)


def live_rows(report: CreditReport | None) -> list[tuple[str, str]]:
    """Rows for `make demo`'s live table."""
    if report is None:
        return [("estimated credits", "- (the local Snowflake has not metered yet)")]
    rows = [
        (f"credits: {c.consumer}", f"{c.credits:.3g} so far, {c.per_month:,.3g}/month at this rate")
        for c in report.consumers
    ]
    if report.suspended:
        monitor = f"[bold red]{report.warehouse} SUSPENDED by its resource monitor {report.monitor}[/]"
    else:
        monitor = f"{report.warehouse_credits:.4f} of {report.quota or 0:g} credits"
    rows.append((f"warehouse {report.warehouse} (resource monitor)", monitor))
    rows.append(("", f"[dim]{report.label}[/]"))
    return rows
