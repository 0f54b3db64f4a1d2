"""`python -m cost` (`make cost`): what a stack would cost on Snowflake for a usage profile, before deploying it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cost import model
from cost.profile import DEFAULT_PROFILE, ProfileError, UsageProfile, profile
from cost.stack import StackCost

app = typer.Typer(add_completion=False, help=__doc__)
# Wide enough for the tables when stdout is not a terminal (rich then assumes 80 columns).
console = Console(width=120)
LABEL = "An estimate by the rules cited in cost/rules.py, not a bill."


def _month(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date().replace(day=1)
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a month like 2026-12") from None


def _describe(stack: StackCost, usage: UsageProfile) -> str:
    refresh = usage.refresh_seconds or stack.refresh_seconds
    schedule = usage.task_schedule_minutes or stack.task_schedule_minutes
    task = (
        f"serverless (up to {stack.task_size})" if stack.task_serverless else f"on {stack.warehouse}"
    ) + f" every {schedule} min, timeout {stack.task_timeout_seconds:g} s"
    return (
        f"warehouse {stack.warehouse} {stack.warehouse_size}, auto-suspend {stack.auto_suspend_seconds} s; "
        f"dashboard refresh every {refresh} s ({stack.dashboard_charts} charts); task {task}; "
        f"quota {stack.monthly_quota:g} credits/month ({stack.monitor})"
    )


def print_estimate(stack: StackCost, usage: UsageProfile, month: dt.date) -> model.MonthCost:
    cost = model.simulate_month(usage, stack, month)
    workday = model.simulate_day(
        usage, stack, producer=usage.producer_days_per_week > 0, dashboard=usage.dashboard_days_per_week > 0
    )
    weekend = model.simulate_day(
        usage, stack, producer=usage.producer_days_per_week > 5, dashboard=usage.dashboard_days_per_week > 5
    )
    table = Table(title=f"Snowflake credits: stack {stack.stack}, profile {usage.name} ({usage.description})")
    for column in ("consumer", "workday", "weekend day", f"{month:%B %Y}", "monitor counts it"):
        table.add_column(column, justify="left" if column == "consumer" else "right")
    monitored = {model.DASHBOARDS: True, model.TRANSFORMATION: not stack.task_serverless}
    for consumer in model.CONSUMERS:
        table.add_row(
            consumer,
            f"{workday.credits[consumer]:.3f}",
            f"{weekend.credits[consumer]:.3f}",
            f"{cost.credits[consumer]:.2f}",
            "yes" if monitored.get(consumer) else "no",
        )
    table.add_row("total", f"{sum(workday.credits.values()):.3f}", f"{sum(weekend.credits.values()):.3f}",
                  f"{cost.total:.2f}", "", style="bold")  # fmt: skip
    console.print(_describe(stack, usage))
    console.print(table)
    share = cost.monitored / stack.monthly_quota
    runs_out = cost.quota_runs_out
    if runs_out is None:
        console.print(
            f"quota: the monitor counts {cost.monitored:.2f} of {stack.monthly_quota:g} credits ({share:.0%}): "
            f"[green]it lasts {month:%B %Y}[/]"
        )
    else:
        next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        console.print(
            f"quota: [bold red]runs out on {runs_out:%a %d %b %Y}[/]: the monitor suspends {stack.warehouse}, "
            f"the dashboards stop until {next_month:%d %b} (it would count {cost.monitored:.2f} of "
            f"{stack.monthly_quota:g} credits, {share:.0%})"
        )
    days = len(cost.days)
    if stack.task_serverless:
        ceiling = model.serverless_ceiling(usage, stack, days)
        console.print(
            f"serverless task, not under the monitor: at most {ceiling:.1f} credits "
            f"this month (every run just under its {stack.task_timeout_seconds:g} s timeout on {stack.task_size})"
        )
    console.print(
        f"storage: {model.stored_gigabytes(usage, days):.2f} GB compressed after {days} days "
        "(billed per TB-month in currency, not in credits)"
    )
    console.print(f"[dim]{LABEL} Assumptions: cost/model.py and cost/profiles.yaml.[/]")
    return cost


def print_candidates(stack: StackCost, usage: UsageProfile, month: dt.date) -> None:
    """The transformation's compute options side by side, for the same profile and month."""
    schedule = usage.task_schedule_minutes or stack.task_schedule_minutes
    unscheduled = dataclasses.replace(usage, task_schedule_minutes=None)
    no_dashboard = dataclasses.replace(unscheduled, dashboard_hours_per_day=0)
    candidates = [
        ("POC warehouse, every 1 min (before)", dataclasses.replace(stack, task_serverless=False,
         task_size=stack.warehouse_size, task_schedule_minutes=1), unscheduled, True),
        (f"POC warehouse, every {schedule} min", dataclasses.replace(stack, task_serverless=False,
         task_size=stack.warehouse_size, task_schedule_minutes=schedule), unscheduled, True),
        (f"own XSMALL warehouse + monitor, every {schedule} min", dataclasses.replace(stack, task_serverless=False,
         warehouse_size="XSMALL", task_size="XSMALL", task_schedule_minutes=schedule), no_dashboard, False),
        (f"serverless XSMALL, every {schedule} min", dataclasses.replace(stack, task_serverless=True,
         task_size="XSMALL", task_schedule_minutes=schedule), unscheduled, False),
        ("serverless XSMALL, every 60 min", dataclasses.replace(stack, task_serverless=True, task_size="XSMALL",
         task_schedule_minutes=60), unscheduled, False),
    ]  # fmt: skip
    table = Table(title=f"transformation compute for profile {usage.name}, {month:%B %Y}")
    for column in ("candidate", "transformation credits", "dashboards then", "dashboards stop with the task's cap"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    dashboards_alone = model.simulate_month(
        usage, dataclasses.replace(stack, task_serverless=True, task_size="XSMALL"), month
    ).credits[model.DASHBOARDS]
    for label, variant, variant_usage, shared in candidates:
        cost = model.simulate_month(variant_usage, variant, month)
        dashboards = cost.credits[model.DASHBOARDS] if shared else dashboards_alone
        table.add_row(label, f"{cost.credits[model.TRANSFORMATION]:.2f}", f"{dashboards:.2f}",
                      "yes: one monitor" if shared else "no")  # fmt: skip
    console.print(table)


@app.command()
def main(
    stack: Annotated[str, typer.Option(help="the stack whose Pulumi.<stack>.yaml to price")] = "dev",
    profile_name: Annotated[str, typer.Option("--profile", help="a profile of cost/profiles.yaml")] = DEFAULT_PROFILE,
    refresh_seconds: Annotated[int | None, typer.Option(help="dashboard refresh instead of the asset's")] = None,
    schedule_minutes: Annotated[int | None, typer.Option(help="task schedule instead of the stack's")] = None,
    month: Annotated[str | None, typer.Option(help="YYYY-MM; default: this month (UTC)")] = None,
    compare: Annotated[bool, typer.Option(help="also compare the transformation's compute options")] = False,
) -> None:
    """Credits a day and a month per consumer, and the day the quota would run out."""
    from cost.stack import read_stack
    from infra.config import ConfigError
    from local_stack.engine.program_runner import StackConfigError

    first = _month(month)
    try:
        usage = profile(profile_name).with_overrides(
            refresh_seconds=refresh_seconds, task_schedule_minutes=schedule_minutes
        )
        stack_cost = read_stack(stack)
    except (ProfileError, ConfigError, StackConfigError, ValueError) as err:
        console.print(f"[bold red]error:[/] {err}")
        raise typer.Exit(1) from None
    print_estimate(stack_cost, usage, first)
    if compare:
        print_candidates(stack_cost, usage, first)
