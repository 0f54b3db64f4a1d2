"""Why a stack does not flow: the likely cause and its fix, from what the checks saw. Pure functions.

Sources of the facts used here:
- SYSTEM$PIPE_STATUS's executionState values and fields:
  https://docs.snowflake.com/en/sql-reference/functions/system_pipe_status
- A pipe paused longer than its 14-day message retention is stale and resumes only with
  SYSTEM$PIPE_FORCE_RESUME(..., 'STALENESS_CHECK_OVERRIDE'):
  https://docs.snowflake.com/en/sql-reference/functions/system_pipe_force_resume
- COPY_HISTORY's STATUS ("Loaded, Load failed, Partially loaded, or Load skipped") and FIRST_ERROR_*:
  https://docs.snowflake.com/en/sql-reference/account-usage/copy_history
- A warehouse its resource monitor suspended refuses every query with "Warehouse '<wh>' cannot be resumed because
  resource monitor '<monitor>' has exceeded its quota." (error 090073; Snowflake's docs do not print it, see
  cost/rules.py); the quota resets with the monitor's interval (a calendar month without FREQUENCY):
  https://docs.snowflake.com/en/sql-reference/sql/create-resource-monitor
- S3 sends a bucket's events only to the destinations of its ONE notification configuration
  (GetBucketNotificationConfiguration: QueueConfigurations with QueueArn, Events and a key filter):
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketNotificationConfiguration.html
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from smoke.target import LoadRecord

LOCAL_RESTART = "restart the local stack: `make local-down && make local-up`"


@dataclass(frozen=True)
class Finding:
    cause: str
    fix: str


CONNECT_FIX = (
    "locally: is the stack up (`make local-up`)? For a real stack: SNOWFLAKE_ORGANIZATION_NAME, "
    "SNOWFLAKE_ACCOUNT_NAME, SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY must be the key-pair login `pulumi up` used"
)


def pipe_status_error_finding(error: str, pipe: str) -> Finding:
    """SYSTEM$PIPE_STATUS refused: the pipe is gone, or the role may not see it."""
    if "does not exist or not authorized" in error:
        return Finding(
            f"pipe {pipe} does not exist, or the role cannot see it: {error.splitlines()[-1]}",
            "`pulumi up` recreates a deleted pipe; SYSTEM$PIPE_STATUS needs OWNERSHIP or MONITOR on the pipe: use "
            "the deploying role (SNOWFLAKE_ROLE or the stack's snowflakeAdminRole)",
        )
    return Finding(f"SYSTEM$PIPE_STATUS failed: {error}", CONNECT_FIX)


MONITOR_SUSPENDED = "cannot be resumed because resource monitor"


def query_error_finding(error: str, *, local: bool) -> Finding:
    """A query on the stack's warehouse failed: a spent quota, or what the connector said."""
    if MONITOR_SUSPENDED in error:
        if local:
            fix = (
                "the local credit meter reached the stack's quota (`make local-status` shows estimated_credits): "
                "restart the local stack to reset it (`make local-down && make local-up`) or raise "
                "ecommerce-analytics:monthlyCreditQuota in Pulumi.local.yaml"
            )
        else:
            fix = (
                "the month's quota is spent (`make cost` shows what your usage needs): raise it with "
                "`pulumi config set ecommerce-analytics:monthlyCreditQuota <credits> && pulumi up`, lower the "
                "dashboard's refresh (dashboardRefreshSeconds), or wait for the quota to reset on the 1st; "
                "a serverless task keeps running, only queries on the warehouse stop"
            )
        return Finding(f"the warehouse is suspended by its resource monitor: {error.splitlines()[-1]}", fix)
    return Finding(f"querying the stack's view failed: {error}", CONNECT_FIX)


def pipe_status_finding(status: dict[str, Any], pipe: str, *, local: bool) -> Finding | None:
    """None when executionState is RUNNING; otherwise what stops the pipe and how to get it going."""
    state = str(status.get("executionState", "")).upper()
    if state == "RUNNING":
        return None
    error = status.get("error")
    detail = f": {error}" if error else ""
    if local and state == "PAUSED":
        return Finding(
            f"pipe {pipe} is PAUSED{detail}",
            "start the local Snowpipe worker: " + LOCAL_RESTART
            + " (or `.venv/bin/python -m local_stack.snowpipe --state-dir .local` alone)",
        )  # fmt: skip
    if local:
        return Finding(
            f"pipe {pipe} is {state or 'in no state'}{detail}",
            "the local deploy recreates the pipe and its queue: " + LOCAL_RESTART,
        )
    if state.startswith("PAUSED"):
        return Finding(
            f"pipe {pipe} is {state}{detail}: files queue up but nothing loads",
            f"ALTER PIPE {pipe} SET PIPE_EXECUTION_PAUSED = FALSE; a pipe paused longer than 14 days is stale and "
            f"needs SELECT SYSTEM$PIPE_FORCE_RESUME('{pipe}', 'STALENESS_CHECK_OVERRIDE') instead; then "
            f"ALTER PIPE {pipe} REFRESH loads files that arrived meanwhile (last 7 days)",
        )
    if state == "STALLED_STAGE_PERMISSION_ERROR":
        return Finding(
            f"pipe {pipe} cannot read its stage{detail}: the IAM role no longer trusts the storage integration's "
            "user with its external id, or its policy lost s3:GetObject on the prefix",
            "`pulumi up` restores the role's trust and policy; check with DESC INTEGRATION that "
            "STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID match the role's trust policy",
        )
    if state.startswith("STOPPED_"):
        return Finding(
            f"pipe {pipe} is {state}{detail}: something it depends on (stage, file format, table) was dropped "
            "or changed",
            "`pulumi up` recreates what is missing and replaces the pipe with its stage; then "
            f"ALTER PIPE {pipe} REFRESH loads what arrived meanwhile",
        )
    return Finding(
        f"pipe {pipe} is {state or 'in no state'}{detail}",
        f"replace the pipe: `pulumi up --replace <urn of {pipe}>` (see `pulumi stack --show-urns`)",
    )


