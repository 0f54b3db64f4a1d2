"""Snowpipe error notifications in the graph (issue 9), evaluated by the mock runtime."""

from __future__ import annotations

import json
from functools import cache

import pytest

from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun, run_program
from tests.fake_cloud import ACCOUNT_ID, SNOWFLAKE_SNS_EXTERNAL_ID, SNOWFLAKE_SNS_USER_ARN, FakeCloud
from tests.test_program_graph import dev_stack

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
INTEGRATION = "snowflake:index/notificationIntegration:NotificationIntegration"
PIPE = "snowflake:index/pipe:Pipe"
ROLE_NAME = "ecommerce-analytics-dev-snowflake-s3-sns"  # iamRoleName's default + "-sns"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return dev_stack()


@cache
def with_email() -> ProgramRun:
    return run_program(
        FakeCloud(), "dev", overrides={"ecommerce-analytics:errorNotificationEmail": "oncall@example.com"}
    )


def out(run: ProgramRun, type_token: str) -> dict:
    return reveal(run.one(type_token).outputs)


def role(run: ProgramRun) -> dict:
    return reveal(run.named("pipe-errors-role").outputs)


def test_topic_is_encrypted_and_standard(run):
    topic = out(run, TOPIC)
    assert topic.get("kmsMasterKeyId") == "alias/aws/sns", "the error topic must be encrypted at rest"
    assert not topic.get("fifoTopic"), "Snowflake's error notifications to FIFO topics fail silently"


def test_integration_publishes_to_the_topic_through_the_role(run):
    integration = out(run, INTEGRATION)
    assert integration["notificationProvider"] == "AWS_SNS"
    assert integration["enabled"] is True
    assert integration["name"] == "ECOMMERCE_DEV_PIPE_ERRORS"
    assert integration["awsSnsTopicArn"] == out(run, TOPIC)["arn"]
    assert integration["awsSnsRoleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
    assert integration["awsSnsRoleArn"] == role(run)["arn"], "the precomputed role ARN must be the real role's"


def test_role_trusts_only_the_integration_user_with_its_external_id(run):
    (statement,) = json.loads(role(run)["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": SNOWFLAKE_SNS_USER_ARN}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": SNOWFLAKE_SNS_EXTERNAL_ID}}


def test_only_the_role_may_publish(run):
    topic_arn = out(run, TOPIC)["arn"]
    role_arn = role(run)["arn"]
    policy = out(run, TOPIC_POLICY)
    assert policy["arn"] == topic_arn
    statements = json.loads(policy["policy"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "SnowflakePublishes",
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": "sns:Publish",
            "Resource": topic_arn,
        }
    ]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == "sns:Publish" and deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role_arn}}, "everyone but the role is denied"
    identity = json.loads(reveal(run.named("pipe-errors-publish").outputs)["policy"])
    assert identity["Statement"] == [
        {"Sid": "PublishPipeErrors", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn}
    ]


def test_pipe_reports_to_the_integration_after_iam_propagated(run):
    pipe = run.one(PIPE)
    assert reveal(pipe.inputs)["errorIntegration"] == "ECOMMERCE_DEV_PIPE_ERRORS"
    wait = run.named("pipe-errors-iam-propagation")
    assert wait.urn in pipe.dependencies, "the pipe must name the integration only once IAM has the role"


def test_email_subscription_only_when_configured(run):
    assert run.of_type(SUBSCRIPTION) == [], "no errorNotificationEmail: no subscription"
    subscription = out(with_email(), SUBSCRIPTION)
    assert subscription["protocol"] == "email"
    assert subscription["endpoint"] == "oncall@example.com"
    assert subscription["topic"] == out(with_email(), TOPIC)["arn"]
