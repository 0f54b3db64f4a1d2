"""`python -m local_stack.snowpipe --state-dir .local`: the worker as the local stack starts it.

A process entry point of its own (the stack tracks it, and SYSTEM$PIPE_STATUS
recognises it, by this module name), written with the same typer toolkit as
local_stack/cli.py; its status is `python -m local_stack.cli status`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from local_stack.errors import LocalStackError
from local_stack.services import processes
from local_stack.snowpipe.worker import run

log = logging.getLogger("local_stack.snowpipe")
app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def worker(
    state_dir: Annotated[Path, typer.Option(help="directory with pipes.json and endpoints.json")] = Path(".local"),
    wait_seconds: Annotated[int, typer.Option(help="SQS long-poll wait")] = 1,
    visibility_timeout: Annotated[int, typer.Option(help="seconds before an unfinished message returns")] = 30,
) -> None:
    """Load every file the pipes' queues announce until SIGTERM/SIGINT (the current batch finishes first)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("snowflake.connector", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop = processes.stop_on_signals(log, "the current batch")
    try:
        run(str(state_dir), stop=stop, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout)
    except LocalStackError as err:  # no endpoints.json: the message says how to start the stack
        raise SystemExit(str(err)) from None


if __name__ == "__main__":
    app()
