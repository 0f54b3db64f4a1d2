"""The local Snowflake: a fakesnow server with our compatibility shims installed.

`python -m local_stack.emulators.snowflake_server --port P` serves the Snowflake wire
protocol on 127.0.0.1:P until SIGTERM/SIGINT. All sessions (deploy, Snowpipe
worker, Superset) share one in-memory DuckDB that lives as long as the
process: every `make local-up` starts from empty databases, which fakesnow
needs (it creates a catalog for any database name a session mentions).

`--allow-reset` adds POST /local/reset {"state_dir": ...}: the account emptied
and the server pointed at another stack, as moto's /moto-api/reset empties moto.
The strict-target tests use it to share one server per module.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

import fakesnow

from local_stack.emulators import credit_meter_server, describe_cache, fakesnow_compat

RESET_PATH = "/local/reset"


def reset(state_dir: Path, cache: describe_cache.DescribeCache, metering: credit_meter_server.Metering) -> None:
    """Every session closed, every database gone, the pipes and the meter those of the stack in `state_dir`."""
    from fakesnow.instance import FakeSnow

    server = sys.modules["fakesnow.server"]
    for connection in list(server.sessions.values()):
        connection.close()
    server.sessions.clear()
    emptied, server.shared_fs = server.shared_fs, FakeSnow()
    emptied.duck_conn.close()
    cache.forget()
    fakesnow_compat.install(state_dir)
    metering.serve(state_dir)


def _add_reset_route(cache: describe_cache.DescribeCache, metering: credit_meter_server.Metering) -> None:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def reset_request(request: Request) -> JSONResponse:
        state_dir = Path((await request.json())["state_dir"])
        if not state_dir.is_dir():
            return JSONResponse({"success": False, "message": f"state_dir {state_dir} is not a directory"}, 400)
        await run_in_threadpool(reset, state_dir, cache, metering)
        return JSONResponse({"success": True})

    sys.modules["fakesnow.server"].app.router.routes.append(Route(RESET_PATH, reset_request, methods=["POST"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, help="the local stack whose pipes and credits this server serves")
    parser.add_argument("--allow-reset", action="store_true", help=f"serve POST {RESET_PATH} (tests)")
    args = parser.parse_args()

    # The meter imports the fakesnow.server module, which replaces the package's server() function attribute.
    serve = fakesnow.server
    fakesnow_compat.install(args.state_dir)
    cache = describe_cache.install()
    if args.state_dir is not None:
        metering = credit_meter_server.install(args.state_dir)
        if args.allow_reset:
            _add_reset_route(cache, metering)
    elif args.allow_reset:
        parser.error("--allow-reset needs --state-dir: a reset points the server at another stack")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with serve(port=args.port, host="127.0.0.1"):
        stop.wait()


if __name__ == "__main__":
    main()
