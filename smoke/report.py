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


def print_preflight(findings: list, console: Console) -> None:
    """One row per preflight check; a failed one with its fix."""
    rows = Table(title="preflight: before the first `pulumi up`")
    for column in ("check", "result", "detail", "fix"):
        rows.add_column(column, overflow="fold")
    marks = {True: "[green]ok[/]", False: "[bold red]FAIL[/]", None: "[yellow]by hand[/]"}
    for f in findings:
        rows.add_row(f.check, marks[f.ok], f.detail, "" if f.ok else f.fix)
    console.print(rows)
    failed = [f.check for f in findings if f.ok is False]
    console.print(f"[bold red]not ready:[/] {', '.join(failed)}" if failed else "[green]ready for `pulumi up`[/]")
