"""The smoke test's diagnosis (smoke/diagnosis.py) and real-stack wiring (smoke/cloud_target.py), no servers.

Inputs are literal API answers in the documented shapes (SYSTEM$PIPE_STATUS JSON,
GetBucketNotificationConfiguration, COPY_HISTORY rows).
"""

from __future__ import annotations

import pytest

from smoke.cloud_target import CloudTargetError, pipe_target_table, target_from_outputs
from smoke.diagnosis import (
    invisible_canary_finding,
    notification_finding,
    pipe_status_finding,
    query_error_finding,
)
from smoke.target import LoadRecord

PIPE = '"ECOMMERCE_POC"."ANALYTICS"."ECOMMERCE_EVENTS_PIPE"'
CHANNEL = "arn:aws:sqs:us-east-1:123456789012:sf-snowpipe-AIDAEXAMPLE-abc"
KEY = "events/smoke/canary-20261130T120000-abcd1234.ndjson"
GOOD_NOTIFICATION = {
    "QueueConfigurations": [
        {
            "Id": "snowpipe-auto-ingest",
            "QueueArn": CHANNEL,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "events/"}]}},
        }
    ]
}


def test_running_pipe_has_no_finding():
    assert pipe_status_finding({"executionState": "RUNNING", "pendingFileCount": 0}, PIPE, local=False) is None


def test_paused_pipe_is_resumed_with_alter_pipe():
    finding = pipe_status_finding({"executionState": "PAUSED", "pendingFileCount": 0}, PIPE, local=False)
    assert "is PAUSED" in finding.cause
    assert f"ALTER PIPE {PIPE} SET PIPE_EXECUTION_PAUSED = FALSE" in finding.fix
    assert f"SYSTEM$PIPE_FORCE_RESUME('{PIPE}', 'STALENESS_CHECK_OVERRIDE')" in finding.fix, "a stale pipe"


def test_stage_permission_error_points_at_the_role_trust():
    finding = pipe_status_finding(
        {"executionState": "STALLED_STAGE_PERMISSION_ERROR", "error": "Access Denied"}, PIPE, local=False
    )
    assert "cannot read its stage: Access Denied" in finding.cause
    assert "DESC INTEGRATION" in finding.fix and "pulumi up" in finding.fix


def test_stopped_pipe_is_recreated_by_pulumi_up():
    finding = pipe_status_finding({"executionState": "STOPPED_STAGE_DROPPED"}, PIPE, local=False)
    assert "STOPPED_STAGE_DROPPED" in finding.cause
    assert "`pulumi up`" in finding.fix and "REFRESH" in finding.fix


def test_local_paused_pipe_means_start_the_worker():
    finding = pipe_status_finding({"executionState": "PAUSED", "error": "no local Snowpipe worker"}, PIPE, local=True)
    assert "local_stack.snowpipe" in finding.fix and "make local-up" in finding.fix


def test_notification_to_the_channel_for_the_prefix_is_fine():
    assert notification_finding(GOOD_NOTIFICATION, channel=CHANNEL, key=KEY, local=False) is None


def test_missing_notification_is_named():
    finding = notification_finding({}, channel=CHANNEL, key=KEY, local=False)
    assert finding.cause == "the bucket has no queue notification: S3 never tells the pipe about new files"
    assert "`pulumi up`" in finding.fix


def test_notification_to_another_queue_names_both_arns():
    other = {"QueueConfigurations": [{**GOOD_NOTIFICATION["QueueConfigurations"][0], "QueueArn": "arn:aws:sqs:x:1:q"}]}
    finding = notification_finding(other, channel=CHANNEL, key=KEY, local=False)
    assert finding.cause == f"the bucket notifies arn:aws:sqs:x:1:q, not the pipe's notification channel {CHANNEL}"


