"""Where the running local stack listens (.local/endpoints.json), and clients for it.

Any AWS key works against moto and any Snowflake user/password against
fakesnow: the clients here use fixed local ones so nothing from the caller's
environment (a real AWS profile, say) leaks into the emulators.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import snowflake.connector

from local_stack.processes import LocalStackError

ENDPOINTS_FILE = "endpoints.json"


def read(state_dir: Path) -> dict[str, Any]:
    path = Path(state_dir) / ENDPOINTS_FILE
    if not path.exists():
        raise LocalStackError(f"no local stack is running ({path} is missing): start one with `make local-up`")
    return json.loads(path.read_text(encoding="utf-8"))


def aws_client(endpoints: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoints["s3_endpoint_url"],
        region_name=endpoints["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def connect_snowflake(
    endpoints: dict[str, Any],
    user: str = "local",
    *,
    database: str | None = None,
    schema: str | None = None,
    **options: Any,
) -> Any:
    """A session on the local Snowflake, in the POC's database and schema unless others are named.

    `options` go to snowflake.connector.connect as they are (timeouts, say).
    """
    sf = endpoints["snowflake"]
    return snowflake.connector.connect(
        host=sf["host"],
        port=int(sf["port"]),
        protocol=sf["protocol"],
        user=user,
        password="local",
        account="local",
        database=database or sf["database"],
        schema=schema or sf["schema"],
        session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        **options,
    )
