"""The cost model's arithmetic on cases worked by hand from Snowflake's billing rules (cost/rules.py cites them).

Every expected number below is computed in the comment next to it from the
rule alone: XSMALL = 1 credit/hour, per-second billing with a 60 s minimum
per resume, serverless tasks 0.9 credits per XSMALL-hour in whole seconds,
Snowpipe 0.0037 credits/GB, cloud services free up to 10 % of the day's
warehouse credits.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cost import model, rules
from cost.billing import WarehouseQuery, bill_warehouse
from cost.profile import ProfileError, UsageProfile, load_profiles
from cost.stack import StackCost


def test_a_short_query_on_a_suspended_warehouse_bills_the_60_second_minimum():
    # 10 s of work, no auto-suspend wait: 60 s billed = 60/3600 credit on XSMALL.
    bill = bill_warehouse([WarehouseQuery("a", 0, 10)], auto_suspend=0, size="XSMALL")
    assert bill.billed_seconds == 60
    assert bill.credits == pytest.approx(1 / 60)


def test_after_the_first_minute_billing_is_per_second():
    # 90 s of work on SMALL (2 credits/hour): 90/3600 * 2 = 0.05 credits.
    bill = bill_warehouse([WarehouseQuery("a", 0, 90)], auto_suspend=0, size="SMALL")
    assert bill.billed_seconds == 90
    assert bill.credits == pytest.approx(0.05)


def test_a_query_every_50_seconds_keeps_a_60_second_auto_suspend_warehouse_awake():
    # 72 one-second queries at 0, 50, ..., 3550: each arrives within 60 s of the previous end,
    # so one session from 0 to 3551 + 60 = 3611 s: 3611/3600 credits on XSMALL.
    queries = [WarehouseQuery("dashboards", t, t + 1) for t in range(0, 3600, 50)]
    bill = bill_warehouse(queries, auto_suspend=60, size="XSMALL")
    assert bill.sessions == [(0, 3611)]
    assert bill.credits == pytest.approx(3611 / 3600)


def test_a_query_every_70_seconds_lets_it_suspend_between_them():
    # One-second queries at 0, 70, ..., 3570 (52 of them): each session is 1 + 60 = 61 s, billed as is.
    queries = [WarehouseQuery("dashboards", t, t + 1) for t in range(0, 3600, 70)]
    bill = bill_warehouse(queries, auto_suspend=60, size="XSMALL")
    assert len(bill.sessions) == 52
    assert bill.billed_seconds == 52 * 61


def test_a_shared_session_is_split_by_each_consumers_query_time():
    # One session 0..(40 + 60) = 100 s; dashboards busy 10 s, transformation 30 s: 25 and 75 billed seconds.
    queries = [WarehouseQuery("dashboards", 0, 10), WarehouseQuery("transformation", 10, 40)]
    bill = bill_warehouse(queries, auto_suspend=60, size="XSMALL")
    assert bill.credits_by_consumer == pytest.approx({"dashboards": 25 / 3600, "transformation": 75 / 3600})


def test_serverless_task_runs_bill_whole_seconds_times_the_multiplier_without_a_minimum():
    # 10 s on XSMALL: 10/3600 * 0.9 = 0.0025; 10.2 s rounds up to 11 s: 0.00275; 1 s is not raised to 60 s.
    assert rules.serverless_task_credits(10, "XSMALL") == pytest.approx(0.0025)
    assert rules.serverless_task_credits(10.2, "XSMALL") == pytest.approx(0.00275)
    assert rules.serverless_task_credits(1, "XSMALL") == pytest.approx(0.00025)


def test_snowpipe_bills_per_gigabyte_and_cloud_services_only_above_a_tenth_of_warehouse_credits():
    assert rules.snowpipe_credits(2_000_000_000) == pytest.approx(0.0074)
    assert rules.billed_cloud_services(0.15, warehouse_compute=1.0) == pytest.approx(0.05)
    assert rules.billed_cloud_services(0.05, warehouse_compute=1.0) == 0


def _stack(**changes) -> StackCost:
    values = dict(
        stack="test", warehouse="WH", warehouse_size="XSMALL", auto_suspend_seconds=60, monitor="WH_MONITOR",
        monthly_quota=30, task_serverless=True, task_size="XSMALL", task_schedule_minutes=15,
        task_timeout_seconds=60, refresh_seconds=10, dashboard_charts=11,
    )  # fmt: skip
    return StackCost(**{**values, **changes})


def _profile(**changes) -> UsageProfile:
    values = dict(
        name="test", description="", events_per_second=10, producer_hours_per_day=24, producer_days_per_week=7,
        dashboard_hours_per_day=8, dashboard_days_per_week=5, bytes_per_event=219, dashboard_query_seconds=2,
        task_run_seconds=10, cloud_services_seconds_per_query=0, stored_bytes_per_event=80,
    )  # fmt: skip
    return UsageProfile(**{**values, **changes})


def test_a_dashboard_refreshing_every_10_s_runs_the_warehouse_all_the_hours_it_is_open():
    # Refreshes at 09:00:00 ... 16:59:50, each 2 s, never 60 s apart: one session from 09:00:00 to
    # 16:59:52 + 60 s, i.e. 8 h + 52 s = 28852 s = 8.0144 credits.
    day = model.simulate_day(_profile(), _stack(), producer=True, dashboard=True)
    assert day.credits[model.DASHBOARDS] == pytest.approx(28852 / 3600)


def test_new_data_defeats_the_result_cache_and_no_data_needs_no_warehouse():
    # Refresh every 600 s for 8 h: 48 refreshes, each its own 2 + 60 = 62 s session: 48 * 62 s.
    busy = model.simulate_day(_profile(), _stack(refresh_seconds=600), producer=True, dashboard=True)
    assert busy.credits[model.DASHBOARDS] == pytest.approx(48 * 62 / 3600)
    idle = model.simulate_day(_profile(), _stack(refresh_seconds=600), producer=False, dashboard=True)
    assert idle.credits[model.DASHBOARDS] == 0, "no new events: every refresh is a result-cache hit"


def test_the_task_every_minute_on_the_poc_warehouse_costs_24_credits_a_day():
    # The case: 1440 runs of 10 s, 50 s apart < 60 s auto-suspend: awake all day, 24 credits on XSMALL.
    day = model.simulate_day(
        _profile(dashboard_hours_per_day=0),
        _stack(task_serverless=False, task_schedule_minutes=1),
        producer=True,
        dashboard=False,
    )
    assert day.credits[model.TRANSFORMATION] == pytest.approx(24, abs=0.02)


def test_the_serverless_task_every_15_minutes_costs_96_runs_a_day():
    # 96 runs * 10 s * 0.9 / 3600 = 0.24 credits a day.
    day = model.simulate_day(_profile(), _stack(), producer=True, dashboard=False)
    assert day.credits[model.TRANSFORMATION] == pytest.approx(0.24)


def test_the_quota_runs_out_on_the_day_the_monitor_count_reaches_it():
    # December 2026 starts on a Tuesday. 8.0144 credits per workday (10 s refresh), none on weekends:
    # Tue 1 -> 8.01, Wed 2 -> 16.03, Thu 3 -> 24.04, Fri 4 -> 32.06 >= 30: suspended on 4 Dec.
    month = model.simulate_month(_profile(), _stack(), dt.date(2026, 12, 1))
    assert month.quota_runs_out == dt.date(2026, 12, 4)
    # At 600 s: 23 workdays * 48 * 62 s = 19.01 credits, under 30: it lasts.
    assert model.simulate_month(_profile(), _stack(refresh_seconds=600), dt.date(2026, 12, 1)).quota_runs_out is None


def test_the_serverless_ceiling_is_every_run_at_its_timeout():
    # 30 days * 96 runs * 60 s * 0.9 / 3600 = 43.2 credits.
    assert model.serverless_ceiling(_profile(), _stack(), days=30) == pytest.approx(43.2)
    # Every 60 min: 30 * 24 runs * 60 s * 0.9 / 3600 = 10.8.
    assert model.serverless_ceiling(_profile(task_schedule_minutes=60), _stack(), days=30) == pytest.approx(10.8)


def test_the_shipped_profiles_load_and_a_bad_value_names_its_field(tmp_path):
    assert {"poc", "wall-screen", "office-demo"} <= set(load_profiles())
    bad = tmp_path / "profiles.yaml"
    bad.write_text("x:\n  description: d\n  events_per_second: -1\n")
    with pytest.raises(ProfileError, match=r"lacks .*bytes_per_event"):
        load_profiles(bad)
    with pytest.raises(ProfileError, match="events_per_second: must be a number from 0"):
        _profile().with_overrides(events_per_second=-1)


def test_read_stack_prices_what_the_dev_program_declares():
    """`make cost`'s reading of the program (Pulumi.yaml defaults under Pulumi.dev.yaml), in the mock runtime."""
    from cost.stack import read_stack

    priced = read_stack("dev")
    assert (priced.warehouse, priced.warehouse_size, priced.auto_suspend_seconds) == ("ECOMMERCE_DEV_WH", "XSMALL", 60)
    assert (priced.monitor, priced.monthly_quota) == ("ECOMMERCE_DEV_WH_MONITOR", 30.0)
    assert (priced.task_serverless, priced.task_schedule_minutes, priced.task_timeout_seconds) == (True, 15, 60.0)
    assert priced.refresh_seconds == 600