def test_notification_for_other_events_is_named():
    removed = {
        "QueueConfigurations": [{**GOOD_NOTIFICATION["QueueConfigurations"][0], "Events": ["s3:ObjectRemoved:*"]}]
    }
    finding = notification_finding(removed, channel=CHANNEL, key=KEY, local=False)
    assert finding.cause == "the notification to the pipe covers s3:ObjectRemoved:*, not s3:ObjectCreated:*"


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{"Name": "Prefix", "Value": "raw/"}], "prefix 'raw/'"),
        ([{"Name": "Prefix", "Value": "events/"}, {"Name": "Suffix", "Value": ".gz"}], "prefix 'events/'"),
    ],
)
def test_key_filter_that_misses_the_canary_is_named(rules, expected):
    queue = {**GOOD_NOTIFICATION["QueueConfigurations"][0], "Filter": {"Key": {"FilterRules": rules}}}
    finding = notification_finding({"QueueConfigurations": [queue]}, channel=CHANNEL, key=KEY, local=False)
    assert f"key filter ({expected}) does not cover {KEY}" in finding.cause


def _invisible(history, notification=None, status=None, pipe_finding=None):
    return invisible_canary_finding(
        key=KEY, history=history, notification=notification, status=status or {"executionState": "RUNNING"},
        pipe_finding=pipe_finding, view="DB.S.ENRICHED_EVENTS", local=False,
    )  # fmt: skip


def test_skipped_file_beats_every_other_cause():
    skipped = LoadRecord(file=KEY, status="LOAD_FAILED", error_line=1, error_column='"ECOMMERCE_EVENTS"["QUANTITY":6]',
                         error_message="NULL result in a non-nullable column")  # fmt: skip
    missing = notification_finding({}, channel=CHANNEL, key=KEY, local=False)
    finding = _invisible([skipped], notification=missing)
    assert finding.cause == (
        f"the pipe skipped the canary file {KEY} (LOAD_FAILED, ON_ERROR = SKIP_FILE): line 1, column "
        '"ECOMMERCE_EVENTS"["QUANTITY":6]: NULL result in a non-nullable column'
    )
    assert "COPY_HISTORY" in finding.fix


def test_loaded_but_invisible_points_at_the_view():
    finding = _invisible([LoadRecord(file=KEY, status="LOADED", rows=1)])
    assert (
        finding.cause == "the canary loaded (1 row(s)) but is not in DB.S.ENRICHED_EVENTS with its product and customer"
    )


def test_never_seen_with_a_broken_notification_names_the_notification():
    finding = _invisible([], notification=notification_finding({}, channel=CHANNEL, key=KEY, local=False))
    assert finding.cause.startswith("the pipe never saw the canary: the bucket has no queue notification")


def test_never_seen_while_files_are_pending_says_wait():
    finding = _invisible([], status={"executionState": "RUNNING", "pendingFileCount": 3})
    assert finding.cause == "the pipe has 3 file(s) pending and has not loaded the canary yet"
    assert "--timeout" in finding.fix


def test_never_seen_with_everything_in_place_suspects_the_integration():
    from smoke.diagnosis import storage_check_sql

    check = storage_check_sql("ECOMMERCE_POC_EVENTS_S3", "raw-bucket", KEY)
    assert check == (
        "SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION('ECOMMERCE_POC_EVENTS_S3', 's3://raw-bucket/events/smoke/', "
        "'canary-20261130T120000-abcd1234.ndjson', 'read')"
    )
    finding = invisible_canary_finding(
        key=KEY, history=[], notification=None, status={"executionState": "RUNNING"}, pipe_finding=None,
        view="V", local=False, storage_check=check,
    )  # fmt: skip
    assert "no record of the canary" in finding.cause
    assert f"`{check}`" in finding.fix


OUTPUTS = {
    "bucket": "b", "events_prefix": "events/", "aws_region": "us-east-1", "pipe": PIPE,
    "notification_channel": CHANNEL, "enriched_events_view": '"ECOMMERCE_POC"."ANALYTICS"."ENRICHED_EVENTS"',
    "warehouse": "ECOMMERCE_POC_WH",
}  # fmt: skip


