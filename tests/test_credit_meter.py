"""The local credit meter and resource monitor on a scripted timeline of statements (no emulator).

Expected credits are worked by hand from the rules (XSMALL = 1 credit/hour,
60 s minimum per resume, AUTO_SUSPEND 60 s, serverless 0.9 per XSMALL-hour
in whole seconds).
"""

from __future__ import annotations

import dataclasses

import pytest
import snowflake.connector.errors

from local_stack.emulators.credit_meter import CreditMeter, MeterSettings, read_state, write_state

SETTINGS = MeterSettings(
    warehouse="ECOMMERCE_POC_WH",
    size="XSMALL",
    auto_suspend=60,
    monitor="ECOMMERCE_POC_WH_MONITOR",
    quota=0.06,  # 216 warehouse-seconds on XSMALL
    suspend_at_percent=100,
    task_serverless=True,
    task_size="XSMALL",
)
DASHBOARD = "ECOMMERCE_POC_DASHBOARD"
CHART = "SELECT category, SUM(price) FROM enriched_events GROUP BY category"
LOAD = "INSERT INTO ecommerce_events SELECT * FROM staged_events"
MERGE = "MERGE INTO session_funnel USING staged ON session_funnel.id = staged.id WHEN MATCHED THEN UPDATE SET n = 1"
HAS_DATA = "SELECT COUNT(*) FROM stream_offsets"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(meter: CreditMeter, user: str, statement: str, start: float, end: float) -> None:
    meter.before(user, statement)
    meter.after(user, statement, start, end)


@pytest.fixture
def timeline():
    clock = Clock()
    meter = CreditMeter(lambda: SETTINGS, clock)
    run(meter, DASHBOARD, CHART, 0, 2)  # resumes the warehouse: session 0 .. 2 + 60 = 62 s
    run(meter, DASHBOARD, CHART, 100, 101)  # same text, nothing written since: result cache, no warehouse
    run(meter, "snowpipe", LOAD, 110, 111)  # Snowpipe: serverless, per GB; changes the data
    run(meter, DASHBOARD, CHART, 150, 152)  # new data: session 150 .. 212 = 62 s
    run(meter, "task-runner", HAS_DATA, 200.0, 200.5)  # serverless run 200.0 .. 203.4
    run(meter, "task-runner", MERGE, 200.6, 203.4)
    run(meter, "task-runner", HAS_DATA, 210.0, 210.1)  # a run that wrote nothing: the WHEN check
    run(meter, "task-runner", HAS_DATA, 250.0, 250.1)
    run(meter, "demo", CHART, 300, 301)  # the demo's own live view: local tooling, not metered
    return meter, clock


def test_warehouse_sessions_serverless_runs_and_the_result_cache(timeline):
    meter, clock = timeline
    clock.now = 320
    state = meter.state()
    # Two sessions of 62 s, all the dashboards'; the repeat at 100 s was a cache hit.
    assert state.credits["dashboards"] == pytest.approx(124 / 3600)
    # 3.4 s rounds up to 4 s: 4 / 3600 * 0.9 = 0.001; the runs that wrote nothing are not billed.
    assert state.credits["transformation"] == pytest.approx(0.001)
    assert set(state.credits) == {"dashboards", "transformation"}, "Snowpipe is per GB; the demo is not metered"
    assert not state.suspended


def test_the_monitor_suspends_at_the_quota_and_refuses_with_snowflakes_message(timeline, tmp_path):
    meter, clock = timeline
    # The MERGE changed data: a new session, billed at once with its 60 s minimum: 124 + 60 = 184 s < 216.
    run(meter, DASHBOARD, CHART, 400, 401)
    assert meter.suspended_at is None
    # 401 + 60 = 461 < 470: that session was 61 s; a fourth bills 60 s at once: 124 + 61 + 60 = 245 s >= 216.
    run(meter, "smoke", "SELECT 2 FROM enriched_events", 470, 471)
    assert meter.suspended_at == 471
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as refused:
        meter.before(DASHBOARD, "SELECT product_id FROM enriched_events")
    assert refused.value.errno == 90073
    # The connector's form, as third parties quote it from real accounts: "090073 (22000): Warehouse ...".
    assert refused.value.msg == (
        "090073 (22000): Warehouse 'ECOMMERCE_POC_WH' cannot be resumed because resource monitor "
        "'ECOMMERCE_POC_WH_MONITOR' has exceeded its quota."
    )
    meter.before(DASHBOARD, "SHOW TABLES")  # metadata: cloud services, no warehouse
    meter.before(DASHBOARD, CHART)  # unchanged since 400 s: served from the result cache
    meter.before("demo", "SELECT product_id FROM enriched_events")  # local tooling is never refused
    clock.now = 500
    write_state(tmp_path, meter.state())
    state = read_state(tmp_path)
    assert state is not None and state.suspended and state.warehouse_credits == pytest.approx(245 / 3600)


def test_the_deploy_records_give_the_warehouse_its_monitor_and_a_serverless_task():
    records = [
        {"type": "snowflake:index/resourceMonitor:ResourceMonitor", "name": "m",
         "inputs": {"name": "MON", "creditQuota": 30, "suspendTrigger": 100}},
        {"type": "snowflake:index/warehouse:Warehouse", "name": "w",
         "inputs": {"name": "WH", "warehouseSize": "XSMALL", "autoSuspend": 60, "resourceMonitor": "MON"}},
        {"type": "snowflake:index/task:Task", "name": "t", "inputs": {"serverlessTaskMaxStatementSize": "XSMALL"}},
    ]  # fmt: skip
    assert MeterSettings.from_records(records) == MeterSettings("WH", "XSMALL", 60, "MON", 30.0, 100, True, "XSMALL")
    assert MeterSettings.from_records([]) is None


def test_the_report_adds_snowpipe_per_gigabyte_and_the_monthly_rate(timeline, tmp_path):
    from local_stack.emulators.credit_report import credit_report, live_rows

    meter, clock = timeline
    clock.now = 320
    write_state(tmp_path, meter.state())
    # 2 GB loaded: 2 * 0.0037 = 0.0074 credits; metered for 3600 s, so 0.0074 * 720 = 5.328 a 30-day month.
    report = credit_report(tmp_path, now=3600, loaded_bytes=2_000_000_000)
    snowpipe = next(c for c in report.consumers if c.consumer == "Snowpipe")
    assert (snowpipe.credits, snowpipe.per_month) == (pytest.approx(0.0074), pytest.approx(5.328))
    rows = dict(live_rows(report))
    assert rows["warehouse ECOMMERCE_POC_WH (resource monitor)"] == "0.0344 of 0.06 credits"  # 124 s so far
    assert "not a bill" in rows[""]


def test_a_raised_quota_lets_the_warehouse_resume_and_keeps_its_count(timeline):
    meter, clock = timeline
    settings = [SETTINGS]
    meter._settings = lambda: settings[0]
    run(meter, DASHBOARD, CHART, 400, 401)
    run(meter, "smoke", "SELECT 2 FROM enriched_events", 470, 471)  # 245 s >= 216: suspended
    assert meter.suspended_at == 471
    # ALTER RESOURCE MONITOR ... SET CREDIT_QUOTA = 1 (3600 s): resumes; the 245 s already used still count.
    settings[0] = dataclasses.replace(SETTINGS, quota=1.0)
    clock.now = 500
    meter.before(DASHBOARD, "SELECT product_id FROM enriched_events")
    assert meter.suspended_at is None
    assert meter.state().warehouse_credits == pytest.approx(245 / 3600)
