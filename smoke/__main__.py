"""`python -m smoke [--stack NAME]`: prove a stack end to end (what `make smoke [STACK=name]` runs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from smoke import checks, report

PROJECT_DIR = Path(__file__).resolve().parent.parent
app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    stack: Annotated[
        str | None,
        typer.Option(envvar="STACK", help="a real stack (pulumi stack output); default: the local stack"),
    ] = None,
    state_dir: Annotated[Path, typer.Option(help="the local stack's state dir")] = PROJECT_DIR / ".local",
    timeout: Annotated[
        float | None, typer.Option(min=1, help="seconds to wait for the canary (default: 30 local, 180 real)")
    ] = None,
    preflight: Annotated[
        bool, typer.Option("--preflight", help="check the account is ready for a first `pulumi up` instead")
    ] = False,
) -> None:
    """Pipe status, canary put, canary visible in ENRICHED_EVENTS, Superset chart; exit 0 only if all pass."""
    console = Console()
    if preflight:
        raise typer.Exit(_preflight(stack, state_dir, console))
    try:
        if stack:
            from smoke.cloud_target import CloudTargetError, cloud_target

            try:
                target = cloud_target(stack, timeout=timeout or 180.0)
            except CloudTargetError as err:
                raise _StartError(str(err)) from None
        else:
            from local_stack.errors import LocalStackError
            from smoke.local_target import local_target

            try:
                target = local_target(state_dir, timeout=timeout or 30.0)
            except LocalStackError as err:
                raise _StartError(str(err)) from None
    except _StartError as err:
        console.print(f"[bold red]smoke cannot start:[/] {err}")
        raise typer.Exit(2) from None
    console.print(f"smoke test of {target.description} ...")
    run = checks.run(target)
    report.print_run(run, console)
    raise typer.Exit(0 if run.passed else 1)


class _StartError(Exception):
    pass


def _preflight(stack: str | None, state_dir: Path, console: Console) -> int:
    from local_stack.engine.program_runner import StackConfigError, stack_config
    from smoke import preflight

    try:
        config = stack_config(stack or "local", PROJECT_DIR, skip_secrets=True)
    except StackConfigError as err:
        console.print(f"[bold red]preflight cannot start:[/] {err}")
        return 2
    if stack:
        probe: preflight.AccountProbe = preflight.SnowflakeAccountProbe()
        cli = preflight.installed_pulumi_cli()
    else:
        probe, cli = preflight.LocalAccountProbe(state_dir), None
    findings = preflight.run_checks(config, probe, os.environ, cli, needs_cli=bool(stack))
    report.print_preflight(findings, console)
    return 0 if all(f.ok is not False for f in findings) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
