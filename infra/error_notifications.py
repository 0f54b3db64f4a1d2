"""Loud bad files: Snowpipe error notifications to an SNS topic.

The pipe names a notification integration (ERROR_INTEGRATION); Snowflake
publishes one message per file it skips to our SNS topic, through an IAM role
it assumes (Snowflake docs, "Enabling Snowpipe error notifications for Amazon
SNS" and "Creating a notification integration to send notifications to an
Amazon SNS topic"). The integration ⇄ role cycle is broken in one apply as in
snowflake_access.py: the role ARN is computed before the role exists, and the
role is created afterwards from what the integration reports.

Unlike a storage integration, neither Snowflake's CREATE NOTIFICATION
INTEGRATION (outbound, AWS_SNS: only TOPIC_ARN and ROLE_ARN) nor
pulumi-snowflake 2.22's NotificationIntegration (aws_sns_external_id is an
output only) lets us choose the external id, so ExternalId cannot be used
here. The trust reads aws_sns_iam_user_arn and aws_sns_external_id back from
the integration instead: a replaced integration rewrites the trust in the
same update.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake

from infra.iam_propagation import IamPropagationWait
from infra.snowflake_trust import role_arn_before_the_role, trust_policy

# SNS encrypts with the AWS managed key for SNS; its key policy lets any
# principal of the account use it through SNS, so the role needs no KMS grant
# (AWS docs, "Encryption at rest" for Amazon SNS, key management).
SNS_MANAGED_KEY = "alias/aws/sns"


@dataclass(kw_only=True)
class ErrorNotificationsArgs:
    integration_name: str
    """Account-level name of the notification integration."""
    role_name: str
    """Name of the IAM role Snowflake assumes to publish."""
    propagation_seconds: int
    """Wait after the role is written, before a pipe names the integration."""
    email: str | None = None
    """Address subscribed to the topic (it must confirm); None: no subscription."""


class ErrorNotifications(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    integration_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ErrorNotificationsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:ingestion:ErrorNotifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role_arn = role_arn_before_the_role(self, args.role_name)

        # A standard topic: Snowflake's error notifications to FIFO topics
        # fail silently (Snowflake docs, creating the notification integration).
        topic = aws.sns.Topic(
            f"{name}-topic",
            kms_master_key_id=SNS_MANAGED_KEY,
            opts=child,
        )
        integration = snowflake.NotificationIntegration(
            f"{name}-integration",
            name=args.integration_name,
            enabled=True,
            # `direction` (OUTBOUND) and `type` (QUEUE) are deprecated inputs
            # in 2.22: "added automatically on the SDK level".
            notification_provider="AWS_SNS",
            aws_sns_topic_arn=topic.arn,
            aws_sns_role_arn=role_arn,
            comment="Snowpipe error notifications for the ecommerce POC",
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description="Assumed by Snowflake's notification integration to publish Snowpipe errors",
            assume_role_policy=pulumi.Output.all(
                integration.aws_sns_iam_user_arn, integration.aws_sns_external_id
            ).apply(lambda pair: trust_policy("SnowflakeNotificationIntegration", *pair)),
            max_session_duration=3600,
            opts=child,
        )
        publish = aws.iam.RolePolicy(
            f"{name}-publish",
            role=role.name,
            policy=topic.arn.apply(publish_policy),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, role.arn).apply(lambda pair: topic_policy(*pair)),
            opts=child,
        )
        if args.email:
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=args.email,
                opts=child,
            )
        # A pipe naming the integration depends on this component, so on the wait.
        IamPropagationWait(
            f"{name}-iam-propagation",
            role_arn=role.arn,
            policy=publish.policy,
            seconds=args.propagation_seconds,
            opts=child,
        )

        self.topic_arn = topic.arn
        self.integration_name = integration.name
        self.role_arn = role_arn
        self.register_outputs({"topic_arn": topic.arn, "integration_name": integration.name, "role_arn": role_arn})


def publish_policy(topic_arn: str) -> str:
    """What Snowflake's docs grant the role: sns:Publish on this topic."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "PublishPipeErrors", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn}
            ],
        }
    )


def topic_policy(topic_arn: str, role_arn: str) -> str:
    """The role may publish; every other principal is denied, whatever its own IAM policies say."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SnowflakePublishes",
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                },
                {
                    "Sid": "NobodyElsePublishes",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role_arn}},
                },
            ],
        }
    )