def test_real_target_names_missing_outputs_and_variables():
    with pytest.raises(CloudTargetError, match=r"stack 'dev' has no output pipe, warehouse: run `pulumi up` first"):
        target_from_outputs("dev", {k: v for k, v in OUTPUTS.items() if k not in ("pipe", "warehouse")}, {},
                            environ={})  # fmt: skip
    with pytest.raises(CloudTargetError, match=r"set SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY \(the same variables"):
        target_from_outputs("dev", OUTPUTS, {},
                            environ={"SNOWFLAKE_ORGANIZATION_NAME": "o", "SNOWFLAKE_ACCOUNT_NAME": "a"})  # fmt: skip


def test_real_target_refuses_a_key_that_is_not_pem():
    environ = {"SNOWFLAKE_ORGANIZATION_NAME": "o", "SNOWFLAKE_ACCOUNT_NAME": "a", "SNOWFLAKE_USER": "u",
               "SNOWFLAKE_PRIVATE_KEY": "not a key"}  # fmt: skip
    with pytest.raises(CloudTargetError, match=r"SNOWFLAKE_PRIVATE_KEY is not a usable PEM private key"):
        target_from_outputs("dev", OUTPUTS, {}, environ=environ)


class _DescribePipe:
    """DESCRIBE PIPE's answer, columns as Snowflake documents them (created_on, name, ..., definition, ...)."""

    description = (("created_on",), ("name",), ("database_name",), ("schema_name",), ("definition",))

    def __init__(self, definition: str):
        self.definition = definition
        self.executed: list[str] = []

    def execute(self, sql: str) -> None:
        self.executed.append(sql)

    def fetchone(self) -> tuple:
        return ("2026-11-30", "ECOMMERCE_EVENTS_PIPE", "ECOMMERCE_POC", "ANALYTICS", self.definition)


@pytest.mark.parametrize(
    "definition",
    [
        "COPY INTO ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS FROM (SELECT $1 FROM @S) FILE_FORMAT = (FORMAT_NAME = 'F')",
        "COPY INTO ecommerce_events FROM (SELECT $1 FROM @S)",
    ],
)
def test_copy_history_table_comes_from_the_pipe_definition(definition):
    cursor = _DescribePipe(definition)
    assert pipe_target_table(cursor, PIPE).upper() == "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS"
    assert cursor.executed == [f"DESCRIBE PIPE {PIPE}"]


def test_pipe_status_refused_for_a_missing_or_hidden_pipe():
    from smoke.diagnosis import pipe_status_error_finding

    error = "002003 (02000): SQL compilation error:\nPipe 'X' does not exist or not authorized."
    finding = pipe_status_error_finding(error, PIPE)
    assert (
        finding.cause
        == f"pipe {PIPE} does not exist, or the role cannot see it: Pipe 'X' does not exist or not authorized."
    )
    assert "OWNERSHIP or MONITOR" in finding.fix


def test_a_monitor_suspended_warehouse_is_named_with_the_fix():
    # The connector's text for Snowflake error 090073 (cost/rules.py cites where it comes from).
    error = (
        "090073 (22000): Warehouse 'ECOMMERCE_POC_WH' cannot be resumed because resource monitor "
        "'ECOMMERCE_POC_WH_MONITOR' has exceeded its quota."
    )
    cloud = query_error_finding(error, local=False)
    assert cloud.cause.startswith("the warehouse is suspended by its resource monitor")
    assert "pulumi config set ecommerce-analytics:monthlyCreditQuota" in cloud.fix
    local = query_error_finding(error, local=True)
    assert "make local-down && make local-up" in local.fix
    other = query_error_finding("002003 (42S02): Object 'X' does not exist", local=True)
    assert "resource monitor" not in other.cause
