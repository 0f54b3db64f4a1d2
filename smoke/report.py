"""The smoke run as a short rich table, then the failing step's cause and fix."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from smoke.checks import CheckResult, SmokeRun

_MARK = {True: "[green]pass[/]", False: "[bold red]FAIL[/]", None: "[yellow]skip[/]"}


def table(run: SmokeRun) -> Table:
    shown = Table(title=f"smoke: {run.target.description}", title_justify="left")
    shown.add_column("check")
    shown.add_column("result")
    shown.add_column("time", justify="right")
    shown.add_column("detail", overflow="fold")
    for result in run.results:
        shown.add_row(result.name, _MARK[result.passed], f"{result.seconds:.2f} s", result.detail)
    return shown


def print_run(run: SmokeRun, console: Console) -> None:
    console.print(table(run))
    failure: CheckResult | None = run.failure
    if failure is None:
        latency = f"{run.latency_seconds:.2f} s" if run.latency_seconds is not None else "-"
        console.print(f"[green]smoke passed[/]: put → visible in {latency}")
        return
    console.print(f"[bold red]smoke failed at '{failure.name}'[/]", soft_wrap=True)
    if failure.finding is not None:
        # Not wrapped: a cause or fix is copied as it is (ARNs, commands).
        console.print(f"  likely cause: {failure.finding.cause}", soft_wrap=True, markup=False)
        console.print(f"  fix:          {failure.finding.fix}", soft_wrap=True, markup=False)
