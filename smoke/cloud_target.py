"""A real stack as a smoke target: its `pulumi stack output`, the SNOWFLAKE_* variables and AWS's own credentials.

Needs only what `pulumi up` needed: the Pulumi CLI logged in to the stack's
backend (and PULUMI_CONFIG_PASSPHRASE for a passphrase stack, only to read the
Superset password), AWS credentials from boto3's usual chain, and
SNOWFLAKE_ORGANIZATION_NAME, SNOWFLAKE_ACCOUNT_NAME, SNOWFLAKE_USER,
SNOWFLAKE_PRIVATE_KEY (PEM; SNOWFLAKE_PRIVATE_KEY_PASSPHRASE if encrypted) for
a key-pair (JWT) login, in SNOWFLAKE_ROLE or the stack's snowflakeAdminRole,
which owns the pipe (SYSTEM$PIPE_STATUS and COPY_HISTORY need OWNERSHIP or MONITOR).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from smoke.target import LoadRecord, SupersetAccess, Target

PROJECT_DIR = Path(__file__).resolve().parent.parent
NAMESPACE = "ecommerce-analytics"
REQUIRED_OUTPUTS = ("bucket", "events_prefix", "aws_region", "pipe", "notification_channel", "enriched_events_view",
                    "warehouse")  # fmt: skip
SNOWFLAKE_VARIABLES = ("SNOWFLAKE_ORGANIZATION_NAME", "SNOWFLAKE_ACCOUNT_NAME", "SNOWFLAKE_USER",
                       "SNOWFLAKE_PRIVATE_KEY")  # fmt: skip


class CloudTargetError(RuntimeError):
    """The real stack cannot be reached; the message names what is missing."""


def _pulumi(*args: str, stack: str) -> Any:
    command = ["pulumi", *args, "--json", "--stack", stack]
    try:
        done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise CloudTargetError(
            "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/)"
        ) from None
    if done.returncode != 0:
        raise CloudTargetError(f"`{' '.join(command)}` failed: {done.stderr.strip()[:500]}")
    return json.loads(done.stdout or "{}")


def cloud_target(stack: str, *, timeout: float = 180.0, environ: Mapping[str, str] = os.environ) -> Target:
    """The stack `stack` of this project, read with the Pulumi CLI."""
    outputs = _pulumi("stack", "output", stack=stack)
    config: dict[str, Any] = {}
    if outputs.get("dashboard_url"):
        # Only for the Superset login; --show-secrets needs what `pulumi up` needed.
        config = {k: v.get("value") for k, v in _pulumi("config", "--show-secrets", stack=stack).items()}
    return target_from_outputs(stack, outputs, config, timeout=timeout, environ=environ)


def _split_name(name: str) -> list[str]:
    return [part.strip('"') for part in name.split(".")]


def _private_key(environ: Mapping[str, str]) -> Any:
    from cryptography.hazmat.primitives import serialization

    passphrase = environ.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
    try:
        return serialization.load_pem_private_key(
            environ["SNOWFLAKE_PRIVATE_KEY"].encode(), password=passphrase.encode() if passphrase else None
        )
    except (ValueError, TypeError) as err:
        raise CloudTargetError(
            f"SNOWFLAKE_PRIVATE_KEY is not a usable PEM private key ({err}); export the key file's content, e.g. "
            'SNOWFLAKE_PRIVATE_KEY="$(cat deployer.p8)", and SNOWFLAKE_PRIVATE_KEY_PASSPHRASE if it is encrypted'
        ) from None


def target_from_outputs(
    stack: str,
    outputs: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    timeout: float = 180.0,
    environ: Mapping[str, str] = os.environ,
) -> Target:
    """A Target from a stack's outputs and config (the automation API's cloud suite passes its own)."""
    missing_outputs = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing_outputs:
        raise CloudTargetError(f"stack {stack!r} has no output {', '.join(missing_outputs)}: run `pulumi up` first")
    missing = [name for name in SNOWFLAKE_VARIABLES if not environ.get(name)]
    if missing:
        raise CloudTargetError(f"set {', '.join(missing)} (the same variables `pulumi up` used)")
    import boto3
    import snowflake.connector

    key = _private_key(environ)
    database, schema, _ = _split_name(outputs["pipe"])
    role = environ.get("SNOWFLAKE_ROLE") or config.get(f"{NAMESPACE}:snowflakeAdminRole") or "ACCOUNTADMIN"

    def connect() -> Any:
        return snowflake.connector.connect(
            account=f"{environ['SNOWFLAKE_ORGANIZATION_NAME']}-{environ['SNOWFLAKE_ACCOUNT_NAME']}",
            user=environ["SNOWFLAKE_USER"],
            authenticator="SNOWFLAKE_JWT",
            private_key=key,
            role=role,
            warehouse=outputs["warehouse"],
            database=database,
            schema=schema,
        )

    table_cache: dict[str, str] = {}

    def load_history(cursor: Any, object_key: str) -> list[LoadRecord]:
        if "table" not in table_cache:
            table_cache["table"] = pipe_target_table(cursor, outputs["pipe"])
        # https://docs.snowflake.com/en/sql-reference/functions/copy_history: the last 14 days of
        # COPY and Snowpipe loads into one table; FILE_NAME is the path relative to the stage.
        cursor.execute(
            "SELECT FILE_NAME, STATUS, ROW_COUNT, FIRST_ERROR_LINE_NUMBER, FIRST_ERROR_COLUMN_NAME, "
            f"FIRST_ERROR_MESSAGE FROM TABLE({database}.INFORMATION_SCHEMA.COPY_HISTORY("
            "TABLE_NAME => %s, START_TIME => DATEADD(HOUR, -1, CURRENT_TIMESTAMP()))) "
            "WHERE ENDSWITH(FILE_NAME, %s) ORDER BY LAST_LOAD_TIME",
            (table_cache["table"], object_key.rsplit("/", 1)[-1]),
        )
        return [
            LoadRecord(
                file=name, status=str(status).upper().replace(" ", "_"), rows=int(rows or 0),
                error_line=None if line is None else int(line), error_column=column, error_message=message,
            )
            for name, status, rows, line, column, message in cursor.fetchall()
        ]  # fmt: skip

    superset = None
    if outputs.get("dashboard_url"):
        superset = SupersetAccess(
            url=str(config.get(f"{NAMESPACE}:supersetUrl") or "").rstrip("/"),
            username=str(config.get(f"{NAMESPACE}:supersetUsername") or "admin"),
            password=str(config.get(f"{NAMESPACE}:supersetPassword") or ""),
            dashboard_url=outputs["dashboard_url"],
        )
    return Target(
        description=f"stack {stack}",
        local=False,
        bucket=outputs["bucket"],
        events_prefix=outputs["events_prefix"],
        pipe=outputs["pipe"],
        view=outputs["enriched_events_view"],
        notification_channel=outputs["notification_channel"],
        s3=boto3.client("s3", region_name=outputs["aws_region"]),
        connect=connect,
        load_history=load_history,
        superset=superset,
        visibility_timeout=timeout,
        poll_seconds=2.0,
        storage_integration=outputs.get("storage_integration"),
    )


def pipe_target_table(cursor: Any, pipe: str) -> str:
    """The table the pipe's COPY loads, from DESCRIBE PIPE's `definition`, qualified like the pipe."""
    cursor.execute(f"DESCRIBE PIPE {pipe}")
    names = [d[0].lower() for d in cursor.description]
    definition = cursor.fetchone()[names.index("definition")]
    copy = sqlglot.parse_one(definition, read="snowflake")
    table = copy.this.this if isinstance(copy.this, exp.Schema) else copy.this
    database, schema, _ = _split_name(pipe)
    return ".".join([table.catalog or database, table.db or schema, table.name])
