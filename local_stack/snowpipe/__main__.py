"""`python -m local_stack.snowpipe --state-dir .local [--status]`: the worker as the local stack starts it."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from typing import Any

from local_stack import snowpipe
from local_stack.processes import LocalStackError
from local_stack.snowpipe.status_report import status
from local_stack.snowpipe.worker import run

log = logging.getLogger("local_stack.snowpipe")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.snowpipe", description=snowpipe.__doc__.splitlines()[0]
    )
    parser.add_argument("--state-dir", default=".local", help="directory with pipes.json and endpoints.json")
    parser.add_argument("--status", action="store_true", help="print every file each pipe has seen, as JSON, and exit")
    parser.add_argument("--wait-seconds", type=int, default=1, help="SQS long-poll wait (default 1)")
    parser.add_argument(
        "--visibility-timeout", type=int, default=30, help="seconds before an unfinished message returns"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("snowflake.connector", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.status:
            print(json.dumps(status(args.state_dir), indent=2, default=str))
        else:
            _run_until_signalled(args)
    except LocalStackError as err:  # no endpoints.json: the message says how to start the stack
        raise SystemExit(str(err)) from None


def _run_until_signalled(args: argparse.Namespace) -> None:
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("received %s, finishing the current file", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run(args.state_dir, stop=stop, wait_seconds=args.wait_seconds, visibility_timeout=args.visibility_timeout)


if __name__ == "__main__":
    main()
