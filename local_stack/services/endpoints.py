"""Clients for the running local stack, from its typed endpoints (local_stack/services/state.py).

Any AWS key works against moto and any Snowflake user/password against
fakesnow: the clients here use fixed local ones so nothing from the caller's
environment (a real AWS profile, say) leaks into the emulators.
"""

from __future__ import annotations

from typing import Any, Protocol

import boto3
import snowflake.connector

from local_stack.services.state import Endpoints


class AwsEndpoint(Protocol):
    """What an AWS client needs: satisfied by state.Endpoints and by the deploy's LocalContext."""

    s3_endpoint_url: str
    region: str


def aws_client(endpoint: AwsEndpoint, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint.s3_endpoint_url,
        region_name=endpoint.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def connect_snowflake(
    endpoints: Endpoints,
    user: str = "local",
    *,
    database: str | None = None,
    schema: str | None = None,
    **options: Any,
) -> Any:
    """A session on the local Snowflake, in the POC's database and schema unless others are named.

    `options` go to snowflake.connector.connect as they are (timeouts, say).
    """
    sf = endpoints.snowflake
    return connect_local_snowflake(
        sf.port, host=sf.host, protocol=sf.protocol, user=user, database=database or sf.database,
        schema=schema or sf.schema, **options,
    )  # fmt: skip


def connect_local_snowflake(port: int, *, host: str = "127.0.0.1", protocol: str = "http", user: str = "local",
                            **options: Any) -> Any:  # fmt: skip
    """The one way to open a session on the local Snowflake (fakesnow): any login is accepted.

    Before the deploy has written endpoints.json (the deploy itself, which creates the database) only the port is
    known; `options` go to snowflake.connector.connect (database, schema, timeouts).
    """
    return snowflake.connector.connect(
        host=host,
        port=port,
        protocol=protocol,
        user=user,
        password="local",
        account="local",
        session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        **options,
    )
