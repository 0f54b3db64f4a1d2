"""Bringing the whole local stack up and down.

up:   moto + fakesnow (+ Superset) on 127.0.0.1, the UNCHANGED Pulumi program
      deployed onto them through the mock runtime (LocalCloud), then the local
      Snowpipe worker. Writes .local/endpoints.json.
down: stops every process `up` started, by PID, and checks the ports are free.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack import processes
from local_stack.processes import LocalStackError

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_DIR / ".local"
LOCAL_STACK = "local"
# Files of one stack's life; caches (the Superset venv and home) survive.
_RUN_FILES = ("endpoints.json", "pipes.json", "snowflake_objects.json", "deploy.json")


@dataclass
class LocalStackSettings:
    state_dir: Path = DEFAULT_STATE_DIR
    moto_port: int = 0
    snowflake_port: int = 0
    superset: bool = True
    superset_port: int = 8088

    @classmethod
    def from_environment(cls, state_dir: Path = DEFAULT_STATE_DIR) -> LocalStackSettings:
        """MOTO_PORT, SNOWFLAKE_PORT, SUPERSET_PORT (0 = any free port) and SUPERSET=0|1."""

        def port(variable: str, default: int) -> int:
            value = os.environ.get(variable, str(default))
            if not value.isdigit() or int(value) > 65535:
                raise LocalStackError(f"{variable}={value!r} is not a port number (0-65535; 0 = any free port)")
            return int(value)

        superset = os.environ.get("SUPERSET", "1")
        if superset not in ("0", "1"):
            raise LocalStackError(f"SUPERSET={superset!r}: use SUPERSET=0 (no Superset) or SUPERSET=1")
        return cls(
            state_dir=state_dir,
            moto_port=port("MOTO_PORT", 0),
            snowflake_port=port("SNOWFLAKE_PORT", 0),
            superset=superset == "1",
            superset_port=port("SUPERSET_PORT", 8088),
        )


Progress = Callable[[str], None]


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return response.status == 200


def _tcp_open(port: int) -> bool:
    return not processes.port_is_free(port)


def up(settings: LocalStackSettings, progress: Progress = print, start_worker: bool = True) -> dict[str, Any]:
    """Starts everything and returns the endpoints; on any failure stops what it started."""
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    running = [p for p in processes.read_tracked(state) if processes.alive(p.pid)]
    if running:
        raise LocalStackError(
            "a local stack is already running ("
            + ", ".join(f"{p.name} pid {p.pid}" for p in running)
            + "): stop it with `make local-down` first"
        )
    for name in _RUN_FILES:
        (state / name).unlink(missing_ok=True)

    moto_port = processes.choose_port(settings.moto_port, "MOTO_PORT", "the S3/SQS/IAM emulator (moto)")
    snowflake_port = processes.choose_port(settings.snowflake_port, "SNOWFLAKE_PORT", "the Snowflake emulator")
    superset_port = (
        processes.choose_port(settings.superset_port, "SUPERSET_PORT", "Superset") if settings.superset else None
    )
    python = sys.executable
    try:
        started = time.monotonic()
        progress(f"starting moto on 127.0.0.1:{moto_port} and fakesnow on 127.0.0.1:{snowflake_port}")
        moto = processes.start(
            state, "moto", [python, "-m", "local_stack.moto_server", "-H", "127.0.0.1", "-p", str(moto_port)], moto_port
        )
        fakesnow = processes.start(
            state, "fakesnow", [python, "-m", "local_stack.snowflake_server", "--port", str(snowflake_port)],
            snowflake_port,
        )  # fmt: skip
        s3_endpoint = f"http://127.0.0.1:{moto_port}"
        processes.wait_ready(moto, lambda: _http_ok(f"{s3_endpoint}/moto-api/"), timeout=30)
        processes.wait_ready(fakesnow, lambda: _tcp_open(snowflake_port), timeout=30)

        overrides: dict[str, str] = {}
        superset_endpoint: dict[str, Any] = {}
        if superset_port is not None:
            superset_endpoint = _start_superset(state, superset_port, progress)
            # Only the connection differs from a cloud stack: Superset's
            # Snowflake driver goes to fakesnow, which accepts any password.
            overrides = {
                "ecommerce-analytics:supersetUrl": superset_endpoint["superset_url"],
                "ecommerce-analytics:supersetUsername": superset_endpoint["superset_username"],
                "ecommerce-analytics:supersetPassword": superset_endpoint["superset_password"],
                "ecommerce-analytics:supersetSnowflakeHost": "127.0.0.1",
                "ecommerce-analytics:supersetSnowflakePort": str(snowflake_port),
                "ecommerce-analytics:supersetSnowflakeProtocol": "http",
                "ecommerce-analytics:supersetSnowflakePassword": "local-emulator",
            }

        progress("deploying the Pulumi program (Pulumi.local.yaml) onto the emulators")
        deploy_started = time.monotonic()
        run = deploy(state, s3_endpoint, snowflake_port, overrides)
        progress(f"deployed {len(run['resources'])} resources in {time.monotonic() - deploy_started:.1f} s")

        endpoints = {
            "s3_endpoint_url": s3_endpoint,
            "region": run["exports"]["aws_region"],
            "bucket": run["exports"]["bucket"],
            "events_prefix": run["exports"]["events_prefix"],
            "snowflake": {
                "host": "127.0.0.1",
                "port": snowflake_port,
                "protocol": "http",
                "database": run["exports"]["database"],
                "schema": run["exports"]["schema"],
            },
            **superset_endpoint,
            **({"dashboard_url": run["exports"]["dashboard_url"]} if "dashboard_url" in run["exports"] else {}),
        }
        (state / "endpoints.json").write_text(json.dumps(endpoints, indent=2))
        os.chmod(state / "endpoints.json", 0o600)

        if start_worker:
            progress("starting the local Snowpipe worker")
            worker = processes.start(
                state, "snowpipe", [python, "-m", "local_stack.snowpipe", "--state-dir", str(state)], None
            )
            processes.wait_ready(worker, lambda: "local Snowpipe running" in Path(worker.log).read_text(), timeout=30)
        progress(f"local stack up in {time.monotonic() - started:.1f} s")
        return endpoints
    except BaseException:
        processes.stop_all(state)
        raise


def _start_superset(state: Path, port: int, progress: Progress) -> dict[str, Any]:
    from local_stack import superset_server

    progress(f"starting Superset on 127.0.0.1:{port} (first run installs and bootstraps it: a few minutes)")
    pid = superset_server.start(port=port)
    processes.track(state, "superset", pid, port, str(superset_server.LOG_DIR))
    login = superset_server.credentials()
    return {
        "superset_url": f"http://127.0.0.1:{port}",
        "superset_username": login.username,
        "superset_password": login.password,
    }


def deploy(state: Path, s3_endpoint: str, snowflake_port: int, overrides: dict[str, str]) -> dict[str, Any]:
    """Runs __main__.py with Pulumi.local.yaml against the emulators; records what it created."""
    from local_stack.local_cloud import LocalCloud, LocalContext
    from local_stack.program_runner import run_program

    context = LocalContext(
        s3_endpoint_url=s3_endpoint, region="us-east-1", snowflake_port=snowflake_port, state_dir=state
    )
    cloud = LocalCloud(context)
    try:
        run = run_program(
            cloud,
            LOCAL_STACK,
            overrides=overrides,
            secret_keys=("ecommerce-analytics:supersetPassword", "ecommerce-analytics:supersetSnowflakePassword"),
        )
    finally:
        context.close()
    cloud.write_state()
    from local_stack.dynamic_resources import reveal

    record = {
        "resources": [{"type": r.type, "name": r.name, "id": r.id} for r in run.registrations.values() if r.custom],
        "exports": {k: v for k, v in reveal(run.exports).items() if "password" not in k},
    }
    (state / "deploy.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def down(state_dir: Path = DEFAULT_STATE_DIR) -> list[str]:
    stopped = processes.stop_all(state_dir)
    for name in ("endpoints.json",):
        (state_dir / name).unlink(missing_ok=True)
    return stopped