def notification_finding(configuration: dict[str, Any], *, channel: str, key: str, local: bool) -> Finding | None:
    """None when the bucket's notification sends ObjectCreated events for `key` to `channel`."""
    fix = LOCAL_RESTART if local else "`pulumi up` puts the stack's BucketNotification back"
    queues = configuration.get("QueueConfigurations") or []
    others = [
        name
        for name in ("TopicConfigurations", "LambdaFunctionConfigurations", "EventBridgeConfiguration")
        if configuration.get(name)
    ]
    if not queues:
        also = f" (it has only {', '.join(others)})" if others else ""
        return Finding(
            f"the bucket has no queue notification{also}: S3 never tells the pipe about new files",
            fix + "; a bucket has ONE notification configuration, so another tool or a second "
            "BucketNotification writing it removes ours",
        )
    to_channel = [q for q in queues if q.get("QueueArn") == channel]
    if not to_channel:
        arns = ", ".join(sorted({q.get("QueueArn", "?") for q in queues}))
        return Finding(
            f"the bucket notifies {arns}, not the pipe's notification channel {channel}",
            fix + " (the pipe was probably recreated and got a new channel)",
        )
    created = [q for q in to_channel if any(fnmatch.fnmatchcase("s3:ObjectCreated:Put", e) for e in q["Events"])]
    if not created:
        events = ", ".join(sorted({e for q in to_channel for e in q["Events"]}))
        return Finding(f"the notification to the pipe covers {events}, not s3:ObjectCreated:*", fix)
    covering = [q for q in created if _filter_matches(q, key)]
    if not covering:
        prefixes = ", ".join(sorted({repr(_rule(q, "prefix")) for q in created}))
        return Finding(
            f"the notification's key filter (prefix {prefixes}) does not cover {key}: files under the events "
            "prefix raise no event",
            fix + " (its filter prefix must equal eventsPrefix)",
        )
    return None


def _rule(queue: dict[str, Any], name: str) -> str:
    rules = ((queue.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    return next((r.get("Value", "") for r in rules if str(r.get("Name", "")).lower() == name), "")


def _filter_matches(queue: dict[str, Any], key: str) -> bool:
    return key.startswith(_rule(queue, "prefix")) and key.endswith(_rule(queue, "suffix"))


def invisible_canary_finding(
    *,
    key: str,
    history: list[LoadRecord],
    notification: Finding | None,
    status: dict[str, Any] | None,
    pipe_finding: Finding | None,
    view: str,
    local: bool,
    storage_check: str | None = None,
) -> Finding:
    """Why the canary did not show up in the view in time, most specific evidence first."""
    record = history[-1] if history else None
    if record is not None and record.status in ("LOAD_FAILED", "LOAD_SKIPPED", "PARTIALLY_LOADED"):
        where = f"line {record.error_line}" if record.error_line is not None else "the file"
        column = f", column {record.error_column}" if record.error_column else ""
        return Finding(
            f"the pipe skipped the canary file {key} ({record.status}, ON_ERROR = SKIP_FILE): "
            f"{where}{column}: {record.error_message}",
            "the file does not fit the pipe's COPY (sql/snowflake_pipe.sql) or the table: compare it with the "
            "raw event contract in docs/operations.md; "
            + ("`make local-status` lists every skipped file" if local else "COPY_HISTORY lists every skipped file"),
        )
    if record is not None and record.status == "LOADED":
        return Finding(
            f"the canary loaded ({record.rows} row(s)) but is not in {view} with its product and customer",
            "check the view (sql/enriched_events.sql) and the reference data seeds (PRODUCTS, CUSTOMERS): "
            "`pulumi up` re-runs the seeds",
        )
    if pipe_finding is not None:
        return pipe_finding
    if notification is not None:
        return Finding(f"the pipe never saw the canary: {notification.cause}", notification.fix)
    pending = (status or {}).get("pendingFileCount")
    if record is not None:  # LOAD_IN_PROGRESS
        return Finding(
            f"the canary is still loading ({record.status})", "wait longer: run smoke with a larger --timeout"
        )
    if pending:
        return Finding(
            f"the pipe has {pending} file(s) pending and has not loaded the canary yet",
            "Snowpipe's usual latency is within a minute: run smoke again with a larger --timeout",
        )
    if local:
        return Finding(
            "the bucket notifies the pipe's queue correctly, the worker runs, but the canary was never loaded",
            "read .local/snowpipe.log for the worker's errors; " + LOCAL_RESTART,
        )
    return Finding(
        "the bucket notifies the pipe's channel correctly but the pipe has no record of the canary",
        "Snowflake may not be able to read it: check the IAM role's trust and policy with "
        f"`{storage_check or 'SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION(...)'}` (`pulumi up` restores them); "
        "or its latency exceeded --timeout: run smoke again with a larger --timeout",
    )


def storage_check_sql(integration: str | None, bucket: str, key: str) -> str | None:
    """Snowflake reading the canary through the stack's integration, as the stage does.

    https://docs.snowflake.com/en/sql-reference/functions/system_validate_storage_integration: the path must be
    in STORAGE_ALLOWED_LOCATIONS; 'read' needs the file to exist (the canary does).
    """
    if not integration:
        return None
    folder, name = key.rsplit("/", 1)
    return f"SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION('{integration}', 's3://{bucket}/{folder}/', '{name}', 'read')"
