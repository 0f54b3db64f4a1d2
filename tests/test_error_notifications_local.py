"""The local deploy's handlers for error notifications and the cost guard check what they reference.

Each case names a missing object the way Snowflake or AWS would refuse it.
Runs against an in-process moto server (no fakesnow needed: these handlers
record what fakesnow cannot hold).
"""

from __future__ import annotations

import json

import pytest
from moto.server import ThreadedMotoServer

from local_stack.account import aws_handlers, snowflake_handlers
from local_stack.account.context import LocalContext
from local_stack.errors import LocalDeployError

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ctx(moto_url, tmp_path):
    return LocalContext(s3_endpoint_url=moto_url, region="us-east-1", snowflake_port=0, state_dir=tmp_path)


def test_topic_is_created_encrypted_and_its_policy_needs_an_existing_role(ctx):
    arn, outputs = aws_handlers.sns_topic(ctx, "pipe-errors-topic", {"kmsMasterKeyId": "alias/aws/sns"})
    attributes = ctx.aws("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"
    assert outputs["arn"] == arn
    ghost = "arn:aws:iam::123456789012:role/nobody"
    policy = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost}, "Action": "sns:Publish", "Resource": arn}]}
    with pytest.raises(LocalDeployError, match=f"principal {ghost} does not exist"):
        aws_handlers.sns_topic_policy(ctx, "topic-policy", {"arn": arn, "policy": json.dumps(policy)})


def test_subscription_and_policy_need_an_existing_topic(ctx):
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    with pytest.raises(LocalDeployError, match=f"SNS topic {missing} does not exist"):
        aws_handlers.sns_topic_subscription(ctx, "email", {"topic": missing, "protocol": "email", "endpoint": "a@b.co"})
    with pytest.raises(LocalDeployError, match=f"SNS topic {missing} does not exist"):
        aws_handlers.sns_topic_policy(ctx, "topic-policy", {"arn": missing, "policy": "{}"})


def test_integration_answers_with_its_own_iam_user_and_external_id(ctx):
    topic_arn, _ = aws_handlers.sns_topic(ctx, "errors", {})
    inputs = {
        "name": "POC_PIPE_ERRORS",
        "notificationProvider": "AWS_SNS",
        "awsSnsTopicArn": topic_arn,
        "awsSnsRoleArn": "arn:aws:iam::123456789012:role/poc-sns",
        "enabled": True,
    }
    _, outputs = snowflake_handlers.notification_integration(ctx, "pipe-errors-integration", inputs)
    user = ctx.aws("iam").get_user(UserName="snowflake-poc_pipe_errors")["User"]
    assert outputs["awsSnsIamUserArn"] == user["Arn"]
    assert outputs["awsSnsExternalId"].startswith("LOCAL_SFCRole=")
    with pytest.raises(LocalDeployError, match="does not exist"):
        snowflake_handlers.notification_integration(
            ctx, "other", {**inputs, "name": "OTHER", "awsSnsTopicArn": f"{topic_arn}-gone"}
        )


def test_pipe_needs_an_existing_error_integration(ctx):
    # Everything else the pipe references exists, so only the integration is missing.
    ctx.account.add("DATABASE", "DB")
    ctx.account.add("SCHEMA", "DB", "S")
    for kind, name in (("TABLE", "T"), ("STAGE", "EVENTS_STAGE"), ("FILE FORMAT", "F")):
        ctx.account.add(kind, "DB", "S", name)
    ctx.stages["DB.S.EVENTS_STAGE"] = {"url": "s3://bucket/events/"}
    pipe = {
        "name": "EVENTS_PIPE",
        "database": "DB",
        "schema": "S",
        "copyStatement": "COPY INTO DB.S.T FROM @DB.S.EVENTS_STAGE FILE_FORMAT = (FORMAT_NAME = 'DB.S.F')",
        "errorIntegration": "NO_SUCH_INTEGRATION",
    }
    with pytest.raises(
        LocalDeployError, match=r"pipe EVENTS_PIPE: .*Integration .*NO_SUCH_INTEGRATION.* does not exist"
    ):
        snowflake_handlers.pipe(ctx, "ingestion-pipe", pipe)
    assert ctx.pipes == [], "a refused pipe is not registered for the worker"


def test_warehouse_needs_its_resource_monitor(ctx):
    warehouse = {"name": "POC_WH", "resourceMonitor": "POC_WH_MONITOR"}
    with pytest.raises(
        LocalDeployError, match=r"warehouse POC_WH: .*Resource Monitor .*POC_WH_MONITOR.* does not exist"
    ):
        snowflake_handlers.warehouse(ctx, "analytics-warehouse", warehouse)
    snowflake_handlers.resource_monitor(ctx, "cost-guard-monitor", {"name": "POC_WH_MONITOR", "creditQuota": 10})
    snowflake_handlers.warehouse(ctx, "analytics-warehouse", warehouse)
    assert [e["type"].rsplit(":", 1)[-1] for e in ctx.recorded] == ["ResourceMonitor", "Warehouse"]
