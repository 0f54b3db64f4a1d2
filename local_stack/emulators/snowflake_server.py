"""The local Snowflake: a fakesnow server with our compatibility shims installed.

`python -m local_stack.emulators.snowflake_server --port P` serves the Snowflake wire
protocol on 127.0.0.1:P until SIGTERM/SIGINT. All sessions (deploy, Snowpipe
worker, Superset) share one in-memory DuckDB that lives as long as the
process: every `make local-up` starts from empty databases, which fakesnow
needs (it creates a catalog for any database name a session mentions).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

import fakesnow

from local_stack.emulators import credit_meter_server, describe_cache, fakesnow_compat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, help="the local stack whose pipes SYSTEM$PIPE_STATUS describes")
    args = parser.parse_args()

    # The meter imports the fakesnow.server module, which replaces the package's server() function attribute.
    serve = fakesnow.server
    fakesnow_compat.install(args.state_dir)
    describe_cache.install()
    if args.state_dir is not None:
        credit_meter_server.install(args.state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with serve(port=args.port, host="127.0.0.1"):
        stop.wait()


if __name__ == "__main__":
    main()
