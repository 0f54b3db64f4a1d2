"""`python -m local_stack.streaming --state-dir .local --port N`: the Snowpipe Streaming emulator as the stack runs it.

A tracked process of the local stack (local_stack/stack.py starts it after
the deploy); SIGTERM stops it once queued appends are committed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from local_stack.errors import LocalStackError
from local_stack.services import processes
from local_stack.streaming.emulator import serve

log = logging.getLogger("local_stack.streaming")
app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def emulator(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")],
    state_dir: Annotated[Path, typer.Option(help="directory with endpoints.json and snowflake_objects.json")] = Path(
        ".local"
    ),
    account: Annotated[str, typer.Option(help="account identifier producers' JWTs must name")] = "LOCAL",
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("snowflake.connector", "werkzeug", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop = processes.stop_on_signals(log, "queued commits")
    try:
        serve(state_dir.resolve(), port, account, stop)
    except LocalStackError as err:
        raise SystemExit(str(err)) from None


if __name__ == "__main__":
    app()
